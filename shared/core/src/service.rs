//! Use cases, generic over the ports.

use crate::actor::{Actor, Role};
use crate::error::{FieldError, ServiceError};
use crate::ids::{CategoryId, CitizenId, MessageId, MunicipalityId, PhotoId};
use crate::message::{ActorRole, By, HistoryEntry, Message, Status, Transition};
use crate::moderation;
use crate::notification::Notification;
use crate::page::{Cursor, Limit, Page};
use crate::policy::{can_read, require_region_admin};
use crate::ports::{
    Clock, CreateOutcome, IdempotencyRecord, Job, MessageStore, MessageUpdate, Outbox, OutboxItem, Quota,
    ReferenceStore, StoreError, Versioned, WorkQueue,
};
use crate::region::{RegionData, RoutingRule};
use crate::routing;
use crate::values::{Address, IdempotencyKey, Location, MessageText};
use anyhow::anyhow;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// The region's reference data, cached for a short time. One instance is shared by all use
/// cases of a process, so a change made through it is visible to them at once; other processes
/// (other Lambda instances) see it within `ttl`.
pub struct Reference<R> {
    store: R,
    ttl: std::time::Duration,
    cache: RwLock<Option<(Instant, Arc<Versioned<RegionData>>)>>,
}

/// What seeding did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedOutcome {
    Created,
    Unchanged,
    Updated,
}

impl<R: ReferenceStore> Reference<R> {
    pub fn new(store: R, ttl: std::time::Duration) -> Self {
        Self { store, ttl, cache: RwLock::new(None) }
    }

    async fn versioned(&self) -> Result<Arc<Versioned<RegionData>>, ServiceError> {
        if let Some((at, data)) = self.cache.read().map_err(|_| anyhow!("reference cache poisoned"))?.as_ref() {
            if at.elapsed() < self.ttl {
                return Ok(data.clone());
            }
        }
        let loaded = self
            .store
            .load_region()
            .await?
            .ok_or_else(|| anyhow!("the region's reference data is not loaded; seed the region first"))?;
        let loaded = Arc::new(loaded);
        *self.cache.write().map_err(|_| anyhow!("reference cache poisoned"))? = Some((Instant::now(), loaded.clone()));
        Ok(loaded)
    }

    /// The current reference data, shared. Fails if the region was never seeded.
    pub async fn snapshot(&self) -> Result<Arc<Versioned<RegionData>>, ServiceError> {
        self.versioned().await
    }

    /// Stores a region's data: creates it, or replaces it when it differs from what is stored.
    pub async fn seed(&self, data: &RegionData) -> Result<SeedOutcome, ServiceError> {
        data.validate().map_err(|errs| {
            ServiceError::Validation(errs.into_iter().map(|e| FieldError::new(e.entry, e.problem)).collect())
        })?;
        let current = self.store.load_region().await?;
        let outcome = match current {
            None => {
                self.store.save_region(data, None).await?;
                SeedOutcome::Created
            }
            Some(v) if &v.value == data => SeedOutcome::Unchanged,
            Some(v) => {
                self.store.save_region(data, Some(v.version)).await?;
                SeedOutcome::Updated
            }
        };
        self.invalidate();
        Ok(outcome)
    }

    /// The routing rules (admins of the region).
    pub async fn rules(&self, actor: &Actor) -> Result<Vec<RoutingRule>, ServiceError> {
        let snap = self.versioned().await?;
        require_region_admin(actor, &snap.value)?;
        Ok(snap.value.routing_rules.clone())
    }

