//! Counting after commit. On DynamoDB a transition's transaction writes the message, its history
//! entry and its outbox, and no counter item: the history item carries `counted = stream`, and
//! this consumer reads the table's stream, turns each such entry into its increments (core's
//! `deltas`, the same the local host applies in its transaction), merges them and adds them.
//!
//! **Exactly once, at one write unit per counter item.** Each stream shard has a checkpoint item
//! (`PK = COUNTED`, `SK = SHARD#<shard id>`) holding the sequence number of the last record
//! applied. A run of records (every record after the checkpoint up to one, `last`) is applied
//! under a claim, the one item `PK = COUNTED`, `SK = RUN`, put on condition that none is there:
//! 1. the claim names the shard, the checkpoint the run starts after and `last`, and a lease;
//! 2. the checkpoint is read again: checkpoints move only under a claim, so if it is no longer
//!    where the run starts, another pass applied it and this one leaves;
//! 3. each merged counter item gets its increments in a plain `UpdateItem` that also sets the
//!    item's `run` to the run's id (`<shard>#<last>`), on condition that it is not that id
//!    already;
//! 4. the checkpoint moves to `last` (on condition that it is still where the run started), and
//!    the claim is deleted.
//!
//! A redelivered record lies at or before the checkpoint and is skipped. A pass that stops
//! anywhere leaves the claim: once its lease has run out, the next pass takes it over, reads the
//! same records again (the same increments) and adds them to the items that do not carry the
//! run's id yet; no other run can have written a counter item meanwhile, since none could
//! claim. A holder stops writing well before its lease runs out (`LEASE_MARGIN`; the function's
//! timeout is shorter than the lease), so a claim is never taken over while its holder still
//! writes. Of two racing passes, one claims and the other leaves. A split shard's children wait
//! until their parent is read to its end, so entries of one message are counted in order (they
//! never need to be, since increments commute, but a child read first would be re-read from its
//! start on the next pass, which the checkpoint allows).
//!
//! A counter item costs one write unit, not the two of a transaction; a run costs three more
//! (the claim, the checkpoint, the release) and a consistent read of the checkpoint.
//!
//! **Lag.** A pass reads every shard to its end. `count-events` runs passes every
//! `PASS_INTERVAL` within each scheduled minute, so an entry waits at most that interval plus a
//! pass; every pass reports the oldest entry it applied (`Metric::CountingLag`), and the
//! checkpoints keep the time up to which each shard is counted (`counted_as_of`, which every
//! analytics answer carries). A pass that stopped delays its shard's counting by the lease.

use crate::dynamo::{s, DynamoStore};
use crate::{backend, sdk_error};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodbstreams::types::{OperationType, Record, ShardIteratorType};
use chrono::{DateTime, Utc};
use feedback_core::analytics::{deltas, CounterKey, Counters};
use feedback_core::ports::StoreError;
use feedback_core::HistoryEntry;
use std::collections::HashMap;
use std::time::Duration;

/// The partition of the shards' checkpoints.
pub(crate) const COUNTED_PK: &str = "COUNTED";
/// The prefix of a checkpoint's sort key, before the shard id.
const SHARD_SK: &str = "SHARD#";
/// The history item attribute that hands its entry's counters to this consumer.
pub(crate) const COUNTED_ATTR: &str = "counted";
pub(crate) const COUNTED_BY_STREAM: &str = "stream";
/// The sort key of the claim item, under `COUNTED_PK`.
const RUN_SK: &str = "RUN";
/// Counter items per run: a bound on what one claim covers.
const COUNTERS_PER_RUN: usize = 500;
/// How long a claim holds before another pass may take it over: longer than `count-events` may
/// run (its timeout), so a Lambda that holds one has ended when it runs out.
pub const LEASE: Duration = Duration::from_secs(300);
/// A claim's holder writes no counter item later than this (or a fifth of a shorter lease) before
/// its lease runs out.
const LEASE_MARGIN: Duration = Duration::from_secs(60);
/// Stream records per `GetRecords` page.
const PAGE: i32 = 1000;
/// How long a checkpoint outlives its last write: the stream keeps records 24 hours.
const CHECKPOINT_TTL: Duration = Duration::from_secs(3 * 24 * 3600);

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pass {
    /// Shards read.
    pub shards: usize,
    /// Stream records read (every change of the table).
    pub records: u64,
    /// History entries counted.
    pub entries: u64,
    /// Runs applied, each under its own claim.
    pub runs: u64,
    /// Of them, runs another pass had left unfinished.
    pub recovered: u64,
    /// Counter-item updates written (after merging).
    pub counter_writes: u64,
    /// Counter-item updates refused because the run had already added to the item.
    pub already_added: u64,
    /// Records skipped as already applied (redelivered).
    pub skipped: u64,
    /// The longest an applied entry waited, from its commit to its counting.
    pub max_lag: Option<Duration>,
}

