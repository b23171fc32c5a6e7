//! Fault injection: a store and a queue that wrap real ones and make a chosen share of calls
//! fail the way a backend fails transiently. A failure comes either before the call (nothing
//! happens) or, for a write, after it (the write happened; the caller hears an error). The
//! choice is a seeded PRNG, so a run is repeatable, and every call is counted.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use feedback_core::analytics::{CounterRow, Counters, SlotRange};
use feedback_core::delivery::{self as reach, Address, Channel, Contact, DeliveryStore};
use feedback_core::ids::{AuthorityId, CategoryId, CitizenId, CommentId, MessageId, MunicipalityId, PollId};
use feedback_core::ids::{MessageNumber, PushSubscriptionId, SubscriptionId, WebhookId};
use feedback_core::message::{DueState, HistoryEntry, Message, QueueOrder};
use feedback_core::notification::Notification;
use feedback_core::participation::{
    BallotRefused, BallotWrite, Comment, CommentStore, Flag, ModerationState, Poll, PollStatus, PollStore, Results,
    SealedPage, Tally, TextAnswer,
};
use feedback_core::photo::{Photo, PhotoStore};
use feedback_core::ports::{
    CounterStore, CreateOutcome, Delivery, Expiry, HistoryPage, HistoryScan, IdempotencyRecord, Job, MessageStore,
    MessageUpdate, NewRecord, NotificationStore, Outbox, OutboxItem, Pruned, QueueName, QueueReceiver, Quota, Quotas,
    ReadSelection, ReferenceStore, StoreError, Versioned, WorkQueue,
};
use feedback_core::preferences::{
    Digest, Preferences, PushStored, PushSubscription, ReachErased, ReachStore, Subscription,
};
use feedback_core::region::RegionData;
use feedback_core::rights::{GivenFlag, RightsStore};
use feedback_core::values::IdempotencyKey;
use feedback_core::webhook::{Endpoint, WebhookDelivery, WebhookStore};
use feedback_core::ServiceError;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the injected errors say, so that a test can tell them from real failures.
pub const INJECTED: &str = "injected transient backend failure";

/// The error a backend gives for a transient failure (a throttled or unreachable service).
/// Every injected fault is built here and nowhere else.
pub fn transient(call: &str) -> StoreError {
    StoreError::Unavailable(anyhow::anyhow!("{INJECTED}: {call}"))
}

/// Whether a use case's error is one a client is told to retry after a pause: 429 or 503, both
/// with `Retry-After`.
pub fn is_transient(e: &ServiceError) -> bool {
    let (status, _) = feedback_lambda::ApiError::Service(clone_kind(e)).status_and_code();
    status == 429 || status == 503
}

/// The same kind of error, for asking the HTTP edge how it answers it.
fn clone_kind(e: &ServiceError) -> ServiceError {
    match e {
        ServiceError::RateLimited { retry_after_secs } => {
            ServiceError::RateLimited { retry_after_secs: *retry_after_secs }
        }
        ServiceError::Unavailable { retry_after_secs } => {
            ServiceError::Unavailable { retry_after_secs: *retry_after_secs }
        }
        other => ServiceError::Unexpected(anyhow::anyhow!("{other}")),
    }
}

/// What the faults did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Port calls made while the faults were on.
    pub calls: u64,
    /// Calls failed before they reached the backend: nothing happened.
    pub before: u64,
    /// Writes that happened and were then reported as failed.
    pub after: u64,
    /// Writes that happened and were reported as done.
    pub acknowledged: u64,
}

impl FaultStats {
    pub fn injected(&self) -> u64 {
        self.before + self.after
    }
}

impl std::fmt::Display for FaultStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "calls {}, faults injected {} (before {}, after {}), writes acknowledged {}",
            self.calls,
            self.injected(),
            self.before,
            self.after,
            self.acknowledged
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Before,
    After,
}

struct State {
    rng: u64,
    stats: FaultStats,
    /// Writes still to pass before one is made to fail after it happened.
    fail_after_in: Option<u32>,
}

/// The fault plan one store and one queue share: the rate, the seeded PRNG and the counts.
#[derive(Clone)]
pub struct Faults {
    per_mille: u64,
    on: Arc<AtomicBool>,
    state: Arc<Mutex<State>>,
}

impl Faults {
    /// Fails `per_mille` of every thousand calls, off until `resume`.
    pub fn new(per_mille: u64, seed: u64) -> Self {
        Self {
            per_mille,
            on: Arc::new(AtomicBool::new(false)),
            state: Arc::new(Mutex::new(State { rng: seed, stats: FaultStats::default(), fail_after_in: None })),
        }
    }

    /// Faults on: calls are counted and some fail.
    pub fn resume(&self) {
        self.on.store(true, Ordering::SeqCst);
    }

    /// Faults off, e.g. for seeding and for checking the outcome: calls pass and are not counted.
    pub fn pause(&self) {
        self.on.store(false, Ordering::SeqCst);
    }

    pub fn stats(&self) -> FaultStats {
        self.state.lock().unwrap().stats
    }

    /// A store wrapped in these faults.
    pub fn store<S>(&self, inner: S) -> FaultyStore<S> {
        FaultyStore { inner, faults: self.clone() }
    }

    /// A queue wrapped in these faults.
    pub fn queue<Q>(&self, inner: Q) -> FaultyQueue<Q> {
        FaultyQueue { inner, faults: self.clone() }
    }

    /// Lets `skip` writes pass, then makes the next one fail after it happened, whatever the
    /// rate: for cases that need one fault at one place.
    pub fn fail_write_after(&self, skip: u32) {
        self.state.lock().unwrap().fail_after_in = Some(skip);
    }

