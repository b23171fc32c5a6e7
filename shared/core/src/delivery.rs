//! Telling residents outside the portal: the channels, the [`Transport`] port a channel's sender
//! implements, the [`Delivery`] record kept per (notification, channel, recipient) with its
//! retry schedule, quiet hours, digest periods and the one-click unsubscribe token.
//!
//! A delivery is created once (a conditional put keyed by [`Delivery::id_for`]), claimed before
//! each attempt so concurrent consumers never send it twice, and marked sent only after the
//! transport accepted it: at least once, never twice for the same (notification, channel).

use crate::ids::{CitizenId, MessageId, MunicipalityId};
use crate::notification::{Notification, NotificationKind};
use crate::ports::StoreError;
use crate::preferences::{Digest, QuietHours, Subscription};
use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// How long a delivery is retried after it was planned before it is given up.
pub const GIVE_UP_AFTER: Duration = Duration::hours(24);
/// The first wait after a transient failure; it doubles with each attempt.
pub const FIRST_BACKOFF: Duration = Duration::minutes(1);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::hours(1);
/// How long a claim keeps other consumers off a delivery while its attempt runs.
pub const CLAIM_LEASE: Duration = Duration::minutes(2);
/// How long a one-click unsubscribe link works.
pub const UNSUBSCRIBE_VALID_FOR: Duration = Duration::days(60);

/// A channel besides the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Push,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Push => "push",
            Channel::Sms => "sms",
        }
    }
    pub fn parse(raw: &str) -> Option<Channel> {
        [Channel::Email, Channel::Push, Channel::Sms].into_iter().find(|c| c.as_str() == raw)
    }
}

/// Where a channel reaches a resident: an e-mail address, a push endpoint, a phone number. Its
/// `Debug` form hides it, so no log line names one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address(String);

impl Address {
    pub fn new(raw: impl Into<String>) -> Address {
        Address(raw.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address as lookups compare it: ASCII letters in lower case. Mail services treat an
    /// address case-insensitively, and a bounce names it as the receiving server spelled it.
    pub fn folded(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    /// Whether two addresses are the same once [`Address::folded`].
    pub fn same_as(&self, other: &Address) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }

    /// The key a store finds the contacts with this address by, so that no key holds the
    /// address itself: SHA-256 of [`Address::folded`], hex.
    pub fn lookup_hash(&self) -> String {
        hex::encode(Sha256::digest(self.folded().as_bytes()))
    }
}

impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Address(…)")
    }
}

/// What is sent, rendered once in Russian; each transport takes the parts its channel carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The message (or the notifications page) in the portal.
    pub link: String,
    /// The one-click unsubscribe URL of this channel.
    pub unsubscribe_url: Option<String>,
}

/// Why a send failed. `Permanent` and `Gone` mean the address is dead: the channel turns it off.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("transient: {0}")]
    Transient(String),
    #[error("permanent: {0}")]
    Permanent(String),
    #[error("the address is gone")]
    Gone,
}

impl SendError {
    pub fn class(&self) -> ErrorClass {
        match self {
            SendError::Transient(_) => ErrorClass::Transient,
            SendError::Permanent(_) => ErrorClass::Permanent,
            SendError::Gone => ErrorClass::Gone,
        }
    }
}

/// A channel's sender.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    fn channel(&self) -> Channel;
    async fn send(&self, to: &Address, content: &Outgoing) -> Result<(), SendError>;
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Sent,
    Dead,
    Suppressed,
}

/// The kind of the last failure, or why a delivery was suppressed; never an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    Transient,
    Permanent,
    Gone,
    Timeout,
    /// Transient failures for longer than [`GIVE_UP_AFTER`].
    Expired,
    /// The resident has no usable address for the channel.
    NoAddress,
    /// The resident turned the channel off after the delivery was planned.
    ChannelOff,
}

/// Whom a transition's delivery tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Author,
    Subscriber,
}

/// What a delivery carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// One transition of a message.
    Transition { notification: Notification, audience: Audience },
    /// The notifications of one digest period.
    Digest { digest: Digest, period: String, start: DateTime<Utc>, end: DateTime<Utc> },
}