/// One shard's checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Checkpoint {
    seq: Option<String>,
    closed: bool,
    as_of: Option<DateTime<Utc>>,
}

/// A shard as the stream describes it.
#[derive(Debug, Clone)]
struct Shard {
    id: String,
    parent: Option<String>,
}

/// The consumer: the store it counts into and the stream of its table.
#[derive(Clone)]
pub struct CounterStream {
    store: DynamoStore,
    streams: aws_sdk_dynamodbstreams::Client,
    arn: std::sync::Arc<tokio::sync::OnceCell<String>>,
    /// Stop a pass after this many counter writes (tests of a crash).
    fail_after: Option<u64>,
    /// Counter items per run.
    max_counters: usize,
    /// How long this consumer's claims hold.
    lease: Duration,
}

impl CounterStream {
    pub fn new(store: &DynamoStore, conf: &aws_config::SdkConfig) -> CounterStream {
        CounterStream {
            store: store.clone(),
            streams: aws_sdk_dynamodbstreams::Client::new(conf),
            arn: Default::default(),
            fail_after: None,
            max_counters: COUNTERS_PER_RUN,
            lease: LEASE,
        }
    }

    /// The consumer reading the stream through `client` (an instrumented one, in tests).
    pub fn with_streams_client(self, client: aws_sdk_dynamodbstreams::Client) -> CounterStream {
        CounterStream { streams: client, ..self }
    }

    /// The consumer of the stream `arn`, which is then not looked up on the table.
    pub fn with_stream_arn(self, arn: String) -> CounterStream {
        CounterStream { arn: std::sync::Arc::new(tokio::sync::OnceCell::new_with(Some(arn))), ..self }
    }

    /// A consumer that adds at most `n` counter items per run (1..=500), so that a few entries
    /// already take several runs: for the tests of a pass that stops halfway.
    pub fn counters_per_run(mut self, n: usize) -> CounterStream {
        self.max_counters = n.clamp(1, COUNTERS_PER_RUN);
        self
    }

    /// A consumer whose claims hold for `lease`: for the tests of a pass that stopped while
    /// holding one.
    pub fn with_lease(mut self, lease: Duration) -> CounterStream {
        self.lease = lease;
        self
    }

    /// Applies records handed to it, as a pass applies a page of one shard: for tests that
    /// deliver records again.
    pub async fn apply_records(&self, shard: &str, records: &[Record], now: DateTime<Utc>) -> Result<Pass, StoreError> {
        let mut cp = self.checkpoints().await?.remove(shard).unwrap_or_default();
        let mut pass = Pass::default();
        self.apply(shard, &mut cp, records, now, &mut pass).await?;
        Ok(pass)
    }

    /// Every record of every shard, from its start, without counting anything: for tests.
    pub async fn read_all(&self) -> Result<Vec<(String, Vec<Record>)>, StoreError> {
        let arn = self.stream_arn().await?.clone();
        let mut out = Vec::new();
        for shard in self.shards().await? {
            let mut records = Vec::new();
            let mut iterator = self
                .streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(&shard.id)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .map_err(|e| sdk_error("GetShardIterator", e))?
                .shard_iterator;
            while let Some(it) = iterator.take() {
                let page = self.streams.get_records().shard_iterator(it).limit(PAGE).send().await;
                let page = page.map_err(|e| sdk_error("GetRecords", e))?;
                let got = page.records.unwrap_or_default();
                if got.is_empty() {
                    break;
                }
                records.extend(got);
                iterator = page.next_shard_iterator;
            }
            out.push((shard.id, records));
        }
        Ok(out)
    }

