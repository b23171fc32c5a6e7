//! The message entity, its state machine and its history.

use crate::actor::{Actor, Role};
use crate::ids::{AuthorityId, CategoryId, CitizenId, MessageId, MunicipalityId, PhotoId};
use crate::values::Location;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A message's status. `overdue` is a flag and a redirect is a history entry, not statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Routed => "routed",
            Status::InProgress => "in_progress",
            Status::Answered => "answered",
            Status::Closed => "closed",
            Status::Rejected => "rejected",
            Status::Reopened => "reopened",
        }
    }

    pub fn parse(raw: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Open messages still wait for an answer.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::Submitted | Status::Routed | Status::InProgress | Status::Reopened
        )
    }
}

/// A change of a message's state, as the state machine knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Routing assigned an authority and a deadline.
    Route {
        authority_id: AuthorityId,
        deadline: DateTime<Utc>,
    },
    /// An official took the message into work.
    Take,
    /// An official of `authority_id` answered.
    Answer { text: String, authority_id: AuthorityId },
    /// The message moved to another authority; the status stays.
    Redirect { authority_id: AuthorityId, reason: String },
    /// A moderator refused the message.
    Reject { reason_code: String },
    /// The author rated the answer and closed the message.
    Close { score: u8, comment: Option<String> },
    /// The author rated the answer and reopened the message with a new deadline.
    Reopen {
        score: u8,
        comment: Option<String>,
        deadline: DateTime<Utc>,
    },
}

impl Transition {
    fn name(&self) -> &'static str {
        match self {
            Transition::Route { .. } => "route",
            Transition::Take => "take",
            Transition::Answer { .. } => "answer",
            Transition::Redirect { .. } => "redirect",
            Transition::Reject { .. } => "reject",
            Transition::Close { .. } => "close",
            Transition::Reopen { .. } => "reopen",
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<MessageId>,
    #[serde(default)]
    pub duplicates_count: u32,
}

/// A transition the state machine does not allow from the current status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {transition} a message that is {from}")]
pub struct InvalidTransition {
    pub transition: &'static str,
    pub from: &'static str,
}

impl Message {
    /// Applies a transition, returning the new state and its history entry. `self` is unchanged,
    /// so the caller can write both under the condition that the stored version is still `self.version`.
    pub fn apply(
        &self,
        transition: Transition,
        by: By<'_>,
        at: DateTime<Utc>,
        note: String,
    ) -> Result<(Message, HistoryEntry), InvalidTransition> {
        let to = transition.target(self.status).ok_or(InvalidTransition {
            transition: transition.name(),
            from: self.status.as_str(),
        })?;
        let mut next = self.clone();
        next.status = to;
        next.version = self.version + 1;
        next.updated_at = at;
        let (actor_role, actor_id, actor_authority_id) = match &by {
            By::System => (ActorRole::System, None, None),
            By::Person(a) => {
                let role = a.acting_role();
                let auth = if role == Role::Official {
                    a.authority.clone()
                } else {
                    None
                };
                (ActorRole::from(role), Some(a.id.clone()), auth)
            }
        };
        match transition {
            Transition::Route { authority_id, deadline } => {
                next.authority_id = Some(authority_id);
                next.deadline = Some(deadline);
                next.routed_at = Some(at);
                next.overdue = false;
            }
            Transition::Take => {}
            Transition::Answer { text, authority_id } => {
                next.answer = Some(Answer {
                    text,
                    answered_at: at,
                    authority_id,
                    official_id: actor_id.clone(),
                });
            }
            Transition::Redirect { authority_id, .. } => next.authority_id = Some(authority_id),
            Transition::Reject { .. } => {}
            Transition::Close { score, comment } => {
                next.rating = Some(Rating {
                    score,
                    comment,
                    rated_at: at,
                })
            }
            Transition::Reopen {
                score,
                comment,
                deadline,
            } => {
                next.rating = Some(Rating {
                    score,
                    comment,
                    rated_at: at,
                });
                next.reopen_count += 1;
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
        };
        Ok((next, entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn message(status: Status) -> Message {
        let at = DateTime::parse_from_rfc3339("2026-11-27T10:00:00+05:00")
            .unwrap()
            .with_timezone(&Utc);
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
            (
                Transition::Route {
                    authority_id: auth.clone(),
                    deadline,
                },
                vec![Submitted],
            ),
            (Transition::Take, vec![Routed, Reopened]),
            (
                Transition::Answer {
                    text: "Ответ".into(),
                    authority_id: auth.clone(),
                },
                vec![Routed, InProgress, Reopened],
            ),
            (
                Transition::Redirect {
                    authority_id: auth,
                    reason: "r".into(),
                },
                vec![Routed, InProgress, Reopened],
            ),
            (
                Transition::Reject {
                    reason_code: "spam".into(),
                },
                vec![Submitted, Routed, InProgress, Reopened],
            ),
            (
                Transition::Close {
                    score: 5,
                    comment: None,
                },
                vec![Answered],
            ),
            (
                Transition::Reopen {
                    score: 2,
                    comment: None,
                    deadline,
                },
                vec![Answered],
            ),
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
                "Взято в работу".into(),
            )
            .unwrap();
        assert_eq!(next.status, Status::InProgress);
        assert_eq!(next.version, 4);
        assert_eq!(entry.seq, 4);
        assert_eq!(entry.from, Some(Status::Routed));
        assert_eq!(entry.to, Status::InProgress);
        assert_eq!(entry.actor_role, ActorRole::Official);
        assert_eq!(
            entry.actor_authority_id.as_ref().map(|a| a.as_str()),
            Some("adm-tyumen")
        );
        assert_eq!(entry.transition_id(&m.id), format!("{}:000004", m.id));
    }

    #[test]
    fn a_redirect_keeps_the_status_and_changes_the_authority() {
        let m = message(Status::InProgress);
        let (next, entry) = m
            .apply(
                Transition::Redirect {
                    authority_id: AuthorityId::parse("tsur-72").unwrap(),
                    reason: "x".into(),
                },
                By::System,
                m.created_at,
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
            .apply(Transition::Take, By::System, m.created_at, String::new())
            .unwrap_err();
        assert_eq!(
            err,
            InvalidTransition {
                transition: "take",
                from: "closed"
            }
        );
        assert_eq!(m.status, Status::Closed);
    }
}
