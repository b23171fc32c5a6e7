//! Analytics: exact counters that change in the same transaction as the transition they count.
//!
//! Every history entry carries the `Facts` of its transition. `deltas` turns them into counter
//! increments, keyed by series (scope and grouping) and slot (local day or month, then the group
//! key). The store adds them to the counter items inside the transaction that writes the entry,
//! so a counter is exactly the sum of the entries written. Queries read whole months where the
//! range covers them and single days at the edges, so their cost follows the number of groups in
//! the answer, not the number of messages. See `docs/analytics.md`.

use crate::actor::{Actor, Role};
use crate::error::{FieldError, ServiceError};
use crate::ids::{AuthorityId, CategoryId, MessageId, MunicipalityId};
use crate::message::{HistoryEntry, Message, Status};
use crate::region::RegionData;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What happened to a message, as the counters see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Submit,
    Route,
    Take,
    Answer,
    Redirect,
    Reject,
    Close,
    Reopen,
    Overdue,
    LinkDuplicate,
}

/// The facts of one transition that the counters need, recorded in its history entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    pub kind: EventKind,
    pub category_id: CategoryId,
    pub municipality_id: MunicipalityId,
    /// The local day of the transition, in the region's time zone.
    pub day: NaiveDate,
    /// The local day the message was submitted: the status counters are kept by it.
    pub submitted_day: NaiveDate,
    /// The responsible authority before and after the transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_before: Option<AuthorityId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_after: Option<AuthorityId>,
    /// The authority the event is credited to: the one that answered for answers and ratings,
    /// otherwise the responsible one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credited: Option<AuthorityId>,
    /// For answers: given by the deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_time: Option<bool>,
    /// For answers: seconds since submission, or since the reopening the answer closes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_secs: Option<i64>,
    /// For ratings (close and reopen): the score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
}

impl Facts {
    pub fn of_submission(message: &Message, tz: Tz) -> Facts {
        let day = message.created_at.with_timezone(&tz).date_naive();
        Facts {
            kind: EventKind::Submit,
            category_id: message.category_id.clone(),
            municipality_id: message.municipality_id.clone(),
            day,
            submitted_day: day,
            authority_before: None,
            authority_after: None,
            credited: None,
            on_time: None,
            response_secs: None,
            score: None,
        }
    }

    /// The facts of a transition from `prev` to `next` at `at`.
    pub fn of_transition(kind: EventKind, prev: &Message, next: &Message, at: DateTime<Utc>, tz: Tz) -> Facts {
        let answering = next.answer.as_ref().map(|a| a.authority_id.clone());
        let credited = match kind {
            EventKind::Answer | EventKind::Close | EventKind::Reopen => answering.or(next.authority_id.clone()),
            _ => next.authority_id.clone(),
        };
        let (on_time, response_secs) = if kind == EventKind::Answer {
            let started = prev.reopened_at.unwrap_or(prev.created_at);
            (Some(prev.deadline.is_none_or(|d| at <= d)), Some((at - started).num_seconds().max(0)))
        } else {
            (None, None)
        };
        let score = match kind {
            EventKind::Close | EventKind::Reopen => next.rating.as_ref().map(|r| r.score),
            _ => None,
        };
        Facts {
            kind,
            category_id: next.category_id.clone(),
            municipality_id: next.municipality_id.clone(),
            day: at.with_timezone(&tz).date_naive(),
            submitted_day: next.created_at.with_timezone(&tz).date_naive(),
            authority_before: prev.authority_id.clone(),
            authority_after: next.authority_id.clone(),
            credited,
            on_time,
            response_secs,
            score,
        }
    }
}

/// The event counters of a group, in the order of the API's fields.
pub const EVENT_FIELDS: [&str; 12] = [
    "submitted",
    "routed",
    "answered",
    "answered_on_time",
    "overdue",
    "rejected",
    "closed",
    "reopened",
    "response_secs",
    "rating_count",
    "rating_sum",
    "rating_4_5",
];

/// The counter of the status series: messages currently in the slot's status.
pub const MESSAGES_FIELD: &str = "messages";

/// On DynamoDB, region-scope series are split over this many shards, picked by message id, so
/// no single counter item takes every transition of the region. Sharding is the DynamoDB
/// adapter's concern (`shards_of`, `shard_of`): the domain's keys and SQLite's rows have none.
pub const REGION_SHARDS: u32 = 4;

/// One counter item: a series (scope and grouping) and a slot (period and group key).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CounterKey {
    pub series: String,
    pub slot: String,
}

/// Increments per counter item and field. Zero increments are dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(pub BTreeMap<CounterKey, BTreeMap<String, i64>>);

impl Counters {
    pub fn add(&mut self, key: CounterKey, field: &str, value: i64) {
        if value == 0 {
            return;
        }
        let fields = self.0.entry(key.clone()).or_default();
        let v = fields.entry(field.to_owned()).or_default();
        *v += value;
        if *v == 0 {
            fields.remove(field);
            if fields.is_empty() {
                self.0.remove(&key);
            }
        }
    }

