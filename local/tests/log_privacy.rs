//! No log line carries personal data or a secret: a full scenario over HTTP (submission with
//! personal data in the text, routing, answer, rating, a ballot and its receipt check, Open311
//! reads and an Open311 submission, the resident's data export and erasure, refused requests)
//! runs against a host logging at `debug`, and every line it writes is scanned for the tokens,
//! the API key, the receipt, the resident's id, phone numbers, e-mails, the passport number and
//! the texts.

// Test code: helpers outside #[test] functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{temp_data_dir, Host, Lines};
use serde_json::{json, Value};
use std::time::Duration;

const RESIDENT: &str = "esia-logscan-7f3k2q";
const PHONE: &str = "+7 912 345-67-89";
const EMAIL: &str = "ivan.logscan@example.ru";
const PASSPORT: &str = "7100 123456";
const TEXT: &str = "Пятую неделю течёт крыша над подъездом";
const ANSWER: &str = "Подрядчик заменит кровельное покрытие";
const OPEN311_TEXT: &str = "Разбитый фонарь у остановки Лесобаза";
const OPEN311_EMAIL: &str = "petrova.logscan@example.ru";
const OPEN311_PHONE: &str = "79990001122";

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn no_log_line_of_a_full_scenario_carries_personal_data_or_a_secret() {
    let lines: Lines = Default::default();
    let data = temp_data_dir("log-privacy");
    let host = Host::start_capturing(&data, &["--schedule-every", "1s"], &[("RUST_LOG", "debug")], lines.clone()).await;
    let post =
        |token: &str, path: &str, body: &Value| host.http.post(host.url(path)).bearer_auth(token).json(body).send();

    let resident = host
        .token(json!({"sub": RESIDENT, "roles": ["citizen"], "region": "72", "municipality": "tyumen",
            "birthdate": "1990-01-01"}))
        .await;
    let admin = host.admin("admin-logscan").await;
    let official = host.official("official-logscan", "gzhi").await;

    // a public message with personal data in its text
    let text = format!("{TEXT}, кв. 12. Звоните {PHONE} или пишите {EMAIL}, паспорт {PASSPORT}.");
    let body = json!({"category_id": "zhkh-otoplenie", "text": text, "public": true,
        "address": "Тюмень, ул. Республики, д. 15, кв. 12", "location": {"lat": 57.153, "lon": 65.534}});
    let r = host.post_message(&resident, Some("logscan-key-1"), &body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let routed = host.wait_routed(&resident, &id, Duration::from_secs(20)).await;
    let authority = routed["authority_id"].as_str().unwrap().to_owned();
    let official = if authority == "gzhi" { official } else { host.official("official-logscan", &authority).await };
    assert_eq!(post(&official, &format!("/v1/messages/{id}/take"), &json!({})).await.unwrap().status(), 200);
    let answered = post(&official, &format!("/v1/messages/{id}/answer"), &json!({"text": ANSWER})).await.unwrap();
    assert_eq!(answered.status(), 200);
    let rated = post(&resident, &format!("/v1/messages/{id}/rating"), &json!({"score": 5})).await.unwrap();
    assert_eq!(rated.status(), 200);
    assert_eq!(host.get(&resident, "/v1/me/notifications").await.status(), 200);

    // a ballot and its receipt
    let now = chrono::Utc::now();
    let vote = json!({"kind": "vote", "title": "Какой двор благоустроить?",
        "questions": [{"text": "Выберите двор", "kind": "single", "options": ["Первый", "Второй"]}],
        "opens_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
        "closes_at": (now + chrono::Duration::days(7)).to_rfc3339(), "results": "live"});
    let poll: Value = post(&admin, "/v1/polls", &vote).await.unwrap().json().await.unwrap();
    let poll_id = poll["id"].as_str().unwrap();
    let ballot = json!({"answers": [{"question": 0, "options": [1]}]});
    let cast = post(&resident, &format!("/v1/polls/{poll_id}/ballots"), &ballot).await.unwrap();
    assert_eq!(cast.status(), 201);
    let receipt = cast.json::<Value>().await.unwrap()["receipt"].as_str().unwrap().to_owned();
    assert_eq!(host.get(&resident, &format!("/v1/ballots/{receipt}")).await.status(), 200);
    assert_eq!(post(&resident, &format!("/v1/polls/{poll_id}/ballots"), &ballot).await.unwrap().status(), 409);

    // Open311: an integration's key, its submission with contact data, public reads
    let made: Value =
        post(&admin, "/v1/integrations", &json!({"name": "Городское приложение"})).await.unwrap().json().await.unwrap();
    let key = made["api_key"].as_str().unwrap().to_owned();
    let form = format!(
        "api_key={key}&jurisdiction_id=72&service_code=dorogi-yamy&lat=57.1530&long=65.5343&email={}&phone={}\
         &description={}",
        encode(OPEN311_EMAIL),
        OPEN311_PHONE,
        encode(OPEN311_TEXT)
    );
    let filed = host
        .http
        .post(host.url("/open311/v2/requests.json"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(filed.status(), 201);
    for path in [format!("/open311/v2/requests/{id}.json"), "/open311/v2/requests.json".to_owned()] {
        assert_eq!(host.http.get(host.url(&path)).send().await.unwrap().status(), 200, "{path}");
    }

    // the resident downloads their data, then has it erased
    let export = host.get(&resident, "/v1/me/data").await;
    assert_eq!(export.status(), 200);
    let export: Value = export.json().await.unwrap();
    assert_eq!(export["messages"][0]["message"]["id"], id.as_str());
    let erased = host.http.delete(host.url("/v1/me")).bearer_auth(&resident).send().await.unwrap();
    assert_eq!(erased.status(), 200);
    assert_eq!(erased.json::<Value>().await.unwrap()["messages_pseudonymised"], 1);

    // refused requests: a forged token, a bad body, someone else's message
    let forged = format!("{resident}x");
    assert_eq!(host.get(&forged, "/v1/messages").await.status(), 401);
    let bad = host.post_message(&resident, None, &json!({"category_id": "nope", "text": text})).await;
    assert_eq!(bad.status(), 422);
    let stranger = host.citizen("someone-else").await;
    assert_eq!(host.get(&stranger, &format!("/v1/messages/{id}")).await.status(), 404);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let logs = lines.lock().unwrap().clone();
    assert!(logs.iter().any(|l| l.contains("POST /v1/messages")), "the capture holds request lines: {logs:?}");
    assert!(logs.iter().any(|l| l.contains("GET /v1/ballots/{receipt}")), "{logs:?}");
    assert!(logs.iter().any(|l| l.contains("DELETE /v1/me")), "the erasure is logged: {logs:?}");
    let signature = |t: &str| t.rsplit('.').next().unwrap().to_owned();
    let mut secrets = vec![
        ("the resident's token", resident.clone()),
        ("the resident's token signature", signature(&resident)),
        ("the official's token signature", signature(&official)),
        ("the admin's token signature", signature(&admin)),
        ("the API key", key.clone()),
        ("the receipt", receipt.clone()),
        ("the resident's id", RESIDENT.to_owned()),
        ("a phone number", "345-67-89".to_owned()),
        ("a phone number", OPEN311_PHONE.to_owned()),
        ("an e-mail", EMAIL.to_owned()),
        ("an e-mail", OPEN311_EMAIL.to_owned()),
        ("a passport number", PASSPORT.to_owned()),
        ("the message text", TEXT.to_owned()),
        ("the answer", ANSWER.to_owned()),
        ("the Open311 text", OPEN311_TEXT.to_owned()),
        ("an address", "Республики".to_owned()),
    ];
    secrets.push(("the Open311 text, encoded", encode(OPEN311_TEXT)));
    for line in &logs {
        for (what, secret) in &secrets {
            assert!(!line.contains(secret.as_str()), "a log line carries {what}: {line}");
        }
    }
    assert!(logs.len() > 20, "only {} lines were logged", logs.len());
    host.kill9().await;
    let _ = std::fs::remove_dir_all(&data);
}
