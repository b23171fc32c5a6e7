//! Residents' data rights (152-ФЗ): a resident takes everything held about them as one document
//! ([`Rights::export`]) and has it erased ([`Rights::erase`]); the retention of the personal link
//! of closed messages ([`pseudonymise_closed`], run by `retention::Pruning`).
//!
//! Erasure deletes what exists only for the resident (photos, notifications, idempotency
//! records) and pseudonymises what the authority keeps as a public-sector record: messages and
//! comments stay, but their author becomes a fresh pseudonym that names no one
//! (`CitizenId::pseudonym`), flat numbers leave the addresses (`scrub::scrub_address`), the
//! comments' texts are replaced and the flags move to the pseudonym with their counts. The voter
//! roll is not touched: it holds keyed hashes, and it must still refuse a second ballot.

use crate::actor::{Actor, Role};
use crate::delivery::{Channel, DeliveryStatus, DeliveryStore};
use crate::error::ServiceError;
use crate::ids::{CitizenId, CommentId, MessageId, PhotoId, PollId};
use crate::message::{ActorRole, HistoryEntry, Message};
use crate::notification::{Notification, NotificationKind};
use crate::participation::{Comment, CommentStore, PollKind, PollStatus, PollStore, VoterSecret};
use crate::photo::{BlobUrls, Photo, PhotoStore};
use crate::ports::{
    notification_key, Clock, MessageStore, MessageUpdate, NotificationStore, ReferenceStore, StoreError,
};
use crate::preferences::{ExportedPushSubscription, Preferences, ReachErased, ReachStore, SubscriptionView};
use crate::public::{public_view, PublicMessage};
use crate::reference::Reference;
use crate::values::{FlagReason, IdempotencyKey};
use crate::views::{local_time, MessageView};
use async_trait::async_trait;
use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;
use std::sync::Arc;

/// Records read or written per store call; every loop repeats until a short page.
pub const BATCH: usize = 100;

/// How often a write that met a concurrent change is read and tried again.
const ATTEMPTS: usize = 5;

/// The note of the history entry that takes an erased resident off a message's supporters.
pub const SUPPORT_WITHDRAWN_NOTE: &str = "Житель, поддержавший сообщение, удалил свои данные: его поддержка снята";

/// The note of the history entry that pseudonymises a message.
pub const PSEUDONYMISED_NOTE: &str = "Сведения об авторе обезличены";

/// The text an erased resident's comments keep.
pub const ERASED_COMMENT: &str = "комментарий удалён автором";

/// A flag as its flagger gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenFlag {
    pub comment_id: CommentId,
    pub reason: Option<FlagReason>,
}

