//! The port contract: every case runs against every backend.

use crate::fixtures::{at, citizen, new_message, submitted};
use crate::Harness;
use chrono::Duration;
use feedback_core::ids::MessageNumber;
use feedback_core::numbering::NumberPool;
use feedback_core::participation::{CommentStore, PollStore};
use feedback_core::photo::PhotoStore;
use feedback_core::ports::{
    CreateOutcome, Expiry, HistoryScan, IdempotencyRecord, Job, MessageUpdate, NewRecord, NotificationStore,
    OutboxItem, QueueName, QueueReceiver, Quota, StoreError,
};
use feedback_core::preferences::ReachStore;
use feedback_core::rights::RightsStore;
use feedback_core::service::{relay, relay_pending, Messages, Reference, RouteOutcome, Routing, SubmitPolicy};
use feedback_core::testing::{sample_region, ManualClock};
use feedback_core::values::IdempotencyKey;
use feedback_core::webhook::WebhookStore;
use feedback_core::{Clock, CounterStore, MessageStore, ReferenceStore, ServiceError, Status, WorkQueue};
use std::sync::Arc;

/// Everything a backend's store implements.
pub trait Backend:
    MessageStore
    + ReferenceStore
    + NotificationStore
    + PhotoStore
    + CounterStore
    + HistoryScan
    + Expiry
    + PollStore
    + CommentStore
    + RightsStore
    + ReachStore
    + feedback_core::delivery::DeliveryStore
    + WebhookStore
    + Clone
{
}
impl<
        T: MessageStore
            + ReferenceStore
            + NotificationStore
            + PhotoStore
            + CounterStore
            + HistoryScan
            + Expiry
            + PollStore
            + CommentStore
            + RightsStore
            + ReachStore
            + feedback_core::delivery::DeliveryStore
            + WebhookStore
            + Clone,
    > Backend for T
{
}
pub trait Queue: WorkQueue + QueueReceiver + Clone {}
impl<T: WorkQueue + QueueReceiver + Clone> Queue for T {}

const T0: &str = "2026-11-27T10:00:00+05:00";

pub async fn creates_and_reads_a_message<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let (m, e) = submitted("alice", at(T0));
    assert_eq!(
        h.store.create_message(&NewRecord::new(m.clone(), e.clone()), None, &[], None).await.unwrap(),
        CreateOutcome::Created
    );
    assert_eq!(h.store.get_message(&m.id).await.unwrap(), Some(m.clone()));
    assert_eq!(h.store.get_history(&m.id).await.unwrap(), vec![e]);
    let (other, _) = submitted("alice", at(T0));
    assert_eq!(h.store.get_message(&other.id).await.unwrap(), None);
}

pub async fn a_duplicate_message_id_is_a_conflict<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let (m, e) = submitted("alice", at(T0));
    h.store.create_message(&NewRecord::new(m.clone(), e.clone()), None, &[], None).await.unwrap();
    let mut changed = m.clone();
    changed.text = "Другой текст сообщения".into();
    assert!(matches!(
        h.store.create_message(&NewRecord::new(changed.clone(), e.clone()), None, &[], None).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(h.store.get_message(&m.id).await.unwrap(), Some(m));
}

pub async fn an_idempotency_key_is_taken_atomically<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let (m1, e1) = submitted("alice", at(T0));
    let rec = IdempotencyRecord {
        citizen: m1.author.clone(),
        key: IdempotencyKey::parse("key-1").unwrap(),
        request_hash: "h1".into(),
        response: m1.clone(),
        created_at: m1.created_at,
        expires_at: Some(m1.created_at + Duration::hours(24)),
    };
    assert_eq!(
        h.store.create_message(&NewRecord::new(m1.clone(), e1.clone()), Some(&rec), &[], None).await.unwrap(),
        CreateOutcome::Created
    );
    let (m2, e2) = submitted("alice", at(T0) + Duration::seconds(1));
    let rec2 = IdempotencyRecord { response: m2.clone(), request_hash: "h2".into(), ..rec.clone() };
    assert_eq!(
        h.store.create_message(&NewRecord::new(m2.clone(), e2.clone()), Some(&rec2), &[], None).await.unwrap(),
        CreateOutcome::KeyExists(Box::new(rec.clone()))
    );
    assert_eq!(h.store.get_message(&m2.id).await.unwrap(), None, "nothing of the second request is stored");
    assert_eq!(h.store.get_idempotency(&m1.author, &rec.key).await.unwrap(), Some(rec.clone()));
    // The key is scoped per citizen.
    let (m3, e3) = submitted("bob", at(T0));
    let rec3 = IdempotencyRecord { citizen: m3.author.clone(), response: m3.clone(), ..rec };
    assert_eq!(
        h.store.create_message(&NewRecord::new(m3.clone(), e3.clone()), Some(&rec3), &[], None).await.unwrap(),
        CreateOutcome::Created
    );
}

