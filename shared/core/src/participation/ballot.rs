//! Secret ballots: answers and their checks, the voter hash and receipt, tallies and results,
//! and the port that stores polls with their ballots (`PollStore`).

use super::poll::{Poll, PollStatus, QuestionKind};
use crate::disclosure::{suppress, GroupCount};
use crate::error::FieldError;
use crate::ids::{CitizenId, MunicipalityId, PollId};
use crate::ports::{OutboxItem, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Tally counters are spread over this many shards per question, so a popular poll never
/// funnels every ballot through one item.
pub const TALLY_SHARDS: u8 = 8;
pub const MAX_TEXT_ANSWER: usize = 1000;

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
/// keyed hash, the receipt only the poll it counts in, and the content no trace of either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BallotWrite {
    pub poll_id: PollId,
    /// HMAC-SHA256(stack secret, poll id ‖ citizen id), hex.
    pub voter_hash: String,
    pub receipt: String,
    pub content: BallotContent,
    /// The counter shard, from the random receipt (`shard_of`), never from the voter.
    pub shard: u8,
    /// The voter's municipality, for turnout.
    pub municipality: Option<MunicipalityId>,
    /// The ballot is refused unless the poll accepts ballots at this instant.
    pub now: DateTime<Utc>,
}

/// What a ballot adds besides its voter-roll entry, its receipt and the turnout counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BallotContent {
    /// Live results: the option counters grow at once (question → options), and free-text
    /// answers are kept without order or link to the ballot.
    Counted { increments: BTreeMap<usize, Vec<usize>>, texts: Vec<TextAnswer> },
    /// Results after the close: the answers sealed to the poll's public key, under a random id.
    Sealed(SealedBallot),
}

/// A ballot's answers sealed to its poll's key (`seal::seal`), under a random id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBallot {
    pub id: String,
    pub sealed: Vec<u8>,
}

/// One page of a poll's sealed ballots and the position after it, if there may be more.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealedPage {
    pub ballots: Vec<SealedBallot>,
    pub next: Option<String>,
}

/// One free-text answer, kept with its question only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextAnswer {
    pub id: String,
    pub question: usize,
    pub text: String,
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

    /// Counts one opened ballot: the total and its increments.
    pub fn count(&mut self, poll: &Poll, answers: &[BallotAnswer]) {
        self.total += 1;
        for (q, options) in Tally::increments(poll, answers) {
            let e = self.counts.entry(q).or_default();
            for o in options {
                *e.entry(o).or_default() += 1;
            }
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
    /// Ballots by municipality, for admins and analysts only (empty for residents). A group of
    /// fewer than ten ballots reads "<10", and so do the groups hidden with it so that the total
    /// cannot reveal it. Stored exact; suppressed when shown (`Results::disclosed`).
    pub turnout: BTreeMap<String, GroupCount>,
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
            turnout: tally.turnout.iter().map(|(m, n)| (m.clone(), GroupCount::Exact(*n))).collect(),
        }
    }

    /// The results as they may be shown to staff: turnout groups under ten ballots suppressed,
    /// with their complements (`disclosure::suppress`).
    pub fn disclosed(mut self) -> Results {
        let hidden = self.turnout.values().any(|c| *c == GroupCount::Suppressed);
        if !hidden {
            let exact: BTreeMap<String, u64> =
                self.turnout.iter().filter_map(|(m, c)| Some((m.clone(), c.exact()?))).collect();
            self.turnout = suppress(&exact);
        }
        self
    }
}

/// Polls, ballots and results.
#[async_trait]
pub trait PollStore: Send + Sync + 'static {
    /// Stores a new poll with the jobs it owes (an open poll's `poll.opened`), in one
    /// transaction; an existing id is a `Conflict`.
    async fn create_poll(&self, poll: &Poll, outbox: &[OutboxItem]) -> Result<(), StoreError>;
    async fn get_poll(&self, id: &PollId) -> Result<Option<Poll>, StoreError>;
    /// Replaces the poll if its stored version is still `expected_version`, recording the jobs
    /// the change owes (its `poll.opened` or `poll.closed`) in the same transaction.
    async fn update_poll(&self, expected_version: u32, next: &Poll, outbox: &[OutboxItem]) -> Result<(), StoreError>;
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
    /// the receipt is kept, the turnout counters grow and the content is stored (counted or
    /// sealed). All or nothing.
    async fn cast_ballot(&self, ballot: &BallotWrite) -> Result<(), BallotRefused>;
    async fn has_voted(&self, poll: &PollId, voter_hash: &str) -> Result<bool, StoreError>;
    /// The poll a receipt's ballot counts in.
    async fn receipt_poll(&self, receipt: &str) -> Result<Option<PollId>, StoreError>;
    /// A page of the poll's sealed ballots, from the position `after` (opaque, from the page before).
    async fn sealed_page(&self, poll: &PollId, after: Option<&str>, limit: usize) -> Result<SealedPage, StoreError>;
    /// Deletes up to `limit` of the poll's sealed ballots, beyond recovery; returns how many.
    async fn purge_sealed(&self, poll: &PollId, limit: usize) -> Result<usize, StoreError>;
    /// Keeps free-text answers; an answer whose id is already kept is written again unchanged.
    async fn put_text_answers(&self, poll: &PollId, answers: &[TextAnswer]) -> Result<(), StoreError>;
    /// The poll's free-text answers, by id (which carries no order of casting).
    async fn text_answers(
        &self,
        poll: &PollId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TextAnswer>, StoreError>;
    /// The live counters, summed over their shards (read consistently).
    async fn tally(&self, poll: &PollId) -> Result<Tally, StoreError>;
    /// One transaction: the poll moves from `closing` to `closed` (version condition) and the
    /// final results item is created (must not exist), with the jobs the close owes
    /// (`poll.closed`).
    async fn freeze_results(
        &self,
        expected_version: u32,
        closed: &Poll,
        results: &Results,
        outbox: &[OutboxItem],
    ) -> Result<(), StoreError>;
    async fn get_results(&self, poll: &PollId) -> Result<Option<Results>, StoreError>;
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

/// The counter shard of a ballot, from its random receipt: a shard says nothing of the voter.
pub fn shard_of(receipt: &str) -> u8 {
    Sha256::digest(receipt.as_bytes()).first().copied().unwrap_or(0) % TALLY_SHARDS
}

/// A random id for a sealed ballot or a free-text answer: 128 random bits, unrelated to time or
/// to the voter.
pub fn random_id() -> String {
    ulid::Ulid(rand::random::<u128>()).to_string()
}

/// The length of a receipt.
pub const RECEIPT_LEN: usize = 26;

/// A secret, unguessable receipt: 128 random bits in Crockford base32.
pub fn new_receipt() -> String {
    ulid::Ulid(rand::random::<u128>()).to_string()
}

/// The stack secret that keys the voter roll. Never logged, never serialised.
#[derive(Clone)]
pub struct VoterSecret(pub(super) Arc<Vec<u8>>);

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
