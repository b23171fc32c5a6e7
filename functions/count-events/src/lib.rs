//! `count-events`: run by EventBridge Scheduler every minute. It adds the analytics counters of
//! the transitions committed since its last pass, reading them from the table's stream
//! (`feedback_aws::CounterStream`: merged per transaction, exactly once by each shard's
//! checkpoint). Within its minute it makes a pass every [`PASS_INTERVAL`], so an entry waits at
//! most that long plus one pass; each pass reports the longest wait (`CountingLag`).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use feedback_aws::{CounterStream, DynamoStore, Pass};
use feedback_core::service::Reference;
use feedback_lambda::metrics::{emit, Metric};
use lambda_runtime::{Error, LambdaEvent};
use serde::Serialize;
use std::time::Duration;

/// What one invocation did, summed over its passes.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    pub passes: u32,
    pub entries: u64,
    pub runs: u64,
    pub recovered: u64,
    pub counter_writes: u64,
    pub skipped: u64,
    /// The longest an entry waited between its commit and its counters, in milliseconds.
    pub max_lag_ms: Option<u64>,
}

impl Report {
    fn add(&mut self, pass: &Pass) {
        self.passes += 1;
        self.entries += pass.entries;
        self.runs += pass.runs;
        self.recovered += pass.recovered;
        self.counter_writes += pass.counter_writes;
        self.skipped += pass.skipped;
        let lag = pass.max_lag.map(|l| u64::try_from(l.as_millis()).unwrap_or(u64::MAX));
        self.max_lag_ms = self.max_lag_ms.max(lag);
    }
}

/// Time between two passes of one invocation.
pub const PASS_INTERVAL: Duration = Duration::from_secs(30);
/// Passes per invocation: the scheduled minute, at 0 and 30 seconds.
pub const PASSES: u32 = 2;

/// One scheduled invocation: [`PASSES`] passes, [`PASS_INTERVAL`] apart, stopping early when the
/// invocation would run past its deadline. A failed pass fails the invocation: its checkpoint
/// holds, so the next minute resumes where the last committed transaction left off.
pub async fn handle_schedule(
    counter: &CounterStream,
    reference: &Reference<DynamoStore>,
    event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<Report, Error> {
    let deadline = event.context.deadline();
    let mut report_all = Report::default();
    for i in 0..PASSES {
        if i > 0 {
            let left = deadline.duration_since(std::time::SystemTime::now()).unwrap_or_default();
            if left < PASS_INTERVAL * 2 {
                break;
            }
            tokio::time::sleep(PASS_INTERVAL).await;
        }
        let pass = counter.pass(chrono::Utc::now()).await?;
        report(reference, &pass).await;
        report_all.add(&pass);
    }
    Ok(report_all)
}

async fn report(reference: &Reference<DynamoStore>, pass: &Pass) {
    if let Some(lag) = pass.max_lag {
        match reference.snapshot().await {
            Ok(region) => emit(&region.value.region.code, Metric::CountingLag, lag.as_secs_f64()),
            Err(_) => tracing::debug!("counting lag not reported: no reference data"),
        }
    }
    tracing::info!(
        shards = pass.shards,
        records = pass.records,
        entries = pass.entries,
        runs = pass.runs,
        recovered = pass.recovered,
        counter_writes = pass.counter_writes,
        skipped = pass.skipped,
        max_lag_ms = pass.max_lag.map(|l| u64::try_from(l.as_millis()).unwrap_or(u64::MAX)),
        "counted"
    );
}
