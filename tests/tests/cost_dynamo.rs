//! What one message's whole lifecycle, one ballot and one webhook delivery ask of DynamoDB and
//! SQS, counted by an SDK interceptor against moto. The counts are exact and pinned here; docs/cost.md prices them.
//! Run with `--nocapture` to see the table.

use feedback_aws::{create_table, CounterStream, Counting, DynamoStore, QueueUrls, SqsQueue};
use feedback_core::participation::{Participation, ResultsVisibility};
use feedback_core::ports::{QueueName, QueueReceiver};
use feedback_core::service::Reference;
use feedback_core::testing::sample_region;
use feedback_core::values::{IdempotencyKey, MessageText};
use feedback_core::webhook::{AttemptResult, Destinations, NewEndpoint, Transport, WebhookStore, Webhooks};
use feedback_core::Clock;
use feedback_tests::cost::{Meter, Usage};
use feedback_tests::fixtures::{citizen, new_message};
use feedback_tests::polls::{admin, choose, resident, vote_input};
use feedback_tests::workflow::{official, stack, Stack};
use feedback_tests::{moto, Harness};
use std::sync::Arc;

async fn metered() -> (Harness<DynamoStore, SqsQueue>, Meter) {
    let (h, meter, _) = metered_counting(Counting::Stream).await;
    (h, meter)
}

/// A metered backend counting where `counting` says, and its stream's consumer, metered too.
async fn metered_counting(counting: Counting) -> (Harness<DynamoStore, SqsQueue>, Meter, CounterStream) {
    let conf = moto::sdk().await;
    let meter = Meter::default();
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&conf).interceptor(meter.clone()).build(),
    );
    let sqs =
        aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(&conf).interceptor(meter.clone()).build());
    let table = moto::unique("cost");
    create_table(&ddb, &table).await.expect("table");
    let submitted = moto::queue_with_dlq(&sqs, "submitted", 5).await;
    let notifications = moto::queue_with_dlq(&sqs, "notifications", 5).await;
    let webhook_events = moto::queue_with_dlq(&sqs, "webhook-events", 5).await;
    let webhook_deliveries = moto::queue_with_dlq(&sqs, "webhook-deliveries", 5).await;
    let urls = QueueUrls {
        submitted: Some(submitted),
        notifications: Some(notifications),
        webhook_events: Some(webhook_events),
        webhook_deliveries: Some(webhook_deliveries),
    };
    let queue = SqsQueue::new(sqs, urls);
    let store = DynamoStore::new(ddb, table).with_counting(counting);
    let streams = aws_sdk_dynamodbstreams::Client::from_conf(
        aws_sdk_dynamodbstreams::config::Builder::from(&conf).interceptor(meter.clone()).build(),
    );
    let consumer = CounterStream::new(&store, &conf).with_streams_client(streams);
    (Harness { store, queue, max_receives: 5 }, meter, consumer)
}

/// One counting pass, as `count-events` makes it, metered on its own.
async fn count(consumer: &CounterStream, meter: &Meter) -> (feedback_aws::Pass, Usage) {
    let pass = consumer.pass(chrono::Utc::now()).await.unwrap();
    (pass, meter.take())
}

/// One consumer invocation: a batch received, handled and deleted, as the Lambda poller does.
async fn consume(s: &Stack<DynamoStore, SqsQueue>, q: QueueName) -> usize {
    let batch = s.queue.receive(q, 10, std::time::Duration::from_secs(30)).await.unwrap();
    for d in &batch {
        match q {
            QueueName::Submitted => route_messages::route_one(&s.routing, &d.body).await.unwrap(),
            QueueName::Notifications => notify::deliver_one(&s.notifications, &d.body).await.unwrap(),
            QueueName::WebhookEvents | QueueName::WebhookDeliveries => {}
        }
        s.queue.ack(q, &d.receipt).await.unwrap();
    }
    batch.len()
}

fn row(name: &str, u: &Usage) {
    println!(
        "| {name} | {} | {:.0} | {:.0} | {:.1} | {} | {:?} |",
        u.dynamodb_requests(),
        u.table_wru,
        u.index_wru,
        u.rru,
        u.sqs_requests(),
        u.transaction_items
    );
}

