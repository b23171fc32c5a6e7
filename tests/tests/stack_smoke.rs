//! The deployment smoke test: run by `infra/smoke_moto.py` after it deployed the SAM template
//! into moto's CloudFormation and seeded the region with `feedback seed-region`. It submits a
//! message and routes it through the real adapters against the stack's own table and queues.

use feedback_aws::{sdk_config, DynamoStore, QueueUrls, SqsQueue};
use feedback_core::ports::{QueueName, QueueReceiver};
use feedback_core::service::{Messages, Reference, Routing, SubmitPolicy};
use feedback_core::{Status, SystemClock};
use feedback_tests::fixtures::{citizen, new_message};
use std::sync::Arc;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: infra/smoke_moto.py sets it after deploying the stack"))
}

#[tokio::test]
#[ignore = "needs a deployed stack: run by infra/smoke_moto.py"]
async fn a_message_is_submitted_and_routed_against_the_deployed_stack() {
    let conf = sdk_config().await;
    let store = DynamoStore::from_conf(&conf, env("STACK_TABLE"));
    let urls = QueueUrls {
        submitted: Some(env("STACK_SUBMITTED_QUEUE_URL")),
        notifications: Some(env("STACK_NOTIFICATIONS_QUEUE_URL")),
        ..Default::default()
    };
    let queue = SqsQueue::from_conf(&conf, urls);
    let reference = Arc::new(Reference::new(store.clone(), std::time::Duration::from_secs(60)));
    let region = reference.snapshot().await.expect("seed-region loaded the region into the stack's table");
    assert_eq!(region.value.region.code, "72");
    let messages = Messages::new(store.clone(), queue.clone(), SystemClock, reference.clone(), SubmitPolicy::default());
    let routing = Routing::new(store, queue.clone(), SystemClock, reference);
    let alice = citizen("smoke-alice");
    let sent = messages
        .submit(&alice, new_message("dorogi-yamy", "Яма на дороге у дома 1 по улице Ленина"), None)
        .await
        .unwrap();
    let deliveries = queue.receive(QueueName::Submitted, 10, std::time::Duration::from_secs(30)).await.unwrap();
    assert_eq!(deliveries.len(), 1, "the stack's submitted queue holds the routing job");
    route_messages::route_one(&routing, &deliveries[0].body).await.unwrap();
    queue.ack(QueueName::Submitted, &deliveries[0].receipt).await.unwrap();
    let routed = messages.get(&alice, &sent.message.id).await.unwrap();
    assert_eq!(routed.message.status, Status::Routed);
    assert!(routed.message.authority_id.is_some() && routed.message.deadline.is_some());
    let notified = queue.receive(QueueName::Notifications, 10, std::time::Duration::from_secs(30)).await.unwrap();
    assert_eq!(notified.len(), 1, "the routed notification went to the stack's notifications queue");
}
