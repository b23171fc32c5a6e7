//! The cost of exact counters on the embedded backend: one transition written with its counter
//! increments in the same transaction (the chosen design) and without them (what the transition
//! costs when counters are derived later), alone and with eight writers at once. Results:
//! docs/analytics.md and docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use feedback_core::message::{By, Transition};
use feedback_core::ports::NewRecord;
use feedback_core::{HistoryEntry, Message, MessageStore};
use feedback_embedded::{Db, SqliteStore};
use feedback_tests::fixtures::{at, submitted};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TZ: chrono_tz::Tz = chrono_tz::Asia::Yekaterinburg;

/// A routed message in the store, and its answer transition ready to write.
async fn routed_with_answer(store: &SqliteStore, n: u64, counted: bool) -> (Message, Message, HistoryEntry) {
    let t0 = at("2026-11-27T10:00:00+05:00") + chrono::Duration::seconds(n as i64);
    let (m, e) = submitted(&format!("resident-{n}"), t0);
    store.create_message(&NewRecord::new(m.clone(), e.clone()), None, &[], None).await.expect("create");
    let authority = feedback_core::AuthorityId::parse("adm-tyumen").expect("id");
    let route = Transition::Route {
        authority_id: authority.clone(),
        deadline: t0 + chrono::Duration::days(8),
        duplicate_of: None,
    };
    let (routed, entry) = m
        .apply(route, By::System, t0, TZ, &feedback_core::calendar::Calendar::default(), String::new())
        .expect("route");
    store.update_message(m.version, &routed, &entry).await.expect("route");
    let answer =
        Transition::Answer { text: "Яма заделана".into(), authority_id: authority, photo_ids: vec![] };
    let (answered, mut entry) = routed
        .apply(
            answer,
            By::System,
            t0 + chrono::Duration::hours(5),
            TZ,
            &feedback_core::calendar::Calendar::default(),
            String::new(),
        )
        .expect("answer");
    if !counted {
        entry.facts = None;
    }
    (routed, answered, entry)
}

fn open(name: &str) -> (SqliteStore, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("feedback-counters-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    (SqliteStore::new(Db::open(&dir.join("feedback.db")).expect("db")), dir)
}

fn one_transition(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let mut group = c.benchmark_group("answer_transition_wal_full");
    for (name, counted) in [("with_22_counter_items", true), ("without_counters", false)] {
        let (store, dir) = open(name);
        let mut n = 0u64;
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    n += 1;
                    rt.block_on(routed_with_answer(&store, n, counted))
                },
                |(routed, answered, entry)| {
                    rt.block_on(store.update_message(routed.version, &answered, &entry)).expect("answer")
                },
                BatchSize::SmallInput,
            )
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
    group.finish();
}

/// Eight writers answering at once: SQLite serialises them, so what the counters add to each
/// transaction is what every writer waits for.
fn eight_writers(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let mut group = c.benchmark_group("answers_by_8_writers_wal_full");
    group.sample_size(10);
    for (name, counted) in [("with_22_counter_items", true), ("without_counters", false)] {
        let (store, dir) = open(&format!("8-{name}"));
        let mut n = 0u64;
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut ready = Vec::new();
                for _ in 0..iters * 8 {
                    n += 1;
                    ready.push(rt.block_on(routed_with_answer(&store, n, counted)));
                }
                let ready = Arc::new(std::sync::Mutex::new(ready));
                let started = Instant::now();
                rt.block_on(async {
                    let tasks: Vec<_> = (0..8)
                        .map(|_| {
                            let (store, ready) = (store.clone(), ready.clone());
                            tokio::spawn(async move {
                                loop {
                                    let Some((routed, answered, entry)) = ready.lock().expect("lock").pop() else {
                                        return;
                                    };
                                    store.update_message(routed.version, &answered, &entry).await.expect("answer");
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.expect("writer");
                    }
                });
                // per transition: the batch's time over its 8 × iters answers
                started.elapsed() / 8
            })
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = one_transition, eight_writers
}
criterion_main!(benches);
