use feedback_aws::{sdk_config, DynamoStore, QueueUrls, SqsQueue};
use feedback_core::open311::{Open311, Open311Policy};
use feedback_core::service::Reference;
use feedback_core::SystemClock;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    feedback_lambda::init_tracing();
    let config = feedback_lambda::Config::from_env()?;
    let sdk = sdk_config().await;
    let store = DynamoStore::from_conf(&sdk, &config.table_name);
    let urls = QueueUrls { submitted: config.require_submitted_queue()?, notifications: None };
    let queue = SqsQueue::from_conf(&sdk, urls);
    let reference = Arc::new(Reference::new(store.clone(), config.reference_ttl));
    let service = Open311::new(store, queue, SystemClock, reference, Open311Policy::default());
    lambda_http::run(lambda_http::service_fn(|req| open311::handle(&service, req))).await
}
