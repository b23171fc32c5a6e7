//! The AWS adapters against an endpoint that throttles or fails: throttling and service 5xx
//! errors are `StoreError::Unavailable` (503 with Retry-After at the edge), other failures stay
//! `Backend`. The endpoint is a tiny local HTTP server answering every request the same way.

use feedback_aws::{DynamoStore, QueueUrls, SqsQueue};
use feedback_core::error::ErrorChain;
use feedback_core::ids::MessageId;
use feedback_core::ports::{Job, NewRecord, StoreError};
use feedback_core::{MessageStore, ServiceError, WorkQueue};
use feedback_tests::fixtures::{at, submitted};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves `status` with the JSON `body` to every request; returns the endpoint URL.
async fn endpoint(status: u16, body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head and as much of the body as Content-Length announces.
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    url
}

fn dynamo(url: &str) -> DynamoStore {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .http_client(feedback_aws::http_client())
        .region(Region::new("eu-central-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(url)
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(conf), "feedback")
}

fn sqs(url: &str) -> SqsQueue {
    use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_sqs::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .http_client(feedback_aws::http_client())
        .region(Region::new("eu-central-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(url)
        .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
        .build();
    let queue = format!("{url}/000000000000/submitted");
    SqsQueue::new(aws_sdk_sqs::Client::from_conf(conf), QueueUrls { submitted: Some(queue), ..Default::default() })
}

const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#;
const THROTTLING: &str = r#"{"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate exceeded"}"#;
const LIMIT: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#RequestLimitExceeded","message":"Throughput exceeds the current throughput limit for your account."}"#;
const INTERNAL: &str =
    r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#;
const CANCELLED_BY_THROTTLING: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled","CancellationReasons":[{"Code":"None"},{"Code":"ThrottlingError","Message":"Throughput exceeds the current capacity for one or more global secondary indexes."},{"Code":"None"}]}"#;
const VALIDATION: &str = r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"One or more parameter values were invalid"}"#;

fn id() -> MessageId {
    submitted("alice", at("2026-11-27T10:00:00+05:00")).0.id
}

#[tokio::test]
async fn a_throttled_table_read_is_unavailable() {
    for body in [THROTTLED, THROTTLING, LIMIT] {
        let store = dynamo(&endpoint(400, body).await);
        let got = store.get_message(&id()).await;
        assert!(matches!(got, Err(StoreError::Unavailable(_))), "{body}: {got:?}");
    }
}

#[tokio::test]
async fn a_failing_table_is_unavailable() {
    let store = dynamo(&endpoint(500, INTERNAL).await);
    assert!(matches!(store.get_message(&id()).await, Err(StoreError::Unavailable(_))));
    let store = dynamo(&endpoint(503, "{}").await);
    assert!(matches!(store.get_message(&id()).await, Err(StoreError::Unavailable(_))));
}

#[tokio::test]
async fn a_throttled_transaction_is_unavailable() {
    let (m, e) = submitted("alice", at("2026-11-27T10:00:00+05:00"));
    for (status, body) in [(400, THROTTLED), (400, CANCELLED_BY_THROTTLING), (500, INTERNAL)] {
        let store = dynamo(&endpoint(status, body).await);
        let got = store.create_message(&NewRecord::new(m.clone(), e.clone()), None, &[], None).await;
        assert!(matches!(got, Err(StoreError::Unavailable(_))), "{body}: {got:?}");
    }
}

#[tokio::test]
async fn a_throttled_or_failing_queue_is_unavailable() {
    let job = Job::RouteMessage { message_id: id() };
    let got = sqs(&endpoint(503, "{}").await).send(&job).await;
    assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
    let throttled = r#"{"__type":"com.amazonaws.sqs#RequestThrottled","message":"Rate exceeded"}"#;
    let got = sqs(&endpoint(400, throttled).await).send(&job).await;
    assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
}

#[tokio::test]
async fn other_failures_stay_backend_errors() {
    let store = dynamo(&endpoint(400, VALIDATION).await);
    assert!(matches!(store.get_message(&id()).await, Err(StoreError::Backend(_))));
}

/// The error and the errors that caused it, outermost first.
fn chain(e: &StoreError) -> Vec<&(dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e as &(dyn std::error::Error + 'static)), |e| e.source()).collect()
}

#[tokio::test]
async fn a_backend_error_keeps_the_sdk_error_as_its_source() {
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    let store = dynamo(&endpoint(400, VALIDATION).await);
    let e = store.get_message(&id()).await.unwrap_err();
    assert_eq!(e.to_string(), "backend failure");
    let sdk = chain(&e).into_iter().find_map(|c| c.downcast_ref::<SdkError<GetItemError, HttpResponse>>());
    assert_eq!(sdk.and_then(|s| s.code()), Some("ValidationException"), "{e:?}");
    let shown = ErrorChain(&e).to_string();
    assert!(shown.starts_with("backend failure: GetItem: "), "{shown}");
    assert!(shown.contains("One or more parameter values were invalid"), "{shown}");
}

#[tokio::test]
async fn a_cancelled_transaction_names_each_item_s_reason_in_its_chain() {
    let (m, e) = submitted("alice", at("2026-11-27T10:00:00+05:00"));
    let store = dynamo(&endpoint(400, CANCELLED_BY_THROTTLING).await);
    let got = store.create_message(&NewRecord::new(m, e), None, &[], None).await.unwrap_err();
    let shown = ErrorChain(&got).to_string();
    assert!(shown.contains("transaction cancelled: None ThrottlingError None"), "{shown}");
    assert!(shown.contains("TransactionCanceledException"), "{shown}");
}

#[tokio::test]
async fn unavailable_becomes_a_retryable_service_error() {
    let store = dynamo(&endpoint(400, THROTTLED).await);
    let err: ServiceError = store.get_message(&id()).await.unwrap_err().into();
    assert!(matches!(err, ServiceError::Unavailable { retry_after_secs } if retry_after_secs > 0), "{err:?}");
}