/// What the data rights need from a store beyond the other ports: the resident's records found
/// by the resident (each through an index, never a scan), their deletion, the pseudonymising
/// write, and the retention index of closed messages.
#[async_trait]
pub trait RightsStore: Send + Sync + 'static {
    /// The owner's photo records by id, after `after`, at most `limit`.
    async fn photos_of(
        &self,
        owner: &CitizenId,
        after: Option<&PhotoId>,
        limit: usize,
    ) -> Result<Vec<Photo>, StoreError>;

    /// The author's comments by id, after `after`, at most `limit`.
    async fn comments_by(
        &self,
        author: &CitizenId,
        after: Option<&CommentId>,
        limit: usize,
    ) -> Result<Vec<Comment>, StoreError>;

    /// The flags a resident gave, by comment id, after `after`, at most `limit`.
    async fn flags_by(
        &self,
        flagger: &CitizenId,
        after: Option<&CommentId>,
        limit: usize,
    ) -> Result<Vec<GivenFlag>, StoreError>;

    /// Moves a flag from one flagger to another, keeping its reason, in one transaction; false
    /// when `from` has no flag on the comment (nothing is written).
    async fn reassign_flag(&self, comment: &CommentId, from: &CitizenId, to: &CitizenId) -> Result<bool, StoreError>;

    /// The keys of the citizen's idempotency records, ordered, after `after`, at most `limit`.
    async fn idempotency_keys(
        &self,
        citizen: &CitizenId,
        after: Option<&IdempotencyKey>,
        limit: usize,
    ) -> Result<Vec<IdempotencyKey>, StoreError>;

    /// Deletes the citizen's idempotency records of these keys (at most [`BATCH`]); deleting a
    /// missing one is harmless.
    async fn delete_idempotency(&self, citizen: &CitizenId, keys: &[IdempotencyKey]) -> Result<(), StoreError>;

    /// The messages the citizen supports («Я тоже»), by id, after `after`, at most `limit`: the
    /// index the support and its withdrawal write in their own transaction.
    async fn supported_by(
        &self,
        citizen: &CitizenId,
        after: Option<&MessageId>,
        limit: usize,
    ) -> Result<Vec<MessageId>, StoreError>;

    /// Deletes these notifications (at most [`BATCH`]); deleting a missing one is harmless.
    async fn delete_notifications(&self, notifications: &[Notification]) -> Result<(), StoreError>;

    /// In one transaction: the message update (on its expected version, appending its history
    /// entry), the earlier history entries replaced by `history` (same `seq`), and the photo
    /// records replaced by `photos`. `Conflict` and nothing written when the message changed.
    async fn pseudonymise_message(
        &self,
        update: &MessageUpdate,
        history: &[HistoryEntry],
        photos: &[Photo],
    ) -> Result<(), StoreError>;

    /// Removes one voter-roll entry. Only for a poll that no longer takes ballots: the roll has
    /// nothing left to refuse there.
    async fn forget_voter(&self, poll: &PollId, voter_hash: &str) -> Result<(), StoreError>;

    /// Closed messages still linked to their author, closed before `before`, oldest first, after
    /// the retention key `after` (`Message::retention_key`), at most `limit`.
    async fn closed_before(
        &self,
        before: DateTime<Utc>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError>;
}

/// The pseudonymised message, the history entry that records it, and the earlier entries that
/// named the author, now naming the pseudonym. Photos are dropped from the message when
/// `drop_photos` (erasure deletes them).
pub fn pseudonymised(
    m: &Message,
    history: &[HistoryEntry],
    pseudonym: &CitizenId,
    at: DateTime<Utc>,
    drop_photos: bool,
) -> (MessageUpdate, Vec<HistoryEntry>) {
    let mut next = m.clone();
    next.author = pseudonym.clone();
    next.address = m.address.as_deref().map(crate::scrub::scrub_address).filter(|a| !a.is_empty());
    if drop_photos {
        next.photo_ids.clear();
    }
    next.version = m.version + 1;
    next.updated_at = at;
    let entry = system_entry(m, next.version, at, PSEUDONYMISED_NOTE);
    let rewritten = history
        .iter()
        .filter(|e| e.actor_id.as_ref() == Some(&m.author))
        .map(|e| HistoryEntry { actor_id: Some(pseudonym.clone()), ..e.clone() })
        .collect();
    (MessageUpdate::new(m.version, next, entry), rewritten)
}

/// The history entry of a change the platform makes to `m` on its own (no actor, no facts,
/// the status unchanged), as version `seq`.
fn system_entry(m: &Message, seq: u32, at: DateTime<Utc>, note: &str) -> HistoryEntry {
    HistoryEntry {
        seq,
        at,
        actor_role: ActorRole::System,
        actor_id: None,
        actor_authority_id: None,
        from: Some(m.status),
        to: m.status,
        note: note.to_owned(),
        facts: None,
    }
}

/// The message without `citizen` among its supporters, and the history entry that records it
/// (naming no one, counting nothing).
pub fn without_supporter(m: &Message, citizen: &CitizenId, at: DateTime<Utc>) -> MessageUpdate {
    let mut next = m.clone();
    next.supporter_ids.retain(|s| s != citizen);
    next.version = m.version + 1;
    next.updated_at = at;
    let entry = system_entry(m, next.version, at, SUPPORT_WITHDRAWN_NOTE);
    MessageUpdate::withdrawing_support(m.version, next, entry, citizen.clone())
}

