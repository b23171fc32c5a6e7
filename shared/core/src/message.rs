//! The message entity, its state machine and its history.

use crate::actor::{Actor, Role};
use crate::calendar::Calendar;
use crate::ids::{AuthorityId, CategoryId, CitizenId, MessageId, MessageNumber, MunicipalityId, PhotoId};
use crate::values::Location;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A message's status. `overdue` is a flag and a redirect is a history entry, not statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum Status {
    Submitted,
    Routed,
    InProgress,
    Answered,
    Closed,
    Rejected,
    Reopened,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Submitted,
        Status::Routed,
        Status::InProgress,
        Status::Answered,
        Status::Closed,
        Status::Rejected,
        Status::Reopened,
    ];

    /// The wire word, as serde writes it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The status as residents and officials read it.
    pub fn name_ru(self) -> &'static str {
        match self {
            Status::Submitted => "На модерации",
            Status::Routed => "Направлено исполнителю",
            Status::InProgress => "В работе",
            Status::Answered => "Дан ответ",
            Status::Closed => "Закрыто",
            Status::Rejected => "Отклонено",
            Status::Reopened => "Возобновлено",
        }
    }

    /// Open messages still wait for an answer.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Submitted | Status::Routed | Status::InProgress | Status::Reopened)
    }
}

/// A change of a message's state, as the state machine knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Routing assigned an authority and a deadline, linking the message to an open original
    /// nearby when it repeats one.
    Route { authority_id: AuthorityId, deadline: DateTime<Utc>, duplicate_of: Option<MessageId> },
    /// An official took the message into work.
    Take,
    /// An official of `authority_id` answered, with the photos of what was done.
    Answer { text: String, authority_id: AuthorityId, photo_ids: Vec<PhotoId> },
    /// The message moved to another authority; the status stays.
    Redirect { authority_id: AuthorityId, reason: String },
    /// A moderator refused the message.
    Reject { reason_code: String },
    /// The author rated the answer and closed the message.
    Close { score: u8, comment: Option<String> },
    /// The deadline passed without an answer; the message is escalated to the ЦУР.
    MarkOverdue,
    /// A later message about the same problem was linked to this one.
    LinkDuplicate { duplicate_id: MessageId },
    /// The author rated the answer and reopened the message with a new deadline.
    Reopen { score: u8, comment: Option<String>, deadline: DateTime<Utc> },
    /// Another resident reported the same problem by supporting the message («Я тоже»); the
    /// status stays.
    Support { citizen: CitizenId },
}

impl Transition {
    fn event_kind(&self) -> EventKind {
        match self {
            Transition::Route { .. } => EventKind::Route,
            Transition::Take => EventKind::Take,
            Transition::Answer { .. } => EventKind::Answer,
            Transition::Redirect { .. } => EventKind::Redirect,
            Transition::Reject { .. } => EventKind::Reject,
            Transition::Close { .. } => EventKind::Close,
            Transition::Reopen { .. } => EventKind::Reopen,
            Transition::MarkOverdue => EventKind::Overdue,
            Transition::LinkDuplicate { .. } => EventKind::LinkDuplicate,
            Transition::Support { .. } => EventKind::Support,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Transition::Route { .. } => "route",
            Transition::Take => "take",
            Transition::Answer { .. } => "answer",
            Transition::Redirect { .. } => "redirect",
            Transition::Reject { .. } => "reject",
            Transition::Close { .. } => "close",
            Transition::Reopen { .. } => "reopen",
            Transition::MarkOverdue => "mark overdue",
            Transition::LinkDuplicate { .. } => "link a duplicate to",
            Transition::Support { .. } => "support",
        }
    }

