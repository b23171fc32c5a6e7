//! The analytics counters in DynamoDB: one item per counter and shard
//! (`PK = STAT#<series>#<shard>`, `SK = <slot>`), one number attribute per field. Transitions add
//! to them inside their own transaction; a region series is split over `REGION_SHARDS` shards by
//! message id so that no item takes every transition of the region, and reads sum the shards.

use crate::dynamo::{read_doc, s, DynamoStore, Item};
use crate::{backend, sdk_error};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use feedback_core::analytics::{shard_of, shards_of, CounterKey, CounterRow, Counters, SlotRange};
use feedback_core::ids::MessageId;
use feedback_core::ports::{CounterStore, HistoryPage, HistoryScan, StoreError};
use feedback_core::HistoryEntry;
use std::collections::BTreeMap;

const STAT: &str = "STAT#";

/// The counter item attribute naming the last counting run added to it (`crate::CounterStream`).
const RUN_ATTR: &str = "run";

/// The attribute that holds a field: a prefix keeps field names clear of the key attributes.
fn attr(field: &str) -> String {
    format!("c_{field}")
}

impl DynamoStore {
    /// One `Update … ADD` per counter item, for a transaction.
    pub(crate) fn counter_updates(&self, counters: &Counters) -> Result<Vec<TransactWriteItem>, StoreError> {
        counters
            .0
            .iter()
            .map(|(key, fields)| {
                let mut names = std::collections::HashMap::new();
                let mut values = std::collections::HashMap::new();
                let mut adds = Vec::new();
                for (i, (field, value)) in fields.iter().enumerate() {
                    names.insert(format!("#f{i}"), attr(field));
                    values.insert(format!(":v{i}"), AttributeValue::N(value.to_string()));
                    adds.push(format!("#f{i} :v{i}"));
                }
                let update = Update::builder()
                    .table_name(self.table())
                    .key("PK", s(format!("{STAT}{}", key.series)))
                    .key("SK", s(key.slot.clone()))
                    .update_expression(format!("ADD {}", adds.join(", ")))
                    .set_expression_attribute_names(Some(names))
                    .set_expression_attribute_values(Some(values))
                    .build()
                    .map_err(|e| backend("building Update", e))?;
                Ok(TransactWriteItem::builder().update(update).build())
            })
            .collect()
    }

    /// Adds one counter item's increments on behalf of the counting run `run`, once: the item
    /// keeps the id of the last run added to it (`run`), and the update is conditioned on it
    /// being another. Whether it added (`false`: this run had already added them).
    pub(crate) async fn add_counter_once(
        &self,
        key: &CounterKey,
        fields: &BTreeMap<String, i64>,
        run: &str,
    ) -> Result<bool, StoreError> {
        let mut req = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("PK", s(format!("{STAT}{}", key.series)))
            .key("SK", s(key.slot.clone()))
            .condition_expression("attribute_not_exists(#run) OR #run <> :run")
            .expression_attribute_names("#run", RUN_ATTR)
            .expression_attribute_values(":run", s(run));
        let mut adds = Vec::new();
        for (i, (field, value)) in fields.iter().enumerate() {
            req = req
                .expression_attribute_names(format!("#f{i}"), attr(field))
                .expression_attribute_values(format!(":v{i}"), AttributeValue::N(value.to_string()));
            adds.push(format!("#f{i} :v{i}"));
        }
        match req.update_expression(format!("SET #run = :run ADD {}", adds.join(", "))).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk_error("UpdateItem counter", e)),
        }
    }

    /// The increments that transitions carry, on the shards of their messages, merged so each
    /// counter item appears once in the transaction. The series of the result name the stored
    /// partition: `<series>#<shard>`.
    pub(crate) fn counters_of<'a>(increments: impl IntoIterator<Item = (&'a MessageId, &'a Counters)>) -> Counters {
        let mut out = Counters::default();
        for (id, counters) in increments {
            for (key, fields) in &counters.0 {
                let shard = if shards_of(&key.series) > 1 { shard_of(id) } else { 0 };
                let stored = CounterKey { series: format!("{}#{shard}", key.series), slot: key.slot.clone() };
                for (f, v) in fields {
                    out.add(stored.clone(), f, *v);
                }
            }
        }
        out
    }

    /// One page of the items whose key attribute `key` starts with `prefix`, from `start` on,
    /// evaluating at most `limit` items. Offline tools only: a Scan.
    async fn scan_page(
        &self,
        key: &str,
        prefix: &str,
        start: Option<Item>,
        limit: usize,
    ) -> Result<ScanPage, StoreError> {
        let page = self
            .client()
            .scan()
            .table_name(self.table())
            .filter_expression("begins_with(#k, :p)")
            .expression_attribute_names("#k", key)
            .expression_attribute_values(":p", s(prefix))
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error("Scan", e))?;
        let last_key = page.last_evaluated_key.filter(|k| !k.is_empty());
        Ok(ScanPage { items: page.items.unwrap_or_default(), last_key })
    }
}

