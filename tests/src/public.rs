//! The public map and «Я тоже» on every backend: the cell counters the transitions keep, the
//! public list and one message, nearby messages and supporting one, through the use case.

use crate::contract::{Backend, Queue};
use crate::fixtures::{citizen, code};
use crate::workflow::{moderator, official, stack, Stack};
use crate::Harness;
use chrono::Duration;
use feedback_core::analytics::heatmap::HeatmapQuery;
use feedback_core::analytics::{Analytics, SlotRange};
use feedback_core::geo::BBox;
use feedback_core::notification::NotificationKind;
use feedback_core::open311::PublicMessageStore;
use feedback_core::page::Limit;
use feedback_core::ports::NotificationStore;
use feedback_core::public::{ClusterQuery, ListQuery, PublicMap};
use feedback_core::service::Reference;
use feedback_core::testing::{sample_region, ManualClock};
use feedback_core::values::MessageText;
use feedback_core::workflow::RejectReason;
use feedback_core::{CategoryId, MessageId, ServiceError, Status};
use std::sync::Arc;

/// What the public map needs of a backend on top of the contract's ports.
pub trait PublicBackend: Backend + NotificationStore + PublicMessageStore {}
impl<T: Backend + NotificationStore + PublicMessageStore> PublicBackend for T {}

