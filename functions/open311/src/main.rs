#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    feedback_lambda::init_tracing();
    let stack = feedback_aws::Stack::from_env(&feedback_lambda::functions::OPEN311).await?;
    let service = open311::services(&stack.deps().with_queue(stack.queue()?));
    lambda_http::run(lambda_http::service_fn(|req| open311::handle(&service, req))).await
}
