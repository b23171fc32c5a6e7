use crate::transact::{Cancellation, TransactError};
use crate::{backend, sdk_error};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    KeysAndAttributes, Projection, ProjectionType, Put, ReturnValue, ScalarAttributeType, StreamSpecification,
    StreamViewType, TimeToLiveSpecification, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use feedback_core::ids::{AuthorityId, CategoryId, CitizenId, MessageId, MessageNumber, PhotoId};
use feedback_core::message::{DueState, QueueOrder};
use feedback_core::notification::Notification;
use feedback_core::photo::{Photo, PhotoStore};
use feedback_core::ports::{
    notification_key, notification_time_key, CreateOutcome, IdempotencyRecord, MessageStore, MessageUpdate, NewRecord,
    NotificationStore, OutboxItem, Quota, ReadSelection, ReferenceStore, StoreError, SupportChange, Versioned,
    MARK_READ_MAX,
};
use feedback_core::values::IdempotencyKey;
use feedback_core::{HistoryEntry, Message, RegionData, Status};
use std::collections::HashMap;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// DynamoDB's limit on the items of one transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;

/// How long an idempotency record is kept (DynamoDB TTL).
const IDEMPOTENCY_TTL_SECS: i64 = 24 * 3600;

/// When DynamoDB may delete an idempotency record: its `expires_at` (the region's retention),
/// or a day after its creation for records written without one.
fn idempotency_expiry(r: &IdempotencyRecord) -> i64 {
    r.expires_at.map_or(r.created_at.timestamp() + IDEMPOTENCY_TTL_SECS, |at| at.timestamp())
}

#[async_trait]
impl feedback_core::ports::Expiry for DynamoStore {
    /// Idempotency records and notifications carry a TTL attribute from their `expires_at`.
    fn expires_by_itself(&self) -> bool {
        true
    }

    async fn prune_expired(
        &self,
        _idempotency_before: DateTime<Utc>,
        _notifications_before: DateTime<Utc>,
        _limit: usize,
    ) -> Result<feedback_core::ports::Pruned, StoreError> {
        Ok(feedback_core::ports::Pruned::default())
    }
}

/// The DynamoDB store: one table, keys `PK`/`SK`, indexes `GSI1` (author's messages by id) and
/// `GSI2` (sparse: messages still in `submitted`, by creation time). See `docs/data-model.md`.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    counting: Counting,
    before_counter_reads: Option<CatchUp>,
}

/// Where a transition's analytics counters are added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// After commit, by the stream consumer (`crate::CounterStream`): the transaction writes no
    /// counter item. The stack's design (`docs/analytics.md`).
    Stream,
    /// In the transition's own transaction, as the local host does: kept to measure the two
    /// designs side by side (`tests/tests/cost_dynamo.rs`).
    InTransaction,
}

