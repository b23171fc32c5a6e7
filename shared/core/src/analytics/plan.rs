//! Query plans: which slot ranges of which series answer a query, so its cost follows the
//! number of groups in the answer rather than the number of messages.

use super::counters::{day_slot, dekad_slot, month_slot, series_name, Scope, Series, SlotRange};
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

/// The first day of the dekad holding `d`: the 1st, 11th or 21st.
fn first_of_dekad(d: NaiveDate) -> NaiveDate {
    d.with_day((d.day() - 1).min(20) / 10 * 10 + 1).unwrap_or(d)
}

/// The first day of the first dekad that starts on or after `d`.
fn dekad_at_or_after(d: NaiveDate) -> NaiveDate {
    let start = first_of_dekad(d);
    if start == d {
        return d;
    }
    match start.day() {
        21 => next_month(d),
        _ => start + Duration::days(10),
    }
}

/// The first day of the first month that starts on or after `d`.
fn month_at_or_after(d: NaiveDate) -> NaiveDate {
    if d.day() == 1 {
        d
    } else {
        next_month(d)
    }
}

/// The period a slot range reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    Day,
    Dekad,
    Month,
}

/// A run of whole periods of one kind, its first and last day included.
type Span = (Period, NaiveDate, NaiveDate);

/// Splits a range into whole months, then whole dekads at their edges, then single days at the
/// edges of those, in time order: at most two runs of days (up to 10 each: the last dekad of a
/// month has 8 to 11 days), up to 4 dekads and the months between, however ragged the edges.
fn periods(range: &DateRange) -> Vec<Span> {
    let (from, end) = (range.from, range.to + Duration::days(1));
    // dekads [d1, d2) and months [m1, m2) inside the range; day 1 starts both a month and a dekad
    let (d1, d2) = (dekad_at_or_after(from), first_of_dekad(end));
    let (m1, m2) = (month_at_or_after(from), first_of_month(end));
    let mut out = Vec::new();
    let mut push = |period, a: NaiveDate, b: NaiveDate| {
        if a < b {
            out.push((period, a, b - Duration::days(1)));
        }
    };
    if d1 >= d2 {
        push(Period::Day, from, end);
    } else if m1 >= m2 {
        push(Period::Day, from, d1);
        push(Period::Dekad, d1, d2);
        push(Period::Day, d2, end);
    } else {
        push(Period::Day, from, d1);
        push(Period::Dekad, d1, m1);
        push(Period::Month, m1, m2);
        push(Period::Dekad, m2, d2);
        push(Period::Day, d2, end);
    }
    out
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

/// The slot ranges that answer a query: whole months where the range covers them, whole dekads
/// at their edges, single days at the edges of those, and every day for a daily grouping. So a
/// group costs at most 20 day slots, 4 dekad slots and the months between, whatever the edges.
/// Nothing is counted after `today` (events count on the day they happen), so a range that
/// reaches today covers the rest of today's month too, and reads that month's slot instead of
/// its days.
pub fn plan(scope: &Scope, group: GroupBy, range: &DateRange, today: NaiveDate) -> Vec<SlotRange> {
    let (series, daily) = series_for(scope, group);
    let end_of_month = next_month(today) - Duration::days(1);
    let reach = if range.to >= today { DateRange { from: range.from, to: range.to.max(end_of_month) } } else { *range };
    let spans = if daily { vec![(Period::Day, range.from, range.to)] } else { periods(&reach) };
    spans
        .into_iter()
        .map(|(period, a, b)| {
            let slot = match period {
                Period::Day => day_slot,
                Period::Dekad => dekad_slot,
                Period::Month => month_slot,
            };
            SlotRange { series: series.clone(), slot_from: slot(a, ""), slot_to: slot(b, "~") }
        })
        .collect()
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
    fn a_range_reads_whole_months_then_dekads_then_the_days_at_its_edges() {
        let r = range("2026-01-15", "2026-04-03");
        assert_eq!(
            slots(&Scope::Region, GroupBy::Category, &r),
            vec![
                ("D2026-01-15|".into(), "D2026-01-20|~".into()),
                ("T2026-01-3|".into(), "T2026-01-3|~".into()),
                ("M2026-02|".into(), "M2026-03|~".into()),
                ("D2026-04-01|".into(), "D2026-04-03|~".into()),
            ]
        );
        assert_eq!(plan(&Scope::Region, GroupBy::Category, &r, d("2027-06-01"))[0].series, "R|cat");
        assert_eq!((shards_of("R|cat"), shards_of("A:adm-ishim|cat")), (REGION_SHARDS, 1));
        // the benchmark's ragged past range: 6 days, 1 dekad, 4 months, 2 dekads
        assert_eq!(
            slots(&Scope::Region, GroupBy::Category, &range("2026-01-15", "2026-06-20")),
            vec![
                ("D2026-01-15|".into(), "D2026-01-20|~".into()),
                ("T2026-01-3|".into(), "T2026-01-3|~".into()),
                ("M2026-02|".into(), "M2026-05|~".into()),
                ("T2026-06-1|".into(), "T2026-06-2|~".into()),
            ]
        );
        // a range inside one month reads its whole dekads and the days around them
        assert_eq!(
            slots(&Scope::Region, GroupBy::Municipality, &range("2026-11-03", "2026-11-28")),
            vec![
                ("D2026-11-03|".into(), "D2026-11-10|~".into()),
                ("T2026-11-2|".into(), "T2026-11-2|~".into()),
                ("D2026-11-21|".into(), "D2026-11-28|~".into()),
            ]
        );
        // dekads across the turn of a month, with no whole month, are one range
        assert_eq!(
            slots(&Scope::Region, GroupBy::Municipality, &range("2026-01-11", "2026-02-20")),
            vec![("T2026-01-2|".into(), "T2026-02-2|~".into())]
        );
        // a whole year by months
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
    fn every_range_reads_each_day_once_in_few_slots_whatever_its_edges() {
        let first = d("2027-12-01");
        for start in 0..100 {
            let from = first + Duration::days(start);
            for len in 0..=MAX_RANGE_DAYS {
                let r = DateRange { from, to: from + Duration::days(len) };
                let spans = periods(&r);
                let mut next = r.from;
                let (mut days, mut dekads, mut months) = (0, 0, 0);
                for (period, a, b) in &spans {
                    assert_eq!(*a, next, "{r:?}: {spans:?}");
                    assert!(a <= b);
                    next = *b + Duration::days(1);
                    match period {
                        Period::Day => {
                            let n = (*b - *a).num_days() + 1;
                            assert!(n <= 10 || (spans.len() == 1 && n <= 19), "{r:?}: {spans:?}");
                            days += n;
                        }
                        Period::Dekad => {
                            assert_eq!((first_of_dekad(*a), first_of_dekad(next)), (*a, next), "{r:?}");
                            let m = month_at_or_after(*a);
                            assert!(next_month(m) > next, "a whole month read by dekads: {r:?}: {spans:?}");
                            let mut d = *a;
                            while d < next {
                                dekads += 1;
                                d = dekad_at_or_after(d + Duration::days(1));
                            }
                        }
                        Period::Month => {
                            assert_eq!((first_of_month(*a), first_of_month(next)), (*a, next), "{r:?}");
                            let mut m = *a;
                            while m < next {
                                months += 1;
                                m = next_month(m);
                            }
                        }
                    }
                }
                assert_eq!(next, r.to + Duration::days(1), "{r:?}: {spans:?}");
                assert!(days <= 20 && dekads <= 4 && months <= 12, "{r:?}: {spans:?}");
                assert!(days + dekads <= 24, "{r:?}: {days} days and {dekads} dekads besides {months} months");
            }
        }
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
        assert_eq!(
            plain(&range("2026-11-01", "2026-11-27")),
            vec![("T2026-11-1|".into(), "T2026-11-2|~".into()), ("D2026-11-21|".into(), "D2026-11-27|~".into())]
        );
        // a range starting mid-month reads its first days and dekads
        assert_eq!(
            plain(&range("2026-11-10", "2026-12-31")),
            vec![
                ("D2026-11-10|".into(), "D2026-11-10|~".into()),
                ("T2026-11-2|".into(), "T2026-11-3|~".into()),
                ("M2026-12|".into(), "M2026-12|~".into())
            ]
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
