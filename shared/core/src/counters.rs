//! The analytics counters' keys (series and slot) and the increments each history entry adds to
//! them (`deltas`). Core computes the increments once, when it builds a transition
//! (`ports::MessageUpdate`, `ports::NewMessage`); the stores only add them up.

use crate::ids::{AuthorityId, MessageId};
use crate::message::{EventKind, HistoryEntry, Status};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The event counters of a group, in the order of the API's fields.
pub const EVENT_FIELDS: [&str; 13] = [
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
    "supporters",
];

/// The scorecards' counters: answers that were on time and then reopened (they no longer count
/// as on time), and a histogram of the working days from routing to a message's first answer,
/// one field per day from 0 to 30 and one for more than 30 (`answer_wd_over_30`), so the median
/// is exact up to 30 working days.
pub const SCORECARD_FIELDS: [&str; 33] = [
    "reopened_on_time",
    "answer_wd_0",
    "answer_wd_1",
    "answer_wd_2",
    "answer_wd_3",
    "answer_wd_4",
    "answer_wd_5",
    "answer_wd_6",
    "answer_wd_7",
    "answer_wd_8",
    "answer_wd_9",
    "answer_wd_10",
    "answer_wd_11",
    "answer_wd_12",
    "answer_wd_13",
    "answer_wd_14",
    "answer_wd_15",
    "answer_wd_16",
    "answer_wd_17",
    "answer_wd_18",
    "answer_wd_19",
    "answer_wd_20",
    "answer_wd_21",
    "answer_wd_22",
    "answer_wd_23",
    "answer_wd_24",
    "answer_wd_25",
    "answer_wd_26",
    "answer_wd_27",
    "answer_wd_28",
    "answer_wd_29",
    "answer_wd_30",
    "answer_wd_over_30",
];

/// How many buckets the working-days histogram has: `SCORECARD_FIELDS[1..]`.
pub const WORKING_DAY_BUCKETS: usize = 32;

/// The histogram field of a first answer after `days` working days.
pub fn working_days_field(days: u32) -> &'static str {
    let i = (days as usize).min(WORKING_DAY_BUCKETS - 1);
    SCORECARD_FIELDS.get(1 + i).copied().unwrap_or("answer_wd_over_30")
}

/// The counter of the status series: messages currently in the slot's status.
pub const MESSAGES_FIELD: &str = "messages";

/// The counter of the status series beside [`MESSAGES_FIELD`]: of the messages in the slot's
/// status, those awaiting an answer past their deadline (`Facts::overdue_after`).
pub const OVERDUE_NOW_FIELD: &str = "overdue_now";

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub(crate) enum Series {
    All,
    #[strum(serialize = "cat")]
    Category,
    #[strum(serialize = "mun")]
    Municipality,
    #[strum(serialize = "auth")]
    Authority,
    Status,
}

impl Series {
    /// The series' word in stored counter keys.
    pub(crate) fn tag(self) -> &'static str {
        self.into()
    }
}

/// Whose figures a query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Region,
    Authority(AuthorityId),
}

pub(crate) fn series_name(scope: &Scope, series: Series) -> String {
    match scope {
        Scope::Region => format!("R|{}", series.tag()),
        Scope::Authority(a) => format!("A:{a}|{}", series.tag()),
    }
}

pub(crate) fn day_slot(day: NaiveDate, key: &str) -> String {
    format!("D{}|{key}", day.format("%Y-%m-%d"))
}

pub(crate) fn month_slot(day: NaiveDate, key: &str) -> String {
    format!("M{:04}-{:02}|{key}", day.year(), day.month())
}

/// The dekad (ten-day period) of a day: 1 for days 1–10, 2 for 11–20, 3 for 21 to the month's end.
pub(crate) fn dekad_of(day: NaiveDate) -> u32 {
    (day.day() - 1).min(20) / 10 + 1
}

/// The slot of a dekad: `T2026-01-3|key` for 21–31 January 2026. Dekad slots sort between the
/// dekads of the month before and after, so a run of dekads is one slot range.
pub(crate) fn dekad_slot(day: NaiveDate, key: &str) -> String {
    format!("T{:04}-{:02}-{}|{key}", day.year(), day.month(), dekad_of(day))
}

/// The three periods every dated increment is counted in: its day, its dekad and its month.
const PERIOD_SLOTS: [fn(NaiveDate, &str) -> String; 3] = [day_slot, dekad_slot, month_slot];