    pub fn merge(&mut self, other: &Counters) {
        for (k, fields) in &other.0 {
            for (f, v) in fields {
                self.add(k.clone(), f, *v);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// The grouping of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Series {
    All,
    Category,
    Municipality,
    Authority,
    Status,
}

impl Series {
    fn tag(self) -> &'static str {
        match self {
            Series::All => "all",
            Series::Category => "cat",
            Series::Municipality => "mun",
            Series::Authority => "auth",
            Series::Status => "status",
        }
    }
}

/// Whose figures a query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Region,
    Authority(AuthorityId),
}

fn series_name(scope: &Scope, series: Series) -> String {
    match scope {
        Scope::Region => format!("R|{}", series.tag()),
        Scope::Authority(a) => format!("A:{a}|{}", series.tag()),
    }
}

fn day_slot(day: NaiveDate, key: &str) -> String {
    format!("D{}|{key}", day.format("%Y-%m-%d"))
}

fn month_slot(day: NaiveDate, key: &str) -> String {
    format!("M{:04}-{:02}|{key}", day.year(), day.month())
}

/// How many shards a series is split over where the store shards: the region's series take
/// every transition of the region, an authority's only its own.
pub fn shards_of(series: &str) -> u32 {
    if series.starts_with("R|") {
        REGION_SHARDS
    } else {
        1
    }
}

/// The shard of a message's counters in a series split over `shards_of(series)` shards.
pub fn shard_of(id: &MessageId) -> u32 {
    let s = id.to_string();
    s.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % REGION_SHARDS
}

/// The counter increments of one history entry. Entries without facts count nothing.
pub fn deltas(entry: &HistoryEntry) -> Counters {
    let mut out = Counters::default();
    let Some(f) = &entry.facts else { return out };
    let event_fields: Vec<(&str, i64)> = match f.kind {
        EventKind::Submit => vec![("submitted", 1)],
        EventKind::Route => vec![("routed", 1)],
        EventKind::Answer => vec![
            ("answered", 1),
            ("answered_on_time", i64::from(f.on_time == Some(true))),
            ("response_secs", f.response_secs.unwrap_or(0)),
        ],
        EventKind::Reject => vec![("rejected", 1)],
        EventKind::Overdue => vec![("overdue", 1)],
        EventKind::Close | EventKind::Reopen => {
            let score = i64::from(f.score.unwrap_or(0));
            let name = if f.kind == EventKind::Close { "closed" } else { "reopened" };
            vec![(name, 1), ("rating_count", 1), ("rating_sum", score), ("rating_4_5", i64::from(score >= 4))]
        }
        EventKind::Take | EventKind::Redirect | EventKind::LinkDuplicate => vec![],
    };
    let day = f.day;
    for slot_of in [day_slot as fn(NaiveDate, &str) -> String, month_slot] {
        for (field, v) in &event_fields {
            let region = |series| series_name(&Scope::Region, series);
            out.add(CounterKey { series: region(Series::All), slot: slot_of(day, "") }, field, *v);
            out.add(
                CounterKey { series: region(Series::Category), slot: slot_of(day, f.category_id.as_str()) },
                field,
                *v,
            );
            out.add(
                CounterKey { series: region(Series::Municipality), slot: slot_of(day, f.municipality_id.as_str()) },
                field,
                *v,
            );
            if let Some(a) = &f.credited {
                out.add(CounterKey { series: region(Series::Authority), slot: slot_of(day, a.as_str()) }, field, *v);
                let own = Scope::Authority(a.clone());
                out.add(CounterKey { series: series_name(&own, Series::All), slot: slot_of(day, "") }, field, *v);
                out.add(
                    CounterKey {
                        series: series_name(&own, Series::Category),
                        slot: slot_of(day, f.category_id.as_str()),
                    },
                    field,
                    *v,
                );
                out.add(
                    CounterKey {
                        series: series_name(&own, Series::Municipality),
                        slot: slot_of(day, f.municipality_id.as_str()),
                    },
                    field,
                    *v,
                );
            }
        }
    }
    // Status: the message leaves its old (status, authority) and joins the new one, counted on
    // its submission day.
    let submitted = f.submitted_day;
    let before = entry.from.map(|s| (s, f.authority_before.clone()));
    let after = Some((entry.to, f.authority_after.clone()));
    if before != after {
        for (state, sign) in [(before, -1), (after, 1)] {
            let Some((status, authority)) = state else { continue };
            for slot in [day_slot(submitted, status.as_str()), month_slot(submitted, status.as_str())] {
                out.add(
                    CounterKey { series: series_name(&Scope::Region, Series::Status), slot: slot.clone() },
                    MESSAGES_FIELD,
                    sign,
                );
                if let Some(a) = &authority {
                    let own = Scope::Authority(a.clone());
                    out.add(CounterKey { series: series_name(&own, Series::Status), slot }, MESSAGES_FIELD, sign);
                }
            }
        }
    }
    out
}

/// The counters a whole history adds up to.
pub fn deltas_of_history(history: &[HistoryEntry]) -> Counters {
    let mut out = Counters::default();
    for e in history {
        out.merge(&deltas(e));
    }
    out
}

/// How a messages query groups its figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Category,
    Municipality,
    Authority,
    Status,
    Day,
}

