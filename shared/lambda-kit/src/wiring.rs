//! What every host hands the functions' constructors: the adapters (`Deps`) and the
//! host-independent part of the configuration (`Settings`).

use crate::functions::env;
use feedback_core::service::Reference;
use feedback_core::ReferenceStore;
use std::sync::Arc;
use std::time::Duration;

/// The limits and timings the functions' services are built with, whichever host runs them.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Per-citizen submissions per rolling hour.
    pub submissions_per_hour: u32,
    /// Comments (and flags) a citizen may post per rolling hour.
    pub comments_per_hour: u32,
    /// How long the reference data is cached.
    pub reference_ttl: Duration,
    /// Messages in `submitted` longer than this are re-enqueued by the escalation schedule.
    pub stuck_after: chrono::Duration,
}

impl Default for Settings {
    /// What a function runs with when its environment sets none of [`Settings::VARIABLES`].
    fn default() -> Settings {
        Settings {
            submissions_per_hour: 20,
            comments_per_hour: 30,
            reference_ttl: Duration::from_secs(30),
            stuck_after: chrono::Duration::seconds(120),
        }
    }
}

impl Settings {
    /// The optional variables a function's environment may set them with (`Config::from_env`).
    pub const VARIABLES: [&'static str; 4] =
        [env::SUBMISSIONS_PER_HOUR, env::COMMENTS_PER_HOUR, env::REFERENCE_TTL_SECS, env::STUCK_AFTER_SECS];
}

/// The adapters a host built: the store, the queue, the clock, and the one reference-data cache
/// every service of the process shares. Functions that do not enqueue take any `queue`.
#[derive(Clone)]
pub struct Deps<S, Q, C> {
    pub store: S,
    pub queue: Q,
    pub clock: C,
    pub reference: Arc<Reference<S>>,
}

impl<S: ReferenceStore + Clone, Q, C> Deps<S, Q, C> {
    /// The adapters, with a reference-data cache over `store` that keeps data for the settings'
    /// `reference_ttl`.
    pub fn new(store: S, queue: Q, clock: C, settings: &Settings) -> Self {
        let reference = Arc::new(Reference::new(store.clone(), settings.reference_ttl));
        Deps { store, queue, clock, reference }
    }
}

impl<S, Q, C> Deps<S, Q, C>
where
    S: feedback_core::participation::PollStore + feedback_core::participation::CommentStore + ReferenceStore + Clone,
    C: feedback_core::Clock + Clone,
{
    /// Votes, surveys and discussions over these adapters, with the voter-roll secret and the
    /// ballot keys: the service of both `polls` and `close-polls`.
    pub fn participation(
        &self,
        secrets: feedback_core::participation::PollSecrets,
        settings: &Settings,
    ) -> feedback_core::participation::Participation<S, C> {
        feedback_core::participation::Participation::new(
            self.store.clone(),
            self.clock.clone(),
            self.reference.clone(),
            secrets,
            settings.comments_per_hour,
        )
    }
}

impl<S, Q, C> Deps<S, Q, C> {
    /// The same adapters with another queue.
    pub fn with_queue<Q2>(self, queue: Q2) -> Deps<S, Q2, C> {
        Deps { store: self.store, queue, clock: self.clock, reference: self.reference }
    }
}
