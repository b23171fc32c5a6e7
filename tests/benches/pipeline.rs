//! Criterion benchmarks: the submit handler on the embedded adapter (in memory, and on a WAL
//! file with synchronous=FULL), the routing decision and the deadline on the real Tyumen region,
//! and moderation. Results: docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use feedback_core::ids::{CategoryId, MunicipalityId};
use feedback_core::{routing, RegionData, SystemClock};
use feedback_embedded::{Db, QueueSettings, SqliteQueue, SqliteStore};
use feedback_lambda::{Deps, Settings};
use feedback_tests::http_event;
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use std::time::Duration;

fn region() -> RegionData {
    feedback_local::region_file::parse(include_str!("../../infra/regions/72-tyumen.toml")).expect("region file")
}

/// What the benchmarks build the services with: reference data cached for an hour.
fn settings() -> Settings {
    Settings { reference_ttl: Duration::from_secs(3600), ..Settings::default() }
}

fn services(
    db: Db,
    rt: &tokio::runtime::Runtime,
) -> (submit_message::Services<SqliteStore, SqliteQueue, SystemClock>, feedback_tests::embedded::BlobDir) {
    let deps = Deps::new(
        SqliteStore::new(db.clone()),
        SqliteQueue::new(db, QueueSettings::default()),
        SystemClock,
        &settings(),
    );
    rt.block_on(deps.reference.seed(&region())).expect("seed");
    let blob_dir = feedback_tests::embedded::local_blobs();
    (
        submit_message::services(
            &deps,
            blob_dir.blobs.clone(),
            feedback_tests::embedded::voter_secret(),
            feedback_tests::embedded::unsubscribe_key(),
            &settings(),
        ),
        blob_dir,
    )
}

/// The POST fixture from a given citizen (each citizen stays under the hourly limit).
fn request_from(sub: &str) -> lambda_http::Request {
    let mut req = http_event("apigw-post-messages.json");
    req.headers_mut().remove("idempotency-key");
    let mut ctx = req.request_context();
    if let RequestContext::ApiGatewayV2(c) = &mut ctx {
        if let Some(jwt) = c.authorizer.as_mut().and_then(|a| a.jwt.as_mut()) {
            jwt.claims.insert("sub".into(), sub.into());
        }
    }
    req.with_request_context(ctx)
}

