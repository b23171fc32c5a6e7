// Test code: helpers outside #[test] functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

//! The sender against a real receiver (`tests/receivers/push_receiver.py`, run with
//! `$FEEDBACK_TEST_PYTHON`): it checks the VAPID JWT and decrypts the payload as a browser does.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use feedback_push::{EndpointPolicy, Notification, PushSender, SendError, Subscription, Urgency, VapidKey};
use serde_json::Value;

struct Receiver {
    child: Child,
    lines: BufReader<ChildStdout>,
    subscription: Value,
}

impl Receiver {
    fn start(args: &[&str]) -> Self {
        let python = std::env::var("FEEDBACK_TEST_PYTHON").expect(
            "FEEDBACK_TEST_PYTHON must name a Python with http-ece, cryptography and pyjwt \
             (scripts/test.sh makes one)",
        );
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/receivers/push_receiver.py");
        let mut child = Command::new(python)
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the push receiver starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let first = read_line(&mut lines);
        Self { child, lines, subscription: first["subscription"].clone() }
    }

    fn subscription(&self) -> Subscription {
        let s = &self.subscription;
        Subscription::parse(
            s["endpoint"].as_str().unwrap(),
            s["keys"]["p256dh"].as_str().unwrap(),
            s["keys"]["auth"].as_str().unwrap(),
            EndpointPolicy::AllowLoopbackHttp,
        )
        .unwrap()
    }

    fn next_push(&mut self) -> Value {
        read_line(&mut self.lines)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn read_line(lines: &mut BufReader<ChildStdout>) -> Value {
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    assert!(!line.is_empty(), "the push receiver ended early");
    serde_json::from_str(&line).unwrap()
}

fn sender(policy: EndpointPolicy) -> PushSender {
    PushSender::new(VapidKey::generate().unwrap(), "mailto:ops@feedback.example", policy).unwrap()
}

fn notification() -> Notification {
    Notification {
        title: "Ответ на обращение".into(),
        body: "Обращение №42: работы запланированы на май.".into(),
        url: "/messages/01J0000000000000000000000".into(),
    }
}

#[tokio::test]
async fn the_receiver_accepts_the_jwt_and_decrypts_the_exact_payload() {
    let mut receiver = Receiver::start(&[]);
    let sender = sender(EndpointPolicy::AllowLoopbackHttp);
    sender.send(&receiver.subscription(), &notification(), Urgency::High).await.unwrap();
    let push = receiver.next_push();
    assert_eq!(push["accepted"], true, "{push}");
    let payload: Value = serde_json::from_str(push["plaintext"].as_str().unwrap()).unwrap();
    assert_eq!(
        payload,
        serde_json::json!({
            "title": "Ответ на обращение",
            "body": "Обращение №42: работы запланированы на май.",
            "url": "/messages/01J0000000000000000000000",
        })
    );
    assert_eq!(push["claims"]["sub"], "mailto:ops@feedback.example");
    assert_eq!(push["headers"]["urgency"], "high");
    assert_eq!(push["headers"]["ttl"], "43200");
}

#[tokio::test]
async fn a_410_means_the_subscription_is_gone() {
    let mut receiver = Receiver::start(&["--status", "410"]);
    let outcome = sender(EndpointPolicy::AllowLoopbackHttp)
        .send(&receiver.subscription(), &notification(), Urgency::Normal)
        .await;
    assert_eq!(outcome, Err(SendError::Gone));
    assert_eq!(receiver.next_push()["accepted"], true);
}

#[tokio::test]
async fn a_private_address_is_refused_before_any_connection() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let receiver = Receiver::start(&[]);
    let keys = &receiver.subscription["keys"];
    let (p256dh, auth) = (keys["p256dh"].as_str().unwrap(), keys["auth"].as_str().unwrap());
    let strict = sender(EndpointPolicy::PublicHttps);
    for endpoint in [format!("https://127.0.0.1:{port}/push"), format!("http://127.0.0.1:{port}/push")] {
        assert!(Subscription::parse(&endpoint, p256dh, auth, EndpointPolicy::PublicHttps).is_err());
        let subscription = Subscription::parse(&endpoint, p256dh, auth, EndpointPolicy::AllowLoopbackHttp).unwrap();
        let outcome = strict.send(&subscription, &notification(), Urgency::Normal).await;
        assert!(matches!(outcome, Err(SendError::Permanent(_))), "{endpoint}: {outcome:?}");
    }
    let accepted = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
    assert!(accepted.is_err(), "the sender connected to a refused address");
}
