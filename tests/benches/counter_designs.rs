//! Both counter designs priced on real activity: reads every history entry of a seeded database
//! (`feedback seed`), orders the transitions by time, and counts the counter-item writes each
//! design makes.
//! - In the transition's transaction (the chosen design): every transition writes each counter
//!   item it touches, as a transactional write.
//! - Derived after commit: a consumer applies the transitions of each window of time together,
//!   merging the increments of one counter item into one plain write, plus one ledger item per
//!   transition written in its transaction, from which the consumer reads.
//!
//! It also reports the hottest counter item's writes per second at the busiest minute.
//! Usage: `FEEDBACK_DB=data/feedback.db cargo bench -p feedback-tests --bench counter_designs`.

use feedback_core::analytics::deltas;
use feedback_core::HistoryEntry;
use std::collections::{BTreeMap, HashMap, HashSet};

fn main() {
    let Ok(path) = std::env::var("FEEDBACK_DB") else {
        eprintln!("counter_designs: set FEEDBACK_DB to a database made by `feedback seed`; nothing measured");
        return;
    };
    let conn = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("db");
    let mut stmt = conn.prepare("SELECT doc FROM history").expect("query");
    let mut transitions: Vec<(i64, Vec<String>)> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("rows")
        .filter_map(|row| {
            let doc = row.ok()?;
            let entry: HistoryEntry = serde_json::from_str(&doc).ok()?;
            let keys = deltas(&entry).0.into_keys().map(|k| format!("{}#{}", k.series, k.slot)).collect();
            Some((entry.at.timestamp(), keys))
        })
        .collect();
    transitions.sort_by_key(|t| t.0);
    let n = transitions.len() as f64;
    let span_days = transitions.last().map(|l| (l.0 - transitions[0].0) as f64 / 86_400.0).unwrap_or(0.0);
    let in_tx: usize = transitions.iter().map(|t| t.1.len()).sum();
    println!("{} transitions over {span_days:.0} days ({:.2} per minute)", n, n / (span_days * 1440.0).max(1.0));
    println!("| design | counter-item writes per transition | write units per transition |");
    println!("|---|---|---|");
    println!(
        "| in the transition's transaction | {:.2} | {:.1} (transactional: 2 per item) |",
        in_tx as f64 / n,
        2.0 * in_tx as f64 / n
    );
    for (label, secs) in [("1 minute", 60i64), ("15 minutes", 900), ("1 hour", 3600)] {
        let mut windows: BTreeMap<i64, HashSet<&str>> = BTreeMap::new();
        for (t, keys) in &transitions {
            windows.entry(t.div_euclid(secs)).or_default().extend(keys.iter().map(String::as_str));
        }
        let writes: usize = windows.values().map(HashSet::len).sum();
        // One ledger item per transition, written in its transaction (2 units; TTL removes it at
        // no charge), plus one plain write per merged counter item, made idempotent by a
        // condition on the window already applied.
        println!(
            "| derived after commit, applied every {label} | {:.2} | {:.1} (1 per merged item + 2 for the ledger) |",
            writes as f64 / n,
            writes as f64 / n + 2.0
        );
    }
    let mut per_minute: HashMap<(i64, &str), u32> = HashMap::new();
    for (t, keys) in &transitions {
        for k in keys {
            *per_minute.entry((t.div_euclid(60), k.as_str())).or_default() += 1;
        }
    }
    if let Some(((minute, key), writes)) = per_minute.iter().max_by_key(|(_, w)| **w) {
        println!("hottest counter item: {key} with {writes} writes in its busiest minute (minute {minute})");
    }
}
