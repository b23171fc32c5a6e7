//! The `open311` and integration handlers with the real-shaped fixtures in `events/`, and
//! property tests of the Open311 input: any form body, query string or path answers with the
//! specification's error list or a success, never a 5xx and never a panic.

use base64::Engine;
use feedback_tests::embedded::{app, App};
use feedback_tests::http_event;
use feedback_tests::open311::{content_type, gateway_request, text};
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::HashMap;

fn json(resp: &lambda_http::Response<Body>) -> Value {
    serde_json::from_str(&text(resp)).unwrap_or_else(|e| panic!("{e}: {}", text(resp)))
}

/// The POST fixture with its placeholder key replaced.
fn post_with_key(key: &str) -> lambda_http::Request {
    let raw = feedback_tests::event("apigw-open311-post-request.json");
    let mut event: Value = serde_json::from_str(&raw).unwrap();
    let engine = base64::engine::general_purpose::STANDARD;
    let form = String::from_utf8(engine.decode(event["body"].as_str().unwrap()).unwrap()).unwrap();
    let form = form.replace("fbk_00000000000000000000000000000000000000000000", key);
    event["body"] = Value::String(engine.encode(form));
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

#[tokio::test]
async fn the_open311_fixtures_answer_as_the_specification_shows() {
    let app = app(1000).await;
    let services = open311::handle(&app.open311, http_event("apigw-open311-get-services.json")).await.unwrap();
    assert_eq!(services.status(), 200);
    assert!(content_type(&services).starts_with("text/xml"));
    assert!(text(&services).contains("<services><service><service_code>zhkh-otoplenie</service_code>"));

    let definition =
        open311::handle(&app.open311, http_event("apigw-open311-get-service-definition.json")).await.unwrap();
    assert_eq!(definition.status(), 200);
    assert_eq!(json(&definition)["attributes"][0]["code"], "municipality");
    let missing = open311::handle(&app.open311, http_event("apigw-open311-get-request.json")).await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(text(&missing).contains("<errors><error><code>404</code>"));

    // The placeholder key is refused
    let refused = open311::handle(&app.open311, http_event("apigw-open311-post-request.json")).await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(json(&refused)[0]["code"], 403);

    // With a real key the base64-encoded form creates a request
    let created = app.integrations.create(&feedback_tests::polls::admin(), "Тестовый клиент").await.unwrap();
    let resp = open311::handle(&app.open311, post_with_key(created.api_key.as_str())).await.unwrap();
    assert_eq!(resp.status(), 201, "{}", text(&resp));
    let id = json(&resp)[0]["service_request_id"].as_str().unwrap().to_owned();
    // it becomes public once routed
    app.routing.route(&feedback_core::MessageId::parse(&id).unwrap()).await.unwrap();

    let listed = open311::handle(&app.open311, http_event("apigw-open311-get-requests.json")).await.unwrap();
    assert_eq!(listed.status(), 200);
    let list = json(&listed);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["service_request_id"], id);
    assert_eq!(list[0]["address"], "Тюмень, ул. Республики, 15");
    let raw = text(&listed);
    assert!(!raw.contains("ivanov@example.ru") && !raw.contains("79991234567") && !raw.contains("Иван\""));
}

fn with_claims(mut req: lambda_http::Request, claims: Option<HashMap<String, String>>) -> lambda_http::Request {
    req.headers_mut().remove("authorization");
    let mut ctx = req.request_context();
    if let RequestContext::ApiGatewayV2(c) = &mut ctx {
        match claims {
            Some(cl) => c.authorizer.as_mut().and_then(|a| a.jwt.as_mut()).expect("fixture has claims").claims = cl,
            None => c.authorizer = None,
        }
    }
    req.with_request_context(ctx)
}