    /// The status this transition leads to from `from`, or `None` if it is not allowed there.
    pub fn target(&self, from: Status) -> Option<Status> {
        use Status::*;
        match (self, from) {
            (Transition::Route { .. }, Submitted) => Some(Routed),
            (Transition::Take, Routed | Reopened) => Some(InProgress),
            (Transition::Answer { .. }, Routed | InProgress | Reopened) => Some(Answered),
            (Transition::Redirect { .. }, s @ (Routed | InProgress | Reopened)) => Some(s),
            (Transition::Reject { .. }, Submitted | Routed | InProgress | Reopened) => Some(Rejected),
            (Transition::Close { .. }, Answered) => Some(Closed),
            (Transition::Reopen { .. }, Answered) => Some(Reopened),
            (Transition::MarkOverdue, s @ (Routed | InProgress | Reopened)) => Some(s),
            (Transition::LinkDuplicate { .. }, s @ (Routed | InProgress | Reopened)) => Some(s),
            (Transition::Support { .. }, s @ (Routed | InProgress | Reopened)) => Some(s),
            _ => None,
        }
    }
}

/// The recorded answer to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub text: String,
    pub answered_at: DateTime<Utc>,
    pub authority_id: AuthorityId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub official_id: Option<CitizenId>,
}

/// The author's latest rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub score: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub rated_at: DateTime<Utc>,
}

/// Who made a transition: a person under a role, or the platform itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorRole {
    Citizen,
    Official,
    Moderator,
    Admin,
    Analyst,
    System,
}

impl From<Role> for ActorRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Citizen => ActorRole::Citizen,
            Role::Official => ActorRole::Official,
            Role::Moderator => ActorRole::Moderator,
            Role::Admin => ActorRole::Admin,
            Role::Analyst => ActorRole::Analyst,
        }
    }
}

/// One entry of a message's audit history, written in the same transaction as the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The message version this entry produced: 1 for creation, then +1 per transition.
    pub seq: u32,
    pub at: DateTime<Utc>,
    pub actor_role: ActorRole,
    /// The person's subject; `None` for the platform itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<CitizenId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_authority_id: Option<AuthorityId>,
    pub from: Option<Status>,
    pub to: Status,
    pub note: String,
    /// What the transition means for the analytics counters (see `crate::analytics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<Facts>,
}

impl HistoryEntry {
    /// A stable id for this transition: consumers deduplicate notifications and counters by it.
    pub fn transition_id(&self, message: &MessageId) -> String {
        format!("{message}:{:06}", self.seq)
    }
}

/// Who performs a transition.
#[derive(Debug, Clone)]
pub enum By<'a> {
    Person(&'a Actor),
    System,
}

/// A resident's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    /// The short number a person reads out (`72-000123`), given at submission; messages stored
    /// before numbers existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<MessageNumber>,
    pub author: CitizenId,
    pub category_id: CategoryId,
    pub municipality_id: MunicipalityId,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photo_ids: Vec<PhotoId>,
    pub public: bool,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_id: Option<AuthorityId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version: equals the `seq` of the latest history entry.
    pub version: u32,
    pub reopen_count: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// The photos the official attached to the current answer («яма заделана»): photo records
    /// of the official, not of the author. Replaced by each answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answer_photo_ids: Vec<PhotoId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<MessageId>,
    #[serde(default)]
    pub duplicates_count: u32,
    /// Messages linked to this one as repeats of the same problem.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicate_ids: Vec<MessageId>,
    /// When the author last reopened it: the current round of work started then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopened_at: Option<DateTime<Utc>>,
    /// Residents who support the message («Я тоже»), in the order they did; at most
    /// [`MAX_SUPPORTERS`]. They hear of its answer and closing. Never shown to anyone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supporter_ids: Vec<CitizenId>,
}

/// The most supporters one message keeps: its document stays small, and the notification
/// that carries them to the queue stays well under a queue message's size.
pub const MAX_SUPPORTERS: usize = 500;

/// Where a message sits in its region's due-date index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum DueState {
    /// Open, with a deadline not yet flagged as passed.
    Due,
    /// Open and past its deadline: escalated to the ЦУР.
    Overdue,
}

