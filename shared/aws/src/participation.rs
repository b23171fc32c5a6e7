use crate::dynamo::{doc, n, read_doc, s, DynamoStore, Item};
use crate::transact::{Cancellation, TransactError};
use crate::{backend, sdk_error};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, DeleteRequest, PutRequest, TransactWriteItem, Update, WriteRequest,
};
use chrono::{DateTime, Utc};
use feedback_core::ids::{CitizenId, CommentId, PollId};
use feedback_core::participation::{
    list_partition, BallotContent, BallotRefused, BallotWrite, Comment, CommentStore, Flag, ModerationState, Poll,
    PollStatus, PollStore, Results, SealedBallot, SealedPage, Tally, TextAnswer, TALLY_SHARDS,
};
use feedback_core::ports::{backoff, OutboxItem, Quota, StoreError};
use feedback_core::values::FlagReason;

fn poll_pk(id: &PollId) -> String {
    format!("POLL#{id}")
}

/// The partition of one tally shard: each shard is its own partition, so a popular poll's
/// counter writes spread over `TALLY_SHARDS` partitions.
fn tally_pk(id: &PollId, shard: u8) -> String {
    format!("POLL#{id}#T{shard}")
}

/// The partition of one voter-roll shard, chosen by the voter hash: the roll is looked up by
/// voter, and its entry says no more than the hash does. Nothing else is sharded by voter.
pub(crate) fn roll_pk(id: &PollId, voter_hash: &str) -> String {
    let shard = u8::from_str_radix(voter_hash.get(..2).unwrap_or("00"), 16).unwrap_or(0) % TALLY_SHARDS;
    format!("POLL#{id}#V{shard}")
}

/// The partition of one shard of a poll's sealed ballots, chosen by the ballot's random receipt.
fn sealed_pk(id: &PollId, shard: u8) -> String {
    format!("POLL#{id}#S{shard}")
}

/// The partition of a poll's free-text answers, sorted by their ids.
fn texts_pk(id: &PollId) -> String {
    format!("POLL#{id}#A")
}

fn text_item(poll: &PollId, t: &TextAnswer) -> Item {
    Item::from([
        ("PK".into(), s(texts_pk(poll))),
        ("SK".into(), s(format!("A#{}", t.id))),
        ("question".into(), n(t.question)),
        ("text".into(), s(t.text.clone())),
    ])
}

/// Reads a position of `sealed_page`: the shard, and the last sort key read in it.
fn sealed_position(after: Option<&str>) -> (u8, Option<String>) {
    let Some((shard, sk)) = after.and_then(|a| a.split_once(':')) else { return (0, None) };
    (shard.parse().unwrap_or(TALLY_SHARDS), Some(sk.to_owned()).filter(|k| !k.is_empty()))
}

fn poll_item(p: &Poll) -> Result<Item, StoreError> {
    let (list_pk, list_sk) = p.list_key();
    let mut item = Item::from([
        ("PK".into(), s(poll_pk(&p.id))),
        ("SK".into(), s("POLL")),
        ("status".into(), s(p.status.as_str())),
        ("version".into(), n(p.version)),
        ("opens_ms".into(), n(p.opens_at.timestamp_millis())),
        ("closes_ms".into(), n(p.closes_at.timestamp_millis())),
        ("GSI3PK".into(), s(list_pk)),
        ("GSI3SK".into(), s(list_sk)),
        ("doc".into(), doc(p)?),
    ]);
    if let Some((bucket, key)) = p.schedule_key() {
        item.insert("GSI2PK".into(), s(format!("SCHED#{}", bucket.as_str())));
        item.insert("GSI2SK".into(), s(key));
    }
    Ok(item)
}

