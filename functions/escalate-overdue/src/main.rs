use feedback_aws::{sdk_config, DynamoStore, QueueUrls, S3Blobs, SqsQueue};
use feedback_core::photo::Photos;
use feedback_core::service::Reference;
use feedback_core::workflow::Escalation;
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
    let blobs = Arc::new(S3Blobs::from_conf(&sdk, config.require_photos_bucket()?)?);
    let photos = Photos::new(store.clone(), SystemClock, blobs, reference.clone());
    let escalation = Escalation::new(store, queue, SystemClock, reference, config.stuck_after);
    lambda_runtime::run(lambda_runtime::service_fn(|event| async {
        let report = escalate_overdue::handle(&escalation, event).await?;
        escalate_overdue::sweep_photos(&photos).await?;
        Ok::<_, lambda_runtime::Error>(report)
    }))
    .await
}