/// The series of the public map's cell counters at `precision`, for a cell of at least that
/// precision: `G|<precision>|<the cell's first precision - 2 characters>`. Its slots are
/// `<cell>|<category>|<status>` and its one field is [`MESSAGES_FIELD`]: the publicly visible
/// messages in that cell, category and status. A partition holds the cells of one parent two
/// levels up (at most 1024), so a map reads a handful of partitions, never the whole region.
pub fn cell_series(precision: usize, cell: &str) -> String {
    format!("G|{precision}|{}", cell.get(..precision.saturating_sub(2)).unwrap_or(cell))
}

/// The slot of a cell counter.
pub fn cell_slot(cell: &str, category: &str, status: &str) -> String {
    format!("{cell}|{category}|{status}")
}

/// The series of the staff heat map's cell counters at `precision`, for a cell of at least that
/// precision: `H|<precision>|<the cell's first precision - 2 characters>`. Its slots are
/// `<cell>|<category>|<municipality>` and its fields are [`MESSAGES_FIELD`] (every located message that was
/// not rejected, public or not) and [`OVERDUE_FIELD`] (those of them overdue now). Partitioned
/// like the public map's [`cell_series`].
pub fn heat_series(precision: usize, cell: &str) -> String {
    format!("H|{precision}|{}", cell.get(..precision.saturating_sub(2)).unwrap_or(cell))
}

/// The slot of a heat map counter.
pub fn heat_slot(cell: &str, category: &str, municipality: &str) -> String {
    format!("{cell}|{category}|{municipality}")
}

/// The heat map counters' second field: messages of the cell overdue now
/// ([`crate::message::Message::is_overdue`]). In the event series the same field counts
/// escalations; each series documents its fields.
pub const OVERDUE_FIELD: &str = "overdue";