/// A flag: one item per distinct flagger in the comment's partition, and in GSI1 under the
/// flagger (`FLAGGER#<sub>`, by comment id) so that a resident's flags are found by a Query.
pub(crate) fn flag_item(comment: &CommentId, f: &Flag) -> Item {
    let mut item = Item::from([
        ("PK".into(), s(format!("COMMENT#{comment}"))),
        ("SK".into(), s(format!("FLAG#{}", f.flagger))),
        ("GSI1PK".into(), s(format!("FLAGGER#{}", f.flagger))),
        ("GSI1SK".into(), s(comment.to_string())),
    ]);
    if let Some(reason) = &f.reason {
        item.insert("reason".into(), s(reason.as_str()));
    }
    item
}

pub(crate) fn comment_item(c: &Comment) -> Result<Item, StoreError> {
    let mut item = Item::from([
        ("PK".into(), s(format!("COMMENT#{}", c.id))),
        ("SK".into(), s("COMMENT")),
        ("version".into(), n(c.version)),
        ("GSI1PK".into(), s(format!("COMMENTS#{}", c.discussion_id))),
        ("GSI1SK".into(), s(c.id.to_string())),
        ("GSI5PK".into(), s(format!("COMMENTER#{}", c.author))),
        ("GSI5SK".into(), s(c.id.to_string())),
        ("doc".into(), doc(c)?),
    ]);
    if let Some(state) = c.moderation_state() {
        item.insert("GSI4PK".into(), s(format!("MOD#{}", state.as_str())));
        item.insert("GSI4SK".into(), s(c.id.to_string()));
    }
    Ok(item)
}

impl DynamoStore {
    fn add_update(&self, pk: String, sk: String, names: Vec<String>) -> Result<TransactWriteItem, StoreError> {
        let mut expr = Vec::new();
        let mut upd = Update::builder().table_name(self.table()).key("PK", s(pk)).key("SK", s(sk));
        for (i, name) in names.into_iter().enumerate() {
            expr.push(format!("#a{i} :one"));
            upd = upd.expression_attribute_names(format!("#a{i}"), name);
        }
        let upd = upd
            .update_expression(format!("ADD {}", expr.join(", ")))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(|e| backend("building Update", e))?;
        Ok(TransactWriteItem::builder().update(upd).build())
    }

    /// Up to `limit` items of partition `pk` with sort keys after `after`, read consistently
    /// (only the `projection` attributes when given), and the last key read when more may follow.
    async fn query_after(
        &self,
        pk: String,
        after: Option<&str>,
        limit: usize,
        projection: Option<&str>,
    ) -> Result<(Vec<Item>, Option<String>), StoreError> {
        let mut req = self
            .client()
            .query()
            .table_name(self.table())
            .consistent_read(true)
            .expression_attribute_values(":pk", s(pk))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_projection_expression(projection.map(str::to_owned));
        req = match after {
            Some(a) => req.key_condition_expression("PK = :pk AND SK > :a").expression_attribute_values(":a", s(a)),
            None => req.key_condition_expression("PK = :pk"),
        };
        let page = req.send().await.map_err(|e| sdk_error("Query", e))?;
        let last = page.last_evaluated_key.as_ref().and_then(|k| k.get("SK")).and_then(|v| v.as_s().ok()).cloned();
        Ok((page.items.unwrap_or_default(), last))
    }

