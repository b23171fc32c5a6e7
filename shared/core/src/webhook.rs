//! Signed webhooks for integrators: endpoints a region admin registers, the events the platform
//! publishes to them, their signing by the Standard Webhooks specification
//! (<https://www.standardwebhooks.com>), the delivery records with their retry schedule, the
//! addresses a delivery may never reach, and the `WebhookStore` port.

use crate::error::FieldErrors;
pub use crate::event::{Event, EventData, EventType, MessageData, Payload, PollData};
use crate::ids::{AuthorityId, EventId, WebhookId};
use crate::ports::StoreError;
use crate::ServiceError;
use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub mod service;

pub use service::{Attempted, Transport, Webhooks};

/// The prefix of a Standard Webhooks secret; base64 of the key bytes follows it.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new endpoint's secret.
pub const SECRET_BYTES: usize = 32;
/// How long a delivery is retried, and how long an endpoint may fail before it is disabled.
pub const RETRY_WINDOW_HOURS: i64 = 24;
/// How long after a delivery is queued the retry sweep takes it, should its send job be lost; a
/// job may attempt a delivery that is due within this time.
pub const QUEUED_GRACE_SECS: i64 = 20;
/// The longest URL an endpoint may have.
pub const MAX_URL_LEN: usize = 2048;

/// An endpoint's signing secret: `whsec_` and base64 of its key bytes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    pub fn generate() -> Secret {
        let bytes: [u8; SECRET_BYTES] = rand::random();
        Secret(format!("{SECRET_PREFIX}{}", BASE64.encode(bytes)))
    }

    pub fn parse(raw: &str) -> Option<Secret> {
        let key = BASE64.decode(raw.strip_prefix(SECRET_PREFIX)?).ok()?;
        (!key.is_empty()).then(|| Secret(raw.to_string()))
    }

    /// The text shown once, when the endpoint is created.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn key(&self) -> Vec<u8> {
        self.0.strip_prefix(SECRET_PREFIX).and_then(|b| BASE64.decode(b).ok()).unwrap_or_default()
    }

    /// The `webhook-signature` header of one attempt: `v1,` and base64 of
    /// HMAC-SHA256(key, "{id}.{timestamp}.{body}").
    pub fn sign(&self, webhook_id: &str, timestamp: i64, body: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key()).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
        mac.update(format!("{webhook_id}.{timestamp}.").as_bytes());
        mac.update(body.as_bytes());
        format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
    }
}

/// The headers of one attempt; the timestamp and signature are fresh on every attempt.
pub fn signed_headers(
    secret: &Secret,
    webhook_id: &str,
    now: DateTime<Utc>,
    body: &str,
) -> [(&'static str, String); 3] {
    let ts = now.timestamp();
    [
        ("webhook-id", webhook_id.to_string()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", secret.sign(webhook_id, ts, body)),
    ]
}

/// A registered endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<EventType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_id: Option<AuthorityId>,
    pub enabled: bool,
    pub secret: Secret,
    pub created_at: DateTime<Utc>,
    /// When its current run of failed attempts began; cleared by a delivered one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why it was disabled; endpoints disabled before the reason was kept have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<DisabledReason>,
}

/// Why an endpoint no longer takes deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisabledReason {
    /// A region admin disabled it (`POST /v1/webhooks/{id}/disable`).
    Admin,
    /// Every attempt failed for the whole retry window (24 hours), so the platform disabled it.
    Failing,
}

impl Endpoint {
    /// Whether the endpoint takes the event: enabled, subscribed to its type, and for an
    /// authority's endpoint, a message event about that authority.
    pub fn wants(&self, event: &Event) -> bool {
        self.enabled
            && self.events.contains(&event.event_type)
            && match (&self.authority_id, event.event_type.is_message_event()) {
                (Some(a), true) => event.authority() == Some(a),
                _ => true,
            }
    }

    /// Whether it has failed without a success for the whole retry window by `now`.
    pub fn failed_too_long(&self, now: DateTime<Utc>) -> bool {
        self.failing_since.is_some_and(|since| now - since >= Duration::hours(RETRY_WINDOW_HOURS))
    }
}

/// Where deliveries may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destinations {
    /// Only `https` URLs to public addresses.
    Public,
    /// Also `http://127.0.0.1` and `http://localhost`, for a developer's receiver
    /// (`feedback serve --allow-local-webhooks`).
    PublicAndLocal,
}

