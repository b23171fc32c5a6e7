//! Property tests on the request parsers: arbitrary bodies, wrong types, huge strings, invalid
//! UTF-8, unknown and server-owned fields. Only 4xx problem+json comes back, in Russian, and
//! nothing is stored.

use feedback_core::ports::QueueName;
use feedback_tests::embedded::{app, App};
use feedback_tests::http_event;
use lambda_http::Body;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const CODES: &[&str] = &[
    "malformed_json",
    "validation_failed",
    "moderation_failed",
    "unsupported_media_type",
    "payload_too_large",
    "idempotency_key_reused",
];

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("category_id".to_string()),
        Just("text".to_string()),
        Just("municipality_id".to_string()),
        Just("address".to_string()),
        Just("location".to_string()),
        Just("photo_ids".to_string()),
        Just("public".to_string()),
        Just("status".to_string()),
        Just("authority_id".to_string()),
        Just("id".to_string()),
        Just("overdue".to_string()),
        "[a-z_]{1,12}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        (1usize..6000).prop_map(|n| Value::String("я".repeat(n))),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..8).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A body close to a valid message with one or more fields of a wrong type or value.
fn near_valid() -> impl Strategy<Value = Value> {
    (prop::collection::vec((field_name(), json_value()), 0..3)).prop_map(|overrides| {
        let mut m: Map<String, Value> = serde_json::from_value(json!({
            "category_id": "dorogi-yamy",
            "text": "Глубокая яма на проезжей части у дома 15",
        }))
        .unwrap_or_default();
        for (k, v) in overrides {
            m.insert(k, v);
        }
        Value::Object(m)
    })
}

#[derive(Debug, Clone)]
enum Input {
    Json(Value),
    Bytes(Vec<u8>),
    Text(String, String),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        json_value().prop_map(Input::Json),
        near_valid().prop_map(Input::Json),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Input::Bytes),
        (prop_oneof![Just("text/plain"), Just("application/xml"), Just("")], ".{0,50}")
            .prop_map(|(ct, body)| Input::Text(ct.to_string(), body)),
    ]
}

async fn count(app: &App) -> u64 {
    app.queue.depth(QueueName::Submitted).await.unwrap()
}

fn run(app: &App, rt: &tokio::runtime::Runtime, input: Input) -> Result<(), TestCaseError> {
    let mut req = http_event("apigw-post-messages.json");
    req.headers_mut().remove("idempotency-key");
    match &input {
        Input::Json(v) => *req.body_mut() = Body::Text(v.to_string()),
        Input::Bytes(b) => *req.body_mut() = Body::Binary(b.clone()),
        Input::Text(ct, body) => {
            req.headers_mut().insert("content-type", ct.parse().unwrap_or(http_header_fallback()));
            *req.body_mut() = Body::Text(body.clone());
        }
    }
    let before = rt.block_on(count(app));
    let resp = rt.block_on(submit_message::handle(&app.submit, req)).unwrap();
    let status = resp.status().as_u16();
    prop_assert!(status < 500, "5xx for {input:?}");
    if status == 201 {
        // A generated body may happen to be a valid message; then exactly one job is queued.
        prop_assert_eq!(rt.block_on(count(app)), before + 1);
        return Ok(());
    }
    prop_assert!((400..500).contains(&status), "status {} for {:?}", status, input);
    prop_assert_eq!(resp.headers()["content-type"].to_str().unwrap(), "application/problem+json");
    let body: Value = match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        other => return Err(TestCaseError::fail(format!("body {other:?}"))),
    };
    let code = body["code"].as_str().unwrap_or_default();
    prop_assert!(CODES.contains(&code), "code {code} for {input:?}");
    let texts = [&body["title"], &body["detail"]]
        .into_iter()
        .chain(body["errors"].as_array().into_iter().flatten().map(|e| &e["message"]));
    for text in texts {
        prop_assert!(text.as_str().is_some_and(has_cyrillic), "a text in Russian: {} for {:?}", body, input);
    }
    prop_assert_eq!(rt.block_on(count(app)), before, "nothing stored for a refused request");
    Ok(())
}

fn has_cyrillic(text: &str) -> bool {
    text.chars().any(|c| matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё'))
}

fn http_header_fallback() -> lambda_http::http::HeaderValue {
    lambda_http::http::HeaderValue::from_static("text/plain")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn request_parsers_answer_only_4xx_problems(input in input()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let app = rt.block_on(app(1_000_000));
        run(&app, &rt, input)?;
    }
}

#[test]
fn a_huge_body_is_413_and_invalid_utf8_is_400() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let app = rt.block_on(app(20));
    let mut req = http_event("apigw-post-messages.json");
    *req.body_mut() = Body::Text(format!("{{\"text\":\"{}\"}}", "x".repeat(70_000)));
    assert_eq!(rt.block_on(submit_message::handle(&app.submit, req)).unwrap().status(), 413);
    let mut req = http_event("apigw-post-messages.json");
    *req.body_mut() = Body::Binary(vec![0x7b, 0xff, 0xfe, 0x7d]);
    assert_eq!(rt.block_on(submit_message::handle(&app.submit, req)).unwrap().status(), 400);
}

/// A date-like string: valid dates, dates out of range, wrong formats and noise.
fn date_like() -> impl Strategy<Value = String> {
    prop_oneof![
        (1990i32..2100, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        (0i32..99999, 0u32..40, 0u32..40).prop_map(|(y, m, d)| format!("{y}-{m}-{d}")),
        ".{0,20}",
    ]
}

fn analytics_query() -> impl Strategy<Value = Vec<(String, String)>> {
    let name =
        prop_oneof![Just("from".to_string()), Just("to".to_string()), Just("group_by".to_string()), "[a-z_]{1,10}"];
    let value = prop_oneof![
        date_like(),
        prop_oneof![Just("category"), Just("day"), Just("status"), Just("authority"), Just("week")]
            .prop_map(str::to_string),
    ];
    prop::collection::vec((name, value), 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the query string, an analytics report answers 200 or a 422 problem, never 5xx.
    #[test]
    fn analytics_queries_answer_200_or_a_422_problem(params in analytics_query()) {
        use lambda_http::RequestExt;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let app = rt.block_on(app(20));
        let reference = std::sync::Arc::new(feedback_core::service::Reference::new(
            app.store.clone(),
            std::time::Duration::from_secs(60),
        ));
        let analytics = analytics::Services::new(app.store.clone(), app.clock.clone(), reference);
        let mut map: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
        for (k, v) in &params {
            map.entry(k.clone()).or_default().push(v.clone());
        }
        for fixture in [
            "apigw-get-analytics-messages.json",
            "apigw-get-analytics-messages-csv.json",
            "apigw-get-analytics-messages-xlsx.json",
        ] {
            let req = http_event(fixture).with_query_string_parameters(map.clone());
            let resp = rt.block_on(analytics::handle(&analytics, req)).unwrap();
            let status = resp.status().as_u16();
            prop_assert!(status == 200 || status == 422, "status {} for {:?}", status, params);
            if status == 422 {
                prop_assert_eq!(resp.headers()["content-type"].to_str().unwrap(), "application/problem+json");
                let body: Value = match resp.body() {
                    Body::Text(t) => serde_json::from_str(t).unwrap(),
                    other => return Err(TestCaseError::fail(format!("body {other:?}"))),
                };
                prop_assert_eq!(body["code"].as_str(), Some("validation_failed"));
                prop_assert!(body["errors"].as_array().is_some_and(|e| !e.is_empty()));
            }
        }
    }
}
