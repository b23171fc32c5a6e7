//! Participation: votes, surveys and discussions that a regional admin targets at municipalities
//! and schedules; one secret ballot per eligible resident; results when the poll allows.

use crate::actor::{Actor, Role};
use crate::error::{FieldError, ServiceError};
use crate::ids::{CitizenId, CommentId, MunicipalityId, PollId};
use crate::page::{Cursor, Limit, Page};
use crate::ports::Quota;
use crate::ports::{Clock, ReferenceStore, StoreError};
use crate::reference::Reference;
use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Tally counters are spread over this many shards per question, so a popular poll never
/// funnels every ballot through one item.
pub const TALLY_SHARDS: u8 = 8;
pub const MAX_QUESTIONS: usize = 10;
pub const MIN_OPTIONS: usize = 2;
pub const MAX_OPTIONS: usize = 10;
pub const MAX_TEXT_ANSWER: usize = 1000;
pub const MAX_COMMENT: usize = 1000;
/// Distinct flaggers after which a comment is hidden until a moderator restores it.
pub const HIDE_AFTER_FLAGS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PollKind {
    Vote,
    Survey,
    Discussion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    Single,
    Multi,
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Question {
    pub text: String,
    pub kind: QuestionKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_choices: Option<u8>,
    pub required: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Audience {
    /// Empty: the whole region.
    #[serde(default)]
    pub municipalities: Vec<MunicipalityId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_age: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResultsVisibility {
    Live,
    AfterClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PollStatus {
    Scheduled,
    Open,
    /// Closed to ballots; its results are being frozen.
    Closing,
    Closed,
    Cancelled,
}

impl PollStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PollStatus::Scheduled => "scheduled",
            PollStatus::Open => "open",
            PollStatus::Closing => "closing",
            PollStatus::Closed => "closed",
            PollStatus::Cancelled => "cancelled",
        }
    }
    /// The status callers see: `closing` is shown as `closed`.
    pub fn public(self) -> PollStatus {
        if self == PollStatus::Closing {
            PollStatus::Closed
        } else {
            self
        }
    }
    pub fn parse_public(raw: &str) -> Option<PollStatus> {
        Some(match raw {
            "scheduled" => PollStatus::Scheduled,
            "open" => PollStatus::Open,
            "closed" => PollStatus::Closed,
            "cancelled" => PollStatus::Cancelled,
            _ => return None,
        })
    }
}

/// A vote, survey or discussion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Poll {
    pub id: PollId,
    pub kind: PollKind,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<Question>,
    pub audience: Audience,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub results: ResultsVisibility,
    pub status: PollStatus,
    pub region: String,
    pub created_by: CitizenId,
    pub created_at: DateTime<Utc>,
    pub version: u32,
}

impl Poll {
    /// Its place in the schedule index: the next time close-polls must act on it.
    pub fn schedule_key(&self) -> Option<(PollStatus, String)> {
        let at = match self.status {
            PollStatus::Scheduled => self.opens_at,
            PollStatus::Open | PollStatus::Closing => self.closes_at,
            _ => return None,
        };
        let bucket = if self.status == PollStatus::Scheduled { PollStatus::Scheduled } else { PollStatus::Open };
        Some((bucket, format!("{:013}#{}", at.timestamp_millis().max(0), self.id)))
    }

    /// The listing partition (`polls` or `discussions` by public status) and sort key.
    pub fn list_key(&self) -> (String, String) {
        (
            list_partition(self.kind == PollKind::Discussion, self.status),
            format!("{:013}#{}", self.opens_at.timestamp_millis().max(0), self.id),
        )
    }

    /// Open for ballots or comments at `now`.
    pub fn accepts_at(&self, now: DateTime<Utc>) -> bool {
        matches!(self.status, PollStatus::Scheduled | PollStatus::Open) && self.opens_at <= now && now < self.closes_at
    }

