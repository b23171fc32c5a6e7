#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    feedback_lambda::init_tracing();
    let stack = feedback_aws::Stack::from_env(&feedback_lambda::functions::ESCALATE_OVERDUE).await?;
    let deps = stack.deps().with_queue(stack.queue()?);
    let services = escalate_overdue::services(&deps, stack.photo_blobs()?, stack.settings());
    lambda_runtime::run(lambda_runtime::service_fn(|event| escalate_overdue::handle_schedule(&services, event))).await
}