/// What runs before every counter read: the consumer's pass, for tests and operator tools that
/// must see every committed entry counted.
pub type CatchUp = std::sync::Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send>> + Send + Sync,
>;

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into(), counting: Counting::Stream, before_counter_reads: None }
    }

    /// The store adding counters where `counting` says.
    pub fn with_counting(mut self, counting: Counting) -> Self {
        self.counting = counting;
        self
    }

    pub fn counting(&self) -> Counting {
        self.counting
    }

    /// The store running a pass of `stream` before every counter read, so that a read sees every
    /// entry committed before it. Tests and `feedback reconcile` only: a request path reads the
    /// counters as of the last pass, and says so (`counted_as_of`).
    pub fn catching_up(mut self, stream: crate::CounterStream) -> Self {
        let hook: CatchUp = std::sync::Arc::new(move || {
            let stream = stream.clone();
            Box::pin(async move { stream.pass(Utc::now()).await.map(|_| ()) })
        });
        self.before_counter_reads = Some(hook);
        self
    }

    pub(crate) async fn catch_up(&self) -> Result<(), StoreError> {
        match &self.before_counter_reads {
            Some(hook) => hook().await,
            None => Ok(()),
        }
    }

    /// The increments a transaction carries: none when the stream counts them.
    fn counted_in_transaction<'a>(
        &self,
        increments: impl IntoIterator<Item = (&'a MessageId, &'a feedback_core::analytics::Counters)>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        match self.counting {
            Counting::Stream => Ok(Vec::new()),
            Counting::InTransaction => self.counter_updates(&Self::counters_of(increments)),
        }
    }

    /// A history item, marked for the stream consumer when it counts.
    pub(crate) fn history_item_counted(&self, id: &MessageId, e: &HistoryEntry) -> Result<Item, StoreError> {
        let mut item = history_item(id, e)?;
        if self.counting == Counting::Stream {
            item.insert(crate::stream::COUNTED_ATTR.into(), s(crate::stream::COUNTED_BY_STREAM));
        }
        Ok(item)
    }

    /// Builds the client from the shared SDK configuration.
    pub fn from_conf(conf: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(conf), table)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The transaction item that adds `by` to the `count` of the item `pk`/`sk` (a count of a
    /// partition's items), on condition that it is under `max` when given.
    pub(crate) fn bounded_count(
        &self,
        pk: String,
        sk: &str,
        by: i32,
        max: Option<u32>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(self.table())
            .key("PK", s(pk))
            .key("SK", s(sk))
            .update_expression("ADD #count :by")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":by", n(by));
        if let Some(max) = max {
            update = update
                .condition_expression("attribute_not_exists(#count) OR #count < :max")
                .expression_attribute_values(":max", n(max));
        }
        let update = update.build().map_err(|e| backend("building Update", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    pub(crate) fn put(
        &self,
        item: Item,
        condition: &str,
        values: Option<Item>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .build()
            .map_err(|e| backend("building Put", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Puts `item` on `condition`, with one value bound when given; false when the condition
    /// failed.
    pub(crate) async fn put_if(
        &self,
        item: Item,
        condition: Option<&str>,
        value: Option<(&str, String)>,
        op: &'static str,
    ) -> Result<bool, StoreError> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values(value.map(|(name, v)| Item::from([(name.to_owned(), s(v))])))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk_error(op, e)),
        }
    }

    /// Messages of one partition of a GSI, ascending by sort key, with keys strictly between
    /// `after` and `before` when given.
    async fn query_index(
        &self,
        index: &str,
        pk: String,
        after: Option<&str>,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        self.query_gsi(index, pk, after, before, limit, true).await?.iter().map(read_doc).collect()
    }

    /// The messages whose table keys (`PK`, `SK`) `keys` hold, in that order, with
    /// `BatchGetItem`; keys of messages no longer there are skipped.
    async fn messages_of(&self, keys: &[Item]) -> Result<Vec<Message>, StoreError> {
        let mut found: HashMap<String, Message> = HashMap::new();
        for chunk in keys.chunks(100) {
            let mut pending: Vec<Item> = chunk
                .iter()
                .filter_map(|k| {
                    Some(Item::from([("PK".into(), k.get("PK")?.clone()), ("SK".into(), k.get("SK")?.clone())]))
                })
                .collect();
            for _attempt in 0..8 {
                if pending.is_empty() {
                    break;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .build()
                    .map_err(|e| backend("BatchGetItem", e))?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| sdk_error("BatchGetItem", e))?;
                for item in out.responses.unwrap_or_default().remove(&self.table).unwrap_or_default() {
                    let pk = item.get("PK").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                    found.insert(pk, read_doc(&item)?);
                }
                pending =
                    out.unprocessed_keys.unwrap_or_default().remove(&self.table).map(|k| k.keys).unwrap_or_default();
                if !pending.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
            if !pending.is_empty() {
                return Err(StoreError::unavailable("BatchGetItem", "keys left unprocessed"));
            }
        }
        Ok(keys
            .iter()
            .filter_map(|k| k.get("PK").and_then(|v| v.as_s().ok()))
            .filter_map(|pk| found.remove(pk))
            .collect())
    }

    /// Items of one partition of a GSI, by sort key (descending unless `forward`), with keys
    /// strictly between `after` and `before` when given.
    pub(crate) async fn query_gsi(
        &self,
        index: &str,
        pk: String,
        after: Option<&str>,
        before: Option<&str>,
        limit: usize,
        forward: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let (pk_name, sk_name) = match crate::schema::TABLE.indexes.iter().find(|i| i.name == index) {
            Some(i) => (i.partition_key.to_owned(), i.sort_key.to_owned()),
            None => (format!("{index}PK"), format!("{index}SK")),
        };
        let mut condition = "#pk = :pk".to_owned();
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .scan_index_forward(forward)
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_values(":pk", s(pk));
        match (after, before) {
            (Some(a), Some(b)) => {
                condition.push_str(" AND #sk BETWEEN :a AND :b");
                req = req.expression_attribute_values(":a", s(a)).expression_attribute_values(":b", s(b));
            }
            (Some(a), None) => {
                condition.push_str(" AND #sk > :a");
                req = req.expression_attribute_values(":a", s(a));
            }
            (None, Some(b)) => {
                condition.push_str(" AND #sk < :b");
                req = req.expression_attribute_values(":b", s(b));
            }
            (None, None) => {}
        }
        if after.is_some() || before.is_some() {
            req = req.expression_attribute_names("#sk", sk_name.clone());
        }
        let mut out: Vec<Item> = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = req
                .clone()
                .key_condition_expression(&condition)
                .limit((limit + 1).saturating_sub(out.len()).max(1) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Query index", e))?;
            out.extend(page.items().iter().cloned());
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() && out.len() <= limit => start = Some(k),
                _ => break,
            }
        }
        // BETWEEN is inclusive at both ends: keep the bounds strict.
        if let (Some(a), Some(b)) = (after, before) {
            out.retain(|i| {
                i.get(&sk_name).and_then(|v| v.as_s().ok()).is_some_and(|k| k.as_str() > a && k.as_str() < b)
            });
        }
        out.truncate(limit);
        Ok(out)
    }

    /// The items of partition `pk` whose sort keys start with `prefix`, ascending, read
    /// consistently; at most `limit` when given.
    pub(crate) async fn query_prefix(
        &self,
        pk: String,
        prefix: &str,
        limit: Option<usize>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out: Vec<Item> = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let remaining = limit.map(|l| l.saturating_sub(out.len()).clamp(1, i32::MAX as usize) as i32);
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_limit(remaining)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            out.extend(page.items().iter().cloned());
            let full = limit.is_some_and(|l| out.len() >= l);
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() && !full => start = Some(k),
                _ => break,
            }
        }
        if let Some(l) = limit {
            out.truncate(l);
        }
        Ok(out)
    }

    pub(crate) async fn get_doc(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        Ok(out.item)
    }
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
pub(crate) fn doc<T: serde::Serialize>(v: &T) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(v).map(AttributeValue::S).map_err(|e| backend("serialising", e))
}
pub(crate) fn read_doc<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let raw = item.get("doc").and_then(|v| v.as_s().ok()).ok_or_else(|| backend("reading item", "no doc"))?;
    serde_json::from_str(raw).map_err(|e| backend("corrupt stored document", e))
}

