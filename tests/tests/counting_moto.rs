//! Counting after commit on moto: the history entries are read from the table's stream by the
//! real consumer (`feedback_aws::CounterStream`), delivered twice, stopped halfway, raced and
//! repaired; afterwards the counters equal a recount from the history.

use feedback_aws::{CounterStream, DynamoStore};
use feedback_core::analytics::{reconcile, recount};
use feedback_core::values::MessageText;
use feedback_core::workflow::RejectReason;
use feedback_tests::fixtures::citizen;
use feedback_tests::workflow::{moderator, official, stack};
use feedback_tests::{moto, Harness};

/// Messages through submission, routing, taking, an answer, a rating and a rejection, written
/// with no counter item in their transactions.
async fn activity(h: &Harness<DynamoStore, feedback_aws::SqsQueue>) {
    let s = stack(h).await;
    let upravdor = official("o-1", "tyumen-upravdor");
    let mut ids = Vec::new();
    for (i, who) in ["alice", "bob", "carol", "dave"].iter().enumerate() {
        let text = format!("Яма у дома {} по улице Ленина, глубокая", i + 1);
        ids.push((citizen(who), s.submit(&citizen(who), "dorogi-yamy", &text, None).await));
    }
    s.drain().await;
    let answer = MessageText::parse("Яма заделана холодным асфальтом").unwrap();
    for (who, id) in &ids[..2] {
        s.workflow.take(&upravdor, id).await.unwrap();
        s.workflow.answer(&upravdor, id, answer.clone()).await.unwrap();
        s.workflow.rate(who, id, 5, None, false).await.unwrap();
    }
    s.workflow.reject(&moderator("m-1"), &ids[3].1, RejectReason::Duplicate, None).await.unwrap();
    s.drain().await;
}

