//! Residents' messages: submission (idempotent, under an hourly quota, moderated and checked
//! against the reference data), their own list, and reading one message.

use crate::actor::{Actor, Role};
use crate::error::{FieldError, ServiceError};
use crate::ids::{CategoryId, CitizenId, MessageId, MessageNumber, MunicipalityId};
use crate::message::{ActorRole, Facts, HistoryEntry, Message, Status};
use crate::moderation;
use crate::numbering::NumberPool;
use crate::outbox::relay;
use crate::page::{Cursor, Limit, Page};
use crate::photo::{check_attachable, PhotoStore};
use crate::policy::can_read;
use crate::ports::{
    Clock, CreateOutcome, IdempotencyRecord, Job, MessageStore, NewRecord, OutboxItem, Quota, ReferenceStore,
    StoreError, WorkQueue,
};
use crate::reference::Reference;
use crate::values::{Address, IdempotencyKey, Location, MessageText, PhotoIds};
use anyhow::anyhow;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// A new message as the resident filed it, already parsed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewMessage {
    pub category_id: CategoryId,
    pub text: MessageText,
    pub municipality_id: Option<MunicipalityId>,
    pub address: Option<Address>,
    pub location: Option<Location>,
    pub photo_ids: PhotoIds,
    pub public: bool,
}

impl NewMessage {
    /// SHA-256 of the canonical form: equal requests hash equally, whatever their JSON layout.
    pub fn fingerprint(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(canonical))
    }
}

/// Limits on submission.
#[derive(Debug, Clone, Copy)]
pub struct SubmitPolicy {
    /// Messages a citizen may submit per clock hour.
    pub per_hour: u32,
}

impl Default for SubmitPolicy {
    fn default() -> Self {
        Self { per_hour: 20 }
    }
}

/// The result of a submission.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub message: Message,
    /// True when this was a replay of an earlier request with the same idempotency key.
    pub replayed: bool,
}

/// A message with its history, for reading.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageDetail {
    pub message: Message,
    pub history: Vec<HistoryEntry>,
}

/// Residents' messages: submit, list, read.
pub struct Messages<S, Q, C> {
    store: S,
    queue: Q,
    clock: C,
    reference: Arc<Reference<S>>,
    policy: SubmitPolicy,
    numbers: NumberPool,
}

impl<S: MessageStore + ReferenceStore + PhotoStore, Q: WorkQueue, C: Clock> Messages<S, Q, C> {
    pub fn new(store: S, queue: Q, clock: C, reference: Arc<Reference<S>>, policy: SubmitPolicy) -> Self {
        Self { store, queue, clock, reference, policy, numbers: NumberPool::new() }
    }

    pub fn reference(&self) -> &Arc<Reference<S>> {
        &self.reference
    }

    /// The numbers this process holds for its submissions.
    pub fn number_pool(&self) -> &NumberPool {
        &self.numbers
    }

    /// The store the submissions are written to.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Files a message. Idempotent per citizen and key; nothing is stored when it is refused.
    pub async fn submit(
        &self,
        actor: &Actor,
        input: NewMessage,
        key: Option<IdempotencyKey>,
    ) -> Result<Submitted, ServiceError> {
        if !actor.has(Role::Citizen) {
            return Err(ServiceError::Forbidden("подавать сообщения могут только жители"));
        }
        let fingerprint = input.fingerprint();
        if let Some(k) = &key {
            if let Some(rec) = self.store.get_idempotency(&actor.id, k).await? {
                return replay(rec, &fingerprint);
            }
        }
        // The quota is checked before the expensive moderation, and again in the transaction.
        let now = self.clock.now();
        let quota = submission_quota(&actor.id, self.policy.per_hour, now);
        check_quota(&self.store, &quota, now).await?;
        moderation::moderate(input.text.as_str()).map_err(ServiceError::Moderation)?;
        let region = self.reference.snapshot().await?;
        let region = &region.value;
        let mut errors = Vec::new();
        if region.category(&input.category_id).is_none() {
            errors.push(FieldError::new("category_id", "неизвестная категория"));
        } else if !region.is_leaf(&input.category_id) {
            errors.push(FieldError::new("category_id", "выберите подкатегорию, а не группу"));
        }
        let municipality = input.municipality_id.clone().or_else(|| actor.municipality.clone());
        match &municipality {
            None => errors.push(FieldError::new("municipality_id", "укажите муниципальное образование")),
            Some(m) if region.municipality(m).is_none() => {
                errors.push(FieldError::new("municipality_id", "неизвестное муниципальное образование"))
            }
            Some(_) => {}
        }
        errors.extend(check_attachable(&self.store, &actor.id, input.photo_ids.as_slice()).await?);
        if !errors.is_empty() {
            return Err(ServiceError::Validation(errors));
        }
        let municipality_id = municipality.ok_or_else(|| anyhow!("municipality checked above"))?;

        let (mut message, entry) = new_submission(&actor.id, &input, municipality_id, now, region.time_zone());
        let number = self.numbers.next(&self.store, &region.region.code).await?;
        message.number = Some(number.clone());
        let created = NewRecord::new(message, entry);
        let message = &created.message;
        let record = key.map(|k| IdempotencyRecord {
            citizen: actor.id.clone(),
            key: k,
            request_hash: fingerprint.clone(),
            response: message.clone(),
            created_at: now,
            expires_at: now.checked_add_signed(region.retention.idempotency()),
        });
        let mut outbox = vec![OutboxItem::new(Job::RouteMessage { message_id: message.id }, now)];
        outbox.extend(
            crate::event::Event::for_message(message, now).map(|event| OutboxItem::new(Job::Publish { event }, now)),
        );
        let outcome = self.store.create_message(&created, record.as_ref(), &outbox, Some(&quota)).await;
        if matches!(outcome, Ok(CreateOutcome::KeyExists(_) | CreateOutcome::OverQuota)) {
            // Nothing was written; a conflict may have been the number's own, so that one is a gap.
            self.numbers.give_back(&number);
        }
        match outcome {
            Ok(CreateOutcome::Created) => {}
            Ok(CreateOutcome::KeyExists(rec)) => return replay(*rec, &fingerprint),
            Ok(CreateOutcome::OverQuota) => {
                return Err(ServiceError::RateLimited { retry_after_secs: quota.retry_after_secs(now) })
            }
            Err(StoreError::Conflict) if record.is_some() => {
                return Err(ServiceError::Conflict {
                    code: "request_in_progress",
                    detail: "Запрос с этим Idempotency-Key ещё выполняется; повторите его позже.".into(),
                })
            }
            Err(e) => return Err(e.into()),
        }
        relay(&self.store, &self.queue, &outbox).await;
        Ok(Submitted { message: created.message, replayed: false })
    }

