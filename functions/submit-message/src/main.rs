use feedback_aws::{sdk_config, DynamoStore, QueueUrls, SqsQueue};
use feedback_core::service::{Messages, Reference, SubmitPolicy};
use feedback_core::SystemClock;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    feedback_lambda::init_tracing();
    let config = feedback_lambda::Config::from_env()?;
    let sdk = sdk_config().await;
    let store = DynamoStore::from_conf(&sdk, &config.table_name);
    let queue = SqsQueue::from_conf(
        &sdk,
        QueueUrls {
            submitted: config.require_submitted_queue()?,
            notifications: None,
        },
    );
    let reference = Arc::new(Reference::new(store.clone(), config.reference_ttl));
    let policy = SubmitPolicy {
        per_hour: config.submissions_per_hour,
        ..SubmitPolicy::default()
    };
    let messages = Messages::new(store, queue, SystemClock, reference, policy);
    lambda_http::run(lambda_http::service_fn(|req| submit_message::handle(&messages, req))).await
}
