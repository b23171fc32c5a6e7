#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    feedback_lambda::init_tracing();
    let stack = feedback_aws::Stack::from_env(&feedback_lambda::functions::HANDLE_MESSAGES).await?;
    let workflow = handle_messages::services(&stack.deps().with_queue(stack.queue()?));
    lambda_http::run(lambda_http::service_fn(|req| handle_messages::handle(&workflow, req))).await
}
