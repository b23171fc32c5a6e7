#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let function = &feedback_lambda::functions::WEBHOOKS;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let deps = stack.deps().with_queue(stack.queue()?);
    let webhooks = webhooks::services(&deps, feedback_core::webhook::Destinations::Public);
    lambda_http::run(lambda_http::service_fn(|req| webhooks::handle(&webhooks, req))).await
}