/// One send owed to one resident on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// [`Delivery::id_for`] of `subject`, channel and recipient.
    pub id: String,
    /// The notification (transition) id, or the digest period key.
    pub subject: String,
    pub channel: Channel,
    pub recipient: CitizenId,
    pub payload: Payload,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    /// When the next attempt is due, while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_class: Option<ErrorClass>,
    /// Until when a consumer holds the delivery for an attempt ([`DeliveryStore::claim_delivery`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_until: Option<DateTime<Utc>>,
    /// When the region's retention lets it go, with the notification it carries
    /// (`Retention::notification_days`); DynamoDB expires the item by its TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Retry(DateTime<Utc>),
    Dead(ErrorClass),
}

/// The wait after the `attempts`-th failed attempt: 1 min, doubling, at most 1 h.
pub fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    let wait = FIRST_BACKOFF * 2_i32.pow(doublings);
    wait.min(MAX_BACKOFF)
}

impl Delivery {
    /// The stable id of the delivery of `subject` on `channel` to `recipient`: the same plan
    /// always yields the same id, so planning twice writes once.
    pub fn id_for(subject: &str, channel: Channel, recipient: &CitizenId) -> String {
        let mut h = Sha256::new();
        for part in [subject, channel.as_str(), recipient.as_str()] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        hex::encode(h.finalize().get(..16).unwrap_or_default())
    }

    /// A pending delivery, due at once.
    pub fn planned(
        subject: &str,
        channel: Channel,
        recipient: &CitizenId,
        payload: Payload,
        now: DateTime<Utc>,
    ) -> Delivery {
        Delivery {
            id: Delivery::id_for(subject, channel, recipient),
            subject: subject.to_owned(),
            channel,
            recipient: recipient.clone(),
            payload,
            status: DeliveryStatus::Pending,
            attempts: 0,
            created_at: now,
            next_attempt_at: Some(now),
            last_attempt_at: None,
            error_class: None,
            claimed_until: None,
            expires_at: None,
        }
    }

    /// The delivery, let go at `at` ([`Delivery::expires_at`]).
    pub fn expiring(self, at: DateTime<Utc>) -> Delivery {
        Delivery { expires_at: Some(at), ..self }
    }

    /// Whether another attempt may still be made.
    pub fn is_open(&self) -> bool {
        self.status == DeliveryStatus::Pending
    }

    /// The delivery held by a consumer until `until`, unless it is closed or another consumer
    /// holds it at `now`. Stores write it on condition that what they read is unchanged.
    pub fn claimed(mut self, now: DateTime<Utc>, until: DateTime<Utc>) -> Option<Delivery> {
        if !self.is_open() || self.claimed_until.is_some_and(|t| t > now) {
            return None;
        }
        self.claimed_until = Some(until);
        Some(self)
    }

    /// What an attempt's result makes of the delivery at `now`.
    pub fn outcome(&self, result: &Result<(), SendError>, now: DateTime<Utc>) -> Outcome {
        match result {
            Ok(()) => Outcome::Sent,
            Err(SendError::Transient(_)) => {
                let next = now + backoff(self.attempts + 1);
                if next > self.created_at + GIVE_UP_AFTER {
                    Outcome::Dead(ErrorClass::Expired)
                } else {
                    Outcome::Retry(next)
                }
            }
            Err(e) => Outcome::Dead(e.class()),
        }
    }

    /// The delivery after an attempt at `now` with `result`.
    pub fn after_attempt(mut self, result: &Result<(), SendError>, now: DateTime<Utc>) -> Delivery {
        let outcome = self.outcome(result, now);
        self.claimed_until = None;
        self.attempts += 1;
        self.last_attempt_at = Some(now);
        self.error_class = result.as_ref().err().map(SendError::class);
        match outcome {
            Outcome::Sent => {
                self.status = DeliveryStatus::Sent;
                self.next_attempt_at = None;
            }
            Outcome::Retry(at) => self.next_attempt_at = Some(at),
            Outcome::Dead(class) => {
                self.status = DeliveryStatus::Dead;
                self.next_attempt_at = None;
                self.error_class = Some(class);
            }
        }
        self
    }

    /// The delivery waiting, without an attempt, until `at`.
    pub fn deferred(mut self, at: DateTime<Utc>) -> Delivery {
        self.claimed_until = None;
        self.next_attempt_at = Some(at);
        self
    }