impl GroupBy {
    pub fn parse(raw: &str) -> Option<GroupBy> {
        Some(match raw {
            "category" => GroupBy::Category,
            "municipality" => GroupBy::Municipality,
            "authority" => GroupBy::Authority,
            "status" => GroupBy::Status,
            "day" => GroupBy::Day,
            _ => return None,
        })
    }
}

/// A slot range of one series to read: `slot_from ..= slot_to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRange {
    pub series: String,
    pub slot_from: String,
    pub slot_to: String,
}

/// One stored counter item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterRow {
    pub key: CounterKey,
    pub fields: BTreeMap<String, i64>,
}

/// The longest range a query may span, in days between `from` and `to`.
pub const MAX_RANGE_DAYS: i64 = 366;

/// A validated date range, inclusive, in the region's local dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    /// Parses `from` and `to`; when both are absent, the last 30 days up to `today`.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<DateRange, ServiceError> {
        let mut errors = Vec::new();
        let mut date = |field: &str, raw: Option<&str>, default: NaiveDate| match raw {
            None => Some(default),
            Some(r) => match NaiveDate::parse_from_str(r, "%Y-%m-%d") {
                Ok(d) if r.len() == 10 => Some(d),
                _ => {
                    errors.push(FieldError::new(field, "Укажите дату в формате ГГГГ-ММ-ДД."));
                    None
                }
            },
        };
        let to_date = date("to", to, today);
        let from_date = date("from", from, to_date.unwrap_or(today) - Duration::days(29));
        if let (Some(f), Some(t)) = (from_date, to_date) {
            if f > t {
                errors.push(FieldError::new("from", "Начало периода позже его конца."));
            } else if (t - f).num_days() > MAX_RANGE_DAYS {
                errors.push(FieldError::new("to", "Период не может быть длиннее 366 дней."));
            }
        }
        match (from_date, to_date) {
            (Some(from), Some(to)) if errors.is_empty() => Ok(DateRange { from, to }),
            _ => Err(ServiceError::Validation(errors)),
        }
    }

    /// The days of the range, in order.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> {
        let to = self.to;
        self.from.iter_days().take_while(move |d| *d <= to)
    }
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d)
}

/// A run of days, first and last included.
type Span = (NaiveDate, NaiveDate);

/// Splits a range into the days at its edges and the whole months between them.
fn periods(range: &DateRange) -> (Vec<Span>, Option<Span>) {
    let first_full = if range.from == first_of_month(range.from) { range.from } else { next_month(range.from) };
    let mut month_end = first_full;
    while next_month(month_end) - Duration::days(1) <= range.to {
        month_end = next_month(month_end);
    }
    if month_end == first_full {
        return (vec![(range.from, range.to)], None);
    }
    let mut days = Vec::new();
    if range.from < first_full {
        days.push((range.from, first_full - Duration::days(1)));
    }
    if month_end <= range.to {
        days.push((month_end, range.to));
    }
    (days, Some((first_full, month_end - Duration::days(1))))
}

fn series_for(scope: &Scope, group: GroupBy) -> (String, bool) {
    let series = match (scope, group) {
        (_, GroupBy::Category) => Series::Category,
        (_, GroupBy::Municipality) => Series::Municipality,
        (Scope::Region, GroupBy::Authority) => Series::Authority,
        (Scope::Authority(_), GroupBy::Authority) | (_, GroupBy::Day) => Series::All,
        (_, GroupBy::Status) => Series::Status,
    };
    (series_name(scope, series), group == GroupBy::Day)
}

/// The slot ranges that answer a query: whole months where the range covers them, days at the
/// edges, and every day for a daily grouping. Nothing is counted after `today` (events count on
/// the day they happen), so a range that reaches today covers the rest of today's month too, and
/// reads that month's slot instead of its days.
pub fn plan(scope: &Scope, group: GroupBy, range: &DateRange, today: NaiveDate) -> Vec<SlotRange> {
    let (series, daily) = series_for(scope, group);
    let end_of_month = next_month(today) - Duration::days(1);
    let reach = if range.to >= today { DateRange { from: range.from, to: range.to.max(end_of_month) } } else { *range };
    let (day_spans, months) = if daily { (vec![(range.from, range.to)], None) } else { periods(&reach) };
    let mut out = Vec::new();
    for (a, b) in &day_spans {
        out.push(SlotRange { series: series.clone(), slot_from: day_slot(*a, ""), slot_to: day_slot(*b, "~") });
    }
    if let Some((a, b)) = months {
        out.push(SlotRange { series: series.clone(), slot_from: month_slot(a, ""), slot_to: month_slot(b, "~") });
    }
    out
}

/// The figures of one group, as the API returns them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GroupStats {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub submitted: i64,
    pub routed: i64,
    pub answered: i64,
    pub answered_on_time: i64,
    pub overdue: i64,
    pub rejected: i64,
    pub closed: i64,
    pub reopened: i64,
    pub avg_response_hours: Option<f64>,
    pub rating_avg: Option<f64>,
    pub rating_count: i64,
    pub rating_4_5_share: Option<f64>,
    /// For `group_by=status`: messages submitted in the range that are in this status now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<i64>,
}

