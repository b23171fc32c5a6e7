//! Public authority scorecards: for the last 12 months, how many answers an authority gave, how
//! many of them were on time (with a 95 % Wilson interval), the median working days from routing
//! to its first answer, how often residents reopened its answers and how often they rated them
//! 4 or 5. Authorities are ranked by the lower bound of the on-time interval, so that one quick
//! answer cannot top the table; those with fewer than [`MIN_ANSWERED`] answers are not ranked.
//! Everything is read from the analytics counters (see `docs/analytics.md`).

use super::counters::{CounterRow, WORKING_DAY_BUCKETS};
use super::plan::DateRange;
use crate::region::RegionData;
use chrono::{Duration, NaiveDate};
use serde::Serialize;
use std::collections::BTreeMap;

/// The window: the region's local `today` and the 364 days before it.
pub const WINDOW_DAYS: i64 = 365;
/// The fewest answers in the window for an authority to be ranked.
pub const MIN_ANSWERED: i64 = 20;
/// The fewest answers (for reopenings) or ratings (for satisfaction) the «отписки» flag looks at.
pub const FORMAL_MIN_N: i64 = 20;
/// Flag: the lower bound of the reopened share's interval is above this.
pub const FORMAL_REOPEN_SHARE: f64 = 0.25;
/// Flag: the upper bound of the 4–5 ratings share's interval is below this.
pub const FORMAL_SATISFIED_SHARE: f64 = 0.5;
/// The normal quantile of a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// The 95 % Wilson score interval of `k` successes in `n` trials; `None` for `n = 0`.
pub fn wilson(k: i64, n: i64) -> Option<(f64, f64)> {
    if n <= 0 {
        return None;
    }
    let (k, n) = (k.clamp(0, n) as f64, n as f64);
    let p = k / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// A share with its count, its base and its 95 % Wilson interval (absent when `n` is 0).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Proportion {
    pub count: i64,
    pub n: i64,
    pub share: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

impl Proportion {
    pub fn of(count: i64, n: i64) -> Proportion {
        let count = count.clamp(0, n.max(0));
        let ci = wilson(count, n);
        Proportion {
            count,
            n: n.max(0),
            share: (n > 0).then(|| round4(count as f64 / n as f64)),
            ci_low: ci.map(|c| round4(c.0)),
            ci_high: ci.map(|c| round4(c.1)),
        }
    }
}

/// The median of the working days from routing to the first answer, exact from the histogram.
/// When the median lies beyond the histogram's last day, `value` is absent and `more_than` says
/// it exceeds 30 working days.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MedianDays {
    pub value: Option<f64>,
    pub more_than: Option<u32>,
    pub n: i64,
}

/// The median of a histogram of working days (`counts[d]` answers after `d` days, the last
/// bucket holding every answer after more days than the one before it).
pub fn median_days(counts: &[i64]) -> MedianDays {
    let n: i64 = counts.iter().map(|c| (*c).max(0)).sum();
    let last = counts.len().saturating_sub(1);
    let at = |pos: i64| -> usize {
        let mut seen = 0;
        for (d, c) in counts.iter().enumerate() {
            seen += (*c).max(0);
            if seen > pos {
                return d;
            }
        }
        last
    };
    if n == 0 {
        return MedianDays { value: None, more_than: None, n };
    }
    let (lo, hi) = (at((n - 1) / 2), at(n / 2));
    if hi == last {
        return MedianDays { value: None, more_than: Some(last as u32 - 1), n };
    }
    MedianDays { value: Some((lo + hi) as f64 / 2.0), more_than: None, n }
}

/// Whether an authority is ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    Ranked,
    InsufficientData,
}

