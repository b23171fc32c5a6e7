//! The message lifecycle on every backend: officials' actions, rating and reopen, escalation,
//! duplicates and notifications, redelivery and poison messages.

use crate::contract::{Backend, Queue};
use crate::fixtures::{actor, at, citizen, code, comment, new_message, reason};
use crate::Harness;
use chrono::Duration;
use feedback_core::ids::{AuthorityId, MessageId};
use feedback_core::message::QueueOrder;
use feedback_core::notification::NotificationKind;
use feedback_core::page::Limit;
use feedback_core::ports::{Job, NotificationStore, QueueName};
use feedback_core::service::{Messages, Reference, Routing, SubmitPolicy};
use feedback_core::testing::{sample_region, ManualClock};
use feedback_core::values::{Location, MessageText};
use feedback_core::workflow::{
    Escalation, Notifications, QueueCounts, QueueFilter, RejectReason, SearchTerms, Workflow,
};
use feedback_core::{Actor, Message, Status};
use std::sync::Arc;

/// Friday 2026-11-27, 10:00 in Tyumen.
pub const T0: &str = "2026-11-27T10:00:00+05:00";

pub struct Stack<S: Backend + NotificationStore, Q: Queue> {
    pub store: S,
    pub queue: Q,
    pub clock: Arc<ManualClock>,
    pub messages: Messages<S, Q, Arc<ManualClock>>,
    pub routing: Routing<S, Q, Arc<ManualClock>>,
    pub workflow: Workflow<S, Q, Arc<ManualClock>>,
    pub escalation: Escalation<S, Q, Arc<ManualClock>>,
    pub notifications: Notifications<S>,
}

pub async fn stack<S: Backend + NotificationStore, Q: Queue>(h: &Harness<S, Q>) -> Stack<S, Q> {
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&sample_region()).await.unwrap();
    let clock = Arc::new(ManualClock::at(T0));
    let (store, queue) = (h.store.clone(), h.queue.clone());
    Stack {
        messages: Messages::new(
            store.clone(),
            queue.clone(),
            clock.clone(),
            reference.clone(),
            SubmitPolicy::default(),
        ),
        routing: Routing::new(store.clone(), queue.clone(), clock.clone(), reference.clone()),
        workflow: Workflow::new(store.clone(), queue.clone(), clock.clone(), reference.clone()),
        escalation: Escalation::new(store.clone(), queue.clone(), clock.clone(), reference, Duration::minutes(2)),
        notifications: Notifications::new(store.clone()),
        store,
        queue,
        clock,
    }
}

impl<S: Backend + NotificationStore, Q: Queue> Stack<S, Q> {
    /// Runs both queues' consumers until they are empty; returns how many deliveries ran.
    pub async fn drain(&self) -> usize {
        let mut n = 0;
        loop {
            let mut got_any = false;
            for q in [QueueName::Submitted, QueueName::Notifications] {
                for d in self.queue.receive(q, 10, std::time::Duration::from_secs(30)).await.unwrap() {
                    got_any = true;
                    n += 1;
                    match q {
                        QueueName::Submitted => route_messages::route_one(&self.routing, &d.body).await.unwrap(),
                        QueueName::Notifications => notify::deliver_one(&self.notifications, &d.body).await.unwrap(),
                        QueueName::WebhookEvents | QueueName::WebhookDeliveries => {}
                    }
                    self.queue.ack(q, &d.receipt).await.unwrap();
                }
            }
            if !got_any {
                return n;
            }
        }
    }

    pub async fn submit(&self, who: &Actor, category: &str, text: &str, location: Option<(f64, f64)>) -> MessageId {
        let mut input = new_message(category, text);
        input.location = location.map(|(lat, lon)| Location::new(lat, lon).unwrap());
        self.messages.submit(who, input, None).await.unwrap().message.id
    }

    pub async fn read(&self, who: &Actor, id: &MessageId) -> (Message, Vec<Status>) {
        let d = self.messages.get(who, id).await.unwrap();
        (d.message, d.history.iter().map(|h| h.to).collect())
    }
}

pub fn official(sub: &str, authority: &str) -> Actor {
    actor(sub, "[official]", &[("authority", authority)])
}

pub fn moderator(sub: &str) -> Actor {
    actor(sub, "[moderator]", &[])
}

