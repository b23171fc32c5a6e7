//! The participation use cases: creating and scheduling polls, voting, results, comments and
//! their moderation.

use super::ballot::{
    new_receipt, random_id, shard_of, validate_answers, voter_hash, BallotAnswer, BallotContent, BallotRefused,
    BallotWrite, PollStore, Results, SealedBallot, Tally, TextAnswer, VoterSecret, RECEIPT_LEN,
};
use super::comments::{Comment, CommentStore, Flag, ModerationState, FLAGS_SHOWN, HIDE_AFTER_FLAGS};
use super::poll::{validate_new_poll, NewPoll, Poll, PollKind, PollStatus, ResultsVisibility};
use super::seal::{self, BallotKeys};
use crate::actor::{Actor, Role};
use crate::error::{FieldError, ServiceError};
use crate::event::{Event, EventType, PollData};
use crate::ids::{CommentId, PollId};
use crate::page::{Cursor, Limit, Page};
use crate::ports::{Clock, Job, OutboxItem, Quota, ReferenceStore, StoreError};
use crate::reference::Reference;
use crate::values::{CommentText, FlagReason};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::sync::Arc;

/// A poll as a caller sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PollForActor {
    pub poll: Poll,
    pub has_voted: Option<bool>,
}

/// A comment in the moderators' queue, with the reasons its flaggers gave.
#[derive(Debug, Clone, PartialEq)]
pub struct ModerationItem {
    pub comment: Comment,
    /// The reasons of its first `FLAGS_SHOWN` flags, by flagger; flags without one are left out.
    pub flag_reasons: Vec<FlagReason>,
}

/// What participation holds apart from the store: the voter-roll secret and the custody of the
/// polls' private ballot keys.
#[derive(Clone)]
pub struct PollSecrets {
    pub voter: VoterSecret,
    pub keys: Arc<dyn BallotKeys>,
}

/// Participation use cases.
pub struct Participation<S, C> {
    store: S,
    clock: C,
    reference: Arc<Reference<S>>,
    secret: VoterSecret,
    keys: Arc<dyn BallotKeys>,
    comments_per_hour: u32,
}

/// Sealed ballots read, text answers written and sealed ballots destroyed per store call.
const SEALED_BATCH: usize = 500;

/// The event a poll's opening or closing publishes to webhook endpoints, as the outbox item
/// written in that transition's own transaction: the poll's id, kind, title, municipalities and
/// schedule, never its ballots or voters.
fn published(event_type: EventType, poll: &Poll, at: DateTime<Utc>) -> Vec<OutboxItem> {
    let data = PollData {
        poll_id: poll.id,
        kind: poll.kind,
        title: poll.title.clone(),
        municipalities: poll.audience.municipalities.clone(),
        opens_at: poll.opens_at,
        closes_at: poll.closes_at,
    };
    vec![OutboxItem::new(Job::Publish { event: Event::about_poll(event_type, data, at) }, at)]
}

fn refused(e: BallotRefused) -> ServiceError {
    match e {
        BallotRefused::NotOpen => ServiceError::Conflict {
            code: "poll_not_open",
            detail: "Голосование сейчас не принимает ответы.".into(),
        },
        BallotRefused::AlreadyVoted => ServiceError::Conflict {
            code: "already_voted",
            detail: "Вы уже проголосовали в этом опросе.".into(),
        },
        BallotRefused::Store(e) => e.into(),
    }
}

impl<S: PollStore + CommentStore + ReferenceStore, C: Clock> Participation<S, C> {
    pub fn new(store: S, clock: C, reference: Arc<Reference<S>>, secrets: PollSecrets, comments_per_hour: u32) -> Self {
        Self { store, clock, reference, secret: secrets.voter, keys: secrets.keys, comments_per_hour }
    }

    pub fn reference(&self) -> &Arc<Reference<S>> {
        &self.reference
    }

    async fn region_admin(&self, actor: &Actor) -> Result<String, ServiceError> {
        let snap = self.reference.snapshot().await?;
        crate::policy::require_region_admin(actor, &snap.value)?;
        Ok(snap.value.region.code.clone())
    }

    async fn today(&self) -> Result<NaiveDate, ServiceError> {
        let tz = self.reference.snapshot().await?.value.time_zone();
        Ok(self.clock.now().with_timezone(&tz).date_naive())
    }

