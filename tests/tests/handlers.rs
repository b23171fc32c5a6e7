//! Every handler, called with the real-shaped fixtures in `events/`.

use aws_lambda_events::event::sqs::SqsEvent;
use feedback_core::ports::QueueName;
use feedback_core::ports::QueueReceiver;
use feedback_lambda::routes::{PROXIES, ROUTES};
use feedback_tests::embedded::app;
use feedback_tests::{event, events_dir, http_event};
use lambda_http::{Body, RequestExt};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

fn body_json(resp: &lambda_http::Response<Body>) -> Value {
    match resp.body() {
        Body::Text(t) => serde_json::from_str(t).expect("json body"),
        other => panic!("unexpected body {other:?}"),
    }
}

#[test]
fn every_fixture_deserialises_and_every_route_has_one() {
    let mut covered = BTreeSet::new();
    for entry in std::fs::read_dir(events_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let text = event(&name);
        if name.starts_with("apigw-") {
            let req = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut key = feedback_lambda::route_key(&req).expect("route key");
            // A greedy proxy route's fixture covers the table route its method and path match.
            if PROXIES.iter().any(|p| p.key() == key) {
                let (route, _) = feedback_lambda::routes::find(req.method().as_str(), req.raw_http_path())
                    .unwrap_or_else(|_| panic!("{name}: no table route for its path"));
                key = route.key();
            }
            assert!(ROUTES.iter().any(|r| r.key() == key), "{name}: {key} is not in the route table");
            covered.insert(key);
        } else if name.starts_with("sqs-") {
            let ev: SqsEvent = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!ev.records.is_empty());
        } else if name.starts_with("sns-") {
            let ev: aws_lambda_events::event::sns::SnsEvent =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            for r in &ev.records {
                let mail = mail_events::read(&r.sns.message).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(["Bounce", "Complaint"].contains(&mail.event_type.as_str()), "{name}");
            }
        } else if name.starts_with("scheduler-") {
            let ev: aws_lambda_events::event::eventbridge::EventBridgeEvent<Value> =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(ev.detail_type, "Scheduled Event");
        } else {
            panic!("{name}: unknown fixture kind");
        }
    }
    let all: BTreeSet<String> = ROUTES.iter().map(|r| r.key()).collect();
    assert_eq!(covered, all, "every route has an API Gateway fixture");
}

#[tokio::test]
async fn preferences_and_subscriptions_fixtures_set_read_and_remove() {
    let app = app(20).await;
    let call = |name: &str| submit_message::handle(&app.submit, http_event(name));
    // Given the token with an e-mail claim and nothing set: the defaults
    let defaults = call("apigw-get-me-preferences.json").await.unwrap();
    assert_eq!(body_json(&defaults)["channels"]["email"], true);
    assert_eq!(body_json(&defaults)["digest"], "instant");
    // When the PUT fixture replaces them, they are read back
    let put = call("apigw-put-me-preferences.json").await.unwrap();
    assert_eq!((put.status().as_u16(), body_json(&put)["digest"].as_str()), (200, Some("daily")));
    let read = call("apigw-get-me-preferences.json").await.unwrap();
    assert_eq!(body_json(&read), body_json(&put));
    // And the POST fixture subscribes, the list shows it and the DELETE removes it
    let created = call("apigw-post-me-subscriptions.json").await.unwrap();
    assert_eq!(created.status(), 201);
    let id = body_json(&created)["id"].as_str().unwrap().to_owned();
    assert!(body_json(&created)["created_at"].as_str().unwrap().ends_with("+05:00"));
    let list = call("apigw-get-me-subscriptions.json").await.unwrap();
    assert_eq!(body_json(&list)["items"][0]["id"], id.as_str());
    let missing = call("apigw-delete-me-subscription.json").await.unwrap();
    assert_eq!(missing.status(), 404, "the fixture's own id is nobody's");
    let req =
        http_event("apigw-delete-me-subscription.json").with_path_parameters(HashMap::from([("id".to_string(), id)]));
    assert_eq!(submit_message::handle(&app.submit, req).await.unwrap().status(), 204);
    let list = call("apigw-get-me-subscriptions.json").await.unwrap();
    assert_eq!(body_json(&list)["items"], serde_json::json!([]));
}

async fn call_submit(app: &feedback_tests::embedded::App, fixture: &str) -> lambda_http::Response<Body> {
    submit_message::handle(&app.submit, http_event(fixture)).await.unwrap()
}