fn text(s: &str) -> MessageText {
    MessageText::parse(s).unwrap()
}

pub async fn the_full_lifecycle_with_one_reopen<S: Backend + NotificationStore, Q: Queue>(h: &Harness<S, Q>) {
    let s = stack(h).await;
    let alice = citizen("alice");
    let upravdor = official("o-1", "tyumen-upravdor");
    // submit → routed
    let id = s.submit(&alice, "dorogi-yamy", "Яма на Республики у дома 15", None).await;
    s.drain().await;
    assert_eq!(s.read(&alice, &id).await.0.status, Status::Routed);
    // take → answer
    s.clock.advance(Duration::hours(1));
    assert_eq!(s.workflow.take(&upravdor, &id).await.unwrap().status, Status::InProgress);
    let answered = s.workflow.answer(&upravdor, &id, text("Яма заделана холодным асфальтом")).await.unwrap();
    assert_eq!(answered.status, Status::Answered);
    assert_eq!(answered.answer.as_ref().unwrap().authority_id.as_str(), "tyumen-upravdor");
    // rating 2 with reopen: a new deadline from now, the same authority
    s.clock.advance(Duration::days(3));
    let reopened = s.workflow.rate(&alice, &id, 2, Some(comment("Через день снова провал")), true).await.unwrap();
    assert_eq!(reopened.status, Status::Reopened);
    assert_eq!(reopened.authority_id.as_ref().unwrap().as_str(), "tyumen-upravdor");
    // Monday 2026-11-30 10:00 + 8 working days = Thursday 2026-12-10
    assert_eq!(reopened.deadline, Some(at("2026-12-10T23:59:59+05:00")));
    // answer again; a second reopen is refused; rating 5 closes
    s.workflow.answer(&upravdor, &id, text("Выполнен полноценный ремонт покрытия")).await.unwrap();
    let again = s.workflow.rate(&alice, &id, 1, None, true).await.unwrap_err();
    assert_eq!(code(again), "reopen_limit");
    let closed = s.workflow.rate(&alice, &id, 5, Some(comment("Спасибо!")), false).await.unwrap();
    assert_eq!(closed.status, Status::Closed);
    assert_eq!(closed.rating.as_ref().map(|r| r.score), Some(5));
    // answering a closed message is an invalid transition
    let late = s.workflow.answer(&upravdor, &id, text("Ещё один ответ на сообщение")).await.unwrap_err();
    assert_eq!(code(late), "invalid_transition");
    use Status::*;
    let (_, history) = s.read(&alice, &id).await;
    assert_eq!(history, vec![Submitted, Routed, InProgress, Answered, Reopened, Answered, Closed]);
    // every status change Alice should hear about reached her once
    s.drain().await;
    let kinds: Vec<NotificationKind> =
        s.notifications.list(&alice, None, Limit::DEFAULT).await.unwrap().items.iter().rev().map(|n| n.kind).collect();
    use NotificationKind as K;
    assert_eq!(kinds, vec![K::Routed, K::InProgress, K::Answered, K::Answered, K::Closed]);
}

pub async fn only_the_right_people_act<S: Backend + NotificationStore, Q: Queue>(h: &Harness<S, Q>) {
    let s = stack(h).await;
    let alice = citizen("alice");
    let id = s.submit(&alice, "dorogi-yamy", "Яма на Республики у дома 15", None).await;
    s.drain().await;
    // another authority cannot see it; the owner cannot take it; a moderator cannot answer
    assert_eq!(code(s.workflow.take(&official("o-2", "adm-ishim"), &id).await.unwrap_err()), "not_found");
    assert_eq!(code(s.workflow.take(&alice, &id).await.unwrap_err()), "forbidden");
    let m = moderator("m-1");
    assert_eq!(code(s.workflow.answer(&m, &id, text("Ответ модератора на сообщение")).await.unwrap_err()), "forbidden");
    // an official may only send it back to the ЦУР
    let own = official("o-1", "tyumen-upravdor");
    let elsewhere = s.workflow.redirect(&own, &id, AuthorityId::parse("ddit").unwrap(), reason("x")).await;
    assert_eq!(code(elsewhere.unwrap_err()), "validation_failed");
    let back = s.workflow.redirect(&own, &id, AuthorityId::parse("tsur-72").unwrap(), reason("not_in_competence"));
    let back = back.await.unwrap();
    assert_eq!((back.status, back.authority_id.unwrap().as_str()), (Status::Routed, "tsur-72"));
    // now the former authority no longer sees it, the ЦУР re-routes it and a moderator rejects it
    assert_eq!(code(s.workflow.take(&own, &id).await.unwrap_err()), "not_found");
    let center = official("c-1", "tsur-72");
    s.workflow
        .redirect(&center, &id, AuthorityId::parse("ddit").unwrap(), reason("региональная дорога"))
        .await
        .unwrap();
    let rejected = s.workflow.reject(&m, &id, feedback_core::workflow::RejectReason::Spam, None).await.unwrap();
    assert_eq!(rejected.status, Status::Rejected);
    // the same moderator repeating the request gets the same answer; another one cannot reject it again
    let again = s.workflow.reject(&m, &id, feedback_core::workflow::RejectReason::Spam, None).await.unwrap();
    assert_eq!((again.status, again.version), (rejected.status, rejected.version));
    assert_eq!(
        code(
            s.workflow
                .reject(&moderator("m-2"), &id, feedback_core::workflow::RejectReason::Spam, None)
                .await
                .unwrap_err()
        ),
        "invalid_transition"
    );
}