fn submit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let mut group = c.benchmark_group("submit_handler");
    let dir = std::env::temp_dir().join(format!("feedback-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let backends = [
        ("sqlite_in_memory", Db::in_memory().expect("db")),
        ("sqlite_wal_full_sync", Db::open(&dir.join("bench.db")).expect("db")),
    ];
    for (name, db) in backends {
        let (svc, _blob_dir) = services(db, &rt);
        let mut n = 0u64;
        group.bench_function(name, |b| {
            b.to_async(&rt).iter_batched(
                || {
                    n += 1;
                    request_from(&format!("citizen-{n}"))
                },
                |req| async {
                    let resp = submit_message::handle(&svc, req).await.expect("handler");
                    assert_eq!(resp.status(), 201);
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn decide(c: &mut Criterion) {
    let region = region();
    let tz = region.time_zone();
    let cases: Vec<(CategoryId, MunicipalityId)> = region
        .categories
        .iter()
        .filter(|cat| region.is_leaf(&cat.id))
        .flat_map(|cat| region.municipalities.iter().map(move |m| (cat.id.clone(), m.id.clone())))
        .collect();
    let now = chrono::Utc::now();
    c.bench_function("routing_decision_and_deadline", |b| {
        let mut i = 0;
        b.iter(|| {
            let (cat, muni) = &cases[i % cases.len()];
            i += 1;
            let d = routing::decide(&region, cat, muni);
            let due = region.calendar.deadline(now, region.deadline_days(cat), &tz);
            std::hint::black_box((d, due))
        })
    });
}

fn moderation(c: &mut Criterion) {
    let text = "Добрый день! Во дворе дома 15 по улице Республики третью неделю не вывозят мусор, контейнеры \
                переполнены, мусор разносит ветер по детской площадке. Просим принять меры.";
    c.bench_function("moderation_typical_text", |b| {
        b.iter(|| feedback_core::moderation::moderate(std::hint::black_box(text)))
    });
}

/// Ballots through the participation service on a durable SQLite file, side by side with a raw
/// SQLite transaction writing the same rows (poll read, voter roll, ballot, two counters, turnout).
fn ballots(c: &mut Criterion) {
    use feedback_tests::polls::{admin, choose, resident, vote_input};
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let dir = std::env::temp_dir().join(format!("feedback-ballots-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let db = Db::open(&dir.join("service.db")).expect("db");
    let deps = Deps::new(SqliteStore::new(db), (), SystemClock, &settings());
    rt.block_on(deps.reference.seed(&region())).expect("seed");
    let secret = feedback_core::testing::poll_secrets(b"benchmark-secret-0123456789");
    let participation = polls::services(&deps, secret, &settings());
    let now = chrono::Utc::now();
    let input = vote_input(
        now - chrono::Duration::minutes(1),
        now + chrono::Duration::days(1),
        feedback_core::participation::ResultsVisibility::Live,
    );
    let poll = rt.block_on(participation.create(&admin(), input)).expect("poll");
    let sealed_input = vote_input(
        now - chrono::Duration::minutes(1),
        now + chrono::Duration::days(1),
        feedback_core::participation::ResultsVisibility::AfterClose,
    );
    let sealed = rt.block_on(participation.create(&admin(), sealed_input)).expect("sealed poll");

    let raw = rusqlite::Connection::open(dir.join("raw.db")).expect("raw db");
    raw.pragma_update(None, "journal_mode", "WAL").expect("wal");
    raw.pragma_update(None, "synchronous", "FULL").expect("sync");
    raw.execute_batch(
        "CREATE TABLE polls (id TEXT PRIMARY KEY, doc TEXT NOT NULL) STRICT;
         CREATE TABLE voter_roll (poll_id TEXT, voter_hash TEXT, PRIMARY KEY (poll_id, voter_hash)) STRICT, WITHOUT ROWID;
         CREATE TABLE ballots (receipt TEXT PRIMARY KEY, poll_id TEXT NOT NULL, doc TEXT NOT NULL) STRICT;
         CREATE TABLE tallies (poll_id TEXT, question INTEGER, option INTEGER, count INTEGER NOT NULL,
                               PRIMARY KEY (poll_id, question, option)) STRICT, WITHOUT ROWID;
         CREATE TABLE turnout (poll_id TEXT, municipality TEXT, count INTEGER NOT NULL, PRIMARY KEY (poll_id, municipality)) STRICT, WITHOUT ROWID;
         INSERT INTO polls VALUES ('p', '{\"status\":\"open\"}');",
    )
    .expect("schema");
    let raw = std::sync::Mutex::new(raw);

    let mut group = c.benchmark_group("ballot");
    let mut n = 0u64;
    group.bench_function("participation_vote_sqlite_wal_full", |b| {
        b.to_async(&rt).iter(|| {
            n += 1;
            let who = resident(&format!("voter-{n}"), "tyumen", "1990-01-01");
            let (participation, id) = (&participation, poll.id);
            async move { participation.vote(&who, &id, choose((n % 3) as usize)).await.expect("counted") }
        })
    });
    let mut k = 0u64;
    group.bench_function("participation_vote_sealed_sqlite_wal_full", |b| {
        b.to_async(&rt).iter(|| {
            k += 1;
            let who = resident(&format!("sealed-voter-{k}"), "tyumen", "1990-01-01");
            let (participation, id) = (&participation, sealed.id);
            async move { participation.vote(&who, &id, choose((k % 3) as usize)).await.expect("counted") }
        })
    });
    let mut m = 0u64;
    group.bench_function("raw_sqlite_transaction_same_rows", |b| {
        b.iter(|| {
            m += 1;
            let mut conn = raw.lock().expect("lock");
            let tx = conn.transaction().expect("tx");
            let _: String = tx.query_row("SELECT doc FROM polls WHERE id = 'p'", [], |r| r.get(0)).expect("poll");
            tx.execute("INSERT INTO voter_roll VALUES ('p', ?1)", [format!("{m:064x}")]).expect("roll");
            tx.execute(
                "INSERT INTO ballots VALUES (?1, 'p', '{\"answers\":[{\"question\":0,\"options\":[1]}]}')",
                [format!("r{m}")],
            )
            .expect("ballot");
            for (q, o) in [(-1i64, 0i64), (0, (m % 3) as i64)] {
                tx.execute(
                    "INSERT INTO tallies VALUES ('p', ?1, ?2, 1) ON CONFLICT DO UPDATE SET count = count + 1",
                    [q, o],
                )
                .expect("tally");
            }
            tx.execute("INSERT INTO turnout VALUES ('p', 'tyumen', 1) ON CONFLICT DO UPDATE SET count = count + 1", [])
                .expect("turnout");
            tx.commit().expect("commit");
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sealing one ballot to a poll's key at cast time, and opening it at the close.
fn sealing(c: &mut Criterion) {
    use feedback_core::participation::seal;
    let poll = feedback_core::ids::PollId::new_at(chrono::Utc::now());
    let (key, public) = seal::new_key_pair();
    let answers = feedback_tests::polls::choose(1);
    let sealed = seal::seal(&public, &poll, &answers).expect("sealed");
    let mut group = c.benchmark_group("seal");
    group.bench_function("seal_one_ballot", |b| b.iter(|| seal::seal(&public, &poll, std::hint::black_box(&answers))));
    group.bench_function("open_one_ballot", |b| b.iter(|| seal::open(&key, &poll, std::hint::black_box(&sealed))));
    group.finish();
}

criterion_group!(benches, submit, decide, moderation, ballots, sealing);
criterion_main!(benches);
