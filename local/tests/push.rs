//! Browsers' push subscriptions over HTTP on the local host: the public key derived from the
//! secrets folder's `vapid.key`, a browser's subscription accepted (201) and listed without its
//! keys or whole endpoint, 422 problems in Russian for an `http` endpoint, a private address, bad
//! keys and an unknown field, 404 for another resident's id, and `http://127.0.0.1` endpoints
//! only with `--allow-local-push`.

// Test code: helpers outside #[test] functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{temp_data_dir, Host};
use feedback_local::host::default_secrets_dir;
use feedback_push::VapidKey;
use reqwest::Method;
use serde_json::{json, Value};

async fn send(host: &Host, method: Method, token: &str, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = host.http.request(method, host.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

/// What `PushSubscription.toJSON()` gives for `endpoint`, with a fresh browser key.
fn subscription(endpoint: &str) -> Value {
    let p256dh = VapidKey::generate().unwrap().public_key();
    json!({"endpoint": endpoint, "expirationTime": null, "keys": {"p256dh": p256dh, "auth": "tBHItJI5svbpez7KI4CCXg"}})
}

/// The status and the one invalid field of a 422, with its message.
async fn refused(r: reqwest::Response) -> (u16, String, String, String) {
    let status = r.status().as_u16();
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    let e = &body["errors"][0];
    (
        status,
        ct,
        e["field"].as_str().unwrap_or_default().to_owned(),
        e["message"].as_str().unwrap_or_default().to_owned(),
    )
}

const PUSH: &str = "/v1/me/push-subscriptions";

#[tokio::test]
async fn a_resident_turns_push_on_in_a_browser() {
    let data = temp_data_dir("push");
    let host = Host::start(&data, &[], &[]).await;
    let resident = host.citizen("push-resident").await;
    let other = host.citizen("push-other").await;

    let r = host.http.get(host.url("/v1/push/public-key")).send().await.unwrap();
    assert_eq!(r.status(), 200, "anonymous");
    assert_eq!(r.headers()["cache-control"], "public, max-age=3600");
    let key: Value = r.json().await.unwrap();
    let seed = hex::decode(std::fs::read_to_string(default_secrets_dir(&data).join("vapid.key")).unwrap().trim());
    let expected = VapidKey::from_seed(&seed.unwrap()).unwrap().public_key();
    assert_eq!(key, json!({"public_key": expected}), "the public half of vapid.key");

    let browser = subscription("https://142.250.74.74/fcm/send/eM3rG5a0Qhk:APA91bHXyZ");
    let r = send(&host, Method::POST, &resident, PUSH, Some(browser.clone())).await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["endpoint_origin"], "https://142.250.74.74");
    assert_eq!(created.as_object().unwrap().len(), 3, "id, endpoint_origin, created_at: {created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let again = send(&host, Method::POST, &resident, PUSH, Some(browser)).await.json::<Value>().await.unwrap();
    assert_eq!(again["id"], id.as_str(), "the same endpoint replaces its record");
    let list: Value = host.get(&resident, PUSH).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains("APA91") && !list.to_string().contains("p256dh"), "{list}");

    let cases = [
        (subscription("http://push.example.com/x"), "endpoint", "https://"),
        (subscription("https://10.0.0.7/x"), "endpoint", "внутренний"),
        (subscription("https://169.254.169.254/latest"), "endpoint", "внутренний"),
        (subscription("http://127.0.0.1:9/x"), "endpoint", "https://"),
    ];
    for (body, field, says) in cases {
        let (status, ct, f, message) = refused(send(&host, Method::POST, &resident, PUSH, Some(body)).await).await;
        assert_eq!((status, ct.as_str(), f.as_str()), (422, "application/problem+json", field));
        assert!(message.contains(says), "{message}");
    }
    let mut bad_key = subscription("https://142.250.74.74/x");
    bad_key["keys"]["p256dh"] = json!("AAAA");
    let (status, _, field, message) = refused(send(&host, Method::POST, &resident, PUSH, Some(bad_key)).await).await;
    assert_eq!((status, field.as_str()), (422, "keys.p256dh"));
    assert!(message.contains("P-256"), "{message}");
    let mut bad_auth = subscription("https://142.250.74.74/x");
    bad_auth["keys"]["auth"] = json!("AAEC");
    let (status, _, field, _) = refused(send(&host, Method::POST, &resident, PUSH, Some(bad_auth)).await).await;
    assert_eq!((status, field.as_str()), (422, "keys.auth"));
    let mut unknown = subscription("https://142.250.74.74/x");
    unknown["pigeon"] = json!(true);
    let (status, _, field, message) = refused(send(&host, Method::POST, &resident, PUSH, Some(unknown)).await).await;
    assert_eq!((status, field.as_str(), message.as_str()), (422, "pigeon", "неизвестное поле"));
    let list: Value = host.get(&resident, PUSH).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "nothing refused was kept");

    let mine = format!("{PUSH}/{id}");
    assert_eq!(send(&host, Method::DELETE, &other, &mine, None).await.status(), 404, "not theirs");
    assert_eq!(send(&host, Method::DELETE, &resident, &format!("{PUSH}/not-an-id"), None).await.status(), 404);
    let export: Value = host.get(&resident, "/v1/me/data").await.json().await.unwrap();
    assert_eq!(export["push_subscriptions"][0]["endpoint_origin"], "https://142.250.74.74");
    assert_eq!(send(&host, Method::DELETE, &resident, &mine, None).await.status(), 204);
    assert_eq!(send(&host, Method::DELETE, &resident, &mine, None).await.status(), 404);
    let list: Value = host.get(&resident, PUSH).await.json().await.unwrap();
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn a_development_host_accepts_a_local_receiver() {
    let data = temp_data_dir("push-local");
    let host = Host::start(&data, &["--allow-local-push"], &[]).await;
    let resident = host.citizen("push-local").await;
    let r = send(&host, Method::POST, &resident, PUSH, Some(subscription("http://127.0.0.1:9/push/abc"))).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await.unwrap()["endpoint_origin"], "http://127.0.0.1:9");
    let (status, _, field, _) =
        refused(send(&host, Method::POST, &resident, PUSH, Some(subscription("http://10.0.0.7/x"))).await).await;
    assert_eq!((status, field.as_str()), (422, "endpoint"), "only the loopback address");
    let done: Value = send(&host, Method::DELETE, &resident, "/v1/me", None).await.json().await.unwrap();
    assert_eq!(done["push_subscriptions_deleted"], 1);
}

