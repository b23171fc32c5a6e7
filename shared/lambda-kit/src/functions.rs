//! The functions a stack deploys and what each uses beyond its code: the table operations, the
//! queues it sends to, the photo objects and the voter-roll secret. `feedback_aws::Stack` reads
//! exactly the variables a function's ports need and builds only those ports; the queue consumers
//! and the schedules are declared here once, and the local host drives them by these tables.
//! `feedback manifest` prints all of it for `infra/check_template.py`.

use feedback_core::ports::QueueName;
use serde::Serialize;

/// The environment variables the functions read.
pub mod env {
    use feedback_core::ports::QueueName;

    /// The DynamoDB table; every function requires it.
    pub const TABLE_NAME: &str = "TABLE_NAME";
    /// The `submitted` queue's URL.
    pub const SUBMITTED_QUEUE_URL: &str = "SUBMITTED_QUEUE_URL";
    /// The `notifications` queue's URL.
    pub const NOTIFICATIONS_QUEUE_URL: &str = "NOTIFICATIONS_QUEUE_URL";
    /// The `webhook_events` queue's URL.
    pub const WEBHOOK_EVENTS_QUEUE_URL: &str = "WEBHOOK_EVENTS_QUEUE_URL";
    /// The `webhook_deliveries` queue's URL.
    pub const WEBHOOK_DELIVERIES_QUEUE_URL: &str = "WEBHOOK_DELIVERIES_QUEUE_URL";
    /// The table's stream, which the counting consumer reads.
    pub const TABLE_STREAM_ARN: &str = "TABLE_STREAM_ARN";
    /// The private photos bucket.
    pub const PHOTOS_BUCKET: &str = "PHOTOS_BUCKET";
    /// The SSM parameter holding the voter-roll secret.
    pub const VOTER_SECRET_PARAM: &str = "VOTER_SECRET_PARAM";
    /// The SSM SecureString parameter holding the stack's VAPID key pair (Web Push, RFC 8292):
    /// base64url of the P-256 private scalar (`feedback_push::VapidKey::from_stored`).
    pub const VAPID_KEY_PARAM: &str = "VAPID_KEY_PARAM";
    /// The operator's contact that push services are given in every VAPID JWT (`sub`): a
    /// `mailto:` or `https:` URL.
    pub const VAPID_SUBJECT: &str = "VAPID_SUBJECT";
    /// The stack's VAPID public key, base64url of the uncompressed P-256 point: what the function
    /// serving `GET /v1/push/public-key` hands browsers (optional; without it the route answers
    /// 503). Not a secret, and never the private key.
    pub const VAPID_PUBLIC_KEY: &str = "VAPID_PUBLIC_KEY";
    /// The sender of residents' e-mail, a mailbox of the SES identity (`Портал <noreply@…>`).
    pub const MAIL_FROM: &str = "MAIL_FROM";
    /// The SES identity (the verified domain) residents' e-mail is sent from.
    pub const SES_IDENTITY: &str = "SES_IDENTITY";
    /// The SES configuration set whose event destination reports bounces and complaints.
    pub const SES_CONFIGURATION_SET: &str = "SES_CONFIGURATION_SET";
    /// The portal's base URL, which also serves the API (`/v1/*`): the links in e-mail.
    pub const PORTAL_URL: &str = "PORTAL_URL";
    /// The SSM SecureString parameter holding the HMAC key of the unsubscribe tokens.
    pub const UNSUBSCRIBE_KEY_PARAM: &str = "UNSUBSCRIBE_KEY_PARAM";
    /// The SSM path under which each poll's private ballot key is a SecureString parameter.
    pub const BALLOT_KEYS_PATH: &str = "BALLOT_KEYS_PATH";
    /// Per-citizen submissions per hour (optional, `Settings::submissions_per_hour`).
    pub const SUBMISSIONS_PER_HOUR: &str = "SUBMISSIONS_PER_HOUR";
    /// Comments a citizen may post per hour (optional, `Settings::comments_per_hour`).
    pub const COMMENTS_PER_HOUR: &str = "COMMENTS_PER_HOUR";
    /// Seconds the reference data is cached (optional, `Settings::reference_ttl`).
    pub const REFERENCE_TTL_SECS: &str = "REFERENCE_TTL_SECS";
    /// Seconds after which a message still `submitted` is re-enqueued (optional, `Settings::stuck_after`).
    pub const STUCK_AFTER_SECS: &str = "STUCK_AFTER_SECS";
    /// The log level (optional, `crate::init`).
    pub const RUST_LOG: &str = "RUST_LOG";
    /// The deployed function's name, which Lambda sets (`crate::init`, the metrics' dimension).
    pub const AWS_LAMBDA_FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";

