use crate::{backend, Db};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use feedback_core::ports::{Delivery, Job, OutboxItem, QueueName, QueueReceiver, StoreError, WorkQueue};
use rusqlite::params;
use std::time::Duration;

/// How the embedded queue treats failing messages.
#[derive(Debug, Clone, Copy)]
pub struct QueueSettings {
    /// Receptions after which a message moves to the dead-letter table instead (SQS maxReceiveCount).
    pub max_receives: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self { max_receives: 5 }
    }
}

/// A durable queue in the same SQLite database as the store: messages survive restarts, are
/// hidden for a visibility timeout when received, and move to a dead-letter table after
/// `max_receives` receptions.
#[derive(Clone)]
pub struct SqliteQueue {
    db: Db,
    settings: QueueSettings,
}

impl SqliteQueue {
    pub fn new(db: Db, settings: QueueSettings) -> Self {
        Self { db, settings }
    }

    /// Sends a raw body: used by tests to deliver a job more than once.
    pub async fn send_raw(&self, queue: QueueName, body: String) -> Result<(), StoreError> {
        let now = Utc::now().timestamp_millis();
        let id = ulid::Ulid::new().to_string();
        self.db
            .tx(move |tx| {
                tx.execute(
                    "INSERT INTO queue (queue, message_id, body, sent_ms, visible_ms) VALUES (?1, ?2, ?3, ?4, ?4)",
                    params![queue.as_str(), id, body, now],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    /// Messages waiting (visible or in flight) in a queue.
    pub async fn depth(&self, queue: QueueName) -> Result<u64, StoreError> {
        self.db
            .tx(move |tx| {
                tx.query_row("SELECT COUNT(*) FROM queue WHERE queue = ?1", params![queue.as_str()], |r| {
                    r.get::<_, i64>(0)
                })
                .map(|n| n as u64)
                .map_err(backend)
            })
            .await
    }
}

/// Jobs ready to be written into the queue table: queue, job id (the queue message id), body.
pub(crate) type QueuedJobs = Vec<(QueueName, String, String)>;

pub(crate) fn queued_jobs(outbox: &[OutboxItem]) -> QueuedJobs {
    outbox.iter().map(|i| (i.job.queue(), i.id(), i.job.to_body())).collect()
}

/// Puts jobs on their queues inside the caller's transaction. A job whose id is still waiting on
/// the queue is there already and is not added twice.
pub(crate) fn enqueue_in(tx: &rusqlite::Transaction<'_>, jobs: &QueuedJobs) -> Result<(), StoreError> {
    let now = Utc::now().timestamp_millis();
    for (queue, id, body) in jobs {
        tx.execute(
            "INSERT INTO queue (queue, message_id, body, sent_ms, visible_ms) VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT(message_id) DO NOTHING",
            params![queue.as_str(), id, body, now],
        )
        .map_err(backend)?;
    }
    Ok(())
}

fn millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[async_trait]
impl WorkQueue for SqliteQueue {
    async fn send(&self, job: &Job) -> Result<(), StoreError> {
        self.send_raw(job.queue(), job.to_body()).await
    }
}

#[async_trait]
impl QueueReceiver for SqliteQueue {
    async fn receive(&self, queue: QueueName, max: usize, visibility: Duration) -> Result<Vec<Delivery>, StoreError> {
        let max_receives = self.settings.max_receives;
        let now = Utc::now().timestamp_millis();
        let hidden_until = now + visibility.as_millis() as i64;
        self.db
            .tx(move |tx| {
                let mut out = Vec::new();
                let rows: Vec<(i64, String, String, i64, u32)> = {
                    let mut stmt = tx
                        .prepare_cached(
                            "SELECT seq, message_id, body, sent_ms, receive_count FROM queue
                             WHERE queue = ?1 AND visible_ms <= ?2 ORDER BY visible_ms, seq LIMIT ?3",
                        )
                        .map_err(backend)?;
                    let rows = stmt
                        .query_map(params![queue.as_str(), now, max as i64], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                        })
                        .map_err(backend)?;
                    rows.collect::<Result<_, _>>().map_err(backend)?
                };
                for (seq, message_id, body, sent_ms, count) in rows {
                    if count >= max_receives {
                        tx.execute(
                            "INSERT INTO dead_letters (seq, queue, message_id, body, sent_ms, receive_count, died_ms)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            params![seq, queue.as_str(), message_id, body, sent_ms, count, now],
                        )
                        .map_err(backend)?;
                        tx.execute("DELETE FROM queue WHERE seq = ?1", params![seq]).map_err(backend)?;
                        tracing::warn!(queue = queue.as_str(), %message_id, receives = count, "moved to dead letters");
                        continue;
                    }
                    let receipt = ulid::Ulid::new().to_string();
                    tx.execute(
                        "UPDATE queue SET receive_count = receive_count + 1, visible_ms = ?1, receipt = ?2 WHERE seq = ?3",
                        params![hidden_until, receipt, seq],
                    )
                    .map_err(backend)?;
                    out.push(Delivery { message_id, receipt, body, receive_count: count + 1, sent_at: millis(sent_ms) });
                }
                Ok(out)
            })
            .await
    }

    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), StoreError> {
        let receipt = receipt.to_owned();
        self.db
            .tx(move |tx| {
                tx.execute("DELETE FROM queue WHERE queue = ?1 AND receipt = ?2", params![queue.as_str(), receipt])
                    .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn dead_letters(&self, queue: QueueName, max: usize) -> Result<Vec<Delivery>, StoreError> {
        self.db
            .tx(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT message_id, body, sent_ms, receive_count FROM dead_letters WHERE queue = ?1 ORDER BY seq LIMIT ?2",
                    )
                    .map_err(backend)?;
                let rows = stmt
                    .query_map(params![queue.as_str(), max as i64], |r| {
                        Ok(Delivery {
                            message_id: r.get(0)?,
                            receipt: String::new(),
                            body: r.get(1)?,
                            sent_at: millis(r.get(2)?),
                            receive_count: r.get(3)?,
                        })
                    })
                    .map_err(backend)?;
                rows.collect::<Result<_, _>>().map_err(backend)
            })
            .await
    }
}