    /// Writes requests in batches of 25, sending back what DynamoDB left unprocessed until none is.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                let out = self
                    .client()
                    .batch_write_item()
                    .request_items(self.table(), pending)
                    .send()
                    .await
                    .map_err(|e| sdk_error("BatchWriteItem", e))?;
                pending = out.unprocessed_items.and_then(|mut u| u.remove(self.table())).unwrap_or_default();
                if !pending.is_empty() {
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
            }
        }
        Ok(())
    }

    /// Writes a poll (new, or replacing `expected`), with the outbox items its change owes in
    /// the same transaction when there are any.
    async fn write_poll(&self, poll: &Poll, expected: Option<u32>, outbox: &[OutboxItem]) -> Result<(), StoreError> {
        if outbox.is_empty() {
            return self.put_item_versioned(poll_item(poll)?, expected).await;
        }
        let put = match expected {
            None => self.put(poll_item(poll)?, "attribute_not_exists(PK)", None)?,
            Some(v) => self.put(poll_item(poll)?, "version = :v", Some(Item::from([(":v".into(), n(v))])))?,
        };
        let mut items = vec![put];
        items.extend(self.outbox_puts(outbox)?);
        self.transact(items).await.map_err(|e| e.conflict_or("TransactWriteItems poll and outbox"))
    }

    async fn put_item_versioned(&self, item: Item, expected: Option<u32>) -> Result<(), StoreError> {
        let mut req = self.client().put_item().table_name(self.table()).set_item(Some(item));
        req = match expected {
            None => req.condition_expression("attribute_not_exists(PK)"),
            Some(v) => req.condition_expression("version = :v").expression_attribute_values(":v", n(v)),
        };
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                // A ballot transaction in flight on the same item refuses a plain write with
                // TransactionConflict: like a failed condition, the caller re-reads and retries.
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception() || s.is_transaction_conflict_exception())
                {
                    Err(StoreError::Conflict)
                } else {
                    Err(sdk_error("PutItem", e))
                }
            }
        }
    }
}

#[async_trait]
impl PollStore for DynamoStore {
    async fn create_poll(&self, poll: &Poll, outbox: &[OutboxItem]) -> Result<(), StoreError> {
        self.write_poll(poll, None, outbox).await
    }

    async fn get_poll(&self, id: &PollId) -> Result<Option<Poll>, StoreError> {
        self.get_doc(poll_pk(id), "POLL").await?.map(|i| read_doc(&i)).transpose()
    }

    async fn update_poll(&self, expected_version: u32, next: &Poll, outbox: &[OutboxItem]) -> Result<(), StoreError> {
        self.write_poll(next, Some(expected_version), outbox).await
    }