/// Why a URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("некорректный URL")]
    Malformed,
    #[error("нужен адрес https")]
    NotHttps,
    #[error("адрес не должен содержать имя пользователя или пароль")]
    Credentials,
    #[error("адрес ведёт во внутреннюю или служебную сеть")]
    Forbidden,
    #[error("URL длиннее {MAX_URL_LEN} символов")]
    TooLong,
}

/// A parsed endpoint URL: its host and port, for resolving and pinning at delivery time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub host: String,
    pub port: u16,
    /// The address the URL names literally, if it does.
    pub literal: Option<IpAddr>,
    /// A developer's local receiver (`Destinations::PublicAndLocal` only).
    pub local: bool,
}

/// Checks a URL's syntax, scheme and any literal address. Names are checked again after their
/// resolution, at every delivery ([`check_resolved`]).
pub fn check_url(raw: &str, destinations: Destinations) -> Result<Target, UrlError> {
    if raw.len() > MAX_URL_LEN {
        return Err(UrlError::TooLong);
    }
    let url = url::Url::parse(raw).map_err(|_| UrlError::Malformed)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials);
    }
    let host = url.host().ok_or(UrlError::Malformed)?;
    let (name, literal) = match host {
        url::Host::Domain(d) => (d.to_ascii_lowercase(), None),
        url::Host::Ipv4(a) => (a.to_string(), Some(IpAddr::V4(a))),
        url::Host::Ipv6(a) => (format!("[{a}]"), Some(IpAddr::V6(a))),
    };
    let local = destinations == Destinations::PublicAndLocal
        && url.scheme() == "http"
        && (name == "localhost" || literal == Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    if !local {
        if url.scheme() != "https" {
            return Err(UrlError::NotHttps);
        }
        if literal.is_some_and(forbidden) || name == "localhost" || name.ends_with(".localhost") {
            return Err(UrlError::Forbidden);
        }
    }
    let port = url.port_or_known_default().ok_or(UrlError::Malformed)?;
    Ok(Target { url: url.to_string(), host: name, port, literal, local })
}

/// The address a delivery connects to: the first resolved address, if every resolved address is
/// public (one private answer refuses the name, so that no resolver can pick it later). The caller
/// pins the connection to it.
pub fn check_resolved(target: &Target, resolved: &[IpAddr]) -> Result<IpAddr, UrlError> {
    let first = resolved.first().copied().ok_or(UrlError::Malformed)?;
    if target.local {
        return if resolved.iter().all(|a| a.is_loopback()) { Ok(first) } else { Err(UrlError::Forbidden) };
    }
    if resolved.iter().copied().any(forbidden) {
        return Err(UrlError::Forbidden);
    }
    Ok(first)
}

/// Whether a delivery must never reach the address: loopback, private (RFC 1918, ULA),
/// link-local (the 169.254.169.254 metadata service included), CGNAT, unspecified, multicast,
/// broadcast, documentation, benchmarking and reserved ranges, and IPv4 inside IPv6.
pub fn forbidden(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => forbidden_v4(a),
        IpAddr::V6(a) => forbidden_v6(a),
    }
}

fn forbidden_v4(a: Ipv4Addr) -> bool {
    let [o0, o1, o2, _] = a.octets();
    a.is_unspecified()
        || a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_multicast()
        || a.is_broadcast()
        || a.is_documentation()
        || o0 == 0
        || (o0 == 100 && (64..128).contains(&o1))
        || (o0 == 192 && o1 == 0 && o2 == 0)
        || (o0 == 198 && (o1 == 18 || o1 == 19))
        || o0 >= 240
}

fn forbidden_v6(a: Ipv6Addr) -> bool {
    if let Some(v4) = a.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let s = a.segments();
    let [s0, s1, ..] = s;
    a.is_unspecified()
        || a.is_loopback()
        || a.is_multicast()
        || (s0 & 0xfe00) == 0xfc00
        || (s0 & 0xffc0) == 0xfe80
        || (s0 == 0x2001 && s1 == 0x0db8)
        || (s0 == 0x0064 && s1 == 0xff9b)
        || (s0 == 0x2002)
        || (s0 == 0x2001 && s1 == 0)
        || s[..6] == [0; 6]
}

/// What an admin asks for when registering an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    pub url: String,
    pub events: Vec<String>,
    #[serde(default)]
    pub authority_id: Option<String>,
}

