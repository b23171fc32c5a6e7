//! Residents' data rights on every backend: the export holds everything held about the resident,
//! the erasure does everything it promises and nothing more, and the retention pseudonymises
//! closed messages older than the region keeps their author link.

use crate::contract::Queue;
use crate::fixtures::{at, code, comment, submitted};
use crate::polls::{admin, choose, discussion_input, polls, resident, vote_input, PollBackend, Polls};
use crate::Harness;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use feedback_core::delivery::DeliveryStore;
use feedback_core::ids::{CitizenId, MessageId, PhotoId};
use feedback_core::message::{Message, Rating, Status};
use feedback_core::notification::{Notification, NotificationKind};
use feedback_core::participation::ResultsVisibility;
use feedback_core::photo::{BlobUrls, ImageType, Photo};
use feedback_core::ports::{IdempotencyRecord, NewRecord, Pruned};
use feedback_core::rights::{Erasure, Rights, ERASED_COMMENT, PSEUDONYMISED_NOTE};
use feedback_core::service::Reference;
use feedback_core::testing::{sample_region, ManualClock};
use feedback_core::values::{FlagReason, IdempotencyKey};
use feedback_core::Clock;
use std::sync::{Arc, Mutex};

/// Blobs that only record which photos were deleted.
#[derive(Default)]
pub struct RecordingBlobs {
    pub deleted: Mutex<Vec<PhotoId>>,
}

#[async_trait]
impl BlobUrls for RecordingBlobs {
    async fn upload_url(&self, photo: &Photo, _: DateTime<Utc>) -> Result<String, anyhow::Error> {
        Ok(format!("memory://{}", photo.id))
    }
    async fn download_url(&self, photo: &Photo, _: DateTime<Utc>) -> Result<String, anyhow::Error> {
        Ok(format!("memory://{}", photo.id))
    }
    async fn delete(&self, photo: &Photo) -> Result<(), anyhow::Error> {
        self.deleted.lock().unwrap().push(photo.id);
        Ok(())
    }
    async fn first_bytes(&self, _: &Photo, _: usize) -> Result<Option<Vec<u8>>, anyhow::Error> {
        Ok(None)
    }
}

pub struct World<S: PollBackend> {
    pub p: Polls<S>,
    pub rights: Rights<S, Arc<ManualClock>>,
    pub blobs: Arc<RecordingBlobs>,
    pub message: Message,
    pub others: Message,
    pub photo: PhotoId,
    pub poll: feedback_core::ids::PollId,
    /// A poll Alice voted in that has closed.
    pub closed_poll: feedback_core::ids::PollId,
    pub alices_comment: feedback_core::ids::CommentId,
    pub bobs_comment: feedback_core::ids::CommentId,
}

const FLAT_ADDRESS: &str = "Тюмень, ул. Мельникайте, 5, кв. 12";

fn notification(m: &Message, seq: u32, at: DateTime<Utc>) -> Notification {
    Notification {
        id: format!("{}:{seq:06}", m.id),
        citizen: m.author.clone(),
        message_id: m.id,
        message_number: None,
        kind: NotificationKind::Routed,
        at,
        text: "Ваше сообщение направлено".into(),
        expires_at: Some(at + Duration::days(365)),
        read_at: None,
    }
}

