#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let function = &feedback_lambda::functions::MAIL_EVENTS;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let deps = stack.deps();
    let contacts = feedback_core::dispatch::Contacts::new(deps.store, deps.clock);
    lambda_runtime::run(lambda_runtime::service_fn(|event| mail_events::handle(&contacts, event))).await
}
