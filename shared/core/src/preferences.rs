//! How a resident wants to hear from the platform ([`Preferences`]) and which places and topics
//! they follow ([`Subscription`], FixMyStreet's "alerts"); [`Subscription::matches`] tells
//! whether a message's public trace ([`PublicEvent`]) concerns a subscription.
//!
//! In-portal notifications are always on and are not a preference. A resident keeps at most
//! [`MAX_SUBSCRIPTIONS`]; the store enforces it inside the write, so concurrent requests cannot
//! overshoot it. The browsers a resident turned push notifications on in are their
//! [`PushSubscription`]s, at most [`MAX_PUSH_SUBSCRIPTIONS`], one per endpoint.

use crate::actor::{Actor, Role};
use crate::error::{FieldErrors, ServiceError};
use crate::ids::{CategoryId, CitizenId, MunicipalityId, PushSubscriptionId, SubscriptionId};
use crate::message::Message;
use crate::ports::{Clock, ReferenceStore, StoreError};
use crate::reference::Reference;
use crate::region::{ReachSettings, RegionData};
use crate::values::Location;
use crate::views::local_time;
use async_trait::async_trait;
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How many subscriptions one resident keeps at most.
pub const MAX_SUBSCRIPTIONS: u32 = 20;
/// How many browsers one resident receives push notifications in at most.
pub const MAX_PUSH_SUBSCRIPTIONS: u32 = 10;
/// The smallest radius around a point, metres.
pub const MIN_RADIUS_M: u32 = 100;
/// The largest radius around a point, metres.
pub const MAX_RADIUS_M: u32 = 5000;

/// The channels besides the portal a resident is told through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Channels {
    pub email: bool,
    pub push: bool,
    pub sms: bool,
}

/// How often news is sent: each at once, or gathered once a day or a week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Digest {
    Instant,
    Daily,
    Weekly,
}

/// Hours nothing is sent in, local time `HH:MM`; `from` after `to` spans midnight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"from": "22:00", "to": "08:00"}))]
pub struct QuietHours {
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub from: String,
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub to: String,
}

/// A resident's notification preferences (`GET`/`PUT /v1/me/preferences`); a `PUT` replaces
/// them whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channels": {"email": true, "push": false, "sms": false}, "digest": "daily", "quiet_hours": {"from": "22:00", "to": "08:00"}}))]
pub struct Preferences {
    pub channels: Channels,
    pub digest: Digest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
}

const BAD_TIME: &str = "время в формате ЧЧ:ММ, от 00:00 до 23:59";

/// Whether `raw` is a time of day written `HH:MM`, 00:00 to 23:59.
pub fn is_clock_time(raw: &str) -> bool {
    let b = raw.as_bytes();
    let digit = |i: usize| b.get(i).filter(|c| c.is_ascii_digit()).map(|c| u32::from(c - b'0'));
    match (b.len(), b.get(2), digit(0), digit(1), digit(3), digit(4)) {
        (5, Some(b':'), Some(h1), Some(h2), Some(m1), Some(_)) => h1 * 10 + h2 <= 23 && m1 <= 5,
        _ => false,
    }
}

impl Preferences {
    /// What a resident who set nothing gets: each news at once, by e-mail when their token
    /// names an address, nothing else.
    pub fn defaults(actor: &Actor) -> Preferences {
        Preferences {
            channels: Channels { email: actor.email.is_some(), push: false, sms: false },
            digest: Digest::Instant,
            quiet_hours: None,
        }
    }

    /// The preferences when their times are valid; every bad field reported at once.
    pub fn validated(self) -> Result<Preferences, ServiceError> {
        let mut errs = FieldErrors::new();
        if let Some(q) = &self.quiet_hours {
            for (field, value) in [("quiet_hours.from", &q.from), ("quiet_hours.to", &q.to)] {
                if !is_clock_time(value) {
                    errs.push(field, BAD_TIME);
                }
            }
            if errs.is_empty() && q.from == q.to {
                errs.push("quiet_hours.to", "конец тихих часов должен отличаться от начала");
            }
        }
        errs.finish()?;
        Ok(self)
    }

