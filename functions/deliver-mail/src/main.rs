#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let function = &feedback_lambda::functions::DELIVER_MAIL;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let deps = stack.deps();
    let (transports, settings) = stack.residents_channels().await?;
    let deliveries = feedback_core::dispatch::Deliveries::new(deps.store, deps.clock, deps.reference, settings);
    let sender = notify::Sender::new(deliveries, transports, notify::SEND_TIMEOUT);
    lambda_runtime::run(lambda_runtime::service_fn(|_: lambda_runtime::LambdaEvent<serde_json::Value>| sender.tick()))
        .await
}
