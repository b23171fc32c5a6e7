//! SQS batches with partial failures: only the failed records are redelivered.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use std::future::Future;

/// Runs `f` on every record's body; records whose `f` fails are reported as batch item failures.
pub async fn process_batch<F, Fut, E>(event: SqsEvent, f: F) -> SqsBatchResponse
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let body = record.body.unwrap_or_default();
        if let Err(e) = f(body).await {
            tracing::warn!(message_id = %id, error = %e, "record failed; it will be redelivered");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}