async fn backend() -> (tokio::sync::MutexGuard<'static, ()>, Harness<DynamoStore, feedback_aws::SqsQueue>, DynamoStore)
{
    let guard = moto::serial().lock().await;
    let (store, queue) = moto::backend(3).await;
    let conf = moto::sdk().await;
    // The same table without the catch-up pass before reads: what the consumer alone wrote.
    let raw = DynamoStore::from_conf(&conf, store.table());
    (guard, Harness { store: raw.clone(), queue, max_receives: 3 }, raw)
}

async fn differences(store: &DynamoStore) -> usize {
    reconcile(store, &|_| {}).await.unwrap().differences.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_delivered_twice_counts_once() {
    let (_guard, h, raw) = backend().await;
    activity(&h).await;
    assert!(differences(&raw).await > 0, "nothing is counted before the consumer runs");
    let consumer = CounterStream::new(&raw, &moto::sdk().await);
    let shards = consumer.read_all().await.unwrap();
    let total: usize = shards.iter().map(|(_, r)| r.len()).sum();
    assert!(total > 20, "the stream holds the activity's writes ({total})");
    let now = chrono::Utc::now();
    let mut entries = 0;
    for (shard, records) in &shards {
        // each record handed over twice in a row, then the whole shard again
        let doubled: Vec<_> = records.iter().flat_map(|r| [r.clone(), r.clone()]).collect();
        let first = consumer.apply_records(shard, &doubled, now).await.unwrap();
        assert_eq!(first.skipped as usize, records.len(), "every second copy is skipped");
        entries += first.entries;
        let again = consumer.apply_records(shard, records, now).await.unwrap();
        assert_eq!((again.entries, again.skipped as usize), (0, records.len()), "a redelivered shard adds nothing");
    }
    // 4 submissions, 4 routings, 2 × (take, answer, close), 1 rejection
    assert_eq!(entries, 4 + 4 + 6 + 1);
    assert_eq!(differences(&raw).await, 0);
    // a pass after that finds nothing new
    let pass = consumer.pass(chrono::Utc::now()).await.unwrap();
    assert_eq!(pass.entries, 0);
    assert_eq!(differences(&raw).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_that_stops_halfway_is_finished_by_the_next_without_counting_twice() {
    let (_guard, h, raw) = backend().await;
    activity(&h).await;
    let conf = moto::sdk().await;
    // The activity's entries merge into one run of more than 25 counter items; the pass stops
    // after 25 of them, as a crash would, leaving its claim.
    let lease = std::time::Duration::from_secs(2);
    let failing = CounterStream::new(&raw, &conf).failing_after(25).with_lease(lease);
    assert!(failing.pass(chrono::Utc::now()).await.is_err());
    let partial = differences(&raw).await;
    assert!(partial > 0, "half the entries are not yet counted");
    // While the lease holds, another pass leaves the claim alone and counts nothing.
    let next = CounterStream::new(&raw, &conf).counters_per_run(10);
    let waiting = next.pass(chrono::Utc::now()).await.unwrap();
    assert_eq!((waiting.runs, waiting.counter_writes), (0, 0), "{waiting:?}");
    assert_eq!(differences(&raw).await, partial);
    // Once it has run out, the next pass finishes the stopped run, adding only to the items it
    // had not reached.
    tokio::time::sleep(lease).await;
    let recovering = next.pass(chrono::Utc::now()).await.unwrap();
    assert_eq!(recovering.recovered, 1, "{recovering:?}");
    assert_eq!(recovering.already_added, 25, "the 25 items the stopped run reached: {recovering:?}");
    assert!(recovering.counter_writes > 0, "{recovering:?}");
    assert_eq!(differences(&raw).await, 0);
    // the counted time is the pass's, at most a second behind now
    let as_of = feedback_core::CounterStore::counted_as_of(&raw).await.unwrap().unwrap();
    assert!(chrono::Utc::now() - as_of < chrono::Duration::seconds(30), "{as_of}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_passes_count_each_entry_once() {
    let (_guard, h, raw) = backend().await;
    activity(&h).await;
    let conf = moto::sdk().await;
    let (a, b) = (CounterStream::new(&raw, &conf), CounterStream::new(&raw, &conf).counters_per_run(7));
    let now = chrono::Utc::now();
    let (ra, rb) = tokio::join!(a.pass(now), b.pass(now));
    ra.unwrap();
    rb.unwrap();
    // whichever lost a claim left its shard; one more pass finishes anything left
    a.pass(chrono::Utc::now()).await.unwrap();
    assert_eq!(differences(&raw).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_sets_damaged_counters_to_their_recount_once() {
    let (_guard, h, raw) = backend().await;
    activity(&h).await;
    let conf = moto::sdk().await;
    let store = raw.clone().catching_up(CounterStream::new(&raw, &conf));
    assert_eq!(differences(&store).await, 0);
    // damage: an item loses counts, another gains a field
    let damaged = raw
        .client()
        .scan()
        .table_name(raw.table())
        .filter_expression("begins_with(PK, :p)")
        .expression_attribute_values(":p", aws_sdk_dynamodb::types::AttributeValue::S("STAT#".into()))
        .send()
        .await
        .unwrap();
    let item = damaged.items().first().expect("a counter item").clone();
    raw.client()
        .update_item()
        .table_name(raw.table())
        .key("PK", item["PK"].clone())
        .key("SK", item["SK"].clone())
        .update_expression("ADD c_submitted :n, c_bogus :n")
        .expression_attribute_values(":n", aws_sdk_dynamodb::types::AttributeValue::N("7".into()))
        .send()
        .await
        .unwrap();
    assert!(differences(&store).await >= 2);
    let expected = recount(&store, &|_| {}).await.unwrap();
    assert!(store.repair_counters(&expected).await.unwrap() >= 1);
    assert_eq!(differences(&store).await, 0);
    assert_eq!(store.repair_counters(&expected).await.unwrap(), 0, "a second repair writes nothing");
}
