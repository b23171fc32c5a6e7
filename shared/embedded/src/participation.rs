use crate::queue::{enqueue_in, queued_jobs};
use crate::quota::spend_quota;
use crate::{backend, docs, is_constraint, json, one, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use feedback_core::ids::{CitizenId, CommentId, PollId};
use feedback_core::participation::{
    list_partition, random_id, BallotAnswer, BallotContent, BallotRefused, BallotWrite, Comment, CommentStore, Flag,
    ModerationState, Poll, PollStatus, PollStore, Results, SealedBallot, SealedPage, Tally, TextAnswer,
};
use feedback_core::ports::{OutboxItem, Quota, StoreError};
use feedback_core::values::FlagReason;
use rusqlite::{params, OptionalExtension};

/// The columns a poll is stored under: its listing and schedule keys, as the GSIs hold them on DynamoDB.
struct PollRow {
    id: String,
    version: u32,
    list_key: String,
    list_sort: String,
    bucket: Option<&'static str>,
    key: Option<String>,
    doc: String,
}

fn poll_row(p: &Poll) -> Result<PollRow, StoreError> {
    let (list_key, list_sort) = p.list_key();
    let (bucket, key) = match p.schedule_key() {
        Some((b, k)) => (Some(b.as_str()), Some(k)),
        None => (None, None),
    };
    Ok(PollRow { id: p.id.to_string(), version: p.version, list_key, list_sort, bucket, key, doc: json(p)? })
}

fn write_poll(tx: &rusqlite::Transaction<'_>, expected: Option<u32>, p: &Poll) -> Result<(), StoreError> {
    let PollRow { id, version, list_key, list_sort, bucket, key, doc } = poll_row(p)?;
    match expected {
        None => {
            tx.execute(
                "INSERT INTO polls (id, version, list_key, list_sort, sched_bucket, sched_key, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, version, list_key, list_sort, bucket, key, doc],
            )
            .map_err(|e| if is_constraint(&e) { StoreError::Conflict } else { backend(e) })?;
        }
        Some(v) => {
            let n = tx
                .execute(
                    "UPDATE polls SET version = ?2, list_key = ?3, list_sort = ?4, sched_bucket = ?5, sched_key = ?6, doc = ?7
                     WHERE id = ?1 AND version = ?8",
                    params![id, version, list_key, list_sort, bucket, key, doc, v],
                )
                .map_err(backend)?;
            if n != 1 {
                return Err(StoreError::Conflict);
            }
        }
    }
    Ok(())
}

#[async_trait]
impl PollStore for SqliteStore {
    async fn create_poll(&self, poll: &Poll, outbox: &[OutboxItem]) -> Result<(), StoreError> {
        let (poll, jobs) = (poll.clone(), queued_jobs(outbox));
        self.db()
            .tx(move |tx| {
                write_poll(tx, None, &poll)?;
                enqueue_in(tx, &jobs)
            })
            .await
    }

    async fn get_poll(&self, id: &PollId) -> Result<Option<Poll>, StoreError> {
        let id = id.to_string();
        self.db().read(move |tx| one(tx, "SELECT doc FROM polls WHERE id = ?1", params![id])).await
    }

    async fn update_poll(&self, expected_version: u32, next: &Poll, outbox: &[OutboxItem]) -> Result<(), StoreError> {
        let (next, jobs) = (next.clone(), queued_jobs(outbox));
        self.db()
            .tx(move |tx| {
                write_poll(tx, Some(expected_version), &next)?;
                enqueue_in(tx, &jobs)
            })
            .await
    }

    async fn list_polls(
        &self,
        discussions: bool,
        status: PollStatus,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Poll>, StoreError> {
        let key = list_partition(discussions, status);
        let after = after.unwrap_or("").to_owned();
        self.db()
            .read(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM polls WHERE list_key = ?1 AND list_sort > ?2 ORDER BY list_sort LIMIT ?3",
                    params![key, after, limit as i64],
                )
            })
            .await
    }

    async fn due_polls(
        &self,
        bucket: PollStatus,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Poll>, StoreError> {
        let before = format!("{:013}", before.timestamp_millis().max(0));
        self.db()
            .read(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM polls WHERE sched_bucket = ?1 AND sched_key < ?2 ORDER BY sched_key LIMIT ?3",
                    params![bucket.as_str(), before, limit as i64],
                )
            })
            .await
    }

    async fn cast_ballot(&self, ballot: &BallotWrite) -> Result<(), BallotRefused> {
        let ballot = ballot.clone();
        let outcome = self
            .db()
            .tx(move |tx| {
                let pid = ballot.poll_id.to_string();
                let current: Option<Poll> = one(tx, "SELECT doc FROM polls WHERE id = ?1", params![pid])?;
                if !current.is_some_and(|p| p.accepts_at(ballot.now)) {
                    return Ok(Err(BallotRefused::NotOpen));
                }
                match tx.execute(
                    "INSERT INTO voter_roll (poll_id, voter_hash) VALUES (?1, ?2)",
                    params![pid, ballot.voter_hash],
                ) {
                    Ok(_) => {}
                    Err(e) if is_constraint(&e) => return Ok(Err(BallotRefused::AlreadyVoted)),
                    Err(e) => return Err(backend(e)),
                }
                tx.execute("INSERT INTO receipts (receipt, poll_id) VALUES (?1, ?2)", params![ballot.receipt, pid])
                    .map_err(backend)?;
                let mut bump = tx
                    .prepare_cached(
                        "INSERT INTO tallies (poll_id, question, option, count) VALUES (?1, ?2, ?3, 1)
                         ON CONFLICT (poll_id, question, option) DO UPDATE SET count = count + 1",
                    )
                    .map_err(backend)?;
                bump.execute(params![pid, -1i64, 0i64]).map_err(backend)?;
                match &ballot.content {
                    BallotContent::Counted { increments, texts } => {
                        for (q, options) in increments {
                            for o in options {
                                bump.execute(params![pid, *q as i64, *o as i64]).map_err(backend)?;
                            }
                        }
                        insert_texts(tx, &pid, texts)?;
                    }
                    BallotContent::Sealed(sealed) => {
                        tx.execute(
                            "INSERT INTO sealed_ballots (poll_id, id, sealed) VALUES (?1, ?2, ?3)",
                            params![pid, sealed.id, sealed.sealed],
                        )
                        .map_err(backend)?;
                    }
                }
                if let Some(m) = &ballot.municipality {
                    tx.execute(
                        "INSERT INTO turnout (poll_id, municipality, count) VALUES (?1, ?2, 1)
                         ON CONFLICT (poll_id, municipality) DO UPDATE SET count = count + 1",
                        params![pid, m.as_str()],
                    )
                    .map_err(backend)?;
                }
                Ok(Ok(()))
            })
            .await?;
        outcome
    }

    async fn has_voted(&self, poll: &PollId, voter_hash: &str) -> Result<bool, StoreError> {
        let (pid, hash) = (poll.to_string(), voter_hash.to_owned());
        self.db()
            .read(move |tx| {
                tx.query_row(
                    "SELECT 1 FROM voter_roll WHERE poll_id = ?1 AND voter_hash = ?2",
                    params![pid, hash],
                    |_| Ok(()),
                )
                .optional()
                .map(|r| r.is_some())
                .map_err(backend)
            })
            .await
    }

    async fn receipt_poll(&self, receipt: &str) -> Result<Option<PollId>, StoreError> {
        let receipt = receipt.to_owned();
        let poll: Option<String> = self
            .db()
            .read(move |tx| {
                tx.query_row("SELECT poll_id FROM receipts WHERE receipt = ?1", params![receipt], |r| r.get(0))
                    .optional()
                    .map_err(backend)
            })
            .await?;
        poll.map(|p| PollId::parse(&p).map_err(|e| StoreError::backend("reading a receipt", e))).transpose()
    }

    async fn sealed_page(&self, poll: &PollId, after: Option<&str>, limit: usize) -> Result<SealedPage, StoreError> {
        let (pid, after) = (poll.to_string(), after.unwrap_or("").to_owned());
        self.db()
            .read(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT id, sealed FROM sealed_ballots WHERE poll_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                    )
                    .map_err(backend)?;
                let ballots = stmt
                    .query_map(params![pid, after, limit as i64], |r| {
                        Ok(SealedBallot { id: r.get(0)?, sealed: r.get(1)? })
                    })
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(backend)?;
                let next = if ballots.len() < limit { None } else { ballots.last().map(|b| b.id.clone()) };
                Ok(SealedPage { ballots, next })
            })
            .await
    }

    async fn purge_sealed(&self, poll: &PollId, limit: usize) -> Result<usize, StoreError> {
        let pid = poll.to_string();
        let deleted = self
            .db()
            .tx(move |tx| {
                tx.execute(
                    "DELETE FROM sealed_ballots WHERE poll_id = ?1 AND id IN
                       (SELECT id FROM sealed_ballots WHERE poll_id = ?1 LIMIT ?2)",
                    params![pid, limit as i64],
                )
                .map_err(backend)
            })
            .await?;
        if deleted < limit {
            self.db().truncate_log().await?;
        }
        Ok(deleted)
    }

    async fn put_text_answers(&self, poll: &PollId, answers: &[TextAnswer]) -> Result<(), StoreError> {
        let (pid, answers) = (poll.to_string(), answers.to_vec());
        self.db().tx(move |tx| insert_texts(tx, &pid, &answers)).await
    }

    async fn text_answers(
        &self,
        poll: &PollId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TextAnswer>, StoreError> {
        let (pid, after) = (poll.to_string(), after.unwrap_or("").to_owned());
        self.db()
            .read(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT id, question, text FROM text_answers WHERE poll_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                    )
                    .map_err(backend)?;
                let rows = stmt
                    .query_map(params![pid, after, limit as i64], |r| {
                        Ok(TextAnswer { id: r.get(0)?, question: r.get::<_, i64>(1)? as usize, text: r.get(2)? })
                    })
                    .map_err(backend)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(backend)
            })
            .await
    }

    async fn tally(&self, poll: &PollId) -> Result<Tally, StoreError> {
        let pid = poll.to_string();
        self.db()
            .read(move |tx| {
                let mut tally = Tally::default();
                let mut stmt = tx
                    .prepare_cached("SELECT question, option, count FROM tallies WHERE poll_id = ?1")
                    .map_err(backend)?;
                let rows = stmt
                    .query_map(params![pid], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))
                    .map_err(backend)?;
                for row in rows {
                    let (q, o, n) = row.map_err(backend)?;
                    if q < 0 {
                        tally.total += n as u64;
                    } else {
                        *tally.counts.entry(q as usize).or_default().entry(o as usize).or_default() += n as u64;
                    }
                }
                let mut stmt =
                    tx.prepare_cached("SELECT municipality, count FROM turnout WHERE poll_id = ?1").map_err(backend)?;
                let rows = stmt
                    .query_map(params![pid], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                    .map_err(backend)?;
                for row in rows {
                    let (m, n) = row.map_err(backend)?;
                    tally.turnout.insert(m, n as u64);
                }
                Ok(tally)
            })
            .await
    }

    async fn freeze_results(
        &self,
        expected_version: u32,
        closed: &Poll,
        results: &Results,
        outbox: &[OutboxItem],
    ) -> Result<(), StoreError> {
        let (closed, doc, jobs) = (closed.clone(), json(results)?, queued_jobs(outbox));
        self.db()
            .tx(move |tx| {
                write_poll(tx, Some(expected_version), &closed)?;
                tx.execute("INSERT INTO results (poll_id, doc) VALUES (?1, ?2)", params![closed.id.to_string(), doc])
                    .map_err(|e| if is_constraint(&e) { StoreError::Conflict } else { backend(e) })?;
                enqueue_in(tx, &jobs)
            })
            .await
    }

    async fn get_results(&self, poll: &PollId) -> Result<Option<Results>, StoreError> {
        let pid = poll.to_string();
        self.db().read(move |tx| one(tx, "SELECT doc FROM results WHERE poll_id = ?1", params![pid])).await
    }
}