/// How many shards a series is split over where the store shards: the region's series take
/// every transition of the region, an authority's only its own; the two maps' two coarsest
/// precisions hold the whole region in one or a few partitions.
pub fn shards_of(series: &str) -> u32 {
    if series.starts_with("R|") || ["G|2|", "G|3|", "H|2|", "H|3|"].iter().any(|p| series.starts_with(p)) {
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
        EventKind::Answer => {
            let mut v = vec![
                ("answered", 1),
                ("answered_on_time", i64::from(f.on_time == Some(true))),
                ("response_secs", f.response_secs.unwrap_or(0)),
            ];
            if let Some(days) = f.working_days {
                v.push((working_days_field(days), 1));
            }
            v
        }
        EventKind::Reject => vec![("rejected", 1)],
        EventKind::Overdue => vec![("overdue", 1)],
        EventKind::Close | EventKind::Reopen => {
            let score = i64::from(f.score.unwrap_or(0));
            let name = if f.kind == EventKind::Close { "closed" } else { "reopened" };
            let mut v =
                vec![(name, 1), ("rating_count", 1), ("rating_sum", score), ("rating_4_5", i64::from(score >= 4))];
            if f.kind == EventKind::Reopen {
                v.push(("reopened_on_time", i64::from(f.on_time == Some(true))));
            }
            v
        }
        EventKind::Support => vec![("supporters", 1)],
        EventKind::Take | EventKind::Redirect | EventKind::LinkDuplicate => vec![],
    };
    let day = f.day;
    for slot_of in PERIOD_SLOTS {
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
    let before = entry.from.map(|s| (s, f.authority_before.clone(), f.overdue_before));
    let after = Some((entry.to, f.authority_after.clone(), f.overdue_after));
    if before != after {
        for (state, sign) in [(before, -1), (after, 1)] {
            let Some((status, authority, overdue)) = state else { continue };
            for slot in PERIOD_SLOTS.map(|slot_of| slot_of(submitted, status.as_str())) {
                let mut series = vec![series_name(&Scope::Region, Series::Status)];
                series.extend(authority.iter().map(|a| series_name(&Scope::Authority(a.clone()), Series::Status)));
                for series in series {
                    let key = CounterKey { series, slot: slot.clone() };
                    out.add(key.clone(), MESSAGES_FIELD, sign);
                    if overdue {
                        out.add(key, OVERDUE_NOW_FIELD, sign);
                    }
                }
            }
        }
    }
    // The public map: the message leaves its old (cell, category, status) and joins the new one
    // while it is publicly visible (routed and never rejected; the author chose `public`).
    if let Some(cell) = &f.public_cell {
        let visible = |s: Status| !matches!(s, Status::Submitted | Status::Rejected);
        for (status, sign) in [(entry.from, -1), (Some(entry.to), 1)] {
            let Some(status) = status.filter(|s| visible(*s)) else { continue };
            for p in crate::geo::CLUSTER_PRECISIONS {
                let Some(c) = cell.get(..p) else { continue };
                let key = CounterKey {
                    series: cell_series(p, c),
                    slot: cell_slot(c, f.category_id.as_str(), status.as_str()),
                };
                out.add(key, MESSAGES_FIELD, sign);
            }
        }
    }
    // The staff heat map: every located message that was not rejected, public or not, and those
    // of them overdue now, in its cell and category at every heat precision.
    if let Some(cell) = &f.heat_cell {
        let counted = |s: Status| s != Status::Rejected;
        let before = entry.from.filter(|s| counted(*s)).map(|_| f.overdue_before);
        let after = Some(entry.to).filter(|s| counted(*s)).map(|_| f.overdue_after);
        let state = |s: Option<bool>| (i64::from(s.is_some()), i64::from(s == Some(true)));
        let ((m0, o0), (m1, o1)) = (state(before), state(after));
        for p in crate::geo::HEAT_PRECISIONS {
            let Some(c) = cell.get(..p) else { continue };
            let key = CounterKey {
                series: heat_series(p, c),
                slot: heat_slot(c, f.category_id.as_str(), f.municipality_id.as_str()),
            };
            out.add(key.clone(), MESSAGES_FIELD, m1 - m0);
            out.add(key, OVERDUE_FIELD, o1 - o0);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CategoryId, MunicipalityId};
    use crate::message::{ActorRole, Facts, Message, Status};
    use chrono::{DateTime, Duration, Utc};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn message() -> Message {
        let at = DateTime::parse_from_rfc3339("2026-11-27T23:30:00+05:00").unwrap().with_timezone(&Utc);
        crate::submission::new_submission(
            &crate::ids::CitizenId::parse("alice").unwrap(),
            &crate::submission::NewMessage {
                category_id: CategoryId::parse("dorogi-yamy").unwrap(),
                text: crate::values::MessageText::parse("Яма на дороге у дома").unwrap(),
                municipality_id: None,
                address: None,
                location: None,
                photo_ids: Default::default(),
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
        // every dated increment also counts in its dekad: 27 November is in 21–30 November
        assert_eq!(c.0[&key("cat", "T2026-11-3|dorogi-yamy")]["submitted"], 1);
        assert_eq!(c.0[&key("status", "T2026-11-3|submitted")][MESSAGES_FIELD], 1);
        assert_eq!(c.len(), 12, "R|all, R|cat, R|mun and R|status, each by day, dekad and month: {c:?}");
        assert!(c.0.keys().all(|k| k.series.starts_with("R|")), "no authority yet");
    }

    #[test]
    fn a_month_has_three_dekads_the_last_to_its_end() {
        let cases = [
            ("2026-01-01", "T2026-01-1|"),
            ("2026-01-10", "T2026-01-1|"),
            ("2026-01-11", "T2026-01-2|"),
            ("2026-01-20", "T2026-01-2|"),
            ("2026-01-21", "T2026-01-3|"),
            ("2026-01-31", "T2026-01-3|"),
            ("2026-02-28", "T2026-02-3|"),
            ("2028-02-29", "T2028-02-3|"),
            ("2026-12-31", "T2026-12-3|"),
        ];
        for (day, slot) in cases {
            assert_eq!(dekad_slot(d(day), ""), slot, "{day}");
        }
        // the slots sort in time order, across months and years
        let mut slots: Vec<String> = d("2025-12-25").iter_days().take(70).map(|day| dekad_slot(day, "zzz")).collect();
        let in_order = slots.clone();
        slots.sort();
        slots.dedup();
        assert_eq!(slots.len(), 8);
        assert!(in_order.windows(2).all(|w| w[0] <= w[1]));
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
        let f = Facts::of_transition(
            EventKind::Answer,
            &prev,
            &next,
            at,
            chrono_tz::UTC,
            &crate::calendar::Calendar::default(),
        );
        assert_eq!((f.on_time, f.response_secs), (Some(true), Some(30 * 3600)));
        let late = Facts::of_transition(
            EventKind::Answer,
            &prev,
            &next,
            at + Duration::days(2),
            chrono_tz::UTC,
            &crate::calendar::Calendar::default(),
        );
        assert_eq!(late.on_time, Some(false));
        // after a reopening the clock starts again
        prev.reopened_at = Some(prev.created_at + Duration::days(10));
        let again = Facts::of_transition(
            EventKind::Answer,
            &prev,
            &next,
            prev.created_at + Duration::days(11),
            chrono_tz::UTC,
            &crate::calendar::Calendar::default(),
        );
        assert_eq!(again.response_secs, Some(24 * 3600));
    }

    #[test]
    fn a_first_answer_counts_its_working_days_and_a_reopening_takes_back_its_on_time() {
        let cal = crate::calendar::Calendar::default();
        let mut prev = message();
        prev.status = Status::Routed;
        prev.authority_id = Some(AuthorityId::parse("adm-tyumen").unwrap());
        // routed on Friday 27 Nov (local), answered on Tuesday 1 Dec: 2 working days
        prev.routed_at = Some(prev.created_at);
        prev.deadline = Some(prev.created_at + Duration::days(10));
        let at = prev.created_at + Duration::days(4);
        let mut next = prev.clone();
        next.status = Status::Answered;
        next.answer = Some(crate::message::Answer {
            text: "Сделано".into(),
            answered_at: at,
            authority_id: AuthorityId::parse("adm-tyumen").unwrap(),
            official_id: None,
        });
        let tz = chrono_tz::Asia::Yekaterinburg;
        let f = Facts::of_transition(EventKind::Answer, &prev, &next, at, tz, &cal);
        assert_eq!(f.working_days, Some(2));
        let c = deltas(&entry(Some(Status::Routed), Status::Answered, f));
        let auth = CounterKey { series: "R|auth".into(), slot: "M2026-12|adm-tyumen".into() };
        assert_eq!(c.0[&auth][working_days_field(2)], 1);
        assert_eq!(working_days_field(45), "answer_wd_over_30");

        // the resident reopens the on-time answer: it stops counting as on time
        let mut reopened = next.clone();
        reopened.status = Status::Reopened;
        reopened.rating = Some(crate::message::Rating { score: 2, comment: None, rated_at: at });
        let r = Facts::of_transition(EventKind::Reopen, &next, &reopened, at + Duration::days(1), tz, &cal);
        assert_eq!(r.on_time, Some(true));
        let c = deltas(&entry(Some(Status::Answered), Status::Reopened, r));
        assert_eq!(c.0[&auth]["reopened_on_time"], 1);

        // the second answer, after the reopening, is not a first answer
        let second = Facts::of_transition(EventKind::Answer, &reopened, &next, at + Duration::days(3), tz, &cal);
        assert_eq!(second.working_days, None);
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
            EventKind::Support,
        ] {
            let mut f = Facts::of_submission(&m, chrono_tz::UTC);
            f.kind = kind;
            f.credited = Some(AuthorityId::parse("adm-tyumen").unwrap());
            f.score = Some(4);
            f.on_time = Some(true);
            f.response_secs = Some(3600);
            f.working_days = Some(2);
            all.merge(&deltas(&entry(Some(Status::Routed), Status::Answered, f)));
        }
        let fields: std::collections::BTreeSet<&str> =
            all.0.values().flat_map(|f| f.keys().map(String::as_str)).collect();
        let known: std::collections::BTreeSet<&str> =
            EVENT_FIELDS.iter().copied().chain([MESSAGES_FIELD, "reopened_on_time", working_days_field(2)]).collect();
        assert_eq!(fields, known);
    }

    #[test]
    fn a_public_message_counts_in_its_cells_only_while_publicly_visible() {
        let mut m = message();
        m.public = true;
        m.location = Some(crate::values::Location::new(57.1522, 65.5412).unwrap());
        let cell = crate::geo::encode(57.1522, 65.5412, crate::geo::CELL_PRECISION);
        let cells = |c: &Counters| -> Vec<(String, String, i64)> {
            c.0.iter()
                .filter(|(k, _)| k.series.starts_with("G|"))
                .map(|(k, f)| (k.series.clone(), k.slot.clone(), f[MESSAGES_FIELD]))
                .collect()
        };
        let submitted = Facts::of_submission(&m, chrono_tz::UTC);
        assert_eq!(submitted.public_cell.as_deref(), Some(cell.as_str()));
        assert!(cells(&deltas(&entry(None, Status::Submitted, submitted.clone()))).is_empty(), "not before routing");
        let mut f = submitted.clone();
        f.kind = EventKind::Route;
        let routed = cells(&deltas(&entry(Some(Status::Submitted), Status::Routed, f.clone())));
        assert_eq!(routed.len(), 6, "one cell per precision 2..7: {routed:?}");
        assert!(routed.contains(&(format!("G|7|{}", &cell[..5]), format!("{cell}|dorogi-yamy|routed"), 1)));
        assert!(routed.contains(&("G|2|".to_owned(), format!("{}|dorogi-yamy|routed", &cell[..2]), 1)));
        f.kind = EventKind::Take;
        let taken = cells(&deltas(&entry(Some(Status::Routed), Status::InProgress, f.clone())));
        assert_eq!(taken.iter().map(|t| t.2).sum::<i64>(), 0, "moves between statuses: {taken:?}");
        assert_eq!(taken.len(), 12);
        f.kind = EventKind::Reject;
        let rejected = cells(&deltas(&entry(Some(Status::InProgress), Status::Rejected, f.clone())));
        assert!(rejected.iter().all(|t| t.2 == -1) && rejected.len() == 6, "a rejection leaves the map");
        f.kind = EventKind::Support;
        let supported = deltas(&entry(Some(Status::InProgress), Status::InProgress, f.clone()));
        assert!(cells(&supported).is_empty());
        assert_eq!(
            supported.0[&CounterKey { series: "R|cat".into(), slot: "M2026-11|dorogi-yamy".into() }]["supporters"],
            1
        );
        m.public = false;
        assert_eq!(Facts::of_submission(&m, chrono_tz::UTC).public_cell, None, "private messages are never on the map");
    }

    #[test]
    fn a_located_message_counts_on_the_heat_map_public_or_not_and_while_overdue() {
        let mut m = message();
        m.location = Some(crate::values::Location::new(57.1522, 65.5412).unwrap());
        let cell = crate::geo::encode(57.1522, 65.5412, crate::geo::HEAT_CELL_PRECISION);
        let heat = |c: &Counters| -> BTreeMap<(String, String), (i64, i64)> {
            c.0.iter()
                .filter(|(k, _)| k.series.starts_with("H|"))
                .map(|(k, f)| {
                    let get = |n: &str| f.get(n).copied().unwrap_or(0);
                    ((k.series.clone(), k.slot.clone()), (get(MESSAGES_FIELD), get(OVERDUE_FIELD)))
                })
                .collect()
        };
        let sum = |c: &Counters| heat(c).values().fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1));
        let mut f = Facts::of_submission(&m, chrono_tz::UTC);
        assert_eq!(f.public_cell, None, "a private message");
        assert_eq!(f.heat_cell.as_deref(), Some(cell.as_str()));
        let submitted = deltas(&entry(None, Status::Submitted, f.clone()));
        assert_eq!(heat(&submitted).len(), 5, "one cell per precision 2..6: {submitted:?}");
        let slot = format!("{}|dorogi-yamy|tyumen", &cell[..4]);
        assert_eq!(heat(&submitted)[&(format!("H|4|{}", &cell[..2]), slot)], (1, 0));
        assert_eq!(sum(&submitted), (5, 0));
        f.kind = EventKind::Route;
        assert!(heat(&deltas(&entry(Some(Status::Submitted), Status::Routed, f.clone()))).is_empty());
        f.kind = EventKind::Overdue;
        f.overdue_after = true;
        assert_eq!(sum(&deltas(&entry(Some(Status::Routed), Status::Routed, f.clone()))), (0, 5));
        f.kind = EventKind::Take;
        f.overdue_before = true;
        assert!(heat(&deltas(&entry(Some(Status::Routed), Status::InProgress, f.clone()))).is_empty());
        f.kind = EventKind::Answer;
        f.overdue_after = false;
        assert_eq!(sum(&deltas(&entry(Some(Status::InProgress), Status::Answered, f.clone()))), (0, -5));
        f.kind = EventKind::Reject;
        f.overdue_before = true;
        assert_eq!(sum(&deltas(&entry(Some(Status::InProgress), Status::Rejected, f.clone()))), (-5, -5));
        f.overdue_before = false;
        assert_eq!(sum(&deltas(&entry(Some(Status::Submitted), Status::Rejected, f))), (-5, 0));
    }
}
