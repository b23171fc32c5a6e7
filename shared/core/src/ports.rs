//! The ports: what the domain needs from the outside world. Adapters implement them for
//! DynamoDB/SQS and for SQLite; the contract suite in `tests/` runs the same cases on both.

use crate::counters::{deltas, Counters};
use crate::event::{Event, EventData};
use crate::ids::{AuthorityId, CategoryId, CitizenId, MessageId, MessageNumber};
use crate::message::{DueState, EventKind, HistoryEntry, Message, QueueOrder};
use crate::notification::Notification;
use crate::region::RegionData;
use crate::values::IdempotencyKey;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// An adapter's own error, boxed whole so that its sources can still be followed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How a port call failed. `Backend` and `Unavailable` keep the adapter's error as their source:
/// their text is the operation that failed, with no data, and `std::error::Error::source` walks
/// down to the SDK's or SQLite's own error (`error::ErrorChain` prints the whole chain).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition did not hold: the item exists already, or changed since it was read.
    /// Nothing was written.
    #[error("a write condition failed; nothing was written")]
    Conflict,
    /// The quota of the write's window is used up. Nothing was written.
    #[error("the quota is used up; nothing was written")]
    OverQuota,
    /// The backend failed or is unreachable. The write may or may not have happened only where
    /// the method says so; every method here is atomic. Built with [`StoreError::backend`].
    #[error("backend failure")]
    Backend(#[source] anyhow::Error),
    /// The backend is temporarily unable to serve (storage full, I/O error, busy or locked,
    /// throttled); retry later. Nothing was written. Built with [`StoreError::unavailable`].
    #[error("backend temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
}

impl StoreError {
    /// A backend failure in the operation `context` (a fixed name, never data), caused by
    /// `source`: an adapter's error, kept with its own sources, or a text saying what was wrong.
    pub fn backend(context: &'static str, source: impl Into<BoxError>) -> StoreError {
        StoreError::Backend(anyhow::Error::new(Failure { context, source: source.into() }))
    }

    /// The backend cannot serve the operation `context` now; `source` as for [`StoreError::backend`].
    pub fn unavailable(context: &'static str, source: impl Into<BoxError>) -> StoreError {
        StoreError::Unavailable(anyhow::Error::new(Failure { context, source: source.into() }))
    }
}

/// The operation that failed and the error that made it fail, which stays itself in the chain
/// (`downcast_ref` finds the adapter's error type).
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
struct Failure {
    context: &'static str,
    #[source]
    source: BoxError,
}

/// The stored answer to an idempotent submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub citizen: CitizenId,
    pub key: IdempotencyKey,
    /// SHA-256 of the canonical request body.
    pub request_hash: String,
    /// The message as the first response showed it.
    pub response: Message,
    pub created_at: DateTime<Utc>,
    /// When the region's retention lets it go (`Retention::idempotency_hours`): DynamoDB expires
    /// the item by it; the embedded store prunes by age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Reading quotas. Spending them is part of the write that does the counted thing.
#[async_trait]
pub trait Quotas: Send + Sync + 'static {
    /// How much of a quota's current window is used, for refusing cheaply before expensive work.
    async fn quota_used(&self, quota: &Quota) -> Result<u32, StoreError>;
}

/// What `create_message` did.
#[derive(Debug, Clone, PartialEq)]
pub enum CreateOutcome {
    Created,
    /// The citizen already used this idempotency key; nothing was written.
    KeyExists(Box<IdempotencyRecord>),
    /// The quota of the current window is used up; nothing was written.
    OverQuota,
}

/// A cap on how often one actor may do one thing: at most `max` per fixed window of `window`.
/// The count is a counter per key and window that the store increments, on condition that it is
/// still under `max`, in the very transaction that does the thing: concurrent requests cannot
/// overshoot it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    /// What is counted and for whom, e.g. `submit#<citizen>`.
    pub key: String,
    pub max: u32,
    /// The start of the current window.
    pub window_start: DateTime<Utc>,
    pub window: chrono::Duration,
}

impl Quota {
    /// The hourly quota `max` of `key` for the clock-hour window holding `now`.
    pub fn hourly(key: String, max: u32, now: DateTime<Utc>) -> Quota {
        let window = chrono::Duration::hours(1);
        let secs = now.timestamp().div_euclid(3600) * 3600;
        let window_start = DateTime::from_timestamp(secs, 0).unwrap_or(now);
        Quota { key, max, window_start, window }
    }