pub async fn overdue_is_flagged_once_and_reaches_the_coordination_centre<S: Backend + NotificationStore, Q: Queue>(
    h: &Harness<S, Q>,
) {
    let s = stack(h).await;
    let alice = citizen("alice");
    // heating: 3 working days; routed Friday → due Wednesday 2026-12-02 end of day
    let heat = s.submit(&alice, "zhkh-otoplenie", "В квартире холодно, батареи ледяные", None).await;
    let pothole = s.submit(&alice, "dorogi-yamy", "Яма на Республики у дома 15", None).await;
    s.drain().await;
    assert_eq!(s.read(&alice, &heat).await.0.deadline, Some(at("2026-12-02T23:59:59+05:00")));
    // before the deadline nothing happens
    s.clock.set(at("2026-12-02T23:59:00+05:00"));
    assert_eq!(s.escalation.run().await.unwrap().overdue, 0);
    // after it, the message is flagged once, however often the job runs
    s.clock.set(at("2026-12-03T00:00:01+05:00"));
    assert_eq!(s.escalation.run().await.unwrap().overdue, 1);
    assert_eq!(s.escalation.run().await.unwrap().overdue, 0);
    let (m, history) = s.read(&alice, &heat).await;
    assert!(m.overdue);
    assert_eq!(history.len(), 3, "one history entry for the escalation");
    assert!(!s.read(&alice, &pothole).await.0.overdue);
    // the ЦУР's queue shows it next to its own; the assigned authority sees it flagged
    let center =
        s.workflow.queue(&official("c-1", "tsur-72"), QueueFilter::default(), None, Limit::DEFAULT).await.unwrap();
    assert_eq!(center.items.iter().map(|m| m.id).collect::<Vec<_>>(), vec![heat]);
    let filter = QueueFilter { overdue: Some(true), ..QueueFilter::default() };
    let own = s.workflow.queue(&official("o-1", "adm-tyumen"), filter, None, Limit::DEFAULT).await.unwrap();
    assert_eq!(own.items.len(), 1);
    s.drain().await;
    let kinds: Vec<_> =
        s.notifications.list(&alice, None, Limit::DEFAULT).await.unwrap().items.iter().map(|n| n.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == NotificationKind::Overdue).count(), 1);
}

