//! Every date the API takes, fed arbitrary RFC 3339 strings and years far outside the calendar:
//! only 2xx or 4xx problems come back, nothing panics, and what was stored can still be listed.

use feedback_core::participation::Participation;
use feedback_tests::embedded::{app, App};
use feedback_tests::http_event;
use lambda_http::{Body, RequestExt};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;

/// An RFC 3339-like timestamp: valid ones, ones with years up to chrono's limits and beyond,
/// impossible fields, odd offsets, and noise.
fn timestamp() -> impl Strategy<Value = String> {
    let year = prop_oneof![
        2020i64..2040,
        -300_000i64..300_000,
        Just(262_142i64),
        Just(262_143i64),
        Just(-262_143i64),
        Just(9999i64),
        Just(10_000i64),
        Just(0i64),
    ];
    let offset = prop_oneof![
        Just("Z".to_string()),
        (0u32..30, 0u32..70).prop_map(|(h, m)| format!("+{h:02}:{m:02}")),
        (0u32..30, 0u32..70).prop_map(|(h, m)| format!("-{h:02}:{m:02}")),
    ];
    prop_oneof![
        8 => (year, 0u32..14, 0u32..33, 0u32..25, 0u32..61, 0u32..62, offset).prop_map(|(y, mo, d, h, mi, s, off)| {
            let y = if y > 9999 { format!("+{y}") } else if y < 0 { format!("-{:04}", -y) } else { format!("{y:04}") };
            format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{off}")
        }),
        1 => ".{0,32}",
        1 => (0u32..24, 0u32..60, 0u32..60).prop_map(|(h, mi, s)| format!("+262142-12-31T{h:02}:{mi:02}:{s:02}Z")),
        1 => (0u32..24, 0u32..60, 0u32..60).prop_map(|(h, mi, s)| format!("-262143-01-01T{h:02}:{mi:02}:{s:02}+05:00")),
        1 => (-300_000i64..300_000).prop_map(|y| format!("{y}-01-01")),
    ]
}

fn is_problem(resp: &lambda_http::Response<Body>) -> bool {
    resp.headers().get("content-type").and_then(|v| v.to_str().ok()) == Some("application/problem+json")
}

fn participation(app: &App) -> Participation<feedback_embedded::SqliteStore, feedback_tests::embedded::Clock> {
    let secret = feedback_core::testing::poll_secrets(b"dates-test-secret-0123456789abcd");
    Participation::new(app.store.clone(), app.clock.clone(), app.reference.clone(), secret, 5)
}

fn with_body(fixture: &str, body: &Value) -> lambda_http::Request {
    let mut req = http_event(fixture);
    *req.body_mut() = Body::Text(body.to_string());
    req
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Polls and discussions with any opening and closing times: 201 or a 4xx problem, and
    /// listing them afterwards (residents and admins) answers 200.
    #[test]
    fn poll_and_discussion_dates_answer_2xx_or_a_4xx_problem(opens in timestamp(), closes in timestamp()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let app = rt.block_on(app(20));
        let p = participation(&app);
        let vote = json!({
            "kind": "vote",
            "title": "Какой двор благоустроить первым?",
            "questions": [{"text": "Выберите двор", "kind": "single", "options": ["Ленина, 10", "Мира, 3"]}],
            "opens_at": opens, "closes_at": closes, "results": "after_close"
        });
        let discussion = json!({"title": "Сквер на Мельникайте", "opens_at": opens, "closes_at": closes});
        for (fixture, body) in [("apigw-post-polls.json", vote), ("apigw-post-discussions.json", discussion)] {
            let resp = rt.block_on(polls::handle(&p, with_body(fixture, &body))).unwrap();
            let status = resp.status().as_u16();
            prop_assert!(status == 201 || ((400..500).contains(&status) && is_problem(&resp)),
                "{} answered {} for {} / {}", fixture, status, opens, closes);
        }
        for fixture in ["apigw-get-polls.json", "apigw-get-discussions.json"] {
            for who in ["citizen", "admin"] {
                let mut req = http_event(fixture);
                if who == "admin" {
                    req = feedback_tests::with_claims(req, &[("sub", "a-1"), ("roles", "[admin]"), ("region", "72")]);
                }
                let status = rt.block_on(polls::handle(&p, req)).unwrap().status().as_u16();
                prop_assert_eq!(status, 200, "{} as {} after {} / {}", fixture, who, opens, closes);
            }
        }
    }

    /// A resident's birthdate claim, whatever it says, never breaks the poll list.
    #[test]
    fn any_birthdate_claim_answers_2xx_or_a_4xx(birthdate in timestamp()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let app = rt.block_on(app(20));
        let p = participation(&app);
        let date = birthdate.split('T').next().unwrap_or_default().to_owned();
        let claims = [("sub", "alice"), ("roles", "[citizen]"), ("region", "72"), ("municipality", "tyumen"), ("birthdate", date.as_str())];
        let req = feedback_tests::with_claims(http_event("apigw-get-polls.json"), &claims);
        let status = rt.block_on(polls::handle(&p, req)).unwrap().status().as_u16();
        prop_assert!(status < 500, "{} for birthdate {}", status, date);
    }

    /// Analytics rankings and Open311 searches with any dates: never a server error.
    #[test]
    fn report_and_search_dates_never_fail_the_server(from in timestamp(), to in timestamp()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let app = rt.block_on(app(20));
        let analytics =
            analytics::Services::new(app.store.clone(), app.clock.clone(), app.reference.clone());
        for (f, t) in [(from.clone(), to.clone()), (from.split('T').next().unwrap_or_default().to_owned(), to.split('T').next().unwrap_or_default().to_owned())] {
            let query = HashMap::from([("from".to_string(), vec![f.clone()]), ("to".to_string(), vec![t.clone()])]);
            let req = http_event("apigw-get-analytics-authorities.json").with_query_string_parameters(query);
            let resp = rt.block_on(analytics::handle(&analytics, req)).unwrap();
            let status = resp.status().as_u16();
            prop_assert!(status == 200 || (status == 422 && is_problem(&resp)), "{} for {} .. {}", status, f, t);
        }
        let query = HashMap::from([
            ("start_date".to_string(), vec![from.clone()]),
            ("end_date".to_string(), vec![to.clone()]),
        ]);
        let req = http_event("apigw-open311-get-requests.json").with_query_string_parameters(query);
        let status = rt.block_on(open311::handle(&app.open311, req)).unwrap().status().as_u16();
        prop_assert!(status == 200 || status == 400, "open311 {} for {} .. {}", status, from, to);
    }
}

/// The audit's case: a poll closing in the year 262142 is refused, and the list still answers.
#[tokio::test]
async fn a_poll_closing_in_the_year_262142_is_refused_with_422() {
    let app = app(20).await;
    let p = participation(&app);
    let vote = json!({
        "kind": "vote",
        "title": "Какой двор благоустроить первым?",
        "questions": [{"text": "Выберите двор", "kind": "single", "options": ["Ленина, 10", "Мира, 3"]}],
        "opens_at": "2026-11-28T09:00:00+05:00", "closes_at": "+262142-12-31T23:59:59Z", "results": "after_close"
    });
    let resp = polls::handle(&p, with_body("apigw-post-polls.json", &vote)).await.unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(body["errors"][0]["field"], "closes_at", "{body}");
    assert_eq!(polls::handle(&p, http_event("apigw-get-polls.json")).await.unwrap().status(), 200);
}
