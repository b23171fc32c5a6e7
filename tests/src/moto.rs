//! The DynamoDB/SQS backend on moto server. Fails loudly when no endpoint is configured: these
//! suites never skip.

use feedback_aws::{create_table, DynamoStore, QueueUrls, SqsQueue};
use std::sync::OnceLock;

/// Moto is not safe under concurrent transactions: cases against it run one at a time.
pub fn serial() -> &'static tokio::sync::Mutex<()> {
    static LOCK: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::Mutex::new(()))
}

/// The SDK configuration for moto; panics with instructions when `AWS_ENDPOINT_URL` is missing.
pub async fn sdk() -> aws_config::SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        !endpoint.is_empty(),
        "AWS_ENDPOINT_URL is not set: the DynamoDB/SQS suites need moto_server. Run scripts/test.sh, which starts it."
    );
    feedback_aws::sdk_config().await
}

/// The second moto server `scripts/test.sh` starts (`MOTO_INSPECT_URL`), for the tests that read
/// what SES and SNS sent from moto's model dump (`/moto-api/data.json`): that dump lists every
/// model the server holds, and on the shared server, with every suite's tables and their
/// streams, it takes minutes and gigabytes. Panics with instructions when the variable is missing.
pub fn inspect_endpoint() -> String {
    let endpoint = std::env::var("MOTO_INSPECT_URL").unwrap_or_default();
    assert!(
        !endpoint.is_empty(),
        "MOTO_INSPECT_URL is not set: the tests that read what moto sent need their own moto_server. Run scripts/test.sh, which starts it."
    );
    endpoint.trim_end_matches('/').to_owned()
}

/// The SDK configuration for the inspection server ([`inspect_endpoint`]). Without the
/// environment's per-service settings, through which `AWS_ENDPOINT_URL` (the shared server)
/// would take precedence over the configured endpoint in every client built from it.
pub async fn inspect_sdk() -> aws_config::SdkConfig {
    let base = sdk().await;
    let mut config = aws_config::SdkConfig::builder()
        .endpoint_url(inspect_endpoint())
        .behavior_version(aws_config::BehaviorVersion::latest());
    config.set_region(base.region().cloned());
    config.set_credentials_provider(base.credentials_provider());
    config.set_http_client(base.http_client());
    config.set_sleep_impl(base.sleep_impl());
    config.set_time_source(base.time_source());
    config.build()
}

/// Moto's model dump of the inspection server.
pub async fn inspect_data() -> serde_json::Value {
    reqwest::get(format!("{}/moto-api/data.json", inspect_endpoint()))
        .await
        .expect("moto data.json")
        .json()
        .await
        .expect("moto data.json is JSON")
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// A fresh table (counted after commit by its stream) and a fresh `submitted` queue with a dead-letter queue after `max_receives`.
pub async fn backend(max_receives: u32) -> (DynamoStore, SqsQueue) {
    let conf = sdk().await;
    let table = unique("feedback");
    let store = DynamoStore::from_conf(&conf, &table);
    create_table(store.client(), &table).await.expect("create table on moto");
    // Counters are added after commit by the stream consumer; every counter read of these
    // suites runs a pass first, so that it sees every transition committed before it.
    let store = store.clone().catching_up(feedback_aws::CounterStream::new(&store, &conf));
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let submitted = queue_with_dlq(&sqs, "submitted", max_receives).await;
    let notifications = queue_with_dlq(&sqs, "notifications", max_receives).await;
    let webhook_events = queue_with_dlq(&sqs, "webhook-events", max_receives).await;
    let webhook_deliveries = queue_with_dlq(&sqs, "webhook-deliveries", max_receives).await;
    let urls = QueueUrls {
        submitted: Some(submitted),
        notifications: Some(notifications),
        webhook_events: Some(webhook_events),
        webhook_deliveries: Some(webhook_deliveries),
    };
    (store, SqsQueue::new(sqs, urls))
}

/// A fresh queue whose messages move to a fresh DLQ after `max_receives` receptions.
pub async fn queue_with_dlq(sqs: &aws_sdk_sqs::Client, name: &str, max_receives: u32) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;
    let dlq = sqs.create_queue().queue_name(unique(&format!("{name}-dlq"))).send().await.expect("create DLQ");
    let dlq = dlq.queue_url.expect("DLQ url");
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("DLQ attributes");
    let dlq_arn = attrs.attributes.and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned()).expect("DLQ arn");
    let policy = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}).to_string();
    sqs.create_queue()
        .queue_name(unique(name))
        .attributes(QueueAttributeName::RedrivePolicy, policy)
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url")
}
