//! Real-shaped test data: actors from claims, messages, the sample region.

use chrono::{DateTime, Utc};
use feedback_core::ids::{CategoryId, CitizenId, MunicipalityId};
use feedback_core::service::{new_submission, NewMessage};
use feedback_core::values::{Address, CommentText, MessageText, PhotoIds, Reason};
use feedback_core::{Actor, HistoryEntry, Message};
use std::collections::HashMap;

pub fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).expect("test time").with_timezone(&Utc)
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

/// An actor of another region's token.
pub fn actor_in(sub: &str, roles: &str, region: &str) -> Actor {
    let claims: HashMap<String, String> = [("sub", sub), ("roles", roles), ("region", region)]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Actor::from_claims(&claims).expect("test claims")
}

pub fn citizen(sub: &str) -> Actor {
    actor(sub, "[citizen]", &[("municipality", "tyumen")])
}

/// A reason for a redirect or a rejection.
pub fn reason(text: &str) -> Reason {
    Reason::parse(text).expect("reason")
}

/// A discussion or rating comment.
pub fn comment(text: &str) -> CommentText {
    CommentText::parse(text).expect("comment")
}

pub fn new_message(category: &str, text: &str) -> NewMessage {
    NewMessage {
        category_id: CategoryId::parse(category).expect("category"),
        text: MessageText::parse(text).expect("text"),
        municipality_id: None,
        address: None,
        location: None,
        photo_ids: PhotoIds::default(),
        public: false,
    }
}

/// A freshly submitted message and its first history entry.
pub fn submitted(author: &str, created: DateTime<Utc>) -> (Message, HistoryEntry) {
    let mut input = new_message("dorogi-yamy", "Яма на дороге у дома 5 по улице Мельникайте");
    input.address = Some(Address::parse("Тюмень, ул. Мельникайте, 5").expect("address"));
    let author = CitizenId::parse(author).expect("author");
    new_submission(
        &author,
        &input,
        MunicipalityId::parse("tyumen").expect("municipality"),
        created,
        chrono_tz::Asia::Yekaterinburg,
    )
}

/// The stable problem code the API answers a refused use case with, from the one HTTP mapping
/// (`feedback_lambda::ApiError`). A backend failure (500) is never an expected refusal.
pub fn code(e: feedback_core::ServiceError) -> &'static str {
    let (status, code) = feedback_lambda::ApiError::Service(e).status_and_code();
    assert!(status < 500, "unexpected backend failure ({code})");
    code
}
