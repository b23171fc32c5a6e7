//! The kill -9 soak: residents submit concurrently while the host is killed with SIGKILL at
//! random moments and restarted on the same data directory. Clients retry an interrupted request
//! with its idempotency key, as a real client does, or give up on it. Afterwards nothing
//! acknowledged is lost, and every stored message, acknowledged or not, is routed exactly once
//! and its author has exactly one `routed` notification for it.
//!
//! The kills' delays and the residents' pauses come from a seeded xorshift, so a run's schedule
//! is reproducible: the seed is printed with the figures, and `SOAK_SEED=<n>` replays it.

// Test code: helpers outside `#[test]` functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{temp_data_dir, Host};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

const RESIDENTS: usize = 24;
/// Each resident submits until the last restart, and at least this many times.
const MIN_PER_RESIDENT: usize = 10;
/// The longest pause between two submissions of one resident.
const MAX_PAUSE_MS: u64 = 600;
const KILLS: usize = 6;
const DEFAULT_SEED: u64 = 0x50A4_2026_0F1E_1D5E;
/// How long the messages have to be routed and notified after the last restart. A job received
/// just before a kill is hidden for the queue's 30 s visibility timeout, then delivered again.
const DRAIN_WITHIN: Duration = Duration::from_secs(45);
const HOST_ARGS: [&str; 2] = ["--schedule-every", "200ms"];
const HOST_ENV: [(&str, &str); 1] = [("FEEDBACK_SUBMISSIONS_PER_HOUR", "10000")];

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.below(to - from + 1))
    }
}

/// The running host's base URL, `None` while it is down (set before each kill, so a request
/// that fails because of the kill never retries against a stale port).
type Live = Arc<RwLock<Option<String>>>;

