//! Open311 GeoReport v2 over the platform's own services: categories as services, public
//! messages as service requests, and submission by integrations through their API key.
//!
//! What the public sees is decided here: only public messages, never who filed them, and none of
//! the personal data a client may send with a request (it is not stored at all). Personal data a
//! resident writes into the text or the address is masked in the public view only
//! ([`crate::scrub`]); the stored message keeps it for the authority.

use crate::error::{FieldErrors, ServiceError};
use crate::ids::{CategoryId, MessageId, MunicipalityId};
use crate::integration::{authenticate, Integration, IntegrationStore, KeyRefusal};
use crate::message::{Message, Status};
use crate::moderation;
use crate::numbering::NumberPool;
use crate::outbox::relay;
use crate::ports::{Clock, MessageStore, ReferenceStore, StoreError, WorkQueue};
use crate::ports::{CreateOutcome, Job, NewRecord, OutboxItem};
use crate::reference::Reference;
use crate::region::RegionData;
use crate::scrub::{coarsen, scrub_address, scrub_text};
use crate::submission::{check_quota, new_submission, submission_quota, NewMessage};
use crate::values::{Address, Location, MessageText, PhotoIds};
use crate::views::local_time;
use anyhow::anyhow;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The index of public messages by submission time.
#[async_trait]
pub trait PublicMessageStore: Send + Sync + 'static {
    /// Public messages with ids in `[from, before)`, newest first, at most `limit`. Message ids
    /// are ULIDs, so this is a range of submission times. A query of an index, never a scan.
    async fn public_messages(
        &self,
        from: &MessageId,
        before: &MessageId,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError>;
}

/// The longest span a request search may cover, and the default window: the last 90 days.
pub const MAX_RANGE_DAYS: i64 = 90;
/// The most requests one search returns.
pub const MAX_RESULTS: usize = 1000;
/// The most public requests one search examines (after the time window), to bound its cost.
pub const MAX_EXAMINED: usize = 5000;
/// The most ids one `service_request_id` list may name.
pub const MAX_IDS: usize = 100;
/// The attribute that names the municipality of a new request.
pub const MUNICIPALITY_ATTRIBUTE: &str = "municipality";

/// One service: a leaf category of the region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Open311Service {
    /// The category id.
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    /// True: every service has the optional `municipality` attribute.
    pub metadata: bool,
    /// Always `realtime`: requests are created at once.
    #[serde(rename = "type")]
    pub kind: String,
    pub keywords: String,
    /// The parent category's name.
    pub group: String,
}

/// One allowed value of a list attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Open311AttributeValue {
    pub key: String,
    pub name: String,
}

/// One attribute of a service definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Open311Attribute {
    pub variable: bool,
    pub code: String,
    /// `singlevaluelist` for the municipality.
    pub datatype: String,
    pub required: bool,
    pub datatype_description: String,
    pub order: u32,
    pub description: String,
    pub values: Vec<Open311AttributeValue>,
}

/// A service definition: the attributes a request of the service may carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Open311ServiceDefinition {
    pub service_code: String,
    pub attributes: Vec<Open311Attribute>,
}

/// A public service request, as GeoReport v2 shows it. It never names the author.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Open311Request {
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: String,
    /// The authority's answer, with personal data masked.
    pub status_notes: Option<String>,
    pub service_name: String,
    pub service_code: String,
    /// The message's text, with personal data masked.
    pub description: String,
    /// The name of the authority the request is routed to.
    pub agency_responsible: Option<String>,
    pub service_notice: Option<String>,
    /// ISO 8601 in the region's offset, e.g. `2026-11-27T10:00:00+05:00`.
    pub requested_datetime: String,
    pub updated_datetime: String,
    /// The answer deadline, once the request is routed.
    pub expected_datetime: Option<String>,
    /// Street and house only: a flat, office, entrance or floor is cut off.
    pub address: Option<String>,
    /// Snapped to a grid of about 100 m: 0.001° of latitude, 0.002° of longitude.
    pub lat: Option<f64>,
    /// Snapped to the same grid as `lat`.
    pub long: Option<f64>,
    /// Not offered: photos are served only to those who may read the message.
    pub media_url: Option<String>,
}

/// The answer to a created request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Open311Created {
    pub service_request_id: String,
    pub service_notice: String,
    /// Always empty: the platform keeps no accounts for Open311 clients.
    pub account_id: Option<String>,
}