fn ratio(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| ((num as f64 / den as f64) * 10_000.0).round() / 10_000.0)
}

impl GroupStats {
    fn from_fields(key: String, f: &BTreeMap<String, i64>) -> GroupStats {
        let g = |name: &str| f.get(name).copied().unwrap_or(0);
        let answered = g("answered");
        let rating_count = g("rating_count");
        GroupStats {
            key,
            name: None,
            submitted: g("submitted"),
            routed: g("routed"),
            answered,
            answered_on_time: g("answered_on_time"),
            overdue: g("overdue"),
            rejected: g("rejected"),
            closed: g("closed"),
            reopened: g("reopened"),
            avg_response_hours: ratio(g("response_secs"), answered * 3600),
            rating_avg: ratio(g("rating_sum"), rating_count),
            rating_count,
            rating_4_5_share: ratio(g("rating_4_5"), rating_count),
            messages: None,
        }
    }
}

/// The group key of a stored slot (`D2026-11-28|key`, `M2026-11|key`).
fn slot_key(slot: &str) -> &str {
    slot.split_once('|').map(|(_, k)| k).unwrap_or("")
}

fn slot_day(slot: &str) -> &str {
    slot.get(1..11).unwrap_or("")
}

/// Adds up the rows of a query into its groups, in the API's order.
pub fn summarize(
    scope: &Scope,
    group: GroupBy,
    range: &DateRange,
    rows: &[CounterRow],
    region: &RegionData,
) -> Vec<GroupStats> {
    let mut sums: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    if group == GroupBy::Day {
        for d in range.days() {
            sums.insert(d.format("%Y-%m-%d").to_string(), BTreeMap::new());
        }
    }
    for row in rows {
        let key = match (group, scope) {
            (GroupBy::Day, _) => slot_day(&row.key.slot).to_owned(),
            (GroupBy::Authority, Scope::Authority(a)) => a.to_string(),
            _ => slot_key(&row.key.slot).to_owned(),
        };
        let into = sums.entry(key).or_default();
        for (f, v) in &row.fields {
            *into.entry(f.clone()).or_default() += v;
        }
    }
    let mut out: Vec<GroupStats> = sums
        .into_iter()
        .filter(|(_, f)| group == GroupBy::Day || f.values().any(|v| *v != 0))
        .map(|(key, f)| {
            let mut stats = GroupStats::from_fields(key, &f);
            if group == GroupBy::Status {
                let n = f.get(MESSAGES_FIELD).copied().unwrap_or(0);
                stats.messages = Some(n);
                stats.submitted = n;
            }
            stats.name = match group {
                GroupBy::Category => {
                    CategoryId::parse(&stats.key).ok().and_then(|c| region.category(&c)).map(|c| c.name.clone())
                }
                GroupBy::Municipality => {
                    MunicipalityId::parse(&stats.key).ok().and_then(|m| region.municipality(&m)).map(|m| m.name.clone())
                }
                GroupBy::Authority => {
                    AuthorityId::parse(&stats.key).ok().and_then(|a| region.authority(&a)).map(|a| a.name.clone())
                }
                GroupBy::Status => Status::parse(&stats.key).map(|s| status_name(s).to_owned()),
                GroupBy::Day => None,
            };
            stats
        })
        .collect();
    if group == GroupBy::Status {
        out.sort_by_key(|g| Status::ALL.iter().position(|s| s.as_str() == g.key));
    }
    out
}

/// The Russian name of a status, for reports.
pub fn status_name(s: Status) -> &'static str {
    match s {
        Status::Submitted => "На модерации",
        Status::Routed => "Направлено исполнителю",
        Status::InProgress => "В работе",
        Status::Answered => "Дан ответ",
        Status::Closed => "Закрыто",
        Status::Rejected => "Отклонено",
        Status::Reopened => "Возобновлено",
    }
}

/// One line of the authorities' ranking.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuthorityRank {
    pub authority_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub answered: i64,
    pub on_time_share: Option<f64>,
    pub avg_response_hours: Option<f64>,
    pub rating_avg: Option<f64>,
    pub rating_4_5_share: Option<f64>,
    pub rating_count: i64,
    pub overdue: i64,
}

/// Ranks authorities best first: by on-time share, then satisfaction, then response time.
/// Authorities with nothing answered in the range come last.
pub fn rank(groups: &[GroupStats]) -> Vec<AuthorityRank> {
    let mut out: Vec<AuthorityRank> = groups
        .iter()
        .map(|g| AuthorityRank {
            authority_id: g.key.clone(),
            name: g.name.clone(),
            answered: g.answered,
            on_time_share: ratio(g.answered_on_time, g.answered),
            avg_response_hours: g.avg_response_hours,
            rating_avg: g.rating_avg,
            rating_4_5_share: g.rating_4_5_share,
            rating_count: g.rating_count,
            overdue: g.overdue,
        })
        .collect();
    let score = |v: Option<f64>| v.unwrap_or(-1.0);
    out.sort_by(|a, b| {
        score(b.on_time_share)
            .total_cmp(&score(a.on_time_share))
            .then(score(b.rating_4_5_share).total_cmp(&score(a.rating_4_5_share)))
            .then(a.avg_response_hours.unwrap_or(f64::MAX).total_cmp(&b.avg_response_hours.unwrap_or(f64::MAX)))
            .then(b.answered.cmp(&a.answered))
            .then(a.authority_id.cmp(&b.authority_id))
    });
    out
}

