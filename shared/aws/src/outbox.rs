//! The transactional outbox and quotas on DynamoDB.
//!
//! Outbox items live in one partition, `PK = OUTBOX`, sorted by the time their transition
//! committed, so the relay sweep reads the oldest with one Query and no Scan. They have no TTL:
//! an item leaves the table only once its job is on SQS.
//!
//! A quota is one counter item per key and window, `PK = QUOTA#<key>`, `SK = <window>`, added to
//! in the transaction that spends it on condition that it is still under the maximum. Items of
//! past windows expire by TTL.

use crate::dynamo::{doc, n, read_doc, s, DynamoStore, Item};
use crate::{backend, sdk_error};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use feedback_core::ports::{Job, Outbox, OutboxItem, Quota, Quotas, StoreError};

const OUTBOX_PK: &str = "OUTBOX";

fn outbox_sk(item: &OutboxItem) -> String {
    format!("{:013}#{}", item.at.timestamp_millis().max(0), item.id())
}

fn quota_pk(quota: &Quota) -> String {
    format!("QUOTA#{}", quota.key)
}

impl DynamoStore {
    /// The Puts that record outbox items inside a transaction. Recording the same job twice
    /// (a retried transaction) keeps one item.
    pub(crate) fn outbox_puts(&self, items: &[OutboxItem]) -> Result<Vec<TransactWriteItem>, StoreError> {
        items
            .iter()
            .map(|i| {
                let item = Item::from([
                    ("PK".into(), s(OUTBOX_PK)),
                    ("SK".into(), s(outbox_sk(i))),
                    ("doc".into(), doc(&i.job)?),
                    ("at".into(), n(i.at.timestamp_millis())),
                ]);
                self.put(item, "attribute_not_exists(PK)", None)
            })
            .collect()
    }

    /// The Update that spends one unit of a quota inside a transaction; it fails its condition
    /// when the window's quota is used up.
    pub(crate) fn quota_spend(&self, quota: &Quota) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(self.table())
            .key("PK", s(quota_pk(quota)))
            .key("SK", s(quota.window_id()))
            .update_expression("ADD #used :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(#used) OR #used < :max")
            .expression_attribute_names("#used", "used")
            .expression_attribute_names("#ttl", crate::schema::TABLE.ttl_attribute)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(quota.max))
            .expression_attribute_values(":ttl", n(quota.window_end().timestamp() + 3600))
            .build()
            .map_err(|e| backend("building Update", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Units of the quota's current window spent so far.
    pub(crate) async fn quota_count(&self, quota: &Quota) -> Result<u32, StoreError> {
        let item = self.get_doc(quota_pk(quota), &quota.window_id()).await?;
        Ok(item
            .as_ref()
            .and_then(|i| i.get("used"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }
}

#[async_trait]
impl Quotas for DynamoStore {
    async fn quota_used(&self, quota: &Quota) -> Result<u32, StoreError> {
        self.quota_count(quota).await
    }
}

#[async_trait]
impl Outbox for DynamoStore {
    fn queues_in_transaction(&self) -> bool {
        false
    }

    async fn pending_outbox(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        let upper = format!("{:013}$", before.timestamp_millis().max(0));
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("PK = :pk AND SK < :upper")
            .expression_attribute_values(":pk", s(OUTBOX_PK))
            .expression_attribute_values(":upper", s(upper))
            .consistent_read(true)
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(|e| sdk_error("Query outbox", e))?;
        out.items()
            .iter()
            .map(|item| {
                let job: Job = read_doc(item)?;
                let at = item
                    .get("at")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<i64>().ok())
                    .and_then(DateTime::from_timestamp_millis)
                    .ok_or_else(|| backend("reading outbox item", "no time"))?;
                Ok(OutboxItem { job, at })
            })
            .collect()
    }

    async fn relayed(&self, item: &OutboxItem) -> Result<(), StoreError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .key("PK", s(OUTBOX_PK))
            .key("SK", s(outbox_sk(item)))
            .send()
            .await
            .map_err(|e| sdk_error("DeleteItem outbox", e))?;
        Ok(())
    }
}
