//! Group commit: one thread owns the write connection and commits concurrent calls together.
//!
//! Every call of [`Db::tx`](crate::Db::tx) becomes a job on a channel. The writer thread takes
//! the first job waiting, then every other job already queued (up to [`MAX_BATCH`]), and runs
//! them in one transaction, each inside its own `SAVEPOINT`:
//! - a job that returns `Ok` is released into the transaction; its caller is answered only after
//!   the transaction's `COMMIT` returned, with the job's value if the commit succeeded and with
//!   the commit's error otherwise. With `synchronous=FULL` the commit's return means the batch
//!   is on disk, so an answer of success still means durable;
//! - a job that returns `Err` (or panics) is rolled back to its savepoint: its rows never land,
//!   the jobs before and after it keep theirs, and its caller gets its own error;
//! - when SQLite rolls the whole transaction back by itself (a full disk or an I/O error can),
//!   every job of the transaction so far is answered with `Unavailable` and the rest of the batch
//!   starts a new transaction.
//!
//! Jobs run one after another on one connection, so each sees the writes of the jobs before it
//! in the batch: uniqueness checks, versions, quotas and idempotency records stay exact. While a
//! batch's commit waits for the disk, the next callers queue up and form the next batch: under
//! load many calls share one fsync, and a lone call is committed at once, never held back.

use crate::backend;
use feedback_core::StoreError;
use rusqlite::{Connection, Transaction};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

/// What the writer has committed since the database was opened.
#[derive(Debug, Default)]
pub struct WriteStats {
    transactions: AtomicU64,
    calls: AtomicU64,
}

impl WriteStats {
    /// Transactions committed.
    pub fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }

    /// Calls committed in them: `calls / transactions` is the mean batch.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

/// The most jobs one transaction takes: bounds the latency a batch adds to its first caller.
pub(crate) const MAX_BATCH: usize = 256;

