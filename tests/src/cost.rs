//! Counts what a workload asks of DynamoDB and SQS: an SDK interceptor sees every request and
//! response, and prices DynamoDB writes and reads in capacity units by AWS's published rules
//! (item size from attribute names and values; 1 KB per write unit, 4 KB per read unit; twice
//! for transactions; each global secondary index that holds the item is written again).
//! Moto does not report consumed capacity for transactions, so the units are computed here from
//! the exact items sent.

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Requests and capacity units, by operation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// Requests by service and operation, e.g. `dynamodb:TransactWriteItems`, `sqs:SendMessage`,
    /// `streams:GetRecords`.
    pub requests: BTreeMap<String, u64>,
    /// Write units on the table itself.
    pub table_wru: f64,
    /// Write units spent keeping global secondary indexes up to date.
    pub index_wru: f64,
    pub rru: f64,
    /// Items written inside transactions, by kind (`Put`, `Update`, `ConditionCheck`).
    pub transaction_items: BTreeMap<String, u64>,
}

impl Usage {
    pub fn wru(&self) -> f64 {
        self.table_wru + self.index_wru
    }
    pub fn count(&self, op: &str) -> u64 {
        self.requests.get(op).copied().unwrap_or(0)
    }
    pub fn sqs_requests(&self) -> u64 {
        self.requests.iter().filter(|(k, _)| k.starts_with("sqs:")).map(|(_, v)| v).sum()
    }
    /// Requests to DynamoDB Streams (`DescribeStream`, `GetShardIterator`, `GetRecords`).
    pub fn stream_requests(&self) -> u64 {
        self.requests.iter().filter(|(k, _)| k.starts_with("streams:")).map(|(_, v)| v).sum()
    }
    pub fn dynamodb_requests(&self) -> u64 {
        self.requests.iter().filter(|(k, _)| k.starts_with("dynamodb:")).map(|(_, v)| v).sum()
    }
}

/// The index key attributes of the single table, by index, with whether the index projects only
/// the keys (`feedback_aws::schema::TABLE`).
const INDEXES: [(&str, &str, bool); 7] = [
    ("GSI1PK", "GSI1SK", false),
    ("GSI2PK", "GSI2SK", false),
    ("GSI3PK", "GSI3SK", false),
    ("GSI4PK", "GSI4SK", false),
    ("GSI5PK", "GSI5SK", false),
    ("GSI6PK", "GSI6SK", false),
    ("GSI3PK", "GSI1SK", true),
];

#[derive(Default)]
struct State {
    usage: Usage,
    /// The last written image of every item, to price index changes (a moved key is a delete
    /// and a put).
    items: HashMap<(String, String), serde_json::Map<String, Value>>,
    /// The operation in flight and whether it reads consistently (requests run one at a time).
    in_flight: Option<String>,
    consistent: bool,
}

/// The interceptor; clone it into every client whose requests should be counted.
#[derive(Clone, Default)]
pub struct Meter(Arc<Mutex<State>>);

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Meter")
    }
}

impl Meter {
    /// What was counted since the last `take`, and a fresh start.
    pub fn take(&self) -> Usage {
        let mut s = self.0.lock().unwrap();
        std::mem::take(&mut s.usage)
    }
}

/// An attribute value's size in bytes, by DynamoDB's rules.
fn value_size(v: &Value) -> usize {
    let Some(obj) = v.as_object() else { return 0 };
    let Some((kind, inner)) = obj.iter().next() else { return 0 };
    match kind.as_str() {
        "S" | "B" => inner.as_str().map(str::len).unwrap_or(0),
        "N" => {
            let digits = inner.as_str().unwrap_or("0").chars().filter(|c| c.is_ascii_digit()).count();
            digits.div_ceil(2) + 1
        }
        "BOOL" | "NULL" => 1,
        "M" => 3 + inner.as_object().map(|m| m.iter().map(|(k, v)| k.len() + value_size(v) + 1).sum()).unwrap_or(0),
        "L" => 3 + inner.as_array().map(|l| l.iter().map(|v| value_size(v) + 1).sum()).unwrap_or(0),
        "SS" | "NS" => {
            inner.as_array().map(|l| l.iter().map(|v| v.as_str().map(str::len).unwrap_or(0)).sum()).unwrap_or(0)
        }
        _ => 0,
    }
}