    /// The variable that holds a queue's URL.
    pub const fn queue_url(queue: QueueName) -> &'static str {
        match queue {
            QueueName::Submitted => SUBMITTED_QUEUE_URL,
            QueueName::Notifications => NOTIFICATIONS_QUEUE_URL,
            QueueName::WebhookEvents => WEBHOOK_EVENTS_QUEUE_URL,
            QueueName::WebhookDeliveries => WEBHOOK_DELIVERIES_QUEUE_URL,
        }
    }
}

/// An operation on one item of the table, alone or inside a transaction: DynamoDB authorises a
/// transaction by the operations it contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemOp {
    Get,
    Put,
    Update,
    Delete,
    ConditionCheck,
    /// Puts and deletes in batches (`BatchWriteItem`), outside any transaction.
    BatchWrite,
}

/// Where a function queries the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Queries {
    None,
    /// The base table only.
    Table,
    /// The base table and its global secondary indexes.
    TableAndIndexes,
}

/// What a function does with the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TableUse {
    pub items: &'static [ItemOp],
    pub queries: Queries,
}

/// What a function does with photo objects in the private bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoOp {
    /// Signs upload URLs.
    Upload,
    /// Signs download URLs.
    Download,
    /// Deletes objects.
    Delete,
}

/// What a function does with the polls' private ballot keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyOp {
    /// Keeps a new poll's key.
    Keep,
    /// Reads a poll's key, to open its sealed ballots.
    Read,
    /// Destroys a poll's key.
    Destroy,
}

/// What a function sends out of the stack: to residents (e-mail, push, SMS) or to integrators'
/// endpoints (webhooks). Each kind brings the variables and the permissions it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outbound {
    /// Web Push to residents' browsers: signs with the stack's VAPID key and posts to the push
    /// services the subscriptions name, over the Internet (no AWS permission beyond the key).
    Push,
    /// SMS to residents' phones through SNS (`Publish` with a phone number, which IAM knows by
    /// no resource but `*`).
    Sms,
    /// HTTPS requests to integrators' webhook endpoints on the internet.
    Webhooks,
    /// E-mail to residents through SES (`SendEmail` with raw content, on the identity and the
    /// configuration set), with links to the portal and unsubscribe tokens signed with the key.
    Mail,
}

/// A deployed function and the ports its `main.rs` wires. The table is every function's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Function {
    pub name: &'static str,
    pub table: TableUse,
    /// The queues it sends jobs to.
    pub sends: &'static [QueueName],
    pub photos: &'static [PhotoOp],
    /// Whether it reads the voter-roll secret.
    pub voter_secret: bool,
    /// What it does with the polls' private ballot keys.
    pub ballot_keys: &'static [KeyOp],
    /// Whether it reads the key unsubscribe tokens are signed with: to sign the links in
    /// residents' e-mail, or to verify them at one-click unsubscribe.
    pub unsubscribe_key: bool,
    /// What it sends out of the stack.
    pub outbound: &'static [Outbound],
    /// Whether it reads the table's stream (`TABLE_STREAM_ARN`): the counting consumer.
    pub reads_stream: bool,
}

