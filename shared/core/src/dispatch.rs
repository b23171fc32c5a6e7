//! The delivery pipeline's use cases: planning the deliveries a notification owes (its author
//! and, for public news, the subscribers it concerns), attempting one delivery through its
//! channel's [`Transport`], the sweep of due deliveries, digests, the delivery log, the
//! residents' contact addresses and one-click unsubscribe.

use crate::actor::{Actor, Role};
use crate::delivery::{
    digest_subject, quiet_until, unsubscribe_token, verify_unsubscribe_token, Address, Audience, Channel, Contact,
    Delivery, DeliveryLogEntry, DeliveryStatus, DeliveryStore, ErrorClass, Outgoing, Payload, Period, SendError,
    TokenError, Transport, CLAIM_LEASE, UNSUBSCRIBE_VALID_FOR,
};
use crate::error::ServiceError;
use crate::ids::CitizenId;
use crate::notification::{Notification, NotificationKind};
use crate::ports::{notification_time_key, Clock, MessageStore, NotificationStore, ReferenceStore};
use crate::preferences::{Channels, Digest, Preferences, PublicEvent, ReachStore};
use crate::reference::Reference;
use crate::region::{ReachSettings, RegionData};
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use std::sync::Arc;

/// How many due deliveries or digest residents one page reads.
pub const PAGE: usize = 100;
/// The most notifications one digest lists.
pub const DIGEST_LIMIT: usize = 50;

/// What the pipeline needs besides its store: the channels that have a transport, where the
/// portal and the API are, and the secret unsubscribe links are signed with.
#[derive(Clone)]
pub struct DeliverySettings {
    pub channels: Vec<Channel>,
    pub portal_url: String,
    /// The API's public base URL; the unsubscribe link is `{api_url}/v1/unsubscribe?token=…`.
    pub api_url: String,
    pub unsubscribe_secret: Arc<[u8]>,
}

impl DeliverySettings {
    /// The settings of a pipeline that sends nothing: it verifies unsubscribe tokens (signed
    /// with `unsubscribe_secret`), turns channels off and reads delivery logs.
    pub fn verifying(unsubscribe_secret: Arc<[u8]>) -> Self {
        DeliverySettings { channels: Vec::new(), portal_url: String::new(), api_url: String::new(), unsubscribe_secret }
    }
}

impl std::fmt::Debug for DeliverySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliverySettings")
            .field("channels", &self.channels)
            .field("portal_url", &self.portal_url)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

/// What an attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempted {
    /// Nothing to do: unknown, already sent or dead, held by another consumer, or not yet due.
    Skipped,
    /// Quiet hours; it waits until they end.
    Deferred,
    Suppressed(ErrorClass),
    Sent,
    Retry,
    Dead(ErrorClass),
}

/// The delivery pipeline over a store and a clock.
pub struct Deliveries<S, C> {
    store: S,
    clock: C,
    reference: Arc<Reference<S>>,
    settings: DeliverySettings,
}

/// Whether a transition's news goes to subscribers as well as the author.
fn is_public_news(kind: NotificationKind) -> bool {
    matches!(kind, NotificationKind::Routed | NotificationKind::Answered)
}

