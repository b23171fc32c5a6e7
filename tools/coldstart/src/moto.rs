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
    pub webhook_events_queue_url: String,
    pub webhook_deliveries_queue_url: String,
    pub photos_bucket: String,
}

/// The table `scripts/coldstart.sh` creates and seeds with the local host's CLI
/// (`feedback seed-region --create-table`), so that its schema is the code's own.
pub const TABLE: &str = "feedback-coldstart";
pub const SUBMITTED_QUEUE: &str = "feedback-coldstart-submitted";
pub const NOTIFICATIONS_QUEUE: &str = "feedback-coldstart-notifications";
pub const WEBHOOK_EVENTS_QUEUE: &str = "feedback-coldstart-webhook-events";
pub const WEBHOOK_DELIVERIES_QUEUE: &str = "feedback-coldstart-webhook-deliveries";
pub const PHOTOS_BUCKET: &str = "feedback-coldstart-photos";
pub const VOTER_SECRET_PARAM: &str = "/feedback/coldstart/voter-secret";
pub const UNSUBSCRIBE_KEY_PARAM: &str = "/feedback/coldstart/unsubscribe-key";
pub const VAPID_KEY_PARAM: &str = "/feedback/coldstart/vapid-key";
/// The SSM path of the polls' ballot keys (no poll is created in a cold-start run).
pub const BALLOT_KEYS_PATH: &str = "/feedback/coldstart/ballot-keys";
/// The SecureString parameters the functions read at init, with test values: the VAPID key is
/// the base64url of a valid P-256 scalar (32 bytes of 0x11).
const PARAMETERS: [(&str, &str); 3] = [
    (VOTER_SECRET_PARAM, "coldstart-voter-secret-0123456789abcdef"),
    (UNSUBSCRIBE_KEY_PARAM, "coldstart-unsubscribe-key-0123456789abcdef"),
    (VAPID_KEY_PARAM, "ERERERERERERERERERERERERERERERERERERERERERE"),
];

impl Resources {
    /// The names used when there is no endpoint: the queue URLs have the shape of real ones.
    pub fn placeholders(region: &str) -> Resources {
        let queue = |name: &str| format!("https://sqs.{region}.amazonaws.com/123456789012/{name}");
        Resources {
            table: TABLE.into(),
            submitted_queue_url: queue(SUBMITTED_QUEUE),
            notifications_queue_url: queue(NOTIFICATIONS_QUEUE),
            webhook_events_queue_url: queue(WEBHOOK_EVENTS_QUEUE),
            webhook_deliveries_queue_url: queue(WEBHOOK_DELIVERIES_QUEUE),
            photos_bucket: PHOTOS_BUCKET.into(),
        }
    }

    /// Every variable a function of the stack may declare (`feedback manifest`), with the
    /// values of this run; each function reads the ones it declares.
    pub fn environment(&self, endpoint_url: &str) -> Vec<(&'static str, String)> {
        vec![
            ("TABLE_NAME", self.table.clone()),
            ("SUBMITTED_QUEUE_URL", self.submitted_queue_url.clone()),
            ("NOTIFICATIONS_QUEUE_URL", self.notifications_queue_url.clone()),
            ("WEBHOOK_EVENTS_QUEUE_URL", self.webhook_events_queue_url.clone()),
            ("WEBHOOK_DELIVERIES_QUEUE_URL", self.webhook_deliveries_queue_url.clone()),
            ("PHOTOS_BUCKET", self.photos_bucket.clone()),
            ("VOTER_SECRET_PARAM", VOTER_SECRET_PARAM.into()),
            ("UNSUBSCRIBE_KEY_PARAM", UNSUBSCRIBE_KEY_PARAM.into()),
            ("VAPID_KEY_PARAM", VAPID_KEY_PARAM.into()),
            ("VAPID_SUBJECT", "mailto:ops@example.org".into()),
            ("MAIL_FROM", "Решаем вместе <noreply@example.org>".into()),
            ("SES_IDENTITY", "example.org".into()),
            ("SES_CONFIGURATION_SET", "feedback-coldstart".into()),
            ("PORTAL_URL", "https://portal.example.org".into()),
            ("BALLOT_KEYS_PATH", BALLOT_KEYS_PATH.into()),
            ("AWS_ENDPOINT_URL", endpoint_url.into()),
        ]
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

/// Creates the SSM parameters and the queues. Idempotent: existing ones are reused. The table
/// is not created here (see [`TABLE`]).
pub fn prepare(endpoint: &str, region: &str) -> Prepared {
    let mut resources = Resources::placeholders(region);
    let mut notes = Vec::new();

    let mut ssm_ready = true;
    for (name, value) in PARAMETERS {
        let put = json!({"Name": name, "Value": value, "Type": "SecureString", "Overwrite": true});
        if let Err(e) = call_json(endpoint, region, "ssm", "AmazonSSM.PutParameter", "1.1", &put) {
            notes.push(format!("SSM parameter {name} not created: {e}"));
            ssm_ready = false;
        }
    }

    for (name, url) in [
        (SUBMITTED_QUEUE, &mut resources.submitted_queue_url),
        (NOTIFICATIONS_QUEUE, &mut resources.notifications_queue_url),
        (WEBHOOK_EVENTS_QUEUE, &mut resources.webhook_events_queue_url),
        (WEBHOOK_DELIVERIES_QUEUE, &mut resources.webhook_deliveries_queue_url),
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
