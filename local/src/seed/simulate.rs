//! The simulation's event loop: events in time order on concurrent lanes, the hourly schedule,
//! and the report of what a run wrote.

use super::demo::Demo;
use super::lifecycle::{perform, Clock, Counts, Lane, Work};
use super::queue::{kind_slot, SeedQueue};
use super::world::World;
use crate::host::{default_secrets_dir, poll_secrets};
use crate::region_file::RegionSource;
use anyhow::{anyhow, Context};
use chrono::{DateTime, Duration, Utc};
use feedback_core::notification::NotificationKind;
use feedback_core::participation::Participation;
use feedback_core::service::{Messages, Reference, Routing, SubmitPolicy};
use feedback_core::workflow::{Escalation, Notifications, Workflow};
use feedback_core::ManualClock;
use feedback_embedded::{Db, SqliteStore};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BinaryHeap;
use std::path::PathBuf;
use std::sync::atomic::Ordering as Atomic;
use std::sync::Arc;
use std::time::Instant;
use tracing::instrument::WithSubscriber;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub data: PathBuf,
    /// The region, when the data folder holds none yet; its demo model in any case.
    pub region_file: RegionSource,
    pub messages: u64,
    pub polls: u32,
    pub days: u32,
    pub rng_seed: u64,
}

/// Generates the activity and reports what it wrote.
pub async fn seed_activity(opts: SeedOptions) -> anyhow::Result<()> {
    let report = generate(&opts).await?;
    println!("{report}");
    Ok(())
}

/// Finishes a seed that was stopped in its last phase: delivers what its transitions left in the
/// store's queue table, as the run would have, and flushes the store. The activity itself is not
/// generated again. Returns the number of notifications delivered.
pub async fn deliver_queued(data: &std::path::Path) -> anyhow::Result<u64> {
    crate::datadir::prepare(data).with_context(|| format!("opening {}", data.display()))?;
    let db = Db::open_for_bulk_load(&data.join("feedback.db"))?;
    let queue = SeedQueue {
        notifications: Arc::new(Notifications::new(SqliteStore::new(db.clone()))),
        delivered: Arc::new(Default::default()),
    };
    queue.consume_table(&db).await?;
    tokio::task::spawn_blocking(move || db.finish_bulk_load()).await??;
    Ok(queue.delivered.iter().map(|n| n.load(Atomic::Relaxed)).sum())
}

/// What a run wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeedReport {
    pub messages: u64,
    /// History transitions written, by kind, in lifecycle order.
    pub transitions: Vec<(&'static str, u64)>,
    pub notifications: u64,
    pub polls: u64,
    pub ballots: u64,
    /// Messages whose next step falls after the end of the window: still open, or answered and
    /// not rated yet.
    pub unfinished: u64,
    pub elapsed_secs: f64,
}

impl SeedReport {
    /// Messages per second of wall time.
    pub fn rate(&self) -> f64 {
        if self.elapsed_secs > 0.0 {
            self.messages as f64 / self.elapsed_secs
        } else {
            0.0
        }
    }

    /// The number of transitions of one kind (`submit`, `route`, `answer`, `overdue`, …).
    pub fn transitions_of(&self, kind: &str) -> u64 {
        self.transitions.iter().find(|(k, _)| *k == kind).map(|(_, n)| *n).unwrap_or(0)
    }
}

impl std::fmt::Display for SeedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "seed: {} messages in {:.1} s ({:.1} messages/s)", self.messages, self.elapsed_secs, self.rate())?;
        let kinds: Vec<String> = self.transitions.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(f, "  transitions: {}", kinds.join(", "))?;
        writeln!(f, "  notifications delivered: {}", self.notifications)?;
        writeln!(f, "  polls: {}, ballots: {}", self.polls, self.ballots)?;
        write!(f, "  messages with steps after the window (open, or awaiting a rating): {}", self.unfinished)
    }
}

/// How many events run at once. SQLite serialises the writes; the lanes overlap the rest.
const LANES: usize = 16;
/// The simulated schedule: escalation and the poll schedule run every hour, 3 minutes past.
const TICK_SECS: i64 = 3600;
const TICK_OFFSET_SECS: i64 = 180;

/// Generates the activity of the last `opts.days` days up to now into `opts.data` and returns
/// what was written.
pub async fn generate(opts: &SeedOptions) -> anyhow::Result<SeedReport> {
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_default();
    generate_until(opts, now).await
}

