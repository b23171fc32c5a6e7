//! The authorization matrices of every messages route and every analytics route: each cell is
//! one request through the function handler with the actor's verified claims, asserting the
//! exact status. The same tables are written down in docs/authorization.md, and this test keeps
//! them equal.

use feedback_core::ids::{PhotoId, PollId};
use feedback_core::participation::{Participation, PollKind, ResultsVisibility};
use feedback_core::preferences::SubscriptionRequest;
use feedback_core::templates::TemplateInput;
use feedback_core::values::{MessageText, PhotoIds};
use feedback_core::Clock;
use feedback_core::MessageId;
use feedback_tests::embedded::{app, App};
use feedback_tests::fixtures::{citizen, new_message};
use feedback_tests::http_event;
use feedback_tests::polls::{admin, vote_input};
use feedback_tests::workflow::official;
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use std::collections::HashMap;

const ACTORS: [&str; 8] = [
    "owner",
    "other citizen",
    "official (assigned)",
    "official (other)",
    "moderator",
    "admin",
    "no token",
    "foreign region",
];

/// Route, fixture, the state the message is put in first, and the expected status per actor.
const MATRIX: &[(&str, &str, State, [u16; 8])] = &[
    ("POST /v1/messages", "apigw-post-messages.json", State::Routed, [201, 201, 403, 403, 403, 403, 401, 403]),
    ("GET /v1/messages", "apigw-get-messages.json", State::Routed, [200, 200, 403, 403, 403, 403, 401, 403]),
    ("GET /v1/messages/{id}", "apigw-get-message.json", State::Routed, [200, 404, 200, 404, 200, 200, 401, 403]),
    (
        "GET /v1/messages/by-number/{number}",
        "apigw-get-message-by-number.json",
        State::Routed,
        [200, 404, 200, 404, 200, 200, 401, 403],
    ),
    (
        "POST /v1/messages/{id}/rating",
        "apigw-post-message-rating.json",
        State::Answered,
        [200, 404, 403, 404, 403, 403, 401, 403],
    ),
    (
        "GET /v1/authority/messages",
        "apigw-get-authority-messages.json",
        State::Routed,
        [403, 403, 200, 200, 403, 403, 401, 403],
    ),
    (
        "GET /v1/authority/messages/counts",
        "apigw-get-authority-messages-counts.json",
        State::Routed,
        [403, 403, 200, 200, 403, 403, 401, 403],
    ),
    (
        "GET /v1/authority/templates",
        "apigw-get-authority-templates.json",
        State::Routed,
        [403, 403, 200, 200, 403, 403, 401, 403],
    ),
    (
        "POST /v1/authority/templates",
        "apigw-post-authority-templates.json",
        State::Routed,
        [403, 403, 201, 201, 403, 403, 401, 403],
    ),
    (
        "PUT /v1/authority/templates/{id}",
        "apigw-put-authority-template.json",
        State::Routed,
        [403, 403, 200, 404, 403, 403, 401, 403],
    ),
    (
        "DELETE /v1/authority/templates/{id}",
        "apigw-delete-authority-template.json",
        State::Routed,
        [403, 403, 204, 404, 403, 403, 401, 403],
    ),
    (
        "GET /v1/moderation/messages",
        "apigw-get-moderation-messages.json",
        State::Routed,
        [403, 403, 403, 403, 200, 200, 401, 403],
    ),
    (
        "POST /v1/messages/{id}/take",
        "apigw-post-message-take.json",
        State::Routed,
        [403, 404, 200, 404, 403, 403, 401, 403],
    ),
    (
        "POST /v1/messages/{id}/answer",
        "apigw-post-message-answer.json",
        State::Routed,
        [403, 404, 200, 404, 403, 403, 401, 403],
    ),
    (
        "POST /v1/messages/{id}/redirect",
        "apigw-post-message-redirect.json",
        State::Routed,
        [403, 404, 200, 404, 200, 403, 401, 403],
    ),
    (
        "POST /v1/messages/{id}/reject",
        "apigw-post-message-reject.json",
        State::Routed,
        [403, 404, 403, 404, 200, 403, 401, 403],
    ),
    (
        "GET /v1/me/notifications",
        "apigw-get-me-notifications.json",
        State::Routed,
        [200, 200, 403, 403, 403, 403, 401, 403],
    ),
    (
        "POST /v1/me/notifications/read",
        "apigw-post-me-notifications-read.json",
        State::Routed,
        [200, 200, 403, 403, 403, 403, 401, 403],
    ),
    (
        "GET /v1/me/notifications/unread",
        "apigw-get-me-notifications-unread.json",
        State::Routed,
        [200, 200, 403, 403, 403, 403, 401, 403],
    ),
    ("GET /v1/me/data", "apigw-get-me-data.json", State::Routed, [200, 200, 403, 403, 403, 403, 401, 403]),
    ("DELETE /v1/me", "apigw-delete-me.json", State::Routed, [200, 200, 403, 403, 403, 403, 401, 403]),
    (
        "GET /v1/me/preferences",
        "apigw-get-me-preferences.json",
        State::Routed,
        [200, 200, 403, 403, 403, 403, 401, 403],
    ),
    (
        "PUT /v1/me/preferences",
        "apigw-put-me-preferences.json",
        State::Routed,
        [200, 200, 403, 403, 403, 403, 401, 403],
    ),
    (
        "GET /v1/me/subscriptions",
        "apigw-get-me-subscriptions.json",
        State::Routed,
        [200, 200, 403, 403, 403, 403, 401, 403],
    ),
    (
        "POST /v1/me/subscriptions",
        "apigw-post-me-subscriptions.json",
        State::Routed,
        [201, 201, 403, 403, 403, 403, 401, 403],
    ),
    (
        "DELETE /v1/me/subscriptions/{id}",
        "apigw-delete-me-subscription.json",
        State::Routed,
        [204, 404, 403, 403, 403, 403, 401, 403],
    ),
    (
        "GET /v1/me/push-subscriptions",
        "apigw-get-me-push-subscriptions.json",
        State::Routed,
        [200, 200, 403, 403, 403, 403, 401, 403],
    ),
    (
        "POST /v1/me/push-subscriptions",
        "apigw-post-me-push-subscriptions.json",
        State::Routed,
        [201, 201, 403, 403, 403, 403, 401, 403],
    ),
    (
        "DELETE /v1/me/push-subscriptions/{id}",
        "apigw-delete-me-push-subscription.json",
        State::Routed,
        [204, 404, 403, 403, 403, 403, 401, 403],
    ),
    ("POST /v1/photos", "apigw-post-photos.json", State::Routed, [201, 201, 201, 201, 403, 403, 401, 403]),
    (
        "GET /v1/messages/{id}/photos/{photo_id}",
        "apigw-get-message-photo.json",
        State::Routed,
        [200, 404, 200, 404, 200, 200, 401, 403],
    ),
    (
        "GET /v1/messages/nearby",
        "apigw-get-messages-nearby.json",
        State::Routed,
        [200, 200, 403, 403, 403, 403, 401, 403],
    ),
    (
        "POST /v1/messages/{id}/supporters",
        "apigw-post-message-supporters.json",
        State::Public,
        [409, 200, 403, 403, 403, 403, 401, 403],
    ),
    (
        "GET /v1/public/messages",
        "apigw-get-public-messages.json",
        State::Public,
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "GET /v1/public/messages/{id}",
        "apigw-get-public-message.json",
        State::Public,
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "GET /v1/public/clusters",
        "apigw-get-public-clusters.json",
        State::Public,
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
];

const ANALYTICS_ACTORS: [&str; 7] =
    ["citizen", "official", "moderator", "analyst", "admin", "no token", "foreign region"];

/// Route, fixture and the expected status per actor. The official works at `tyumen-upravdor`,
/// the poll is an open vote with live results.
const ANALYTICS_MATRIX: &[(&str, &str, [u16; 7])] = &[
    ("GET /v1/analytics/messages", "apigw-get-analytics-messages.json", [403, 200, 403, 200, 200, 401, 403]),
    ("GET /v1/analytics/messages.csv", "apigw-get-analytics-messages-csv.json", [403, 200, 403, 200, 200, 401, 403]),
    ("GET /v1/analytics/messages.xlsx", "apigw-get-analytics-messages-xlsx.json", [403, 200, 403, 200, 200, 401, 403]),
    ("GET /v1/analytics/authorities", "apigw-get-analytics-authorities.json", [403, 200, 403, 200, 200, 401, 403]),
    ("GET /v1/analytics/polls/{id}", "apigw-get-analytics-poll.json", [403, 403, 403, 200, 200, 401, 403]),
    ("GET /v1/analytics/heatmap", "apigw-get-analytics-heatmap.json", [403, 403, 403, 200, 200, 401, 403]),
    ("GET /v1/public/authorities", "apigw-get-public-authorities.json", [200, 200, 200, 200, 200, 200, 200]),
    (
        "GET /v1/public/authorities/{authority_id}/scorecard",
        "apigw-get-public-scorecard.json",
        [200, 200, 200, 200, 200, 200, 200],
    ),
    ("GET /v1/open-data/messages.csv", "apigw-get-open-data-csv.json", [200, 200, 200, 200, 200, 200, 200]),
    ("GET /v1/open-data/messages.geojson", "apigw-get-open-data-geojson.json", [200, 200, 200, 200, 200, 200, 200]),
    ("GET /v1/open-data/datapackage.json", "apigw-get-open-data-package.json", [200, 200, 200, 200, 200, 200, 200]),
];

const INTEGRATIONS_ACTORS: [&str; 7] =
    ["citizen", "official", "moderator", "analyst", "admin", "no token", "foreign region"];

/// Route, fixture and the expected status per actor, for the integrations of reference-data.
const INTEGRATIONS_MATRIX: &[(&str, &str, [u16; 7])] = &[
    ("POST /v1/integrations", "apigw-post-integrations.json", [403, 403, 403, 403, 201, 401, 403]),
    ("GET /v1/integrations", "apigw-get-integrations.json", [403, 403, 403, 403, 200, 401, 403]),
    ("POST /v1/integrations/{id}/revoke", "apigw-post-integration-revoke.json", [403, 403, 403, 403, 200, 401, 403]),
];

/// Route, fixture and the expected status per actor, for the webhooks of the `webhooks` function.
const WEBHOOKS_MATRIX: &[(&str, &str, [u16; 7])] = &[
    ("POST /v1/webhooks", "apigw-post-webhooks.json", [403, 403, 403, 403, 201, 401, 403]),
    ("GET /v1/webhooks", "apigw-get-webhooks.json", [403, 403, 403, 403, 200, 401, 403]),
    ("GET /v1/webhooks/{id}", "apigw-get-webhook.json", [403, 403, 403, 403, 200, 401, 403]),
    ("POST /v1/webhooks/{id}/disable", "apigw-post-webhook-disable.json", [403, 403, 403, 403, 200, 401, 403]),
    ("GET /v1/webhooks/{id}/deliveries", "apigw-get-webhook-deliveries.json", [403, 403, 403, 403, 200, 401, 403]),
    (
        "POST /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        "apigw-post-webhook-redeliver.json",
        [403, 403, 403, 403, 200, 401, 403],
    ),
];

const DELIVERIES_ACTORS: [&str; 8] =
    ["citizen", "official", "ЦУР official", "moderator", "analyst", "admin", "no token", "foreign region"];

/// Route, fixture and the expected status per actor, for the delivery log and one-click
/// unsubscribe of `submit-message`. The unsubscribe link carries a valid token of the owner's:
/// it is all the route asks for, whoever follows it.
const DELIVERIES_MATRIX: &[(&str, &str, [u16; 8])] = &[
    (
        "GET /v1/admin/notifications/{id}/deliveries",
        "apigw-get-admin-notification-deliveries.json",
        [403, 403, 200, 403, 403, 200, 401, 403],
    ),
    ("GET /v1/unsubscribe", "apigw-get-unsubscribe.json", [200, 200, 200, 200, 200, 200, 200, 200]),
    ("POST /v1/unsubscribe", "apigw-post-unsubscribe.json", [200, 200, 200, 200, 200, 200, 200, 200]),
];

#[derive(Clone, Copy)]
enum State {
    Routed,
    Answered,
    /// Routed, and public: its author chose to show it.
    Public,
}

fn claims(who: &str) -> Option<HashMap<String, String>> {
    let pairs: &[(&str, &str)] = match who {
        "owner" | "citizen" => &[("sub", "alice"), ("roles", "[citizen]"), ("municipality", "tyumen")],
        "other citizen" => &[("sub", "bob"), ("roles", "[citizen]"), ("municipality", "tyumen")],
        "official (assigned)" | "official" => {
            &[("sub", "o-1"), ("roles", "[official]"), ("authority", "tyumen-upravdor")]
        }
        "official (other)" => &[("sub", "o-2"), ("roles", "[official]"), ("authority", "adm-ishim")],
        "ЦУР official" => &[("sub", "o-3"), ("roles", "[official]"), ("authority", "tsur-72")],
        "moderator" => &[("sub", "m-1"), ("roles", "[moderator]")],
        "analyst" => &[("sub", "an-1"), ("roles", "[analyst]")],
        "admin" => &[("sub", "a-1"), ("roles", "[admin]")],
        // Every role, the owner's id and the assigned authority: only the region differs.
        "foreign region" => {
            let pairs = [
                ("sub", "alice"),
                ("roles", "[citizen official moderator admin analyst]"),
                ("municipality", "tyumen"),
                ("authority", "tyumen-upravdor"),
                ("region", "66"),
            ];
            return Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        }
        _ => return None,
    };
    let mut map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    map.insert("region".into(), "72".into());
    Some(map)
}

/// The fixture's request with `who`'s claims instead of its own (none for "no token").
fn as_actor(fixture: &str, who: &str) -> lambda_http::Request {
    let mut req = http_event(fixture);
    req.headers_mut().remove("idempotency-key");
    let mut ctx = req.request_context();
    if let RequestContext::ApiGatewayV2(c) = &mut ctx {
        match claims(who) {
            Some(cl) if c.authorizer.is_some() => {
                c.authorizer.as_mut().and_then(|a| a.jwt.as_mut()).expect("fixture has claims").claims = cl
            }
            // An anonymous route's fixture carries no authorizer: the claims are added as if
            // the caller's token had reached the function after all.
            Some(cl) => {
                let authorizer = serde_json::json!({"jwt": {"claims": cl, "scopes": null}});
                c.authorizer = Some(serde_json::from_value(authorizer).expect("an authorizer"));
            }
            None => c.authorizer = None,
        }
    }
    req.with_request_context(ctx)
}

fn request(fixture: &str, who: &str, (id, photo, number): &(MessageId, PhotoId, String)) -> lambda_http::Request {
    let req = as_actor(fixture, who);
    if req.path_parameters_ref().and_then(|p| p.first("number")).is_some() {
        return req.with_path_parameters(HashMap::from([("number".to_string(), number.clone())]));
    }
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
async fn message_in(app: &App, state: State) -> (MessageId, PhotoId, String) {
    let alice = citizen("alice");
    let (photo, _) = app.submit.photos.announce(&alice, "image/jpeg", 2048).await.unwrap();
    let mut input = new_message("dorogi-yamy", "Яма у дома 15 на Республики");
    input.photo_ids = PhotoIds::parse(&[photo.id.to_string()]).unwrap();
    input.public = matches!(state, State::Public);
    let message = app.submit.messages.submit(&alice, input, None).await.unwrap().message;
    let (id, number) = (message.id, message.number.expect("a number").to_string());
    app.routing.route(&id).await.unwrap();
    if let State::Answered = state {
        let text = MessageText::parse("Ремонт покрытия выполнен").unwrap();
        app.workflow.answer(&official("o-1", "tyumen-upravdor"), &id, text).await.unwrap();
    }
    (id, photo.id, number)
}

async fn call(app: &App, route: &str, req: lambda_http::Request) -> u16 {
    let resp = match route {
        "GET /v1/authority/messages"
        | "GET /v1/authority/messages/counts"
        | "GET /v1/authority/templates"
        | "POST /v1/authority/templates"
        | "PUT /v1/authority/templates/{id}"
        | "DELETE /v1/authority/templates/{id}"
        | "GET /v1/moderation/messages"
        | "POST /v1/messages/{id}/take"
        | "POST /v1/messages/{id}/answer"
        | "POST /v1/messages/{id}/redirect"
        | "POST /v1/messages/{id}/reject" => handle_messages::handle(&app.officials, req).await,
        _ => submit_message::handle(&app.submit, req).await,
    };
    resp.unwrap().status().as_u16()
}

/// A matrix as the markdown table docs/authorization.md shows.
fn table<'a>(actors: &[&str], rows: impl IntoIterator<Item = (String, &'a [u16])>) -> String {
    let mut out = format!("| route | {} |\n|---|{}\n", actors.join(" | "), "---|".repeat(actors.len()));
    for (route, expected) in rows {
        let cells: Vec<String> = expected.iter().map(u16::to_string).collect();
        out.push_str(&format!("| {route} | {} |\n", cells.join(" | ")));
    }
    out
}

