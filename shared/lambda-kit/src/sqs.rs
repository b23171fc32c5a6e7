//! SQS batches with partial failures: only the failed records are redelivered.

use crate::observe;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use feedback_core::error::ErrorChain;
use std::future::Future;
use tracing::Instrument;

/// Runs `f` on every record's body, each in its record's span (`observe::record_span`); records
/// whose `f` fails are logged with their error's chain and reported as batch item failures.
pub async fn process_batch<F, Fut, E>(event: SqsEvent, f: F) -> SqsBatchResponse
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::error::Error + 'static,
{
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let span = observe::record_span(record.event_source_arn.as_deref(), &id);
        let body = record.body.unwrap_or_default();
        let outcome = f(body).instrument(span.clone()).await;
        if let Err(e) = outcome {
            span.in_scope(|| tracing::warn!(error = %ErrorChain(&e), "record failed; it will be redelivered"));
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}
