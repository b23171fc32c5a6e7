#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let function = &feedback_lambda::functions::SUBMIT_MESSAGE;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let deps = stack.deps().with_queue(stack.queue()?);
    // One SSM round trip of the cold start, for both keys.
    let (voter_secret, unsubscribe_key) = stack.voter_secret_and_unsubscribe_key().await?;
    let mut services =
        submit_message::services(&deps, stack.photo_blobs()?, voter_secret, unsubscribe_key, stack.settings());
    services.push_public_key = stack.push_public_key()?;
    lambda_http::run(lambda_http::service_fn(|req| submit_message::handle(&services, req))).await
}
