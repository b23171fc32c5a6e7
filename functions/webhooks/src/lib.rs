//! Webhooks for integrators. One crate, four functions: `webhooks` serves the region admins'
//! `/v1/webhooks` routes; `publish-webhooks` consumes `webhook_events` and fans each event out to
//! one delivery per endpoint; `deliver-webhooks` consumes `webhook_deliveries`, making one signed
//! attempt per job over [`HttpTransport`], and `sweep-webhooks`, on its
//! schedule, re-enqueues the retries due.

mod http;
mod transport;

pub use feedback_core::webhook::Destinations;
pub use http::{handle, CreatedWebhookView, DeliveryLog, DeliveryView, NewWebhookRequest, WebhookList, WebhookView};
pub use transport::HttpTransport;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use feedback_core::ports::{Job, StoreError};
use feedback_core::webhook::{Transport, WebhookStore, Webhooks};
use feedback_core::{Clock, ReferenceStore, WorkQueue};
use feedback_lambda::{observe, Deps};
use lambda_runtime::{Error, LambdaEvent};

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("unreadable job: {0}")]
    Unreadable(#[from] serde_json::Error),
    #[error("not a job of this queue")]
    WrongJob,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The webhook use cases over a host's adapters.
pub fn services<S, Q, C>(deps: &Deps<S, Q, C>, destinations: Destinations) -> Webhooks<S, Q, C>
where
    S: WebhookStore + ReferenceStore + Clone,
    Q: WorkQueue + Clone,
    C: Clock + Clone,
{
    Webhooks::new(deps.store.clone(), deps.queue.clone(), deps.clock.clone(), deps.reference.clone(), destinations)
}

/// Fans out one `publish` job.
pub async fn publish_one<S: WebhookStore + ReferenceStore, Q: WorkQueue, C: Clock>(
    webhooks: &Webhooks<S, Q, C>,
    body: &str,
) -> Result<(), RecordError> {
    let job = Job::from_body(body)?;
    observe::record_job(&job);
    let Job::Publish { event } = job else { return Err(RecordError::WrongJob) };
    let sent = webhooks.fan_out(&event).await?;
    tracing::info!(event = %event.id, event_type = event.event_type.as_str(), deliveries = sent, "event fanned out");
    Ok(())
}

/// Attempts one `send_webhook` job.
pub async fn deliver_one<S: WebhookStore + ReferenceStore, Q: WorkQueue, C: Clock, T: Transport>(
    webhooks: &Webhooks<S, Q, C>,
    transport: &T,
    body: &str,
) -> Result<(), RecordError> {
    let job = Job::from_body(body)?;
    observe::record_job(&job);
    let Job::SendWebhook { delivery_id } = job else { return Err(RecordError::WrongJob) };
    let attempted = webhooks.deliver(transport, &delivery_id).await?;
    tracing::info!(delivery = %delivery_id, outcome = ?attempted, "webhook delivery attempted");
    Ok(())
}

/// `publish-webhooks`' handler, on both hosts.
pub async fn handle_events<S: WebhookStore + ReferenceStore, Q: WorkQueue, C: Clock>(
    webhooks: &Webhooks<S, Q, C>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    Ok(feedback_lambda::sqs::process_batch(event.payload, |body| async move { publish_one(webhooks, &body).await })
        .await)
}

/// `deliver-webhooks`' handler for its queue's batches.
pub async fn handle_deliveries<S: WebhookStore + ReferenceStore, Q: WorkQueue, C: Clock, T: Transport>(
    webhooks: &Webhooks<S, Q, C>,
    transport: &T,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    Ok(feedback_lambda::sqs::process_batch(event.payload, |body| async move {
        deliver_one(webhooks, transport, &body).await
    })
    .await)
}

/// The name of the retry sweep's span.
pub const SWEEP_JOB: &str = "sweep-webhooks";

/// `sweep-webhooks`' scheduled run: re-enqueues the deliveries due.
pub async fn sweep<S: WebhookStore + ReferenceStore, Q: WorkQueue, C: Clock>(
    webhooks: &Webhooks<S, Q, C>,
) -> Result<usize, Error> {
    observe::scheduled(SWEEP_JOB, webhooks.sweep()).await
}
