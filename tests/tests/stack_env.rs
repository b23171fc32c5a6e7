//! A function's wiring from its environment, as its `main.rs` does it on Lambda: the variables
//! name a table and queues (on moto), `Stack::from_env` builds the adapters, and a submission made
//! through the services it wires is stored and its routing job reaches the queue. The voter-roll
//! secret (for the residents' data export) comes from an SSM parameter on moto, and so do the
//! unsubscribe key and the VAPID key of the Web Push sender.

use feedback_core::ports::{QueueName, QueueReceiver};
use feedback_core::testing::sample_region;
use feedback_tests::fixtures::{citizen, new_message};
use feedback_tests::moto;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_wired_from_its_environment_stores_and_enqueues() {
    let _guard = moto::serial().lock().await;
    let conf = moto::sdk().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let table = moto::unique("stack-env");
    feedback_aws::create_table(&ddb, &table).await.unwrap();
    let submitted = moto::queue_with_dlq(&sqs, "submitted", 5).await;
    let notifications = moto::queue_with_dlq(&sqs, "notifications", 5).await;
    let webhook_events = moto::queue_with_dlq(&sqs, "webhook-events", 5).await;
    let ssm = aws_sdk_ssm::Client::new(&conf);
    let secure = |name: &str, value: &str| {
        ssm.put_parameter().name(name).value(value).r#type(aws_sdk_ssm::types::ParameterType::SecureString).send()
    };
    let secret = format!("/{table}/voter-secret");
    secure(&secret, "stack-env-voter-secret-0123456789").await.unwrap();
    let unsubscribe = format!("/{table}/unsubscribe-key");
    secure(&unsubscribe, "stack-env-unsubscribe-key-0123456789").await.unwrap();
    // The only test of this binary that reads the process environment.
    std::env::set_var("TABLE_NAME", &table);
    std::env::set_var("SUBMITTED_QUEUE_URL", &submitted);
    std::env::set_var("NOTIFICATIONS_QUEUE_URL", &notifications);
    std::env::set_var("WEBHOOK_EVENTS_QUEUE_URL", &webhook_events);
    std::env::set_var("PHOTOS_BUCKET", "feedback-photos-stack-env");
    std::env::set_var("VOTER_SECRET_PARAM", &secret);
    std::env::set_var("UNSUBSCRIBE_KEY_PARAM", &unsubscribe);
    std::env::set_var("SUBMISSIONS_PER_HOUR", "7");

    let stack = feedback_aws::Stack::from_env(&feedback_lambda::functions::SUBMIT_MESSAGE).await.unwrap();
    assert_eq!(stack.settings().submissions_per_hour, 7);
    let queue = stack.queue().unwrap();
    let deps = stack.deps().with_queue(queue.clone());
    deps.reference.seed(&sample_region()).await.unwrap();
    let alice = citizen("alice");
    // Both keys in one round trip, the same as read one by one.
    let (voter_secret, unsubscribe_key) = stack.voter_secret_and_unsubscribe_key().await.unwrap();
    assert_eq!(&*unsubscribe_key, b"stack-env-unsubscribe-key-0123456789");
    assert_eq!(unsubscribe_key, stack.unsubscribe_key().await.unwrap());
    let (poll, voter) = (feedback_core::ids::PollId::new_at(chrono::Utc::now()), alice.id.clone());
    let roll = |s: &feedback_core::participation::VoterSecret| s.voter_hash(&poll, &voter);
    assert_eq!(roll(&voter_secret), roll(&stack.voter_secret().await.unwrap()));
    let services =
        submit_message::services(&deps, stack.photo_blobs().unwrap(), voter_secret, unsubscribe_key, stack.settings());
    let sent = services.messages.submit(&alice, new_message("dorogi-yamy", "Яма у дома 15 на Республики"), None);
    let id = sent.await.unwrap().message.id;
    let stored = services.messages.get(&alice, &id).await.unwrap();
    assert_eq!(stored.message.id, id);
    let got = queue.receive(QueueName::Submitted, 10, std::time::Duration::from_secs(30)).await.unwrap();
    assert_eq!(got.len(), 1, "the routing job reached the submitted queue");
    assert!(got[0].body.contains(&id.to_string()));
    let published = queue.receive(QueueName::WebhookEvents, 10, std::time::Duration::from_secs(30)).await.unwrap();
    assert_eq!(published.len(), 1, "the message.submitted event reached the webhook_events queue");
    assert!(published[0].body.contains("message.submitted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vapid_key_comes_from_a_secure_string_and_a_damaged_one_is_refused() {
    let _guard = moto::serial().lock().await;
    let conf = moto::sdk().await;
    let ssm = aws_sdk_ssm::Client::new(&conf);
    let key = feedback_push::VapidKey::generate().unwrap();
    let put = |name: String, value: String| {
        ssm.put_parameter().name(name).value(value).r#type(aws_sdk_ssm::types::ParameterType::SecureString).send()
    };
    let good = format!("/{}/vapid-key", moto::unique("vapid"));
    put(good.clone(), key.to_stored().to_string()).await.unwrap();
    let read = feedback_aws::vapid_key(&conf, &good).await.unwrap();
    assert_eq!(read.public_key(), key.public_key());
    let damaged = format!("/{}/vapid-key", moto::unique("vapid"));
    put(damaged.clone(), "not-a-key".into()).await.unwrap();
    let err = feedback_aws::vapid_key(&conf, &damaged).await.unwrap_err().to_string();
    assert!(err.contains(&damaged) && !err.contains("not-a-key"), "{err}");
    let missing = format!("/{}/vapid-key", moto::unique("vapid"));
    let err = feedback_aws::vapid_key(&conf, &missing).await.unwrap_err().to_string();
    assert!(err.contains(&missing) && err.contains("VAPID key"), "{err}");
}