pub async fn an_update_needs_the_expected_version<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let (m, e) = submitted("alice", at(T0));
    h.store.create_message(&NewRecord::new(m.clone(), e.clone()), None, &[], None).await.unwrap();
    let mut next = m.clone();
    next.status = Status::Routed;
    next.version = 2;
    let mut e2 = e.clone();
    e2.seq = 2;
    e2.from = Some(Status::Submitted);
    e2.to = Status::Routed;
    h.store.update_message(1, &next, &e2).await.unwrap();
    assert!(matches!(h.store.update_message(1, &next, &e2).await, Err(StoreError::Conflict)));
    assert_eq!(h.store.get_message(&m.id).await.unwrap().unwrap().status, Status::Routed);
    let history = h.store.get_history(&m.id).await.unwrap();
    assert_eq!(history.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
}

pub async fn an_authors_messages_list_newest_first_in_pages<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let mut ids = Vec::new();
    for i in 0..5 {
        let (m, e) = submitted("alice", at(T0) + Duration::minutes(i));
        h.store.create_message(&NewRecord::new(m.clone(), e.clone()), None, &[], None).await.unwrap();
        ids.push(m.id);
    }
    let (b, be) = submitted("bob", at(T0));
    h.store.create_message(&NewRecord::new(b.clone(), be.clone()), None, &[], None).await.unwrap();
    let alice = citizen("alice").id;
    let first = h.store.list_by_author(&alice, None, 3).await.unwrap();
    assert_eq!(first.iter().map(|m| m.id).collect::<Vec<_>>(), vec![ids[4], ids[3], ids[2]]);
    let rest = h.store.list_by_author(&alice, Some(&ids[2]), 3).await.unwrap();
    assert_eq!(rest.iter().map(|m| m.id).collect::<Vec<_>>(), vec![ids[1], ids[0]]);
    let since = h.store.author_submissions_since(&alice, at(T0) + Duration::minutes(3), 10).await.unwrap();
    assert_eq!(since, vec![at(T0) + Duration::minutes(3), at(T0) + Duration::minutes(4)]);
}

pub async fn only_submitted_messages_are_found_as_stuck<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let (a, ae) = submitted("alice", at(T0));
    let (b, be) = submitted("alice", at(T0) + Duration::minutes(1));
    let (c, ce) = submitted("alice", at(T0) + Duration::minutes(2));
    for (m, e) in [(&a, &ae), (&b, &be), (&c, &ce)] {
        h.store.create_message(&NewRecord::new(m.clone(), e.clone()), None, &[], None).await.unwrap();
    }
    let mut routed = b.clone();
    routed.status = Status::Routed;
    routed.version = 2;
    let mut e2 = be.clone();
    e2.seq = 2;
    h.store.update_message(1, &routed, &e2).await.unwrap();
    let stuck = h.store.list_submitted_before(at(T0) + Duration::minutes(10), 10).await.unwrap();
    assert_eq!(stuck, vec![a.id, c.id]);
    let older = h.store.list_submitted_before(at(T0) + Duration::seconds(30), 10).await.unwrap();
    assert_eq!(older, vec![a.id]);
}

pub async fn reference_data_is_versioned<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    assert_eq!(h.store.load_region().await.unwrap(), None);
    let region = sample_region();
    assert_eq!(h.store.save_region(&region, None).await.unwrap(), 1);
    assert!(matches!(h.store.save_region(&region, None).await, Err(StoreError::Conflict)));
    let mut changed = region.clone();
    changed.routing_rules.pop();
    assert_eq!(h.store.save_region(&changed, Some(1)).await.unwrap(), 2);
    assert!(matches!(h.store.save_region(&region, Some(1)).await, Err(StoreError::Conflict)));
    let loaded = h.store.load_region().await.unwrap().unwrap();
    assert_eq!((loaded.version, loaded.value), (2, changed));
}

pub async fn a_queue_delivers_until_acknowledged<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let (m, _) = submitted("alice", at(T0));
    let job = Job::RouteMessage { message_id: m.id };
    h.queue.send(&job).await.unwrap();
    let got = h.queue.receive(QueueName::Submitted, 10, std::time::Duration::from_secs(30)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(Job::from_body(&got[0].body).unwrap(), job);
    assert_eq!(got[0].receive_count, 1);
    assert!(h.queue.receive(QueueName::Submitted, 10, std::time::Duration::from_secs(30)).await.unwrap().is_empty());
    h.queue.ack(QueueName::Submitted, &got[0].receipt).await.unwrap();
}