    /// The delivery given up without an attempt, for `reason`.
    pub fn suppressed(mut self, reason: ErrorClass, now: DateTime<Utc>) -> Delivery {
        self.status = DeliveryStatus::Suppressed;
        self.claimed_until = None;
        self.next_attempt_at = None;
        self.last_attempt_at = Some(now);
        self.error_class = Some(reason);
        self
    }
}

/// A delivery as the delivery log shows it to the region's staff: no address, no resident.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeliveryLogEntry {
    pub channel: Channel,
    pub attempts: u32,
    pub status: DeliveryStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<DateTime<chrono::FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<ErrorClass>,
}

impl DeliveryLogEntry {
    pub fn of(d: &Delivery, tz: &chrono_tz::Tz) -> DeliveryLogEntry {
        DeliveryLogEntry {
            channel: d.channel,
            attempts: d.attempts,
            status: d.status,
            last_attempt_at: d.last_attempt_at.map(|t| crate::views::local_time(t, tz)),
            error_class: d.error_class,
        }
    }
}

fn clock_time(raw: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(raw, "%H:%M").ok()
}

/// When the quiet hours around `now` end, if `now` falls inside them (local time in `tz`; a
/// `from` after `to` spans midnight). `None` outside them or when they do not parse.
pub fn quiet_until(now: DateTime<Utc>, quiet: &QuietHours, tz: &chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let (from, to) = (clock_time(&quiet.from)?, clock_time(&quiet.to)?);
    let local = now.with_timezone(tz);
    let time = local.time();
    let date = local.date_naive();
    let end_date = if from < to {
        if time < from || time >= to {
            return None;
        }
        date
    } else if time >= from {
        date.succ_opt()?
    } else if time < to {
        date
    } else {
        return None;
    };
    let end = end_date.and_time(to);
    let resolved = tz.from_local_datetime(&end);
    let at = resolved.earliest().or_else(|| tz.from_local_datetime(&(end + Duration::hours(1))).earliest())?;
    Some(at.with_timezone(&Utc))
}

/// A digest period: its key (`2026-12-02`, `2026-W49`) and its bounds in UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub key: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

fn local_midnight(date: NaiveDate, tz: &chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let at = date.and_time(NaiveTime::MIN);
    tz.from_local_datetime(&at)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(at + Duration::hours(1))).earliest())
        .map(|t| t.with_timezone(&Utc))
}

impl Period {
    /// The period of `digest` that contains `at` (local time in `tz`); `None` for instant.
    pub fn containing(digest: Digest, at: DateTime<Utc>, tz: &chrono_tz::Tz) -> Option<Period> {
        let date = at.with_timezone(tz).date_naive();
        match digest {
            Digest::Instant => None,
            Digest::Daily => Some(Period {
                key: date.format("%Y-%m-%d").to_string(),
                start: local_midnight(date, tz)?,
                end: local_midnight(date.succ_opt()?, tz)?,
            }),
            Digest::Weekly => {
                let week = date.iso_week();
                let monday = NaiveDate::from_isoywd_opt(week.year(), week.week(), chrono::Weekday::Mon)?;
                Some(Period {
                    key: format!("{}-W{:02}", week.year(), week.week()),
                    start: local_midnight(monday, tz)?,
                    end: local_midnight(monday + Duration::days(7), tz)?,
                })
            }
        }
    }

    /// The last period of `digest` that ended at or before `at`: what a digest run at `at`
    /// sends.
    pub fn last_complete(digest: Digest, at: DateTime<Utc>, tz: &chrono_tz::Tz) -> Option<Period> {
        let current = Period::containing(digest, at, tz)?;
        Period::containing(digest, current.start - Duration::seconds(1), tz)
    }
}

/// The subject key of a resident's digest of `period`: the delivery id derives from it and the
/// resident, so every run of the same period plans the same delivery.
pub fn digest_subject(period: &Period) -> String {
    format!("digest:{}", period.key)
}

/// The status a notification announces, in Russian, as the portal names it.
pub fn status_ru(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::Routed => "Направлено в орган власти",
        NotificationKind::InProgress => "В работе",
        NotificationKind::Answered => "Дан ответ",
        NotificationKind::Rejected => "Отклонено",
        NotificationKind::Overdue => "Срок ответа истёк",
        NotificationKind::Closed => "Закрыто",
    }
}

