#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let function = &feedback_lambda::functions::CLOSE_POLLS;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let participation = close_polls::services(&stack.deps(), stack.poll_secrets().await?, stack.settings());
    lambda_runtime::run(lambda_runtime::service_fn(|event| close_polls::handle(&participation, event))).await
}
