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

/// Starts loading the system's TLS root certificates on a thread of its own, while the cold start
/// goes on: the SDK reads and decodes the store once per process, when it builds its first
/// connector, and that is then the first AWS call's wait (at init for the functions that read
/// SSM parameters, in the first request for the others). A connector built meanwhile waits for
/// the same load instead of starting another. Nothing depends on the thread: if it cannot start,
/// the first connector loads the store as before.
pub fn preload_tls_roots() {
    let _ = std::thread::Builder::new().name("tls-roots".into()).spawn(|| {
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        // Building a connector loads the store into the SDK's process-wide cache.
        drop(aws_smithy_http_client::Connector::builder().tls_provider(Provider::Rustls(CryptoMode::Ring)).build());
    });
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
    let [value] = secure_parameters(conf, [(parameter, what)]).await?;
    Ok(value)
}

/// Reads up to ten SSM SecureString parameters in one `GetParameters` round trip, in the order
/// given; each pair is the parameter's name and what it is, for errors. A missing one is an error
/// that names it. The values are never logged.
pub(crate) async fn secure_parameters<const N: usize>(
    conf: &aws_config::SdkConfig,
    wanted: [(&str, &str); N],
) -> anyhow::Result<[zeroize::Zeroizing<String>; N]> {
    anyhow::ensure!((1..=10).contains(&N), "GetParameters reads one to ten parameters");
    let names = wanted.iter().map(|(name, _)| (*name).to_owned()).collect::<Vec<_>>();
    let out = aws_sdk_ssm::Client::new(conf)
        .get_parameters()
        .set_names(Some(names))
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| {
            let what = wanted.iter().map(|(name, what)| format!("the {what} {name}")).collect::<Vec<_>>();
            anyhow::Error::new(e).context(format!("reading {}", what.join(", ")))
        })?;
    let mut found = out.parameters.unwrap_or_default();
    let mut values = Vec::with_capacity(N);
    for (name, what) in wanted {
        let value = found
            .iter_mut()
            .find(|p| p.name.as_deref() == Some(name))
            .and_then(|p| p.value.take())
            .ok_or_else(|| anyhow::anyhow!("the {what} {name} is not there or has no value"))?;
        values.push(zeroize::Zeroizing::new(value));
    }
    values.try_into().map_err(|_| anyhow::anyhow!("GetParameters answered with another count"))
}

/// Reads the voter-roll secret from an SSM SecureString parameter, once per cold start. The value
/// is never logged.
pub async fn voter_secret(
    conf: &aws_config::SdkConfig,
    parameter: &str,
) -> anyhow::Result<feedback_core::participation::VoterSecret> {
    let value = secure_parameter(conf, parameter, VOTER_SECRET).await?;
    parse_voter_secret(&value)
}

/// The voter-roll secret as stored; a refused one says why, never what it is.
pub(crate) fn parse_voter_secret(value: &str) -> anyhow::Result<feedback_core::participation::VoterSecret> {
    feedback_core::participation::VoterSecret::new(value.as_bytes().to_vec()).map_err(|e| anyhow::anyhow!(e))
}

/// Reads the stack's VAPID key (Web Push) from an SSM SecureString parameter, once per cold start:
/// base64url of the P-256 private scalar. The value is never logged.
pub async fn vapid_key(conf: &aws_config::SdkConfig, parameter: &str) -> anyhow::Result<feedback_push::VapidKey> {
    let value = secure_parameter(conf, parameter, VAPID_KEY).await?;
    parse_vapid_key(parameter, &value)
}

/// The VAPID key stored in `parameter`; an error names the parameter, never the value.
pub(crate) fn parse_vapid_key(parameter: &str, value: &str) -> anyhow::Result<feedback_push::VapidKey> {
    feedback_push::VapidKey::from_stored(value).map_err(|e| anyhow::anyhow!("parameter {parameter}: {e}"))
}

/// What the secrets read from SSM are called in errors.
pub(crate) const VOTER_SECRET: &str = "voter-roll secret";
pub(crate) const VAPID_KEY: &str = "VAPID key";
pub(crate) const UNSUBSCRIBE_KEY: &str = "unsubscribe key";
