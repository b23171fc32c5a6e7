//! Shared test support and the contract suite every adapter must pass. The same cases run on
//! SQLite (`tests/contract_sqlite.rs`) and on DynamoDB/SQS through moto (`tests/contract_dynamo.rs`).

pub mod analytics;
pub mod contract;
pub mod cost;
pub mod delivery;
pub mod embedded;
pub mod faults;
pub mod fixtures;
pub mod linking;
pub mod mail_events;
pub mod moto;
pub mod open311;
pub mod polls;
pub mod public;
pub mod reach;
pub mod rights;
pub mod templates;
pub mod webhooks;
pub mod workflow;

/// What a contract case needs: a store and a queue of one backend.
pub struct Harness<S, Q> {
    pub store: S,
    pub queue: Q,
    /// Receptions after which the backend's queue dead-letters a message.
    pub max_receives: u32,
}

/// The repository's `events/` folder.
pub fn events_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// A fixture from `events/`, as text.
pub fn event(name: &str) -> String {
    std::fs::read_to_string(events_dir().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// An API Gateway fixture as the request the function receives.
pub fn http_event(name: &str) -> lambda_http::Request {
    lambda_http::request::from_str(&event(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The request with these verified claims instead of the fixture's own.
pub fn with_claims(req: lambda_http::Request, claims: &[(&str, &str)]) -> lambda_http::Request {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    let mut ctx = req.request_context();
    if let RequestContext::ApiGatewayV2(c) = &mut ctx {
        if let Some(jwt) = c.authorizer.as_mut().and_then(|a| a.jwt.as_mut()) {
            jwt.claims = claims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        }
    }
    req.with_request_context(ctx)
}