async fn public_map<S: PublicBackend, Q: Queue>(s: &Stack<S, Q>) -> PublicMap<S, Arc<ManualClock>> {
    let reference = Arc::new(Reference::new(s.store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&sample_region()).await.unwrap();
    PublicMap::new(s.store.clone(), s.clock.clone(), reference)
}

/// Central Tyumen, and a box around it.
const HERE: (f64, f64) = (57.153_000, 65.534_300);
const CITY: &str = "65.40,57.05,65.70,57.25";

fn clusters_query(bbox: &str, zoom: u8, category: Option<&str>, status: Option<Status>) -> ClusterQuery {
    ClusterQuery {
        bbox: BBox::parse(bbox).unwrap(),
        zoom,
        category: category.map(|c| CategoryId::parse(c).unwrap()),
        status,
    }
}

async fn count<S: PublicBackend>(map: &PublicMap<S, Arc<ManualClock>>, q: &ClusterQuery) -> u64 {
    map.clusters(q).await.unwrap().clusters.iter().map(|c| c.count).sum()
}

fn text(s: &str) -> MessageText {
    MessageText::parse(s).unwrap()
}

pub async fn the_map_counts_public_messages_by_cell_while_they_are_visible<S: PublicBackend, Q: Queue>(
    h: &Harness<S, Q>,
) {
    let s = stack(h).await;
    let map = public_map(&s).await;
    let (alice, bob, carol) = (citizen("alice"), citizen("bob"), citizen("carol"));
    let public = |mut m: feedback_core::service::NewMessage, at: (f64, f64)| {
        m.public = true;
        m.location = Some(feedback_core::values::Location::new(at.0, at.1).unwrap());
        m
    };
    // Given two public messages 1 km apart, and a private one
    let a = s
        .messages
        .submit(
            &alice,
            public(crate::fixtures::new_message("dorogi-yamy", "Яма у остановки, звоните 89991234567"), HERE),
            None,
        )
        .await
        .unwrap()
        .message
        .id;
    s.clock.advance(Duration::seconds(1));
    let b = s
        .messages
        .submit(
            &bob,
            public(crate::fixtures::new_message("zhkh-musor", "Не вывозят мусор третий день"), (57.162, 65.5343)),
            None,
        )
        .await
        .unwrap()
        .message
        .id;
    let private = s.submit(&carol, "dorogi-yamy", "Яма во дворе у подъезда номер два", Some((57.140, 65.52))).await;
    // a box of about 165 cells at zoom 16's precision, around both public messages
    let all = clusters_query("65.525,57.150,65.545,57.165", 16, None, None);
    // before routing nothing is public
    assert_eq!(count(&map, &all).await, 0);
    s.drain().await;
    // Then routed, the two public ones are on the map, each in its own cell
    let found = map.clusters(&all).await.unwrap();
    assert_eq!(found.clusters.len(), 2, "{found:?}");
    assert!(found.clusters.iter().all(|c| c.count == 1));
    assert_eq!(count(&map, &clusters_query(CITY, 16, Some("dorogi"), None)).await, 1, "a group holds its children");
    assert_eq!(count(&map, &clusters_query(CITY, 16, Some("zhkh-musor"), Some(Status::Routed))).await, 1);
    assert_eq!(found.precision, 7);
    // the whole city at zoom 16 touches too many cells and is clustered coarser, in one cell
    let city = map.clusters(&clusters_query(CITY, 16, None, None)).await.unwrap();
    assert_eq!((city.precision, city.clusters.len(), city.clusters[0].count), (5, 1, 2));
    // zoomed out they share one cell; a world box is clustered coarser, never refused
    let wide = map.clusters(&clusters_query(CITY, 3, None, None)).await.unwrap();
    assert_eq!((wide.clusters.len(), wide.clusters[0].count), (1, 2));
    let world = map.clusters(&clusters_query("-180,-90,180,90", 18, None, None)).await.unwrap();
    assert_eq!((world.precision, world.clusters.iter().map(|c| c.count).sum::<u64>()), (2, 2));
    // a box elsewhere has none
    assert_eq!(count(&map, &clusters_query("30.0,59.8,30.5,60.1", 12, None, None)).await, 0);

    // When one is taken into work, it moves between statuses
    s.workflow.take(&official("o-1", "tyumen-upravdor"), &a).await.unwrap();
    assert_eq!(count(&map, &clusters_query(CITY, 16, None, Some(Status::Routed))).await, 1);
    assert_eq!(count(&map, &clusters_query(CITY, 16, None, Some(Status::InProgress))).await, 1);

    // The list shows the public ones only, newest first, scrubbed and snapped to the grid
    let page = map.list(&ListQuery { limit: 50, ..Default::default() }).await.unwrap();
    assert_eq!(page.items.iter().map(|m| m.id).collect::<Vec<_>>(), vec![b, a]);
    assert_eq!(page.next_cursor, None);
    let first = &page.items[1];
    assert!(!first.text.contains("89991234567"), "{}", first.text);
    let loc = first.location.unwrap();
    assert_eq!((loc.lat, loc.lon), (57.153, 65.534));
    assert_eq!(first.status, Status::InProgress);
    // filtered by the box, the category and the status, and paged with a cursor
    let near = BBox::parse("65.53,57.15,65.54,57.155").unwrap();
    let only_a = map.list(&ListQuery { bbox: Some(near), limit: 50, ..Default::default() }).await.unwrap();
    assert_eq!(only_a.items.iter().map(|m| m.id).collect::<Vec<_>>(), vec![a]);
    let musor = ListQuery { category: Some(CategoryId::parse("zhkh").unwrap()), limit: 50, ..Default::default() };
    assert_eq!(map.list(&musor).await.unwrap().items.iter().map(|m| m.id).collect::<Vec<_>>(), vec![b]);
    let routed = ListQuery { status: Some(Status::Routed), limit: 50, ..Default::default() };
    assert_eq!(map.list(&routed).await.unwrap().items.iter().map(|m| m.id).collect::<Vec<_>>(), vec![b]);
    let one = map.list(&ListQuery { limit: 1, ..Default::default() }).await.unwrap();
    assert_eq!(one.items.len(), 1);
    let cursor = one.next_cursor.expect("a next page");
    let q = |name: &str| match name {
        "cursor" => Some(cursor.clone()),
        "limit" => Some("1".to_owned()),
        _ => None,
    };
    let next = map.list(&ListQuery::parse(&q).unwrap()).await.unwrap();
    assert_eq!(next.items.iter().map(|m| m.id).collect::<Vec<_>>(), vec![a]);
    // one by id; a private or unknown id is not found
    assert_eq!(map.get(&a.to_string()).await.unwrap().id, a);
    for id in
        [private.to_string(), MessageId::new_at(feedback_core::Clock::now(&s.clock)).to_string(), "nonsense".into()]
    {
        assert!(matches!(map.get(&id).await, Err(ServiceError::NotFound)), "{id}");
    }

    // When a moderator rejects one, it leaves the map and the list
    s.workflow.reject(&moderator("m-1"), &b, RejectReason::Spam, None).await.unwrap();
    assert_eq!(count(&map, &all).await, 1);
    assert!(matches!(map.get(&b.to_string()).await, Err(ServiceError::NotFound)));
    // and an answered and closed one stays, with its scrubbed answer
    let upravdor = official("o-1", "tyumen-upravdor");
    s.workflow.answer(&upravdor, &a, text("Яма заделана, вопросы по телефону 89990001122")).await.unwrap();
    s.workflow.rate(&alice, &a, 5, None, false).await.unwrap();
    let closed = map.get(&a.to_string()).await.unwrap();
    assert_eq!(closed.status, Status::Closed);
    assert!(closed.answer.as_deref().is_some_and(|t| t.contains("Яма заделана") && !t.contains("89990001122")));
    assert!(closed.answered_at.is_some());
    assert_eq!(count(&map, &clusters_query(CITY, 16, None, Some(Status::Closed))).await, 1);
    assert_eq!(count(&map, &all).await, 1);
}

pub async fn a_resident_supports_a_public_message_once_and_hears_its_answer<S: PublicBackend, Q: Queue>(
    h: &Harness<S, Q>,
) {
    let s = stack(h).await;
    let map = public_map(&s).await;
    let (alice, bob, carol, dave) = (citizen("alice"), citizen("bob"), citizen("carol"), citizen("dave"));
    // Given a private open message and a public one 80 m apart (not duplicates: the radius is 50 m)
    let private = s.submit(&carol, "dorogi-yamy", "Яма у въезда во двор дома 3", Some((57.153_000, 65.534_300))).await;
    let mut input = crate::fixtures::new_message("dorogi-yamy", "Яма у перекрёстка, колёса бьются");
    input.public = true;
    input.location = Some(feedback_core::values::Location::new(57.153_720, 65.534_300).unwrap());
    let public = s.messages.submit(&alice, input, None).await.unwrap().message.id;
    s.drain().await;
    assert_eq!(s.read(&alice, &public).await.0.duplicate_of, None);

    // When Bob, between them, asks what is reported nearby
    let q = |v: &str| Some(v.to_owned());
    let near = map.nearby(&bob, q("dorogi-yamy"), q("57.15336"), q("65.5343")).await.unwrap();
    // Then he sees the public one and only a count of the private one
    assert_eq!(near.radius_m, 50);
    assert_eq!(near.items.iter().map(|m| m.id).collect::<Vec<_>>(), vec![public]);
    assert_eq!(near.non_public_count, 1);
    let elsewhere = map.nearby(&bob, q("zhkh-musor"), q("57.15336"), q("65.5343")).await.unwrap();
    assert!(elsewhere.items.is_empty() && elsewhere.non_public_count == 0);
    for (c, lat, lon) in
        [(None, q("57.1"), q("65.5")), (q("nope"), q("57.1"), q("65.5")), (q("dorogi-yamy"), q("91"), q("65.5"))]
    {
        assert_eq!(code(map.nearby(&bob, c, lat, lon).await.unwrap_err()), "validation_failed");
    }
    let official = official("o-1", "tyumen-upravdor");
    assert!(matches!(
        map.nearby(&official, q("dorogi-yamy"), q("57.1"), q("65.5")).await,
        Err(ServiceError::Forbidden(_))
    ));

    // When Bob says «Я тоже», twice, and Dave once
    assert_eq!(map.support(&bob, &public.to_string()).await.unwrap().supporters, 1);
    assert_eq!(map.support(&bob, &public.to_string()).await.unwrap().supporters, 1, "once per resident");
    assert_eq!(map.support(&dave, &public.to_string()).await.unwrap().supporters, 2);
    assert_eq!(map.get(&public.to_string()).await.unwrap().supporters, 2);
    // the author cannot, a private or unknown message is not found
    assert_eq!(code(map.support(&alice, &public.to_string()).await.unwrap_err()), "cannot_support");
    assert!(matches!(map.support(&bob, &private.to_string()).await, Err(ServiceError::NotFound)));
    assert!(matches!(map.support(&bob, "x").await, Err(ServiceError::NotFound)));
    // the history does not name the supporters, and the status stays
    let (m, statuses) = s.read(&alice, &public).await;
    assert_eq!(m.status, Status::Routed);
    assert_eq!(statuses, vec![Status::Submitted, Status::Routed, Status::Routed, Status::Routed]);
    let history = s.store.get_history(&public).await.unwrap();
    assert!(history.iter().skip(2).all(|e| e.actor_id.is_none()));
    // support counts as demand in the analytics counters
    let rows = s
        .store
        .read_counters(&[SlotRange {
            series: "R|cat".into(),
            slot_from: "M2026-11|dorogi-yamy".into(),
            slot_to: "M2026-11|dorogi-yamy".into(),
        }])
        .await
        .unwrap();
    assert_eq!(rows.iter().filter_map(|r| r.fields.get("supporters")).sum::<i64>(), 2);
    let report = feedback_core::analytics::Analytics::new(
        s.store.clone(),
        s.clock.clone(),
        Arc::new(Reference::new(s.store.clone(), std::time::Duration::from_secs(60))),
    )
    .messages(&crate::polls::admin(), Some("2026-11-01"), Some("2026-11-30"), Some("category"))
    .await
    .unwrap();
    let yamy = report.groups.iter().find(|g| g.key == "dorogi-yamy").expect("the category's group");
    assert_eq!(yamy.supporters, 2, "demand in the messages report");

    // When the authority answers and Alice closes it
    s.clock.advance(Duration::hours(2));
    s.workflow.answer(&official, &public, text("Яма на перекрёстке заделана")).await.unwrap();
    s.workflow.rate(&alice, &public, 5, None, false).await.unwrap();
    s.drain().await;
    // Then both supporters heard of the answer and the closing, in their own words
    for who in [&bob, &dave] {
        let items = s.notifications.list(who, None, Limit::DEFAULT).await.unwrap().items;
        let kinds: Vec<NotificationKind> = items.iter().rev().map(|n| n.kind).collect();
        assert_eq!(kinds, vec![NotificationKind::Answered, NotificationKind::Closed], "{}", who.id);
        assert!(items.iter().all(|n| n.message_id == public && n.text.contains("поддержали")));
    }
    // and a closed message cannot be supported any more
    assert_eq!(code(map.support(&carol, &public.to_string()).await.unwrap_err()), "cannot_support");
}

fn heat_query(bbox: &str, zoom: u8, overdue: bool, category: Option<&str>) -> HeatmapQuery {
    HeatmapQuery {
        bbox: BBox::parse(bbox).unwrap(),
        zoom,
        overdue,
        category: category.map(|c| CategoryId::parse(c).unwrap()),
    }
}

pub async fn the_heat_map_counts_every_located_message_and_those_overdue_now<S: PublicBackend, Q: Queue>(
    h: &Harness<S, Q>,
) {
    let s = stack(h).await;
    let reference = Arc::new(Reference::new(s.store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&sample_region()).await.unwrap();
    let analytics = Analytics::new(s.store.clone(), s.clock.clone(), reference);
    let admin = crate::polls::admin();
    let total = |q: HeatmapQuery| {
        let (analytics, admin) = (&analytics, &admin);
        async move { analytics.heatmap(admin, &q).await.unwrap().cells.iter().map(|c| c.count).sum::<u64>() }
    };
    let (alice, bob, carol, dave, erin) =
        (citizen("alice"), citizen("bob"), citizen("carol"), citizen("dave"), citizen("erin"));
    // Given four located messages, one of them public, and one without a place
    let cold = s.submit(&alice, "zhkh-otoplenie", "В квартире холодно, батареи ледяные", Some(HERE)).await;
    let mut input = crate::fixtures::new_message("dorogi-yamy", "Яма у остановки, колёса бьются");
    input.public = true;
    input.location = Some(feedback_core::values::Location::new(57.162, 65.5343).unwrap());
    s.messages.submit(&bob, input, None).await.unwrap();
    let yard = s.submit(&carol, "dorogi-yamy", "Яма во дворе у подъезда номер два", Some((57.140, 65.52))).await;
    s.submit(&dave, "dorogi-yamy", "Яма на дороге, место не указал", None).await;
    let colder = s.submit(&erin, "zhkh-otoplenie", "Батареи холодные вторую неделю", Some((57.162, 65.5343))).await;
    // Then each counts from its submission, public or not; the one without a place never
    assert_eq!(total(heat_query(CITY, 16, false, None)).await, 4);
    s.drain().await;
    assert_eq!(total(heat_query(CITY, 16, false, None)).await, 4, "routing moves nothing");
    // a small box at a street zoom has a cell per place, with its municipality
    let street = analytics.heatmap(&admin, &heat_query("65.525,57.150,65.545,57.165", 16, false, None)).await.unwrap();
    assert_eq!(street.precision, 6);
    assert_eq!(street.cells.iter().map(|c| c.count).collect::<Vec<_>>(), vec![1, 2], "{street:?}");
    assert_eq!(street.max, 2);
    assert!(street.cells.iter().all(|c| c.municipality_id.as_str() == "tyumen"));
    // the city box at the same zoom touches too many cells and is counted coarser; the world at 2
    let city = analytics.heatmap(&admin, &heat_query(CITY, 16, false, None)).await.unwrap();
    assert_eq!(city.precision, 5);
    let world = analytics.heatmap(&admin, &heat_query("-180,-90,180,90", 18, false, None)).await.unwrap();
    assert_eq!((world.precision, world.cells.len(), world.max), (2, 1, 4));
    assert_eq!(total(heat_query(CITY, 16, false, Some("dorogi"))).await, 2, "a group holds its children");
    assert_eq!(total(heat_query(CITY, 16, true, None)).await, 0, "nothing overdue yet");

    // When the heating deadline (3 working days) passes and the escalation flags both
    s.clock.set(crate::fixtures::at("2026-12-03T00:00:01+05:00"));
    assert_eq!(s.escalation.run().await.unwrap().overdue, 2);
    // Then both are overdue now, in their category
    assert_eq!(total(heat_query(CITY, 16, true, None)).await, 2);
    assert_eq!(total(heat_query(CITY, 16, true, Some("zhkh-otoplenie"))).await, 2);
    assert_eq!(total(heat_query(CITY, 16, true, Some("dorogi"))).await, 0);
    // taking one into work keeps it overdue; answering the other ends it
    let center = official("c-1", "tsur-72");
    s.workflow.take(&center, &cold).await.unwrap();
    s.workflow.answer(&center, &colder, MessageText::parse("Отопление восстановлено").unwrap()).await.unwrap();
    let overdue = analytics.heatmap(&center, &heat_query(CITY, 16, true, None)).await.unwrap();
    assert_eq!((overdue.cells.len(), overdue.max), (1, 1), "the ЦУР reads it too");
    assert_eq!(total(heat_query(CITY, 16, false, None)).await, 4, "an answered message still counts");
    // a rejected one leaves the map
    s.workflow.reject(&moderator("m-1"), &yard, RejectReason::Spam, None).await.unwrap();
    assert_eq!(total(heat_query(CITY, 16, false, None)).await, 3);

    // Nobody else reads it: residents, other officials, another region's admin
    let q = heat_query(CITY, 16, false, None);
    for who in [citizen("alice"), official("o-1", "tyumen-upravdor"), moderator("m-1")] {
        assert!(matches!(analytics.heatmap(&who, &q).await, Err(ServiceError::Forbidden(_))), "{}", who.id);
    }
    let elsewhere = crate::fixtures::actor_in("admin-2", "[admin]", "66");
    assert!(matches!(analytics.heatmap(&elsewhere, &q).await, Err(ServiceError::WrongRegion)));
    assert_eq!(total(heat_query(CITY, 16, false, None)).await, 3, "refusals change nothing");
    let unknown = heat_query(CITY, 16, false, Some("net-takoy"));
    assert_eq!(code(analytics.heatmap(&admin, &unknown).await.unwrap_err()), "validation_failed");
}

pub async fn an_erased_resident_leaves_the_supporters_and_the_export_lists_what_they_support<
    S: PublicBackend,
    Q: Queue,
>(
    h: &Harness<S, Q>,
) {
    use feedback_core::rights::SUPPORT_WITHDRAWN_NOTE;
    let s = stack(h).await;
    let map = public_map(&s).await;
    let reference = Arc::new(Reference::new(s.store.clone(), std::time::Duration::from_secs(60)));
    let secret = feedback_core::participation::VoterSecret::new(b"test-stack-secret-0123456789".to_vec()).unwrap();
    let blobs = Arc::new(crate::rights::RecordingBlobs::default());
    let rights = feedback_core::rights::Rights::new(s.store.clone(), s.clock.clone(), blobs, reference, secret);
    let (alice, bob, dave) = (citizen("alice"), citizen("bob"), citizen("dave"));
    // Given Alice's public message that Bob and Dave support
    let mut input = crate::fixtures::new_message("dorogi-yamy", "Яма у перекрёстка, колёса бьются");
    input.public = true;
    input.location = Some(feedback_core::values::Location::new(HERE.0, HERE.1).unwrap());
    let id = s.messages.submit(&alice, input, None).await.unwrap().message.id;
    s.drain().await;
    for who in [&bob, &dave] {
        map.support(who, &id.to_string()).await.unwrap();
    }
    // Then the index finds it by each supporter, and Bob's export lists it as the public sees it
    assert_eq!(s.store.supported_by(&bob.id, None, 10).await.unwrap(), vec![id]);
    assert_eq!(s.store.supported_by(&bob.id, Some(&id), 10).await.unwrap(), vec![], "strictly after");
    let data = rights.export(&bob).await.unwrap();
    assert_eq!(data.supported.iter().map(|m| (m.id, m.supporters)).collect::<Vec<_>>(), vec![(id, 2)]);
    let json = serde_json::to_value(&data).unwrap().to_string();
    assert!(!json.contains("alice") && !json.contains("dave"), "no one else is named: {json}");
    assert!(rights.export(&alice).await.unwrap().supported.is_empty(), "an author does not support her own");

    // When Bob erases his data
    let done = rights.erase(&bob).await.unwrap();
    assert_eq!(done.supports_withdrawn, 1);
    // Then he is off the supporters, and the history says so without naming him
    let m = s.store.get_message(&id).await.unwrap().unwrap();
    assert_eq!(m.supporter_ids, vec![dave.id.clone()]);
    assert_eq!(map.get(&id.to_string()).await.unwrap().supporters, 1);
    let history = s.store.get_history(&id).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!((last.note.as_str(), last.actor_id.as_ref(), last.facts.as_ref()), (SUPPORT_WITHDRAWN_NOTE, None, None));
    assert!(!serde_json::to_string(&history).unwrap().contains("bob"));
    assert!(s.store.supported_by(&bob.id, None, 10).await.unwrap().is_empty());
    assert!(rights.export(&bob).await.unwrap().supported.is_empty());
    assert_eq!(rights.erase(&bob).await.unwrap().supports_withdrawn, 0, "a second erasure finds none");
    assert_eq!(s.store.supported_by(&dave.id, None, 10).await.unwrap(), vec![id], "Dave's support stays");

    // and only Dave hears of the answer
    s.workflow.answer(&official("o-1", "tyumen-upravdor"), &id, text("Яма заделана")).await.unwrap();
    s.drain().await;
    assert!(s.notifications.list(&bob, None, Limit::DEFAULT).await.unwrap().items.is_empty());
    let to_dave = s.notifications.list(&dave, None, Limit::DEFAULT).await.unwrap().items;
    assert_eq!(to_dave.iter().map(|n| n.kind).collect::<Vec<_>>(), vec![NotificationKind::Answered]);
}

#[macro_export]
macro_rules! public_suite {
    ($harness:expr) => {
        $crate::public_suite!(@cases $harness;
            the_map_counts_public_messages_by_cell_while_they_are_visible,
            a_resident_supports_a_public_message_once_and_hears_its_answer,
            the_heat_map_counts_every_located_message_and_those_overdue_now,
            an_erased_resident_leaves_the_supporters_and_the_export_lists_what_they_support
        );
    };
    (@cases $harness:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (_guard, h) = $harness;
                $crate::public::$case(&h).await;
                $crate::analytics::assert_reconciled(&h.store).await;
            }
        )*
    };
}