    /// The window's id, as stored beside the key.
    pub fn window_id(&self) -> String {
        format!("{:013}", self.window_start.timestamp_millis().max(0))
    }

    /// When the window ends: the counter item may be forgotten afterwards.
    pub fn window_end(&self) -> DateTime<Utc> {
        self.window_start + self.window
    }

    /// Seconds until the next window, at least one.
    pub fn retry_after_secs(&self, now: DateTime<Utc>) -> u64 {
        (self.window_end() - now).num_seconds().max(1) as u64
    }
}

/// One transition to write: the message as it becomes, its new history entry and the analytics
/// counter increments of that entry, on condition that the stored message still has
/// `expected_version`. The increments are computed here, once; stores only add them. A change of
/// the message's supporters is also written to the index of the messages each resident
/// supports (`RightsStore::supported_by`), in the same transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageUpdate {
    pub expected_version: u32,
    pub next: Message,
    pub entry: HistoryEntry,
    pub counters: Counters,
    pub support: Option<SupportChange>,
}

/// A resident joining or leaving a message's supporters («Я тоже»).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupportChange {
    Added(CitizenId),
    Withdrawn(CitizenId),
}

impl MessageUpdate {
    /// A transition's update; a support adds its supporter (the one the transition appended) to
    /// the index.
    pub fn new(expected_version: u32, next: Message, entry: HistoryEntry) -> Self {
        let counters = deltas(&entry);
        let supported = entry.facts.as_ref().is_some_and(|f| f.kind == EventKind::Support);
        let support = next.supporter_ids.last().filter(|_| supported).cloned().map(SupportChange::Added);
        MessageUpdate { expected_version, next, entry, counters, support }
    }

    /// An update that takes `citizen` off the message's supporters, for the erasure of their data.
    pub fn withdrawing_support(expected_version: u32, next: Message, entry: HistoryEntry, citizen: CitizenId) -> Self {
        let counters = deltas(&entry);
        MessageUpdate { expected_version, next, entry, counters, support: Some(SupportChange::Withdrawn(citizen)) }
    }
}

/// A new message with its first history entry and that entry's analytics counter increments.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord {
    pub message: Message,
    pub entry: HistoryEntry,
    pub counters: Counters,
}

impl NewRecord {
    pub fn new(message: Message, entry: HistoryEntry) -> Self {
        let counters = deltas(&entry);
        NewRecord { message, entry, counters }
    }
}