#[tokio::test]
async fn push_subscription_fixtures_add_replace_list_and_remove() {
    let mut app = app(20).await;
    // Given a stack without Web Push: the public key is 503 in Russian
    let none = call_submit(&app, "apigw-get-push-public-key.json").await;
    assert_eq!((none.status().as_u16(), body_json(&none)["code"].as_str()), (503, Some("not_configured")));
    assert!(body_json(&none)["detail"].as_str().unwrap().contains("не настроены"));
    // And with a public key, anyone reads it, cacheable for an hour
    let key = feedback_push::VapidKey::generate().unwrap().public_key();
    app.submit.push_public_key = Some(key.clone());
    let got = call_submit(&app, "apigw-get-push-public-key.json").await;
    assert_eq!((got.status().as_u16(), body_json(&got)["public_key"].as_str()), (200, Some(key.as_str())));
    assert_eq!(got.headers()["cache-control"], "public, max-age=3600");
    // When the POST fixture subscribes twice, one browser is kept
    let created = call_submit(&app, "apigw-post-me-push-subscriptions.json").await;
    assert_eq!(created.status(), 201);
    let body = body_json(&created);
    assert_eq!(body["endpoint_origin"], "https://142.250.74.74");
    assert_eq!(call_submit(&app, "apigw-post-me-push-subscriptions.json").await.status(), 201);
    let list = body_json(&call_submit(&app, "apigw-get-me-push-subscriptions.json").await);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], body["id"]);
    assert!(!list.to_string().contains("fcm/send") && !list.to_string().contains("p256dh"), "{list}");
    // Then the DELETE fixture's own id is nobody's, and the created one's is removed
    assert_eq!(call_submit(&app, "apigw-delete-me-push-subscription.json").await.status(), 404);
    let id = body["id"].as_str().unwrap().to_owned();
    let req = http_event("apigw-delete-me-push-subscription.json")
        .with_path_parameters(HashMap::from([("id".to_string(), id)]));
    assert_eq!(submit_message::handle(&app.submit, req).await.unwrap().status(), 204);
    let list = body_json(&call_submit(&app, "apigw-get-me-push-subscriptions.json").await);
    assert_eq!(list["items"], serde_json::json!([]));
}