impl DueState {
    /// The index partition's word: `DUE` or `OVERDUE`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The bucket of an authority's queue holding every message still waiting for an answer.
pub const OPEN_BUCKET: &str = "open";

impl Message {
    /// Waiting for an answer from an authority (routed, in progress or reopened).
    /// Whether the public (Open311, open data) may see this message: its author made it public,
    /// it passed moderation and routing, and it was never rejected (rejection is final). A
    /// rejected message vanishes from every public surface, as if it had never been public.
    pub fn is_publicly_visible(&self) -> bool {
        self.public && !matches!(self.status, Status::Submitted | Status::Rejected)
    }

    pub fn awaits_answer(&self) -> bool {
        matches!(self.status, Status::Routed | Status::InProgress | Status::Reopened)
    }

    /// Overdue now: flagged as past its deadline and still waiting for an answer. An answer or
    /// a rejection ends it (the flag stays in the record), a reopening clears the flag.
    pub fn is_overdue(&self) -> bool {
        self.overdue && self.awaits_answer()
    }

    /// Which bucket of its authority's queue the message belongs to: `open` while it awaits an
    /// answer, otherwise its status. `None` before routing.
    pub fn queue_bucket(&self) -> Option<&'static str> {
        self.authority_id.as_ref()?;
        match self.status {
            Status::Submitted => None,
            _ if self.awaits_answer() => Some(OPEN_BUCKET),
            s => Some(s.as_str()),
        }
    }

    /// The sort key of the queue indexes: deadline in milliseconds, zero-padded, then the id.
    pub fn deadline_key(&self) -> String {
        let ms = self.deadline.map(|d| d.timestamp_millis()).unwrap_or(9_999_999_999_999);
        deadline_key(ms, &self.id)
    }

    /// Its key in the list of messages awaiting moderation (`submitted`), by creation:
    /// `<created ms:013>#<id>`.
    pub fn moderation_key(&self) -> String {
        deadline_key(self.created_at.timestamp_millis(), &self.id)
    }

    /// Its place in the region's due-date index, while it awaits an answer.
    pub fn due_state(&self) -> Option<DueState> {
        if !self.awaits_answer() || self.deadline.is_none() {
            return None;
        }
        Some(if self.overdue { DueState::Overdue } else { DueState::Due })
    }

    /// Its key in the retention index: closed messages still linked to their author, by the
    /// time they were closed (`<closed ms:013>#<id>`), so that the scheduled run finds those
    /// older than the region keeps the link (`rights::pseudonymise_closed`).
    pub fn retention_key(&self) -> Option<String> {
        if self.status != Status::Closed || self.author.is_pseudonym() {
            return None;
        }
        let closed = self.rating.as_ref().map_or(self.updated_at, |r| r.rated_at);
        Some(retention_key(closed, &self.id))
    }

    /// The geo cell it is indexed under as a possible original for duplicates: only open,
    /// located messages that are not duplicates themselves.
    pub fn geo_cell(&self) -> Option<String> {
        let loc = self.location.as_ref()?;
        if !self.awaits_answer() || self.duplicate_of.is_some() {
            return None;
        }
        Some(crate::geo::encode(loc.lat(), loc.lon(), crate::geo::PRECISION))
    }
}

/// The retention-index key of a message closed at `closed`; every message closed before `at`
/// sorts before `retention_bound(at)`.
pub fn retention_key(closed: DateTime<Utc>, id: &MessageId) -> String {
    format!("{}#{id}", retention_bound(closed))
}

/// The upper bound of the retention keys of messages closed before `before` (exclusive).
pub fn retention_bound(before: DateTime<Utc>) -> String {
    format!("{:013}", before.timestamp_millis().max(0))
}

/// The queue-index sort key for a deadline (ms) and an id.
pub fn deadline_key(deadline_ms: i64, id: &MessageId) -> String {
    format!("{:013}#{id}", deadline_ms.max(0))
}

