//! The port contract on the embedded SQLite adapters.

use feedback_embedded::{Db, QueueSettings, SqliteQueue, SqliteStore};
use feedback_tests::Harness;

const MAX_RECEIVES: u32 = 3;

fn harness() -> ((), Harness<SqliteStore, SqliteQueue>) {
    let db = Db::in_memory().expect("in-memory database");
    let h = Harness {
        store: SqliteStore::new(db.clone()),
        queue: SqliteQueue::new(db, QueueSettings { max_receives: MAX_RECEIVES }),
        max_receives: MAX_RECEIVES,
    };
    ((), h)
}

feedback_tests::contract_suite!(harness());
