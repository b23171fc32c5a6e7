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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_holds_under_concurrency() {
    let (_, h) = harness();
    feedback_tests::contract::a_quota_holds_under_concurrency(&h).await;
    feedback_tests::analytics::assert_reconciled(&h.store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_numbers_are_unique_under_concurrency() {
    let (_, h) = harness();
    feedback_tests::contract::message_numbers_are_unique_under_concurrency(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subscription_limit_holds_under_concurrency() {
    let (_, h) = harness();
    feedback_tests::reach::the_subscription_limit_holds_under_concurrency(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_push_subscription_limit_holds_under_concurrency() {
    let (_, h) = harness();
    feedback_tests::reach::the_push_subscription_limit_holds_under_concurrency(&h).await;
}

#[tokio::test]
async fn a_database_from_before_flag_reasons_opens_with_its_flags_reasonless() {
    use feedback_core::ids::{CitizenId, CommentId};
    use feedback_core::participation::CommentStore;
    let dir = std::env::temp_dir().join(format!("feedback-flag-reasons-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("feedback.db");
    let comment = CommentId::new_at(chrono::Utc::now());
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE comment_flags (
                comment_id  TEXT NOT NULL,
                flagger     TEXT NOT NULL,
                PRIMARY KEY (comment_id, flagger)
            ) STRICT, WITHOUT ROWID;",
        )
        .unwrap();
        old.execute("INSERT INTO comment_flags VALUES (?1, 'alice')", [comment.to_string()]).unwrap();
    }
    let store = SqliteStore::new(Db::open(&path).unwrap());
    let flags = store.flags(&comment, 10).await.unwrap();
    assert_eq!(flags.len(), 1);
    assert_eq!((&flags[0].flagger, &flags[0].reason), (&CitizenId::parse("alice").unwrap(), &None));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_database_from_before_the_retention_index_files_its_closed_messages_once() {
    use feedback_core::rights::RightsStore;
    let dir = std::env::temp_dir().join(format!("feedback-retention-index-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("feedback.db");
    let closed_at = chrono::DateTime::parse_from_rfc3339("2026-11-27T10:00:00.123456Z").unwrap().to_utc();
    let (mut m, _) = feedback_tests::fixtures::submitted("alice", closed_at - chrono::Duration::days(3));
    m.status = feedback_core::Status::Closed;
    m.rating = Some(feedback_core::message::Rating { score: 4, comment: None, rated_at: closed_at });
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE messages (id TEXT PRIMARY KEY, author TEXT NOT NULL, status TEXT NOT NULL,
                version INTEGER NOT NULL, created_ms INTEGER NOT NULL, doc TEXT NOT NULL) STRICT;",
        )
        .unwrap();
        old.execute(
            "INSERT INTO messages VALUES (?1, 'alice', 'closed', 1, 0, ?2)",
            [m.id.to_string(), serde_json::to_string(&m).unwrap()],
        )
        .unwrap();
    }
    let store = SqliteStore::new(Db::open(&path).unwrap());
    let after = closed_at + chrono::Duration::milliseconds(1);
    let found = store.closed_before(after, None, 10).await.unwrap();
    assert_eq!(found.iter().map(|f| f.id).collect::<Vec<_>>(), vec![m.id]);
    assert!(store.closed_before(closed_at, None, 10).await.unwrap().is_empty(), "keyed by the rating's millisecond");
    assert_eq!(store.closed_before(after, m.retention_key().as_deref(), 10).await.unwrap(), vec![], "the same key");
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

mod workflow {
    use super::*;
    feedback_tests::workflow_suite!(harness());

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_poison_message_dead_letters_while_its_batch_is_processed() {
        let (_, h) = harness();
        feedback_tests::workflow::a_poison_message_dead_letters_while_its_batch_is_processed(
            &h,
            async |q: &SqliteQueue, body| q.send_raw(feedback_core::ports::QueueName::Submitted, body).await.unwrap(),
        )
        .await;
    }
}

mod analytics {
    use super::*;
    feedback_tests::analytics_suite!(harness());
}

mod polls {
    use super::*;
    feedback_tests::polls_suite!(harness());

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_tally_sums_exactly_for_five_thousand_voters() {
        let (_, h) = harness();
        feedback_tests::polls::the_tally_sums_exactly(&h, 5000).await;
    }
}

mod open311 {
    use super::*;
    feedback_tests::open311_suite!(harness());
}

mod rights {
    use super::*;
    feedback_tests::rights_suite!(harness());
}

mod reach {
    use super::*;
    feedback_tests::reach_suite!(harness());
}

mod templates {
    use super::*;
    feedback_tests::templates_suite!(harness());
}

mod delivery {
    use super::*;
    feedback_tests::delivery_suite!(harness());
}

mod webhooks {
    use super::*;
    feedback_tests::webhooks_suite!(harness());
}

mod public {
    use super::*;
    feedback_tests::public_suite!(harness());
}