impl Function {
    /// The variables the function requires: it stops at its cold start without one of them.
    pub fn variables(&self) -> Vec<&'static str> {
        let mut vars = vec![env::TABLE_NAME];
        vars.extend(self.sends.iter().map(|q| env::queue_url(*q)));
        if !self.photos.is_empty() {
            vars.push(env::PHOTOS_BUCKET);
        }
        if self.voter_secret {
            vars.push(env::VOTER_SECRET_PARAM);
        }
        if !self.ballot_keys.is_empty() {
            vars.push(env::BALLOT_KEYS_PATH);
        }
        if self.outbound.contains(&Outbound::Push) {
            vars.extend([env::VAPID_KEY_PARAM, env::VAPID_SUBJECT]);
        }
        if self.outbound.contains(&Outbound::Mail) {
            vars.extend([env::MAIL_FROM, env::SES_IDENTITY, env::SES_CONFIGURATION_SET, env::PORTAL_URL]);
        }
        if self.unsubscribe_key {
            vars.push(env::UNSUBSCRIBE_KEY_PARAM);
        }
        if self.reads_stream {
            vars.push(env::TABLE_STREAM_ARN);
        }
        vars
    }

    /// The variables the function reads when they are set: the settings, the log level and, for
    /// the function serving the push public key, that key.
    pub fn optional_variables(&self) -> Vec<&'static str> {
        let mut vars = crate::Settings::VARIABLES.to_vec();
        vars.push(env::RUST_LOG);
        if crate::routes::Operation::PushPublicKey.route().function == self.name {
            vars.push(env::VAPID_PUBLIC_KEY);
        }
        vars
    }

    /// The consumer whose queue invokes this function, if any.
    pub fn consumer(&self) -> Option<&'static Consumer> {
        CONSUMERS.iter().find(|c| c.function == self.name)
    }

    /// The topic whose messages invoke this function, if any.
    pub fn topic(&self) -> Option<&'static TopicSubscriber> {
        TOPICS.iter().find(|t| t.function == self.name)
    }

    /// The schedule that invokes this function, if any.
    pub fn schedule(&self) -> Option<&'static Schedule> {
        SCHEDULES.iter().find(|s| s.function == self.name)
    }
}

/// A queue and the function its event source mapping invokes with batches of its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consumer {
    pub queue: QueueName,
    pub function: &'static str,
    /// Messages per invocation at most.
    pub batch_size: usize,
    /// Receives of a message before it moves to the dead-letter queue.
    pub max_receive_count: u32,
    /// The dead-letter queue's name (the stack prefixes it like every queue's).
    pub dead_letter_queue: &'static str,
}

/// A function that a scheduler invokes on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub function: &'static str,
    /// The schedule in EventBridge Scheduler's syntax.
    pub expression: &'static str,
}

/// Messages a consumer is handed at once.
pub const BATCH_SIZE: usize = 10;
/// Receives of a message before it is dead.
pub const MAX_RECEIVE_COUNT: u32 = 5;

const MESSAGE_WRITER: TableUse = TableUse {
    // UpdateItem: the submission quota and the block of message numbers (ADD); the analytics
    // counters are added after commit by count-events.
    // DeleteItem: the outbox items relayed after the commit.
    items: &[ItemOp::Get, ItemOp::Put, ItemOp::Update, ItemOp::Delete],
    queries: Queries::TableAndIndexes,
};

/// Also serves residents' data rights: the export looks up the voter roll by the resident's
/// voter hashes (the secret), and the erasure deletes the resident's photo objects.
/// It keeps residents' notification preferences and subscriptions in their own partition, turns
/// a channel off at one-click unsubscribe (verifying the link with the unsubscribe key) and
/// shows admins a notification's delivery log.
pub const SUBMIT_MESSAGE: Function = Function {
    name: "submit-message",
    table: MESSAGE_WRITER,
    sends: &[QueueName::Submitted, QueueName::Notifications, QueueName::WebhookEvents],
    photos: &[PhotoOp::Upload, PhotoOp::Download, PhotoOp::Delete],
    voter_secret: true,
    ballot_keys: &[],
    unsubscribe_key: true,
    outbound: &[],
    reads_stream: false,
};