/// The order of an authority's queue: nearest deadline first (the default), or by when the
/// messages were sent, newest or oldest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum QueueOrder {
    #[default]
    Deadline,
    Newest,
    Oldest,
}

impl QueueOrder {
    pub const ALL: [QueueOrder; 3] = [QueueOrder::Deadline, QueueOrder::Newest, QueueOrder::Oldest];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueOrder::Deadline => "deadline",
            QueueOrder::Newest => "newest",
            QueueOrder::Oldest => "oldest",
        }
    }

    /// A message's key in this order: `Message::deadline_key`, or its id, a ULID minted at
    /// submission (`new_submission`), so ordered by when it was sent.
    pub fn key(self, m: &Message) -> String {
        match self {
            QueueOrder::Deadline => m.deadline_key(),
            QueueOrder::Newest | QueueOrder::Oldest => m.id.to_string(),
        }
    }

    /// Whether the list runs from the greatest key down.
    pub fn descending(self) -> bool {
        self == QueueOrder::Newest
    }
}

impl std::str::FromStr for QueueOrder {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        QueueOrder::ALL.into_iter().find(|o| o.as_str() == s).ok_or(())
    }
}

/// A transition the state machine does not allow from the current status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {transition} a message that is {}", from.as_str())]
pub struct InvalidTransition {
    pub transition: &'static str,
    pub from: Status,
}

impl Message {
    /// Applies a transition, returning the new state and its history entry. `self` is unchanged,
    /// so the caller can write both under the condition that the stored version is still `self.version`.
    pub fn apply(
        &self,
        transition: Transition,
        by: By<'_>,
        at: DateTime<Utc>,
        tz: chrono_tz::Tz,
        calendar: &Calendar,
        note: String,
    ) -> Result<(Message, HistoryEntry), InvalidTransition> {
        let refused = InvalidTransition { transition: transition.name(), from: self.status };
        let to = transition.target(self.status).ok_or(refused.clone())?;
        match &transition {
            Transition::MarkOverdue if self.overdue || self.deadline.is_none() => return Err(refused),
            Transition::LinkDuplicate { duplicate_id } if self.duplicate_ids.contains(duplicate_id) => {
                return Err(refused)
            }
            Transition::Support { citizen }
                if !self.is_publicly_visible()
                    || *citizen == self.author
                    || self.supporter_ids.contains(citizen)
                    || self.supporter_ids.len() >= MAX_SUPPORTERS =>
            {
                return Err(refused)
            }
            _ => {}
        }
        let mut next = self.clone();
        next.status = to;
        next.version = self.version + 1;
        next.updated_at = at;
        let (actor_role, actor_id, actor_authority_id) = match &by {
            By::System => (ActorRole::System, None, None),
            By::Person(a) => {
                let role = a.acting_role();
                let auth = if role == Role::Official { a.authority.clone() } else { None };
                (ActorRole::from(role), Some(a.id.clone()), auth)
            }
        };
        let kind = transition.event_kind();
        // A supporter is not named in the history the author and officials read.
        let actor_id = if kind == EventKind::Support { None } else { actor_id };
        match transition {
            Transition::Route { authority_id, deadline, duplicate_of } => {
                next.authority_id = Some(authority_id);
                next.deadline = Some(deadline);
                next.routed_at = Some(at);
                next.overdue = false;
                next.duplicate_of = duplicate_of;
            }
            Transition::MarkOverdue => next.overdue = true,
            Transition::LinkDuplicate { duplicate_id } => {
                if !next.duplicate_ids.contains(&duplicate_id) {
                    next.duplicate_ids.push(duplicate_id);
                }
                next.duplicates_count = next.duplicate_ids.len() as u32;
            }
            Transition::Take => {}
            Transition::Answer { text, authority_id, photo_ids } => {
                next.answer = Some(Answer { text, answered_at: at, authority_id, official_id: actor_id.clone() });
                next.answer_photo_ids = photo_ids;
            }
            Transition::Redirect { authority_id, .. } => next.authority_id = Some(authority_id),
            Transition::Reject { .. } => {}
            Transition::Support { citizen } => next.supporter_ids.push(citizen),
            Transition::Close { score, comment } => next.rating = Some(Rating { score, comment, rated_at: at }),
            Transition::Reopen { score, comment, deadline } => {
                next.rating = Some(Rating { score, comment, rated_at: at });
                next.reopen_count += 1;
                next.reopened_at = Some(at);
                next.deadline = Some(deadline);
                next.overdue = false;
            }
        }
        let entry = HistoryEntry {
            seq: next.version,
            at,
            actor_role,
            actor_id,
            actor_authority_id,
            from: Some(self.status),
            to,
            note,
            facts: Some(Facts::of_transition(kind, self, &next, at, tz, calendar)),
        };
        Ok((next, entry))
    }
}

