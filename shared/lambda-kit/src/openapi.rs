//! The OpenAPI 3.1 document served at `GET /v1/openapi.json`.
//!
//! It is generated from the route table and the wire types by `tools/openapi`
//! (`cargo run -p feedback-openapi`), whose tests fail when this file is out of date.

/// The document, as JSON text.
pub const DOCUMENT: &str = include_str!("../openapi.json");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::{Access, ROUTES};

    #[test]
    fn every_route_of_the_table_is_in_the_document() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).expect("the document is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let mut missing = Vec::new();
        for route in ROUTES {
            let op = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
            if !op.is_object() {
                missing.push(route.key());
                continue;
            }
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            assert_eq!(secured, route.access == Access::Jwt, "{}", route.key());
        }
        assert!(missing.is_empty(), "routes missing from openapi.json: {missing:?}");
    }
}