    /// Refuses a channel the region has not turned on (SMS, `reach.sms_enabled`).
    pub fn check_channels(&self, reach: &ReachSettings) -> Result<(), ServiceError> {
        let mut errs = FieldErrors::new();
        if self.channels.sms && !reach.sms_enabled {
            errs.push("channels.sms", SMS_NOT_IN_REGION);
        }
        errs.finish()
    }
}

/// What a resident who asks for SMS in a region without it is told.
pub const SMS_NOT_IN_REGION: &str = "SMS-уведомления в регионе не подключены";

/// A point and a radius around it, as the body of `POST /v1/me/subscriptions` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CenterRequest {
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
}

/// The body of `POST /v1/me/subscriptions`: a municipality, a circle (`center` with
/// `radius_m`) or both, optionally narrowed to a category and its subcategories.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"center": {"lat": 57.153, "lon": 65.541}, "radius_m": 500, "category_id": "dorogi-yamy"}))]
pub struct SubscriptionRequest {
    #[schema(pattern = "^[a-z0-9-]{1,64}$")]
    #[serde(default)]
    pub municipality_id: Option<String>,
    #[serde(default)]
    pub center: Option<CenterRequest>,
    #[schema(minimum = 100, maximum = 5000)]
    #[serde(default)]
    pub radius_m: Option<u32>,
    #[schema(pattern = "^[a-z0-9-]{1,64}$")]
    #[serde(default)]
    pub category_id: Option<String>,
}

/// What a subscription follows, checked against the region's reference data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality_id: Option<MunicipalityId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub center: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius_m: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<CategoryId>,
}

/// The id `raw` names when it parses and `exists`; otherwise `None`, and the reason recorded
/// under `field`.
fn known<T, E: std::fmt::Display>(
    errs: &mut FieldErrors,
    field: &str,
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, E>,
    exists: impl Fn(&T) -> bool,
    unknown: &str,
) -> Option<T> {
    let id = errs.check(field, parse(raw?))?;
    if exists(&id) {
        Some(id)
    } else {
        errs.push(field, unknown);
        None
    }
}

impl SubscriptionRequest {
    /// Parses every field against `region`, reporting all problems at once. A place is
    /// required; a center needs its radius and a radius its center.
    pub fn parse(self, region: &RegionData) -> Result<Place, ServiceError> {
        let mut errs = FieldErrors::new();
        let municipality_id = known(
            &mut errs,
            "municipality_id",
            self.municipality_id.as_deref(),
            MunicipalityId::parse,
            |id| region.municipality(id).is_some(),
            "такого муниципального образования нет в регионе",
        );
        let category_id = known(
            &mut errs,
            "category_id",
            self.category_id.as_deref(),
            CategoryId::parse,
            |id| region.category(id).is_some(),
            "такой категории нет в справочнике",
        );
        let center = self.center.and_then(|c| errs.check("center", Location::new(c.lat, c.lon)));
        match (self.center.is_some(), self.radius_m) {
            (true, None) => errs.push("radius_m", "укажите радиус вокруг точки, от 100 до 5000 м"),
            (false, Some(_)) => errs.push("center", "радиус задаётся вместе с точкой"),
            (_, Some(r)) if !(MIN_RADIUS_M..=MAX_RADIUS_M).contains(&r) => {
                errs.push("radius_m", "радиус от 100 до 5000 м")
            }
            _ => {}
        }
        if self.municipality_id.is_none() && self.center.is_none() {
            errs.push("municipality_id", "укажите муниципальное образование или точку с радиусом");
        }
        errs.finish()?;
        Ok(Place { municipality_id, center, radius_m: self.radius_m, category_id })
    }
}

/// A resident's subscription, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub owner: CitizenId,
    #[serde(flatten)]
    pub place: Place,
    pub created_at: DateTime<Utc>,
}

/// The public trace of a message a subscription may follow: its municipality, its coarsened
/// point and its category with the category's ancestors.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicEvent {
    pub municipality_id: MunicipalityId,
    pub location: Option<Location>,
    /// The message's category first, then its parent, up to the root.
    pub categories: Vec<CategoryId>,
}