/// `open` or `closed`, as GeoReport v2 knows a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
pub enum OpenClosed {
    Open,
    Closed,
}

impl OpenClosed {
    /// The word in any case, around spaces.
    pub fn parse(raw: &str) -> Option<OpenClosed> {
        raw.trim().parse().ok()
    }
    /// Open while it waits for routing or an answer; closed once answered, closed or rejected.
    pub fn of(status: Status) -> OpenClosed {
        if status.is_open() {
            OpenClosed::Open
        } else {
            OpenClosed::Closed
        }
    }
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A request search, parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestQuery {
    /// When given, the other filters are ignored (as the specification says).
    pub ids: Option<Vec<String>>,
    pub service_codes: Vec<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub statuses: Vec<OpenClosed>,
}

/// A new request as an integration sends it, already split into fields. Personal data the
/// specification allows (email, names, phone, device and account ids) is not part of it: it is
/// never stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Open311Submission {
    pub service_code: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub address_string: Option<String>,
    pub address_id: Option<String>,
    pub description: Option<String>,
    pub media_url: Option<String>,
    /// `attribute[code]=value` pairs.
    pub attributes: Vec<(String, String)>,
}

/// Limits on submission through Open311.
#[derive(Debug, Clone, Copy)]
pub struct Open311Policy {
    /// Requests one integration may submit per rolling hour.
    pub per_hour: u32,
}

impl Default for Open311Policy {
    fn default() -> Self {
        Self { per_hour: 600 }
    }
}

/// Open311 GeoReport v2: reading public requests and submitting new ones.
pub struct Open311<S, Q, C> {
    store: S,
    queue: Q,
    clock: C,
    reference: Arc<Reference<S>>,
    policy: Open311Policy,
    numbers: NumberPool,
}