#[tokio::test]
async fn submit_message_creates_replays_lists_and_reads() {
    let app = app(20).await;
    // Given the POST fixture with its Idempotency-Key
    let resp = submit_message::handle(&app.submit, http_event("apigw-post-messages.json")).await.unwrap();
    assert_eq!(resp.status(), 201);
    let created = body_json(&resp);
    assert_eq!(created["status"], "submitted");
    assert_eq!(created["public"], true);
    assert!(created["created_at"].as_str().unwrap().ends_with("+05:00"), "times are in the region's offset");
    // When it is replayed, the same message comes back
    let again = submit_message::handle(&app.submit, http_event("apigw-post-messages.json")).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(body_json(&again)["id"], created["id"]);
    // And the list fixture shows exactly one message
    let list = submit_message::handle(&app.submit, http_event("apigw-get-messages.json")).await.unwrap();
    assert_eq!(body_json(&list)["items"].as_array().unwrap().len(), 1);
    // And the read fixture, pointed at this message, shows it with its history
    let id = created["id"].as_str().unwrap().to_owned();
    let req = http_event("apigw-get-message.json").with_path_parameters(HashMap::from([("id".to_string(), id)]));
    let read = submit_message::handle(&app.submit, req).await.unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(body_json(&read)["history"].as_array().unwrap().len(), 1);
    // While the fixture's own id is someone else's or nobody's: 404
    let missing = submit_message::handle(&app.submit, http_event("apigw-get-message.json")).await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn a_message_is_read_by_its_number_and_a_malformed_number_is_a_422() {
    let app = app(20).await;
    // Given a submitted message: its number is of the region, six digits at least
    let resp = submit_message::handle(&app.submit, http_event("apigw-post-messages.json")).await.unwrap();
    let created = body_json(&resp);
    let number = created["number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("72-") && number.len() >= 9, "{number}");
    // When the author reads it by its number, it comes with its history
    let by = |n: &str| {
        http_event("apigw-get-message-by-number.json")
            .with_path_parameters(HashMap::from([("number".to_string(), n.to_string())]))
    };
    let read = submit_message::handle(&app.submit, by(&number)).await.unwrap();
    assert_eq!(read.status(), 200);
    let read = body_json(&read);
    assert_eq!((&read["id"], &read["number"]), (&created["id"], &created["number"]));
    assert_eq!(read["history"].as_array().unwrap().len(), 1);
    // And the list shows the number too
    let list = submit_message::handle(&app.submit, http_event("apigw-get-messages.json")).await.unwrap();
    assert_eq!(body_json(&list)["items"][0]["number"], created["number"]);
    // While another region's number, or one never given, is a 404 problem in Russian
    for n in [number.replacen("72-", "78-", 1), "72-999999".to_owned()] {
        let missing = submit_message::handle(&app.submit, by(&n)).await.unwrap();
        assert_eq!(missing.status(), 404, "{n}");
        assert_eq!(missing.headers()["content-type"], "application/problem+json");
        assert!(body_json(&missing)["detail"].as_str().unwrap().chars().any(|c| ('а'..='я').contains(&c)));
    }
    // And a malformed one is a 422 that says how a number is written
    for n in ["72-12", "72_000123", "72-00012x", "абв"] {
        let bad = submit_message::handle(&app.submit, by(n)).await.unwrap();
        assert_eq!(bad.status(), 422, "{n}");
        let problem = body_json(&bad);
        assert_eq!(problem["errors"][0]["field"], "number");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("72-000123"), "{problem}");
    }
}

#[tokio::test]
async fn route_messages_routes_and_reports_only_failed_records() {
    let app = app(20).await;
    submit_message::handle(&app.submit, http_event("apigw-post-messages.json")).await.unwrap();
    let job = app.queue.receive(QueueName::Submitted, 10, std::time::Duration::from_secs(30)).await.unwrap();
    assert_eq!(job.len(), 1);
    // Given the fixture batch: its first record pointed at the real message, its second unreadable
    let mut batch: SqsEvent = serde_json::from_str(&event("sqs-submitted-batch.json")).unwrap();
    batch.records[0].body = Some(job[0].body.clone());
    batch.records[1].body = Some("{\"kind\":\"something_else\"}".into());
    let failed_id = batch.records[1].message_id.clone().unwrap();
    let resp = route_messages::handle(&app.routing, LambdaEvent::new(batch, Context::default())).await.unwrap();
    // Then only the unreadable record is reported for redelivery
    let failures: Vec<String> = resp.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failures, vec![failed_id]);
    let job: feedback_core::ports::Job = feedback_core::ports::Job::from_body(&job[0].body).unwrap();
    let feedback_core::ports::Job::RouteMessage { message_id } = job else { panic!("expected a routing job") };
    let stored = feedback_core::MessageStore::get_message(&app.store, &message_id).await.unwrap().unwrap();
    assert_eq!(stored.status, feedback_core::Status::Routed);
    assert_eq!(stored.authority_id.unwrap().as_str(), "tyumen-upravdor");
    // And the fixture batch as it is (unknown ids) succeeds without changes
    let batch: SqsEvent = serde_json::from_str(&event("sqs-submitted-batch.json")).unwrap();
    let resp = route_messages::handle(&app.routing, LambdaEvent::new(batch, Context::default())).await.unwrap();
    assert!(resp.batch_item_failures.is_empty());
}

#[tokio::test]
async fn reference_data_serves_lists_rules_and_health() {
    let app = app(20).await;
    for (fixture, count) in [
        ("apigw-get-categories.json", 7),
        ("apigw-get-categories-search.json", 1),
        ("apigw-get-municipalities.json", 3),
        ("apigw-get-authorities.json", 7),
        ("apigw-get-routing-rules.json", 7),
    ] {
        let resp = reference_data::handle(&app.reference, &app.integrations, http_event(fixture)).await.unwrap();
        assert_eq!(resp.status(), 200, "{fixture}");
        let body = body_json(&resp);
        assert_eq!(body["items"].as_array().unwrap().len(), count, "{fixture}");
        assert_eq!(body["next_cursor"], Value::Null);
    }
    let put = reference_data::handle(&app.reference, &app.integrations, http_event("apigw-put-routing-rules.json"))
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let rules = reference_data::handle(&app.reference, &app.integrations, http_event("apigw-get-routing-rules.json"))
        .await
        .unwrap();
    assert_eq!(body_json(&rules)["items"].as_array().unwrap().len(), 3);
    let health =
        reference_data::handle(&app.reference, &app.integrations, http_event("apigw-get-healthz.json")).await.unwrap();
    assert_eq!(health.status(), 200);
    let openapi =
        reference_data::handle(&app.reference, &app.integrations, http_event("apigw-get-openapi.json")).await.unwrap();
    let doc = body_json(&openapi);
    assert_eq!(doc["openapi"], "3.1.0");
    let operations: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(operations, ROUTES.len());
}