fn msg_pk(id: &MessageId) -> String {
    format!("MSG#{id}")
}
fn author_pk(author: &CitizenId) -> String {
    format!("AUTHOR#{author}")
}
pub(crate) fn idem_pk(citizen: &CitizenId, key: &IdempotencyKey) -> String {
    format!("IDEM#{citizen}#{}", key.as_str())
}
fn submitted_sk(created_ms: i64, id: &MessageId) -> String {
    format!("{created_ms:013}#{id}")
}

fn queue_pk(authority: &AuthorityId, bucket: &str) -> String {
    format!("AUTH#{authority}#{bucket}")
}
fn geo_pk(category: &CategoryId, cell: &str) -> String {
    format!("GEO#{category}#{cell}")
}
pub(crate) fn citizen_pk(citizen: &CitizenId) -> String {
    format!("CITIZEN#{citizen}")
}

/// The region's message-number counter: `last` is the highest number reserved.
const NUMBER_SEQUENCE_PK: &str = "SEQ#message-number";
const NUMBER_SK: &str = "NUMBER";

/// The look-up item of a message number.
pub(crate) fn number_pk(number: &MessageNumber) -> String {
    format!("NUMBER#{number}")
}

pub(crate) fn message_item(m: &Message) -> Result<Item, StoreError> {
    let mut item = Item::from([
        ("PK".into(), s(msg_pk(&m.id))),
        ("SK".into(), s("MSG")),
        ("status".into(), s(m.status.as_str())),
        ("version".into(), n(m.version)),
        ("GSI1PK".into(), s(author_pk(&m.author))),
        ("GSI1SK".into(), s(m.id.to_string())),
        ("created_ms".into(), n(m.created_at.timestamp_millis())),
        ("doc".into(), doc(m)?),
    ]);
    if m.status == Status::Submitted {
        item.insert("GSI2PK".into(), s("SUBMITTED"));
        item.insert("GSI2SK".into(), s(submitted_sk(m.created_at.timestamp_millis(), &m.id)));
    }
    if let Some(key) = m.retention_key() {
        item.insert("GSI2PK".into(), s(CLOSED_PK));
        item.insert("GSI2SK".into(), s(key));
    }
    if let (Some(authority), Some(bucket)) = (&m.authority_id, m.queue_bucket()) {
        item.insert("GSI3PK".into(), s(queue_pk(authority, bucket)));
        item.insert("GSI3SK".into(), s(m.deadline_key()));
    }
    if let Some(state) = m.due_state() {
        item.insert("GSI4PK".into(), s(state.as_str()));
        item.insert("GSI4SK".into(), s(m.deadline_key()));
        if state == DueState::Overdue {
            item.insert("GSI2PK".into(), s(OVERDUE_PK));
            item.insert("GSI2SK".into(), s(m.id.to_string()));
        }
    }
    if let Some(cell) = m.geo_cell() {
        item.insert("GSI5PK".into(), s(geo_pk(&m.category_id, &cell)));
        item.insert("GSI5SK".into(), s(m.id.to_string()));
    }
    if m.public {
        item.insert("GSI6PK".into(), s(crate::open311::PUBLIC_PK));
        item.insert("GSI6SK".into(), s(m.id.to_string()));
    }
    Ok(item)
}

