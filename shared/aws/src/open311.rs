//! Integrations and the index of public messages, in the single table:
//! - `PK=INTEGRATIONS`, `SK=INTEG#<id>`: one item per integration (listing is one Query);
//! - `PK=APIKEY#<sha256>`, `SK=APIKEY`: the key-hash look-up, a GetItem;
//! - message items of public messages carry `GSI6PK=PUBLIC`, `GSI6SK=<message id>`.

use crate::dynamo::{doc, read_doc, s, DynamoStore, Item};
use crate::{backend, sdk_error};
use async_trait::async_trait;
use feedback_core::ids::MessageId;
use feedback_core::integration::{Integration, IntegrationId, IntegrationStore};
use feedback_core::open311::PublicMessageStore;
use feedback_core::{Message, StoreError};

/// The GSI6 partition of public messages.
pub(crate) const PUBLIC_PK: &str = "PUBLIC";
const INTEGRATIONS_PK: &str = "INTEGRATIONS";

fn integration_sk(id: &IntegrationId) -> String {
    format!("INTEG#{id}")
}
fn key_pk(hash: &str) -> String {
    format!("APIKEY#{hash}")
}

fn integration_item(i: &Integration) -> Result<Item, StoreError> {
    Ok(Item::from([
        ("PK".into(), s(INTEGRATIONS_PK)),
        ("SK".into(), s(integration_sk(&i.id))),
        ("doc".into(), doc(i)?),
    ]))
}

#[async_trait]
impl IntegrationStore for DynamoStore {
    async fn create_integration(&self, integration: &Integration) -> Result<(), StoreError> {
        let not_exists = "attribute_not_exists(PK)";
        let key = Item::from([
            ("PK".into(), s(key_pk(&integration.key_hash))),
            ("SK".into(), s("APIKEY")),
            ("integration_id".into(), s(integration.id.to_string())),
        ]);
        let items = vec![self.put(integration_item(integration)?, not_exists, None)?, self.put(key, not_exists, None)?];
        self.transact(items).await.map_err(|e| e.conflict_or("TransactWriteItems create integration"))
    }

    async fn get_integration(&self, id: &IntegrationId) -> Result<Option<Integration>, StoreError> {
        self.get_doc(INTEGRATIONS_PK.to_owned(), &integration_sk(id)).await?.map(|i| read_doc(&i)).transpose()
    }

    async fn integration_by_key_hash(&self, hash: &str) -> Result<Option<Integration>, StoreError> {
        let Some(item) = self.get_doc(key_pk(hash), "APIKEY").await? else {
            return Ok(None);
        };
        let raw =
            item.get("integration_id").and_then(|v| v.as_s().ok()).ok_or_else(|| backend("API key item", "no id"))?;
        let id = IntegrationId::parse(raw).map_err(|_| backend("API key item", "bad integration id"))?;
        Ok(self.get_integration(&id).await?.filter(|i| i.key_hash == hash))
    }

    async fn list_integrations(
        &self,
        after: Option<&IntegrationId>,
        limit: usize,
    ) -> Result<Vec<Integration>, StoreError> {
        let start = match after {
            Some(a) => integration_sk(a),
            None => "INTEG#".to_owned(),
        };
        let mut out: Vec<Integration> = Vec::new();
        let mut exclusive: Option<Item> = None;
        loop {
            let page = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("PK = :pk AND SK > :after")
                .expression_attribute_values(":pk", s(INTEGRATIONS_PK))
                .expression_attribute_values(":after", s(start.clone()))
                .consistent_read(true)
                .limit(i32::try_from(limit.saturating_sub(out.len()).max(1)).unwrap_or(i32::MAX))
                .set_exclusive_start_key(exclusive.take())
                .send()
                .await
                .map_err(|e| sdk_error("Query integrations", e))?;
            for item in page.items() {
                out.push(read_doc(item)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() && out.len() < limit => exclusive = Some(k),
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    async fn save_integration(&self, integration: &Integration) -> Result<(), StoreError> {
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(integration_item(integration)?))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) {
                    Err(StoreError::Conflict)
                } else {
                    Err(sdk_error("PutItem integration", e))
                }
            }
        }
    }
}

#[async_trait]
impl PublicMessageStore for DynamoStore {
    async fn public_messages(
        &self,
        from: &MessageId,
        before: &MessageId,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        // `from` is a lower bound with a zero random part: no stored id equals it, so the strict
        // bound of the index query keeps every id at or after it.
        let (from, before) = (from.to_string(), before.to_string());
        let items = self.query_gsi("GSI6", PUBLIC_PK.to_owned(), Some(&from), Some(&before), limit, false).await?;
        items.iter().map(read_doc).collect()
    }
}