impl DynamoStore {
    /// Sets every counter to its recount from history (`expected`, as `analytics::recount` gives
    /// it), writing only the fields that differ: the series' shard 0 takes what the other shards
    /// do not hold. Each write is conditioned on the value it read, so a counter the consumer
    /// moved meanwhile is not overwritten (the repair then fails, and is run again). Running it
    /// twice writes nothing the second time. The number of counter items written.
    pub async fn repair_counters(&self, expected: &Counters) -> Result<u64, StoreError> {
        self.catch_up().await?;
        // Stored items by partition (`<series>#<shard>`) and slot, and the logical sums.
        let mut stored: BTreeMap<(String, String), BTreeMap<String, i64>> = BTreeMap::new();
        let mut start = None;
        loop {
            let page = self.scan_page("PK", STAT, start, 1000).await?;
            for item in &page.items {
                let (Some(pk), Some(sk)) =
                    (item.get("PK").and_then(|v| v.as_s().ok()), item.get("SK").and_then(|v| v.as_s().ok()))
                else {
                    continue;
                };
                let fields = item
                    .iter()
                    .filter_map(|(k, v)| Some((k.strip_prefix("c_")?.to_owned(), v.as_n().ok()?.parse().ok()?)))
                    .collect();
                stored.insert((pk[STAT.len()..].to_owned(), sk.clone()), fields);
            }
            match page.last_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        let mut sums: BTreeMap<CounterKey, BTreeMap<String, i64>> = BTreeMap::new();
        for ((partition, slot), fields) in &stored {
            let Some((series, _)) = partition.rsplit_once('#') else { continue };
            let key = CounterKey { series: series.to_owned(), slot: slot.clone() };
            for (f, v) in fields {
                *sums.entry(key.clone()).or_default().entry(f.clone()).or_default() += v;
            }
        }
        let keys: std::collections::BTreeSet<&CounterKey> = sums.keys().chain(expected.0.keys()).collect();
        let mut written = 0;
        for key in keys {
            let empty = BTreeMap::new();
            let have = sums.get(key).unwrap_or(&empty);
            let want = expected.0.get(key).unwrap_or(&empty);
            let shard0 = (format!("{}#0", key.series), key.slot.clone());
            let current = stored.get(&shard0).cloned().unwrap_or_default();
            let mut sets = Vec::new();
            let fields: std::collections::BTreeSet<&String> = have.keys().chain(want.keys()).collect();
            for f in fields {
                let (h, w) = (have.get(f).copied().unwrap_or(0), want.get(f).copied().unwrap_or(0));
                if h != w {
                    let old = current.get(f).copied();
                    sets.push((f.clone(), old, old.unwrap_or(0) + (w - h)));
                }
            }
            if sets.is_empty() {
                continue;
            }
            let mut update = self
                .client()
                .update_item()
                .table_name(self.table())
                .key("PK", s(format!("{STAT}{}", shard0.0)))
                .key("SK", s(shard0.1.clone()));
            let mut assigns = Vec::new();
            let mut conditions = Vec::new();
            for (i, (field, old, new)) in sets.iter().enumerate() {
                update = update
                    .expression_attribute_names(format!("#f{i}"), attr(field))
                    .expression_attribute_values(format!(":n{i}"), AttributeValue::N(new.to_string()));
                assigns.push(format!("#f{i} = :n{i}"));
                match old {
                    Some(old) => {
                        update =
                            update.expression_attribute_values(format!(":o{i}"), AttributeValue::N(old.to_string()));
                        conditions.push(format!("#f{i} = :o{i}"));
                    }
                    None => conditions.push(format!("attribute_not_exists(#f{i})")),
                }
            }
            update
                .update_expression(format!("SET {}", assigns.join(", ")))
                .condition_expression(conditions.join(" AND "))
                .send()
                .await
                .map_err(|e| sdk_error("UpdateItem repair counter", e))?;
            written += 1;
        }
        Ok(written)
    }
}

struct ScanPage {
    items: Vec<Item>,
    last_key: Option<Item>,
}

/// A stored counter item as a row of its series, the shard left out.
fn row_of(item: &Item) -> Option<CounterRow> {
    let partition = item.get("PK")?.as_s().ok()?.strip_prefix(STAT)?;
    let series = partition.rsplit_once('#').map(|(series, _)| series)?.to_owned();
    let slot = item.get("SK")?.as_s().ok()?.clone();
    let fields: BTreeMap<String, i64> = item
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("c_")?.to_owned(), v.as_n().ok()?.parse().ok()?)))
        .collect();
    Some(CounterRow { key: CounterKey { series, slot }, fields })
}