    /// A consumer whose passes stop after `n` counter writes, as a crash would, leaving its
    /// claim: for the tests of what the next pass does.
    pub fn failing_after(mut self, n: u64) -> CounterStream {
        self.fail_after = Some(n);
        self
    }

    async fn stream_arn(&self) -> Result<&String, StoreError> {
        self.arn
            .get_or_try_init(|| async {
                let table = self
                    .store
                    .client()
                    .describe_table()
                    .table_name(self.store.table())
                    .send()
                    .await
                    .map_err(|e| sdk_error("DescribeTable", e))?;
                table
                    .table
                    .and_then(|t| t.latest_stream_arn)
                    .ok_or_else(|| backend("DescribeTable", "the table has no stream"))
            })
            .await
    }

    async fn shards(&self) -> Result<Vec<Shard>, StoreError> {
        let arn = self.stream_arn().await?.clone();
        let mut out = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let page = self
                .streams
                .describe_stream()
                .stream_arn(&arn)
                .set_exclusive_start_shard_id(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("DescribeStream", e))?;
            let Some(desc) = page.stream_description else { return Ok(out) };
            let mut new = 0;
            for shard in desc.shards.unwrap_or_default() {
                if let Some(id) = shard.shard_id {
                    if !out.iter().any(|s: &Shard| s.id == id) {
                        out.push(Shard { id, parent: shard.parent_shard_id });
                        new += 1;
                    }
                }
            }
            // A page that names no new shard ends the listing, whatever it says comes next.
            match desc.last_evaluated_shard_id {
                Some(last) if new > 0 => start = Some(last),
                _ => return Ok(out),
            }
        }
    }

    async fn checkpoints(&self) -> Result<HashMap<String, Checkpoint>, StoreError> {
        let items = self.store.query_prefix(COUNTED_PK.to_owned(), SHARD_SK, None).await?;
        Ok(items
            .iter()
            .filter_map(|i| Some((i.get("SK")?.as_s().ok()?.strip_prefix(SHARD_SK)?.to_owned(), checkpoint_of(i))))
            .collect())
    }

    /// The time up to which every open shard is counted: the oldest of their checkpoints'.
    /// `None` before the first pass.
    pub(crate) async fn counted_as_of(store: &DynamoStore) -> Result<Option<DateTime<Utc>>, StoreError> {
        let items = store.query_prefix(COUNTED_PK.to_owned(), SHARD_SK, None).await?;
        Ok(items
            .iter()
            .filter(|i| !i.get("closed").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false))
            .filter_map(|i| i.get("as_of")?.as_s().ok().and_then(|t| DateTime::parse_from_rfc3339(t).ok()))
            .map(|t| t.with_timezone(&Utc))
            .min())
    }

    /// Reads every shard to its end and counts what it holds. `now` is the pass's start: a shard
    /// read to its end is counted as of then.
    pub async fn pass(&self, now: DateTime<Utc>) -> Result<Pass, StoreError> {
        let shards = self.shards().await?;
        let mut checkpoints = self.checkpoints().await?;
        let listed: std::collections::HashSet<&str> = shards.iter().map(|s| s.id.as_str()).collect();
        let mut pass = Pass::default();
        let mut done: std::collections::HashSet<String> = std::collections::HashSet::new();
        // Parents before children: repeat until no shard can move.
        loop {
            let mut moved = false;
            for shard in &shards {
                if done.contains(&shard.id) {
                    continue;
                }
                let cp = checkpoints.get(&shard.id).cloned().unwrap_or_default();
                if cp.closed {
                    done.insert(shard.id.clone());
                    continue;
                }
                let parent_pending = shard
                    .parent
                    .as_deref()
                    .is_some_and(|p| listed.contains(p) && !checkpoints.get(p).is_some_and(|c| c.closed));
                if parent_pending {
                    continue;
                }
                let closed = self.read_shard(&shard.id, cp, now, &mut pass).await?;
                if closed {
                    checkpoints.entry(shard.id.clone()).or_default().closed = true;
                }
                pass.shards += 1;
                done.insert(shard.id.clone());
                moved = true;
            }
            if !moved {
                return Ok(pass);
            }
        }
    }

    /// Reads one shard from its checkpoint to its end; whether the shard is closed and read.
    ///
    /// The consumer's own writes (the counters and the checkpoints) are changes of the table and
    /// reach the stream too. They count for nothing, so they never cause a write of their own:
    /// a run is committed only when it holds increments, and the shard's checkpoint is moved past
    /// what was only read once, when the pass reaches the shard's end. A pass therefore ends, and
    /// a quiet shard costs one checkpoint write per pass.
    async fn read_shard(
        &self,
        shard: &str,
        mut cp: Checkpoint,
        now: DateTime<Utc>,
        pass: &mut Pass,
    ) -> Result<bool, StoreError> {
        let arn = self.stream_arn().await?.clone();
        let request = self.streams.get_shard_iterator().stream_arn(&arn).shard_id(shard);
        let request = match &cp.seq {
            Some(seq) => request.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).sequence_number(seq),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let mut iterator = request.send().await.map_err(|e| sdk_error("GetShardIterator", e))?.shard_iterator;
        let mut seen: Option<String> = None;
        while let Some(it) = iterator.take() {
            let page = self
                .streams
                .get_records()
                .shard_iterator(it)
                .limit(PAGE)
                .send()
                .await
                .map_err(|e| sdk_error("GetRecords", e))?;
            let records = page.records.unwrap_or_default();
            pass.records += records.len() as u64;
            let at_end = records.is_empty();
            if !at_end {
                if let Some(last) = records.iter().rev().find_map(|r| r.dynamodb.as_ref()?.sequence_number.clone()) {
                    seen = Some(last);
                }
                match self.apply(shard, &mut cp, &records, now, pass).await? {
                    Applied::All => {}
                    Applied::Overtaken => return Ok(false),
                }
            }
            match (page.next_shard_iterator, at_end) {
                (None, _) => {
                    self.mark(shard, &mut cp, seen, now, true).await?;
                    return Ok(true);
                }
                (Some(_), true) => {
                    self.mark(shard, &mut cp, seen, now, false).await?;
                    return Ok(false);
                }
                (Some(next), false) => iterator = Some(next),
            }
        }
        Ok(false)
    }

    /// Applies one page of records, in runs of at most `max_counters` counter items.
    async fn apply(
        &self,
        shard: &str,
        cp: &mut Checkpoint,
        records: &[Record],
        now: DateTime<Utc>,
        pass: &mut Pass,
    ) -> Result<Applied, StoreError> {
        let mut run = Run::default();
        for record in records {
            let Some(seq) = record.dynamodb.as_ref().and_then(|d| d.sequence_number.clone()) else { continue };
            let latest = run.last.as_deref().or(cp.seq.as_deref());
            if latest.is_some_and(|last| !after(&seq, last)) {
                pass.skipped += 1;
                continue;
            }
            let counted = counted_entry(record)?;
            if let Some((entry, committed)) = &counted {
                let increments = derived(&deltas(entry));
                if run.would_exceed(&increments, self.max_counters) && !run.is_empty() {
                    if let Applied::Overtaken = self.commit(shard, cp, &mut run, now, pass).await? {
                        return Ok(Applied::Overtaken);
                    }
                }
                run.add(&increments, *committed, now);
                pass.entries += 1;
            }
            run.last = Some(seq);
        }
        if run.is_empty() {
            // Nothing to add: the checkpoint moves past these records when the shard is read.
            return Ok(Applied::All);
        }
        self.commit(shard, cp, &mut run, now, pass).await
    }

    /// Adds a run's increments and moves the shard's checkpoint past it, under a claim (see
    /// the module's documentation): claim, check the checkpoint, add each counter item once,
    /// move the checkpoint, release.
    async fn commit(
        &self,
        shard: &str,
        cp: &mut Checkpoint,
        run: &mut Run,
        now: DateTime<Utc>,
        pass: &mut Pass,
    ) -> Result<Applied, StoreError> {
        let Some(last) = run.last.clone() else { return Ok(Applied::All) };
        // Leases run on the clock, not on the pass's `now`, which a long pass leaves behind.
        let claim = Claim { shard: shard.to_owned(), prev: cp.seq.clone(), last, until: self.lease_end() };
        let started = std::time::Instant::now();
        if !self.claim(&claim, now, pass).await? {
            return Ok(Applied::Overtaken);
        }
        // Checkpoints move only under a claim: read now, it is what this run follows or not.
        if self.checkpoint(shard).await?.seq != claim.prev {
            self.release(&claim).await?;
            return Ok(Applied::Overtaken);
        }
        let as_of = run.oldest.map(|t| t.min(now)).unwrap_or(now);
        self.add_once(&claim, &run.counters, started, pass).await?;
        if !self.finish(&claim, as_of).await? {
            return Ok(Applied::Overtaken);
        }
        pass.runs += 1;
        if let Some(oldest) = run.oldest {
            let lag = (now - oldest).to_std().unwrap_or_default();
            pass.max_lag = Some(pass.max_lag.map_or(lag, |m| m.max(lag)));
        }
        cp.seq = Some(claim.last.clone());
        cp.as_of = Some(as_of);
        *run = Run::default();
        Ok(Applied::All)
    }

    /// Claims the run: puts the claim item, on condition that none is there. When another claim
    /// holds and its lease has run out, its run is finished first (`recover`). Whether this
    /// run may go on.
    async fn claim(&self, claim: &Claim, now: DateTime<Utc>, pass: &mut Pass) -> Result<bool, StoreError> {
        if self.store.put_if(claim.item(), Some("attribute_not_exists(PK)"), None, "PutItem counting claim").await? {
            return Ok(true);
        }
        let held = self
            .store
            .client()
            .get_item()
            .table_name(self.store.table())
            .key("PK", s(COUNTED_PK))
            .key("SK", s(RUN_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem counting claim", e))?;
        match held.item.as_ref().map(Claim::from_item).transpose()? {
            // Released meanwhile: the next pass claims again.
            None => Ok(false),
            Some(other) if other.until > Utc::now() => Ok(false),
            Some(other) => {
                self.recover(other, now, pass).await?;
                Ok(false)
            }
        }
    }

    /// Finishes the run of a claim whose holder stopped before releasing it: takes the claim
    /// over, reads the same records again (a run is every record after `prev` up to `last`, so
    /// it adds up to the same increments) and adds to every counter item the run had not
    /// reached; items it had reached carry its id and are left alone. No other run has written
    /// a counter item since, because none could claim.
    async fn recover(&self, held: Claim, now: DateTime<Utc>, pass: &mut Pass) -> Result<(), StoreError> {
        let mine = Claim { until: self.lease_end(), ..held.clone() };
        let sent = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .key("PK", s(COUNTED_PK))
            .key("SK", s(RUN_SK))
            .update_expression("SET #until = :until")
            .condition_expression("#until = :held")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":until", s(millis(mine.until)))
            .expression_attribute_values(":held", s(millis(held.until)))
            .send()
            .await;
        match sent {
            Ok(_) => {}
            // Another pass took it over first.
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => return Ok(()),
            Err(e) => return Err(sdk_error("UpdateItem counting claim", e)),
        }
        let started = std::time::Instant::now();
        let seq = self.checkpoint(&mine.shard).await?.seq;
        if seq.as_deref().is_some_and(|s| !after(&mine.last, s)) {
            // It had moved the checkpoint and stopped before releasing.
            return self.release(&mine).await;
        }
        let records = self.records_up_to(&mine.shard, mine.prev.as_deref(), &mine.last).await?;
        let mut run = Run::default();
        for record in &records {
            if let Some((entry, committed)) = counted_entry(record)? {
                run.add(&derived(&deltas(&entry)), committed, now);
            }
        }
        let as_of = run.oldest.map(|t| t.min(now)).unwrap_or(now);
        self.add_once(&mine, &run.counters, started, pass).await?;
        if self.finish(&mine, as_of).await? {
            pass.runs += 1;
            pass.recovered += 1;
        }
        Ok(())
    }

    /// The records of `shard` after `prev` (from its start when `None`) up to `last`.
    async fn records_up_to(&self, shard: &str, prev: Option<&str>, last: &str) -> Result<Vec<Record>, StoreError> {
        let arn = self.stream_arn().await?.clone();
        let request = self.streams.get_shard_iterator().stream_arn(&arn).shard_id(shard);
        let request = match prev {
            Some(seq) => request.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).sequence_number(seq),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let mut iterator = request.send().await.map_err(|e| sdk_error("GetShardIterator", e))?.shard_iterator;
        let mut out = Vec::new();
        while let Some(it) = iterator.take() {
            let page = self.streams.get_records().shard_iterator(it).limit(PAGE).send().await;
            let page = page.map_err(|e| sdk_error("GetRecords", e))?;
            let records = page.records.unwrap_or_default();
            if records.is_empty() {
                break;
            }
            for record in records {
                let Some(seq) = record.dynamodb.as_ref().and_then(|d| d.sequence_number.clone()) else { continue };
                if after(&seq, last) {
                    return Ok(out);
                }
                let reached = seq == last;
                out.push(record);
                if reached {
                    return Ok(out);
                }
            }
            iterator = page.next_shard_iterator;
        }
        Err(backend("recovering a counting run", "the stream no longer holds the run's records"))
    }

    /// Adds each counter item of a claimed run once, stopping before the claim's lease could run
    /// out (a claim that outlived its lease may be taken over).
    async fn add_once(
        &self,
        claim: &Claim,
        counters: &Counters,
        started: std::time::Instant,
        pass: &mut Pass,
    ) -> Result<(), StoreError> {
        let id = claim.id();
        let budget = self.lease.saturating_sub(LEASE_MARGIN.min(self.lease / 5));
        for (key, fields) in &counters.0 {
            if self.fail_after.is_some_and(|n| pass.counter_writes >= n) {
                return Err(backend("UpdateItem counter", "stopped by the test hook"));
            }
            if started.elapsed() > budget {
                return Err(backend("UpdateItem counter", "the counting claim's lease is running out"));
            }
            if self.store.add_counter_once(key, fields, &id).await? {
                pass.counter_writes += 1;
            } else {
                pass.already_added += 1;
            }
        }
        Ok(())
    }

    /// Moves the shard's checkpoint past the run and releases the claim. While the run was
    /// applied, another pass may have marked the shard read up to a record before this run's
    /// first entry (a mark moves a checkpoint only past records without entries, so never past
    /// `last`): the checkpoint is then followed from there. `false` when it was already at or
    /// past `last`.
    async fn finish(&self, claim: &Claim, as_of: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut expected = claim.prev.clone();
        let moved = loop {
            if self.move_checkpoint(&claim.shard, expected.as_deref(), &claim.last, as_of, None).await? {
                break true;
            }
            let seq = self.checkpoint(&claim.shard).await?.seq;
            match seq {
                Some(s) if !after(&claim.last, &s) => break false,
                moved_by_a_mark if moved_by_a_mark != expected => expected = moved_by_a_mark,
                _ => break false,
            }
        };
        self.release(claim).await?;
        Ok(moved)
    }

    /// Deletes the claim item, when it is still this claim.
    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        let sent = self
            .store
            .client()
            .delete_item()
            .table_name(self.store.table())
            .key("PK", s(COUNTED_PK))
            .key("SK", s(RUN_SK))
            .condition_expression("#id = :id")
            .expression_attribute_names("#id", "id")
            .expression_attribute_values(":id", s(claim.id()))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => Err(sdk_error("DeleteItem counting claim", e)),
        }
    }

    /// When a claim made now runs out.
    fn lease_end(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::from_std(self.lease).unwrap_or_default()
    }

    /// One shard's checkpoint, read consistently.
    async fn checkpoint(&self, shard: &str) -> Result<Checkpoint, StoreError> {
        let out = self
            .store
            .client()
            .get_item()
            .table_name(self.store.table())
            .key("PK", s(COUNTED_PK))
            .key("SK", s(format!("{SHARD_SK}{shard}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem checkpoint", e))?;
        Ok(out.item.as_ref().map(checkpoint_of).unwrap_or_default())
    }

    /// Marks a shard read to its end: counted up to `now`, its checkpoint past the last record
    /// `seen`, and closed when the stream closed it.
    async fn mark(
        &self,
        shard: &str,
        cp: &mut Checkpoint,
        seen: Option<String>,
        now: DateTime<Utc>,
        closed: bool,
    ) -> Result<(), StoreError> {
        let seq = match seen.as_deref().filter(|s| cp.seq.as_deref().is_none_or(|last| after(s, last))) {
            Some(s) => s.to_owned(),
            None => match &cp.seq {
                Some(last) => last.clone(),
                // A shard that held nothing yet: counted as of now, still read from its start.
                None if !closed => return self.mark_empty(shard, now).await,
                None => "0".to_owned(),
            },
        };
        // When another pass moved it meanwhile, it holds at least as much.
        if self.move_checkpoint(shard, cp.seq.as_deref(), &seq, now, closed.then_some(true)).await? {
            cp.seq = Some(seq);
            cp.as_of = Some(now);
            cp.closed = closed;
        }
        Ok(())
    }

    /// Records that a shard holding no record yet is counted as of `now`, leaving it without a
    /// sequence number (so the next pass still reads it from its start).
    async fn mark_empty(&self, shard: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let ttl = (now + chrono::Duration::from_std(CHECKPOINT_TTL).unwrap_or_default()).timestamp();
        let sent = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .key("PK", s(COUNTED_PK))
            .key("SK", s(format!("{SHARD_SK}{shard}")))
            .update_expression("SET as_of = :as_of, #ttl = :ttl")
            .condition_expression("attribute_not_exists(seq)")
            .expression_attribute_names("#ttl", crate::schema::TABLE.ttl_attribute)
            .expression_attribute_values(":as_of", s(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
            .expression_attribute_values(":ttl", AttributeValue::N(ttl.to_string()))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            // Another pass counted records there meanwhile: its checkpoint stands.
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => Err(sdk_error("UpdateItem checkpoint", e)),
        }
    }

    /// Moves a shard's checkpoint to `seq` on condition that it is still at `expected`. Whether
    /// it moved.
    async fn move_checkpoint(
        &self,
        shard: &str,
        expected: Option<&str>,
        seq: &str,
        as_of: DateTime<Utc>,
        closed: Option<bool>,
    ) -> Result<bool, StoreError> {
        let ttl = (as_of + chrono::Duration::from_std(CHECKPOINT_TTL).unwrap_or_default()).timestamp();
        let mut set = "seq = :seq, as_of = :as_of, #ttl = :ttl".to_owned();
        let mut values = HashMap::from([
            (":seq".to_owned(), s(seq)),
            (":as_of".to_owned(), s(as_of.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))),
            (":ttl".to_owned(), AttributeValue::N(ttl.to_string())),
        ]);
        if let Some(closed) = closed {
            set.push_str(", closed = :closed");
            values.insert(":closed".into(), AttributeValue::Bool(closed));
        }
        let condition = match expected {
            Some(prev) => {
                values.insert(":prev".into(), s(prev));
                "seq = :prev"
            }
            None => "attribute_not_exists(seq)",
        };
        let sent = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .key("PK", s(COUNTED_PK))
            .key("SK", s(format!("{SHARD_SK}{shard}")))
            .update_expression(format!("SET {set}"))
            .condition_expression(condition)
            .expression_attribute_names("#ttl", crate::schema::TABLE.ttl_attribute)
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk_error("UpdateItem checkpoint", e)),
        }
    }
}

