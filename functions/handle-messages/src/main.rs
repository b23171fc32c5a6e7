#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let function = &feedback_lambda::functions::HANDLE_MESSAGES;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let services = handle_messages::services(&stack.deps().with_queue(stack.queue()?), stack.photo_blobs()?);
    lambda_http::run(lambda_http::service_fn(|req| handle_messages::handle(&services, req))).await
}
