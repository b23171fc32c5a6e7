//! Participation on the embedded host: concurrency, concurrent closes and ballot secrecy.

use chrono::Duration;
use feedback_core::participation::{PollStatus, PollStore, ResultsVisibility};
use feedback_core::{Clock, ServiceError};
use feedback_embedded::{Db, QueueSettings, SqliteQueue, SqliteStore};
use feedback_tests::fixtures::at;
use feedback_tests::polls::{admin, choose, polls, resident, vote_input};
use feedback_tests::Harness;
use std::sync::Arc;

fn harness_on(db: Db) -> Harness<SqliteStore, SqliteQueue> {
    Harness {
        store: SqliteStore::new(db.clone()),
        queue: SqliteQueue::new(db, QueueSettings::default()),
        max_receives: 5,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_citizens_trying_ten_times_at_once_cast_exactly_a_hundred_ballots() {
    let h = harness_on(Db::in_memory().unwrap());
    let p = Arc::new(polls(&h).await);
    let now = p.clock.now();
    let poll = p
        .participation
        .create(&admin(), vote_input(now - Duration::minutes(1), now + Duration::days(1), ResultsVisibility::Live))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for citizen in 0..100 {
        for attempt in 0..10 {
            let (p, id) = (p.clone(), poll.id);
            tasks.push(tokio::spawn(async move {
                let who = resident(&format!("c{citizen}"), "tyumen", "1990-01-01");
                p.participation.vote(&who, &id, choose((citizen + attempt) % 3)).await
            }));
        }
    }
    let (mut counted, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => counted += 1,
            Err(ServiceError::Conflict { code: "already_voted", .. }) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((counted, refused), (100, 900));
    let tally = p.store.tally(&poll.id).await.unwrap();
    assert_eq!(tally.total, 100);
    assert_eq!(tally.counts[&0].values().sum::<u64>(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_closes_freeze_one_result() {
    let h = harness_on(Db::in_memory().unwrap());
    let p = Arc::new(polls(&h).await);
    let opens = at("2026-12-01T09:00:00+05:00");
    let poll = p
        .participation
        .create(&admin(), vote_input(opens, opens + Duration::hours(12), ResultsVisibility::Live))
        .await
        .unwrap();
    p.clock.set(opens + Duration::minutes(1));
    p.participation.run_schedule().await.unwrap();
    for i in 0..30 {
        p.participation
            .vote(&resident(&format!("v{i}"), "tyumen", "1990-01-01"), &poll.id, choose(i % 3))
            .await
            .unwrap();
    }
    p.clock.set(opens + Duration::hours(13));
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let p = p.clone();
            tokio::spawn(async move { p.participation.run_schedule().await.unwrap().closed })
        })
        .collect();
    let mut closed = 0;
    for r in runs {
        closed += r.await.unwrap();
    }
    assert_eq!(closed, 1, "exactly one run froze the results");
    let results = p.store.get_results(&poll.id).await.unwrap().unwrap();
    assert!(results.is_final);
    assert_eq!(results.total_ballots, 30);
    assert_eq!(p.store.get_poll(&poll.id).await.unwrap().unwrap().status, PollStatus::Closed);
}

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
    let _guard = tracing::subscriber::set_default(subscriber);
    // Another test of this binary, registering a log line on a thread without a subscriber, can
    // leave that line disabled for this one too: every line is asked again before it is used.
    tracing::callsite::rebuild_interest_cache();
    let h = harness_on(Db::open(&dir.join("feedback.db")).unwrap());
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
    tracing::callsite::rebuild_interest_cache();
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
    let mut ballot_rows = 0;
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
            if table == "ballots" {
                ballot_rows += 1;
            }
            // Then no stored row names a voter
            for c in &citizens {
                assert!(!row.contains(c.as_str()), "{table} row names {c}: {row}");
            }
        }
    }
    assert_eq!(ballot_rows, citizens.len());
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
