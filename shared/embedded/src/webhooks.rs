//! Webhook endpoints and their deliveries on SQLite: one row per endpoint in `webhooks`, one per
//! (event, endpoint) in `webhook_deliveries`, with the due-time key of a pending delivery indexed
//! for the retry sweep.

use crate::{backend, docs, is_constraint, json, one, SqliteStore};
use async_trait::async_trait;
use feedback_core::ids::WebhookId;
use feedback_core::ports::StoreError;
use feedback_core::webhook::{due_key, DeliveryStatus, Endpoint, WebhookDelivery, WebhookStore};
use rusqlite::params;

fn pending_key(d: &WebhookDelivery) -> Option<String> {
    match (d.status, d.next_attempt_at) {
        (DeliveryStatus::Pending, Some(at)) => Some(due_key(at, &d.id)),
        _ => None,
    }
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        let (id, doc) = (endpoint.id.to_string(), json(endpoint)?);
        self.db()
            .tx(move |tx| {
                tx.execute("INSERT INTO webhooks (id, doc) VALUES (?1, ?2)", params![id, doc]).map(drop).map_err(|e| {
                    if is_constraint(&e) {
                        StoreError::Conflict
                    } else {
                        backend(e)
                    }
                })
            })
            .await
    }

    async fn get_endpoint(&self, id: &WebhookId) -> Result<Option<Endpoint>, StoreError> {
        let id = id.to_string();
        self.db().tx(move |tx| one(tx, "SELECT doc FROM webhooks WHERE id = ?1", params![id])).await
    }

    async fn list_endpoints(&self) -> Result<Vec<Endpoint>, StoreError> {
        self.db().tx(move |tx| docs(tx, "SELECT doc FROM webhooks ORDER BY id", params![])).await
    }

    async fn put_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        let (id, doc) = (endpoint.id.to_string(), json(endpoint)?);
        self.db()
            .tx(move |tx| {
                let n = tx.execute("UPDATE webhooks SET doc = ?2 WHERE id = ?1", params![id, doc]).map_err(backend)?;
                if n == 1 {
                    Ok(())
                } else {
                    Err(StoreError::Conflict)
                }
            })
            .await
    }

    async fn create_webhook_delivery(&self, delivery: &WebhookDelivery) -> Result<bool, StoreError> {
        let (id, endpoint, due, doc) =
            (delivery.id.clone(), delivery.endpoint_id.to_string(), pending_key(delivery), json(delivery)?);
        self.db()
            .tx(move |tx| {
                let n = tx
                    .execute(
                        "INSERT INTO webhook_deliveries (id, endpoint, due_key, doc) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT(id) DO NOTHING",
                        params![id, endpoint, due, doc],
                    )
                    .map_err(backend)?;
                Ok(n == 1)
            })
            .await
    }

    async fn get_webhook_delivery(&self, id: &str) -> Result<Option<WebhookDelivery>, StoreError> {
        let id = id.to_string();
        self.db().tx(move |tx| one(tx, "SELECT doc FROM webhook_deliveries WHERE id = ?1", params![id])).await
    }

    async fn put_webhook_delivery(&self, delivery: &WebhookDelivery) -> Result<(), StoreError> {
        let (id, endpoint, due, doc) =
            (delivery.id.clone(), delivery.endpoint_id.to_string(), pending_key(delivery), json(delivery)?);
        self.db()
            .tx(move |tx| {
                tx.execute(
                    "INSERT INTO webhook_deliveries (id, endpoint, due_key, doc) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(id) DO UPDATE SET due_key = excluded.due_key, doc = excluded.doc",
                    params![id, endpoint, due, doc],
                )
                .map(drop)
                .map_err(backend)
            })
            .await
    }

    async fn list_webhook_deliveries(
        &self,
        endpoint: &WebhookId,
        limit: usize,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let (endpoint, limit) = (endpoint.to_string(), i64::try_from(limit).unwrap_or(i64::MAX));
        self.db()
            .tx(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM webhook_deliveries WHERE endpoint = ?1 ORDER BY id DESC LIMIT ?2",
                    params![endpoint, limit],
                )
            })
            .await
    }

    async fn due_webhook_deliveries(
        &self,
        at: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let (bound, limit) = (due_key(at, "~"), i64::try_from(limit).unwrap_or(i64::MAX));
        self.db()
            .tx(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM webhook_deliveries WHERE due_key IS NOT NULL AND due_key <= ?1
                     ORDER BY due_key LIMIT ?2",
                    params![bound, limit],
                )
            })
            .await
    }
}
