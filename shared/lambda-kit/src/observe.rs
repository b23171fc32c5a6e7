//! What the functions tell operators about their work: one span per HTTP request, per SQS record
//! and per scheduled run, and failures logged with every error of their chain. Spans carry route
//! templates, roles, queue and job names and ids; never personal data, tokens, claims or raw paths.

use crate::metrics::{self, Metric};
use crate::problem::ApiError;
use crate::request::{operation, region, route_key};
use crate::routes;
use feedback_core::error::ErrorChain;
use feedback_core::ids::MessageId;
use feedback_core::{Actor, Job};
use lambda_http::{Body, Request, RequestExt, Response};
use std::future::Future;
use tracing::field::{display, Empty};
use tracing::Instrument;

/// What a handler answers: a response, or an error that becomes one.
pub trait Answer {
    fn into_response(self) -> Response<Body>;
}

impl Answer for Response<Body> {
    fn into_response(self) -> Response<Body> {
        self
    }
}

impl Answer for Result<Response<Body>, ApiError> {
    fn into_response(self) -> Response<Body> {
        self.unwrap_or_else(ApiError::into_response)
    }
}

/// Answers one HTTP request with `work`, inside the request's span: `route` (the route template,
/// never the raw path), `role` (recorded by [`crate::actor`]) and `message_id` where the route
/// names a message or the handler records one ([`record_message`]). A 5xx answer is counted
/// ([`Metric::ServerErrors`]).
pub async fn respond<A: Answer>(req: &Request, work: impl Future<Output = A>) -> Response<Body> {
    let (route, message) = matched(req);
    let span = tracing::info_span!("request", route = %route, role = Empty, message_id = Empty);
    if let Some(id) = message {
        span.record("message_id", display(id));
    }
    let response = async { work.await.into_response() }.instrument(span.clone()).await;
    if response.status().is_server_error() {
        span.in_scope(|| count(req, Metric::ServerErrors));
    }
    response
}

/// Counts one event of `metric` in the request's region.
pub fn count(req: &Request, metric: Metric) {
    metrics::emit(region(req).unwrap_or("unknown"), metric, 1.0);
}

/// The route template a request matched (`POST /v1/messages/{id}/take`) and the message its
/// path names, if any. Routes API Gateway delivers through a greedy proxy are matched against
/// the table here, as their function does.
fn matched(req: &Request) -> (String, Option<MessageId>) {
    if let Some(op) = operation(req) {
        let id = req.path_parameters_ref().and_then(|p| p.first("id"));
        return (op.route().key(), id.filter(|_| names_a_message(op.route())).and_then(|i| MessageId::parse(i).ok()));
    }
    let path = req.raw_http_path();
    let path = if path.is_empty() { req.uri().path() } else { path };
    match routes::find(req.method().as_str(), path) {
        Ok((route, params)) => {
            let id = params.iter().find(|(k, _)| k == "id").map(|(_, v)| v.as_str());
            (route.key(), id.filter(|_| names_a_message(route)).and_then(|i| MessageId::parse(i).ok()))
        }
        Err(_) => (route_key(req).unwrap_or_else(|| "no route".to_owned()), None),
    }
}

/// Whether a route's `{id}` is a message's id.
fn names_a_message(route: &routes::Route) -> bool {
    route.path.starts_with("/v1/messages/{id}") || route.path.starts_with("/open311/v2/requests/{id}")
}

/// Records the actor's roles (`official`, `admin+moderator`; never the id) on the request span.
pub(crate) fn record_role(actor: &Actor) {
    let roles: Vec<&str> = actor.roles.iter().map(|r| r.as_str()).collect();
    let role = if roles.is_empty() { "none".to_owned() } else { roles.join("+") };
    tracing::Span::current().record("role", role);
}

/// Records on the current span the message a request or job is about, where only the handler
/// knows it (the id of a message just submitted).
pub fn record_message(id: &MessageId) {
    tracing::Span::current().record("message_id", display(id));
}

/// The span of one SQS record: the queue's name (from the record's ARN), the record's SQS id,
/// and the job's kind and message once the consumer has read them ([`record_job`]).
pub(crate) fn record_span(queue_arn: Option<&str>, sqs_message_id: &str) -> tracing::Span {
    let queue = queue_arn.and_then(|arn| arn.rsplit(':').next()).unwrap_or("unknown");
    tracing::info_span!("record", queue, sqs_message_id, job = Empty, message_id = Empty)
}

/// Records the job's kind and its message on the current record span.
pub fn record_job(job: &Job) {
    let span = tracing::Span::current();
    span.record("job", job.kind());
    if let Some(id) = job.message_id() {
        span.record("message_id", display(id));
    }
}