fn admin_claims(region: &str) -> Option<HashMap<String, String>> {
    Some(
        [("sub", "admin-1"), ("roles", "[admin]"), ("region", region)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

async fn call(app: &App, req: lambda_http::Request) -> lambda_http::Response<Body> {
    reference_data::handle(&app.reference, &app.integrations, req).await.unwrap()
}

#[tokio::test]
async fn integrations_are_created_listed_and_revoked_through_the_fixtures() {
    let app = app(1000).await;
    // Given an admin creates an integration
    let resp = call(&app, http_event("apigw-post-integrations.json")).await;
    assert_eq!(resp.status(), 201, "{}", text(&resp));
    let made = json(&resp);
    let key = made["api_key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("fbk_") && key.len() == 47);
    assert_eq!(made["name"], "Городское приложение «Мой двор»");
    assert!(made["created_at"].as_str().unwrap().ends_with("+05:00"));
    let id = made["id"].as_str().unwrap().to_owned();

    // Then the list shows it, never its key
    let listed = call(&app, http_event("apigw-get-integrations.json")).await;
    assert_eq!(listed.status(), 200);
    let page = json(&listed);
    assert_eq!(page["items"][0]["id"], id);
    assert_eq!(page["items"][0]["revoked"], false);
    assert_eq!(page["next_cursor"], Value::Null);
    assert!(!text(&listed).contains(&key[4..]));

    // When it is revoked, the updated integration comes back and the key stops working
    let revoke = |id: &str| {
        http_event("apigw-post-integration-revoke.json")
            .with_path_parameters(HashMap::from([("id".to_string(), id.to_string())]))
    };
    let resp = call(&app, revoke(&id)).await;
    assert_eq!(resp.status(), 200, "{}", text(&resp));
    assert_eq!(json(&resp)["revoked"], true);
    assert_eq!(open311::handle(&app.open311, post_with_key(&key)).await.unwrap().status(), 403);
    assert_eq!(call(&app, revoke("01JDQ3V9X2K8M4N6P8R0T2V4X6")).await.status(), 404);
    assert_eq!(call(&app, revoke("not-an-id")).await.status(), 404);

    // An admin of another region is refused; a bad body is a 422 problem
    let other = call(&app, with_claims(http_event("apigw-get-integrations.json"), admin_claims("66"))).await;
    assert_eq!(other.status(), 403);
    let mut bad = http_event("apigw-post-integrations.json");
    *bad.body_mut() = Body::Text(r#"{"name":"  ","api_key":"mine"}"#.into());
    assert_eq!(call(&app, bad).await.status(), 422);
    let mut blank = http_event("apigw-post-integrations.json");
    *blank.body_mut() = Body::Text(r#"{"name":"  "}"#.into());
    assert_eq!(call(&app, blank).await.status(), 422);
}

/// Asserts the answer is a success or the error list, never a 5xx.
fn assert_spec_answer(resp: &lambda_http::Response<Body>, what: &str) {
    let status = resp.status().as_u16();
    assert!(status < 500, "{what}: {status} {}", text(resp));
    if status >= 400 {
        let body = text(resp);
        if content_type(resp).starts_with("text/xml") {
            assert!(body.contains("<errors><error><code>"), "{what}: {body}");
        } else {
            let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
            assert!(
                v.as_array().is_some_and(|a| !a.is_empty() && a.iter().all(|e| e["code"].is_u64())),
                "{what}: {body}"
            );
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn form_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 %+&=._-]{0,40}",
        Just("57.15".to_owned()),
        Just("NaN".to_owned()),
        Just("1e309".to_owned()),
        Just(
            "%D0%AF%D0%BC%D0%B0+%D0%BD%D0%B0+%D0%B4%D0%BE%D1%80%D0%BE%D0%B3%D0%B5+%D1%83+%D0%B4%D0%BE%D0%BC%D0%B0+5"
                .to_owned()
        ),
        Just("dorogi-yamy".to_owned()),
        Just("%FF%FE".to_owned()),
        Just("%".to_owned()),
    ]
}

fn form_field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("api_key"),
        Just("jurisdiction_id"),
        Just("service_code"),
        Just("lat"),
        Just("long"),
        Just("address_string"),
        Just("address_id"),
        Just("description"),
        Just("media_url"),
        Just("email"),
        Just("attribute[municipality]"),
        Just("attribute%5Bmunicipality%5D"),
        Just("attribute[]"),
        Just("other"),
    ]
    .prop_map(str::to_owned)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_form_body_is_parsed_without_panicking(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(pairs) = open311::parse_form(&body) {
            let _ = open311::post_form(pairs);
        }
    }

    #[test]
    fn any_post_answers_201_or_a_spec_error(
        fields in proptest::collection::vec((form_field(), form_value()), 0..10),
        with_key in any::<bool>(),
        xml in any::<bool>(),
        raw_tail in proptest::collection::vec(any::<u8>(), 0..20),
    ) {
        runtime().block_on(async {
            let app = app(1000).await;
            let key = app.integrations.create(&feedback_tests::polls::admin(), "proptest").await.unwrap().api_key;
            let mut body: Vec<u8> = Vec::new();
            if with_key {
                body.extend(format!("api_key={}&", key.as_str()).bytes());
            }
            for (k, v) in &fields {
                body.extend(format!("{k}={v}&").bytes());
            }
            body.extend(&raw_tail);
            let path = if xml { "/open311/v2/requests.xml" } else { "/open311/v2/requests.json" };
            let req = gateway_request("POST", path, "", Some(("application/x-www-form-urlencoded", &body)));
            let resp = open311::handle(&app.open311, req).await.unwrap();
            assert_spec_answer(&resp, &String::from_utf8_lossy(&body));
        });
    }

    #[test]
    fn any_search_or_path_answers_200_or_a_spec_error(
        path in prop_oneof![
            Just("/open311/v2/requests.json".to_owned()),
            Just("/open311/v2/requests.xml".to_owned()),
            Just("/open311/v2/services.json".to_owned()),
            "/open311/v2/[a-z0-9./_-]{0,30}",
            "/open311/v2/requests/[A-Z0-9a-z.-]{0,30}",
            "/open311/v2/services/[a-z0-9.-]{0,20}",
        ],
        query in proptest::collection::vec((
            prop_oneof![Just("service_request_id"), Just("service_code"), Just("start_date"), Just("end_date"),
                        Just("status"), Just("jurisdiction_id"), Just("x")],
            "[a-zA-Z0-9:+ ,._-]{0,30}",
        ), 0..6),
    ) {
        runtime().block_on(async {
            let app = app(1000).await;
            let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={}", feedback_tests::open311::enc(v))).collect();
            let req = gateway_request("GET", &path, &q.join("&"), None);
            let resp = open311::handle(&app.open311, req).await.unwrap();
            assert_spec_answer(&resp, &format!("{path}?{}", q.join("&")));
        });
    }
}