impl<S, Q, C> Open311<S, Q, C>
where
    S: MessageStore + ReferenceStore + IntegrationStore + PublicMessageStore,
    Q: WorkQueue,
    C: Clock,
{
    pub fn new(store: S, queue: Q, clock: C, reference: Arc<Reference<S>>, policy: Open311Policy) -> Self {
        Self { store, queue, clock, reference, policy, numbers: NumberPool::new() }
    }

    /// The region code Open311 calls `jurisdiction_id`.
    pub async fn jurisdiction(&self) -> Result<String, ServiceError> {
        Ok(self.reference.snapshot().await?.value.region.code.clone())
    }

    /// Checks an optional `jurisdiction_id`: another region's is `NotFound`.
    pub async fn check_jurisdiction(&self, given: Option<&str>) -> Result<(), ServiceError> {
        match given.map(str::trim).filter(|j| !j.is_empty()) {
            Some(j) if j != self.jurisdiction().await? => Err(ServiceError::NotFound),
            _ => Ok(()),
        }
    }

    /// Every leaf category as a service, in the region file's order.
    pub async fn services(&self) -> Result<Vec<Open311Service>, ServiceError> {
        let snap = self.reference.snapshot().await?;
        let region = &snap.value;
        Ok(region.categories.iter().filter(|c| region.is_leaf(&c.id)).map(|c| service_of(region, &c.id)).collect())
    }

    /// One service's definition; an unknown or group code is `NotFound`.
    pub async fn service_definition(&self, code: &str) -> Result<Open311ServiceDefinition, ServiceError> {
        let snap = self.reference.snapshot().await?;
        let region = &snap.value;
        let id = CategoryId::parse(code).map_err(|_| ServiceError::NotFound)?;
        if region.category(&id).is_none() || !region.is_leaf(&id) {
            return Err(ServiceError::NotFound);
        }
        let values = region
            .municipalities
            .iter()
            .map(|m| Open311AttributeValue { key: m.id.to_string(), name: m.name.clone() })
            .collect();
        Ok(Open311ServiceDefinition {
            service_code: id.to_string(),
            attributes: vec![Open311Attribute {
                variable: true,
                code: MUNICIPALITY_ATTRIBUTE.into(),
                datatype: "singlevaluelist".into(),
                required: false,
                datatype_description: "Идентификатор муниципального образования из списка".into(),
                order: 1,
                description: "Муниципальное образование, где находится проблема. Если не указано, сообщение \
                              относится к административному центру региона."
                    .into(),
                values,
            }],
        })
    }

    /// One public request. Any other id, public or not, is `NotFound`.
    pub async fn request(&self, raw_id: &str) -> Result<Open311Request, ServiceError> {
        let id = MessageId::parse(raw_id.trim()).map_err(|_| ServiceError::NotFound)?;
        let message =
            self.store.get_message(&id).await?.filter(Message::is_publicly_visible).ok_or(ServiceError::NotFound)?;
        let snap = self.reference.snapshot().await?;
        self.view(&snap.value, &message).await
    }

    /// A search of public requests, newest first, at most 1000.
    pub async fn requests(&self, query: &RequestQuery) -> Result<Vec<Open311Request>, ServiceError> {
        let snap = self.reference.snapshot().await?;
        let region = &snap.value;
        let mut found: Vec<Message> = Vec::new();
        if let Some(ids) = &query.ids {
            if ids.len() > MAX_IDS {
                return Err(ServiceError::field("service_request_id", format!("не больше {MAX_IDS} идентификаторов")));
            }
            for raw in ids {
                let Ok(id) = MessageId::parse(raw.trim()) else { continue };
                if found.iter().any(|m| m.id == id) {
                    continue;
                }
                if let Some(m) = self.store.get_message(&id).await?.filter(Message::is_publicly_visible) {
                    found.push(m);
                }
            }
            found.sort_by_key(|m| std::cmp::Reverse(m.id));
        } else {
            let now = self.clock.now();
            let (start, end) = window(query.start, query.end, now)?;
            let from = MessageId::lower_bound(start);
            // `end` is inclusive: everything created up to its millisecond.
            let mut before = MessageId::lower_bound(end + Duration::milliseconds(1));
            let mut examined = 0;
            while found.len() < MAX_RESULTS && examined < MAX_EXAMINED {
                let batch = self.store.public_messages(&from, &before, 500).await?;
                examined += batch.len();
                let Some(last) = batch.last() else { break };
                before = last.id;
                let short = batch.len() < 500;
                found.extend(batch.into_iter().filter(|m| m.is_publicly_visible() && matches(m, query)));
                if short {
                    break;
                }
            }
            found.truncate(MAX_RESULTS);
        }
        let mut out = Vec::with_capacity(found.len());
        for m in &found {
            out.push(self.view(region, m).await?);
        }
        Ok(out)
    }

    /// The public view of a message: its text, address, place and answer scrubbed of personal data.
    async fn view(&self, region: &RegionData, m: &Message) -> Result<Open311Request, ServiceError> {
        let tz = region.time_zone();
        let time = |t: DateTime<Utc>| local_time(t, &tz).format("%Y-%m-%dT%H:%M:%S%:z").to_string();
        let status_notes = match m.status {
            Status::Answered | Status::Closed => m.answer.as_ref().map(|a| scrub_text(&a.text)),
            _ => None,
        };
        let service_notice = match (m.status, m.deadline) {
            (s, Some(d)) if s.is_open() => {
                Some(format!("Ответ будет дан до {}.", local_time(d, &tz).format("%d.%m.%Y")))
            }
            _ => None,
        };
        let point = m.location.map(|l| coarsen(l.lat(), l.lon()));
        Ok(Open311Request {
            service_request_id: m.id.to_string(),
            status: OpenClosed::of(m.status).as_str().into(),
            status_notes,
            service_name: region.category(&m.category_id).map(|c| c.name.clone()).unwrap_or_default(),
            service_code: m.category_id.to_string(),
            description: scrub_text(&m.text),
            agency_responsible: m.authority_id.as_ref().and_then(|a| region.authority(a)).map(|a| a.name.clone()),
            service_notice,
            requested_datetime: time(m.created_at),
            updated_datetime: time(m.updated_at),
            expected_datetime: m.deadline.map(time),
            address: m.address.as_deref().map(scrub_address).filter(|a| !a.is_empty()),
            lat: point.map(|p| p.0),
            long: point.map(|p| p.1),
            media_url: None,
        })
    }

    /// Checks an API key and the jurisdiction: the active integration, or `Forbidden`.
    pub async fn authenticate(&self, api_key: Option<&str>) -> Result<Integration, ServiceError> {
        match authenticate(&self.store, api_key).await? {
            Ok(i) => Ok(i),
            Err(KeyRefusal::Missing) => Err(ServiceError::Forbidden("не указан api_key")),
            Err(KeyRefusal::Unknown) => Err(ServiceError::Forbidden("неверный api_key")),
            Err(KeyRefusal::Revoked) => Err(ServiceError::Forbidden("api_key отозван")),
        }
    }

    /// Files a request for an authenticated integration: an ordinary public message, moderated,
    /// routed asynchronously and attributed to the integration.
    pub async fn submit(
        &self,
        integration: &Integration,
        input: Open311Submission,
    ) -> Result<Open311Created, ServiceError> {
        let snap = self.reference.snapshot().await?;
        let region = &snap.value;
        let mut errors = FieldErrors::new();
        let category = errors.check(
            "service_code",
            match input.service_code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                None => Err("обязательный параметр"),
                Some(code) => match CategoryId::parse(code) {
                    Ok(id) if region.category(&id).is_some() && region.is_leaf(&id) => Ok(id),
                    _ => Err("неизвестная услуга"),
                },
            },
        );
        let location = match (input.lat, input.long) {
            (Some(lat), Some(lon)) => errors.check("lat", Location::new(lat, lon)),
            (None, None) => None,
            _ => errors.check("long", Err::<Location, _>("lat и long указываются вместе")),
        };
        let address = input
            .address_string
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .and_then(|a| errors.check("address_string", Address::parse(a)));
        let address = match (address, input.address_id.as_deref().map(str::trim).filter(|a| !a.is_empty())) {
            (None, Some(id)) => errors.check("address_id", Address::parse(&format!("Код адреса: {id}"))),
            (a, _) => a,
        };
        if location.is_none() && address.is_none() && errors.is_empty() {
            errors.push("lat", "укажите место: lat и long или address_string");
        }
        let mut text = input.description.as_deref().map(str::trim).unwrap_or("").to_owned();
        if let Some(url) = input.media_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            let ok = (url.starts_with("https://") || url.starts_with("http://"))
                && url.len() <= 2000
                && !url.chars().any(|c| c.is_control() || c.is_whitespace());
            if ok {
                text.push_str("\n\nФото: ");
                text.push_str(url);
            } else {
                errors.push("media_url", "нужен адрес http(s) без пробелов, до 2000 символов");
            }
        }
        let text = errors.check("description", MessageText::parse(&text));
        let mut municipality = None;
        for (code, value) in &input.attributes {
            if code == MUNICIPALITY_ATTRIBUTE {
                match MunicipalityId::parse(value.trim()) {
                    Ok(m) if region.municipality(&m).is_some() => municipality = Some(m),
                    _ => errors
                        .push(format!("attribute[{MUNICIPALITY_ATTRIBUTE}]"), "неизвестное муниципальное образование"),
                }
            } else {
                errors.push(format!("attribute[{code}]"), "у услуги нет такого атрибута");
            }
        }
        let (category_id, text) = errors.finish_with(|| Some((category?, text?)))?;
        let author = integration.author_id();
        let now = self.clock.now();
        let quota = submission_quota(&author, self.policy.per_hour, now);
        check_quota(&self.store, &quota, now).await?;
        moderation::moderate(text.as_str()).map_err(ServiceError::Moderation)?;
        let municipality_id = match municipality {
            Some(m) => m,
            None => default_municipality(region).ok_or_else(|| anyhow!("the region has no municipalities"))?,
        };

        let input = NewMessage {
            category_id,
            text,
            municipality_id: None,
            address,
            location,
            photo_ids: PhotoIds::default(),
            public: true,
        };
        let (mut message, mut entry) = new_submission(&author, &input, municipality_id, now, region.time_zone());
        let number = self.numbers.next(&self.store, &region.region.code).await?;
        message.number = Some(number.clone());
        entry.note = format!("Сообщение подано через интеграцию «{}» (Open311)", integration.name);
        let mut outbox = vec![OutboxItem::new(Job::RouteMessage { message_id: message.id }, now)];
        outbox.extend(
            crate::event::Event::for_message(&message, now).map(|event| OutboxItem::new(Job::Publish { event }, now)),
        );
        let created = NewRecord::new(message, entry);
        let message = &created.message;
        let outcome = self.store.create_message(&created, None, &outbox, Some(&quota)).await;
        if matches!(outcome, Ok(CreateOutcome::OverQuota)) {
            self.numbers.give_back(&number);
        }
        if let CreateOutcome::OverQuota = outcome? {
            return Err(ServiceError::RateLimited { retry_after_secs: quota.retry_after_secs(now) });
        }
        relay(&self.store, &self.queue, &outbox).await;
        tracing::info!(message_id = %message.id, integration = %integration.id, "open311 request created");
        let days = region.deadline_days(&message.category_id);
        Ok(Open311Created {
            service_request_id: message.id.to_string(),
            service_notice: format!(
                "Сообщение принято. После проверки оно будет направлено в ответственный орган; срок ответа — \
                 {days} раб. дн. с момента направления."
            ),
            account_id: None,
        })
    }
}

