#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let function = &feedback_lambda::functions::SUBMIT_MESSAGE;
    feedback_lambda::init(function);
    let stack = feedback_aws::Stack::from_env(function).await?;
    let deps = stack.deps().with_queue(stack.queue()?);
    // Two SSM round trips of the cold start, made at once.
    let (voter_secret, unsubscribe_key) = tokio::try_join!(stack.voter_secret(), stack.unsubscribe_key())?;
    let mut services =
        submit_message::services(&deps, stack.photo_blobs()?, voter_secret, unsubscribe_key, stack.settings());
    services.push_public_key = stack.push_public_key()?;
    lambda_http::run(lambda_http::service_fn(|req| submit_message::handle(&services, req))).await
}
