use crate::counters::add_counters;
use crate::queue::{enqueue_in, queued_jobs};
use crate::quota::{quota_used, spend_quota};
use crate::{backend, docs, from_json, instants, is_constraint, json, one, Db};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use feedback_core::analytics::Counters;
use feedback_core::ids::{AuthorityId, CategoryId, CitizenId, MessageId, MessageNumber, PhotoId};
use feedback_core::message::{DueState, QueueOrder};
use feedback_core::notification::Notification;
use feedback_core::photo::{Photo, PhotoStore};
use feedback_core::ports::{
    notification_key, notification_time_key, CreateOutcome, Expiry, IdempotencyRecord, MessageStore, MessageUpdate,
    NewRecord, NotificationStore, Outbox, OutboxItem, Pruned, Quota, Quotas, ReadSelection, ReferenceStore, StoreError,
    SupportChange, Versioned, MARK_READ_MAX,
};
use feedback_core::values::IdempotencyKey;
use feedback_core::{HistoryEntry, Message, RegionData};
use rusqlite::{params, OptionalExtension};

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
}

impl SqliteStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
    pub fn db(&self) -> &Db {
        &self.db
    }
}

/// The index columns derived from a message, as the DynamoDB adapter derives its GSI keys.
struct IndexColumns {
    queue: Option<String>,
    deadline: String,
    due: Option<&'static str>,
    geo: Option<String>,
    closed: Option<String>,
}

impl IndexColumns {
    pub(crate) fn of(m: &Message) -> Self {
        IndexColumns {
            queue: m.authority_id.as_ref().zip(m.queue_bucket()).map(|(a, b)| queue_key(a, b)),
            deadline: m.deadline_key(),
            due: m.due_state().map(DueState::as_str),
            geo: m.geo_cell().map(|c| geo_key(&m.category_id, &c)),
            closed: m.retention_key(),
        }
    }
}

