//! Webhook endpoints and deliveries on every backend: endpoints in the region's one partition,
//! a delivery created once per (event, endpoint), the due-time query of the retry sweep, an
//! endpoint's delivery log newest first, and disabling an endpoint.

use crate::contract::{Backend, Queue};
use crate::fixtures::at;
use crate::Harness;
use chrono::Duration;
use feedback_core::ids::{PollId, WebhookId};
use feedback_core::participation::PollKind;
use feedback_core::ports::StoreError;
use feedback_core::webhook::{
    AttemptResult, DeliveryStatus, Destinations, Endpoint, Event, EventType, NewEndpoint, PollData, WebhookDelivery,
};

const T0: &str = "2026-11-27T10:00:00+05:00";

fn endpoint(url: &str, at_offset_s: i64) -> Endpoint {
    NewEndpoint { url: url.into(), events: vec!["poll.opened".into(), "message.routed".into()], authority_id: None }
        .validate(Destinations::Public, |_| true, at(T0) + Duration::seconds(at_offset_s))
        .unwrap()
}

fn poll_event(offset_s: i64) -> Event {
    let when = at(T0) + Duration::seconds(offset_s);
    let data = PollData {
        poll_id: PollId::new_at(when),
        kind: PollKind::Vote,
        title: "Благоустройство сквера".into(),
        municipalities: vec![],
        opens_at: when,
        closes_at: when + Duration::days(3),
    };
    Event::about_poll(EventType::PollOpened, data, when)
}

pub async fn endpoints_are_listed_read_and_disabled<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    assert!(h.store.list_endpoints().await.unwrap().is_empty());
    let a = endpoint("https://a.example.org/hook", 0);
    let b = endpoint("https://b.example.org/hook", 1);
    h.store.create_endpoint(&a).await.unwrap();
    h.store.create_endpoint(&b).await.unwrap();
    assert!(matches!(h.store.create_endpoint(&a).await, Err(StoreError::Conflict)));
    let listed = h.store.list_endpoints().await.unwrap();
    assert_eq!(listed, vec![a.clone(), b.clone()]);
    assert_eq!(h.store.get_endpoint(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(h.store.get_endpoint(&WebhookId::new_at(at(T0))).await.unwrap(), None);

    let disabled = Endpoint { enabled: false, disabled_at: Some(at(T0)), ..a.clone() };
    h.store.put_endpoint(&disabled).await.unwrap();
    assert_eq!(h.store.get_endpoint(&a.id).await.unwrap(), Some(disabled));
    let unknown = endpoint("https://c.example.org/hook", 2);
    assert!(matches!(h.store.put_endpoint(&unknown).await, Err(StoreError::Conflict)));
    assert_eq!(h.store.list_endpoints().await.unwrap().len(), 2);
}

pub async fn a_delivery_is_created_once<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let e = endpoint("https://a.example.org/hook", 0);
    h.store.create_endpoint(&e).await.unwrap();
    let event = poll_event(0);
    let first = WebhookDelivery::new(event.clone(), &e.id, at(T0));
    assert!(h.store.create_webhook_delivery(&first).await.unwrap());
    let again = WebhookDelivery::new(event, &e.id, at(T0) + Duration::seconds(5));
    assert_eq!(again.id, first.id, "the id derives from the event and the endpoint");
    assert!(!h.store.create_webhook_delivery(&again).await.unwrap());
    assert_eq!(h.store.get_webhook_delivery(&first.id).await.unwrap(), Some(first));
    assert_eq!(h.store.get_webhook_delivery("msg_unknown").await.unwrap(), None);
}

