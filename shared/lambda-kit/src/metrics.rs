//! Business counters in CloudWatch's Embedded Metric Format: one JSON line per value on standard
//! output, which CloudWatch Logs turns into a metric of [`NAMESPACE`] as it ingests the Lambda
//! log. Dimensions are the region's code and the deployed function's name (which names the stack,
//! so stages in one account do not mix), nothing else: no ids, no personal data. Outside Lambda
//! (the local host, tests) a value is a debug log line.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::io::Write;
use std::sync::OnceLock;

/// The CloudWatch namespace of every metric here.
pub const NAMESPACE: &str = "Feedback";

/// The dimensions of every value, in this order.
pub const DIMENSIONS: [&str; 2] = ["Region", "Function"];

/// One business counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// A new message was accepted (`submit-message`, idempotent replays not counted).
    SubmissionsAccepted,
    /// Seconds from a message's submission to its routing (`route-messages`).
    RoutingLag,
    /// A ballot was cast and counted (`polls`).
    BallotsCast,
    /// An HTTP request was answered with a 5xx status (every HTTP function).
    ServerErrors,
    /// A delivery to a resident was given up (dead): an alarm watches it.
    DeliveriesDead,
    /// Seconds the oldest history entry of a counting pass waited, from its commit to its
    /// counters (`count-events`): an alarm watches it.
    CountingLag,
}

impl Metric {
    pub const ALL: [Metric; 6] = [
        Metric::SubmissionsAccepted,
        Metric::RoutingLag,
        Metric::BallotsCast,
        Metric::ServerErrors,
        Metric::DeliveriesDead,
        Metric::CountingLag,
    ];

    /// The metric's name in CloudWatch.
    pub fn name(self) -> &'static str {
        match self {
            Metric::SubmissionsAccepted => "SubmissionsAccepted",
            Metric::RoutingLag => "RoutingLag",
            Metric::BallotsCast => "BallotsCast",
            Metric::ServerErrors => "Http5xx",
            Metric::DeliveriesDead => "DeliveriesDead",
            Metric::CountingLag => "CountingLag",
        }
    }

    /// Its CloudWatch unit.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::RoutingLag | Metric::CountingLag => "Seconds",
            Metric::SubmissionsAccepted | Metric::BallotsCast | Metric::ServerErrors | Metric::DeliveriesDead => {
                "Count"
            }
        }
    }
}

/// The function whose values this process prints, set once by [`crate::init`] on Lambda.
static FUNCTION: OnceLock<String> = OnceLock::new();

/// Prints the values of this process as EMF lines on standard output, for `function`.
pub(crate) fn to_stdout(function: String) {
    let _ = FUNCTION.set(function);
}

/// Records one value of `metric` for the region `region`: an EMF line on Lambda, a debug log
/// line elsewhere. A failing standard output loses the value, never the request.
pub fn emit(region: &str, metric: Metric, value: f64) {
    match FUNCTION.get() {
        Some(function) => {
            let line = document(Utc::now(), region, function, metric, value).to_string();
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        None => tracing::debug!(metric = metric.name(), value, region, "metric"),
    }
}

/// One value as an EMF document: the metadata under `_aws`, the dimensions' values and the value
/// under the metric's name, at the root.
pub fn document(at: DateTime<Utc>, region: &str, function: &str, metric: Metric, value: f64) -> Value {
    let [region_key, function_key] = DIMENSIONS;
    let mut doc = json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [DIMENSIONS],
                "Metrics": [{ "Name": metric.name(), "Unit": metric.unit() }],
            }],
        },
    });
    if let Some(root) = doc.as_object_mut() {
        root.insert(region_key.to_owned(), json!(region));
        root.insert(function_key.to_owned(), json!(function));
        root.insert(metric.name().to_owned(), json!(value));
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T10:00:00+05:00").unwrap().with_timezone(&Utc)
    }

    /// The rules of the specification a document must keep (CloudWatch_Embedded_Metric_Format_Specification).
    fn assert_valid(doc: &Value) {
        let root = doc.as_object().unwrap();
        let aws = root["_aws"].as_object().unwrap();
        assert!(aws["Timestamp"].as_i64().is_some_and(|t| t > 0), "Timestamp: epoch milliseconds");
        let directives = aws["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 1);
        for d in directives {
            let ns = d["Namespace"].as_str().unwrap();
            assert!(!ns.is_empty() && ns.len() <= 255 && !ns.contains(':'));
            for set in d["Dimensions"].as_array().unwrap() {
                let set = set.as_array().unwrap();
                assert!(!set.is_empty() && set.len() <= 30);
                for name in set {
                    let value = root[name.as_str().unwrap()].as_str();
                    assert!(
                        value.is_some_and(|v| !v.is_empty() && v.len() <= 1024),
                        "dimension {name} is a root string"
                    );
                }
            }
            for m in d["Metrics"].as_array().unwrap() {
                let name = m["Name"].as_str().unwrap();
                assert!(!name.is_empty() && name.len() <= 1024);
                let units = ["Seconds", "Count"];
                assert!(units.contains(&m["Unit"].as_str().unwrap()));
                assert!(root[name].is_number(), "the value of {name} is a root number");
            }
        }
    }

    #[test]
    fn every_metric_is_a_valid_emf_document() {
        for metric in Metric::ALL {
            let doc = document(at(), "72", "feedback-72-prod-submit-message", metric, 3.0);
            assert_valid(&doc);
            assert_eq!(doc["_aws"]["Timestamp"], at().timestamp_millis());
            assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Feedback");
            assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Region", "Function"]]));
            assert_eq!(doc["Region"], "72");
            assert_eq!(doc["Function"], "feedback-72-prod-submit-message");
            assert_eq!(doc[metric.name()], 3.0);
        }
        let lag = document(at(), "72", "feedback-72-prod-route-messages", Metric::RoutingLag, 1.5);
        assert_eq!(
            lag["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{ "Name": "RoutingLag", "Unit": "Seconds" }])
        );
    }

    #[test]
    fn a_document_holds_only_the_metadata_the_dimensions_and_the_value() {
        let doc = document(at(), "72", "feedback-72-prod-polls", Metric::BallotsCast, 1.0);
        let mut keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["BallotsCast", "Function", "Region", "_aws"]);
    }
}