pub async fn the_queue_is_nearest_deadline_first_with_a_cursor<S: Backend + NotificationStore, Q: Queue>(
    h: &Harness<S, Q>,
) {
    let s = stack(h).await;
    let alice = citizen("alice");
    let upravdor = official("o-1", "tyumen-upravdor");
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(s.submit(&alice, "dorogi-yamy", &format!("Яма номер {i} на улице Республики"), None).await);
        s.drain().await;
        s.clock.advance(Duration::days(1));
    }
    let first =
        s.workflow.queue(&upravdor, QueueFilter::default(), None, Limit::parse(Some("2")).unwrap()).await.unwrap();
    assert_eq!(first.items.iter().map(|m| m.id).collect::<Vec<_>>(), ids[0..2].to_vec());
    let cursor = feedback_core::page::Cursor::decode(first.next_cursor.as_deref().unwrap()).unwrap();
    let rest = s.workflow.queue(&upravdor, QueueFilter::default(), Some(cursor), Limit::DEFAULT).await.unwrap();
    assert_eq!(rest.items.iter().map(|m| m.id).collect::<Vec<_>>(), ids[2..].to_vec());
    assert_eq!(rest.next_cursor, None);
    s.workflow.take(&upravdor, &ids[1]).await.unwrap();
    let taken = QueueFilter { status: Some(Status::InProgress), ..QueueFilter::default() };
    let page = s.workflow.queue(&upravdor, taken, None, Limit::DEFAULT).await.unwrap();
    assert_eq!(page.items.iter().map(|m| m.id).collect::<Vec<_>>(), vec![ids[1]]);
    assert!(s.workflow.queue(&alice, QueueFilter::default(), None, Limit::DEFAULT).await.is_err());
}

/// The queue newest or oldest first by when the messages were sent, against the nearest deadline
/// first; each order pages with its own cursor, and the ЦУР's region-wide overdue messages are
/// merged in the same order.
pub async fn the_queue_sorts_by_deadline_or_by_sending<S: Backend + NotificationStore, Q: Queue>(h: &Harness<S, Q>) {
    let s = stack(h).await;
    let alice = citizen("alice");
    let (upravdor, center) = (official("o-1", "tyumen-upravdor"), official("c-1", "tsur-72"));
    let mut sent = Vec::new();
    for text in [
        "Яма на проезжей части по улице Ленина у дома 1",
        "Выбоина у остановки на улице Ленина, 3",
        "Провал асфальта во дворе дома 5 по улице Ленина",
    ] {
        sent.push(s.submit(&alice, "dorogi-yamy", text, None).await);
        s.drain().await;
        s.clock.advance(Duration::days(1));
    }
    let [first, second, third] = [sent[0], sent[1], sent[2]];
    // Reopened a day after the last was sent, the first is due last: 8 working days from Monday.
    s.workflow.answer(&upravdor, &first, text("Яма засыпана щебнем.")).await.unwrap();
    s.workflow.rate(&alice, &first, 2, Some(comment("Щебень размыло, яма снова там")), true).await.unwrap();
    let two = Limit::parse(Some("2")).unwrap();
    let ids_of = |p: &feedback_core::page::Page<Message>| p.items.iter().map(|m| m.id).collect::<Vec<_>>();
    let by = |order: QueueOrder| QueueFilter { order, ..QueueFilter::default() };
    let walk = |who: Actor, order: QueueOrder| {
        let workflow = &s.workflow;
        async move {
            let first = workflow.queue(&who, by(order), None, two).await.unwrap();
            let cursor = feedback_core::page::Cursor::decode(first.next_cursor.as_deref().unwrap()).unwrap();
            let rest = workflow.queue(&who, by(order), Some(cursor), two).await.unwrap();
            assert_eq!(rest.next_cursor, None, "{order:?}");
            (ids_of(&first), ids_of(&rest))
        }
    };
    assert_eq!(walk(upravdor.clone(), QueueOrder::Deadline).await, (vec![second, third], vec![first]));
    assert_eq!(walk(upravdor.clone(), QueueOrder::Newest).await, (vec![third, second], vec![first]));
    assert_eq!(walk(upravdor.clone(), QueueOrder::Oldest).await, (vec![first, second], vec![third]));
    // «Все» merges the buckets in the same order: an answered message keeps its place by sending.
    s.workflow.answer(&upravdor, &second, text("Выбоина заделана.")).await.unwrap();
    let all_newest = QueueFilter { all: true, order: QueueOrder::Newest, ..QueueFilter::default() };
    let page = s.workflow.queue(&upravdor, all_newest, None, Limit::DEFAULT).await.unwrap();
    assert_eq!(ids_of(&page), vec![third, second, first]);
    // Overdue, the open two reach the ЦУР, in each order.
    s.clock.advance(Duration::days(30));
    assert_eq!(s.escalation.run().await.unwrap().overdue, 2);
    let center_queue = |order| s.workflow.queue(&center, by(order), None, Limit::DEFAULT);
    assert_eq!(ids_of(&center_queue(QueueOrder::Newest).await.unwrap()), vec![third, first]);
    assert_eq!(ids_of(&center_queue(QueueOrder::Oldest).await.unwrap()), vec![first, third]);
    assert_eq!(ids_of(&center_queue(QueueOrder::Deadline).await.unwrap()), vec![third, first]);
}