/// The municipality of a request that names none: the one the ЦУР belongs to, if it names one,
/// otherwise the first municipality of the region file (by convention the administrative centre).
pub fn default_municipality(region: &RegionData) -> Option<MunicipalityId> {
    region
        .authority(&region.region.center_authority_id)
        .and_then(|a| a.municipality_id.clone())
        .or_else(|| region.municipalities.first().map(|m| m.id.clone()))
}

fn service_of(region: &RegionData, id: &CategoryId) -> Open311Service {
    let c = region.category(id);
    let name = c.map(|c| c.name.clone()).unwrap_or_default();
    let group = c.and_then(|c| c.parent_id.as_ref()).and_then(|p| region.category(p)).map(|p| p.name.clone());
    let days = region.deadline_days(id);
    Open311Service {
        service_code: id.to_string(),
        description: format!("{name}. Срок ответа — {days} раб. дн. с момента направления в ответственный орган."),
        service_name: name.clone(),
        metadata: true,
        kind: "realtime".into(),
        keywords: group.iter().chain(std::iter::once(&name)).map(|s| s.to_lowercase()).collect::<Vec<_>>().join(", "),
        group: group.unwrap_or_default(),
    }
}

fn matches(m: &Message, q: &RequestQuery) -> bool {
    (q.service_codes.is_empty() || q.service_codes.iter().any(|c| c == m.category_id.as_str()))
        && (q.statuses.is_empty() || q.statuses.contains(&OpenClosed::of(m.status)))
}