impl PublicEvent {
    /// The public trace of `m`; `None` while the public may not see it (see
    /// [`Message::is_publicly_visible`]).
    pub fn of(m: &Message, region: &RegionData) -> Option<PublicEvent> {
        if !m.is_publicly_visible() {
            return None;
        }
        let location = m.location.and_then(|l| {
            let (lat, lon) = crate::scrub::coarsen(l.lat(), l.lon());
            Location::new(lat, lon).ok()
        });
        let mut categories = vec![m.category_id.clone()];
        let mut next = region.category(&m.category_id).and_then(|c| c.parent_id.clone());
        while let Some(id) = next.filter(|id| !categories.contains(id)) {
            next = region.category(&id).and_then(|c| c.parent_id.clone());
            categories.push(id);
        }
        Some(PublicEvent { municipality_id: m.municipality_id.clone(), location, categories })
    }
}

impl Subscription {
    /// Whether the event concerns this subscription: in its municipality, within its circle
    /// (haversine, from the public point) and of its category or a subcategory, each where given.
    pub fn matches(&self, event: &PublicEvent) -> bool {
        let p = &self.place;
        let municipality = p.municipality_id.as_ref().is_none_or(|m| *m == event.municipality_id);
        let circle = match (p.center, p.radius_m) {
            (Some(c), Some(r)) => event.location.is_some_and(|l| c.distance_m(&l) <= f64::from(r)),
            (None, None) => true,
            _ => false,
        };
        let category = p.category_id.as_ref().is_none_or(|c| event.categories.contains(c));
        municipality && circle && category
    }
}

/// A subscription as its resident reads it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SubscriptionView {
    pub id: SubscriptionId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub municipality_id: Option<MunicipalityId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub center: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub radius_m: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_id: Option<CategoryId>,
    pub created_at: DateTime<FixedOffset>,
}

impl SubscriptionView {
    pub fn of(s: &Subscription, tz: &chrono_tz::Tz) -> SubscriptionView {
        SubscriptionView {
            id: s.id,
            municipality_id: s.place.municipality_id.clone(),
            center: s.place.center,
            radius_m: s.place.radius_m,
            category_id: s.place.category_id.clone(),
            created_at: local_time(s.created_at, tz),
        }
    }
}

/// A browser's push subscription as stored: the push service's endpoint and the keys a payload
/// is encrypted to. The endpoint is a capability: only its origin is ever shown or exported.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubscription {
    pub id: PushSubscriptionId,
    pub owner: CitizenId,
    pub endpoint: String,
    pub endpoint_origin: String,
    /// The browser's P-256 public key, base64url of the uncompressed point.
    pub p256dh: String,
    /// The browser's 16-byte authentication secret, base64url.
    pub auth: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for PushSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSubscription")
            .field("id", &self.id)
            .field("endpoint_origin", &self.endpoint_origin)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A subscription a browser handed over, already checked (`feedback_push::Subscription`).
#[derive(Clone)]
pub struct NewPushSubscription {
    pub endpoint: String,
    pub endpoint_origin: String,
    pub p256dh: String,
    pub auth: String,
}

/// A push subscription as its resident reads it: never the keys nor the whole endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PushSubscriptionView {
    pub id: PushSubscriptionId,
    /// `scheme://host[:port]` of the push service.
    #[schema(example = "https://fcm.googleapis.com")]
    pub endpoint_origin: String,
    pub created_at: DateTime<FixedOffset>,
}

impl PushSubscriptionView {
    pub fn of(s: &PushSubscription, tz: &chrono_tz::Tz) -> PushSubscriptionView {
        PushSubscriptionView {
            id: s.id.clone(),
            endpoint_origin: s.endpoint_origin.clone(),
            created_at: local_time(s.created_at, tz),
        }
    }
}

/// A push subscription in the resident's export: where it points and since when.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExportedPushSubscription {
    pub endpoint_origin: String,
    pub created_at: DateTime<FixedOffset>,
}

impl ExportedPushSubscription {
    pub fn of(s: &PushSubscription, tz: &chrono_tz::Tz) -> ExportedPushSubscription {
        ExportedPushSubscription {
            endpoint_origin: s.endpoint_origin.clone(),
            created_at: local_time(s.created_at, tz),
        }
    }
}

/// What [`ReachStore::put_push_subscription`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushStored {
    /// A new endpoint of the resident's.
    Added,
    /// The resident's subscription of the same endpoint, replaced.
    Replaced,
    /// Nothing written: the resident has the most there may be.
    Full,
}