/// Runs one scheduled job inside its span (`job`, the schedule's name). A failure is logged with
/// its whole chain and returned whole, its sources kept, for the runtime to report.
pub async fn scheduled<T, E>(
    job: &'static str,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, lambda_runtime::Error>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let span = tracing::info_span!("schedule", job);
    match work.instrument(span.clone()).await {
        Ok(done) => Ok(done),
        Err(e) => {
            span.in_scope(|| tracing::error!(error = %ErrorChain(&e), "scheduled run failed"));
            Err(Box::new(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use feedback_core::ids::CitizenId;
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    /// What a formatted subscriber wrote, with span fields.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture() -> (Captured, impl tracing::Subscriber) {
        let out = Captured::default();
        let writer = out.clone();
        let layer = tracing_subscriber::fmt::layer().json().with_span_list(true).with_writer(move || writer.clone());
        (out, tracing_subscriber::registry().with(layer))
    }

    fn request(route_key: &str, path: &str, id: Option<&str>) -> Request {
        let params = id.map_or_else(|| serde_json::json!({}), |id| serde_json::json!({ "id": id }));
        let event = serde_json::json!({
            "version": "2.0", "routeKey": route_key, "rawPath": path, "rawQueryString": "",
            "headers": {}, "pathParameters": params, "stageVariables": { "region": "72" },
            "requestContext": { "accountId": "1", "apiId": "a", "domainName": "x", "domainPrefix": "x",
                "http": { "method": route_key.split(' ').next().unwrap_or("GET"), "path": path,
                    "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t" },
                "requestId": "r", "routeKey": route_key, "stage": "$default", "time": "", "timeEpoch": 0 },
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[tokio::test]
    async fn a_request_span_names_the_route_template_role_and_message_never_the_raw_path() {
        let id = "01JDQ3Z5V1K8Y2M4N6P8R0T2W4";
        let req = request("POST /v1/messages/{id}/take", &format!("/v1/messages/{id}/take"), Some(id));
        let (out, subscriber) = capture();
        let _guard = tracing::subscriber::set_default(subscriber);
        let answered = respond(&req, async {
            let actor = Actor {
                id: CitizenId::parse("official-secret-sub").unwrap(),
                roles: BTreeSet::from([feedback_core::Role::Official, feedback_core::Role::Admin]),
                region: Some("72".into()),
                municipality: None,
                authority: None,
                birthdate: None,
                email: None,
                phone_number: None,
            };
            record_role(&actor);
            tracing::info!("inside");
            Err::<Response<Body>, _>(ApiError::internal())
        })
        .await;
        assert_eq!(answered.status(), 500);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let inside = text.lines().find(|l| l.contains("inside")).unwrap();
        let line: serde_json::Value = serde_json::from_str(inside).unwrap();
        let span = &line["spans"][0];
        assert_eq!(span["name"], "request");
        assert_eq!(span["route"], "POST /v1/messages/{id}/take");
        assert_eq!(span["role"], "official+admin");
        assert_eq!(span["message_id"], id);
        assert!(!text.contains("official-secret-sub"), "{text}");
        assert!(!text.contains(&format!("/v1/messages/{id}/take")), "{text}");
        assert!(text.contains("request failed"), "the 500 is logged inside the span: {text}");
    }

    #[tokio::test]
    async fn a_proxied_route_is_named_by_its_table_template() {
        let id = "01JDQ3Z5V1K8Y2M4N6P8R0T2W4";
        let req = request("GET /open311/v2/{proxy+}", &format!("/open311/v2/requests/{id}.json"), None);
        let (route, message) = matched(&req);
        assert_eq!(route, "GET /open311/v2/requests/{id}.{format}");
        assert_eq!(message.map(|m| m.to_string()).as_deref(), Some(id));
        let ballot = request("GET /v1/ballots/{receipt}", "/v1/ballots/7Q2M9XK4TR8B3N6P", None);
        assert_eq!(matched(&ballot), ("GET /v1/ballots/{receipt}".to_owned(), None));
    }

    #[derive(Debug, thiserror::Error)]
    #[error("the run failed")]
    struct RunFailed(#[source] std::io::Error);

    #[tokio::test]
    async fn a_failed_scheduled_run_is_logged_with_its_chain_and_returned_whole() {
        let (out, subscriber) = capture();
        let _guard = tracing::subscriber::set_default(subscriber);
        let got: Result<(), _> =
            scheduled("close-polls", async { Err(RunFailed(std::io::Error::other("disk on fire"))) }).await;
        let e = got.unwrap_err();
        assert_eq!(e.source().map(|s| s.to_string()).as_deref(), Some("disk on fire"));
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(line["fields"]["error"], "the run failed: disk on fire");
        assert_eq!(line["spans"][0]["job"], "close-polls");
    }
}
