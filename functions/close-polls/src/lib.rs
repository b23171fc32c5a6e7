//! `close-polls`: run by EventBridge Scheduler every minute (and by the local host's scheduler).
//! Opens scheduled polls and discussions whose time came and closes due ones, freezing the final
//! results. Found through the sparse schedule index, never by scanning; safe to run twice.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use feedback_core::participation::PollSecrets;
use feedback_core::participation::{CommentStore, Participation, PollStore, ScheduleReport};
use feedback_core::{Clock, ReferenceStore};
use feedback_lambda::{Deps, Settings};
use lambda_runtime::{Error, LambdaEvent};

/// The function's service over a host's adapters and the poll secrets: the same as `polls`.
pub fn services<S, Q, C>(deps: &Deps<S, Q, C>, secrets: PollSecrets, settings: &Settings) -> Participation<S, C>
where
    S: PollStore + CommentStore + ReferenceStore + Clone,
    C: Clock + Clone,
{
    deps.participation(secrets, settings)
}

/// The handler both hosts call.
pub async fn handle<S, C>(
    participation: &Participation<S, C>,
    event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<ScheduleReport, Error>
where
    S: PollStore + CommentStore + ReferenceStore,
    C: Clock,
{
    let run = async {
        tracing::debug!(schedule = ?event.payload.resources, "poll schedule tick");
        let report = participation.run_schedule().await?;
        if report.failed > 0 {
            // The run did what it could; failing the invocation raises the schedule's alarms.
            let failed =
                format!("{} of the due polls could not be closed or have their ballots destroyed", report.failed);
            return Err(feedback_core::ServiceError::from(feedback_core::StoreError::backend("closing polls", failed)));
        }
        Ok(report)
    };
    feedback_lambda::observe::scheduled(feedback_lambda::functions::CLOSE_POLLS.name, run).await
}