/// Takes `citizen` off the supporters of one message (and the message off their index), reading
/// it again after a concurrent change; false when the message is gone.
async fn withdraw_support<S: MessageStore>(
    store: &S,
    id: &MessageId,
    citizen: &CitizenId,
    at: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    for _ in 0..ATTEMPTS {
        let Some(m) = store.get_message(id).await? else {
            return Ok(false);
        };
        match store.update_messages(&[without_supporter(&m, citizen, at)], &[]).await {
            Ok(()) => return Ok(true),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// Pseudonymises one message of `author`, reading it again after a concurrent change; false
/// when it is gone or no longer theirs.
async fn pseudonymise_one<S>(
    store: &S,
    id: &MessageId,
    author: &CitizenId,
    pseudonym: &CitizenId,
    at: DateTime<Utc>,
    drop_photos: bool,
) -> Result<bool, ServiceError>
where
    S: MessageStore + PhotoStore + RightsStore,
{
    for _ in 0..ATTEMPTS {
        let Some(m) = store.get_message(id).await?.filter(|m| &m.author == author) else {
            return Ok(false);
        };
        let history = store.get_history(id).await?;
        let (update, rewritten) = pseudonymised(&m, &history, pseudonym, at, drop_photos);
        let mut photos = Vec::new();
        if !drop_photos {
            for pid in &m.photo_ids {
                if let Some(p) = store.get_photo(pid).await?.filter(|p| &p.owner == author) {
                    photos.push(Photo { owner: pseudonym.clone(), ..p });
                }
            }
        }
        match store.pseudonymise_message(&update, &rewritten, &photos).await {
            Ok(()) => return Ok(true),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// Pseudonymises every closed message whose author link the region no longer keeps (closed
/// before `before`), each under a pseudonym of its own; returns how many.
pub async fn pseudonymise_closed<S>(store: &S, before: DateTime<Utc>, now: DateTime<Utc>) -> Result<usize, ServiceError>
where
    S: MessageStore + PhotoStore + RightsStore,
{
    let mut done = 0;
    let mut after: Option<String> = None;
    loop {
        let page = store.closed_before(before, after.as_deref(), BATCH).await?;
        for m in &page {
            if pseudonymise_one(store, &m.id, &m.author, &CitizenId::pseudonym(), now, false).await? {
                done += 1;
            }
        }
        match page.last().and_then(Message::retention_key) {
            Some(key) if page.len() == BATCH => after = Some(key),
            _ => return Ok(done),
        }
    }
}

/// A message in the export: the message with its history as the resident sees it, and the
/// links the resident's own photos are read through (`GET /v1/messages/{id}/photos/{photo_id}`).
/// The photos of the answer are the authority's: the answer names them, and they are read
/// through the same route, but they are not the resident's data.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExportedMessage {
    pub message: MessageView,
    pub photo_links: Vec<String>,
}

/// A notification in the export.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExportedNotification {
    pub id: String,
    pub message_id: MessageId,
    pub kind: NotificationKind,
    pub at: DateTime<FixedOffset>,
    pub text: String,
    /// When the resident read it; `null` while unread.
    pub read_at: Option<DateTime<FixedOffset>>,
}

/// A comment in the export.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExportedComment {
    pub id: CommentId,
    pub discussion_id: PollId,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<CommentId>,
    pub created_at: DateTime<FixedOffset>,
    pub hidden: bool,
}

/// A flag the resident gave, with the reason they wrote.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExportedFlag {
    pub comment_id: CommentId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A poll the resident voted in: which, never how (the ballot holds no resident, and its
/// receipt is only the voter's).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VotedPoll {
    pub id: PollId,
    pub title: String,
    pub kind: PollKind,
}

/// Everything held about a resident (`GET /v1/me/data`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ResidentData {
    /// The resident's subject, as the identity provider names them.
    pub subject: String,
    pub exported_at: DateTime<FixedOffset>,
    pub messages: Vec<ExportedMessage>,
    /// The messages the resident supports («Я тоже»), as the public sees them.
    pub supported: Vec<PublicMessage>,
    pub notifications: Vec<ExportedNotification>,
    pub comments: Vec<ExportedComment>,
    pub flags: Vec<ExportedFlag>,
    pub polls: Vec<VotedPoll>,
    /// The notification preferences: as the resident set them, or the defaults they get.
    pub preferences: Preferences,
    pub subscriptions: Vec<SubscriptionView>,
    /// The browsers push notifications go to: the push service and since when, never the keys.
    pub push_subscriptions: Vec<ExportedPushSubscription>,
    /// The addresses news is sent to: the e-mail address and, where the region sends SMS, the
    /// phone number, each with whether it was turned off (a bounce, a complaint, a failure).
    pub contacts: Vec<ExportedContact>,
    /// The latest sends beyond the portal (at most 1,000, newest first): what, on which
    /// channel, how it ended.
    pub deliveries: Vec<ExportedDelivery>,
}

/// A contact address in the export.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExportedContact {
    pub channel: Channel,
    pub address: String,
    pub disabled: bool,
    pub updated_at: DateTime<FixedOffset>,
}

/// A delivery in the export.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExportedDelivery {
    /// The notification's id, or `digest:<period>` for a digest.
    pub subject: String,
    pub channel: Channel,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub created_at: DateTime<FixedOffset>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<DateTime<FixedOffset>>,
}

