use feedback_aws::{sdk_config, DynamoStore};
use feedback_core::workflow::Notifications;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    feedback_lambda::init_tracing();
    let config = feedback_lambda::Config::from_env()?;
    let store = DynamoStore::from_conf(&sdk_config().await, &config.table_name);
    let notifications = Notifications::new(store);
    lambda_runtime::run(lambda_runtime::service_fn(|event| notify::handle(&notifications, event))).await
}
