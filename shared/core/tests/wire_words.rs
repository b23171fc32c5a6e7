//! The words plain enums are written as, on the wire and in stored keys: each listed once here,
//! read back by `FromStr` where the enum parses, and equal to serde's word where it serialises.

use feedback_core::analytics::GroupBy;
use feedback_core::message::DueState;
use feedback_core::moderation::ModerationReason;
use feedback_core::open311::OpenClosed;
use feedback_core::participation::{ModerationState, PollStatus};
use feedback_core::photo::ImageType;
use feedback_core::ports::QueueName;
use feedback_core::workflow::RejectReason;
use feedback_core::{Role, Status};
use std::fmt::Debug;
use std::str::FromStr;

/// Each value is written as its word, and the word parses back to it.
fn round_trip<T: Copy + PartialEq + Debug + FromStr>(words: &[(T, &str)], as_str: fn(T) -> &'static str) {
    for (value, word) in words {
        assert_eq!(as_str(*value), *word);
        assert_eq!(word.parse::<T>().ok(), Some(*value), "{word}");
    }
}

/// serde writes each value as the same word.
fn serde_agrees<T: serde::Serialize>(words: &[(T, &str)]) {
    for (value, word) in words {
        assert_eq!(serde_json::to_value(value).ok(), Some(serde_json::json!(word)));
    }
}

#[test]
fn statuses_roles_and_image_types_keep_their_words() {
    let statuses = [
        (Status::Submitted, "submitted"),
        (Status::Routed, "routed"),
        (Status::InProgress, "in_progress"),
        (Status::Answered, "answered"),
        (Status::Closed, "closed"),
        (Status::Rejected, "rejected"),
        (Status::Reopened, "reopened"),
    ];
    round_trip(&statuses, Status::as_str);
    serde_agrees(&statuses);
    assert_eq!(statuses.len(), Status::ALL.len());
    assert!("In_Progress".parse::<Status>().is_err());

    let roles = [
        (Role::Citizen, "citizen"),
        (Role::Official, "official"),
        (Role::Moderator, "moderator"),
        (Role::Admin, "admin"),
        (Role::Analyst, "analyst"),
    ];
    round_trip(&roles, Role::as_str);
    serde_agrees(&roles);

    let images = [(ImageType::Jpeg, "image/jpeg"), (ImageType::Png, "image/png")];
    round_trip(&images, ImageType::as_str);
    serde_agrees(&images);
    assert!("image/gif".parse::<ImageType>().is_err());
}

#[test]
fn poll_and_moderation_words_are_kept() {
    let polls = [
        (PollStatus::Scheduled, "scheduled"),
        (PollStatus::Open, "open"),
        (PollStatus::Closing, "closing"),
        (PollStatus::Closed, "closed"),
        (PollStatus::Cancelled, "cancelled"),
    ];
    round_trip(&polls, PollStatus::as_str);
    serde_agrees(&polls);
    assert_eq!(PollStatus::parse_public("closed"), Some(PollStatus::Closed));
    assert_eq!(PollStatus::parse_public("closing"), None);

    round_trip(&[(ModerationState::Flagged, "flagged"), (ModerationState::Hidden, "hidden")], ModerationState::as_str);
    let reasons = [
        (RejectReason::Obscene, "obscene"),
        (RejectReason::Spam, "spam"),
        (RejectReason::Duplicate, "duplicate"),
        (RejectReason::NoContent, "no_content"),
        (RejectReason::PersonalData, "personal_data"),
        (RejectReason::NotARequest, "not_a_request"),
    ];
    round_trip(&reasons, RejectReason::as_str);
    let codes = [
        (ModerationReason::Obscene, "obscene"),
        (ModerationReason::NoContent, "no_content"),
        (ModerationReason::Junk, "junk"),
    ];
    for (reason, code) in codes {
        assert_eq!(reason.code(), code);
    }
}

#[test]
fn keys_queues_and_query_words_are_kept() {
    assert_eq!((DueState::Due.as_str(), DueState::Overdue.as_str()), ("DUE", "OVERDUE"));
    assert_eq!((QueueName::Submitted.as_str(), QueueName::Notifications.as_str()), ("submitted", "notifications"));
    round_trip(&[(OpenClosed::Open, "open"), (OpenClosed::Closed, "closed")], OpenClosed::as_str);
    assert_eq!(OpenClosed::parse(" Closed "), Some(OpenClosed::Closed));
    for (word, group) in [
        ("category", GroupBy::Category),
        ("municipality", GroupBy::Municipality),
        ("authority", GroupBy::Authority),
        ("status", GroupBy::Status),
        ("day", GroupBy::Day),
    ] {
        assert_eq!(word.parse::<GroupBy>().ok(), Some(group));
    }
    assert!("week".parse::<GroupBy>().is_err());
}
