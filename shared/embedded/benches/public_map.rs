//! The public map on SQLite at two sizes, side by side in one run: clusters (read from the cell
//! counters) and the public list (the index of public messages, filtered with a bounded
//! examine), over databases seeded with 10,000 and 1,000,000 messages.
//!
//! `cargo bench -p feedback-embedded --bench public_map`. The seeded databases are kept in
//! `$PUBLIC_MAP_DIR` (default: `target/public-map-bench`) and reused by later runs;
//! `PUBLIC_MAP_SIZES=10000,100000` picks other sizes. Run as a test (`cargo test`), it seeds a
//! thousand messages and checks that every case answers.
//!
//! Each message is written as the store writes a routed one: its document, its history entry
//! and the entry's counters (the analytics counters and the public map's cell counters) in one
//! transaction. 70 % of them lie in the city of Tyumen, the rest across the south of the region;
//! 60 % are public; their statuses and categories are spread over the public statuses and the
//! sample region's leaf categories.

// A benchmark fails loudly on a broken setup, like the test-support crate.
#![allow(clippy::expect_used, clippy::indexing_slicing)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use feedback_core::geo::BBox;
use feedback_core::ids::{CategoryId, CitizenId, MunicipalityId};
use feedback_core::message::{By, Status, Transition};
use feedback_core::ports::{MessageStore, NewRecord};
use feedback_core::public::{ClusterQuery, ListQuery, PublicMap};
use feedback_core::service::Reference;
use feedback_core::submission::{new_submission, NewMessage};
use feedback_core::testing::{sample_region, ManualClock};
use feedback_core::values::{Location, MessageText, PhotoIds};
use feedback_embedded::{Db, SqliteStore};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const START: &str = "2026-01-01T10:00:00+05:00";
const CITY: &str = "65.40,57.10,65.70,57.20";

/// A small deterministic generator (xorshift64*), so every run seeds the same messages.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

type Map = PublicMap<SqliteStore, Arc<ManualClock>>;

/// Opens the database of `size` messages, seeding it first if it is not there.
fn open(rt: &tokio::runtime::Runtime, size: usize) -> Map {
    let dir = std::env::var_os("PUBLIC_MAP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/public-map-bench"));
    std::fs::create_dir_all(&dir).expect("bench folder");
    let path = dir.join(format!("public-map-{size}.db"));
    let done = dir.join(format!("public-map-{size}.done"));
    let seeded = done.exists();
    if !seeded {
        let _ = std::fs::remove_file(&path);
    }
    let db = if seeded { Db::open(&path) } else { Db::open_for_bulk_load(&path) }.expect("database");
    let store = SqliteStore::new(db.clone());
    let start = chrono::DateTime::parse_from_rfc3339(START).expect("start").to_utc();
    let clock = Arc::new(ManualClock::at(START));
    let reference = Arc::new(Reference::new(store.clone(), Duration::from_secs(3600)));
    rt.block_on(async {
        reference.seed(&sample_region()).await.expect("region");
        if !seeded {
            let began = Instant::now();
            seed(&store, size, start).await;
            db.finish_bulk_load().expect("durable");
            std::fs::write(&done, "").expect("marker");
            eprintln!("seeded {size} messages in {:.1} s", began.elapsed().as_secs_f64());
        }
    });
    clock.set(start + chrono::Duration::days(400));
    PublicMap::new(store, clock, reference)
}

