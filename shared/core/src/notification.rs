//! What residents hear about their messages.

use crate::ids::{CitizenId, MessageId, MessageNumber};
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
    /// The message's number (`72-000123`), which e-mails and pushes name it by; notifications of
    /// messages from before numbers, and those stored before, have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_number: Option<MessageNumber>,
    pub kind: NotificationKind,
    pub at: DateTime<Utc>,
    pub text: String,
    /// When the region's retention lets it go (`Retention::notification_days`); DynamoDB
    /// expires the item by it, the embedded store prunes by age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When the resident read it; `None` while unread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<DateTime<Utc>>,
}

impl Notification {
    /// The notification a transition owes the message's author, if any. It names the message
    /// by its category and address, so that a resident with several messages knows which one,
    /// and it is written so that no verb has to agree with an authority's name.
    pub fn for_transition(
        message: &Message,
        entry: &HistoryEntry,
        authority_name: Option<&str>,
        category_name: Option<&str>,
    ) -> Option<Notification> {
        let who = authority_name.unwrap_or("ответственный орган");
        let which = subject(message, category_name);
        let (kind, text) = match (entry.from, entry.to) {
            (Some(Status::Submitted), Status::Routed) => {
                (NotificationKind::Routed, format!("Сообщение {which} направлено исполнителю: {who}."))
            }
            (_, Status::InProgress) if entry.from != Some(Status::InProgress) => {
                (NotificationKind::InProgress, format!("Сообщение {which} взято в работу. Исполнитель: {who}."))
            }
            (_, Status::Answered) => (
                NotificationKind::Answered,
                format!("На сообщение {which} дан ответ. Исполнитель: {who}. Прочитайте ответ и оцените его."),
            ),
            (_, Status::Rejected) => {
                let reason = entry.note.trim();
                let text = if reason.is_empty() {
                    format!("Сообщение {which} отклонено модератором.")
                } else {
                    format!("Сообщение {which} отклонено модератором. Причина: {}.", reason.trim_end_matches('.'))
                };
                (NotificationKind::Rejected, text)
            }
            (_, Status::Closed) => {
                (NotificationKind::Closed, format!("Рассмотрение сообщения {which} завершено. Спасибо за участие!"))
            }
            (Some(from), to) if from == to && message.overdue && entry.note.starts_with(OVERDUE_NOTE) => (
                NotificationKind::Overdue,
                format!("Срок ответа на сообщение {which} истёк; сообщение передано на контроль в ЦУР."),
            ),
            _ => return None,
        };
        Some(Notification {
            id: entry.transition_id(&message.id),
            citizen: message.author.clone(),
            message_id: message.id,
            message_number: message.number.clone(),
            kind,
            at: entry.at,
            text,
            expires_at: None,
            read_at: None,
        })
    }
}

/// How a notification names a message: № 72-000123 «Ямы на дорогах» (ул. Ленина, 5), the
/// address cut to 80 characters at a word; a message from before numbers has no number part.
fn subject(message: &Message, category_name: Option<&str>) -> String {
    let category = category_name.unwrap_or("без категории");
    let number = message.number.as_ref().map(|n| format!("№ {n} ")).unwrap_or_default();
    match message.address.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(address) => format!("{number}«{category}» ({})", shorten(address, 80)),
        None => format!("{number}«{category}»"),
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    let at_word = cut.rfind(' ').filter(|&i| i > max / 2).map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}…", at_word.trim_end_matches([',', ' ']))
}

impl Notification {
    /// What e-mails and pushes call the message after «Сообщение №»: its number, or its id
    /// when it has none.
    pub fn message_name(&self) -> String {
        self.message_number.as_ref().map_or_else(|| self.message_id.to_string(), ToString::to_string)
    }

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

    /// The copy of a public message's news kept for a subscriber who reads their news in a
    /// daily or weekly digest: its own id (the transition's, then `sub`, then the subscriber),
    /// its own text; the digest lists it with their other notifications.
    pub fn for_subscriber(&self, subscriber: &CitizenId) -> Notification {
        let text = match self.kind {
            NotificationKind::Answered => "По вашей подписке: на сообщение о проблеме рядом дан ответ.",
            _ => "По вашей подписке: новое сообщение о проблеме рядом направлено в ведомство.",
        };
        Notification {
            id: format!("{}~sub~{subscriber}", self.id),
            citizen: subscriber.clone(),
            text: text.to_owned(),
            ..self.clone()
        }
    }
}