    /// Replaces the routing rules after checking them against the reference data (admins of the region).
    pub async fn replace_rules(
        &self,
        actor: &Actor,
        rules: Vec<RoutingRule>,
    ) -> Result<Vec<RoutingRule>, ServiceError> {
        for _attempt in 0..3 {
            let current = self.store.load_region().await?.ok_or_else(|| anyhow!("the region is not seeded"))?;
            require_region_admin(actor, &current.value)?;
            let errs = current.value.check_rules(&rules);
            if !errs.is_empty() {
                return Err(ServiceError::Validation(
                    errs.into_iter().map(|e| FieldError::new(e.entry, e.problem)).collect(),
                ));
            }
            let mut next = current.value.clone();
            next.routing_rules = rules.clone();
            match self.store.save_region(&next, Some(current.version)).await {
                Ok(_) => {
                    self.invalidate();
                    return Ok(rules);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    fn invalidate(&self) {
        if let Ok(mut g) = self.cache.write() {
            *g = None;
        }
    }
}

/// A new message as the resident filed it, already parsed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewMessage {
    pub category_id: CategoryId,
    pub text: MessageText,
    pub municipality_id: Option<MunicipalityId>,
    pub address: Option<Address>,
    pub location: Option<Location>,
    pub photo_ids: Vec<PhotoId>,
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
}

impl<S: MessageStore + ReferenceStore + crate::photo::PhotoStore, Q: WorkQueue, C: Clock> Messages<S, Q, C> {
    pub fn new(store: S, queue: Q, clock: C, reference: Arc<Reference<S>>, policy: SubmitPolicy) -> Self {
        Self { store, queue, clock, reference, policy }
    }

    pub fn reference(&self) -> &Arc<Reference<S>> {
        &self.reference
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
        errors.extend(crate::photo::check_attachable(&self.store, &actor.id, &input.photo_ids).await?);
        if !errors.is_empty() {
            return Err(ServiceError::Validation(errors));
        }
        let municipality_id = municipality.ok_or_else(|| anyhow!("municipality checked above"))?;

        let (message, entry) = new_submission(&actor.id, &input, municipality_id, now, region.time_zone());
        let record = key.map(|k| IdempotencyRecord {
            citizen: actor.id.clone(),
            key: k,
            request_hash: fingerprint.clone(),
            response: message.clone(),
            created_at: now,
        });
        let outbox = [OutboxItem::new(Job::RouteMessage { message_id: message.id }, now)];
        match self.store.create_message(&message, &entry, record.as_ref(), &outbox, Some(&quota)).await {
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
        Ok(Submitted { message, replayed: false })
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
        author: author.clone(),
        category_id: input.category_id.clone(),
        municipality_id,
        text: input.text.as_str().to_owned(),
        address: input.address.as_ref().map(|a| a.as_str().to_owned()),
        location: input.location,
        photo_ids: input.photo_ids.clone(),
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
        reopened_at: None,
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
        facts: Some(crate::analytics::Facts::of_submission(&message, tz)),
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

/// Hands freshly committed outbox items to their queues, unless the store's transaction already
/// did. A failed send leaves the item in the outbox for the relay sweep, so the caller's
/// acknowledged write still owes, and will get, its job.
pub async fn relay<S: Outbox, Q: WorkQueue>(store: &S, queue: &Q, items: &[OutboxItem]) {
    if store.queues_in_transaction() {
        return;
    }
    for item in items {
        match queue.send(&item.job).await {
            Ok(()) => {
                if let Err(e) = store.relayed(item).await {
                    tracing::warn!(job = %item.id(), error = %e, "job queued but still in the outbox; it may be sent again");
                }
            }
            Err(e) => {
                tracing::warn!(job = %item.id(), error = %e, "job left in the outbox for the relay sweep");
            }
        }
    }
}

/// The relay sweep: hands every outbox item older than `grace` to its queue (a crash or a failed
/// send between a commit and its relay left it there). Returns how many were relayed.
pub async fn relay_pending<S: Outbox, Q: WorkQueue>(
    store: &S,
    queue: &Q,
    now: DateTime<Utc>,
    grace: Duration,
) -> Result<usize, StoreError> {
    if store.queues_in_transaction() {
        return Ok(0);
    }
    let mut relayed = 0;
    loop {
        let items = store.pending_outbox(now - grace, 100).await?;
        let full = items.len() == 100;
        for item in &items {
            queue.send(&item.job).await?;
            store.relayed(item).await?;
            relayed += 1;
        }
        if !full {
            return Ok(relayed);
        }
    }
}

/// What the transitions owe their authors: a notification for each that they should hear about.
pub fn owed_notifications(region: &RegionData, updates: &[MessageUpdate]) -> Vec<OutboxItem> {
    updates
        .iter()
        .filter_map(|u| {
            let authority = u.next.authority_id.as_ref().and_then(|a| region.authority(a)).map(|a| a.name.as_str());
            Notification::for_transition(&u.next, &u.entry, authority)
                .map(|notification| OutboxItem::new(Job::Notify { notification }, u.entry.at))
        })
        .collect()
}

/// Writes transitions atomically together with the notifications they owe, then relays those.
pub async fn commit<S: MessageStore, Q: WorkQueue>(
    store: &S,
    queue: &Q,
    region: &RegionData,
    updates: &[MessageUpdate],
) -> Result<(), StoreError> {
    let outbox = owed_notifications(region, updates);
    store.update_messages(updates, &outbox).await?;
    relay(store, queue, &outbox).await;
    Ok(())
}

fn replay(rec: IdempotencyRecord, fingerprint: &str) -> Result<Submitted, ServiceError> {
    if rec.request_hash == fingerprint {
        Ok(Submitted { message: rec.response, replayed: true })
    } else {
        Err(ServiceError::IdempotencyKeyReused)
    }
}

/// What routing did with one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteOutcome {
    /// The message was routed now, as a duplicate of an open message when `duplicate_of` is set.
    Routed { authority_id: crate::ids::AuthorityId, deadline: DateTime<Utc>, duplicate_of: Option<MessageId> },
    /// Someone routed it before (a redelivery): nothing changed.
    AlreadyRouted,
    /// No such message: nothing to do.
    Missing,
}

/// Routing of submitted messages.
pub struct Routing<S, Q, C> {
    store: S,
    queue: Q,
    clock: C,
    reference: Arc<Reference<S>>,
}

impl<S: MessageStore + ReferenceStore, Q: WorkQueue, C: Clock> Routing<S, Q, C> {
    pub fn new(store: S, queue: Q, clock: C, reference: Arc<Reference<S>>) -> Self {
        Self { store, queue, clock, reference }
    }

    /// Routes one message by the rules and sets its deadline. A message in the same category
    /// within the category's radius of an open message is linked to it as a duplicate and goes
    /// to the same authority. Safe to run any number of times.
    pub async fn route(&self, id: &MessageId) -> Result<RouteOutcome, ServiceError> {
        for _attempt in 0..5 {
            let Some(message) = self.store.get_message(id).await? else {
                return Ok(RouteOutcome::Missing);
            };
            if message.status != Status::Submitted {
                return Ok(RouteOutcome::AlreadyRouted);
            }
            let snap = self.reference.snapshot().await?;
            let region = &snap.value;
            let now = self.clock.now();
            let days = region.deadline_days(&message.category_id);
            let deadline = region.calendar.deadline(now, days, &region.time_zone());
            let original = self.find_original(&message, region).await?;
            let (authority_id, note) = match &original {
                Some(o) => {
                    let authority =
                        o.authority_id.clone().ok_or_else(|| anyhow!("an open message without authority"))?;
                    let name = region.authority(&authority).map(|a| a.name.clone()).unwrap_or(authority.to_string());
                    (authority, format!("Повтор сообщения {}; направлено: {name}; срок ответа — {days} раб. дн.", o.id))
                }
                None => {
                    let decision = routing::decide(region, &message.category_id, &message.municipality_id);
                    let name = region
                        .authority(&decision.authority_id)
                        .map(|a| a.name.as_str())
                        .unwrap_or(decision.authority_id.as_str());
                    let note = match &decision.rule {
                        Some(_) => format!("Направлено: {name}; срок ответа — {days} раб. дн."),
                        None => format!("Правило маршрутизации не найдено; направлено в {name} для ручной сортировки"),
                    };
                    (decision.authority_id, note)
                }
            };
            let route = Transition::Route {
                authority_id: authority_id.clone(),
                deadline,
                duplicate_of: original.as_ref().map(|o| o.id),
            };
            let (next, entry) =
                message.apply(route, By::System, now, region.time_zone(), note).map_err(|e| anyhow!(e))?;
            let mut updates = vec![MessageUpdate { expected_version: message.version, next, entry }];
            if let Some(o) = &original {
                let link = Transition::LinkDuplicate { duplicate_id: message.id };
                let note = format!("Присоединено повторное сообщение {}", message.id);
                let (o_next, o_entry) =
                    o.apply(link, By::System, now, region.time_zone(), note).map_err(|e| anyhow!(e))?;
                updates.push(MessageUpdate { expected_version: o.version, next: o_next, entry: o_entry });
            }
            match commit(&self.store, &self.queue, region, &updates).await {
                Ok(()) => {
                    return Ok(RouteOutcome::Routed { authority_id, deadline, duplicate_of: original.map(|o| o.id) })
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// The nearest open message of the same category within the category's radius, if any.
    async fn find_original(&self, message: &Message, region: &RegionData) -> Result<Option<Message>, ServiceError> {
        let Some(loc) = message.location else {
            return Ok(None);
        };
        let radius = f64::from(region.duplicate_radius_m(&message.category_id).min(crate::geo::MAX_RADIUS_M));
        let cells = crate::geo::cell_and_neighbours(loc.lat(), loc.lon());
        let candidates = self.store.open_in_cells(&message.category_id, &cells, 200).await?;
        Ok(candidates
            .into_iter()
            .filter(|c| c.id != message.id && c.awaits_answer() && c.duplicate_of.is_none())
            .filter_map(|c| c.location.map(|l| (l.distance_m(&loc), c)))
            .filter(|(d, _)| *d <= radius)
            .min_by(|(a, ca), (b, cb)| a.total_cmp(b).then(ca.id.cmp(&cb.id)))
            .map(|(_, c)| c))
    }
}
