// Test code: helpers outside #[test] functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

//! Residents' e-mail through a real SMTP server (aiosmtpd, `tests/receivers/smtp_sink.py`, run
//! with `$FEEDBACK_TEST_PYTHON`): one mail per transition even when the notification job comes
//! again, its headers and both parts, one-click unsubscribe, and subscribers told of public news
//! only.

mod common;

use common::{pothole, temp_data_dir, Host};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::{Child, Command};

struct Sink {
    child: Child,
    out: PathBuf,
    port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Sink {
    async fn start(out: &Path) -> Sink {
        Self::start_on(out, free_port()).await
    }

    async fn start_on(out: &Path, port: u16) -> Sink {
        let python = std::env::var("FEEDBACK_TEST_PYTHON")
            .expect("FEEDBACK_TEST_PYTHON must name a Python with aiosmtpd (scripts/test.sh sets it)");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/receivers/smtp_sink.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg("--port")
            .arg(port.to_string())
            .arg("--out")
            .arg(out)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the SMTP sink");
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.expect("sink start");
        assert_eq!(ready.unwrap().as_deref(), Some("ready"), "the SMTP sink did not start");
        Sink { child, out: out.to_owned(), port }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn mails(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.out.join("mails.jsonl")).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// Waits until `n` mails arrived, then a little longer to see that no more come.
    async fn expect(&self, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.mails().len() < n {
            assert!(tokio::time::Instant::now() < deadline, "expected {n} mails, got {:#?}", self.mails());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let got = self.mails();
        assert_eq!(got.len(), n, "exactly {n} mails: {got:#?}");
        got
    }
}

async fn resident(host: &Host, sub: &str) -> String {
    host.token(json!({"sub": sub, "roles": ["citizen"], "region": "72", "municipality": "tyumen", "birthdate": "1990-01-01", "email": format!("{sub}@example.ru")}))
        .await
}

/// Submits a message, waits until it is routed and returns its id and number.
async fn submit(host: &Host, token: &str, body: &Value) -> (String, String) {
    let r = host.post_message(token, None, body).await;
    assert_eq!(r.status(), 201);
    let created = r.json::<Value>().await.unwrap();
    let (id, number) = (created["id"].as_str().unwrap().to_owned(), created["number"].as_str().unwrap().to_owned());
    host.wait_routed(token, &id, Duration::from_secs(5)).await;
    (id, number)
}

async fn start(name: &str) -> (Host, Sink, PathBuf) {
    let data = temp_data_dir(name);
    let sink = Sink::start(&data.with_extension("mails")).await;
    let host = Host::start(
        &data,
        &["--schedule-every", "1s", "--smtp-url", &sink.url(), "--mail-from", "noreply@feedback.test"],
        &[],
    )
    .await;
    (host, sink, data)
}

/// Puts every stored notification's job on the `notifications` queue again, as a redelivery
/// would.
fn redeliver_notifications(data: &Path) -> usize {
    let db = rusqlite::Connection::open(data.join("feedback.db")).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    db.execute(
        "INSERT INTO queue (queue, message_id, body, sent_ms, visible_ms)
         SELECT 'notifications', 'again-' || id, json_object('kind', 'notify', 'notification', json(doc)), 0, 0
         FROM notifications",
        [],
    )
    .unwrap()
}

#[tokio::test]
async fn one_mail_per_transition_with_one_click_unsubscribe() {
    let (host, sink, data) = start("mail-once").await;
    let alice = resident(&host, "alice").await;
    let official = host.official("o-1", "adm-tyumen").await;
    let (id, number) = submit(&host, &alice, &pothole()).await;
    for step in ["take", "answer"] {
        let body = if step == "answer" {
            json!({"text": "Яма засыпана <щебнем> & укатана"})
        } else {
            json!({})
        };
        let r = host
            .http
            .post(host.url(&format!("/v1/messages/{id}/{step}")))
            .bearer_auth(&official)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{step}");
    }
    let mails = sink.expect(3).await;
    assert!(redeliver_notifications(&data) >= 3);
    let mails_after = sink.expect(3).await;
    assert_eq!(mails, mails_after, "a redelivered job sends nothing again");

    let statuses = ["Направлено в орган власти", "В работе", "Дан ответ"];
    let link = host.url(&format!("/messages/{id}"));
    for m in &mails {
        assert_eq!(m["rcpt_tos"], json!(["alice@example.ru"]));
        assert_eq!(m["from"], "noreply@feedback.test");
        assert_eq!(m["to"], "alice@example.ru");
        assert_eq!(m["content_type"], "multipart/alternative");
        let subject = m["subject"].as_str().unwrap();
        assert!(subject.contains(&format!("Сообщение № {number}")), "the subject names the number: {subject}");
        assert!(statuses.iter().any(|s| subject.contains(s)), "{subject}");
        for part in ["text", "html"] {
            let body = m[part].as_str().unwrap();
            assert!(body.contains(&number) && body.contains(&link), "{part}: {body}");
            assert!(statuses.iter().any(|s| body.contains(s)), "{part}: {body}");
        }
        assert_eq!(m["list_unsubscribe_post"], "List-Unsubscribe=One-Click");
        let unsubscribe = m["list_unsubscribe"].as_str().unwrap();
        assert!(unsubscribe.starts_with(&format!("<{}", host.url("/v1/unsubscribe?token="))), "{unsubscribe}");
    }
    let answered = mails.iter().find(|m| m["subject"].as_str().unwrap().contains("Дан ответ")).unwrap();
    assert!(!answered["html"].as_str().unwrap().contains("<щебнем>"));

    let url = mails[0]["list_unsubscribe"].as_str().unwrap().trim_start_matches('<').trim_end_matches('>').to_owned();
    let forged = format!("{}x", url);
    let r = host.http.post(&forged).send().await.unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let page = host.http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("method=\"post\""));
    let prefs: Value = host.get(&alice, "/v1/me/preferences").await.json().await.unwrap();
    assert_eq!(prefs["channels"]["email"], true, "a GET changes nothing");
    let r = host
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"unsubscribed": "email"}));
    let prefs: Value = host.get(&alice, "/v1/me/preferences").await.json().await.unwrap();
    assert_eq!(prefs["channels"]["email"], false);
    let again = host.http.post(&url).send().await.unwrap();
    assert_eq!(again.status(), 200, "an empty body is a one-click unsubscribe too");
    submit(&host, &alice, &pothole()).await;
    sink.expect(3).await;
    drop(sink.child);
}