pub const ROUTE_MESSAGES: Function = Function {
    name: "route-messages",
    table: MESSAGE_WRITER,
    sends: &[QueueName::Notifications, QueueName::WebhookEvents],
    photos: &[],
    voter_secret: false,
    ballot_keys: &[],
    unsubscribe_key: false,
    outbound: &[],
    reads_stream: false,
};

/// Also keeps the authorities' reply templates, and reads the first bytes of the photos an
/// official attaches to an answer (to check they were uploaded and are images).
pub const HANDLE_MESSAGES: Function = Function {
    name: "handle-messages",
    table: MESSAGE_WRITER,
    sends: &[QueueName::Notifications, QueueName::WebhookEvents],
    photos: &[PhotoOp::Download],
    voter_secret: false,
    ballot_keys: &[],
    unsubscribe_key: false,
    outbound: &[],
    reads_stream: false,
};

/// Also sweeps photos never attached to a message (record and object) and relays what the outbox
/// still holds to either queue.
pub const ESCALATE_OVERDUE: Function = Function {
    name: "escalate-overdue",
    table: MESSAGE_WRITER,
    sends: &[QueueName::Submitted, QueueName::Notifications, QueueName::WebhookEvents],
    photos: &[PhotoOp::Delete],
    voter_secret: false,
    ballot_keys: &[],
    unsubscribe_key: false,
    outbound: &[],
    reads_stream: false,
};

/// Reference data and routing rules are written whole (PutItem); integrations' keys likewise.
pub const REFERENCE_DATA: Function = Function {
    name: "reference-data",
    table: TableUse { items: &[ItemOp::Get, ItemOp::Put], queries: Queries::Table },
    sends: &[],
    photos: &[],
    voter_secret: false,
    ballot_keys: &[],
    unsubscribe_key: false,
    outbound: &[],
    reads_stream: false,
};

/// Reads the public index and key look-ups, and writes a new message like submit-message.
pub const OPEN311: Function = Function {
    name: "open311",
    table: MESSAGE_WRITER,
    sends: &[QueueName::Submitted, QueueName::WebhookEvents],
    photos: &[],
    voter_secret: false,
    ballot_keys: &[],
    unsubscribe_key: false,
    outbound: &[],
    reads_stream: false,
};

/// Read-only: reference data, polls and results; counter ranges and tally shards in the base
/// table; public messages on their index for the open data.
pub const ANALYTICS: Function = Function {
    name: "analytics",
    table: TableUse { items: &[ItemOp::Get], queries: Queries::TableAndIndexes },
    sends: &[],
    photos: &[],
    voter_secret: false,
    ballot_keys: &[],
    unsubscribe_key: false,
    outbound: &[],
    reads_stream: false,
};

/// The delivery pipeline's table use: the notification, its message, the resident's preferences
/// and contact (GetItem), deliveries created, claimed and saved (conditional PutItem), matching
/// subscribers, digest residents and due deliveries on the indexes, a resident's news in their
/// partition.
const DELIVERIES: TableUse = TableUse { items: &[ItemOp::Get, ItemOp::Put], queries: Queries::TableAndIndexes };

/// The deliveries' own items, and a Web Push subscription a push service reports gone, deleted
/// with its count (a transaction of DeleteItem and UpdateItem).
const SENDS_DELIVERIES: TableUse =
    TableUse { items: &[ItemOp::Get, ItemOp::Put, ItemOp::Update, ItemOp::Delete], queries: Queries::TableAndIndexes };