/// Alice's and Bob's data: a message each (Alice's with a flat number, a photo and an
/// idempotency record), a notification each, a comment each, a subscription each, Alice's
/// preferences, Alice's flag on Bob's comment and Alice's ballot.
pub async fn world<S: PollBackend, Q: Queue>(h: &Harness<S, Q>) -> World<S> {
    let p = polls(h).await;
    let now = p.clock.now();
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    let blobs = Arc::new(RecordingBlobs::default());
    let secret = feedback_core::participation::VoterSecret::new(b"test-stack-secret-0123456789".to_vec()).unwrap();
    let rights = Rights::new(h.store.clone(), p.clock.clone(), blobs.clone(), reference.clone(), secret);
    let reach = feedback_core::preferences::Reach::new(h.store.clone(), p.clock.clone(), reference);

    let photo = Photo {
        id: PhotoId::new_at(now),
        owner: CitizenId::parse("alice").unwrap(),
        content_type: ImageType::Jpeg,
        size_bytes: 1000,
        created_at: now,
    };
    h.store.put_photo(&photo).await.unwrap();
    let (mut message, entry) = submitted("alice", now - Duration::hours(1));
    message.address = Some(FLAT_ADDRESS.into());
    message.photo_ids = vec![photo.id];
    let idem = IdempotencyRecord {
        citizen: message.author.clone(),
        key: IdempotencyKey::parse("alice-key").unwrap(),
        request_hash: "h".into(),
        response: message.clone(),
        created_at: message.created_at,
        expires_at: Some(message.created_at + Duration::hours(24)),
    };
    h.store.create_message(&NewRecord::new(message.clone(), entry), Some(&idem), &[], None).await.unwrap();
    let (others, entry) = submitted("bob", now - Duration::hours(1));
    h.store.create_message(&NewRecord::new(others.clone(), entry), None, &[], None).await.unwrap();
    for m in [&message, &others] {
        assert!(h.store.put_notification(&notification(m, 2, now)).await.unwrap());
    }

    let (alice, bob) = (resident("alice", "tyumen", "1990-01-01"), resident("bob", "tyumen", "1990-01-01"));
    reach.set_preferences(&alice, crate::reach::daily()).await.unwrap();
    reach.subscribe(&alice, crate::reach::around(500)).await.unwrap();
    reach.subscribe(&bob, crate::reach::around(700)).await.unwrap();
    reach.add_push_subscription(&alice, crate::reach::browser(1)).await.unwrap();
    reach.add_push_subscription(&bob, crate::reach::browser(2)).await.unwrap();
    let d = p.participation.create(&admin(), discussion_input("Правила выгула собак в парках", now)).await.unwrap();
    let alices = p.participation.comment(&alice, &d.id, comment("Нужны огороженные площадки"), None).await.unwrap();
    let bobs = p.participation.comment(&bob, &d.id, comment("Площадки уже есть у реки"), None).await.unwrap();
    let reason = FlagReason::parse("оскорбление").unwrap();
    p.participation.flag(&alice, &bobs.id, Some(reason)).await.unwrap();
    let vote = vote_input(now - Duration::minutes(1), now + Duration::days(7), ResultsVisibility::Live);
    let poll = p.participation.create(&admin(), vote).await.unwrap();
    p.participation.vote(&alice, &poll.id, choose(1)).await.unwrap();
    // A sealed poll Alice voted in, closed: its voter roll has nothing left to refuse.
    let sealed = vote_input(now - Duration::minutes(2), now + Duration::seconds(30), ResultsVisibility::AfterClose);
    let closed = p.participation.create(&admin(), sealed).await.unwrap();
    p.participation.vote(&alice, &closed.id, choose(0)).await.unwrap();
    p.clock.set(now + Duration::seconds(31));
    assert_eq!(p.participation.run_schedule().await.unwrap().closed, 1);
    World {
        p,
        rights,
        blobs,
        message,
        others,
        photo: photo.id,
        poll: poll.id,
        closed_poll: closed.id,
        alices_comment: alices.id,
        bobs_comment: bobs.id,
    }
}