pub async fn due_deliveries_are_found_by_their_due_time<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let e = endpoint("https://a.example.org/hook", 0);
    h.store.create_endpoint(&e).await.unwrap();
    let early = WebhookDelivery::new(poll_event(0), &e.id, at(T0));
    let late = WebhookDelivery::new(poll_event(1), &e.id, at(T0) + Duration::minutes(10));
    h.store.create_webhook_delivery(&late).await.unwrap();
    h.store.create_webhook_delivery(&early).await.unwrap();
    let ids = |v: Vec<WebhookDelivery>| v.into_iter().map(|d| d.id).collect::<Vec<_>>();

    let first_due = early.next_attempt_at.unwrap();
    assert_eq!(
        ids(h.store.due_webhook_deliveries(first_due - Duration::seconds(1), 10).await.unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(ids(h.store.due_webhook_deliveries(first_due, 10).await.unwrap()), vec![early.id.clone()]);
    let both = ids(h.store.due_webhook_deliveries(at(T0) + Duration::hours(1), 10).await.unwrap());
    assert_eq!(both, vec![early.id.clone(), late.id.clone()]);
    assert_eq!(h.store.due_webhook_deliveries(at(T0) + Duration::hours(1), 1).await.unwrap().len(), 1);

    let failed = early.attempted(AttemptResult::Status { status: 503 }, at(T0));
    h.store.put_webhook_delivery(&failed).await.unwrap();
    let due_again = failed.next_attempt_at.unwrap();
    assert!(ids(h.store.due_webhook_deliveries(due_again - Duration::seconds(1), 10).await.unwrap()).is_empty());
    assert_eq!(ids(h.store.due_webhook_deliveries(due_again, 10).await.unwrap()), vec![early.id.clone()]);

    let delivered = failed.attempted(AttemptResult::Status { status: 200 }, due_again);
    h.store.put_webhook_delivery(&delivered).await.unwrap();
    let later = ids(h.store.due_webhook_deliveries(at(T0) + Duration::days(2), 10).await.unwrap());
    assert_eq!(later, vec![late.id.clone()], "a delivered one is no longer due");
    let stored = h.store.get_webhook_delivery(&early.id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.attempts), (DeliveryStatus::Delivered, 2));
    assert_eq!(stored.last_result, Some(AttemptResult::Status { status: 200 }));
}

pub async fn the_log_lists_an_endpoints_deliveries_newest_first<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let a = endpoint("https://a.example.org/hook", 0);
    let b = endpoint("https://b.example.org/hook", 1);
    h.store.create_endpoint(&a).await.unwrap();
    h.store.create_endpoint(&b).await.unwrap();
    let mut made = Vec::new();
    for i in 0..3 {
        let d = WebhookDelivery::new(poll_event(i * 60), &a.id, at(T0) + Duration::minutes(i));
        h.store.create_webhook_delivery(&d).await.unwrap();
        made.push(d.id);
    }
    h.store.create_webhook_delivery(&WebhookDelivery::new(poll_event(0), &b.id, at(T0))).await.unwrap();
    made.reverse();
    let log: Vec<_> = h.store.list_webhook_deliveries(&a.id, 10).await.unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(log, made);
    assert_eq!(h.store.list_webhook_deliveries(&a.id, 2).await.unwrap().len(), 2);
    assert_eq!(h.store.list_webhook_deliveries(&b.id, 10).await.unwrap().len(), 1);
}

pub async fn the_fan_out_queues_one_delivery_per_wanting_endpoint_on_the_deliveries_queue<S: Backend, Q: Queue>(
    h: &Harness<S, Q>,
) {
    use feedback_core::ports::{Job, QueueName};
    use feedback_core::service::Reference;
    use feedback_core::testing::{sample_region, ManualClock};
    use feedback_core::webhook::Webhooks;
    use std::sync::Arc;
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&sample_region()).await.unwrap();
    let clock = Arc::new(ManualClock::at(T0));
    let webhooks = Webhooks::new(h.store.clone(), h.queue.clone(), clock, reference, Destinations::Public);
    let wants = endpoint("https://a.example.org/hook", 0);
    let other =
        NewEndpoint { url: "https://b.example.org/".into(), events: vec!["poll.closed".into()], authority_id: None }
            .validate(Destinations::Public, |_| true, at(T0))
            .unwrap();
    let disabled = Endpoint { enabled: false, ..endpoint("https://c.example.org/hook", 2) };
    for e in [&wants, &other, &disabled] {
        h.store.create_endpoint(e).await.unwrap();
    }
    let event = poll_event(0);
    assert_eq!(webhooks.fan_out(&event).await.unwrap(), 1);
    assert_eq!(webhooks.fan_out(&event).await.unwrap(), 1, "a repeat re-queues the pending delivery");
    let id = WebhookDelivery::id_for(&event.id, &wants.id);
    assert_eq!(h.store.list_webhook_deliveries(&wants.id, 10).await.unwrap().len(), 1);
    assert!(h.store.list_webhook_deliveries(&other.id, 10).await.unwrap().is_empty());
    let got = h.queue.receive(QueueName::WebhookDeliveries, 10, std::time::Duration::from_secs(30)).await.unwrap();
    assert_eq!(got.len(), 2);
    for d in &got {
        assert_eq!(Job::from_body(&d.body).unwrap(), Job::SendWebhook { delivery_id: id.clone() });
        h.queue.ack(QueueName::WebhookDeliveries, &d.receipt).await.unwrap();
    }
}

