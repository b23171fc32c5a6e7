//! The region's problems in public: the anonymous map and its list (public messages, cell
//! clusters), and «Я тоже» for residents (open messages near a place, supporting one).
//!
//! The public surface follows the rules of [`crate::open311`]: only publicly visible messages
//! ([`Message::is_publicly_visible`]), never their author, text and answer scrubbed of personal
//! data ([`crate::scrub`]), coordinates snapped to the public grid of about 100 m.
//!
//! - The list reads the index of public messages by submission time
//!   ([`PublicMessageStore`]) and filters a bounded number of them per request
//!   ([`MAX_EXAMINED`]); a page may come back short with a cursor to go on.
//! - Clusters read the cell counters the transitions keep (`counters::deltas`, series `G|…`),
//!   through the [`CounterStore`]: a request costs the cells of the box, never the messages.

use crate::actor::{Actor, Role};
use crate::counters::{cell_series, MESSAGES_FIELD};
use crate::error::{FieldErrors, ServiceError};
use crate::geo::{self, BBox};
use crate::ids::{AuthorityId, CategoryId, MessageId, MessageNumber, MunicipalityId};
use crate::message::{By, Message, Status, Transition, MAX_SUPPORTERS};
use crate::open311::PublicMessageStore;
use crate::page::Cursor;
use crate::ports::{Clock, CounterStore, MessageStore, MessageUpdate, ReferenceStore, StoreError};
use crate::reference::Reference;
use crate::region::RegionData;
use crate::scrub::{coarsen, scrub_text};
use crate::values::Location;
use crate::views::local_time;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The most messages one page of the public list holds.
pub const MAX_LIMIT: usize = 200;
/// The page size when the request names none.
pub const DEFAULT_LIMIT: usize = 50;
/// The most public messages one list request examines (before its filters), to bound its cost.
pub const MAX_EXAMINED: usize = 2000;
pub use crate::analytics::cells::MAX_CELLS;
use crate::analytics::cells::{check_category, cover_ranges, in_category};
/// The most open messages near a place that `nearby` considers.
pub const NEARBY_LIMIT: usize = 200;

/// The statuses a public message can have.
pub const PUBLIC_STATUSES: [Status; 5] =
    [Status::Routed, Status::InProgress, Status::Answered, Status::Closed, Status::Reopened];

/// A point on the public grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublicPoint {
    pub lat: f64,
    pub lon: f64,
}

/// A public message as anyone may see it: no author, text and answer scrubbed of personal data,
/// the place snapped to a grid of about 100 m (0.001° of latitude, 0.002° of longitude).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublicMessage {
    pub id: MessageId,
    /// The message's number in the region (`72-000123`); messages from before numbers have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<MessageNumber>,
    pub category_id: CategoryId,
    pub municipality_id: MunicipalityId,
    pub status: Status,
    pub authority_id: Option<AuthorityId>,
    pub created_at: DateTime<FixedOffset>,
    pub deadline: Option<DateTime<FixedOffset>>,
    /// When the authority answered, once the message is answered or closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<FixedOffset>>,
    /// `null` when the resident gave only an address.
    pub location: Option<PublicPoint>,
    pub text: String,
    /// The authority's answer, once the message is answered or closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// Residents who reported the same problem with «Я тоже».
    pub supporters: u32,
}

/// One page of public messages, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublicPage {
    pub items: Vec<PublicMessage>,
    /// Where the next page starts; `null` on the last. A page may hold fewer items than asked
    /// (even none) and still have a next one: each request examines a bounded number of messages.
    pub next_cursor: Option<String>,
}

/// Public messages counted in one cell of the map.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Cluster {
    /// The centre of the cell.
    pub lat: f64,
    pub lon: f64,
    pub count: u64,
}

/// The clusters of a box at a zoom level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Clusters {
    /// The geohash precision of the cells (2..7): the zoom's, or coarser for a box too large.
    pub precision: u8,
    pub clusters: Vec<Cluster>,
}