/// Messages and their history.
#[async_trait]
pub trait MessageStore: Outbox + Quotas + Send + Sync + 'static {
    /// Atomically writes a new message, its first history entry, the entry's analytics counter
    /// increments (`record.counters`), the look-up of its number (when it has one; a number
    /// already taken is a `Conflict`) and, when given, the idempotency record. If the citizen's key is taken, writes nothing and returns the existing record.
    /// An existing message id is a `Conflict`.
    ///
    /// `outbox` is what the submission owes (the routing job): it is written in the same
    /// transaction (see [`Outbox`]), so a crash after the commit cannot lose it.
    /// When `quota` is given, its counter is incremented in the same transaction, and a used-up
    /// quota writes nothing (`OverQuota`).
    async fn create_message(
        &self,
        record: &NewRecord,
        idempotency: Option<&IdempotencyRecord>,
        outbox: &[OutboxItem],
        quota: Option<&Quota>,
    ) -> Result<CreateOutcome, StoreError>;

    /// The record of a citizen's idempotency key, if any.
    async fn get_idempotency(
        &self,
        citizen: &CitizenId,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// One message, read consistently.
    async fn get_message(&self, id: &MessageId) -> Result<Option<Message>, StoreError>;

    /// A message's history, oldest first.
    async fn get_history(&self, id: &MessageId) -> Result<Vec<HistoryEntry>, StoreError>;

    /// Atomically replaces the message with `next` and appends `entry`, only if the stored
    /// version is still `expected_version`; otherwise `Conflict` and nothing is written.
    async fn update_message(
        &self,
        expected_version: u32,
        next: &Message,
        entry: &HistoryEntry,
    ) -> Result<(), StoreError> {
        let update = MessageUpdate::new(expected_version, next.clone(), entry.clone());
        self.update_messages(std::slice::from_ref(&update), &[]).await
    }

    /// Applies the updates in one transaction, with the analytics counter increments they carry
    /// and the `outbox` items the transitions owe (their
    /// notifications): all of it, or nothing (`Conflict` when any message changed meanwhile).
    /// On DynamoDB a transaction holds at most 100 items, and one update with its counters takes
    /// up to 36 (24, and 12 cell counters of the public map), so use cases pass one update, or two
    /// for a duplicate.
    async fn update_messages(&self, updates: &[MessageUpdate], outbox: &[OutboxItem]) -> Result<(), StoreError>;

    /// One bucket of an authority's queue (see `Message::queue_bucket`) in `order`, only keys
    /// beyond `after` (the order's `QueueOrder::key`) when given.
    async fn authority_queue(
        &self,
        authority: &AuthorityId,
        bucket: &str,
        order: QueueOrder,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError>;

    /// The region's overdue messages that await an answer, in `order`, only keys beyond
    /// `after` (the order's `QueueOrder::key`) when given.
    async fn overdue_messages(
        &self,
        order: QueueOrder,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError>;

    /// The region's messages in one due state, by deadline, with keys strictly between `after`
    /// and `before` when given.
    async fn due_messages(
        &self,
        state: DueState,
        after: Option<&str>,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError>;

    /// Open, located originals of a category indexed under any of `cells`.
    async fn open_in_cells(
        &self,
        category: &CategoryId,
        cells: &[String],
        limit: usize,
    ) -> Result<Vec<Message>, StoreError>;

    /// The author's messages, newest first, only those older than `before` when given.
    async fn list_by_author(
        &self,
        author: &CitizenId,
        before: Option<&MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError>;

    /// Creation times of the author's messages created at or after `since`, oldest first, at most `limit`.
    async fn author_submissions_since(
        &self,
        author: &CitizenId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DateTime<Utc>>, StoreError>;

    /// Messages awaiting moderation (still `submitted`), oldest first, only keys after `after`
    /// (a `Message::moderation_key`) when given.
    async fn awaiting_moderation(&self, after: Option<&str>, limit: usize) -> Result<Vec<Message>, StoreError>;

    /// Messages still in `submitted` that were created before `before`, oldest first.
    async fn list_submitted_before(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<MessageId>, StoreError>;

    /// Reserves the next `count` message numbers of the region in one atomic step and returns
    /// the first: the caller owns `first .. first + count` and hands them out itself
    /// (`numbering::NumberPool`). Numbers start at 1; no two reservations overlap, whichever
    /// process makes them. A reservation whose numbers are never used leaves a gap.
    async fn reserve_numbers(&self, count: u32) -> Result<u64, StoreError>;

    /// How many numbers a process reserves at a time: DynamoDB reserves blocks so that the
    /// region's counter item is written once per block, not once per message.
    fn number_block(&self) -> u32 {
        100
    }

    /// The message that carries `number`, written with it by `create_message`. A number of
    /// another region, or one never given, is `None`.
    async fn message_by_number(&self, number: &MessageNumber) -> Result<Option<MessageId>, StoreError>;
}

/// What one prune removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub idempotency: usize,
    pub notifications: usize,
    /// Residents' deliveries (which carry a notification) made before the notifications' cut,
    /// no longer pending.
    pub deliveries: usize,
    /// Closed messages whose personal link the retention no longer keeps, pseudonymised.
    pub pseudonymised: usize,
}

/// Letting go of what the region's retention no longer keeps (`region::Retention`).
#[async_trait]
pub trait Expiry: Send + Sync + 'static {
    /// True when the store expires items by the `expires_at` they were written with (DynamoDB's
    /// TTL), so that pruning has nothing to do.
    fn expires_by_itself(&self) -> bool;

    /// Deletes at most `limit` idempotency records created before `idempotency_before`, at
    /// most `limit` notifications made before `notifications_before`, and at most `limit`
    /// deliveries planned before it that are no longer pending.
    async fn prune_expired(
        &self,
        idempotency_before: DateTime<Utc>,
        notifications_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Pruned, StoreError>;
}

/// One page of stored history entries and where the next page starts (`None`: the last page).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryPage {
    pub entries: Vec<HistoryEntry>,
    pub next: Option<String>,
}

/// Reads every stored history entry, a page at a time, for offline reconciliation
/// (`analytics::recount`). Pages follow the store's own order; every entry is read once.
#[async_trait]
pub trait HistoryScan: Send + Sync + 'static {
    /// Up to `limit` entries after the cursor `after` (the `next` of the previous page); a page
    /// may hold fewer even when more follow.
    async fn history_page(&self, after: Option<&str>, limit: usize) -> Result<HistoryPage, StoreError>;
}

/// Residents' notifications.
#[async_trait]
pub trait NotificationStore: Send + Sync + 'static {
    /// Stores a notification unless one with its id is stored already; true when it was new.
    async fn put_notification(&self, notification: &Notification) -> Result<bool, StoreError>;

    /// A resident's notifications, newest first, keys before `before` (a `notification_key`) when given.
    async fn list_notifications(
        &self,
        citizen: &CitizenId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Notification>, StoreError>;

    /// Marks the selected unread notifications of `citizen` read at `at`; returns how many it
    /// marked. Already read ones keep their time: marking twice changes nothing.
    async fn mark_notifications_read(
        &self,
        citizen: &CitizenId,
        which: &ReadSelection,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError>;

    /// How many of the resident's notifications are unread, counting no further than `cap`.
    async fn unread_notifications(&self, citizen: &CitizenId, cap: usize) -> Result<usize, StoreError>;
}

/// Which of a resident's notifications to mark read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadSelection {
    /// These ids (at most [`MARK_READ_MAX`]); ids that are not the resident's change nothing.
    Ids(Vec<String>),
    /// Every unread one made at or before this time, up to [`MARK_READ_MAX`] per call.
    UpTo(DateTime<Utc>),
}

/// How many notifications one call marks read at most.
pub const MARK_READ_MAX: usize = 500;

/// The ordering key of a notification: time in milliseconds, zero-padded, then its id.
pub fn notification_key(n: &Notification) -> String {
    format!("{}#{}", notification_time_key(n.at), n.id)
}

/// The time part of `notification_key`: every notification made before `at` has a smaller key.
pub fn notification_time_key(at: DateTime<Utc>) -> String {
    format!("{:013}", at.timestamp_millis().max(0))
}

/// A value with the version it was stored under.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub version: u64,
    pub value: T,
}

/// The region's reference data and routing rules.
#[async_trait]
pub trait ReferenceStore: Send + Sync + 'static {
    /// The stored reference data, if the region was seeded.
    async fn load_region(&self) -> Result<Option<Versioned<RegionData>>, StoreError>;

    /// Stores the reference data if the stored version is still `expected` (`None`: nothing stored yet),
    /// returning the new version; otherwise `Conflict` and nothing is written.
    async fn save_region(&self, data: &RegionData, expected: Option<u64>) -> Result<u64, StoreError>;
}

/// A named work queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum QueueName {
    /// New messages waiting for routing.
    Submitted,
    /// Status changes residents should hear about.
    Notifications,
    /// Events published to webhook endpoints, fanned out to one delivery per endpoint.
    WebhookEvents,
    /// Webhook deliveries to attempt.
    WebhookDeliveries,
}