impl NewEndpoint {
    /// The endpoint this request registers, checked against the known authorities.
    pub fn validate(
        &self,
        destinations: Destinations,
        authority_known: impl Fn(&AuthorityId) -> bool,
        at: DateTime<Utc>,
    ) -> Result<Endpoint, ServiceError> {
        let mut errors = FieldErrors::new();
        let url = errors.check("url", check_url(self.url.trim(), destinations));
        let mut events = Vec::new();
        if self.events.is_empty() {
            errors.push("events", "выберите хотя бы одно событие");
        }
        for (i, raw) in self.events.iter().enumerate() {
            match EventType::parse(raw) {
                Some(t) if !events.contains(&t) => events.push(t),
                Some(_) => {}
                None => errors.push(format!("events[{i}]"), "неизвестный тип события"),
            }
        }
        events.sort();
        let authority_id = match self.authority_id.as_deref() {
            None => None,
            Some(raw) => match AuthorityId::parse(raw) {
                Ok(a) if authority_known(&a) => Some(a),
                _ => {
                    errors.push("authority_id", "неизвестное ведомство");
                    None
                }
            },
        };
        errors.finish_with(|| {
            Some(Endpoint {
                id: WebhookId::new_at(at),
                url: url?.url,
                events,
                authority_id,
                enabled: true,
                secret: Secret::generate(),
                created_at: at,
                failing_since: None,
                disabled_at: None,
                disabled_reason: None,
            })
        })
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// An attempt was answered with 2xx.
    Delivered,
    /// Retried for the whole window without success, or its endpoint was disabled.
    Dead,
}

/// How the last attempt ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AttemptResult {
    /// The endpoint answered with this HTTP status.
    Status { status: u16 },
    /// No answer: `timeout`, `connect`, `tls`, `refused_address` (SSRF), `dns` or `other`.
    Error { class: String },
}

impl AttemptResult {
    pub fn delivered(&self) -> bool {
        matches!(self, AttemptResult::Status { status } if (200..300).contains(status))
    }
}

/// One event for one endpoint. Its id is the `webhook-id` of every attempt, stable across retries
/// and redeliveries, derived from the event and the endpoint so that creating it twice is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub id: String,
    pub endpoint_id: WebhookId,
    pub event: Event,
    pub attempts: u32,
    pub status: DeliveryStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_result: Option<AttemptResult>,
    /// When the retry sweep hands it to the deliveries queue again (pending only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookDelivery {
    pub fn id_for(event: &EventId, endpoint: &WebhookId) -> String {
        format!("msg_{event}{endpoint}")
    }

    pub fn new(event: Event, endpoint: &WebhookId, at: DateTime<Utc>) -> WebhookDelivery {
        WebhookDelivery {
            id: WebhookDelivery::id_for(&event.id, endpoint),
            endpoint_id: *endpoint,
            event,
            attempts: 0,
            status: DeliveryStatus::Pending,
            last_result: None,
            next_attempt_at: Some(at + Duration::seconds(QUEUED_GRACE_SECS)),
            created_at: at,
            updated_at: at,
        }
    }

    /// The record after an attempt at `at` ended with `result`: delivered, or pending with its
    /// next attempt after the backoff, or dead once the retry window since its creation is over.
    pub fn attempted(&self, result: AttemptResult, at: DateTime<Utc>) -> WebhookDelivery {
        let mut next = self.clone();
        next.attempts = self.attempts.saturating_add(1);
        next.updated_at = at;
        if result.delivered() {
            next.status = DeliveryStatus::Delivered;
            next.next_attempt_at = None;
        } else {
            let due = at + retry_after(next.attempts);
            if due - self.created_at > Duration::hours(RETRY_WINDOW_HOURS) {
                next.status = DeliveryStatus::Dead;
                next.next_attempt_at = None;
            } else {
                next.status = DeliveryStatus::Pending;
                next.next_attempt_at = Some(due);
            }
        }
        next.last_result = Some(result);
        next
    }

    /// Whether a send job may attempt it at `now`: pending and due within the grace.
    pub fn attemptable(&self, now: DateTime<Utc>) -> bool {
        self.status == DeliveryStatus::Pending
            && self.next_attempt_at.is_some_and(|due| due <= now + Duration::seconds(QUEUED_GRACE_SECS))
    }

    /// Queued again by an admin: pending, its retry window starting afresh.
    pub fn redelivered(&self, at: DateTime<Utc>) -> WebhookDelivery {
        WebhookDelivery {
            status: DeliveryStatus::Pending,
            next_attempt_at: Some(at + Duration::seconds(QUEUED_GRACE_SECS)),
            created_at: at,
            updated_at: at,
            ..self.clone()
        }
    }
}

/// The pause after the `attempt`-th failed attempt: 30 s doubling, at most 4 h. Attempts fall at
/// about 0.5, 1.5, 3.5, 7.5 … minutes, then every 4 hours until the 24 hours are over.
pub fn retry_after(attempt: u32) -> Duration {
    let secs = 30i64.saturating_mul(1i64 << attempt.saturating_sub(1).min(20));
    Duration::seconds(secs.min(4 * 3600))
}