fn count_row(after: &str, pass: &feedback_aws::Pass, u: &Usage) {
    println!(
        "| count (system), after {after} | {} | {:.0} | {:.0} | {:.1} | {} streams | {:?} |",
        u.dynamodb_requests(),
        u.table_wru,
        u.index_wru,
        u.rru,
        u.stream_requests(),
        u.transaction_items
    );
    assert_eq!(pass.entries, 1, "one history entry counted after {after}: {pass:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_lifecycle_and_one_ballot_cost_what_the_model_says() {
    let _guard = moto::serial().lock().await;
    let (h, meter, consumer) = metered_counting(Counting::Stream).await;
    let s = stack(&h).await;
    let alice = citizen("alice");
    let upravdor = official("o-1", "tyumen-upravdor");
    // Warm: the reference data is loaded once per warm function, not per request.
    s.messages.reference().snapshot().await.unwrap();
    // Likewise the block of message numbers, reserved once per 100 submissions per process.
    let warm = s.messages.number_pool().next(s.messages.store(), "72").await.unwrap();
    s.messages.number_pool().give_back(&warm);
    let reserve = meter.take();
    assert_eq!(reserve.count("dynamodb:UpdateItem"), 1, "one ADD on the counter item per block: {reserve:?}");
    // And the counting consumer's first look at the stream (the reference data's own records).
    consumer.pass(chrono::Utc::now()).await.unwrap();
    meter.take();
    println!("| step | DynamoDB requests | table WRU | index WRU | RRU | SQS requests | transaction items |");
    println!("|---|---|---|---|---|---|---|");

    let key = IdempotencyKey::parse("lifecycle-1").unwrap();
    let input = new_message("dorogi-yamy", "Яма на Республики у дома 15");
    let id = s.messages.submit(&alice, input, Some(key)).await.unwrap().message.id;
    let submit = meter.take();
    row("submit (citizen)", &submit);
    assert_eq!(submit.count("dynamodb:TransactWriteItems"), 1, "{submit:?}");
    assert_eq!(submit.count("sqs:SendMessage"), 2, "the routing job and the published event");
    assert_eq!(
        submit.transaction_items.get("Put"),
        Some(&6),
        "message, history, number look-up, idempotency record, outbox items: routing and the published event"
    );
    assert_eq!(submit.transaction_items.get("Update"), Some(&1), "the hourly quota; no counter item");
    assert_eq!(submit.count("dynamodb:DeleteItem"), 2, "the outbox items, once their jobs are on SQS");
    let (pass, counted) = count(&consumer, &meter).await;
    count_row("submit", &pass, &counted);
    let mut counting = vec![counted];

    assert_eq!(consume(&s, QueueName::Submitted).await, 1);
    let route = meter.take();
    row("route (system)", &route);
    assert_eq!(route.count("dynamodb:TransactWriteItems"), 1);
    assert_eq!(route.transaction_items.get("Update"), None, "no counter item in the transaction");
    assert_eq!(
        route.transaction_items.get("Put"),
        Some(&4),
        "message, history, the notification's and the published event's outbox items"
    );
    assert_eq!((route.count("sqs:SendMessage"), route.count("dynamodb:DeleteItem")), (2, 2));
    let (pass, counted) = count(&consumer, &meter).await;
    count_row("route", &pass, &counted);
    counting.push(counted);
    assert_eq!(consume(&s, QueueName::Notifications).await, 1);
    let notify = meter.take();
    row("notify (system)", &notify);
    assert_eq!((notify.count("dynamodb:PutItem"), notify.count("sqs:DeleteMessage")), (1, 1));

    s.workflow.take(&upravdor, &id).await.unwrap();
    let take = meter.take();
    row("take (official)", &take);
    let (pass, counted) = count(&consumer, &meter).await;
    count_row("take", &pass, &counted);
    counting.push(counted);
    consume(&s, QueueName::Notifications).await;
    meter.take();
    s.workflow.answer(&upravdor, &id, MessageText::parse("Яма заделана холодным асфальтом").unwrap()).await.unwrap();
    let answer = meter.take();
    row("answer (official)", &answer);
    let (pass, counted) = count(&consumer, &meter).await;
    count_row("answer", &pass, &counted);
    counting.push(counted);
    consume(&s, QueueName::Notifications).await;
    meter.take();
    s.workflow.rate(&alice, &id, 5, None, false).await.unwrap();
    let rate = meter.take();
    row("rate 5 and close (citizen)", &rate);
    let (pass, counted) = count(&consumer, &meter).await;
    count_row("rate", &pass, &counted);
    counting.push(counted);
    consume(&s, QueueName::Notifications).await;
    let last_notify = meter.take();
    for u in [&take, &answer, &rate] {
        assert_eq!(u.count("dynamodb:TransactWriteItems"), 1, "one transaction per transition: {u:?}");
        assert_eq!(u.transaction_items.get("Update"), None, "no counter item in the transaction: {u:?}");
        assert_eq!(u.count("sqs:SendMessage"), 2, "one notification and one published event per transition");
        assert_eq!(u.count("dynamodb:DeleteItem"), 2, "their outbox items, once relayed");
    }
    assert_eq!(last_notify.count("dynamodb:PutItem"), 1);
    for u in &counting {
        // the checkpoints' Query; the run's claim (PutItem), its checkpoint read again (GetItem),
        // one plain UpdateItem per counter item, the checkpoint moved, the claim released
        // (DeleteItem); and the shard marked read to its end (UpdateItem). No transaction.
        assert_eq!(u.count("dynamodb:Query"), 1, "{u:?}");
        assert_eq!(u.count("dynamodb:TransactWriteItems"), 0, "{u:?}");
        assert_eq!(
            (u.count("dynamodb:PutItem"), u.count("dynamodb:GetItem"), u.count("dynamodb:DeleteItem")),
            (1, 1, 1)
        );
        assert_eq!(u.table_wru, (u.count("dynamodb:UpdateItem") + 2) as f64, "one unit per counter item: {u:?}");
    }
    feedback_tests::analytics::assert_reconciled(&h.store).await;

    // One ballot in an open vote.
    let secret = feedback_core::testing::poll_secrets(b"cost-test-secret-0123456789");
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&sample_region()).await.unwrap();
    let participation = Participation::new(h.store.clone(), s.clock.clone(), reference, secret, 5);
    let now = s.clock.now();
    let input =
        vote_input(now - chrono::Duration::minutes(1), now + chrono::Duration::days(7), ResultsVisibility::AfterClose);
    let poll = participation.create(&admin(), input).await.unwrap();
    participation.get(&resident("warm", "tyumen", "1990-01-01"), &poll.id).await.unwrap();
    meter.take();
    participation.vote(&resident("voter-1", "tyumen", "1990-01-01"), &poll.id, choose(1)).await.unwrap();
    let ballot = meter.take();
    row("ballot (citizen)", &ballot);
    assert_eq!(ballot.count("dynamodb:TransactWriteItems"), 1, "{ballot:?}");
    assert_eq!(ballot.sqs_requests(), 0);
}

