//! `route-messages`: consumes the `submitted` queue, routes each message by the region's rules
//! and sets its deadline. Failed records are reported as partial batch failures; a redelivered
//! job finds the message already routed and changes nothing.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use feedback_core::error::ErrorChain;
use feedback_core::ports::Job;
use feedback_core::service::{RouteOutcome, Routing};
use feedback_core::MessageId;
use feedback_core::{Clock, MessageStore, ReferenceStore, WorkQueue};
use feedback_lambda::metrics::{self, Metric};
use feedback_lambda::{observe, Deps};
use lambda_runtime::{Error, LambdaEvent};

/// Why one record could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("unreadable job: {0}")]
    Unreadable(#[from] serde_json::Error),
    #[error("not a routing job")]
    WrongJob,
    #[error(transparent)]
    Service(#[from] feedback_core::ServiceError),
}

/// Processes one job body.
pub async fn route_one<S, Q, C>(routing: &Routing<S, Q, C>, body: &str) -> Result<(), RecordError>
where
    S: MessageStore + ReferenceStore,
    Q: WorkQueue,
    C: Clock,
{
    let job = Job::from_body(body)?;
    observe::record_job(&job);
    match job {
        Job::RouteMessage { message_id } => match routing.route(&message_id).await? {
            RouteOutcome::Routed { authority_id, deadline, duplicate_of } => {
                tracing::info!(%message_id, %authority_id, %deadline, ?duplicate_of, "routed");
                count_lag(routing, &message_id).await;
            }
            RouteOutcome::AlreadyRouted => tracing::info!(%message_id, "already routed; redelivery ignored"),
            RouteOutcome::Missing => tracing::warn!(%message_id, "no such message; job dropped"),
        },
        _ => return Err(RecordError::WrongJob),
    }
    Ok(())
}

/// Counts the seconds from the message's submission to its routing now: a message's id is made
/// at its `created_at` (`MessageId::minted_at`).
async fn count_lag<S, Q, C>(routing: &Routing<S, Q, C>, message_id: &MessageId)
where
    S: MessageStore + ReferenceStore,
    Q: WorkQueue,
    C: Clock,
{
    let lag = (routing.clock().now() - message_id.minted_at()).num_milliseconds().max(0) as f64 / 1000.0;
    match routing.reference().snapshot().await {
        Ok(region) => metrics::emit(&region.value.region.code, Metric::RoutingLag, lag),
        Err(e) => tracing::debug!(error = %ErrorChain(&e), "routing lag not counted: no reference data"),
    }
}

/// The function's service over a host's adapters.
pub fn services<S, Q, C>(deps: &Deps<S, Q, C>) -> Routing<S, Q, C>
where
    S: MessageStore + ReferenceStore + Clone,
    Q: WorkQueue + Clone,
    C: Clock + Clone,
{
    Routing::new(deps.store.clone(), deps.queue.clone(), deps.clock.clone(), deps.reference.clone())
}

/// The handler both hosts call.
pub async fn handle<S, Q, C>(
    routing: &Routing<S, Q, C>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error>
where
    S: MessageStore + ReferenceStore,
    Q: WorkQueue,
    C: Clock,
{
    Ok(feedback_lambda::sqs::process_batch(event.payload, |body| async move { route_one(routing, &body).await }).await)
}
