//! SMS through the real SNS adapter against moto: the text is published to the phone number as
//! a transactional SMS, and moto's record of sent texts (`/moto-api/data.json`, `sns.SMS`) holds
//! exactly that number and text. (That record lists everything moto holds, so these tests run on
//! their own server, `moto::inspect_sdk`.)

use feedback_aws::{SmsError, SnsSms, MAX_SMS_CHARS};
use feedback_core::PhoneNumber;
use feedback_tests::moto;
use serde_json::Value;

async fn sent_texts() -> Vec<Value> {
    moto::inspect_data().await["sns"]["SMS"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_reaches_the_number_it_was_published_to() {
    let conf = moto::inspect_sdk().await;
    let sms = SnsSms::from_conf(&conf, Some("Feedback".into()));
    let number = format!("+7999{:07}", rand::random::<u32>() % 10_000_000);
    let phone = PhoneNumber::parse(&number).unwrap();
    let text = "Ответ на обращение №42 готов: откройте «Мои обращения».";
    sms.send(&phone, text).await.unwrap();

    let texts = sent_texts().await;
    let to_phone: Vec<&Value> = texts.iter().filter(|t| t["phone_number"] == number.as_str()).collect();
    assert_eq!(to_phone.len(), 1, "{texts:?}");
    assert_eq!(to_phone[0]["message"], text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlong_text_is_refused_before_publishing() {
    let conf = moto::inspect_sdk().await;
    let sms = SnsSms::from_conf(&conf, None);
    let number = format!("+7998{:07}", rand::random::<u32>() % 10_000_000);
    let phone = PhoneNumber::parse(&number).unwrap();
    let text = "я".repeat(MAX_SMS_CHARS + 1);
    let refused = sms.send(&phone, &text).await;
    assert_eq!(refused, Err(SmsError::Permanent(format!("text of {} characters", MAX_SMS_CHARS + 1))));
}

/// `notify` as its `main.rs` wires it on Lambda, from its environment: e-mail, Web Push and SMS
/// are its channels, and a resident who chose SMS in a region that sends texts gets the
/// notification as one text through SNS, once, even when the job is planned again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_wired_from_its_environment_texts_a_resident_who_chose_sms() {
    use feedback_core::delivery::{Channel, DeliveryStatus, DeliveryStore};
    use feedback_core::dispatch::{Deliveries, Planner};
    use feedback_core::notification::{Notification, NotificationKind};
    use feedback_core::preferences::{Channels, Digest, Preferences, ReachStore};

    let conf = moto::inspect_sdk().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let table = moto::unique("notify-env");
    feedback_aws::create_table(&ddb, &table).await.unwrap();
    let ssm = aws_sdk_ssm::Client::new(&conf);
    let secure = |name: String, value: String| {
        ssm.put_parameter().name(name).value(value).r#type(aws_sdk_ssm::types::ParameterType::SecureString).send()
    };
    let (unsubscribe, vapid) = (format!("/{table}/unsubscribe-key"), format!("/{table}/vapid-key"));
    secure(unsubscribe.clone(), "notify-env-unsubscribe-key-0123456789".into()).await.unwrap();
    let key = feedback_push::VapidKey::generate().unwrap();
    secure(vapid.clone(), key.to_stored().to_string()).await.unwrap();
    // The only test of this binary that reads the process environment; the function's SDK
    // configuration reaches the inspection server through it too.
    let endpoint = moto::inspect_endpoint();
    for (k, v) in [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("TABLE_NAME", table.as_str()),
        ("VAPID_KEY_PARAM", vapid.as_str()),
        ("VAPID_SUBJECT", "mailto:ops@feedback.example"),
        ("MAIL_FROM", "noreply@feedback.example"),
        ("SES_IDENTITY", "feedback.example"),
        ("SES_CONFIGURATION_SET", "feedback-mail"),
        ("PORTAL_URL", "https://feedback.example"),
        ("UNSUBSCRIBE_KEY_PARAM", unsubscribe.as_str()),
    ] {
        std::env::set_var(k, v);
    }
    let stack = feedback_aws::Stack::from_env(&feedback_lambda::functions::NOTIFY).await.unwrap();
    let (transports, settings) = stack.residents_channels().await.unwrap();
    assert_eq!(settings.channels, [Channel::Email, Channel::Push, Channel::Sms]);
    let deps = stack.deps();
    deps.reference.seed(&feedback_core::testing::sample_region()).await.unwrap();
    let deliveries = Deliveries::new(deps.store.clone(), deps.clock, deps.reference.clone(), settings);
    let sender = notify::Sender::new(deliveries, transports, notify::SEND_TIMEOUT);

    let number = format!("+7997{:07}", rand::random::<u32>() % 10_000_000);
    let resident = feedback_tests::fixtures::actor("sms-alice", "[citizen]", &[("phone_number", number.as_str())]);
    sender.deliveries.remember_contact(&resident).await.unwrap();
    let texts_only = Preferences {
        channels: Channels { email: false, push: false, sms: true },
        digest: Digest::Instant,
        quiet_hours: None,
    };
    deps.store.put_preferences(&resident.id, &texts_only).await.unwrap();
    let n = Notification {
        id: moto::unique("tr"),
        citizen: resident.id.clone(),
        message_id: feedback_core::ids::MessageId::new_at(chrono::Utc::now()),
        kind: NotificationKind::Answered,
        at: chrono::Utc::now(),
        text: "На ваше сообщение ответили.".into(),
        expires_at: None,
        message_number: Some(feedback_core::ids::MessageNumber::parse("72-000042").unwrap()),
        read_at: None,
    };
    let planned = sender.plan(&n).await.unwrap();
    assert_eq!(planned.len(), 1);
    assert!(sender.plan(&n).await.unwrap().is_empty(), "a redelivered job sends nothing again");
    let d = deps.store.get_delivery(&planned[0]).await.unwrap().unwrap();
    assert_eq!((d.channel, d.status, d.attempts), (Channel::Sms, DeliveryStatus::Sent, 1));

    let texts = sent_texts().await;
    let to_phone: Vec<&Value> = texts.iter().filter(|t| t["phone_number"] == number.as_str()).collect();
    assert_eq!(to_phone.len(), 1, "{texts:?}");
    let text = to_phone[0]["message"].as_str().unwrap();
    assert!(text.starts_with("Сообщение № 72-000042") && text.contains("https://feedback.example/messages/"), "{text}");
    assert!(text.chars().count() <= MAX_SMS_CHARS, "{text}");
}
