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
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| ApiError::malformed_json(&e))?;
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
    from_json_value(value)
}

/// Reads a parsed JSON body into `T`: 422 naming the field for wrong types, missing or unknown
/// fields and values out of range.
pub fn from_json_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::Service(ServiceError::Validation(vec![field_problem(&path, &e.into_inner().to_string())]))
    })
}

/// A deserialisation failure at `path` (`.` for the body itself) as a field error in Russian.
/// serde words its failures in a few fixed English forms; each becomes a Russian message, and a
/// missing or unknown field is reported under its own name.
fn field_problem(path: &str, message: &str) -> FieldError {
    let under = |name: &str| if path == "." { name.to_owned() } else { format!("{path}.{name}") };
    let here = if path == "." { "body".to_owned() } else { path.to_owned() };
    let quoted = |prefix: &str| message.strip_prefix(prefix).and_then(|rest| rest.split('`').next());
    if let Some(name) = quoted("missing field `") {
        return FieldError::new(under(name), "обязательное поле");
    }
    if let Some(name) = quoted("unknown field `") {
        let field = if path.ends_with(name) { here } else { under(name) };
        return FieldError::new(field, "неизвестное поле");
    }
    if let Some(name) = quoted("duplicate field `") {
        return FieldError::new(under(name), "поле указано дважды");
    }
    if message.starts_with("unknown variant `") {
        let allowed: Vec<&str> = message
            .split_once("expected ")
            .map(|(_, list)| list.split('`').skip(1).step_by(2).collect())
            .unwrap_or_default();
        return FieldError::new(here, format!("допустимые значения: {}", allowed.join(", ")));
    }
    let expected = message.rsplit_once(", expected ").map(|(_, e)| expected_ru(e)).unwrap_or_default();
    let what = if message.starts_with("invalid type: ") || expected == "объект" {
        "неверный тип значения"
    } else if message.starts_with("invalid length ") {
        "неверное число элементов"
    } else {
        "недопустимое значение"
    };
    FieldError::new(here, if expected.is_empty() { what.to_owned() } else { format!("{what}: ожидается {expected}") })
}

/// serde's name of an expected value, in Russian; empty when it is not one of the common kinds.
fn expected_ru(expected: &str) -> &'static str {
    let e = expected.trim_start_matches("a ").trim_start_matches("an ");
    match e {
        "string" | "borrowed string" | "char" => "строка",
        "boolean" => "true или false",
        "f32" | "f64" | "number" => "число",
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "integer" => "целое число",
        "sequence" | "array" | "tuple" => "массив",
        _ if e.starts_with("struct ") || e.starts_with("map") || e.starts_with("internally tagged") => "объект",
        _ if e.starts_with("sequence") || e.starts_with("array") || e.starts_with("tuple") => "массив",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        text: String,
        n: Option<u8>,
        kind: Option<Kind>,
        inner: Option<Inner>,
        list: Option<Vec<String>>,
        at: Option<chrono::DateTime<chrono::FixedOffset>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Vote,
        Survey,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        lat: f64,
    }

    fn problem(body: serde_json::Value) -> (String, String) {
        match from_json_value::<Body>(body) {
            Err(ApiError::Service(ServiceError::Validation(v))) if v.len() == 1 => {
                (v[0].field.clone(), v[0].message.clone())
            }
            other => panic!("one field error expected, got {other:?}"),
        }
    }

    #[test]
    fn wrong_bodies_name_the_field_in_russian() {
        let cases = [
            (json!({}), "text", "обязательное поле"),
            (json!({"text": "a", "x": 1}), "x", "неизвестное поле"),
            (json!({"text": 5}), "text", "неверный тип значения: ожидается строка"),
            (json!({"text": "a", "n": 300}), "n", "недопустимое значение: ожидается целое число"),
            (json!({"text": "a", "n": "5"}), "n", "неверный тип значения: ожидается целое число"),
            (json!({"text": "a", "kind": "poll"}), "kind", "допустимые значения: vote, survey"),
            (json!({"text": "a", "inner": {}}), "inner.lat", "обязательное поле"),
            (json!({"text": "a", "inner": {"lat": 1, "y": 2}}), "inner.y", "неизвестное поле"),
            (json!({"text": "a", "inner": []}), "inner", "неверный тип значения: ожидается объект"),
            (json!({"text": "a", "list": "x"}), "list", "неверный тип значения: ожидается массив"),
            (json!({"text": "a", "at": "вчера"}), "at", "недопустимое значение"),
            (json!([]), "body", "неверный тип значения: ожидается объект"),
        ];
        for (body, field, message) in cases {
            assert_eq!(problem(body.clone()), (field.to_owned(), message.to_owned()), "{body}");
        }
    }
}
