//! Query plans: which slot ranges of which series answer a query, so its cost follows the
//! number of groups in the answer rather than the number of messages.

use super::counters::{day_slot, month_slot, series_name, Scope, Series, SlotRange};
use crate::error::{FieldError, ServiceError};
use chrono::{Datelike, Duration, NaiveDate};

/// How a messages query groups its figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum GroupBy {
    Category,
    Municipality,
    Authority,
    Status,
    Day,
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

#[cfg(test)]
mod tests {
    use super::super::counters::{shards_of, REGION_SHARDS};
    use super::*;
    use crate::ids::AuthorityId;

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
}