    /// The caller's own messages, newest first.
    pub async fn list_own(
        &self,
        actor: &Actor,
        cursor: Option<Cursor>,
        limit: Limit,
    ) -> Result<Page<Message>, ServiceError> {
        if !actor.has(Role::Citizen) {
            return Err(ServiceError::Forbidden("список своих сообщений доступен жителям"));
        }
        let before = cursor
            .map(|c| {
                MessageId::parse(c.position()).map_err(|_| ServiceError::field("cursor", "недействительный cursor"))
            })
            .transpose()?;
        let mut items = self.store.list_by_author(&actor.id, before.as_ref(), limit.get() + 1).await?;
        let next_cursor = if items.len() > limit.get() {
            items.truncate(limit.get());
            items.last().map(|m| Cursor::new(&m.id.to_string()).encode())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// The message numbered `number`, with its history, for those who may read it (as
    /// [`Self::get`]); another region's number, an unknown one or a message the actor may not
    /// read is `NotFound`.
    pub async fn get_by_number(&self, actor: &Actor, number: &MessageNumber) -> Result<MessageDetail, ServiceError> {
        let region = self.reference.snapshot().await?;
        if number.region() != region.value.region.code {
            return Err(ServiceError::NotFound);
        }
        let id = self.store.message_by_number(number).await?.ok_or(ServiceError::NotFound)?;
        self.get(actor, &id).await
    }

    /// One message with its history, for those allowed to see it; anyone else gets `NotFound`.
    pub async fn get(&self, actor: &Actor, id: &MessageId) -> Result<MessageDetail, ServiceError> {
        let message = self.store.get_message(id).await?.ok_or(ServiceError::NotFound)?;
        let region = self.reference.snapshot().await?;
        if !can_read(actor, &message, &region.value) {
            return Err(ServiceError::NotFound);
        }
        let history = self.store.get_history(id).await?;
        Ok(MessageDetail { message, history })
    }
}

/// A new message as submitted, with its first history entry.
pub fn new_submission(
    author: &CitizenId,
    input: &NewMessage,
    municipality_id: MunicipalityId,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> (Message, HistoryEntry) {
    let message = Message {
        id: MessageId::new_at(now),
        number: None,
        author: author.clone(),
        category_id: input.category_id.clone(),
        municipality_id,
        text: input.text.as_str().to_owned(),
        address: input.address.as_ref().map(|a| a.as_str().to_owned()),
        location: input.location,
        photo_ids: input.photo_ids.to_vec(),
        public: input.public,
        status: Status::Submitted,
        authority_id: None,
        deadline: None,
        overdue: false,
        created_at: now,
        updated_at: now,
        version: 1,
        reopen_count: 0,
        routed_at: None,
        answer: None,
        rating: None,
        duplicate_of: None,
        duplicates_count: 0,
        duplicate_ids: vec![],
        answer_photo_ids: vec![],
        reopened_at: None,
        supporter_ids: Vec::new(),
    };
    let entry = HistoryEntry {
        seq: 1,
        at: now,
        actor_role: ActorRole::Citizen,
        actor_id: Some(author.clone()),
        actor_authority_id: None,
        from: None,
        to: Status::Submitted,
        note: "Сообщение подано".into(),
        facts: Some(Facts::of_submission(&message, tz)),
    };
    (message, entry)
}

/// The hourly submission quota of an author.
pub fn submission_quota(author: &CitizenId, per_hour: u32, now: DateTime<Utc>) -> Quota {
    Quota::hourly(format!("submit#{author}"), per_hour, now)
}

/// Refuses at once when the quota's window is used up, saying how long until the next window.
/// Cheap (one read); the transaction that spends the quota checks it again.
pub async fn check_quota<S: MessageStore>(store: &S, quota: &Quota, now: DateTime<Utc>) -> Result<(), ServiceError> {
    if store.quota_used(quota).await? >= quota.max {
        return Err(ServiceError::RateLimited { retry_after_secs: quota.retry_after_secs(now) });
    }
    Ok(())
}

fn replay(rec: IdempotencyRecord, fingerprint: &str) -> Result<Submitted, ServiceError> {
    if rec.request_hash == fingerprint {
        Ok(Submitted { message: rec.response, replayed: true })
    } else {
        Err(ServiceError::IdempotencyKeyReused)
    }
}
