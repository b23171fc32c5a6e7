//! Reading requests: claims, bodies, path and query parameters.

use crate::problem::ApiError;
use crate::routes::Operation;
use feedback_core::page::{Cursor, Limit};
use feedback_core::{Actor, FieldError, ServiceError};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;

/// The largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Fields of a message only the server sets; a new message that names one is refused.
pub const MESSAGE_SERVER_OWNED: &[&str] = &[
    "id",
    "status",
    "authority_id",
    "deadline",
    "overdue",
    "created_at",
    "updated_at",
    "history",
    "answer",
    "rating",
    "duplicate_of",
    "duplicates_count",
    "version",
    "author",
    "reopen_count",
];

/// The route key API Gateway matched (`"POST /v1/messages"`).
pub fn route_key(req: &Request) -> Option<String> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.clone(),
        _ => None,
    }
}

/// The operation of the route API Gateway matched; `None` for a key outside the table (a proxy
/// route's, for one).
pub fn operation(req: &Request) -> Option<Operation> {
    route_key(req).as_deref().and_then(Operation::from_route_key)
}

/// The stage variable that names the region a stack serves. The SAM template sets it on the HTTP
/// API's stage and the local host on every request it hands to a function.
pub const REGION_STAGE_VARIABLE: &str = "region";

/// The code of the region the stack serves, from the request's stage variable.
pub fn region(req: &Request) -> Option<&str> {
    req.stage_variables_ref().and_then(|v| v.first(REGION_STAGE_VARIABLE))
}

/// The caller, from the JWT authorizer's verified claims, admitted to the deployment's region
/// (`feedback_core::policy::admit`). 401 when there are no claims; 403 `wrong_region` when the
/// token is for another region or for none.
pub fn actor(req: &Request) -> Result<Actor, ApiError> {
    let claims = req
        .request_context_ref()
        .and_then(|c| c.authorizer())
        .and_then(|a| a.jwt.as_ref())
        .map(|j| &j.claims)
        .ok_or(ApiError::Unauthorized)?;
    let actor = Actor::from_claims(claims).map_err(|_| ApiError::Unauthorized)?;
    crate::observe::record_role(&actor);
    let Some(region) = region(req) else {
        tracing::error!(variable = REGION_STAGE_VARIABLE, "the API stage does not name its region; refusing");
        return Err(ApiError::internal());
    };
    feedback_core::policy::admit(&actor, region)?;
    Ok(actor)
}

/// A path parameter of the matched route.
pub fn path_param(req: &Request, name: &str) -> Result<String, ApiError> {
    req.path_parameters_ref().and_then(|p| p.first(name)).map(str::to_owned).ok_or(ApiError::RouteNotFound)
}

/// `?limit=` and `?cursor=`, validated (422 when out of range or malformed).
pub fn limit_and_cursor(req: &Request) -> Result<(Limit, Option<Cursor>), ApiError> {
    let q = req.query_string_parameters_ref();
    let limit = Limit::parse(q.and_then(|q| q.first("limit"))).map_err(|m| ApiError::validation("limit", m))?;
    let cursor = q
        .and_then(|q| q.first("cursor"))
        .map(Cursor::decode)
        .transpose()
        .map_err(|m| ApiError::validation("cursor", m))?;
    Ok((limit, cursor))
}

/// The raw body bytes, refusing anything over 64 KiB.
pub fn body_bytes(req: &Request) -> Result<&[u8], ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(bytes)
}

/// Parses a JSON body into `T`: 415 for another content type, 413 over 64 KiB, 400 for bad
/// JSON, 422 for wrong types, missing or unknown fields (each named).
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    json_body_without(req, &[])
}

/// Like [`json_body`], also refusing with a clear message any of `server_owned` in the body.
pub fn json_body_without<T: DeserializeOwned>(req: &Request, server_owned: &[&str]) -> Result<T, ApiError> {
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime != "application/json" {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes = body_bytes(req)?;
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    if let serde_json::Value::Object(map) = &value {
        let owned: Vec<FieldError> = map
            .keys()
            .filter(|k| server_owned.contains(&k.as_str()))
            .map(|k| FieldError::new(k.clone(), "это поле заполняет сервер"))
            .collect();
        if !owned.is_empty() {
            return Err(ApiError::Service(ServiceError::Validation(owned)));
        }
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        ApiError::validation(&field, e.into_inner().to_string())
    })
}
