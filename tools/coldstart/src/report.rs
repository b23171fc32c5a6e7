//! Summaries (median/min/max), the printed table and the JSON file.

use serde_json::{json, Value};

/// One measured process.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    /// exec → first `GET .../invocation/next`.
    pub init_ms: Option<f64>,
    /// first `next` served → its response/error posted.
    pub first_ms: Option<f64>,
    /// second `next` → its response/error (only with `--warm-invoke`).
    pub second_ms: Option<f64>,
    /// `response`, `error`, `init_error`, `exited` or `timeout`.
    pub outcome: &'static str,
    /// The error body, init error or log tail, shortened; for a response, the HTTP status or the
    /// number of SQS batch item failures.
    pub detail: Option<String>,
    /// VmHWM of the process just before it was killed.
    pub peak_rss_kib: Option<u64>,
}

/// A measured (or skipped) function.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub binary: String,
    pub event: String,
    pub size_bytes: u64,
    pub skipped: Option<String>,
    pub runs: Vec<RunResult>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

pub fn summarize(values: impl IntoIterator<Item = f64>) -> Option<Summary> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 { *v.get(n / 2)? } else { (v.get(n / 2 - 1)? + v.get(n / 2)?) / 2.0 };
    Some(Summary { median, min: *v.first()?, max: *v.last()?, n })
}

impl Target {
    pub fn init(&self) -> Option<Summary> {
        summarize(self.runs.iter().filter_map(|r| r.init_ms))
    }
    pub fn first(&self) -> Option<Summary> {
        summarize(self.runs.iter().filter_map(|r| r.first_ms))
    }
    pub fn second(&self) -> Option<Summary> {
        summarize(self.runs.iter().filter_map(|r| r.second_ms))
    }
    /// Peak RSS in MiB.
    pub fn rss(&self) -> Option<Summary> {
        summarize(self.runs.iter().filter_map(|r| r.peak_rss_kib).map(|k| k as f64 / 1024.0))
    }
    /// `21 response`, `19 error, 2 timeout`, …
    pub fn outcomes(&self) -> String {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for r in &self.runs {
            let key = match (r.outcome, &r.detail) {
                ("response", Some(what)) => format!("response ({what})"),
                (outcome, _) => outcome.to_string(),
            };
            match counts.iter_mut().find(|(k, _)| *k == key) {
                Some((_, c)) => *c += 1,
                None => counts.push((key, 1)),
            }
        }
        counts.iter().map(|(k, c)| format!("{c} {k}")).collect::<Vec<_>>().join(", ")
    }
}

fn cell(s: Option<Summary>, prec: usize) -> String {
    match s {
        Some(s) => format!("{:>8.prec$} {:>8.prec$} {:>8.prec$}", s.median, s.min, s.max),
        None => format!("{:>8} {:>8} {:>8}", "-", "-", "-"),
    }
}

