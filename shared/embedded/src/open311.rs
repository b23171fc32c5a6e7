//! Integrations and the index of public messages, in SQLite.

use crate::{backend, docs, is_constraint, json, one, SqliteStore};
use async_trait::async_trait;
use feedback_core::ids::MessageId;
use feedback_core::integration::{Integration, IntegrationId, IntegrationStore};
use feedback_core::open311::PublicMessageStore;
use feedback_core::{Message, StoreError};
use rusqlite::{params, Connection};

/// The integrations table, and the partial index of public messages by id (ids sort by
/// submission time). `public` is set at submission and never changes, so the index needs no
/// column of its own.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS integrations (
    id          TEXT PRIMARY KEY,
    key_hash    TEXT NOT NULL UNIQUE,
    doc         TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS messages_public ON messages(id) WHERE json_extract(doc, '$.public') = 1;
"#;

pub(crate) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}

#[async_trait]
impl IntegrationStore for SqliteStore {
    async fn create_integration(&self, integration: &Integration) -> Result<(), StoreError> {
        let (id, hash, doc) = (integration.id.to_string(), integration.key_hash.clone(), json(integration)?);
        self.db()
            .tx(move |tx| {
                tx.execute("INSERT INTO integrations (id, key_hash, doc) VALUES (?1, ?2, ?3)", params![id, hash, doc])
                    .map_err(|e| if is_constraint(&e) { StoreError::Conflict } else { backend(e) })?;
                Ok(())
            })
            .await
    }

    async fn get_integration(&self, id: &IntegrationId) -> Result<Option<Integration>, StoreError> {
        let id = id.to_string();
        self.db().tx(move |tx| one(tx, "SELECT doc FROM integrations WHERE id = ?1", params![id])).await
    }

    async fn integration_by_key_hash(&self, hash: &str) -> Result<Option<Integration>, StoreError> {
        let hash = hash.to_owned();
        self.db().tx(move |tx| one(tx, "SELECT doc FROM integrations WHERE key_hash = ?1", params![hash])).await
    }

    async fn list_integrations(
        &self,
        after: Option<&IntegrationId>,
        limit: usize,
    ) -> Result<Vec<Integration>, StoreError> {
        let after = after.map(|a| a.to_string()).unwrap_or_default();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db()
            .tx(move |tx| {
                docs(tx, "SELECT doc FROM integrations WHERE id > ?1 ORDER BY id LIMIT ?2", params![after, limit])
            })
            .await
    }

    async fn save_integration(&self, integration: &Integration) -> Result<(), StoreError> {
        let (id, doc) = (integration.id.to_string(), json(integration)?);
        self.db()
            .tx(move |tx| {
                let n =
                    tx.execute("UPDATE integrations SET doc = ?1 WHERE id = ?2", params![doc, id]).map_err(backend)?;
                if n == 0 {
                    return Err(StoreError::Conflict);
                }
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl PublicMessageStore for SqliteStore {
    async fn public_messages(
        &self,
        from: &MessageId,
        before: &MessageId,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let (from, before) = (from.to_string(), before.to_string());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db()
            .tx(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM messages INDEXED BY messages_public
                     WHERE json_extract(doc, '$.public') = 1 AND id >= ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
                    params![from, before, limit],
                )
            })
            .await
    }
}
