//! The IAM permissions a function's ports imply (`feedback_lambda::functions`): the data-plane
//! actions of the SDK calls its adapters make, each on the resource that a variable of the stack's
//! environment names. The stack template grants each function exactly these.

use crate::s3::PHOTO_KEY_PREFIX;
use feedback_lambda::functions::{env, Function, ItemOp, KeyOp, Outbound, PhotoOp, Queries};
use serde::Serialize;

/// Actions on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub actions: Vec<&'static str>,
    /// The variable whose value names the resource: the table, a queue's URL, the bucket, the
    /// SSM parameter; or [`ANY_RESOURCE`] for an action IAM knows by no resource.
    pub resource: &'static str,
    /// Where under the resource: `/index/*` for the table's indexes, a key prefix in a bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// For a KMS grant: the one service through which the key that encrypts the resource is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub through: Option<&'static str>,
}

/// What the event source mapping of a consumer needs on its queue (Lambda polls with the
/// function's role).
pub const QUEUE_POLLER_ACTIONS: [&str; 4] =
    ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"];

/// The resource of an action that has none of its own: SNS `Publish` to a phone number.
pub const ANY_RESOURCE: &str = "*";

/// How the stack's secrets (the voter-roll secret, the VAPID and unsubscribe keys) are read at a
/// cold start: `GetParameters`, so that a function that needs two reads them in one request.
const SECRET_READ: &str = "ssm:GetParameters";

fn on(resource: &'static str, actions: Vec<&'static str>) -> Grant {
    Grant { actions, resource, path: None, through: None }
}