/// Many lifecycles counted together, as at a busy region's rate: the counter writes per
/// transition when a pass merges what a minute brought, against the same activity counted in
/// each transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_counting_writes_fewer_units_than_counting_in_each_transaction() {
    let _guard = moto::serial().lock().await;
    let mut wru = Vec::new();
    for counting in [Counting::InTransaction, Counting::Stream] {
        let (h, meter, consumer) = metered_counting(counting).await;
        let s = stack(&h).await;
        let upravdor = official("o-1", "tyumen-upravdor");
        s.messages.reference().snapshot().await.unwrap();
        consumer.pass(chrono::Utc::now()).await.unwrap();
        meter.take();
        let answer = MessageText::parse("Яма заделана холодным асфальтом").unwrap();
        let mut ids = Vec::new();
        for i in 0..12 {
            let who = citizen(&format!("resident-{i}"));
            let text = format!("Яма у дома {} по улице Республики", i + 1);
            ids.push((
                who.clone(),
                s.messages.submit(&who, new_message("dorogi-yamy", &text), None).await.unwrap().message.id,
            ));
        }
        while consume(&s, QueueName::Submitted).await > 0 {}
        for (who, id) in &ids {
            s.workflow.take(&upravdor, id).await.unwrap();
            s.workflow.answer(&upravdor, id, answer.clone()).await.unwrap();
            s.workflow.rate(who, id, 5, None, false).await.unwrap();
        }
        let transitions = ids.len() as f64 * 5.0;
        let activity = meter.take();
        let pass = consumer.pass(chrono::Utc::now()).await.unwrap();
        let counted = meter.take();
        if counting == Counting::Stream {
            assert_eq!(pass.entries as f64, transitions);
        }
        feedback_tests::analytics::assert_reconciled(&h.store).await;
        let total = activity.table_wru + counted.table_wru;
        println!(
            "{counting:?}: {:.1} table WRU per transition ({:.1} in the transitions, {:.1} by the pass: {} runs, {} counter writes)",
            total / transitions,
            activity.table_wru / transitions,
            counted.table_wru / transitions,
            pass.runs,
            pass.counter_writes
        );
        wru.push(total / transitions);
    }
    assert!(wru[1] < wru[0] * 0.6, "merged counting costs {:.1} WRU per transition against {:.1}", wru[1], wru[0]);
}