#[tokio::test]
async fn subscribers_hear_of_public_news_in_their_municipality_only() {
    let (host, sink, _data) = start("mail-subscribers").await;
    let alice = resident(&host, "alice").await;
    let bob = resident(&host, "bob").await;
    let r = host
        .http
        .put(host.url("/v1/me/preferences"))
        .bearer_auth(&bob)
        .json(&json!({"channels": {"email": true, "push": false, "sms": false}, "digest": "instant"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = host
        .http
        .post(host.url("/v1/me/subscriptions"))
        .bearer_auth(&bob)
        .json(&json!({"municipality_id": "tyumen"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let mut public = pothole();
    public["public"] = json!(true);
    submit(&host, &alice, &public).await;
    let mails = sink.expect(2).await;
    let mut to: Vec<&str> = mails.iter().map(|m| m["to"].as_str().unwrap()).collect();
    to.sort_unstable();
    assert_eq!(to, ["alice@example.ru", "bob@example.ru"]);
    submit(&host, &alice, &pothole()).await;
    let mails = sink.expect(3).await;
    assert_eq!(mails[2]["to"], "alice@example.ru", "a non-public message tells its author only");
    drop(sink.child);
}

/// A mail server that is down delays e-mail only: the in-portal notification arrives at once, the
/// delivery stays pending, and the mail goes out on the retry after the server is back (the
/// first retry waits a minute).
#[tokio::test]
async fn a_dead_mail_server_delays_email_only() {
    let data = temp_data_dir("mail-dead-server");
    let port = free_port();
    let host =
        Host::start(&data, &["--schedule-every", "1s", "--smtp-url", &format!("smtp://127.0.0.1:{port}")], &[]).await;
    let alice = resident(&host, "alice").await;
    submit(&host, &alice, &pothole()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let n: Value = host.get(&alice, "/v1/me/notifications").await.json().await.unwrap();
        if n["items"].as_array().is_some_and(|i| !i.is_empty()) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the in-portal notification did not arrive: {n}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sink = Sink::start_on(&data.with_extension("mails"), port).await;
    assert!(sink.mails().is_empty(), "nothing was sent while the server was down");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while sink.mails().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the mail did not go out after the server came back");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mails = sink.expect(1).await;
    assert_eq!(mails[0]["to"], "alice@example.ru");
    drop(sink.child);
}
