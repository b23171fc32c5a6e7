//! The embedded adapters: the store and a durable queue in one SQLite database (WAL, synchronous
//! FULL), so a single binary runs the platform with nothing else installed.

mod counters;
mod delivery;
mod keys;
mod open311;
mod participation;
mod queue;
mod quota;
mod reach;
mod rights;
mod store;
mod templates;
mod webhooks;
mod writer;

pub use keys::FolderKeys;
pub use queue::{QueueSettings, SqliteQueue};
pub use store::SqliteStore;
pub use writer::WriteStats;

use anyhow::Context;
use feedback_core::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS messages (
    id          TEXT PRIMARY KEY,
    author      TEXT NOT NULL,
    status      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL,
    doc         TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS messages_by_author ON messages(author, id);
CREATE INDEX IF NOT EXISTS messages_submitted ON messages(created_ms) WHERE status = 'submitted';

CREATE TABLE IF NOT EXISTS message_numbers (
    number      TEXT PRIMARY KEY,
    message_id  TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS sequences (
    name        TEXT PRIMARY KEY,
    last        INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS photos (
    id          TEXT PRIMARY KEY,
    doc         TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS polls (
    id            TEXT PRIMARY KEY,
    version       INTEGER NOT NULL,
    list_key      TEXT NOT NULL,
    list_sort     TEXT NOT NULL,
    sched_bucket  TEXT,
    sched_key     TEXT,
    doc           TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS polls_list ON polls(list_key, list_sort);
CREATE INDEX IF NOT EXISTS polls_schedule ON polls(sched_bucket, sched_key) WHERE sched_bucket IS NOT NULL;

CREATE TABLE IF NOT EXISTS voter_roll (
    poll_id     TEXT NOT NULL,
    voter_hash  TEXT NOT NULL,
    PRIMARY KEY (poll_id, voter_hash)
) STRICT, WITHOUT ROWID;

-- Tables without rowids keep no order of insertion: the roll is ordered by voter hash, and
-- receipts, sealed ballots and free-text answers by random ids.
CREATE TABLE IF NOT EXISTS receipts (
    receipt     TEXT PRIMARY KEY,
    poll_id     TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS sealed_ballots (
    poll_id     TEXT NOT NULL,
    id          TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    PRIMARY KEY (poll_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS text_answers (
    poll_id     TEXT NOT NULL,
    id          TEXT NOT NULL,
    question    INTEGER NOT NULL,
    text        TEXT NOT NULL,
    PRIMARY KEY (poll_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS tallies (
    poll_id     TEXT NOT NULL,
    question    INTEGER NOT NULL,
    option      INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (poll_id, question, option)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS turnout (
    poll_id       TEXT NOT NULL,
    municipality  TEXT NOT NULL,
    count         INTEGER NOT NULL,
    PRIMARY KEY (poll_id, municipality)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS results (
    poll_id     TEXT PRIMARY KEY,
    doc         TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS comments (
    id             TEXT PRIMARY KEY,
    discussion_id  TEXT NOT NULL,
    author         TEXT NOT NULL,
    version        INTEGER NOT NULL,
    mod_state      TEXT,
    doc            TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS comments_by_discussion ON comments(discussion_id, id);
CREATE INDEX IF NOT EXISTS comments_by_author ON comments(author, id);
CREATE INDEX IF NOT EXISTS comments_moderation ON comments(mod_state, id) WHERE mod_state IS NOT NULL;

CREATE TABLE IF NOT EXISTS comment_flags (
    comment_id  TEXT NOT NULL,
    flagger     TEXT NOT NULL,
    PRIMARY KEY (comment_id, flagger)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS supports (
    citizen     TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    PRIMARY KEY (citizen, message_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS notifications (
    id          TEXT PRIMARY KEY,
    citizen     TEXT NOT NULL,
    sort_key    TEXT NOT NULL,
    doc         TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS notifications_by_citizen ON notifications(citizen, sort_key);
CREATE INDEX IF NOT EXISTS notifications_by_age ON notifications(sort_key);

CREATE TABLE IF NOT EXISTS history (
    message_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    doc         TEXT NOT NULL,
    PRIMARY KEY (message_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS counter_items (
    series            TEXT NOT NULL,
    slot              TEXT NOT NULL,
    submitted         INTEGER NOT NULL DEFAULT 0,
    routed            INTEGER NOT NULL DEFAULT 0,
    answered          INTEGER NOT NULL DEFAULT 0,
    answered_on_time  INTEGER NOT NULL DEFAULT 0,
    overdue           INTEGER NOT NULL DEFAULT 0,
    rejected          INTEGER NOT NULL DEFAULT 0,
    closed            INTEGER NOT NULL DEFAULT 0,
    reopened          INTEGER NOT NULL DEFAULT 0,
    response_secs     INTEGER NOT NULL DEFAULT 0,
    rating_count      INTEGER NOT NULL DEFAULT 0,
    rating_sum        INTEGER NOT NULL DEFAULT 0,
    rating_4_5        INTEGER NOT NULL DEFAULT 0,
    messages          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (series, slot)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS idempotency (
    citizen     TEXT NOT NULL,
    key         TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    doc         TEXT NOT NULL,
    PRIMARY KEY (citizen, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_by_age ON idempotency(created_ms);

CREATE TABLE IF NOT EXISTS quotas (
    key         TEXT NOT NULL,
    window      TEXT NOT NULL,
    count       INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL,
    PRIMARY KEY (key, window)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS preferences (
    citizen     TEXT PRIMARY KEY,
    doc         TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS subscriptions (
    citizen     TEXT NOT NULL,
    id          TEXT NOT NULL,
    doc         TEXT NOT NULL,
    PRIMARY KEY (citizen, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS reply_templates (
    authority   TEXT NOT NULL,
    id          TEXT NOT NULL,
    doc         TEXT NOT NULL,
    PRIMARY KEY (authority, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS webhooks (
    id          TEXT PRIMARY KEY,
    doc         TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id          TEXT PRIMARY KEY,
    endpoint    TEXT NOT NULL,
    due_key     TEXT,
    doc         TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS webhook_deliveries_endpoint ON webhook_deliveries(endpoint, id);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries(due_key) WHERE due_key IS NOT NULL;

CREATE TABLE IF NOT EXISTS push_subscriptions (
    citizen     TEXT NOT NULL,
    id          TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    doc         TEXT NOT NULL,
    PRIMARY KEY (citizen, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS reference (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    version     INTEGER NOT NULL,
    doc         TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS queue (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT NOT NULL,
    message_id    TEXT NOT NULL UNIQUE,
    body          TEXT NOT NULL,
    sent_ms       INTEGER NOT NULL,
    visible_ms    INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt       TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS queue_visible ON queue(queue, visible_ms, seq);
CREATE INDEX IF NOT EXISTS queue_receipt ON queue(receipt);

CREATE TABLE IF NOT EXISTS health_probe (
    id     INTEGER PRIMARY KEY,
    at_ms  INTEGER NOT NULL,
    pad    BLOB NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS dead_letters (
    seq           INTEGER PRIMARY KEY,
    queue         TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    body          TEXT NOT NULL,
    sent_ms       INTEGER NOT NULL,
    receive_count INTEGER NOT NULL,
    died_ms       INTEGER NOT NULL
) STRICT;
"#;

/// One SQLite database shared by the store and the queue.
///
/// Writes go through [`Db::tx`] to one writer thread that owns the write connection and commits
/// concurrent calls together (group commit, see `writer`): each call is atomic and isolated as
/// if it had its own transaction, and is answered only once its batch is durable. Reads that
/// need no transaction of their own go through [`Db::read`] to read-only connections of a small
/// pool, so they never wait behind a commit; an in-memory database has a single connection, and
/// its reads go to the writer.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    writer: std::sync::mpsc::Sender<writer::Job>,
    stats: Arc<WriteStats>,
    readers: Option<Readers>,
}

/// Read-only connections to a database file, opened on demand and kept for reuse.
struct Readers {
    path: std::path::PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Bounds the reads running at once (and so the connections open).
    permits: tokio::sync::Semaphore,
}

/// How many reads run at once on their own connections.
const READERS: usize = 4;

impl Db {
    /// Opens (creating if needed) the database file and applies the schema.
    /// A new database file is created private to its owner (0600); SQLite gives its `-wal` and
    /// `-shm` files the mode of the database file.
    pub fn open(path: &Path) -> anyhow::Result<Db> {
        Self::open_file(path, "FULL")
    }

    /// Opens the database for a bulk load such as `feedback seed`: commits are not flushed to
    /// disk one by one (`synchronous=OFF`), so a power loss during the load may lose its last
    /// transactions (an application crash loses nothing). `finish_bulk_load` makes everything
    /// durable and restores `synchronous=FULL`.
    pub fn open_for_bulk_load(path: &Path) -> anyhow::Result<Db> {
        Self::open_file(path, "OFF")
    }

    fn open_file(path: &Path, synchronous: &str) -> anyhow::Result<Db> {
        create_private_file(path)?;
        let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        let readers = Readers {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(READERS),
        };
        Self::init(conn, synchronous, Some(readers))
    }

    /// Ends a bulk load: checkpoints the write-ahead log into the database file with a full sync
    /// and goes back to flushing every commit. Blocks: call it off the async runtime.
    pub fn finish_bulk_load(&self) -> anyhow::Result<()> {
        let (send, recv) = std::sync::mpsc::channel();
        self.send(writer::Job::Conn(Box::new(move |conn| {
            let done = conn
                .pragma_update(None, "synchronous", "FULL")
                .and_then(|()| conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())));
            let _ = send.send(done);
        })))?;
        recv.recv().map_err(|_| anyhow::anyhow!("the database writer stopped"))??;
        Ok(())
    }

    /// A private in-memory database, for tests and benchmarks.
    pub fn in_memory() -> anyhow::Result<Db> {
        Self::init(Connection::open_in_memory()?, "FULL", None)
    }

    fn init(conn: Connection, synchronous: &str, readers: Option<Readers>) -> anyhow::Result<Db> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", synchronous)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted content is overwritten with zeros, in the database file and in the write-ahead
        // log: destroyed sealed ballots and erased data leave no readable trace in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA).context("applying the schema")?;
        conn.execute_batch(delivery::SCHEMA).context("applying the delivery schema")?;
        migrate(&conn).context("migrating the schema")?;
        let stats = Arc::new(WriteStats::default());
        let writer = writer::spawn(conn, stats.clone()).context("starting the database writer")?;
        Ok(Db { inner: Arc::new(Inner { writer, stats, readers }) })
    }

    /// The transactions committed so far and the calls they held.
    pub fn write_stats(&self) -> &WriteStats {
        &self.inner.stats
    }

    fn send(&self, job: writer::Job) -> Result<(), StoreError> {
        self.inner.writer.send(job).map_err(|_| stopped())
    }

    /// Runs `f` as one atomic write: it sees everything committed and the writes of the calls
    /// batched before it, and its writes are kept only if it returns `Ok` and the batch commits.
    /// The answer comes after the commit returned, so `Ok` means durable.
    pub async fn tx<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (job, answer) = writer::tx_job(f);
        self.send(job)?;
        answer.await.map_err(|_| stopped())?
    }

    /// Runs `f` in a read transaction of its own on a read-only connection: it sees everything
    /// committed when it starts, and nothing it tries to write is kept (the connection refuses
    /// writes). On an in-memory database it runs as [`Db::tx`] does.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let Some(readers) = &self.inner.readers else { return self.tx(f).await };
        let _permit = readers.permits.acquire().await.map_err(|_| stopped())?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let Some(readers) = &inner.readers else { return Err(stopped()) };
            let idle = readers.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
            let mut conn = match idle {
                Some(conn) => conn,
                None => open_reader(&readers.path).map_err(backend)?,
            };
            let out = {
                let tx = conn.transaction().map_err(backend)?;
                let out = f(&tx);
                tx.rollback().map_err(backend)?;
                out
            };
            readers.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(conn);
            out
        })
        .await
        .map_err(|e| StoreError::backend("SQLite task", e))?
    }

    /// Runs `f` alone on the write connection, outside any transaction.
    async fn on_connection<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (send, recv) = tokio::sync::oneshot::channel();
        self.send(writer::Job::Conn(Box::new(move |conn| {
            let _ = send.send(f(conn));
        })))?;
        recv.await.map_err(|_| stopped())?
    }

    /// Moves the write-ahead log into the database file and truncates it, so that the log keeps
    /// no page image of what was just deleted. Best effort: readers in flight can keep frames.
    pub async fn truncate_log(&self) -> Result<(), StoreError> {
        self.on_connection(|conn| conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(backend))
            .await
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.tx(|tx| tx.query_row("SELECT 1", [], |_| Ok(())).map_err(backend)).await
    }

    /// Checks that the database takes writes: commits a row of a few pages to `health_probe` and
    /// drops the previous one, so that the commit needs fresh space as real writes do.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        let now = chrono::Utc::now().timestamp_millis();
        self.tx(move |tx| {
            tx.execute("INSERT INTO health_probe (at_ms, pad) VALUES (?1, zeroblob(8192))", [now]).map_err(backend)?;
            let last = tx.last_insert_rowid();
            tx.execute("DELETE FROM health_probe WHERE id < ?1", [last]).map_err(backend)?;
            Ok(())
        })
        .await
    }

    /// Test support, never called by the hosts: makes the database behave as if its disk were
    /// full. It caps the file at its current size (`PRAGMA max_page_count`) and takes up every
    /// free page, so that any write needing a page fails with `SQLITE_FULL`.
    pub async fn fill_storage_for_testing(&self) -> anyhow::Result<()> {
        self.on_connection(|conn| {
            let fill = || -> anyhow::Result<()> {
                conn.execute_batch("CREATE TABLE IF NOT EXISTS testing_filler (pad BLOB NOT NULL)")?;
                let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
                let _: i64 = conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| r.get(0))?;
                for _ in 0..100_000 {
                    match conn.execute("INSERT INTO testing_filler (pad) VALUES (zeroblob(512))", []) {
                        Ok(_) => {}
                        Err(e) if is_unavailable(&e) => return Ok(()),
                        Err(e) => return Err(e.into()),
                    }
                }
                anyhow::bail!("the database did not fill up")
            };
            Ok(fill())
        })
        .await?
    }

    /// Test support, never called by the hosts: gives the space taken by
    /// `fill_storage_for_testing` back.
    pub async fn free_storage_for_testing(&self) -> anyhow::Result<()> {
        self.on_connection(|conn| {
            let free = || -> anyhow::Result<()> {
                let _: i64 = conn.query_row("PRAGMA max_page_count = 1073741823", [], |r| r.get(0))?;
                conn.execute_batch("DROP TABLE IF EXISTS testing_filler")?;
                Ok(())
            };
            Ok(free())
        })
        .await?
    }
}

fn stopped() -> StoreError {
    StoreError::backend("SQLite", "the database writer stopped")
}

/// A read-only connection to the database file (`query_only`: a write through it fails).
fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.pragma_update(None, "query_only", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// Creates an empty database file with mode 0600 unless the file exists (an empty file is an
/// empty SQLite database).
fn create_private_file(path: &Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

/// Columns and indexes added after the first schema, applied to databases that predate them.
const MESSAGE_INDEX_COLUMNS: &[(&str, &str)] =
    &[("queue_key", "TEXT"), ("deadline_key", "TEXT"), ("due_state", "TEXT"), ("geo_key", "TEXT")];

/// Photo columns for the announcement rate and the sweep of unattached photos. Photos stored
/// before them have none: they count toward no rate and are never swept.
const PHOTO_INDEX_COLUMNS: &[(&str, &str)] = &[("owner", "TEXT"), ("created_ms", "INTEGER"), ("pending", "INTEGER")];

/// The reason a resident gave with a flag. Flags stored before it have none.
const COMMENT_FLAG_COLUMNS: &[(&str, &str)] = &[("reason", "TEXT")];

/// Counter fields added after the table: `supporters` («Я тоже», `EventKind::Support`).
const COUNTER_COLUMNS: &[(&str, &str)] =
    &[("supporters", "INTEGER NOT NULL DEFAULT 0"), ("overdue_now", "INTEGER NOT NULL DEFAULT 0")];

/// The unread index's column: 1 while a notification is unread, NULL once read.
const NOTIFICATION_READ_COLUMNS: &[(&str, &str)] = &[("unread", "INTEGER")];

/// The retention index's column: closed messages still linked to their author
/// (`Message::retention_key`).
const MESSAGE_RETENTION_COLUMNS: &[(&str, &str)] = &[("closed_key", "TEXT")];

/// Adds to `table` those of `columns` it does not have yet; returns how many it added.
fn add_missing_columns(conn: &Connection, table: &str, columns: &[(&str, &str)]) -> rusqlite::Result<usize> {
    let existing: Vec<String> = {
        let mut stmt = conn.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut added = 0;
    for (name, kind) in columns {
        if !existing.iter().any(|c| c == name) {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {name} {kind}"))?;
            added += 1;
        }
    }
    Ok(added)
}

/// Files the closed messages of a database from before the retention index under it, once,
/// when the column is added: the key is `Message::retention_key`'s, from the rating's time.
const BACKFILL_RETENTION_INDEX: &str = "
UPDATE messages SET closed_key = printf('%013d#%s',
    CAST(round((julianday(COALESCE(json_extract(doc, '$.rating.rated_at'), json_extract(doc, '$.updated_at')))
                - 2440587.5) * 86400000) AS INTEGER), id)
WHERE status = 'closed' AND closed_key IS NULL AND author NOT LIKE 'erased-%'";

fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    add_missing_columns(conn, "messages", MESSAGE_INDEX_COLUMNS)?;
    if add_missing_columns(conn, "messages", MESSAGE_RETENTION_COLUMNS)? > 0 {
        conn.execute_batch(BACKFILL_RETENTION_INDEX)?;
    }
    add_missing_columns(conn, "photos", PHOTO_INDEX_COLUMNS)?;
    if add_missing_columns(conn, "notifications", NOTIFICATION_READ_COLUMNS)? > 0 {
        conn.execute_batch("UPDATE notifications SET unread = 1 WHERE json_extract(doc, '$.read_at') IS NULL")?;
    }
    add_missing_columns(conn, "comment_flags", COMMENT_FLAG_COLUMNS)?;
    add_missing_columns(conn, "counter_items", COUNTER_COLUMNS)?;
    add_missing_columns(conn, "counter_items", &counters::scorecard_columns())?;
    counters::backfill_dekads(conn)?;
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS photos_by_owner ON photos(owner, created_ms) WHERE owner IS NOT NULL;
         CREATE INDEX IF NOT EXISTS photos_pending ON photos(created_ms) WHERE pending = 1;
         CREATE INDEX IF NOT EXISTS notifications_unread ON notifications(citizen, sort_key) WHERE unread = 1;",
    )?;
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS messages_queue ON messages(queue_key, deadline_key) WHERE queue_key IS NOT NULL;
         CREATE INDEX IF NOT EXISTS messages_due ON messages(due_state, deadline_key) WHERE due_state IS NOT NULL;
         CREATE INDEX IF NOT EXISTS messages_queue_sent ON messages(queue_key, id) WHERE queue_key IS NOT NULL;
         CREATE INDEX IF NOT EXISTS messages_due_sent ON messages(due_state, id) WHERE due_state IS NOT NULL;
         CREATE INDEX IF NOT EXISTS messages_geo ON messages(geo_key) WHERE geo_key IS NOT NULL;
         CREATE INDEX IF NOT EXISTS messages_closed ON messages(closed_key) WHERE closed_key IS NOT NULL;
         CREATE INDEX IF NOT EXISTS comment_flags_by_flagger ON comment_flags(flagger, comment_id);",
    )?;
    participation::migrate(conn)?;
    open311::migrate(conn)
}

/// A SQLite failure as a port error: a full disk, an I/O error, a busy or locked database or a
/// file that cannot be opened is `Unavailable` (the transaction rolled back; retry later), anything
/// else is `Backend`.
pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    if is_unavailable(&e) {
        StoreError::unavailable("SQLite", e)
    } else {
        StoreError::backend("SQLite", e)
    }
}

/// Whether a SQLite failure is a passing condition of the storage rather than a fault.
pub(crate) fn is_unavailable(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode;
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _) if matches!(
            f.code,
            ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure
                | ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::CannotOpen
        )
    )
}

pub(crate) fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::backend("serialising a document", e))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::backend("corrupt stored document", e))
}

/// Every document a query returns.
pub(crate) fn docs<T: serde::de::DeserializeOwned>(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = tx.prepare_cached(sql).map_err(backend)?;
    let rows = stmt.query_map(params, |r| r.get::<_, String>(0)).map_err(backend)?;
    rows.map(|d| from_json(&d.map_err(backend)?)).collect()
}

/// Every instant (epoch milliseconds in its first column) a query returns.
pub(crate) fn instants(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<chrono::DateTime<chrono::Utc>>, StoreError> {
    let mut stmt = tx.prepare_cached(sql).map_err(backend)?;
    let rows = stmt.query_map(params, |r| r.get::<_, i64>(0)).map_err(backend)?;
    rows.map(|ms| {
        let ms = ms.map_err(backend)?;
        chrono::DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| StoreError::backend("reading a stored time", format!("{ms} is out of range")))
    })
    .collect()
}

/// The document a query returns, if any.
pub(crate) fn one<T: serde::de::DeserializeOwned>(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<T>, StoreError> {
    use rusqlite::OptionalExtension;
    let doc: Option<String> = tx.query_row(sql, params, |r| r.get(0)).optional().map_err(backend)?;
    doc.map(|d| from_json(&d)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sqlite_failure_keeps_the_sqlite_error_in_its_source_chain() {
        let db = Db::in_memory().unwrap();
        let got = db.tx(|tx| tx.execute("INSERT INTO nowhere VALUES (1)", []).map_err(backend)).await;
        let Err(e @ StoreError::Backend(_)) = got else { panic!("a backend failure: {got:?}") };
        let chain: Vec<&(dyn std::error::Error + 'static)> =
            std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |e| e.source()).collect();
        let sqlite = chain.iter().find_map(|e| e.downcast_ref::<rusqlite::Error>());
        assert!(sqlite.is_some_and(|s| s.to_string().contains("no such table")), "{chain:?}");
        let shown = feedback_core::error::ErrorChain(&e).to_string();
        assert!(shown.starts_with("backend failure: SQLite: ") && shown.contains("no such table: nowhere"), "{shown}");
    }

    /// Holds the writer inside a call until the returned sender is dropped, so that the calls
    /// made meanwhile queue up and form the next batch.
    async fn hold_writer(db: &Db) -> (std::sync::mpsc::Sender<()>, tokio::task::JoinHandle<Result<(), StoreError>>) {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel();
        let gate = tokio::spawn({
            let db = db.clone();
            async move {
                db.tx(move |_| {
                    let _ = started.send(());
                    let _ = held.recv();
                    Ok(())
                })
                .await
            }
        });
        running.await.unwrap();
        (release, gate)
    }

    async fn keys(db: &Db) -> Vec<String> {
        db.read(|tx| {
            let mut stmt = tx.prepare("SELECT k FROM t ORDER BY k").map_err(backend)?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(backend)?;
            rows.collect::<Result<Vec<String>, _>>().map_err(backend)
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn concurrent_writes_share_one_commit_and_a_failing_one_keeps_nothing() {
        let path = std::env::temp_dir().join(format!("feedback-group-{}.db", ulid::Ulid::new()));
        let db = Db::open(&path).unwrap();
        db.tx(|tx| tx.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY) STRICT").map_err(backend)).await.unwrap();
        let before = (db.write_stats().transactions(), db.write_stats().calls());
        let (release, gate) = hold_writer(&db).await;
        let insert = |key: &'static str, then_fail: bool| {
            let db = db.clone();
            tokio::spawn(async move {
                db.tx(move |tx| {
                    tx.execute("INSERT INTO t (k) VALUES (?1)", [key]).map_err(|e| {
                        if is_constraint(&e) {
                            StoreError::Conflict
                        } else {
                            backend(e)
                        }
                    })?;
                    if then_fail {
                        return Err(StoreError::OverQuota);
                    }
                    Ok(key)
                })
                .await
            })
        };
        let mut calls = Vec::new();
        for (key, fail) in [("a", false), ("b", false), ("x", true), ("a", false), ("c", false)] {
            calls.push(insert(key, fail));
            // Each call is queued before the next, so the batch runs them in this order.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        drop(release);
        gate.await.unwrap().unwrap();
        let mut got = Vec::new();
        for call in calls {
            got.push(call.await.unwrap());
        }
        assert!(matches!(got[0], Ok("a")) && matches!(got[1], Ok("b")) && matches!(got[4], Ok("c")), "{got:?}");
        assert!(matches!(got[2], Err(StoreError::OverQuota)), "the failing call gets its own error: {got:?}");
        assert!(matches!(got[3], Err(StoreError::Conflict)), "the second `a` sees the first in the batch: {got:?}");
        assert_eq!(keys(&db).await, ["a", "b", "c"], "the failing call's row never lands");
        let stats = (db.write_stats().transactions() - before.0, db.write_stats().calls() - before.1);
        assert_eq!(stats, (2, 4), "the held call alone, then the three good writes in one transaction");
        drop(db);
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn a_call_that_panics_fails_alone_and_keeps_nothing() {
        let db = Db::in_memory().unwrap();
        db.tx(|tx| tx.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY) STRICT").map_err(backend)).await.unwrap();
        let (release, gate) = hold_writer(&db).await;
        let good = tokio::spawn({
            let db = db.clone();
            async move { db.tx(|tx| tx.execute("INSERT INTO t (k) VALUES ('good')", []).map_err(backend)).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let bad = tokio::spawn({
            let db = db.clone();
            async move {
                db.tx(|tx| -> Result<(), StoreError> {
                    tx.execute("INSERT INTO t (k) VALUES ('bad')", []).map_err(backend)?;
                    panic!("a bug in a call")
                })
                .await
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        drop(release);
        gate.await.unwrap().unwrap();
        assert_eq!(good.await.unwrap().unwrap(), 1);
        assert!(matches!(bad.await.unwrap(), Err(StoreError::Backend(_))));
        assert_eq!(keys(&db).await, ["good"]);
        db.tx(|tx| tx.execute("INSERT INTO t (k) VALUES ('after')", []).map_err(backend)).await.unwrap();
        assert_eq!(keys(&db).await, ["after", "good"], "the writer goes on after a panic");
    }

    #[tokio::test]
    async fn a_read_sees_every_answered_write_and_cannot_write() {
        let path = std::env::temp_dir().join(format!("feedback-read-{}.db", ulid::Ulid::new()));
        let db = Db::open(&path).unwrap();
        db.tx(|tx| tx.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY) STRICT").map_err(backend)).await.unwrap();
        for i in 0..20 {
            let key = format!("k{i:02}");
            db.tx(move |tx| tx.execute("INSERT INTO t (k) VALUES (?1)", [key]).map_err(backend)).await.unwrap();
            assert_eq!(keys(&db).await.len(), i + 1);
        }
        let write = db.read(|tx| tx.execute("INSERT INTO t (k) VALUES ('no')", []).map_err(backend)).await;
        assert!(write.is_err(), "{write:?}");
        assert_eq!(keys(&db).await.len(), 20);
        drop(db);
        let _ = std::fs::remove_file(&path);
    }
}
