//! The production calendar and working-day deadlines.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A problem in a calendar, naming the entry at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry}: {problem}")]
pub struct CalendarError {
    pub entry: String,
    pub problem: String,
}

/// A region's production calendar: weekdays that are days off (holidays and days off moved by
/// decree) and weekend days that are working days because of a transfer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    #[serde(default)]
    pub holidays: BTreeSet<NaiveDate>,
    #[serde(default)]
    pub working_weekends: BTreeSet<NaiveDate>,
}

impl Calendar {
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.working_weekends.contains(&d) {
            return true;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&d)
    }

    /// The N-th working day after `day` (N ≥ 1), not counting `day` itself.
    pub fn nth_working_day_after(&self, day: NaiveDate, n: u16) -> NaiveDate {
        let mut d = day;
        let mut left = n.max(1);
        while left > 0 {
            d = d.checked_add_days(Days::new(1)).unwrap_or(d);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// The working days after `from` up to and including `to`: 0 on the same day, 1 on the
    /// next working day. The day `from` itself does not count, as for deadlines.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days().skip(1).take_while(|d| *d <= to).filter(|d| self.is_working_day(*d)).count() as u32
    }

    /// When a message routed at `from` falls due: the end (23:59:59 local time) of the N-th
    /// working day after the local routing day.
    pub fn deadline<Tz: TimeZone>(&self, from: DateTime<Utc>, working_days: u16, tz: &Tz) -> DateTime<Utc> {
        let local_day = from.with_timezone(tz).date_naive();
        let due_day = self.nth_working_day_after(local_day, working_days);
        let end = due_day.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default());
        tz.from_local_datetime(&end)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&end))
    }

    pub fn validate(&self) -> Vec<CalendarError> {
        let mut errs = Vec::new();
        for d in &self.holidays {
            if matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
                errs.push(CalendarError {
                    entry: format!("calendar.holidays[{d}]"),
                    problem: "это выходной день; перечисляйте только будние дни, которые стали нерабочими".into(),
                });
            }
        }
        for d in &self.working_weekends {
            if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
                errs.push(CalendarError {
                    entry: format!("calendar.working_weekends[{d}]"),
                    problem: "это не суббота и не воскресенье".into(),
                });
            }
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Yekaterinburg;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn calendar_2026() -> Calendar {
        Calendar {
            holidays: [
                "2026-01-01",
                "2026-01-02",
                "2026-01-05",
                "2026-01-06",
                "2026-01-07",
                "2026-01-08",
                "2026-01-09",
            ]
            .into_iter()
            .chain(["2026-02-23", "2026-03-09", "2026-05-01", "2026-05-11", "2026-06-12", "2026-11-04"])
            .chain(["2026-12-31", "2027-01-01", "2027-01-04", "2027-01-05", "2027-01-06", "2027-01-07", "2027-01-08"])
            .map(d)
            .collect(),
            working_weekends: [d("2027-11-06")].into_iter().collect(),
        }
    }

    #[test]
    fn working_days_between_count_as_deadlines_do() {
        let c = calendar_2026();
        assert_eq!(c.working_days_between(d("2026-11-27"), d("2026-11-27")), 0);
        // Friday to Monday: the weekend does not count
        assert_eq!(c.working_days_between(d("2026-11-27"), d("2026-11-30")), 1);
        // over the New Year holidays: 31 Dec and 1–8 Jan are days off
        assert_eq!(c.working_days_between(d("2026-12-30"), d("2027-01-11")), 1);
        for n in [1, 5, 10, 30] {
            let due = c.nth_working_day_after(d("2026-12-25"), n);
            assert_eq!(c.working_days_between(d("2026-12-25"), due), u32::from(n));
        }
        assert_eq!(c.working_days_between(d("2026-11-30"), d("2026-11-27")), 0, "an answer before routing is 0");
    }

    #[test]
    fn a_friday_routing_with_three_days_skips_the_weekend() {
        // Given a message routed on Friday 2026-11-27 at 10:00 local time
        let at = utc("2026-11-27T10:00:00+05:00");
        // When it has three working days
        let due = calendar_2026().deadline(at, 3, &Yekaterinburg);
        // Then it is due at the end of Wednesday
        assert_eq!(due, utc("2026-12-02T23:59:59+05:00"));
    }

    #[test]
    fn a_holiday_is_not_counted() {
        // Routed on Tuesday 2026-11-03; Wednesday 2026-11-04 is Народное единство
        let due = calendar_2026().deadline(utc("2026-11-03T12:00:00+05:00"), 1, &Yekaterinburg);
        assert_eq!(due, utc("2026-11-05T23:59:59+05:00"));
    }

    #[test]
    fn the_new_year_break_and_moved_days_off_are_skipped() {
        // Routed on Wednesday 2026-12-30: Dec 31 is moved off, Jan 1–10 are off
        let due = calendar_2026().deadline(utc("2026-12-30T09:00:00+05:00"), 2, &Yekaterinburg);
        assert_eq!(due, utc("2027-01-12T23:59:59+05:00"));
    }

    #[test]
    fn a_transferred_working_saturday_counts() {
        // Friday 2027-11-05 with Saturday 2027-11-06 declared a working day
        let due = calendar_2026().deadline(utc("2027-11-05T09:00:00+05:00"), 1, &Yekaterinburg);
        assert_eq!(due, utc("2027-11-06T23:59:59+05:00"));
    }

    #[test]
    fn the_routing_day_is_the_local_day_not_the_utc_day() {
        // 2026-11-26T20:30Z is already Friday 01:30 in Yekaterinburg time
        let due = calendar_2026().deadline(utc("2026-11-26T20:30:00Z"), 1, &Yekaterinburg);
        assert_eq!(due, utc("2026-11-30T23:59:59+05:00"));
        // and 18:59Z on Thursday is still Thursday 23:59 locally
        let due = calendar_2026().deadline(utc("2026-11-26T18:59:00Z"), 1, &Yekaterinburg);
        assert_eq!(due, utc("2026-11-27T23:59:59+05:00"));
    }

    #[test]
    fn a_weekend_holiday_entry_is_refused() {
        let c = Calendar { holidays: [d("2026-11-28")].into_iter().collect(), working_weekends: Default::default() };
        assert_eq!(c.validate().len(), 1);
    }
}
