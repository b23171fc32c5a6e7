//! The officials' workflow, the resident's rating, escalation of overdue messages and the
//! delivery of notifications.

use crate::actor::{Actor, Role};
use crate::error::{FieldError, ServiceError};
use crate::ids::{AuthorityId, MessageId, PhotoId};
use crate::message::By;
use crate::message::{DueState, Message, QueueOrder, Status, Transition, OPEN_BUCKET};
use crate::notification::{Notification, OVERDUE_NOTE};
use crate::outbox::{commit, relay_pending};
use crate::page::{Cursor, Limit, Page};
use crate::photo::PhotoStore;
use crate::policy::{acts_for, can_read, is_center_official, is_region_moderator};
use crate::ports::{
    notification_key, Clock, MessageStore, MessageUpdate, NotificationStore, ReadSelection, ReferenceStore, StoreError,
    WorkQueue, MARK_READ_MAX,
};
use crate::reference::Reference;
use crate::region::RegionData;

/// How old an outbox item must be before the sweep relays it: younger ones are still being
/// relayed by the use case that wrote them.
pub const OUTBOX_GRACE_SECS: i64 = 30;
use crate::values::{CommentText, MessageText, PhotoIds, Reason};
use anyhow::anyhow;
use chrono::Duration;
use std::sync::Arc;

/// Why a moderator refuses a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum RejectReason {
    Obscene,
    Spam,
    Duplicate,
    NoContent,
    PersonalData,
    NotARequest,
}

impl RejectReason {
    /// The reason's code, as the history stores it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Filters of an authority's queue. With neither `status` nor `all` it holds the messages that
/// await an answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    pub status: Option<Status>,
    /// Every bucket: open, answered, closed and rejected messages.
    pub all: bool,
    pub overdue: Option<bool>,
    /// Words every listed message's text or address must contain.
    pub search: Option<SearchTerms>,
    /// Nearest deadline first (the default), or by when the messages were sent.
    pub order: QueueOrder,
}

/// The words of a queue search, folded for comparison (lower case, «ё» as «е»).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms(Vec<String>);

impl SearchTerms {
    /// At most this many characters are searched for.
    pub const MAX_CHARS: usize = 100;

    /// The words of `raw`; an error says what to change. Blank input is no search (`Ok(None)`).
    pub fn parse(raw: &str) -> Result<Option<SearchTerms>, &'static str> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err("поисковый запрос не длиннее 100 символов");
        }
        let words: Vec<String> = fold(raw)
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(8)
            .map(str::to_owned)
            .collect();
        Ok((!words.is_empty()).then_some(SearchTerms(words)))
    }

    /// Whether every word occurs in the message's text or address.
    pub fn matches(&self, m: &Message) -> bool {
        let hay = format!("{} {}", fold(&m.text), fold(m.address.as_deref().unwrap_or("")));
        self.0.iter().all(|w| hay.contains(w.as_str()))
    }
}

fn fold(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).map(|c| if c == 'ё' { 'е' } else { c }).collect()
}

/// How many index entries one queue request examines at most while searching: the page budget
/// that bounds a search's cost. A search that reaches it returns what it found with a cursor
/// to continue from.
pub const QUEUE_SEARCH_BUDGET: usize = 1000;

/// How many entries a search reads from each source at a time.
const SEARCH_CHUNK: usize = 100;

/// The buckets of an authority's queue that are not `open`.
const DONE_BUCKETS: [&str; 3] = ["answered", "closed", "rejected"];

/// An authority's queue counts, from the analytics counters: exact, never by listing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct QueueCounts {
    /// Messages awaiting the authority's answer (routed, in progress, reopened).
    pub open: i64,
    /// Of them, past their deadline. For the ЦУР: every overdue message of the region.
    pub overdue: i64,
    pub answered: i64,
    pub closed: i64,
    pub rejected: i64,
}

