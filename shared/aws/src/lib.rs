//! The AWS adapters: a single-table DynamoDB store and SQS queues. They only translate between
//! the domain's ports and the SDK; every rule lives in `feedback-core`.
//!
//! Clients are built once per process from the standard environment, so `AWS_ENDPOINT_URL`
//! points them at any compatible endpoint without code changes.

mod counters;
mod delivery;
mod dynamo;
pub mod iam;
mod keys;
mod open311;
mod outbox;
mod participation;
mod reach;
mod rights;
mod s3;
pub mod schema;
mod ses;
mod sms;
mod sqs;
mod stack;
mod stream;
mod templates;
mod transact;
mod webhooks;

pub use dynamo::{create_table, CatchUp, Counting, DynamoStore};
pub use keys::SsmKeys;
pub use s3::S3Blobs;
pub use ses::SesMail;
pub use sms::{SmsChannel, SmsError, SnsSms, MAX_SMS_CHARS};
pub use sqs::{QueueUrls, SqsQueue};
pub use stack::Stack;
pub use stream::{CounterStream, Pass};

/// Loads the shared SDK configuration (region, credentials, endpoint) from the environment,
/// with one HTTPS client (rustls on ring) shared by every SDK client of the process.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http_client()).load().await
}

/// The HTTPS client (rustls on ring) the SDK clients of this process share.
pub fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use feedback_core::ports::BoxError;
use feedback_core::StoreError;

/// Error codes with which AWS services say the caller is throttled or the service is briefly
/// unable to serve. Nothing was written.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "AWS.SimpleQueueService.RequestThrottled",
    "TooManyRequestsException",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
];

/// Whether a failed SDK call was throttled or hit a server-side (5xx) failure of the service.
pub(crate) fn is_transient<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    e.raw_response().is_some_and(|r| r.status().is_server_error())
        || e.code().is_some_and(|c| TRANSIENT_CODES.contains(&c))
}

/// A failure the adapter detected itself in the operation `context`: `e` says what was wrong
/// (an error, kept as the source, or a text).
pub(crate) fn backend(context: &'static str, e: impl Into<BoxError>) -> StoreError {
    StoreError::backend(context, e)
}

/// A failed SDK call as a port error, the SDK's error kept as its source: throttling and service
/// 5xx errors are `Unavailable`, the rest `Backend`.
pub(crate) fn sdk_error<E>(context: &'static str, e: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if is_transient(&e) {
        StoreError::unavailable(context, e)
    } else {
        StoreError::backend(context, e)
    }
}

/// Reads an SSM SecureString parameter, once per cold start; `what` names it in errors. The value
/// is never logged.
pub(crate) async fn secure_parameter(
    conf: &aws_config::SdkConfig,
    parameter: &str,
    what: &str,
) -> anyhow::Result<zeroize::Zeroizing<String>> {
    let out = aws_sdk_ssm::Client::new(conf)
        .get_parameter()
        .name(parameter)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("reading the {what} {parameter}")))?;
    let value =
        out.parameter.and_then(|p| p.value).ok_or_else(|| anyhow::anyhow!("parameter {parameter} has no value"))?;
    Ok(zeroize::Zeroizing::new(value))
}

/// Reads the voter-roll secret from an SSM SecureString parameter, once per cold start. The value
/// is never logged.
pub async fn voter_secret(
    conf: &aws_config::SdkConfig,
    parameter: &str,
) -> anyhow::Result<feedback_core::participation::VoterSecret> {
    let value = secure_parameter(conf, parameter, "voter-roll secret").await?;
    feedback_core::participation::VoterSecret::new(value.as_bytes().to_vec()).map_err(|e| anyhow::anyhow!(e))
}

/// Reads the stack's VAPID key (Web Push) from an SSM SecureString parameter, once per cold start:
/// base64url of the P-256 private scalar. The value is never logged.
pub async fn vapid_key(conf: &aws_config::SdkConfig, parameter: &str) -> anyhow::Result<feedback_push::VapidKey> {
    let value = secure_parameter(conf, parameter, "VAPID key").await?;
    feedback_push::VapidKey::from_stored(&value).map_err(|e| anyhow::anyhow!("parameter {parameter}: {e}"))
}
