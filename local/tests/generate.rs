//! `feedback seed`: activity generated through the domain services into a fresh data folder
//! reconciles exactly with its history and has the shape of real use.

// Test code: helpers outside `#[test]` functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use chrono::{Duration, Utc};
use feedback_core::analytics::{reconcile, Analytics, GroupStats};
use feedback_core::page::Limit;
use feedback_core::participation::{Participation, Poll, PollStatus, PollStore};
use feedback_core::service::Reference;
use feedback_core::{Actor, HistoryEntry, Message, MessageStore, StoreError, SystemClock};
use feedback_embedded::{Db, SqliteStore};
use feedback_local::seed::{generate_until, seed_activity, SeedOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn actor(sub: &str, roles: &str) -> Actor {
    let claims: HashMap<String, String> = [("sub", sub), ("roles", roles), ("region", "72")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Actor::from_claims(&claims).unwrap()
}

fn options(dir: &Path, messages: u64, polls: u32, days: u32, rng_seed: u64) -> SeedOptions {
    SeedOptions {
        data: dir.to_path_buf(),
        region_file: Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/regions/72-tyumen.toml").into(),
        messages,
        polls,
        days,
        rng_seed,
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("feedback-test-generate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn count(store: &SqliteStore, sql: &'static str) -> i64 {
    store
        .db()
        .tx(move |tx| tx.query_row(sql, [], |r| r.get::<_, i64>(0)).map_err(|e| StoreError::Backend(e.into())))
        .await
        .unwrap()
}

fn sum(groups: &[GroupStats], field: impl Fn(&GroupStats) -> i64) -> i64 {
    groups.iter().map(field).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_activity_reconciles_and_looks_like_real_use() {
    let dir = temp_dir("shape");
    seed_activity(options(&dir, 300, 2, 60, 72)).await.unwrap();

    let store = SqliteStore::new(Db::open(&dir.join("feedback.db")).unwrap());
    assert_eq!(count(&store, "SELECT COUNT(*) FROM messages").await, 300);
    // The queue consumers' work was done in process: nothing is left for the host to consume.
    assert_eq!(count(&store, "SELECT COUNT(*) FROM queue").await, 0);
    assert!(count(&store, "SELECT COUNT(*) FROM notifications").await > 300);

    // Every counter equals the recount from the history entries.
    let outcome = reconcile(&store, &|_| {}).await.unwrap();
    assert!(outcome.counter_items > 0);
    assert!(outcome.differences.is_empty(), "{:?}", &outcome.differences[..outcome.differences.len().min(10)]);

    // The shape, as the analytics API reports it.
    let reference = Arc::new(Reference::new(store.clone(), std::time::Duration::from_secs(60)));
    let analytics = Analytics::new(store.clone(), SystemClock, reference.clone());
    let analyst = actor("analyst-1", "[analyst]");
    let from = (Utc::now() - Duration::days(62)).format("%Y-%m-%d").to_string();
    let report = analytics.messages(&analyst, Some(&from), None, Some("category")).await.unwrap();
    let g = &report.groups;
    let (submitted, answered) = (sum(g, |x| x.submitted), sum(g, |x| x.answered));
    let (on_time, overdue, rejected) = (sum(g, |x| x.answered_on_time), sum(g, |x| x.overdue), sum(g, |x| x.rejected));
    let (rated, closed, reopened) = (sum(g, |x| x.rating_count), sum(g, |x| x.closed), sum(g, |x| x.reopened));
    assert_eq!(submitted, 300);
    assert!(answered > 150, "most messages are answered: {answered}");
    let on_time_share = on_time as f64 / answered as f64;
    assert!((0.7..0.98).contains(&on_time_share), "on time: {on_time} of {answered}");
    assert!(overdue > 0 && overdue < 90, "overdue: {overdue}");
    assert!((1..30).contains(&rejected), "rejected: {rejected}");
    assert!(rated > 50 && closed > 50 && closed <= rated, "rated {rated}, closed {closed}");
    assert!(reopened < rated / 5, "reopened {reopened} of {rated}");
    let high: f64 = g.iter().map(|x| x.rating_4_5_share.unwrap_or(0.0) * x.rating_count as f64).sum();
    let high_share = high / rated as f64;
    assert!((0.5..0.95).contains(&high_share), "scores skew to 4–5 with some low ones: {high_share}");
    assert!(g.len() >= 20, "many categories are used: {}", g.len());

    // Тюмень files most.
    let by_muni = analytics.messages(&analyst, Some(&from), None, Some("municipality")).await.unwrap().groups;
    let top = by_muni.iter().max_by_key(|x| x.submitted).unwrap();
    assert_eq!(top.key, "tyumen");
    assert!(top.submitted > 90, "Тюмень: {}", top.submitted);
    assert!(by_muni.len() >= 10, "messages come from many municipalities: {}", by_muni.len());

    // Every message is in some status now; most are closed or answered.
    let by_status = analytics.messages(&analyst, Some(&from), None, Some("status")).await.unwrap().groups;
    let now_in = |s: &str| by_status.iter().find(|x| x.key == s).and_then(|x| x.messages).unwrap_or(0);
    assert_eq!(by_status.iter().filter_map(|x| x.messages).sum::<i64>(), 300);
    assert!(now_in("closed") + now_in("answered") > 150);

    // Polls: two, with ballots and turnout by municipality inside their audience.
    let secret = feedback_local::host::poll_secrets(&dir, &feedback_local::host::default_secrets_dir(&dir)).unwrap();
    let participation = Participation::new(store.clone(), SystemClock, reference, secret, 30);
    let admin = actor("admin-1", "[admin]");
    let mut polls = Vec::new();
    for status in [PollStatus::Scheduled, PollStatus::Open, PollStatus::Closed] {
        let page = participation.list(&admin, false, status, None, Limit::DEFAULT).await.unwrap();
        polls.extend(page.items.into_iter().map(|p| p.poll));
    }
    assert_eq!(polls.len(), 2);
    let mut with_ballots = 0;
    for poll in &polls {
        let r = analytics.poll(&analyst, &poll.id).await.unwrap();
        // groups under ten ballots are suppressed, with their complements: the shown groups add
        // up to the total exactly when none is hidden
        let shown: u64 = r.turnout.iter().filter_map(|t| t.ballots.exact()).sum();
        let hidden = r.turnout.iter().filter(|t| t.ballots.exact().is_none()).count();
        match hidden {
            0 => assert_eq!(shown, r.total_ballots, "{}", poll.title),
            1 => panic!("a lone hidden group could be deduced: {:?}", r.turnout),
            _ => assert!(shown < r.total_ballots, "{}", poll.title),
        }
        for t in &r.turnout {
            let audience = &poll.audience.municipalities;
            assert!(audience.is_empty() || audience.iter().any(|m| m.as_str() == t.municipality_id), "{t:?}");
            assert!(t.name.is_some(), "{t:?}");
        }
        if r.total_ballots > 0 {
            with_ballots += 1;
            assert!((30..=300).contains(&r.total_ballots), "{}: {}", poll.title, r.total_ballots);
        }
    }
    assert!(with_ballots >= 1);
    let _ = std::fs::remove_dir_all(&dir);
}

async fn docs(store: &SqliteStore, sql: &'static str) -> Vec<String> {
    store
        .db()
        .tx(move |tx| {
            let mut stmt = tx.prepare(sql).map_err(|e| StoreError::Backend(e.into()))?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(|e| StoreError::Backend(e.into()))?;
            rows.map(|r| r.map_err(|e| StoreError::Backend(e.into()))).collect()
        })
        .await
        .unwrap()
}

/// Everything a run wrote that does not depend on the random bits of ids and receipts, nor on
/// the order concurrent submissions took their numbers in: each message with its history
/// (without ids, numbers and the notes that name them), each poll with its tally.
async fn written(dir: &Path) -> Vec<String> {
    let store = SqliteStore::new(Db::open(&dir.join("feedback.db")).unwrap());
    let mut out = Vec::new();
    for doc in docs(&store, "SELECT doc FROM messages").await {
        let message: Message = serde_json::from_str(&doc).unwrap();
        let mut m = serde_json::to_value(&message).unwrap();
        for key in ["id", "number", "duplicate_of", "duplicate_ids"] {
            m.as_object_mut().unwrap().remove(key);
        }
        let history: Vec<serde_json::Value> = store
            .get_history(&message.id)
            .await
            .unwrap()
            .iter()
            .map(|e| {
                let mut e = serde_json::to_value(e).unwrap();
                e.as_object_mut().unwrap().remove("note");
                e
            })
            .collect();
        out.push(format!("{} {m} {}", message.created_at.timestamp_millis(), serde_json::Value::from(history)));
    }
    for doc in docs(&store, "SELECT doc FROM polls").await {
        let poll: Poll = serde_json::from_str(&doc).unwrap();
        let tally = store.tally(&poll.id).await.unwrap();
        let mut p = serde_json::to_value(&poll).unwrap();
        p.as_object_mut().unwrap().remove("id");
        out.push(format!("{p} {} {:?} {:?}", tally.total, tally.counts, tally.turnout));
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_and_window_write_the_same_activity() {
    let end = chrono::DateTime::parse_from_rfc3339("2026-11-20T18:30:00+05:00").unwrap().with_timezone(&Utc);
    let (a, b, c) = (temp_dir("same-a"), temp_dir("same-b"), temp_dir("other"));
    let ra = generate_until(&options(&a, 200, 2, 45, 7), end).await.unwrap();
    let rb = generate_until(&options(&b, 200, 2, 45, 7), end).await.unwrap();
    generate_until(&options(&c, 200, 2, 45, 8), end).await.unwrap();
    assert_eq!((&ra.transitions, ra.notifications, ra.ballots), (&rb.transitions, rb.notifications, rb.ballots));
    // The report counts exactly the transitions the history holds.
    let store = SqliteStore::new(Db::open(&a.join("feedback.db")).unwrap());
    let mut kinds: HashMap<String, u64> = HashMap::new();
    for doc in docs(&store, "SELECT doc FROM history").await {
        let entry: HistoryEntry = serde_json::from_str(&doc).unwrap();
        let kind = serde_json::to_value(entry.facts.unwrap().kind).unwrap();
        *kinds.entry(kind.as_str().unwrap().to_owned()).or_default() += 1;
    }
    for (kind, n) in &ra.transitions {
        assert_eq!(kinds.get(*kind).copied().unwrap_or(0), *n, "{kind}");
        assert_eq!(ra.transitions_of(kind), *n);
    }
    assert_eq!(kinds.values().sum::<u64>(), ra.transitions.iter().map(|(_, n)| n).sum::<u64>());
    let (wa, wb, wc) = (written(&a).await, written(&b).await, written(&c).await);
    assert_eq!(wa.len(), 202);
    let numbers: std::collections::BTreeSet<String> = docs(&store, "SELECT doc FROM messages")
        .await
        .iter()
        .map(|d| {
            serde_json::from_str::<Message>(d)
                .unwrap()
                .number
                .expect("every generated message has a number")
                .to_string()
        })
        .collect();
    assert_eq!(numbers.len(), 200, "each message its own number");
    assert!(wa == wb, "two runs with the same seed differ");
    assert!(wa != wc, "another seed gives other activity");
    for dir in [a, b, c] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// `feedback seed --deliver-queued` finishes a seed stopped in its last phase: what is still in
/// the queue table is delivered as the run would have, and the table is left empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_stopped_while_delivering_is_finished_by_delivering_what_is_queued() {
    use feedback_core::notification::{Notification, NotificationKind};
    use feedback_core::ports::{Job, NotificationStore, WorkQueue};
    let dir = temp_dir("deliver-queued");
    generate_until(&options(&dir, 20, 0, 10, 3), Utc::now()).await.unwrap();
    let resident = actor("citizen-deliver-queued", "[citizen]").id;
    {
        let db = Db::open(&dir.join("feedback.db")).unwrap();
        let queue = feedback_embedded::SqliteQueue::new(db, feedback_embedded::QueueSettings { max_receives: 5 });
        for (i, kind) in [NotificationKind::Answered, NotificationKind::Closed].into_iter().enumerate() {
            let notification = Notification {
                id: format!("deliver-queued-{i}"),
                citizen: resident.clone(),
                message_id: feedback_core::ids::MessageId::new_at(Utc::now()),
                kind,
                at: Utc::now(),
                text: "На ваше сообщение ответили.".into(),
                expires_at: None,
                message_number: None,
                read_at: None,
            };
            queue.send(&Job::Notify { notification, supporters: vec![] }).await.unwrap();
        }
    }
    assert_eq!(feedback_local::seed::deliver_queued(&dir).await.unwrap(), 2);
    let store = SqliteStore::new(Db::open(&dir.join("feedback.db")).unwrap());
    assert_eq!(store.list_notifications(&resident, None, 10).await.unwrap().len(), 2);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM queue").await, 0);
    assert_eq!(feedback_local::seed::deliver_queued(&dir).await.unwrap(), 0, "nothing left to deliver");
    let _ = std::fs::remove_dir_all(&dir);
}
