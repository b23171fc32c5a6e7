//! What residents hear about their messages.

use crate::ids::{CitizenId, MessageId};
use crate::message::{HistoryEntry, Message, Status};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Routed,
    InProgress,
    Answered,
    Rejected,
    Overdue,
    Closed,
}

impl NotificationKind {
    /// Whether the message's supporters hear of it too: its answer and its closing.
    pub fn reaches_supporters(self) -> bool {
        matches!(self, NotificationKind::Answered | NotificationKind::Closed)
    }
}

/// One notification to a resident. `id` is the transition id, stable across redeliveries, so
/// storing it twice stores it once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub citizen: CitizenId,
    pub message_id: MessageId,
    pub kind: NotificationKind,
    pub at: DateTime<Utc>,
    pub text: String,
    /// When the region's retention lets it go (`Retention::notification_days`); DynamoDB
    /// expires the item by it, the embedded store prunes by age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl Notification {
    /// The notification a transition owes the message's author, if any.
    pub fn for_transition(
        message: &Message,
        entry: &HistoryEntry,
        authority_name: Option<&str>,
    ) -> Option<Notification> {
        let who = authority_name.unwrap_or("ответственный орган");
        let (kind, text) = match (entry.from, entry.to) {
            (Some(Status::Submitted), Status::Routed) => {
                (NotificationKind::Routed, format!("Ваше сообщение направлено: {who}."))
            }
            (_, Status::InProgress) if entry.from != Some(Status::InProgress) => {
                (NotificationKind::InProgress, format!("{who} взял(а) ваше сообщение в работу."))
            }
            (_, Status::Answered) => {
                (NotificationKind::Answered, format!("{who} ответил(а) на ваше сообщение. Оцените ответ."))
            }
            (_, Status::Rejected) => (NotificationKind::Rejected, "Ваше сообщение отклонено модератором.".to_owned()),
            (_, Status::Closed) => (NotificationKind::Closed, "Сообщение закрыто. Спасибо за оценку!".to_owned()),
            (Some(from), to) if from == to && message.overdue && entry.note.starts_with(OVERDUE_NOTE) => (
                NotificationKind::Overdue,
                "Срок ответа на ваше сообщение истёк; сообщение передано на контроль в ЦУР.".to_owned(),
            ),
            _ => return None,
        };
        Some(Notification {
            id: entry.transition_id(&message.id),
            citizen: message.author.clone(),
            message_id: message.id,
            kind,
            at: entry.at,
            text,
            expires_at: None,
        })
    }
}

impl Notification {
    /// The copy of an author's notification that a supporter of the message receives: its own
    /// id (the transition's, then the supporter), its own text.
    pub fn for_supporter(&self, supporter: &CitizenId) -> Notification {
        let text = match self.kind {
            NotificationKind::Answered => "На сообщение, которое вы поддержали, дан ответ.",
            NotificationKind::Closed => "Сообщение, которое вы поддержали, закрыто.",
            _ => "Сообщение, которое вы поддержали, изменилось.",
        };
        Notification {
            id: format!("{}~{supporter}", self.id),
            citizen: supporter.clone(),
            text: text.to_owned(),
            ..self.clone()
        }
    }
}

/// The history note of an escalation.
pub const OVERDUE_NOTE: &str = "Срок ответа истёк";