pub async fn an_unacknowledged_delivery_comes_back_then_dead_letters<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let (m, _) = submitted("alice", at(T0));
    h.queue.send(&Job::RouteMessage { message_id: m.id }).await.unwrap();
    let vis = std::time::Duration::from_secs(1);
    for expected in 1..=h.max_receives {
        let got = receive_waiting(&h.queue, vis).await;
        assert_eq!(got.len(), 1, "delivery {expected}");
        assert_eq!(got[0].receive_count, expected);
    }
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    assert!(h.queue.receive(QueueName::Submitted, 10, vis).await.unwrap().is_empty(), "moved to the DLQ");
    let dead = h.queue.dead_letters(QueueName::Submitted, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(Job::from_body(&dead[0].body).unwrap(), Job::RouteMessage { message_id: m.id });
}

async fn receive_waiting<Q: Queue>(q: &Q, vis: std::time::Duration) -> Vec<feedback_core::ports::Delivery> {
    for _ in 0..40 {
        let got = q.receive(QueueName::Submitted, 10, vis).await.unwrap();
        if !got.is_empty() {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Vec::new()
}

struct Services<S: Backend, Q: Queue> {
    messages: Messages<S, Q, Arc<ManualClock>>,
    routing: Routing<S, Q, Arc<ManualClock>>,
    routing_reference: Arc<Reference<S>>,
    clock: Arc<ManualClock>,
}

async fn services<S: Backend, Q: Queue>(h: &Harness<S, Q>, per_hour: u32) -> Services<S, Q> {
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&sample_region()).await.unwrap();
    let clock = Arc::new(ManualClock::at(T0));
    let policy = SubmitPolicy { per_hour };
    Services {
        messages: Messages::new(h.store.clone(), h.queue.clone(), clock.clone(), reference.clone(), policy),
        routing: Routing::new(h.store.clone(), h.queue.clone(), clock.clone(), reference.clone()),
        routing_reference: reference,
        clock,
    }
}

/// Receives everything queued and runs the routing consumer on each delivery; returns how many.
pub async fn drain<S: Backend, Q: Queue, C: Clock>(q: &Q, routing: &Routing<S, Q, C>) -> usize {
    let mut n = 0;
    loop {
        let got = q.receive(QueueName::Submitted, 10, std::time::Duration::from_secs(30)).await.unwrap();
        if got.is_empty() {
            return n;
        }
        for d in got {
            route_messages::route_one(routing, &d.body).await.unwrap();
            q.ack(QueueName::Submitted, &d.receipt).await.unwrap();
            n += 1;
        }
    }
}

pub async fn a_routing_job_delivered_three_times_changes_the_message_once<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let s = services(h, 20).await;
    let alice = citizen("alice");
    let sent = s.messages.submit(&alice, new_message("dorogi-yamy", "Яма на Республики, 15"), None).await.unwrap();
    let job = Job::RouteMessage { message_id: sent.message.id };
    h.queue.send(&job).await.unwrap();
    h.queue.send(&job).await.unwrap();
    assert_eq!(drain(&h.queue, &s.routing).await, 3);
    let detail = s.messages.get(&alice, &sent.message.id).await.unwrap();
    assert_eq!(detail.message.status, Status::Routed);
    assert_eq!(detail.message.version, 2);
    assert_eq!(detail.message.authority_id.as_ref().map(|a| a.as_str()), Some("tyumen-upravdor"));
    assert_eq!(detail.history.iter().map(|e| e.to).collect::<Vec<_>>(), vec![Status::Submitted, Status::Routed]);
    // Friday 10:00 + 8 working days, 2026-11-04 is far behind: due Tuesday 2026-12-09 end of day.
    assert_eq!(detail.message.deadline, Some(at("2026-12-09T23:59:59+05:00")));
}

pub async fn idempotent_replays_create_one_message<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let s = services(h, 20).await;
    let alice = citizen("alice");
    let key = IdempotencyKey::parse("submit-7f3a").unwrap();
    let input = new_message("zhkh-musor", "Контейнеры не вывозят третий день");
    let first = s.messages.submit(&alice, input.clone(), Some(key.clone())).await.unwrap();
    assert!(!first.replayed);
    for _ in 0..4 {
        s.clock.advance(Duration::seconds(5));
        let again = s.messages.submit(&alice, input.clone(), Some(key.clone())).await.unwrap();
        assert!(again.replayed);
        assert_eq!(again.message, first.message);
    }
    let other = new_message("zhkh-musor", "Контейнеры не вывозят уже неделю");
    assert!(matches!(s.messages.submit(&alice, other, Some(key)).await, Err(ServiceError::IdempotencyKeyReused)));
    let page = s.messages.list_own(&alice, None, feedback_core::page::Limit::DEFAULT).await.unwrap();
    assert_eq!(page.items.len(), 1);
}

