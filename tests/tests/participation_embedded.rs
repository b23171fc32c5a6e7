//! Participation on the embedded host: concurrent ballots and concurrent closes.

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
