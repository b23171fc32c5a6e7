//! The local host on a full disk: submissions answer 503 with Retry-After and store nothing,
//! `/healthz` answers 503 while writes fail, and the host recovers by itself when space returns,
//! with every acknowledged message kept and routed. The host runs in this process so that the
//! test can fill its database (`Db::fill_storage_for_testing`).

use feedback_local::auth::{dev_key, issue_dev_token, DevTokenRequest, Verifier};
use feedback_local::host::{serve, HostConfig, Platform};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

async fn start() -> (Arc<Platform>, String, tokio::sync::watch::Sender<bool>, String) {
    let data = std::env::temp_dir().join(format!("feedback-host-unavailable-{}", ulid::Ulid::new()));
    feedback_local::datadir::prepare(&data).unwrap();
    let key = dev_key(&data).unwrap();
    let config = HostConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        secrets_dir: feedback_local::host::default_secrets_dir(&data),
        data_dir: data,
        region_file: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/regions/72-tyumen.toml").into(),
        schedule_every: Duration::from_millis(200),
        submissions_per_hour: 100,
        comments_per_hour: 30,
        stuck_after: Duration::from_secs(1),
        visibility: Duration::from_secs(2),
        max_receives: 5,
        max_connections: 64,
        request_timeout: Duration::from_secs(30),
        push_subject: "mailto:ops@feedback.example".into(),
        allow_local_push: false,
        mail: Default::default(),
        allow_local_webhooks: false,
        tiles_url: None,
    };
    let platform = Arc::new(Platform::open(config, Verifier::Dev { key: key.clone() }).await.unwrap());
    let (tx, rx) = tokio::sync::watch::channel(false);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(serve(platform.clone(), rx, move |addr| {
        let _ = ready_tx.send(addr);
    }));
    let addr = ready_rx.await.unwrap();
    let req = DevTokenRequest {
        sub: "full-disk-1".into(),
        roles: vec!["citizen".into()],
        region: Some("72".into()),
        municipality: Some("tyumen".into()),
        birthdate: Some("1990-01-01".into()),
        ..Default::default()
    };
    let token = issue_dev_token(&key, &req).unwrap();
    (platform, format!("http://{addr}"), tx, token)
}

/// A text of about 4000 characters: its message needs fresh pages of the database.
fn long_text() -> String {
    let sentence = "Во дворе дома 12 не вывозят мусор, просим принять меры. ";
    sentence.repeat(3900 / sentence.chars().count()).trim().to_owned()
}

async fn submit(http: &reqwest::Client, base: &str, token: &str, text: &str) -> reqwest::Response {
    http.post(format!("{base}/v1/messages"))
        .bearer_auth(token)
        .json(&json!({"category_id": "dorogi-yamy", "text": text}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_the_host_recovers_when_space_returns() {
    let (platform, base, _stop, token) = start().await;
    let http = reqwest::Client::new();
    let before = submit(&http, &base, &token, &long_text()).await;
    assert_eq!(before.status(), 201);
    let acknowledged: Value = before.json().await.unwrap();
    assert_eq!(http.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);

    platform.db.fill_storage_for_testing().await.unwrap();
    let refused = submit(&http, &base, &token, &long_text()).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    let retry: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 0);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "unavailable");
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 503);
    assert!(health.headers().contains_key("retry-after"));

    platform.db.free_storage_for_testing().await.unwrap();
    assert_eq!(http.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);
    let after = submit(&http, &base, &token, &long_text()).await;
    assert_eq!(after.status(), 201);
    let after: Value = after.json().await.unwrap();

    let mine: Value =
        http.get(format!("{base}/v1/messages")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = mine["items"].as_array().unwrap().iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(ids.len(), 2, "{mine}");
    for id in [&acknowledged["id"], &after["id"]] {
        let id = id.as_str().unwrap();
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let m: Value = http
                .get(format!("{base}/v1/messages/{id}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if m["status"] != "submitted" {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{id} was not routed after recovery");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
