//! The AWS adapters: a single-table DynamoDB store and SQS queues. They only translate between
//! the domain's ports and the SDK; every rule lives in `feedback-core`.
//!
//! Clients are built once per process from the standard environment, so `AWS_ENDPOINT_URL`
//! points them at any compatible endpoint without code changes.

mod counters;
mod dynamo;
mod open311;
mod outbox;
mod participation;
mod s3;
mod sqs;

pub use dynamo::{create_table, DynamoStore};
pub use s3::S3Blobs;
pub use sqs::{QueueUrls, SqsQueue};

/// Loads the shared SDK configuration (region, credentials, endpoint) from the environment,
/// with one HTTPS client (rustls on ring) shared by every SDK client of the process.
pub async fn sdk_config() -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http).load().await
}

pub(crate) fn backend(context: &str, e: impl std::fmt::Display) -> feedback_core::StoreError {
    feedback_core::StoreError::Backend(anyhow::anyhow!("{context}: {e}"))
}

/// Reads the voter-roll secret from an SSM SecureString parameter, once per cold start. The value
/// is never logged.
pub async fn voter_secret(
    conf: &aws_config::SdkConfig,
    parameter: &str,
) -> anyhow::Result<feedback_core::participation::VoterSecret> {
    let out = aws_sdk_ssm::Client::new(conf)
        .get_parameter()
        .name(parameter)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("reading the voter-roll secret {parameter}: {}", e.into_service_error()))?;
    let value =
        out.parameter.and_then(|p| p.value).ok_or_else(|| anyhow::anyhow!("parameter {parameter} has no value"))?;
    feedback_core::participation::VoterSecret::new(value.into_bytes()).map_err(|e| anyhow::anyhow!(e))
}