/// Answers a job's caller once the fate of the job's transaction is known: `Ok` when it
/// committed, the commit's error otherwise. A failed job's answer carries its own error and
/// ignores the argument.
type Answer = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// A job run inside the batch's transaction: whether it succeeded, and how to answer it. Given
/// an error instead of a transaction, the job does not run and answers with that error.
type TxJob = Box<dyn FnOnce(Result<&Transaction<'_>, StoreError>) -> (bool, Answer) + Send>;

/// A job run alone on the connection, outside any transaction (checkpoints, test support).
type ConnJob = Box<dyn FnOnce(&mut Connection) + Send>;

pub(crate) enum Job {
    Tx(TxJob),
    Conn(ConnJob),
}

/// Wraps a transaction body with the channel its caller waits on.
pub(crate) fn tx_job<T, F>(f: F) -> (Job, tokio::sync::oneshot::Receiver<Result<T, StoreError>>)
where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
{
    let (send, recv) = tokio::sync::oneshot::channel();
    let job: TxJob = Box::new(move |tx| match tx.map(|tx| catch_unwind(AssertUnwindSafe(|| f(tx)))) {
        Err(e) => (false, Box::new(move |_| drop(send.send(Err(e))))),
        Ok(Ok(Ok(out))) => {
            let answer: Answer = Box::new(move |committed| {
                let _ = send.send(committed.map(|()| out));
            });
            (true, answer)
        }
        Ok(Ok(Err(e))) => (false, Box::new(move |_| drop(send.send(Err(e))))),
        Ok(Err(_)) => {
            (false, Box::new(move |_| drop(send.send(Err(StoreError::backend("SQLite task", "the call panicked"))))))
        }
    });
    (Job::Tx(job), recv)
}

/// Starts the writer thread on `conn`; it ends when every sender is dropped.
pub(crate) fn spawn(conn: Connection, stats: Arc<WriteStats>) -> std::io::Result<mpsc::Sender<Job>> {
    let (send, recv) = mpsc::channel::<Job>();
    std::thread::Builder::new().name("sqlite-writer".into()).spawn(move || run(conn, &recv, &stats))?;
    Ok(send)
}

fn run(mut conn: Connection, jobs: &mpsc::Receiver<Job>, stats: &WriteStats) {
    let mut waiting: Option<Job> = None;
    loop {
        let first = match waiting.take() {
            Some(job) => job,
            None => match jobs.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        let mut batch = match first {
            Job::Conn(f) => {
                run_alone(&mut conn, f);
                continue;
            }
            Job::Tx(f) => vec![f],
        };
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(Job::Tx(f)) => batch.push(f),
                Ok(other) => {
                    waiting = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        let mut batch = batch.into_iter().peekable();
        while batch.peek().is_some() {
            commit_some(&mut conn, &mut batch, stats);
        }
    }
}

fn run_alone(conn: &mut Connection, f: ConnJob) {
    // A panic is the caller's: its answer channel is dropped and it sees the failure.
    let _ = catch_unwind(AssertUnwindSafe(|| f(conn)));
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
}

/// Runs jobs from `batch` in one transaction and commits them; returns early, leaving the rest,
/// when SQLite rolled the transaction back by itself.
fn commit_some(conn: &mut Connection, batch: &mut impl Iterator<Item = TxJob>, stats: &WriteStats) {
    let tx = match conn.transaction() {
        Ok(tx) => tx,
        Err(e) => {
            let e = SqliteFailure::of(e);
            batch.for_each(|job| refuse(job, e.error()));
            return;
        }
    };
    let mut done: Vec<Answer> = Vec::new();
    for job in batch.by_ref() {
        if let Err(e) = run_cached(&tx, "SAVEPOINT job") {
            let e = SqliteFailure::of(e);
            refuse(job, e.error());
            if tx.is_autocommit() {
                return rolled_back(done);
            }
            continue;
        }
        let (ok, answer) = job(Ok(&tx));
        if tx.is_autocommit() {
            // SQLite ended the transaction itself (a full disk, an I/O error): nothing of it is
            // kept, so none of its jobs succeeded.
            answer(Err(rolled_back_error()));
            return rolled_back(done);
        }
        if ok && run_cached(&tx, "RELEASE job").is_ok() {
            done.push(answer);
        } else {
            let undone = tx.execute_batch("ROLLBACK TO job; RELEASE job");
            if ok {
                answer(Err(rolled_back_error()));
            } else {
                answer(Ok(()));
            }
            if undone.is_err() || tx.is_autocommit() {
                // The savepoint could not be undone alone: drop the whole transaction.
                drop(tx);
                return rolled_back(done);
            }
        }
    }
    match tx.commit() {
        Ok(()) => {
            stats.transactions.fetch_add(1, Ordering::Relaxed);
            stats.calls.fetch_add(done.len() as u64, Ordering::Relaxed);
            done.into_iter().for_each(|answer| answer(Ok(())));
        }
        Err(e) => {
            let e = SqliteFailure::of(e);
            done.into_iter().for_each(|answer| answer(Err(e.error())));
        }
    }
}

/// Runs a statement kept prepared on the connection: the savepoints of every call.
fn run_cached(tx: &Transaction<'_>, sql: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(sql)?.execute([]).map(drop)
}

fn rolled_back(done: Vec<Answer>) {
    done.into_iter().for_each(|answer| answer(Err(rolled_back_error())));
}

fn rolled_back_error() -> StoreError {
    StoreError::unavailable("SQLite", "the transaction was rolled back; nothing was written")
}

/// Answers a job that never ran with `error`.
fn refuse(job: TxJob, error: StoreError) {
    let (_, answer) = job(Err(error));
    answer(Ok(()));
}

/// A SQLite error that can be handed to many callers: each gets its own copy, classified as
/// [`backend`] classifies the original.
struct SqliteFailure(rusqlite::Error);

impl SqliteFailure {
    fn of(e: rusqlite::Error) -> Self {
        SqliteFailure(e)
    }

    fn error(&self) -> StoreError {
        match &self.0 {
            rusqlite::Error::SqliteFailure(f, m) => backend(rusqlite::Error::SqliteFailure(*f, m.clone())),
            other => StoreError::backend("SQLite", other.to_string()),
        }
    }
}
