//! The message use cases, by the paths other crates import them from. Each lives in its own
//! module: the reference cache (`reference`), submission (`submission`), routing
//! (`routing_service`) and the outbox relay (`outbox`).

pub use crate::outbox::{commit, owed_notifications, relay, relay_pending};
pub use crate::reference::{Reference, SeedOutcome};
pub use crate::routing_service::{RouteOutcome, Routing};
pub use crate::submission::{
    check_quota, new_submission, submission_quota, MessageDetail, Messages, NewMessage, SubmitPolicy, Submitted,
};
