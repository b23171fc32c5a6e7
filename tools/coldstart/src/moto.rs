//! Prepares the resources the functions touch on a moto server, with plain HTTP calls to the AWS
//! JSON protocols. Moto does not verify signatures; it reads the service and the region from the
//! credential scope of the `Authorization` header, so a SigV4-shaped header with a dummy signature
//! is enough.

use crate::http;
use serde_json::{json, Value};

/// Names shared by the setup and the functions' environment.
#[derive(Debug, Clone)]
pub struct Resources {
    pub table: String,
    pub submitted_queue_url: String,
    pub notifications_queue_url: String,
    pub photos_bucket: String,
    pub voter_secret_param: String,
}

pub const TABLE: &str = "feedback-coldstart";
pub const SUBMITTED_QUEUE: &str = "feedback-coldstart-submitted";
pub const NOTIFICATIONS_QUEUE: &str = "feedback-coldstart-notifications";
pub const PHOTOS_BUCKET: &str = "feedback-coldstart-photos";
pub const VOTER_SECRET_PARAM: &str = "/feedback/coldstart/voter-secret";
/// The SSM path of the polls' ballot keys (no poll is created in a cold-start run).
pub const BALLOT_KEYS_PATH: &str = "/feedback/coldstart/ballot-keys";
const VOTER_SECRET: &str = "coldstart-voter-secret-0123456789abcdef";

impl Resources {
    /// The names used when there is no endpoint: the queue URLs have the shape of real ones.
    pub fn placeholders(region: &str) -> Resources {
        let queue = |name: &str| format!("https://sqs.{region}.amazonaws.com/123456789012/{name}");
        Resources {
            table: TABLE.into(),
            submitted_queue_url: queue(SUBMITTED_QUEUE),
            notifications_queue_url: queue(NOTIFICATIONS_QUEUE),
            photos_bucket: PHOTOS_BUCKET.into(),
            voter_secret_param: VOTER_SECRET_PARAM.into(),
        }
    }
}

/// What the setup achieved: the resources, and a note per step that failed (the measurement
/// goes on; a missing table only turns the first invocation into an error).
pub struct Prepared {
    pub resources: Resources,
    pub ssm_ready: bool,
    pub notes: Vec<String>,
}

fn call_json(
    endpoint: &str,
    region: &str,
    service: &str,
    target: &str,
    version: &str,
    body: &Value,
) -> Result<Value, String> {
    let headers = [
        ("content-type", format!("application/x-amz-json-{version}")),
        ("x-amz-target", target.to_string()),
        ("x-amz-date", "20260101T000000Z".to_string()),
        (
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=test/20260101/{region}/{service}/aws4_request, \
                 SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000000000000000"
            ),
        ),
    ];
    let payload = body.to_string();
    let (status, reply) =
        http::call(endpoint, "POST", "/", &headers, payload.as_bytes()).map_err(|e| format!("{target}: {e}"))?;
    let reply: Value = serde_json::from_slice(&reply).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        Ok(reply)
    } else {
        let kind = reply.get("__type").and_then(Value::as_str).unwrap_or("");
        let message = reply.get("message").or_else(|| reply.get("Message")).and_then(Value::as_str).unwrap_or("");
        Err(format!("{target}: HTTP {status} {kind} {message}"))
    }
}

/// Creates the voter-secret parameter, the table (same key schema and GSIs as
/// `feedback_aws::create_table`) and both queues. Idempotent: existing ones are reused.
pub fn prepare(endpoint: &str, region: &str) -> Prepared {
    let mut resources = Resources::placeholders(region);
    let mut notes = Vec::new();

    let put = json!({
        "Name": VOTER_SECRET_PARAM,
        "Value": VOTER_SECRET,
        "Type": "SecureString",
        "Overwrite": true,
    });
    let ssm_ready = match call_json(endpoint, region, "ssm", "AmazonSSM.PutParameter", "1.1", &put) {
        Ok(_) => true,
        Err(e) => {
            notes.push(format!("SSM parameter {VOTER_SECRET_PARAM} not created: {e}"));
            false
        }
    };

    let mut attributes = vec![
        json!({"AttributeName": "PK", "AttributeType": "S"}),
        json!({"AttributeName": "SK", "AttributeType": "S"}),
    ];
    let mut indexes = Vec::new();
    for i in 1..=5 {
        let (pk, sk) = (format!("GSI{i}PK"), format!("GSI{i}SK"));
        attributes.push(json!({"AttributeName": pk, "AttributeType": "S"}));
        attributes.push(json!({"AttributeName": sk, "AttributeType": "S"}));
        indexes.push(json!({
            "IndexName": format!("GSI{i}"),
            "KeySchema": [{"AttributeName": pk, "KeyType": "HASH"}, {"AttributeName": sk, "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }));
    }
    let table = json!({
        "TableName": TABLE,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": attributes,
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": indexes,
    });
    match call_json(endpoint, region, "dynamodb", "DynamoDB_20120810.CreateTable", "1.0", &table) {
        Ok(_) => {}
        Err(e) if e.contains("ResourceInUseException") => {}
        Err(e) => notes.push(format!("DynamoDB table {TABLE} not created: {e}")),
    }

    for (name, url) in [
        (SUBMITTED_QUEUE, &mut resources.submitted_queue_url),
        (NOTIFICATIONS_QUEUE, &mut resources.notifications_queue_url),
    ] {
        match call_json(endpoint, region, "sqs", "AmazonSQS.CreateQueue", "1.0", &json!({"QueueName": name})) {
            Ok(reply) => match reply.get("QueueUrl").and_then(Value::as_str) {
                Some(u) => *url = u.to_string(),
                None => notes.push(format!("SQS queue {name}: no QueueUrl in the reply")),
            },
            Err(e) => notes.push(format!("SQS queue {name} not created: {e}")),
        }
    }

    Prepared { resources, ssm_ready, notes }
}
