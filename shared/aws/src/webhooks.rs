//! Webhook endpoints and their deliveries on DynamoDB. Endpoints share the region's partition
//! `WEBHOOKS` (`SK = HOOK#<id>`), so listing them is one Query. A delivery is its own item,
//! `PK = WHDLV#<delivery id>`, `SK = DLV`, created on condition that it does not exist; its
//! endpoint's log is `GSI1PK = WHDLVS#<endpoint>`, `GSI1SK = <delivery id>`, and while it is
//! pending the retry sweep finds it at `GSI2PK = WH_DUE`, `GSI2SK = <due ms:013>#<id>`.

use crate::dynamo::{doc, read_doc, s, DynamoStore, Item};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use feedback_core::ids::WebhookId;
use feedback_core::ports::StoreError;
use feedback_core::webhook::{due_key, DeliveryStatus, Endpoint, WebhookDelivery, WebhookStore};

const ENDPOINTS_PK: &str = "WEBHOOKS";
const DELIVERY_SK: &str = "DLV";
const DUE_PK: &str = "WH_DUE";

fn endpoint_sk(id: &WebhookId) -> String {
    format!("HOOK#{id}")
}

fn delivery_pk(id: &str) -> String {
    format!("WHDLV#{id}")
}

fn log_pk(endpoint: &WebhookId) -> String {
    format!("WHDLVS#{endpoint}")
}

fn endpoint_item(endpoint: &Endpoint) -> Result<Item, StoreError> {
    Ok(Item::from([
        ("PK".into(), s(ENDPOINTS_PK)),
        ("SK".into(), s(endpoint_sk(&endpoint.id))),
        ("doc".into(), doc(endpoint)?),
    ]))
}

fn delivery_item(d: &WebhookDelivery) -> Result<Item, StoreError> {
    let mut item = Item::from([
        ("PK".into(), s(delivery_pk(&d.id))),
        ("SK".into(), s(DELIVERY_SK)),
        ("doc".into(), doc(d)?),
        ("GSI1PK".into(), s(log_pk(&d.endpoint_id))),
        ("GSI1SK".into(), s(d.id.clone())),
    ]);
    if let (DeliveryStatus::Pending, Some(at)) = (d.status, d.next_attempt_at) {
        item.insert("GSI2PK".into(), s(DUE_PK));
        item.insert("GSI2SK".into(), s(due_key(at, &d.id)));
    }
    Ok(item)
}

#[async_trait]
impl WebhookStore for DynamoStore {
    async fn create_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        let item = endpoint_item(endpoint)?;
        match self.put_if(item, Some("attribute_not_exists(PK)"), None, "PutItem webhook").await? {
            true => Ok(()),
            false => Err(StoreError::Conflict),
        }
    }

    async fn get_endpoint(&self, id: &WebhookId) -> Result<Option<Endpoint>, StoreError> {
        self.get_doc(ENDPOINTS_PK.to_owned(), &endpoint_sk(id)).await?.map(|i| read_doc(&i)).transpose()
    }

    async fn list_endpoints(&self) -> Result<Vec<Endpoint>, StoreError> {
        self.query_prefix(ENDPOINTS_PK.to_owned(), "HOOK#", None).await?.iter().map(read_doc).collect()
    }

    async fn put_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        let item = endpoint_item(endpoint)?;
        match self.put_if(item, Some("attribute_exists(PK)"), None, "PutItem webhook").await? {
            true => Ok(()),
            false => Err(StoreError::Conflict),
        }
    }

    async fn create_webhook_delivery(&self, delivery: &WebhookDelivery) -> Result<bool, StoreError> {
        let item = delivery_item(delivery)?;
        self.put_if(item, Some("attribute_not_exists(PK)"), None, "PutItem webhook delivery").await
    }

    async fn get_webhook_delivery(&self, id: &str) -> Result<Option<WebhookDelivery>, StoreError> {
        self.get_doc(delivery_pk(id), DELIVERY_SK).await?.map(|i| read_doc(&i)).transpose()
    }

    async fn put_webhook_delivery(&self, delivery: &WebhookDelivery) -> Result<(), StoreError> {
        let item = delivery_item(delivery)?;
        self.put_if(item, None, None, "PutItem webhook delivery").await.map(drop)
    }

    async fn list_webhook_deliveries(
        &self,
        endpoint: &WebhookId,
        limit: usize,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        self.query_gsi("GSI1", log_pk(endpoint), None, None, limit, false).await?.iter().map(read_doc).collect()
    }

    async fn due_webhook_deliveries(
        &self,
        at: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let bound = due_key(at, "~");
        self.query_gsi("GSI2", DUE_PK.to_owned(), None, Some(&bound), limit, true).await?.iter().map(read_doc).collect()
    }
}
