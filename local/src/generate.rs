//! `feedback seed`: realistic regional activity generated through the domain services.
//!
//! The generator is a discrete-event simulation over the last `days` days up to now. Every
//! message goes through the same use cases real traffic does, each call made with a
//! [`ManualClock`] set to the simulated moment: `Messages::submit` by a resident, `Routing::route`
//! (what the `route-messages` consumer does with the queued job), then moderators, officials and
//! the author through `Workflow` (reject, take, redirect, answer, rate with or without reopening).
//! `Escalation::run` and `Participation::run_schedule` run on an hourly simulated tick, as the
//! `escalate-overdue` and `close-polls` schedules do, so overdue flags, escalations to the ЦУР and
//! poll openings and closings happen at the right simulated times. Polls are created by a
//! regional admin and answered by eligible residents through `Participation::vote`.
//!
//! The activity model:
//! * submission times follow the week (more on weekdays, fewer on weekends and holidays of the
//!   region's production calendar) and the day (the region's local time: little at night, peaks in
//!   the morning and the evening);
//! * categories are drawn by weight, with seasons (heating and snow in winter, potholes in spring,
//!   mowing in summer, floods in April); municipalities by population, Тюмень first;
//! * many distinct residents, drawn from per-municipality pools (some file more than once); the
//!   hourly submission limit is raised for the run so that no submission is refused;
//! * texts are built from Russian templates per category and pass automatic moderation; place-bound
//!   categories usually carry a location inside the municipality and an address;
//! * about 3 % are rejected by a moderator, about 5 % are redirected (returned to the ЦУР by the
//!   authority and forwarded, or forwarded by the ЦУР directly), most are taken into work and
//!   answered; each authority answers a stable share of its messages late (4 to 26 %, about 10 %
//!   over the region) and the rest by the deadline;
//! * most authors rate the answer, scores skewed to 4–5; after a low score some reopen the
//!   message, which is then answered again and rated again.
//!
//! Independent events run concurrently on a set of lanes, each with its own clock and services:
//! a batch takes the next events in time order, at most one per message, and never two events on
//! located messages of the same category within a kilometre of each other (routing may link such
//! messages as duplicates, and an answer to an original answers its duplicates). Ticks run alone.
//! So the outcome of a seed does not depend on thread timing: the same seed gives the same
//! activity, apart from the window's end (the wall clock) and the random parts of the ids and
//! ballot receipts the services generate themselves.
//!
//! Queue jobs are handled in process by `SeedQueue`: the simulation routes every message itself at
//! its simulated routing time, which is exactly what the consumer of a `RouteMessage` job does,
//! and each `Notify` job is delivered through `Notifications::deliver`, as the `notify` consumer
//! does. Transitions write their jobs into the queue table in their own transactions (the
//! transactional outbox); at the end of the run `SeedQueue::consume_table` delivers them and
//! empties the table, so the database is left as if the host had consumed every job, with no
//! backlog for its first start to work through.
//!
//! The database is opened for a bulk load (`Db::open_for_bulk_load`): every transition is still
//! its own transaction, but commits are flushed to disk once, at the end, instead of one by one.
//! A power loss during a seed may lose its last transactions; the store stays consistent.

use crate::host::{load_region_file, voter_secret};
use anyhow::{anyhow, Context};
use async_trait::async_trait;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use feedback_core::actor::Actor;
use feedback_core::ids::{AuthorityId, CategoryId, MessageId, MunicipalityId, PollId};
use feedback_core::message::Status;
use feedback_core::notification::NotificationKind;
use feedback_core::participation::{
    Audience, BallotAnswer, NewPoll, Participation, PollKind, Question, QuestionKind, ResultsVisibility,
};
use feedback_core::ports::{Job, QueueName, QueueReceiver, StoreError, WorkQueue};
use feedback_core::region::{AuthorityLevel, RegionData};
use feedback_core::service::{Messages, NewMessage, Reference, RouteOutcome, Routing, SubmitPolicy};
use feedback_core::testing::ManualClock;
use feedback_core::values::{Address, CommentText, Location, MessageText, Reason};
use feedback_core::workflow::{Escalation, Notifications, RejectReason, Workflow};
use feedback_core::ServiceError;
use feedback_embedded::{Db, QueueSettings, SqliteQueue, SqliteStore};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering as Atomic};
use std::sync::Arc;
use std::time::Instant;
use tracing::instrument::WithSubscriber;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub data: PathBuf,
    pub region_file: PathBuf,
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
        let region = load_region_file(&opts.region_file)?;
        reference.seed(&region).await.map_err(|e| anyhow!("seeding the region: {e}"))?;
    }
    let region = reference.snapshot().await.map_err(|e| anyhow!("reading the region: {e}"))?.value.clone();
    let secret = voter_secret(&opts.data)?;

    let start = end - Duration::days(i64::from(opts.days.max(1)));
    let world = Arc::new(World::new(region, opts, start, end)?);
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

// ---------------------------------------------------------------------------------------------------------------
// The queue: the consumers' work done in process
// ---------------------------------------------------------------------------------------------------------------

/// Plays the queue consumers' part in process (see the module documentation): routing jobs are
/// dropped because the simulation routes every message itself, notification jobs are delivered
/// through `Notifications::deliver`. Every transition that notifies its author is counted here by
/// kind, which also counts answers given to duplicates along with their original.
#[derive(Clone)]
struct SeedQueue {
    notifications: Arc<Notifications<SqliteStore>>,
    delivered: Arc<[AtomicU64; 6]>,
}

fn kind_slot(kind: NotificationKind) -> usize {
    match kind {
        NotificationKind::Routed => 0,
        NotificationKind::InProgress => 1,
        NotificationKind::Answered => 2,
        NotificationKind::Rejected => 3,
        NotificationKind::Overdue => 4,
        NotificationKind::Closed => 5,
    }
}