async fn seed(store: &SqliteStore, size: usize, start: chrono::DateTime<chrono::Utc>) {
    let region = sample_region();
    let leaves: Vec<CategoryId> =
        region.categories.iter().filter(|c| region.is_leaf(&c.id)).map(|c| c.id.clone()).collect();
    let statuses = [Status::Routed, Status::InProgress, Status::Answered, Status::Closed, Status::Reopened];
    let tz = region.time_zone();
    let municipality = MunicipalityId::parse("tyumen").expect("municipality");
    let authority = feedback_core::AuthorityId::parse("tyumen-upravdor").expect("authority");
    let text = MessageText::parse("Глубокая яма на проезжей части у дома, машины объезжают").expect("text");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let step = 365.0 * 86_400.0 / size as f64;
    for i in 0..size {
        let (lat, lon) = if rng.unit() < 0.7 {
            (57.10 + 0.10 * rng.unit(), 65.40 + 0.30 * rng.unit())
        } else {
            (56.0 + 3.0 * rng.unit(), 65.0 + 7.0 * rng.unit())
        };
        let input = NewMessage {
            category_id: rng.pick(&leaves).clone(),
            text: text.clone(),
            municipality_id: None,
            address: None,
            location: Some(Location::new(lat, lon).expect("location")),
            photo_ids: PhotoIds::default(),
            public: rng.unit() < 0.6,
        };
        let at = start + chrono::Duration::milliseconds((i as f64 * step * 1000.0) as i64);
        let author = CitizenId::parse(&format!("resident-{}", i % 50_000)).expect("author");
        let (m, _) = new_submission(&author, &input, municipality.clone(), at, tz);
        let route = Transition::Route {
            authority_id: authority.clone(),
            deadline: at + chrono::Duration::days(10),
            duplicate_of: None,
        };
        let (mut routed, mut entry) =
            m.apply(route, By::System, at, tz, &region.calendar, String::new()).expect("route");
        let status = *rng.pick(&statuses);
        routed.status = status;
        entry.to = status;
        store.create_message(&NewRecord::new(routed, entry), None, &[], None).await.expect("write");
    }
}

fn clusters(bbox: &str, zoom: u8) -> ClusterQuery {
    ClusterQuery { bbox: BBox::parse(bbox).expect("bbox"), zoom, category: None, status: None }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    // `cargo test --all-targets` runs this once, without `--bench`, as a check that it works:
    // a thousand messages then, the measured sizes only when benchmarking.
    let measuring = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = std::env::var("PUBLIC_MAP_SIZES")
        .unwrap_or_else(|_| if measuring { "10000,1000000" } else { "1000" }.into())
        .split(',')
        .map(|s| s.trim().parse().expect("a size"))
        .collect();
    let maps: Vec<(usize, Map)> = sizes.iter().map(|&n| (n, open(&rt, n))).collect();
    let cases: [(&str, ClusterQuery); 5] = [
        ("region_zoom6", clusters("64.0,55.5,73.0,59.5", 6)),
        ("city_zoom11", clusters(CITY, 11)),
        ("city_zoom15_coarsened", clusters(CITY, 15)),
        ("district_zoom14", clusters("65.50,57.13,65.58,57.17", 14)),
        ("street_zoom17", clusters("65.530,57.150,65.540,57.155", 17)),
    ];
    let mut g = c.benchmark_group("public_clusters");
    for (name, q) in &cases {
        for (n, map) in &maps {
            let found = rt.block_on(map.clusters(q)).expect("clusters");
            eprintln!(
                "{name} @ {n}: precision {}, {} clusters, {} messages",
                found.precision,
                found.clusters.len(),
                found.clusters.iter().map(|c| c.count).sum::<u64>()
            );
            g.bench_with_input(BenchmarkId::new(*name, n), q, |b, q| b.to_async(&rt).iter(|| map.clusters(q)));
        }
    }
    g.finish();
    let category = CategoryId::parse("dorogi-yamy").expect("category");
    let lists: [(&str, ListQuery); 3] = [
        ("newest_50", ListQuery { limit: 50, ..Default::default() }),
        ("newest_200", ListQuery { limit: 200, ..Default::default() }),
        (
            "district_category_50",
            ListQuery {
                bbox: Some(BBox::parse("65.50,57.13,65.58,57.17").expect("bbox")),
                category: Some(category),
                limit: 50,
                ..Default::default()
            },
        ),
    ];
    let mut g = c.benchmark_group("public_list");
    for (name, q) in &lists {
        for (n, map) in &maps {
            let page = rt.block_on(map.list(q)).expect("list");
            eprintln!("{name} @ {n}: {} items, more: {}", page.items.len(), page.next_cursor.is_some());
            g.bench_with_input(BenchmarkId::new(*name, n), q, |b, q| b.to_async(&rt).iter(|| map.list(q)));
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(30);
    targets = bench
}
criterion_main!(benches);
