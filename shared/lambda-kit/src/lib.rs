//! What every function shares at the edge: configuration, tracing, spans and metrics, claims →
//! `Actor`, problem+json errors, request parsing, the route table, the functions and their ports,
//! and the SQS batch helper.

pub mod config;
pub mod functions;
pub mod metrics;
pub mod observe;
pub mod openapi;
pub mod problem;
pub mod request;
pub mod routes;
pub mod sqs;
pub mod wiring;

pub use config::Config;
pub use observe::respond;
pub use problem::ApiError;
pub use request::{
    actor, body_bytes, from_json_value, json_body, json_body_without, limit_and_cursor, operation, path_param,
    route_key, MESSAGE_SERVER_OWNED,
};
pub use routes::Operation;
pub use wiring::{Deps, Settings};

use lambda_http::{Body, Response};
use serde::Serialize;

/// What every Lambda `main` calls first: JSON logs (what CloudWatch indexes), each event with the
/// spans it happened in (the runtime's `requestId`, then the request's, record's or run's own), at
/// the level in `RUST_LOG` (`error`, `warn`, `info`, `debug` or `trace`; default `info`); and the
/// function's metrics as EMF lines on standard output (`metrics`), under the deployed function's
/// name (`feedback-72-prod-submit-message`; `function`'s own outside Lambda). A plain level keeps
/// regex engines out of the zips.
pub fn init(function: &'static functions::Function) {
    let level = std::env::var(functions::env::RUST_LOG)
        .ok()
        .and_then(|v| v.trim().parse::<tracing_subscriber::filter::LevelFilter>().ok())
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_current_span(false)
        .with_span_list(true)
        .without_time()
        .with_target(false)
        .try_init();
    let deployed = std::env::var(functions::env::AWS_LAMBDA_FUNCTION_NAME).ok().filter(|n| !n.is_empty());
    metrics::to_stdout(deployed.unwrap_or_else(|| function.name.to_owned()));
}

/// The media type of an Office Open XML spreadsheet (the analytics export for people).
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A JSON response with the given status.
pub fn json_response<T: Serialize>(status: u16, value: &T) -> Response<Body> {
    match serde_json::to_string(value) {
        Ok(body) => Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::Text(body))
            .unwrap_or_else(|_| ApiError::internal().into_response()),
        Err(e) => ApiError::Service(feedback_core::ServiceError::Unexpected(e.into())).into_response(),
    }
}

/// 200 with a value every caller sees alike (reference data, public documents), shared caches
/// may keep for `max_age` seconds. Its `ETag` is a digest of the body: a request whose
/// `If-None-Match` names it gets 304 with no body, so a portal that reloads pays only the headers.
pub fn cacheable<T: Serialize>(req: &lambda_http::Request, value: &T, max_age: u32) -> Response<Body> {
    let body = match serde_json::to_string(value) {
        Ok(body) => body,
        Err(e) => return ApiError::Service(feedback_core::ServiceError::Unexpected(e.into())).into_response(),
    };
    let etag = etag_of(body.as_bytes());
    let control = format!("public, max-age={max_age}");
    let builder = Response::builder().header("etag", &etag).header("cache-control", control);
    let fresh = req
        .headers()
        .get_all("if-none-match")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*");
    let resp = if fresh {
        builder.status(304).body(Body::Empty)
    } else {
        builder.status(200).header("content-type", "application/json").body(Body::Text(body))
    };
    resp.unwrap_or_else(|_| ApiError::internal().into_response())
}

/// A strong validator of a body: the first 16 hex digits of its SHA-256, quoted.
pub fn etag_of(body: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body);
    format!("\"{}\"", hex::encode(digest.get(..8).unwrap_or_default()))
}

/// 200 with the value.
pub fn ok<T: Serialize>(value: &T) -> Response<Body> {
    json_response(200, value)
}

/// 201 with the created resource.
pub fn created<T: Serialize>(value: &T) -> Response<Body> {
    json_response(201, value)
}

/// 204 with no body: the resource is gone.
pub fn no_content() -> Response<Body> {
    Response::builder().status(204).body(Body::Empty).unwrap_or_else(|_| ApiError::internal().into_response())
}