/// Generates the activity of the `opts.days` days up to `end`. With the same options and `end`,
/// two runs write the same activity.
pub async fn generate_until(opts: &SeedOptions, end: DateTime<Utc>) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    crate::datadir::prepare(&opts.data).with_context(|| format!("creating {}", opts.data.display()))?;
    // A bulk load: commits are flushed once at the end instead of one by one.
    let db = Db::open_for_bulk_load(&opts.data.join("feedback.db"))?;
    let store = SqliteStore::new(db.clone());
    let reference = Arc::new(Reference::new(store.clone(), std::time::Duration::from_secs(3600)));
    if reference.snapshot().await.is_err() {
        let region = opts.region_file.load()?;
        reference.seed(&region).await.map_err(|e| anyhow!("seeding the region: {e}"))?;
    }
    let region = reference.snapshot().await.map_err(|e| anyhow!("reading the region: {e}"))?.value.clone();
    let demo = Demo::for_region(&opts.region_file, &region.region.code)?;
    let secret = poll_secrets(&opts.data, &default_secrets_dir(&opts.data))?;

    let start = end - Duration::days(i64::from(opts.days.max(1)));
    let world = Arc::new(World::new(region, demo, opts.rng_seed, opts.messages, start, end)?);
    let submissions = world.submission_times(opts.messages);
    let polls = world.plan_polls(opts.polls);

    let queue = SeedQueue {
        notifications: Arc::new(Notifications::new(store.clone())),
        delivered: Arc::new(Default::default()),
    };
    let lane = |_| {
        let clock = Arc::new(ManualClock::at(&start.to_rfc3339()));
        let policy = SubmitPolicy { per_hour: 10_000 };
        Arc::new(Lane {
            messages: Messages::new(store.clone(), queue.clone(), clock.clone(), reference.clone(), policy),
            routing: Routing::new(store.clone(), queue.clone(), clock.clone(), reference.clone()),
            workflow: Workflow::new(store.clone(), queue.clone(), clock.clone(), reference.clone()),
            participation: Participation::new(store.clone(), clock.clone(), reference.clone(), secret.clone(), 30),
            clock,
        })
    };
    let lanes: Vec<Arc<Lane>> = (0..LANES).map(lane).collect();
    let sched_clock = Arc::new(ManualClock::at(&start.to_rfc3339()));
    let quiet = tracing::Dispatch::new(
        tracing_subscriber::fmt().with_max_level(tracing::Level::WARN).with_writer(std::io::stderr).finish(),
    );
    let mut sim = Sim {
        escalation: Escalation::new(
            store.clone(),
            queue.clone(),
            sched_clock.clone(),
            reference.clone(),
            Duration::minutes(2),
        ),
        schedule: Participation::new(store.clone(), sched_clock.clone(), reference.clone(), secret.clone(), 30),
        sched_clock,
        world: world.clone(),
        lanes,
        heap: BinaryHeap::new(),
        seq: 0,
        submissions,
        counts: Counts::default(),
        quiet: quiet.clone(),
    };
    if let Some(first) = sim.submissions.first().copied() {
        sim.push(first, Work::Submit(0));
    }
    for p in polls {
        sim.push(p.create_at.timestamp_millis(), Work::CreatePoll(Box::new(p)));
    }
    let first_tick = (start.timestamp() / TICK_SECS + 1) * TICK_SECS + TICK_OFFSET_SECS;
    sim.push(first_tick * 1000, Work::Tick);

    let bar = ProgressBar::new(opts.messages);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:30}] {pos}/{len} messages, {per_sec} (eta {eta}) {msg}",
        )?
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    sim.run(&bar).with_subscriber(quiet).await?;
    bar.set_message("delivering notifications");
    queue.consume_table(&db).await?;
    bar.set_message("flushing to disk");
    tokio::task::spawn_blocking(move || db.finish_bulk_load()).await??;
    bar.finish_and_clear();

    let unfinished = sim.heap.iter().filter(|q| matches!(q.work, Work::Message(..))).count() as u64;
    let delivered = |k: NotificationKind| queue.delivered.get(kind_slot(k)).map_or(0, |n| n.load(Atomic::Relaxed));
    let c = sim.counts;
    Ok(SeedReport {
        messages: c.submitted,
        transitions: vec![
            ("submit", c.submitted),
            ("route", delivered(NotificationKind::Routed)),
            ("link_duplicate", c.linked),
            ("take", delivered(NotificationKind::InProgress)),
            ("redirect", c.redirected),
            ("answer", delivered(NotificationKind::Answered)),
            ("reject", delivered(NotificationKind::Rejected)),
            ("overdue", delivered(NotificationKind::Overdue)),
            ("close", delivered(NotificationKind::Closed)),
            ("reopen", c.reopened),
        ],
        notifications: queue.delivered.iter().map(|n| n.load(Atomic::Relaxed)).sum(),
        polls: c.polls,
        ballots: c.ballots,
        unfinished,
        elapsed_secs: started.elapsed().as_secs_f64(),
    })
}

