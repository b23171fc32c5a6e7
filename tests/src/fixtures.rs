//! Real-shaped test data: actors from claims, messages, the sample region.

use chrono::{DateTime, Utc};
use feedback_core::ids::{CategoryId, CitizenId, MessageId, MunicipalityId};
use feedback_core::message::ActorRole;
use feedback_core::service::NewMessage;
use feedback_core::values::MessageText;
use feedback_core::{Actor, HistoryEntry, Message, Status};
use std::collections::HashMap;

pub fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("test time")
        .with_timezone(&Utc)
}

/// An actor built from claims, as the JWT authorizer would pass them.
pub fn actor(sub: &str, roles: &str, extra: &[(&str, &str)]) -> Actor {
    let mut claims: HashMap<String, String> = [("sub", sub), ("roles", roles), ("region", "72")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (k, v) in extra {
        claims.insert(k.to_string(), v.to_string());
    }
    Actor::from_claims(&claims).expect("test claims")
}

pub fn citizen(sub: &str) -> Actor {
    actor(sub, "[citizen]", &[("municipality", "tyumen")])
}

pub fn new_message(category: &str, text: &str) -> NewMessage {
    NewMessage {
        category_id: CategoryId::parse(category).expect("category"),
        text: MessageText::parse(text).expect("text"),
        municipality_id: None,
        address: None,
        location: None,
        photo_ids: vec![],
        public: false,
    }
}

/// A freshly submitted message and its first history entry.
pub fn submitted(author: &str, created: DateTime<Utc>) -> (Message, HistoryEntry) {
    let m = Message {
        id: MessageId::new_at(created),
        author: CitizenId::parse(author).expect("author"),
        category_id: CategoryId::parse("dorogi-yamy").expect("category"),
        municipality_id: MunicipalityId::parse("tyumen").expect("municipality"),
        text: "Яма на дороге у дома 5 по улице Мельникайте".into(),
        address: Some("Тюмень, ул. Мельникайте, 5".into()),
        location: None,
        photo_ids: vec![],
        public: false,
        status: Status::Submitted,
        authority_id: None,
        deadline: None,
        overdue: false,
        created_at: created,
        updated_at: created,
        version: 1,
        reopen_count: 0,
        routed_at: None,
        answer: None,
        rating: None,
        duplicate_of: None,
        duplicates_count: 0,
    };
    let e = HistoryEntry {
        seq: 1,
        at: created,
        actor_role: ActorRole::Citizen,
        actor_id: Some(m.author.clone()),
        actor_authority_id: None,
        from: None,
        to: Status::Submitted,
        note: "Сообщение подано".into(),
    };
    (m, e)
}