fn item_size(item: &serde_json::Map<String, Value>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn units(bytes: usize, per: usize) -> f64 {
    bytes.div_ceil(per).max(1) as f64
}

fn key_of(item: &serde_json::Map<String, Value>) -> (String, String) {
    let s = |k: &str| item.get(k).and_then(|v| v.get("S")).and_then(Value::as_str).unwrap_or("").to_owned();
    (s("PK"), s("SK"))
}

fn index_key(item: &serde_json::Map<String, Value>, (pk, sk): (&str, &str)) -> Option<(Value, Value)> {
    Some((item.get(pk)?.clone(), item.get(sk).cloned().unwrap_or(Value::Null)))
}

impl State {
    /// Prices one item write: the table's units (doubled in a transaction) and the index writes
    /// its old and new images cause.
    fn write(&mut self, new: Option<serde_json::Map<String, Value>>, key: (String, String), transactional: bool) {
        let old = self.items.get(&key).cloned();
        let size = new.as_ref().or(old.as_ref()).map(item_size).unwrap_or(1);
        self.usage.table_wru += units(size, 1024) * if transactional { 2.0 } else { 1.0 };
        for (pk, sk, keys_only) in INDEXES {
            let before = old.as_ref().and_then(|o| index_key(o, (pk, sk)));
            let after = new.as_ref().and_then(|n| index_key(n, (pk, sk)));
            // A keys-only index holds a few hundred bytes: one unit a write, none when its keys stay.
            if keys_only {
                self.usage.index_wru += match (&before, &after) {
                    (None, None) => 0.0,
                    (Some(b), Some(a)) if b == a => 0.0,
                    (Some(_), Some(_)) => 2.0,
                    _ => 1.0,
                };
                continue;
            }
            self.usage.index_wru += match (&before, &after) {
                (None, None) => 0.0,
                (Some(b), Some(a)) if b == a => units(size, 1024),
                (Some(_), Some(_)) => units(old.as_ref().map(item_size).unwrap_or(size), 1024) + units(size, 1024),
                (Some(_), None) => units(old.as_ref().map(item_size).unwrap_or(size), 1024),
                (None, Some(_)) => units(size, 1024),
            };
        }
        match new {
            Some(n) => {
                self.items.insert(key, n);
            }
            None => {
                self.items.remove(&key);
            }
        }
    }

    /// The image of a counter item after `ADD`: its key and the numbers it holds.
    fn after_add(&self, tx_item: &Value) -> Option<((String, String), serde_json::Map<String, Value>)> {
        let key = tx_item.get("Key")?.as_object()?.clone();
        let k = key_of(&key);
        let mut image = self.items.get(&k).cloned().unwrap_or(key);
        let names = tx_item.get("ExpressionAttributeNames").and_then(Value::as_object);
        if let Some(names) = names {
            for attr in names.values().filter_map(Value::as_str) {
                image.entry(attr.to_owned()).or_insert_with(|| serde_json::json!({"N": "100"}));
            }
        }
        Some((k, image))
    }

    fn request(&mut self, target: &str, body: &Value) {
        let op = target.rsplit('.').next().unwrap_or(target);
        let service = if target.starts_with("DynamoDBStreams") {
            "streams"
        } else if target.starts_with("DynamoDB") {
            "dynamodb"
        } else {
            "sqs"
        };
        *self.usage.requests.entry(format!("{service}:{op}")).or_default() += 1;
        self.in_flight = Some(target.to_owned());
        if service != "dynamodb" {
            return;
        }
        self.consistent = body.get("ConsistentRead").and_then(Value::as_bool).unwrap_or(false);
        match op {
            "PutItem" => {
                if let Some(item) = body.get("Item").and_then(Value::as_object) {
                    self.write(Some(item.clone()), key_of(item), false);
                }
            }
            "UpdateItem" => {
                if let Some((k, image)) = self.after_add(body) {
                    self.write(Some(image), k, false);
                }
            }
            "DeleteItem" => {
                if let Some(key) = body.get("Key").and_then(Value::as_object) {
                    self.write(None, key_of(key), false);
                }
            }
            "TransactWriteItems" => {
                for tx in body.get("TransactItems").and_then(Value::as_array).into_iter().flatten() {
                    let Some((kind, inner)) = tx.as_object().and_then(|o| o.iter().next()) else { continue };
                    *self.usage.transaction_items.entry(kind.clone()).or_default() += 1;
                    match kind.as_str() {
                        "Put" => {
                            if let Some(item) = inner.get("Item").and_then(Value::as_object) {
                                self.write(Some(item.clone()), key_of(item), true);
                            }
                        }
                        "Update" => {
                            if let Some((k, image)) = self.after_add(inner) {
                                self.write(Some(image), k, true);
                            }
                        }
                        "Delete" => {
                            if let Some(key) = inner.get("Key").and_then(Value::as_object) {
                                self.write(None, key_of(key), true);
                            }
                        }
                        // A condition check is billed as a transactional write of the item it reads.
                        "ConditionCheck" => self.usage.table_wru += 2.0,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    fn response(&mut self, target: &str, body: &Value) {
        let op = target.rsplit('.').next().unwrap_or(target);
        let factor = if self.consistent { 1.0 } else { 0.5 };
        let bytes = match op {
            "GetItem" => body.get("Item").and_then(Value::as_object).map(item_size).unwrap_or(0),
            "Query" | "Scan" => body
                .get("Items")
                .and_then(Value::as_array)
                .map(|items| items.iter().filter_map(Value::as_object).map(item_size).sum())
                .unwrap_or(0),
            _ => return,
        };
        self.usage.rru += units(bytes, 4096) * factor;
    }
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "Meter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = context.request();
        let body: Value = req.body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
        let target = req.headers().get("x-amz-target").map(str::to_owned).unwrap_or_else(|| {
            // SQS's JSON protocol names the operation in the same header; fall back to the query form.
            let form = req.body().bytes().map(String::from_utf8_lossy).unwrap_or_default().to_string();
            let action = form.split('&').find_map(|kv| kv.strip_prefix("Action=")).unwrap_or("Unknown");
            format!("AmazonSQS.{action}")
        });
        self.0.lock().unwrap().request(&target, &body);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body: Value =
            context.response().body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
        let mut state = self.0.lock().unwrap();
        if let Some(target) = state.in_flight.take() {
            state.response(&target, &body);
        }
        Ok(())
    }
}
