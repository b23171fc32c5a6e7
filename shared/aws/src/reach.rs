//! Residents' preferences and subscriptions on DynamoDB, in the resident's partition
//! `CITIZEN#<sub>`: `SK = PREFS` holds the preferences, `SK = SUB#<id>` each subscription, and
//! `SK = SUBS` the number of subscriptions, added to in the transaction that writes one on
//! condition that it stays under the limit (and taken from in the one that deletes one).
//! `SK = PUSH#<id>` is a browser's push subscription, its id the hash of its endpoint, and
//! `SK = PUSHES` their number, kept the same way.
//! Subscriptions and digest preferences carry the index keys the delivery pipeline finds them
//! by (`delivery.rs`); items written before those keys existed need them backfilled
//! (`docs/data-model.md`). Erasing a resident's reach takes their contacts (`CONTACT#…`) and
//! their deliveries (`DLV#…`, found on `GSI3`) too.

use crate::backend;
use crate::delivery::{preferences_keys, subscription_keys, CONTACT_PREFIX};
use crate::dynamo::{citizen_pk, doc, n, read_doc, s, DynamoStore, Item};
use crate::transact::{Cancellation, TransactError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use feedback_core::ids::{CitizenId, PushSubscriptionId, SubscriptionId};
use feedback_core::ports::StoreError;
use feedback_core::preferences::{Preferences, PushStored, PushSubscription, ReachErased, ReachStore, Subscription};

const PREFS_SK: &str = "PREFS";
const COUNT_SK: &str = "SUBS";
const PUSH_COUNT_SK: &str = "PUSHES";
const PUSH_PREFIX: &str = "PUSH#";
/// Attempts at keeping a push subscription while its twin is deleted and added meanwhile.
const PUSH_ATTEMPTS: u32 = 3;

fn sub_sk(id: &SubscriptionId) -> String {
    format!("SUB#{id}")
}

fn push_sk(id: &PushSubscriptionId) -> String {
    format!("{PUSH_PREFIX}{id}")
}

impl DynamoStore {
    /// The Update that adds `by` to the resident's number of items counted at `count_sk`, on
    /// condition that it is under `max` when given.
    fn count_items(
        &self,
        citizen: &CitizenId,
        count_sk: &str,
        by: i32,
        max: Option<u32>,
    ) -> Result<TransactWriteItem, StoreError> {
        self.bounded_count(citizen_pk(citizen), count_sk, by, max)
    }

    fn delete_item(
        &self,
        citizen: &CitizenId,
        sk: String,
        condition: Option<(&str, Option<(&str, u32)>)>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut delete = Delete::builder().table_name(self.table()).key("PK", s(citizen_pk(citizen))).key("SK", s(sk));
        if let Some((expression, value)) = condition {
            delete = delete.condition_expression(expression);
            if let Some((name, v)) = value {
                delete = delete.expression_attribute_names("#count", "count").expression_attribute_values(name, n(v));
            }
        }
        let delete = delete.build().map_err(|e| backend("building Delete", e))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

#[async_trait]
impl ReachStore for DynamoStore {
    async fn get_preferences(&self, citizen: &CitizenId) -> Result<Option<Preferences>, StoreError> {
        self.get_doc(citizen_pk(citizen), PREFS_SK).await?.map(|i| read_doc(&i)).transpose()
    }

    async fn put_preferences(&self, citizen: &CitizenId, preferences: &Preferences) -> Result<(), StoreError> {
        let mut item = Item::from([
            ("PK".into(), s(citizen_pk(citizen))),
            ("SK".into(), s(PREFS_SK)),
            ("doc".into(), doc(preferences)?),
        ]);
        preferences_keys(&mut item, citizen, preferences);
        self.put_if(item, None, None, "PutItem preferences").await.map(drop)
    }

    async fn erase_reach(&self, citizen: &CitizenId) -> Result<ReachErased, StoreError> {
        let had_prefs = self.get_doc(citizen_pk(citizen), PREFS_SK).await?.is_some();
        let subs = self.query_prefix(citizen_pk(citizen), "SUB#", None).await?;
        let pushes = self.query_prefix(citizen_pk(citizen), PUSH_PREFIX, None).await?;
        let contacts = self.query_prefix(citizen_pk(citizen), CONTACT_PREFIX, None).await?;
        let mut items = Vec::with_capacity(subs.len() + pushes.len() + contacts.len() + 3);
        for item in subs.iter().chain(&pushes).chain(&contacts) {
            let sk =
                item.get("SK").and_then(|v| v.as_s().ok()).cloned().ok_or_else(|| backend("reading a key", "no SK"))?;
            items.push(self.delete_item(citizen, sk, Some(("attribute_exists(PK)", None)))?);
        }
        let held = u32::try_from(subs.len()).unwrap_or(u32::MAX);
        let held_pushes = u32::try_from(pushes.len()).unwrap_or(u32::MAX);
        // The counts must still be what was read: a subscription added meanwhile fails the
        // transaction rather than outliving the erasure uncounted.
        for (sk, n) in [(COUNT_SK, held), (PUSH_COUNT_SK, held_pushes)] {
            items.push(self.delete_item(
                citizen,
                sk.to_owned(),
                Some(("attribute_not_exists(#count) OR #count = :held", Some((":held", n)))),
            )?);
        }
        items.push(self.delete_item(citizen, PREFS_SK.to_owned(), None)?);
        self.transact(items).await.map_err(|e| e.conflict_or("TransactWriteItems erase subscriptions"))?;
        let deliveries = self.erase_deliveries_to(citizen).await?;
        Ok(ReachErased {
            preferences: had_prefs,
            subscriptions: held,
            push_subscriptions: held_pushes,
            contacts: u32::try_from(contacts.len()).unwrap_or(u32::MAX),
            deliveries,
        })
    }

    async fn subscriptions(&self, citizen: &CitizenId) -> Result<Vec<Subscription>, StoreError> {
        self.query_prefix(citizen_pk(citizen), "SUB#", None).await?.iter().map(read_doc).collect()
    }

    async fn add_subscription(&self, subscription: &Subscription, max: u32) -> Result<bool, StoreError> {
        let mut item = Item::from([
            ("PK".into(), s(citizen_pk(&subscription.owner))),
            ("SK".into(), s(sub_sk(&subscription.id))),
            ("doc".into(), doc(subscription)?),
        ]);
        subscription_keys(&mut item, subscription);
        let items = vec![
            self.put(item, "attribute_not_exists(PK)", None)?,
            self.count_items(&subscription.owner, COUNT_SK, 1, Some(max))?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(TransactError::Cancelled(c)) if *c.at(1) == Cancellation::ConditionalCheckFailed => Ok(false),
            Err(e) => Err(e.conflict_or("TransactWriteItems add subscription")),
        }
    }

    async fn delete_subscription(&self, citizen: &CitizenId, id: &SubscriptionId) -> Result<bool, StoreError> {
        let items = vec![
            self.delete_item(citizen, sub_sk(id), Some(("attribute_exists(PK)", None)))?,
            self.count_items(citizen, COUNT_SK, -1, None)?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(TransactError::Cancelled(c)) if *c.at(0) == Cancellation::ConditionalCheckFailed => Ok(false),
            Err(e) => Err(e.conflict_or("TransactWriteItems delete subscription")),
        }
    }

    async fn push_subscriptions(&self, citizen: &CitizenId) -> Result<Vec<PushSubscription>, StoreError> {
        let mut all = self
            .query_prefix(citizen_pk(citizen), PUSH_PREFIX, None)
            .await?
            .iter()
            .map(read_doc)
            .collect::<Result<Vec<PushSubscription>, _>>()?;
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(all)
    }

    async fn put_push_subscription(&self, subscription: &PushSubscription, max: u32) -> Result<PushStored, StoreError> {
        let owner = &subscription.owner;
        let item = Item::from([
            ("PK".into(), s(citizen_pk(owner))),
            ("SK".into(), s(push_sk(&subscription.id))),
            ("doc".into(), doc(subscription)?),
        ]);
        for _ in 0..PUSH_ATTEMPTS {
            let add = vec![
                self.put(item.clone(), "attribute_not_exists(PK)", None)?,
                self.count_items(owner, PUSH_COUNT_SK, 1, Some(max))?,
            ];
            match self.transact(add).await {
                Ok(()) => return Ok(PushStored::Added),
                Err(TransactError::Cancelled(c)) if *c.at(0) == Cancellation::ConditionalCheckFailed => {}
                Err(TransactError::Cancelled(c)) if *c.at(1) == Cancellation::ConditionalCheckFailed => {
                    return Ok(PushStored::Full)
                }
                Err(e) => return Err(e.conflict_or("TransactWriteItems add push subscription")),
            }
            // The endpoint is kept already: replace it, unless it was deleted meanwhile.
            match self.transact(vec![self.put(item.clone(), "attribute_exists(PK)", None)?]).await {
                Ok(()) => return Ok(PushStored::Replaced),
                Err(TransactError::Cancelled(c)) if *c.at(0) == Cancellation::ConditionalCheckFailed => {}
                Err(e) => return Err(e.conflict_or("TransactWriteItems replace push subscription")),
            }
        }
        Err(StoreError::Conflict)
    }

    async fn delete_push_subscription(&self, citizen: &CitizenId, id: &PushSubscriptionId) -> Result<bool, StoreError> {
        let items = vec![
            self.delete_item(citizen, push_sk(id), Some(("attribute_exists(PK)", None)))?,
            self.count_items(citizen, PUSH_COUNT_SK, -1, None)?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(TransactError::Cancelled(c)) if *c.at(0) == Cancellation::ConditionalCheckFailed => Ok(false),
            Err(e) => Err(e.conflict_or("TransactWriteItems delete push subscription")),
        }
    }
}