/// The GSI2 partition of closed messages still linked to their author, by closing time.
pub(crate) const CLOSED_PK: &str = "CLOSED";

/// The GSI2 partition of overdue messages awaiting an answer, by id, so by creation.
const OVERDUE_PK: &str = "OVERDUE";

/// The GSI1 partition of a citizen's idempotency records, by key.
pub(crate) fn idempotency_index_pk(citizen: &CitizenId) -> String {
    format!("IDEMS#{citizen}")
}

/// The partition of the messages a resident supports, in GSI1.
pub(crate) fn supporter_pk(citizen: &CitizenId) -> String {
    format!("SUPPORTER#{citizen}")
}

fn support_sk(citizen: &CitizenId) -> String {
    format!("SUPPORTER#{citizen}")
}

/// A resident's support of a message: an item in the message's partition, indexed in GSI1 by
/// the resident (`SUPPORTER#<citizen>`, the message id), so the resident's supports are found
/// with a Query.
fn support_item(id: &MessageId, citizen: &CitizenId) -> Item {
    Item::from([
        ("PK".into(), s(msg_pk(id))),
        ("SK".into(), s(support_sk(citizen))),
        ("GSI1PK".into(), s(supporter_pk(citizen))),
        ("GSI1SK".into(), s(id.to_string())),
    ])
}

pub(crate) fn history_item(id: &MessageId, e: &HistoryEntry) -> Result<Item, StoreError> {
    Ok(Item::from([
        ("PK".into(), s(msg_pk(id))),
        ("SK".into(), s(format!("HIST#{:06}", e.seq))),
        ("doc".into(), doc(e)?),
    ]))
}

#[async_trait]
impl MessageStore for DynamoStore {
    async fn create_message(
        &self,
        record: &NewRecord,
        idempotency: Option<&IdempotencyRecord>,
        outbox: &[OutboxItem],
        quota: Option<&Quota>,
    ) -> Result<CreateOutcome, StoreError> {
        let (message, entry) = (&record.message, &record.entry);
        let not_exists = "attribute_not_exists(PK)";
        let mut items = vec![
            self.put(message_item(message)?, not_exists, None)?,
            self.put(self.history_item_counted(&message.id, entry)?, not_exists, None)?,
        ];
        if let Some(number) = &message.number {
            let item = Item::from([
                ("PK".into(), s(number_pk(number))),
                ("SK".into(), s(NUMBER_SK)),
                ("message_id".into(), s(message.id.to_string())),
            ]);
            items.push(self.put(item, not_exists, None)?);
        }
        // Where the items whose cancellation reasons decide the outcome sit in the transaction.
        let mut idempotency_at = None;
        if let Some(r) = idempotency {
            let item = Item::from([
                ("PK".into(), s(idem_pk(&r.citizen, &r.key))),
                ("SK".into(), s("IDEM")),
                ("GSI1PK".into(), s(idempotency_index_pk(&r.citizen))),
                ("GSI1SK".into(), s(r.key.as_str())),
                ("doc".into(), doc(r)?),
                (crate::schema::TABLE.ttl_attribute.into(), n(idempotency_expiry(r))),
            ]);
            idempotency_at = Some(items.len());
            items.push(self.put(item, not_exists, None)?);
        }
        let mut quota_at = None;
        if let Some(q) = quota {
            if q.max == 0 {
                return Ok(CreateOutcome::OverQuota);
            }
            quota_at = Some(items.len());
            items.push(self.quota_spend(q)?);
        }
        items.extend(self.outbox_puts(outbox)?);
        items.extend(self.counted_in_transaction([(&message.id, &record.counters)])?);
        let cancelled = match self.transact(items).await {
            Ok(()) => return Ok(CreateOutcome::Created),
            Err(TransactError::Cancelled(c)) => c,
            Err(failed) => return Err(failed.into_error("TransactWriteItems create message")),
        };
        // The key was taken (or is being taken by a concurrent request): answer with its record.
        if let (Some(r), Some(at)) = (idempotency, idempotency_at) {
            if *cancelled.at(at) != Cancellation::None {
                return match self.get_idempotency(&r.citizen, &r.key).await? {
                    Some(existing) => Ok(CreateOutcome::KeyExists(Box::new(existing))),
                    None => Err(StoreError::Conflict),
                };
            }
        }
        if quota_at.is_some_and(|at| *cancelled.at(at) == Cancellation::ConditionalCheckFailed) {
            return Ok(CreateOutcome::OverQuota);
        }
        Err(TransactError::Cancelled(cancelled).conflict_or("TransactWriteItems create message"))
    }