/// What [`ReachStore::erase_reach`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReachErased {
    pub preferences: bool,
    pub subscriptions: u32,
    pub push_subscriptions: u32,
    /// The resident's contact addresses (`feedback_core::delivery::Contact`), kept beside the
    /// preferences.
    pub contacts: u32,
    /// The deliveries to the resident (`feedback_core::delivery::Delivery`), sent or not.
    pub deliveries: u32,
}

/// Where preferences and subscriptions are kept, by resident.
#[async_trait]
pub trait ReachStore: Send + Sync + 'static {
    async fn get_preferences(&self, citizen: &CitizenId) -> Result<Option<Preferences>, StoreError>;

    /// Replaces the resident's preferences.
    async fn put_preferences(&self, citizen: &CitizenId, preferences: &Preferences) -> Result<(), StoreError>;

    /// Deletes the resident's preferences, every subscription, push subscription and contact
    /// address of theirs, in one transaction, and every delivery to them; what was there.
    async fn erase_reach(&self, citizen: &CitizenId) -> Result<ReachErased, StoreError>;

    /// The resident's subscriptions, oldest first (there are at most [`MAX_SUBSCRIPTIONS`]).
    async fn subscriptions(&self, citizen: &CitizenId) -> Result<Vec<Subscription>, StoreError>;

    /// Stores the subscription unless its owner already has `max`; false (nothing written) then.
    /// The count is checked in the same transaction as the write.
    async fn add_subscription(&self, subscription: &Subscription, max: u32) -> Result<bool, StoreError>;

    /// Deletes the resident's subscription; false when they have none of this id.
    async fn delete_subscription(&self, citizen: &CitizenId, id: &SubscriptionId) -> Result<bool, StoreError>;

    /// The resident's push subscriptions with their keys, oldest first (there are at most
    /// [`MAX_PUSH_SUBSCRIPTIONS`]): the browsers a notification is pushed to.
    async fn push_subscriptions(&self, citizen: &CitizenId) -> Result<Vec<PushSubscription>, StoreError>;

    /// Replaces the owner's push subscription of the same id (the same endpoint), or adds it
    /// unless they have `max` already; the count is checked in the same transaction as the write.
    async fn put_push_subscription(&self, subscription: &PushSubscription, max: u32) -> Result<PushStored, StoreError>;

    /// Deletes the resident's push subscription (as when its push service says it is gone);
    /// false when they have none of this id.
    async fn delete_push_subscription(&self, citizen: &CitizenId, id: &PushSubscriptionId) -> Result<bool, StoreError>;
}

/// The residents' preferences and subscriptions.
pub struct Reach<S, C> {
    store: S,
    clock: C,
    reference: Arc<Reference<S>>,
}

/// The caller when they are a resident; 403 otherwise.
pub fn resident(actor: &Actor) -> Result<&CitizenId, ServiceError> {
    if actor.has(Role::Citizen) {
        Ok(&actor.id)
    } else {
        Err(ServiceError::Forbidden("уведомления и подписки настраивают жители"))
    }
}

