//! Scenarios through the local host over real HTTP, against the real binary.

// Test code: helpers outside `#[test]` functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{pothole, temp_data_dir, Host};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn a_submitted_message_is_routed_within_one_period_and_hidden_from_others() {
    // Given a host scheduling every second
    let data = temp_data_dir("route");
    let host = Host::start(&data, &["--schedule-every", "1s"], &[]).await;
    let alice = host.citizen("alice").await;
    // When Alice reports a pothole in Tyumen
    let r = host.post_message(&alice, None, &pothole()).await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["status"], "submitted");
    let id = created["id"].as_str().unwrap().to_owned();
    // Then within one scheduling period it is routed to the city administration with a deadline
    let m = host.wait_routed(&alice, &id, Duration::from_secs(2)).await;
    assert_eq!(m["status"], "routed");
    assert_eq!(m["authority_id"], "adm-tyumen");
    let deadline = m["deadline"].as_str().unwrap();
    assert!(deadline.ends_with("T23:59:59+05:00"), "deadline {deadline}");
    let history = m["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!((history[0]["from"].clone(), history[0]["to"].clone()), (Value::Null, json!("submitted")));
    assert_eq!((history[1]["from"].clone(), history[1]["to"].clone()), (json!("submitted"), json!("routed")));
    assert_eq!(history[1]["actor_role"], "system");
    assert!(history.iter().all(|h| h.get("actor_id").is_none()), "a resident never sees person ids");
    // And another citizen, or an official of another authority, gets 404
    let bob = host.citizen("bob").await;
    let r = host.get(&bob, &format!("/v1/messages/{id}")).await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let other = host.official("o-2", "adm-ishim").await;
    assert_eq!(host.get(&other, &format!("/v1/messages/{id}")).await.status(), 404);
    // While the assigned authority's official and an admin can read it; the admin sees who acted
    let official = host.official("o-1", "adm-tyumen").await;
    assert_eq!(host.get(&official, &format!("/v1/messages/{id}")).await.status(), 200);
    let admin = host.admin("admin-1").await;
    let seen: Value = host.get(&admin, &format!("/v1/messages/{id}")).await.json().await.unwrap();
    assert_eq!(seen["history"][0]["actor_id"], "alice");
    // And Bob's own list is empty while Alice's holds the message
    let list: Value = host.get(&bob, "/v1/messages").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let list: Value = host.get(&alice, "/v1/messages").await.json().await.unwrap();
    assert_eq!(list["items"][0]["id"], id.as_str());
    assert_eq!(list["next_cursor"], Value::Null);
}