/// `text` safe inside HTML text and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The link to a message in the portal at `portal_url`.
pub fn message_link(portal_url: &str, id: &MessageId) -> String {
    format!("{}/messages/{id}", portal_url.trim_end_matches('/'))
}

fn footer(unsubscribe_url: Option<&str>) -> (String, String) {
    match unsubscribe_url {
        Some(u) => (
            format!("\n\nОтписаться от писем: {u}\n"),
            format!(
                "<p style=\"color:#666;font-size:12px\"><a href=\"{}\">Отписаться от писем</a></p>",
                escape_html(u)
            ),
        ),
        None => (String::new(), String::new()),
    }
}

impl Outgoing {
    /// The delivery as one short text of at most `max` characters (an SMS): the subject, then
    /// the link. The link stays whole; the subject is cut with «…» when both do not fit, and a
    /// link longer than `max` leaves the subject alone.
    pub fn short_text(&self, max: usize) -> String {
        let whole = format!("{} {}", self.subject, self.link);
        if whole.chars().count() <= max {
            return whole;
        }
        let room = max.saturating_sub(self.link.chars().count() + 2);
        if room == 0 {
            return self.subject.chars().take(max).collect();
        }
        let cut: String = self.subject.chars().take(room).collect();
        format!("{}… {}", cut.trim_end(), self.link)
    }

    /// What a transition's delivery says to its author or to a subscriber.
    pub fn for_transition(
        notification: &Notification,
        audience: Audience,
        portal_url: &str,
        unsubscribe_url: Option<String>,
    ) -> Outgoing {
        let number = notification.message_name();
        let status = status_ru(notification.kind);
        let link = message_link(portal_url, &notification.message_id);
        let lead = match audience {
            Audience::Author => notification.text.clone(),
            Audience::Subscriber => "Новости по сообщению, на место или тему которого вы подписаны.".to_owned(),
        };
        let subject = format!("Сообщение № {number}: {status}");
        let (text_footer, html_footer) = footer(unsubscribe_url.as_deref());
        let text =
            format!("{lead}\n\nСообщение № {number}\nНовый статус: {status}\nОткрыть на портале: {link}{text_footer}");
        let html = format!(
            "<!DOCTYPE html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>{}</title></head><body>\
             <p>{}</p><p>Сообщение № <b>{}</b><br>Новый статус: <b>{}</b></p>\
             <p><a href=\"{}\">Открыть сообщение на портале</a></p>{html_footer}</body></html>",
            escape_html(&subject),
            escape_html(&lead),
            escape_html(&number),
            escape_html(status),
            escape_html(&link),
        );
        Outgoing { subject, text, html, link, unsubscribe_url }
    }

    /// A digest of `notifications` (oldest first) for the period `period_key`.
    pub fn digest(
        notifications: &[Notification],
        period_key: &str,
        portal_url: &str,
        unsubscribe_url: Option<String>,
    ) -> Outgoing {
        let subject = format!("Сводка уведомлений за {period_key}");
        let link = format!("{}/notifications", portal_url.trim_end_matches('/'));
        let mut text = format!("Новости по вашим сообщениям за {period_key}:\n\n");
        let mut items = String::new();
        for n in notifications {
            let number = n.message_name();
            let status = status_ru(n.kind);
            let url = message_link(portal_url, &n.message_id);
            text.push_str(&format!("• Сообщение № {number}: {status}. {}\n  {url}\n", n.text));
            items.push_str(&format!(
                "<li>Сообщение № <b>{}</b>: {}. {} <a href=\"{}\">Открыть</a></li>",
                escape_html(&number),
                escape_html(status),
                escape_html(&n.text),
                escape_html(&url),
            ));
        }
        let (text_footer, html_footer) = footer(unsubscribe_url.as_deref());
        text.push_str(&format!("\nВсе уведомления: {link}{text_footer}"));
        let html = format!(
            "<!DOCTYPE html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>{}</title></head><body>\
             <p>Новости по вашим сообщениям за {}:</p><ul>{items}</ul>\
             <p><a href=\"{}\">Все уведомления на портале</a></p>{html_footer}</body></html>",
            escape_html(&subject),
            escape_html(period_key),
            escape_html(&link),
        );
        Outgoing { subject, text, html, link, unsubscribe_url }
    }
}

/// Why an unsubscribe token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed or its signature does not match")]
    Invalid,
    #[error("the token has expired")]
    Expired,
}