    /// Whether `actor` belongs to the audience on `today` (the region's local date).
    pub fn admits(&self, actor: &Actor, today: NaiveDate) -> bool {
        if !self.audience.municipalities.is_empty()
            && !actor.municipality.as_ref().is_some_and(|m| self.audience.municipalities.contains(m))
        {
            return false;
        }
        match self.audience.min_age {
            None => true,
            Some(min) => actor.birthdate.is_some_and(|b| age_on(b, today) >= u32::from(min)),
        }
    }
}

/// The listing partition of polls (or discussions) in a status: the key `Poll::list_key` files a
/// poll under, and the one `PollStore::list_polls` reads.
pub fn list_partition(discussions: bool, status: PollStatus) -> String {
    let family = if discussions { "DISCUSSIONS" } else { "POLLS" };
    format!("{family}#{}", status.public().as_str())
}

/// Full years between a birth date and a day.
pub fn age_on(birth: NaiveDate, day: NaiveDate) -> u32 {
    let mut age = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age.max(0) as u32
}

/// One answer of a ballot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BallotAnswer {
    pub question: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// What a ballot transaction writes. It carries no citizen id: the voter roll holds only a
/// keyed hash, and the ballot only the answers and its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BallotWrite {
    pub poll_id: PollId,
    /// HMAC-SHA256(stack secret, poll id ‖ citizen id), hex.
    pub voter_hash: String,
    pub receipt: String,
    pub answers: Vec<BallotAnswer>,
    /// The tally shard, from the voter hash.
    pub shard: u8,
    /// The voter's municipality, for turnout.
    pub municipality: Option<MunicipalityId>,
    /// The ballot is refused unless the poll accepts ballots at this instant.
    pub now: DateTime<Utc>,
}

/// A stored ballot as its receipt finds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBallot {
    pub poll_id: PollId,
    pub receipt: String,
    pub answers: Vec<BallotAnswer>,
}

/// Why a ballot was not counted.
#[derive(Debug, thiserror::Error)]
pub enum BallotRefused {
    #[error("the poll does not accept ballots now")]
    NotOpen,
    #[error("this voter already voted")]
    AlreadyVoted,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counted answers: per question, per option.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub total: u64,
    /// question index → option index → count; text questions count under option index 0.
    pub counts: BTreeMap<usize, BTreeMap<usize, u64>>,
    pub turnout: BTreeMap<String, u64>,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.total += other.total;
        for (q, opts) in &other.counts {
            let e = self.counts.entry(*q).or_default();
            for (o, n) in opts {
                *e.entry(*o).or_default() += n;
            }
        }
        for (m, n) in &other.turnout {
            *self.turnout.entry(m.clone()).or_default() += n;
        }
    }

    /// The counter increments one ballot makes: per question, the option indexes (text answers
    /// count under index 0).
    pub fn increments(poll: &Poll, answers: &[BallotAnswer]) -> BTreeMap<usize, Vec<usize>> {
        let mut out = BTreeMap::new();
        for a in answers {
            let Some(q) = poll.questions.get(a.question) else { continue };
            let opts = match q.kind {
                QuestionKind::Text => vec![0],
                _ => a.options.clone(),
            };
            if !opts.is_empty() {
                out.insert(a.question, opts);
            }
        }
        out
    }
}