async fn current_base(live: &Live) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let base = live.read().unwrap().clone();
        if let Some(base) = base {
            return base;
        }
        assert!(Instant::now() < deadline, "the host did not come back within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What one resident's client saw.
#[derive(Default)]
struct ClientLog {
    /// Idempotency key → the message id a 201 or 200 named.
    acknowledged: BTreeMap<String, String>,
    submissions: usize,
    created: usize,
    replayed: usize,
    interrupted: usize,
    retried: usize,
    abandoned: usize,
}

fn text_of(resident: usize, n: usize) -> String {
    format!("Яма номер {n} на проезжей части у дома {} по улице Республики", resident + 1)
}

/// One resident: submissions with random pauses until the kills are over (at least
/// `MIN_PER_RESIDENT`), each with its own key, reading its list and notifications between them
/// for load. A request the kill interrupted is retried with the same key after the restart, or,
/// one time in four, given up (the app was closed).
async fn resident(
    live: Live,
    kills_over: Arc<AtomicBool>,
    http: reqwest::Client,
    token: String,
    r: usize,
    seed: u64,
) -> ClientLog {
    let mut rng = Rng::new(seed);
    let mut log = ClientLog::default();
    for n in 0.. {
        if n >= MIN_PER_RESIDENT && kills_over.load(Ordering::SeqCst) {
            break;
        }
        log.submissions += 1;
        tokio::time::sleep(rng.millis(0, MAX_PAUSE_MS)).await;
        let key = format!("soak-{r}-{n}");
        let body = json!({"category_id": "dorogi-yamy", "text": text_of(r, n)});
        loop {
            let base = current_base(&live).await;
            let sent = http
                .post(format!("{base}/v1/messages"))
                .bearer_auth(&token)
                .header("Idempotency-Key", &key)
                .json(&body)
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            let answer = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    resp.json::<Value>().await.map(|v| (status, v))
                }
                Err(e) => Err(e),
            };
            match answer {
                Ok((status @ (200 | 201), v)) => {
                    let id = v["id"].as_str().unwrap_or_else(|| panic!("{key}: {status} without an id: {v}"));
                    if status == 201 {
                        log.created += 1;
                    } else {
                        log.replayed += 1;
                    }
                    log.acknowledged.insert(key.clone(), id.to_owned());
                    break;
                }
                Ok((409, v)) if v["code"] == "request_in_progress" => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok((status, v)) => panic!("{key}: unexpected {status}: {v}"),
                Err(_) => {
                    // No answer: the request may or may not have been stored.
                    log.interrupted += 1;
                    if rng.below(4) == 0 {
                        log.abandoned += 1;
                        break;
                    }
                    log.retried += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        let base = live.read().unwrap().clone();
        if let Some(base) = base {
            let _ = http.get(format!("{base}/v1/messages?limit=100")).bearer_auth(&token).send().await;
            let _ = http.get(format!("{base}/v1/me/notifications?limit=20")).bearer_auth(&token).send().await;
        }
    }
    log
}

/// GETs every page of a list, following `next_cursor`.
async fn all_pages(host: &Host, token: &str, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            None => format!("{path}?limit=100"),
            Some(c) => format!("{path}?limit=100&cursor={c}"),
        };
        let r = host.get(token, &url).await;
        assert_eq!(r.status(), 200, "GET {url}");
        let page: Value = r.json().await.unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

/// What the host holds for the residents: their stored messages and `routed` notifications.
struct Census {
    /// (resident, message) for every stored message.
    stored: Vec<(usize, Value)>,
    /// Message id → how many `routed` notifications its author has for it.
    routed_notifications: HashMap<String, usize>,
}

impl Census {
    async fn take(host: &Host, tokens: &[String]) -> Census {
        let mut stored = Vec::new();
        let mut routed_notifications = HashMap::new();
        for (r, token) in tokens.iter().enumerate() {
            stored.extend(all_pages(host, token, "/v1/messages").await.into_iter().map(|m| (r, m)));
            for n in all_pages(host, token, "/v1/me/notifications").await {
                if n["kind"] == "routed" {
                    *routed_notifications.entry(n["message_id"].as_str().unwrap().to_owned()).or_insert(0) += 1;
                }
            }
        }
        Census { stored, routed_notifications }
    }
    fn routed(&self) -> usize {
        self.stored.iter().filter(|(_, m)| m["status"] != "submitted").count()
    }
    fn notified(&self) -> usize {
        self.stored.iter().filter(|(_, m)| self.routed_notifications.contains_key(m["id"].as_str().unwrap())).count()
    }
    fn settled(&self) -> bool {
        self.routed() == self.stored.len() && self.notified() == self.stored.len()
    }
}

#[tokio::test]
async fn nothing_acknowledged_is_lost_and_everything_stored_is_routed_and_notified_once_across_kill_9() {
    let started = Instant::now();
    let seed = std::env::var("SOAK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED);
    let mut rng = Rng::new(seed);
    let data = temp_data_dir("soak");
    let mut host = Host::start(&data, &HOST_ARGS, &HOST_ENV).await;
    let mut tokens = Vec::new();
    for r in 0..RESIDENTS {
        tokens.push(host.citizen(&format!("soak-resident-{r:02}")).await);
    }
    // Given residents submitting concurrently
    let live: Live = Arc::new(RwLock::new(Some(host.base.clone())));
    let kills_over = Arc::new(AtomicBool::new(false));
    let http = reqwest::Client::new();
    let clients: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(r, token)| {
            let client_seed = rng.next();
            tokio::spawn(resident(live.clone(), kills_over.clone(), http.clone(), token.clone(), r, client_seed))
        })
        .collect();
    // When the host is killed with SIGKILL at random moments and restarted on the same data
    for _ in 0..KILLS {
        tokio::time::sleep(rng.millis(500, 2500)).await;
        *live.write().unwrap() = None;
        host.kill9().await;
        host = Host::start(&data, &HOST_ARGS, &HOST_ENV).await;
        *live.write().unwrap() = Some(host.base.clone());
    }
    kills_over.store(true, Ordering::SeqCst);
    let kill_phase = started.elapsed();
    let mut logs = Vec::new();
    for c in clients {
        logs.push(c.await.unwrap());
    }

    // Then, once drained, every stored message is routed and its author notified
    let drain_started = Instant::now();
    let drain_deadline = drain_started + DRAIN_WITHIN;
    let census = loop {
        let census = Census::take(&host, &tokens).await;
        if census.settled() || Instant::now() >= drain_deadline {
            break census;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let drained = drain_started.elapsed();
    let acknowledged: usize = logs.iter().map(|l| l.acknowledged.len()).sum();
    let submissions: usize = logs.iter().map(|l| l.submissions).sum();
    let sum = |f: fn(&ClientLog) -> usize| logs.iter().map(f).sum::<usize>();
    let mut lost = Vec::new();
    for (r, log) in logs.iter().enumerate() {
        for (key, id) in &log.acknowledged {
            let readable = host.get(&tokens[r], &format!("/v1/messages/{id}")).await.status() == 200;
            let listed = census.stored.iter().any(|(owner, m)| *owner == r && m["id"] == id.as_str());
            if !(readable && listed) {
                lost.push(format!("{key} → {id}"));
            }
        }
    }
    // One message per key at most: the texts are unique per submission
    let mut per_text: HashMap<(usize, String), usize> = HashMap::new();
    for (r, m) in &census.stored {
        *per_text.entry((*r, m["text"].as_str().unwrap().to_owned())).or_insert(0) += 1;
    }
    let double_stored = per_text.values().filter(|n| **n > 1).count();
    let mut double_routed = Vec::new();
    for (r, m) in &census.stored {
        let id = m["id"].as_str().unwrap();
        let detail: Value = host.get(&tokens[*r], &format!("/v1/messages/{id}")).await.json().await.unwrap();
        let routings = detail["history"].as_array().unwrap().iter().filter(|h| h["to"] == "routed").count();
        if routings > 1 {
            double_routed.push(id.to_owned());
        }
    }
    let double_notified: Vec<&String> =
        census.routed_notifications.iter().filter(|(_, n)| **n > 1).map(|(id, _)| id).collect();
    let stray_notifications: Vec<&String> = census
        .routed_notifications
        .keys()
        .filter(|id| !census.stored.iter().any(|(_, m)| m["id"] == id.as_str()))
        .collect();
    let routed_notifications: usize = census.routed_notifications.values().sum();

    let figures = format!(
        "soak: {} submissions by {RESIDENTS} residents, {KILLS} kills, {} requests interrupted ({} retried with their key, \
         {} given up), {acknowledged} acknowledged ({} created, {} replayed), {} lost, {} stored, {} routed, \
         {routed_notifications} routed notifications, {} duplicates, {:.1} s, seed {seed}",
        submissions,
        sum(|l| l.interrupted),
        sum(|l| l.retried),
        sum(|l| l.abandoned),
        sum(|l| l.created),
        sum(|l| l.replayed),
        lost.len(),
        census.stored.len(),
        census.routed(),
        double_stored + double_routed.len() + double_notified.len(),
        started.elapsed().as_secs_f64(),
    );
    eprintln!("{figures}");
    eprintln!("soak timing: kill phase {kill_phase:.1?}, drain {drained:.1?}");
    std::fs::write(Path::new(env!("CARGO_TARGET_TMPDIR")).join("soak-figures.txt"), format!("{figures}\n")).unwrap();

    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert!(census.stored.len() >= acknowledged && census.stored.len() <= submissions, "{figures}");
    assert_eq!(double_stored, 0, "a key stored twice: {figures}");
    let ids = |keep: &dyn Fn(&Value) -> bool| -> Vec<String> {
        census.stored.iter().map(|(_, m)| m).filter(|m| keep(m)).map(|m| m["id"].as_str().unwrap().to_owned()).collect()
    };
    let unrouted = ids(&|m| m["status"] == "submitted");
    assert!(unrouted.is_empty(), "{} still submitted after {DRAIN_WITHIN:?}: {unrouted:?}", unrouted.len());
    let unnotified = ids(&|m| !census.routed_notifications.contains_key(m["id"].as_str().unwrap()));
    assert!(unnotified.is_empty(), "{} without a `routed` notification: {unnotified:?}", unnotified.len());
    assert!(double_routed.is_empty(), "two routing entries in the history: {double_routed:?}");
    assert!(double_notified.is_empty(), "two `routed` notifications: {double_notified:?}");
    assert!(stray_notifications.is_empty(), "`routed` notifications for no stored message: {stray_notifications:?}");
    assert_eq!(routed_notifications, census.stored.len(), "{figures}");
    host.kill9().await;
    let _ = std::fs::remove_dir_all(&data);
}
