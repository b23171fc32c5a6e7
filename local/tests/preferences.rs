//! Residents' notification preferences and subscriptions over HTTP on the local host: defaults
//! from the token, a whole replacement kept across requests, 422 problems in Russian for unknown
//! fields and bad values, the limit of subscriptions and the owner-only delete.

// Test code: helpers outside #[test] functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{temp_data_dir, Host};
use serde_json::{json, Value};

async fn send(host: &Host, method: reqwest::Method, token: &str, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = host.http.request(method, host.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

/// The problem's status, content type and its invalid fields.
async fn problem(r: reqwest::Response) -> (u16, String, Vec<(String, String)>) {
    let status = r.status().as_u16();
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    let fields = body["errors"]
        .as_array()
        .map(|errs| {
            errs.iter()
                .map(|e| (e["field"].as_str().unwrap().to_owned(), e["message"].as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    (status, ct, fields)
}

#[tokio::test]
async fn a_resident_sets_preferences_and_follows_places() {
    use reqwest::Method;
    let data = temp_data_dir("preferences");
    let host = Host::start(&data, &[], &[]).await;
    let claims = json!({"sub": "reach-resident", "roles": ["citizen"], "region": "72", "email": "r@example.ru"});
    let resident = host.token(claims).await;
    let other = host.citizen("reach-other").await;

    let defaults: Value = host.get(&resident, "/v1/me/preferences").await.json().await.unwrap();
    assert_eq!(defaults, json!({"channels": {"email": true, "push": false, "sms": false}, "digest": "instant"}));
    let without: Value = host.get(&other, "/v1/me/preferences").await.json().await.unwrap();
    assert_eq!(without["channels"]["email"], false, "no e-mail claim, no e-mail");

    let prefs = json!({"channels": {"email": false, "push": true, "sms": false}, "digest": "weekly",
        "quiet_hours": {"from": "22:30", "to": "07:00"}});
    let r = send(&host, Method::PUT, &resident, "/v1/me/preferences", Some(prefs.clone())).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), prefs);
    let kept: Value = host.get(&resident, "/v1/me/preferences").await.json().await.unwrap();
    assert_eq!(kept, prefs);

    let mut unknown = prefs.clone();
    unknown["pigeon_post"] = json!(true);
    let (status, ct, fields) =
        problem(send(&host, Method::PUT, &resident, "/v1/me/preferences", Some(unknown)).await).await;
    assert_eq!((status, ct.as_str()), (422, "application/problem+json"));
    assert_eq!(fields, vec![("pigeon_post".to_owned(), "неизвестное поле".to_owned())]);
    let mut bad = prefs.clone();
    bad["digest"] = json!("hourly");
    let (status, _, fields) = problem(send(&host, Method::PUT, &resident, "/v1/me/preferences", Some(bad)).await).await;
    assert_eq!((status, fields[0].0.as_str()), (422, "digest"));
    assert!(fields[0].1.starts_with("допустимые значения"), "{fields:?}");
    let mut late = prefs.clone();
    late["quiet_hours"]["from"] = json!("24:00");
    let (status, _, fields) =
        problem(send(&host, Method::PUT, &resident, "/v1/me/preferences", Some(late)).await).await;
    assert_eq!((status, fields[0].0.as_str()), (422, "quiet_hours.from"));
    assert!(fields[0].1.contains("ЧЧ:ММ"), "{fields:?}");
    let mut sms = prefs.clone();
    sms["channels"]["sms"] = json!(true);
    let (status, _, fields) = problem(send(&host, Method::PUT, &resident, "/v1/me/preferences", Some(sms)).await).await;
    assert_eq!(status, 422, "the region file leaves SMS off");
    assert_eq!(fields, vec![("channels.sms".to_owned(), "SMS-уведомления в регионе не подключены".to_owned())]);
    let kept: Value = host.get(&resident, "/v1/me/preferences").await.json().await.unwrap();
    assert_eq!(kept, prefs, "a refused replacement changes nothing");

    let (status, _, fields) = problem(
        send(&host, Method::POST, &resident, "/v1/me/subscriptions", Some(json!({"municipality_id": "atlantis"})))
            .await,
    )
    .await;
    assert_eq!((status, fields[0].0.as_str()), (422, "municipality_id"));
    let (status, _, fields) = problem(
        send(
            &host,
            Method::POST,
            &resident,
            "/v1/me/subscriptions",
            Some(json!({"center": {"lat": 57.15, "lon": 65.54}})),
        )
        .await,
    )
    .await;
    assert_eq!((status, fields[0].0.as_str()), (422, "radius_m"), "no radius is made up");

    let mut ids = Vec::new();
    for i in 0..20 {
        let body =
            json!({"center": {"lat": 57.15, "lon": 65.54}, "radius_m": 100 + i * 50, "category_id": "dorogi-yamy"});
        let r = send(&host, Method::POST, &resident, "/v1/me/subscriptions", Some(body)).await;
        assert_eq!(r.status(), 201);
        ids.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    let over = json!({"municipality_id": "tyumen"});
    let r = send(&host, Method::POST, &resident, "/v1/me/subscriptions", Some(over.clone())).await;
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "subscription_limit");
    assert!(body["detail"].as_str().unwrap().contains("не больше 20"), "{body}");
    let list: Value = host.get(&resident, "/v1/me/subscriptions").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 20);

    let first = format!("/v1/me/subscriptions/{}", ids[0]);
    assert_eq!(send(&host, Method::DELETE, &other, &first, None).await.status(), 404, "not theirs");
    assert_eq!(send(&host, Method::DELETE, &resident, &first, None).await.status(), 204);
    assert_eq!(send(&host, Method::DELETE, &resident, &first, None).await.status(), 404);
    assert_eq!(send(&host, Method::POST, &resident, "/v1/me/subscriptions", Some(over)).await.status(), 201);

    let export: Value = host.get(&resident, "/v1/me/data").await.json().await.unwrap();
    assert_eq!(export["preferences"], prefs);
    assert_eq!(export["subscriptions"].as_array().unwrap().len(), 20);
    let done: Value = send(&host, Method::DELETE, &resident, "/v1/me", None).await.json().await.unwrap();
    assert_eq!((done["preferences_deleted"].as_u64(), done["subscriptions_deleted"].as_u64()), (Some(1), Some(20)));
    let list: Value = host.get(&resident, "/v1/me/subscriptions").await.json().await.unwrap();
    assert_eq!(list["items"], json!([]));
}