pub async fn submissions_are_rate_limited_per_citizen<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let s = services(h, 3).await;
    let alice = citizen("alice");
    for i in 0..3 {
        s.messages
            .submit(&alice, new_message("zhkh-musor", &format!("Мусор не вывозят, двор номер {i}")), None)
            .await
            .unwrap();
        s.clock.advance(Duration::minutes(10));
    }
    let refused = s.messages.submit(&alice, new_message("zhkh-musor", "Мусор не вывозят, двор номер 4"), None).await;
    match refused {
        Err(ServiceError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 30 * 60),
        other => panic!("expected a rate limit, got {other:?}"),
    }
    // Another citizen is not affected, and the first may submit again after the window.
    s.messages.submit(&citizen("bob"), new_message("zhkh-musor", "Мусор не вывозят у нас тоже"), None).await.unwrap();
    s.clock.advance(Duration::minutes(31));
    s.messages.submit(&alice, new_message("zhkh-musor", "Мусор не вывозят, двор номер 5"), None).await.unwrap();
}

/// A queue whose every send fails: the moment between a commit and its relay, made permanent.
#[derive(Clone)]
struct DownQueue;

#[async_trait::async_trait]
impl WorkQueue for DownQueue {
    async fn send(&self, _job: &Job) -> Result<(), StoreError> {
        Err(StoreError::Backend(anyhow::anyhow!("the queue is down")))
    }
}

/// Every notification job on the queue, received and acknowledged.
async fn owed_notifications<Q: Queue>(q: &Q) -> Vec<feedback_core::notification::Notification> {
    let mut out = Vec::new();
    loop {
        let got = q.receive(QueueName::Notifications, 10, std::time::Duration::from_secs(30)).await.unwrap();
        if got.is_empty() {
            return out;
        }
        for d in got {
            if let Job::Notify { notification, .. } = Job::from_body(&d.body).unwrap() {
                out.push(notification);
            }
            q.ack(QueueName::Notifications, &d.receipt).await.unwrap();
        }
    }
}

pub async fn a_routed_notification_survives_a_queue_that_fails_after_the_commit<S: Backend, Q: Queue>(
    h: &Harness<S, Q>,
) {
    let s = services(h, 20).await;
    let alice = citizen("alice");
    let sent = s.messages.submit(&alice, new_message("dorogi-yamy", "Яма на Республики, 15"), None).await.unwrap();
    // routing commits, then every send fails: the transition must still owe its notification
    let routing = Routing::new(h.store.clone(), DownQueue, s.clock.clone(), s.routing_reference.clone());
    assert!(matches!(routing.route(&sent.message.id).await.unwrap(), RouteOutcome::Routed { .. }));
    // a redelivered routing job changes nothing and owes nothing new
    assert_eq!(routing.route(&sent.message.id).await.unwrap(), RouteOutcome::AlreadyRouted);
    // the relay sweep (a no-op where the queue is in the store's own transaction) delivers it
    let later = s.clock.now() + Duration::minutes(5);
    relay_pending(&h.store, &h.queue, later, Duration::seconds(30)).await.unwrap();
    assert_eq!(relay_pending(&h.store, &h.queue, later, Duration::seconds(30)).await.unwrap(), 0);
    let got = owed_notifications(&h.queue).await;
    let routed: Vec<_> = got
        .iter()
        .filter(|n| n.message_id == sent.message.id && n.kind == feedback_core::notification::NotificationKind::Routed)
        .collect();
    assert_eq!(routed.len(), 1, "exactly one routed notification: {got:?}");
}

pub async fn a_failed_transition_owes_nothing<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let (m, e) = submitted("alice", at(T0));
    h.store.create_message(&NewRecord::new(m.clone(), e.clone()), None, &[], None).await.unwrap();
    let mut next = m.clone();
    next.status = Status::Routed;
    next.version = 2;
    let mut e2 = e.clone();
    e2.seq = 2;
    e2.from = Some(Status::Submitted);
    e2.to = Status::Routed;
    let notification = feedback_core::notification::Notification::for_transition(&next, &e2, None, None).unwrap();
    let owed = [OutboxItem::new(Job::Notify { notification, supporters: Vec::new() }, e2.at)];
    let stale = MessageUpdate::new(7, next.clone(), e2.clone());
    assert!(matches!(h.store.update_messages(&[stale], &owed).await, Err(StoreError::Conflict)));
    let later = at(T0) + Duration::minutes(5);
    relay_pending(&h.store, &h.queue, later, Duration::seconds(30)).await.unwrap();
    assert!(owed_notifications(&h.queue).await.is_empty(), "a refused transition queued nothing");
    // the same transition at the right version owes it, once, even if relayed twice
    let fresh = MessageUpdate::new(1, next, e2);
    h.store.update_messages(&[fresh], &owed).await.unwrap();
    relay(&h.store, &h.queue, &owed).await;
    relay_pending(&h.store, &h.queue, later, Duration::seconds(30)).await.unwrap();
    assert_eq!(owed_notifications(&h.queue).await.len(), 1);
}

