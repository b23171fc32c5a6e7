use feedback_aws::{sdk_config, DynamoStore};
use feedback_core::service::Reference;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    feedback_lambda::init_tracing();
    let config = feedback_lambda::Config::from_env()?;
    let store = DynamoStore::from_conf(&sdk_config().await, &config.table_name);
    let reference = Reference::new(store, config.reference_ttl);
    lambda_http::run(lambda_http::service_fn(|req| reference_data::handle(&reference, req))).await
}
