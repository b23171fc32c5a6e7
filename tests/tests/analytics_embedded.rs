//! Analytics counters under concurrency on the embedded backend: racing officials, racing
//! routing consumers with redelivered jobs and racing escalation runs leave counters equal to the
//! recount from the history and to what really happened.

use feedback_core::analytics::Analytics;
use feedback_core::ports::Job;
use feedback_core::service::Reference;
use feedback_core::values::MessageText;
use feedback_core::{Status, WorkQueue};
use feedback_embedded::{Db, QueueSettings, SqliteQueue, SqliteStore};
use feedback_tests::analytics::assert_reconciled;
use feedback_tests::fixtures::{at, citizen};
use feedback_tests::polls::admin;
use feedback_tests::workflow::{official, stack};
use feedback_tests::Harness;
use std::sync::Arc;

const MESSAGES: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transitions_keep_the_counters_exact() {
    let db = Db::in_memory().expect("database");
    let h = Harness {
        store: SqliteStore::new(db.clone()),
        queue: SqliteQueue::new(db, QueueSettings::default()),
        max_receives: 5,
    };
    let s = Arc::new(stack(&h).await);
    // Forty potholes from forty residents, every routing job sent three times and consumed by
    // four racing consumers
    let mut ids = Vec::new();
    for i in 0..MESSAGES {
        let who = citizen(&format!("resident-{i}"));
        ids.push(s.submit(&who, "dorogi-yamy", &format!("Яма у дома {i} на улице Мельникайте"), None).await);
    }
    for id in &ids {
        for _ in 0..2 {
            s.queue.send(&Job::RouteMessage { message_id: *id }).await.unwrap();
        }
    }
    let consumers: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.drain().await })
        })
        .collect();
    for c in consumers {
        c.await.unwrap();
    }
    // Two officials race to answer each message; four escalation runs race a week later
    s.clock.advance(chrono::Duration::hours(3));
    let mut races = Vec::new();
    for (i, id) in ids.iter().enumerate().filter(|(i, _)| i % 4 != 0) {
        for sub in ["o-1", "o-2"] {
            let (s, id) = (s.clone(), *id);
            races.push(tokio::spawn(async move {
                let who = official(sub, "tyumen-upravdor");
                let text = MessageText::parse(&format!("Яма {i} заделана бригадой {sub}")).unwrap();
                s.workflow.answer(&who, &id, text).await.is_ok()
            }));
        }
    }
    let mut answered = 0;
    for r in races {
        answered += usize::from(r.await.unwrap());
    }
    assert_eq!(answered, MESSAGES - MESSAGES / 4, "one of each pair of racing answers wins");
    s.clock.set(at("2026-12-15T10:00:00+05:00"));
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.escalation.run().await.unwrap().overdue })
        })
        .collect();
    let mut overdue = 0;
    for r in runs {
        overdue += r.await.unwrap();
    }
    assert_eq!(overdue, MESSAGES / 4);
    // Residents rate concurrently, each twice at once with two scores: one rating wins (the same
    // rating twice would be one request repeated, answered as its first attempt)
    let mut ratings = Vec::new();
    for (i, id) in ids.iter().enumerate().filter(|(i, _)| i % 4 != 0) {
        for score in [5, 3] {
            let (s, id) = (s.clone(), *id);
            ratings.push(tokio::spawn(async move {
                let who = citizen(&format!("resident-{i}"));
                s.workflow.rate(&who, &id, score, None, false).await.is_ok()
            }));
        }
    }
    let mut rated = 0;
    for r in ratings {
        rated += usize::from(r.await.unwrap());
    }
    assert_eq!(rated, answered);

    assert_reconciled(&h.store).await;
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    let analytics = Analytics::new(h.store.clone(), s.clock.clone(), reference);
    let report =
        analytics.messages(&admin(), Some("2026-11-01"), Some("2026-12-31"), Some("category")).await.unwrap().groups;
    let g = &report[0];
    assert_eq!(report.len(), 1);
    let expected = (MESSAGES as i64, MESSAGES as i64, answered as i64, answered as i64, (MESSAGES / 4) as i64);
    assert_eq!((g.submitted, g.routed, g.answered, g.answered_on_time, g.overdue), expected);
    assert_eq!((g.closed, g.rating_count), (rated as i64, rated as i64));
    let statuses = analytics.messages(&admin(), Some("2026-11-01"), Some("2026-12-31"), Some("status")).await.unwrap();
    let count = |s: Status| statuses.groups.iter().find(|g| g.key == s.as_str()).and_then(|g| g.messages);
    assert_eq!((count(Status::Closed), count(Status::Routed)), (Some(rated as i64), Some((MESSAGES / 4) as i64)));
}
