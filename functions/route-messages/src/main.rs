#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let function = &feedback_lambda::functions::ROUTE_MESSAGES;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let routing = route_messages::services(&stack.deps().with_queue(stack.queue()?));
    lambda_runtime::run(lambda_runtime::service_fn(|event| route_messages::handle(&routing, event))).await
}