/// «Все» holds every bucket, a search finds by text and address, and the counts come from the
/// counters: the open, the overdue among them, the answered and the rejected.
pub async fn the_queue_lists_all_searches_and_counts<S: Backend + NotificationStore, Q: Queue>(h: &Harness<S, Q>) {
    let s = stack(h).await;
    let (alice, center) = (citizen("alice"), official("c-1", "tsur-72"));
    let upravdor = official("o-1", "tyumen-upravdor");
    let ids_of = |p: &feedback_core::page::Page<Message>| p.items.iter().map(|m| m.id).collect::<Vec<_>>();
    let at_address = |text: &'static str, address: &'static str| {
        let mut input = new_message("dorogi-yamy", text);
        input.address = Some(feedback_core::values::Address::parse(address).unwrap());
        let (messages, alice) = (&s.messages, alice.clone());
        async move { messages.submit(&alice, input, None).await.unwrap().message.id }
    };
    let open = at_address("Яма на проезжей части у дома", "Тюмень, ул. Республики, 15").await;
    let answered = at_address("Разбит асфальт во дворе", "Тюмень, ул. Мельникайте, 5").await;
    let rejected = at_address("Провал дороги у школы", "Тюмень, ул. Мельникайте, 7").await;
    s.drain().await;
    s.workflow.answer(&upravdor, &answered, text("Асфальт во дворе будет уложен до пятницы.")).await.unwrap();
    s.workflow.reject(&moderator("m-1"), &rejected, RejectReason::Spam, None).await.unwrap();
    let q = |f: QueueFilter| s.workflow.queue(&upravdor, f, None, Limit::DEFAULT);
    assert_eq!(ids_of(&q(QueueFilter::default()).await.unwrap()), vec![open]);
    let all = QueueFilter { all: true, ..QueueFilter::default() };
    let mut listed = ids_of(&q(all.clone()).await.unwrap());
    listed.sort();
    let mut expected = vec![open, answered, rejected];
    expected.sort();
    assert_eq!(listed, expected, "«Все» holds the answered and rejected ones too");
    // search: by a word of the text, by the address, in any case and with «ё» as «е»
    let search = |words: &str| QueueFilter { search: SearchTerms::parse(words).unwrap(), ..all.clone() };
    assert_eq!(ids_of(&q(search("АСФАЛЬТ")).await.unwrap()), vec![answered]);
    let mut found = ids_of(&q(search("Мельникайте")).await.unwrap());
    found.sort();
    let mut both = vec![answered, rejected];
    both.sort();
    assert_eq!(found, both, "found by the address");
    assert_eq!(ids_of(&q(search("республики яма")).await.unwrap()), vec![open], "address and text together");
    assert_eq!(
        ids_of(
            &q(QueueFilter { search: SearchTerms::parse("мельникайте").unwrap(), ..QueueFilter::default() })
                .await
                .unwrap()
        ),
        vec![],
        "a search keeps the status filter"
    );
    assert!(q(search("нигде")).await.unwrap().items.is_empty());
    assert_eq!(SearchTerms::parse("  ,  ").unwrap(), None, "blank input is no search");
    assert!(SearchTerms::parse(&"я".repeat(101)).is_err());
    // counts, exact from the counters
    let counts = s.workflow.queue_counts(&upravdor).await.unwrap();
    assert_eq!(counts, QueueCounts { open: 1, overdue: 0, answered: 1, closed: 0, rejected: 1 });
    s.clock.advance(Duration::days(30));
    assert_eq!(s.escalation.run().await.unwrap().overdue, 1);
    let counts = s.workflow.queue_counts(&upravdor).await.unwrap();
    assert_eq!((counts.open, counts.overdue), (1, 1));
    // the ЦУР counts the region's overdue messages; the overdue one leaves the count when answered
    assert_eq!(s.workflow.queue_counts(&center).await.unwrap().overdue, 1);
    s.workflow.answer(&upravdor, &open, text("Яма будет заделана в течение недели.")).await.unwrap();
    let counts = s.workflow.queue_counts(&upravdor).await.unwrap();
    assert_eq!(counts, QueueCounts { open: 0, overdue: 0, answered: 2, closed: 0, rejected: 1 });
    assert_eq!(s.workflow.queue_counts(&center).await.unwrap().overdue, 0);
    assert!(s.workflow.queue_counts(&alice).await.is_err(), "residents have no queue");
}