impl QueueName {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A unit of asynchronous work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Route a submitted message.
    RouteMessage { message_id: MessageId },
    /// Deliver a notification to a resident, and a copy to each of the message's supporters
    /// ([`Notification::for_supporter`]) when it is one they hear of.
    Notify {
        notification: Notification,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        supporters: Vec<CitizenId>,
    },
    /// Publish an event to the webhook endpoints that want it.
    Publish { event: Event },
    /// Attempt one webhook delivery.
    SendWebhook { delivery_id: String },
}

impl Job {
    pub fn queue(&self) -> QueueName {
        match self {
            Job::RouteMessage { .. } => QueueName::Submitted,
            Job::Notify { .. } => QueueName::Notifications,
            Job::Publish { .. } => QueueName::WebhookEvents,
            Job::SendWebhook { .. } => QueueName::WebhookDeliveries,
        }
    }
    /// The job's kind as its body names it (`route_message`, `notify`, …), for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::RouteMessage { .. } => "route_message",
            Job::Notify { .. } => "notify",
            Job::Publish { .. } => "publish",
            Job::SendWebhook { .. } => "send_webhook",
        }
    }
    /// The message the job is about, if it is about one.
    pub fn message_id(&self) -> Option<MessageId> {
        match self {
            Job::RouteMessage { message_id } => Some(*message_id),
            Job::Notify { notification, .. } => Some(notification.message_id),
            Job::Publish { event } => match &event.data {
                EventData::Message(m) => Some(m.message_id),
                EventData::Poll(_) => None,
            },
            Job::SendWebhook { .. } => None,
        }
    }
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
    pub fn from_body(body: &str) -> Result<Job, serde_json::Error> {
        serde_json::from_str(body)
    }
}

