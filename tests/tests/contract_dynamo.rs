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

mod templates {
    use super::*;
    feedback_tests::templates_suite!(harness!());
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
        message_number: None,
        kind: NotificationKind::Routed,
        at: m.created_at,
        text: "Ваше сообщение направлено".into(),
        expires_at: Some(m.created_at + Duration::days(365)),
        read_at: None,
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

/// The SES transport sends the MIME message of `feedback-mail` raw, with the configuration set:
/// moto keeps what it was given, unsubscribe headers included; a sender SES does not know is
/// refused without turning the address off. On the inspection server (`moto::inspect_sdk`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_sends_the_mime_message_raw_with_the_unsubscribe_headers() {
    use feedback_core::delivery::{Address, Outgoing, SendError, Transport};
    let _guard = feedback_tests::moto::serial().lock().await;
    let conf = feedback_tests::moto::inspect_sdk().await;
    let ses = aws_sdk_sesv2::Client::new(&conf);
    let domain = format!("{}.example.ru", feedback_tests::moto::unique("portal"));
    ses.create_email_identity().email_identity(&domain).send().await.unwrap();
    let set = feedback_tests::moto::unique("mail");
    ses.create_configuration_set().configuration_set_name(&set).send().await.unwrap();
    let from = feedback_mail::Sender::parse(&format!("Портал <noreply@{domain}>")).unwrap();
    let mail = feedback_aws::SesMail::from_conf(&conf, from, Some(set));
    let token = feedback_tests::moto::unique("token");
    let content = Outgoing {
        subject: "Сообщение № 01J: Дан ответ".into(),
        text: "Новый статус: Дан ответ".into(),
        html: "<p>Новый статус: <b>Дан ответ</b></p>".into(),
        link: "https://portal.example/messages/01J".into(),
        unsubscribe_url: Some(format!("https://api.example/v1/unsubscribe?token={token}")),
    };
    mail.send(&Address::new("alice@example.ru"), &content).await.unwrap();

    let data = feedback_tests::moto::inspect_data().await;
    let raws = data["ses"]["RawMessage"].to_string();
    let raw = data["ses"]["RawMessage"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["raw_data"].as_str().map(str::to_owned))
        .find(|raw| raw.contains(&token))
        .unwrap_or_else(|| panic!("no raw message with the token in {raws}"));
    assert!(raw.contains(&format!("List-Unsubscribe: <https://api.example/v1/unsubscribe?token={token}>")), "{raw}");
    assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{raw}");
    assert!(raw.contains("multipart/alternative"), "{raw}");

    let stranger = feedback_mail::Sender::parse("noreply@unverified.example.org").unwrap();
    let refused = feedback_aws::SesMail::from_conf(&conf, stranger, None)
        .send(&Address::new("bob@example.ru"), &content)
        .await
        .unwrap_err();
    assert!(matches!(refused, SendError::Permanent(_)), "{refused:?}");
}

mod public {
    use super::*;
    feedback_tests::public_suite!(harness!());
}

/// Racing pools, each reserving its block with one atomic `ADD` on the counter item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_numbers_are_unique_under_concurrency() {
    let (_guard, h) = harness!();
    feedback_tests::contract::message_numbers_are_unique_under_concurrency(&h).await;
}