/// One authority's scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Scorecard {
    pub authority_id: String,
    pub name: String,
    /// Place in the ranking, 1 first; absent when not ranked.
    pub rank: Option<u32>,
    pub standing: Standing,
    /// `standing` in words: «в рейтинге» or «недостаточно данных».
    pub standing_ru: String,
    /// Answers given in the window (every answer, including second answers after a reopening).
    pub answered: i64,
    /// Answers given by their deadline and not reopened afterwards, out of `answered`.
    pub on_time: Proportion,
    /// Working days from routing to a message's first answer.
    pub median_working_days: MedianDays,
    /// Answers the resident reopened, out of `answered`.
    pub reopened: Proportion,
    /// Ratings of 4 or 5, out of all ratings.
    pub rating_4_5: Proportion,
    /// «Отписки»: the answers are likely formal replies (see `formal_reply_reasons`).
    pub formal_replies_likely: bool,
    /// Why the flag is raised, in Russian; empty when it is not.
    pub formal_reply_reasons: Vec<String>,
}

/// What one figure of a scorecard means, in Russian.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Explanation {
    pub field: String,
    pub text: String,
}

/// Every authority's scorecard, ranked first, then those with too few answers.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ScorecardList {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub min_answered: i64,
    pub items: Vec<Scorecard>,
    pub explanations: Vec<Explanation>,
}

/// One authority's scorecard with the window and the explanations.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ScorecardReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub min_answered: i64,
    pub scorecard: Scorecard,
    pub explanations: Vec<Explanation>,
}

/// The scorecards' window ending `today`.
pub fn window(today: NaiveDate) -> DateRange {
    DateRange { from: today - Duration::days(WINDOW_DAYS - 1), to: today }
}

/// The explanations of the figures, in plain Russian.
pub fn explanations() -> Vec<Explanation> {
    let e = |field: &str, text: String| Explanation { field: field.to_owned(), text };
    vec![
        e(
            "answered",
            "Сколько ответов ведомство дало жителям за последние 12 месяцев. Повторный ответ после возобновления \
             считается отдельно."
                .into(),
        ),
        e(
            "on_time",
            "Доля ответов, данных в срок. Ответ, который житель потом возобновил, в срок не засчитывается. В скобках — \
             95-процентный доверительный интервал Уилсона: при малом числе ответов он широкий, и одна быстрая реакция \
             не делает ведомство лучшим."
                .into(),
        ),
        e(
            "rank",
            format!(
                "Место в рейтинге по нижней границе интервала доли ответов в срок. Ведомства, давшие меньше {MIN_ANSWERED} \
                 ответов, не ранжируются: «недостаточно данных»."
            ),
        ),
        e(
            "median_working_days",
            "Медиана рабочих дней от направления сообщения в ведомство до его первого ответа по производственному \
             календарю региона: половина сообщений получила ответ быстрее, половина — дольше. 0 — ответ в день \
             направления."
                .into(),
        ),
        e("reopened", "Доля ответов, которые жители возобновили, потому что проблема не решена.".into()),
        e("rating_4_5", "Доля оценок 4 и 5 среди всех оценок, которые жители поставили ответам ведомства.".into()),
        e(
            "formal_replies_likely",
            format!(
                "«Отписки»: признак того, что ответы ведомства часто формальны. Ставится, если по крайней мере \
                 {FORMAL_MIN_N} ответов и с 95-процентной уверенностью возобновляется больше {:.0} % ответов, или если \
                 по крайней мере {FORMAL_MIN_N} оценок и с той же уверенностью оценки 4–5 составляют меньше {:.0} %.",
                FORMAL_REOPEN_SHARE * 100.0,
                FORMAL_SATISFIED_SHARE * 100.0
            ),
        ),
    ]
}