    fn draw(&self, write: bool) -> Fault {
        if !self.on.load(Ordering::SeqCst) {
            return Fault::None;
        }
        let mut s = self.state.lock().unwrap();
        s.stats.calls += 1;
        if write {
            match s.fail_after_in {
                Some(0) => {
                    s.fail_after_in = None;
                    return Fault::After;
                }
                Some(n) => s.fail_after_in = Some(n - 1),
                None => {}
            }
        }
        // splitmix64
        s.rng = s.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        if z % 1000 >= self.per_mille {
            return Fault::None;
        }
        if write && (z >> 32) % 2 == 1 {
            Fault::After
        } else {
            s.stats.before += 1;
            Fault::Before
        }
    }

    async fn read<T, E: From<StoreError>>(&self, call: &str, f: impl Future<Output = Result<T, E>>) -> Result<T, E> {
        match self.draw(false) {
            Fault::None => f.await,
            _ => Err(transient(call).into()),
        }
    }

    async fn write<T, E: From<StoreError>>(&self, call: &str, f: impl Future<Output = Result<T, E>>) -> Result<T, E> {
        let fault = self.draw(true);
        if fault == Fault::Before {
            return Err(transient(call).into());
        }
        let outcome = f.await;
        if outcome.is_ok() && self.on.load(Ordering::SeqCst) {
            let mut s = self.state.lock().unwrap();
            if fault == Fault::After {
                s.stats.after += 1;
                drop(s);
                return Err(transient(call).into());
            }
            s.stats.acknowledged += 1;
        }
        outcome
    }
}

/// A store whose calls fail as the shared [`Faults`] decide.
#[derive(Clone)]
pub struct FaultyStore<S> {
    pub inner: S,
    pub faults: Faults,
}

/// A queue whose calls fail as the shared [`Faults`] decide.
#[derive(Clone)]
pub struct FaultyQueue<Q> {
    pub inner: Q,
    pub faults: Faults,
}

#[async_trait]
impl<S: Outbox> Outbox for FaultyStore<S> {
    fn queues_in_transaction(&self) -> bool {
        self.inner.queues_in_transaction()
    }
    async fn pending_outbox(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        self.faults.read("pending_outbox", self.inner.pending_outbox(before, limit)).await
    }
    async fn relayed(&self, item: &OutboxItem) -> Result<(), StoreError> {
        self.faults.write("relayed", self.inner.relayed(item)).await
    }
}

#[async_trait]
impl<S: Quotas> Quotas for FaultyStore<S> {
    async fn quota_used(&self, quota: &Quota) -> Result<u32, StoreError> {
        self.faults.read("quota_used", self.inner.quota_used(quota)).await
    }
}

