#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let function = &feedback_lambda::functions::OPEN311;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let service = open311::services(&stack.deps().with_queue(stack.queue()?));
    lambda_http::run(lambda_http::service_fn(|req| open311::handle(&service, req))).await
}