#[derive(Serialize, Deserialize)]
struct TokenBody {
    c: String,
    ch: Channel,
    exp: i64,
}

fn token_mac(secret: &[u8], body: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(b"feedback-unsubscribe\0");
    mac.update(body.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A one-click unsubscribe token: `{resident, channel, expiry}` signed with HMAC-SHA256 under
/// the stack's secret, URL-safe.
pub fn unsubscribe_token(secret: &[u8], citizen: &CitizenId, channel: Channel, expires: DateTime<Utc>) -> String {
    let body = TokenBody { c: citizen.as_str().to_owned(), ch: channel, exp: expires.timestamp() };
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).unwrap_or_default());
    let mac = URL_SAFE_NO_PAD.encode(token_mac(secret, &body));
    format!("{body}.{mac}")
}

/// The resident and channel an unsubscribe token names, when its signature holds and it has
/// not expired at `now`.
pub fn verify_unsubscribe_token(
    secret: &[u8],
    token: &str,
    now: DateTime<Utc>,
) -> Result<(CitizenId, Channel), TokenError> {
    let (body, mac) = token.split_once('.').ok_or(TokenError::Invalid)?;
    let given = URL_SAFE_NO_PAD.decode(mac).map_err(|_| TokenError::Invalid)?;
    let mut check = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    check.update(b"feedback-unsubscribe\0");
    check.update(body.as_bytes());
    check.verify_slice(&given).map_err(|_| TokenError::Invalid)?;
    let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| TokenError::Invalid)?;
    let body: TokenBody = serde_json::from_slice(&raw).map_err(|_| TokenError::Invalid)?;
    if now.timestamp() >= body.exp {
        return Err(TokenError::Expired);
    }
    let citizen = CitizenId::parse(&body.c).map_err(|_| TokenError::Invalid)?;
    Ok((citizen, body.ch))
}

/// A resident's address on a channel, as the token last brought it; `disabled` once a bounce,
/// a complaint or a permanent failure showed it dead, until a different address arrives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub channel: Channel,
    pub address: Address,
    pub disabled: bool,
    pub updated_at: DateTime<Utc>,
}

impl Contact {
    /// The contact after the token brought `address` at `now`: unchanged (and still disabled if
    /// it was) for the same address, a fresh enabled one for a different address.
    pub fn refreshed(previous: Option<Contact>, channel: Channel, address: &Address, now: DateTime<Utc>) -> Contact {
        match previous {
            Some(c) if c.address == *address => c,
            _ => Contact { channel, address: address.clone(), disabled: false, updated_at: now },
        }
    }

    /// The address to send to, unless it is off.
    pub fn usable(&self) -> Option<&Address> {
        (!self.disabled).then_some(&self.address)
    }
}

