#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let function = &feedback_lambda::functions::REFERENCE_DATA;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let deps = stack.deps();
    let integrations = reference_data::services(&deps);
    lambda_http::run(lambda_http::service_fn(|req| reference_data::handle(&deps.reference, &integrations, req))).await
}