/// Every counter item of one slot range, following the pages.
async fn query_range(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    r: &SlotRange,
) -> Result<Vec<CounterRow>, StoreError> {
    let mut out = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let page = client
            .query()
            .table_name(table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :a AND :b")
            .expression_attribute_values(":pk", s(format!("{STAT}{}", r.series)))
            .expression_attribute_values(":a", s(r.slot_from.clone()))
            .expression_attribute_values(":b", s(r.slot_to.clone()))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| sdk_error("Query counters", e))?;
        out.extend(page.items().iter().filter_map(row_of));
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return Ok(out),
        }
    }
}

#[async_trait]
impl CounterStore for DynamoStore {
    /// One `Query` per range and shard (a region query has up to 20: 5 ranges × 4 shards), run
    /// concurrently so the latency is that of the slowest, not of their sum.
    async fn read_counters(&self, ranges: &[SlotRange]) -> Result<Vec<CounterRow>, StoreError> {
        self.catch_up().await?;
        let mut queries = tokio::task::JoinSet::new();
        let per_shard = ranges.iter().flat_map(|r| {
            (0..shards_of(&r.series))
                .map(move |shard| SlotRange { series: format!("{}#{shard}", r.series), ..r.clone() })
        });
        let mut count = 0;
        for (i, r) in per_shard.enumerate() {
            let (client, table) = (self.client().clone(), self.table().to_owned());
            queries.spawn(async move { (i, query_range(&client, &table, &r).await) });
            count += 1;
        }
        let mut parts: Vec<(usize, Vec<CounterRow>)> = Vec::with_capacity(count);
        while let Some(done) = queries.join_next().await {
            let (i, rows) = done.map_err(|e| backend("Query counters", e))?;
            parts.push((i, rows?));
        }
        parts.sort_by_key(|(i, _)| *i);
        Ok(parts.into_iter().flat_map(|(_, rows)| rows).collect())
    }

    async fn all_counters(&self) -> Result<Counters, StoreError> {
        self.catch_up().await?;
        let mut out = Counters::default();
        let mut start = None;
        loop {
            let page = self.scan_page("PK", STAT, start, 1000).await?;
            for row in page.items.iter().filter_map(row_of) {
                for (f, v) in &row.fields {
                    out.add(row.key.clone(), f, *v);
                }
            }
            match page.last_key {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
    }

    async fn counted_as_of(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        match self.counting() {
            crate::Counting::InTransaction => Ok(None),
            crate::Counting::Stream => {
                self.catch_up().await?;
                let as_of = crate::stream::CounterStream::counted_as_of(self).await?;
                Ok(Some(as_of.unwrap_or(chrono::DateTime::UNIX_EPOCH)))
            }
        }
    }
}

#[async_trait]
impl HistoryScan for DynamoStore {
    /// A `Scan` page of the history items (`SK` starting `HIST#`); the cursor is DynamoDB's
    /// last evaluated key.
    async fn history_page(&self, after: Option<&str>, limit: usize) -> Result<HistoryPage, StoreError> {
        let start = after.map(decode_cursor).transpose()?;
        let page = self.scan_page("SK", "HIST#", start, limit).await?;
        let entries = page.items.iter().map(read_doc).collect::<Result<Vec<HistoryEntry>, _>>()?;
        let next = page.last_key.as_ref().map(encode_cursor);
        Ok(HistoryPage { entries, next })
    }
}

/// A history cursor: the key attributes of DynamoDB's last evaluated key.
fn encode_cursor(key: &Item) -> String {
    let key: BTreeMap<&str, &str> =
        key.iter().filter_map(|(k, v)| Some((k.as_str(), v.as_s().ok()?.as_str()))).collect();
    serde_json::to_string(&key).unwrap_or_default()
}

fn decode_cursor(cursor: &str) -> Result<Item, StoreError> {
    let key: BTreeMap<String, String> =
        serde_json::from_str(cursor).map_err(|e| backend("decoding a history cursor", e))?;
    Ok(key.into_iter().map(|(k, v)| (k, s(v))).collect())
}