/// The most deliveries an export lists.
pub const EXPORT_DELIVERIES: usize = 1000;

/// What an erasure did (`DELETE /v1/me`); all zero when nothing was left to erase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Erasure {
    /// Messages kept for the authority under a pseudonym, without flat numbers and photos.
    pub messages_pseudonymised: u32,
    /// Messages the resident supported («Я тоже»): they are taken off its supporters.
    pub supports_withdrawn: u32,
    /// Comments kept under a pseudonym, their texts replaced.
    pub comments_pseudonymised: u32,
    /// Flags moved to the pseudonym; the comments' flag counts stay.
    pub flags_pseudonymised: u32,
    pub photos_deleted: u32,
    pub notifications_deleted: u32,
    pub idempotency_records_deleted: u32,
    /// Voter-roll entries of polls that no longer take ballots. Those of open polls stay, so that
    /// nobody votes twice.
    pub votes_forgotten: u32,
    /// 1 when the resident had set notification preferences.
    pub preferences_deleted: u32,
    pub subscriptions_deleted: u32,
    pub push_subscriptions_deleted: u32,
    /// The resident's contact addresses (e-mail; the phone number where SMS is on).
    pub contacts_deleted: u32,
    /// Deliveries to the resident (e-mail, push, SMS), sent or not.
    pub deliveries_deleted: u32,
}

/// Export and erasure of a resident's data.
pub struct Rights<S, C> {
    store: S,
    clock: C,
    blobs: Arc<dyn BlobUrls>,
    reference: Arc<Reference<S>>,
    secret: VoterSecret,
}

/// The statuses of polls that may hold ballots.
const VOTED_STATUSES: [PollStatus; 3] = [PollStatus::Open, PollStatus::Closed, PollStatus::Cancelled];

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Walks a listing a page of [`BATCH`] at a time: `$fetch` reads the page after the cursor
/// `$after` (none for the first), `$cursor` names the position of the page's `$last` item, and
/// `$each` handles the `$page`. A short page is the last. (A macro rather than a function over
/// async closures: the futures it makes must stay `Send` for the Lambda runtime.)
macro_rules! pages {
    (|$after:ident: $k:ty| $fetch:expr, |$last:ident| $cursor:expr, |$page:ident| $each:block) => {{
        let mut $after: Option<$k> = None;
        loop {
            let $page = &$fetch.await?;
            $each
            match $page.last() {
                Some($last) if $page.len() == BATCH => $after = Some($cursor),
                _ => break,
            }
        }
    }};
}

