#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    feedback_lambda::init_tracing();
    let stack = feedback_aws::Stack::from_env(&feedback_lambda::functions::NOTIFY).await?;
    let notifications = notify::services(&stack.deps());
    lambda_runtime::run(lambda_runtime::service_fn(|event| notify::handle(&notifications, event))).await
}