    async fn get_idempotency(
        &self,
        citizen: &CitizenId,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.get_doc(idem_pk(citizen, key), "IDEM").await?.map(|i| read_doc(&i)).transpose()
    }

    async fn get_message(&self, id: &MessageId) -> Result<Option<Message>, StoreError> {
        self.get_doc(msg_pk(id), "MSG").await?.map(|i| read_doc(&i)).transpose()
    }

    async fn get_history(&self, id: &MessageId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.query_prefix(msg_pk(id), "HIST#", None).await?.iter().map(read_doc).collect()
    }

    async fn update_messages(&self, updates: &[MessageUpdate], outbox: &[OutboxItem]) -> Result<(), StoreError> {
        let mut items = Vec::with_capacity(updates.len() * 2);
        for u in updates {
            items.push(self.put(
                message_item(&u.next)?,
                "version = :expected",
                Some(Item::from([(":expected".into(), n(u.expected_version))])),
            )?);
            items.push(self.put(self.history_item_counted(&u.next.id, &u.entry)?, "attribute_not_exists(PK)", None)?);
            match &u.support {
                Some(SupportChange::Added(citizen)) => {
                    items.push(self.put(support_item(&u.next.id, citizen), "attribute_not_exists(PK)", None)?);
                }
                Some(SupportChange::Withdrawn(citizen)) => {
                    items.push(self.delete(msg_pk(&u.next.id), support_sk(citizen), None)?);
                }
                None => {}
            }
        }
        items.extend(self.outbox_puts(outbox)?);
        items.extend(self.counted_in_transaction(updates.iter().map(|u| (&u.next.id, &u.counters)))?);
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(backend("TransactWriteItems", format!("{} items exceed the limit", items.len())));
        }
        self.transact(items).await.map_err(|e| e.conflict_or("TransactWriteItems update messages"))
    }

    async fn authority_queue(
        &self,
        authority: &AuthorityId,
        bucket: &str,
        order: QueueOrder,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let pk = queue_pk(authority, bucket);
        if order == QueueOrder::Deadline {
            return self.query_index("GSI3", pk, after, None, limit).await;
        }
        // GSI7 is the queue's partition (`GSI3PK`) by id (`GSI1SK`), so by creation. It holds only
        // keys: the messages are read from the table, in the index's order.
        let (after, before) = if order.descending() { (None, after) } else { (after, None) };
        let keys = self.query_gsi("GSI7", pk.clone(), after, before, limit, !order.descending()).await?;
        let messages = self.messages_of(&keys).await?;
        // The index is eventually consistent: a message that left the bucket is listed in its new one.
        Ok(messages
            .into_iter()
            .filter(|m| m.authority_id.as_ref().zip(m.queue_bucket()).is_some_and(|(a, b)| queue_pk(a, b) == pk))
            .collect())
    }

    async fn overdue_messages(
        &self,
        order: QueueOrder,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        if order == QueueOrder::Deadline {
            return self.query_index("GSI4", DueState::Overdue.as_str().to_owned(), after, None, limit).await;
        }
        let (after, before) = if order.descending() { (None, after) } else { (after, None) };
        let items = self.query_gsi("GSI2", OVERDUE_PK.to_owned(), after, before, limit, !order.descending()).await?;
        items.iter().map(read_doc).collect()
    }

    async fn due_messages(
        &self,
        state: DueState,
        after: Option<&str>,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        self.query_index("GSI4", state.as_str().to_owned(), after, before, limit).await
    }

    async fn open_in_cells(
        &self,
        category: &CategoryId,
        cells: &[String],
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let mut out = Vec::new();
        for cell in cells {
            out.extend(self.query_index("GSI5", geo_pk(category, cell), None, None, limit).await?);
        }
        Ok(out)
    }

    async fn list_by_author(
        &self,
        author: &CitizenId,
        before: Option<&MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let before = before.map(|b| b.to_string()).unwrap_or_else(|| "~".into());
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pk AND GSI1SK < :before")
            .expression_attribute_values(":pk", s(author_pk(author)))
            .expression_attribute_values(":before", s(before))
            .scan_index_forward(false)
            .limit(limit as i32)
            .send()
            .await
            .map_err(|e| sdk_error("Query GSI1", e))?;
        out.items().iter().map(read_doc).collect()
    }

    async fn author_submissions_since(
        &self,
        author: &CitizenId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pk AND GSI1SK >= :from")
            .expression_attribute_values(":pk", s(author_pk(author)))
            .expression_attribute_values(":from", s(MessageId::lower_bound(since).to_string()))
            .projection_expression("created_ms")
            .limit(limit as i32)
            .send()
            .await
            .map_err(|e| sdk_error("Query GSI1", e))?;
        out.items()
            .iter()
            .map(|i| {
                i.get("created_ms")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<i64>().ok())
                    .and_then(DateTime::from_timestamp_millis)
                    .ok_or_else(|| backend("reading created_ms", "missing"))
            })
            .collect()
    }

    async fn awaiting_moderation(&self, after: Option<&str>, limit: usize) -> Result<Vec<Message>, StoreError> {
        self.query_index("GSI2", "SUBMITTED".to_owned(), after, None, limit).await
    }

    async fn list_submitted_before(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<MessageId>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI2")
            .key_condition_expression("GSI2PK = :pk AND GSI2SK < :before")
            .expression_attribute_values(":pk", s("SUBMITTED"))
            .expression_attribute_values(":before", s(format!("{:013}", before.timestamp_millis())))
            .limit(limit as i32)
            .send()
            .await
            .map_err(|e| sdk_error("Query GSI2", e))?;
        out.items()
            .iter()
            .map(|i| {
                let pk = i.get("PK").and_then(|v| v.as_s().ok()).ok_or_else(|| backend("reading PK", "missing"))?;
                MessageId::parse(pk.trim_start_matches("MSG#")).map_err(|e| backend("reading PK", e))
            })
            .collect()
    }

    async fn reserve_numbers(&self, count: u32) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(NUMBER_SEQUENCE_PK))
            .key("SK", s(NUMBER_SEQUENCE_PK))
            .update_expression("ADD #last :count")
            .expression_attribute_names("#last", "last")
            .expression_attribute_values(":count", n(count))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem number sequence", e))?;
        let last = out
            .attributes()
            .and_then(|a| a.get("last"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| backend("reading the number sequence", "missing"))?;
        Ok(last + 1 - u64::from(count))
    }

    async fn message_by_number(&self, number: &MessageNumber) -> Result<Option<MessageId>, StoreError> {
        let Some(item) = self.get_doc(number_pk(number), NUMBER_SK).await? else {
            return Ok(None);
        };
        let id =
            item.get("message_id").and_then(|v| v.as_s().ok()).ok_or_else(|| backend("reading a number", "missing"))?;
        MessageId::parse(id).map(Some).map_err(|e| backend("reading a number", e))
    }
}

