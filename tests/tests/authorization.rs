//! The authorization matrix of every messages route: each cell is one request through the
//! function handler with the actor's verified claims, asserting the exact status. The same
//! table is written down in docs/authorization.md, and this test keeps the two equal.

use feedback_core::ids::PhotoId;
use feedback_core::values::MessageText;
use feedback_core::MessageId;
use feedback_tests::embedded::{app, App};
use feedback_tests::fixtures::{citizen, new_message};
use feedback_tests::http_event;
use feedback_tests::workflow::official;
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use std::collections::HashMap;

const ACTORS: [&str; 7] =
    ["owner", "other citizen", "official (assigned)", "official (other)", "moderator", "admin", "no token"];

/// Route, fixture, the state the message is put in first, and the expected status per actor.
const MATRIX: &[(&str, &str, State, [u16; 7])] = &[
    ("POST /v1/messages", "apigw-post-messages.json", State::Routed, [201, 201, 403, 403, 403, 403, 401]),
    ("GET /v1/messages", "apigw-get-messages.json", State::Routed, [200, 200, 403, 403, 403, 403, 401]),
    ("GET /v1/messages/{id}", "apigw-get-message.json", State::Routed, [200, 404, 200, 404, 200, 200, 401]),
    (
        "POST /v1/messages/{id}/rating",
        "apigw-post-message-rating.json",
        State::Answered,
        [200, 404, 403, 404, 403, 403, 401],
    ),
    (
        "GET /v1/authority/messages",
        "apigw-get-authority-messages.json",
        State::Routed,
        [403, 403, 200, 200, 403, 403, 401],
    ),
    ("POST /v1/messages/{id}/take", "apigw-post-message-take.json", State::Routed, [403, 404, 200, 404, 403, 403, 401]),
    (
        "POST /v1/messages/{id}/answer",
        "apigw-post-message-answer.json",
        State::Routed,
        [403, 404, 200, 404, 403, 403, 401],
    ),
    (
        "POST /v1/messages/{id}/redirect",
        "apigw-post-message-redirect.json",
        State::Routed,
        [403, 404, 200, 404, 200, 403, 401],
    ),
    (
        "POST /v1/messages/{id}/reject",
        "apigw-post-message-reject.json",
        State::Routed,
        [403, 404, 403, 404, 200, 403, 401],
    ),
    ("GET /v1/me/notifications", "apigw-get-me-notifications.json", State::Routed, [200, 200, 403, 403, 403, 403, 401]),
    ("POST /v1/photos", "apigw-post-photos.json", State::Routed, [201, 201, 403, 403, 403, 403, 401]),
    (
        "GET /v1/messages/{id}/photos/{photo_id}",
        "apigw-get-message-photo.json",
        State::Routed,
        [200, 404, 200, 404, 200, 200, 401],
    ),
];

#[derive(Clone, Copy)]
enum State {
    Routed,
    Answered,
}

fn claims(who: &str) -> Option<HashMap<String, String>> {
    let pairs: &[(&str, &str)] = match who {
        "owner" => &[("sub", "alice"), ("roles", "[citizen]"), ("municipality", "tyumen")],
        "other citizen" => &[("sub", "bob"), ("roles", "[citizen]"), ("municipality", "tyumen")],
        "official (assigned)" => &[("sub", "o-1"), ("roles", "[official]"), ("authority", "tyumen-upravdor")],
        "official (other)" => &[("sub", "o-2"), ("roles", "[official]"), ("authority", "adm-ishim")],
        "moderator" => &[("sub", "m-1"), ("roles", "[moderator]")],
        "admin" => &[("sub", "a-1"), ("roles", "[admin]")],
        _ => return None,
    };
    let mut map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    map.insert("region".into(), "72".into());
    Some(map)
}

fn request(fixture: &str, who: &str, (id, photo): &(MessageId, PhotoId)) -> lambda_http::Request {
    let mut req = http_event(fixture);
    req.headers_mut().remove("idempotency-key");
    let mut ctx = req.request_context();
    if let RequestContext::ApiGatewayV2(c) = &mut ctx {
        match claims(who) {
            Some(cl) => c.authorizer.as_mut().and_then(|a| a.jwt.as_mut()).expect("fixture has claims").claims = cl,
            None => c.authorizer = None,
        }
    }
    let req = req.with_request_context(ctx);
    if req.path_parameters_ref().and_then(|p| p.first("id")).is_some() {
        let mut params = HashMap::from([("id".to_string(), id.to_string())]);
        if req.path_parameters_ref().and_then(|p| p.first("photo_id")).is_some() {
            params.insert("photo_id".to_string(), photo.to_string());
        }
        req.with_path_parameters(params)
    } else {
        req
    }
}

/// A message by the owner, with one photo, in the given state.
async fn message_in(app: &App, state: State) -> (MessageId, PhotoId) {
    let alice = citizen("alice");
    let (photo, _) = app.submit.photos.announce(&alice, "image/jpeg", 2048).await.unwrap();
    let mut input = new_message("dorogi-yamy", "Яма у дома 15 на Республики");
    input.photo_ids = vec![photo.id];
    let id = app.submit.messages.submit(&alice, input, None).await.unwrap().message.id;
    app.routing.route(&id).await.unwrap();
    if let State::Answered = state {
        let text = MessageText::parse("Ремонт покрытия выполнен").unwrap();
        app.workflow.answer(&official("o-1", "tyumen-upravdor"), &id, text).await.unwrap();
    }
    (id, photo.id)
}

async fn call(app: &App, route: &str, req: lambda_http::Request) -> u16 {
    let resp = match route {
        "GET /v1/authority/messages"
        | "POST /v1/messages/{id}/take"
        | "POST /v1/messages/{id}/answer"
        | "POST /v1/messages/{id}/redirect"
        | "POST /v1/messages/{id}/reject" => handle_messages::handle(&app.workflow, req).await,
        _ => submit_message::handle(&app.submit, req).await,
    };
    resp.unwrap().status().as_u16()
}

fn render() -> String {
    let mut out = format!("| route | {} |\n|---|{}\n", ACTORS.join(" | "), "---|".repeat(ACTORS.len()));
    for (route, _, state, expected) in MATRIX {
        let state = match state {
            State::Routed => "",
            State::Answered => " (answered)",
        };
        let cells: Vec<String> = expected.iter().map(u16::to_string).collect();
        out.push_str(&format!("| `{route}`{state} | {} |\n", cells.join(" | ")));
    }
    out
}

#[tokio::test]
async fn every_messages_route_answers_every_actor_with_the_documented_status() {
    let app = app(1000).await;
    let mut failures = Vec::new();
    for (route, fixture, state, expected) in MATRIX {
        for (who, want) in ACTORS.iter().zip(expected) {
            let id = message_in(&app, *state).await;
            let got = call(&app, route, request(fixture, who, &id)).await;
            if got != *want {
                failures.push(format!("{route} as {who}: expected {want}, got {got}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_documented_matrix_is_the_tested_one() {
    let doc = std::fs::read_to_string(feedback_tests::events_dir().join("../docs/authorization.md")).unwrap();
    assert!(doc.contains(&render()), "docs/authorization.md must contain exactly:\n{}", render());
}