/// The channels besides the portal that residents' deliveries go through on AWS.
const RESIDENTS_CHANNELS: &[Outbound] = &[Outbound::Mail, Outbound::Push, Outbound::Sms];

/// Stores each notification once (a conditional PutItem), plans its deliveries and attempts
/// them at once, each through its channel; what fails is left to `deliver-mail`.
pub const NOTIFY: Function = Function {
    name: "notify",
    table: SENDS_DELIVERIES,
    sends: &[],
    photos: &[],
    voter_secret: false,
    ballot_keys: &[],
    unsubscribe_key: true,
    outbound: RESIDENTS_CHANNELS,
    reads_stream: false,
};

/// Every minute: attempts the deliveries due (retries, the end of quiet hours), and plans the
/// digests of the periods that ended (once per resident and period).
pub const DELIVER_MAIL: Function = Function {
    name: "deliver-mail",
    table: SENDS_DELIVERIES,
    sends: &[],
    photos: &[],
    voter_secret: false,
    ballot_keys: &[],
    unsubscribe_key: true,
    outbound: RESIDENTS_CHANNELS,
    reads_stream: false,
};

/// The ballot transaction checks the poll is open (ConditionCheckItem) and ADDs to the tallies
/// (UpdateItem). A poll with results after the close gets its key pair here: the private key is
/// kept (and destroyed again if the poll cannot be stored), never read; ballots are sealed to the
/// public key in the poll's record. A poll open at once is stored with its `poll.opened` outbox
/// item in one Put-only transaction.
pub const POLLS: Function = Function {
    name: "polls",
    table: TableUse {
        items: &[ItemOp::Get, ItemOp::Put, ItemOp::Update, ItemOp::ConditionCheck],
        queries: Queries::TableAndIndexes,
    },
    sends: &[],
    photos: &[],
    voter_secret: true,
    ballot_keys: &[KeyOp::Keep, KeyOp::Destroy],
    unsubscribe_key: false,
    outbound: &[],
    reads_stream: false,
};

/// Opening and closing write the poll (closing: with its frozen results) and the `poll.opened` or
/// `poll.closed` outbox item in one Put-only transaction; the relay sweep queues the event. For sealed ballots
/// it reads the poll's key, keeps the free-text answers and destroys the sealed ballots
/// (BatchWriteItem) and then the key.
pub const CLOSE_POLLS: Function = Function {
    name: "close-polls",
    table: TableUse { items: &[ItemOp::Get, ItemOp::Put, ItemOp::BatchWrite], queries: Queries::TableAndIndexes },
    sends: &[],
    photos: &[],
    voter_secret: true,
    ballot_keys: &[KeyOp::Read, KeyOp::Destroy],
    unsubscribe_key: false,
    outbound: &[],
    reads_stream: false,
};

/// The region admins' webhook endpoints (one partition, queried) and their delivery log (an
/// index); a redelivery is written whole and queued.
pub const WEBHOOKS: Function = Function {
    name: "webhooks",
    table: TableUse { items: &[ItemOp::Get, ItemOp::Put], queries: Queries::TableAndIndexes },
    sends: &[QueueName::WebhookDeliveries],
    photos: &[],
    voter_secret: false,
    ballot_keys: &[],
    unsubscribe_key: false,
    outbound: &[],
    reads_stream: false,
};

/// The fan-out: lists the endpoints (one Query) and creates each delivery once (a conditional
/// PutItem), then queues it.
pub const PUBLISH_WEBHOOKS: Function = Function {
    name: "publish-webhooks",
    table: TableUse { items: &[ItemOp::Get, ItemOp::Put], queries: Queries::Table },
    sends: &[QueueName::WebhookDeliveries],
    photos: &[],
    voter_secret: false,
    ballot_keys: &[],
    unsubscribe_key: false,
    outbound: &[],
    reads_stream: false,
};

