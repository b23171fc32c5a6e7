//! Authorities' reply templates on SQLite: one row per template in `reply_templates`, keyed by
//! authority, then id. The limit is counted in the transaction that adds a row; the store's
//! transactions run one at a time, so concurrent adds cannot overshoot it.

use crate::{backend, docs, json, one, SqliteStore};
use async_trait::async_trait;
use feedback_core::ids::{AuthorityId, TemplateId};
use feedback_core::ports::StoreError;
use feedback_core::templates::{ReplyTemplate, TemplateStore};
use rusqlite::params;

#[async_trait]
impl TemplateStore for SqliteStore {
    async fn templates(&self, authority: &AuthorityId) -> Result<Vec<ReplyTemplate>, StoreError> {
        let authority = authority.to_string();
        self.db()
            .tx(move |tx| {
                docs(tx, "SELECT doc FROM reply_templates WHERE authority = ?1 ORDER BY id", params![authority])
            })
            .await
    }

    async fn get_template(
        &self,
        authority: &AuthorityId,
        id: &TemplateId,
    ) -> Result<Option<ReplyTemplate>, StoreError> {
        let (authority, id) = (authority.to_string(), id.to_string());
        self.db()
            .tx(move |tx| {
                one(tx, "SELECT doc FROM reply_templates WHERE authority = ?1 AND id = ?2", params![authority, id])
            })
            .await
    }

    async fn add_template(&self, template: &ReplyTemplate, max: u32) -> Result<bool, StoreError> {
        let (authority, id, doc) = (template.authority_id.to_string(), template.id.to_string(), json(template)?);
        self.db()
            .tx(move |tx| {
                let held: u32 = tx
                    .query_row("SELECT COUNT(*) FROM reply_templates WHERE authority = ?1", params![authority], |r| {
                        r.get(0)
                    })
                    .map_err(backend)?;
                if held >= max {
                    return Ok(false);
                }
                tx.execute(
                    "INSERT INTO reply_templates (authority, id, doc) VALUES (?1, ?2, ?3)",
                    params![authority, id, doc],
                )
                .map_err(|e| match e {
                    rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                        StoreError::Conflict
                    }
                    e => backend(e),
                })?;
                Ok(true)
            })
            .await
    }

    async fn replace_template(&self, template: &ReplyTemplate) -> Result<bool, StoreError> {
        let (authority, id, doc) = (template.authority_id.to_string(), template.id.to_string(), json(template)?);
        self.db()
            .tx(move |tx| {
                let n = tx
                    .execute(
                        "UPDATE reply_templates SET doc = ?3 WHERE authority = ?1 AND id = ?2",
                        params![authority, id, doc],
                    )
                    .map_err(backend)?;
                Ok(n == 1)
            })
            .await
    }

    async fn delete_template(&self, authority: &AuthorityId, id: &TemplateId) -> Result<bool, StoreError> {
        let (authority, id) = (authority.to_string(), id.to_string());
        self.db()
            .tx(move |tx| {
                let n = tx
                    .execute("DELETE FROM reply_templates WHERE authority = ?1 AND id = ?2", params![authority, id])
                    .map_err(backend)?;
                Ok(n == 1)
            })
            .await
    }
}
