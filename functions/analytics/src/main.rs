#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let function = &feedback_lambda::functions::ANALYTICS;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let analytics = analytics::services(&stack.deps());
    lambda_http::run(lambda_http::service_fn(|req| analytics::handle(&analytics, req))).await
}
