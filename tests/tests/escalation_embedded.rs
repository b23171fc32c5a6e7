//! Escalation on the embedded host: concurrent runs and the production calendar.

use feedback_embedded::{Db, QueueSettings, SqliteQueue, SqliteStore};
use feedback_tests::fixtures::{at, citizen};
use feedback_tests::workflow::stack;
use feedback_tests::Harness;

fn harness() -> Harness<SqliteStore, SqliteQueue> {
    let db = Db::in_memory().expect("database");
    Harness {
        store: SqliteStore::new(db.clone()),
        queue: SqliteQueue::new(db, QueueSettings::default()),
        max_receives: 5,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_runs_flag_each_overdue_message_exactly_once() {
    // Given twenty heating complaints routed on Friday, due Wednesday
    let h = harness();
    let s = std::sync::Arc::new(stack(&h).await);
    let alice = citizen("alice");
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(s.submit(&alice, "zhkh-otoplenie", &format!("Холодные батареи в квартире {i}"), None).await);
    }
    s.drain().await;
    // When eight escalation runs race after the deadline
    s.clock.set(at("2026-12-03T09:00:00+05:00"));
    let runs: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.escalation.run().await.unwrap().overdue })
        })
        .collect();
    let mut flagged = 0;
    for r in runs {
        flagged += r.await.unwrap();
    }
    // Then every message was flagged once, with one history entry each
    assert_eq!(flagged, 20);
    for id in &ids {
        let (m, history) = s.read(&alice, id).await;
        assert!(m.overdue);
        assert_eq!(history.len(), 3);
    }
    assert_eq!(s.escalation.run().await.unwrap().overdue, 0);
}

#[tokio::test]
async fn a_holiday_moves_the_deadline_and_so_the_escalation() {
    let h = harness();
    let s = stack(&h).await;
    let alice = citizen("alice");
    // Routed on Tuesday 2026-11-03 with three working days; Wednesday 2026-11-04 is a holiday
    s.clock.set(at("2026-11-03T12:00:00+05:00"));
    let id = s.submit(&alice, "zhkh-otoplenie", "Холодные батареи в квартире 12", None).await;
    s.drain().await;
    assert_eq!(s.read(&alice, &id).await.0.deadline, Some(at("2026-11-09T23:59:59+05:00")));
    // Without the holiday it would fall due on Friday; on Saturday it is not overdue yet
    s.clock.set(at("2026-11-07T12:00:00+05:00"));
    assert_eq!(s.escalation.run().await.unwrap().overdue, 0);
    s.clock.set(at("2026-11-10T00:00:01+05:00"));
    assert_eq!(s.escalation.run().await.unwrap().overdue, 1);
}
