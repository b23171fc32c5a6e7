//! Residents' data rights on DynamoDB, every look-up a Query: photos (`GSI1` `PHOTOS#<sub>`),
//! comments (`GSI5` `COMMENTER#<sub>`), flags (`GSI1` `FLAGGER#<sub>`), idempotency records
//! (`GSI1` `IDEMS#<sub>`), notifications (the `CITIZEN#<sub>` partition) and closed messages
//! still linked to their author (`GSI2` `CLOSED`, by closing time).

use crate::dynamo::{
    citizen_pk, history_item, idem_pk, idempotency_index_pk, message_item, photo_item, photos_index_pk, read_doc, s,
    supporter_pk, DynamoStore, Item, CLOSED_PK,
};
use crate::participation::flag_item;
use crate::{backend, sdk_error};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use chrono::{DateTime, Utc};
use feedback_core::ids::{CitizenId, CommentId, MessageId, PhotoId, PollId};
use feedback_core::notification::Notification;
use feedback_core::participation::{Comment, Flag};
use feedback_core::photo::Photo;
use feedback_core::ports::{notification_key, MessageUpdate, StoreError};
use feedback_core::rights::{GivenFlag, RightsStore};
use feedback_core::values::{FlagReason, IdempotencyKey};
use feedback_core::{HistoryEntry, Message};

/// DynamoDB's limit on the items of one transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;

impl DynamoStore {
    pub(crate) fn delete(
        &self,
        pk: String,
        sk: String,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(self.table())
            .key("PK", s(pk))
            .key("SK", s(sk))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(|e| backend("building Delete", e))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Runs the writes in transactions of at most [`MAX_TRANSACTION_ITEMS`].
    async fn transact_all(&self, items: Vec<TransactWriteItem>, context: &'static str) -> Result<(), StoreError> {
        let mut rest = items;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(MAX_TRANSACTION_ITEMS));
            self.transact(rest).await.map_err(|e| e.conflict_or(context))?;
            rest = tail;
        }
        Ok(())
    }
}

fn sort_key(item: &Item, name: &str) -> Result<String, StoreError> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned().ok_or_else(|| backend("reading a key", format!("no {name}")))
}