    async fn list_polls(
        &self,
        discussions: bool,
        status: PollStatus,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Poll>, StoreError> {
        self.query_gsi("GSI3", list_partition(discussions, status), after, None, limit, true)
            .await?
            .iter()
            .map(read_doc)
            .collect()
    }

    async fn due_polls(
        &self,
        bucket: PollStatus,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Poll>, StoreError> {
        let before = format!("{:013}", before.timestamp_millis().max(0));
        let pk = format!("SCHED#{}", bucket.as_str());
        self.query_gsi("GSI2", pk, None, Some(&before), limit, true).await?.iter().map(read_doc).collect()
    }

    async fn cast_ballot(&self, ballot: &BallotWrite) -> Result<(), BallotRefused> {
        let pk = poll_pk(&ballot.poll_id);
        let check = ConditionCheck::builder()
            .table_name(self.table())
            .key("PK", s(pk.clone()))
            .key("SK", s("POLL"))
            .condition_expression("#st IN (:scheduled, :open) AND opens_ms <= :now AND closes_ms > :now")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":scheduled", s(PollStatus::Scheduled.as_str()))
            .expression_attribute_values(":open", s(PollStatus::Open.as_str()))
            .expression_attribute_values(":now", n(ballot.now.timestamp_millis()))
            .build()
            .map_err(|e| backend("building ConditionCheck", e))?;
        let receipt = Item::from([
            ("PK".into(), s(format!("RECEIPT#{}", ballot.receipt))),
            ("SK".into(), s("RECEIPT")),
            ("poll".into(), s(ballot.poll_id.to_string())),
        ]);
        let roll = Item::from([
            ("PK".into(), s(roll_pk(&ballot.poll_id, &ballot.voter_hash))),
            ("SK".into(), s(format!("VOTER#{}", ballot.voter_hash))),
        ]);
        let tally = tally_pk(&ballot.poll_id, ballot.shard);
        // The items whose cancellation reasons say why a ballot is refused, by their index.
        const POLL_OPEN_AT: usize = 0;
        const VOTER_ROLL_AT: usize = 1;
        let mut items = vec![
            TransactWriteItem::builder().condition_check(check).build(),
            self.put(roll, "attribute_not_exists(PK)", None)?,
            self.put(receipt, "attribute_not_exists(PK)", None)?,
            self.add_update(tally.clone(), "TALLY#total".into(), vec!["n".into()])?,
        ];
        match &ballot.content {
            BallotContent::Counted { increments, texts } => {
                for (q, options) in increments {
                    let names = options.iter().map(|o| format!("o{o}")).collect();
                    items.push(self.add_update(tally.clone(), format!("TALLY#{q:02}"), names)?);
                }
                for t in texts {
                    items.push(self.put(text_item(&ballot.poll_id, t), "attribute_not_exists(PK)", None)?);
                }
            }
            BallotContent::Sealed(sealed) => {
                let item = Item::from([
                    ("PK".into(), s(sealed_pk(&ballot.poll_id, ballot.shard))),
                    ("SK".into(), s(format!("SEALED#{}", sealed.id))),
                    ("b".into(), AttributeValue::B(sealed.sealed.clone().into())),
                ]);
                items.push(self.put(item, "attribute_not_exists(PK)", None)?);
            }
        }
        if let Some(m) = &ballot.municipality {
            items.push(self.add_update(tally.clone(), "TURNOUT".into(), vec![format!("m:{m}")])?);
        }
        for attempt in 0..6 {
            let cancelled = match self.transact(items.clone()).await {
                Ok(()) => return Ok(()),
                Err(TransactError::Cancelled(c)) => c,
                Err(failed) => return Err(BallotRefused::Store(failed.into_error("TransactWriteItems ballot"))),
            };
            if *cancelled.at(POLL_OPEN_AT) == Cancellation::ConditionalCheckFailed {
                return Err(BallotRefused::NotOpen);
            }
            if *cancelled.at(VOTER_ROLL_AT) == Cancellation::ConditionalCheckFailed {
                return Err(BallotRefused::AlreadyVoted);
            }
            if cancelled.contains(&Cancellation::TransactionConflict) {
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            return Err(BallotRefused::Store(cancelled.into_error("TransactWriteItems ballot")));
        }
        Err(BallotRefused::Store(StoreError::Conflict))
    }

    async fn has_voted(&self, poll: &PollId, voter_hash: &str) -> Result<bool, StoreError> {
        Ok(self.get_doc(roll_pk(poll, voter_hash), &format!("VOTER#{voter_hash}")).await?.is_some())
    }

    async fn receipt_poll(&self, receipt: &str) -> Result<Option<PollId>, StoreError> {
        if let Some(item) = self.get_doc(format!("RECEIPT#{receipt}"), "RECEIPT").await? {
            let poll =
                item.get("poll").and_then(|v| v.as_s().ok()).ok_or_else(|| backend("reading a receipt", "no poll"))?;
            return PollId::parse(poll).map(Some).map_err(|e| backend("reading a receipt", e));
        }
        // A ballot cast before receipts were kept apart: its item holds the receipt's poll.
        #[derive(serde::Deserialize)]
        struct Legacy {
            poll_id: PollId,
        }
        let legacy = self.get_doc(format!("BALLOT#{receipt}"), "BALLOT").await?;
        Ok(legacy.map(|i| read_doc::<Legacy>(&i)).transpose()?.map(|l| l.poll_id))
    }

    async fn sealed_page(&self, poll: &PollId, after: Option<&str>, limit: usize) -> Result<SealedPage, StoreError> {
        let (shard, after_sk) = sealed_position(after);
        if shard >= TALLY_SHARDS {
            return Ok(SealedPage::default());
        }
        let (items, last) = self.query_after(sealed_pk(poll, shard), after_sk.as_deref(), limit, None).await?;
        let ballots = items
            .iter()
            .map(|i| {
                let id = i.get("SK").and_then(|v| v.as_s().ok()).and_then(|k| k.strip_prefix("SEALED#"));
                let sealed = i.get("b").and_then(|v| v.as_b().ok());
                match (id, sealed) {
                    (Some(id), Some(b)) => Ok(SealedBallot { id: id.to_owned(), sealed: b.as_ref().to_vec() }),
                    _ => Err(backend("reading a sealed ballot", "an item without its id or contents")),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next = match last {
            Some(sk) => Some(format!("{shard}:{sk}")),
            None if shard + 1 < TALLY_SHARDS => Some(format!("{}:", shard + 1)),
            None => None,
        };
        Ok(SealedPage { ballots, next })
    }

    async fn purge_sealed(&self, poll: &PollId, limit: usize) -> Result<usize, StoreError> {
        let mut deleted = 0;
        for shard in 0..TALLY_SHARDS {
            if deleted >= limit {
                break;
            }
            let (items, _) = self.query_after(sealed_pk(poll, shard), None, limit - deleted, Some("PK, SK")).await?;
            let requests = items
                .into_iter()
                .map(|key| {
                    DeleteRequest::builder()
                        .set_key(Some(key))
                        .build()
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                        .map_err(|e| backend("building DeleteRequest", e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            deleted += requests.len();
            self.batch_write(requests).await?;
        }
        Ok(deleted)
    }

    async fn put_text_answers(&self, poll: &PollId, answers: &[TextAnswer]) -> Result<(), StoreError> {
        let requests = answers
            .iter()
            .map(|t| {
                PutRequest::builder()
                    .set_item(Some(text_item(poll, t)))
                    .build()
                    .map(|p| WriteRequest::builder().put_request(p).build())
                    .map_err(|e| backend("building PutRequest", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(requests).await
    }

    async fn text_answers(
        &self,
        poll: &PollId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TextAnswer>, StoreError> {
        let after = after.map(|a| format!("A#{a}"));
        let (items, _) = self.query_after(texts_pk(poll), after.as_deref().or(Some("A#")), limit, None).await?;
        items
            .iter()
            .map(|i| {
                let id = i.get("SK").and_then(|v| v.as_s().ok()).and_then(|k| k.strip_prefix("A#"));
                let question = i.get("question").and_then(|v| v.as_n().ok()).and_then(|q| q.parse().ok());
                let text = i.get("text").and_then(|v| v.as_s().ok());
                match (id, question, text) {
                    (Some(id), Some(question), Some(text)) => {
                        Ok(TextAnswer { id: id.to_owned(), question, text: text.clone() })
                    }
                    _ => Err(backend("reading a text answer", "an item without its fields")),
                }
            })
            .collect()
    }

    async fn tally(&self, poll: &PollId) -> Result<Tally, StoreError> {
        let mut tally = Tally::default();
        for shard in 0..TALLY_SHARDS {
            let page = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(tally_pk(poll, shard)))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| sdk_error("Query tally", e))?;
            for item in page.items() {
                let sk = item.get("SK").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                for (name, value) in item {
                    let Some(count) = value.as_n().ok().and_then(|v| v.parse::<u64>().ok()) else { continue };
                    match (sk.as_str(), name.as_str()) {
                        ("TALLY#total", "n") => tally.total += count,
                        ("TURNOUT", m) if m.starts_with("m:") => {
                            *tally.turnout.entry(m[2..].to_owned()).or_default() += count;
                        }
                        (q, o) if q.starts_with("TALLY#") && o.starts_with('o') => {
                            if let (Ok(q), Ok(o)) = (q[6..].parse::<usize>(), o[1..].parse::<usize>()) {
                                *tally.counts.entry(q).or_default().entry(o).or_default() += count;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(tally)
    }

    async fn freeze_results(
        &self,
        expected_version: u32,
        closed: &Poll,
        results: &Results,
        outbox: &[OutboxItem],
    ) -> Result<(), StoreError> {
        let results_item = Item::from([
            ("PK".into(), s(poll_pk(&closed.id))),
            ("SK".into(), s("RESULTS")),
            ("doc".into(), doc(results)?),
        ]);
        let mut items = vec![
            self.put(poll_item(closed)?, "version = :v", Some(Item::from([(":v".into(), n(expected_version))])))?,
            self.put(results_item, "attribute_not_exists(PK)", None)?,
        ];
        items.extend(self.outbox_puts(outbox)?);
        self.transact(items).await.map_err(|e| e.conflict_or("TransactWriteItems freeze results"))
    }

    async fn get_results(&self, poll: &PollId) -> Result<Option<Results>, StoreError> {
        self.get_doc(poll_pk(poll), "RESULTS").await?.map(|i| read_doc(&i)).transpose()
    }
}

#[async_trait]
impl CommentStore for DynamoStore {
    async fn add_comment(&self, comment: &Comment, quota: &Quota) -> Result<(), StoreError> {
        if quota.max == 0 {
            return Err(StoreError::OverQuota);
        }
        const QUOTA_AT: usize = 1;
        let items = vec![self.put(comment_item(comment)?, "attribute_not_exists(PK)", None)?, self.quota_spend(quota)?];
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TransactError::Cancelled(c)) if *c.at(QUOTA_AT) == Cancellation::ConditionalCheckFailed => {
                Err(StoreError::OverQuota)
            }
            Err(e) => Err(e.conflict_or("TransactWriteItems add comment")),
        }
    }

    async fn get_comment(&self, id: &CommentId) -> Result<Option<Comment>, StoreError> {
        self.get_doc(format!("COMMENT#{id}"), "COMMENT").await?.map(|i| read_doc(&i)).transpose()
    }

    async fn list_comments(
        &self,
        discussion: &PollId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Comment>, StoreError> {
        self.query_gsi("GSI1", format!("COMMENTS#{discussion}"), after, None, limit, true)
            .await?
            .iter()
            .map(read_doc)
            .collect()
    }

    async fn update_comment(
        &self,
        expected_version: u32,
        next: &Comment,
        flag: Option<(&Flag, &Quota)>,
    ) -> Result<(), StoreError> {
        let mut items = vec![self.put(
            comment_item(next)?,
            "version = :v",
            Some(Item::from([(":v".into(), n(expected_version))])),
        )?];
        let mut quota_at = None;
        if let Some((f, quota)) = flag {
            if quota.max == 0 {
                return Err(StoreError::OverQuota);
            }
            items.push(self.put(flag_item(&next.id, f), "attribute_not_exists(PK)", None)?);
            quota_at = Some(items.len());
            items.push(self.quota_spend(quota)?);
        }
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TransactError::Cancelled(c))
                if quota_at.is_some_and(|at| *c.at(at) == Cancellation::ConditionalCheckFailed) =>
            {
                Err(StoreError::OverQuota)
            }
            Err(e) => Err(e.conflict_or("TransactWriteItems update comment")),
        }
    }

    async fn has_flagged(&self, comment: &CommentId, flagger: &CitizenId) -> Result<bool, StoreError> {
        Ok(self.get_doc(format!("COMMENT#{comment}"), &format!("FLAG#{flagger}")).await?.is_some())
    }

    async fn flags(&self, comment: &CommentId, limit: usize) -> Result<Vec<Flag>, StoreError> {
        let items = self.query_prefix(format!("COMMENT#{comment}"), "FLAG#", Some(limit)).await?;
        items
            .iter()
            .map(|item| {
                let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
                let flagger = text("SK")
                    .and_then(|sk| sk.strip_prefix("FLAG#"))
                    .and_then(|f| CitizenId::parse(f).ok())
                    .ok_or_else(|| backend("Query flags", "a flag without a valid flagger"))?;
                let reason =
                    text("reason").map(|r| FlagReason::parse(r)).transpose().map_err(|e| backend("Query flags", e))?;
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
        self.query_gsi("GSI4", format!("MOD#{}", state.as_str()), after, None, limit, true)
            .await?
            .iter()
            .map(read_doc)
            .collect()
    }

    async fn comments_since(
        &self,
        author: &CitizenId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let from = CommentId::lower_bound(since).to_string();
        let items = self.query_gsi("GSI5", format!("COMMENTER#{author}"), Some(&from), None, limit, true).await?;
        items.iter().map(|i| read_doc::<Comment>(i).map(|c| c.created_at)).collect()
    }
}
