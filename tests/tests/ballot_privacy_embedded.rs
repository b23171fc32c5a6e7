//! Ballot secrecy on the embedded host: no stored row and no log line names a voter.
//!
//! The only test of its binary: it captures every log line of the process through the global
//! subscriber, which no other test may share (a thread-scoped subscriber misses the events of
//! callsites that tests on other threads registered first).

use chrono::Duration;
use feedback_core::participation::ResultsVisibility;
use feedback_core::Clock;
use feedback_embedded::{Db, QueueSettings, SqliteQueue, SqliteStore};
use feedback_tests::polls::{admin, choose, polls, resident, vote_input};
use feedback_tests::Harness;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_stored_row_and_no_log_line_ties_a_citizen_to_a_choice() {
    // Given a database on disk, so every stored row can be read back raw, and captured logs
    let dir = std::env::temp_dir().join(format!("feedback-privacy-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let logs = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let writer = {
        let logs = logs.clone();
        move || CaptureWriter(logs.clone())
    };
    let subscriber = tracing_subscriber::fmt().with_writer(writer).with_max_level(tracing::Level::TRACE).finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let db = Db::open(&dir.join("feedback.db")).unwrap();
    let h = Harness {
        store: SqliteStore::new(db.clone()),
        queue: SqliteQueue::new(db, QueueSettings::default()),
        max_receives: 5,
    };
    let p = polls(&h).await;
    let now = p.clock.now();
    let poll = p
        .participation
        .create(&admin(), vote_input(now - Duration::minutes(1), now + Duration::days(1), ResultsVisibility::Live))
        .await
        .unwrap();
    let citizens: Vec<String> = (0..12).map(|i| format!("secret-voter-{i:02}")).collect();
    for (i, c) in citizens.iter().enumerate() {
        p.participation.vote(&resident(c, "tyumen", "1990-01-01"), &poll.id, choose(i % 3)).await.unwrap();
    }
    let _ = p.participation.vote(&resident(&citizens[0], "tyumen", "1990-01-01"), &poll.id, choose(0)).await;
    p.clock.advance(Duration::days(2));
    assert_eq!(p.participation.run_schedule().await.unwrap().closed, 1);
    // When every row of every table is read back
    let conn = rusqlite::Connection::open(dir.join("feedback.db")).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut receipt_rows = 0;
    for table in &tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let columns = stmt.column_count();
        let rows: Vec<String> = stmt
            .query_map([], |r| {
                Ok((0..columns)
                    .map(|i| match r.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                        other => format!("{other:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for row in rows {
            if table == "receipts" {
                receipt_rows += 1;
            }
            // Then no stored row names a voter
            for c in &citizens {
                assert!(!row.contains(c.as_str()), "{table} row names {c}: {row}");
            }
        }
    }
    assert_eq!(receipt_rows, citizens.len());
    // And no log line names a voter either
    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("poll schedule run"), "the log capture works");
    for c in &citizens {
        assert!(!logs.contains(c.as_str()), "a log line names {c}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

struct CaptureWriter(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