/// The history note of an escalation.
pub const OVERDUE_NOTE: &str = "Срок ответа истёк";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ids::{CategoryId, MunicipalityId};
    use crate::message::ActorRole;

    fn message(address: Option<&str>) -> Message {
        let at = DateTime::parse_from_rfc3339("2026-11-27T10:00:00+05:00").unwrap().to_utc();
        let input = crate::submission::NewMessage {
            category_id: CategoryId::parse("dorogi-yamy").unwrap(),
            text: crate::values::MessageText::parse("Глубокая яма во дворе").unwrap(),
            municipality_id: None,
            address: address.map(|a| crate::values::Address::parse(a).unwrap()),
            location: None,
            photo_ids: Default::default(),
            public: false,
        };
        let author = CitizenId::parse("bob").unwrap();
        let muni = MunicipalityId::parse("tyumen").unwrap();
        crate::submission::new_submission(&author, &input, muni, at, chrono_tz::UTC).0
    }

    fn entry(from: Status, to: Status, note: &str) -> HistoryEntry {
        HistoryEntry {
            seq: 2,
            at: Utc::now(),
            actor_role: ActorRole::Official,
            actor_id: None,
            actor_authority_id: None,
            from: Some(from),
            to,
            note: note.into(),
            facts: None,
        }
    }

    fn text(m: &Message, from: Status, to: Status, note: &str) -> String {
        let e = entry(from, to, note);
        Notification::for_transition(m, &e, Some("Администрация города Тюмени"), Some("Ямы на дорогах")).unwrap().text
    }

    #[test]
    fn a_notification_names_the_message_and_agrees_with_any_authority() {
        let m = message(Some("ул. Ленина, 5"));
        assert_eq!(
            text(&m, Status::Submitted, Status::Routed, ""),
            "Сообщение «Ямы на дорогах» (ул. Ленина, 5) направлено исполнителю: Администрация города Тюмени."
        );
        assert_eq!(
            text(&m, Status::InProgress, Status::Answered, "Яму заделали"),
            "На сообщение «Ямы на дорогах» (ул. Ленина, 5) дан ответ. Исполнитель: Администрация города Тюмени. \
             Прочитайте ответ и оцените его."
        );
        assert_eq!(
            text(&m, Status::Routed, Status::Rejected, "Содержит персональные данные."),
            "Сообщение «Ямы на дорогах» (ул. Ленина, 5) отклонено модератором. Причина: Содержит персональные данные."
        );
        for (from, to) in [
            (Status::Submitted, Status::Routed),
            (Status::Routed, Status::InProgress),
            (Status::InProgress, Status::Answered),
            (Status::Routed, Status::Rejected),
            (Status::Answered, Status::Closed),
        ] {
            let t = text(&m, from, to, "");
            assert!(!t.contains("(а)") && !t.contains("ответил"), "{t}");
            assert!(t.contains("«Ямы на дорогах»"), "{t}");
        }
        let bare = message(None);
        assert!(text(&bare, Status::Routed, Status::InProgress, "").starts_with("Сообщение «Ямы на дорогах» взято"));
    }

    #[test]
    fn a_notification_names_a_numbered_message_by_its_number_first() {
        let mut m = message(Some("ул. Ленина, 5"));
        m.number = crate::ids::MessageNumber::new("72", 42);
        let e = entry(Status::Submitted, Status::Routed, "");
        let n = Notification::for_transition(&m, &e, Some("ЦУР"), Some("Ямы на дорогах")).unwrap();
        assert_eq!(n.text, "Сообщение № 72-000042 «Ямы на дорогах» (ул. Ленина, 5) направлено исполнителю: ЦУР.");
        assert_eq!(n.message_number, m.number);
        assert_eq!(n.message_name(), "72-000042");
    }

    #[test]
    fn a_long_address_is_cut_at_a_word() {
        let long =
            "Тюменская область, город Тюмень, улица Николая Федорова, дом 15, корпус 2, подъезд 3, у детской площадки";
        let t = text(&message(Some(long)), Status::Submitted, Status::Routed, "");
        assert!(
            t.contains("(Тюменская область, город Тюмень, улица Николая Федорова, дом 15, корпус 2…) направлено"),
            "{t}"
        );
    }
}