/// What is already reported near a place, before a resident submits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Nearby {
    /// The category's duplicate radius, in metres.
    pub radius_m: u32,
    /// Open public messages of the category within the radius, nearest first.
    pub items: Vec<PublicMessage>,
    /// Open messages of the category within the radius that their authors kept private: counted,
    /// never shown.
    pub non_public_count: u32,
}

/// The supporters of a message after «Я тоже».
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Supporters {
    pub supporters: u32,
}

/// The filters of the public list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    pub bbox: Option<BBox>,
    pub category: Option<CategoryId>,
    pub status: Option<Status>,
    /// Local days, inclusive.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Only messages older than this one.
    pub before: Option<MessageId>,
    pub limit: usize,
}

/// The filters of the clusters.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterQuery {
    pub bbox: BBox,
    pub zoom: u8,
    pub category: Option<CategoryId>,
    pub status: Option<Status>,
}

/// Reads the query parameters both public reads share; `get` gives a parameter's value.
fn filters(get: &dyn Fn(&str) -> Option<String>, errors: &mut FieldErrors) -> (Option<CategoryId>, Option<Status>) {
    let category = get("category_id")
        .map(|c| errors.check("category_id", CategoryId::parse(c.trim()).map_err(|_| "неизвестная категория")))
        .and_then(|c| c);
    let status = get("status")
        .map(|s| {
            errors.check(
                "status",
                s.trim()
                    .parse::<Status>()
                    .ok()
                    .filter(|s| PUBLIC_STATUSES.contains(s))
                    .ok_or("routed, in_progress, answered, closed или reopened"),
            )
        })
        .and_then(|s| s);
    (category, status)
}

fn day(errors: &mut FieldErrors, name: &str, raw: Option<String>) -> Option<NaiveDate> {
    raw.and_then(|r| errors.check(name, NaiveDate::parse_from_str(r.trim(), "%Y-%m-%d").map_err(|_| "дата ГГГГ-ММ-ДД")))
}

impl ListQuery {
    /// The list's query parameters: `bbox`, `category_id`, `status`, `from`, `to`, `cursor`, `limit`.
    pub fn parse(get: &dyn Fn(&str) -> Option<String>) -> Result<ListQuery, ServiceError> {
        let mut errors = FieldErrors::new();
        let bbox = get("bbox").and_then(|b| errors.check("bbox", BBox::parse(&b)));
        let (category, status) = filters(get, &mut errors);
        let from = day(&mut errors, "from", get("from"));
        let to = day(&mut errors, "to", get("to"));
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                errors.push("to", "to раньше from");
            }
        }
        let before = get("cursor").and_then(|c| {
            errors.check(
                "cursor",
                Cursor::decode(c.trim())
                    .ok()
                    .and_then(|c| MessageId::parse(c.position()).ok())
                    .ok_or("недействительный cursor"),
            )
        });
        let limit = match get("limit") {
            None => DEFAULT_LIMIT,
            Some(l) => errors
                .check(
                    "limit",
                    l.trim().parse::<usize>().ok().filter(|l| (1..=MAX_LIMIT).contains(l)).ok_or("целое от 1 до 200"),
                )
                .unwrap_or(DEFAULT_LIMIT),
        };
        errors.finish_with(|| Some(()))?;
        Ok(ListQuery { bbox, category, status, from, to, before, limit })
    }
}

impl ClusterQuery {
    /// The clusters' query parameters: `bbox` and `zoom` (required), `category_id`, `status`.
    pub fn parse(get: &dyn Fn(&str) -> Option<String>) -> Result<ClusterQuery, ServiceError> {
        let mut errors = FieldErrors::new();
        let bbox = match get("bbox") {
            Some(b) => errors.check("bbox", BBox::parse(&b)),
            None => errors.check("bbox", Err::<BBox, _>("обязательный параметр")),
        };
        let zoom = match get("zoom") {
            Some(z) => errors
                .check("zoom", z.trim().parse::<u8>().ok().filter(|z| *z <= geo::MAX_ZOOM).ok_or("целое от 0 до 18")),
            None => errors.check("zoom", Err::<u8, _>("обязательный параметр")),
        };
        let (category, status) = filters(get, &mut errors);
        let (bbox, zoom) = errors.finish_with(|| Some((bbox?, zoom?)))?;
        Ok(ClusterQuery { bbox, zoom, category, status })
    }
}

