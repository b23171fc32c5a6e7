//! Real-shaped Lambda events, built the way API Gateway (HTTP API, payload 2.0) and SQS build them.

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::event::sqs::SqsEvent;
use base64::Engine;
use feedback_core::ports::Delivery;
use lambda_http::request::LambdaRequest;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// An HTTP request as API Gateway would pass it to the function, verified claims and the stage's
/// region variable included.
pub fn api_gateway_request(
    region: &str,
    route_key: &str,
    path_params: Vec<(String, String)>,
    parts: &axum::http::request::Parts,
    body: &[u8],
    claims: Option<HashMap<String, String>>,
) -> anyhow::Result<lambda_http::Request> {
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let key = name.as_str().to_ascii_lowercase();
        match headers.get_mut(&key) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                headers.insert(key, Value::String(v));
            }
        }
    }
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let mut query: Map<String, Value> = Map::new();
    for (k, v) in url_pairs(&raw_query) {
        match query.get_mut(&k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k, Value::String(v));
            }
        }
    }
    let (body, is_base64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_owned()), false),
        Err(_) => (Value::String(base64::engine::general_purpose::STANDARD.encode(body)), true),
    };
    let now = chrono::Utc::now();
    let authorizer = claims.map(|c| json!({ "jwt": { "claims": c, "scopes": null } }));
    let path: HashMap<String, String> = path_params.into_iter().collect();
    let event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "headers": headers,
        "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
        "pathParameters": if path.is_empty() { Value::Null } else { json!(path) },
        "stageVariables": { (feedback_lambda::request::REGION_STAGE_VARIABLE): region },
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "authorizer": authorizer,
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": parts.headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or(""),
            },
            "requestId": ulid::Ulid::new().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "body": body,
        "isBase64Encoded": is_base64,
    });
    let event: ApiGatewayV2httpRequest = serde_json::from_value(event)?;
    Ok(LambdaRequest::ApiGatewayV2(event).into())
}

/// A query string's decoded pairs: `+` is a space, a `%` without two hex digits stays as it is,
/// and bytes that are not UTF-8 become U+FFFD.
fn url_pairs(raw: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.as_bytes()).into_owned().collect()
}

/// A batch of queue deliveries as the SQS event source mapping delivers it.
pub fn sqs_event(queue: &str, deliveries: &[Delivery]) -> anyhow::Result<LambdaEvent<SqsEvent>> {
    let records: Vec<Value> = deliveries
        .iter()
        .map(|d| {
            json!({
                "messageId": d.message_id,
                "receiptHandle": d.receipt,
                "body": d.body,
                "attributes": {
                    "ApproximateReceiveCount": d.receive_count.to_string(),
                    "SentTimestamp": d.sent_at.timestamp_millis().to_string(),
                    "SenderId": "local",
                    "ApproximateFirstReceiveTimestamp": chrono::Utc::now().timestamp_millis().to_string(),
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:local:000000000000:{queue}"),
                "awsRegion": "local",
            })
        })
        .collect();
    let event: SqsEvent = serde_json::from_value(json!({ "Records": records }))?;
    Ok(LambdaEvent::new(event, Context::default()))
}

/// The event EventBridge Scheduler sends to a scheduled function.
pub fn scheduler_event(
    schedule: &str,
) -> anyhow::Result<LambdaEvent<aws_lambda_events::event::eventbridge::EventBridgeEvent<Value>>> {
    let now = chrono::Utc::now();
    let event = json!({
        "version": "0",
        "id": ulid::Ulid::new().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "000000000000",
        "time": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": "local",
        "resources": [format!("arn:aws:scheduler:local:000000000000:schedule/default/{schedule}")],
        "detail": {},
    });
    Ok(LambdaEvent::new(serde_json::from_value(event)?, Context::default()))
}

#[cfg(test)]
mod tests {
    use super::url_pairs;

    fn value(raw: &str) -> String {
        url_pairs(&format!("q={raw}")).remove(0).1
    }

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(value("a%20b+c"), "a b c");
        assert_eq!(value("%D0%AF"), "Я");
        assert_eq!(value("bad%zz"), "bad%zz");
        assert_eq!(value("end%"), "end%");
        assert_eq!(value("%FF"), "\u{FFFD}");
        assert_eq!(url_pairs("a=1&&b&c=%3D"), [("a", "1"), ("b", ""), ("c", "=")].map(|(k, v)| (k.into(), v.into())));
    }
}