/// What happened to a message, as the counters see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Submit,
    Route,
    Take,
    Answer,
    Redirect,
    Reject,
    Close,
    Reopen,
    Overdue,
    LinkDuplicate,
    Support,
}

/// The facts of one transition that the counters need, recorded in its history entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    pub kind: EventKind,
    pub category_id: CategoryId,
    pub municipality_id: MunicipalityId,
    /// The local day of the transition, in the region's time zone.
    pub day: NaiveDate,
    /// The local day the message was submitted: the status counters are kept by it.
    pub submitted_day: NaiveDate,
    /// The responsible authority before and after the transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_before: Option<AuthorityId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_after: Option<AuthorityId>,
    /// The authority the event is credited to: the one that answered for answers and ratings,
    /// otherwise the responsible one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credited: Option<AuthorityId>,
    /// For answers: given by the deadline. For reopenings: whether the answer the resident
    /// reopened had been given by its deadline (it no longer counts as on time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_time: Option<bool>,
    /// For answers: seconds since submission, or since the reopening the answer closes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_secs: Option<i64>,
    /// For ratings (close and reopen): the score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    /// The public map's cell of a public, located message (geohash at
    /// [`crate::geo::CELL_PRECISION`]); the cell counters follow it while the message is publicly
    /// visible. Entries written before the public map have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_cell: Option<String>,
    /// For a message's first answer: working days of the region's calendar from the local day
    /// it was routed to the local day of the answer (0 on the same day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_days: Option<u32>,
    /// The staff heat map's cell of a located message, public or not (geohash at
    /// [`crate::geo::HEAT_CELL_PRECISION`]). Entries written before the heat map have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heat_cell: Option<String>,
    /// Whether the message was overdue (flagged and still waiting for its answer) before the
    /// transition and after it: the heat map's overdue counts and the queue's overdue counter
    /// follow the change. Entries written before them have neither.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overdue_before: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overdue_after: bool,
}

impl Facts {
    pub fn of_submission(message: &Message, tz: Tz) -> Facts {
        let day = message.created_at.with_timezone(&tz).date_naive();
        Facts {
            kind: EventKind::Submit,
            category_id: message.category_id.clone(),
            municipality_id: message.municipality_id.clone(),
            day,
            submitted_day: day,
            authority_before: None,
            authority_after: None,
            credited: None,
            on_time: None,
            response_secs: None,
            score: None,
            public_cell: public_cell(message),
            working_days: None,
            heat_cell: heat_cell(message),
            overdue_before: false,
            overdue_after: message.is_overdue(),
        }
    }