#[async_trait]
impl RightsStore for DynamoStore {
    async fn forget_voter(&self, poll: &PollId, voter_hash: &str) -> Result<(), StoreError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .key("PK", s(crate::participation::roll_pk(poll, voter_hash)))
            .key("SK", s(format!("VOTER#{voter_hash}")))
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error("DeleteItem voter-roll entry", e))
    }

    async fn photos_of(
        &self,
        owner: &CitizenId,
        after: Option<&PhotoId>,
        limit: usize,
    ) -> Result<Vec<Photo>, StoreError> {
        let after = after.map(|a| a.to_string());
        let items = self.query_gsi("GSI1", photos_index_pk(owner), after.as_deref(), None, limit, true).await?;
        items.iter().map(read_doc).collect()
    }

    async fn comments_by(
        &self,
        author: &CitizenId,
        after: Option<&CommentId>,
        limit: usize,
    ) -> Result<Vec<Comment>, StoreError> {
        let after = after.map(|a| a.to_string());
        let items = self.query_gsi("GSI5", format!("COMMENTER#{author}"), after.as_deref(), None, limit, true).await?;
        items.iter().map(read_doc).collect()
    }

    async fn flags_by(
        &self,
        flagger: &CitizenId,
        after: Option<&CommentId>,
        limit: usize,
    ) -> Result<Vec<GivenFlag>, StoreError> {
        let after = after.map(|a| a.to_string());
        let items = self.query_gsi("GSI1", format!("FLAGGER#{flagger}"), after.as_deref(), None, limit, true).await?;
        items
            .iter()
            .map(|item| {
                let comment_id = CommentId::parse(&sort_key(item, "GSI1SK")?).map_err(|e| backend("Query flags", e))?;
                let reason = item
                    .get("reason")
                    .and_then(|v| v.as_s().ok())
                    .map(|r| FlagReason::parse(r))
                    .transpose()
                    .map_err(|e| backend("Query flags", e))?;
                Ok(GivenFlag { comment_id, reason })
            })
            .collect()
    }

    async fn reassign_flag(&self, comment: &CommentId, from: &CitizenId, to: &CitizenId) -> Result<bool, StoreError> {
        let (pk, sk) = (format!("COMMENT#{comment}"), format!("FLAG#{from}"));
        let Some(item) = self.get_doc(pk.clone(), &sk).await? else {
            return Ok(false);
        };
        let reason = item
            .get("reason")
            .and_then(|v| v.as_s().ok())
            .map(|r| FlagReason::parse(r))
            .transpose()
            .map_err(|e| backend("GetItem flag", e))?;
        let moved = Flag { flagger: to.clone(), reason };
        let items = vec![
            self.delete(pk, sk, Some("attribute_exists(PK)"))?,
            self.put(flag_item(comment, &moved), "attribute_not_exists(PK)", None)?,
        ];
        self.transact(items).await.map_err(|e| e.conflict_or("TransactWriteItems reassign flag"))?;
        Ok(true)
    }

    async fn supported_by(
        &self,
        citizen: &CitizenId,
        after: Option<&MessageId>,
        limit: usize,
    ) -> Result<Vec<MessageId>, StoreError> {
        let after = after.map(|a| a.to_string());
        let items = self.query_gsi("GSI1", supporter_pk(citizen), after.as_deref(), None, limit, true).await?;
        items
            .iter()
            .map(|item| MessageId::parse(&sort_key(item, "GSI1SK")?).map_err(|e| backend("Query supports", e)))
            .collect()
    }

    async fn idempotency_keys(
        &self,
        citizen: &CitizenId,
        after: Option<&IdempotencyKey>,
        limit: usize,
    ) -> Result<Vec<IdempotencyKey>, StoreError> {
        let items = self
            .query_gsi("GSI1", idempotency_index_pk(citizen), after.map(IdempotencyKey::as_str), None, limit, true)
            .await?;
        items
            .iter()
            .map(|item| IdempotencyKey::parse(&sort_key(item, "GSI1SK")?).map_err(|e| backend("Query idempotency", e)))
            .collect()
    }

    async fn delete_idempotency(&self, citizen: &CitizenId, keys: &[IdempotencyKey]) -> Result<(), StoreError> {
        let items =
            keys.iter().map(|k| self.delete(idem_pk(citizen, k), "IDEM".into(), None)).collect::<Result<_, _>>()?;
        self.transact_all(items, "TransactWriteItems delete idempotency").await
    }

    async fn delete_notifications(&self, notifications: &[Notification]) -> Result<(), StoreError> {
        let items = notifications
            .iter()
            .map(|n| self.delete(citizen_pk(&n.citizen), format!("NOTIF#{}", notification_key(n)), None))
            .collect::<Result<_, _>>()?;
        self.transact_all(items, "TransactWriteItems delete notifications").await
    }

    async fn pseudonymise_message(
        &self,
        update: &MessageUpdate,
        history: &[HistoryEntry],
        photos: &[Photo],
    ) -> Result<(), StoreError> {
        let id = &update.next.id;
        let mut items = vec![
            self.put(
                message_item(&update.next)?,
                "version = :expected",
                Some(Item::from([(":expected".into(), crate::dynamo::n(update.expected_version))])),
            )?,
            self.put(self.history_item_counted(id, &update.entry)?, "attribute_not_exists(PK)", None)?,
        ];
        for e in history {
            items.push(self.put(history_item(id, e)?, "attribute_exists(PK)", None)?);
        }
        for p in photos {
            items.push(self.put(photo_item(p)?, "attribute_exists(PK)", None)?);
        }
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(backend("TransactWriteItems", format!("{} items exceed the limit", items.len())));
        }
        self.transact(items).await.map_err(|e| e.conflict_or("TransactWriteItems pseudonymise message"))
    }

    async fn closed_before(
        &self,
        before: DateTime<Utc>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let before = feedback_core::message::retention_bound(before);
        let items = self.query_gsi("GSI2", CLOSED_PK.to_owned(), after, Some(&before), limit, true).await?;
        items.iter().map(read_doc).collect()
    }
}
