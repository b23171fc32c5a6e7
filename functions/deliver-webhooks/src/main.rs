#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let function = &feedback_lambda::functions::DELIVER_WEBHOOKS;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let deps = stack.deps().with_queue(stack.queue()?);
    let webhooks = webhooks::services(&deps, webhooks::Destinations::Public);
    let transport = webhooks::HttpTransport::new(webhooks::Destinations::Public);
    lambda_runtime::run(lambda_runtime::service_fn(|event| webhooks::handle_deliveries(&webhooks, &transport, event)))
        .await
}