fn render() -> String {
    table(
        &ACTORS,
        MATRIX.iter().map(|(route, _, state, expected)| {
            let state = match state {
                State::Routed => "",
                State::Answered => " (answered)",
                State::Public => " (public)",
            };
            (format!("`{route}`{state}"), &expected[..])
        }),
    )
}

fn render_analytics() -> String {
    table(&ANALYTICS_ACTORS, ANALYTICS_MATRIX.iter().map(|(route, _, expected)| (format!("`{route}`"), &expected[..])))
}

/// An open vote with live results, created by an admin.
async fn open_vote(app: &App) -> PollId {
    let secret = feedback_core::testing::poll_secrets(b"authorization-test-secret-0123");
    let participation = Participation::new(app.store.clone(), app.clock.clone(), app.reference.clone(), secret, 5);
    let now = app.clock.now();
    let input =
        vote_input(now - chrono::Duration::minutes(1), now + chrono::Duration::days(7), ResultsVisibility::Live);
    participation.create(&admin(), input).await.unwrap().id
}

#[tokio::test]
async fn every_messages_route_answers_every_actor_with_the_documented_status() {
    let app = app(1000).await;
    let mut failures = Vec::new();
    for (route, fixture, state, expected) in MATRIX {
        for (who, want) in ACTORS.iter().zip(expected) {
            let id = message_in(&app, *state).await;
            let mut req = request(fixture, who, &id);
            if *route == "DELETE /v1/me/subscriptions/{id}" {
                // The owner's own subscription: others find none of this id.
                let town = SubscriptionRequest { municipality_id: Some("tyumen".into()), ..Default::default() };
                let sub = app.submit.reach.subscribe(&citizen("alice"), town).await.unwrap();
                req = req.with_path_parameters(HashMap::from([("id".to_string(), sub.id.to_string())]));
            }
            if route.contains("/v1/authority/templates/{id}") {
                // A template of the assigned authority: another authority finds none of this id.
                let input = TemplateInput::parse("Яма заделана", "Яма на проезжей части заделана.").unwrap();
                let made = app.officials.templates.create(&official("o-1", "tyumen-upravdor"), input).await.unwrap();
                req = req.with_path_parameters(HashMap::from([("id".to_string(), made.id.to_string())]));
            }
            if *route == "DELETE /v1/me/push-subscriptions/{id}" {
                // A browser of the owner's alone: others find none of this id.
                let browser = feedback_tests::reach::browser(1000);
                let sub = app.submit.reach.add_push_subscription(&citizen("alice"), browser).await.unwrap();
                req = req.with_path_parameters(HashMap::from([("id".to_string(), sub.id.to_string())]));
            }
            let got = call(&app, route, req).await;
            if got != *want {
                failures.push(format!("{route} as {who}: expected {want}, got {got}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn every_analytics_route_answers_every_actor_with_the_documented_status() {
    let app = app(1000).await;
    message_in(&app, State::Answered).await;
    let analytics = analytics::Services::new(app.store.clone(), app.clock.clone(), app.reference.clone());
    let poll = open_vote(&app).await;
    let mut failures = Vec::new();
    for (route, fixture, expected) in ANALYTICS_MATRIX {
        for (who, want) in ANALYTICS_ACTORS.iter().zip(expected) {
            let mut req = as_actor(fixture, who);
            if req.path_parameters_ref().and_then(|p| p.first("id")).is_some() {
                req = req.with_path_parameters(HashMap::from([("id".to_string(), poll.to_string())]));
            }
            let got = analytics::handle(&analytics, req).await.unwrap().status().as_u16();
            if got != *want {
                failures.push(format!("{route} as {who}: expected {want}, got {got}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn render_integrations() -> String {
    table(
        &INTEGRATIONS_ACTORS,
        INTEGRATIONS_MATRIX.iter().map(|(route, _, expected)| (format!("`{route}`"), &expected[..])),
    )
}

#[tokio::test]
async fn every_integrations_route_answers_every_actor_with_the_documented_status() {
    let app = app(1000).await;
    let mut failures = Vec::new();
    for (route, fixture, expected) in INTEGRATIONS_MATRIX {
        for (who, want) in INTEGRATIONS_ACTORS.iter().zip(expected) {
            let made = app.integrations.create(&admin(), "Интеграция для проверки прав").await.unwrap();
            let mut req = as_actor(fixture, who);
            if req.path_parameters_ref().and_then(|p| p.first("id")).is_some() {
                let id = made.integration.id.to_string();
                req = req.with_path_parameters(HashMap::from([("id".to_string(), id)]));
            }
            let got = reference_data::handle(&app.reference, &app.integrations, req).await.unwrap().status().as_u16();
            if got != *want {
                failures.push(format!("{route} as {who}: expected {want}, got {got}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn render_webhooks() -> String {
    table(
        &INTEGRATIONS_ACTORS,
        WEBHOOKS_MATRIX.iter().map(|(route, _, expected)| (format!("`{route}`"), &expected[..])),
    )
}

#[tokio::test]
async fn every_webhooks_route_answers_every_actor_with_the_documented_status() {
    use feedback_core::webhook::{
        Destinations, Event, EventType, NewEndpoint, PollData, WebhookDelivery, WebhookStore, Webhooks,
    };
    let app = app(1000).await;
    let webhooks = Webhooks::new(
        app.store.clone(),
        app.queue.clone(),
        app.clock.clone(),
        app.reference.clone(),
        Destinations::Public,
    );
    let mut failures = Vec::new();
    for (route, fixture, expected) in WEBHOOKS_MATRIX {
        for (who, want) in INTEGRATIONS_ACTORS.iter().zip(expected) {
            let request = NewEndpoint {
                url: "https://dispatch.example.ru/hooks".into(),
                events: vec!["poll.opened".into()],
                authority_id: None,
            };
            let made = webhooks.create(&admin(), &request).await.unwrap();
            let now = app.clock.now();
            let data = PollData {
                poll_id: PollId::new_at(now),
                kind: PollKind::Vote,
                title: "Благоустройство сквера".into(),
                municipalities: vec![],
                opens_at: now,
                closes_at: now,
            };
            let delivery = WebhookDelivery::new(Event::about_poll(EventType::PollOpened, data, now), &made.id, now);
            app.store.create_webhook_delivery(&delivery).await.unwrap();
            let mut req = as_actor(fixture, who);
            if req.path_parameters_ref().and_then(|p| p.first("id")).is_some() {
                req = req.with_path_parameters(HashMap::from([
                    ("id".to_string(), made.id.to_string()),
                    ("delivery_id".to_string(), delivery.id.clone()),
                ]));
            }
            let got = webhooks::handle(&webhooks, req).await.unwrap().status().as_u16();
            if got != *want {
                failures.push(format!("{route} as {who}: expected {want}, got {got}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The resident's e-mail turned on, so that an unsubscribe has something to turn off.
async fn email_on(app: &App, resident: &feedback_core::actor::Actor) {
    let mut prefs = app.submit.reach.preferences(resident).await.unwrap();
    prefs.channels.email = true;
    app.submit.reach.set_preferences(resident, prefs).await.unwrap();
}

fn render_deliveries() -> String {
    table(
        &DELIVERIES_ACTORS,
        DELIVERIES_MATRIX.iter().map(|(route, _, expected)| (format!("`{route}`"), &expected[..])),
    )
}

#[tokio::test]
async fn the_delivery_log_and_unsubscribe_answer_every_actor_with_the_documented_status() {
    use feedback_core::delivery::{unsubscribe_token, Audience, Channel, Delivery, DeliveryStore, Payload};
    use feedback_core::notification::{Notification, NotificationKind};
    let app = app(1000).await;
    let (id, _, _) = message_in(&app, State::Routed).await;
    let alice = citizen("alice");
    email_on(&app, &alice).await;
    let now = app.clock.now();
    let notification = Notification {
        id: format!("{id}:000002"),
        citizen: alice.id.clone(),
        message_id: id,
        message_number: None,
        kind: NotificationKind::Routed,
        at: now,
        text: "Ваше сообщение направлено.".into(),
        expires_at: None,
        read_at: None,
    };
    let payload = Payload::Transition { notification: notification.clone(), audience: Audience::Author };
    let delivery = Delivery::planned(&notification.id, Channel::Email, &alice.id, payload, now);
    app.store.plan_delivery(&delivery).await.unwrap();
    let key = feedback_tests::embedded::unsubscribe_key();
    let token = unsubscribe_token(&key, &alice.id, Channel::Email, now + chrono::Duration::days(30));
    let mut failures = Vec::new();
    for (route, fixture, expected) in DELIVERIES_MATRIX {
        for (who, want) in DELIVERIES_ACTORS.iter().zip(expected) {
            let mut req = as_actor(fixture, who);
            if req.path_parameters_ref().and_then(|p| p.first("id")).is_some() {
                req = req.with_path_parameters(HashMap::from([("id".to_string(), notification.id.clone())]));
            } else {
                req = req.with_query_string_parameters(HashMap::from([("token".to_string(), token.clone())]));
            }
            let resp = submit_message::handle(&app.submit, req).await.unwrap();
            let got = resp.status().as_u16();
            if got != *want {
                failures.push(format!("{route} as {who}: expected {want}, got {got}"));
            }
            if route.starts_with("GET /v1/admin/") && got == 200 {
                let body = String::from_utf8(resp.body().to_vec()).unwrap();
                let log: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(log["items"][0]["channel"], "email", "{body}");
                assert_eq!(log["items"][0]["status"], "pending", "{body}");
                assert!(!body.contains("alice") && !body.contains('@'), "no resident, no address: {body}");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let prefs = app.submit.reach.preferences(&alice).await.unwrap();
    assert!(!prefs.channels.email, "the link turned the owner's e-mail off");
}

#[tokio::test]
async fn a_forged_or_expired_unsubscribe_link_changes_nothing() {
    use feedback_core::delivery::{unsubscribe_token, Channel};
    let app = app(1000).await;
    let alice = citizen("alice");
    let key = feedback_tests::embedded::unsubscribe_key();
    let now = app.clock.now();
    email_on(&app, &alice).await;
    let valid = unsubscribe_token(&key, &alice.id, Channel::Email, now + chrono::Duration::days(30));
    let expired = unsubscribe_token(&key, &alice.id, Channel::Email, now - chrono::Duration::minutes(1));
    let forged =
        unsubscribe_token(b"another-key-0123456789", &alice.id, Channel::Email, now + chrono::Duration::days(1));
    for (fixture, token) in [
        ("apigw-post-unsubscribe.json", format!("{valid}x")),
        ("apigw-post-unsubscribe.json", expired.clone()),
        ("apigw-post-unsubscribe.json", forged.clone()),
        ("apigw-post-unsubscribe.json", String::new()),
        ("apigw-get-unsubscribe.json", expired),
        ("apigw-get-unsubscribe.json", forged),
    ] {
        let req = as_actor(fixture, "no token")
            .with_query_string_parameters(HashMap::from([("token".to_string(), token.clone())]));
        let resp = submit_message::handle(&app.submit, req).await.unwrap();
        assert_eq!(resp.status(), 422, "{fixture} {token}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let body = String::from_utf8(resp.body().to_vec()).unwrap();
        assert!(body.contains("ссылк"), "a Russian detail: {body}");
    }
    assert!(app.submit.reach.preferences(&alice).await.unwrap().channels.email, "nothing changed");
}

#[tokio::test]
async fn the_unsubscribe_page_changes_nothing_and_its_button_posts() {
    use feedback_core::delivery::{unsubscribe_token, Channel};
    let app = app(1000).await;
    let alice = citizen("alice");
    let key = feedback_tests::embedded::unsubscribe_key();
    email_on(&app, &alice).await;
    let token = unsubscribe_token(&key, &alice.id, Channel::Email, app.clock.now() + chrono::Duration::days(30));
    let req = as_actor("apigw-get-unsubscribe.json", "no token")
        .with_query_string_parameters(HashMap::from([("token".to_string(), token.clone())]));
    let resp = submit_message::handle(&app.submit, req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    let page = String::from_utf8(resp.body().to_vec()).unwrap();
    assert!(page.contains("lang=\"ru\"") && page.contains("Отписаться"), "{page}");
    assert!(page.contains(&format!("action=\"/v1/unsubscribe?token={token}\"")), "{page}");
    assert!(app.submit.reach.preferences(&alice).await.unwrap().channels.email, "a GET changes nothing");
    let other = as_actor("apigw-post-unsubscribe.json", "no token")
        .with_query_string_parameters(HashMap::from([("token".to_string(), token)]));
    let (parts, _) = other.into_parts();
    let json = lambda_http::Request::from_parts(parts, lambda_http::Body::Text("{\"unsubscribe\": true}".into()));
    let resp = submit_message::handle(&app.submit, json).await.unwrap();
    assert_eq!(resp.status(), 422, "another body is refused");
    assert!(app.submit.reach.preferences(&alice).await.unwrap().channels.email);
}

#[test]
fn the_documented_matrices_are_the_tested_ones() {
    let doc = std::fs::read_to_string(feedback_tests::events_dir().join("../docs/authorization.md")).unwrap();
    for table in [render(), render_analytics(), render_integrations(), render_webhooks(), render_deliveries()] {
        assert!(doc.contains(&table), "docs/authorization.md must contain exactly:\n{table}");
    }
}