impl<S, C> Deliveries<S, C>
where
    S: DeliveryStore + ReachStore + MessageStore + NotificationStore + ReferenceStore,
    C: Clock,
{
    pub fn new(store: S, clock: C, reference: Arc<Reference<S>>, settings: DeliverySettings) -> Self {
        Self { store, clock, reference, settings }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn settings(&self) -> &DeliverySettings {
        &self.settings
    }

    /// The reference-data cache (the region's code and time zone).
    pub fn reference(&self) -> &Reference<S> {
        &self.reference
    }

    async fn preferences_of(&self, citizen: &CitizenId) -> Result<Preferences, ServiceError> {
        if let Some(p) = self.store.get_preferences(citizen).await? {
            return Ok(p);
        }
        let email = self.store.get_contact(citizen, Channel::Email).await?.and_then(|c| c.usable().cloned());
        Ok(Preferences {
            channels: Channels { email: email.is_some(), push: false, sms: false },
            digest: Digest::Instant,
            quiet_hours: None,
        })
    }

    /// Whether a delivery on `channel` goes out: the host has its transport, the resident asked
    /// for it, and for SMS the region still sends texts (a region that turns SMS off stops the
    /// texts already planned).
    fn wants(&self, p: &Preferences, channel: Channel, region: &RegionData) -> bool {
        self.settings.channels.contains(&channel)
            && match channel {
                Channel::Email => p.channels.email,
                Channel::Push => p.channels.push,
                Channel::Sms => p.channels.sms && region.reach.sms_enabled,
            }
    }

    /// The residents a notification concerns: its author, and for routed and answered public
    /// messages every subscriber whose subscription matches (each once, the author never twice).
    async fn audience(&self, n: &Notification) -> Result<Vec<(CitizenId, Audience)>, ServiceError> {
        let mut out = vec![(n.citizen.clone(), Audience::Author)];
        if !is_public_news(n.kind) {
            return Ok(out);
        }
        let Some(message) = self.store.get_message(&n.message_id).await? else { return Ok(out) };
        let region = self.reference.snapshot().await?;
        let Some(event) = PublicEvent::of(&message, &region.value) else { return Ok(out) };
        let mut subs = self.store.subscriptions_in(&event.municipality_id).await?;
        subs.extend(self.store.point_subscriptions().await?);
        let mut seen: BTreeSet<CitizenId> = BTreeSet::from([n.citizen.clone()]);
        for s in subs.iter().filter(|s| s.matches(&event)) {
            if seen.insert(s.owner.clone()) {
                out.push((s.owner.clone(), Audience::Subscriber));
            }
        }
        Ok(out)
    }

    /// Plans the deliveries a stored notification owes and returns the ids of those still
    /// pending (none for a resident with a daily or weekly digest: the digest tells them): planning again (a redelivered job) writes nothing new and returns the same
    /// pending ids, so a crash between planning and enqueueing loses nothing.
    pub async fn plan(&self, n: &Notification) -> Result<Vec<String>, ServiceError> {
        let now = self.clock.now();
        let region = self.reference.snapshot().await?;
        let expires = now + region.value.retention.notifications();
        let mut pending = Vec::new();
        for (citizen, audience) in self.audience(n).await? {
            let prefs = self.preferences_of(&citizen).await?;
            if prefs.digest != Digest::Instant {
                // The digest lists the resident's notifications: a subscriber's news becomes one.
                if audience == Audience::Subscriber {
                    self.store.put_notification(&n.for_subscriber(&citizen)).await?;
                }
                continue;
            }
            for channel in [Channel::Email, Channel::Push, Channel::Sms] {
                if !self.wants(&prefs, channel, &region.value) {
                    continue;
                }
                let payload = Payload::Transition { notification: n.clone(), audience };
                let planned = Delivery::planned(&n.id, channel, &citizen, payload, now).expiring(expires);
                pending.extend(self.plan_one(&planned).await?);
            }
        }
        Ok(pending)
    }

    /// Writes the delivery unless it exists; its id while it is still pending.
    async fn plan_one(&self, planned: &Delivery) -> Result<Option<String>, ServiceError> {
        if self.store.plan_delivery(planned).await? {
            return Ok(Some(planned.id.clone()));
        }
        Ok(self.store.get_delivery(&planned.id).await?.filter(Delivery::is_open).map(|d| d.id))
    }

    /// Where a delivery goes: the resident's contact on its channel; for Web Push the resident
    /// themself, while they keep a browser subscription (the transport reaches each browser).
    async fn address(&self, d: &Delivery) -> Result<Option<Address>, ServiceError> {
        if d.channel == Channel::Push {
            let any = !self.store.push_subscriptions(&d.recipient).await?.is_empty();
            return Ok(any.then(|| Address::new(d.recipient.as_str())));
        }
        Ok(self.store.get_contact(&d.recipient, d.channel).await?.and_then(|c| c.usable().cloned()))
    }

    fn unsubscribe_url(&self, citizen: &CitizenId, channel: Channel) -> String {
        let expires = self.clock.now() + UNSUBSCRIBE_VALID_FOR;
        let token = unsubscribe_token(&self.settings.unsubscribe_secret, citizen, channel, expires);
        format!("{}/v1/unsubscribe?token={token}", self.settings.api_url.trim_end_matches('/'))
    }

    async fn content(&self, d: &Delivery) -> Result<Outgoing, ServiceError> {
        let unsubscribe = Some(self.unsubscribe_url(&d.recipient, d.channel));
        let portal = &self.settings.portal_url;
        Ok(match &d.payload {
            Payload::Transition { notification, audience } => {
                Outgoing::for_transition(notification, *audience, portal, unsubscribe)
            }
            Payload::Digest { period, start, end, .. } => {
                let before = notification_time_key(*end);
                let mut listed = self.store.list_notifications(&d.recipient, Some(&before), DIGEST_LIMIT).await?;
                listed.retain(|n| n.at >= *start);
                listed.reverse();
                Outgoing::digest(&listed, period, portal, unsubscribe)
            }
        })
    }

    /// Attempts one delivery through `transport` (its channel's): skips one already sent, dead
    /// or held by another consumer; waits out the recipient's quiet hours; suppresses it when
    /// the channel is off or has no usable address; sends; records the outcome. A permanent
    /// failure or a gone address turns the address off. At least once: the delivery is marked
    /// sent only after the transport accepted it.
    pub async fn attempt(&self, id: &str, transport: &dyn Transport) -> Result<Attempted, ServiceError> {
        self.attempt_through(id, &[transport]).await
    }

    /// [`Deliveries::attempt`] through the transport of the delivery's channel among
    /// `transports`; skipped when none carries it.
    pub async fn attempt_through(&self, id: &str, transports: &[&dyn Transport]) -> Result<Attempted, ServiceError> {
        let now = self.clock.now();
        let Some(d) = self.store.get_delivery(id).await? else { return Ok(Attempted::Skipped) };
        let transport = transports.iter().copied().find(|t| t.channel() == d.channel);
        let Some(transport) = transport.filter(|_| d.is_open() && d.next_attempt_at.is_none_or(|t| t <= now)) else {
            return Ok(Attempted::Skipped);
        };
        let prefs = self.preferences_of(&d.recipient).await?;
        let region = self.reference.snapshot().await?;
        let channel_on = self.wants(&prefs, d.channel, &region.value);
        let address = self.address(&d).await?;
        let quiet = prefs.quiet_hours.as_ref().and_then(|q| quiet_until(now, q, &region.value.time_zone()));
        let Some(d) = self.store.claim_delivery(id, now, now + CLAIM_LEASE).await? else {
            return Ok(Attempted::Skipped);
        };
        let (Some(address), true) = (address, channel_on) else {
            let reason = if channel_on { ErrorClass::NoAddress } else { ErrorClass::ChannelOff };
            self.store.save_delivery(&d.suppressed(reason, now)).await?;
            return Ok(Attempted::Suppressed(reason));
        };
        if let Some(until) = quiet {
            self.store.save_delivery(&d.deferred(until)).await?;
            return Ok(Attempted::Deferred);
        }
        let content = self.content(&d).await?;
        let result = transport.send(&address, &content).await;
        let after = d.after_attempt(&result, self.clock.now());
        self.store.save_delivery(&after).await?;
        if matches!(result, Err(SendError::Permanent(_) | SendError::Gone)) {
            self.address_dead(&after.recipient, after.channel).await?;
        }
        Ok(match after.status {
            DeliveryStatus::Sent => Attempted::Sent,
            DeliveryStatus::Dead => {
                let class = after.error_class.unwrap_or(ErrorClass::Permanent);
                tracing::error!(delivery = %after.id, channel = after.channel.as_str(), error_class = ?class, attempts = after.attempts, "delivery given up");
                Attempted::Dead(class)
            }
            _ => Attempted::Retry,
        })
    }

    /// The sweep: the ids of pending deliveries due now, at most `pages` pages of [`PAGE`].
    pub async fn due(&self, pages: usize) -> Result<Vec<String>, ServiceError> {
        let now = self.clock.now();
        let mut ids = Vec::new();
        let mut seen = BTreeSet::new();
        for _ in 0..pages {
            let page = self.store.due_deliveries(now, PAGE).await?;
            let full = page.len() == PAGE;
            let fresh: Vec<String> = page.into_iter().map(|d| d.id).filter(|id| seen.insert(id.clone())).collect();
            let done = fresh.is_empty() || !full;
            ids.extend(fresh);
            if done {
                break;
            }
        }
        Ok(ids)
    }

    /// Plans the digests of the last complete day and week for every resident who asked for
    /// them and has news in the period; the ids of the pending ones. The delivery id derives
    /// from the resident and the period, so repeated and concurrent runs plan each once.
    pub async fn plan_digests(&self) -> Result<Vec<String>, ServiceError> {
        let now = self.clock.now();
        let region = self.reference.snapshot().await?;
        let tz = region.value.time_zone();
        let expires = now + region.value.retention.notifications();
        let mut pending = Vec::new();
        for digest in [Digest::Daily, Digest::Weekly] {
            let Some(period) = Period::last_complete(digest, now, &tz) else { continue };
            let subject = digest_subject(&period);
            let mut after: Option<CitizenId> = None;
            loop {
                let residents = self.store.digest_residents(digest, after.as_ref(), PAGE).await?;
                for citizen in &residents {
                    let before = notification_time_key(period.end);
                    let news = self.store.list_notifications(citizen, Some(&before), 1).await?;
                    if !news.iter().any(|n| n.at >= period.start) {
                        continue;
                    }
                    let prefs = self.preferences_of(citizen).await?;
                    if !self.wants(&prefs, Channel::Email, &region.value) {
                        continue;
                    }
                    let payload =
                        Payload::Digest { digest, period: period.key.clone(), start: period.start, end: period.end };
                    let planned = Delivery::planned(&subject, Channel::Email, citizen, payload, now).expiring(expires);
                    pending.extend(self.plan_one(&planned).await?);
                }
                if residents.len() < PAGE {
                    break;
                }
                after = residents.last().cloned();
            }
        }
        Ok(pending)
    }

    /// The deliveries of a notification, for the region's admins and the ЦУР's officials.
    pub async fn log(&self, actor: &Actor, notification_id: &str) -> Result<Vec<DeliveryLogEntry>, ServiceError> {
        let region = self.reference.snapshot().await?;
        may_read_log(actor, &region.value)?;
        let tz = region.value.time_zone();
        let mut all = self.store.deliveries_of(notification_id).await?;
        all.sort_by(|a, b| (a.channel.as_str(), a.created_at).cmp(&(b.channel.as_str(), b.created_at)));
        Ok(all.iter().map(|d| DeliveryLogEntry::of(d, &tz)).collect())
    }

    /// Keeps the addresses the caller's token brings as their contacts: the e-mail address, and
    /// the phone number where the region sends SMS (elsewhere it is not kept).
    pub async fn remember_contact(&self, actor: &Actor) -> Result<(), ServiceError> {
        let region = self.reference.snapshot().await?;
        remember_contact(&self.store, self.clock.now(), actor, &region.value.reach).await
    }

    /// Turns the resident's address on `channel` off: a bounce, a complaint, a permanent
    /// failure. It stays off until a different address arrives.
    pub async fn address_dead(&self, citizen: &CitizenId, channel: Channel) -> Result<bool, ServiceError> {
        let Some(contact) = self.store.get_contact(citizen, channel).await? else { return Ok(false) };
        turn_off(&self.store, self.clock.now(), citizen, contact).await
    }

    /// The delivery a bounce or complaint event names turns its recipient's address off.
    pub async fn bounced(&self, delivery_id: &str) -> Result<bool, ServiceError> {
        let Some(d) = self.store.get_delivery(delivery_id).await? else { return Ok(false) };
        self.address_dead(&d.recipient, d.channel).await
    }

    /// One-click unsubscribe: the token's channel is turned off in the resident's preferences.
    pub async fn unsubscribe(&self, token: &str) -> Result<Channel, ServiceError> {
        let (citizen, channel) = self.verify(token)?;
        let mut prefs = self.preferences_of(&citizen).await?;
        match channel {
            Channel::Email => prefs.channels.email = false,
            Channel::Push => prefs.channels.push = false,
            Channel::Sms => prefs.channels.sms = false,
        }
        self.store.put_preferences(&citizen, &prefs).await?;
        Ok(channel)
    }

    /// The resident and channel of a valid unsubscribe token; 422 otherwise.
    pub fn verify(&self, token: &str) -> Result<(CitizenId, Channel), ServiceError> {
        verify_unsubscribe_token(&self.settings.unsubscribe_secret, token, self.clock.now()).map_err(|e| {
            ServiceError::field(
                "token",
                match e {
                    TokenError::Expired => "срок действия ссылки для отписки истёк",
                    TokenError::Invalid => "ссылка для отписки недействительна",
                },
            )
        })
    }
}

/// Residents' contact addresses, kept from their tokens by the HTTP functions.
pub struct Contacts<S, C> {
    store: S,
    clock: C,
}

impl<S: DeliveryStore, C: Clock> Contacts<S, C> {
    pub fn new(store: S, clock: C) -> Self {
        Contacts { store, clock }
    }

    /// Keeps the addresses the caller's token brings as their contacts (`remember_contact`).
    pub async fn remember(&self, actor: &Actor, reach: &ReachSettings) -> Result<(), ServiceError> {
        remember_contact(&self.store, self.clock.now(), actor, reach).await
    }

    /// A bounce or a complaint named `address` on `channel`: every resident's contact with that
    /// address is turned off, and stays off until a different address arrives. How many were
    /// on before; a repeated report turns nothing off again. Nothing is logged of the address.
    pub async fn address_reported_dead(&self, channel: Channel, address: &Address) -> Result<u32, ServiceError> {
        let mut turned = 0;
        for (citizen, contact) in self.store.contacts_at(channel, address).await? {
            if contact.channel == channel
                && contact.address.same_as(address)
                && turn_off(&self.store, self.clock.now(), &citizen, contact).await?
            {
                turned += 1;
            }
        }
        Ok(turned)
    }
}

/// Turns `contact` off at `now` unless it is off already; whether it was on.
async fn turn_off<S: DeliveryStore>(
    store: &S,
    now: DateTime<Utc>,
    citizen: &CitizenId,
    mut contact: Contact,
) -> Result<bool, ServiceError> {
    if contact.disabled {
        return Ok(false);
    }
    contact.disabled = true;
    contact.updated_at = now;
    store.put_contact(citizen, &contact).await?;
    tracing::warn!(channel = contact.channel.as_str(), "address turned off");
    Ok(true)
}

/// Keeps the addresses a resident's token brings as their contacts, at `now`: the e-mail
/// address, and the phone number only where the region sends SMS (`reach.sms_enabled`;
/// elsewhere it is not kept). The same address is not written again (and stays off if it was
/// turned off).
pub async fn remember_contact<S: DeliveryStore>(
    store: &S,
    now: DateTime<Utc>,
    actor: &Actor,
    reach: &ReachSettings,
) -> Result<(), ServiceError> {
    if !actor.has(Role::Citizen) {
        return Ok(());
    }
    let phone = actor.phone_number.as_ref().filter(|_| reach.sms_enabled);
    let addresses = [
        (Channel::Email, actor.email.as_ref().map(|e| Address::new(e.as_str()))),
        (Channel::Sms, phone.map(|p| Address::new(p.as_str()))),
    ];
    for (channel, address) in addresses {
        let Some(address) = address else { continue };
        let previous = store.get_contact(&actor.id, channel).await?;
        if previous.as_ref().is_some_and(|c| c.address == address) {
            continue;
        }
        store.put_contact(&actor.id, &Contact::refreshed(previous, channel, &address, now)).await?;
    }
    Ok(())
}

/// Who reads delivery logs: the region's admins and the ЦУР's officials.
pub fn may_read_log(actor: &Actor, region: &RegionData) -> Result<(), ServiceError> {
    if crate::policy::is_center_official(actor, region) {
        return Ok(());
    }
    crate::policy::require_region_admin(actor, region)
}

/// What plans a stored notification's deliveries: the pipeline, or nothing where no channel
/// besides the portal is wired.
#[async_trait::async_trait]
pub trait Planner: Send + Sync {
    /// Plans the notification's deliveries; the ids of those pending.
    async fn plan(&self, notification: &Notification) -> Result<Vec<String>, ServiceError>;
}

/// No channel besides the portal: nothing is planned.
pub struct NoChannels;

#[async_trait::async_trait]
impl Planner for NoChannels {
    async fn plan(&self, _: &Notification) -> Result<Vec<String>, ServiceError> {
        Ok(Vec::new())
    }
}

#[async_trait::async_trait]
impl<S, C> Planner for Deliveries<S, C>
where
    S: DeliveryStore + ReachStore + MessageStore + NotificationStore + ReferenceStore,
    C: Clock,
{
    async fn plan(&self, notification: &Notification) -> Result<Vec<String>, ServiceError> {
        Deliveries::plan(self, notification).await
    }
}