pub async fn the_export_holds_everything_held_about_the_resident<S: PollBackend, Q: Queue>(h: &Harness<S, Q>) {
    let w = world(h).await;
    let alice = resident("alice", "tyumen", "1990-01-01");
    let data = w.rights.export(&alice).await.unwrap();
    assert_eq!(data.subject, "alice");
    assert_eq!(data.messages.len(), 1);
    let m = &data.messages[0];
    assert_eq!(m.message.id, w.message.id);
    assert_eq!(m.message.address.as_deref(), Some(FLAT_ADDRESS));
    assert_eq!(m.message.history.as_ref().map(Vec::len), Some(1));
    assert_eq!(m.photo_links, vec![format!("/v1/messages/{}/photos/{}", w.message.id, w.photo)]);
    assert_eq!(data.notifications.len(), 1);
    assert_eq!(data.notifications[0].message_id, w.message.id);
    assert_eq!(data.notifications[0].read_at, None, "unread");
    assert!(serde_json::to_value(&data).unwrap()["notifications"][0]["read_at"].is_null(), "stated while unread");
    let read_at = w.p.clock.now();
    let which = feedback_core::ports::ReadSelection::Ids(vec![data.notifications[0].id.clone()]);
    assert_eq!(h.store.mark_notifications_read(&alice.id, &which, read_at).await.unwrap(), 1);
    let data = w.rights.export(&alice).await.unwrap();
    let tz = sample_region().time_zone();
    assert_eq!(data.notifications[0].read_at, Some(feedback_core::views::local_time(read_at, &tz)));
    assert_eq!(data.comments.len(), 1);
    assert_eq!((data.comments[0].id, data.comments[0].text.as_str()), (w.alices_comment, "Нужны огороженные площадки"));
    assert_eq!(data.flags.len(), 1);
    assert_eq!((data.flags[0].comment_id, data.flags[0].reason.as_deref()), (w.bobs_comment, Some("оскорбление")));
    let voted: Vec<_> = data.polls.iter().map(|p| p.id).collect();
    assert_eq!(voted.len(), 2);
    assert!(voted.contains(&w.poll) && voted.contains(&w.closed_poll), "{voted:?}");
    let json = serde_json::to_value(&data).unwrap();
    assert_eq!(data.preferences, crate::reach::daily());
    assert_eq!(data.subscriptions.len(), 1);
    assert_eq!(json["subscriptions"][0]["radius_m"], 500);
    assert_eq!(
        json["push_subscriptions"],
        serde_json::json!([{"endpoint_origin": "https://fcm.googleapis.com", "created_at": json["push_subscriptions"][0]["created_at"]}]),
        "the push service and since when only"
    );
    assert!(
        !json.to_string().contains("browser-1") && !json.to_string().contains("BKey1"),
        "never the endpoint or keys"
    );
    assert_eq!(json["preferences"]["digest"], "daily");
    assert_eq!(json["polls"][0].as_object().unwrap().len(), 3, "id, title and kind only: {json}");
    let text = json.to_string();
    assert!(!text.contains("bob") && !text.contains("Площадки уже есть"), "nothing of Bob's: {text}");
    assert!(!text.contains("receipt") && !text.contains("options"), "never the ballot: {text}");
    let nobody = w.rights.export(&resident("carol", "tyumen", "1990-01-01")).await.unwrap();
    let empty = serde_json::to_value(&nobody).unwrap();
    for field in [
        "messages",
        "notifications",
        "comments",
        "flags",
        "polls",
        "subscriptions",
        "push_subscriptions",
        "contacts",
        "deliveries",
    ] {
        assert_eq!(empty[field], serde_json::json!([]), "{field}");
    }
    assert_eq!(empty["preferences"]["digest"], "instant", "the defaults of someone who set nothing");
    let official = crate::fixtures::actor("off-1", "[official]", &[("authority", "adm-tyumen")]);
    assert_eq!(code(w.rights.export(&official).await.unwrap_err()), "forbidden");
}

