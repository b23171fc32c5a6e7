//! The events the platform publishes to webhook endpoints: their types and their public data,
//! ids, reference data, status and deadline, never personal data or text.

use crate::ids::{AuthorityId, CategoryId, EventId, MessageId, MessageNumber, MunicipalityId, PollId};
use crate::message::{Message, Status};
use crate::values::PollKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ulid::Ulid;

/// What the platform publishes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::IntoStaticStr,
)]
pub enum EventType {
    #[serde(rename = "message.submitted")]
    #[strum(serialize = "message.submitted")]
    MessageSubmitted,
    #[serde(rename = "message.routed")]
    #[strum(serialize = "message.routed")]
    MessageRouted,
    #[serde(rename = "message.in_progress")]
    #[strum(serialize = "message.in_progress")]
    MessageInProgress,
    #[serde(rename = "message.answered")]
    #[strum(serialize = "message.answered")]
    MessageAnswered,
    #[serde(rename = "message.closed")]
    #[strum(serialize = "message.closed")]
    MessageClosed,
    #[serde(rename = "message.rejected")]
    #[strum(serialize = "message.rejected")]
    MessageRejected,
    #[serde(rename = "message.overdue")]
    #[strum(serialize = "message.overdue")]
    MessageOverdue,
    #[serde(rename = "poll.opened")]
    #[strum(serialize = "poll.opened")]
    PollOpened,
    #[serde(rename = "poll.closed")]
    #[strum(serialize = "poll.closed")]
    PollClosed,
}

impl EventType {
    pub const ALL: [EventType; 9] = [
        EventType::MessageSubmitted,
        EventType::MessageRouted,
        EventType::MessageInProgress,
        EventType::MessageAnswered,
        EventType::MessageClosed,
        EventType::MessageRejected,
        EventType::MessageOverdue,
        EventType::PollOpened,
        EventType::PollClosed,
    ];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(raw: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    /// The event a message's new status publishes (`reopened` publishes none).
    pub fn for_status(status: Status) -> Option<EventType> {
        match status {
            Status::Submitted => Some(EventType::MessageSubmitted),
            Status::Routed => Some(EventType::MessageRouted),
            Status::InProgress => Some(EventType::MessageInProgress),
            Status::Answered => Some(EventType::MessageAnswered),
            Status::Closed => Some(EventType::MessageClosed),
            Status::Rejected => Some(EventType::MessageRejected),
            Status::Reopened => None,
        }
    }

    pub fn is_message_event(self) -> bool {
        !matches!(self, EventType::PollOpened | EventType::PollClosed)
    }
}

/// What an event is about: ids, reference data, status and deadline. Never the author, the text,
/// the address, the location or the photos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum EventData {
    Message(MessageData),
    Poll(PollData),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageData {
    pub message_id: MessageId,
    /// The message's number (`72-000123`), for people on the integrator's side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_number: Option<MessageNumber>,
    pub category_id: CategoryId,
    pub municipality_id: MunicipalityId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_id: Option<AuthorityId>,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub public: bool,
}

/// What a poll event says: the poll, its kind, title, audience's municipalities (empty: the
/// whole region) and schedule. Never ballots, voters or turnout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PollData {
    pub poll_id: PollId,
    pub kind: PollKind,
    pub title: String,
    pub municipalities: Vec<MunicipalityId>,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

/// One published event, as every endpoint receives it (`{type, timestamp, data}`) with its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub timestamp: DateTime<Utc>,
    pub data: EventData,
}

/// The body an endpoint receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Payload<'a> {
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub timestamp: DateTime<Utc>,
    pub data: &'a EventData,
}

impl Event {
    /// The event a message's transition to its current status publishes, if any.
    pub fn for_message(message: &Message, at: DateTime<Utc>) -> Option<Event> {
        EventType::for_status(message.status).map(|t| Event::about_message(t, message, at))
    }

    pub fn about_message(event_type: EventType, message: &Message, at: DateTime<Utc>) -> Event {
        let data = MessageData {
            message_id: message.id,
            message_number: message.number.clone(),
            category_id: message.category_id.clone(),
            municipality_id: message.municipality_id.clone(),
            authority_id: message.authority_id.clone(),
            status: message.status,
            deadline: message.deadline,
            overdue: message.overdue,
            public: message.public,
        };
        Event { id: EventId::new_at(at), event_type, timestamp: at, data: EventData::Message(data) }
    }

    /// A poll's transition. Its id follows from the poll and the transition alone, so writing it
    /// again (a rerun of the schedule) is the same event.
    pub fn about_poll(event_type: EventType, poll: PollData, at: DateTime<Utc>) -> Event {
        let id = Event::poll_event_id(&poll.poll_id, event_type);
        Event { id, event_type, timestamp: at, data: EventData::Poll(poll) }
    }

    /// The poll's time and 80 bits of SHA-256 over the transition and the poll's id.
    fn poll_event_id(poll: &PollId, event_type: EventType) -> EventId {
        let digest = Sha256::digest(format!("{}#{poll}", event_type.as_str()).as_bytes());
        let random = digest.iter().take(10).fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
        let millis = u64::try_from(poll.minted_at().timestamp_millis()).unwrap_or_default();
        EventId::from_ulid(Ulid::from_parts(millis, random))
    }

    /// The authority a message event is about.
    pub fn authority(&self) -> Option<&AuthorityId> {
        match &self.data {
            EventData::Message(m) => m.authority_id.as_ref(),
            EventData::Poll(_) => None,
        }
    }

    /// The JSON body every endpoint receives.
    pub fn body(&self) -> String {
        let payload = Payload { event_type: self.event_type, timestamp: self.timestamp, data: &self.data };
        serde_json::to_string(&payload).unwrap_or_default()
    }
}