pub async fn a_quota_stops_at_its_maximum<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let now = at(T0);
    let quota = Quota::hourly("submit#alice".into(), 3, now);
    let mut outcomes = Vec::new();
    for i in 0..5 {
        let (m, e) = submitted("alice", now + Duration::milliseconds(i));
        outcomes.push(
            h.store.create_message(&NewRecord::new(m.clone(), e.clone()), None, &[], Some(&quota)).await.unwrap(),
        );
    }
    let created = outcomes.iter().filter(|o| **o == CreateOutcome::Created).count();
    let over = outcomes.iter().filter(|o| **o == CreateOutcome::OverQuota).count();
    assert_eq!((created, over), (3, 2));
    assert_eq!(h.store.quota_used(&quota).await.unwrap(), 3);
    let page = h.store.list_by_author(&citizen("alice").id, None, 10).await.unwrap();
    assert_eq!(page.len(), 3, "a refused message is not stored");
    // the next window starts empty
    let next = Quota::hourly("submit#alice".into(), 3, now + Duration::hours(1));
    assert_eq!(h.store.quota_used(&next).await.unwrap(), 0);
    let (m, e) = submitted("alice", now + Duration::hours(1));
    assert_eq!(
        h.store.create_message(&NewRecord::new(m.clone(), e.clone()), None, &[], Some(&next)).await.unwrap(),
        CreateOutcome::Created
    );
}

/// Sixty racing creations against a quota of twenty store exactly twenty. Run on the embedded
/// backend only: moto's transactions are not atomic under concurrency.
pub async fn a_quota_holds_under_concurrency<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let now = at(T0);
    let quota = Quota::hourly("submit#alice".into(), 20, now);
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (store, quota) = (h.store.clone(), quota.clone());
        tasks.push(tokio::spawn(async move {
            let (m, e) = submitted("alice", now + Duration::milliseconds(i));
            store.create_message(&NewRecord::new(m.clone(), e.clone()), None, &[], Some(&quota)).await.unwrap()
        }));
    }
    let mut created = 0;
    for t in tasks {
        if t.await.unwrap() == CreateOutcome::Created {
            created += 1;
        }
    }
    assert_eq!(created, 20);
    assert_eq!(h.store.quota_used(&quota).await.unwrap(), 20);
}

/// Several processes (each a `NumberPool` over its own store handle) interleaving their
/// allocations never hand out one number twice; a process's numbers increase.
pub async fn message_numbers_are_unique_across_processes<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let pools: Vec<(S, NumberPool)> = (0..3).map(|_| (h.store.clone(), NumberPool::new())).collect();
    let mut all = std::collections::BTreeSet::new();
    let mut per_pool = vec![Vec::new(); pools.len()];
    for _ in 0..30 {
        for (i, (store, pool)) in pools.iter().enumerate() {
            let n = pool.next(store, "72").await.unwrap();
            assert_eq!(n.region(), "72");
            assert!(all.insert(n.seq()), "number {n} handed out twice");
            per_pool[i].push(n.seq());
        }
    }
    for seqs in &per_pool {
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    }
    // A direct reservation does not overlap what the pools hold.
    let block = u64::from(h.store.number_block());
    let first = h.store.reserve_numbers(5).await.unwrap();
    assert!(first >= 1 && (first..first + 5).all(|n| !all.contains(&n)), "{first}");
    assert!(*all.iter().max().unwrap() < first + 5 + block * 3);
}