impl Job {
    /// The job's stable identity: the same work always has the same id, so a relay that hands
    /// a job to its queue twice, or a sweep that re-enqueues it, is recognised downstream.
    pub fn id(&self) -> String {
        match self {
            Job::RouteMessage { message_id } => format!("route#{message_id}"),
            Job::Notify { notification, .. } => format!("notify#{}", notification.id),
            Job::Publish { event } => format!("publish#{}", event.id),
            Job::SendWebhook { delivery_id } => format!("send_webhook#{delivery_id}"),
        }
    }
}

/// A job a committed transition owes, recorded in the transition's own transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub job: Job,
    /// When the transition committed; the relay sweep takes items older than its grace period.
    pub at: DateTime<Utc>,
}

impl OutboxItem {
    pub fn new(job: Job, at: DateTime<Utc>) -> Self {
        Self { job, at }
    }
    pub fn id(&self) -> String {
        self.job.id()
    }
}

/// The transactional outbox. What a transition owes (its notification, the next job) is written
/// in the transition's transaction, so it exists exactly when the transition does. A relay then
/// hands it to its queue at least once; consumers deduplicate by the job's id.
///
/// A store whose queue lives in the same database (the embedded one) writes the jobs straight
/// into the queue in that transaction: nothing is left to relay. A store whose queue is another
/// service (DynamoDB with SQS) keeps outbox items beside the data; the use case relays them right
/// after the commit, and a periodic sweep relays whatever a crash left behind.
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// True when the store's transaction already put the jobs on their queue.
    fn queues_in_transaction(&self) -> bool;

    /// Outbox items recorded at or before `before`, oldest first, at most `limit`.
    async fn pending_outbox(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxItem>, StoreError>;

    /// Forgets an item once its job is on the queue. Forgetting twice is harmless.
    async fn relayed(&self, item: &OutboxItem) -> Result<(), StoreError>;
}

/// Sends work. Delivery is at least once: consumers must be idempotent.
#[async_trait]
pub trait WorkQueue: Send + Sync + 'static {
    /// Durably enqueues the job, or fails with `Backend`.
    async fn send(&self, job: &Job) -> Result<(), StoreError>;
}

/// One delivery of a queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub message_id: String,
    /// The handle to acknowledge this delivery with.
    pub receipt: String,
    pub body: String,
    /// How many times the message was received, this time included.
    pub receive_count: u32,
    pub sent_at: DateTime<Utc>,
}

/// The receiving side of a queue, for hosts that drive their consumers themselves.
/// On AWS, Lambda's event source mapping plays this role.
#[async_trait]
pub trait QueueReceiver: Send + Sync + 'static {
    /// Up to `max` visible messages, hidden for `visibility` afterwards. A message received more
    /// than the queue's max-receive count moves to the dead-letter queue instead.
    async fn receive(&self, queue: QueueName, max: usize, visibility: Duration) -> Result<Vec<Delivery>, StoreError>;
    /// Deletes a delivered message. Acknowledging twice is harmless.
    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), StoreError>;
    /// Messages in the queue's dead-letter queue, for inspection.
    async fn dead_letters(&self, queue: QueueName, max: usize) -> Result<Vec<Delivery>, StoreError>;
}

/// The current time. Injected so that deadlines and schedules are testable.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

impl<T: Clock + ?Sized> Clock for Arc<T> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

/// A pause between retries of a transient failure.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(50u64.saturating_mul(1u64 << attempt.min(6)))
}

/// The analytics counters' port lives with the counters; it is listed here with the others.
pub use crate::analytics::counters::CounterStore;