/// A browser on a loopback port (`tests/receivers/push_receiver.py`, run with
/// `$FEEDBACK_TEST_PYTHON`): it checks each push's VAPID JWT, decrypts it as a browser does and
/// reports one JSON line per push; `status` is what it answers (410: the subscription is gone).
struct Browser {
    child: std::process::Child,
    pushes: std::sync::mpsc::Receiver<Value>,
    subscription: Value,
}

impl Browser {
    fn start(status: u16) -> Browser {
        use std::io::BufRead;
        let python = std::env::var("FEEDBACK_TEST_PYTHON").expect(
            "FEEDBACK_TEST_PYTHON must name a Python with http-ece, cryptography and pyjwt (scripts/test.sh makes one)",
        );
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/receivers/push_receiver.py");
        let mut child = std::process::Command::new(python)
            .arg(script)
            .args(["--status", &status.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the push receiver starts");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        let (tx, pushes) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if tx.send(serde_json::from_str::<Value>(&line).unwrap()).is_err() {
                    return;
                }
            }
        });
        Browser { child, pushes, subscription: first["subscription"].clone() }
    }

    /// The next push this browser received, decrypted and checked.
    fn next_push(&self) -> Value {
        let push = self.pushes.recv_timeout(std::time::Duration::from_secs(30)).expect("a push within 30 s");
        assert_eq!(push["accepted"], true, "the receiver refused a push: {push}");
        serde_json::from_str(push["plaintext"].as_str().unwrap()).unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_transition_reaches_every_browser_and_a_gone_subscription_is_removed() {
    let data = temp_data_dir("push-delivery");
    let host = Host::start(&data, &["--allow-local-push"], &[]).await;
    let resident = host.citizen("push-deliveries").await;
    let prefs = json!({"channels": {"email": false, "push": true, "sms": false}, "digest": "instant"});
    assert_eq!(send(&host, Method::PUT, &resident, "/v1/me/preferences", Some(prefs)).await.status(), 200);
    let (laptop, old_phone) = (Browser::start(201), Browser::start(410));
    for b in [&laptop, &old_phone] {
        assert_eq!(send(&host, Method::POST, &resident, PUSH, Some(b.subscription.clone())).await.status(), 201);
    }

    let r = host.post_message(&resident, None, &common::pothole()).await;
    assert_eq!(r.status(), 201);
    let created = r.json::<Value>().await.unwrap();
    let (id, number) = (created["id"].as_str().unwrap().to_owned(), created["number"].as_str().unwrap().to_owned());
    host.wait_routed(&resident, &id, std::time::Duration::from_secs(20)).await;

    // The laptop shows the routing, in Russian, naming the message by its number and linking to it; the phone's push service
    // answered 410, so that subscription is gone and only the laptop's is listed.
    let shown = laptop.next_push();
    assert!(shown["title"].as_str().unwrap().contains(&format!("№ {number}")), "{shown}");
    assert!(shown["url"].as_str().unwrap().ends_with(&format!("/messages/{id}")), "{shown}");
    assert!(!shown["body"].as_str().unwrap().is_empty(), "{shown}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let list: Value = host.get(&resident, PUSH).await.json().await.unwrap();
        if list["items"].as_array().unwrap().len() == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the gone subscription is still listed: {list}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    // The next transition reaches the laptop once, and the phone no more.
    let official = host.official("push-official", "adm-tyumen").await;
    let take =
        host.http.post(host.url(&format!("/v1/messages/{id}/take"))).bearer_auth(&official).send().await.unwrap();
    assert_eq!(take.status(), 200);
    let taken = laptop.next_push();
    assert!(taken["title"].as_str().unwrap().contains(&number), "{taken}");
    assert!(laptop.pushes.recv_timeout(std::time::Duration::from_secs(2)).is_err(), "one push per transition");
}
