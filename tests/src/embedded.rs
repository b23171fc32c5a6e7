//! The functions' services over an in-memory SQLite backend seeded with the sample region.

use feedback_core::service::{Messages, Reference, Routing, SubmitPolicy};
use feedback_core::testing::sample_region;
use feedback_core::SystemClock;
use feedback_embedded::{Db, QueueSettings, SqliteQueue, SqliteStore};
use std::sync::Arc;
use std::time::Duration;

pub struct App {
    pub store: SqliteStore,
    pub queue: SqliteQueue,
    pub reference: Arc<Reference<SqliteStore>>,
    pub messages: Messages<SqliteStore, SqliteQueue, SystemClock>,
    pub routing: Routing<SqliteStore, SqliteQueue, SystemClock>,
}

pub async fn app(per_hour: u32) -> App {
    let db = Db::in_memory().expect("database");
    let store = SqliteStore::new(db.clone());
    let queue = SqliteQueue::new(db, QueueSettings::default());
    let reference = Arc::new(Reference::new(store.clone(), Duration::from_secs(60)));
    reference.seed(&sample_region()).await.expect("seed");
    let policy = SubmitPolicy {
        per_hour,
        ..SubmitPolicy::default()
    };
    App {
        messages: Messages::new(store.clone(), queue.clone(), SystemClock, reference.clone(), policy),
        routing: Routing::new(store.clone(), queue.clone(), SystemClock, reference.clone()),
        store,
        queue,
        reference,
    }
}
