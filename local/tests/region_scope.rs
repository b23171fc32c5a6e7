//! A stack serves one region: tokens of another region, or without a region, are refused on
//! every signed-in route with 403 `wrong_region`, whatever their roles, and change nothing.

// Test code: helpers outside `#[test]` functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{pothole, temp_data_dir, Host};
use feedback_lambda::routes::{Access, ROUTES};
use serde_json::{json, Value};
use std::time::Duration;

/// Tokens of every role, for region 66, for region 77 and with no region at all. The official
/// holds an authority slug that also exists in region 72.
fn foreign_claims() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for region in [Some("66"), Some("77"), None] {
        for (role, extra) in [
            ("citizen", json!({"municipality": "tyumen", "birthdate": "1990-01-01"})),
            ("official", json!({"authority": "tyumen-upravdor"})),
            ("moderator", json!({})),
            ("admin", json!({})),
            ("analyst", json!({})),
        ] {
            let mut claims = json!({"sub": format!("{role}-{}", region.unwrap_or("none")), "roles": [role]});
            if let (Some(map), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
                map.extend(extra.clone());
                if let Some(r) = region {
                    map.insert("region".into(), json!(r));
                }
            }
            out.push((format!("{role} of region {}", region.unwrap_or("(none)")), claims));
        }
    }
    out
}

/// A concrete path for a route: every parameter becomes a well-formed id.
fn concrete(path: &str, id: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |e| start + e + 1);
        out.push_str(id);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn every_signed_in_route_refuses_every_role_of_another_region_or_of_none() {
    let data = temp_data_dir("region-scope");
    let host = Host::start(&data, &[], &[]).await;
    let mut tokens = Vec::new();
    for (who, claims) in foreign_claims() {
        tokens.push((who, host.token(claims).await));
    }
    let id = "01JDQ3Z5V1K8Y2M4N6P8R0T2W4";
    let mut failures = Vec::new();
    let mut cells = 0;
    for route in ROUTES.iter().filter(|r| r.access == Access::Jwt) {
        let path = concrete(route.path, id);
        for (who, token) in &tokens {
            let method = reqwest::Method::from_bytes(route.method.as_bytes()).unwrap();
            let r = host
                .http
                .request(method, host.url(&path))
                .bearer_auth(token)
                .header("Idempotency-Key", format!("k-{cells}"))
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            cells += 1;
            let status = r.status().as_u16();
            let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            if status != 403 || body["code"] != "wrong_region" || ct != "application/problem+json" {
                failures.push(format!("{} as {who}: {status} {ct} {body}", route.key()));
            }
        }
    }
    assert!(cells >= 30 * 15, "only {cells} cells were tried");
    assert!(failures.is_empty(), "{} of {cells} cells were not refused:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn a_foreign_resident_cannot_vote_and_a_foreign_official_cannot_read_or_take() {
    let data = temp_data_dir("region-scope-acts");
    let host = Host::start(&data, &["--schedule-every", "200ms"], &[]).await;
    let admin = host.admin("admin-1").await;
    let now = chrono::Utc::now();
    let vote = json!({
        "kind": "vote",
        "title": "Какой объект благоустроить в 2027 году?",
        "questions": [{"text": "Выберите пространство", "kind": "single", "options": ["Набережная", "Сквер"]}],
        "opens_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
        "closes_at": (now + chrono::Duration::days(7)).to_rfc3339(),
        "results": "live"
    });
    let post =
        |token: &str, path: &str, body: &Value| host.http.post(host.url(path)).bearer_auth(token).json(body).send();
    let poll: Value = post(&admin, "/v1/polls", &vote).await.unwrap().json().await.unwrap();
    let poll_id = poll["id"].as_str().unwrap();
    let ballot = json!({"answers": [{"question": 0, "options": [0]}]});
    // a resident of region 77 and one without a region are refused, and nothing is counted
    for claims in [
        json!({"sub": "alice", "roles": ["citizen"], "region": "77", "municipality": "tyumen", "birthdate": "1990-01-01"}),
        json!({"sub": "alice", "roles": ["citizen"], "municipality": "tyumen", "birthdate": "1990-01-01"}),
    ] {
        let token = host.token(claims).await;
        let r = post(&token, &format!("/v1/polls/{poll_id}/ballots"), &ballot).await.unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "wrong_region");
    }
    let results: Value = host.get(&admin, &format!("/v1/polls/{poll_id}/results")).await.json().await.unwrap();
    assert_eq!(results["total_ballots"], 0, "{results}");
    // the same resident of region 72 still has her one ballot
    let alice = host.citizen("alice").await;
    assert_eq!(post(&alice, &format!("/v1/polls/{poll_id}/ballots"), &ballot).await.unwrap().status(), 201);

    // an official of region 66 whose authority slug exists in 72 neither reads nor takes
    let m: Value = host.post_message(&alice, None, &pothole()).await.json().await.unwrap();
    let id = m["id"].as_str().unwrap();
    let routed = host.wait_routed(&alice, id, Duration::from_secs(10)).await;
    let authority = routed["authority_id"].as_str().unwrap();
    let foreign =
        host.token(json!({"sub": "o-66", "roles": ["official"], "region": "66", "authority": authority})).await;
    let r = host.get(&foreign, &format!("/v1/messages/{id}")).await;
    assert_eq!(r.status(), 403);
    let r = post(&foreign, &format!("/v1/messages/{id}/take"), &json!({})).await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(host.get(&foreign, "/v1/analytics/messages").await.status(), 403);
    let after: Value = host.get(&alice, &format!("/v1/messages/{id}")).await.json().await.unwrap();
    assert_eq!(after["status"], "routed", "the foreign take changed nothing");
    // the official of region 72 with the same authority takes it
    let own = host.official("o-72", authority).await;
    assert_eq!(post(&own, &format!("/v1/messages/{id}/take"), &json!({})).await.unwrap().status(), 200);
}
