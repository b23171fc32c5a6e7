//! Polls: votes, surveys and discussions, their questions, audience and schedule, and the
//! checks on a new poll.

use crate::actor::Actor;
use crate::error::FieldError;
use crate::ids::{CitizenId, MunicipalityId, PollId};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub const MAX_QUESTIONS: usize = 10;
pub const MIN_OPTIONS: usize = 2;
pub const MAX_OPTIONS: usize = 10;

pub use crate::values::PollKind;

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

/// When a poll's results are published, and how its ballots are kept.
///
/// `after_close`: each ballot's answers are sealed (HPKE) to the poll's own public key; the
/// private key is kept apart from the database and read only by the close, which counts the
/// ballots in no order that follows the casting, publishes the totals and destroys the sealed
/// ballots and the key. Once the results are published, nobody, the operator included, can tell
/// how any resident voted.
///
/// `live`: counts grow as ballots arrive and are readable while the poll is open. Its secrecy is
/// weaker: the vote is counted in the same database commit that enters the voter in the roll, so
/// an operator who copies the database's write-ahead log (or the table's change stream) before it
/// is overwritten can link recent ballots to their voters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResultsVisibility {
    Live,
    AfterClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum PollStatus {
    Scheduled,
    Open,
    /// Closed to ballots; its results are being frozen.
    Closing,
    Closed,
    Cancelled,
}

impl PollStatus {
    /// The wire word, as serde writes it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
    /// The status callers see: `closing` is shown as `closed`.
    pub fn public(self) -> PollStatus {
        if self == PollStatus::Closing {
            PollStatus::Closed
        } else {
            self
        }
    }
    /// A status callers may name: any but `closing`, which they never see.
    pub fn parse_public(raw: &str) -> Option<PollStatus> {
        raw.parse().ok().filter(|s| *s != PollStatus::Closing)
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
    /// The public key its ballots are sealed to (hex), while its private key is kept: set for a
    /// poll whose results are published after the close, cleared once the sealed ballots and the
    /// private key are destroyed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ballot_key: Option<String>,
}

impl Poll {
    /// Its place in the schedule index: the next time close-polls must act on it.
    pub fn schedule_key(&self) -> Option<(PollStatus, String)> {
        let at = match self.status {
            PollStatus::Scheduled => self.opens_at,
            PollStatus::Open | PollStatus::Closing => self.closes_at,
            // Closed or cancelled with its ballot key still kept: its sealed ballots and key are
            // due for destruction at once.
            PollStatus::Closed | PollStatus::Cancelled if self.ballot_key.is_some() => {
                return Some((PollStatus::Closed, format!("{:013}#{}", 0, self.id)));
            }
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