/// The due-time key of a pending delivery: every delivery due at or before `at` sorts before
/// `due_key(at, "~")`.
pub fn due_key(at: DateTime<Utc>, id: &str) -> String {
    format!("{:013}#{id}", at.timestamp_millis().max(0))
}

/// Endpoints and their deliveries, one region's.
#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// Stores a new endpoint; an existing id is a `Conflict`.
    async fn create_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError>;
    async fn get_endpoint(&self, id: &WebhookId) -> Result<Option<Endpoint>, StoreError>;
    /// Every endpoint of the region, oldest first (the region has few; no paging).
    async fn list_endpoints(&self) -> Result<Vec<Endpoint>, StoreError>;
    /// Replaces the endpoint (enabled, failing_since, disabled_at); a missing one is a `Conflict`.
    async fn put_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError>;

    /// Stores the delivery unless one with its id exists; true when it was new.
    async fn create_webhook_delivery(&self, delivery: &WebhookDelivery) -> Result<bool, StoreError>;
    async fn get_webhook_delivery(&self, id: &str) -> Result<Option<WebhookDelivery>, StoreError>;
    /// Replaces the delivery, keeping its due-time key in step with `next_attempt_at`.
    async fn put_webhook_delivery(&self, delivery: &WebhookDelivery) -> Result<(), StoreError>;
    /// An endpoint's deliveries, newest first, at most `limit`.
    async fn list_webhook_deliveries(
        &self,
        endpoint: &WebhookId,
        limit: usize,
    ) -> Result<Vec<WebhookDelivery>, StoreError>;
    /// Pending deliveries due at or before `at`, earliest first, at most `limit`.
    async fn due_webhook_deliveries(&self, at: DateTime<Utc>, limit: usize)
        -> Result<Vec<WebhookDelivery>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::PollId;
    use crate::values::PollKind;
    use chrono::TimeZone;

    #[test]
    fn signs_the_specification_example() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn new_secrets_are_prefixed_random_and_hidden_in_debug() {
        let (a, b) = (Secret::generate(), Secret::generate());
        assert_ne!(a, b);
        assert!(a.expose().starts_with("whsec_"));
        assert_eq!(a.key().len(), SECRET_BYTES);
        assert!(!format!("{a:?}").contains(a.expose()));
        assert!(Secret::parse("nope").is_none());
    }

    #[test]
    fn classifies_addresses() {
        for bad in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(forbidden(bad.parse().unwrap()), "{bad}");
        }
        for good in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!forbidden(good.parse().unwrap()), "{good}");
        }
    }

    #[test]
    fn checks_urls_at_creation() {
        let p = Destinations::Public;
        assert_eq!(check_url("http://169.254.169.254/latest", p), Err(UrlError::NotHttps));
        assert_eq!(check_url("https://169.254.169.254/latest", p), Err(UrlError::Forbidden));
        assert_eq!(check_url("https://10.0.0.1/", p), Err(UrlError::Forbidden));
        assert_eq!(check_url("https://[::1]/", p), Err(UrlError::Forbidden));
        assert_eq!(check_url("https://localhost/", p), Err(UrlError::Forbidden));
        assert_eq!(check_url("https://u:p@example.org/", p), Err(UrlError::Credentials));
        assert_eq!(check_url("not a url", p), Err(UrlError::Malformed));
        assert_eq!(check_url("http://127.0.0.1:9000/", p), Err(UrlError::NotHttps));
        let ok = check_url("https://Hooks.Example.org/in", p).unwrap();
        assert_eq!((ok.host.as_str(), ok.port, ok.local), ("hooks.example.org", 443, false));
        let local = check_url("http://127.0.0.1:9000/hook", Destinations::PublicAndLocal).unwrap();
        assert!(local.local);
        assert_eq!(check_url("http://10.0.0.1/", Destinations::PublicAndLocal), Err(UrlError::NotHttps));
    }

    #[test]
    fn checks_resolved_addresses_before_connecting() {
        let t = check_url("https://hooks.example.org/", Destinations::Public).unwrap();
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(check_resolved(&t, &[public]), Ok(public));
        assert_eq!(check_resolved(&t, &[local]), Err(UrlError::Forbidden));
        assert_eq!(check_resolved(&t, &[public, local]), Err(UrlError::Forbidden));
        assert_eq!(check_resolved(&t, &[]), Err(UrlError::Malformed));
        let dev = check_url("http://localhost:9000/", Destinations::PublicAndLocal).unwrap();
        assert_eq!(check_resolved(&dev, &[local]), Ok(local));
        assert_eq!(check_resolved(&dev, &[public]), Err(UrlError::Forbidden));
    }

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, h, 0, 0).unwrap()
    }

    #[test]
    fn a_poll_event_id_follows_from_the_poll_and_the_transition() {
        let opened = event();
        let EventData::Poll(data) = opened.data.clone() else { panic!("a poll event") };
        let again = Event::about_poll(EventType::PollOpened, data.clone(), at(3));
        assert_eq!(again.id, opened.id, "a rerun publishes the same event");
        let closed = Event::about_poll(EventType::PollClosed, data.clone(), at(5));
        assert_ne!(closed.id, opened.id);
        let other = PollData { poll_id: PollId::new_at(at(0)), ..data };
        assert_ne!(Event::about_poll(EventType::PollOpened, other, at(0)).id, opened.id);
        assert_eq!(opened.id.minted_at(), at(0));
    }

    fn event() -> Event {
        let data = PollData {
            poll_id: PollId::new_at(at(0)),
            kind: PollKind::Vote,
            title: "Благоустройство сквера".into(),
            municipalities: vec![],
            opens_at: at(0),
            closes_at: at(5),
        };
        Event::about_poll(EventType::PollOpened, data, at(0))
    }

    #[test]
    fn retries_with_backoff_for_a_day_then_dies() {
        let endpoint = WebhookId::new_at(at(0));
        let mut d = WebhookDelivery::new(event(), &endpoint, at(0));
        let id = d.id.clone();
        assert!(id.starts_with("msg_"));
        assert_eq!(WebhookDelivery::id_for(&d.event.id, &endpoint), id);
        let mut now = at(0);
        let mut attempts = 0;
        while d.status == DeliveryStatus::Pending {
            now = d.next_attempt_at.unwrap();
            d = d.attempted(AttemptResult::Status { status: 500 }, now);
            attempts += 1;
            assert_eq!(d.id, id);
        }
        assert_eq!(d.status, DeliveryStatus::Dead);
        assert!(now - at(0) <= Duration::hours(24));
        assert!(now - at(0) >= Duration::hours(20));
        assert!((8..20).contains(&attempts), "{attempts}");
        let again = d.redelivered(now);
        assert_eq!((again.status, again.id.as_str()), (DeliveryStatus::Pending, id.as_str()));
        let done = again.attempted(AttemptResult::Status { status: 204 }, now);
        assert_eq!(done.status, DeliveryStatus::Delivered);
        assert_eq!(done.next_attempt_at, None);
    }

    #[test]
    fn validates_new_endpoints_with_russian_messages() {
        let req = NewEndpoint {
            url: "https://10.0.0.1/".into(),
            events: vec!["message.closed".into(), "message.eaten".into()],
            authority_id: Some("nobody".into()),
        };
        let Err(ServiceError::Validation(fields)) = req.validate(Destinations::Public, |_| false, at(0)) else {
            panic!("validation expected")
        };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["url", "events[1]", "authority_id"]);
        assert!(fields.iter().all(|f| f.message.chars().any(|c| ('а'..='я').contains(&c))));
        let empty = NewEndpoint { url: "https://hooks.example.org/".into(), events: vec![], authority_id: None };
        assert!(empty.validate(Destinations::Public, |_| true, at(0)).is_err());
        let ok = NewEndpoint {
            url: "https://hooks.example.org/".into(),
            events: vec!["poll.closed".into(), "message.routed".into()],
            authority_id: None,
        }
        .validate(Destinations::Public, |_| true, at(0))
        .unwrap();
        assert_eq!(ok.events, [EventType::MessageRouted, EventType::PollClosed]);
        assert!(ok.enabled);
    }

    #[test]
    fn the_body_is_type_timestamp_and_data() {
        let e = event();
        let body: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(body["type"], "poll.opened");
        assert!(body["timestamp"].is_string());
        assert!(body["data"]["poll_id"].is_string());
        assert_eq!(body.as_object().unwrap().len(), 3);
    }

    #[test]
    fn authority_endpoints_take_only_their_messages() {
        let mut endpoint = NewEndpoint {
            url: "https://hooks.example.org/".into(),
            events: vec!["poll.opened".into()],
            authority_id: Some("water".into()),
        }
        .validate(Destinations::Public, |_| true, at(0))
        .unwrap();
        assert!(endpoint.wants(&event()));
        endpoint.enabled = false;
        assert!(!endpoint.wants(&event()));
    }
}