/// The scorecards of every authority of the region from the rows of its authority series over
/// the window, ranked.
pub fn scorecards(rows: &[CounterRow], region: &RegionData) -> Vec<Scorecard> {
    let mut sums: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for a in &region.authorities {
        sums.entry(a.id.to_string()).or_default();
    }
    for row in rows {
        let key = row.key.slot.split_once('|').map(|(_, k)| k).unwrap_or("");
        let Some(into) = sums.get_mut(key) else { continue };
        for (f, v) in &row.fields {
            *into.entry(f.clone()).or_default() += v;
        }
    }
    let mut cards: Vec<Scorecard> = sums
        .iter()
        .map(|(id, f)| {
            let name = region.authorities.iter().find(|a| a.id.as_str() == id).map(|a| a.name.clone());
            card(id, name.unwrap_or_default(), f)
        })
        .collect();
    let low = |c: &Scorecard| c.on_time.ci_low.unwrap_or(0.0);
    cards.sort_by(|a, b| {
        (a.standing != Standing::Ranked)
            .cmp(&(b.standing != Standing::Ranked))
            .then(low(b).total_cmp(&low(a)))
            .then(b.answered.cmp(&a.answered))
            .then(a.authority_id.cmp(&b.authority_id))
    });
    let mut place = 0;
    for c in &mut cards {
        if c.standing == Standing::Ranked {
            place += 1;
            c.rank = Some(place);
        }
    }
    cards
}