#[async_trait]
impl<S: MessageStore> MessageStore for FaultyStore<S> {
    async fn create_message(
        &self,
        record: &NewRecord,
        idempotency: Option<&IdempotencyRecord>,
        outbox: &[OutboxItem],
        quota: Option<&Quota>,
    ) -> Result<CreateOutcome, StoreError> {
        let f = self.inner.create_message(record, idempotency, outbox, quota);
        self.faults.write("create_message", f).await
    }
    async fn get_idempotency(
        &self,
        citizen: &CitizenId,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.faults.read("get_idempotency", self.inner.get_idempotency(citizen, key)).await
    }
    async fn get_message(&self, id: &MessageId) -> Result<Option<Message>, StoreError> {
        self.faults.read("get_message", self.inner.get_message(id)).await
    }
    async fn get_history(&self, id: &MessageId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.faults.read("get_history", self.inner.get_history(id)).await
    }
    async fn update_message(
        &self,
        expected_version: u32,
        next: &Message,
        entry: &HistoryEntry,
    ) -> Result<(), StoreError> {
        self.faults.write("update_message", self.inner.update_message(expected_version, next, entry)).await
    }
    async fn update_messages(&self, updates: &[MessageUpdate], outbox: &[OutboxItem]) -> Result<(), StoreError> {
        self.faults.write("update_messages", self.inner.update_messages(updates, outbox)).await
    }
    async fn authority_queue(
        &self,
        authority: &AuthorityId,
        bucket: &str,
        order: QueueOrder,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        self.faults.read("authority_queue", self.inner.authority_queue(authority, bucket, order, after, limit)).await
    }
    async fn overdue_messages(
        &self,
        order: QueueOrder,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        self.faults.read("overdue_messages", self.inner.overdue_messages(order, after, limit)).await
    }
    async fn due_messages(
        &self,
        state: DueState,
        after: Option<&str>,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        self.faults.read("due_messages", self.inner.due_messages(state, after, before, limit)).await
    }
    async fn open_in_cells(
        &self,
        category: &CategoryId,
        cells: &[String],
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        self.faults.read("open_in_cells", self.inner.open_in_cells(category, cells, limit)).await
    }
    async fn list_by_author(
        &self,
        author: &CitizenId,
        before: Option<&MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        self.faults.read("list_by_author", self.inner.list_by_author(author, before, limit)).await
    }
    async fn author_submissions_since(
        &self,
        author: &CitizenId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        self.faults.read("author_submissions_since", self.inner.author_submissions_since(author, since, limit)).await
    }
    async fn awaiting_moderation(&self, after: Option<&str>, limit: usize) -> Result<Vec<Message>, StoreError> {
        self.faults.read("awaiting_moderation", self.inner.awaiting_moderation(after, limit)).await
    }
    async fn list_submitted_before(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<MessageId>, StoreError> {
        self.faults.read("list_submitted_before", self.inner.list_submitted_before(before, limit)).await
    }
    async fn reserve_numbers(&self, count: u32) -> Result<u64, StoreError> {
        self.faults.write("reserve_numbers", self.inner.reserve_numbers(count)).await
    }
    fn number_block(&self) -> u32 {
        self.inner.number_block()
    }
    async fn message_by_number(&self, number: &MessageNumber) -> Result<Option<MessageId>, StoreError> {
        self.faults.read("message_by_number", self.inner.message_by_number(number)).await
    }
}

#[async_trait]
impl<S: NotificationStore> NotificationStore for FaultyStore<S> {
    async fn put_notification(&self, notification: &Notification) -> Result<bool, StoreError> {
        self.faults.write("put_notification", self.inner.put_notification(notification)).await
    }
    async fn list_notifications(
        &self,
        citizen: &CitizenId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Notification>, StoreError> {
        self.faults.read("list_notifications", self.inner.list_notifications(citizen, before, limit)).await
    }
    async fn mark_notifications_read(
        &self,
        citizen: &CitizenId,
        which: &ReadSelection,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        self.faults.write("mark_notifications_read", self.inner.mark_notifications_read(citizen, which, at)).await
    }
    async fn unread_notifications(&self, citizen: &CitizenId, cap: usize) -> Result<usize, StoreError> {
        self.faults.read("unread_notifications", self.inner.unread_notifications(citizen, cap)).await
    }
}

#[async_trait]
impl<S: ReferenceStore> ReferenceStore for FaultyStore<S> {
    async fn load_region(&self) -> Result<Option<Versioned<RegionData>>, StoreError> {
        self.faults.read("load_region", self.inner.load_region()).await
    }
    async fn save_region(&self, data: &RegionData, expected: Option<u64>) -> Result<u64, StoreError> {
        self.faults.write("save_region", self.inner.save_region(data, expected)).await
    }
}

#[async_trait]
impl<S: PhotoStore> PhotoStore for FaultyStore<S> {
    async fn put_photo(&self, photo: &Photo) -> Result<(), StoreError> {
        self.faults.write("put_photo", self.inner.put_photo(photo)).await
    }
    async fn get_photo(&self, id: &feedback_core::ids::PhotoId) -> Result<Option<Photo>, StoreError> {
        self.faults.read("get_photo", self.inner.get_photo(id)).await
    }
    async fn photos_announced_since(
        &self,
        owner: &CitizenId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        self.faults.read("photos_announced_since", self.inner.photos_announced_since(owner, since, limit)).await
    }
    async fn pending_photos_before(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<Photo>, StoreError> {
        self.faults.read("pending_photos_before", self.inner.pending_photos_before(before, limit)).await
    }
    async fn keep_photo(&self, id: &feedback_core::ids::PhotoId) -> Result<(), StoreError> {
        self.faults.write("keep_photo", self.inner.keep_photo(id)).await
    }
    async fn delete_photo(&self, id: &feedback_core::ids::PhotoId) -> Result<(), StoreError> {
        self.faults.write("delete_photo", self.inner.delete_photo(id)).await
    }
}

#[async_trait]
impl<S: CounterStore> CounterStore for FaultyStore<S> {
    async fn read_counters(&self, ranges: &[SlotRange]) -> Result<Vec<CounterRow>, StoreError> {
        self.faults.read("read_counters", self.inner.read_counters(ranges)).await
    }
    async fn all_counters(&self) -> Result<Counters, StoreError> {
        self.faults.read("all_counters", self.inner.all_counters()).await
    }
}

#[async_trait]
impl<S: Expiry> Expiry for FaultyStore<S> {
    fn expires_by_itself(&self) -> bool {
        self.inner.expires_by_itself()
    }
    async fn prune_expired(
        &self,
        idempotency_before: DateTime<Utc>,
        notifications_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Pruned, StoreError> {
        let f = self.inner.prune_expired(idempotency_before, notifications_before, limit);
        self.faults.write("prune_expired", f).await
    }
}

#[async_trait]
impl<S: ReachStore> ReachStore for FaultyStore<S> {
    async fn get_preferences(&self, citizen: &CitizenId) -> Result<Option<Preferences>, StoreError> {
        self.faults.read("get_preferences", self.inner.get_preferences(citizen)).await
    }
    async fn put_preferences(&self, citizen: &CitizenId, preferences: &Preferences) -> Result<(), StoreError> {
        self.faults.write("put_preferences", self.inner.put_preferences(citizen, preferences)).await
    }
    async fn erase_reach(&self, citizen: &CitizenId) -> Result<ReachErased, StoreError> {
        self.faults.write("erase_reach", self.inner.erase_reach(citizen)).await
    }
    async fn subscriptions(&self, citizen: &CitizenId) -> Result<Vec<Subscription>, StoreError> {
        self.faults.read("subscriptions", self.inner.subscriptions(citizen)).await
    }
    async fn add_subscription(&self, subscription: &Subscription, max: u32) -> Result<bool, StoreError> {
        self.faults.write("add_subscription", self.inner.add_subscription(subscription, max)).await
    }
    async fn delete_subscription(&self, citizen: &CitizenId, id: &SubscriptionId) -> Result<bool, StoreError> {
        self.faults.write("delete_subscription", self.inner.delete_subscription(citizen, id)).await
    }
    async fn push_subscriptions(&self, citizen: &CitizenId) -> Result<Vec<PushSubscription>, StoreError> {
        self.faults.read("push_subscriptions", self.inner.push_subscriptions(citizen)).await
    }
    async fn put_push_subscription(&self, subscription: &PushSubscription, max: u32) -> Result<PushStored, StoreError> {
        self.faults.write("put_push_subscription", self.inner.put_push_subscription(subscription, max)).await
    }
    async fn delete_push_subscription(&self, citizen: &CitizenId, id: &PushSubscriptionId) -> Result<bool, StoreError> {
        self.faults.write("delete_push_subscription", self.inner.delete_push_subscription(citizen, id)).await
    }
}

#[async_trait]
impl<S: DeliveryStore> DeliveryStore for FaultyStore<S> {
    async fn plan_delivery(&self, delivery: &reach::Delivery) -> Result<bool, StoreError> {
        self.faults.write("plan_delivery", self.inner.plan_delivery(delivery)).await
    }
    async fn get_delivery(&self, id: &str) -> Result<Option<reach::Delivery>, StoreError> {
        self.faults.read("get_delivery", self.inner.get_delivery(id)).await
    }
    async fn claim_delivery(
        &self,
        id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<reach::Delivery>, StoreError> {
        self.faults.write("claim_delivery", self.inner.claim_delivery(id, now, until)).await
    }
    async fn save_delivery(&self, delivery: &reach::Delivery) -> Result<(), StoreError> {
        self.faults.write("save_delivery", self.inner.save_delivery(delivery)).await
    }
    async fn due_deliveries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<reach::Delivery>, StoreError> {
        self.faults.read("due_deliveries", self.inner.due_deliveries(now, limit)).await
    }
    async fn deliveries_of(&self, subject: &str) -> Result<Vec<reach::Delivery>, StoreError> {
        self.faults.read("deliveries_of", self.inner.deliveries_of(subject)).await
    }
    async fn deliveries_to(&self, citizen: &CitizenId, limit: usize) -> Result<Vec<reach::Delivery>, StoreError> {
        self.faults.read("deliveries_to", self.inner.deliveries_to(citizen, limit)).await
    }
    async fn get_contact(&self, citizen: &CitizenId, channel: Channel) -> Result<Option<Contact>, StoreError> {
        self.faults.read("get_contact", self.inner.get_contact(citizen, channel)).await
    }
    async fn put_contact(&self, citizen: &CitizenId, contact: &Contact) -> Result<(), StoreError> {
        self.faults.write("put_contact", self.inner.put_contact(citizen, contact)).await
    }
    async fn contacts_at(&self, channel: Channel, address: &Address) -> Result<Vec<(CitizenId, Contact)>, StoreError> {
        self.faults.read("contacts_at", self.inner.contacts_at(channel, address)).await
    }
    async fn erase_contacts(&self, citizen: &CitizenId) -> Result<u32, StoreError> {
        self.faults.write("erase_contacts", self.inner.erase_contacts(citizen)).await
    }
    async fn subscriptions_in(&self, municipality: &MunicipalityId) -> Result<Vec<Subscription>, StoreError> {
        self.faults.read("subscriptions_in", self.inner.subscriptions_in(municipality)).await
    }
    async fn point_subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        self.faults.read("point_subscriptions", self.inner.point_subscriptions()).await
    }
    async fn digest_residents(
        &self,
        digest: Digest,
        after: Option<&CitizenId>,
        limit: usize,
    ) -> Result<Vec<CitizenId>, StoreError> {
        self.faults.read("digest_residents", self.inner.digest_residents(digest, after, limit)).await
    }
}

#[async_trait]
impl<S: WebhookStore> WebhookStore for FaultyStore<S> {
    async fn create_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        self.faults.write("create_endpoint", self.inner.create_endpoint(endpoint)).await
    }
    async fn get_endpoint(&self, id: &WebhookId) -> Result<Option<Endpoint>, StoreError> {
        self.faults.read("get_endpoint", self.inner.get_endpoint(id)).await
    }
    async fn list_endpoints(&self) -> Result<Vec<Endpoint>, StoreError> {
        self.faults.read("list_endpoints", self.inner.list_endpoints()).await
    }
    async fn put_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        self.faults.write("put_endpoint", self.inner.put_endpoint(endpoint)).await
    }
    async fn create_webhook_delivery(&self, delivery: &WebhookDelivery) -> Result<bool, StoreError> {
        self.faults.write("create_webhook_delivery", self.inner.create_webhook_delivery(delivery)).await
    }
    async fn get_webhook_delivery(&self, id: &str) -> Result<Option<WebhookDelivery>, StoreError> {
        self.faults.read("get_webhook_delivery", self.inner.get_webhook_delivery(id)).await
    }
    async fn put_webhook_delivery(&self, delivery: &WebhookDelivery) -> Result<(), StoreError> {
        self.faults.write("put_webhook_delivery", self.inner.put_webhook_delivery(delivery)).await
    }
    async fn list_webhook_deliveries(
        &self,
        endpoint: &WebhookId,
        limit: usize,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        self.faults.read("list_webhook_deliveries", self.inner.list_webhook_deliveries(endpoint, limit)).await
    }
    async fn due_webhook_deliveries(
        &self,
        at: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        self.faults.read("due_webhook_deliveries", self.inner.due_webhook_deliveries(at, limit)).await
    }
}

#[async_trait]
impl<S: RightsStore> RightsStore for FaultyStore<S> {
    async fn forget_voter(&self, poll: &PollId, voter_hash: &str) -> Result<(), StoreError> {
        self.faults.write("forget_voter", self.inner.forget_voter(poll, voter_hash)).await
    }
    async fn photos_of(
        &self,
        owner: &CitizenId,
        after: Option<&feedback_core::ids::PhotoId>,
        limit: usize,
    ) -> Result<Vec<Photo>, StoreError> {
        self.faults.read("photos_of", self.inner.photos_of(owner, after, limit)).await
    }
    async fn comments_by(
        &self,
        author: &CitizenId,
        after: Option<&CommentId>,
        limit: usize,
    ) -> Result<Vec<Comment>, StoreError> {
        self.faults.read("comments_by", self.inner.comments_by(author, after, limit)).await
    }
    async fn flags_by(
        &self,
        flagger: &CitizenId,
        after: Option<&CommentId>,
        limit: usize,
    ) -> Result<Vec<GivenFlag>, StoreError> {
        self.faults.read("flags_by", self.inner.flags_by(flagger, after, limit)).await
    }
    async fn supported_by(
        &self,
        citizen: &CitizenId,
        after: Option<&feedback_core::MessageId>,
        limit: usize,
    ) -> Result<Vec<feedback_core::MessageId>, StoreError> {
        self.faults.read("supported_by", self.inner.supported_by(citizen, after, limit)).await
    }
    async fn reassign_flag(&self, comment: &CommentId, from: &CitizenId, to: &CitizenId) -> Result<bool, StoreError> {
        self.faults.write("reassign_flag", self.inner.reassign_flag(comment, from, to)).await
    }
    async fn idempotency_keys(
        &self,
        citizen: &CitizenId,
        after: Option<&IdempotencyKey>,
        limit: usize,
    ) -> Result<Vec<IdempotencyKey>, StoreError> {
        self.faults.read("idempotency_keys", self.inner.idempotency_keys(citizen, after, limit)).await
    }
    async fn delete_idempotency(&self, citizen: &CitizenId, keys: &[IdempotencyKey]) -> Result<(), StoreError> {
        self.faults.write("delete_idempotency", self.inner.delete_idempotency(citizen, keys)).await
    }
    async fn delete_notifications(&self, notifications: &[Notification]) -> Result<(), StoreError> {
        self.faults.write("delete_notifications", self.inner.delete_notifications(notifications)).await
    }
    async fn pseudonymise_message(
        &self,
        update: &MessageUpdate,
        history: &[HistoryEntry],
        photos: &[Photo],
    ) -> Result<(), StoreError> {
        self.faults.write("pseudonymise_message", self.inner.pseudonymise_message(update, history, photos)).await
    }
    async fn closed_before(
        &self,
        before: DateTime<Utc>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        self.faults.read("closed_before", self.inner.closed_before(before, after, limit)).await
    }
}

#[async_trait]
impl<S: HistoryScan> HistoryScan for FaultyStore<S> {
    async fn history_page(&self, after: Option<&str>, limit: usize) -> Result<HistoryPage, StoreError> {
        self.faults.read("history_page", self.inner.history_page(after, limit)).await
    }
}

#[async_trait]
impl<S: PollStore> PollStore for FaultyStore<S> {
    async fn create_poll(&self, poll: &Poll, outbox: &[OutboxItem]) -> Result<(), StoreError> {
        self.faults.write("create_poll", self.inner.create_poll(poll, outbox)).await
    }
    async fn get_poll(&self, id: &PollId) -> Result<Option<Poll>, StoreError> {
        self.faults.read("get_poll", self.inner.get_poll(id)).await
    }
    async fn update_poll(&self, expected_version: u32, next: &Poll, outbox: &[OutboxItem]) -> Result<(), StoreError> {
        self.faults.write("update_poll", self.inner.update_poll(expected_version, next, outbox)).await
    }
    async fn list_polls(
        &self,
        discussions: bool,
        status: PollStatus,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Poll>, StoreError> {
        self.faults.read("list_polls", self.inner.list_polls(discussions, status, after, limit)).await
    }
    async fn due_polls(
        &self,
        bucket: PollStatus,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Poll>, StoreError> {
        self.faults.read("due_polls", self.inner.due_polls(bucket, before, limit)).await
    }
    async fn cast_ballot(&self, ballot: &BallotWrite) -> Result<(), BallotRefused> {
        self.faults.write("cast_ballot", self.inner.cast_ballot(ballot)).await
    }
    async fn has_voted(&self, poll: &PollId, voter_hash: &str) -> Result<bool, StoreError> {
        self.faults.read("has_voted", self.inner.has_voted(poll, voter_hash)).await
    }
    async fn receipt_poll(&self, receipt: &str) -> Result<Option<PollId>, StoreError> {
        self.faults.read("receipt_poll", self.inner.receipt_poll(receipt)).await
    }
    async fn sealed_page(&self, poll: &PollId, after: Option<&str>, limit: usize) -> Result<SealedPage, StoreError> {
        self.faults.read("sealed_page", self.inner.sealed_page(poll, after, limit)).await
    }
    async fn purge_sealed(&self, poll: &PollId, limit: usize) -> Result<usize, StoreError> {
        self.faults.write("purge_sealed", self.inner.purge_sealed(poll, limit)).await
    }
    async fn put_text_answers(&self, poll: &PollId, answers: &[TextAnswer]) -> Result<(), StoreError> {
        self.faults.write("put_text_answers", self.inner.put_text_answers(poll, answers)).await
    }
    async fn text_answers(
        &self,
        poll: &PollId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TextAnswer>, StoreError> {
        self.faults.read("text_answers", self.inner.text_answers(poll, after, limit)).await
    }
    async fn tally(&self, poll: &PollId) -> Result<Tally, StoreError> {
        self.faults.read("tally", self.inner.tally(poll)).await
    }
    async fn freeze_results(
        &self,
        expected_version: u32,
        closed: &Poll,
        results: &Results,
        outbox: &[OutboxItem],
    ) -> Result<(), StoreError> {
        self.faults.write("freeze_results", self.inner.freeze_results(expected_version, closed, results, outbox)).await
    }
    async fn get_results(&self, poll: &PollId) -> Result<Option<Results>, StoreError> {
        self.faults.read("get_results", self.inner.get_results(poll)).await
    }
}

#[async_trait]
impl<S: CommentStore> CommentStore for FaultyStore<S> {
    async fn add_comment(&self, comment: &Comment, quota: &Quota) -> Result<(), StoreError> {
        self.faults.write("add_comment", self.inner.add_comment(comment, quota)).await
    }
    async fn get_comment(&self, id: &CommentId) -> Result<Option<Comment>, StoreError> {
        self.faults.read("get_comment", self.inner.get_comment(id)).await
    }
    async fn list_comments(
        &self,
        discussion: &PollId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Comment>, StoreError> {
        self.faults.read("list_comments", self.inner.list_comments(discussion, after, limit)).await
    }
    async fn update_comment(
        &self,
        expected_version: u32,
        next: &Comment,
        flag: Option<(&Flag, &Quota)>,
    ) -> Result<(), StoreError> {
        self.faults.write("update_comment", self.inner.update_comment(expected_version, next, flag)).await
    }
    async fn has_flagged(&self, comment: &CommentId, flagger: &CitizenId) -> Result<bool, StoreError> {
        self.faults.read("has_flagged", self.inner.has_flagged(comment, flagger)).await
    }
    async fn flags(&self, comment: &CommentId, limit: usize) -> Result<Vec<Flag>, StoreError> {
        self.faults.read("flags", self.inner.flags(comment, limit)).await
    }
    async fn moderation_queue(
        &self,
        state: ModerationState,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Comment>, StoreError> {
        self.faults.read("moderation_queue", self.inner.moderation_queue(state, after, limit)).await
    }
    async fn comments_since(
        &self,
        author: &CitizenId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        self.faults.read("comments_since", self.inner.comments_since(author, since, limit)).await
    }
}

#[async_trait]
impl<Q: WorkQueue> WorkQueue for FaultyQueue<Q> {
    async fn send(&self, job: &Job) -> Result<(), StoreError> {
        self.faults.write("send", self.inner.send(job)).await
    }
}

#[async_trait]
impl<Q: QueueReceiver> QueueReceiver for FaultyQueue<Q> {
    async fn receive(&self, queue: QueueName, max: usize, visibility: Duration) -> Result<Vec<Delivery>, StoreError> {
        // A lost response hides the received messages until their visibility ends.
        self.faults.write("receive", self.inner.receive(queue, max, visibility)).await
    }
    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), StoreError> {
        self.faults.write("ack", self.inner.ack(queue, receipt)).await
    }
    async fn dead_letters(&self, queue: QueueName, max: usize) -> Result<Vec<Delivery>, StoreError> {
        self.faults.read("dead_letters", self.inner.dead_letters(queue, max)).await
    }
}

/// The suites under faults: realistic flows through the use cases over a faulty store and queue,
/// with clients that retry and consumers that get redeliveries.
pub mod suites {
    use super::{is_transient, Faults, FaultyQueue, FaultyStore, INJECTED};
    use crate::analytics::assert_reconciled;
    use crate::fixtures::{citizen, new_message};
    use crate::polls::{admin, choose, polls, resident, vote_input};
    use crate::workflow::{moderator, official, stack, Stack};
    use crate::Harness;
    use chrono::Duration;
    use feedback_core::analytics::Analytics;
    use feedback_core::ids::MessageId;
    use feedback_core::message::HistoryEntry;
    use feedback_core::notification::OVERDUE_NOTE;
    use feedback_core::participation::{PollStatus, PollStore, ResultsVisibility};
    use feedback_core::ports::{NotificationStore, QueueName, QueueReceiver};
    use feedback_core::service::{relay_pending, Reference};
    use feedback_core::values::{IdempotencyKey, Location, MessageText};
    use feedback_core::workflow::{RejectReason, OUTBOX_GRACE_SECS};
    use feedback_core::{Clock, MessageStore, ServiceError, Status};
    use feedback_embedded::{SqliteQueue, SqliteStore};
    use std::future::Future;
    use std::sync::Arc;

    type Store = FaultyStore<SqliteStore>;
    type Queue = FaultyQueue<SqliteQueue>;

    /// How long a received message stays hidden: short, so that redeliveries come quickly.
    const VISIBILITY: std::time::Duration = std::time::Duration::from_millis(20);

    /// What the clients and consumers saw.
    #[derive(Debug, Default, Clone, Copy)]
    pub struct ClientFigures {
        /// Client operations that ended acknowledged.
        pub acknowledged: u64,
        /// Transient errors the clients retried.
        pub retried: u64,
        /// Deliveries that failed and came again.
        pub redelivered: u64,
        /// Acknowledged operations missing or counted twice at the end.
        pub lost: u64,
    }

    /// A faulty SQLite harness: `faults` on the store and the queue.
    pub fn harness(faults: &Faults) -> Harness<Store, Queue> {
        let db = feedback_embedded::Db::in_memory().expect("database");
        let settings = feedback_embedded::QueueSettings { max_receives: 1000 };
        Harness {
            store: faults.store(SqliteStore::new(db.clone())),
            queue: faults.queue(SqliteQueue::new(db, settings)),
            max_receives: 1000,
        }
    }

    /// Runs a client operation until it is acknowledged, retrying transient errors as a client
    /// would; any other error ends it.
    pub async fn retry<T, F, Fut>(figures: &mut ClientFigures, mut op: F) -> Result<T, ServiceError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ServiceError>>,
    {
        for _ in 0..200 {
            match op().await {
                Ok(v) => {
                    figures.acknowledged += 1;
                    return Ok(v);
                }
                Err(e) if is_transient(&e) => figures.retried += 1,
                Err(e) => return Err(e),
            }
        }
        panic!("200 transient failures in a row");
    }

    /// Like [`retry`], for an operation that must succeed.
    async fn must<T, F, Fut>(figures: &mut ClientFigures, what: &str, op: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ServiceError>>,
    {
        match retry(figures, op).await {
            Ok(v) => v,
            Err(e) => panic!("{what}: a client saw a non-transient error: {e:?}"),
        }
    }

    /// The consumers' loop: receive, handle, acknowledge; a failed delivery comes again after its
    /// visibility timeout. The relay sweep and the escalation run in between, as scheduled.
    pub async fn drain(s: &Stack<Store, Queue>, figures: &mut ClientFigures) {
        for _ in 0..10_000 {
            let mut idle = true;
            for q in [QueueName::Submitted, QueueName::Notifications] {
                let Ok(got) = s.queue.receive(q, 10, VISIBILITY).await else {
                    idle = false;
                    continue;
                };
                for d in got {
                    idle = false;
                    let handled = match q {
                        QueueName::Submitted => {
                            route_messages::route_one(&s.routing, &d.body).await.map_err(|e| e.to_string())
                        }
                        QueueName::Notifications => {
                            notify::deliver_one(&s.notifications, &d.body).await.map_err(|e| e.to_string())
                        }
                        QueueName::WebhookEvents | QueueName::WebhookDeliveries => Ok(()),
                    };
                    match handled {
                        Ok(()) => {
                            // A failed acknowledgement means one more, harmless, delivery.
                            let _ = s.queue.ack(q, &d.receipt).await;
                        }
                        Err(e) => {
                            // An injected failure reaches the consumer as the store's Unavailable.
                            assert!(
                                e.contains(INJECTED) || e.contains("temporarily unavailable"),
                                "a consumer failed for real: {e}"
                            );
                            figures.redelivered += 1;
                        }
                    }
                }
            }
            let now = s.clock.now();
            let _ = relay_pending(&s.store, &s.queue, now, Duration::seconds(OUTBOX_GRACE_SECS)).await;
            if idle {
                let depth = s.queue.inner.depth(QueueName::Submitted).await.unwrap()
                    + s.queue.inner.depth(QueueName::Notifications).await.unwrap();
                if depth == 0 {
                    return;
                }
                tokio::time::sleep(VISIBILITY).await;
            }
        }
        panic!("the queues did not drain");
    }

    /// The notification kinds a message's history owes its author, by transition id.
    fn owed(id: &MessageId, history: &[HistoryEntry]) -> Vec<String> {
        history
            .iter()
            .filter(|e| match (e.from, e.to) {
                (Some(Status::Submitted), Status::Routed) => true,
                (_, Status::InProgress) if e.from != Some(Status::InProgress) => true,
                (_, Status::Answered | Status::Rejected | Status::Closed) => true,
                (Some(f), t) => f == t && e.note.starts_with(OVERDUE_NOTE),
                _ => false,
            })
            .map(|e| e.transition_id(id))
            .collect()
    }

    /// Checks, with the faults off, that every acknowledged submission is stored once, routed
    /// once and that its author heard of each owed transition exactly once; returns how many
    /// acknowledged writes are missing or doubled.
    async fn check_messages(h: &Harness<Store, Queue>, sent: &[(String, MessageId)]) -> u64 {
        let store = &h.store.inner;
        let mut lost = 0;
        for (author, id) in sent {
            let who = citizen(author).id;
            let own = store.list_by_author(&who, None, 100).await.unwrap();
            let history = store.get_history(id).await.unwrap();
            let routed = history.iter().filter(|e| e.to == Status::Routed && e.from == Some(Status::Submitted)).count();
            let mut heard: Vec<String> = store
                .list_notifications(&who, None, 1000)
                .await
                .unwrap()
                .into_iter()
                .filter(|n| n.message_id == *id)
                .map(|n| n.id)
                .collect();
            heard.sort();
            let mut expected = owed(id, &history);
            expected.sort();
            if own.len() != 1 || own[0].id != *id || routed != 1 || heard != expected {
                eprintln!("{author}: {} stored, routed {routed} times, heard {heard:?}, owed {expected:?}", own.len());
                lost += 1;
            }
        }
        for q in [QueueName::Submitted, QueueName::Notifications] {
            assert!(h.queue.inner.dead_letters(q, 10).await.unwrap().is_empty(), "nothing dead-letters");
        }
        lost
    }

    fn text(s: &str) -> MessageText {
        MessageText::parse(s).unwrap()
    }

    /// Residents submit (one idempotency key per submission, the same on every retry); routing
    /// runs with redelivery; officials take and answer, some messages go overdue; authors rate.
    pub async fn the_lifecycle(faults: &Faults) -> ClientFigures {
        let h = harness(faults);
        let s = stack(&h).await;
        let mut f = ClientFigures::default();
        faults.resume();
        let mut sent = Vec::new();
        for i in 0..30 {
            let author = format!("resident-{i}");
            let who = citizen(&author);
            let mut input = if i % 3 == 0 {
                new_message("dorogi-yamy", &format!("Яма у остановки Площадь Борцов, сообщение {i}"))
            } else {
                new_message("zhkh-musor", &format!("Не вывозят мусор во дворе дома {i}"))
            };
            if i % 3 == 0 {
                input.location = Some(Location::new(57.153_000 + f64::from(i) * 1e-6, 65.534_300).unwrap());
            }
            let key = IdempotencyKey::parse(&format!("submit-{i}")).unwrap();
            let m = must(&mut f, "submit", || s.messages.submit(&who, input.clone(), Some(key.clone()))).await;
            sent.push((author, m.message.id));
        }
        drain(&s, &mut f).await;
        // Officials answer the originals (their duplicates get the answer too); four are left to go overdue
        s.clock.advance(Duration::hours(2));
        let mut answered = Vec::new();
        for (n, (_, id)) in sent.iter().enumerate() {
            let m = h.store.inner.get_message(id).await.unwrap().unwrap();
            if m.duplicate_of.is_some() || n % 7 == 6 {
                continue;
            }
            let who = official("o-1", m.authority_id.as_ref().unwrap().as_str());
            must(&mut f, "take", || s.workflow.take(&who, id)).await;
            let answer = text(&format!("Выполнено по сообщению {n}"));
            must(&mut f, "answer", || s.workflow.answer(&who, id, answer.clone())).await;
            answered.push(*id);
        }
        drain(&s, &mut f).await;
        s.clock.advance(Duration::days(20));
        must(&mut f, "escalation", || s.escalation.run()).await;
        drain(&s, &mut f).await;
        // Authors rate every answered message; one in four reopens it
        for (n, (author, id)) in sent.iter().enumerate() {
            let m = h.store.inner.get_message(id).await.unwrap().unwrap();
            if m.status != Status::Answered {
                continue;
            }
            let reopen = n % 4 == 1;
            let who = citizen(author);
            must(&mut f, "rate", || s.workflow.rate(&who, id, if reopen { 2 } else { 5 }, None, reopen)).await;
        }
        drain(&s, &mut f).await;
        faults.pause();
        f.lost = check_messages(&h, &sent).await;
        for (_, id) in &sent {
            let m = h.store.inner.get_message(id).await.unwrap().unwrap();
            let history = h.store.inner.get_history(id).await.unwrap();
            let overdue = history.iter().filter(|e| e.note.starts_with(OVERDUE_NOTE)).count();
            assert!(overdue <= 1, "flagged overdue once at most");
            if m.duplicate_of.is_some() {
                assert_ne!(m.status, Status::Routed, "a duplicate of an answered original is answered");
            }
        }
        assert!(!answered.is_empty());
        assert_reconciled(&h.store.inner).await;
        f
    }

    /// A poll is created; residents vote, retrying; the schedule closes it. Each acknowledged
    /// ballot counts once.
    pub async fn participation(faults: &Faults) -> ClientFigures {
        let h = harness(faults);
        let p = polls(&h).await;
        let mut f = ClientFigures::default();
        faults.resume();
        let now = p.clock.now();
        let input = vote_input(now - Duration::minutes(1), now + Duration::days(1), ResultsVisibility::Live);
        let admin = admin();
        let poll = must(&mut f, "create", || p.participation.create(&admin, input.clone())).await;
        let voters = 120;
        let mut expected = [0u64; 3];
        for i in 0..voters {
            let who = resident(&format!("voter-{i}"), "tyumen", "1990-01-01");
            let mut attempts = ClientFigures::default();
            let outcome = retry(&mut attempts, || p.participation.vote(&who, &poll.id, choose(i % 3))).await;
            f.retried += attempts.retried;
            match outcome {
                Ok(_) => f.acknowledged += 1,
                // The retry of a ballot whose first attempt was stored but not confirmed
                Err(ServiceError::Conflict { code: "already_voted", .. }) if attempts.retried > 0 => {
                    f.acknowledged += 1
                }
                Err(e) => panic!("vote: a client saw a non-transient error: {e:?}"),
            }
            expected[i % 3] += 1;
        }
        p.clock.advance(Duration::days(2));
        loop {
            must(&mut f, "schedule", || p.participation.run_schedule()).await;
            let stored = h.store.inner.get_poll(&poll.id).await.unwrap().unwrap();
            if stored.status == PollStatus::Closed {
                break;
            }
        }
        faults.pause();
        let polls_stored = h.store.inner.list_polls(false, PollStatus::Closed, None, 10).await.unwrap().len();
        let results = h.store.inner.get_results(&poll.id).await.unwrap().unwrap();
        let tally = h.store.inner.tally(&poll.id).await.unwrap();
        let counts: Vec<u64> = (0..3).map(|o| tally.counts[&0].get(&o).copied().unwrap_or(0)).collect();
        f.lost = (voters as u64).abs_diff(tally.total) + u64::from(counts != expected.to_vec());
        assert_eq!(results.total_ballots, tally.total, "the frozen results are the tally");
        assert!(results.is_final);
        if polls_stored != 1 {
            eprintln!("a retried create stored {polls_stored} polls");
        }
        assert_reconciled(&h.store.inner).await;
        f
    }

    /// Messages through every kind of event under faults; the analytics report counts each
    /// acknowledged event once and the counters equal the recount.
    pub async fn analytics(faults: &Faults) -> ClientFigures {
        let h = harness(faults);
        let s = stack(&h).await;
        let mut f = ClientFigures::default();
        faults.resume();
        let mut sent = Vec::new();
        for i in 0..24 {
            let author = format!("citizen-{i}");
            let who = citizen(&author);
            let input = new_message("dorogi-yamy", &format!("Яма у дома {i} на улице Мельникайте"));
            let key = IdempotencyKey::parse(&format!("k-{i}")).unwrap();
            let m = must(&mut f, "submit", || s.messages.submit(&who, input.clone(), Some(key.clone()))).await;
            sent.push((author, m.message.id));
        }
        drain(&s, &mut f).await;
        s.clock.advance(Duration::hours(3));
        let upravdor = official("o-1", "tyumen-upravdor");
        let (mut answered, mut rejected, mut closed, mut reopened) = (0, 0, 0, 0);
        for (i, (author, id)) in sent.iter().enumerate() {
            match i % 4 {
                0 => {
                    let m = moderator("m-1");
                    must(&mut f, "reject", || s.workflow.reject(&m, id, RejectReason::Spam, None)).await;
                    rejected += 1;
                }
                1 => {}
                _ => {
                    let answer = text(&format!("Яма {i} заделана"));
                    must(&mut f, "answer", || s.workflow.answer(&upravdor, id, answer.clone())).await;
                    answered += 1;
                    let reopen = i % 4 == 3;
                    let who = citizen(author);
                    must(&mut f, "rate", || s.workflow.rate(&who, id, if reopen { 2 } else { 5 }, None, reopen)).await;
                    if reopen {
                        reopened += 1;
                    } else {
                        closed += 1;
                    }
                }
            }
        }
        s.clock.advance(Duration::days(20));
        must(&mut f, "escalation", || s.escalation.run()).await;
        drain(&s, &mut f).await;
        faults.pause();
        f.lost = check_messages(&h, &sent).await;
        assert_reconciled(&h.store.inner).await;
        let reference = Arc::new(Reference::new(h.store.inner.clone(), std::time::Duration::from_secs(60)));
        let analytics = Analytics::new(h.store.inner.clone(), s.clock.clone(), reference);
        let report =
            analytics.messages(&crate::polls::admin(), Some("2026-11-01"), Some("2027-01-31"), Some("category")).await;
        let g = &report.unwrap().groups[0];
        let n = sent.len() as i64;
        let expected = (n, n, rejected, answered, closed, reopened, n / 4 + reopened);
        let got = (g.submitted, g.routed, g.rejected, g.answered, g.closed, g.reopened, g.overdue);
        if got != expected {
            eprintln!("analytics {got:?}, acknowledged {expected:?}");
            f.lost += 1;
        }
        f
    }
}
