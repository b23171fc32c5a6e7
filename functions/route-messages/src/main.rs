#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    feedback_lambda::init_tracing();
    let stack = feedback_aws::Stack::from_env(&feedback_lambda::functions::ROUTE_MESSAGES).await?;
    let routing = route_messages::services(&stack.deps().with_queue(stack.queue()?));
    lambda_runtime::run(lambda_runtime::service_fn(|event| route_messages::handle(&routing, event))).await
}