    /// The facts of a transition from `prev` to `next` at `at`.
    pub fn of_transition(
        kind: EventKind,
        prev: &Message,
        next: &Message,
        at: DateTime<Utc>,
        tz: Tz,
        calendar: &Calendar,
    ) -> Facts {
        let answering = next.answer.as_ref().map(|a| a.authority_id.clone());
        let credited = match kind {
            EventKind::Answer | EventKind::Close | EventKind::Reopen => answering.or(next.authority_id.clone()),
            _ => next.authority_id.clone(),
        };
        let local_day = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();
        let (on_time, response_secs) = match (kind, &prev.answer) {
            (EventKind::Answer, _) => {
                let started = prev.reopened_at.unwrap_or(prev.created_at);
                (Some(prev.deadline.is_none_or(|d| at <= d)), Some((at - started).num_seconds().max(0)))
            }
            (EventKind::Reopen, Some(a)) => (Some(prev.deadline.is_none_or(|d| a.answered_at <= d)), None),
            _ => (None, None),
        };
        let working_days = match (kind, &prev.answer, prev.routed_at) {
            (EventKind::Answer, None, Some(routed)) => {
                Some(calendar.working_days_between(local_day(routed), local_day(at)))
            }
            _ => None,
        };
        let score = match kind {
            EventKind::Close | EventKind::Reopen => next.rating.as_ref().map(|r| r.score),
            _ => None,
        };
        Facts {
            kind,
            category_id: next.category_id.clone(),
            municipality_id: next.municipality_id.clone(),
            day: local_day(at),
            submitted_day: local_day(next.created_at),
            authority_before: prev.authority_id.clone(),
            authority_after: next.authority_id.clone(),
            credited,
            on_time,
            response_secs,
            score,
            public_cell: public_cell(next),
            working_days,
            heat_cell: heat_cell(next),
            overdue_before: prev.is_overdue(),
            overdue_after: next.is_overdue(),
        }
    }
}

/// The staff heat map's cell of a message: every located one.
fn heat_cell(m: &Message) -> Option<String> {
    let loc = m.location.as_ref()?;
    Some(crate::geo::encode(loc.lat(), loc.lon(), crate::geo::HEAT_CELL_PRECISION))
}

