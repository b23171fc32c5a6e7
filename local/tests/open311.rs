//! Open311 over HTTP against the real `feedback` binary: an admin registers an integration, the
//! integration posts a form-encoded request, routing runs in the background, and GET shows the
//! authority and the deadline in JSON and XML. Unknown paths under `/open311/v2/` answer in the
//! specification's error format, as the greedy API Gateway route delivers them on AWS.

// Test code: helpers outside `#[test]` functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{temp_data_dir, Host};
use serde_json::{json, Value};
use std::time::Duration;

const FORM: &str = "jurisdiction_id=72&service_code=dorogi-yamy&lat=57.1530&long=65.5343\
    &address_string=%D0%A2%D1%8E%D0%BC%D0%B5%D0%BD%D1%8C%2C+%D1%83%D0%BB.+%D0%A0%D0%B5%D1%81%D0%BF%D1%83%D0%B1%D0%BB%D0%B8%D0%BA%D0%B8%2C+15\
    &email=ivanov%40example.ru&phone=79991234567\
    &description=%D0%93%D0%BB%D1%83%D0%B1%D0%BE%D0%BA%D0%B0%D1%8F+%D1%8F%D0%BC%D0%B0+%D0%BD%D0%B0+%D0%BF%D1%80%D0%BE%D0%B5%D0%B7%D0%B6%D0%B5%D0%B9+%D1%87%D0%B0%D1%81%D1%82%D0%B8+%D1%83+%D0%B4%D0%BE%D0%BC%D0%B0+15";

async fn post_form(host: &Host, path: &str, body: String) -> reqwest::Response {
    host.http
        .post(host.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("POST")
}

#[tokio::test]
async fn an_integration_files_a_request_that_is_routed_and_read_back_in_both_formats() {
    let data = temp_data_dir("open311");
    let host = Host::start(&data, &["--schedule-every", "1s"], &[]).await;
    let admin = host.admin("admin-1").await;

    // Given an integration registered by the region's admin
    let made: Value = host
        .http
        .post(host.url("/v1/integrations"))
        .bearer_auth(&admin)
        .json(&json!({"name": "Городское приложение"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = made["api_key"].as_str().expect("the key, shown once").to_owned();

    // When it posts a request with a form body
    let resp = post_form(&host, "/open311/v2/requests.json", format!("api_key={key}&{FORM}")).await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    let id = created[0]["service_request_id"].as_str().unwrap().to_owned();

    // Then within a scheduling period it is routed, and GET shows the authority and the deadline
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let request = loop {
        let got: Value = host
            .http
            .get(host.url(&format!("/open311/v2/requests/{id}.json?jurisdiction_id=72")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !got[0]["agency_responsible"].is_null() {
            break got[0].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "not routed in time: {got}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(request["agency_responsible"], "Администрация города Тюмени");
    assert!(request["expected_datetime"].as_str().unwrap().ends_with("+05:00"));
    assert_eq!(request["status"], "open");

    // and the XML carries the same request, without personal data
    let xml = host.http.get(host.url(&format!("/open311/v2/requests/{id}.xml"))).send().await.unwrap();
    assert_eq!(xml.status(), 200);
    assert!(xml.headers()["content-type"].to_str().unwrap().starts_with("text/xml"));
    let body = xml.text().await.unwrap();
    assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_requests><request>"));
    assert!(body.contains(&format!("<service_request_id>{id}</service_request_id>")));
    assert!(body.contains("<agency_responsible>Администрация города Тюмени</agency_responsible>"));
    assert!(!body.contains("ivanov") && !body.contains("79991234567"));

    // A wrong key, an unknown path and a method the API does not have answer as the spec says
    let refused = post_form(&host, "/open311/v2/requests.xml", format!("api_key=fbk_nope&{FORM}")).await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("<errors><error><code>403</code>"));
    let unknown = host.http.get(host.url("/open311/v2/discovery.xml")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(unknown.text().await.unwrap().contains("<errors><error><code>404</code>"));
    let services: Value =
        host.http.get(host.url("/open311/v2/services.json")).send().await.unwrap().json().await.unwrap();
    assert!(services.as_array().unwrap().len() >= 25);
    let deleted = host.http.delete(host.url("/open311/v2/requests.json")).send().await.unwrap();
    assert_eq!(deleted.status(), 405);
    let big =
        post_form(&host, "/open311/v2/requests.xml", format!("api_key={key}&{FORM}&x={}", "a".repeat(70_000))).await;
    assert_eq!(big.status(), 413);
    assert!(big.text().await.unwrap().contains("<errors><error><code>413</code>"));

    host.kill9().await;
    let _ = std::fs::remove_dir_all(&data);
}
