use feedback_aws::{sdk_config, DynamoStore};
use feedback_core::integration::Integrations;
use feedback_core::service::Reference;
use feedback_core::SystemClock;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    feedback_lambda::init_tracing();
    let config = feedback_lambda::Config::from_env()?;
    let store = DynamoStore::from_conf(&sdk_config().await, &config.table_name);
    let reference = Arc::new(Reference::new(store.clone(), config.reference_ttl));
    let integrations = Integrations::new(store, SystemClock, reference.clone());
    lambda_http::run(lambda_http::service_fn(|req| reference_data::handle(&reference, &integrations, req))).await
}