/// Where deliveries and residents' contact addresses are kept, with the lookups the pipeline
/// plans by. No lookup scans: subscriptions are found by municipality and among those that
/// follow a point, digest residents by their digest, due deliveries by their due time.
#[async_trait]
pub trait DeliveryStore: Send + Sync + 'static {
    /// Writes the delivery unless one with its id exists; true when it was written.
    async fn plan_delivery(&self, delivery: &Delivery) -> Result<bool, StoreError>;

    async fn get_delivery(&self, id: &str) -> Result<Option<Delivery>, StoreError>;

    /// Takes the delivery for an attempt until `until`, if it is pending and no other consumer
    /// holds it at `now`; the delivery as claimed, or `None`. Of concurrent claims one wins.
    async fn claim_delivery(
        &self,
        id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError>;

    /// Replaces the stored delivery (its status, attempts and schedule; the claim it carries).
    async fn save_delivery(&self, delivery: &Delivery) -> Result<(), StoreError>;

    /// Pending deliveries due at or before `now`, soonest first, at most `limit`.
    async fn due_deliveries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError>;

    /// Every delivery of a subject (a notification id or a digest key).
    async fn deliveries_of(&self, subject: &str) -> Result<Vec<Delivery>, StoreError>;
    /// The deliveries to a resident, newest first, at most `limit` (the resident's export).
    async fn deliveries_to(&self, citizen: &CitizenId, limit: usize) -> Result<Vec<Delivery>, StoreError>;

    async fn get_contact(&self, citizen: &CitizenId, channel: Channel) -> Result<Option<Contact>, StoreError>;

    async fn put_contact(&self, citizen: &CitizenId, contact: &Contact) -> Result<(), StoreError>;

    /// Every resident's contact on `channel` whose address is `address` once
    /// [`Address::folded`], found through an index keyed by [`Address::lookup_hash`] (DynamoDB)
    /// or the folded address (SQLite), never a scan; a bounce names an address, not a resident.
    async fn contacts_at(&self, channel: Channel, address: &Address) -> Result<Vec<(CitizenId, Contact)>, StoreError>;

    /// Deletes every contact of the resident; how many there were.
    async fn erase_contacts(&self, citizen: &CitizenId) -> Result<u32, StoreError>;

    /// Subscriptions naming this municipality.
    async fn subscriptions_in(&self, municipality: &MunicipalityId) -> Result<Vec<Subscription>, StoreError>;

    /// Subscriptions that follow a point and name no municipality.
    async fn point_subscriptions(&self) -> Result<Vec<Subscription>, StoreError>;

    /// Residents whose preferences ask for `digest`, by id after `after`, at most `limit`.
    async fn digest_residents(
        &self,
        digest: Digest,
        after: Option<&CitizenId>,
        limit: usize,
    ) -> Result<Vec<CitizenId>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn note() -> Notification {
        Notification {
            id: "t1".into(),
            citizen: CitizenId::parse("u1").unwrap(),
            message_id: MessageId::new_at(at("2026-12-02T09:00:00Z")),
            message_number: None,
            kind: NotificationKind::Answered,
            at: at("2026-12-02T09:00:00Z"),
            text: "Орган <ответил> & ждёт".into(),
            expires_at: None,
            read_at: None,
        }
    }

    fn pending() -> Delivery {
        let p = Payload::Transition { notification: note(), audience: Audience::Author };
        Delivery::planned("t1", Channel::Email, &CitizenId::parse("u1").unwrap(), p, at("2026-12-02T09:00:00Z"))
    }

    #[test]
    fn a_short_text_keeps_the_link_whole_and_cuts_the_subject() {
        let out = |subject: &str| Outgoing {
            subject: subject.to_owned(),
            text: String::new(),
            html: String::new(),
            link: "https://feedback.example/messages/01JABCDEFGHJKMNPQRSTVWXYZ0".to_owned(),
            unsubscribe_url: None,
        };
        let short = out("Сообщение № 72-000123: ответ получен");
        assert_eq!(
            short.short_text(134),
            "Сообщение № 72-000123: ответ получен https://feedback.example/messages/01JABCDEFGHJKMNPQRSTVWXYZ0"
        );
        let long = out(&"Очень длинная тема ".repeat(10));
        let text = long.short_text(134);
        assert_eq!(text.chars().count(), 134, "{text}");
        assert!(text.ends_with("… https://feedback.example/messages/01JABCDEFGHJKMNPQRSTVWXYZ0"), "{text}");
        assert_eq!(long.short_text(20).chars().count(), 20, "a link longer than the room leaves the subject");
    }

    #[test]
    fn backoff_doubles_from_a_minute_and_stops_at_an_hour() {
        let mins: Vec<i64> = (1..=9).map(|a| backoff(a).num_minutes()).collect();
        assert_eq!(mins, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn transient_failures_retry_until_a_day_then_die() {
        let d = pending();
        let now = d.created_at;
        let failed = d.clone().after_attempt(&Err(SendError::Transient("421".into())), now);
        assert_eq!(failed.status, DeliveryStatus::Pending);
        assert_eq!(failed.next_attempt_at, Some(now + Duration::minutes(1)));
        assert_eq!(failed.error_class, Some(ErrorClass::Transient));
        let late = now + Duration::hours(23) + Duration::minutes(59);
        let dead = failed.after_attempt(&Err(SendError::Transient("421".into())), late);
        assert_eq!(
            (dead.status, dead.error_class, dead.next_attempt_at),
            (DeliveryStatus::Dead, Some(ErrorClass::Expired), None)
        );
        let gone = d.clone().after_attempt(&Err(SendError::Gone), now);
        assert_eq!((gone.status, gone.error_class), (DeliveryStatus::Dead, Some(ErrorClass::Gone)));
        let sent = d.after_attempt(&Ok(()), now);
        assert_eq!((sent.status, sent.attempts, sent.error_class), (DeliveryStatus::Sent, 1, None));
    }

    #[test]
    fn ids_are_stable_per_subject_channel_and_recipient() {
        let u1 = CitizenId::parse("u1").unwrap();
        let u2 = CitizenId::parse("u2").unwrap();
        assert_eq!(Delivery::id_for("t1", Channel::Email, &u1), Delivery::id_for("t1", Channel::Email, &u1));
        assert_ne!(Delivery::id_for("t1", Channel::Email, &u1), Delivery::id_for("t1", Channel::Push, &u1));
        assert_ne!(Delivery::id_for("t1", Channel::Email, &u1), Delivery::id_for("t1", Channel::Email, &u2));
        assert!(!Delivery::id_for("t1", Channel::Email, &u1).contains("u1"));
    }

    fn quiet(from: &str, to: &str) -> QuietHours {
        QuietHours { from: from.into(), to: to.into() }
    }

    #[test]
    fn quiet_hours_span_midnight_in_the_regions_zone() {
        let tz: chrono_tz::Tz = "Asia/Yekaterinburg".parse().unwrap();
        let q = quiet("22:00", "08:00");
        assert_eq!(quiet_until(at("2026-12-02T18:30:00Z"), &q, &tz), Some(at("2026-12-03T03:00:00Z")));
        assert_eq!(quiet_until(at("2026-12-02T21:00:00Z"), &q, &tz), Some(at("2026-12-03T03:00:00Z")));
        assert_eq!(quiet_until(at("2026-12-02T03:00:00Z"), &q, &tz), None);
        assert_eq!(quiet_until(at("2026-12-02T16:59:00Z"), &q, &tz), None);
        let day = quiet("13:00", "14:30");
        assert_eq!(quiet_until(at("2026-12-02T08:10:00Z"), &day, &tz), Some(at("2026-12-02T09:30:00Z")));
        assert_eq!(quiet_until(at("2026-12-02T09:30:00Z"), &day, &tz), None);
        assert_eq!(quiet_until(at("2026-12-02T09:30:00Z"), &quiet("ab", "cd"), &tz), None);
    }

    #[test]
    fn quiet_hours_end_across_a_daylight_saving_gap() {
        let tz: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        let q = quiet("01:00", "02:30");
        let end = quiet_until(at("2026-03-29T00:30:00Z"), &q, &tz).unwrap();
        assert_eq!(end, at("2026-03-29T01:30:00Z"));
    }

    #[test]
    fn period_keys_follow_local_dates_and_iso_weeks() {
        let tz: chrono_tz::Tz = "Asia/Yekaterinburg".parse().unwrap();
        let late = at("2026-12-02T20:00:00Z");
        let day = Period::containing(Digest::Daily, late, &tz).unwrap();
        assert_eq!(day.key, "2026-12-03");
        assert_eq!((day.start, day.end), (at("2026-12-02T19:00:00Z"), at("2026-12-03T19:00:00Z")));
        let week = Period::containing(Digest::Weekly, late, &tz).unwrap();
        assert_eq!(week.key, "2026-W49");
        assert_eq!(week.start, at("2026-11-29T19:00:00Z"));
        assert_eq!(Period::last_complete(Digest::Weekly, late, &tz).unwrap().key, "2026-W48");
        assert_eq!(Period::last_complete(Digest::Daily, late, &tz).unwrap().key, "2026-12-02");
        assert_eq!(Period::containing(Digest::Weekly, at("2027-01-01T10:00:00Z"), &tz).unwrap().key, "2026-W53");
        assert_eq!(Period::containing(Digest::Instant, late, &tz), None);
    }

    #[test]
    fn unsubscribe_tokens_verify_and_refuse_forgery_and_expiry() {
        let u1 = CitizenId::parse("u1").unwrap();
        let now = at("2026-12-02T09:00:00Z");
        let t = unsubscribe_token(b"secret", &u1, Channel::Email, now + UNSUBSCRIBE_VALID_FOR);
        assert_eq!(verify_unsubscribe_token(b"secret", &t, now), Ok((u1.clone(), Channel::Email)));
        assert_eq!(verify_unsubscribe_token(b"other", &t, now), Err(TokenError::Invalid));
        assert_eq!(verify_unsubscribe_token(b"secret", &t, now + UNSUBSCRIBE_VALID_FOR), Err(TokenError::Expired));
        let (body, mac) = t.split_once('.').unwrap();
        let forged_body =
            unsubscribe_token(b"x", &CitizenId::parse("u2").unwrap(), Channel::Email, now + Duration::days(1));
        let forged = format!("{}.{mac}", forged_body.split_once('.').unwrap().0);
        assert_eq!(verify_unsubscribe_token(b"secret", &forged, now), Err(TokenError::Invalid));
        assert_eq!(verify_unsubscribe_token(b"secret", body, now), Err(TokenError::Invalid));
        assert_eq!(verify_unsubscribe_token(b"secret", "", now), Err(TokenError::Invalid));
    }

    #[test]
    fn transition_mail_escapes_user_text_and_carries_number_status_and_link() {
        let n = note();
        let o = Outgoing::for_transition(
            &n,
            Audience::Author,
            "https://portal.example/",
            Some("https://x/u?token=a&b".into()),
        );
        let number = n.message_id.to_string();
        assert!(o.subject.contains(&number) && o.subject.contains("Дан ответ"));
        assert_eq!(o.link, format!("https://portal.example/messages/{number}"));
        for part in [&o.text, &o.html] {
            assert!(part.contains(&number) && part.contains("Дан ответ") && part.contains(&o.link));
        }
        assert!(o.html.contains("Орган &lt;ответил&gt; &amp; ждёт") && !o.html.contains("<ответил>"));
        assert!(o.html.contains("token=a&amp;b"));
        let s = Outgoing::for_transition(&n, Audience::Subscriber, "https://p", None);
        assert!(!s.text.contains("ответил") && !s.text.contains("Отписаться"));
    }

    #[test]
    fn a_mail_names_a_numbered_message_by_its_number() {
        let n = Notification { message_number: crate::ids::MessageNumber::new("72", 123), ..note() };
        let o = Outgoing::for_transition(&n, Audience::Author, "https://p", None);
        assert_eq!(o.subject, "Сообщение № 72-000123: Дан ответ");
        assert!(o.text.contains("Сообщение № 72-000123\n") && o.html.contains("Сообщение № <b>72-000123</b>"));
        assert_eq!(o.link, format!("https://p/messages/{}", n.message_id), "the link keeps the id");
        let d = Outgoing::digest(&[n], "2026-W49", "https://p", None);
        assert!(d.text.contains("• Сообщение № 72-000123: Дан ответ."), "{}", d.text);
    }

    #[test]
    fn a_digest_lists_every_notification() {
        let mut second = note();
        second.kind = NotificationKind::Routed;
        let o = Outgoing::digest(&[note(), second], "2026-W49", "https://p", None);
        assert!(o.subject.contains("2026-W49"));
        assert!(o.text.contains("Дан ответ") && o.text.contains("Направлено"));
        assert_eq!(o.html.matches("<li>").count(), 2);
    }

    #[test]
    fn a_contact_stays_off_until_a_different_address_arrives() {
        let now = at("2026-12-02T09:00:00Z");
        let a = Address::new("a@example.ru");
        let mut c = Contact::refreshed(None, Channel::Email, &a, now);
        assert!(c.usable().is_some());
        c.disabled = true;
        let same = Contact::refreshed(Some(c.clone()), Channel::Email, &a, now);
        assert!(same.usable().is_none());
        let other = Contact::refreshed(Some(c), Channel::Email, &Address::new("b@example.ru"), now);
        assert_eq!(other.usable(), Some(&Address::new("b@example.ru")));
        assert!(!format!("{other:?}").contains("example"));
    }

    #[test]
    fn addresses_compare_and_hash_with_ascii_case_folded() {
        let sent = Address::new("Ivan.Petrov@Example.RU");
        let bounced = Address::new("ivan.petrov@example.ru");
        assert!(sent.same_as(&bounced) && !sent.same_as(&Address::new("ivan@example.ru")));
        assert_eq!(sent.lookup_hash(), bounced.lookup_hash());
        assert_eq!(sent.lookup_hash().len(), 64);
        assert!(!sent.lookup_hash().contains("example"));
        assert_ne!(sent.lookup_hash(), Address::new("ivan@example.ru").lookup_hash());
        assert_eq!(Address::new("Пётр@пример.рф").folded(), "Пётр@пример.рф", "only ASCII letters fold");
    }
}
