//! What callers see of entities: times in the region's offset, and people shown only as far as
//! the viewer may know them.

use crate::actor::{Actor, Role};
use crate::ids::{AuthorityId, CategoryId, MessageId, MessageNumber, MunicipalityId, PhotoId};
use crate::message::{ActorRole, HistoryEntry, Message, Status};
use crate::region::RegionData;
use crate::values::Location;
use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

/// Renders a UTC instant in the region's offset. An instant so near the end of the calendar
/// that its local time does not exist (a date stored before dates were bounded) is rendered in
/// UTC instead, so that showing it can never fail.
pub fn local_time(t: DateTime<Utc>, tz: &chrono_tz::Tz) -> DateTime<FixedOffset> {
    let t = DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t);
    let local = t.with_timezone(tz).fixed_offset();
    if local.naive_utc().checked_add_offset(*local.offset()).is_some() {
        local
    } else {
        t.fixed_offset()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AnswerView {
    pub text: String,
    pub answered_at: DateTime<FixedOffset>,
    pub authority_id: AuthorityId,
    /// Photos the official attached to the answer, read like the message's own
    /// (`GET /v1/messages/{id}/photos/{photo_id}`).
    pub photo_ids: Vec<PhotoId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RatingView {
    pub score: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HistoryView {
    pub at: DateTime<FixedOffset>,
    pub actor_role: ActorRole,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_authority_id: Option<AuthorityId>,
    /// How residents see an official: as the authority's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_authority_name: Option<String>,
    /// Only moderators and admins see who acted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    pub from: Option<Status>,
    pub to: Status,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: MessageId,
    /// The number a person reads out (`72-000123`); messages from before numbers have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<MessageNumber>,
    pub status: Status,
    pub category_id: CategoryId,
    pub municipality_id: MunicipalityId,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    pub photo_ids: Vec<PhotoId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_id: Option<AuthorityId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<FixedOffset>>,
    pub overdue: bool,
    pub public: bool,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<AnswerView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<RatingView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<MessageId>,
    pub duplicates_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<HistoryView>>,
}

impl MessageView {
    /// The message without its history (lists, creation).
    pub fn summary(m: &Message, tz: &chrono_tz::Tz) -> MessageView {
        MessageView {
            id: m.id,
            number: m.number.clone(),
            status: m.status,
            category_id: m.category_id.clone(),
            municipality_id: m.municipality_id.clone(),
            text: m.text.clone(),
            address: m.address.clone(),
            location: m.location,
            photo_ids: m.photo_ids.clone(),
            authority_id: m.authority_id.clone(),
            deadline: m.deadline.map(|d| local_time(d, tz)),
            overdue: m.overdue,
            public: m.public,
            created_at: local_time(m.created_at, tz),
            updated_at: local_time(m.updated_at, tz),
            answer: m.answer.as_ref().map(|a| AnswerView {
                text: a.text.clone(),
                answered_at: local_time(a.answered_at, tz),
                authority_id: a.authority_id.clone(),
                photo_ids: m.answer_photo_ids.clone(),
            }),
            rating: m.rating.as_ref().map(|r| RatingView { score: r.score, comment: r.comment.clone() }),
            duplicate_of: m.duplicate_of,
            duplicates_count: m.duplicates_count,
            history: None,
        }
    }

    /// The message with its history as `viewer` may see it.
    pub fn detail(m: &Message, history: &[HistoryEntry], viewer: &Actor, region: &RegionData) -> MessageView {
        let tz = &region.time_zone();
        let sees_people = viewer.has(Role::Moderator) || viewer.has(Role::Admin);
        let mut view = Self::summary(m, tz);
        view.history = Some(
            history
                .iter()
                .map(|h| HistoryView {
                    at: local_time(h.at, tz),
                    actor_role: h.actor_role.clone(),
                    actor_authority_id: h.actor_authority_id.clone(),
                    actor_authority_name: h
                        .actor_authority_id
                        .as_ref()
                        .and_then(|a| region.authority(a))
                        .map(|a| a.name.clone()),
                    actor_id: if sees_people { h.actor_id.as_ref().map(|a| a.to_string()) } else { None },
                    from: h.from,
                    to: h.to,
                    note: h.note.clone(),
                })
                .collect(),
        );
        view
    }
}