#[tokio::test]
async fn a_flag_reason_reaches_the_moderators_queue() {
    use feedback_core::Clock;
    let app = app(20).await;
    let secret = feedback_core::testing::poll_secrets(b"handlers-test-secret-0123456789");
    let p = feedback_core::participation::Participation::new(
        app.store.clone(),
        app.clock.clone(),
        app.reference.clone(),
        secret,
        5,
    );
    let discussion = feedback_tests::polls::discussion_input("Благоустройство сквера", app.clock.now());
    let d = p.create(&feedback_tests::polls::admin(), discussion).await.unwrap();
    let alice = feedback_tests::polls::resident("alice", "tyumen", "1990-01-01");
    let comment = feedback_core::values::CommentText::parse("Сквер нужен всем").unwrap();
    let c = p.comment(&alice, &d.id, comment, None).await.unwrap();
    let id = HashMap::from([("id".to_string(), c.id.to_string())]);
    // Given the fixture's flag, with its reason, on that comment
    let flag = http_event("apigw-post-comment-flags.json").with_path_parameters(id);
    let resp = polls::handle(&p, flag).await.unwrap();
    assert_eq!(resp.status(), 200, "{:?}", resp.body());
    // Then the moderators' queue shows the comment with the reason the resident gave
    let queue = polls::handle(&p, http_event("apigw-get-moderation-comments.json")).await.unwrap();
    assert_eq!(queue.status(), 200);
    let items = body_json(&queue)["items"].clone();
    assert_eq!(items[0]["id"], c.id.to_string());
    assert_eq!(items[0]["flags"], 1);
    assert_eq!(items[0]["flag_reasons"], serde_json::json!(["оскорбления"]), "{items}");
}

#[tokio::test]
async fn reference_data_is_cacheable_and_revalidates_by_its_etag() {
    let app = app(20).await;
    for fixture in ["apigw-get-categories.json", "apigw-get-municipalities.json", "apigw-get-authorities.json"] {
        let resp = reference_data::handle(&app.reference, &app.integrations, http_event(fixture)).await.unwrap();
        assert_eq!(resp.status(), 200, "{fixture}");
        assert_eq!(resp.headers()["cache-control"], "public, max-age=300", "{fixture}");
        let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() == 18, "{fixture}: {etag}");
        assert!(!body_json(&resp)["items"].as_array().unwrap().is_empty(), "{fixture}");

        // The same data again: the same tag, and a client that holds it gets 304 without a body.
        let mut req = http_event(fixture);
        req.headers_mut().insert("if-none-match", format!("W/\"0\", {etag}").parse().unwrap());
        let resp = reference_data::handle(&app.reference, &app.integrations, req).await.unwrap();
        assert_eq!(resp.status(), 304, "{fixture}");
        assert_eq!(resp.headers()["etag"].to_str().unwrap(), etag, "{fixture}");
        assert!(matches!(resp.body(), Body::Empty), "{fixture}");

        // A stale tag gets the whole list.
        let mut req = http_event(fixture);
        req.headers_mut().insert("if-none-match", "\"0000000000000000\"".parse().unwrap());
        let resp = reference_data::handle(&app.reference, &app.integrations, req).await.unwrap();
        assert_eq!(resp.status(), 200, "{fixture}");
    }
}