#[async_trait]
impl ReferenceStore for DynamoStore {
    async fn load_region(&self) -> Result<Option<Versioned<RegionData>>, StoreError> {
        let Some(item) = self.get_doc("REGION".into(), "REFERENCE").await? else {
            return Ok(None);
        };
        let version = item
            .get("version")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| backend("reading version", "missing"))?;
        Ok(Some(Versioned { version, value: read_doc(&item)? }))
    }

    async fn save_region(&self, data: &RegionData, expected: Option<u64>) -> Result<u64, StoreError> {
        let next = expected.map_or(1, |v| v + 1);
        let item = Item::from([
            ("PK".into(), s("REGION")),
            ("SK".into(), s("REFERENCE")),
            ("version".into(), n(next)),
            ("doc".into(), doc(data)?),
        ]);
        let mut req = self.client.put_item().table_name(&self.table).set_item(Some(item));
        req = match expected {
            None => req.condition_expression("attribute_not_exists(PK)"),
            Some(v) => req.condition_expression("version = :v").expression_attribute_values(":v", n(v)),
        };
        match req.send().await {
            Ok(_) => Ok(next),
            Err(e) => {
                if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) {
                    Err(StoreError::Conflict)
                } else {
                    Err(sdk_error("PutItem reference", e))
                }
            }
        }
    }
}