/// The same, racing: several processes allocating at once.
pub async fn message_numbers_are_unique_under_concurrency<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = h.store.clone();
        tasks.push(tokio::spawn(async move {
            let pool = NumberPool::new();
            let mut out = Vec::new();
            for _ in 0..25 {
                out.push(pool.next(&store, "72").await.unwrap().seq());
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let distinct: std::collections::BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(distinct.len(), 100, "every number once");
}

/// A submission gets a number of its region in the same write; the number finds the message,
/// a replay keeps it, and a number of another region, or never given, finds nothing.
pub async fn a_message_is_found_by_its_number<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let s = services(h, 20).await;
    let alice = citizen("alice");
    let key = IdempotencyKey::parse("number-1").unwrap();
    let input = new_message("dorogi-yamy", "Яма на Республики, 15");
    let first = s.messages.submit(&alice, input.clone(), Some(key.clone())).await.unwrap().message;
    let number = first.number.clone().expect("a number");
    assert_eq!(number.region(), "72");
    assert_eq!(number.to_string().len(), "72-000001".len());
    let again = s.messages.submit(&alice, input, Some(key)).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.message.number, Some(number.clone()), "a replay keeps its number");
    let second = s.messages.submit(&alice, new_message("dorogi-yamy", "Ещё одна яма рядом"), None).await.unwrap();
    assert_ne!(second.message.number, Some(number.clone()));
    assert_eq!(h.store.get_message(&first.id).await.unwrap().unwrap().number, Some(number.clone()));

    assert_eq!(h.store.message_by_number(&number).await.unwrap(), Some(first.id));
    let foreign = MessageNumber::new("78", number.seq()).unwrap();
    assert_eq!(h.store.message_by_number(&foreign).await.unwrap(), None);
    let unknown = MessageNumber::new("72", 999_999).unwrap();
    assert_eq!(h.store.message_by_number(&unknown).await.unwrap(), None);

    let detail = s.messages.get_by_number(&alice, &number).await.unwrap();
    assert_eq!(detail.message.id, first.id);
    assert_eq!(detail.history.len(), 1);
    for (who, n) in [(citizen("bob"), &number), (alice.clone(), &foreign), (alice.clone(), &unknown)] {
        assert!(matches!(s.messages.get_by_number(&who, n).await, Err(ServiceError::NotFound)), "{n}");
    }

    // A number already taken is a conflict, and nothing of the second message is written.
    let (mut m, e) = submitted("bob", at(T0));
    m.number = Some(number.clone());
    assert!(matches!(
        h.store.create_message(&NewRecord::new(m.clone(), e), None, &[], None).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(h.store.get_message(&m.id).await.unwrap(), None);
    assert_eq!(h.store.message_by_number(&number).await.unwrap(), Some(first.id));
}

pub async fn photo_records_are_stored_once<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    use feedback_core::photo::{ImageType, Photo};
    let photo = Photo {
        id: feedback_core::ids::PhotoId::new_at(at(T0)),
        owner: citizen("alice").id,
        content_type: ImageType::Png,
        size_bytes: 123_456,
        created_at: at(T0),
    };
    assert_eq!(h.store.get_photo(&photo.id).await.unwrap(), None);
    h.store.put_photo(&photo).await.unwrap();
    assert!(matches!(h.store.put_photo(&photo).await, Err(StoreError::Conflict)));
    assert_eq!(h.store.get_photo(&photo.id).await.unwrap(), Some(photo));
}

fn photo_of(owner: &str, created: chrono::DateTime<chrono::Utc>) -> feedback_core::photo::Photo {
    feedback_core::photo::Photo {
        id: feedback_core::ids::PhotoId::new_at(created),
        owner: citizen(owner).id,
        content_type: feedback_core::photo::ImageType::Jpeg,
        size_bytes: 1000,
        created_at: created,
    }
}

pub async fn photo_announcements_are_counted_per_owner<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    for (owner, minutes) in [("alice", 0), ("alice", 10), ("bob", 15), ("alice", 20)] {
        h.store.put_photo(&photo_of(owner, at(T0) + Duration::minutes(minutes))).await.unwrap();
    }
    let alice = citizen("alice").id;
    let since = at(T0) + Duration::minutes(5);
    let times = h.store.photos_announced_since(&alice, since, 10).await.unwrap();
    assert_eq!(times, vec![at(T0) + Duration::minutes(10), at(T0) + Duration::minutes(20)]);
    assert_eq!(h.store.photos_announced_since(&alice, since, 1).await.unwrap(), vec![at(T0) + Duration::minutes(10)]);
    assert!(h.store.photos_announced_since(&citizen("carol").id, at(T0), 10).await.unwrap().is_empty());
}

pub async fn unattached_photos_are_listed_kept_and_deleted<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let (p1, p2, p3) = (
        photo_of("alice", at(T0)),
        photo_of("bob", at(T0) + Duration::hours(1)),
        photo_of("alice", at(T0) + Duration::hours(3)),
    );
    for p in [&p1, &p2, &p3] {
        h.store.put_photo(p).await.unwrap();
    }
    let cutoff = at(T0) + Duration::hours(2);
    assert_eq!(h.store.pending_photos_before(cutoff, 10).await.unwrap(), vec![p1.clone(), p2.clone()]);
    assert_eq!(h.store.pending_photos_before(cutoff, 1).await.unwrap(), vec![p1.clone()]);
    h.store.keep_photo(&p1.id).await.unwrap();
    assert_eq!(h.store.pending_photos_before(cutoff, 10).await.unwrap(), vec![p2.clone()]);
    h.store.delete_photo(&p2.id).await.unwrap();
    h.store.delete_photo(&p2.id).await.unwrap();
    assert_eq!(h.store.get_photo(&p2.id).await.unwrap(), None);
    assert_eq!(h.store.pending_photos_before(cutoff, 10).await.unwrap(), vec![]);
    assert_eq!(h.store.get_photo(&p1.id).await.unwrap(), Some(p1));
    assert_eq!(h.store.pending_photos_before(at(T0) + Duration::hours(4), 10).await.unwrap(), vec![p3]);
}

/// The «routed» notification of `m`'s transition `seq`, `minutes` after T0, unread.
fn routed_notification(
    m: &feedback_core::Message,
    seq: u32,
    minutes: i64,
) -> feedback_core::notification::Notification {
    feedback_core::notification::Notification {
        id: format!("{}:{seq:06}", m.id),
        citizen: m.author.clone(),
        message_id: m.id,
        message_number: None,
        kind: feedback_core::notification::NotificationKind::Routed,
        at: at(T0) + Duration::minutes(minutes),
        text: "Ваше сообщение направлено".into(),
        expires_at: None,
        read_at: None,
    }
}