/// A webhook transport whose every attempt fails with a 503.
struct Down;

#[async_trait::async_trait]
impl feedback_core::webhook::Transport for Down {
    async fn post(&self, _: &str, _: &[(&'static str, String)], _: &str) -> AttemptResult {
        AttemptResult::Status { status: 503 }
    }
}

pub async fn an_endpoint_failing_for_a_day_is_disabled_and_the_admin_sees_why_and_when<S: Backend, Q: Queue>(
    h: &Harness<S, Q>,
) {
    use feedback_core::service::Reference;
    use feedback_core::testing::{sample_region, ManualClock};
    use feedback_core::webhook::{Attempted, DisabledReason, Webhooks};
    use std::sync::Arc;
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&sample_region()).await.unwrap();
    let clock = Arc::new(ManualClock::at(T0));
    let webhooks = Webhooks::new(h.store.clone(), h.queue.clone(), clock.clone(), reference, Destinations::Public);
    let admin = crate::fixtures::actor("admin", "[admin]", &[]);
    let request = |url: &str| NewEndpoint { url: url.into(), events: vec!["poll.opened".into()], authority_id: None };
    let failing = webhooks.create(&admin, &request("https://down.example.org/hook")).await.unwrap();
    let turned_off = webhooks.create(&admin, &request("https://old.example.org/hook")).await.unwrap();

    let first = poll_event(0);
    webhooks.fan_out(&first).await.unwrap();
    let id = WebhookDelivery::id_for(&first.id, &failing.id);
    assert_eq!(webhooks.deliver(&Down, &id).await.unwrap(), Attempted::WillRetry);
    let seen = webhooks.get(&admin, &failing.id.to_string()).await.unwrap();
    assert_eq!((seen.enabled, seen.failing_since, seen.disabled_reason), (true, Some(at(T0)), None));

    clock.advance(Duration::hours(24));
    let later = poll_event(24 * 3600);
    webhooks.fan_out(&later).await.unwrap();
    webhooks.deliver(&Down, &WebhookDelivery::id_for(&later.id, &failing.id)).await.unwrap();
    let seen = webhooks.get(&admin, &failing.id.to_string()).await.unwrap();
    assert_eq!(
        (seen.enabled, seen.disabled_at, seen.disabled_reason),
        (false, Some(at(T0) + Duration::hours(24)), Some(DisabledReason::Failing)),
        "failing for the whole window disables it, and the admin reads why and when"
    );

    let off = webhooks.disable(&admin, &turned_off.id.to_string()).await.unwrap();
    assert_eq!((off.enabled, off.disabled_reason), (false, Some(DisabledReason::Admin)));
    let again = webhooks.disable(&admin, &failing.id.to_string()).await.unwrap();
    assert_eq!(again.disabled_reason, Some(DisabledReason::Failing), "disabling again keeps the first reason");
}

/// Every case, for the per-backend test files.
#[macro_export]
macro_rules! webhooks_suite {
    ($harness:expr) => {
        $crate::webhooks_suite!(@cases $harness;
            endpoints_are_listed_read_and_disabled,
            a_delivery_is_created_once,
            due_deliveries_are_found_by_their_due_time,
            the_log_lists_an_endpoints_deliveries_newest_first,
            the_fan_out_queues_one_delivery_per_wanting_endpoint_on_the_deliveries_queue,
            an_endpoint_failing_for_a_day_is_disabled_and_the_admin_sees_why_and_when
        );
    };
    (@cases $harness:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (_guard, h) = $harness;
                $crate::webhooks::$case(&h).await;
            }
        )*
    };
}