/// The search window: the given dates, at most 90 days apart; without them, the last 90 days.
pub fn window(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ServiceError> {
    let span = Duration::days(MAX_RANGE_DAYS);
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, (s + span).min(now).max(s)),
        (None, Some(e)) => (e - span, e),
        (None, None) => (now - span, now),
    };
    if end < start {
        return Err(ServiceError::field("end_date", "end_date раньше start_date"));
    }
    if end - start > span {
        return Err(ServiceError::field("end_date", format!("период поиска не длиннее {MAX_RANGE_DAYS} дней")));
    }
    Ok((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_region;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_window_defaults_to_ninety_days_and_refuses_longer_ones() {
        let now = at("2026-11-27T10:00:00+05:00");
        assert_eq!(window(None, None, now).unwrap(), (now - Duration::days(90), now));
        let s = at("2026-10-01T00:00:00+05:00");
        assert_eq!(window(Some(s), None, now).unwrap(), (s, now));
        assert!(window(Some(now - Duration::days(91)), Some(now), now).is_err());
        assert!(window(Some(now), Some(now - Duration::days(1)), now).is_err());
    }

    #[test]
    fn statuses_map_to_open_and_closed() {
        use Status::*;
        for s in [Submitted, Routed, InProgress, Reopened] {
            assert_eq!(OpenClosed::of(s), OpenClosed::Open, "{s:?}");
        }
        for s in [Answered, Closed, Rejected] {
            assert_eq!(OpenClosed::of(s), OpenClosed::Closed, "{s:?}");
        }
        assert_eq!(OpenClosed::parse(" Closed "), Some(OpenClosed::Closed));
        assert_eq!(OpenClosed::parse("pending"), None);
    }

    #[test]
    fn services_are_leaf_categories_grouped_by_their_parent() {
        let region = sample_region();
        let leaf = region.categories.iter().find(|c| c.parent_id.is_some()).unwrap();
        let s = service_of(&region, &leaf.id);
        let parent = region.category(leaf.parent_id.as_ref().unwrap()).unwrap();
        assert_eq!(s.service_code, leaf.id.as_str());
        assert_eq!(s.group, parent.name);
        assert_eq!(s.kind, "realtime");
        assert!(default_municipality(&region).is_some());
    }
}