/// The results item frozen at close, or the live view of the tally.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Results {
    pub poll_id: PollId,
    pub status: PollStatus,
    pub total_ballots: u64,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub questions: Vec<QuestionResult>,
    pub turnout: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuestionResult {
    pub kind: QuestionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<OptionResult>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_answers: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OptionResult {
    pub index: usize,
    pub option: String,
    pub count: u64,
    pub share: f64,
}

impl Results {
    pub fn from_tally(poll: &Poll, tally: &Tally, is_final: bool) -> Results {
        let questions = poll
            .questions
            .iter()
            .enumerate()
            .map(|(qi, q)| {
                let counts = tally.counts.get(&qi);
                match q.kind {
                    QuestionKind::Text => QuestionResult {
                        kind: q.kind,
                        options: None,
                        text_answers: Some(counts.and_then(|c| c.get(&0)).copied().unwrap_or(0)),
                    },
                    _ => {
                        let options = q
                            .options
                            .iter()
                            .enumerate()
                            .map(|(oi, label)| {
                                let count = counts.and_then(|c| c.get(&oi)).copied().unwrap_or(0);
                                let share = if tally.total == 0 { 0.0 } else { count as f64 / tally.total as f64 };
                                OptionResult {
                                    index: oi,
                                    option: label.clone(),
                                    count,
                                    share: (share * 10_000.0).round() / 10_000.0,
                                }
                            })
                            .collect();
                        QuestionResult { kind: q.kind, options: Some(options), text_answers: None }
                    }
                }
            })
            .collect();
        Results {
            poll_id: poll.id,
            status: poll.status.public(),
            total_ballots: tally.total,
            is_final,
            questions,
            turnout: tally.turnout.clone(),
        }
    }
}

/// Polls, ballots and results.
#[async_trait]
pub trait PollStore: Send + Sync + 'static {
    /// Stores a new poll; an existing id is a `Conflict`.
    async fn create_poll(&self, poll: &Poll) -> Result<(), StoreError>;
    async fn get_poll(&self, id: &PollId) -> Result<Option<Poll>, StoreError>;
    /// Replaces the poll if its stored version is still `expected_version`.
    async fn update_poll(&self, expected_version: u32, next: &Poll) -> Result<(), StoreError>;
    /// Polls (or discussions) of one public status, by opening time, after the cursor key.
    async fn list_polls(
        &self,
        discussions: bool,
        status: PollStatus,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Poll>, StoreError>;
    /// Polls whose scheduled action (opening for `Scheduled`, closing for `Open`) is due before `before`.
    async fn due_polls(&self, bucket: PollStatus, before: DateTime<Utc>, limit: usize)
        -> Result<Vec<Poll>, StoreError>;
    /// One transaction: the poll accepts ballots at `ballot.now`, the voter-roll entry is new,
    /// the ballot is stored and the counters grow. All or nothing.
    async fn cast_ballot(&self, poll: &Poll, ballot: &BallotWrite) -> Result<(), BallotRefused>;
    async fn has_voted(&self, poll: &PollId, voter_hash: &str) -> Result<bool, StoreError>;
    async fn get_ballot(&self, receipt: &str) -> Result<Option<StoredBallot>, StoreError>;
    /// Every ballot of a poll, for the admins' export of free-text answers.
    async fn list_ballots(
        &self,
        poll: &PollId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredBallot>, StoreError>;
    /// The live counters, summed over their shards (read consistently).
    async fn tally(&self, poll: &PollId) -> Result<Tally, StoreError>;
    /// One transaction: the poll moves from `closing` to `closed` (version condition) and the
    /// final results item is created (must not exist).
    async fn freeze_results(&self, expected_version: u32, closed: &Poll, results: &Results) -> Result<(), StoreError>;
    async fn get_results(&self, poll: &PollId) -> Result<Option<Results>, StoreError>;
}

/// A comment in a discussion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: CommentId,
    pub discussion_id: PollId,
    pub author: CitizenId,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<CommentId>,
    pub created_at: DateTime<Utc>,
    pub flags: u32,
    pub hidden: bool,
    /// Restored by a moderator: flags no longer hide it.
    #[serde(default)]
    pub restored: bool,
    pub version: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModerationState {
    Flagged,
    Hidden,
}

impl ModerationState {
    pub fn as_str(self) -> &'static str {
        match self {
            ModerationState::Flagged => "flagged",
            ModerationState::Hidden => "hidden",
        }
    }
}

impl Comment {
    /// Its place in the moderators' queue.
    pub fn moderation_state(&self) -> Option<ModerationState> {
        if self.hidden {
            Some(ModerationState::Hidden)
        } else if self.flags > 0 && !self.restored {
            Some(ModerationState::Flagged)
        } else {
            None
        }
    }
}

/// Discussion comments and their moderation.
#[async_trait]
pub trait CommentStore: crate::ports::Quotas + Send + Sync + 'static {
    /// Stores a new comment, spending one unit of `quota` in the same transaction
    /// (`StoreError::OverQuota` and nothing written when it is used up).
    async fn add_comment(&self, comment: &Comment, quota: &Quota) -> Result<(), StoreError>;
    async fn get_comment(&self, id: &CommentId) -> Result<Option<Comment>, StoreError>;
    /// A discussion's comments, oldest first, after the cursor id.
    async fn list_comments(
        &self,
        discussion: &PollId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Comment>, StoreError>;
    /// Replaces the comment (version condition). With `flagger`, also records that flagger,
    /// which must be new: a repeated flagger is a `Conflict` and nothing changes; the flag spends
    /// one unit of the flagger's quota in the same transaction (`StoreError::OverQuota`).
    async fn update_comment(
        &self,
        expected_version: u32,
        next: &Comment,
        flagger: Option<(&CitizenId, &Quota)>,
    ) -> Result<(), StoreError>;
    async fn has_flagged(&self, comment: &CommentId, flagger: &CitizenId) -> Result<bool, StoreError>;
    /// Comments in one moderation state, by id, after the cursor id.
    async fn moderation_queue(
        &self,
        state: ModerationState,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Comment>, StoreError>;
    /// Creation times of the author's comments since `since`, at most `limit`.
    async fn comments_since(
        &self,
        author: &CitizenId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DateTime<Utc>>, StoreError>;
}

/// A new poll as an admin filed it, already parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPoll {
    pub kind: PollKind,
    pub title: String,
    pub description: Option<String>,
    pub questions: Vec<Question>,
    pub audience: Audience,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub results: ResultsVisibility,
}

/// How far from today a poll may open or close, in years.
pub const MAX_YEARS_AHEAD: i64 = 5;

/// Checks a new poll's shape, collecting every problem.
pub fn validate_new_poll(p: &NewPoll, now: DateTime<Utc>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let title = p.title.trim().chars().count();
    if !(3..=300).contains(&title) {
        errs.push(FieldError::new("title", "от 3 до 300 символов"));
    }
    if p.description.as_ref().is_some_and(|d| d.chars().count() > 5000) {
        errs.push(FieldError::new("description", "не длиннее 5000 символов"));
    }
    let horizon = chrono::Duration::days(365 * MAX_YEARS_AHEAD);
    let within = |t: DateTime<Utc>| {
        now.checked_sub_signed(horizon).is_some_and(|lo| lo <= t)
            && now.checked_add_signed(horizon).is_some_and(|hi| t <= hi)
    };
    for (field, t) in [("opens_at", p.opens_at), ("closes_at", p.closes_at)] {
        if !within(t) {
            errs.push(FieldError::new(
                field,
                format!("дата должна быть не дальше {MAX_YEARS_AHEAD} лет от сегодняшней"),
            ));
        }
    }
    if p.closes_at <= p.opens_at {
        errs.push(FieldError::new("closes_at", "должно быть позже opens_at"));
    }
    if p.closes_at <= now {
        errs.push(FieldError::new("closes_at", "уже в прошлом"));
    }
    match p.kind {
        PollKind::Discussion => {
            if !p.questions.is_empty() {
                errs.push(FieldError::new("questions", "у обсуждения нет вопросов"));
            }
        }
        PollKind::Vote => {
            if !matches!(p.questions.as_slice(), [q] if q.kind == QuestionKind::Single) {
                errs.push(FieldError::new("questions", "голосование — ровно один вопрос с одним вариантом ответа"));
            }
        }
        PollKind::Survey => {
            if p.questions.is_empty() || p.questions.len() > MAX_QUESTIONS {
                errs.push(FieldError::new("questions", format!("от 1 до {MAX_QUESTIONS} вопросов")));
            }
        }
    }
    for (i, q) in p.questions.iter().enumerate() {
        let field = |f: &str| format!("questions[{i}].{f}");
        if q.text.trim().is_empty() || q.text.chars().count() > 1000 {
            errs.push(FieldError::new(field("text"), "от 1 до 1000 символов"));
        }
        match q.kind {
            QuestionKind::Text => {
                if !q.options.is_empty() || q.max_choices.is_some() {
                    errs.push(FieldError::new(field("options"), "у текстового вопроса нет вариантов"));
                }
            }
            QuestionKind::Single | QuestionKind::Multi => {
                if !(MIN_OPTIONS..=MAX_OPTIONS).contains(&q.options.len()) {
                    errs.push(FieldError::new(
                        field("options"),
                        format!("от {MIN_OPTIONS} до {MAX_OPTIONS} вариантов"),
                    ));
                }
                if q.options.iter().any(|o| o.trim().is_empty() || o.chars().count() > 300) {
                    errs.push(FieldError::new(field("options"), "вариант — от 1 до 300 символов"));
                }
                match (q.kind, q.max_choices) {
                    (QuestionKind::Single, Some(_)) => {
                        errs.push(FieldError::new(field("max_choices"), "только для вопросов с несколькими ответами"))
                    }
                    (QuestionKind::Multi, Some(m)) if m == 0 || usize::from(m) > q.options.len() => {
                        errs.push(FieldError::new(field("max_choices"), "от 1 до числа вариантов"))
                    }
                    _ => {}
                }
            }
        }
    }
    errs
}

/// Checks a ballot's answers against the poll's questions.
pub fn validate_answers(poll: &Poll, answers: &[BallotAnswer]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, a) in answers.iter().enumerate() {
        let field = |f: &str| format!("answers[{i}].{f}");
        let Some(q) = poll.questions.get(a.question) else {
            errs.push(FieldError::new(field("question"), "нет такого вопроса"));
            continue;
        };
        if !seen.insert(a.question) {
            errs.push(FieldError::new(field("question"), "ответ на вопрос уже дан"));
        }
        match q.kind {
            QuestionKind::Text => {
                if !a.options.is_empty() {
                    errs.push(FieldError::new(field("options"), "у текстового вопроса нет вариантов"));
                }
                match &a.text {
                    Some(t) if !t.trim().is_empty() && t.chars().count() <= MAX_TEXT_ANSWER => {}
                    _ => errs.push(FieldError::new(field("text"), format!("от 1 до {MAX_TEXT_ANSWER} символов"))),
                }
            }
            QuestionKind::Single | QuestionKind::Multi => {
                if a.text.is_some() {
                    errs.push(FieldError::new(field("text"), "текст только для текстовых вопросов"));
                }
                let max = match q.kind {
                    QuestionKind::Single => 1,
                    _ => usize::from(q.max_choices.unwrap_or(q.options.len() as u8)),
                };
                let mut distinct = a.options.clone();
                distinct.sort_unstable();
                distinct.dedup();
                if a.options.is_empty() || a.options.len() > max || distinct.len() != a.options.len() {
                    errs.push(FieldError::new(field("options"), format!("от 1 до {max} разных вариантов")));
                }
                if a.options.iter().any(|o| *o >= q.options.len()) {
                    errs.push(FieldError::new(field("options"), "нет такого варианта"));
                }
            }
        }
    }
    for (qi, q) in poll.questions.iter().enumerate() {
        if q.required && !answers.iter().any(|a| a.question == qi) {
            errs.push(FieldError::new(format!("questions[{qi}]"), "обязательный вопрос без ответа"));
        }
    }
    errs
}

/// The keyed voter hash: without the stack secret nobody can tell whose entry it is.
pub fn voter_hash(secret: &[u8], poll: &PollId, citizen: &CitizenId) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(poll.to_string().as_bytes());
    mac.update(b"\x00");
    mac.update(citizen.as_str().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The tally shard of a voter hash.
pub fn shard_of(voter_hash: &str) -> u8 {
    u8::from_str_radix(voter_hash.get(..2).unwrap_or("00"), 16).unwrap_or(0) % TALLY_SHARDS
}

/// The length of a receipt.
pub const RECEIPT_LEN: usize = 26;

/// A secret, unguessable receipt: 128 random bits in Crockford base32.
pub fn new_receipt() -> String {
    ulid::Ulid(rand::random::<u128>()).to_string()
}

/// The stack secret that keys the voter roll. Never logged, never serialised.
#[derive(Clone)]
pub struct VoterSecret(Arc<Vec<u8>>);

impl VoterSecret {
    pub fn new(bytes: Vec<u8>) -> Result<VoterSecret, &'static str> {
        if bytes.len() < 16 {
            return Err("the voter-roll secret must be at least 16 bytes");
        }
        Ok(VoterSecret(Arc::new(bytes)))
    }
}

impl std::fmt::Debug for VoterSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VoterSecret(***)")
    }
}

