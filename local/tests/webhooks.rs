//! Signed webhooks over HTTP on the local host, received by a Standard Webhooks verifier (the
//! unmodified `standardwebhooks` package, started with `$FEEDBACK_TEST_PYTHON`): every event of a
//! message's lifecycle arrives verified, in the payload's shape and without personal data; a
//! failed attempt is retried with the same `webhook-id`; the library refuses a tampered signature
//! and an old timestamp; redelivery, disabling, the admin-only routes and the refusal of
//! internal addresses.

// Test code: helpers outside #[test] functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{pothole, temp_data_dir, Host};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

struct Receiver {
    _child: tokio::process::Child,
    port: u16,
    record: PathBuf,
    secret_file: PathBuf,
}

impl Receiver {
    async fn start(dir: &Path, fail_first: u32) -> Receiver {
        let python = std::env::var("FEEDBACK_TEST_PYTHON")
            .expect("FEEDBACK_TEST_PYTHON must name a Python with the standardwebhooks package (scripts/test.sh)");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/receivers/webhook_receiver.py");
        std::fs::create_dir_all(dir).unwrap();
        let (record, secret_file) = (dir.join("received.jsonl"), dir.join("secret"));
        std::fs::write(&secret_file, "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
        let mut child = tokio::process::Command::new(python)
            .arg(script)
            .arg("--record")
            .arg(&record)
            .arg("--secret-file")
            .arg(&secret_file)
            .arg("--fail-first")
            .arg(fail_first.to_string())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the webhook receiver");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the receiver did not start within 20 s")
            .unwrap()
            .expect("the receiver exited before listening");
        let port = line.strip_prefix("listening ").expect("receiver's first line").trim().parse().unwrap();
        Receiver { _child: child, port, record, secret_file }
    }

    fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits until `done` holds for what was received, for at most `within`.
    async fn wait_for(&self, within: Duration, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.received();
            if done(&got) {
                return got;
            }
            assert!(tokio::time::Instant::now() < deadline, "{what} not received within {within:?}: {got:#?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn verified_of_type<'a>(got: &'a [Value], t: &str) -> Vec<&'a Value> {
    got.iter()
        .filter(|r| {
            r["verified"] == true && serde_json::from_str::<Value>(r["body"].as_str().unwrap()).unwrap()["type"] == t
        })
        .collect()
}

#[tokio::test]
async fn message_events_arrive_signed_retried_and_free_of_personal_data() {
    let data = temp_data_dir("webhooks");
    let receiver = Receiver::start(&data.with_extension("receiver"), 1).await;
    let host = Host::start(&data, &["--schedule-every", "1s", "--allow-local-webhooks"], &[]).await;
    let admin = host.admin("hooks-admin").await;
    let alice = host.citizen("alice-hooks").await;
    let official = host.official("o-hooks", "adm-tyumen").await;
    let post = |token: &str, path: &str, body: Value| {
        host.http.post(host.url(path)).bearer_auth(token.to_owned()).json(&body).send()
    };

    // only the region's admins manage endpoints; internal addresses are refused at creation
    let events = json!([
        "message.submitted",
        "message.routed",
        "message.in_progress",
        "message.answered",
        "message.closed",
        "message.rejected",
        "message.overdue"
    ]);
    let r = post(&alice, "/v1/webhooks", json!({"url": "https://hooks.example.org/", "events": events})).await.unwrap();
    assert_eq!(r.status(), 403);
    for bad in ["http://169.254.169.254/latest/meta-data", "https://10.0.0.1/", "https://169.254.169.254/"] {
        let r = post(&admin, "/v1/webhooks", json!({"url": bad, "events": events})).await.unwrap();
        assert_eq!(r.status(), 422, "{bad}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    let r = post(&admin, "/v1/webhooks", json!({"url": "https://hooks.example.org/", "events": ["message.eaten"]}))
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "events[0]");

    let url = format!("http://127.0.0.1:{}/hook", receiver.port);
    let r = post(&admin, "/v1/webhooks", json!({"url": url, "events": events})).await.unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    std::fs::write(&receiver.secret_file, &secret).unwrap();
    let hook = created["id"].as_str().unwrap().to_owned();
    let shown: Value = host.get(&admin, &format!("/v1/webhooks/{hook}")).await.json().await.unwrap();
    assert_eq!(shown["url"], url.as_str());
    assert!(shown.get("secret").is_none(), "the secret is shown once");
    let listed: Value = host.get(&admin, "/v1/webhooks").await.json().await.unwrap();
    assert!(!listed.to_string().contains(&secret));

    // a message through its lifecycle
    let id = host.post_message(&alice, None, &pothole()).await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    host.wait_routed(&alice, &id, Duration::from_secs(5)).await;
    for (action, body) in
        [("take", json!({})), ("answer", json!({"text": "Яма засыпана щебнем, асфальт уложим весной"}))]
    {
        let r = post(&official, &format!("/v1/messages/{id}/{action}"), body).await.unwrap();
        assert_eq!(r.status(), 200, "{action}");
    }
    let r = post(&alice, &format!("/v1/messages/{id}/rating"), json!({"score": 5})).await.unwrap();
    assert_eq!(r.status(), 200);

    let lifecycle =
        ["message.submitted", "message.routed", "message.in_progress", "message.answered", "message.closed"];
    // the first attempt is answered 500 and retried by the sweep after its backoff (30 s)
    let got = receiver
        .wait_for(Duration::from_secs(60), "every lifecycle event", |got| {
            lifecycle.iter().all(|t| verified_of_type(got, t).iter().any(|r| r["status"] == 204))
        })
        .await;
    let failed: Vec<&Value> = got.iter().filter(|r| r["status"] == 500).collect();
    assert_eq!(failed.len(), 1);
    let retried_id = failed[0]["webhook_id"].as_str().unwrap();
    let again: Vec<&Value> = got.iter().filter(|r| r["webhook_id"] == retried_id && r["status"] == 204).collect();
    assert_eq!(again.len(), 1, "the retry keeps the webhook-id");
    assert_ne!(failed[0]["webhook_timestamp"], again[0]["webhook_timestamp"], "a fresh timestamp per attempt");

    for t in lifecycle {
        let r = verified_of_type(&got, t)[0];
        assert!(r["webhook_id"].as_str().unwrap().starts_with("msg_"));
        let text = r["body"].as_str().unwrap();
        let body: Value = serde_json::from_str(text).unwrap();
        assert_eq!(body.as_object().unwrap().len(), 3, "{{type, timestamp, data}}: {body}");
        assert!(body["timestamp"].is_string());
        assert_eq!(body["data"]["message_id"], id.as_str());
        assert_eq!(body["data"]["category_id"], "dorogi-yamy");
        for personal in
            ["alice-hooks", "Глубокая яма", "Республики", "\"author\"", "\"text\"", "\"address\"", "\"location\""]
        {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
    }
    let routed: Value =
        serde_json::from_str(verified_of_type(&got, "message.routed")[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(routed["data"]["authority_id"], "adm-tyumen");
    assert!(routed["data"]["deadline"].is_string());

    // the library refuses a tampered signature and a replayed old request
    let closed = verified_of_type(&got, "message.closed")[0].clone();
    let (wid, ts, body) = (
        closed["webhook_id"].as_str().unwrap(),
        closed["webhook_timestamp"].as_str().unwrap(),
        closed["body"].as_str().unwrap(),
    );
    let direct = reqwest::Client::new();
    let send = |wid: String, ts: String, sig: String, body: String| {
        direct
            .post(format!("http://127.0.0.1:{}/hook", receiver.port))
            .header("webhook-id", wid)
            .header("webhook-timestamp", ts)
            .header("webhook-signature", sig)
            .body(body)
            .send()
    };
    let sign = |wid: &str, ts: i64, body: &str| {
        let secret = feedback_core::webhook::Secret::parse(&secret).unwrap();
        secret.sign(wid, ts, body)
    };
    let now = chrono::Utc::now().timestamp();
    let tampered = format!("{}x", &body[..body.len() - 1]);
    let r = send(wid.into(), now.to_string(), sign(wid, now, body), tampered).await.unwrap();
    assert_eq!(r.status(), 400, "a body that does not match its signature");
    let old = now - 3600;
    let r = send(wid.into(), old.to_string(), sign(wid, old, body), body.into()).await.unwrap();
    assert_eq!(r.status(), 400, "a correctly signed request an hour old");
    let r = send(wid.into(), ts.into(), sign(wid, now, body), body.into()).await.unwrap();
    assert_eq!(r.status(), 400, "a signature over another timestamp");
    assert_eq!(receiver.received().iter().filter(|r| r["verified"] == false).count(), 3);

    // the log, and a redelivery with the same webhook-id
    let log: Value = host.get(&admin, &format!("/v1/webhooks/{hook}/deliveries")).await.json().await.unwrap();
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), lifecycle.len());
    let retried = items.iter().find(|d| d["id"] == retried_id).unwrap();
    assert_eq!((retried["attempts"].as_u64(), retried["status"].as_str()), (Some(2), Some("delivered")));
    assert_eq!(retried["last_result"], json!({"kind": "status", "status": 204}));
    let r = post(&admin, &format!("/v1/webhooks/{hook}/deliveries/{wid}/redeliver"), json!({})).await.unwrap();
    assert_eq!(r.status(), 200);
    receiver
        .wait_for(Duration::from_secs(10), "the redelivery", |got| {
            got.iter().filter(|r| r["webhook_id"] == wid && r["status"] == 204).count() == 2
        })
        .await;

    // disabled, the endpoint hears of no further message
    let r = post(&admin, &format!("/v1/webhooks/{hook}/disable"), json!({})).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["enabled"], false);
    let before = receiver.received().len();
    let other = host.post_message(&alice, None, &pothole()).await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    host.wait_routed(&alice, &other, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.received().len(), before, "a disabled endpoint receives nothing");
    let r = post(&admin, &format!("/v1/webhooks/{hook}/deliveries/{wid}/redeliver"), json!({})).await.unwrap();
    assert_eq!(r.status(), 409);
}

#[tokio::test]
async fn poll_opened_and_closed_arrive_signed_once_without_ballots_or_voters() {
    let data = temp_data_dir("webhooks-polls");
    let receiver = Receiver::start(&data.with_extension("receiver"), 0).await;
    let host = Host::start(&data, &["--schedule-every", "1s", "--allow-local-webhooks"], &[]).await;
    let admin = host.admin("hooks-poll-admin").await;
    let voter = host.citizen("voter-hooks").await;
    let post = |token: &str, path: &str, body: Value| {
        host.http.post(host.url(path)).bearer_auth(token.to_owned()).json(&body).send()
    };
    let url = format!("http://127.0.0.1:{}/hook", receiver.port);
    let r = post(&admin, "/v1/webhooks", json!({"url": url, "events": ["poll.opened", "poll.closed"]})).await.unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    std::fs::write(&receiver.secret_file, created["secret"].as_str().unwrap()).unwrap();
    let hook = created["id"].as_str().unwrap().to_owned();

    // a sealed vote that the schedule opens in 2 s and closes in 8 s, with one ballot between
    let now = chrono::Utc::now();
    let vote = json!({"kind": "vote", "title": "Какой двор благоустроить в 2027 году?",
        "questions": [{"text": "Выберите двор", "kind": "single", "options": ["Первый", "Второй"]}],
        "audience": {"municipalities": ["tyumen"]},
        "opens_at": (now + chrono::Duration::seconds(2)).to_rfc3339(),
        "closes_at": (now + chrono::Duration::seconds(8)).to_rfc3339(), "results": "after_close"});
    let r = post(&admin, "/v1/polls", vote).await.unwrap();
    assert_eq!(r.status(), 201);
    let poll: Value = r.json().await.unwrap();
    let poll_id = poll["id"].as_str().unwrap().to_owned();
    receiver
        .wait_for(Duration::from_secs(10), "poll.opened", |got| !verified_of_type(got, "poll.opened").is_empty())
        .await;
    let r =
        post(&voter, &format!("/v1/polls/{poll_id}/ballots"), json!({"answers": [{"question": 0, "options": [1]}]}))
            .await
            .unwrap();
    assert_eq!(r.status(), 201);
    let receipt = r.json::<Value>().await.unwrap()["receipt"].as_str().unwrap().to_owned();
    receiver
        .wait_for(Duration::from_secs(20), "poll.closed", |got| !verified_of_type(got, "poll.closed").is_empty())
        .await;
    // several more schedule runs: nothing is published twice
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = receiver.received();
    assert_eq!(got.len(), 2, "one delivery per event, each verified: {got:#?}");
    for (t, r) in
        [("poll.opened", verified_of_type(&got, "poll.opened")), ("poll.closed", verified_of_type(&got, "poll.closed"))]
    {
        assert_eq!(r.len(), 1, "{t} once");
        assert_eq!(r[0]["status"], 204);
        let text = r[0]["body"].as_str().unwrap();
        let body: Value = serde_json::from_str(text).unwrap();
        let expected = json!({"poll_id": poll_id, "kind": "vote", "title": "Какой двор благоустроить в 2027 году?",
            "municipalities": ["tyumen"], "opens_at": body["data"]["opens_at"], "closes_at": body["data"]["closes_at"]});
        assert_eq!(body["data"], expected, "{t}");
        assert!(body["data"]["opens_at"].is_string() && body["data"]["closes_at"].is_string());
        for private in [receipt.as_str(), "voter-hooks", "Первый", "Второй", "ballot", "turnout"] {
            assert!(!text.contains(private), "{private} in {t}: {text}");
        }
    }
    let log: Value = host.get(&admin, &format!("/v1/webhooks/{hook}/deliveries")).await.json().await.unwrap();
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|d| d["status"] == "delivered" && d["attempts"] == 1));
    assert_ne!(items[0]["event_id"], items[1]["event_id"]);
}