/// Keeps free-text answers; one whose id is kept already stays as it is.
fn insert_texts(tx: &rusqlite::Transaction<'_>, pid: &str, texts: &[TextAnswer]) -> Result<(), StoreError> {
    let mut insert = tx
        .prepare_cached("INSERT OR IGNORE INTO text_answers (poll_id, id, question, text) VALUES (?1, ?2, ?3, ?4)")
        .map_err(backend)?;
    for t in texts {
        insert.execute(params![pid, t.id, t.question as i64, t.text]).map_err(backend)?;
    }
    Ok(())
}

/// Databases written before receipts and ballot contents were kept apart had one `ballots` table,
/// each row a receipt with its answers in casting order: its receipts move to `receipts`, its
/// free-text answers to `text_answers` under random ids, and the table is dropped (its options are
/// counted in `tallies` already).
pub(crate) fn migrate(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ballots')",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    tx.execute("INSERT OR IGNORE INTO receipts (receipt, poll_id) SELECT receipt, poll_id FROM ballots", [])?;
    let rows: Vec<(String, String)> = {
        let mut stmt = tx.prepare("SELECT poll_id, doc FROM ballots")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    #[derive(serde::Deserialize)]
    struct Legacy {
        answers: Vec<BallotAnswer>,
    }
    for (pid, doc) in rows {
        let Ok(legacy) = serde_json::from_str::<Legacy>(&doc) else { continue };
        for a in legacy.answers {
            if let Some(text) = a.text {
                tx.execute(
                    "INSERT INTO text_answers (poll_id, id, question, text) VALUES (?1, ?2, ?3, ?4)",
                    params![pid, random_id(), a.question as i64, text],
                )?;
            }
        }
    }
    tx.execute_batch("DROP INDEX IF EXISTS ballots_by_poll; DROP TABLE ballots;")?;
    tx.commit()
}

struct CommentRow {
    id: String,
    discussion: String,
    author: String,
    version: u32,
    state: Option<&'static str>,
    doc: String,
}

fn comment_row(c: &Comment) -> Result<CommentRow, StoreError> {
    Ok(CommentRow {
        id: c.id.to_string(),
        discussion: c.discussion_id.to_string(),
        author: c.author.to_string(),
        version: c.version,
        state: c.moderation_state().map(ModerationState::as_str),
        doc: json(c)?,
    })
}

#[async_trait]
impl CommentStore for SqliteStore {
    async fn add_comment(&self, comment: &Comment, quota: &Quota) -> Result<(), StoreError> {
        let CommentRow { id, discussion, author, version, state, doc } = comment_row(comment)?;
        let quota = quota.clone();
        self.db()
            .tx(move |tx| {
                if !spend_quota(tx, &quota)? {
                    return Err(StoreError::OverQuota);
                }
                tx.execute(
                    "INSERT INTO comments (id, discussion_id, author, version, mod_state, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![id, discussion, author, version, state, doc],
                )
                .map_err(|e| if is_constraint(&e) { StoreError::Conflict } else { backend(e) })?;
                Ok(())
            })
            .await
    }

    async fn get_comment(&self, id: &CommentId) -> Result<Option<Comment>, StoreError> {
        let id = id.to_string();
        self.db().read(move |tx| one(tx, "SELECT doc FROM comments WHERE id = ?1", params![id])).await
    }

    async fn list_comments(
        &self,
        discussion: &PollId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Comment>, StoreError> {
        let (d, after) = (discussion.to_string(), after.unwrap_or("").to_owned());
        self.db()
            .read(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM comments WHERE discussion_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                    params![d, after, limit as i64],
                )
            })
            .await
    }

    async fn update_comment(
        &self,
        expected_version: u32,
        next: &Comment,
        flag: Option<(&Flag, &Quota)>,
    ) -> Result<(), StoreError> {
        let CommentRow { id, author, version, state, doc, .. } = comment_row(next)?;
        let flag =
            flag.map(|(f, q)| (f.flagger.to_string(), f.reason.as_ref().map(|r| r.as_str().to_owned()), q.clone()));
        self.db()
            .tx(move |tx| {
                if let Some((flagger, reason, quota)) = &flag {
                    tx.execute(
                        "INSERT INTO comment_flags (comment_id, flagger, reason) VALUES (?1, ?2, ?3)",
                        params![id, flagger, reason],
                    )
                    .map_err(|e| if is_constraint(&e) { StoreError::Conflict } else { backend(e) })?;
                    if !spend_quota(tx, quota)? {
                        return Err(StoreError::OverQuota);
                    }
                }
                let n = tx
                    .execute(
                        "UPDATE comments SET author = ?6, version = ?2, mod_state = ?3, doc = ?4 WHERE id = ?1 AND version = ?5",
                        params![id, version, state, doc, expected_version, author],
                    )
                    .map_err(backend)?;
                if n == 1 {
                    Ok(())
                } else {
                    Err(StoreError::Conflict)
                }
            })
            .await
    }

    async fn has_flagged(&self, comment: &CommentId, flagger: &CitizenId) -> Result<bool, StoreError> {
        let (c, f) = (comment.to_string(), flagger.to_string());
        self.db()
            .read(move |tx| {
                tx.query_row(
                    "SELECT 1 FROM comment_flags WHERE comment_id = ?1 AND flagger = ?2",
                    params![c, f],
                    |_| Ok(()),
                )
                .optional()
                .map(|r| r.is_some())
                .map_err(backend)
            })
            .await
    }

    async fn flags(&self, comment: &CommentId, limit: usize) -> Result<Vec<Flag>, StoreError> {
        let c = comment.to_string();
        let rows: Vec<(String, Option<String>)> = self
            .db()
            .read(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT flagger, reason FROM comment_flags WHERE comment_id = ?1 ORDER BY flagger LIMIT ?2",
                    )
                    .map_err(backend)?;
                let rows = stmt.query_map(params![c, limit as i64], |r| Ok((r.get(0)?, r.get(1)?))).map_err(backend)?;
                rows.collect::<Result<_, _>>().map_err(backend)
            })
            .await?;
        rows.into_iter()
            .map(|(flagger, reason)| {
                let flagger = CitizenId::parse(&flagger).map_err(|e| StoreError::Backend(e.into()))?;
                let reason = reason
                    .map(|r| FlagReason::parse(&r))
                    .transpose()
                    .map_err(|e| StoreError::Backend(anyhow::anyhow!(e)))?;
                Ok(Flag { flagger, reason })
            })
            .collect()
    }

    async fn moderation_queue(
        &self,
        state: ModerationState,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Comment>, StoreError> {
        let after = after.unwrap_or("").to_owned();
        self.db()
            .read(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM comments WHERE mod_state = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                    params![state.as_str(), after, limit as i64],
                )
            })
            .await
    }

    async fn comments_since(
        &self,
        author: &CitizenId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let (a, from) = (author.to_string(), CommentId::lower_bound(since).to_string());
        self.db()
            .read(move |tx| {
                let list: Vec<Comment> = docs(
                    tx,
                    "SELECT doc FROM comments WHERE author = ?1 AND id >= ?2 ORDER BY id LIMIT ?3",
                    params![a, from, limit as i64],
                )?;
                Ok(list.into_iter().map(|c| c.created_at).collect())
            })
            .await
    }
}