#[async_trait]
impl NotificationStore for DynamoStore {
    async fn put_notification(&self, notification: &Notification) -> Result<bool, StoreError> {
        let mut item = Item::from([
            ("PK".into(), s(citizen_pk(&notification.citizen))),
            ("SK".into(), s(format!("NOTIF#{}", notification_key(notification)))),
            ("doc".into(), doc(notification)?),
        ]);
        if let Some(expires) = notification.expires_at {
            item.insert(crate::schema::TABLE.ttl_attribute.into(), n(expires.timestamp()));
        }
        if notification.read_at.is_none() {
            item.insert("GSI2PK".into(), s(unread_pk(&notification.citizen)));
            item.insert("GSI2SK".into(), s(notification_key(notification)));
        }
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) => {
                if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) {
                    Ok(false)
                } else {
                    Err(sdk_error("PutItem notification", e))
                }
            }
        }
    }

    async fn list_notifications(
        &self,
        citizen: &CitizenId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Notification>, StoreError> {
        let upper = format!("NOTIF#{}", before.unwrap_or("~"));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :lo AND :hi")
            .expression_attribute_values(":pk", s(citizen_pk(citizen)))
            .expression_attribute_values(":lo", s("NOTIF#"))
            .expression_attribute_values(":hi", s(upper.clone()))
            .scan_index_forward(false)
            .limit(limit as i32 + 1)
            .send()
            .await
            .map_err(|e| sdk_error("Query notifications", e))?;
        let mut items: Vec<Notification> = Vec::new();
        for item in out.items() {
            let sk = item.get("SK").and_then(|v| v.as_s().ok()).map(String::as_str).unwrap_or_default();
            if sk < upper.as_str() {
                items.push(read_doc(item)?);
            }
        }
        items.truncate(limit);
        Ok(items)
    }

    /// Reads the unread ones from the resident's partition of the unread index (`GSI2`,
    /// `UNREAD#<sub>`), then one `UpdateItem` each: the document with `read_at`, out of the
    /// index, on condition it is still in it.
    async fn mark_notifications_read(
        &self,
        citizen: &CitizenId,
        which: &ReadSelection,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let before = match which {
            ReadSelection::UpTo(t) => Some(notification_time_key(*t + chrono::Duration::milliseconds(1))),
            ReadSelection::Ids(_) => None,
        };
        let unread =
            self.query_gsi("GSI2", unread_pk(citizen), None, before.as_deref(), UNREAD_EXAMINED_MAX, true).await?;
        let mut marked = 0;
        for item in unread {
            let mut n: Notification = read_doc(&item)?;
            if let ReadSelection::Ids(ids) = which {
                if !ids.contains(&n.id) {
                    continue;
                }
            }
            if marked == MARK_READ_MAX {
                break;
            }
            n.read_at = Some(at);
            let res = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("PK", s(citizen_pk(citizen)))
                .key("SK", s(format!("NOTIF#{}", notification_key(&n))))
                .update_expression("SET #doc = :doc REMOVE GSI2PK, GSI2SK")
                .condition_expression("attribute_exists(GSI2PK)")
                .expression_attribute_names("#doc", "doc")
                .expression_attribute_values(":doc", doc(&n)?)
                .send()
                .await;
            match res {
                Ok(_) => marked += 1,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {}
                Err(e) => return Err(sdk_error("UpdateItem notification read", e)),
            }
        }
        Ok(marked)
    }

    /// `Query` of the unread index with `Select=COUNT`, at most `cap` items read.
    async fn unread_notifications(&self, citizen: &CitizenId, cap: usize) -> Result<usize, StoreError> {
        let mut count = 0usize;
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("GSI2")
                .key_condition_expression("GSI2PK = :pk")
                .expression_attribute_values(":pk", s(unread_pk(citizen)))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .limit(i32::try_from(cap.saturating_sub(count).max(1)).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Query GSI2 unread", e))?;
            count += usize::try_from(page.count).unwrap_or(0);
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() && count < cap => start = Some(k),
                _ => return Ok(count.min(cap)),
            }
        }
    }
}

/// The resident's partition of the unread notifications' index (`GSI2`).
fn unread_pk(citizen: &CitizenId) -> String {
    format!("UNREAD#{citizen}")
}

/// How many unread notifications one call to mark some read examines at most.
const UNREAD_EXAMINED_MAX: usize = 1000;