    /// An admin of the region creates a poll, survey or discussion.
    pub async fn create(&self, actor: &Actor, input: NewPoll) -> Result<Poll, ServiceError> {
        let region = self.region_admin(actor).await?;
        let now = self.clock.now();
        let mut errs = validate_new_poll(&input, now);
        let snap = self.reference.snapshot().await?;
        for (i, m) in input.audience.municipalities.iter().enumerate() {
            if snap.value.municipality(m).is_none() {
                errs.push(FieldError::new(
                    format!("audience.municipalities[{i}]"),
                    "неизвестное муниципальное образование",
                ));
            }
        }
        if !errs.is_empty() {
            return Err(ServiceError::Validation(errs));
        }
        let status = if input.opens_at <= now { PollStatus::Open } else { PollStatus::Scheduled };
        let poll = Poll {
            id: PollId::new_at(now),
            kind: input.kind,
            title: input.title.trim().to_owned(),
            description: input.description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty()),
            questions: input.questions,
            audience: input.audience,
            opens_at: input.opens_at,
            closes_at: input.closes_at,
            results: input.results,
            status,
            region,
            created_by: actor.id.clone(),
            created_at: now,
            version: 1,
            ballot_key: None,
        };
        let outbox =
            if poll.status == PollStatus::Open { published(EventType::PollOpened, &poll, now) } else { vec![] };
        if poll.kind == PollKind::Discussion || poll.results == ResultsVisibility::Live {
            self.store.create_poll(&poll, &outbox).await?;
            return Ok(poll);
        }
        // Results after the close: ballots are sealed to the poll's own key, whose private half
        // is kept apart from the store until the close destroys it.
        let (key, public) = seal::new_key_pair();
        self.keys.put_key(&poll.id, &key).await?;
        let poll = Poll { ballot_key: Some(public), ..poll };
        if let Err(e) = self.store.create_poll(&poll, &outbox).await {
            if let Err(cleanup) = self.keys.destroy_key(&poll.id).await {
                tracing::warn!(poll = %poll.id, error = %cleanup, "the ballot key of a poll not created stays kept");
            }
            return Err(e.into());
        }
        Ok(poll)
    }

    /// An admin cancels a poll before it closes.
    pub async fn cancel(&self, actor: &Actor, id: &PollId) -> Result<Poll, ServiceError> {
        self.region_admin(actor).await?;
        for _ in 0..5 {
            let poll = self.store.get_poll(id).await?.ok_or(ServiceError::NotFound)?;
            if !matches!(poll.status, PollStatus::Scheduled | PollStatus::Open) {
                return Err(ServiceError::Conflict {
                    code: "invalid_transition",
                    detail: match poll.status {
                        PollStatus::Cancelled => "Нельзя отменить: голосование уже отменено.",
                        _ => "Нельзя отменить: голосование уже завершено.",
                    }
                    .into(),
                });
            }
            let mut next = poll.clone();
            next.status = PollStatus::Cancelled;
            next.version += 1;
            match self.store.update_poll(poll.version, &next, &[]).await {
                Ok(()) => return Ok(next),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// One poll, for those who may see it: admins and analysts always, others if eligible.
    pub async fn get(&self, actor: &Actor, id: &PollId) -> Result<PollForActor, ServiceError> {
        let poll = self.store.get_poll(id).await?.ok_or(ServiceError::NotFound)?;
        let today = self.today().await?;
        if actor.has(Role::Admin) || actor.has(Role::Analyst) || actor.has(Role::Moderator) {
            return Ok(PollForActor { poll, has_voted: None });
        }
        if !actor.has(Role::Citizen) || !poll.admits(actor, today) {
            return Err(ServiceError::NotFound);
        }
        let has_voted = self.has_voted(&poll, actor).await?;
        Ok(PollForActor { poll, has_voted: Some(has_voted) })
    }

    async fn has_voted(&self, poll: &Poll, actor: &Actor) -> Result<bool, ServiceError> {
        if poll.kind == PollKind::Discussion {
            return Ok(false);
        }
        Ok(self.store.has_voted(&poll.id, &voter_hash(&self.secret.0, &poll.id, &actor.id)).await?)
    }

    /// Polls (or discussions) of one status; citizens see only those they are eligible for.
    pub async fn list(
        &self,
        actor: &Actor,
        discussions: bool,
        status: PollStatus,
        cursor: Option<Cursor>,
        limit: Limit,
    ) -> Result<Page<PollForActor>, ServiceError> {
        let today = self.today().await?;
        let staff = actor.has(Role::Admin) || actor.has(Role::Analyst) || actor.has(Role::Moderator);
        if !staff && !actor.has(Role::Citizen) {
            return Err(ServiceError::Forbidden("опросы доступны жителям и администраторам"));
        }
        let mut after = cursor.map(|c| c.position().to_owned());
        let mut items = Vec::new();
        let want = limit.get();
        loop {
            let batch = self.store.list_polls(discussions, status, after.as_deref(), want + 1).await?;
            let exhausted = batch.len() <= want;
            for poll in batch {
                after = Some(poll.list_key().1);
                if staff || poll.admits(actor, today) {
                    let has_voted = if staff { None } else { Some(self.has_voted(&poll, actor).await?) };
                    items.push(PollForActor { poll, has_voted });
                    if items.len() > want {
                        break;
                    }
                }
            }
            if items.len() > want || exhausted {
                break;
            }
        }
        let next_cursor = if items.len() > want {
            items.truncate(want);
            items.last().map(|p| Cursor::new(&p.poll.list_key().1).encode())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// An eligible citizen casts their one secret ballot; returns the receipt.
    pub async fn vote(&self, actor: &Actor, id: &PollId, answers: Vec<BallotAnswer>) -> Result<String, ServiceError> {
        if !actor.has(Role::Citizen) {
            return Err(ServiceError::Forbidden("голосуют жители"));
        }
        let poll = self.store.get_poll(id).await?.ok_or(ServiceError::NotFound)?;
        if poll.kind == PollKind::Discussion {
            return Err(ServiceError::NotFound);
        }
        if !poll.admits(actor, self.today().await?) {
            return Err(ServiceError::NotEligible);
        }
        let errs = validate_answers(&poll, &answers);
        if !errs.is_empty() {
            return Err(ServiceError::Validation(errs));
        }
        let content = match &poll.ballot_key {
            Some(public) => BallotContent::Sealed(SealedBallot {
                id: random_id(),
                sealed: seal::seal(public, &poll.id, &answers)
                    .map_err(|e| StoreError::backend("sealing a ballot", e))?,
            }),
            None => BallotContent::Counted {
                increments: Tally::increments(&poll, &answers),
                texts: answers
                    .into_iter()
                    .filter_map(|a| Some(TextAnswer { id: random_id(), question: a.question, text: a.text? }))
                    .collect(),
            },
        };
        let receipt = new_receipt();
        let ballot = BallotWrite {
            poll_id: poll.id,
            voter_hash: voter_hash(&self.secret.0, &poll.id, &actor.id),
            shard: shard_of(&receipt),
            receipt,
            content,
            municipality: actor.municipality.clone(),
            now: self.clock.now(),
        };
        self.store.cast_ballot(&ballot).await.map_err(refused)?;
        Ok(ballot.receipt)
    }

    /// Whether a receipt belongs to a counted ballot (any signed-in citizen; the receipt is the secret).
    pub async fn check_receipt(&self, actor: &Actor, receipt: &str) -> Result<PollId, ServiceError> {
        if !actor.has(Role::Citizen) {
            return Err(ServiceError::Forbidden("проверка квитанции доступна жителям"));
        }
        let valid = receipt.len() == RECEIPT_LEN && receipt.bytes().all(|b| b.is_ascii_alphanumeric());
        if !valid {
            return Err(ServiceError::NotFound);
        }
        self.store.receipt_poll(receipt).await?.ok_or(ServiceError::NotFound)
    }

    /// Results: frozen after the close, live before it when the poll allows.
    pub async fn results(&self, actor: &Actor, id: &PollId) -> Result<Results, ServiceError> {
        let poll = self.get(actor, id).await?.poll;
        if poll.kind == PollKind::Discussion {
            return Err(ServiceError::NotFound);
        }
        let staff = actor.has(Role::Admin) || actor.has(Role::Analyst);
        // Residents see option counts only: turnout by municipality is for admins and analysts,
        // since in a small municipality a count and a live result can reveal one person's choice;
        // and even they see groups under ten ballots suppressed.
        let for_actor = |mut r: Results| {
            if staff {
                r.disclosed()
            } else {
                r.turnout.clear();
                r
            }
        };
        if let Some(frozen) = self.store.get_results(id).await? {
            return Ok(for_actor(frozen));
        }
        if poll.results == ResultsVisibility::AfterClose && !(staff && poll.status == PollStatus::Cancelled) {
            return Err(ServiceError::Conflict {
                code: "results_not_published",
                detail: "Результаты будут опубликованы после завершения голосования.".into(),
            });
        }
        let tally = self.store.tally(id).await?;
        let mut live = Results::from_tally(&poll, &tally, false);
        if poll.results == ResultsVisibility::AfterClose {
            // A cancelled poll with results after the close: its ballots are never opened, so
            // staff see how many were cast and where, and no count per option.
            live.questions.clear();
        }
        Ok(for_actor(live))
    }

    /// The scheduled job: opens polls whose time came and closes due ones, freezing their
    /// results. Safe to run twice or concurrently.
    pub async fn run_schedule(&self) -> Result<ScheduleReport, ServiceError> {
        let now = self.clock.now();
        let mut report = ScheduleReport::default();
        for poll in self.store.due_polls(PollStatus::Scheduled, now, 100).await? {
            let mut next = poll.clone();
            next.status = PollStatus::Open;
            next.version += 1;
            match self.store.update_poll(poll.version, &next, &published(EventType::PollOpened, &next, now)).await {
                Ok(()) => report.opened += 1,
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        // One poll that cannot be closed (its store call fails, its ballot key is lost) must not
        // hold up the others: it is logged, counted and tried again by the next run.
        for poll in self.store.due_polls(PollStatus::Open, now, 100).await? {
            let id = poll.id;
            match self.close(poll).await {
                Ok(true) => report.closed += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(poll = %id, error = %e, "a due poll was not closed; the next run tries again");
                    report.failed += 1;
                }
            }
        }
        for poll in self.store.due_polls(PollStatus::Closed, now, 100).await? {
            let id = poll.id;
            match self.destroy_sealed(poll).await {
                Ok(true) => report.keys_destroyed += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(poll = %id, error = %e, "sealed ballots were not destroyed; the next run tries again");
                    report.failed += 1;
                }
            }
        }
        if report != ScheduleReport::default() {
            tracing::info!(?report, "poll schedule run");
        }
        Ok(report)
    }

    /// Closes one due poll: first to `closing` (no ballot commits after that), then the
    /// counters are read and the final results frozen together with `closed`.
    async fn close(&self, mut poll: Poll) -> Result<bool, ServiceError> {
        if poll.status == PollStatus::Open || poll.status == PollStatus::Scheduled {
            let mut closing = poll.clone();
            closing.status = PollStatus::Closing;
            closing.version += 1;
            match self.store.update_poll(poll.version, &closing, &[]).await {
                Ok(()) => poll = closing,
                Err(StoreError::Conflict) => match self.store.get_poll(&poll.id).await? {
                    Some(p) if p.status == PollStatus::Closing => poll = p,
                    _ => return Ok(false),
                },
                Err(e) => return Err(e.into()),
            }
        }
        if poll.status != PollStatus::Closing {
            return Ok(false);
        }
        let mut closed = poll.clone();
        closed.status = PollStatus::Closed;
        closed.version += 1;
        let results = if poll.kind == PollKind::Discussion {
            None
        } else {
            let tally = match poll.ballot_key {
                Some(_) => self.open_sealed(&poll).await?,
                None => self.store.tally(&poll.id).await?,
            };
            Some(Results::from_tally(&closed, &tally, true))
        };
        let outbox = published(EventType::PollClosed, &closed, self.clock.now());
        let outcome = match &results {
            Some(r) => self.store.freeze_results(poll.version, &closed, r, &outbox).await,
            None => self.store.update_poll(poll.version, &closed, &outbox).await,
        };
        match outcome {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        if closed.ballot_key.is_some() {
            // Failing here leaves the poll in the schedule's queue of keys to destroy.
            if let Err(e) = self.destroy_sealed(closed).await {
                tracing::warn!(error = %e, "the sealed ballots of a closed poll wait for the next run to be destroyed");
            }
        }
        Ok(true)
    }

    /// Opens every sealed ballot of a closing poll with its key, in no order that follows the
    /// casting, and counts them. Free-text answers are kept shuffled, under ids that the key
    /// derives (the same on a rerun, unlinkable once the key is gone). Turnout comes from the
    /// counters the ballots grew.
    async fn open_sealed(&self, poll: &Poll) -> Result<Tally, ServiceError> {
        use rand::seq::SliceRandom;
        let key = self
            .keys
            .get_key(&poll.id)
            .await?
            .ok_or_else(|| StoreError::backend("reading a ballot key", "the poll's ballot key is not kept"))?;
        let mut tally = Tally::default();
        let mut texts = Vec::new();
        let mut unreadable = 0usize;
        let mut after: Option<String> = None;
        loop {
            let page = self.store.sealed_page(&poll.id, after.as_deref(), SEALED_BATCH).await?;
            for ballot in &page.ballots {
                let Ok(answers) = seal::open(&key, &poll.id, &ballot.sealed) else {
                    unreadable += 1;
                    continue;
                };
                tally.count(poll, &answers);
                texts.extend(answers.into_iter().filter_map(|a| {
                    Some(TextAnswer {
                        id: seal::text_answer_id(&key, &ballot.id, a.question),
                        question: a.question,
                        text: a.text?,
                    })
                }));
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        if unreadable > 0 {
            tracing::error!(poll = %poll.id, unreadable, "sealed ballots that do not open with the poll's key are not counted");
        }
        texts.shuffle(&mut rand::rng());
        for chunk in texts.chunks(SEALED_BATCH) {
            self.store.put_text_answers(&poll.id, chunk).await?;
        }
        tally.turnout = self.store.tally(&poll.id).await?.turnout;
        Ok(tally)
    }

    /// Destroys the sealed ballots and then the private key of a poll that no longer takes
    /// ballots (closed with its results frozen, or cancelled), and clears its public key.
    async fn destroy_sealed(&self, poll: Poll) -> Result<bool, ServiceError> {
        if poll.ballot_key.is_none() || !matches!(poll.status, PollStatus::Closed | PollStatus::Cancelled) {
            return Ok(false);
        }
        while self.store.purge_sealed(&poll.id, SEALED_BATCH).await? > 0 {}
        self.keys.destroy_key(&poll.id).await?;
        let next = Poll { ballot_key: None, version: poll.version + 1, ..poll.clone() };
        match self.store.update_poll(poll.version, &next, &[]).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Comments of a discussion; citizens do not see hidden ones.
    pub async fn comments(
        &self,
        actor: &Actor,
        discussion: &PollId,
        cursor: Option<Cursor>,
        limit: Limit,
    ) -> Result<Page<Comment>, ServiceError> {
        let d = self.get(actor, discussion).await?.poll;
        if d.kind != PollKind::Discussion {
            return Err(ServiceError::NotFound);
        }
        let staff = actor.has(Role::Moderator) || actor.has(Role::Admin);
        let want = limit.get();
        let mut after = cursor.map(|c| c.position().to_owned());
        let mut items = Vec::new();
        loop {
            let batch = self.store.list_comments(discussion, after.as_deref(), want + 1).await?;
            let exhausted = batch.len() <= want;
            for c in batch {
                after = Some(c.id.to_string());
                if staff || !c.hidden {
                    items.push(c);
                    if items.len() > want {
                        break;
                    }
                }
            }
            if items.len() > want || exhausted {
                break;
            }
        }
        let next_cursor = if items.len() > want {
            items.truncate(want);
            items.last().map(|c| Cursor::new(&c.id.to_string()).encode())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// An eligible citizen comments while the discussion is open.
    pub async fn comment(
        &self,
        actor: &Actor,
        discussion: &PollId,
        text: CommentText,
        reply_to: Option<CommentId>,
    ) -> Result<Comment, ServiceError> {
        if !actor.has(Role::Citizen) {
            return Err(ServiceError::Forbidden("комментируют жители"));
        }
        let d = self.store.get_poll(discussion).await?.ok_or(ServiceError::NotFound)?;
        if d.kind != PollKind::Discussion {
            return Err(ServiceError::NotFound);
        }
        if !d.admits(actor, self.today().await?) {
            return Err(ServiceError::NotEligible);
        }
        let now = self.clock.now();
        let quota = Quota::hourly(format!("comment#{}", actor.id), self.comments_per_hour, now);
        if self.store.quota_used(&quota).await? >= quota.max {
            return Err(ServiceError::RateLimited { retry_after_secs: quota.retry_after_secs(now) });
        }
        crate::moderation::moderate_comment(text.as_str()).map_err(ServiceError::Moderation)?;
        if let Some(parent) = &reply_to {
            match self.store.get_comment(parent).await? {
                Some(p) if p.discussion_id == *discussion => {}
                _ => return Err(ServiceError::field("reply_to", "нет такого комментария в обсуждении")),
            }
        }
        if !d.accepts_at(now) {
            return Err(ServiceError::Conflict {
                code: "discussion_not_open",
                detail: "Обсуждение сейчас закрыто.".into(),
            });
        }
        let comment = Comment {
            id: CommentId::new_at(now),
            discussion_id: *discussion,
            author: actor.id.clone(),
            text: text.as_str().to_owned(),
            reply_to,
            created_at: now,
            flags: 0,
            hidden: false,
            restored: false,
            version: 1,
        };
        match self.store.add_comment(&comment, &quota).await {
            Ok(()) => Ok(comment),
            Err(StoreError::OverQuota) => {
                Err(ServiceError::RateLimited { retry_after_secs: quota.retry_after_secs(now) })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A citizen flags a comment, giving a reason or not; the third distinct flagger hides it.
    /// Flagging twice counts once, with the first reason.
    pub async fn flag(
        &self,
        actor: &Actor,
        id: &CommentId,
        reason: Option<FlagReason>,
    ) -> Result<Comment, ServiceError> {
        if !actor.has(Role::Citizen) {
            return Err(ServiceError::Forbidden("жалобы подают жители"));
        }
        let now = self.clock.now();
        let quota = Quota::hourly(format!("flag#{}", actor.id), self.comments_per_hour, now);
        if self.store.quota_used(&quota).await? >= quota.max {
            return Err(ServiceError::RateLimited { retry_after_secs: quota.retry_after_secs(now) });
        }
        let flag = Flag { flagger: actor.id.clone(), reason };
        for _ in 0..5 {
            let c = self.store.get_comment(id).await?.ok_or(ServiceError::NotFound)?;
            if c.hidden {
                return Err(ServiceError::NotFound);
            }
            if self.store.has_flagged(id, &actor.id).await? {
                return Ok(c);
            }
            let mut next = c.clone();
            next.flags += 1;
            next.version += 1;
            if next.flags >= HIDE_AFTER_FLAGS && !next.restored {
                next.hidden = true;
            }
            match self.store.update_comment(c.version, &next, Some((&flag, &quota))).await {
                Ok(()) => return Ok(next),
                Err(StoreError::OverQuota) => {
                    return Err(ServiceError::RateLimited { retry_after_secs: quota.retry_after_secs(now) })
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// A moderator hides or restores a comment.
    pub async fn moderate(&self, actor: &Actor, id: &CommentId, hide: bool) -> Result<Comment, ServiceError> {
        self.require_moderator(actor).await?;
        for _ in 0..5 {
            let c = self.store.get_comment(id).await?.ok_or(ServiceError::NotFound)?;
            let mut next = c.clone();
            next.hidden = hide;
            next.restored = !hide;
            next.version += 1;
            match self.store.update_comment(c.version, &next, None).await {
                Ok(()) => return Ok(next),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// The moderators' queue of flagged or hidden comments, each with its flaggers' reasons.
    pub async fn moderation_queue(
        &self,
        actor: &Actor,
        state: ModerationState,
        cursor: Option<Cursor>,
        limit: Limit,
    ) -> Result<Page<ModerationItem>, ServiceError> {
        self.require_moderator(actor).await?;
        let after = cursor.map(|c| c.position().to_owned());
        let mut comments = self.store.moderation_queue(state, after.as_deref(), limit.get() + 1).await?;
        let next_cursor = if comments.len() > limit.get() {
            comments.truncate(limit.get());
            comments.last().map(|c| Cursor::new(&c.id.to_string()).encode())
        } else {
            None
        };
        let mut items = Vec::with_capacity(comments.len());
        for comment in comments {
            let flags = self.store.flags(&comment.id, FLAGS_SHOWN).await?;
            let flag_reasons = flags.into_iter().filter_map(|f| f.reason).collect();
            items.push(ModerationItem { comment, flag_reasons });
        }
        Ok(Page { items, next_cursor })
    }

    async fn require_moderator(&self, actor: &Actor) -> Result<(), ServiceError> {
        let snap = self.reference.snapshot().await?;
        if crate::policy::is_region_moderator(actor, &snap.value) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("нужна роль модератора"))
        }
    }
}

/// What one schedule run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ScheduleReport {
    pub opened: usize,
    pub closed: usize,
    /// Polls whose sealed ballots and private key were destroyed.
    pub keys_destroyed: usize,
    /// Polls that could not be closed or whose sealed ballots could not be destroyed in this run.
    pub failed: usize,
}