impl<S, C> Rights<S, C>
where
    S: MessageStore
        + NotificationStore
        + PhotoStore
        + CommentStore
        + PollStore
        + ReferenceStore
        + RightsStore
        + ReachStore
        + DeliveryStore,
    C: Clock,
{
    pub fn new(
        store: S,
        clock: C,
        blobs: Arc<dyn BlobUrls>,
        reference: Arc<Reference<S>>,
        secret: VoterSecret,
    ) -> Self {
        Self { store, clock, blobs, reference, secret }
    }

    fn resident(actor: &Actor) -> Result<&CitizenId, ServiceError> {
        if actor.has(Role::Citizen) {
            Ok(&actor.id)
        } else {
            Err(ServiceError::Forbidden("свои данные выгружают и удаляют жители"))
        }
    }

    /// Everything held about the calling resident, as one document.
    pub async fn export(&self, actor: &Actor) -> Result<ResidentData, ServiceError> {
        let me = Self::resident(actor)?;
        let region = self.reference.snapshot().await?;
        let tz = region.value.time_zone();
        let store = &self.store;
        let mut out = ResidentData {
            subject: me.to_string(),
            exported_at: local_time(self.clock.now(), &tz),
            messages: Vec::new(),
            supported: Vec::new(),
            notifications: Vec::new(),
            comments: Vec::new(),
            flags: Vec::new(),
            polls: Vec::new(),
            preferences: store.get_preferences(me).await?.unwrap_or_else(|| Preferences::defaults(actor)),
            subscriptions: store.subscriptions(me).await?.iter().map(|s| SubscriptionView::of(s, &tz)).collect(),
            push_subscriptions: store
                .push_subscriptions(me)
                .await?
                .iter()
                .map(|s| ExportedPushSubscription::of(s, &tz))
                .collect(),
            contacts: Vec::new(),
            deliveries: store
                .deliveries_to(me, EXPORT_DELIVERIES)
                .await?
                .iter()
                .map(|d| ExportedDelivery {
                    subject: d.subject.clone(),
                    channel: d.channel,
                    status: d.status,
                    attempts: d.attempts,
                    created_at: local_time(d.created_at, &tz),
                    last_attempt_at: d.last_attempt_at.map(|t| local_time(t, &tz)),
                })
                .collect(),
        };
        for channel in [Channel::Email, Channel::Sms] {
            if let Some(c) = store.get_contact(me, channel).await? {
                out.contacts.push(ExportedContact {
                    channel,
                    address: c.address.as_str().to_owned(),
                    disabled: c.disabled,
                    updated_at: local_time(c.updated_at, &tz),
                });
            }
        }
        pages!(|before: MessageId| store.list_by_author(me, before.as_ref(), BATCH), |m| m.id, |page| {
            for m in page {
                let history = store.get_history(&m.id).await?;
                let photo_links = m.photo_ids.iter().map(|p| format!("/v1/messages/{}/photos/{p}", m.id)).collect();
                let message = MessageView::detail(m, &history, actor, &region.value);
                out.messages.push(ExportedMessage { message, photo_links });
            }
        });
        pages!(|after: MessageId| store.supported_by(me, after.as_ref(), BATCH), |id| *id, |page| {
            for id in page {
                if let Some(m) = store.get_message(id).await? {
                    out.supported.push(public_view(&region.value, &m));
                }
            }
        });
        pages!(
            |before: String| store.list_notifications(me, before.as_deref(), BATCH),
            |last| notification_key(last),
            |page| {
                out.notifications.extend(page.iter().map(|n| ExportedNotification {
                    id: n.id.clone(),
                    message_id: n.message_id,
                    kind: n.kind,
                    at: local_time(n.at, &tz),
                    text: n.text.clone(),
                    read_at: n.read_at.map(|t| local_time(t, &tz)),
                }));
            }
        );
        pages!(|after: CommentId| store.comments_by(me, after.as_ref(), BATCH), |c| c.id, |page| {
            out.comments.extend(page.iter().map(|c| ExportedComment {
                id: c.id,
                discussion_id: c.discussion_id,
                text: c.text.clone(),
                reply_to: c.reply_to,
                created_at: local_time(c.created_at, &tz),
                hidden: c.hidden,
            }));
        });
        pages!(|after: CommentId| store.flags_by(me, after.as_ref(), BATCH), |f| f.comment_id, |page| {
            out.flags.extend(page.iter().map(|f| ExportedFlag {
                comment_id: f.comment_id,
                reason: f.reason.as_ref().map(|r| r.as_str().to_owned()),
            }));
        });
        for status in VOTED_STATUSES {
            pages!(
                |after: String| store.list_polls(false, status, after.as_deref(), BATCH),
                |p| p.list_key().1,
                |page| {
                    for poll in page {
                        if store.has_voted(&poll.id, &self.secret.voter_hash(&poll.id, me)).await? {
                            out.polls.push(VotedPoll { id: poll.id, title: poll.title.clone(), kind: poll.kind });
                        }
                    }
                }
            );
        }
        Ok(out)
    }

    /// Erases the calling resident (see the module's documentation); repeating it erases nothing
    /// more and succeeds.
    pub async fn erase(&self, actor: &Actor) -> Result<Erasure, ServiceError> {
        let me = Self::resident(actor)?;
        let pseudonym = CitizenId::pseudonym();
        let now = self.clock.now();
        let mut done = Erasure::default();
        let store = &self.store;
        pages!(|before: MessageId| store.list_by_author(me, before.as_ref(), BATCH), |m| m.id, |page| {
            for m in page {
                if pseudonymise_one(store, &m.id, me, &pseudonym, now, true).await? {
                    done.messages_pseudonymised += 1;
                }
            }
        });
        pages!(|after: MessageId| store.supported_by(me, after.as_ref(), BATCH), |id| *id, |page| {
            for id in page {
                if withdraw_support(store, id, me, now).await? {
                    done.supports_withdrawn += 1;
                }
            }
        });
        pages!(|after: PhotoId| store.photos_of(me, after.as_ref(), BATCH), |p| p.id, |page| {
            for photo in page {
                // The bytes first: a record left after a failed delete is found again next time.
                self.blobs.delete(photo).await?;
                store.delete_photo(&photo.id).await?;
                done.photos_deleted += 1;
            }
        });
        pages!(|after: CommentId| store.comments_by(me, after.as_ref(), BATCH), |c| c.id, |page| {
            for c in page {
                if self.erase_comment(&c.id, me, &pseudonym).await? {
                    done.comments_pseudonymised += 1;
                }
            }
        });
        pages!(|after: CommentId| store.flags_by(me, after.as_ref(), BATCH), |f| f.comment_id, |page| {
            for f in page {
                if store.reassign_flag(&f.comment_id, me, &pseudonym).await? {
                    done.flags_pseudonymised += 1;
                }
            }
        });
        pages!(
            |before: String| store.list_notifications(me, before.as_deref(), BATCH),
            |last| notification_key(last),
            |page| {
                store.delete_notifications(page).await?;
                done.notifications_deleted += count(page.len());
            }
        );
        pages!(
            |after: IdempotencyKey| store.idempotency_keys(me, after.as_ref(), BATCH),
            |last| last.clone(),
            |page| {
                store.delete_idempotency(me, page).await?;
                done.idempotency_records_deleted += count(page.len());
            }
        );
        for status in [PollStatus::Closed, PollStatus::Cancelled] {
            pages!(
                |after: String| store.list_polls(false, status, after.as_deref(), BATCH),
                |p| p.list_key().1,
                |page| {
                    for poll in page.iter().filter(|p| !p.accepts_at(now)) {
                        let hash = self.secret.voter_hash(&poll.id, me);
                        if store.has_voted(&poll.id, &hash).await? {
                            store.forget_voter(&poll.id, &hash).await?;
                            done.votes_forgotten += 1;
                        }
                    }
                }
            );
        }
        let reach = self.erase_reach(me).await?;
        done.preferences_deleted = u32::from(reach.preferences);
        done.subscriptions_deleted = reach.subscriptions;
        done.push_subscriptions_deleted = reach.push_subscriptions;
        done.contacts_deleted = reach.contacts;
        done.deliveries_deleted = reach.deliveries;
        Ok(done)
    }

    /// Deletes the resident's preferences and subscriptions, reading them again when a
    /// subscription was added meanwhile.
    async fn erase_reach(&self, me: &CitizenId) -> Result<ReachErased, ServiceError> {
        for _ in 0..ATTEMPTS {
            match self.store.erase_reach(me).await {
                Err(StoreError::Conflict) => continue,
                other => return Ok(other?),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// Moves one comment of `author` to the pseudonym and replaces its text; false when it is
    /// gone or no longer theirs.
    async fn erase_comment(
        &self,
        id: &CommentId,
        author: &CitizenId,
        pseudonym: &CitizenId,
    ) -> Result<bool, ServiceError> {
        for _ in 0..ATTEMPTS {
            let Some(c) = self.store.get_comment(id).await?.filter(|c| &c.author == author) else {
                return Ok(false);
            };
            let next = Comment {
                author: pseudonym.clone(),
                text: ERASED_COMMENT.to_owned(),
                version: c.version + 1,
                ..c.clone()
            };
            match self.store.update_comment(c.version, &next, None).await {
                Ok(()) => return Ok(true),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CategoryId, MunicipalityId};
    use crate::message::Status;

    fn closed(author: &str) -> (Message, Vec<HistoryEntry>) {
        let at = DateTime::parse_from_rfc3339("2026-11-27T10:00:00+05:00").unwrap().to_utc();
        let input = crate::submission::NewMessage {
            category_id: CategoryId::parse("dorogi-yamy").unwrap(),
            text: crate::values::MessageText::parse("Глубокая яма во дворе").unwrap(),
            municipality_id: None,
            address: Some(crate::values::Address::parse("Тюмень, ул. Республики, 15, кв. 12").unwrap()),
            location: None,
            photo_ids: Default::default(),
            public: false,
        };
        let author = CitizenId::parse(author).unwrap();
        let tyumen = MunicipalityId::parse("tyumen").unwrap();
        let (mut m, first) = crate::submission::new_submission(&author, &input, tyumen, at, chrono_tz::UTC);
        m.photo_ids = vec![PhotoId::new_at(at)];
        m.status = Status::Closed;
        m.version = 2;
        let official = HistoryEntry {
            seq: 2,
            actor_role: ActorRole::Official,
            actor_id: Some(CitizenId::parse("off-1").unwrap()),
            ..first.clone()
        };
        (m, vec![first, official])
    }

    #[test]
    fn a_pseudonymised_message_names_no_one_and_keeps_its_case() {
        let (m, history) = closed("alice");
        assert!(m.retention_key().is_some());
        let pseudonym = CitizenId::pseudonym();
        let at = m.updated_at + chrono::Duration::days(1);
        let (update, rewritten) = pseudonymised(&m, &history, &pseudonym, at, false);
        assert_eq!(update.expected_version, 2);
        assert_eq!(update.next.author, pseudonym);
        assert_eq!(update.next.address.as_deref(), Some("Тюмень, ул. Республики, 15"));
        assert_eq!((update.next.version, update.entry.seq), (3, 3));
        assert_eq!((update.entry.actor_role.clone(), update.entry.actor_id.clone()), (ActorRole::System, None));
        assert_eq!(update.next.text, m.text);
        assert_eq!(update.next.photo_ids, m.photo_ids);
        assert!(update.counters.is_empty(), "the entry counts nothing");
        assert_eq!(rewritten.len(), 1, "only the author's entries are rewritten");
        assert_eq!((rewritten[0].seq, rewritten[0].actor_id.as_ref()), (1, Some(&pseudonym)));
        assert_eq!(update.next.retention_key(), None, "it leaves the retention index");
        let (dropped, _) = pseudonymised(&m, &history, &pseudonym, at, true);
        assert!(dropped.next.photo_ids.is_empty());
    }
}