/// The run being applied, as its claim item holds it (`PK = COUNTED`, `SK = RUN`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Claim {
    shard: String,
    /// The checkpoint the run starts after (`None`: the shard's start).
    prev: Option<String>,
    /// The sequence number of its last record.
    last: String,
    /// When the claim may be taken over.
    until: DateTime<Utc>,
}

impl Claim {
    /// The run's id, which the counter items it added to keep: unique, since a shard's sequence
    /// numbers are and a run ends at its own.
    fn id(&self) -> String {
        format!("{}#{}", self.shard, self.last)
    }

    fn item(&self) -> crate::dynamo::Item {
        let mut item = crate::dynamo::Item::from([
            ("PK".to_owned(), s(COUNTED_PK)),
            ("SK".to_owned(), s(RUN_SK)),
            ("id".to_owned(), s(self.id())),
            ("shard".to_owned(), s(&self.shard)),
            ("last".to_owned(), s(&self.last)),
            ("until".to_owned(), s(millis(self.until))),
        ]);
        if let Some(prev) = &self.prev {
            item.insert("prev".into(), s(prev));
        }
        item
    }

    fn from_item(item: &crate::dynamo::Item) -> Result<Claim, StoreError> {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let bad = || backend("reading the counting claim", "a field is missing");
        let until = text("until").and_then(|t| t.parse::<i64>().ok()).and_then(DateTime::from_timestamp_millis);
        Ok(Claim {
            shard: text("shard").ok_or_else(bad)?,
            prev: text("prev"),
            last: text("last").ok_or_else(bad)?,
            until: until.ok_or_else(bad)?,
        })
    }
}

