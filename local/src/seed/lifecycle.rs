//! What each event of the simulation does, through the same use cases real traffic goes through:
//! a message's lifecycle step by step, a poll's creation and its ballots.

use super::model::{exponential, Citizen, Weighted};
use super::queue::SeedQueue;
use super::texts;
use super::world::{PollPlan, World, STREAM_MESSAGE};
use anyhow::{anyhow, Context};
use chrono::{DateTime, Datelike, Duration, Utc};
use feedback_core::ids::{AuthorityId, MessageId, PollId};
use feedback_core::message::Status;
use feedback_core::participation::{BallotAnswer, Participation};
use feedback_core::service::{Messages, NewMessage, RouteOutcome, Routing};
use feedback_core::values::{Address, CommentText, Location, MessageText, Reason};
use feedback_core::workflow::Workflow;
use feedback_core::ManualClock;
use feedback_core::ServiceError;
use feedback_embedded::SqliteStore;
use rand::rngs::StdRng;
use rand::Rng;
use std::sync::Arc;

pub(super) type Clock = Arc<ManualClock>;

/// One set of services on its own clock.
pub(super) struct Lane {
    pub(super) clock: Clock,
    pub(super) messages: Messages<SqliteStore, SeedQueue, Clock>,
    pub(super) routing: Routing<SqliteStore, SeedQueue, Clock>,
    pub(super) workflow: Workflow<SqliteStore, SeedQueue, Clock>,
    pub(super) participation: Participation<SqliteStore, Clock>,
}

/// A message in flight and what its lifecycle has decided so far.
pub(super) struct Msg {
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
pub(super) enum Step {
    Route,
    Reject,
    Take,
    ReturnToCenter,
    CenterRedirect,
    Answer,
    Rate,
}

pub(super) struct Ballot {
    poll: PollId,
    voter: Citizen,
    answers: Vec<BallotAnswer>,
}

pub(super) enum Work {
    /// The message with this chronological index is submitted.
    Submit(u64),
    Message(Box<Msg>, Step),
    CreatePoll(Box<PollPlan>),
    Ballot(Box<Ballot>),
    /// The scheduled jobs: escalation and the poll schedule.
    Tick,
}

impl Work {
    pub(super) fn conflict_key(&self) -> Option<(u16, i64, i64)> {
        match self {
            Work::Message(m, _) => m.conflict_key(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Counts {
    pub(super) submitted: u64,
    pub(super) linked: u64,
    pub(super) redirected: u64,
    pub(super) reopened: u64,
    pub(super) polls: u64,
    pub(super) ballots: u64,
}

impl Counts {
    pub(super) fn add(&mut self, o: &Counts) {
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
pub(super) struct Done {
    pub(super) next: Vec<(DateTime<Utc>, Work)>,
    pub(super) counts: Counts,
}

impl Done {
    fn then(at: DateTime<Utc>, work: Work) -> Done {
        Done { next: vec![(at, work)], counts: Counts::default() }
    }
}

pub(super) async fn perform(world: &World, lane: &Lane, work: Work, at: DateTime<Utc>) -> anyhow::Result<Done> {
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
    let text = texts::message(&mut rng, &world.demo, cat, m, &place);
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
            let (reason, comment) = texts::rejection(&mut m.rng, &world.demo);
            let comment =
                comment.as_deref().map(Reason::parse).transpose().map_err(|e| anyhow!("generated comment: {e}"))?;
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
            let reason =
                Reason::parse(&world.demo.redirects.to_center).map_err(|e| anyhow!("generated reason: {e}"))?;
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
            let reason = Reason::parse(&world.demo.redirects.onward).map_err(|e| anyhow!("generated reason: {e}"))?;
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
            let cat = world.cats.get(usize::from(m.category));
            let local = at.with_timezone(&world.tz);
            let text = texts::answer(&mut m.rng, &world.demo, cat, authority == world.center, m.reopened, local);
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
    let comment = texts::rating_comment(&mut m.rng, &world.demo, score, reopen)
        .as_deref()
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
