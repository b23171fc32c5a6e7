//! `feedback reconcile`: recounts every analytics counter from the stored history and compares it
//! with the stored counters. An offline operator tool: it reads the whole store.

use anyhow::Context;
use feedback_core::analytics::{reconcile, Reconciliation};
use feedback_core::ports::HistoryScan;
use feedback_core::CounterStore;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Which store to check.
pub enum Target {
    Local(PathBuf),
    /// A stack's table; `repair` sets the differing counters to their recount first.
    Aws {
        table: String,
        repair: bool,
    },
}

/// Runs the check and prints what it found; the outcome says whether the counters agree.
pub async fn run(target: Target) -> anyhow::Result<Reconciliation> {
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg}")?);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar.set_message("recounting from history");
    let started = Instant::now();
    let progress = {
        let bar = bar.clone();
        move |n: u64| bar.set_message(format!("recounting from history: {n} entries read"))
    };
    let outcome = match target {
        Target::Local(data) => {
            let path = data.join("feedback.db");
            anyhow::ensure!(path.exists(), "no database at {}", path.display());
            let store = feedback_embedded::SqliteStore::new(feedback_embedded::Db::open(&path)?);
            check(&store, &progress).await?
        }
        Target::Aws { table, repair } => {
            let conf = feedback_aws::sdk_config().await;
            let store = feedback_aws::DynamoStore::from_conf(&conf, &table);
            // Count what the stream still holds first, so that the check compares like with like.
            let store = store.clone().catching_up(feedback_aws::CounterStream::new(&store, &conf));
            if repair {
                bar.set_message("recounting from history to repair");
                let expected = feedback_core::analytics::recount(&store, &progress).await.context("recounting")?;
                let written = store.repair_counters(&expected).await.context("repairing")?;
                bar.println(format!("repair: {written} counter items set to their recount"));
            }
            check(&store, &progress).await?
        }
    };
    bar.finish_and_clear();
    println!(
        "reconcile: {} counter items stored, {} recounted from history, {} differences ({:.1} s)",
        outcome.counter_items,
        outcome.recounted_items,
        outcome.differences.len(),
        started.elapsed().as_secs_f64()
    );
    for (key, field, stored, expected) in outcome.differences.iter().take(50) {
        println!("  {} {} {field}: stored {stored}, recounted {expected}", key.series, key.slot);
    }
    if outcome.differences.len() > 50 {
        println!("  … and {} more", outcome.differences.len() - 50);
    }
    Ok(outcome)
}

async fn check<S: CounterStore + HistoryScan>(
    store: &S,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> anyhow::Result<Reconciliation> {
    reconcile(store, progress).await.context("reconciling")
}