/// Epoch milliseconds, zero-padded so that they compare as text.
fn millis(t: DateTime<Utc>) -> String {
    format!("{:015}", t.timestamp_millis().max(0))
}

fn checkpoint_of(i: &crate::dynamo::Item) -> Checkpoint {
    let seq = i.get("seq").and_then(|v| v.as_s().ok()).cloned();
    let closed = i.get("closed").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false);
    let as_of = i
        .get("as_of")
        .and_then(|v| v.as_s().ok())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    Checkpoint { seq, closed, as_of }
}

enum Applied {
    All,
    /// Another pass moved the checkpoint first: this one leaves the shard.
    Overtaken,
}

/// Records applied together: their merged increments, the oldest commit among them, the last
/// sequence number.
#[derive(Default)]
struct Run {
    counters: Counters,
    oldest: Option<DateTime<Utc>>,
    last: Option<String>,
}

impl Run {
    fn is_empty(&self) -> bool {
        self.counters.0.is_empty()
    }

    fn would_exceed(&self, increments: &Counters, max: usize) -> bool {
        let new = increments.0.keys().filter(|k| !self.counters.0.contains_key(*k)).count();
        self.counters.0.len() + new > max
    }

    fn add(&mut self, increments: &Counters, committed: Option<DateTime<Utc>>, now: DateTime<Utc>) {
        self.counters.merge(increments);
        let at = committed.unwrap_or(now);
        self.oldest = Some(self.oldest.map_or(at, |o| o.min(at)));
    }
}