/// The function's grants; never a Scan, never a wildcard action.
pub fn grants(f: &Function) -> Vec<Grant> {
    let mut out = Vec::new();
    let mut items: Vec<&str> = f
        .table
        .items
        .iter()
        .map(|op| match op {
            ItemOp::Get => "dynamodb:GetItem",
            ItemOp::Put => "dynamodb:PutItem",
            ItemOp::Update => "dynamodb:UpdateItem",
            ItemOp::Delete => "dynamodb:DeleteItem",
            ItemOp::ConditionCheck => "dynamodb:ConditionCheckItem",
            ItemOp::BatchWrite => "dynamodb:BatchWriteItem",
        })
        .collect();
    if f.table.queries != Queries::None {
        items.push("dynamodb:Query");
    }
    out.push(on(env::TABLE_NAME, items));
    if f.table.queries == Queries::TableAndIndexes {
        out.push(Grant { path: Some("/index/*".into()), ..on(env::TABLE_NAME, vec!["dynamodb:Query"]) });
    }
    for queue in f.sends {
        out.push(on(env::queue_url(*queue), vec!["sqs:SendMessage"]));
    }
    if let Some(consumer) = f.consumer() {
        out.push(on(env::queue_url(consumer.queue), QUEUE_POLLER_ACTIONS.to_vec()));
    }
    if !f.photos.is_empty() {
        let actions = f
            .photos
            .iter()
            .map(|op| match op {
                PhotoOp::Upload => "s3:PutObject",
                PhotoOp::Download => "s3:GetObject",
                PhotoOp::Delete => "s3:DeleteObject",
            })
            .collect();
        out.push(Grant { path: Some(format!("/{PHOTO_KEY_PREFIX}/*")), ..on(env::PHOTOS_BUCKET, actions) });
    }
    if f.voter_secret {
        out.push(on(env::VOTER_SECRET_PARAM, vec![SECRET_READ]));
        out.push(Grant { through: Some("ssm"), ..on(env::VOTER_SECRET_PARAM, vec!["kms:Decrypt"]) });
    }
    if !f.ballot_keys.is_empty() {
        // The parameters are SecureStrings under the account's AWS managed key for SSM, whose key
        // policy admits calls through SSM: no KMS grant is needed.
        let actions = f
            .ballot_keys
            .iter()
            .map(|op| match op {
                KeyOp::Keep => "ssm:PutParameter",
                KeyOp::Read => "ssm:GetParameter",
                KeyOp::Destroy => "ssm:DeleteParameter",
            })
            .collect();
        out.push(Grant { path: Some("/*".into()), ..on(env::BALLOT_KEYS_PATH, actions) });
    }
    for kind in f.outbound {
        match kind {
            Outbound::Push => {
                out.push(on(env::VAPID_KEY_PARAM, vec![SECRET_READ]));
                out.push(Grant { through: Some("ssm"), ..on(env::VAPID_KEY_PARAM, vec!["kms:Decrypt"]) });
            }
            Outbound::Sms => out.push(on(ANY_RESOURCE, vec!["sns:Publish"])),
            // Requests to integrators' endpoints on the internet: no AWS permission.
            Outbound::Webhooks => {}
            Outbound::Mail => {
                // SES authorises a send on the identity and on the configuration set it names.
                for resource in [env::SES_IDENTITY, env::SES_CONFIGURATION_SET] {
                    out.push(on(resource, vec!["ses:SendEmail", "ses:SendRawEmail"]));
                }
            }
        }
    }
    if f.unsubscribe_key {
        out.push(on(env::UNSUBSCRIBE_KEY_PARAM, vec![SECRET_READ]));
        out.push(Grant { through: Some("ssm"), ..on(env::UNSUBSCRIBE_KEY_PARAM, vec!["kms:Decrypt"]) });
    }
    if f.reads_stream {
        out.push(on(
            env::TABLE_STREAM_ARN,
            vec!["dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use feedback_lambda::functions::{ANALYTICS, FUNCTIONS, NOTIFY};

    #[test]
    fn no_function_scans_or_uses_wildcards() {
        for f in FUNCTIONS {
            for g in grants(f) {
                assert!(g.actions.iter().all(|a| !a.contains('*') && *a != "dynamodb:Scan"), "{}", f.name);
            }
        }
    }

    #[test]
    fn a_consumer_polls_its_queue_and_a_reader_only_reads() {
        let notify = grants(&NOTIFY);
        assert_eq!(
            notify[0].actions,
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]
        );
        assert_eq!(notify[2].resource, "NOTIFICATIONS_QUEUE_URL");
        assert_eq!(notify[2].actions, QUEUE_POLLER_ACTIONS);
        // The analytics read the counters, and the public-messages index for the open data.
        let analytics = grants(&ANALYTICS);
        assert_eq!(analytics.len(), 2, "{analytics:?}");
        assert_eq!(analytics[0], on("TABLE_NAME", vec!["dynamodb:GetItem", "dynamodb:Query"]));
        assert_eq!(analytics[1].actions, ["dynamodb:Query"]);
        assert_eq!(analytics[1].path.as_deref(), Some("/index/*"));
    }

    #[test]
    fn push_reads_the_vapid_key_and_sms_publishes_to_phone_numbers() {
        let sender = Function { outbound: &[Outbound::Push, Outbound::Sms], unsubscribe_key: false, ..NOTIFY };
        let all = grants(&sender);
        let tail = all.get(all.len() - 3..).unwrap();
        assert_eq!(
            tail,
            [
                on("VAPID_KEY_PARAM", vec!["ssm:GetParameters"]),
                Grant { through: Some("ssm"), ..on("VAPID_KEY_PARAM", vec!["kms:Decrypt"]) },
                on("*", vec!["sns:Publish"]),
            ]
        );
        for f in FUNCTIONS {
            let any = grants(f).iter().any(|g| g.resource == ANY_RESOURCE);
            assert_eq!(any, f.outbound.contains(&Outbound::Sms), "{}", f.name);
        }
    }

    #[test]
    fn mail_sends_on_the_identity_and_configuration_set_only() {
        let all = grants(&NOTIFY);
        let ses: Vec<&Grant> = all.iter().filter(|g| g.actions.iter().any(|a| a.starts_with("ses:"))).collect();
        assert_eq!(
            ses,
            [
                &on("SES_IDENTITY", vec!["ses:SendEmail", "ses:SendRawEmail"]),
                &on("SES_CONFIGURATION_SET", vec!["ses:SendEmail", "ses:SendRawEmail"]),
            ]
        );
    }

    #[test]
    fn the_unsubscribe_key_is_read_where_links_are_signed_or_verified() {
        let reads = |f: &Function| {
            grants(f)
                .iter()
                .any(|g| g.resource == env::UNSUBSCRIBE_KEY_PARAM && g.actions.contains(&"ssm:GetParameters"))
        };
        let readers: Vec<&str> = FUNCTIONS.iter().filter(|f| reads(f)).map(|f| f.name).collect();
        assert_eq!(readers, ["submit-message", "notify", "deliver-mail"]);
    }

    #[test]
    fn only_the_close_reads_ballot_keys() {
        let reads = |f: &Function| {
            grants(f).iter().any(|g| g.resource == env::BALLOT_KEYS_PATH && g.actions.contains(&"ssm:GetParameter"))
        };
        let readers: Vec<&str> = FUNCTIONS.iter().filter(|f| reads(f)).map(|f| f.name).collect();
        assert_eq!(readers, ["close-polls"]);
    }
}
