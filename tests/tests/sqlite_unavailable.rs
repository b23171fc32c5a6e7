//! The SQLite adapter when its storage cannot take writes: a full disk and a database locked by
//! another process are `StoreError::Unavailable`, nothing is written, and the store works again
//! once space or the lock returns.

use feedback_core::ports::{NewRecord, StoreError};
use feedback_core::MessageStore;
use feedback_embedded::{Db, SqliteStore};
use feedback_tests::fixtures::{at, submitted};

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("feedback-{name}-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("feedback.db")
}

#[tokio::test]
async fn a_full_disk_is_unavailable_and_the_store_recovers_when_space_returns() {
    let db = Db::open(&temp_db("full")).unwrap();
    let store = SqliteStore::new(db.clone());
    let (first, e1) = submitted("alice", at("2026-11-27T10:00:00+05:00"));
    store.create_message(&NewRecord::new(first.clone(), e1.clone()), None, &[], None).await.unwrap();

    db.fill_storage_for_testing().await.unwrap();
    // A long text needs pages of its own, which a full disk cannot give.
    let (mut second, e2) = submitted("bob", at("2026-11-27T10:01:00+05:00"));
    second.text = "я".repeat(4000);
    let refused = store.create_message(&NewRecord::new(second.clone(), e2.clone()), None, &[], None).await;
    assert!(matches!(refused, Err(StoreError::Unavailable(_))), "{refused:?}");
    assert_eq!(store.get_message(&second.id).await.unwrap(), None, "nothing of a refused write is kept");
    assert_eq!(store.get_message(&first.id).await.unwrap(), Some(first.clone()));

    db.free_storage_for_testing().await.unwrap();
    store.create_message(&NewRecord::new(second.clone(), e2.clone()), None, &[], None).await.unwrap();
    assert_eq!(store.get_message(&second.id).await.unwrap(), Some(second));
    assert_eq!(store.get_message(&first.id).await.unwrap(), Some(first));
}

#[tokio::test]
async fn a_database_locked_by_another_process_is_unavailable() {
    let path = temp_db("locked");
    let db = Db::open(&path).unwrap();
    let store = SqliteStore::new(db);
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let (m, e) = submitted("alice", at("2026-11-27T10:00:00+05:00"));
    let refused = store.create_message(&NewRecord::new(m.clone(), e.clone()), None, &[], None).await;
    assert!(matches!(refused, Err(StoreError::Unavailable(_))), "{refused:?}");

    other.execute_batch("ROLLBACK").unwrap();
    store.create_message(&NewRecord::new(m.clone(), e.clone()), None, &[], None).await.unwrap();
    assert_eq!(store.get_message(&m.id).await.unwrap(), Some(m));
}
