use feedback_aws::{sdk_config, voter_secret, DynamoStore};
use feedback_core::participation::Participation;
use feedback_core::service::Reference;
use feedback_core::SystemClock;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    feedback_lambda::init_tracing();
    let config = feedback_lambda::Config::from_env()?;
    let sdk = sdk_config().await;
    let secret = voter_secret(&sdk, &config.require_voter_secret_param()?).await?;
    let store = DynamoStore::from_conf(&sdk, &config.table_name);
    let reference = Arc::new(Reference::new(store.clone(), config.reference_ttl));
    let participation = Participation::new(store, SystemClock, reference, secret, config.comments_per_hour);
    lambda_http::run(lambda_http::service_fn(|req| polls::handle(&participation, req))).await
}
