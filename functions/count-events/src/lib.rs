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
use std::time::Duration;

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
) -> Result<Vec<Pass>, Error> {
    let deadline = event.context.deadline();
    let mut passes = Vec::new();
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
        passes.push(pass);
    }
    Ok(passes)
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
        transactions = pass.transactions,
        counter_writes = pass.counter_writes,
        skipped = pass.skipped,
        max_lag_ms = pass.max_lag.map(|l| l.as_millis() as u64),
        "counted"
    );
}
