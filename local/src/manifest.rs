//! `feedback manifest`: what the code says a stack deploys, read from the code's own values (the
//! route table, `feedback_lambda::functions`, `feedback_aws::schema::TABLE` and
//! `feedback_aws::iam`). `infra/check_template.py` compares the SAM template with it.

use feedback_aws::schema::TABLE;
use feedback_lambda::functions::{env, Function, CONSUMERS, FUNCTIONS, SCHEDULES, TOPICS};
use feedback_lambda::routes::{Access, ROUTES};
use serde_json::{json, Value};

/// The manifest as JSON: `routes`, `functions`, `table`, `queues`, `schedules` and `topics`.
pub fn manifest() -> Value {
    json!({
        "routes": routes(),
        "functions": FUNCTIONS.iter().map(function).collect::<Vec<_>>(),
        "table": table(),
        "queues": CONSUMERS.iter().map(|c| json!({
            "name": c.queue.as_str(),
            "url_variable": env::queue_url(c.queue),
            "consumer": c.function,
            "batch_size": c.batch_size,
            "max_receive_count": c.max_receive_count,
            "dead_letter_queue": c.dead_letter_queue,
        })).collect::<Vec<_>>(),
        "schedules": SCHEDULES.iter().map(|s| json!({"function": s.function, "expression": s.expression}))
            .collect::<Vec<_>>(),
        "topics": TOPICS.iter().map(|t| json!({"name": t.topic, "subscriber": t.function})).collect::<Vec<_>>(),
    })
}

/// The route table: method, path, function, access, and the API Gateway route that delivers it.
pub fn routes() -> Value {
    ROUTES
        .iter()
        .map(|r| {
            json!({
                "method": r.method,
                "path": r.path,
                "function": r.function,
                "access": match r.access { Access::Public => "public", Access::Jwt => "jwt" },
                "gateway": r.gateway_key(),
            })
        })
        .collect()
}

fn function(f: &Function) -> Value {
    let optional = f.optional_variables();
    json!({
        "name": f.name,
        "variables": f.variables(),
        "optional_variables": optional,
        "ports": {
            "table": f.table,
            "sends": f.sends.iter().map(|q| q.as_str()).collect::<Vec<_>>(),
            "consumes": f.consumer().map(|c| c.queue.as_str()),
            "photos": f.photos,
            "voter_secret": f.voter_secret,
        },
        "grants": feedback_aws::iam::grants(f),
    })
}

/// The table in the template's shape (`AWS::DynamoDB::Table` properties).
fn table() -> Value {
    let key = |name: &str, kind: &str| json!({"AttributeName": name, "KeyType": kind});
    json!({
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": TABLE.key_attributes().iter()
            .map(|a| json!({"AttributeName": a, "AttributeType": "S"})).collect::<Vec<_>>(),
        "KeySchema": [key(TABLE.partition_key, "HASH"), key(TABLE.sort_key, "RANGE")],
        "GlobalSecondaryIndexes": TABLE.indexes.iter().map(|i| json!({
            "IndexName": i.name,
            "KeySchema": [key(i.partition_key, "HASH"), key(i.sort_key, "RANGE")],
            "Projection": {"ProjectionType": i.projection_type()},
        })).collect::<Vec<_>>(),
        "TimeToLiveSpecification": {"AttributeName": TABLE.ttl_attribute, "Enabled": true},
    })
}

/// A short readable summary: each function with its variables, then the routes.
pub fn summary() -> String {
    let mut out = String::new();
    for f in FUNCTIONS {
        let trigger = match (f.consumer(), f.schedule(), f.topic()) {
            (Some(c), _, _) => format!("consumes {}", c.queue.as_str()),
            (_, Some(s), _) => format!("runs {}", s.expression),
            (_, _, Some(t)) => format!("hears topic {}", t.topic),
            _ => "serves HTTP".to_owned(),
        };
        out.push_str(&format!("{:<17} {trigger}; reads {}\n", f.name, f.variables().join(", ")));
    }
    for r in ROUTES {
        out.push_str(&format!("{:<6} {:<48} {}\n", r.method, r.path, r.function));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn names(v: &Value, field: &str) -> BTreeSet<String> {
        v.as_array().unwrap().iter().map(|x| x[field].as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn the_manifest_has_every_section() {
        let m = manifest();
        for section in ["routes", "functions", "queues", "schedules", "topics"] {
            assert!(!m[section].as_array().unwrap().is_empty(), "{section}");
        }
        assert_eq!(m["table"]["KeySchema"][0]["AttributeName"], "PK");
        assert_eq!(m["table"]["GlobalSecondaryIndexes"].as_array().unwrap().len(), TABLE.indexes.len());
        assert_eq!(m["table"]["TimeToLiveSpecification"]["AttributeName"], "ttl");
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), m);
    }

    #[test]
    fn every_route_is_present_with_its_access_and_gateway_route() {
        let m = manifest();
        let routes = m["routes"].as_array().unwrap();
        assert_eq!(routes.len(), ROUTES.len());
        for (r, got) in ROUTES.iter().zip(routes) {
            assert_eq!((got["method"].as_str(), got["path"].as_str()), (Some(r.method), Some(r.path)));
            assert_eq!(got["function"], r.function);
            assert!(["public", "jwt"].contains(&got["access"].as_str().unwrap()));
        }
        let open311 = routes.iter().find(|r| r["path"] == "/open311/v2/services.{format}").unwrap();
        assert_eq!(open311["gateway"], "GET /open311/v2/{proxy+}");
        assert_eq!(open311["access"], "public");
    }

    #[test]
    fn every_function_crate_is_present_with_its_variables_and_grants() {
        let m = manifest();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
        let crates: BTreeSet<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.path().join("Cargo.toml").exists())
            .map(|e| e.file_name().into_string().unwrap())
            .collect();
        assert_eq!(names(&m["functions"], "name"), crates);
        let routed: BTreeSet<String> = ROUTES.iter().map(|r| r.function.to_owned()).collect();
        let consumers = names(&m["queues"], "consumer");
        let scheduled = names(&m["schedules"], "function");
        let subscribed = names(&m["topics"], "subscriber");
        for f in m["functions"].as_array().unwrap() {
            let name = f["name"].as_str().unwrap();
            assert_eq!(f["variables"][0], "TABLE_NAME", "{name}");
            assert!(!f["grants"].as_array().unwrap().is_empty(), "{name}");
            let triggers = [&routed, &consumers, &scheduled, &subscribed].iter().filter(|s| s.contains(name)).count();
            assert_eq!(triggers, 1, "{name} is invoked by exactly one kind of trigger");
        }
        let submit = &m["functions"].as_array().unwrap().iter().find(|f| f["name"] == "submit-message").unwrap();
        assert_eq!(submit["ports"]["photos"], json!(["upload", "download", "delete"]));
        assert!(summary().contains("close-polls       runs rate(1 minute)"));
    }
}
