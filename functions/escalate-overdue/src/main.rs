#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let function = &feedback_lambda::functions::ESCALATE_OVERDUE;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let deps = stack.deps().with_queue(stack.queue()?);
    let services = escalate_overdue::services(&deps, stack.photo_blobs()?, stack.settings());
    lambda_runtime::run(lambda_runtime::service_fn(|event| escalate_overdue::handle_schedule(&services, event))).await
}