fn card(id: &str, name: String, f: &BTreeMap<String, i64>) -> Scorecard {
    let g = |name: &str| f.get(name).copied().unwrap_or(0);
    let answered = g("answered");
    let on_time = Proportion::of(g("answered_on_time") - g("reopened_on_time"), answered);
    let reopened = Proportion::of(g("reopened"), answered);
    let rating_4_5 = Proportion::of(g("rating_4_5"), g("rating_count"));
    let histogram: Vec<i64> =
        (0..WORKING_DAY_BUCKETS as u32).map(|d| g(super::counters::working_days_field(d))).collect();
    let mut reasons = Vec::new();
    if reopened.n >= FORMAL_MIN_N && reopened.ci_low.is_some_and(|l| l > FORMAL_REOPEN_SHARE) {
        reasons.push(format!(
            "жители возобновляют больше {:.0} % ответов (95 % уверенности)",
            FORMAL_REOPEN_SHARE * 100.0
        ));
    }
    if rating_4_5.n >= FORMAL_MIN_N && rating_4_5.ci_high.is_some_and(|h| h < FORMAL_SATISFIED_SHARE) {
        reasons.push(format!(
            "оценки 4–5 составляют меньше {:.0} % оценок (95 % уверенности)",
            FORMAL_SATISFIED_SHARE * 100.0
        ));
    }
    let standing = if answered >= MIN_ANSWERED { Standing::Ranked } else { Standing::InsufficientData };
    Scorecard {
        authority_id: id.to_owned(),
        name,
        rank: None,
        standing,
        standing_ru: match standing {
            Standing::Ranked => "в рейтинге",
            Standing::InsufficientData => "недостаточно данных",
        }
        .to_owned(),
        answered,
        on_time,
        median_working_days: median_days(&histogram),
        reopened,
        rating_4_5,
        formal_replies_likely: !reasons.is_empty(),
        formal_reply_reasons: reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::counters::{working_days_field, CounterKey};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-5
    }

    #[test]
    fn wilson_intervals_match_published_values() {
        // 8 of 10: 0.4902–0.9433
        let (l, h) = wilson(8, 10).unwrap();
        assert!(close(l, 0.4902) && close(h, 0.9433), "{l} {h}");
        // 0 of 10: 0–0.2775
        let (l, h) = wilson(0, 10).unwrap();
        assert!(close(l, 0.0) && close(h, 0.2775), "{l} {h}");
        // 10 of 10: 0.7225–1
        let (l, h) = wilson(10, 10).unwrap();
        assert!(close(l, 0.7225) && close(h, 1.0), "{l} {h}");
        // 1 of 1: one quick answer is no evidence: 0.2065–1
        let (l, h) = wilson(1, 1).unwrap();
        assert!(close(l, 0.2065) && close(h, 1.0), "{l} {h}");
        // 81 of 263, the worked example of Newcombe (1998), method 3: 0.2553–0.3662
        let (l, h) = wilson(81, 263).unwrap();
        assert!(close(l, 0.2553) && close(h, 0.3662), "{l} {h}");
        assert_eq!(wilson(0, 0), None);
    }

    #[test]
    fn the_median_is_exact_within_the_histogram() {
        let mut h = vec![0i64; WORKING_DAY_BUCKETS];
        assert_eq!(median_days(&h), MedianDays { value: None, more_than: None, n: 0 });
        h[3] = 1;
        assert_eq!(median_days(&h).value, Some(3.0));
        h[5] = 1;
        assert_eq!(median_days(&h).value, Some(4.0), "an even count averages the middle two");
        h[0] = 2;
        // 0,0,3,5: the middle two are 0 and 3
        assert_eq!(median_days(&h).value, Some(1.5));
        h[WORKING_DAY_BUCKETS - 1] = 10;
        let m = median_days(&h);
        assert_eq!((m.value, m.more_than, m.n), (None, Some(30), 14));
    }

    fn row(authority: &str, fields: &[(&str, i64)]) -> CounterRow {
        CounterRow {
            key: CounterKey { series: "R|auth".into(), slot: format!("M2026-11|{authority}") },
            fields: fields.iter().map(|(f, v)| (f.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn one_quick_answer_cannot_top_the_table_and_reopened_answers_are_not_on_time() {
        let region = crate::testing::sample_region();
        let ids: Vec<String> = region.authorities.iter().map(|a| a.id.to_string()).collect();
        let (quick, steady, sloppy) = (&ids[0], &ids[1], &ids[2]);
        let rows = vec![
            row(quick, &[("answered", 1), ("answered_on_time", 1), (working_days_field(0), 1)]),
            row(steady, &[("answered", 40), ("answered_on_time", 36), (working_days_field(4), 40)]),
            // 40 answers on time, but 20 of them were reopened: 20 on time, 50 % reopened
            row(
                sloppy,
                &[
                    ("answered", 40),
                    ("answered_on_time", 40),
                    ("reopened", 20),
                    ("reopened_on_time", 20),
                    ("rating_count", 30),
                    ("rating_4_5", 3),
                    (working_days_field(2), 40),
                ],
            ),
        ];
        let cards = scorecards(&rows, &region);
        assert_eq!(cards.len(), region.authorities.len(), "every authority has a card");
        let find = |id: &str| cards.iter().find(|c| c.authority_id == id).unwrap();
        assert_eq!((find(steady).rank, find(sloppy).rank), (Some(1), Some(2)));
        let q = find(quick);
        assert_eq!(
            (q.rank, q.standing, q.standing_ru.as_str()),
            (None, Standing::InsufficientData, "недостаточно данных")
        );
        assert_eq!(q.on_time.share, Some(1.0));
        let s = find(sloppy);
        assert_eq!((s.on_time.count, s.on_time.n), (20, 40));
        assert_eq!(s.median_working_days.value, Some(2.0));
        assert!(s.formal_replies_likely);
        assert_eq!(s.formal_reply_reasons.len(), 2, "{:?}", s.formal_reply_reasons);
        assert!(!find(steady).formal_replies_likely);
        assert_eq!(cards[0].authority_id, *steady);
        assert!(cards.iter().skip(2).all(|c| c.rank.is_none()));
    }

    #[test]
    fn the_window_is_twelve_months_and_every_figure_is_explained() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let w = window(today);
        assert_eq!((w.from, w.to), (NaiveDate::from_ymd_opt(2025, 12, 3).unwrap(), today));
        let fields: Vec<String> = explanations().into_iter().map(|e| e.field).collect();
        for f in
            ["answered", "on_time", "rank", "median_working_days", "reopened", "rating_4_5", "formal_replies_likely"]
        {
            assert!(fields.iter().any(|x| x == f), "{f}");
        }
    }
}