pub async fn notifications_are_stored_once_and_listed_newest_first<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let (m, _) = submitted("alice", at(T0));
    let n = |seq: u32, minutes: i64| routed_notification(&m, seq, minutes);
    let (a, b, c) = (n(2, 1), n(3, 2), n(4, 3));
    for x in [&a, &b, &c] {
        assert!(h.store.put_notification(x).await.unwrap());
    }
    assert!(!h.store.put_notification(&b).await.unwrap(), "a redelivery stores nothing");
    let first = h.store.list_notifications(&m.author, None, 2).await.unwrap();
    assert_eq!(first, vec![c.clone(), b.clone()]);
    let key = feedback_core::ports::notification_key(&b);
    assert_eq!(h.store.list_notifications(&m.author, Some(&key), 10).await.unwrap(), vec![a]);
    assert!(h.store.list_notifications(&citizen("bob").id, None, 10).await.unwrap().is_empty());
}

pub async fn messages_awaiting_moderation_are_listed_oldest_first<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let (a, ae) = submitted("alice", at(T0));
    let (b, be) = submitted("bob", at(T0) + Duration::minutes(1));
    let (c, ce) = submitted("carol", at(T0) + Duration::minutes(2));
    for (m, e) in [(&c, &ce), (&a, &ae), (&b, &be)] {
        h.store.create_message(&NewRecord::new(m.clone(), e.clone()), None, &[], None).await.unwrap();
    }
    let first = h.store.awaiting_moderation(None, 2).await.unwrap();
    assert_eq!(first.iter().map(|m| m.id).collect::<Vec<_>>(), vec![a.id, b.id]);
    let rest = h.store.awaiting_moderation(Some(&b.moderation_key()), 2).await.unwrap();
    assert_eq!(rest.iter().map(|m| m.id).collect::<Vec<_>>(), vec![c.id]);
    // a routed message leaves the list
    let mut routed = b.clone();
    routed.status = Status::Routed;
    routed.version = 2;
    let mut e2 = be.clone();
    e2.seq = 2;
    h.store.update_message(1, &routed, &e2).await.unwrap();
    let all = h.store.awaiting_moderation(None, 10).await.unwrap();
    assert_eq!(all.iter().map(|m| m.id).collect::<Vec<_>>(), vec![a.id, c.id]);
    assert_eq!(all[0], a, "the whole message is returned");
}

pub async fn notifications_are_marked_read_once<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    use feedback_core::ports::ReadSelection;
    let (m, _) = submitted("alice", at(T0));
    let n = |seq: u32, minutes: i64| routed_notification(&m, seq, minutes);
    let (a, b, c) = (n(2, 1), n(3, 2), n(4, 3));
    for x in [&a, &b, &c] {
        assert!(h.store.put_notification(x).await.unwrap());
    }
    let alice = m.author.clone();
    let bob = citizen("bob").id;
    assert_eq!(h.store.unread_notifications(&alice, 100).await.unwrap(), 3);
    assert_eq!(h.store.unread_notifications(&alice, 2).await.unwrap(), 2, "counted no further than the cap");
    let read_at = at(T0) + Duration::hours(1);
    // someone else's ids change nothing
    let by_bob = h.store.mark_notifications_read(&bob, &ReadSelection::Ids(vec![a.id.clone()]), read_at).await;
    assert_eq!(by_bob.unwrap(), 0);
    let ids = ReadSelection::Ids(vec![a.id.clone(), "no-such-id".into()]);
    assert_eq!(h.store.mark_notifications_read(&alice, &ids, read_at).await.unwrap(), 1);
    let later = read_at + Duration::hours(1);
    assert_eq!(h.store.mark_notifications_read(&alice, &ids, later).await.unwrap(), 0, "marking twice changes nothing");
    assert_eq!(h.store.unread_notifications(&alice, 100).await.unwrap(), 2);
    let listed = h.store.list_notifications(&alice, None, 10).await.unwrap();
    let reads: Vec<_> = listed.iter().map(|n| (n.id.clone(), n.read_at)).collect();
    assert_eq!(reads, vec![(c.id.clone(), None), (b.id.clone(), None), (a.id.clone(), Some(read_at))]);
    // everything up to b's time: b only, a keeps its first time
    assert_eq!(h.store.mark_notifications_read(&alice, &ReadSelection::UpTo(b.at), later).await.unwrap(), 1);
    let listed = h.store.list_notifications(&alice, None, 10).await.unwrap();
    let reads: Vec<_> = listed.iter().map(|n| n.read_at).collect();
    assert_eq!(reads, vec![None, Some(later), Some(read_at)]);
    assert_eq!(h.store.unread_notifications(&alice, 100).await.unwrap(), 1);
    // a redelivery of a read notification neither stores it again nor makes it unread
    assert!(!h.store.put_notification(&a).await.unwrap());
    assert_eq!(h.store.unread_notifications(&alice, 100).await.unwrap(), 1);
    assert_eq!(h.store.unread_notifications(&bob, 100).await.unwrap(), 0);
}