pub async fn erasure_erases_the_resident_and_nothing_more<S: PollBackend + DeliveryStore, Q: Queue>(h: &Harness<S, Q>) {
    use feedback_core::delivery::{Address, Channel, Contact, Delivery, Payload};
    use feedback_core::preferences::Digest;
    let w = world(h).await;
    let alice = resident("alice", "tyumen", "1990-01-01");
    let t = at("2026-12-02T09:00:00+05:00");
    let contact = Contact::refreshed(None, Channel::Email, &Address::new("alice@example.ru"), t);
    h.store.put_contact(&alice.id, &contact).await.unwrap();
    let digest = Payload::Digest { digest: Digest::Daily, period: "2026-12-01".into(), start: t, end: t };
    for channel in [Channel::Email, Channel::Push] {
        let to_alice = Delivery::planned("digest:2026-12-01", channel, &alice.id, digest.clone(), t);
        h.store.plan_delivery(&to_alice).await.unwrap();
    }
    let before = serde_json::to_value(w.rights.export(&alice).await.unwrap()).unwrap();
    assert_eq!(before["contacts"][0]["address"], "alice@example.ru", "the export holds the address sent to");
    assert_eq!(
        (before["contacts"][0]["channel"].as_str(), before["contacts"][0]["disabled"].as_bool()),
        (Some("email"), Some(false))
    );
    let sent: Vec<&str> =
        before["deliveries"].as_array().unwrap().iter().map(|d| d["channel"].as_str().unwrap()).collect();
    assert_eq!(sent.len(), 2, "and what was sent where: {sent:?}");
    assert!(sent.contains(&"email") && sent.contains(&"push"));
    assert_eq!(before["deliveries"][0]["subject"], "digest:2026-12-01");
    assert_eq!(before["deliveries"][0]["status"], "pending");
    let done = w.rights.erase(&alice).await.unwrap();
    assert_eq!(
        done,
        Erasure {
            messages_pseudonymised: 1,
            supports_withdrawn: 0,
            comments_pseudonymised: 1,
            flags_pseudonymised: 1,
            photos_deleted: 1,
            notifications_deleted: 1,
            idempotency_records_deleted: 1,
            votes_forgotten: 1,
            preferences_deleted: 1,
            subscriptions_deleted: 1,
            push_subscriptions_deleted: 1,
            contacts_deleted: 1,
            deliveries_deleted: 2,
        }
    );
    assert_eq!(w.rights.erase(&alice).await.unwrap(), Erasure::default(), "a second erasure is a no-op");

    // nothing of Alice's is found by Alice any more
    let me = &alice.id;
    assert!(h.store.list_by_author(me, None, 10).await.unwrap().is_empty());
    assert!(h.store.list_notifications(me, None, 10).await.unwrap().is_empty());
    let key = IdempotencyKey::parse("alice-key").unwrap();
    assert_eq!(h.store.get_idempotency(me, &key).await.unwrap(), None);
    assert_eq!(h.store.get_photo(&w.photo).await.unwrap(), None);
    assert_eq!(*w.blobs.deleted.lock().unwrap(), vec![w.photo]);
    let data = w.rights.export(&alice).await.unwrap();
    assert!(data.messages.is_empty() && data.notifications.is_empty() && data.comments.is_empty());
    assert!(data.flags.is_empty() && data.subscriptions.is_empty() && data.push_subscriptions.is_empty());
    assert!(data.contacts.is_empty() && data.deliveries.is_empty(), "nor the addresses and sends");
    assert_eq!(h.store.get_preferences(me).await.unwrap(), None);

    // the authority keeps the case, under a pseudonym, without the flat number and the photo
    let kept = h.store.get_message(&w.message.id).await.unwrap().unwrap();
    assert!(kept.author.is_pseudonym(), "{}", kept.author);
    assert_eq!(kept.address.as_deref(), Some("Тюмень, ул. Мельникайте, 5"));
    assert!(kept.photo_ids.is_empty());
    assert_eq!((kept.text.as_str(), kept.status), (w.message.text.as_str(), w.message.status));
    let history = h.store.get_history(&w.message.id).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].actor_id.as_ref(), Some(&kept.author));
    assert_eq!((history[1].note.as_str(), history[1].actor_id.as_ref()), (PSEUDONYMISED_NOTE, None));
    assert_eq!(kept.version, 2);

    // comments stay with their texts replaced; Bob's comment keeps its flag, now the pseudonym's
    let c = h.store.get_comment(&w.alices_comment).await.unwrap().unwrap();
    assert_eq!((c.text.as_str(), &c.author), (ERASED_COMMENT, &kept.author));
    let bobs = h.store.get_comment(&w.bobs_comment).await.unwrap().unwrap();
    assert_eq!(bobs.flags, 1);
    let flags = h.store.flags(&w.bobs_comment, 10).await.unwrap();
    assert_eq!(flags.len(), 1);
    assert_eq!((&flags[0].flagger, flags[0].reason.as_ref().map(|r| r.as_str())), (&kept.author, Some("оскорбление")));
    assert!(!h.store.has_flagged(&w.bobs_comment, me).await.unwrap());

    // Bob's data is untouched
    let bob = CitizenId::parse("bob").unwrap();
    assert_eq!(h.store.get_message(&w.others.id).await.unwrap(), Some(w.others.clone()));
    assert_eq!(h.store.list_notifications(&bob, None, 10).await.unwrap().len(), 1);
    assert_eq!(h.store.subscriptions(&bob).await.unwrap().len(), 1);
    assert_eq!(bobs.text, "Площадки уже есть у реки");
    assert_eq!(bobs.author, bob);

    // the voter roll still refuses a second ballot in the open poll, and forgot the closed one's
    let secret = feedback_core::participation::VoterSecret::new(b"test-stack-secret-0123456789".to_vec()).unwrap();
    assert!(h.store.has_voted(&w.poll, &secret.voter_hash(&w.poll, me)).await.unwrap());
    assert_eq!(code(w.p.participation.vote(&alice, &w.poll, choose(0)).await.unwrap_err()), "already_voted");
    assert!(!h.store.has_voted(&w.closed_poll, &secret.voter_hash(&w.closed_poll, me)).await.unwrap());
    let after: Vec<_> = w.rights.export(&alice).await.unwrap().polls.iter().map(|p| p.id).collect();
    assert_eq!(after, vec![w.poll], "only the open poll's entry is still held");
}