/// Moderators and the region's admins list the messages awaiting moderation; no one else does.
pub async fn moderators_list_the_messages_awaiting_moderation<S: Backend + NotificationStore, Q: Queue>(
    h: &Harness<S, Q>,
) {
    let s = stack(h).await;
    let alice = citizen("alice");
    let first = s.submit(&alice, "dorogi-yamy", "Яма на Республики у дома 15", None).await;
    s.clock.advance(Duration::minutes(1));
    let second = s.submit(&alice, "dorogi-yamy", "Разбит асфальт во дворе", None).await;
    let list = |who: Actor, cursor| {
        let w = &s.workflow;
        async move { w.awaiting_moderation(&who, cursor, Limit::parse(Some("1")).unwrap()).await }
    };
    let page = list(moderator("m-1"), None).await.unwrap();
    assert_eq!(page.items.iter().map(|m| m.id).collect::<Vec<_>>(), vec![first]);
    let cursor = feedback_core::page::Cursor::decode(page.next_cursor.as_deref().unwrap()).unwrap();
    let page = list(crate::polls::admin(), Some(cursor)).await.unwrap();
    assert_eq!(page.items.iter().map(|m| m.id).collect::<Vec<_>>(), vec![second]);
    for who in [alice.clone(), official("o-1", "tyumen-upravdor")] {
        assert!(matches!(list(who, None).await, Err(feedback_core::ServiceError::Forbidden(_))));
    }
    s.drain().await;
    assert!(list(moderator("m-1"), None).await.unwrap().items.is_empty(), "routed messages leave the list");
}

pub async fn duplicates_are_linked_and_share_the_answer<S: Backend + NotificationStore, Q: Queue>(h: &Harness<S, Q>) {
    let s = stack(h).await;
    let (alice, bob, carol) = (citizen("alice"), citizen("bob"), citizen("carol"));
    let here = (57.153_000, 65.534_300);
    let near = (57.153_200, 65.534_300); // about 22 m north
    let far = (57.160_000, 65.534_300); // about 780 m north
    let original = s.submit(&alice, "dorogi-yamy", "Яма у остановки Площадь Борцов", Some(here)).await;
    s.drain().await;
    let dup = s.submit(&bob, "dorogi-yamy", "Большая яма у остановки на площади", Some(near)).await;
    let other = s.submit(&carol, "dorogi-yamy", "Яма на другом конце улицы", Some(far)).await;
    s.drain().await;
    let (d, _) = s.read(&bob, &dup).await;
    assert_eq!(d.duplicate_of, Some(original));
    assert_eq!(d.authority_id.as_ref().unwrap().as_str(), "tyumen-upravdor");
    assert_eq!(s.read(&carol, &other).await.0.duplicate_of, None);
    assert_eq!(s.read(&alice, &original).await.0.duplicates_count, 1);
    // answering the original answers the duplicate; both authors hear of it and can rate
    let upravdor = official("o-1", "tyumen-upravdor");
    // the answer carries the official's photo of the repair, and so does the duplicate's
    let photo = feedback_core::photo::Photo {
        id: feedback_core::ids::PhotoId::new_at(chrono::Utc::now()),
        owner: upravdor.id.clone(),
        content_type: feedback_core::photo::ImageType::Jpeg,
        size_bytes: 2048,
        created_at: chrono::Utc::now(),
    };
    h.store.put_photo(&photo).await.unwrap();
    let photos = feedback_core::values::PhotoIds::parse(&[photo.id.to_string()]).unwrap();
    s.workflow
        .answer_with_photos(&upravdor, &original, text("Яма у остановки отремонтирована"), &photos)
        .await
        .unwrap();
    for id in [&original, &dup] {
        let m = h.store.get_message(id).await.unwrap().unwrap();
        assert_eq!(m.answer_photo_ids, vec![photo.id], "the answer's photo on {id}");
        assert!(m.photo_ids.is_empty(), "the residents' own photos stay theirs");
    }
    let (d, history) = s.read(&bob, &dup).await;
    assert_eq!(d.status, Status::Answered);
    assert_eq!(d.answer.unwrap().text, "Яма у остановки отремонтирована");
    assert_eq!(history.last(), Some(&Status::Answered));
    assert_eq!(s.read(&carol, &other).await.0.status, Status::Routed);
    s.drain().await;
    for who in [&alice, &bob] {
        let items = s.notifications.list(who, None, Limit::DEFAULT).await.unwrap().items;
        assert_eq!(items[0].kind, NotificationKind::Answered);
    }
    s.workflow.rate(&bob, &dup, 4, None, false).await.unwrap();
    s.workflow.rate(&alice, &original, 5, None, false).await.unwrap();
}

