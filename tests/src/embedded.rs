//! The functions' services over an in-memory SQLite backend seeded with the sample region, on
//! a settable clock.

use feedback_core::service::{Messages, Reference, Routing, SubmitPolicy};
use feedback_core::testing::{sample_region, ManualClock};
use feedback_core::workflow::{Escalation, Notifications, Workflow};
use feedback_embedded::{Db, QueueSettings, SqliteQueue, SqliteStore};
use std::sync::Arc;
use std::time::Duration;

pub type Clock = Arc<ManualClock>;

pub struct App {
    pub store: SqliteStore,
    pub queue: SqliteQueue,
    pub clock: Clock,
    pub reference: Arc<Reference<SqliteStore>>,
    pub submit: submit_message::Services<SqliteStore, SqliteQueue, Clock>,
    pub workflow: Workflow<SqliteStore, SqliteQueue, Clock>,
    pub routing: Routing<SqliteStore, SqliteQueue, Clock>,
    pub escalation: Escalation<SqliteStore, SqliteQueue, Clock>,
    pub notifications: Notifications<SqliteStore>,
}

/// The services on a fresh database, the clock at the current time.
pub async fn app(per_hour: u32) -> App {
    app_on(Db::in_memory().expect("database"), per_hour).await
}

pub async fn app_on(db: Db, per_hour: u32) -> App {
    let store = SqliteStore::new(db.clone());
    let queue = SqliteQueue::new(db, QueueSettings::default());
    let reference = Arc::new(Reference::new(store.clone(), Duration::from_secs(60)));
    reference.seed(&sample_region()).await.expect("seed");
    let clock = Arc::new(ManualClock::at(&chrono::Utc::now().to_rfc3339()));
    let policy = SubmitPolicy { per_hour, ..SubmitPolicy::default() };
    let workflow = || Workflow::new(store.clone(), queue.clone(), clock.clone(), reference.clone());
    App {
        submit: submit_message::Services {
            messages: Messages::new(store.clone(), queue.clone(), clock.clone(), reference.clone(), policy),
            workflow: workflow(),
            notifications: Notifications::new(store.clone()),
        },
        workflow: workflow(),
        routing: Routing::new(store.clone(), queue.clone(), clock.clone(), reference.clone()),
        escalation: Escalation::new(
            store.clone(),
            queue.clone(),
            clock.clone(),
            reference.clone(),
            chrono::Duration::minutes(2),
        ),
        notifications: Notifications::new(store.clone()),
        store,
        queue,
        clock,
        reference,
    }
}