impl SeedQueue {
    /// Consumes what the transitions wrote into the store's queue table in their own
    /// transactions (the transactional outbox): notifications are delivered, routing jobs are
    /// dropped because the simulation routed every message itself. Leaves the table empty, as if
    /// the host had consumed every job.
    async fn consume_table(&self, db: &Db) -> anyhow::Result<()> {
        let table = SqliteQueue::new(db.clone(), QueueSettings { max_receives: u32::MAX });
        let hidden = std::time::Duration::from_secs(3600);
        for name in [QueueName::Submitted, QueueName::Notifications] {
            loop {
                let batch = table.receive(name, 500, hidden).await?;
                if batch.is_empty() {
                    break;
                }
                for d in batch {
                    let job = Job::from_body(&d.body).map_err(|e| anyhow!("a queued job does not parse: {e}"))?;
                    self.send(&job).await?;
                    table.ack(name, &d.receipt).await?;
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl WorkQueue for SeedQueue {
    async fn send(&self, job: &Job) -> Result<(), StoreError> {
        match job {
            Job::RouteMessage { .. } => Ok(()),
            Job::Notify { notification } => {
                self.notifications
                    .deliver(notification)
                    .await
                    .map_err(|e| StoreError::Backend(anyhow!("delivering notification {}: {e}", notification.id)))?;
                if let Some(n) = self.delivered.get(kind_slot(notification.kind)) {
                    n.fetch_add(1, Atomic::Relaxed);
                }
                Ok(())
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The simulation loop
// ---------------------------------------------------------------------------------------------------------------

type Clock = Arc<ManualClock>;

/// One set of services on its own clock.
struct Lane {
    clock: Clock,
    messages: Messages<SqliteStore, SeedQueue, Clock>,
    routing: Routing<SqliteStore, SeedQueue, Clock>,
    workflow: Workflow<SqliteStore, SeedQueue, Clock>,
    participation: Participation<SqliteStore, Clock>,
}

/// A resident: a municipality (index into the model's list) and a number in its pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Citizen {
    muni: u16,
    number: u32,
}

/// A message in flight and what its lifecycle has decided so far.
struct Msg {
    rng: StdRng,
    id: MessageId,
    author: Citizen,
    category: u16,
    location: Option<(f64, f64)>,
    authority: Option<AuthorityId>,
    /// The authority that returned the message to the ЦУР, which the ЦУР does not send it back to.
    returned_by: Option<AuthorityId>,
    /// Which of the authority's officials handles it.
    official: usize,
    deadline: Option<DateTime<Utc>>,
    duplicate: bool,
    reopened: bool,
    /// When the answer is planned, and once given, when it was given.
    answer_at: Option<DateTime<Utc>>,
}

impl Msg {
    /// Events on located messages of one category within about a kilometre may interact.
    fn conflict_key(&self) -> Option<(u16, i64, i64)> {
        let (lat, lon) = self.location?;
        Some((self.category, (lat / 0.01).floor() as i64, (lon / 0.025).floor() as i64))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Route,
    Reject,
    Take,
    ReturnToCenter,
    CenterRedirect,
    Answer,
    Rate,
}

struct Ballot {
    poll: PollId,
    voter: Citizen,
    answers: Vec<BallotAnswer>,
}

enum Work {
    /// The message with this chronological index is submitted.
    Submit(u64),
    Message(Box<Msg>, Step),
    CreatePoll(Box<PollPlan>),
    Ballot(Box<Ballot>),
    /// The scheduled jobs: escalation and the poll schedule.
    Tick,
}

impl Work {
    fn conflict_key(&self) -> Option<(u16, i64, i64)> {
        match self {
            Work::Message(m, _) => m.conflict_key(),
            _ => None,
        }
    }
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

/// What the simulation counted itself; the rest is counted by `SeedQueue`.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    submitted: u64,
    linked: u64,
    redirected: u64,
    reopened: u64,
    polls: u64,
    ballots: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.submitted += o.submitted;
        self.linked += o.linked;
        self.redirected += o.redirected;
        self.reopened += o.reopened;
        self.polls += o.polls;
        self.ballots += o.ballots;
    }
}

/// What one event did: the follow-up events and what to count.
#[derive(Default)]
struct Done {
    next: Vec<(DateTime<Utc>, Work)>,
    counts: Counts,
}

impl Done {
    fn then(at: DateTime<Utc>, work: Work) -> Done {
        Done { next: vec![(at, work)], counts: Counts::default() }
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

async fn perform(world: &World, lane: &Lane, work: Work, at: DateTime<Utc>) -> anyhow::Result<Done> {
    match work {
        Work::Submit(index) => submit(world, lane, index, at).await,
        Work::Message(m, step) => advance(world, lane, m, step, at).await,
        Work::CreatePoll(plan) => create_poll(world, lane, *plan).await,
        Work::Ballot(b) => {
            let b = *b;
            let voter = world.citizen(b.voter)?;
            lane.participation
                .vote(&voter, &b.poll, b.answers)
                .await
                .map_err(|e| anyhow!("ballot in {}: {e}", b.poll))?;
            Ok(Done { next: vec![], counts: Counts { ballots: 1, ..Counts::default() } })
        }
        Work::Tick => Err(anyhow!("a tick runs alone, not in a batch")),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Message lifecycles
// ---------------------------------------------------------------------------------------------------------------

const STREAM_TIMES: u64 = 1;
const STREAM_MESSAGE: u64 = 2;
const STREAM_POLL: u64 = 3;

async fn submit(world: &World, lane: &Lane, index: u64, at: DateTime<Utc>) -> anyhow::Result<Done> {
    let mut rng = world.rng(STREAM_MESSAGE, index);
    let month = at.with_timezone(&world.tz).month0() as usize;
    let category = world.cats_by_month.get(month).context("categories by month")?.sample(&mut rng);
    let muni = world.munis_weighted.sample(&mut rng);
    let m = world.munis.get(muni).context("a sampled municipality")?;
    let author = Citizen { muni: muni as u16, number: rng.random_range(0..m.pool) };
    let cat = world.cats.get(category).context("a sampled category")?;
    let place = world.place(&mut rng, muni);
    let location = match m.center {
        Some(c) if rng.random_bool(cat.located) => Some(c.sample(&mut rng)),
        _ => None,
    };
    let with_address = if location.is_some() { rng.random_bool(0.85) } else { rng.random_bool(0.2) };
    let address = with_address.then(|| format!("{}, ул. {}, {}", m.settlement, place.street, place.house));
    let text = texts::message(&mut rng, cat, m, &place);
    let input = NewMessage {
        category_id: cat.id.clone(),
        text: MessageText::parse(&text).map_err(|e| anyhow!("generated text {text:?}: {e}"))?,
        municipality_id: rng.random_bool(0.5).then(|| m.id.clone()),
        address: address.map(|a| Address::parse(&a)).transpose().map_err(|e| anyhow!("generated address: {e}"))?,
        location: location.map(|(lat, lon)| Location::new(lat, lon)).transpose().map_err(|e| anyhow!("{e}"))?,
        photo_ids: Default::default(),
        public: rng.random_bool(0.6),
    };
    let actor = world.citizen(author)?;
    let submitted = lane.messages.submit(&actor, input, None).await.map_err(|e| anyhow!("submitting {text:?}: {e}"))?;
    let route_at = at + Duration::seconds(rng.random_range(2..60));
    let msg = Msg {
        rng,
        id: submitted.message.id,
        author,
        category: category as u16,
        location,
        authority: None,
        returned_by: None,
        official: 0,
        deadline: None,
        duplicate: false,
        reopened: false,
        answer_at: None,
    };
    let mut done = Done::then(route_at, Work::Message(Box::new(msg), Step::Route));
    done.counts.submitted = 1;
    Ok(done)
}

/// True when the message moved on under us: an answer to its original answered it too.
fn moved_on(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Conflict { code, .. } if *code == "invalid_transition")
}

async fn advance(world: &World, lane: &Lane, mut m: Box<Msg>, step: Step, at: DateTime<Utc>) -> anyhow::Result<Done> {
    let result = match step {
        Step::Route => return route(world, lane, m, at).await,
        Step::Reject => {
            let moderator =
                world.moderators.get(m.rng.random_range(0..world.moderators.len())).context("a moderator")?;
            let (reason, comment) = texts::rejection(&mut m.rng);
            let comment = comment.map(Reason::parse).transpose().map_err(|e| anyhow!("generated comment: {e}"))?;
            lane.workflow.reject(moderator, &m.id, reason, comment).await.map(|_| Done::default())
        }
        Step::Take => {
            let official = world.official(m.authority.as_ref(), m.official)?;
            match lane.workflow.take(official, &m.id).await {
                Ok(_) => {
                    let answer_at = m.answer_at.unwrap_or(at);
                    return Ok(Done::then(answer_at, Work::Message(m, Step::Answer)));
                }
                Err(e) => Err(e),
            }
        }
        Step::ReturnToCenter => {
            let official = world.official(m.authority.as_ref(), m.official)?;
            let reason = Reason::parse("Вопрос не относится к компетенции органа (not_in_competence)")
                .map_err(|e| anyhow!("generated reason: {e}"))?;
            match lane.workflow.redirect(official, &m.id, world.center.clone(), reason).await {
                Ok(_) => {
                    m.returned_by = m.authority.replace(world.center.clone());
                    let delay = Duration::minutes(m.rng.random_range(30..360));
                    let next = world.work_time(&mut m.rng, at + delay);
                    let mut done = Done::then(next, Work::Message(m, Step::CenterRedirect));
                    done.counts.redirected = 1;
                    return Ok(done);
                }
                Err(e) => Err(e),
            }
        }
        Step::CenterRedirect => {
            let official =
                world.official(Some(&world.center), m.rng.random_range(0..world.officials_of(&world.center)))?;
            let mut not_to: Vec<AuthorityId> = m.authority.iter().chain(&m.returned_by).cloned().collect();
            not_to.push(world.center.clone());
            let muni = world.munis.get(usize::from(m.author.muni)).context("the author's municipality")?;
            let Some(to) = world.alternative(&mut m.rng, usize::from(m.category), muni, &not_to) else {
                return Ok(plan_work(world, m, at, Counts::default()));
            };
            let reason = Reason::parse("Направлено по компетенции").map_err(|e| anyhow!("generated reason: {e}"))?;
            match lane.workflow.redirect(official, &m.id, to.clone(), reason).await {
                Ok(_) => {
                    m.official = m.rng.random_range(0..world.officials_of(&to));
                    m.authority = Some(to);
                    return Ok(plan_work(world, m, at, Counts { redirected: 1, ..Counts::default() }));
                }
                Err(e) => Err(e),
            }
        }
        Step::Answer => {
            let authority = m.authority.clone().unwrap_or_else(|| world.center.clone());
            let official = world.official(Some(&authority), m.official)?;
            let text = texts::answer(&mut m.rng, world, m.category as usize, &authority, m.reopened, at);
            let text = MessageText::parse(&text).map_err(|e| anyhow!("generated answer {text:?}: {e}"))?;
            match lane.workflow.answer(official, &m.id, text).await {
                Ok(_) => return Ok(after_answer(world, m, at, at)),
                Err(e) => Err(e),
            }
        }
        Step::Rate => return rate(world, lane, m, at).await,
    };
    match result {
        Ok(done) => Ok(done),
        Err(e) if moved_on(&e) => resync(world, lane, m, at).await,
        Err(e) => Err(anyhow!("{step:?} of message {}: {e}", m.id)),
    }
}

async fn route(world: &World, lane: &Lane, mut m: Box<Msg>, at: DateTime<Utc>) -> anyhow::Result<Done> {
    let outcome = lane.routing.route(&m.id).await.map_err(|e| anyhow!("routing {}: {e}", m.id))?;
    let RouteOutcome::Routed { authority_id, deadline, duplicate_of } = outcome else {
        return Err(anyhow!("message {} was not routed by the simulation: {outcome:?}", m.id));
    };
    let mut counts = Counts::default();
    if duplicate_of.is_some() {
        m.duplicate = true;
        counts.linked = 1;
    }
    m.official = m.rng.random_range(0..world.officials_of(&authority_id));
    let at_center = authority_id == world.center;
    m.authority = Some(authority_id);
    m.deadline = Some(deadline);
    let roll = m.rng.random::<f64>();
    if roll < 0.03 {
        let delay = Duration::minutes(m.rng.random_range(10..360));
        let when = world.work_time(&mut m.rng, at + delay);
        return Ok(Done { next: vec![(when, Work::Message(m, Step::Reject))], counts });
    }
    if roll < 0.08 && !m.duplicate && !at_center {
        let (step, delay) = if m.rng.random_bool(0.5) {
            (Step::ReturnToCenter, m.rng.random_range(60..1800))
        } else {
            (Step::CenterRedirect, m.rng.random_range(20..480))
        };
        let mut when = world.work_time(&mut m.rng, at + Duration::minutes(delay));
        let latest = at + (deadline - at) / 3;
        if when > latest && latest > at {
            when = latest;
        }
        return Ok(Done { next: vec![(when, Work::Message(m, step))], counts });
    }
    Ok(plan_work(world, m, at, counts))
}

/// Schedules the answer (and, often, taking into work before it) from `start` on.
fn plan_work(world: &World, mut m: Box<Msg>, start: DateTime<Utc>, counts: Counts) -> Done {
    let authority = m.authority.clone().unwrap_or_else(|| world.center.clone());
    let deadline = m.deadline.unwrap_or(start + Duration::days(8));
    let late = m.rng.random_bool(world.lateness(&authority));
    let answer_at = world.answer_time(&mut m.rng, start, deadline, late);
    m.answer_at = Some(answer_at);
    let take = if m.duplicate {
        0.0
    } else if m.reopened {
        0.5
    } else {
        0.7
    };
    if m.rng.random_bool(take) {
        let span = (answer_at - start).num_seconds().max(0) as f64;
        let t = start + Duration::seconds((span * m.rng.random_range(0.05..0.4)) as i64);
        let t = world.work_time(&mut m.rng, t).min(answer_at - Duration::minutes(1));
        if t > start {
            return Done { next: vec![(t, Work::Message(m, Step::Take))], counts };
        }
    }
    Done { next: vec![(answer_at, Work::Message(m, Step::Answer))], counts }
}

/// After an answer, most authors rate it some time later (never before `now`).
fn after_answer(world: &World, mut m: Box<Msg>, answered: DateTime<Utc>, now: DateTime<Utc>) -> Done {
    let late = m.deadline.is_some_and(|d| answered > d);
    if !m.rng.random_bool(if late { 0.78 } else { 0.68 }) {
        return Done::default();
    }
    let hours = 0.15 + exponential(&mut m.rng, 20.0).min(24.0 * 12.0);
    let when = world.awake_time(&mut m.rng, answered + Duration::seconds((hours * 3600.0) as i64));
    let when = when.max(now + Duration::minutes(1));
    m.answer_at = Some(answered);
    Done::then(when, Work::Message(m, Step::Rate))
}

async fn rate(world: &World, lane: &Lane, mut m: Box<Msg>, at: DateTime<Utc>) -> anyhow::Result<Done> {
    let late = matches!((m.answer_at, m.deadline), (Some(a), Some(d)) if a > d);
    let weights: [f64; 5] = match (late, m.reopened) {
        (false, false) => [0.06, 0.05, 0.09, 0.25, 0.55],
        (true, false) => [0.20, 0.15, 0.20, 0.20, 0.25],
        (false, true) => [0.15, 0.12, 0.18, 0.25, 0.30],
        (true, true) => [0.30, 0.20, 0.20, 0.15, 0.15],
    };
    let score = Weighted::new(weights).sample(&mut m.rng) as u8 + 1;
    let reopen = !m.reopened
        && match score {
            1 | 2 => m.rng.random_bool(0.45),
            3 => m.rng.random_bool(0.08),
            _ => false,
        };
    let comment = texts::rating_comment(&mut m.rng, score, reopen)
        .map(CommentText::parse)
        .transpose()
        .map_err(|e| anyhow!("generated comment: {e}"))?;
    let author = world.citizen(m.author)?;
    let rated = lane
        .workflow
        .rate(&author, &m.id, score, comment, reopen)
        .await
        .map_err(|e| anyhow!("rating {}: {e}", m.id))?;
    if !reopen {
        return Ok(Done::default());
    }
    m.reopened = true;
    m.deadline = rated.deadline;
    Ok(plan_work(world, m, at, Counts { reopened: 1, ..Counts::default() }))
}

/// The message changed under a planned step (its original's answer reached it): continue from
/// its stored state.
async fn resync(world: &World, lane: &Lane, m: Box<Msg>, at: DateTime<Utc>) -> anyhow::Result<Done> {
    let author = world.citizen(m.author)?;
    let detail = lane.messages.get(&author, &m.id).await.map_err(|e| anyhow!("reading {}: {e}", m.id))?;
    match detail.message.status {
        Status::Answered => {
            let answered = detail.message.answer.as_ref().map(|a| a.answered_at).unwrap_or(at);
            Ok(after_answer(world, m, answered, at))
        }
        Status::Closed | Status::Rejected => Ok(Done::default()),
        other => Err(anyhow!("message {} is unexpectedly {}", m.id, other.as_str())),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Polls
// ---------------------------------------------------------------------------------------------------------------

/// A poll to create, with the ballots its audience will cast.
struct PollPlan {
    create_at: DateTime<Utc>,
    input: NewPoll,
    ballots: Vec<(DateTime<Utc>, Citizen, Vec<BallotAnswer>)>,
}

async fn create_poll(world: &World, lane: &Lane, plan: PollPlan) -> anyhow::Result<Done> {
    let title = plan.input.title.clone();
    let poll = lane.participation.create(&world.admin, plan.input).await.map_err(|e| anyhow!("poll {title:?}: {e}"))?;
    let next = plan
        .ballots
        .into_iter()
        .map(|(at, voter, answers)| (at, Work::Ballot(Box::new(Ballot { poll: poll.id, voter, answers }))))
        .collect();
    Ok(Done { next, counts: Counts { polls: 1, ..Counts::default() } })
}

// ---------------------------------------------------------------------------------------------------------------
// The model of the region
// ---------------------------------------------------------------------------------------------------------------

/// Draws an index with probability proportional to its weight.
struct Weighted {
    cumulative: Vec<f64>,
}

impl Weighted {
    fn new(weights: impl IntoIterator<Item = f64>) -> Weighted {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w.max(0.0);
                total
            })
            .collect();
        Weighted { cumulative }
    }

    fn sample(&self, rng: &mut impl Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        self.cumulative.partition_point(|c| *c <= x).min(self.cumulative.len().saturating_sub(1))
    }
}

fn exponential(rng: &mut impl Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.random::<f64>()).ln()
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[derive(Debug, Clone, Copy)]
struct Area {
    lat: f64,
    lon: f64,
    radius_km: f64,
}

impl Area {
    /// A uniform point in the disc.
    fn sample(&self, rng: &mut impl Rng) -> (f64, f64) {
        let r = self.radius_km * rng.random::<f64>().sqrt();
        let a = rng.random::<f64>() * std::f64::consts::TAU;
        let lat = self.lat + r * a.cos() / 111.2;
        let lon = self.lon + r * a.sin() / (111.2 * self.lat.to_radians().cos());
        ((lat * 1e6).round() / 1e6, (lon * 1e6).round() / 1e6)
    }
}

struct Muni {
    id: MunicipalityId,
    name: String,
    weight: f64,
    center: Option<Area>,
    /// The settlement in addresses: "Тюмень", "с. Абатское".
    settlement: String,
    /// Where, in texts: "в Тюмени", "в селе Абатском".
    locative: String,
    /// The municipality's own administration, when the region has one.
    administration: Option<AuthorityId>,
    /// Residents who file messages.
    pool: u32,
    /// Residents who may vote (at least the filing ones).
    voters: u32,
    big_city: bool,
}

struct Cat {
    id: CategoryId,
    group: Option<CategoryId>,
    name: String,
    weight: f64,
    season: Season,
    /// The share of messages with a location.
    located: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Season {
    Flat,
    Heating,
    Snow,
    Thaw,
    Green,
    Flood,
    HotWater,
    Yards,
}

impl Season {
    fn factor(self, month0: usize) -> f64 {
        let table: [f64; 12] = match self {
            Season::Flat => [1.0; 12],
            Season::Heating => [2.0, 1.8, 1.3, 0.8, 0.3, 0.1, 0.1, 0.1, 0.6, 2.0, 2.2, 2.2],
            Season::Snow => [2.5, 2.3, 1.8, 0.6, 0.05, 0.02, 0.02, 0.02, 0.05, 0.4, 1.8, 2.5],
            Season::Thaw => [0.6, 0.6, 1.0, 2.2, 2.0, 1.3, 1.0, 0.9, 0.9, 0.9, 0.7, 0.6],
            Season::Green => [0.2, 0.2, 0.3, 0.7, 1.6, 2.2, 2.2, 1.8, 1.2, 0.6, 0.3, 0.2],
            Season::Flood => [0.1, 0.1, 0.8, 4.0, 3.0, 0.8, 0.5, 0.5, 0.3, 0.2, 0.1, 0.1],
            Season::HotWater => [0.8, 0.8, 0.8, 0.9, 1.6, 1.8, 1.6, 1.2, 0.9, 0.8, 0.8, 0.8],
            Season::Yards => [0.7, 0.7, 0.8, 1.1, 1.3, 1.3, 1.3, 1.2, 1.1, 1.0, 0.8, 0.7],
        };
        table.get(month0.min(11)).copied().unwrap_or(1.0)
    }
}

/// Relative frequency and season of the demo region's categories; others weigh 1.
const CATEGORY_WEIGHTS: &[(&str, f64, Season)] = &[
    ("zhkh-otoplenie", 4.0, Season::Heating),
    ("zhkh-hvs", 3.0, Season::Flat),
    ("zhkh-gvs", 3.0, Season::HotWater),
    ("zhkh-elektrosnabzhenie", 2.5, Season::Flat),
    ("zhkh-gazosnabzhenie", 0.8, Season::Flat),
    ("zhkh-kanalizatsiya", 2.0, Season::Flat),
    ("zhkh-musor", 9.0, Season::Yards),
    ("zhkh-upravlyayushchie", 6.0, Season::Flat),
    ("zhkh-kapremont", 2.0, Season::Flat),
    ("zhkh-platezhi", 3.0, Season::Flat),
    ("dorogi-yamy", 12.0, Season::Thaw),
    ("dorogi-sneg", 8.0, Season::Snow),
    ("dorogi-svetofory", 2.0, Season::Flat),
    ("dorogi-razmetka", 1.5, Season::Green),
    ("dorogi-remont", 3.0, Season::Thaw),
    ("dorogi-regionalnye", 2.0, Season::Thaw),
    ("transport-raspisanie", 3.0, Season::Flat),
    ("transport-ostanovki", 1.5, Season::Flat),
    ("transport-marshruty", 1.5, Season::Flat),
    ("transport-podvizhnoy-sostav", 2.0, Season::Flat),
    ("transport-oplata", 1.0, Season::Flat),
    ("blagoustroystvo-ploshchadki", 3.0, Season::Yards),
    ("blagoustroystvo-dvory", 10.0, Season::Yards),
    ("blagoustroystvo-osveshchenie", 4.0, Season::Flat),
    ("blagoustroystvo-zhivotnye", 3.0, Season::Flat),
    ("blagoustroystvo-ozelenenie", 3.0, Season::Green),
    ("blagoustroystvo-kladbishcha", 0.7, Season::Green),
    ("blagoustroystvo-prostranstva", 1.5, Season::Yards),
    ("zdravookhranenie-zapis", 3.0, Season::Flat),
    ("zdravookhranenie-lekarstva", 1.5, Season::Flat),
    ("zdravookhranenie-skoraya", 0.8, Season::Flat),
    ("zdravookhranenie-polikliniki", 2.5, Season::Flat),
    ("zdravookhranenie-fap", 0.7, Season::Flat),
    ("obrazovanie-sady", 1.5, Season::Flat),
    ("obrazovanie-shkoly", 1.5, Season::Flat),
    ("obrazovanie-pitanie", 0.8, Season::Flat),
    ("obrazovanie-podvoz", 0.6, Season::Flat),
    ("obrazovanie-dopobrazovanie", 0.5, Season::Flat),
    ("ekologiya-svalki", 2.0, Season::Green),
    ("ekologiya-zagryaznenie", 1.0, Season::Flat),
    ("ekologiya-vyrubka", 0.4, Season::Green),
    ("sotszashchita-lgoty", 1.5, Season::Flat),
    ("sotszashchita-dostupnaya-sreda", 0.6, Season::Flat),
    ("sotszashchita-semi-s-detmi", 1.0, Season::Flat),
    ("sotszashchita-zanyatost", 0.4, Season::Flat),
    ("svyaz-mobilnaya", 1.0, Season::Flat),
    ("svyaz-internet", 1.2, Season::Flat),
    ("svyaz-pochta", 0.6, Season::Flat),
    ("bezopasnost-pozharnaya", 0.5, Season::Flat),
    ("bezopasnost-pavodok", 0.5, Season::Flood),
    ("bezopasnost-grazhdanskaya-oborona", 0.2, Season::Flat),
    ("kultura-sport-uchrezhdeniya", 0.6, Season::Flat),
    ("kultura-sport-nasledie", 0.3, Season::Flat),
    ("kultura-sport-sportobekty", 0.8, Season::Flat),
    ("stroitelstvo-sotsobekty", 0.6, Season::Flat),
    ("stroitelstvo-samovol", 0.5, Season::Flat),
    ("stroitelstvo-dolshchiki", 0.4, Season::Flat),
    ("torgovlya-nezakonnaya", 0.6, Season::Flat),
    ("torgovlya-tseny", 0.8, Season::Flat),
];

/// Population (thousands), centre, radius (km), settlement and locative of the demo region's
/// municipalities.
const MUNICIPALITIES: &[(&str, f64, f64, f64, f64, &str, &str)] = &[
    ("tyumen", 850.0, 57.153, 65.534, 8.0, "Тюмень", "в Тюмени"),
    ("tobolsk", 100.0, 58.198, 68.254, 4.0, "Тобольск", "в Тобольске"),
    ("ishim", 63.0, 56.113, 69.490, 3.5, "Ишим", "в Ишиме"),
    ("yalutorovsk", 40.0, 56.654, 66.312, 3.0, "Ялуторовск", "в Ялуторовске"),
    ("zavodoukovskiy", 45.0, 56.504, 66.551, 6.0, "Заводоуковск", "в Заводоуковске"),
    ("abatskiy", 17.0, 56.287, 70.456, 10.0, "с. Абатское", "в селе Абатском"),
    ("armizonskiy", 8.0, 55.953, 67.672, 8.0, "с. Армизонское", "в селе Армизонском"),
    ("aromashevskiy", 11.0, 56.860, 68.636, 8.0, "с. Аромашево", "в селе Аромашево"),
    ("berdyuzhskiy", 10.0, 55.808, 68.328, 8.0, "с. Бердюжье", "в селе Бердюжье"),
    ("vagayskiy", 19.0, 57.937, 69.021, 12.0, "с. Вагай", "в селе Вагай"),
    ("vikulovskiy", 14.0, 56.817, 70.611, 10.0, "с. Викулово", "в селе Викулово"),
    ("golyshmanovskiy", 27.0, 56.396, 68.372, 8.0, "р. п. Голышманово", "в посёлке Голышманово"),
    ("isetskiy", 22.0, 56.485, 65.322, 8.0, "с. Исетское", "в селе Исетском"),
    ("ishimskiy", 27.0, 56.050, 69.350, 15.0, "с. Стрехнино", "в селе Стрехнино"),
    ("kazanskiy", 19.0, 55.641, 69.232, 10.0, "с. Казанское", "в селе Казанском"),
    ("nizhnetavdinskiy", 24.0, 57.673, 66.170, 12.0, "с. Нижняя Тавда", "в селе Нижняя Тавда"),
    ("omutinskiy", 18.0, 56.476, 67.668, 8.0, "с. Омутинское", "в селе Омутинском"),
    ("sladkovskiy", 10.0, 55.528, 70.341, 8.0, "с. Сладково", "в селе Сладково"),
    ("sorokinskiy", 9.0, 56.660, 69.800, 8.0, "с. Большое Сорокино", "в селе Большое Сорокино"),
    ("tobolskiy", 21.0, 58.120, 68.590, 15.0, "с. Абалак", "в селе Абалак"),
    ("tyumenskiy", 170.0, 57.120, 65.520, 18.0, "р. п. Боровский", "в посёлке Боровском"),
    ("uporovskiy", 19.0, 56.313, 66.270, 8.0, "с. Упорово", "в селе Упорово"),
    ("uvatskiy", 18.0, 59.147, 68.895, 15.0, "с. Уват", "в селе Уват"),
    ("yurginskiy", 12.0, 56.822, 67.393, 8.0, "с. Юргинское", "в селе Юргинском"),
    ("yalutorovskiy", 25.0, 56.700, 66.300, 12.0, "с. Памятное", "в селе Памятном"),
    ("yarkovskiy", 22.0, 57.405, 67.080, 10.0, "с. Ярково", "в селе Ярково"),
];

/// Messages by local hour of the day.
const HOUR_WEIGHTS: [f64; 24] = [
    0.15, 0.08, 0.05, 0.04, 0.05, 0.12, 0.35, 0.75, 1.2, 1.5, 1.6, 1.55, 1.4, 1.35, 1.4, 1.45, 1.4, 1.3, 1.25, 1.35,
    1.4, 1.2, 0.8, 0.4,
];

/// The region as the simulation sees it: reference data, weights, places and the staff.
struct World {
    region: RegionData,
    tz: Tz,
    seed: u64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    center: AuthorityId,
    cats: Vec<Cat>,
    cats_by_month: Vec<Weighted>,
    munis: Vec<Muni>,
    munis_weighted: Weighted,
    /// Per category: the authorities that region-wide rules name for it or its group.
    regional: Vec<Vec<AuthorityId>>,
    officials: HashMap<AuthorityId, Vec<Actor>>,
    moderators: Vec<Actor>,
    admin: Actor,
}

fn actor(claims: &[(&str, &str)]) -> anyhow::Result<Actor> {
    let map: HashMap<String, String> = claims.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Actor::from_claims(&map).map_err(|e| anyhow!("building an actor from {claims:?}: {e}"))
}

impl World {
    fn new(region: RegionData, opts: &SeedOptions, start: DateTime<Utc>, end: DateTime<Utc>) -> anyhow::Result<World> {
        let tz = region.time_zone();
        let code = region.region.code.clone();
        let center = region.region.center_authority_id.clone();
        let cats: Vec<Cat> = region
            .categories
            .iter()
            .filter(|c| region.is_leaf(&c.id))
            .map(|c| {
                let known = CATEGORY_WEIGHTS.iter().find(|(id, _, _)| *id == c.id.as_str());
                Cat {
                    id: c.id.clone(),
                    group: c.parent_id.clone(),
                    name: c.name.clone(),
                    weight: known.map(|k| k.1).unwrap_or(1.0),
                    season: known.map(|k| k.2).unwrap_or(Season::Flat),
                    located: if c.duplicate_radius_m.is_some() { 0.75 } else { 0.0 },
                }
            })
            .collect();
        anyhow::ensure!(!cats.is_empty(), "the region has no categories to file messages in");
        let cats_by_month =
            (0..12).map(|m| Weighted::new(cats.iter().map(|c| c.weight * c.season.factor(m)))).collect();
        let total_pool = (opts.messages as f64 * 0.6).max(5000.0);
        let weight_sum: f64 = region
            .municipalities
            .iter()
            .map(|m| MUNICIPALITIES.iter().find(|k| k.0 == m.id.as_str()).map(|k| k.1).unwrap_or(20.0))
            .sum();
        let munis: Vec<Muni> = region
            .municipalities
            .iter()
            .map(|m| {
                let known = MUNICIPALITIES.iter().find(|k| k.0 == m.id.as_str());
                let weight = known.map(|k| k.1).unwrap_or(20.0);
                let pool = ((total_pool * weight / weight_sum.max(1.0)) as u32).max(200);
                Muni {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    weight,
                    center: known.map(|k| Area { lat: k.2, lon: k.3, radius_km: k.4 }),
                    settlement: known.map(|k| k.5.to_owned()).unwrap_or_else(|| m.name.clone()),
                    locative: known.map(|k| k.6.to_owned()).unwrap_or_else(|| format!("на территории: {}", m.name)),
                    administration: region
                        .authorities
                        .iter()
                        .find(|a| a.level == AuthorityLevel::Municipal && a.municipality_id.as_ref() == Some(&m.id))
                        .map(|a| a.id.clone()),
                    pool,
                    voters: pool.max(2000),
                    big_city: weight >= 300.0,
                }
            })
            .collect();
        anyhow::ensure!(!munis.is_empty(), "the region has no municipalities");
        let munis_weighted = Weighted::new(munis.iter().map(|m| m.weight));
        let regional = cats
            .iter()
            .map(|c| {
                let mut out: Vec<AuthorityId> = Vec::new();
                for r in &region.routing_rules {
                    let names = r.category_id == c.id || Some(&r.category_id) == c.group.as_ref();
                    if names
                        && r.municipality_id.is_none()
                        && r.authority_id != center
                        && !out.contains(&r.authority_id)
                    {
                        out.push(r.authority_id.clone());
                    }
                }
                out
            })
            .collect();
        let mut officials = HashMap::new();
        for a in &region.authorities {
            let n = match a.level {
                AuthorityLevel::Center => 8,
                AuthorityLevel::Regional => 3,
                AuthorityLevel::Municipal
                    if munis.iter().any(|m| m.big_city && Some(&a.id) == m.administration.as_ref()) =>
                {
                    8
                }
                AuthorityLevel::Municipal => 2,
            };
            let staff = (1..=n)
                .map(|k| {
                    let sub = format!("official-{}-{k}", a.id);
                    actor(&[("sub", &sub), ("roles", "[official]"), ("region", &code), ("authority", a.id.as_str())])
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            officials.insert(a.id.clone(), staff);
        }
        anyhow::ensure!(officials.contains_key(&center), "the region's centre {center} is not among its authorities");
        let moderators = (1..=3)
            .map(|k| actor(&[("sub", &format!("moderator-{code}-{k}")), ("roles", "[moderator]"), ("region", &code)]))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let admin = actor(&[("sub", &format!("admin-{code}-1")), ("roles", "[admin]"), ("region", &code)])?;
        Ok(World {
            region,
            tz,
            seed: opts.rng_seed,
            start,
            end,
            center,
            cats,
            cats_by_month,
            munis,
            munis_weighted,
            regional,
            officials,
            moderators,
            admin,
        })
    }

    /// An independent random stream, the same for the same seed, stream and index.
    fn rng(&self, stream: u64, index: u64) -> StdRng {
        StdRng::seed_from_u64(mix(mix(self.seed ^ mix(stream)) ^ index))
    }

    fn code(&self) -> &str {
        &self.region.region.code
    }

    fn citizen(&self, c: Citizen) -> anyhow::Result<Actor> {
        let m = self.munis.get(usize::from(c.muni)).context("a citizen's municipality")?;
        let sub = format!("citizen-{}-{}", m.id, c.number);
        let h = mix(hash_str(&sub));
        let birth = format!("{}-{:02}-{:02}", 1950 + h % 56, 1 + (h >> 8) % 12, 1 + (h >> 16) % 28);
        actor(&[
            ("sub", &sub),
            ("roles", "[citizen]"),
            ("region", self.code()),
            ("municipality", m.id.as_str()),
            ("birthdate", &birth),
        ])
    }

    fn officials_of(&self, authority: &AuthorityId) -> usize {
        self.officials.get(authority).map(Vec::len).unwrap_or(1).max(1)
    }

    /// An official of the authority (the ЦУР's when it has none).
    fn official(&self, authority: Option<&AuthorityId>, k: usize) -> anyhow::Result<&Actor> {
        let staff = authority
            .and_then(|a| self.officials.get(a))
            .filter(|s| !s.is_empty())
            .or_else(|| self.officials.get(&self.center))
            .context("the centre has no staff")?;
        staff.get(k % staff.len().max(1)).context("the centre has no staff")
    }

    /// The share of late answers of an authority: a stable trait of each one, 4 to 26 %.
    fn lateness(&self, authority: &AuthorityId) -> f64 {
        if *authority == self.center {
            return 0.04;
        }
        let u = (mix(hash_str(authority.as_str())) % 10_000) as f64 / 10_000.0;
        0.04 + 0.22 * u * u
    }

    /// Where a message goes when it is not for the authority it was routed to.
    fn alternative(&self, rng: &mut StdRng, cat: usize, muni: &Muni, not_to: &[AuthorityId]) -> Option<AuthorityId> {
        let mut options: Vec<&AuthorityId> = self.regional.get(cat).into_iter().flatten().collect();
        options.extend(muni.administration.as_ref());
        options.retain(|a| !not_to.contains(a));
        options.dedup();
        if options.is_empty() {
            return None;
        }
        options.get(rng.random_range(0..options.len())).map(|a| (*a).clone())
    }

    fn local(&self, day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
        let naive = day.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or_default());
        self.tz
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
    }

    /// Moves a moment into office hours (working days, 9 to 18 local), unless this one is among
    /// the few done in the evening or on a day off.
    fn work_time(&self, rng: &mut StdRng, t: DateTime<Utc>) -> DateTime<Utc> {
        if rng.random_bool(0.08) {
            return t;
        }
        let local = t.with_timezone(&self.tz);
        let day = local.date_naive();
        let calendar = &self.region.calendar;
        if calendar.is_working_day(day) && (9..18).contains(&local.hour()) {
            return t;
        }
        let day =
            if calendar.is_working_day(day) && local.hour() < 9 { day } else { calendar.nth_working_day_after(day, 1) };
        self.local(day, 9, 0) + Duration::minutes(rng.random_range(0..300))
    }

    /// Moves a moment out of the night, when residents sleep.
    fn awake_time(&self, rng: &mut StdRng, t: DateTime<Utc>) -> DateTime<Utc> {
        let local = t.with_timezone(&self.tz);
        if local.hour() >= 7 {
            return t;
        }
        self.local(local.date_naive(), 7, 0) + Duration::minutes(rng.random_range(0..240))
    }

    /// When the official answers: by the deadline, early more often than late in the term, or
    /// after it, mostly within days.
    fn answer_time(
        &self,
        rng: &mut StdRng,
        start: DateTime<Utc>,
        deadline: DateTime<Utc>,
        late: bool,
    ) -> DateTime<Utc> {
        let span = (deadline - start).num_seconds() - 3600;
        if late || span < 2 * 3600 {
            let hours = 2.0 + exponential(rng, 60.0).min(24.0 * 30.0);
            let from = deadline.max(start + Duration::minutes(30));
            return self.work_time(rng, from + Duration::seconds((hours * 3600.0) as i64)).max(from);
        }
        let f = rng.random::<f64>().powf(1.5);
        let t = start + Duration::seconds(1800 + (f * (span - 1800) as f64) as i64);
        let snapped = self.work_time(rng, t);
        if snapped < deadline - Duration::minutes(30) {
            snapped
        } else {
            t
        }
    }

    /// Submission moments over the window, by the weekly and daily rhythm, sorted.
    fn submission_times(&self, n: u64) -> Vec<i64> {
        let mut rng = self.rng(STREAM_TIMES, 0);
        let first = self.start.with_timezone(&self.tz).date_naive();
        let last = self.end.with_timezone(&self.tz).date_naive();
        let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
        let day_weights = Weighted::new(days.iter().map(|d| {
            let week = match d.weekday() {
                Weekday::Mon => 1.15,
                Weekday::Tue => 1.1,
                Weekday::Wed => 1.05,
                Weekday::Thu => 1.0,
                Weekday::Fri => 0.95,
                Weekday::Sat => 0.7,
                Weekday::Sun => 0.65,
            };
            if self.region.calendar.holidays.contains(d) {
                0.65
            } else {
                week
            }
        }));
        let hours = Weighted::new(HOUR_WEIGHTS);
        let (start, end) = (self.start.timestamp_millis(), self.end.timestamp_millis());
        let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        while (out.len() as u64) < n {
            let Some(&day) = days.get(day_weights.sample(&mut rng)) else { break };
            let hour = hours.sample(&mut rng) as u32;
            let t = self.local(day, hour, 0).timestamp_millis() + rng.random_range(0..3_600_000);
            if t > start && t <= end {
                out.push(t);
            }
        }
        out.sort_unstable();
        out
    }

    fn place(&self, rng: &mut StdRng, muni: usize) -> texts::Place {
        let big_city = self.munis.get(muni).is_some_and(|m| m.big_city);
        let streets = if big_city { texts::CITY_STREETS } else { texts::TOWN_STREETS };
        let street = texts::pick(rng, streets);
        let mut street2 = texts::pick(rng, streets);
        if street2 == street {
            let next = (streets.iter().position(|s| *s == street).unwrap_or(0) + 1) % streets.len();
            street2 = streets.get(next).copied().unwrap_or(street);
        }
        let house = rng.random_range(1..if big_city { 150 } else { 60 });
        texts::Place {
            street,
            street2,
            house,
            n: rng.random_range(2..5),
            route: texts::ROUTES.get(rng.random_range(0..texts::ROUTES.len())).copied().unwrap_or_default(),
        }
    }

    /// Polls spread over the window, each with its audience and ballots.
    fn plan_polls(&self, count: u32) -> Vec<PollPlan> {
        let window = (self.end - self.start).num_seconds().max(1) as f64;
        (0..count)
            .filter_map(|j| {
                let mut rng = self.rng(STREAM_POLL, u64::from(j));
                let template = texts::POLLS.get(rng.random_range(0..texts::POLLS.len()))?;
                let at = (0.05 + 0.85 * (f64::from(j) + rng.random::<f64>()) / f64::from(count)) * window;
                let open_day = (self.start + Duration::seconds(at as i64)).with_timezone(&self.tz).date_naive();
                let opens_at = self.local(open_day, 8, 0).max(self.start + Duration::hours(2));
                let days = match template.kind {
                    PollKind::Vote => rng.random_range(7..=14),
                    _ => rng.random_range(10..=21),
                };
                let closes_at = self.local(open_day + Duration::days(days), 20, 0);
                let create_at =
                    (opens_at - Duration::hours(rng.random_range(12..120))).max(self.start + Duration::minutes(30));
                let (audience, label) = self.audience(&mut rng);
                let year = opens_at.with_timezone(&self.tz).year();
                let questions: Vec<Question> = template
                    .questions
                    .iter()
                    .map(|q| Question {
                        text: q.text.to_owned(),
                        kind: q.kind,
                        options: q.options.iter().map(|o| (*o).to_owned()).collect(),
                        max_choices: q.max_choices,
                        required: q.required,
                    })
                    .collect();
                let preference: Vec<Vec<f64>> = template
                    .questions
                    .iter()
                    .map(|q| q.options.iter().map(|_| 0.05 + rng.random::<f64>().powi(2)).collect())
                    .collect();
                let voters_from: Vec<usize> = if audience.is_empty() {
                    (0..self.munis.len()).collect()
                } else {
                    audience.iter().filter_map(|a| self.munis.iter().position(|m| &m.id == a)).collect()
                };
                let voter_weights =
                    Weighted::new(voters_from.iter().map(|i| self.munis.get(*i).map_or(0.0, |m| m.weight)));
                let last = closes_at.min(self.end);
                let span = (last - opens_at).num_seconds();
                let wanted = rng.random_range(30..=300);
                let mut seen = HashSet::new();
                let mut ballots = Vec::new();
                for _ in 0..wanted * 3 {
                    if ballots.len() >= wanted || span <= 60 {
                        break;
                    }
                    let Some(&muni) = voters_from.get(voter_weights.sample(&mut rng)) else { break };
                    let Some(m) = self.munis.get(muni) else { break };
                    let voter = Citizen { muni: muni as u16, number: rng.random_range(0..m.voters) };
                    if !seen.insert(voter) {
                        continue;
                    }
                    let offset = (rng.random::<f64>().powf(1.7) * (span - 60) as f64) as i64 + 30;
                    let answers = texts::ballot(&mut rng, template, &preference);
                    ballots.push((opens_at + Duration::seconds(offset), voter, answers));
                }
                let kind_title = template.title.replace("{year}", &year.to_string());
                Some(PollPlan {
                    create_at: create_at.min(opens_at - Duration::minutes(1)).max(self.start),
                    input: NewPoll {
                        kind: template.kind,
                        title: format!("{kind_title} — {label}"),
                        description: Some(template.description.to_owned()),
                        questions,
                        audience: Audience {
                            municipalities: audience,
                            min_age: (template.kind == PollKind::Vote).then_some(18),
                        },
                        opens_at,
                        closes_at,
                        results: if template.kind == PollKind::Vote {
                            ResultsVisibility::AfterClose
                        } else {
                            ResultsVisibility::Live
                        },
                    },
                    ballots,
                })
            })
            .collect()
    }

    /// A poll's audience: one municipality, a few, or the whole region; and its label.
    fn audience(&self, rng: &mut StdRng) -> (Vec<MunicipalityId>, String) {
        let roll = rng.random::<f64>();
        if roll < 0.4 || self.munis.len() == 1 {
            return match self.munis.get(self.munis_weighted.sample(rng)) {
                Some(m) => (vec![m.id.clone()], m.name.clone()),
                None => (vec![], self.region.region.name.clone()),
            };
        }
        if roll < 0.7 {
            let k = rng.random_range(3..=8).min(self.munis.len());
            let mut chosen: Vec<usize> = Vec::new();
            while chosen.len() < k {
                let i = rng.random_range(0..self.munis.len());
                if !chosen.contains(&i) {
                    chosen.push(i);
                }
            }
            chosen.sort_unstable();
            let noun = if (2..=4).contains(&k) {
                "муниципальных образования"
            } else {
                "муниципальных образований"
            };
            return (
                chosen.iter().filter_map(|i| self.munis.get(*i)).map(|m| m.id.clone()).collect(),
                format!("{k} {noun}"),
            );
        }
        (vec![], self.region.region.name.clone())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Texts
// ---------------------------------------------------------------------------------------------------------------

mod texts {
    use super::{Cat, Muni, PollKind, QuestionKind, RejectReason, World};
    use chrono::{DateTime, Duration, Utc};
    use feedback_core::ids::AuthorityId;
    use feedback_core::participation::BallotAnswer;
    use rand::rngs::StdRng;
    use rand::Rng;

    /// Where a message is about.
    pub struct Place {
        pub street: &'static str,
        pub street2: &'static str,
        pub house: u32,
        /// A small count (2 to 4) for "дня", "недели", "раза".
        pub n: u32,
        pub route: u32,
    }

    pub const CITY_STREETS: &[&str] = &[
        "Республики",
        "Мельникайте",
        "Широтная",
        "Пермякова",
        "Малыгина",
        "50 лет Октября",
        "Холодильная",
        "Федюнинского",
        "Ленина",
        "Орджоникидзе",
        "Харьковская",
        "Монтажников",
        "Газовиков",
        "Минская",
        "Ямская",
        "Щербакова",
        "Олимпийская",
        "Ставропольская",
        "Николая Семёнова",
        "Тимофея Чаркова",
        "Энергетиков",
        "Котовского",
        "Дружбы",
        "Волгоградская",
        "Народная",
        "Судостроителей",
    ];

    pub const TOWN_STREETS: &[&str] = &[
        "Ленина",
        "Советская",
        "Мира",
        "Гагарина",
        "Молодёжная",
        "Школьная",
        "Набережная",
        "Строителей",
        "Комсомольская",
        "Победы",
        "Садовая",
        "Лесная",
        "Зелёная",
        "Октябрьская",
        "Первомайская",
        "Северная",
        "Пионерская",
        "Береговая",
        "Механизаторов",
        "Колхозная",
    ];

    pub const ROUTES: &[u32] = &[2, 10, 14, 25, 30, 33, 51, 61, 77, 88, 96, 125, 141];

    const OPENERS: &[&str] = &["Здравствуйте!", "Добрый день!", "Добрый вечер.", "Уважаемые специалисты!"];

    const REQUESTS: &[&str] = &[
        "Прошу принять меры.",
        "Просим разобраться и устранить проблему.",
        "Прошу сообщить сроки решения.",
        "Прошу провести проверку и принять меры.",
        "Надеемся на вашу помощь.",
        "Просим взять ситуацию на контроль.",
    ];

    /// Problem statements by leaf category. Placeholders: `{place}` ("№ 12 на улице Ленина"),
    /// `{street}` and `{street2}` in the form that follows "улице", "улицы" ("Советской"),
    /// `{street_nom}` ("Советская"), `{in_town}` ("в Тюмени"), `{n}` (2 to 4), `{route}`.
    const MESSAGES: &[(&str, &[&str])] = &[
        ("zhkh-otoplenie", &[
            "В доме {place} уже {n} дня холодные батареи, в квартирах не выше 17 градусов.",
            "Плохо прогреваются радиаторы в подъезде и квартирах дома {place}, дети болеют.",
            "После начала отопительного сезона в доме {place} так и не дали тепло.",
        ]),
        ("zhkh-hvs", &[
            "В доме {place} нет холодной воды с утра, аварийная служба не отвечает.",
            "Из крана в доме {place} идёт ржавая вода с запахом, пить её невозможно.",
            "Очень слабый напор холодной воды на верхних этажах дома {place}.",
        ]),
        ("zhkh-gvs", &[
            "В доме {place} отключили горячую воду {n} дня назад без предупреждения.",
            "Горячая вода в доме {place} еле тёплая, температура явно ниже нормы.",
        ]),
        ("zhkh-elektrosnabzhenie", &[
            "В доме {place} постоянно пропадает электричество, за неделю отключали {n} раза.",
            "Скачки напряжения в доме {place}, у жителей сгорела бытовая техника.",
        ]),
        ("zhkh-gazosnabzhenie", &[
            "Во дворе дома {place} чувствуется запах газа возле газовой трубы.",
            "Не подключают газ к частному дому на улице {street}, заявка подана полгода назад.",
        ]),
        ("zhkh-kanalizatsiya", &[
            "В подвале дома {place} прорвало канализацию, стоит вода и сильный запах.",
            "Канализационный колодец у дома {place} переполнен, стоки текут по двору.",
        ]),
        ("zhkh-musor", &[
            "Контейнерную площадку у дома {place} не вывозят уже {n} дня, мусор лежит вокруг баков.",
            "Мусор с площадки на улице {street} вывозят нерегулярно, баки переполнены.",
            "Во дворе дома {place} не хватает контейнеров, мусор складывают прямо на землю.",
        ]),
        ("zhkh-upravlyayushchie", &[
            "Управляющая компания не убирает подъезды дома {place}, лестницы грязные уже месяц.",
            "В доме {place} давно не работает лифт, управляющая компания заявки игнорирует.",
            "Протекает крыша дома {place}, после дождя заливает квартиры верхнего этажа.",
        ]),
        ("zhkh-kapremont", &[
            "Капитальный ремонт крыши дома {place} перенесли уже второй раз, хотя взносы платим исправно.",
            "Подрядчик по капремонту оставил дом {place} без фасадных работ и ушёл с объекта.",
        ]),
        ("zhkh-platezhi", &[
            "В квитанции за отопление выставлена сумма почти вдвое больше прошлого месяца, перерасчёт не делают.",
            "Начисляют плату за вывоз мусора на человека, который давно выписан из квартиры.",
            "Управляющая компания включила в квитанцию непонятную услугу, разъяснений не дают.",
        ]),
        ("dorogi-yamy", &[
            "На проезжей части улицы {street} возле дома {house} глубокая яма, машины объезжают по встречной.",
            "На дороге у дома {place} после зимы образовались ямы, повредил колесо.",
            "Разбит асфальт на перекрёстке улиц {street} и {street2}, ямы заполнены водой.",
        ]),
        ("dorogi-sneg", &[
            "Тротуар на улице {street} не чистят от снега, пешеходы идут по проезжей части.",
            "Во дворе дома {place} не вывозят снег, машины не могут выехать.",
            "На остановке у дома {place} сплошная наледь, люди падают.",
        ]),
        ("dorogi-svetofory", &[
            "Не работает светофор на пересечении улиц {street} и {street2}.",
            "Упал дорожный знак у дома {place}, водители не видят пешеходный переход.",
        ]),
        ("dorogi-razmetka", &[
            "Стёрлась разметка пешеходного перехода у дома {place}, рядом школа и это опасно.",
            "Повреждено дорожное ограждение на улице {street} после аварии, его не восстановили.",
        ]),
        ("dorogi-remont", &[
            "Улица {street_nom} {in_town} много лет без ремонта, покрытие разрушено полностью.",
            "Ремонт дороги на улице {street} затянулся, подрядчик не работает уже {n} недели.",
        ]),
        ("dorogi-regionalnye", &[
            "На региональной дороге рядом с населённым пунктом {in_town} большие ямы и нет освещения.",
            "Межмуниципальная дорога {in_town} в ужасном состоянии, нужен капитальный ремонт.",
        ]),
        ("transport-raspisanie", &[
            "Автобус маршрута № {route} ходит с интервалом больше часа вместо двадцати минут по расписанию.",
            "Утром автобусы маршрута № {route} переполнены, на остановке на улице {street} люди не могут сесть.",
        ]),
        ("transport-ostanovki", &[
            "Остановка на улице {street} без навеса и скамейки, зимой ждать невозможно.",
            "На остановочном павильоне у дома {place} разбито стекло.",
        ]),
        ("transport-marshruty", &[
            "Просим продлить маршрут № {route} до нового микрорайона, жителям приходится идти пешком.",
            "После изменения схемы движения {in_town} нет прямого маршрута до центра.",
        ]),
        ("transport-podvizhnoy-sostav", &[
            "Водитель автобуса маршрута № {route} курил в салоне и грубил пассажирам.",
            "В автобусах маршрута № {route} зимой не работает отопление.",
        ]),
        ("transport-oplata", &[
            "Валидатор в автобусе маршрута № {route} не принимает транспортную карту, кондуктор требует наличные.",
            "Не применяется льготный тариф по карте пенсионера при оплате проезда.",
        ]),
        ("blagoustroystvo-ploshchadki", &[
            "На детской площадке у дома {place} сломаны качели, торчат металлические детали.",
            "Во дворе дома {place} нет детской площадки, просим включить двор в программу благоустройства.",
        ]),
        ("blagoustroystvo-dvory", &[
            "Во дворе дома {place} разбит тротуар, после дождя стоят огромные лужи.",
            "Двор дома {place} нуждается в ремонте: нет освещения, парковки и нормальных пешеходных дорожек.",
            "Тротуар вдоль улицы {street} разрушен, с коляской пройти невозможно.",
        ]),
        ("blagoustroystvo-osveshchenie", &[
            "На улице {street} не горят фонари от дома {house} до перекрёстка, вечером очень темно.",
            "Во дворе дома {place} уже месяц не работает уличное освещение.",
        ]),
        ("blagoustroystvo-zhivotnye", &[
            "Возле дома {place} собирается стая бездомных собак, они бросаются на прохожих и детей.",
            "У школы на улице {street} бегают агрессивные собаки без ошейников.",
        ]),
        ("blagoustroystvo-ozelenenie", &[
            "Во дворе дома {place} сухое дерево наклонилось над детской площадкой и может упасть.",
            "Газоны вдоль улицы {street} не косят, трава выше колена.",
        ]),
        ("blagoustroystvo-kladbishcha", &[
            "На кладбище {in_town} не вывозят мусор, дорожки не расчищены.",
            "Подъездная дорога к кладбищу {in_town} разбита, нет освещения и контейнеров.",
        ]),
        ("blagoustroystvo-prostranstva", &[
            "Просим благоустроить сквер на улице {street}: нет скамеек, урн и освещения.",
            "На набережной {in_town} разрушена плитка и сломаны скамейки.",
        ]),
        ("zdravookhranenie-zapis", &[
            "Невозможно записаться к терапевту в поликлинике на улице {street}: свободных номерков нет на две недели.",
            "Запись к узким специалистам через портал Госуслуг не работает уже месяц.",
        ]),
        ("zdravookhranenie-lekarstva", &[
            "Льготникам в аптеке не выдают выписанные лекарства, говорят, что поставки нет.",
            "Ребёнку с диабетом не выдают тест-полоски по льготному рецепту.",
        ]),
        ("zdravookhranenie-skoraya", &[
            "Скорая помощь ехала к пожилому человеку в дом {place} больше часа.",
            "Диспетчер скорой помощи отказал в выезде к больному с высокой температурой.",
        ]),
        ("zdravookhranenie-polikliniki", &[
            "В поликлинике на улице {street} огромные очереди в регистратуру, работает одно окно.",
            "В больнице {in_town} не работает лифт, пациентов носят на руках.",
        ]),
        ("zdravookhranenie-fap", &[
            "Фельдшерско-акушерский пункт {in_town} закрыт уже {n} месяца, фельдшера нет.",
            "Здание фельдшерского пункта {in_town} в аварийном состоянии, течёт крыша.",
        ]),
        ("obrazovanie-sady", &[
            "Ребёнку три года, а места в детском саду рядом с домом {place} так и не дали.",
            "В детском саду на улице {street} в группах холодно, дети болеют.",
        ]),
        ("obrazovanie-shkoly", &[
            "В школе на улице {street} занятия идут в три смены, классы переполнены.",
            "В спортивном зале школы {in_town} протекает крыша, уроки физкультуры отменяют.",
        ]),
        ("obrazovanie-pitanie", &[
            "В школьной столовой на улице {street} детям дают холодную и невкусную еду.",
            "Родители жалуются на качество питания в детском саду {in_town}.",
        ]),
        ("obrazovanie-podvoz", &[
            "Школьный автобус {in_town} часто не приходит, дети опаздывают на уроки.",
            "Детей из соседнего посёлка перестали возить в школу, автобус сломался месяц назад.",
        ]),
        ("obrazovanie-dopobrazovanie", &[
            "В доме детского творчества {in_town} закрыли бесплатные кружки для школьников.",
            "Не хватает мест в спортивной секции для детей {in_town}, очередь на год.",
        ]),
        ("ekologiya-svalki", &[
            "В лесополосе у дороги {in_town} образовалась стихийная свалка строительного мусора.",
            "За гаражами на улице {street} много лет лежит свалка, её никто не убирает.",
        ]),
        ("ekologiya-zagryaznenie", &[
            "По вечерам в районе улицы {street} стоит сильный запах гари, дышать тяжело.",
            "В реку {in_town} сливают неочищенные стоки, вода мутная и пахнет.",
        ]),
        ("ekologiya-vyrubka", &[
            "В лесу рядом с населённым пунктом {in_town} вырубают деревья без разрешительных документов.",
            "В зелёной зоне у улицы {street} идёт вырубка сосен, просим проверить законность.",
        ]),
        ("sotszashchita-lgoty", &[
            "Второй месяц не приходит ежемесячная выплата ветерану труда, в соцзащите ответить не могут.",
            "Отказали в компенсации за оплату коммунальных услуг, хотя документы поданы полностью.",
        ]),
        ("sotszashchita-dostupnaya-sreda", &[
            "Вход в поликлинику на улице {street} без пандуса, человек на коляске не может попасть внутрь.",
            "На пешеходном переходе у дома {place} нет съезда с бордюра для колясок.",
        ]),
        ("sotszashchita-semi-s-detmi", &[
            "Многодетной семье не выдают земельный участок, очередь не двигается несколько лет.",
            "Задерживают выплату пособия на ребёнка, заявление подано два месяца назад.",
        ]),
        ("sotszashchita-zanyatost", &[
            "В центре занятости {in_town} не предлагают подходящих вакансий уже полгода.",
            "Работодатель задерживает зарплату третий месяц, куда обратиться за помощью?",
        ]),
        ("svyaz-mobilnaya", &[
            "В деревне рядом с населённым пунктом {in_town} совсем нет мобильной связи, невозможно вызвать скорую.",
            "Очень плохой сигнал сотовой связи в районе улицы {street}.",
        ]),
        ("svyaz-internet", &[
            "Проводного интернета {in_town} нет, мобильный работает только на улице.",
            "Программа подключения к интернету до нашей улицы {street} так и не дошла.",
        ]),
        ("svyaz-pochta", &[
            "Почтовое отделение {in_town} работает два дня в неделю, пенсию и посылки получить сложно.",
            "Посылки и письма на улицу {street} не доставляют, почтальона нет уже месяц.",
        ]),
        ("bezopasnost-pozharnaya", &[
            "В подвале дома {place} хранят горючий мусор, жильцы боятся пожара.",
            "Пожарный гидрант у дома {place} засыпан и не обозначен.",
        ]),
        ("bezopasnost-pavodok", &[
            "Талой водой подтапливает дома на улице {street}, водоотводные канавы не прочищены.",
            "Уровень воды в реке {in_town} быстро растёт, жители просят сообщить о мерах защиты.",
        ]),
        ("bezopasnost-grazhdanskaya-oborona", &[
            "Сирена оповещения {in_town} не работает, при проверке её не было слышно.",
            "Защитное сооружение во дворе дома {place} закрыто и захламлено.",
        ]),
        ("kultura-sport-uchrezhdeniya", &[
            "В доме культуры {in_town} протекает крыша, занятия кружков отменяют.",
            "Библиотека на улице {street} закрыта на ремонт уже год без объяснений.",
        ]),
        ("kultura-sport-nasledie", &[
            "Старинный дом на улице {street}, объект культурного наследия, разрушается без консервации.",
            "На историческом здании {in_town} обрушился балкон, ограждения нет.",
        ]),
        ("kultura-sport-sportobekty", &[
            "Хоккейную коробку во дворе дома {place} не заливают этой зимой.",
            "На стадионе {in_town} разбиты беговые дорожки, тренироваться негде.",
        ]),
        ("stroitelstvo-sotsobekty", &[
            "Строительство новой школы {in_town} идёт с отставанием, работ на площадке не видно.",
            "Детский сад в микрорайоне у улицы {street} обещали открыть год назад, стройка стоит.",
        ]),
        ("stroitelstvo-samovol", &[
            "Во дворе дома {place} без разрешения строят гаражи на месте газона.",
            "На улице {street} возводят пристройку к магазину прямо на тротуаре.",
        ]),
        ("stroitelstvo-dolshchiki", &[
            "Дом {place}, где мы купили квартиру по договору долевого участия, не достроен уже {n} года.",
            "Застройщик на улице {street} остановил работы, дольщики не знают, когда получат квартиры.",
        ]),
        ("torgovlya-nezakonnaya", &[
            "У остановки на улице {street} продают продукты с рук без разрешений и холодильников.",
            "Возле рынка {in_town} работают нестационарные киоски без документов.",
        ]),
        ("torgovlya-tseny", &[
            "В магазинах {in_town} резко выросли цены на хлеб и молоко, просим проверить обоснованность.",
            "На заправках {in_town} цены на топливо заметно выше, чем в соседних районах.",
        ]),
    ];

    /// Details a resident may add, by category group.
    const DETAILS: &[(&str, &[&str])] = &[
        (
            "zhkh",
            &[
                "Управляющая компания на звонки не отвечает.",
                "Жители уже обращались в диспетчерскую, заявку приняли, но ничего не сделали.",
                "В доме живут пожилые люди и маленькие дети.",
            ],
        ),
        (
            "dorogi",
            &[
                "Особенно опасно в тёмное время суток.",
                "Здесь каждый день ходят дети в школу.",
                "Ситуация повторяется каждый год.",
            ],
        ),
        ("transport", &["Так продолжается уже несколько недель.", "Люди опаздывают на работу и учёбу."]),
        (
            "blagoustroystvo",
            &[
                "Жители готовы участвовать в субботнике, но нужна помощь.",
                "Раньше уже обращались, но ничего не изменилось.",
            ],
        ),
    ];

    const GENERIC_DETAILS: &[&str] = &[
        "Ситуация не меняется уже несколько недель.",
        "Фотографии могу предоставить по запросу.",
        "Это касается всех жителей района.",
    ];

    /// Answers by category group. Placeholder: `{date}`, a date some days after the answer.
    const ANSWERS: &[(&str, &[&str])] = &[
        ("zhkh", &[
            "Ваше обращение рассмотрено. Управляющей организации выдано предписание устранить нарушение до {date}. Исполнение взято на контроль.",
            "По вашему обращению проведена проверка. Неисправность устранена аварийной службой, параметры услуги восстановлены.",
            "Специалисты выезжали на место. Работы по устранению проблемы включены в план и будут выполнены до {date}.",
        ]),
        ("dorogi", &[
            "Обращение рассмотрено. Ямочный ремонт на указанном участке выполнен подрядной организацией.",
            "Участок включён в план ремонта дорог. Работы будут выполнены до {date}, при неблагоприятной погоде сроки могут быть скорректированы.",
            "Подрядчику выдано предписание. Работы по содержанию участка выполнены, его состояние взято на контроль.",
        ]),
        ("transport", &[
            "Обращение рассмотрено. Перевозчику указано на нарушение расписания, с водителями проведена беседа, за работой маршрута установлен контроль.",
            "Ваше предложение рассмотрено и будет учтено при корректировке маршрутной сети.",
        ]),
        ("blagoustroystvo", &[
            "Обращение рассмотрено. Работы выполнены подрядной организацией, территория приведена в порядок.",
            "Адрес включён в план работ на текущий сезон. Выполнение запланировано до {date}.",
        ]),
        ("zdravookhranenie", &[
            "Обращение рассмотрено. Руководству медицинской организации поручено организовать дополнительный приём, ситуация взята на контроль.",
            "Проведена проверка. Недостатки в работе медицинской организации устранены, с персоналом проведена беседа.",
        ]),
        ("obrazovanie", &[
            "Обращение рассмотрено. Руководителю образовательной организации даны поручения, устранение замечаний взято на контроль.",
            "Ваш вопрос рассмотрен. Необходимые работы запланированы и будут выполнены до {date}.",
        ]),
        ("ekologiya", &[
            "Проведено обследование территории. Нарушение подтвердилось, материалы направлены для привлечения виновных к ответственности, территория будет очищена до {date}.",
        ]),
        ("sotszashchita", &[
            "Обращение рассмотрено. Выплата назначена и будет перечислена до {date}.",
            "Специалисты центра социального обслуживания свяжутся с вами для консультации и оформления документов.",
        ]),
        ("svyaz", &[
            "Обращение рассмотрено. Информация направлена операторам связи, населённый пункт включён в программу устранения цифрового неравенства.",
        ]),
        ("bezopasnost", &["Проведена проверка, нарушения требований безопасности устранены. Ситуация находится на контроле."]),
        ("kultura-sport", &["Обращение рассмотрено. Учреждению поручено устранить недостатки до {date}."]),
        ("stroitelstvo", &["Проведена проверка. Застройщику выдано предписание, ход работ находится на контроле, срок — до {date}."]),
        ("torgovlya", &["Проведена проверка, нарушители привлечены к ответственности. Рейды будут продолжены."]),
    ];

    const GENERIC_ANSWER: &str =
        "Ваше обращение рассмотрено. Приняты меры по устранению проблемы, ситуация взята на контроль.";

    const POST_ANSWER: &str = "Почтовая связь относится к ведению АО «Почта России». Обращение направлено в УФПС Тюменской области, ответ будет дан в установленный срок.";

    pub fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
        items.get(rng.random_range(0..items.len())).copied().unwrap_or_default()
    }

    fn lookup<'a>(table: &[(&str, &'a [&'a str])], key: &str) -> Option<&'a [&'a str]> {
        table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// A street name as it follows "на улице", "вдоль улицы": adjectives agree ("Советской"),
    /// names in the genitive stay ("Ленина").
    fn oblique(street: &str) -> String {
        match street.strip_suffix("ая") {
            Some(stem) => format!("{stem}ой"),
            None => street.to_owned(),
        }
    }

    /// A resident's message about a problem of the category.
    pub fn message(rng: &mut StdRng, cat: &Cat, muni: &Muni, place: &Place) -> String {
        let core = match lookup(MESSAGES, cat.id.as_str()) {
            Some(t) => pick(rng, t).to_owned(),
            None => format!("Проблема по теме «{}» {{in_town}}: ситуация не решается уже {{n}} недели.", cat.name),
        };
        let (street, street2) = (oblique(place.street), oblique(place.street2));
        let core = core
            .replace("{place}", &format!("№ {} на улице {street}", place.house))
            .replace("{street_nom}", place.street)
            .replace("{street2}", &street2)
            .replace("{street}", &street)
            .replace("{house}", &place.house.to_string())
            .replace("{in_town}", &muni.locative)
            .replace("{n}", &place.n.to_string())
            .replace("{route}", &place.route.to_string());
        let mut parts: Vec<&str> = Vec::with_capacity(4);
        if rng.random_bool(0.3) {
            parts.push(pick(rng, OPENERS));
        }
        parts.push(&core);
        if rng.random_bool(0.5) {
            let details = cat.group.as_ref().and_then(|g| lookup(DETAILS, g.as_str())).unwrap_or(GENERIC_DETAILS);
            parts.push(pick(rng, details));
        }
        if rng.random_bool(0.8) {
            parts.push(pick(rng, REQUESTS));
        }
        parts.join(" ")
    }

    /// An official's answer.
    pub fn answer(
        rng: &mut StdRng,
        world: &World,
        cat: usize,
        authority: &AuthorityId,
        again: bool,
        at: DateTime<Utc>,
    ) -> String {
        let Some(cat) = world.cats.get(cat) else { return GENERIC_ANSWER.to_owned() };
        let body = if cat.id.as_str() == "svyaz-pochta" {
            POST_ANSWER
        } else {
            match cat.group.as_ref().and_then(|g| lookup(ANSWERS, g.as_str())) {
                Some(t) => pick(rng, t),
                None => GENERIC_ANSWER,
            }
        };
        let date = (at + Duration::days(rng.random_range(3..30))).with_timezone(&world.tz).format("%d.%m.%Y");
        let body = body.replace("{date}", &date.to_string());
        let mut out = String::new();
        if again {
            out.push_str("Повторно рассмотрели ваше обращение. ");
        } else if *authority == world.center && cat.id.as_str() != "svyaz-pochta" {
            out.push_str("Обращение рассмотрено Центром управления регионом. ");
        }
        out.push_str(&body);
        if rng.random_bool(0.3) {
            out.push_str(pick(rng, &[" Спасибо за обращение!", " Благодарим за неравнодушие."]));
        }
        out
    }

    /// A moderator's reason and comment.
    pub fn rejection(rng: &mut StdRng) -> (RejectReason, Option<&'static str>) {
        let roll = rng.random::<f64>();
        let (reason, comment) = if roll < 0.3 {
            (RejectReason::NotARequest, Some("Сообщение не содержит описания проблемы"))
        } else if roll < 0.55 {
            (RejectReason::Duplicate, Some("Аналогичное сообщение уже рассматривается"))
        } else if roll < 0.75 {
            (RejectReason::Spam, Some("Сообщение содержит рекламу"))
        } else if roll < 0.9 {
            (RejectReason::PersonalData, Some("В сообщении указаны персональные данные третьих лиц"))
        } else {
            (RejectReason::NoContent, None)
        };
        (reason, comment)
    }

    /// What the author writes with a score, if anything.
    pub fn rating_comment(rng: &mut StdRng, score: u8, reopen: bool) -> Option<&'static str> {
        if !reopen && !rng.random_bool(0.35) {
            return None;
        }
        let options: &[&str] = match score {
            1 | 2 if reopen => &[
                "Проблема не решена, ответ формальный.",
                "Работы так и не выполнены, прошу проверить ещё раз.",
                "Ответ не по существу, ситуация прежняя.",
            ],
            1 | 2 => &["Проблема не решена.", "Ответ формальный."],
            3 => &["Сделали частично.", "Долго, но решили."],
            _ => &["Спасибо, проблему решили быстро!", "Спасибо за оперативность.", "Всё сделали, спасибо."],
        };
        Some(pick(rng, options))
    }

    pub struct QuestionTemplate {
        pub text: &'static str,
        pub kind: QuestionKind,
        pub options: &'static [&'static str],
        pub max_choices: Option<u8>,
        pub required: bool,
    }

    pub struct PollTemplate {
        pub kind: PollKind,
        pub title: &'static str,
        pub description: &'static str,
        pub questions: &'static [QuestionTemplate],
    }

    const fn single(text: &'static str, options: &'static [&'static str]) -> QuestionTemplate {
        QuestionTemplate { text, kind: QuestionKind::Single, options, max_choices: None, required: true }
    }

    const fn multi(text: &'static str, options: &'static [&'static str], max: u8) -> QuestionTemplate {
        QuestionTemplate { text, kind: QuestionKind::Multi, options, max_choices: Some(max), required: true }
    }

    const fn free(text: &'static str) -> QuestionTemplate {
        QuestionTemplate { text, kind: QuestionKind::Text, options: &[], max_choices: None, required: false }
    }

    const VOTE: &str =
        "Голосование проводится на платформе обратной связи. Итоги будут опубликованы после его завершения.";
    const SURVEY: &str = "Опрос поможет органам власти учесть мнение жителей. Результаты видны сразу после ответа.";

    pub const POLLS: &[PollTemplate] = &[
        PollTemplate {
            kind: PollKind::Vote,
            title: "Выбор общественной территории для благоустройства в {year} году",
            description: VOTE,
            questions: &[single(
                "Какую территорию благоустроить в первую очередь?",
                &["Центральный парк", "Набережная", "Сквер у Дома культуры", "Площадь у администрации", "Детский парк"],
            )],
        },
        PollTemplate {
            kind: PollKind::Vote,
            title: "Название нового сквера",
            description: VOTE,
            questions: &[single(
                "Выберите название для нового сквера",
                &["Сквер Победы", "Семейный сквер", "Сквер Строителей", "Сквер Нефтяников"],
            )],
        },
        PollTemplate {
            kind: PollKind::Vote,
            title: "Какой спортивный объект построить в {year} году",
            description: VOTE,
            questions: &[single(
                "Какой объект нужнее всего?",
                &["Крытый каток", "Бассейн", "Футбольное поле", "Площадка для воркаута"],
            )],
        },
        PollTemplate {
            kind: PollKind::Vote,
            title: "Дизайн новой детской площадки",
            description: VOTE,
            questions: &[single(
                "Какой вариант оформления вам нравится?",
                &["Морская тема", "Космос", "Сказочный городок", "Спортивная тема"],
            )],
        },
        PollTemplate {
            kind: PollKind::Survey,
            title: "Качество уборки снега",
            description: SURVEY,
            questions: &[
                single(
                    "Как вы оцениваете уборку снега в этом сезоне?",
                    &["Отлично", "Хорошо", "Удовлетворительно", "Плохо"],
                ),
                multi(
                    "Где уборка хуже всего?",
                    &["Дворы", "Тротуары", "Остановки", "Пешеходные переходы", "Проезжая часть"],
                    3,
                ),
                free("Ваши предложения"),
            ],
        },
        PollTemplate {
            kind: PollKind::Survey,
            title: "Работа общественного транспорта",
            description: SURVEY,
            questions: &[
                single(
                    "Как часто вы пользуетесь общественным транспортом?",
                    &["Каждый день", "Несколько раз в неделю", "Редко", "Не пользуюсь"],
                ),
                multi(
                    "Что улучшить в первую очередь?",
                    &[
                        "Интервалы движения",
                        "Состояние автобусов",
                        "Остановки",
                        "Вежливость водителей",
                        "Оплата проезда",
                    ],
                    2,
                ),
                free("Ваши предложения"),
            ],
        },
        PollTemplate {
            kind: PollKind::Survey,
            title: "Доступность медицинской помощи",
            description: SURVEY,
            questions: &[
                single("Удаётся ли записаться к врачу в течение недели?", &["Всегда", "Иногда", "Почти никогда"]),
                multi(
                    "Каких специалистов не хватает?",
                    &["Терапевт", "Педиатр", "Невролог", "Офтальмолог", "Стоматолог"],
                    3,
                ),
                free("Что бы вы изменили?"),
            ],
        },
        PollTemplate {
            kind: PollKind::Survey,
            title: "Качество мобильной связи и интернета",
            description: SURVEY,
            questions: &[
                single(
                    "Как вы оцениваете мобильный интернет в вашем населённом пункте?",
                    &["Хорошо", "Удовлетворительно", "Плохо", "Связи нет"],
                ),
                multi("Где связь хуже всего?", &["Дома", "На работе", "На трассе", "В общественных местах"], 2),
                free("Ваши предложения"),
            ],
        },
    ];

    const TEXT_ANSWERS: &[&str] = &[
        "Чаще убирать дворы рано утром",
        "Добавить рейсы в часы пик",
        "Открыть дополнительный приём по субботам",
        "Поставить вышку связи у школы",
        "Больше скамеек и освещения",
        "Вывозить снег, а не сгребать его в кучи",
        "Установить табло прибытия автобусов",
        "Сообщать жителям сроки работ заранее",
    ];

    /// One resident's answers, by the poll's preferences.
    pub fn ballot(rng: &mut StdRng, poll: &PollTemplate, preference: &[Vec<f64>]) -> Vec<BallotAnswer> {
        let mut out = Vec::new();
        for (qi, q) in poll.questions.iter().enumerate() {
            let weights = super::Weighted::new(preference.get(qi).into_iter().flatten().copied());
            match q.kind {
                QuestionKind::Single => {
                    out.push(BallotAnswer { question: qi, options: vec![weights.sample(rng)], text: None });
                }
                QuestionKind::Multi => {
                    let max = usize::from(q.max_choices.unwrap_or(1)).clamp(1, q.options.len());
                    let want = rng.random_range(1..=max);
                    let mut options: Vec<usize> = Vec::new();
                    for _ in 0..want * 4 {
                        let o = weights.sample(rng);
                        if !options.contains(&o) {
                            options.push(o);
                        }
                        if options.len() == want {
                            break;
                        }
                    }
                    options.sort_unstable();
                    out.push(BallotAnswer { question: qi, options, text: None });
                }
                QuestionKind::Text => {
                    if rng.random_bool(0.35) {
                        out.push(BallotAnswer {
                            question: qi,
                            options: vec![],
                            text: Some(pick(rng, TEXT_ANSWERS).to_owned()),
                        });
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(messages: u64, days: u32) -> World {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/regions/72-tyumen.toml");
        let region = load_region_file(&path).unwrap();
        let opts = SeedOptions { data: PathBuf::new(), region_file: path, messages, polls: 3, days, rng_seed: 7 };
        let end = DateTime::parse_from_rfc3339("2026-11-28T12:00:00+05:00").unwrap().with_timezone(&Utc);
        World::new(region, &opts, end - Duration::days(i64::from(days)), end).unwrap()
    }

    #[test]
    fn every_generated_text_passes_automatic_moderation() {
        let w = world(1000, 30);
        let mut rng = w.rng(99, 0);
        for (ci, cat) in w.cats.iter().enumerate() {
            for i in 0..60 {
                let muni = i % w.munis.len();
                let place = w.place(&mut rng, muni);
                let text = texts::message(&mut rng, cat, &w.munis[muni], &place);
                let parsed = MessageText::parse(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
                assert_eq!(feedback_core::moderation::moderate(parsed.as_str()), Ok(()), "{text}");
                let answer = texts::answer(&mut rng, &w, ci, &w.center, i % 2 == 0, w.end);
                assert!(MessageText::parse(&answer).is_ok(), "{answer}");
            }
        }
    }

    #[test]
    fn the_demo_region_is_fully_modelled() {
        let w = world(1000, 30);
        assert_eq!(w.cats.len(), 59);
        for c in &w.cats {
            assert!(CATEGORY_WEIGHTS.iter().any(|k| k.0 == c.id.as_str()), "no weight for {}", c.id);
        }
        for m in &w.munis {
            assert!(m.center.is_some() && m.administration.is_some(), "{} is not modelled", m.id);
        }
        let tyumen = w.munis.iter().find(|m| m.id.as_str() == "tyumen").unwrap();
        assert!(w.munis.iter().all(|m| m.weight <= tyumen.weight));
    }

    #[test]
    fn submissions_follow_the_week_and_the_day_and_stay_in_the_window() {
        let w = world(20_000, 56);
        let times = w.submission_times(20_000);
        assert_eq!(times.len(), 20_000);
        assert!(times.windows(2).all(|p| p[0] <= p[1]));
        let (start, end) = (w.start.timestamp_millis(), w.end.timestamp_millis());
        assert!(times.iter().all(|t| *t > start && *t <= end));
        let (mut weekday, mut weekend, mut night, mut day) = (0, 0, 0, 0);
        for t in &times {
            let local = time(*t).with_timezone(&w.tz);
            match local.weekday() {
                Weekday::Sat | Weekday::Sun => weekend += 1,
                _ => weekday += 1,
            }
            match local.hour() {
                1..=4 => night += 1,
                10..=13 => day += 1,
                _ => {}
            }
        }
        assert!(f64::from(weekday) / 5.0 > 1.3 * f64::from(weekend) / 2.0, "{weekday} weekday, {weekend} weekend");
        assert!(day > 10 * night, "{day} by day, {night} at night");
    }

    #[test]
    fn the_same_seed_plans_the_same_polls_and_submissions() {
        let (a, b) = (world(500, 60), world(500, 60));
        assert_eq!(a.submission_times(500), b.submission_times(500));
        let (pa, pb) = (a.plan_polls(3), b.plan_polls(3));
        assert_eq!(pa.len(), 3);
        for (x, y) in pa.iter().zip(&pb) {
            assert_eq!(x.input, y.input);
            assert_eq!(x.ballots.len(), y.ballots.len());
            assert!(x.ballots.len() >= 30 && x.ballots.len() <= 300);
            assert!(x.create_at < x.input.opens_at && x.input.opens_at < x.input.closes_at);
            assert!(x.ballots.iter().all(|(t, _, _)| *t >= x.input.opens_at && *t < x.input.closes_at));
        }
    }
}