pub async fn redelivering_every_routing_job_three_times_routes_each_once<S: Backend + NotificationStore, Q: Queue>(
    h: &Harness<S, Q>,
) {
    let s = stack(h).await;
    let alice = citizen("alice");
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(s.submit(&alice, "zhkh-musor", &format!("Не вывозят мусор во дворе дома {i}"), None).await);
    }
    for id in &ids {
        for _ in 0..2 {
            s.queue.send(&Job::RouteMessage { message_id: *id }).await.unwrap();
        }
    }
    s.drain().await;
    for id in &ids {
        let (m, history) = s.read(&alice, id).await;
        assert_eq!((m.status, m.version), (Status::Routed, 2));
        assert_eq!(history, vec![Status::Submitted, Status::Routed]);
    }
    let routed = s.notifications.list(&alice, None, Limit::DEFAULT).await.unwrap().items;
    assert_eq!(routed.len(), ids.len(), "one notification per routing, however often the job ran");
}

pub async fn a_poison_message_dead_letters_while_its_batch_is_processed<S: Backend + NotificationStore, Q: Queue>(
    h: &Harness<S, Q>,
    send_raw: impl AsyncFn(&Q, String),
) {
    let s = stack(h).await;
    let alice = citizen("alice");
    send_raw(&s.queue, "{\"kind\":\"route_message\",\"message_id\":\"not-a-ulid\"}".into()).await;
    let id = s.submit(&alice, "zhkh-musor", "Не вывозят мусор во дворе дома 7", None).await;
    let vis = std::time::Duration::from_secs(1);
    let mut batches = 0;
    let mut dead = Vec::new();
    for _ in 0..60 {
        let got = s.queue.receive(QueueName::Submitted, 10, vis).await.unwrap();
        if got.is_empty() {
            // Reading the dead-letter queue receives from it: keep what was read.
            dead = s.queue.dead_letters(QueueName::Submitted, 10).await.unwrap();
            if !dead.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            continue;
        }
        batches += 1;
        let event = feedback_local::events::sqs_event("submitted", &got).unwrap();
        let response = route_messages::handle(&s.routing, event).await.unwrap();
        let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        for d in &got {
            let poison = d.body.contains("not-a-ulid");
            assert_eq!(failed.contains(&d.message_id.as_str()), poison, "only the poison record fails");
            if !poison {
                s.queue.ack(QueueName::Submitted, &d.receipt).await.unwrap();
            }
        }
    }
    assert!(batches >= h.max_receives as usize);
    assert_eq!(dead.len(), 1);
    assert!(dead[0].body.contains("not-a-ulid"));
    assert_eq!(s.read(&alice, &id).await.0.status, Status::Routed);
}

/// Every lifecycle case, for the per-backend test files.
#[macro_export]
macro_rules! workflow_suite {
    ($harness:expr) => {
        $crate::workflow_suite!(@cases $harness;
            the_full_lifecycle_with_one_reopen,
            only_the_right_people_act,
            overdue_is_flagged_once_and_reaches_the_coordination_centre,
            the_queue_is_nearest_deadline_first_with_a_cursor,
            the_queue_lists_all_searches_and_counts,
            the_queue_sorts_by_deadline_or_by_sending,
            moderators_list_the_messages_awaiting_moderation,
            duplicates_are_linked_and_share_the_answer,
            redelivering_every_routing_job_three_times_routes_each_once
        );
    };
    (@cases $harness:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (_guard, h) = $harness;
                $crate::workflow::$case(&h).await;
                $crate::analytics::assert_reconciled(&h.store).await;
            }
        )*
    };
}
