#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    feedback_lambda::init_tracing();
    let stack = feedback_aws::Stack::from_env(&feedback_lambda::functions::ANALYTICS).await?;
    let analytics = analytics::services(&stack.deps());
    lambda_http::run(lambda_http::service_fn(|req| analytics::handle(&analytics, req))).await
}
