//! Residents' data rights over HTTP on the local host: `GET /v1/me/data` is a JSON download of
//! everything held about the caller, `DELETE /v1/me` erases them (a second call erases nothing),
//! and afterwards the resident sees nothing of theirs while the official still sees the case.

// Test code: helpers outside #[test] functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{temp_data_dir, Host};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn a_resident_downloads_their_data_and_has_it_erased() {
    let data = temp_data_dir("rights");
    let host = Host::start(&data, &["--schedule-every", "1s"], &[]).await;
    let resident = host.citizen("rights-resident").await;
    let other = host.citizen("rights-other").await;
    let body = json!({"category_id": "dorogi-yamy", "text": "Глубокая яма во дворе дома 15 по улице Республики",
        "address": "Тюмень, ул. Республики, д. 15, кв. 12"});
    let r = host.post_message(&resident, Some("rights-key-1"), &body).await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let routed = host.wait_routed(&resident, &id, Duration::from_secs(20)).await;
    let authority = routed["authority_id"].as_str().unwrap().to_owned();
    assert_eq!(host.post_message(&other, None, &common::pothole()).await.status(), 201);

    let r = host.get(&resident, "/v1/me/data").await;
    assert_eq!(r.status(), 200);
    let disposition = r.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let export: Value = r.json().await.unwrap();
    assert_eq!(export["subject"], "rights-resident");
    assert_eq!(export["messages"].as_array().unwrap().len(), 1);
    assert_eq!(export["messages"][0]["message"]["id"], id.as_str());
    assert_eq!(export["messages"][0]["message"]["address"], "Тюмень, ул. Республики, д. 15, кв. 12");
    assert!(export["messages"][0]["message"]["history"].as_array().unwrap().len() >= 2);
    assert_eq!(export["preferences"]["digest"], "instant", "the defaults: {export}");
    for field in ["notifications", "comments", "flags", "polls", "subscriptions"] {
        assert!(export[field].is_array(), "{field}: {export}");
    }

    let erase = || host.http.delete(host.url("/v1/me")).bearer_auth(&resident).send();
    let r = erase().await.unwrap();
    assert_eq!(r.status(), 200);
    let done: Value = r.json().await.unwrap();
    assert_eq!(done["messages_pseudonymised"], 1);
    assert_eq!(done["idempotency_records_deleted"], 1);
    let again: Value = erase().await.unwrap().json().await.unwrap();
    assert!(again.as_object().unwrap().values().all(|v| v == 0), "a second erasure does nothing: {again}");

    let mine: Value = host.get(&resident, "/v1/messages").await.json().await.unwrap();
    assert_eq!(mine["items"], json!([]));
    let export: Value = host.get(&resident, "/v1/me/data").await.json().await.unwrap();
    for field in ["messages", "notifications", "comments", "flags"] {
        assert_eq!(export[field], json!([]), "{field}");
    }
    assert_eq!(host.get(&resident, &format!("/v1/messages/{id}")).await.status(), 404);

    let official = host.official("rights-official", &authority).await;
    let case: Value = host.get(&official, &format!("/v1/messages/{id}")).await.json().await.unwrap();
    assert_eq!(case["address"], "Тюмень, ул. Республики, д. 15");
    assert_eq!(case["history"].as_array().unwrap().last().unwrap()["note"], "Сведения об авторе обезличены");
    let others: Value = host.get(&other, "/v1/messages").await.json().await.unwrap();
    assert_eq!(others["items"].as_array().unwrap().len(), 1);

    let official_erasure = host.http.delete(host.url("/v1/me")).bearer_auth(&official).send().await.unwrap();
    assert_eq!(official_erasure.status(), 403);
    assert!(official_erasure.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"));
    let problem: Value = official_erasure.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("жители"), "{problem}");
}
