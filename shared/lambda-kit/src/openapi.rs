//! The OpenAPI 3.1 document, generated from the route table.

use crate::routes::{Access, Route, ROUTES};
use serde_json::{json, Map, Value};

fn operation_id(route: &Route) -> String {
    let mut id = route.method.to_ascii_lowercase();
    for part in route.path.split('/').filter(|p| !p.is_empty() && *p != "v1") {
        let part = part.trim_start_matches('{').trim_end_matches('}');
        for word in part.split(['-', '_', '.']) {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                id.push(first.to_ascii_uppercase());
                id.extend(chars);
            }
        }
    }
    id
}

fn success_status(route: &Route) -> &'static str {
    match (route.method, route.path) {
        ("POST", "/v1/messages" | "/v1/photos" | "/v1/polls" | "/v1/discussions") => "201",
        ("POST", p) if p.ends_with("/ballots") || p.ends_with("/comments") => "201",
        _ => "200",
    }
}

/// The document served at `GET /v1/openapi.json`.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for route in ROUTES {
        let params: Vec<Value> = route
            .path
            .split('/')
            .filter(|p| p.starts_with('{'))
            .map(|p| json!({"name": p.trim_matches(['{', '}']), "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut responses = Map::new();
        let content = if route.path.ends_with(".csv") {
            json!({"text/csv": {"schema": {"type": "string"}}})
        } else {
            json!({"application/json": {"schema": {"type": "object"}}})
        };
        responses.insert(success_status(route).into(), json!({"description": "OK", "content": content}));
        let problem = json!({"description": "Problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}});
        let mut codes = vec!["400", "404", "409", "413", "415", "422", "429"];
        if route.access == Access::Jwt {
            codes.extend(["401", "403"]);
        }
        for code in codes {
            responses.insert(code.into(), problem.clone());
        }
        let mut op = json!({
            "operationId": operation_id(route),
            "tags": [route.function],
            "parameters": params,
            "responses": responses,
        });
        if route.access == Access::Jwt {
            op["security"] = json!([{"bearer": []}]);
        }
        if route.method == "POST" || route.method == "PUT" {
            op["requestBody"] =
                json!({"required": false, "content": {"application/json": {"schema": {"type": ["object", "array"]}}}});
        }
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        entry[route.method.to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Обратная связь: HTTP API", "version": "1"},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Problem": {
                "type": "object",
                "required": ["type", "title", "status", "code"],
                "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "detail": {"type": "string"}, "code": {"type": "string"},
                    "errors": {"type": "array", "items": {"type": "object", "properties": {
                        "field": {"type": "string"}, "message": {"type": "string"}}}}
                }
            }}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_security() {
        let doc = document();
        for route in ROUTES {
            let op = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
            assert!(op.is_object(), "{} is missing", route.key());
            assert_eq!(op.get("security").is_some(), route.access == Access::Jwt, "{}", route.key());
        }
        assert_eq!(doc["paths"]["/v1/messages/{id}"]["get"]["operationId"], "getMessagesId");
        let csv = &doc["paths"]["/v1/analytics/messages.csv"]["get"]["responses"]["200"]["content"];
        assert!(csv["text/csv"].is_object(), "the CSV export is documented as CSV: {csv}");
    }
}
