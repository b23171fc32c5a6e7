//! Residents' data rights on SQLite: each look-up by the resident goes through an index
//! (`photos_by_owner`, `comments_by_author`, `comment_flags_by_flagger`, the `idempotency` and
//! `notifications_by_citizen` keys, `messages_closed`).

use crate::store::update_message_row;
use crate::{backend, docs, is_constraint, json, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use feedback_core::ids::{CitizenId, CommentId, MessageId, PhotoId, PollId};
use feedback_core::notification::Notification;
use feedback_core::participation::Comment;
use feedback_core::photo::Photo;
use feedback_core::ports::{MessageUpdate, StoreError};
use feedback_core::rights::{GivenFlag, RightsStore};
use feedback_core::values::{FlagReason, IdempotencyKey};
use feedback_core::{HistoryEntry, Message};
use rusqlite::params;

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl RightsStore for SqliteStore {
    async fn forget_voter(&self, poll: &PollId, voter_hash: &str) -> Result<(), StoreError> {
        let (pid, hash) = (poll.to_string(), voter_hash.to_owned());
        self.db()
            .tx(move |tx| {
                tx.execute("DELETE FROM voter_roll WHERE poll_id = ?1 AND voter_hash = ?2", params![pid, hash])
                    .map(drop)
                    .map_err(backend)
            })
            .await
    }

    async fn photos_of(&self, owner: &CitizenId, after: Option<&PhotoId>, n: usize) -> Result<Vec<Photo>, StoreError> {
        let (owner, after) = (owner.to_string(), after.map(|a| a.to_string()).unwrap_or_default());
        self.db()
            .tx(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM photos WHERE owner = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                    params![owner, after, limit(n)],
                )
            })
            .await
    }

    async fn comments_by(
        &self,
        author: &CitizenId,
        after: Option<&CommentId>,
        n: usize,
    ) -> Result<Vec<Comment>, StoreError> {
        let (author, after) = (author.to_string(), after.map(|a| a.to_string()).unwrap_or_default());
        self.db()
            .tx(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM comments WHERE author = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                    params![author, after, limit(n)],
                )
            })
            .await
    }

    async fn supported_by(
        &self,
        citizen: &CitizenId,
        after: Option<&MessageId>,
        n: usize,
    ) -> Result<Vec<MessageId>, StoreError> {
        let (citizen, after) = (citizen.to_string(), after.map(|a| a.to_string()).unwrap_or_default());
        self.db()
            .tx(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT message_id FROM supports WHERE citizen = ?1 AND message_id > ?2
                         ORDER BY message_id LIMIT ?3",
                    )
                    .map_err(backend)?;
                let rows =
                    stmt.query_map(params![citizen, after, limit(n)], |r| r.get::<_, String>(0)).map_err(backend)?;
                rows.map(|row| {
                    MessageId::parse(&row.map_err(backend)?).map_err(|e| StoreError::backend("reading a support", e))
                })
                .collect()
            })
            .await
    }

    async fn flags_by(
        &self,
        flagger: &CitizenId,
        after: Option<&CommentId>,
        n: usize,
    ) -> Result<Vec<GivenFlag>, StoreError> {
        let (flagger, after) = (flagger.to_string(), after.map(|a| a.to_string()).unwrap_or_default());
        self.db()
            .tx(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT comment_id, reason FROM comment_flags WHERE flagger = ?1 AND comment_id > ?2
                         ORDER BY comment_id LIMIT ?3",
                    )
                    .map_err(backend)?;
                let rows = stmt
                    .query_map(params![flagger, after, limit(n)], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                    })
                    .map_err(backend)?;
                rows.map(|row| {
                    let (comment, reason) = row.map_err(backend)?;
                    let comment_id =
                        CommentId::parse(&comment).map_err(|e| StoreError::backend("reading a flag", e))?;
                    let reason = reason
                        .map(|r| FlagReason::parse(&r))
                        .transpose()
                        .map_err(|e| StoreError::backend("reading a flag", e))?;
                    Ok(GivenFlag { comment_id, reason })
                })
                .collect()
            })
            .await
    }

    async fn reassign_flag(&self, comment: &CommentId, from: &CitizenId, to: &CitizenId) -> Result<bool, StoreError> {
        let (comment, from, to) = (comment.to_string(), from.to_string(), to.to_string());
        self.db()
            .tx(move |tx| {
                let changed = tx
                    .execute(
                        "UPDATE comment_flags SET flagger = ?3 WHERE comment_id = ?1 AND flagger = ?2",
                        params![comment, from, to],
                    )
                    .map_err(|e| if is_constraint(&e) { StoreError::Conflict } else { backend(e) })?;
                Ok(changed == 1)
            })
            .await
    }

    async fn idempotency_keys(
        &self,
        citizen: &CitizenId,
        after: Option<&IdempotencyKey>,
        n: usize,
    ) -> Result<Vec<IdempotencyKey>, StoreError> {
        let (citizen, after) = (citizen.to_string(), after.map(|a| a.as_str().to_owned()).unwrap_or_default());
        self.db()
            .tx(move |tx| {
                let mut stmt = tx
                    .prepare_cached("SELECT key FROM idempotency WHERE citizen = ?1 AND key > ?2 ORDER BY key LIMIT ?3")
                    .map_err(backend)?;
                let rows =
                    stmt.query_map(params![citizen, after, limit(n)], |r| r.get::<_, String>(0)).map_err(backend)?;
                rows.map(|k| {
                    IdempotencyKey::parse(&k.map_err(backend)?)
                        .map_err(|e| StoreError::backend("reading an idempotency key", e))
                })
                .collect()
            })
            .await
    }

    async fn delete_idempotency(&self, citizen: &CitizenId, keys: &[IdempotencyKey]) -> Result<(), StoreError> {
        let citizen = citizen.to_string();
        let keys: Vec<String> = keys.iter().map(|k| k.as_str().to_owned()).collect();
        self.db()
            .tx(move |tx| {
                for key in keys {
                    tx.execute("DELETE FROM idempotency WHERE citizen = ?1 AND key = ?2", params![citizen, key])
                        .map_err(backend)?;
                }
                Ok(())
            })
            .await
    }

    async fn delete_notifications(&self, notifications: &[Notification]) -> Result<(), StoreError> {
        let ids: Vec<String> = notifications.iter().map(|n| n.id.clone()).collect();
        self.db()
            .tx(move |tx| {
                for id in ids {
                    tx.execute("DELETE FROM notifications WHERE id = ?1", params![id]).map_err(backend)?;
                }
                Ok(())
            })
            .await
    }

    async fn pseudonymise_message(
        &self,
        update: &MessageUpdate,
        history: &[HistoryEntry],
        photos: &[Photo],
    ) -> Result<(), StoreError> {
        let (next, expected) = (update.next.clone(), update.expected_version);
        let id = next.id.to_string();
        let entry = (update.entry.seq, json(&update.entry)?);
        let history: Vec<(u32, String)> =
            history.iter().map(|e| Ok((e.seq, json(e)?))).collect::<Result<_, StoreError>>()?;
        let photos: Vec<(String, String, String)> = photos
            .iter()
            .map(|p| Ok((p.id.to_string(), p.owner.to_string(), json(p)?)))
            .collect::<Result<_, StoreError>>()?;
        self.db()
            .tx(move |tx| {
                update_message_row(tx, &next, expected)?;
                tx.execute(
                    "INSERT INTO history (message_id, seq, doc) VALUES (?1, ?2, ?3)",
                    params![id, entry.0, entry.1],
                )
                .map_err(|e| if is_constraint(&e) { StoreError::Conflict } else { backend(e) })?;
                for (seq, doc) in history {
                    tx.execute("UPDATE history SET doc = ?3 WHERE message_id = ?1 AND seq = ?2", params![id, seq, doc])
                        .map_err(backend)?;
                }
                for (pid, owner, doc) in photos {
                    tx.execute("UPDATE photos SET owner = ?2, doc = ?3 WHERE id = ?1", params![pid, owner, doc])
                        .map_err(backend)?;
                }
                Ok(())
            })
            .await
    }

    async fn closed_before(
        &self,
        before: DateTime<Utc>,
        after: Option<&str>,
        n: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let before = feedback_core::message::retention_bound(before);
        let after = after.unwrap_or("").to_owned();
        self.db()
            .tx(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM messages WHERE closed_key > ?1 AND closed_key < ?2 ORDER BY closed_key LIMIT ?3",
                    params![after, before, limit(n)],
                )
            })
            .await
    }
}
