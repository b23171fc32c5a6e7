use feedback_aws::{sdk_config, DynamoStore, QueueUrls, S3Blobs, SqsQueue};
use feedback_core::photo::Photos;
use feedback_core::service::{Messages, Reference, SubmitPolicy};
use feedback_core::workflow::{Notifications, Workflow};
use feedback_core::SystemClock;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
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
    let policy = SubmitPolicy { per_hour: config.submissions_per_hour };
    let services = submit_message::Services {
        messages: Messages::new(store.clone(), queue.clone(), SystemClock, reference.clone(), policy),
        workflow: Workflow::new(store.clone(), queue, SystemClock, reference.clone()),
        notifications: Notifications::new(store.clone()),
        photos: Photos::new(
            store,
            SystemClock,
            Arc::new(S3Blobs::from_conf(&sdk, config.require_photos_bucket()?)?),
            reference,
        ),
    };
    lambda_http::run(lambda_http::service_fn(|req| submit_message::handle(&services, req))).await
}