/// A closed message of `author`, rated and closed at `closed`, with a flat number in its address.
async fn closed_message<S: PollBackend, Q: Queue>(
    h: &Harness<S, Q>,
    author: &str,
    closed: DateTime<Utc>,
    status: Status,
) -> MessageId {
    let (mut m, e) = submitted(author, closed - Duration::days(10));
    m.address = Some(FLAT_ADDRESS.into());
    m.status = status;
    m.updated_at = closed;
    if status == Status::Closed {
        m.rating = Some(Rating { score: 5, comment: None, rated_at: closed });
    }
    h.store.create_message(&NewRecord::new(m.clone(), e), None, &[], None).await.unwrap();
    m.id
}

pub async fn closed_messages_past_the_retention_are_pseudonymised<S: PollBackend, Q: Queue>(h: &Harness<S, Q>) {
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&sample_region()).await.unwrap();
    let clock = Arc::new(ManualClock::at("2032-06-01T12:00:00+05:00"));
    let now = clock.now();
    let old = closed_message(h, "alice", at("2027-05-01T12:00:00+05:00"), Status::Closed).await;
    let recent = closed_message(h, "alice", at("2027-07-01T12:00:00+05:00"), Status::Closed).await;
    let old_but_open = closed_message(h, "bob", at("2026-01-01T12:00:00+05:00"), Status::Routed).await;
    let pruning = feedback_core::retention::Pruning::new(h.store.clone(), clock, reference);
    let pruned = pruning.run().await.unwrap();
    assert_eq!(pruned, Pruned { pseudonymised: 1, ..Pruned::default() }, "five years before {now}");
    let m = h.store.get_message(&old).await.unwrap().unwrap();
    assert!(m.author.is_pseudonym());
    assert_eq!(m.address.as_deref(), Some("Тюмень, ул. Мельникайте, 5"));
    assert!(h
        .store
        .get_history(&old)
        .await
        .unwrap()
        .iter()
        .all(|e| e.actor_id.as_ref() != Some(&CitizenId::parse("alice").unwrap())));
    for (id, author) in [(recent, "alice"), (old_but_open, "bob")] {
        let m = h.store.get_message(&id).await.unwrap().unwrap();
        assert_eq!((m.author.as_str(), m.address.as_deref()), (author, Some(FLAT_ADDRESS)));
    }
    assert_eq!(pruning.run().await.unwrap().pseudonymised, 0, "each message once");
}

/// Every case, for the per-backend test files.
#[macro_export]
macro_rules! rights_suite {
    ($harness:expr) => {
        $crate::rights_suite!(@cases $harness;
            the_export_holds_everything_held_about_the_resident,
            erasure_erases_the_resident_and_nothing_more,
            closed_messages_past_the_retention_are_pseudonymised
        );
    };
    (@cases $harness:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (_guard, h) = $harness;
                $crate::rights::$case(&h).await;
                $crate::analytics::assert_reconciled(&h.store).await;
            }
        )*
    };
}