/// One signed attempt per job, to the internet.
pub const DELIVER_WEBHOOKS: Function = Function {
    name: "deliver-webhooks",
    table: TableUse { items: &[ItemOp::Get, ItemOp::Put], queries: Queries::None },
    sends: &[],
    photos: &[],
    voter_secret: false,
    ballot_keys: &[],
    unsubscribe_key: false,
    outbound: &[Outbound::Webhooks],
    reads_stream: false,
};

/// The retry sweep: queries the due-time index and queues the deliveries due.
pub const SWEEP_WEBHOOKS: Function = Function {
    name: "sweep-webhooks",
    table: TableUse { items: &[], queries: Queries::TableAndIndexes },
    sends: &[QueueName::WebhookDeliveries],
    photos: &[],
    voter_secret: false,
    ballot_keys: &[],
    unsubscribe_key: false,
    outbound: &[],
    reads_stream: false,
};

/// Turns off residents' e-mail addresses that SES reports bounced for good or complained of:
/// the pipeline's table use, of which it needs the contacts found by address on an index (Query)
/// and each written turned off (PutItem).
pub const MAIL_EVENTS: Function = Function {
    name: "mail-events",
    table: DELIVERIES,
    sends: &[],
    photos: &[],
    voter_secret: false,
    ballot_keys: &[],
    unsubscribe_key: false,
    outbound: &[],
    reads_stream: false,
};

/// Adds the analytics counters of committed transitions, read from the table's stream: the
/// checkpoints (Query, and Update in the transaction that adds the counters with `ADD`).
pub const COUNT_EVENTS: Function = Function {
    name: "count-events",
    table: TableUse { items: &[ItemOp::Update], queries: Queries::Table },
    sends: &[],
    photos: &[],
    voter_secret: false,
    ballot_keys: &[],
    unsubscribe_key: false,
    outbound: &[],
    reads_stream: true,
};

/// Every function of the stack.
pub const FUNCTIONS: &[Function] = &[
    SUBMIT_MESSAGE,
    ROUTE_MESSAGES,
    HANDLE_MESSAGES,
    NOTIFY,
    ESCALATE_OVERDUE,
    REFERENCE_DATA,
    POLLS,
    ANALYTICS,
    OPEN311,
    CLOSE_POLLS,
    WEBHOOKS,
    PUBLISH_WEBHOOKS,
    DELIVER_WEBHOOKS,
    SWEEP_WEBHOOKS,
    DELIVER_MAIL,
    MAIL_EVENTS,
    COUNT_EVENTS,
];

/// Every queue and its consumer.
pub const CONSUMERS: &[Consumer] = &[
    Consumer {
        queue: QueueName::Submitted,
        function: ROUTE_MESSAGES.name,
        batch_size: BATCH_SIZE,
        max_receive_count: MAX_RECEIVE_COUNT,
        dead_letter_queue: "submitted-dlq",
    },
    Consumer {
        queue: QueueName::Notifications,
        function: NOTIFY.name,
        batch_size: BATCH_SIZE,
        max_receive_count: MAX_RECEIVE_COUNT,
        dead_letter_queue: "notifications-dlq",
    },
    Consumer {
        queue: QueueName::WebhookEvents,
        function: PUBLISH_WEBHOOKS.name,
        batch_size: BATCH_SIZE,
        max_receive_count: MAX_RECEIVE_COUNT,
        dead_letter_queue: "webhook-events-dlq",
    },
    Consumer {
        queue: QueueName::WebhookDeliveries,
        function: DELIVER_WEBHOOKS.name,
        batch_size: BATCH_SIZE,
        max_receive_count: MAX_RECEIVE_COUNT,
        dead_letter_queue: "webhook-deliveries-dlq",
    },
];

/// An SNS topic of the stack and the function subscribed to it, which SNS invokes (asynchronously)
/// with each message published to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicSubscriber {
    /// The topic's name (the stack prefixes it like every queue's).
    pub topic: &'static str,
    pub function: &'static str,
}

