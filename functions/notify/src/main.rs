#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let function = &feedback_lambda::functions::NOTIFY;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let notifications = notify::services(&stack.deps());
    lambda_runtime::run(lambda_runtime::service_fn(|event| notify::handle(&notifications, event))).await
}
