use feedback_aws::{sdk_config, DynamoStore, QueueUrls, SqsQueue};
use feedback_core::service::{Reference, Routing};
use feedback_core::SystemClock;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    feedback_lambda::init_tracing();
    let config = feedback_lambda::Config::from_env()?;
    let sdk = sdk_config().await;
    let store = DynamoStore::from_conf(&sdk, &config.table_name);
    let urls = QueueUrls {
        submitted: config.require_submitted_queue()?,
        notifications: config.notifications_queue_url.clone(),
    };
    let queue = SqsQueue::from_conf(&sdk, urls);
    let reference = Arc::new(Reference::new(store.clone(), config.reference_ttl));
    let routing = Routing::new(store, queue, SystemClock, reference);
    lambda_runtime::run(lambda_runtime::service_fn(|event| route_messages::handle(&routing, event))).await
}