/// The printed report: one row per binary, then the comparison with the baseline, then notes.
pub fn render(targets: &[Target], baseline: &str, warm: bool) -> String {
    let width = targets.iter().map(|t| t.name.len()).max().unwrap_or(8).max(8);
    let mut out = String::new();
    let second_head = if warm { " | 2nd invocation ms (warm)  " } else { "" };
    out.push_str(&format!(
        "{:<width$} | {:^26} | {:^26}{second_head} | {:^26} | {:>8}\n",
        "function", "init ms", "1st invocation ms", "peak RSS MiB", "size MiB"
    ));
    let sub = format!("{:>8} {:>8} {:>8}", "median", "min", "max");
    let second_sub = if warm { format!(" | {sub}") } else { String::new() };
    out.push_str(&format!("{:<width$} | {sub} | {sub}{second_sub} | {sub} | {:>8}\n", "", ""));
    let rule_len = width + 3 + 26 + 3 + 26 + if warm { 29 } else { 0 } + 3 + 26 + 3 + 8;
    out.push_str(&"-".repeat(rule_len));
    out.push('\n');
    for t in targets {
        let size = format!("{:>8.1}", t.size_bytes as f64 / (1024.0 * 1024.0));
        if let Some(reason) = &t.skipped {
            out.push_str(&format!("{:<width$} | skipped: {reason}\n", t.name));
            continue;
        }
        let second = if warm { format!(" | {}", cell(t.second(), 2)) } else { String::new() };
        out.push_str(&format!(
            "{:<width$} | {} | {}{second} | {} | {size}\n",
            t.name,
            cell(t.init(), 2),
            cell(t.first(), 2),
            cell(t.rss(), 1)
        ));
    }

    let base = targets.iter().find(|t| t.name == baseline && t.skipped.is_none());
    match base.and_then(|b| Some((b.init()?, b.rss(), b.first()))) {
        Some((base_init, base_rss, base_first)) => {
            out.push_str(&format!(
                "\nagainst the {baseline} baseline (medians; init ×: median init / baseline median init)\n"
            ));
            out.push_str(&format!(
                "{:<width$} | {:>12} | {:>8} | {:>15} | {:>14}\n",
                "function", "init Δ ms", "init ×", "1st inv Δ ms", "peak RSS Δ MiB"
            ));
            for t in targets.iter().filter(|t| t.skipped.is_none() && t.name != baseline) {
                let Some(init) = t.init() else { continue };
                let first = match (t.first(), base_first) {
                    (Some(f), Some(b)) => format!("{:>+15.2}", f.median - b.median),
                    _ => format!("{:>15}", "-"),
                };
                let rss = match (t.rss(), base_rss) {
                    (Some(r), Some(b)) => format!("{:>+14.1}", r.median - b.median),
                    _ => format!("{:>14}", "-"),
                };
                out.push_str(&format!(
                    "{:<width$} | {:>+12.2} | {:>7.1}× | {first} | {rss}\n",
                    t.name,
                    init.median - base_init.median,
                    init.median / base_init.median
                ));
            }
        }
        None => out.push_str(&format!("\n(no measured {baseline} baseline: no comparison)\n")),
    }

    out.push_str("\noutcomes of the first invocation\n");
    for t in targets.iter().filter(|t| t.skipped.is_none()) {
        out.push_str(&format!("  {:<width$}  {}  (event {})\n", t.name, t.outcomes(), t.event));
        let mut shown = Vec::new();
        for r in t.runs.iter().filter(|r| r.outcome != "response") {
            if let Some(detail) = &r.detail {
                if !shown.contains(&detail) {
                    shown.push(detail);
                    out.push_str(&format!("  {:<width$}    {}: {}\n", "", r.outcome, one_line(detail, 220)));
                }
            }
            if shown.len() >= 2 {
                break;
            }
        }
    }
    out
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

fn summary_json(s: Option<Summary>) -> Value {
    match s {
        Some(s) => json!({"median": s.median, "min": s.min, "max": s.max, "n": s.n}),
        None => Value::Null,
    }
}

/// The raw figures of every run plus the summaries.
pub fn to_json(targets: &[Target], meta: Value, baseline: &str) -> Value {
    let base_init = targets.iter().find(|t| t.name == baseline).and_then(Target::init);
    let functions: Vec<Value> = targets
        .iter()
        .map(|t| {
            let init = t.init();
            let vs = match (init, base_init) {
                (Some(i), Some(b)) if t.name != baseline => {
                    json!({"init_median_diff_ms": i.median - b.median, "init_median_ratio": i.median / b.median})
                }
                _ => Value::Null,
            };
            json!({
                "name": t.name,
                "binary": t.binary,
                "event": t.event,
                "size_bytes": t.size_bytes,
                "skipped": t.skipped,
                "summary": {
                    "init_ms": summary_json(init),
                    "first_invocation_ms": summary_json(t.first()),
                    "second_invocation_ms": summary_json(t.second()),
                    "peak_rss_mib": summary_json(t.rss()),
                    "outcomes": t.outcomes(),
                },
                "vs_baseline": vs,
                "runs": t.runs.iter().map(|r| json!({
                    "init_ms": r.init_ms,
                    "first_invocation_ms": r.first_ms,
                    "second_invocation_ms": r.second_ms,
                    "outcome": r.outcome,
                    "detail": r.detail,
                    "peak_rss_kib": r.peak_rss_kib,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"meta": meta, "baseline": baseline, "functions": functions})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max() {
        let s = summarize([3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        assert_eq!(summarize([4.0, 1.0, 2.0, 3.0]).unwrap().median, 2.5);
        assert!(summarize([]).is_none());
    }

    fn target(name: &str, init: f64) -> Target {
        let run = RunResult {
            init_ms: Some(init),
            first_ms: Some(1.0),
            outcome: "response",
            peak_rss_kib: Some(2048),
            ..RunResult::default()
        };
        Target {
            name: name.into(),
            binary: format!("target/release/{name}"),
            event: "{}".into(),
            size_bytes: 1 << 20,
            skipped: None,
            runs: vec![run],
        }
    }

    #[test]
    fn the_table_compares_against_the_baseline() {
        let targets = vec![target("hello-lambda", 2.0), target("notify", 5.0)];
        let text = render(&targets, "hello-lambda", false);
        assert!(text.contains("+3.00"), "{text}");
        assert!(text.contains("2.5×"), "{text}");
        let v = to_json(&targets, json!({}), "hello-lambda");
        assert_eq!(v["functions"][1]["vs_baseline"]["init_median_ratio"], 2.5);
        assert_eq!(v["functions"][0]["runs"][0]["peak_rss_kib"], 2048);
    }
}