fn near(a: &(u16, i64, i64), b: &(u16, i64, i64)) -> bool {
    a.0 == b.0 && (a.1 - b.1).abs() <= 1 && (a.2 - b.2).abs() <= 1
}

struct Queued {
    at: i64,
    seq: u64,
    work: Work,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    /// Reversed, so that the max-heap pops the earliest event first.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

struct Sim {
    world: Arc<World>,
    lanes: Vec<Arc<Lane>>,
    sched_clock: Clock,
    escalation: Escalation<SqliteStore, SeedQueue, Clock>,
    schedule: Participation<SqliteStore, Clock>,
    heap: BinaryHeap<Queued>,
    seq: u64,
    submissions: Vec<i64>,
    counts: Counts,
    quiet: tracing::Dispatch,
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl Sim {
    fn push(&mut self, at: i64, work: Work) {
        self.seq += 1;
        self.heap.push(Queued { at, seq: self.seq, work });
    }

    /// Pops the earliest event, keeping the next submission and the next tick queued.
    fn pop(&mut self) -> Option<Queued> {
        let q = self.heap.pop()?;
        match q.work {
            Work::Submit(i) => {
                if let Some(next) = usize::try_from(i + 1).ok().and_then(|n| self.submissions.get(n)).copied() {
                    self.push(next, Work::Submit(i + 1));
                }
            }
            Work::Tick => self.push(q.at + TICK_SECS * 1000, Work::Tick),
            _ => {}
        }
        Some(q)
    }

    async fn run(&mut self, bar: &ProgressBar) -> anyhow::Result<()> {
        let end = self.world.end.timestamp_millis();
        let mut last_day = None;
        while let Some(top) = self.heap.peek() {
            if top.at > end {
                break;
            }
            if matches!(top.work, Work::Tick) {
                let q = self.pop().ok_or_else(|| anyhow!("the event queue emptied"))?;
                self.tick(time(q.at)).await?;
                let day = time(q.at).with_timezone(&self.world.tz).date_naive();
                if last_day != Some(day) {
                    bar.set_message(day.format("%Y-%m-%d").to_string());
                    last_day = Some(day);
                }
                continue;
            }
            let mut batch = Vec::with_capacity(LANES);
            let mut keys: Vec<(u16, i64, i64)> = Vec::new();
            while batch.len() < LANES {
                let Some(top) = self.heap.peek() else { break };
                if top.at > end || matches!(top.work, Work::Tick) {
                    break;
                }
                if let Some(key) = top.work.conflict_key() {
                    if keys.iter().any(|k| near(k, &key)) {
                        break;
                    }
                    keys.push(key);
                }
                batch.extend(self.pop());
            }
            let mut handles = Vec::with_capacity(batch.len());
            for (lane, q) in self.lanes.iter().zip(batch) {
                let (lane, world) = (lane.clone(), self.world.clone());
                let task = async move {
                    let at = time(q.at);
                    lane.clock.set(at);
                    perform(&world, &lane, q.work, at).await
                };
                handles.push(tokio::spawn(task.with_subscriber(self.quiet.clone())));
            }
            for h in handles {
                let done = h.await.map_err(|e| anyhow!("a seeding task failed: {e}"))??;
                self.counts.add(&done.counts);
                for (at, work) in done.next {
                    self.push(at.timestamp_millis(), work);
                }
            }
            bar.set_position(self.counts.submitted);
        }
        Ok(())
    }

    /// What EventBridge Scheduler runs: `escalate-overdue` and `close-polls`.
    async fn tick(&mut self, at: DateTime<Utc>) -> anyhow::Result<()> {
        self.sched_clock.set(at);
        self.escalation.run().await.map_err(|e| anyhow!("escalation at {at}: {e}"))?;
        self.schedule.run_schedule().await.map_err(|e| anyhow!("poll schedule at {at}: {e}"))?;
        Ok(())
    }
}