/// Who may read which scope: admins and analysts the region, officials their authority.
pub fn scope_of(actor: &Actor) -> Result<Scope, ServiceError> {
    if actor.has(Role::Admin) || actor.has(Role::Analyst) {
        return Ok(Scope::Region);
    }
    match (&actor.authority, actor.has(Role::Official)) {
        (Some(a), true) => Ok(Scope::Authority(a.clone())),
        _ => Err(ServiceError::Forbidden("analytics are for admins, analysts and officials")),
    }
}

/// The CSV form of a messages report: a header row, then one row per group.
pub fn to_csv(groups: &[GroupStats]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "key",
        "name",
        "submitted",
        "routed",
        "answered",
        "answered_on_time",
        "overdue",
        "rejected",
        "closed",
        "reopened",
        "avg_response_hours",
        "rating_avg",
        "rating_count",
        "rating_4_5_share",
    ];
    let _ = w.write_record(header);
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for g in groups {
        let _ = w.write_record([
            g.key.clone(),
            g.name.clone().unwrap_or_default(),
            g.submitted.to_string(),
            g.routed.to_string(),
            g.answered.to_string(),
            g.answered_on_time.to_string(),
            g.overdue.to_string(),
            g.rejected.to_string(),
            g.closed.to_string(),
            g.reopened.to_string(),
            opt(g.avg_response_hours),
            opt(g.rating_avg),
            g.rating_count.to_string(),
            opt(g.rating_4_5_share),
        ]);
    }
    w.into_inner().unwrap_or_default()
}

/// Compares stored counters with a recount; the differences, as (key, field, stored, expected).
pub fn differences(stored: &Counters, expected: &Counters) -> Vec<(CounterKey, String, i64, i64)> {
    let mut out = Vec::new();
    let keys: std::collections::BTreeSet<&CounterKey> = stored.0.keys().chain(expected.0.keys()).collect();
    for k in keys {
        let empty = BTreeMap::new();
        let s = stored.0.get(k).unwrap_or(&empty);
        let e = expected.0.get(k).unwrap_or(&empty);
        let fields: std::collections::BTreeSet<&String> = s.keys().chain(e.keys()).collect();
        for f in fields {
            let (a, b) = (s.get(f).copied().unwrap_or(0), e.get(f).copied().unwrap_or(0));
            if a != b {
                out.push((k.clone(), f.clone(), a, b));
            }
        }
    }
    out
}

/// A messages report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MessagesReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: &'static str,
    pub groups: Vec<GroupStats>,
}

/// Turnout of one municipality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Turnout {
    pub municipality_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub ballots: u64,
}

/// A poll's turnout, and its results once published.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PollReport {
    pub poll_id: crate::ids::PollId,
    pub status: crate::participation::PollStatus,
    pub total_ballots: u64,
    pub turnout: Vec<Turnout>,
    /// `None` until the results are published.
    pub results: Option<crate::participation::Results>,
}

/// What a reconciliation found.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconciliation {
    pub counter_items: usize,
    pub recounted_items: usize,
    pub differences: Vec<(CounterKey, String, i64, i64)>,
}

/// The analytics use cases. They read only counters: no query reads messages or ballots.
pub struct Analytics<S, C> {
    store: S,
    clock: C,
    reference: std::sync::Arc<crate::service::Reference<S>>,
}

