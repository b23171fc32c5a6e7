#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let function = &feedback_lambda::functions::SWEEP_WEBHOOKS;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let deps = stack.deps().with_queue(stack.queue()?);
    let webhooks = webhooks::services(&deps, webhooks::Destinations::Public);
    lambda_runtime::run(lambda_runtime::service_fn(|_: lambda_runtime::LambdaEvent<serde_json::Value>| {
        webhooks::sweep(&webhooks)
    }))
    .await
}