/// Every topic a function is subscribed to: the SES configuration set's event destination
/// publishes residents' bounces and complaints to `mail-events`.
pub const TOPICS: &[TopicSubscriber] = &[TopicSubscriber { topic: "mail-events", function: MAIL_EVENTS.name }];

/// Every scheduled function.
pub const SCHEDULES: &[Schedule] = &[
    Schedule { function: CLOSE_POLLS.name, expression: "rate(1 minute)" },
    Schedule { function: ESCALATE_OVERDUE.name, expression: "rate(5 minutes)" },
    Schedule { function: SWEEP_WEBHOOKS.name, expression: "rate(1 minute)" },
    Schedule { function: DELIVER_MAIL.name, expression: "rate(1 minute)" },
    Schedule { function: COUNT_EVENTS.name, expression: "rate(1 minute)" },
];

/// The function of this name.
pub fn function(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_route_consumer_and_schedule_names_a_function() {
        let mut names: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FUNCTIONS.len());
        for r in crate::routes::ROUTES {
            assert!(function(r.function).is_some(), "{}", r.key());
        }
        for p in crate::routes::PROXIES {
            assert!(function(p.function).is_some(), "{}", p.key());
        }
        for c in CONSUMERS {
            assert!(function(c.function).is_some(), "{}", c.function);
        }
        for s in SCHEDULES {
            assert!(function(s.function).is_some(), "{}", s.function);
        }
        for t in TOPICS {
            assert!(function(t.function).is_some(), "{}", t.function);
        }
    }

    #[test]
    fn each_queue_has_one_consumer_and_variables_follow_the_ports() {
        for q in
            [QueueName::Submitted, QueueName::Notifications, QueueName::WebhookEvents, QueueName::WebhookDeliveries]
        {
            assert_eq!(CONSUMERS.iter().filter(|c| c.queue == q).count(), 1, "{}", q.as_str());
        }
        assert_eq!(
            SUBMIT_MESSAGE.variables(),
            [
                "TABLE_NAME",
                "SUBMITTED_QUEUE_URL",
                "NOTIFICATIONS_QUEUE_URL",
                "WEBHOOK_EVENTS_QUEUE_URL",
                "PHOTOS_BUCKET",
                "VOTER_SECRET_PARAM",
                "UNSUBSCRIBE_KEY_PARAM"
            ]
        );
        assert_eq!(CLOSE_POLLS.variables(), ["TABLE_NAME", "VOTER_SECRET_PARAM", "BALLOT_KEYS_PATH"]);
        assert_eq!(
            NOTIFY.variables(),
            [
                "TABLE_NAME",
                "VAPID_KEY_PARAM",
                "VAPID_SUBJECT",
                "MAIL_FROM",
                "SES_IDENTITY",
                "SES_CONFIGURATION_SET",
                "PORTAL_URL",
                "UNSUBSCRIBE_KEY_PARAM"
            ]
        );
        let pusher = Function { outbound: &[Outbound::Push, Outbound::Sms], unsubscribe_key: false, ..NOTIFY };
        assert_eq!(pusher.variables(), ["TABLE_NAME", "VAPID_KEY_PARAM", "VAPID_SUBJECT"]);
        assert_eq!(DELIVER_MAIL.variables(), NOTIFY.variables());
    }

    #[test]
    fn what_sends_or_verifies_unsubscribe_links_reads_their_key() {
        for f in FUNCTIONS {
            if f.outbound.contains(&Outbound::Mail) {
                assert!(f.unsubscribe_key, "{}", f.name);
            }
        }
        for op in [crate::routes::Operation::UnsubscribePage, crate::routes::Operation::UnsubscribeByLink] {
            let f = function(op.route().function).unwrap();
            assert!(f.unsubscribe_key, "{}", f.name);
        }
    }
}