/// The region's retention: the embedded store prunes by age what is older than the retention
/// keeps, and nothing younger; DynamoDB prunes nothing, its items expire by their TTL
/// (checked on the raw items in `contract_dynamo.rs`).
pub async fn retention_prunes_what_it_no_longer_keeps<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    use feedback_core::ports::Pruned;
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&sample_region()).await.unwrap();
    let now = at(T0) + Duration::days(400);
    let clock = Arc::new(ManualClock::at("2026-11-27T12:00:00+05:00"));
    clock.set(now);
    // an idempotency record two days old and one an hour old
    let record = |m: &feedback_core::Message, key: &str| IdempotencyRecord {
        citizen: m.author.clone(),
        key: IdempotencyKey::parse(key).unwrap(),
        request_hash: "h".into(),
        response: m.clone(),
        created_at: m.created_at,
        expires_at: Some(m.created_at + Duration::hours(24)),
    };
    let (old, old_e) = submitted("alice", now - Duration::days(2));
    let (fresh, fresh_e) = submitted("alice", now - Duration::hours(1));
    for (m, e, key) in [(&old, &old_e, "old-key"), (&fresh, &fresh_e, "fresh-key")] {
        let outcome =
            h.store.create_message(&NewRecord::new(m.clone(), e.clone()), Some(&record(m, key)), &[], None).await;
        assert_eq!(outcome.unwrap(), CreateOutcome::Created);
    }
    // a notification 366 days old and one a day old
    use feedback_core::notification::{Notification, NotificationKind};
    let n = |seq: u32, age: Duration| Notification {
        id: format!("{}:{seq:06}", old.id),
        citizen: old.author.clone(),
        message_id: old.id,
        message_number: None,
        kind: NotificationKind::Routed,
        at: now - age,
        text: "Ваше сообщение направлено".into(),
        expires_at: Some(now - age + Duration::days(365)),
        read_at: None,
    };
    let (stale, recent) = (n(2, Duration::days(366)), n(3, Duration::days(1)));
    for x in [&stale, &recent] {
        assert!(h.store.put_notification(x).await.unwrap());
    }
    let pruned = feedback_core::retention::Pruning::new(h.store.clone(), clock, reference).run().await.unwrap();
    let alice = &old.author;
    let key = |k: &str| IdempotencyKey::parse(k).unwrap();
    if h.store.expires_by_itself() {
        assert_eq!(pruned, Pruned::default());
        return;
    }
    assert_eq!(pruned, Pruned { idempotency: 1, notifications: 1, deliveries: 0, pseudonymised: 0 });
    assert_eq!(h.store.get_idempotency(alice, &key("old-key")).await.unwrap(), None);
    assert!(h.store.get_idempotency(alice, &key("fresh-key")).await.unwrap().is_some());
    assert_eq!(h.store.list_notifications(alice, None, 10).await.unwrap(), vec![recent]);
    // the messages themselves are untouched
    assert!(h.store.get_message(&old.id).await.unwrap().is_some());
}

/// Every case, for the per-backend test files.
#[macro_export]
macro_rules! contract_suite {
    ($harness:expr) => {
        $crate::contract_suite!(@cases $harness;
            creates_and_reads_a_message,
            a_duplicate_message_id_is_a_conflict,
            an_idempotency_key_is_taken_atomically,
            an_update_needs_the_expected_version,
            an_authors_messages_list_newest_first_in_pages,
            only_submitted_messages_are_found_as_stuck,
            reference_data_is_versioned,
            a_queue_delivers_until_acknowledged,
            an_unacknowledged_delivery_comes_back_then_dead_letters,
            a_routing_job_delivered_three_times_changes_the_message_once,
            idempotent_replays_create_one_message,
            submissions_are_rate_limited_per_citizen,
            a_routed_notification_survives_a_queue_that_fails_after_the_commit,
            a_failed_transition_owes_nothing,
            a_quota_stops_at_its_maximum,
            photo_records_are_stored_once,
            photo_announcements_are_counted_per_owner,
            unattached_photos_are_listed_kept_and_deleted,
            notifications_are_stored_once_and_listed_newest_first,
            messages_awaiting_moderation_are_listed_oldest_first,
            notifications_are_marked_read_once,
            retention_prunes_what_it_no_longer_keeps,
            message_numbers_are_unique_across_processes,
            a_message_is_found_by_its_number
        );
    };
    (@cases $harness:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (_guard, h) = $harness;
                $crate::contract::$case(&h).await;
                $crate::analytics::assert_reconciled(&h.store).await;
            }
        )*
    };
}