/// Replaces a message on its expected version, with its index columns and author; `Conflict`
/// when the stored version differs.
pub(crate) fn update_message_row(tx: &rusqlite::Transaction<'_>, m: &Message, expected: u32) -> Result<(), StoreError> {
    let idx = IndexColumns::of(m);
    let changed = tx
        .execute(
            "UPDATE messages SET author = ?1, status = ?2, version = ?3, doc = ?4, queue_key = ?5, deadline_key = ?6,
             due_state = ?7, geo_key = ?8, closed_key = ?9 WHERE id = ?10 AND version = ?11",
            params![
                m.author.to_string(),
                m.status.as_str(),
                m.version,
                json(m)?,
                idx.queue,
                idx.deadline,
                idx.due,
                idx.geo,
                idx.closed,
                m.id.to_string(),
                expected
            ],
        )
        .map_err(backend)?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

fn queue_key(authority: &AuthorityId, bucket: &str) -> String {
    format!("{authority}#{bucket}")
}

/// The messages whose `column` (`queue_key` or `due_state`) is `value`, in `order`, beyond
/// `after`: by `deadline_key`, or by id (a ULID minted at submission, so by when it was sent).
fn ordered(
    tx: &rusqlite::Transaction<'_>,
    column: &str,
    value: &str,
    order: QueueOrder,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<Message>, StoreError> {
    let (key, cmp, dir, start) = match order {
        QueueOrder::Deadline => ("deadline_key", ">", "ASC", ""),
        QueueOrder::Oldest => ("id", ">", "ASC", ""),
        QueueOrder::Newest => ("id", "<", "DESC", "~"),
    };
    let sql = format!("SELECT doc FROM messages WHERE {column} = ?1 AND {key} {cmp} ?2 ORDER BY {key} {dir} LIMIT ?3");
    docs(tx, &sql, params![value, after.unwrap_or(start), limit as i64])
}

fn geo_key(category: &CategoryId, cell: &str) -> String {
    format!("{category}#{cell}")
}

/// The embedded queue is a table of the same database: a transition's jobs go straight into it,
/// in the transition's transaction, so nothing is ever left to relay.
#[async_trait]
impl Outbox for SqliteStore {
    fn queues_in_transaction(&self) -> bool {
        true
    }

    async fn pending_outbox(&self, _before: DateTime<Utc>, _limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        Ok(Vec::new())
    }

    async fn relayed(&self, _item: &OutboxItem) -> Result<(), StoreError> {
        Ok(())
    }
}

#[async_trait]
impl Quotas for SqliteStore {
    async fn quota_used(&self, quota: &Quota) -> Result<u32, StoreError> {
        let quota = quota.clone();
        self.db.read(move |tx| quota_used(tx, &quota)).await
    }
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn create_message(
        &self,
        record: &NewRecord,
        idempotency: Option<&IdempotencyRecord>,
        outbox: &[OutboxItem],
        quota: Option<&Quota>,
    ) -> Result<CreateOutcome, StoreError> {
        let (message, entry) = (&record.message, &record.entry);
        let jobs = queued_jobs(outbox);
        let quota = quota.cloned();
        let (id, author, status, version, created) = (
            message.id.to_string(),
            message.author.to_string(),
            message.status.as_str(),
            message.version,
            message.created_at.timestamp_millis(),
        );
        let doc = json(message)?;
        let number = message.number.as_ref().map(ToString::to_string);
        let idx = IndexColumns::of(message);
        let hist = json(entry)?;
        let seq = entry.seq;
        let counters = record.counters.clone();
        let idem =
            idempotency.map(|r| Ok::<_, StoreError>((r.citizen.to_string(), r.key.as_str().to_owned(), json(r)?)));
        let idem = idem.transpose()?;
        let created_idem = idempotency.map(|r| r.created_at.timestamp_millis()).unwrap_or_default();
        self.db
            .tx(move |tx| {
                if let Some((citizen, key, _)) = &idem {
                    let existing: Option<String> = tx
                        .query_row("SELECT doc FROM idempotency WHERE citizen = ?1 AND key = ?2", params![citizen, key], |r| {
                            r.get(0)
                        })
                        .optional()
                        .map_err(backend)?;
                    if let Some(doc) = existing {
                        return Ok(CreateOutcome::KeyExists(Box::new(from_json(&doc)?)));
                    }
                }
                if let Some(q) = &quota {
                    if !spend_quota(tx, q)? {
                        return Ok(CreateOutcome::OverQuota);
                    }
                }
                enqueue_in(tx, &jobs)?;
                tx.execute(
                    "INSERT INTO messages (id, author, status, version, created_ms, doc, queue_key, deadline_key, due_state, geo_key, closed_key)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![id, author, status, version, created, doc, idx.queue, idx.deadline, idx.due, idx.geo, idx.closed],
                )
                .map_err(|e| if is_constraint(&e) { StoreError::Conflict } else { backend(e) })?;
                tx.execute("INSERT INTO history (message_id, seq, doc) VALUES (?1, ?2, ?3)", params![id, seq, hist])
                    .map_err(backend)?;
                if let Some(number) = &number {
                    tx.execute("INSERT INTO message_numbers (number, message_id) VALUES (?1, ?2)", params![number, id])
                        .map_err(|e| if is_constraint(&e) { StoreError::Conflict } else { backend(e) })?;
                }
                add_counters(tx, &counters)?;
                if let Some((citizen, key, doc)) = &idem {
                    tx.execute(
                        "INSERT INTO idempotency (citizen, key, created_ms, doc) VALUES (?1, ?2, ?3, ?4)",
                        params![citizen, key, created_idem, doc],
                    )
                    .map_err(backend)?;
                }
                Ok(CreateOutcome::Created)
            })
            .await
    }

    async fn get_idempotency(
        &self,
        citizen: &CitizenId,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let (c, k) = (citizen.to_string(), key.as_str().to_owned());
        self.db
            .read(move |tx| {
                let doc: Option<String> = tx
                    .query_row("SELECT doc FROM idempotency WHERE citizen = ?1 AND key = ?2", params![c, k], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(backend)?;
                doc.map(|d| from_json(&d)).transpose()
            })
            .await
    }

    async fn get_message(&self, id: &MessageId) -> Result<Option<Message>, StoreError> {
        let id = id.to_string();
        self.db.read(move |tx| one(tx, "SELECT doc FROM messages WHERE id = ?1", params![id])).await
    }

    async fn get_history(&self, id: &MessageId) -> Result<Vec<HistoryEntry>, StoreError> {
        let id = id.to_string();
        self.db
            .read(move |tx| {
                let mut stmt =
                    tx.prepare_cached("SELECT doc FROM history WHERE message_id = ?1 ORDER BY seq").map_err(backend)?;
                let docs = stmt.query_map(params![id], |r| r.get::<_, String>(0)).map_err(backend)?;
                docs.map(|d| from_json(&d.map_err(backend)?)).collect()
            })
            .await
    }

    async fn update_messages(&self, updates: &[MessageUpdate], outbox: &[OutboxItem]) -> Result<(), StoreError> {
        let jobs = queued_jobs(outbox);
        let rows = updates
            .iter()
            .map(|u| Ok((u.next.clone(), u.expected_version, u.next.id.to_string(), u.entry.seq, json(&u.entry)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let supports: Vec<(String, SupportChange)> =
            updates.iter().filter_map(|u| Some((u.next.id.to_string(), u.support.clone()?))).collect();
        let mut counters = Counters::default();
        for u in updates {
            counters.merge(&u.counters);
        }
        self.db
            .tx(move |tx| {
                add_counters(tx, &counters)?;
                for (next, expected, id, seq, hist) in rows {
                    update_message_row(tx, &next, expected)?;
                    tx.execute(
                        "INSERT INTO history (message_id, seq, doc) VALUES (?1, ?2, ?3)",
                        params![id, seq, hist],
                    )
                    .map_err(|e| if is_constraint(&e) { StoreError::Conflict } else { backend(e) })?;
                }
                for (id, change) in supports {
                    let (sql, citizen) = match change {
                        SupportChange::Added(c) => {
                            ("INSERT OR IGNORE INTO supports (citizen, message_id) VALUES (?1, ?2)", c)
                        }
                        SupportChange::Withdrawn(c) => {
                            ("DELETE FROM supports WHERE citizen = ?1 AND message_id = ?2", c)
                        }
                    };
                    tx.execute(sql, params![citizen.to_string(), id]).map_err(backend)?;
                }
                enqueue_in(tx, &jobs)?;
                Ok(())
            })
            .await
    }

    async fn authority_queue(
        &self,
        authority: &AuthorityId,
        bucket: &str,
        order: QueueOrder,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let key = queue_key(authority, bucket);
        let after = after.map(str::to_owned);
        self.db.read(move |tx| ordered(tx, "queue_key", &key, order, after.as_deref(), limit)).await
    }

    async fn overdue_messages(
        &self,
        order: QueueOrder,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let after = after.map(str::to_owned);
        let state = DueState::Overdue.as_str();
        self.db.read(move |tx| ordered(tx, "due_state", state, order, after.as_deref(), limit)).await
    }

    async fn due_messages(
        &self,
        state: DueState,
        after: Option<&str>,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let after = after.unwrap_or("").to_owned();
        let before = before.unwrap_or("~").to_owned();
        self.db
            .read(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM messages WHERE due_state = ?1 AND deadline_key > ?2 AND deadline_key < ?3
                     ORDER BY deadline_key LIMIT ?4",
                    params![state.as_str(), after, before, limit as i64],
                )
            })
            .await
    }

    async fn open_in_cells(
        &self,
        category: &CategoryId,
        cells: &[String],
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let keys: Vec<String> = cells.iter().map(|c| geo_key(category, c)).collect();
        self.db
            .read(move |tx| {
                let mut out = Vec::new();
                for key in keys {
                    out.extend(docs(
                        tx,
                        "SELECT doc FROM messages WHERE geo_key = ?1 ORDER BY id LIMIT ?2",
                        params![key, limit as i64],
                    )?);
                }
                Ok(out)
            })
            .await
    }

    async fn list_by_author(
        &self,
        author: &CitizenId,
        before: Option<&MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let author = author.to_string();
        let before = before.map(|b| b.to_string()).unwrap_or_else(|| "~".into());
        self.db
            .read(move |tx| {
                let mut stmt = tx
                    .prepare_cached("SELECT doc FROM messages WHERE author = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3")
                    .map_err(backend)?;
                let docs = stmt
                    .query_map(params![author, before, limit as i64], |r| r.get::<_, String>(0))
                    .map_err(backend)?;
                docs.map(|d| from_json(&d.map_err(backend)?)).collect()
            })
            .await
    }

    async fn author_submissions_since(
        &self,
        author: &CitizenId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let author = author.to_string();
        let from = MessageId::lower_bound(since).to_string();
        self.db
            .read(move |tx| {
                instants(
                    tx,
                    "SELECT created_ms FROM messages WHERE author = ?1 AND id >= ?2 ORDER BY id LIMIT ?3",
                    params![author, from, limit as i64],
                )
            })
            .await
    }

    async fn awaiting_moderation(&self, after: Option<&str>, limit: usize) -> Result<Vec<Message>, StoreError> {
        let (after_ms, after_id) = after
            .and_then(|a| a.split_once('#'))
            .and_then(|(ms, id)| Some((ms.parse::<i64>().ok()?, id.to_owned())))
            .unwrap_or((-1, String::new()));
        self.db
            .read(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM messages WHERE status = 'submitted'
                       AND (created_ms > ?1 OR (created_ms = ?1 AND id > ?2))
                     ORDER BY created_ms, id LIMIT ?3",
                    params![after_ms, after_id, limit as i64],
                )
            })
            .await
    }

    async fn list_submitted_before(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<MessageId>, StoreError> {
        let before = before.timestamp_millis();
        self.db
            .read(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT id FROM messages WHERE status = 'submitted' AND created_ms < ?1 ORDER BY created_ms LIMIT ?2",
                    )
                    .map_err(backend)?;
                let rows = stmt.query_map(params![before, limit as i64], |r| r.get::<_, String>(0)).map_err(backend)?;
                rows.map(|id| {
                    let id = id.map_err(backend)?;
                    MessageId::parse(&id).map_err(|e| StoreError::backend("reading a stored message id", e))
                })
                .collect()
            })
            .await
    }

    async fn reserve_numbers(&self, count: u32) -> Result<u64, StoreError> {
        self.db
            .tx(move |tx| {
                let last: i64 = tx
                    .query_row(
                        "INSERT INTO sequences (name, last) VALUES ('message_number', ?1)
                         ON CONFLICT (name) DO UPDATE SET last = last + ?1 RETURNING last",
                        params![count],
                        |r| r.get(0),
                    )
                    .map_err(backend)?;
                let last = u64::try_from(last).map_err(|e| StoreError::backend("reading the number sequence", e))?;
                Ok(last + 1 - u64::from(count))
            })
            .await
    }

    /// One writer, no hot spot: numbers are reserved one at a time, so they have no gaps but
    /// those of failed submissions.
    fn number_block(&self) -> u32 {
        1
    }

    async fn message_by_number(&self, number: &MessageNumber) -> Result<Option<MessageId>, StoreError> {
        let number = number.to_string();
        let id: Option<String> = self
            .db
            .read(move |tx| {
                tx.query_row("SELECT message_id FROM message_numbers WHERE number = ?1", params![number], |r| r.get(0))
                    .optional()
                    .map_err(backend)
            })
            .await?;
        id.map(|id| MessageId::parse(&id).map_err(|e| StoreError::backend("reading a stored message id", e)))
            .transpose()
    }
}

#[async_trait]
impl Expiry for SqliteStore {
    /// SQLite has no TTL: the scheduled run prunes by age (`retention::Pruning`).
    fn expires_by_itself(&self) -> bool {
        false
    }

    async fn prune_expired(
        &self,
        idempotency_before: DateTime<Utc>,
        notifications_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Pruned, StoreError> {
        let idem_ms = idempotency_before.timestamp_millis();
        let notif_key = notification_time_key(notifications_before);
        let deliveries_before = notifications_before.to_rfc3339();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .tx(move |tx| {
                let idempotency = tx
                    .execute(
                        "DELETE FROM idempotency WHERE (citizen, key) IN
                           (SELECT citizen, key FROM idempotency WHERE created_ms < ?1 LIMIT ?2)",
                        params![idem_ms, limit],
                    )
                    .map_err(backend)?;
                let notifications = tx
                    .execute(
                        "DELETE FROM notifications WHERE id IN
                           (SELECT id FROM notifications WHERE sort_key < ?1 LIMIT ?2)",
                        params![notif_key, limit],
                    )
                    .map_err(backend)?;
                // The deliveries carry their notification: they go with it, unless still pending.
                let deliveries = tx
                    .execute(
                        "DELETE FROM deliveries WHERE id IN
                           (SELECT id FROM deliveries WHERE due_ms IS NULL
                              AND julianday(json_extract(doc, '$.created_at')) < julianday(?1) LIMIT ?2)",
                        params![deliveries_before, limit],
                    )
                    .map_err(backend)?;
                Ok(Pruned { idempotency, notifications, deliveries, pseudonymised: 0 })
            })
            .await
    }
}

#[async_trait]
impl ReferenceStore for SqliteStore {
    async fn load_region(&self) -> Result<Option<Versioned<RegionData>>, StoreError> {
        self.db
            .read(|tx| {
                let row: Option<(i64, String)> = tx
                    .query_row("SELECT version, doc FROM reference WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .map_err(backend)?;
                row.map(|(v, doc)| Ok(Versioned { version: v as u64, value: from_json(&doc)? })).transpose()
            })
            .await
    }

    async fn save_region(&self, data: &RegionData, expected: Option<u64>) -> Result<u64, StoreError> {
        let doc = json(data)?;
        self.db
            .tx(move |tx| match expected {
                None => {
                    tx.execute("INSERT INTO reference (id, version, doc) VALUES (1, 1, ?1)", params![doc]).map_err(
                        |e| {
                            if is_constraint(&e) {
                                StoreError::Conflict
                            } else {
                                backend(e)
                            }
                        },
                    )?;
                    Ok(1)
                }
                Some(v) => {
                    let next = v + 1;
                    let changed = tx
                        .execute(
                            "UPDATE reference SET version = ?1, doc = ?2 WHERE id = 1 AND version = ?3",
                            params![next as i64, doc, v as i64],
                        )
                        .map_err(backend)?;
                    if changed == 1 {
                        Ok(next)
                    } else {
                        Err(StoreError::Conflict)
                    }
                }
            })
            .await
    }
}

#[async_trait]
impl NotificationStore for SqliteStore {
    async fn put_notification(&self, n: &Notification) -> Result<bool, StoreError> {
        let (id, citizen, key, doc) = (n.id.clone(), n.citizen.to_string(), notification_key(n), json(n)?);
        let unread = n.read_at.is_none().then_some(1i64);
        self.db
            .tx(move |tx| {
                let inserted = tx
                    .execute(
                        "INSERT INTO notifications (id, citizen, sort_key, doc, unread) VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT(id) DO NOTHING",
                        params![id, citizen, key, doc, unread],
                    )
                    .map_err(backend)?;
                Ok(inserted == 1)
            })
            .await
    }

    async fn list_notifications(
        &self,
        citizen: &CitizenId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Notification>, StoreError> {
        let (citizen, before) = (citizen.to_string(), before.unwrap_or("~").to_owned());
        self.db
            .read(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM notifications WHERE citizen = ?1 AND sort_key < ?2 ORDER BY sort_key DESC LIMIT ?3",
                    params![citizen, before, limit as i64],
                )
            })
            .await
    }

    /// One `UPDATE` per id, or one over the unread index up to the time, in one transaction;
    /// the document gets `read_at` and the row leaves the unread index.
    async fn mark_notifications_read(
        &self,
        citizen: &CitizenId,
        which: &ReadSelection,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let (citizen, which) = (citizen.to_string(), which.clone());
        let read_at = serde_json::to_value(at)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .ok_or_else(|| StoreError::backend("writing read_at", "not a string"))?;
        self.db
            .tx(move |tx| {
                const SET: &str = "UPDATE notifications SET unread = NULL, doc = json_set(doc, '$.read_at', ?1)";
                match which {
                    ReadSelection::Ids(ids) => {
                        let mut stmt = tx
                            .prepare_cached(&format!("{SET} WHERE citizen = ?2 AND id = ?3 AND unread = 1"))
                            .map_err(backend)?;
                        let mut marked = 0;
                        for id in ids.iter().take(MARK_READ_MAX) {
                            marked += stmt.execute(params![read_at, citizen, id]).map_err(backend)?;
                        }
                        Ok(marked)
                    }
                    ReadSelection::UpTo(up_to) => {
                        let below = notification_time_key(up_to + chrono::Duration::milliseconds(1));
                        tx.execute(
                            &format!(
                                "{SET} WHERE id IN (SELECT id FROM notifications
                                   WHERE citizen = ?2 AND unread = 1 AND sort_key < ?3 ORDER BY sort_key LIMIT ?4)"
                            ),
                            params![read_at, citizen, below, MARK_READ_MAX as i64],
                        )
                        .map_err(backend)
                    }
                }
            })
            .await
    }

    async fn unread_notifications(&self, citizen: &CitizenId, cap: usize) -> Result<usize, StoreError> {
        let citizen = citizen.to_string();
        self.db
            .read(move |tx| {
                let n: i64 = tx
                    .query_row(
                        "SELECT COUNT(*) FROM (SELECT 1 FROM notifications WHERE citizen = ?1 AND unread = 1 LIMIT ?2)",
                        params![citizen, cap as i64],
                        |r| r.get(0),
                    )
                    .map_err(backend)?;
                Ok(usize::try_from(n).unwrap_or(0))
            })
            .await
    }
}

#[async_trait]
impl PhotoStore for SqliteStore {
    async fn put_photo(&self, photo: &Photo) -> Result<(), StoreError> {
        let (id, doc) = (photo.id.to_string(), json(photo)?);
        let (owner, created_ms) = (photo.owner.to_string(), photo.created_at.timestamp_millis());
        self.db
            .tx(move |tx| {
                tx.execute(
                    "INSERT INTO photos (id, doc, owner, created_ms, pending) VALUES (?1, ?2, ?3, ?4, 1)",
                    params![id, doc, owner, created_ms],
                )
                .map_err(|e| if is_constraint(&e) { StoreError::Conflict } else { backend(e) })?;
                Ok(())
            })
            .await
    }

    async fn get_photo(&self, id: &PhotoId) -> Result<Option<Photo>, StoreError> {
        let id = id.to_string();
        self.db.read(move |tx| one(tx, "SELECT doc FROM photos WHERE id = ?1", params![id])).await
    }

    async fn photos_announced_since(
        &self,
        owner: &CitizenId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let (owner, since) = (owner.to_string(), since.timestamp_millis());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .read(move |tx| {
                instants(
                    tx,
                    "SELECT created_ms FROM photos WHERE owner = ?1 AND created_ms >= ?2 ORDER BY created_ms LIMIT ?3",
                    params![owner, since, limit],
                )
            })
            .await
    }

    async fn pending_photos_before(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<Photo>, StoreError> {
        let before = before.timestamp_millis();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .read(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM photos WHERE pending = 1 AND created_ms < ?1 ORDER BY created_ms LIMIT ?2",
                    params![before, limit],
                )
            })
            .await
    }

    async fn keep_photo(&self, id: &PhotoId) -> Result<(), StoreError> {
        let id = id.to_string();
        self.db
            .tx(move |tx| {
                tx.execute("UPDATE photos SET pending = NULL WHERE id = ?1", params![id]).map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn delete_photo(&self, id: &PhotoId) -> Result<(), StoreError> {
        let id = id.to_string();
        self.db
            .tx(move |tx| {
                tx.execute("DELETE FROM photos WHERE id = ?1", params![id]).map_err(backend)?;
                Ok(())
            })
            .await
    }
}