#[tokio::test]
async fn category_search_answers_cacheably_and_refuses_bad_queries_in_russian() {
    let app = app(20).await;
    let resp =
        reference_data::handle(&app.reference, &app.integrations, http_event("apigw-get-categories-search.json"))
            .await
            .unwrap();
    assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
    let body = body_json(&resp);
    assert_eq!(body["items"][0]["id"], "dorogi-yamy");
    assert_eq!(body["items"][0]["parent_id"], "dorogi");
    assert!(body["items"][0]["score"].as_u64().unwrap() > 0);
    for (params, field) in [
        (vec![("q", "  ")], "q"),
        (vec![], "q"),
        (vec![("q", "яма"), ("limit", "0")], "limit"),
        (vec![("q", "яма"), ("limit", "много")], "limit"),
    ] {
        let map: HashMap<String, String> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let req = http_event("apigw-get-categories-search.json").with_query_string_parameters(map);
        let resp = reference_data::handle(&app.reference, &app.integrations, req).await.unwrap();
        assert_eq!(resp.status(), 422, "{params:?}");
        let body = body_json(&resp);
        assert_eq!(body["errors"][0]["field"], field, "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(!message.chars().any(|c| c.is_ascii_alphabetic()), "{message}");
    }
}

#[tokio::test]
async fn the_public_map_answers_anyone_cacheably_and_refuses_bad_queries_with_problems() {
    let app = app(20).await;
    for name in ["apigw-get-public-messages.json", "apigw-get-public-clusters.json"] {
        let resp = submit_message::handle(&app.submit, http_event(name)).await.unwrap();
        assert_eq!(resp.status(), 200, "{name}");
        assert_eq!(resp.headers()["cache-control"], "public, max-age=60", "{name}");
    }
    let missing = submit_message::handle(&app.submit, http_event("apigw-get-public-message.json")).await.unwrap();
    assert_eq!(missing.status(), 404, "the fixture's id is no public message");
    assert_eq!(missing.headers()["content-type"], "application/problem+json");
    let bad: &[(&str, &[(&str, &str)])] = &[
        ("apigw-get-public-clusters.json", &[("bbox", "65.4,57.0,65.7"), ("zoom", "12")]),
        ("apigw-get-public-clusters.json", &[("bbox", "65.7,57.0,65.4,57.2"), ("zoom", "12")]),
        ("apigw-get-public-clusters.json", &[("bbox", "65.4,57.0,65.7,57.2"), ("zoom", "19")]),
        ("apigw-get-public-clusters.json", &[("bbox", "65.4,57.0,65.7,57.2")]),
        ("apigw-get-public-clusters.json", &[("bbox", "65.4,57.0,65.7,57.2"), ("zoom", "3"), ("status", "rejected")]),
        ("apigw-get-public-messages.json", &[("limit", "201")]),
        ("apigw-get-public-messages.json", &[("limit", "0")]),
        ("apigw-get-public-messages.json", &[("cursor", "not-a-cursor")]),
        ("apigw-get-public-messages.json", &[("from", "2026-13-01")]),
        ("apigw-get-public-messages.json", &[("category_id", "unknown-category")]),
        ("apigw-get-public-messages.json", &[("page", "2")]),
        ("apigw-get-messages-nearby.json", &[("category_id", "dorogi-yamy"), ("lat", "95"), ("lon", "65.5")]),
        ("apigw-get-messages-nearby.json", &[("lat", "57.1"), ("lon", "65.5")]),
    ];
    for (fixture, query) in bad {
        let params: HashMap<String, String> = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let req = http_event(fixture).with_query_string_parameters(params);
        let resp = submit_message::handle(&app.submit, req).await.unwrap();
        assert_eq!(resp.status(), 422, "{fixture} {query:?}: {}", body_json(&resp));
        assert_eq!(resp.headers()["content-type"], "application/problem+json", "{fixture} {query:?}");
    }
}

#[tokio::test]
async fn ses_event_fixtures_turn_off_bounced_and_complained_addresses_once() {
    let app = app(20).await;
    feedback_tests::mail_events::ses_events_turn_off_bounced_and_complained_addresses_once(app.store.clone()).await;
}

#[tokio::test]
async fn the_heat_map_answers_cells_and_refuses_bad_queries_with_russian_problems() {
    let app = app(20).await;
    let analytics = analytics::Services::new(app.store.clone(), app.clock.clone(), app.reference.clone());
    let resp = analytics::handle(&analytics, http_event("apigw-get-analytics-heatmap.json")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = body_json(&resp);
    assert_eq!((body["precision"].as_u64(), body["max"].as_u64()), (Some(5), Some(0)), "{body}");
    assert!(body["cells"].as_array().is_some_and(Vec::is_empty), "{body}");
    let box_ = ("bbox", "65.4,57.0,65.7,57.2");
    let bad: &[(&[(&str, &str)], &str)] = &[
        (&[("bbox", "65.4,57.0,65.7"), ("zoom", "12")], "bbox"),
        (&[("bbox", "65.7,57.0,65.4,57.2"), ("zoom", "12")], "bbox"),
        (&[("zoom", "12")], "bbox"),
        (&[box_, ("zoom", "19")], "zoom"),
        (&[box_, ("zoom", "-1")], "zoom"),
        (&[box_], "zoom"),
        (&[box_, ("zoom", "12"), ("overdue", "да")], "overdue"),
        (&[box_, ("zoom", "12"), ("category_id", "net-takoy")], "category_id"),
        (&[box_, ("zoom", "12"), ("status", "routed")], "status"),
    ];
    for (query, field) in bad {
        let params: HashMap<String, String> = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let req = http_event("apigw-get-analytics-heatmap.json").with_query_string_parameters(params);
        let resp = analytics::handle(&analytics, req).await.unwrap();
        assert_eq!(resp.status(), 422, "{query:?}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json", "{query:?}");
        let body = body_json(&resp);
        assert_eq!(body["errors"][0]["field"], *field, "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.chars().any(|c| ('а'..='я').contains(&c)), "{message}");
    }
}

/// The fixture's request with another JSON body.
fn with_body(req: lambda_http::Request, body: Value) -> lambda_http::Request {
    let (parts, _) = req.into_parts();
    lambda_http::Request::from_parts(parts, Body::Text(body.to_string()))
}

#[tokio::test]
async fn a_message_without_a_category_asks_for_one_in_russian() {
    let app = app(20).await;
    let fixture: Value = serde_json::from_str(&event("apigw-post-messages.json")).unwrap();
    let mut body: Value = serde_json::from_str(fixture["body"].as_str().unwrap()).unwrap();
    body["category_id"] = serde_json::json!("");
    let resp =
        submit_message::handle(&app.submit, with_body(http_event("apigw-post-messages.json"), body)).await.unwrap();
    assert_eq!(resp.status(), 422);
    let problem = body_json(&resp);
    let errors = problem["errors"].as_array().unwrap();
    let category = errors.iter().find(|e| e["field"] == "category_id").expect("the category's field error");
    assert_eq!(category["message"], "Выберите категорию.");
}

#[tokio::test]
async fn reply_template_fixtures_add_replace_list_and_remove() {
    let app = app(20).await;
    let call = |req| handle_messages::handle(&app.officials, req);
    let made = call(http_event("apigw-post-authority-templates.json")).await.unwrap();
    assert_eq!(made.status(), 201);
    let made = body_json(&made);
    assert_eq!(made["title"], "Яма заделана");
    assert!(made["created_at"].as_str().unwrap().ends_with("+05:00"), "times are in the region's offset");
    let id = made["id"].as_str().unwrap().to_owned();
    let path = || HashMap::from([("id".to_string(), id.clone())]);
    let changed =
        serde_json::json!({"title": "Яма заделана в срок", "text": "Яма заделана в срок, спасибо за сообщение."});
    let put = with_body(http_event("apigw-put-authority-template.json"), changed).with_path_parameters(path());
    let put = call(put).await.unwrap();
    assert_eq!(put.status(), 200);
    assert_eq!(body_json(&put)["title"], "Яма заделана в срок");
    let bad = serde_json::json!({"title": " ", "text": "коротко"});
    let refused = call(with_body(http_event("apigw-post-authority-templates.json"), bad)).await.unwrap();
    assert_eq!(refused.status(), 422);
    let problem = body_json(&refused);
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["title", "text"]);
    assert_eq!(problem["errors"][0]["message"], "Введите название шаблона.");
    let unknown = serde_json::json!({"title": "Шаблон", "text": "Текст готового ответа.", "authority_id": "adm-ishim"});
    let refused = call(with_body(http_event("apigw-post-authority-templates.json"), unknown)).await.unwrap();
    assert_eq!(refused.status(), 422, "an authority is never taken from the body");
    let list = body_json(&call(http_event("apigw-get-authority-templates.json")).await.unwrap());
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["text"], "Яма заделана в срок, спасибо за сообщение.");
    let gone = call(http_event("apigw-delete-authority-template.json").with_path_parameters(path())).await.unwrap();
    assert_eq!(gone.status(), 204);
    let again = call(http_event("apigw-delete-authority-template.json").with_path_parameters(path())).await.unwrap();
    assert_eq!(again.status(), 404);
    let list = body_json(&call(http_event("apigw-get-authority-templates.json")).await.unwrap());
    assert_eq!(list["items"], serde_json::json!([]));
}
