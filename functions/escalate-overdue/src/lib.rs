//! `escalate-overdue`: run by EventBridge Scheduler every 5 minutes (and by the local host's
//! scheduler). Flags overdue messages and escalates them to the ЦУР, completes answers missed
//! by duplicates, and re-enqueues messages stuck in `submitted`.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use feedback_core::workflow::Escalation;
use feedback_core::{Clock, MessageStore, ReferenceStore, WorkQueue};
use lambda_runtime::{Error, LambdaEvent};
use serde::Serialize;

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Report {
    pub overdue: usize,
    pub answered_from_original: usize,
    pub requeued: usize,
}

/// The handler both hosts call.
pub async fn handle<S, Q, C>(
    escalation: &Escalation<S, Q, C>,
    event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<Report, Error>
where
    S: MessageStore + ReferenceStore,
    Q: WorkQueue,
    C: Clock,
{
    tracing::debug!(schedule = ?event.payload.resources, "escalation tick");
    let r = escalation.run().await.map_err(|e| Error::from(e.to_string()))?;
    Ok(Report { overdue: r.overdue, answered_from_original: r.answered_from_original, requeued: r.requeued })
}
