#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    feedback_lambda::init_tracing();
    let stack = feedback_aws::Stack::from_env(&feedback_lambda::functions::POLLS).await?;
    let participation = polls::services(&stack.deps(), stack.voter_secret().await?, stack.settings());
    lambda_http::run(lambda_http::service_fn(|req| polls::handle(&participation, req))).await
}
