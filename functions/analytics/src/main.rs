use feedback_aws::{sdk_config, DynamoStore};
use feedback_core::analytics::Analytics;
use feedback_core::service::Reference;
use feedback_core::SystemClock;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    feedback_lambda::init_tracing();
    let config = feedback_lambda::Config::from_env()?;
    let sdk = sdk_config().await;
    let store = DynamoStore::from_conf(&sdk, &config.table_name);
    let reference = Arc::new(Reference::new(store.clone(), config.reference_ttl));
    let analytics = Analytics::new(store, SystemClock, reference);
    lambda_http::run(lambda_http::service_fn(|req| analytics::handle(&analytics, req))).await
}