/// The public map's cell of a message: public and located ones only.
fn public_cell(m: &Message) -> Option<String> {
    let loc = m.location.as_ref().filter(|_| m.public)?;
    Some(crate::geo::encode(loc.lat(), loc.lon(), crate::geo::CELL_PRECISION))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn message(status: Status) -> Message {
        let at = DateTime::parse_from_rfc3339("2026-11-27T10:00:00+05:00").unwrap().with_timezone(&Utc);
        Message {
            id: MessageId::new_at(at),
            author: CitizenId::parse("alice").unwrap(),
            category_id: CategoryId::parse("dorogi-yamy").unwrap(),
            municipality_id: MunicipalityId::parse("tyumen").unwrap(),
            text: "Глубокая яма на перекрёстке".into(),
            address: None,
            location: None,
            photo_ids: vec![],
            public: false,
            status,
            authority_id: Some(AuthorityId::parse("adm-tyumen").unwrap()),
            deadline: None,
            overdue: false,
            created_at: at,
            updated_at: at,
            version: 3,
            reopen_count: 0,
            routed_at: None,
            answer: None,
            rating: None,
            duplicate_of: None,
            duplicates_count: 0,
            duplicate_ids: vec![],
            answer_photo_ids: vec![],
            reopened_at: None,
            supporter_ids: vec![],
            number: None,
        }
    }

    fn official() -> Actor {
        let claims: HashMap<String, String> = [("sub", "off-1"), ("roles", "[official]"), ("authority", "adm-tyumen")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Actor::from_claims(&claims).unwrap()
    }

    #[test]
    fn every_status_pair_follows_the_contract() {
        use Status::*;
        let deadline = Utc::now();
        let auth = AuthorityId::parse("ddit").unwrap();
        let cases: Vec<(Transition, Vec<Status>)> = vec![
            (Transition::Route { authority_id: auth.clone(), deadline, duplicate_of: None }, vec![Submitted]),
            (Transition::Take, vec![Routed, Reopened]),
            (
                Transition::Answer { text: "Ответ".into(), authority_id: auth.clone(), photo_ids: vec![] },
                vec![Routed, InProgress, Reopened],
            ),
            (Transition::Redirect { authority_id: auth, reason: "r".into() }, vec![Routed, InProgress, Reopened]),
            (Transition::Reject { reason_code: "spam".into() }, vec![Submitted, Routed, InProgress, Reopened]),
            (Transition::Close { score: 5, comment: None }, vec![Answered]),
            (Transition::Reopen { score: 2, comment: None, deadline }, vec![Answered]),
            (Transition::Support { citizen: CitizenId::parse("bob").unwrap() }, vec![Routed, InProgress, Reopened]),
        ];
        for (t, allowed) in cases {
            for from in Status::ALL {
                assert_eq!(t.target(from).is_some(), allowed.contains(&from), "{t:?} from {from:?}");
            }
        }
    }

    #[test]
    fn a_transition_bumps_the_version_and_writes_a_matching_history_entry() {
        let m = message(Status::Routed);
        let off = official();
        let (next, entry) = m
            .apply(
                Transition::Take,
                By::Person(&off),
                m.created_at,
                chrono_tz::UTC,
                &Calendar::default(),
                "Взято в работу".into(),
            )
            .unwrap();
        assert_eq!(next.status, Status::InProgress);
        assert_eq!(next.version, 4);
        assert_eq!(entry.seq, 4);
        assert_eq!(entry.from, Some(Status::Routed));
        assert_eq!(entry.to, Status::InProgress);
        assert_eq!(entry.actor_role, ActorRole::Official);
        assert_eq!(entry.actor_authority_id.as_ref().map(|a| a.as_str()), Some("adm-tyumen"));
        assert_eq!(entry.transition_id(&m.id), format!("{}:000004", m.id));
    }

    #[test]
    fn a_redirect_keeps_the_status_and_changes_the_authority() {
        let m = message(Status::InProgress);
        let (next, entry) = m
            .apply(
                Transition::Redirect { authority_id: AuthorityId::parse("tsur-72").unwrap(), reason: "x".into() },
                By::System,
                m.created_at,
                chrono_tz::UTC,
                &Calendar::default(),
                String::new(),
            )
            .unwrap();
        assert_eq!(next.status, Status::InProgress);
        assert_eq!(next.authority_id.unwrap().as_str(), "tsur-72");
        assert_eq!((entry.from, entry.to), (Some(Status::InProgress), Status::InProgress));
    }

    #[test]
    fn an_illegal_transition_is_refused_and_changes_nothing() {
        let m = message(Status::Closed);
        let err = m
            .apply(Transition::Take, By::System, m.created_at, chrono_tz::UTC, &Calendar::default(), String::new())
            .unwrap_err();
        assert_eq!(err, InvalidTransition { transition: "take", from: Status::Closed });
        assert_eq!(m.status, Status::Closed);
    }

    #[test]
    fn support_is_refused_to_the_author_twice_and_on_private_messages_and_names_no_one() {
        let mut m = message(Status::Routed);
        let bob = CitizenId::parse("bob").unwrap();
        let support = |m: &Message, who: &CitizenId| {
            m.apply(
                Transition::Support { citizen: who.clone() },
                By::System,
                m.created_at,
                chrono_tz::UTC,
                &Calendar::default(),
                String::new(),
            )
        };
        assert!(support(&m, &bob).is_err(), "a private message cannot be supported");
        m.public = true;
        assert!(support(&m, &m.author.clone()).is_err(), "nor by its author");
        let (next, entry) = support(&m, &bob).unwrap();
        assert_eq!((next.status, next.supporter_ids.clone()), (Status::Routed, vec![bob.clone()]));
        assert_eq!(entry.actor_id, None);
        assert_eq!(entry.facts.as_ref().map(|f| f.kind), Some(EventKind::Support));
        assert!(support(&next, &bob).is_err(), "once per resident");
        let mut full = next.clone();
        full.supporter_ids = (0..MAX_SUPPORTERS).map(|i| CitizenId::parse(&format!("r{i}")).unwrap()).collect();
        assert!(support(&full, &CitizenId::parse("carol").unwrap()).is_err());
    }
}
