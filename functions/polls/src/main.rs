#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let function = &feedback_lambda::functions::POLLS;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let participation = polls::services(&stack.deps(), stack.poll_secrets().await?, stack.settings());
    lambda_http::run(lambda_http::service_fn(|req| polls::handle(&participation, req))).await
}
