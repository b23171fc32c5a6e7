//! The analytics counters in DynamoDB: one item per counter and shard
//! (`PK = STAT#<series>#<shard>`, `SK = <slot>`), one number attribute per field. Transitions add
//! to them inside their own transaction; a region series is split over `REGION_SHARDS` shards by
//! message id so that no item takes every transition of the region, and reads sum the shards.

use crate::dynamo::{read_doc, s, DynamoStore, Item};
use crate::{backend, sdk_error};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use feedback_core::analytics::{deltas, shard_of, shards_of, CounterKey, CounterRow, Counters, SlotRange};
use feedback_core::ids::MessageId;
use feedback_core::ports::{CounterStore, StoreError};
use feedback_core::HistoryEntry;
use std::collections::BTreeMap;

const STAT: &str = "STAT#";

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

    /// The increments of a set of history entries, on the shards of their messages, merged so
    /// each counter item appears once in the transaction. The series of the result name the
    /// stored partition: `<series>#<shard>`.
    pub(crate) fn counters_of<'a>(entries: impl IntoIterator<Item = (&'a MessageId, &'a HistoryEntry)>) -> Counters {
        let mut out = Counters::default();
        for (id, e) in entries {
            for (key, fields) in deltas(e).0 {
                let shard = if shards_of(&key.series) > 1 { shard_of(id) } else { 0 };
                let stored = CounterKey { series: format!("{}#{shard}", key.series), slot: key.slot };
                for (f, v) in fields {
                    out.add(stored.clone(), &f, v);
                }
            }
        }
        out
    }

    /// Every item whose key attribute `key` starts with `prefix`. Offline tools only: a Scan.
    async fn scan_prefix(
        &self,
        key: &str,
        prefix: &str,
        mut visit: impl FnMut(&Item) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client()
                .scan()
                .table_name(self.table())
                .filter_expression("begins_with(#k, :p)")
                .expression_attribute_names("#k", key)
                .expression_attribute_values(":p", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Scan", e))?;
            for item in page.items() {
                visit(item)?;
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(()),
            }
        }
    }
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
    /// One `Query` per range and shard (a region query has up to 12: 3 ranges × 4 shards), run
    /// concurrently so the latency is that of the slowest, not of their sum.
    async fn read_counters(&self, ranges: &[SlotRange]) -> Result<Vec<CounterRow>, StoreError> {
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
        let mut out = Counters::default();
        self.scan_prefix("PK", STAT, |item| {
            if let Some(row) = row_of(item) {
                for (f, v) in &row.fields {
                    out.add(row.key.clone(), f, *v);
                }
            }
            Ok(())
        })
        .await?;
        Ok(out)
    }

    async fn recount(&self, progress: &(dyn Fn(u64) + Send + Sync)) -> Result<Counters, StoreError> {
        let mut out = Counters::default();
        let mut read = 0u64;
        self.scan_prefix("SK", "HIST#", |item| {
            let entry: HistoryEntry = read_doc(item)?;
            out.merge(&deltas(&entry));
            read += 1;
            if read.is_multiple_of(1000) {
                progress(read);
            }
            Ok(())
        })
        .await?;
        progress(read);
        Ok(out)
    }
}