/// Whether sequence number `a` comes after `b` in a shard: both are decimal strings.
fn after(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

/// The increments of a derived entry on their stored partitions. Unlike a transaction, which
/// spreads the region's series over shards so that concurrent transitions do not collide on
/// one item, the consumer is the series' only writer and merges a run's increments first: every
/// series goes to shard 0, which reads sum with the older shards.
fn derived(counters: &Counters) -> Counters {
    let mut out = Counters::default();
    for (key, fields) in &counters.0 {
        let stored = CounterKey { series: format!("{}#0", key.series), slot: key.slot.clone() };
        for (f, v) in fields {
            out.add(stored.clone(), f, *v);
        }
    }
    out
}

/// The history entry a record inserted, when its counters are this consumer's, and when the
/// record was committed.
type CountedEntry = (HistoryEntry, Option<DateTime<Utc>>);

fn counted_entry(record: &Record) -> Result<Option<CountedEntry>, StoreError> {
    if record.event_name != Some(OperationType::Insert) {
        return Ok(None);
    }
    let Some(change) = &record.dynamodb else { return Ok(None) };
    let Some(image) = &change.new_image else { return Ok(None) };
    let text = |name: &str| image.get(name).and_then(|v| v.as_s().ok());
    let is_entry = text("SK").is_some_and(|sk| sk.starts_with("HIST#"));
    if !is_entry || text(COUNTED_ATTR).map(String::as_str) != Some(COUNTED_BY_STREAM) {
        return Ok(None);
    }
    let doc = text("doc").ok_or_else(|| backend("reading a stream record", "no doc"))?;
    let entry: HistoryEntry =
        serde_json::from_str(doc).map_err(|e| backend("corrupt history entry in the stream", e))?;
    let committed = change.approximate_creation_date_time.and_then(|t| DateTime::from_timestamp(t.secs(), 0));
    Ok(Some((entry, committed)))
}

#[cfg(test)]
mod tests {
    use super::after;

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert!(after("100", "99"));
        assert!(after("000000000000000000002", "000000000000000000001"));
        assert!(!after("99", "99"));
        assert!(!after("98", "99"));
    }
}