#[tokio::test]
async fn fifty_concurrent_posts_with_one_key_create_exactly_one_message() {
    let data = temp_data_dir("idem");
    let host = std::sync::Arc::new(Host::start(&data, &[], &[]).await);
    let alice = host.citizen("alice").await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (host, alice) = (host.clone(), alice.clone());
        tasks.push(tokio::spawn(async move {
            let r = host.post_message(&alice, Some("same-key-1"), &pothole()).await;
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            201 => {
                ids.insert(body["id"].as_str().unwrap().to_owned());
            }
            409 => assert_eq!(body["code"], "request_in_progress"),
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    assert_eq!(ids.len(), 1, "every replay names the same message");
    let list: Value = host.get(&alice, "/v1/messages").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // The same key with another body is refused and stores nothing
    let mut other = pothole();
    other["text"] = json!("Совсем другая проблема: не горит фонарь во дворе");
    let r = host.post_message(&alice, Some("same-key-1"), &other).await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "idempotency_key_reused");
    let list: Value = host.get(&alice, "/v1/messages").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_acknowledged_message_survives_kill_9_and_is_still_routed() {
    let data = temp_data_dir("kill9");
    // Given a host that polls slowly, so the kill lands before routing
    let host = Host::start(&data, &["--schedule-every", "60s"], &[]).await;
    let alice = host.citizen("alice").await;
    let r = host.post_message(&alice, Some("durable-1"), &pothole()).await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    // When the process is killed right after the 201
    host.kill9().await;
    // Then after a restart the message is there and gets routed
    let host = Host::start(&data, &["--schedule-every", "1s"], &[]).await;
    let alice = host.citizen("alice").await;
    let m = host.wait_routed(&alice, &id, Duration::from_secs(5)).await;
    assert_eq!(m["status"], "routed");
    assert_eq!(m["history"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_requests_get_problem_json_and_store_nothing() {
    let data = temp_data_dir("bad");
    let host = Host::start(&data, &[], &[]).await;
    let alice = host.citizen("alice").await;
    let post = |body: String, ct: &'static str| {
        host.http.post(host.url("/v1/messages")).bearer_auth(&alice).header("content-type", ct).body(body).send()
    };
    let cases: Vec<(reqwest::Response, u16, &str)> = vec![
        (post("{not json".into(), "application/json").await.unwrap(), 400, "malformed_json"),
        (post(pothole().to_string(), "text/plain").await.unwrap(), 415, "unsupported_media_type"),
        (post("x".repeat(70 * 1024), "application/json").await.unwrap(), 413, "payload_too_large"),
        (
            post(json!({"category_id": "dorogi-yamy", "text": 5}).to_string(), "application/json").await.unwrap(),
            422,
            "validation_failed",
        ),
        (
            post(
                json!({"category_id": "dorogi-yamy", "text": "Яма на дороге у дома", "status": "closed"}).to_string(),
                "application/json",
            )
            .await
            .unwrap(),
            422,
            "validation_failed",
        ),
        (
            post(
                json!({"category_id": "dorogi-yamy", "text": "Яма на дороге у дома", "colour": "red"}).to_string(),
                "application/json",
            )
            .await
            .unwrap(),
            422,
            "validation_failed",
        ),
        (
            post(json!({"category_id": "net-takoy", "text": "Яма на дороге у дома"}).to_string(), "application/json")
                .await
                .unwrap(),
            422,
            "validation_failed",
        ),
        (
            post(json!({"category_id": "dorogi", "text": "Яма на дороге у дома"}).to_string(), "application/json")
                .await
                .unwrap(),
            422,
            "validation_failed",
        ),
        (
            post(
                json!({"category_id": "dorogi-yamy", "text": "Вы там охуели совсем, яма третий год"}).to_string(),
                "application/json",
            )
            .await
            .unwrap(),
            422,
            "moderation_failed",
        ),
        (
            post(json!({"category_id": "dorogi-yamy", "text": "ааааааааааааааааааа"}).to_string(), "application/json")
                .await
                .unwrap(),
            422,
            "moderation_failed",
        ),
        (host.http.post(host.url("/v1/messages")).json(&pothole()).send().await.unwrap(), 401, "unauthorized"),
        (
            host.http.post(host.url("/v1/messages")).bearer_auth("not-a-token").json(&pothole()).send().await.unwrap(),
            401,
            "unauthorized",
        ),
        (host.get(&alice, "/v1/messages?limit=0").await, 422, "validation_failed"),
        (host.get(&alice, "/v1/messages?cursor=%%%").await, 422, "validation_failed"),
        (host.get(&alice, "/v1/nothing-here").await, 404, "not_found"),
    ];
    for (r, status, code) in cases {
        assert_eq!(r.status().as_u16(), status);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(body["status"], status);
    }
    let official = host.official("o-1", "adm-tyumen").await;
    let r = host.post_message(&official, None, &pothole()).await;
    assert_eq!(r.status(), 403);
    let list: Value = host.get(&alice, "/v1/messages").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "nothing was stored");
}

#[tokio::test]
async fn the_submission_limit_returns_429_with_retry_after() {
    let data = temp_data_dir("rate");
    let host = Host::start(&data, &[], &[("FEEDBACK_SUBMISSIONS_PER_HOUR", "2")]).await;
    let alice = host.citizen("alice").await;
    for _ in 0..2 {
        assert_eq!(host.post_message(&alice, None, &pothole()).await.status(), 201);
    }
    let r = host.post_message(&alice, None, &pothole()).await;
    assert_eq!(r.status(), 429);
    // the quota is per clock hour: Retry-After points at the start of the next one
    let retry: i64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "Retry-After {retry}");
    let next_window = (chrono::Utc::now().timestamp() + retry) % 3600;
    assert!(next_window <= 5 || next_window >= 3595, "Retry-After {retry} does not end the hour");
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "rate_limited");
}

#[tokio::test]
async fn sixty_racing_submissions_store_exactly_the_hourly_limit() {
    let data = temp_data_dir("rate-race");
    let host = std::sync::Arc::new(Host::start(&data, &[], &[("FEEDBACK_SUBMISSIONS_PER_HOUR", "20")]).await);
    let alice = host.citizen("alice").await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (host, alice) = (host.clone(), alice.clone());
        tasks.push(tokio::spawn(async move {
            let text = format!("Яма номер {i} на проезжей части у дома 15 по улице Республики");
            let body = json!({"category_id": "dorogi-yamy", "text": text});
            host.post_message(&alice, None, &body).await.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let created = statuses.iter().filter(|s| **s == 201).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((created, limited), (20, 40), "{statuses:?}");
    let list: Value = host.get(&alice, "/v1/messages?limit=100").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 20, "exactly the limit is stored");
}

#[tokio::test]
async fn racing_comments_and_flags_stay_within_their_hourly_limits() {
    let data = temp_data_dir("comment-race");
    let host = std::sync::Arc::new(Host::start(&data, &[], &[("FEEDBACK_COMMENTS_PER_HOUR", "20")]).await);
    let admin = host.admin("admin-1").await;
    let now = chrono::Utc::now();
    let body = json!({
        "title": "Благоустройство сквера на улице Мельникайте",
        "opens_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
        "closes_at": (now + chrono::Duration::days(7)).to_rfc3339()
    });
    let r = host.http.post(host.url("/v1/discussions")).bearer_auth(&admin).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let alice = host.citizen("alice").await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (host, alice, id) = (host.clone(), alice.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({"text": format!("Поддерживаю, вариант {i}")});
            let url = host.url(&format!("/v1/discussions/{id}/comments"));
            let r = host.http.post(url).bearer_auth(&alice).json(&body).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }));
    }
    let mut comments = Vec::new();
    let mut limited = 0;
    for t in tasks {
        match t.await.unwrap() {
            (201, c) => comments.push(c["id"].as_str().unwrap().to_owned()),
            (429, _) => limited += 1,
            (other, body) => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((comments.len(), limited), (20, 40));
    // flags spend their own hourly quota: the 21st flag of one resident is refused
    let bob = host.citizen("bob").await;
    let mut statuses = Vec::new();
    for c in comments.iter().take(20) {
        let url = host.url(&format!("/v1/comments/{c}/flags"));
        statuses.push(host.http.post(url).bearer_auth(&bob).json(&json!({})).send().await.unwrap().status().as_u16());
    }
    assert!(statuses.iter().all(|s| *s == 200 || *s == 201), "{statuses:?}");
    let carol = host.citizen("carol").await;
    let extra = json!({"text": "Ещё один комментарий"});
    let r = host.http.post(host.url(&format!("/v1/discussions/{id}/comments"))).bearer_auth(&carol).json(&extra);
    let extra_id = r.send().await.unwrap().json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let r = host.http.post(host.url(&format!("/v1/comments/{extra_id}/flags"))).bearer_auth(&bob).json(&json!({}));
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn a_resident_over_the_limit_is_refused_before_moderation() {
    let data = temp_data_dir("rate-first");
    let host = Host::start(&data, &[], &[("FEEDBACK_SUBMISSIONS_PER_HOUR", "1")]).await;
    let alice = host.citizen("alice").await;
    assert_eq!(host.post_message(&alice, None, &pothole()).await.status(), 201);
    // a text moderation would refuse (422) is not even moderated: the quota answers first
    let empty_words = json!({"category_id": "dorogi-yamy", "text": "ааааааааааааааааааааааааааааааа"});
    let r = host.post_message(&alice, None, &empty_words).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "rate_limited");
    // an idempotent replay of the accepted request is still answered
    let bob = host.citizen("bob").await;
    let first: Value = host.post_message(&bob, Some("once"), &pothole()).await.json().await.unwrap();
    let replay = host.post_message(&bob, Some("once"), &pothole()).await;
    assert!(replay.status().is_success(), "{}", replay.status());
    assert_eq!(replay.json::<Value>().await.unwrap()["id"], first["id"]);
}

#[tokio::test]
async fn an_admin_replaces_routing_rules_and_new_messages_follow_them() {
    let data = temp_data_dir("rules");
    let host = Host::start(&data, &["--schedule-every", "1s"], &[]).await;
    let admin = host.admin("admin-1").await;
    let alice = host.citizen("alice").await;
    let put =
        |token: String, body: Value| host.http.put(host.url("/v1/routing-rules")).bearer_auth(token).json(&body).send();
    // A citizen may not change rules
    assert_eq!(put(alice.clone(), json!([])).await.unwrap().status(), 403);
    // An unknown id is refused with the entry named, and nothing changes
    let r =
        put(admin.clone(), json!([{"category_id": "dorogi-yamy", "municipality_id": null, "authority_id": "nobody"}]))
            .await
            .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert!(body["errors"][0]["field"].as_str().unwrap().contains("routing_rules[0]"), "{body}");
    // A valid replacement is stored and used
    let rules = json!([{"category_id": "dorogi-yamy", "municipality_id": "tyumen", "authority_id": "ddit-72"}]);
    let r = put(admin.clone(), rules).await.unwrap();
    assert_eq!(r.status(), 200);
    let stored: Value = host.get(&admin, "/v1/routing-rules").await.json().await.unwrap();
    assert_eq!(stored["items"].as_array().unwrap().len(), 1);
    let id = host.post_message(&alice, None, &pothole()).await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let m = host.wait_routed(&alice, &id, Duration::from_secs(3)).await;
    assert_eq!(m["authority_id"], "ddit-72");
    // With no rule for the category, a message goes to the ЦУР
    let mut other = pothole();
    other["category_id"] = json!("zhkh-musor");
    other["text"] = json!("Мусорные контейнеры переполнены уже неделю");
    let id =
        host.post_message(&alice, None, &other).await.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let m = host.wait_routed(&alice, &id, Duration::from_secs(3)).await;
    assert_eq!(m["authority_id"], "tsur-72");
}

#[tokio::test]
async fn production_mode_has_no_dev_routes_and_refuses_dev_tokens() {
    let data = temp_data_dir("oidc");
    std::fs::create_dir_all(&data).unwrap();
    let dev = Host::start(&data, &[], &[]).await;
    let token = dev.citizen("alice").await;
    dev.kill9().await;
    let jwks = data.join("jwks.json");
    std::fs::write(&jwks, r#"{"keys":[]}"#).unwrap();
    let args = [
        "--auth",
        "oidc",
        "--issuer",
        "https://id.example.ru",
        "--audience",
        "feedback",
        "--jwks",
        jwks.to_str().unwrap(),
    ];
    let host = Host::start(&data, &args, &[]).await;
    let r =
        host.http.post(host.url("/v1/dev/tokens")).json(&json!({"sub": "x", "roles": ["admin"]})).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(host.get(&token, "/v1/messages").await.status(), 401);
    // Public reads still work
    let cats: Value = host.http.get(host.url("/v1/categories")).send().await.unwrap().json().await.unwrap();
    assert!(cats["items"].as_array().unwrap().len() >= 25);
    assert_eq!(host.http.get(host.url("/healthz")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_full_lifecycle_over_http_ends_closed_with_its_history_and_notifications() {
    let data = temp_data_dir("lifecycle");
    let host = Host::start(&data, &["--schedule-every", "1s"], &[]).await;
    let alice = host.citizen("alice").await;
    let official = host.official("o-1", "adm-tyumen").await;
    let post = |token: String, path: String, body: Value| {
        host.http.post(host.url(&path)).bearer_auth(token).json(&body).send()
    };
    // submit → routed
    let id = host.post_message(&alice, None, &pothole()).await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    host.wait_routed(&alice, &id, Duration::from_secs(3)).await;
    // the official finds it in the queue, takes it and answers
    let queue: Value = host.get(&official, "/v1/authority/messages").await.json().await.unwrap();
    assert!(queue["items"].as_array().unwrap().iter().any(|m| m["id"] == id.as_str()));
    let steps: Vec<(String, String, Value, &str)> = vec![
        (official.clone(), "take".into(), json!({}), "in_progress"),
        (official.clone(), "answer".into(), json!({"text": "Яма засыпана щебнем, асфальт уложим весной"}), "answered"),
        (
            alice.clone(),
            "rating".into(),
            json!({"score": 2, "comment": "Щебень уже размыло", "reopen": true}),
            "reopened",
        ),
        (official.clone(), "answer".into(), json!({"text": "Выполнен ремонт покрытия горячим асфальтом"}), "answered"),
        (alice.clone(), "rating".into(), json!({"score": 5, "comment": "Спасибо!"}), "closed"),
    ];
    for (token, action, body, status) in steps {
        let r = post(token, format!("/v1/messages/{id}/{action}"), body).await.unwrap();
        assert_eq!(r.status(), 200, "{action}");
        assert_eq!(r.json::<Value>().await.unwrap()["status"], status, "{action}");
    }
    // answering a closed message is a conflict
    let r = post(official.clone(), format!("/v1/messages/{id}/answer"), json!({"text": "Ещё один ответ по сообщению"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "invalid_transition");
    // the history holds every step, officials shown as their authority
    let m: Value = host.get(&alice, &format!("/v1/messages/{id}")).await.json().await.unwrap();
    let history = m["history"].as_array().unwrap();
    assert!(history.len() >= 6, "{history:?}");
    let by_official: Vec<&Value> = history.iter().filter(|h| h["actor_role"] == "official").collect();
    assert!(by_official.iter().all(|h| h["actor_authority_id"] == "adm-tyumen"
        && h["actor_authority_name"] == "Администрация города Тюмени"
        && h.get("actor_id").is_none()));
    assert_eq!(m["rating"]["score"], 5);
    assert_eq!(m["answer"]["text"], "Выполнен ремонт покрытия горячим асфальтом");
    // and Alice was told about each step she should hear about
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let n: Value = host.get(&alice, "/v1/me/notifications").await.json().await.unwrap();
        let kinds: Vec<&str> = n["items"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
        if kinds == ["closed", "answered", "answered", "in_progress", "routed"] {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "notifications were {kinds:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The region's analytics count every step once, by category, for the admin
    let admin = host.admin("admin-1").await;
    let report: Value = host.get(&admin, "/v1/analytics/messages?group_by=category").await.json().await.unwrap();
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{report}");
    let g = &groups[0];
    assert_eq!((g["key"].as_str(), g["name"].as_str()), (Some("dorogi-yamy"), Some("Ямы на дорогах")));
    let counts: Vec<i64> = ["submitted", "routed", "answered", "reopened", "closed", "rating_count"]
        .iter()
        .map(|f| g[*f].as_i64().unwrap())
        .collect();
    assert_eq!(counts, vec![1, 1, 2, 1, 1, 2], "{g}");
    assert_eq!((g["rating_avg"].as_f64(), g["rating_4_5_share"].as_f64()), (Some(3.5), Some(0.5)));
    // the same groups as CSV, with a header row
    let csv = host.get(&admin, "/v1/analytics/messages.csv?group_by=category").await;
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let bytes = csv.bytes().await.unwrap();
    let text = std::str::from_utf8(&bytes).unwrap().strip_prefix('\u{feff}').expect("a byte order mark first");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("key,name,submitted,routed,answered"), "{text}");
    assert!(lines[1].starts_with("dorogi-yamy,Ямы на дорогах,1,1,2,"), "{text}");
    // and as a spreadsheet for people: a zip of Office Open XML with the Russian headers
    let xlsx = host.get(&admin, "/v1/analytics/messages.xlsx?group_by=category").await;
    assert_eq!(xlsx.status(), 200);
    assert_eq!(xlsx.headers()["content-type"], feedback_lambda::XLSX);
    let book = xlsx.bytes().await.unwrap();
    assert!(book.starts_with(b"PK\x03\x04"), "a zip container");
    // the official sees their authority; the resident is refused; a backwards range is invalid
    let ranking: Value = host.get(&official, "/v1/analytics/authorities").await.json().await.unwrap();
    assert_eq!(ranking["items"][0]["authority_id"], "adm-tyumen");
    let r = host.get(&alice, "/v1/analytics/messages").await;
    assert_eq!((r.status().as_u16(), r.headers()["content-type"].to_str().unwrap()), (403, "application/problem+json"));
    let r = host.get(&admin, "/v1/analytics/messages?from=2026-11-28&to=2026-11-01").await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["errors"][0]["field"], "from");
    // and the counters agree with a recount of the history
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedback"))
        .args(["reconcile", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains(", 0 differences"), "{stdout}");
}

#[tokio::test]
async fn a_photo_is_uploaded_attached_and_read_only_by_those_who_may_read_the_message() {
    let data = temp_data_dir("photos");
    let host = Host::start(&data, &[], &[]).await;
    let alice = host.citizen("alice").await;
    let jpeg: Vec<u8> = [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[0x42; 2000][..], &[0xFF, 0xD9][..]].concat();
    let announce =
        |token: String, body: Value| host.http.post(host.url("/v1/photos")).bearer_auth(token).json(&body).send();
    // wrong type and oversize are refused
    for bad in [
        json!({"content_type": "image/gif", "size_bytes": 100}),
        json!({"content_type": "image/jpeg", "size_bytes": 6_000_000}),
    ] {
        let r = announce(alice.clone(), bad).await.unwrap();
        assert_eq!(r.status(), 422);
    }
    // announce, then upload to the signed URL
    let r = announce(alice.clone(), json!({"content_type": "image/jpeg", "size_bytes": jpeg.len()})).await.unwrap();
    assert_eq!(r.status(), 201);
    let p: Value = r.json().await.unwrap();
    let (photo_id, upload) = (p["photo_id"].as_str().unwrap().to_owned(), p["upload_url"].as_str().unwrap().to_owned());
    let put =
        |url: String, ct: &'static str, body: Vec<u8>| host.http.put(url).header("content-type", ct).body(body).send();
    assert_eq!(put(upload.replace("sig=", "sig=0"), "image/jpeg", jpeg.clone()).await.unwrap().status(), 403);
    assert_eq!(put(upload.clone(), "image/png", jpeg.clone()).await.unwrap().status(), 400);
    assert_eq!(put(upload.clone(), "image/jpeg", jpeg[..100].to_vec()).await.unwrap().status(), 400);
    assert_eq!(put(upload.clone(), "image/jpeg", jpeg.clone()).await.unwrap().status(), 200);
    // Bob cannot attach Alice's photo; Alice can
    let bob = host.citizen("bob").await;
    let mut msg = pothole();
    msg["photo_ids"] = json!([photo_id]);
    let r = host.post_message(&bob, None, &msg).await;
    assert_eq!(r.status(), 422);
    let r = host.post_message(&alice, None, &msg).await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    // Alice reads it back byte for byte; Bob gets 404
    let path = format!("/v1/messages/{id}/photos/{photo_id}");
    let link: Value = host.get(&alice, &path).await.json().await.unwrap();
    let got = host.http.get(link["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(got.headers()["content-type"], "image/jpeg");
    assert_eq!(got.bytes().await.unwrap().to_vec(), jpeg);
    assert_eq!(host.get(&bob, &path).await.status(), 404);
    // Four photos are too many
    msg["photo_ids"] = json!([photo_id, photo_id, photo_id, photo_id]);
    assert_eq!(host.post_message(&alice, None, &msg).await.status(), 422);
}

#[tokio::test]
async fn a_vote_over_http_takes_one_secret_ballot_per_resident() {
    let data = temp_data_dir("vote");
    let host = Host::start(&data, &[], &[]).await;
    let admin = host.admin("admin-1").await;
    let now = chrono::Utc::now();
    let vote = json!({
        "kind": "vote",
        "title": "Какой объект благоустроить в 2027 году?",
        "questions": [{"text": "Выберите пространство", "kind": "single", "options": ["Набережная", "Сквер", "Парк"]}],
        "audience": {"municipalities": ["tyumen"], "min_age": 14},
        "opens_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
        "closes_at": (now + chrono::Duration::days(7)).to_rfc3339(),
        "results": "after_close"
    });
    let post =
        |token: &str, path: &str, body: &Value| host.http.post(host.url(path)).bearer_auth(token).json(body).send();
    // a citizen may not create polls; an invalid poll is refused; a valid one is open at once
    let alice = host.citizen("alice").await;
    assert_eq!(post(&alice, "/v1/polls", &vote).await.unwrap().status(), 403);
    let mut bad = vote.clone();
    bad["questions"][0]["options"] = json!(["Только один"]);
    assert_eq!(post(&admin, "/v1/polls", &bad).await.unwrap().status(), 422);
    let r = post(&admin, "/v1/polls", &vote).await.unwrap();
    assert_eq!(r.status(), 201);
    let poll: Value = r.json().await.unwrap();
    assert_eq!(poll["status"], "open");
    let id = poll["id"].as_str().unwrap();
    // Alice (Tyumen, adult) sees it and votes once
    let listed: Value = host.get(&alice, "/v1/polls?status=open").await.json().await.unwrap();
    assert_eq!(listed["items"][0]["has_voted"], false);
    let ballot = json!({"answers": [{"question": 0, "options": [2]}]});
    let r = post(&alice, &format!("/v1/polls/{id}/ballots"), &ballot).await.unwrap();
    assert_eq!(r.status(), 201);
    let receipt = r.json::<Value>().await.unwrap()["receipt"].as_str().unwrap().to_owned();
    let again = post(&alice, &format!("/v1/polls/{id}/ballots"), &ballot).await.unwrap();
    assert_eq!(again.status(), 409);
    assert_eq!(again.json::<Value>().await.unwrap()["code"], "already_voted");
    let checked: Value = host.get(&alice, &format!("/v1/ballots/{receipt}")).await.json().await.unwrap();
    assert_eq!(checked, json!({"poll_id": id, "counted": true}));
    // out-of-range answers are 422; results wait for the close
    let wrong = post(
        &host.citizen("bob").await,
        &format!("/v1/polls/{id}/ballots"),
        &json!({"answers": [{"question": 0, "options": [5]}]}),
    );
    assert_eq!(wrong.await.unwrap().status(), 422);
    let r = host.get(&alice, &format!("/v1/polls/{id}/results")).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "results_not_published");
    // a resident of another municipality is not eligible
    let ivan = host.token(json!({"sub": "ivan", "roles": ["citizen"], "region": "72", "municipality": "ishim", "birthdate": "1980-01-01"})).await;
    let r = post(&ivan, &format!("/v1/polls/{id}/ballots"), &ballot).await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "not_eligible");
    // the admin cancels it; ballots are then refused
    assert_eq!(post(&admin, &format!("/v1/polls/{id}/cancel"), &json!({})).await.unwrap().status(), 200);
    let r = post(&host.citizen("carol").await, &format!("/v1/polls/{id}/ballots"), &ballot).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "poll_not_open");
}