impl<S, C> Analytics<S, C>
where
    S: crate::ports::CounterStore + crate::participation::PollStore + crate::ports::ReferenceStore + Clone,
    C: crate::ports::Clock,
{
    pub fn new(store: S, clock: C, reference: std::sync::Arc<crate::service::Reference<S>>) -> Self {
        Self { store, clock, reference }
    }

    async fn scope(
        &self,
        actor: &Actor,
    ) -> Result<(Scope, std::sync::Arc<crate::ports::Versioned<RegionData>>), ServiceError> {
        let snap = self.reference.snapshot().await?;
        let scope = scope_of(actor)?;
        if !actor.in_region(&snap.value.region.code) {
            return Err(ServiceError::WrongRegion);
        }
        if let Scope::Authority(a) = &scope {
            if snap.value.authority(a).is_none() {
                return Err(ServiceError::Forbidden("аналитика доступна сотрудникам органов власти региона"));
            }
        }
        Ok((scope, snap))
    }

    fn today(&self, region: &RegionData) -> NaiveDate {
        self.clock.now().with_timezone(&region.time_zone()).date_naive()
    }

    /// Volumes, timeliness and satisfaction in a date range, grouped.
    pub async fn messages(
        &self,
        actor: &Actor,
        from: Option<&str>,
        to: Option<&str>,
        group_by: Option<&str>,
    ) -> Result<MessagesReport, ServiceError> {
        let (scope, snap) = self.scope(actor).await?;
        let group = match group_by {
            None => GroupBy::Category,
            Some(raw) => GroupBy::parse(raw).ok_or_else(|| {
                ServiceError::field("group_by", "Допустимые значения: category, municipality, authority, status, day.")
            })?,
        };
        let today = self.today(&snap.value);
        let range = DateRange::parse(from, to, today)?;
        let rows = self.store.read_counters(&plan(&scope, group, &range, today)).await?;
        let groups = summarize(&scope, group, &range, &rows, &snap.value);
        let group_by = match group {
            GroupBy::Category => "category",
            GroupBy::Municipality => "municipality",
            GroupBy::Authority => "authority",
            GroupBy::Status => "status",
            GroupBy::Day => "day",
        };
        Ok(MessagesReport { from: range.from, to: range.to, group_by, groups })
    }

    /// Authorities ranked by on-time share, satisfaction and response time.
    pub async fn authorities(
        &self,
        actor: &Actor,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<AuthorityRank>, ServiceError> {
        let (scope, snap) = self.scope(actor).await?;
        let today = self.today(&snap.value);
        let range = DateRange::parse(from, to, today)?;
        let rows = self.store.read_counters(&plan(&scope, GroupBy::Authority, &range, today)).await?;
        Ok(rank(&summarize(&scope, GroupBy::Authority, &range, &rows, &snap.value)))
    }

    /// A poll's turnout by municipality from its live counters, and its results once published.
    pub async fn poll(&self, actor: &Actor, id: &crate::ids::PollId) -> Result<PollReport, ServiceError> {
        let (scope, snap) = self.scope(actor).await?;
        if scope != Scope::Region {
            return Err(ServiceError::Forbidden("poll analytics are for admins and analysts"));
        }
        let poll = self.store.get_poll(id).await?.ok_or(ServiceError::NotFound)?;
        if poll.kind == crate::participation::PollKind::Discussion {
            return Err(ServiceError::NotFound);
        }
        let tally = self.store.tally(id).await?;
        let frozen = self.store.get_results(id).await?;
        let results = match frozen {
            Some(r) => Some(r),
            None if poll.results == crate::participation::ResultsVisibility::Live => {
                Some(crate::participation::Results::from_tally(&poll, &tally, false))
            }
            None => None,
        };
        let turnout_of = results.as_ref().filter(|r| r.is_final).map(|r| &r.turnout).unwrap_or(&tally.turnout);
        let turnout = turnout_of
            .iter()
            .map(|(m, n)| Turnout {
                municipality_id: m.clone(),
                name: MunicipalityId::parse(m).ok().and_then(|id| snap.value.municipality(&id)).map(|x| x.name.clone()),
                ballots: *n,
            })
            .collect();
        let total_ballots = results.as_ref().filter(|r| r.is_final).map(|r| r.total_ballots).unwrap_or(tally.total);
        Ok(PollReport { poll_id: poll.id, status: poll.status.public(), total_ballots, turnout, results })
    }
}

/// Recounts every counter from the history and compares it with the stored counters.
pub async fn reconcile<S: crate::ports::CounterStore>(
    store: &S,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<Reconciliation, crate::ports::StoreError> {
    let expected = store.recount(progress).await?;
    let stored = store.all_counters().await?;
    Ok(Reconciliation {
        counter_items: stored.len(),
        recounted_items: expected.len(),
        differences: differences(&stored, &expected),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{ActorRole, HistoryEntry};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn range(a: &str, b: &str) -> DateRange {
        DateRange { from: d(a), to: d(b) }
    }

    fn slots(scope: &Scope, group: GroupBy, r: &DateRange) -> Vec<(String, String)> {
        plan(scope, group, r, d("2027-06-01")).into_iter().map(|s| (s.slot_from, s.slot_to)).collect()
    }

    #[test]
    fn a_range_reads_whole_months_and_the_days_at_its_edges() {
        let r = range("2026-01-15", "2026-04-03");
        assert_eq!(
            slots(&Scope::Region, GroupBy::Category, &r),
            vec![
                ("D2026-01-15|".into(), "D2026-01-31|~".into()),
                ("D2026-04-01|".into(), "D2026-04-03|~".into()),
                ("M2026-02|".into(), "M2026-03|~".into()),
            ]
        );
        assert_eq!(plan(&Scope::Region, GroupBy::Category, &r, d("2027-06-01"))[0].series, "R|cat");
        assert_eq!((shards_of("R|cat"), shards_of("A:adm-ishim|cat")), (REGION_SHARDS, 1));
        // a range inside one month is read by days; a whole year by months
        assert_eq!(
            slots(&Scope::Region, GroupBy::Municipality, &range("2026-11-03", "2026-11-28")),
            vec![("D2026-11-03|".into(), "D2026-11-28|~".into())]
        );
        assert_eq!(
            slots(&Scope::Region, GroupBy::Authority, &range("2026-01-01", "2026-12-31")),
            vec![("M2026-01|".into(), "M2026-12|~".into())]
        );
        // a year crossing January
        assert_eq!(
            slots(&Scope::Region, GroupBy::Category, &range("2025-12-31", "2026-02-28")),
            vec![("D2025-12-31|".into(), "D2025-12-31|~".into()), ("M2026-01|".into(), "M2026-02|~".into()),]
        );
        // a daily grouping reads every day, and an authority reads its own series
        let own = Scope::Authority(AuthorityId::parse("adm-ishim").unwrap());
        let p = plan(&own, GroupBy::Day, &range("2026-01-15", "2026-04-03"), d("2027-06-01"));
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].series.as_str(), p[0].slot_from.as_str()), ("A:adm-ishim|all", "D2026-01-15|"));
    }

    #[test]
    fn a_range_up_to_today_reads_todays_month_whole() {
        let today = d("2026-11-28");
        let plain = |r: &DateRange| -> Vec<(String, String)> {
            plan(&Scope::Region, GroupBy::Category, r, today).into_iter().map(|s| (s.slot_from, s.slot_to)).collect()
        };
        // the last 365 days: two days of last November, then December to this month whole
        assert_eq!(
            plain(&range("2025-11-29", "2026-11-28")),
            vec![("D2025-11-29|".into(), "D2025-11-30|~".into()), ("M2025-12|".into(), "M2026-11|~".into())]
        );
        // this month so far is one slot; a range ending yesterday still reads days
        assert_eq!(plain(&range("2026-11-01", "2026-11-28")), vec![("M2026-11|".into(), "M2026-11|~".into())]);
        assert_eq!(plain(&range("2026-11-01", "2026-11-27")), vec![("D2026-11-01|".into(), "D2026-11-27|~".into())]);
        // a range starting mid-month still reads its first days
        assert_eq!(
            plain(&range("2026-11-10", "2026-12-31")),
            vec![("D2026-11-10|".into(), "D2026-11-30|~".into()), ("M2026-12|".into(), "M2026-12|~".into())]
        );
    }

    fn message() -> Message {
        let at = DateTime::parse_from_rfc3339("2026-11-27T23:30:00+05:00").unwrap().with_timezone(&Utc);
        crate::service::new_submission(
            &crate::ids::CitizenId::parse("alice").unwrap(),
            &crate::service::NewMessage {
                category_id: CategoryId::parse("dorogi-yamy").unwrap(),
                text: crate::values::MessageText::parse("Яма на дороге у дома").unwrap(),
                municipality_id: None,
                address: None,
                location: None,
                photo_ids: vec![],
                public: false,
            },
            MunicipalityId::parse("tyumen").unwrap(),
            at,
            chrono_tz::Asia::Yekaterinburg,
        )
        .0
    }

    fn entry(from: Option<Status>, to: Status, facts: Facts) -> HistoryEntry {
        HistoryEntry {
            seq: 2,
            at: Utc::now(),
            actor_role: ActorRole::System,
            actor_id: None,
            actor_authority_id: None,
            from,
            to,
            note: String::new(),
            facts: Some(facts),
        }
    }

    #[test]
    fn a_submission_counts_on_its_local_day() {
        let m = message();
        // 23:30 in Tyumen is 18:30 UTC the same day; the local day is what counts
        let f = Facts::of_submission(&m, chrono_tz::Asia::Yekaterinburg);
        assert_eq!(f.day, d("2026-11-27"));
        let late = m.created_at + Duration::hours(1);
        assert_eq!(late.with_timezone(&chrono_tz::Asia::Yekaterinburg).date_naive(), d("2026-11-28"));
        let c = deltas(&entry(None, Status::Submitted, f));
        let key = |series: &str, slot: &str| CounterKey { series: format!("R|{series}"), slot: slot.into() };
        assert_eq!(c.0[&key("all", "D2026-11-27|")]["submitted"], 1);
        assert_eq!(c.0[&key("cat", "M2026-11|dorogi-yamy")]["submitted"], 1);
        assert_eq!(c.0[&key("status", "D2026-11-27|submitted")][MESSAGES_FIELD], 1);
        assert!(c.0.keys().all(|k| k.series.starts_with("R|")), "no authority yet");
    }

    #[test]
    fn a_redirect_moves_the_message_between_authorities_and_counts_no_event() {
        let m = message();
        let mut f = Facts::of_submission(&m, chrono_tz::UTC);
        f.kind = EventKind::Redirect;
        f.authority_before = Some(AuthorityId::parse("adm-tyumen").unwrap());
        f.authority_after = Some(AuthorityId::parse("tsur-72").unwrap());
        f.credited = f.authority_after.clone();
        let c = deltas(&entry(Some(Status::Routed), Status::Routed, f));
        let fields: Vec<(&str, &str, i64)> =
            c.0.iter()
                .flat_map(|(k, fs)| fs.iter().map(move |(f, v)| (k.series.as_str(), f.as_str(), *v)))
                .filter(|(s, _, _)| s.starts_with("A:"))
                .collect();
        assert!(fields.contains(&("A:adm-tyumen|status", MESSAGES_FIELD, -1)));
        assert!(fields.contains(&("A:tsur-72|status", MESSAGES_FIELD, 1)));
        assert!(c.0.keys().all(|k| k.series.contains("status")), "the region's status counts cancel out: {c:?}");
    }

    #[test]
    fn answers_know_their_deadline_and_response_time() {
        let mut prev = message();
        prev.status = Status::InProgress;
        prev.authority_id = Some(AuthorityId::parse("adm-tyumen").unwrap());
        prev.deadline = Some(prev.created_at + Duration::days(2));
        let mut next = prev.clone();
        next.status = Status::Answered;
        let at = prev.created_at + Duration::hours(30);
        let f = Facts::of_transition(EventKind::Answer, &prev, &next, at, chrono_tz::UTC);
        assert_eq!((f.on_time, f.response_secs), (Some(true), Some(30 * 3600)));
        let late = Facts::of_transition(EventKind::Answer, &prev, &next, at + Duration::days(2), chrono_tz::UTC);
        assert_eq!(late.on_time, Some(false));
        // after a reopening the clock starts again
        prev.reopened_at = Some(prev.created_at + Duration::days(10));
        let again =
            Facts::of_transition(EventKind::Answer, &prev, &next, prev.created_at + Duration::days(11), chrono_tz::UTC);
        assert_eq!(again.response_secs, Some(24 * 3600));
    }

    #[test]
    fn ranges_are_validated() {
        let today = d("2026-11-28");
        let ok = DateRange::parse(None, None, today).unwrap();
        assert_eq!((ok.from, ok.to), (d("2026-10-30"), today));
        assert!(DateRange::parse(Some("2025-11-27"), Some("2026-11-28"), today).is_ok());
        for (from, to) in [
            ("2026-11-28", "2026-11-01"),
            ("2025-11-26", "2026-11-28"),
            ("2026-1-1", "2026-02-01"),
            ("x", "2026-01-01"),
        ] {
            assert!(
                matches!(DateRange::parse(Some(from), Some(to), today), Err(ServiceError::Validation(_))),
                "{from}..{to}"
            );
        }
    }

    #[test]
    fn the_ranking_puts_the_most_punctual_first_and_silent_authorities_last() {
        let g = |key: &str, answered: i64, on_time: i64, r45: i64, rc: i64| {
            let mut f = BTreeMap::new();
            f.insert("answered".to_owned(), answered);
            f.insert("answered_on_time".to_owned(), on_time);
            f.insert("rating_4_5".to_owned(), r45);
            f.insert("rating_count".to_owned(), rc);
            f.insert("routed".to_owned(), 1);
            GroupStats::from_fields(key.into(), &f)
        };
        let ranked = rank(&[g("a", 10, 5, 1, 2), g("b", 4, 4, 0, 1), g("c", 0, 0, 0, 0), g("d", 10, 5, 2, 2)]);
        let order: Vec<&str> = ranked.iter().map(|r| r.authority_id.as_str()).collect();
        assert_eq!(order, vec!["b", "d", "a", "c"]);
        assert_eq!(ranked[0].on_time_share, Some(1.0));
        assert_eq!(ranked[3].on_time_share, None);
    }

    #[test]
    fn the_csv_has_a_header_and_one_row_per_group() {
        let mut f = BTreeMap::new();
        f.insert("submitted".to_owned(), 3);
        let mut g = GroupStats::from_fields("dorogi-yamy".into(), &f);
        g.name = Some("Ямы, \"дороги\"".into());
        let text = String::from_utf8(to_csv(&[g])).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("key,name,submitted,routed"));
        assert!(lines[1].starts_with("dorogi-yamy,\"Ямы, \"\"дороги\"\"\",3,0"), "{}", lines[1]);
    }

    #[test]
    fn every_field_a_lifecycle_counts_is_a_known_field() {
        let m = message();
        let mut all = Counters::default();
        for kind in [
            EventKind::Submit,
            EventKind::Route,
            EventKind::Answer,
            EventKind::Reject,
            EventKind::Overdue,
            EventKind::Close,
            EventKind::Reopen,
        ] {
            let mut f = Facts::of_submission(&m, chrono_tz::UTC);
            f.kind = kind;
            f.credited = Some(AuthorityId::parse("adm-tyumen").unwrap());
            f.score = Some(4);
            f.on_time = Some(true);
            f.response_secs = Some(3600);
            all.merge(&deltas(&entry(Some(Status::Routed), Status::Answered, f)));
        }
        let fields: std::collections::BTreeSet<&str> =
            all.0.values().flat_map(|f| f.keys().map(String::as_str)).collect();
        let known: std::collections::BTreeSet<&str> = EVENT_FIELDS.iter().copied().chain([MESSAGES_FIELD]).collect();
        assert_eq!(fields, known);
    }

    #[test]
    fn increments_that_cancel_leave_nothing() {
        let k = CounterKey { series: "R|all".into(), slot: "D2026-11-28|".into() };
        let mut c = Counters::default();
        c.add(k.clone(), "submitted", 2);
        c.add(k.clone(), "submitted", -2);
        assert!(c.is_empty());
        let mut stored = Counters::default();
        stored.add(k.clone(), "routed", 1);
        assert_eq!(differences(&stored, &c), vec![(k, "routed".to_owned(), 1, 0)]);
    }
}