/// A poll as a caller sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PollForActor {
    pub poll: Poll,
    pub has_voted: Option<bool>,
}

/// Participation use cases.
pub struct Participation<S, C> {
    store: S,
    clock: C,
    reference: Arc<Reference<S>>,
    secret: VoterSecret,
    comments_per_hour: u32,
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
    pub fn new(store: S, clock: C, reference: Arc<Reference<S>>, secret: VoterSecret, comments_per_hour: u32) -> Self {
        Self { store, clock, reference, secret, comments_per_hour }
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
        };
        self.store.create_poll(&poll).await?;
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
                    detail: format!("Нельзя отменить: статус {}.", poll.status.public().as_str()),
                });
            }
            let mut next = poll.clone();
            next.status = PollStatus::Cancelled;
            next.version += 1;
            match self.store.update_poll(poll.version, &next).await {
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
        let hash = voter_hash(&self.secret.0, &poll.id, &actor.id);
        let ballot = BallotWrite {
            poll_id: poll.id,
            shard: shard_of(&hash),
            voter_hash: hash,
            receipt: new_receipt(),
            answers,
            municipality: actor.municipality.clone(),
            now: self.clock.now(),
        };
        self.store.cast_ballot(&poll, &ballot).await.map_err(refused)?;
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
        let b = self.store.get_ballot(receipt).await?.ok_or(ServiceError::NotFound)?;
        Ok(b.poll_id)
    }

    /// Results: frozen after the close, live before it when the poll allows.
    pub async fn results(&self, actor: &Actor, id: &PollId) -> Result<Results, ServiceError> {
        let poll = self.get(actor, id).await?.poll;
        if poll.kind == PollKind::Discussion {
            return Err(ServiceError::NotFound);
        }
        if let Some(frozen) = self.store.get_results(id).await? {
            return Ok(frozen);
        }
        let staff = actor.has(Role::Admin) || actor.has(Role::Analyst);
        if poll.results == ResultsVisibility::AfterClose && !(staff && poll.status == PollStatus::Cancelled) {
            return Err(ServiceError::Conflict {
                code: "results_not_published",
                detail: "Результаты будут опубликованы после завершения голосования.".into(),
            });
        }
        let tally = self.store.tally(id).await?;
        Ok(Results::from_tally(&poll, &tally, false))
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
            match self.store.update_poll(poll.version, &next).await {
                Ok(()) => report.opened += 1,
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        for poll in self.store.due_polls(PollStatus::Open, now, 100).await? {
            if self.close(poll).await? {
                report.closed += 1;
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
            match self.store.update_poll(poll.version, &closing).await {
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
            let tally = self.store.tally(&poll.id).await?;
            Some(Results::from_tally(&closed, &tally, true))
        };
        let outcome = match &results {
            Some(r) => self.store.freeze_results(poll.version, &closed, r).await,
            None => self.store.update_poll(poll.version, &closed).await,
        };
        match outcome {
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
        text: &str,
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
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_COMMENT {
            return Err(ServiceError::field("text", format!("от 1 до {MAX_COMMENT} символов")));
        }
        let now = self.clock.now();
        let quota = Quota::hourly(format!("comment#{}", actor.id), self.comments_per_hour, now);
        if self.store.quota_used(&quota).await? >= quota.max {
            return Err(ServiceError::RateLimited { retry_after_secs: quota.retry_after_secs(now) });
        }
        crate::moderation::moderate_comment(text).map_err(ServiceError::Moderation)?;
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
            text: text.to_owned(),
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

    /// A citizen flags a comment; the third distinct flagger hides it. Flagging twice counts once.
    pub async fn flag(&self, actor: &Actor, id: &CommentId) -> Result<Comment, ServiceError> {
        if !actor.has(Role::Citizen) {
            return Err(ServiceError::Forbidden("жалобы подают жители"));
        }
        let now = self.clock.now();
        let quota = Quota::hourly(format!("flag#{}", actor.id), self.comments_per_hour, now);
        if self.store.quota_used(&quota).await? >= quota.max {
            return Err(ServiceError::RateLimited { retry_after_secs: quota.retry_after_secs(now) });
        }
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
            match self.store.update_comment(c.version, &next, Some((&actor.id, &quota))).await {
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

    /// The moderators' queue of flagged or hidden comments.
    pub async fn moderation_queue(
        &self,
        actor: &Actor,
        state: ModerationState,
        cursor: Option<Cursor>,
        limit: Limit,
    ) -> Result<Page<Comment>, ServiceError> {
        self.require_moderator(actor).await?;
        let after = cursor.map(|c| c.position().to_owned());
        let mut items = self.store.moderation_queue(state, after.as_deref(), limit.get() + 1).await?;
        let next_cursor = if items.len() > limit.get() {
            items.truncate(limit.get());
            items.last().map(|c| Cursor::new(&c.id.to_string()).encode())
        } else {
            None
        };
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(kind: PollKind, questions: Vec<Question>) -> NewPoll {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        NewPoll {
            kind,
            title: "Благоустройство набережной".into(),
            description: None,
            questions,
            audience: Audience::default(),
            opens_at: t("2026-12-01T00:00:00+05:00"),
            closes_at: t("2026-12-15T00:00:00+05:00"),
            results: ResultsVisibility::Live,
        }
    }
    fn q(kind: QuestionKind, options: &[&str], max: Option<u8>) -> Question {
        Question {
            text: "Что сделать в первую очередь?".into(),
            kind,
            options: options.iter().map(|s| s.to_string()).collect(),
            max_choices: max,
            required: true,
        }
    }
    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T12:00:00+05:00").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_vote_needs_exactly_one_single_choice_question_with_two_to_ten_options() {
        assert!(validate_new_poll(&poll(PollKind::Vote, vec![q(QuestionKind::Single, &["Да", "Нет"], None)]), now())
            .is_empty());
        assert!(
            !validate_new_poll(&poll(PollKind::Vote, vec![q(QuestionKind::Single, &["Да"], None)]), now()).is_empty()
        );
        assert!(!validate_new_poll(&poll(PollKind::Vote, vec![q(QuestionKind::Multi, &["А", "Б"], None)]), now())
            .is_empty());
        let eleven: Vec<String> = (0..11).map(|i| i.to_string()).collect();
        let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
        assert!(
            !validate_new_poll(&poll(PollKind::Vote, vec![q(QuestionKind::Single, &eleven, None)]), now()).is_empty()
        );
    }

    #[test]
    fn closing_before_opening_and_too_many_questions_are_refused() {
        let mut p = poll(PollKind::Survey, vec![q(QuestionKind::Text, &[], None)]);
        p.closes_at = p.opens_at;
        assert!(validate_new_poll(&p, now()).iter().any(|e| e.field == "closes_at"));
        let p = poll(PollKind::Survey, (0..11).map(|_| q(QuestionKind::Text, &[], None)).collect());
        assert!(validate_new_poll(&p, now()).iter().any(|e| e.field == "questions"));
        let p = poll(PollKind::Survey, vec![q(QuestionKind::Multi, &["А", "Б", "В"], Some(4))]);
        assert!(validate_new_poll(&p, now()).iter().any(|e| e.field == "questions[0].max_choices"));
    }

    #[test]
    fn answers_are_checked_against_the_questions() {
        let input = poll(
            PollKind::Survey,
            vec![
                q(QuestionKind::Single, &["А", "Б"], None),
                q(QuestionKind::Multi, &["А", "Б", "В"], Some(2)),
                q(QuestionKind::Text, &[], None),
            ],
        );
        let p = Poll {
            id: PollId::new_at(now()),
            kind: input.kind,
            title: input.title,
            description: None,
            questions: input.questions,
            audience: input.audience,
            opens_at: input.opens_at,
            closes_at: input.closes_at,
            results: input.results,
            status: PollStatus::Open,
            region: "72".into(),
            created_by: CitizenId::parse("admin").unwrap(),
            created_at: now(),
            version: 1,
        };
        let a = |question: usize, options: &[usize], text: Option<&str>| BallotAnswer {
            question,
            options: options.to_vec(),
            text: text.map(str::to_owned),
        };
        let ok = vec![a(0, &[1], None), a(1, &[0, 2], None), a(2, &[], Some("Больше фонарей"))];
        assert!(validate_answers(&p, &ok).is_empty());
        // an option out of range, too many choices, text on a choice question, a missing required answer
        assert!(!validate_answers(&p, &[a(0, &[2], None), a(1, &[0], None), a(2, &[], Some("x"))]).is_empty());
        assert!(!validate_answers(&p, &[a(0, &[0], None), a(1, &[0, 1, 2], None), a(2, &[], Some("x"))]).is_empty());
        assert!(!validate_answers(&p, &[a(0, &[0], Some("x")), a(1, &[0], None), a(2, &[], Some("x"))]).is_empty());
        assert!(!validate_answers(&p, &[a(0, &[0], None), a(1, &[0], None)]).is_empty());
        assert!(!validate_answers(&p, &[a(0, &[0, 0], None), a(1, &[0], None), a(2, &[], Some("x"))]).is_empty());
    }

    #[test]
    fn ages_count_full_years() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(age_on(d("2008-11-29"), d("2026-11-28")), 17);
        assert_eq!(age_on(d("2008-11-28"), d("2026-11-28")), 18);
    }

    #[test]
    fn voter_hashes_are_keyed_and_shards_spread() {
        let poll = PollId::new_at(now());
        let alice = CitizenId::parse("alice").unwrap();
        let h1 = voter_hash(b"0123456789abcdef", &poll, &alice);
        assert_eq!(h1, voter_hash(b"0123456789abcdef", &poll, &alice));
        assert_ne!(h1, voter_hash(b"another-secret-key", &poll, &alice));
        let shards: std::collections::HashSet<u8> = (0..200)
            .map(|i| shard_of(&voter_hash(b"0123456789abcdef", &poll, &CitizenId::parse(&format!("c{i}")).unwrap())))
            .collect();
        assert_eq!(shards.len(), TALLY_SHARDS as usize);
        assert_eq!(new_receipt().len(), RECEIPT_LEN);
        // all 128 bits are random: no fixed prefix
        let firsts: std::collections::HashSet<char> = (0..64).filter_map(|_| new_receipt().chars().nth(1)).collect();
        assert!(firsts.len() > 8);
        assert_ne!(new_receipt(), new_receipt());
    }
}