impl<S, C> Reach<S, C>
where
    S: ReachStore + ReferenceStore,
    C: Clock,
{
    pub fn new(store: S, clock: C, reference: Arc<Reference<S>>) -> Self {
        Self { store, clock, reference }
    }

    /// The caller's preferences, or the defaults when they set none.
    pub async fn preferences(&self, actor: &Actor) -> Result<Preferences, ServiceError> {
        let me = resident(actor)?;
        Ok(self.store.get_preferences(me).await?.unwrap_or_else(|| Preferences::defaults(actor)))
    }

    /// Replaces the caller's preferences; returns them as stored.
    pub async fn set_preferences(&self, actor: &Actor, preferences: Preferences) -> Result<Preferences, ServiceError> {
        let me = resident(actor)?;
        let preferences = preferences.validated()?;
        preferences.check_channels(&self.reference.snapshot().await?.value.reach)?;
        self.store.put_preferences(me, &preferences).await?;
        Ok(preferences)
    }

    /// The caller's subscriptions, oldest first.
    pub async fn subscriptions(&self, actor: &Actor) -> Result<Vec<SubscriptionView>, ServiceError> {
        let me = resident(actor)?;
        let tz = self.reference.snapshot().await?.value.time_zone();
        Ok(self.store.subscriptions(me).await?.iter().map(|s| SubscriptionView::of(s, &tz)).collect())
    }

    /// Adds a subscription of the caller; 409 `subscription_limit` when they have
    /// [`MAX_SUBSCRIPTIONS`] already.
    pub async fn subscribe(
        &self,
        actor: &Actor,
        request: SubscriptionRequest,
    ) -> Result<SubscriptionView, ServiceError> {
        let me = resident(actor)?;
        let region = self.reference.snapshot().await?;
        let place = request.parse(&region.value)?;
        let now = self.clock.now();
        let subscription = Subscription { id: SubscriptionId::new_at(now), owner: me.clone(), place, created_at: now };
        if !self.store.add_subscription(&subscription, MAX_SUBSCRIPTIONS).await? {
            return Err(ServiceError::Conflict {
                code: "subscription_limit",
                detail: format!(
                    "Можно держать не больше {MAX_SUBSCRIPTIONS} подписок: удалите ненужную, чтобы добавить новую."
                ),
            });
        }
        Ok(SubscriptionView::of(&subscription, &region.value.time_zone()))
    }

    /// Removes a subscription of the caller; 404 when they have none of this id.
    pub async fn unsubscribe(&self, actor: &Actor, id: &SubscriptionId) -> Result<(), ServiceError> {
        let me = resident(actor)?;
        if self.store.delete_subscription(me, id).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound)
        }
    }

    /// The browsers the caller receives push notifications in, oldest first.
    pub async fn push_subscriptions(&self, actor: &Actor) -> Result<Vec<PushSubscriptionView>, ServiceError> {
        let me = resident(actor)?;
        let tz = self.reference.snapshot().await?.value.time_zone();
        Ok(self.store.push_subscriptions(me).await?.iter().map(|s| PushSubscriptionView::of(s, &tz)).collect())
    }

    /// Keeps a browser's push subscription of the caller; the same endpoint again replaces the
    /// one kept. 409 `push_subscription_limit` when they have [`MAX_PUSH_SUBSCRIPTIONS`] others.
    /// Turning push on in a browser is asking for push: the preferences' push channel is turned
    /// on with it.
    pub async fn add_push_subscription(
        &self,
        actor: &Actor,
        new: NewPushSubscription,
    ) -> Result<PushSubscriptionView, ServiceError> {
        let me = resident(actor)?;
        let tz = self.reference.snapshot().await?.value.time_zone();
        let subscription = PushSubscription {
            id: PushSubscriptionId::of_endpoint(&new.endpoint),
            owner: me.clone(),
            endpoint: new.endpoint,
            endpoint_origin: new.endpoint_origin,
            p256dh: new.p256dh,
            auth: new.auth,
            created_at: self.clock.now(),
        };
        match self.store.put_push_subscription(&subscription, MAX_PUSH_SUBSCRIPTIONS).await? {
            PushStored::Added | PushStored::Replaced => {
                let mut prefs = self.store.get_preferences(me).await?.unwrap_or_else(|| Preferences::defaults(actor));
                if !prefs.channels.push {
                    prefs.channels.push = true;
                    self.store.put_preferences(me, &prefs).await?;
                }
                Ok(PushSubscriptionView::of(&subscription, &tz))
            }
            PushStored::Full => Err(ServiceError::Conflict {
                code: "push_subscription_limit",
                detail: format!(
                    "Уведомления можно включить не больше чем в {MAX_PUSH_SUBSCRIPTIONS} браузерах: выключите их в \
                     ненужном, чтобы включить здесь."
                ),
            }),
        }
    }

    /// Forgets a browser's push subscription of the caller; 404 when they have none of this id.
    pub async fn remove_push_subscription(&self, actor: &Actor, id: &PushSubscriptionId) -> Result<(), ServiceError> {
        let me = resident(actor)?;
        if self.store.delete_push_subscription(me, id).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> RegionData {
        crate::testing::sample_region()
    }

    fn cat(s: &str) -> CategoryId {
        CategoryId::parse(s).unwrap()
    }

    fn muni(s: &str) -> MunicipalityId {
        MunicipalityId::parse(s).unwrap()
    }

    fn actor(email: bool) -> Actor {
        let mut claims = std::collections::HashMap::from([
            ("sub".to_owned(), "alice".to_owned()),
            ("roles".to_owned(), "citizen".to_owned()),
        ]);
        if email {
            claims.insert("email".into(), "alice@example.ru".into());
        }
        Actor::from_claims(&claims).unwrap()
    }

    fn errors(e: ServiceError) -> Vec<(String, String)> {
        match e {
            ServiceError::Validation(v) => v.into_iter().map(|f| (f.field, f.message)).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn defaults_send_email_only_to_a_token_with_an_address() {
        let with = Preferences::defaults(&actor(true));
        assert_eq!(with.channels, Channels { email: true, push: false, sms: false });
        assert_eq!((with.digest, with.quiet_hours), (Digest::Instant, None));
        assert!(!Preferences::defaults(&actor(false)).channels.email);
    }

    #[test]
    fn clock_times_are_hh_mm_within_a_day() {
        for ok in ["00:00", "08:30", "23:59", "19:05"] {
            assert!(is_clock_time(ok), "{ok}");
        }
        for bad in ["24:00", "7:00", "07:60", "0700", "07:00:00", "ab:cd", "", "07-00", "２３:00"] {
            assert!(!is_clock_time(bad), "{bad}");
        }
    }

    #[test]
    fn sms_is_refused_unless_the_region_turns_it_on() {
        let sms = Preferences {
            channels: Channels { email: false, push: false, sms: true },
            digest: Digest::Instant,
            quiet_hours: None,
        };
        let off = ReachSettings::default();
        assert!(!off.sms_enabled, "off unless the region file turns it on");
        assert_eq!(
            errors(sms.check_channels(&off).unwrap_err()),
            [("channels.sms".to_owned(), SMS_NOT_IN_REGION.to_owned())]
        );
        assert!(sms.check_channels(&ReachSettings { sms_enabled: true }).is_ok());
        assert!(Preferences::defaults(&actor(true)).check_channels(&off).is_ok());
    }

    #[test]
    fn bad_quiet_hours_are_named_in_russian() {
        let p = |from: &str, to: &str| Preferences {
            channels: Channels { email: false, push: true, sms: false },
            digest: Digest::Daily,
            quiet_hours: Some(QuietHours { from: from.into(), to: to.into() }),
        };
        assert!(p("22:00", "08:00").validated().is_ok());
        let e = errors(p("25:00", "8").validated().unwrap_err());
        assert_eq!(e.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(), ["quiet_hours.from", "quiet_hours.to"]);
        assert!(e.iter().all(|(_, m)| m.contains("ЧЧ:ММ")));
        assert_eq!(errors(p("22:00", "22:00").validated().unwrap_err())[0].0, "quiet_hours.to");
    }

    #[test]
    fn unknown_fields_and_digests_do_not_parse() {
        let unknown = serde_json::json!({"channels": {"email": true, "push": false, "sms": false}, "digest": "daily", "pigeon": true});
        assert!(serde_json::from_value::<Preferences>(unknown).is_err());
        let digest = serde_json::json!({"channels": {"email": true, "push": false, "sms": false}, "digest": "hourly"});
        assert!(serde_json::from_value::<Preferences>(digest).is_err());
        let missing = serde_json::json!({"channels": {"email": true}, "digest": "daily"});
        assert!(serde_json::from_value::<Preferences>(missing).is_err());
    }

    #[test]
    fn a_subscription_needs_a_known_place_and_a_radius_with_its_center() {
        let r = region();
        let ok = SubscriptionRequest {
            center: Some(CenterRequest { lat: 57.15, lon: 65.54 }),
            radius_m: Some(500),
            category_id: Some("dorogi-yamy".into()),
            ..Default::default()
        };
        let place = ok.clone().parse(&r).unwrap();
        assert_eq!((place.radius_m, place.category_id), (Some(500), Some(cat("dorogi-yamy"))));
        let fields = |req: SubscriptionRequest| {
            errors(req.parse(&r).unwrap_err()).into_iter().map(|(f, _)| f).collect::<Vec<_>>()
        };
        assert_eq!(fields(SubscriptionRequest::default()), ["municipality_id"]);
        assert_eq!(fields(SubscriptionRequest { radius_m: None, ..ok.clone() }), ["radius_m"]);
        assert_eq!(fields(SubscriptionRequest { radius_m: Some(99), ..ok.clone() }), ["radius_m"]);
        assert_eq!(fields(SubscriptionRequest { radius_m: Some(5001), ..ok.clone() }), ["radius_m"]);
        assert_eq!(
            fields(SubscriptionRequest { municipality_id: Some("tyumen".into()), center: None, ..ok.clone() }),
            ["center"]
        );
        assert_eq!(
            fields(SubscriptionRequest {
                municipality_id: Some("atlantis".into()),
                category_id: Some("nope".into()),
                ..ok.clone()
            }),
            ["municipality_id", "category_id"]
        );
        let by_town = SubscriptionRequest { municipality_id: Some("tyumen".into()), ..Default::default() };
        assert!(by_town.parse(&r).is_ok());
    }

    fn message(public: bool, status: crate::message::Status) -> Message {
        let at = DateTime::parse_from_rfc3339("2026-11-27T10:00:00+05:00").unwrap().to_utc();
        let input = crate::submission::NewMessage {
            category_id: cat("dorogi-yamy"),
            text: crate::values::MessageText::parse("Глубокая яма во дворе").unwrap(),
            municipality_id: None,
            address: None,
            location: Some(Location::new(57.1531, 65.5412).unwrap()),
            photo_ids: Default::default(),
            public,
        };
        let author = CitizenId::parse("bob").unwrap();
        let (mut m, _) = crate::submission::new_submission(&author, &input, muni("tyumen"), at, chrono_tz::UTC);
        m.status = status;
        m
    }

    fn subscription(place: Place) -> Subscription {
        Subscription {
            id: SubscriptionId::new_at(Utc::now()),
            owner: CitizenId::parse("alice").unwrap(),
            place,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn only_public_routed_unrejected_messages_make_events() {
        use crate::message::Status;
        let r = region();
        assert!(PublicEvent::of(&message(true, Status::Routed), &r).is_some());
        assert!(PublicEvent::of(&message(true, Status::Closed), &r).is_some());
        assert!(PublicEvent::of(&message(false, Status::Routed), &r).is_none());
        assert!(PublicEvent::of(&message(true, Status::Submitted), &r).is_none());
        assert!(PublicEvent::of(&message(true, Status::Rejected), &r).is_none());
        let e = PublicEvent::of(&message(true, Status::Routed), &r).unwrap();
        let l = e.location.unwrap();
        assert_eq!((l.lat(), l.lon()), (57.153, 65.542), "the public point is the coarsened one");
        assert_eq!(e.categories.first(), Some(&cat("dorogi-yamy")));
    }

    #[test]
    fn subscriptions_match_by_municipality_circle_and_category_tree() {
        use crate::message::Status;
        let r = region();
        let event = PublicEvent::of(&message(true, Status::Routed), &r).unwrap();
        let at = |lat, lon, radius| Place {
            municipality_id: None,
            center: Some(Location::new(lat, lon).unwrap()),
            radius_m: Some(radius),
            category_id: None,
        };
        assert!(subscription(at(57.153, 65.542, 100)).matches(&event));
        // About 1.1 km north of the public point.
        assert!(!subscription(at(57.163, 65.542, 1000)).matches(&event));
        assert!(subscription(at(57.163, 65.542, 1200)).matches(&event));
        let town = |m: &str, c: Option<&str>| Place {
            municipality_id: Some(muni(m)),
            center: None,
            radius_m: None,
            category_id: c.map(cat),
        };
        assert!(subscription(town("tyumen", None)).matches(&event));
        assert!(!subscription(town("tobolsk", None)).matches(&event));
        assert!(subscription(town("tyumen", Some("dorogi-yamy"))).matches(&event));
        assert!(!subscription(town("tyumen", Some("zhkh-musor"))).matches(&event));
        let parent = r.category(&cat("dorogi-yamy")).and_then(|c| c.parent_id.clone());
        if let Some(parent) = parent {
            assert!(subscription(town("tyumen", Some(parent.as_str()))).matches(&event), "a parent covers its leaves");
        }
        let without_point = PublicEvent { location: None, ..event.clone() };
        assert!(!subscription(at(57.153, 65.542, 5000)).matches(&without_point));
    }
}
