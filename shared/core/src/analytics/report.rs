//! Reports: the rows of a query added up into groups, the authorities' ranking, the CSV form,
//! and the report types the API returns.

use super::counters::{add_fields, sum_by_key, CounterRow, GroupSums, Scope, MESSAGES_FIELD};
use super::plan::{DateRange, GroupBy};
use crate::ids::{AuthorityId, CategoryId, MunicipalityId};
use crate::message::Status;
use crate::region::RegionData;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;

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
    /// Residents who said «Я тоже» to a public message of the group: demand beyond the authors.
    pub supporters: i64,
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
            supporters: g("supporters"),
            avg_response_hours: ratio(g("response_secs"), answered * 3600),
            rating_avg: ratio(g("rating_sum"), rating_count),
            rating_count,
            rating_4_5_share: ratio(g("rating_4_5"), rating_count),
            messages: None,
        }
    }
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
    let sums = if group == GroupBy::Day {
        let mut sums = GroupSums::new();
        for row in rows {
            add_fields(sums.entry(slot_day(&row.key.slot).to_owned()).or_default(), &row.fields);
        }
        sums
    } else {
        sum_by_key(rows)
    };
    summarize_sums(scope, group, range, sums, region)
}

/// The groups of a query from its sums per group key (`CounterStore::sum_counters`), or per day
/// for a daily grouping, in the API's order.
pub fn summarize_sums(
    scope: &Scope,
    group: GroupBy,
    range: &DateRange,
    mut sums: GroupSums,
    region: &RegionData,
) -> Vec<GroupStats> {
    if group == GroupBy::Day {
        for d in range.days() {
            sums.entry(d.format("%Y-%m-%d").to_string()).or_default();
        }
    }
    if let (GroupBy::Authority, Scope::Authority(a)) = (group, scope) {
        // an authority's own series has no group key: its one group is the authority
        let mut own = BTreeMap::new();
        for fields in std::mem::take(&mut sums).values() {
            add_fields(&mut own, fields);
        }
        sums.insert(a.to_string(), own);
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
                GroupBy::Status => stats.key.parse::<Status>().ok().map(|s| s.name_ru().to_owned()),
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

/// One cell of an exported report.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Count(i64),
    /// A figure with a fraction (hours, an average rating, a share of 0..1).
    Figure(f64),
    /// A figure the data does not have (no answers, no ratings).
    Empty,
}

/// The columns of an exported messages report, in order: the documented machine header of the
/// CSV, and the Russian header people read in the spreadsheet.
pub const REPORT_COLUMNS: [(&str, &str); 15] = [
    ("key", "Код"),
    ("name", "Название"),
    ("submitted", "Подано"),
    ("routed", "Направлено исполнителю"),
    ("answered", "Дано ответов (с повторными)"),
    ("answered_on_time", "Ответов в срок"),
    ("overdue", "Просрочено"),
    ("rejected", "Отклонено"),
    ("closed", "Закрыто"),
    ("reopened", "Возвращено на доработку"),
    ("avg_response_hours", "Среднее время ответа, ч"),
    ("rating_avg", "Средняя оценка"),
    ("rating_count", "Оценок"),
    ("rating_4_5_share", "Доля оценок 4–5"),
    ("supporters", "Поддержали («Я тоже»)"),
];

/// The rows of an exported messages report, one per group, in the order of [`REPORT_COLUMNS`].
pub fn report_rows(groups: &[GroupStats]) -> Vec<[Cell; 15]> {
    let opt = |v: Option<f64>| v.map_or(Cell::Empty, Cell::Figure);
    groups
        .iter()
        .map(|g| {
            [
                Cell::Text(g.key.clone()),
                g.name.clone().map_or(Cell::Empty, Cell::Text),
                Cell::Count(g.submitted),
                Cell::Count(g.routed),
                Cell::Count(g.answered),
                Cell::Count(g.answered_on_time),
                Cell::Count(g.overdue),
                Cell::Count(g.rejected),
                Cell::Count(g.closed),
                Cell::Count(g.reopened),
                opt(g.avg_response_hours),
                opt(g.rating_avg),
                Cell::Count(g.rating_count),
                opt(g.rating_4_5_share),
                Cell::Count(g.supporters),
            ]
        })
        .collect()
}

/// The CSV form of a messages report for machines and for spreadsheets alike: RFC 4180 (commas,
/// CRLF, quotes doubled), UTF-8 with a byte order mark so that a spreadsheet opened in Russian
/// reads the names right, the machine header of [`REPORT_COLUMNS`], then one row per group.
pub fn to_csv(groups: &[GroupStats]) -> Vec<u8> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(&mut out);
    let _ = w.write_record(REPORT_COLUMNS.iter().map(|(machine, _)| *machine));
    for row in report_rows(groups) {
        let _ = w.write_record(row.iter().map(|c| match c {
            Cell::Text(t) => t.clone(),
            Cell::Count(n) => n.to_string(),
            Cell::Figure(x) => x.to_string(),
            Cell::Empty => String::new(),
        }));
    }
    drop(w);
    out
}

/// A messages report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MessagesReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: &'static str,
    pub groups: Vec<GroupStats>,
    /// The time up to which the counters hold every committed transition: the moment of the
    /// request where each transition counts in its own transaction (the local host), the last
    /// counting pass on AWS (at most about a minute behind).
    pub counted_as_of: chrono::DateTime<chrono::Utc>,
}

/// Turnout of one municipality.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Turnout {
    pub municipality_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Exact from ten ballots on; "<10" below, and for the groups hidden with them.
    pub ballots: crate::disclosure::GroupCount,
    /// The residents who could vote there: the municipality's adults from the region file, for a
    /// poll open to every adult (no minimum age, or 18).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eligible: Option<u64>,
    /// `ballots / eligible`, 0..1, rounded to four places; absent when either is unknown or the
    /// count is suppressed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
}

/// A poll's turnout, and its results once published.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PollReport {
    pub poll_id: crate::ids::PollId,
    pub status: crate::participation::PollStatus,
    pub total_ballots: u64,
    /// The residents of the poll's audience who could vote, where the region file knows every
    /// municipality's adults and the poll is open to every adult.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eligible: Option<u64>,
    /// `total_ballots / eligible`, 0..1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turnout_share: Option<f64>,
    pub turnout: Vec<Turnout>,
    /// `None` until the results are published.
    pub results: Option<crate::participation::Results>,
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let text = text.strip_prefix('\u{feff}').expect("a byte order mark first");
        assert!(text.ends_with("\r\n") && text.matches("\r\n").count() == 2, "{text:?}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("key,name,submitted,routed"));
        assert!(lines[1].starts_with("dorogi-yamy,\"Ямы, \"\"дороги\"\"\",3,0"), "{}", lines[1]);
    }
}
