//! The port contract on DynamoDB and SQS, through the real SDK against moto server. The cases
//! run one at a time: moto is not safe for concurrent transactions.

use feedback_tests::{moto, Harness};

const MAX_RECEIVES: u32 = 3;

macro_rules! harness {
    () => {{
        let guard = moto::serial().lock().await;
        let (store, queue) = moto::backend(MAX_RECEIVES).await;
        (guard, Harness { store, queue, max_receives: MAX_RECEIVES })
    }};
}

feedback_tests::contract_suite!(harness!());

mod workflow {
    use super::*;
    feedback_tests::workflow_suite!(harness!());

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_poison_message_dead_letters_while_its_batch_is_processed() {
        let (_guard, h) = harness!();
        feedback_tests::workflow::a_poison_message_dead_letters_while_its_batch_is_processed(
            &h,
            async |q: &feedback_aws::SqsQueue, body| {
                q.send_raw(feedback_core::ports::QueueName::Submitted, body).await.unwrap()
            },
        )
        .await;
    }
}

mod analytics {
    use super::*;
    feedback_tests::analytics_suite!(harness!());
}

mod polls {
    use super::*;
    feedback_tests::polls_suite!(harness!());

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sharded_tally_sums_exactly_for_two_hundred_voters() {
        let (_guard, h) = harness!();
        feedback_tests::polls::the_tally_sums_exactly(&h, 200).await;
    }
}

mod open311 {
    use super::*;
    feedback_tests::open311_suite!(harness!());
}

mod rights {
    use super::*;
    feedback_tests::rights_suite!(harness!());
}

mod reach {
    use super::*;
    feedback_tests::reach_suite!(harness!());
}

mod delivery {
    use super::*;
    feedback_tests::delivery_suite!(sequential harness!());
}

mod webhooks {
    use super::*;
    feedback_tests::webhooks_suite!(harness!());
}

/// DynamoDB expires idempotency records and notifications by their TTL attribute, written from
/// the `expires_at` the region's retention gave them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_is_written_as_the_items_ttl() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use chrono::Duration;
    use feedback_core::notification::{Notification, NotificationKind};
    use feedback_core::ports::{IdempotencyRecord, NewRecord, NotificationStore};
    use feedback_core::values::IdempotencyKey;
    use feedback_core::MessageStore;
    let (_guard, h) = harness!();
    let (m, e) =
        feedback_tests::fixtures::submitted("alice", feedback_tests::fixtures::at("2026-11-27T12:00:00+05:00"));
    let expires = m.created_at + Duration::hours(36);
    let record = IdempotencyRecord {
        citizen: m.author.clone(),
        key: IdempotencyKey::parse("ttl-key").unwrap(),
        request_hash: "h".into(),
        response: m.clone(),
        created_at: m.created_at,
        expires_at: Some(expires),
    };
    h.store.create_message(&NewRecord::new(m.clone(), e), Some(&record), &[], None).await.unwrap();
    let notification = Notification {
        id: format!("{}:000002", m.id),
        citizen: m.author.clone(),
        message_id: m.id,
        kind: NotificationKind::Routed,
        at: m.created_at,
        text: "Ваше сообщение направлено".into(),
        expires_at: Some(m.created_at + Duration::days(365)),
    };
    assert!(h.store.put_notification(&notification).await.unwrap());
    let items = h.store.client().scan().table_name(h.store.table()).send().await.unwrap();
    let ttl_of = |sk_prefix: &str| -> i64 {
        let item = items
            .items()
            .iter()
            .find(|i| i.get("SK").and_then(|v| v.as_s().ok()).is_some_and(|s| s.starts_with(sk_prefix)))
            .unwrap_or_else(|| panic!("no item with SK {sk_prefix}…"));
        match item.get("ttl") {
            Some(AttributeValue::N(n)) => n.parse().unwrap(),
            other => panic!("{sk_prefix}: ttl is {other:?}"),
        }
    };
    assert_eq!(ttl_of("IDEM"), expires.timestamp());
    assert_eq!(ttl_of("NOTIF#"), (m.created_at + Duration::days(365)).timestamp());
}