/// The authority whose queue the caller works: officials only.
fn queue_authority(actor: &Actor) -> Result<AuthorityId, ServiceError> {
    match (&actor.authority, actor.has(Role::Official)) {
        (Some(a), true) => Ok(a.clone()),
        _ => Err(ServiceError::Forbidden("очередь доступна сотрудникам органов власти")),
    }
}

fn invalid(e: crate::message::InvalidTransition) -> ServiceError {
    ServiceError::Conflict {
        code: "invalid_transition",
        detail: format!("Действие недоступно: сообщение в статусе «{}».", e.from.name_ru()),
    }
}

/// Officials' and moderators' work on messages; the resident's rating.
pub struct Workflow<S, Q, C> {
    store: S,
    queue: Q,
    clock: C,
    reference: Arc<Reference<S>>,
}

impl<S: MessageStore + ReferenceStore, Q: WorkQueue, C: Clock> Workflow<S, Q, C> {
    pub fn new(store: S, queue: Q, clock: C, reference: Arc<Reference<S>>) -> Self {
        Self { store, queue, clock, reference }
    }

    pub fn reference(&self) -> &Arc<Reference<S>> {
        &self.reference
    }

    /// The caller's authority's queue in the filter's order (nearest deadline first unless
    /// asked otherwise). The ЦУР's officials also see every overdue message of the region. A
    /// search examines at most [`QUEUE_SEARCH_BUDGET`] entries per request; when it stops there,
    /// the page may be short and its cursor continues the search.
    pub async fn queue(
        &self,
        actor: &Actor,
        filter: QueueFilter,
        cursor: Option<Cursor>,
        limit: Limit,
    ) -> Result<Page<Message>, ServiceError> {
        let authority = queue_authority(actor)?;
        let snap = self.reference.snapshot().await?;
        let center = is_center_official(actor, &snap.value);
        let buckets: Vec<&str> = match (filter.status, filter.all) {
            (Some(Status::Submitted), _) => return Ok(Page { items: vec![], next_cursor: None }),
            (Some(Status::Routed | Status::InProgress | Status::Reopened), _) => vec![OPEN_BUCKET],
            (Some(s), _) => vec![s.as_str()],
            (None, false) => vec![OPEN_BUCKET],
            (None, true) if filter.overdue == Some(true) => vec![OPEN_BUCKET],
            (None, true) => std::iter::once(OPEN_BUCKET).chain(DONE_BUCKETS).collect(),
        };
        let with_overdue = center && buckets.contains(&OPEN_BUCKET) && filter.overdue != Some(false);
        let order = filter.order;
        let key = |m: &Message| order.key(m);
        // Whether `a` comes later in the list than `b`.
        let beyond = |a: &String, b: &String| if order.descending() { a < b } else { a > b };
        let keep = |m: &Message| {
            filter.status.is_none_or(|s| m.status == s)
                && filter.overdue.is_none_or(|o| m.overdue == o)
                && filter.search.as_ref().is_none_or(|q| q.matches(m))
        };
        let want = limit.get();
        let chunk = if filter.search.is_some() { SEARCH_CHUNK.max(want + 1) } else { want + 1 };
        let mut after = cursor.map(|c| c.position().to_owned());
        let mut items: Vec<Message> = Vec::new();
        let mut examined = 0usize;
        let mut budget_spent = false;
        loop {
            // A full page from a source means it may have more: only keys up to its last one are complete.
            let mut bounds: Vec<String> = Vec::new();
            let mut exhausted = true;
            let mut merged: Vec<Message> = Vec::new();
            for bucket in &buckets {
                let part = self.store.authority_queue(&authority, bucket, order, after.as_deref(), chunk).await?;
                if part.len() == chunk {
                    exhausted = false;
                    bounds.extend(part.last().map(key));
                }
                merged.extend(part);
            }
            if with_overdue {
                let overdue = self.store.overdue_messages(order, after.as_deref(), chunk).await?;
                if overdue.len() == chunk {
                    exhausted = false;
                    bounds.extend(overdue.last().map(key));
                }
                merged.extend(overdue);
            }
            merged.sort_by_key(key);
            if order.descending() {
                merged.reverse();
            }
            merged.dedup_by_key(|m| m.id);
            // The nearest of the sources' last keys: beyond it a source may hold keys not read yet.
            let safe_bound = bounds.into_iter().reduce(|a, b| if beyond(&a, &b) { b } else { a });
            let mut last_seen = None;
            for m in merged {
                let k = key(&m);
                if safe_bound.as_ref().is_some_and(|b| beyond(&k, b)) {
                    break;
                }
                examined += 1;
                last_seen = Some(k);
                if keep(&m) {
                    items.push(m);
                    if items.len() > want {
                        break;
                    }
                }
                if filter.search.is_some() && examined >= QUEUE_SEARCH_BUDGET {
                    budget_spent = true;
                    break;
                }
            }
            if items.len() > want || exhausted || last_seen.is_none() {
                break;
            }
            if budget_spent {
                let next_cursor = last_seen.map(|k| Cursor::new(&k).encode());
                return Ok(Page { items, next_cursor });
            }
            after = last_seen;
        }
        let next_cursor = if items.len() > want {
            items.truncate(want);
            items.last().map(|m| Cursor::new(&key(m)).encode())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// The counts of the caller's authority's queue, from the analytics counters of its current
    /// statuses (`counters::deltas`, the status series): exact and read without listing.
    pub async fn queue_counts(&self, actor: &Actor) -> Result<QueueCounts, ServiceError>
    where
        S: crate::analytics::CounterStore,
    {
        let authority = queue_authority(actor)?;
        let snap = self.reference.snapshot().await?;
        let own = crate::analytics::counters::status_totals(&self.store, &crate::counters::Scope::Authority(authority))
            .await?;
        let mut counts = QueueCounts {
            open: own.messages(&[Status::Routed, Status::InProgress, Status::Reopened]),
            overdue: own.overdue(),
            answered: own.messages(&[Status::Answered]),
            closed: own.messages(&[Status::Closed]),
            rejected: own.messages(&[Status::Rejected]),
        };
        if is_center_official(actor, &snap.value) {
            let region =
                crate::analytics::counters::status_totals(&self.store, &crate::counters::Scope::Region).await?;
            counts.overdue = region.overdue();
        }
        Ok(counts)
    }

    /// Messages awaiting moderation (still `submitted`), oldest first: for the region's
    /// moderators and admins.
    pub async fn awaiting_moderation(
        &self,
        actor: &Actor,
        cursor: Option<Cursor>,
        limit: Limit,
    ) -> Result<Page<Message>, ServiceError> {
        let snap = self.reference.snapshot().await?;
        let region_admin = actor.has(Role::Admin) && actor.in_region(&snap.value.region.code);
        if !is_region_moderator(actor, &snap.value) && !region_admin {
            return Err(ServiceError::Forbidden("список на модерации доступен модераторам"));
        }
        let after = cursor.map(|c| c.position().to_owned());
        let mut items = self.store.awaiting_moderation(after.as_deref(), limit.get() + 1).await?;
        let next_cursor = if items.len() > limit.get() {
            items.truncate(limit.get());
            items.last().map(|m| Cursor::new(&m.moderation_key()).encode())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Applies a transition decided from the current state, retrying when the message changed
    /// concurrently. `decide` checks the actor's rights and returns the transition and its note.
    async fn act<F>(&self, actor: &Actor, id: &MessageId, decide: F) -> Result<(Message, RegionSnapshot), ServiceError>
    where
        F: Fn(&Message, &RegionData) -> Result<(Transition, String), ServiceError>,
    {
        for _attempt in 0..5 {
            let message = self.store.get_message(id).await?.ok_or(ServiceError::NotFound)?;
            let snap = self.reference.snapshot().await?;
            if !can_read(actor, &message, &snap.value) {
                return Err(ServiceError::NotFound);
            }
            let (transition, note) = decide(&message, &snap.value)?;
            let applied = message.apply(
                transition.clone(),
                By::Person(actor),
                self.clock.now(),
                snap.value.time_zone(),
                &snap.value.calendar,
                note.clone(),
            );
            let (next, entry) = match applied {
                Ok(done) => done,
                // A retry of a request whose write committed but whose answer was lost: the
                // same person's same transition is the message's latest one. Answer as then.
                Err(e) => match self.store.get_history(id).await?.last() {
                    Some(last) if repeats(&message, last, actor, &transition, &note) => return Ok((message, snap)),
                    _ => return Err(invalid(e)),
                },
            };
            let update = MessageUpdate::new(message.version, next.clone(), entry);
            match commit(&self.store, &self.queue, &snap.value, &[update]).await {
                Ok(()) => return Ok((next, snap)),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// An official takes the message into work.
    pub async fn take(&self, actor: &Actor, id: &MessageId) -> Result<Message, ServiceError> {
        let (m, _) = self
            .act(actor, id, |m, region| {
                if !acts_for(actor, m, region) {
                    return Err(ServiceError::Forbidden("взять в работу может сотрудник ответственного органа"));
                }
                Ok((Transition::Take, "Взято в работу".into()))
            })
            .await?;
        Ok(m)
    }

    /// An official answers; every open duplicate linked to the message gets the same answer.
    pub async fn answer(&self, actor: &Actor, id: &MessageId, text: MessageText) -> Result<Message, ServiceError> {
        self.answer_as(actor, id, text, Vec::new()).await
    }

    /// An official answers with photos of what was done, each announced by the same official
    /// (`POST /v1/photos`). The photos are kept
    /// from the sweep of unattached photos before the answer is written, so a written answer
    /// never loses them.
    pub async fn answer_with_photos(
        &self,
        actor: &Actor,
        id: &MessageId,
        text: MessageText,
        photos: &PhotoIds,
    ) -> Result<Message, ServiceError>
    where
        S: PhotoStore,
    {
        let mut errs = Vec::new();
        for (i, pid) in photos.as_slice().iter().enumerate() {
            match self.store.get_photo(pid).await? {
                Some(p) if p.owner == actor.id => {}
                _ => {
                    errs.push(FieldError::new(format!("photo_ids[{i}]"), "фотография не найдена: сначала загрузите её"))
                }
            }
        }
        if !errs.is_empty() {
            return Err(ServiceError::Validation(errs));
        }
        // Only the official who may answer keeps photos from the sweep.
        let message = self.store.get_message(id).await?.ok_or(ServiceError::NotFound)?;
        let snap = self.reference.snapshot().await?;
        if !can_read(actor, &message, &snap.value) {
            return Err(ServiceError::NotFound);
        }
        if acts_for(actor, &message, &snap.value) && message.awaits_answer() {
            for pid in photos.as_slice() {
                self.store.keep_photo(pid).await?;
            }
        }
        self.answer_as(actor, id, text, photos.to_vec()).await
    }

    async fn answer_as(
        &self,
        actor: &Actor,
        id: &MessageId,
        text: MessageText,
        photo_ids: Vec<PhotoId>,
    ) -> Result<Message, ServiceError> {
        let (m, snap) = self
            .act(actor, id, |m, region| {
                if !acts_for(actor, m, region) {
                    return Err(ServiceError::Forbidden("ответить может сотрудник ответственного органа"));
                }
                let authority_id =
                    m.authority_id.clone().ok_or_else(|| anyhow!("an open message without authority"))?;
                let t =
                    Transition::Answer { text: text.as_str().to_owned(), authority_id, photo_ids: photo_ids.clone() };
                Ok((t, "Дан ответ".into()))
            })
            .await?;
        for dup in &m.duplicate_ids {
            self.answer_duplicate(actor, dup, &m, &snap.value).await?;
        }
        Ok(m)
    }

    async fn answer_duplicate(
        &self,
        actor: &Actor,
        id: &MessageId,
        original: &Message,
        region: &RegionData,
    ) -> Result<(), ServiceError> {
        let Some(answer) = &original.answer else { return Ok(()) };
        for _attempt in 0..5 {
            let Some(dup) = self.store.get_message(id).await? else { return Ok(()) };
            if !dup.awaits_answer() {
                return Ok(());
            }
            let t = Transition::Answer {
                text: answer.text.clone(),
                authority_id: answer.authority_id.clone(),
                photo_ids: original.answer_photo_ids.clone(),
            };
            let note = format!("Дан ответ на исходное сообщение {}", original.id);
            let (next, entry) = dup
                .apply(t, By::Person(actor), self.clock.now(), region.time_zone(), &region.calendar, note)
                .map_err(invalid)?;
            match commit(&self.store, &self.queue, region, &[MessageUpdate::new(dup.version, next, entry)]).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// Moves the message to another authority; the status and the deadline stay. An official
    /// of the assigned authority may only send it back to the ЦУР; the ЦУР and moderators may
    /// send it anywhere.
    pub async fn redirect(
        &self,
        actor: &Actor,
        id: &MessageId,
        to: AuthorityId,
        reason: Reason,
    ) -> Result<Message, ServiceError> {
        let (m, _) = self
            .act(actor, id, |m, region| {
                let moderator = is_region_moderator(actor, region);
                if !moderator && !acts_for(actor, m, region) {
                    return Err(ServiceError::Forbidden("перенаправить может ответственный орган, ЦУР или модератор"));
                }
                let Some(target) = region.authority(&to) else {
                    return Err(ServiceError::field("authority_id", "неизвестный орган власти"));
                };
                if m.authority_id.as_ref() == Some(&to) {
                    return Err(ServiceError::field("authority_id", "сообщение уже у этого органа"));
                }
                if !moderator && !is_center_official(actor, region) && to != region.region.center_authority_id {
                    return Err(ServiceError::field(
                        "authority_id",
                        "сотрудник органа может передать сообщение только в ЦУР, указав, что вопрос не в компетенции органа",
                    ));
                }
                let reason = reason.as_str();
                let t = Transition::Redirect { authority_id: to.clone(), reason: reason.to_owned() };
                Ok((t, format!("Перенаправлено: {}; причина: {reason}", target.name)))
            })
            .await?;
        Ok(m)
    }

    /// A moderator refuses the message with a reason.
    pub async fn reject(
        &self,
        actor: &Actor,
        id: &MessageId,
        reason: RejectReason,
        comment: Option<Reason>,
    ) -> Result<Message, ServiceError> {
        let (m, _) = self
            .act(actor, id, |_, region| {
                if !is_region_moderator(actor, region) {
                    return Err(ServiceError::Forbidden("отклонить сообщение может только модератор"));
                }
                let note = match &comment {
                    Some(c) => format!("Отклонено: {}; {}", reason.as_str(), c.as_str()),
                    None => format!("Отклонено: {}", reason.as_str()),
                };
                Ok((Transition::Reject { reason_code: reason.as_str().to_owned() }, note))
            })
            .await?;
        Ok(m)
    }

    /// The author rates the answer (1..5); `reopen` sends it back to the same authority with a
    /// new deadline, once per message.
    pub async fn rate(
        &self,
        actor: &Actor,
        id: &MessageId,
        score: u8,
        comment: Option<CommentText>,
        reopen: bool,
    ) -> Result<Message, ServiceError> {
        if !(1..=5).contains(&score) {
            return Err(ServiceError::field("score", "оценка от 1 до 5"));
        }
        let now = self.clock.now();
        let comment = comment.map(|c| c.as_str().to_owned());
        let (m, _) = self
            .act(actor, id, |m, region| {
                if m.author != actor.id || !actor.has(Role::Citizen) {
                    return Err(ServiceError::Forbidden("оценить ответ может только автор сообщения"));
                }
                if reopen {
                    if m.status == Status::Answered && m.reopen_count >= 1 {
                        return Err(ServiceError::Conflict {
                            code: "reopen_limit",
                            detail: "Сообщение можно переоткрыть только один раз.".into(),
                        });
                    }
                    let days = region.deadline_days(&m.category_id);
                    let deadline = region.calendar.deadline(now, days, &region.time_zone());
                    let t = Transition::Reopen { score, comment: comment.clone(), deadline };
                    Ok((t, format!("Оценка {score}; сообщение переоткрыто, новый срок — {days} раб. дн.")))
                } else {
                    Ok((
                        Transition::Close { score, comment: comment.clone() },
                        format!("Оценка {score}; сообщение закрыто"),
                    ))
                }
            })
            .await?;
        Ok(m)
    }
}

type RegionSnapshot = Arc<crate::ports::Versioned<RegionData>>;

/// Whether `last`, the message's latest history entry, is `actor` already doing `transition`
/// with `note`: the state a repeated request finds when its first attempt committed.
fn repeats(
    message: &Message,
    last: &crate::message::HistoryEntry,
    actor: &Actor,
    transition: &Transition,
    note: &str,
) -> bool {
    if last.actor_id.as_ref() != Some(&actor.id) || last.note != note {
        return false;
    }
    match transition {
        Transition::Answer { text, photo_ids, .. } => {
            message.answer.as_ref().is_some_and(|a| &a.text == text) && &message.answer_photo_ids == photo_ids
        }
        Transition::Close { score, comment } | Transition::Reopen { score, comment, .. } => {
            message.rating.as_ref().is_some_and(|r| r.score == *score && &r.comment == comment)
        }
        _ => true,
    }
}

/// What one escalation run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EscalationReport {
    /// Messages newly flagged overdue and escalated to the ЦУР.
    pub overdue: usize,
    /// Duplicates whose original was answered but which missed the answer, answered now.
    pub answered_from_original: usize,
    /// Messages stuck in `submitted`, re-enqueued for routing.
    pub requeued: usize,
    /// Outbox items a crash or a failed send left behind, now handed to their queues.
    pub relayed: usize,
}

/// The scheduled escalation: flags overdue messages, completes missed duplicate answers and
/// re-enqueues messages stuck in `submitted`. Runs any number of times, also concurrently,
/// without changing anything twice: every write is conditional on the message's version.
pub struct Escalation<S, Q, C> {
    store: S,
    queue: Q,
    clock: C,
    reference: Arc<Reference<S>>,
    stuck_after: Duration,
}

impl<S: MessageStore + ReferenceStore, Q: WorkQueue, C: Clock> Escalation<S, Q, C> {
    pub fn new(store: S, queue: Q, clock: C, reference: Arc<Reference<S>>, stuck_after: Duration) -> Self {
        Self { store, queue, clock, reference, stuck_after }
    }

    pub async fn run(&self) -> Result<EscalationReport, ServiceError> {
        let now = self.clock.now();
        let snap = self.reference.snapshot().await?;
        let region = &snap.value;
        let before = format!("{:013}", now.timestamp_millis().max(0));
        let mut report = EscalationReport::default();
        let mut after: Option<String> = None;
        loop {
            let page = self.store.due_messages(DueState::Due, after.as_deref(), Some(&before), 100).await?;
            let done = page.len() < 100;
            after = page.last().map(|m| m.deadline_key());
            for m in page {
                match self.escalate_one(&m.id, now, region).await? {
                    Escalated::Overdue => report.overdue += 1,
                    Escalated::AnsweredFromOriginal => report.answered_from_original += 1,
                    Escalated::Nothing => {}
                }
            }
            if done || after.is_none() {
                break;
            }
        }
        report.relayed = relay_pending(&self.store, &self.queue, now, Duration::seconds(OUTBOX_GRACE_SECS)).await?;
        let stuck = self.store.list_submitted_before(now - self.stuck_after, 100).await?;
        for id in &stuck {
            self.queue.send(&crate::ports::Job::RouteMessage { message_id: *id }).await?;
        }
        report.requeued = stuck.len();
        if report != EscalationReport::default() {
            tracing::info!(?report, "escalation run");
        }
        Ok(report)
    }

    async fn escalate_one(
        &self,
        id: &MessageId,
        now: chrono::DateTime<chrono::Utc>,
        region: &RegionData,
    ) -> Result<Escalated, ServiceError> {
        for _attempt in 0..5 {
            let Some(m) = self.store.get_message(id).await? else { return Ok(Escalated::Nothing) };
            if !m.awaits_answer() || m.overdue || m.deadline.is_none_or(|d| d >= now) {
                return Ok(Escalated::Nothing);
            }
            let original = match m.duplicate_of {
                Some(o) => self.store.get_message(&o).await?.filter(|o| o.answer.is_some() && !o.awaits_answer()),
                None => None,
            };
            let (t, note, outcome) = match original.and_then(|o| o.answer.map(|a| (o.id, a, o.answer_photo_ids))) {
                Some((oid, a, photo_ids)) => (
                    Transition::Answer { text: a.text, authority_id: a.authority_id, photo_ids },
                    format!("Дан ответ на исходное сообщение {oid}"),
                    Escalated::AnsweredFromOriginal,
                ),
                None => (
                    Transition::MarkOverdue,
                    format!("{OVERDUE_NOTE}; сообщение передано на контроль в ЦУР"),
                    Escalated::Overdue,
                ),
            };
            let (next, entry) =
                m.apply(t, By::System, now, region.time_zone(), &region.calendar, note).map_err(invalid)?;
            match commit(&self.store, &self.queue, region, &[MessageUpdate::new(m.version, next, entry)]).await {
                Ok(()) => return Ok(outcome),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Escalated::Nothing)
    }
}

enum Escalated {
    Overdue,
    AnsweredFromOriginal,
    Nothing,
}

/// Residents' notifications: stored once per transition, read newest first.
pub struct Notifications<N> {
    store: N,
}

impl<N: NotificationStore> Notifications<N> {
    pub fn new(store: N) -> Self {
        Self { store }
    }

    /// Stores a delivered notification; a redelivery stores nothing. True when it was new.
    pub async fn deliver(&self, notification: &Notification) -> Result<bool, ServiceError> {
        Ok(self.store.put_notification(notification).await?)
    }

    /// The caller's notifications, newest first.
    pub async fn list(
        &self,
        actor: &Actor,
        cursor: Option<Cursor>,
        limit: Limit,
    ) -> Result<Page<Notification>, ServiceError> {
        if !actor.has(Role::Citizen) {
            return Err(ServiceError::Forbidden("уведомления доступны жителям"));
        }
        let before = cursor.map(|c| c.position().to_owned());
        let mut items = self.store.list_notifications(&actor.id, before.as_deref(), limit.get() + 1).await?;
        let next_cursor = if items.len() > limit.get() {
            items.truncate(limit.get());
            items.last().map(|n| Cursor::new(&notification_key(n)).encode())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Marks the caller's selected notifications read now; returns how many changed. Marking
    /// read ones again changes nothing.
    pub async fn mark_read(
        &self,
        actor: &Actor,
        which: &ReadSelection,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, ServiceError> {
        if !actor.has(Role::Citizen) {
            return Err(ServiceError::Forbidden("уведомления доступны жителям"));
        }
        if let ReadSelection::Ids(ids) = which {
            if ids.len() > MARK_READ_MAX {
                return Err(ServiceError::field("ids", "не больше 500 уведомлений за раз"));
            }
        }
        Ok(self.store.mark_notifications_read(&actor.id, which, now).await?)
    }

    /// How many of the caller's notifications are unread, up to [`UNREAD_CAP`].
    pub async fn unread(&self, actor: &Actor) -> Result<usize, ServiceError> {
        if !actor.has(Role::Citizen) {
            return Err(ServiceError::Forbidden("уведомления доступны жителям"));
        }
        Ok(self.store.unread_notifications(&actor.id, UNREAD_CAP).await?)
    }
}

/// The unread count stops here: the portal shows «99+».
pub const UNREAD_CAP: usize = 100;

/// Field errors for the text of an answer.
pub fn parse_answer_text(raw: &str) -> Result<MessageText, ServiceError> {
    MessageText::parse(raw).map_err(|m| ServiceError::Validation(vec![FieldError::new("text", m)]))
}
