#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let function = &feedback_lambda::functions::COUNT_EVENTS;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let counter = stack.counter_stream()?;
    let reference = stack.deps().reference;
    lambda_runtime::run(lambda_runtime::service_fn(|event| count_events::handle_schedule(&counter, &reference, event)))
        .await
}