/// The public map and «Я тоже».
pub struct PublicMap<S, C> {
    store: S,
    clock: C,
    reference: Arc<Reference<S>>,
}

impl<S, C> PublicMap<S, C>
where
    S: MessageStore + ReferenceStore + PublicMessageStore + CounterStore,
    C: Clock,
{
    pub fn new(store: S, clock: C, reference: Arc<Reference<S>>) -> Self {
        Self { store, clock, reference }
    }

    /// One page of public messages, newest first.
    pub async fn list(&self, q: &ListQuery) -> Result<PublicPage, ServiceError> {
        let snap = self.reference.snapshot().await?;
        let region = &snap.value;
        check_category(region, q.category.as_ref())?;
        let tz = region.time_zone();
        let local_start = |d: NaiveDate| tz.from_local_datetime(&d.and_time(NaiveTime::MIN)).earliest();
        let from = q
            .from
            .and_then(local_start)
            .map_or_else(|| MessageId::lower_bound(DateTime::UNIX_EPOCH), |t| MessageId::lower_bound(t.to_utc()));
        let mut before = MessageId::lower_bound(self.clock.now() + Duration::days(1));
        if let Some(end) = q.to.and_then(|d| d.succ_opt()).and_then(local_start) {
            before = before.min(MessageId::lower_bound(end.to_utc()));
        }
        if let Some(cursor) = q.before {
            before = before.min(cursor);
        }
        let mut items = Vec::new();
        let mut examined = 0;
        let mut exhausted = false;
        'pages: while examined < MAX_EXAMINED {
            let page = (MAX_EXAMINED - examined).min(500);
            let batch = self.store.public_messages(&from, &before, page).await?;
            let short = batch.len() < page;
            for m in batch {
                examined += 1;
                before = m.id;
                if m.is_publicly_visible() && matches(region, q, &m) {
                    items.push(public_view(region, &m));
                    if items.len() == q.limit {
                        break 'pages;
                    }
                }
            }
            if short {
                exhausted = true;
                break;
            }
        }
        let next_cursor = (!exhausted).then(|| Cursor::new(&before.to_string()).encode());
        Ok(PublicPage { items, next_cursor })
    }

    /// One public message; any other id, public or not, is `NotFound`.
    pub async fn get(&self, raw_id: &str) -> Result<PublicMessage, ServiceError> {
        let id = MessageId::parse(raw_id.trim()).map_err(|_| ServiceError::NotFound)?;
        let m =
            self.store.get_message(&id).await?.filter(Message::is_publicly_visible).ok_or(ServiceError::NotFound)?;
        let snap = self.reference.snapshot().await?;
        Ok(public_view(&snap.value, &m))
    }

    /// The public messages of a box counted by cell, at the zoom's precision (or coarser, so that
    /// the box touches at most [`MAX_CELLS`] cells). One slot range per parent cell (one level
    /// up), from the first to the last of its children the box touches.
    pub async fn clusters(&self, q: &ClusterQuery) -> Result<Clusters, ServiceError> {
        let snap = self.reference.snapshot().await?;
        let region = &snap.value;
        check_category(region, q.category.as_ref())?;
        let min = *geo::CLUSTER_PRECISIONS.start();
        let mut p = geo::precision_for_zoom(q.zoom);
        while p > min && q.bbox.cell_count(p) > MAX_CELLS {
            p -= 1;
        }
        let rows = self.store.read_counters(&cover_ranges(&q.bbox, p, cell_series)).await?;
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for row in rows {
            let mut parts = row.key.slot.splitn(3, '|');
            let (Some(cell), Some(category), Some(status)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            if cell.len() != p || !q.bbox.meets_cell(cell) {
                continue;
            }
            if let Some(c) = &q.category {
                if !in_category(region, category, c) {
                    continue;
                }
            }
            if q.status.is_some_and(|s| s.as_str() != status) {
                continue;
            }
            *counts.entry(cell.to_owned()).or_default() += row.fields.get(MESSAGES_FIELD).copied().unwrap_or(0);
        }
        let clusters = counts
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .filter_map(|(cell, n)| {
                let (lat, lon) = geo::cell_centre(&cell)?;
                Some(Cluster { lat, lon, count: n as u64 })
            })
            .collect();
        Ok(Clusters { precision: p as u8, clusters })
    }

    /// Open messages of a category within its duplicate radius of a place: the public ones
    /// shown, the private ones only counted. For residents, before they submit.
    pub async fn nearby(
        &self,
        actor: &Actor,
        category: Option<String>,
        lat: Option<String>,
        lon: Option<String>,
    ) -> Result<Nearby, ServiceError> {
        if !actor.has(Role::Citizen) {
            return Err(ServiceError::Forbidden("доступно жителям"));
        }
        let snap = self.reference.snapshot().await?;
        let region = &snap.value;
        let mut errors = FieldErrors::new();
        let category = match category.as_deref().map(str::trim) {
            None | Some("") => errors.check("category_id", Err::<CategoryId, _>("обязательный параметр")),
            Some(c) => errors.check(
                "category_id",
                CategoryId::parse(c).ok().filter(|c| region.category(c).is_some()).ok_or("неизвестная категория"),
            ),
        };
        let mut coordinate = |name: &str, raw: Option<String>| match raw.map(|r| r.trim().parse::<f64>()) {
            Some(Ok(v)) => Some(v),
            _ => errors.check(name, Err::<f64, _>("число в градусах")),
        };
        let (lat, lon) = (coordinate("lat", lat), coordinate("lon", lon));
        let place = match (lat, lon) {
            (Some(a), Some(b)) => errors.check("lat", Location::new(a, b)),
            _ => None,
        };
        let (category, place) = errors.finish_with(|| Some((category?, place?)))?;
        let radius_m = region.duplicate_radius_m(&category).min(geo::MAX_RADIUS_M);
        let cells = geo::cell_and_neighbours(place.lat(), place.lon());
        let open = self.store.open_in_cells(&category, &cells, NEARBY_LIMIT).await?;
        let mut near: Vec<(f64, &Message)> = open
            .iter()
            .filter(|m| m.awaits_answer())
            .filter_map(|m| Some((m.location.as_ref()?.distance_m(&place), m)))
            .filter(|(d, _)| *d <= f64::from(radius_m))
            .collect();
        near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
        let items = near.iter().filter(|(_, m)| m.is_publicly_visible()).map(|(_, m)| public_view(region, m)).collect();
        let non_public_count = near.iter().filter(|(_, m)| !m.is_publicly_visible()).count() as u32;
        Ok(Nearby { radius_m, items, non_public_count })
    }

    /// «Я тоже»: the caller supports a public message still waiting for its answer, once; a
    /// repeat changes nothing. Supporters hear of the answer and the closing.
    pub async fn support(&self, actor: &Actor, raw_id: &str) -> Result<Supporters, ServiceError> {
        if !actor.has(Role::Citizen) {
            return Err(ServiceError::Forbidden("поддержать сообщение могут жители"));
        }
        let id = MessageId::parse(raw_id.trim()).map_err(|_| ServiceError::NotFound)?;
        let snap = self.reference.snapshot().await?;
        let tz = snap.value.time_zone();
        for _ in 0..5 {
            let m = self
                .store
                .get_message(&id)
                .await?
                .filter(Message::is_publicly_visible)
                .ok_or(ServiceError::NotFound)?;
            let count = |m: &Message| Supporters { supporters: m.supporter_ids.len() as u32 };
            if m.supporter_ids.contains(&actor.id) {
                return Ok(count(&m));
            }
            let refuse = |detail: &str| ServiceError::Conflict { code: "cannot_support", detail: detail.to_owned() };
            if m.author == actor.id {
                return Err(refuse("Это ваше сообщение."));
            }
            if !m.awaits_answer() {
                return Err(refuse("Поддержать можно только сообщение, на которое ещё не ответили."));
            }
            if m.supporter_ids.len() >= MAX_SUPPORTERS {
                return Err(refuse("Сообщение уже поддержали многие; следите за ним на карте."));
            }
            let (next, entry) = m
                .apply(
                    Transition::Support { citizen: actor.id.clone() },
                    By::Person(actor),
                    self.clock.now(),
                    tz,
                    &snap.value.calendar,
                    "Житель поддержал сообщение («Я тоже»)".to_owned(),
                )
                .map_err(|_| refuse("Сообщение нельзя поддержать."))?;
            match self.store.update_messages(&[MessageUpdate::new(m.version, next.clone(), entry)], &[]).await {
                Ok(()) => return Ok(count(&next)),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }
}

fn matches(region: &RegionData, q: &ListQuery, m: &Message) -> bool {
    q.category.as_ref().is_none_or(|c| in_category(region, m.category_id.as_str(), c))
        && q.status.is_none_or(|s| s == m.status)
        && q.bbox.is_none_or(|b| m.location.is_some_and(|l| b.contains(l.lat(), l.lon())))
}

/// The public view of a message.
pub fn public_view(region: &RegionData, m: &Message) -> PublicMessage {
    let tz = region.time_zone();
    let answered = matches!(m.status, Status::Answered | Status::Closed);
    let answer = m.answer.as_ref().filter(|_| answered);
    PublicMessage {
        id: m.id,
        number: m.number.clone(),
        category_id: m.category_id.clone(),
        municipality_id: m.municipality_id.clone(),
        status: m.status,
        authority_id: m.authority_id.clone(),
        created_at: local_time(m.created_at, &tz),
        deadline: m.deadline.map(|d| local_time(d, &tz)),
        answered_at: answer.map(|a| local_time(a.answered_at, &tz)),
        location: m.location.map(|l| {
            let (lat, lon) = coarsen(l.lat(), l.lon());
            PublicPoint { lat, lon }
        }),
        text: scrub_text(&m.text),
        answer: answer.map(|a| scrub_text(&a.text)),
        supporters: m.supporter_ids.len() as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    fn fields(e: ServiceError) -> Vec<String> {
        match e {
            ServiceError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn list_queries_are_checked_field_by_field() {
        let q = ListQuery::parse(&params(&[])).unwrap();
        assert_eq!((q.limit, q.bbox, q.before), (DEFAULT_LIMIT, None, None));
        let q =
            ListQuery::parse(&params(&[("limit", "200"), ("status", "in_progress"), ("from", "2026-11-01")])).unwrap();
        assert_eq!((q.limit, q.status), (200, Some(Status::InProgress)));
        let bad = ListQuery::parse(&params(&[
            ("bbox", "1,2,3"),
            ("limit", "201"),
            ("status", "rejected"),
            ("from", "2026-12-01"),
            ("to", "2026-11-01"),
            ("cursor", "%%%"),
            ("category_id", "Не категория"),
        ]))
        .unwrap_err();
        assert_eq!(fields(bad), ["bbox", "category_id", "status", "to", "cursor", "limit"]);
        let id = MessageId::new_at(chrono::Utc::now());
        let cursor = Cursor::new(&id.to_string()).encode();
        assert_eq!(ListQuery::parse(&params(&[("cursor", &cursor)])).unwrap().before, Some(id));
    }

    #[test]
    fn cluster_queries_need_a_box_and_a_zoom_up_to_18() {
        let q = ClusterQuery::parse(&params(&[("bbox", "65,57,66,58"), ("zoom", "18")])).unwrap();
        assert_eq!(q.zoom, 18);
        assert_eq!(fields(ClusterQuery::parse(&params(&[])).unwrap_err()), ["bbox", "zoom"]);
        for zoom in ["19", "-1", "1.5", "x"] {
            let e = ClusterQuery::parse(&params(&[("bbox", "65,57,66,58"), ("zoom", zoom)])).unwrap_err();
            assert_eq!(fields(e), ["zoom"], "{zoom}");
        }
    }
}
