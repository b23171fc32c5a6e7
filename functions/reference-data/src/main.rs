#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    feedback_lambda::init_tracing();
    let stack = feedback_aws::Stack::from_env(&feedback_lambda::functions::REFERENCE_DATA).await?;
    let deps = stack.deps();
    let integrations = reference_data::services(&deps);
    lambda_http::run(lambda_http::service_fn(|req| reference_data::handle(&deps.reference, &integrations, req))).await
}