/// A receiver that takes every attempt: the cost counted is the platform's own.
struct Accepting;

#[async_trait::async_trait]
impl Transport for Accepting {
    async fn post(&self, _url: &str, _headers: &[(&'static str, String)], _body: &str) -> AttemptResult {
        AttemptResult::Status { status: 204 }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_webhook_delivery_costs_what_the_model_says() {
    let _guard = moto::serial().lock().await;
    let (h, meter) = metered().await;
    let s = stack(&h).await;
    let webhooks = Webhooks::new(
        h.store.clone(),
        h.queue.clone(),
        s.clock.clone(),
        s.messages.reference().clone(),
        Destinations::Public,
    );
    let endpoint = NewEndpoint {
        url: "https://hooks.example.org/feedback".into(),
        events: vec!["message.routed".into()],
        authority_id: None,
    }
    .validate(Destinations::Public, |_| true, s.clock.now())
    .unwrap();
    h.store.create_endpoint(&endpoint).await.unwrap();
    let id = s
        .messages
        .submit(&citizen("alice"), new_message("dorogi-yamy", "Яма у дома 15"), None)
        .await
        .unwrap()
        .message
        .id;
    assert_eq!(consume(&s, QueueName::Submitted).await, 1);
    // the submitted event, which the endpoint does not want, is consumed unmetered
    let first = h.queue.receive(QueueName::WebhookEvents, 10, std::time::Duration::from_secs(30)).await.unwrap();
    assert_eq!(first.len(), 2, "message.submitted and message.routed of {id}");
    let (wanted, other): (Vec<_>, Vec<_>) = first.iter().partition(|d| d.body.contains("message.routed"));
    for d in other {
        h.queue.ack(QueueName::WebhookEvents, &d.receipt).await.unwrap();
    }
    meter.take();
    println!("| step | DynamoDB requests | table WRU | index WRU | RRU | SQS requests | transaction items |");
    println!("|---|---|---|---|---|---|---|");

    // publish-webhooks: the event fanned out to the one endpoint that wants it
    for d in &wanted {
        webhooks::publish_one(&webhooks, &d.body).await.unwrap();
        h.queue.ack(QueueName::WebhookEvents, &d.receipt).await.unwrap();
    }
    let fan_out = meter.take();
    row("fan-out of one event to one endpoint", &fan_out);
    assert_eq!(fan_out.count("dynamodb:Query"), 1, "the region's endpoints: {fan_out:?}");
    assert_eq!(fan_out.count("dynamodb:PutItem"), 1, "the delivery, created once");
    assert_eq!((fan_out.count("sqs:SendMessage"), fan_out.count("sqs:DeleteMessage")), (1, 1));

    // deliver-webhooks: one attempt, answered 2xx
    let batch = h.queue.receive(QueueName::WebhookDeliveries, 10, std::time::Duration::from_secs(30)).await.unwrap();
    assert_eq!(batch.len(), 1);
    for d in &batch {
        webhooks::deliver_one(&webhooks, &Accepting, &d.body).await.unwrap();
        h.queue.ack(QueueName::WebhookDeliveries, &d.receipt).await.unwrap();
    }
    let deliver = meter.take();
    row("one delivered attempt", &deliver);
    assert_eq!(deliver.count("dynamodb:GetItem"), 2, "the delivery and its endpoint: {deliver:?}");
    assert_eq!(deliver.count("dynamodb:PutItem"), 1, "the delivery, delivered");
    assert_eq!((deliver.count("sqs:ReceiveMessage"), deliver.count("sqs:DeleteMessage")), (1, 1));
}

/// What the reach, the public map, open data and retention ask of DynamoDB, each metered on
/// its own: one e-mail planned and sent by `notify`, one cluster read of the city, the open-data
/// build over the public messages, and the retention run pseudonymising one closed message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reach_map_open_data_and_retention_cost_what_the_model_says() {
    use feedback_core::delivery::Channel;
    use feedback_core::dispatch::Planner;
    use feedback_core::geo::BBox;
    use feedback_core::notification::NotificationKind;
    use feedback_core::public::{ClusterQuery, PublicMap};
    use feedback_core::testing::ManualClock;
    use feedback_core::values::Location;
    use feedback_tests::delivery::{note, pipeline_on, resident as with_email, Recorder};
    let _guard = moto::serial().lock().await;
    let (h, meter, consumer) = metered_counting(Counting::Stream).await;
    let s = stack(&h).await;
    s.messages.reference().snapshot().await.unwrap();
    println!("| what | DynamoDB requests | table WRU | index WRU | RRU | SQS requests | transaction items |");
    println!("|---|---|---|---|---|---|---|");

    // One e-mail: planned for the author and sent in the invocation that planned it.
    let (deliveries, _) = pipeline_on(&h, vec![Channel::Email], sample_region()).await;
    deliveries.reference().snapshot().await.unwrap();
    deliveries.remember_contact(&with_email("alice")).await.unwrap();
    let mail = Arc::new(Recorder::on(Channel::Email));
    let sender = notify::Sender::new(deliveries, vec![mail.clone()], std::time::Duration::from_secs(10));
    meter.take();
    let planned = sender.plan(&note("alice", "tr-cost", NotificationKind::Answered)).await.unwrap();
    let email = meter.take();
    row("one e-mail planned and sent (notify)", &email);
    assert_eq!((planned.len(), mail.sent.lock().unwrap().len()), (1, 1));

    // Twenty public, located messages routed and counted; then one read of the city's clusters.
    let alice = citizen("alice");
    for i in 0..20 {
        let mut input = new_message("dorogi-yamy", &format!("Яма у дома {} по улице Республики", i + 1));
        input.public = true;
        input.location = Some(Location::new(57.153 + f64::from(i) * 0.002, 65.534 + f64::from(i) * 0.003).unwrap());
        s.messages.submit(&alice, input, None).await.unwrap();
    }
    while consume(&s, QueueName::Submitted).await > 0 {}
    consumer.pass(chrono::Utc::now()).await.unwrap();
    let map = PublicMap::new(h.store.clone(), s.clock.clone(), s.messages.reference().clone());
    meter.take();
    let query =
        ClusterQuery { bbox: BBox::parse("65.40,57.05,65.70,57.25").unwrap(), zoom: 12, category: None, status: None };
    let clusters = map.clusters(&query).await.unwrap();
    let read = meter.take();
    row("the city's clusters at zoom 12 (one uncached read)", &read);
    assert_eq!(clusters.clusters.iter().map(|c| c.count).sum::<u64>(), 20);
    assert_eq!(read.table_wru + read.index_wru, 0.0, "a read writes nothing");

    // Open data over those twenty public messages.
    let open =
        feedback_core::open_data::OpenData::new(h.store.clone(), s.clock.clone(), s.messages.reference().clone());
    let (dataset, _) = open.build().await.unwrap();
    let built = meter.take();
    row("open data built over 20 public messages", &built);
    assert_eq!(dataset.rows.len(), 20);

    // Retention: one message answered and closed, past the five years its author link is kept.
    let upravdor = official("o-1", "tyumen-upravdor");
    let bob = citizen("bob");
    let id = s.messages.submit(&bob, new_message("dorogi-yamy", "Яма у подъезда на Ленина, 3"), None).await;
    let id = id.unwrap().message.id;
    while consume(&s, QueueName::Submitted).await > 0 {}
    s.workflow.answer(&upravdor, &id, MessageText::parse("Яма заделана").unwrap()).await.unwrap();
    s.workflow.rate(&bob, &id, 5, None, false).await.unwrap();
    let later = Arc::new(ManualClock::at("2032-06-01T12:00:00+05:00"));
    let pruning = feedback_core::retention::Pruning::new(h.store.clone(), later, s.messages.reference().clone());
    meter.take();
    let pruned = pruning.run().await.unwrap();
    let retention = meter.take();
    row("retention: one closed message pseudonymised", &retention);
    assert_eq!(pruned.pseudonymised, 1);
}