#[async_trait]
impl PhotoStore for DynamoStore {
    async fn put_photo(&self, photo: &Photo) -> Result<(), StoreError> {
        let mut item = photo_item(photo)?;
        item.insert("GSI2PK".into(), s(PHOTO_PENDING));
        item.insert("GSI2SK".into(), s(photo.id.to_string()));
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) {
                    Err(StoreError::Conflict)
                } else {
                    Err(sdk_error("PutItem photo", e))
                }
            }
        }
    }

    async fn get_photo(&self, id: &PhotoId) -> Result<Option<Photo>, StoreError> {
        self.get_doc(format!("PHOTO#{id}"), "PHOTO").await?.map(|i| read_doc(&i)).transpose()
    }

    async fn photos_announced_since(
        &self,
        owner: &CitizenId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pk AND GSI1SK >= :from")
            .expression_attribute_values(":pk", s(format!("PHOTOS#{owner}")))
            .expression_attribute_values(":from", s(PhotoId::lower_bound(since).to_string()))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| sdk_error("Query GSI1 photos", e))?;
        out.items().iter().map(|i| read_doc::<Photo>(i).map(|p| p.created_at)).collect()
    }

    async fn pending_photos_before(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<Photo>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI2")
            .key_condition_expression("GSI2PK = :pk AND GSI2SK < :before")
            .expression_attribute_values(":pk", s(PHOTO_PENDING))
            .expression_attribute_values(":before", s(PhotoId::lower_bound(before).to_string()))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| sdk_error("Query GSI2 photos", e))?;
        out.items().iter().map(read_doc).collect()
    }

    async fn keep_photo(&self, id: &PhotoId) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(format!("PHOTO#{id}")))
            .key("SK", s("PHOTO"))
            .update_expression("REMOVE GSI2PK, GSI2SK")
            .condition_expression("attribute_exists(PK)")
            .send()
            .await
            .map(|_| ())
            .or_else(|e| {
                if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) {
                    Ok(())
                } else {
                    Err(sdk_error("UpdateItem photo", e))
                }
            })
    }

    async fn delete_photo(&self, id: &PhotoId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(format!("PHOTO#{id}")))
            .key("SK", s("PHOTO"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk_error("DeleteItem photo", e))
    }
}

/// A photo record: GSI1 holds the owner's photos by id (the announcement rate, erasure); a new
/// record is also in GSI2 (`PHOTO_PENDING`, by id: the sweep) until `keep_photo`.
pub(crate) fn photo_item(photo: &Photo) -> Result<Item, StoreError> {
    Ok(Item::from([
        ("PK".into(), s(photo_pk(&photo.id))),
        ("SK".into(), s("PHOTO")),
        ("GSI1PK".into(), s(photos_index_pk(&photo.owner))),
        ("GSI1SK".into(), s(photo.id.to_string())),
        ("doc".into(), doc(photo)?),
    ]))
}

pub(crate) fn photo_pk(id: &PhotoId) -> String {
    format!("PHOTO#{id}")
}

pub(crate) fn photos_index_pk(owner: &CitizenId) -> String {
    format!("PHOTOS#{owner}")
}

/// The GSI2 partition of photos not yet found attached to a message.
const PHOTO_PENDING: &str = "PHOTO_PENDING";

/// Creates the table of [`crate::schema::TABLE`] with its key schema, indexes and TTL (for tests
/// and for operators' local endpoints; on AWS the stack template declares the same table).
pub async fn create_table(client: &Client, table: &str) -> anyhow::Result<()> {
    let schema = &crate::schema::TABLE;
    let key = |name: &str, kt: KeyType| KeySchemaElement::builder().attribute_name(name).key_type(kt).build();
    let mut create = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(schema.partition_key, KeyType::Hash)?)
        .key_schema(key(schema.sort_key, KeyType::Range)?);
    for name in schema.key_attributes() {
        create = create.attribute_definitions(
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()?,
        );
    }
    for index in schema.indexes {
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.partition_key, KeyType::Hash)?)
                .key_schema(key(index.sort_key, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(if index.keys_only { ProjectionType::KeysOnly } else { ProjectionType::All })
                        .build(),
                )
                .build()?,
        );
    }
    // The stream carries the history entries to the counting consumer (`crate::CounterStream`).
    create = create.stream_specification(
        StreamSpecification::builder().stream_enabled(true).stream_view_type(StreamViewType::NewImage).build()?,
    );
    create.send().await?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder().attribute_name(schema.ttl_attribute).enabled(true).build()?,
        )
        .send()
        .await?;
    Ok(())
}
