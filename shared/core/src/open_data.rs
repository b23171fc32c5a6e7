//! Open data: the region's public messages of the last 12 months as a CSV table, a GeoJSON
//! feature collection and a Frictionless Data Package that describes both.
//!
//! What a row holds is decided here (see `docs/open-data.md`):
//! - public messages only ([`Message::is_publicly_visible`]): never a rejected one;
//! - category, municipality, status, authority and local dates (days, not times);
//! - no author, no id, no text, no address, no photos;
//! - the place snapped to the public grid ([`crate::scrub::coarsen`]), and only where at least
//!   [`MIN_CELL`] messages share the grid node, the category and the month: a smaller group is
//!   merged up to its municipality (the row keeps the municipality and loses the place), so a
//!   single household cannot be singled out on the map.

use crate::message::{Message, Status};
use crate::ports::{Clock, ReferenceStore, StoreError};
use crate::reference::Reference;
use crate::region::RegionData;
use crate::scrub::coarsen;
use crate::{MessageId, ServiceError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The fewest messages a grid node × category × month must hold for its rows to keep the place.
pub const MIN_CELL: usize = 5;
/// The window: messages submitted in the last 365 days.
pub const WINDOW_DAYS: i64 = 365;
/// The most rows a file holds: the newest public messages of the window.
pub const MAX_ROWS: usize = 50_000;
/// How long a file may be served from a cache, in seconds.
pub const MAX_AGE_SECS: u32 = 3600;
/// The licence of the data.
pub const LICENSE: &str = "CC-BY-4.0";
/// How many public messages one read of the index returns.
const PAGE: usize = 500;

/// Where a row's place comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// The node of the public grid nearest to the message's point.
    Grid,
    /// The message's group was too small (or it had no point): only the municipality is given.
    Municipality,
}

/// One row of the open data: one public message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub category_id: String,
    pub category_name: String,
    pub municipality_id: String,
    pub municipality_name: String,
    pub status: &'static str,
    pub status_name: &'static str,
    pub authority_id: Option<String>,
    pub authority_name: Option<String>,
    pub submitted_date: NaiveDate,
    pub submitted_month: String,
    pub deadline_date: Option<NaiveDate>,
    pub answered_date: Option<NaiveDate>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub location_precision: Precision,
}

/// The open data built at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub built_at: DateTime<Utc>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub rows: Vec<Row>,
    /// True when the window held more than [`MAX_ROWS`] public messages: the rows are the newest.
    pub truncated: bool,
}

/// The rows of a set of messages: only the publicly visible ones, places merged up where their
/// grid node × category × month group has fewer than [`MIN_CELL`] messages. Sorted by submission
/// date, then category and municipality.
pub fn rows(messages: &[Message], region: &RegionData) -> Vec<Row> {
    let tz = region.time_zone();
    let day = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();
    let visible: Vec<&Message> = messages.iter().filter(|m| m.is_publicly_visible()).collect();
    let cell = |m: &Message| {
        let (lat, lon) = m.location.map(|l| coarsen(l.lat(), l.lon()))?;
        Some((format!("{lat}:{lon}"), m.category_id.to_string(), day(m.created_at).format("%Y-%m").to_string()))
    };
    let mut sizes: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for m in &visible {
        if let Some(c) = cell(m) {
            *sizes.entry(c).or_default() += 1;
        }
    }
    let mut out: Vec<Row> = visible
        .iter()
        .map(|m| {
            let point = match cell(m) {
                Some(c) if sizes.get(&c).copied().unwrap_or(0) >= MIN_CELL => {
                    m.location.map(|l| coarsen(l.lat(), l.lon()))
                }
                _ => None,
            };
            let submitted = day(m.created_at);
            Row {
                category_id: m.category_id.to_string(),
                category_name: region.category(&m.category_id).map(|c| c.name.clone()).unwrap_or_default(),
                municipality_id: m.municipality_id.to_string(),
                municipality_name: region.municipality(&m.municipality_id).map(|x| x.name.clone()).unwrap_or_default(),
                status: m.status.as_str(),
                status_name: m.status.name_ru(),
                authority_id: m.authority_id.as_ref().map(ToString::to_string),
                authority_name: m.authority_id.as_ref().and_then(|a| region.authority(a)).map(|a| a.name.clone()),
                submitted_date: submitted,
                submitted_month: submitted.format("%Y-%m").to_string(),
                deadline_date: m.deadline.map(day),
                answered_date: m.answer.as_ref().map(|a| day(a.answered_at)),
                lat: point.map(|p| p.0),
                lon: point.map(|p| p.1),
                location_precision: if point.is_some() { Precision::Grid } else { Precision::Municipality },
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (a.submitted_date, &a.category_id, &a.municipality_id, a.status)
            .cmp(&(b.submitted_date, &b.category_id, &b.municipality_id, b.status))
            .then(a.lat.unwrap_or(0.0).total_cmp(&b.lat.unwrap_or(0.0)))
            .then(a.lon.unwrap_or(0.0).total_cmp(&b.lon.unwrap_or(0.0)))
    });
    out
}

/// The CSV columns, in order; `datapackage` documents each.
pub const COLUMNS: [&str; 15] = [
    "category_id",
    "category_name",
    "municipality_id",
    "municipality_name",
    "status",
    "status_name",
    "authority_id",
    "authority_name",
    "submitted_date",
    "submitted_month",
    "deadline_date",
    "answered_date",
    "lat",
    "lon",
    "location_precision",
];

fn precision_word(p: Precision) -> &'static str {
    match p {
        Precision::Grid => "grid",
        Precision::Municipality => "municipality",
    }
}

/// The CSV file: UTF-8, a header row, comma-separated, empty cells for absent values.
pub fn to_csv(rows: &[Row]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(COLUMNS);
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let num = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for r in rows {
        let _ = w.write_record([
            r.category_id.clone(),
            r.category_name.clone(),
            r.municipality_id.clone(),
            r.municipality_name.clone(),
            r.status.to_owned(),
            r.status_name.to_owned(),
            r.authority_id.clone().unwrap_or_default(),
            r.authority_name.clone().unwrap_or_default(),
            r.submitted_date.to_string(),
            r.submitted_month.clone(),
            date(r.deadline_date),
            date(r.answered_date),
            num(r.lat),
            num(r.lon),
            precision_word(r.location_precision).to_owned(),
        ]);
    }
    w.into_inner().unwrap_or_default()
}

/// The GeoJSON file (RFC 7946): a FeatureCollection of the rows that keep a place, each a Point
/// at `[lon, lat]` with the row's other columns as properties.
pub fn to_geojson(rows: &[Row]) -> Value {
    let features: Vec<Value> = rows
        .iter()
        .filter_map(|r| {
            let (lat, lon) = (r.lat?, r.lon?);
            Some(json!({
                "type": "Feature",
                "geometry": { "type": "Point", "coordinates": [lon, lat] },
                "properties": {
                    "category_id": r.category_id,
                    "category_name": r.category_name,
                    "municipality_id": r.municipality_id,
                    "municipality_name": r.municipality_name,
                    "status": r.status,
                    "status_name": r.status_name,
                    "authority_id": r.authority_id,
                    "authority_name": r.authority_name,
                    "submitted_date": r.submitted_date,
                    "submitted_month": r.submitted_month,
                    "deadline_date": r.deadline_date,
                    "answered_date": r.answered_date,
                },
            }))
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features })
}

/// A strong validator of a file's bytes, quoted as the `ETag` header wants it.
pub fn etag(body: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body);
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

fn field(name: &str, kind: &str, title: &str, description: &str, constraints: Option<Value>) -> Value {
    let mut f = serde_json::Map::new();
    for (k, v) in [("name", name), ("type", kind), ("title", title), ("description", description)] {
        f.insert(k.to_owned(), Value::String(v.to_owned()));
    }
    if let Some(c) = constraints {
        f.insert("constraints".to_owned(), c);
    }
    Value::Object(f)
}

/// The Table Schema of the CSV file: every column with its type, title and description.
pub fn table_schema(region: &RegionData) -> Value {
    let statuses: Vec<&str> =
        Status::ALL.iter().filter(|s| !matches!(s, Status::Submitted | Status::Rejected)).map(|s| s.as_str()).collect();
    let categories: Vec<&str> = region.categories.iter().map(|c| c.id.as_str()).collect();
    let municipalities: Vec<&str> = region.municipalities.iter().map(|m| m.id.as_str()).collect();
    let required = || Some(json!({ "required": true }));
    let fields = vec![
        field(
            "category_id",
            "string",
            "Категория",
            "Идентификатор категории проблемы из справочника региона (GET /v1/categories).",
            Some(json!({ "required": true, "enum": categories })),
        ),
        field("category_name", "string", "Название категории", "Название категории на русском языке.", None),
        field(
            "municipality_id",
            "string",
            "Муниципалитет",
            "Идентификатор муниципального образования (GET /v1/municipalities).",
            Some(json!({ "required": true, "enum": municipalities })),
        ),
        field("municipality_name", "string", "Название муниципалитета", "Название муниципального образования.", None),
        field(
            "status",
            "string",
            "Статус",
            "Текущий статус сообщения: routed — направлено исполнителю, in_progress — в работе, answered — дан ответ, \
             closed — закрыто, reopened — возобновлено.",
            Some(json!({ "required": true, "enum": statuses })),
        ),
        field("status_name", "string", "Название статуса", "Статус сообщения словами.", None),
        field(
            "authority_id",
            "string",
            "Ведомство",
            "Идентификатор ответственного органа власти (GET /v1/authorities); пусто, если не назначен.",
            None,
        ),
        field("authority_name", "string", "Название ведомства", "Название ответственного органа власти.", None),
        field("submitted_date", "date", "Дата подачи", "Местная дата подачи сообщения (без времени).", required()),
        field(
            "submitted_month",
            "yearmonth",
            "Месяц подачи",
            "Местный месяц подачи: по нему считается группа для защиты от раскрытия.",
            required(),
        ),
        field(
            "deadline_date",
            "date",
            "Срок ответа",
            "Местная дата, до конца которой ведомство должно ответить; пусто, если срока нет.",
            None,
        ),
        field(
            "answered_date",
            "date",
            "Дата ответа",
            "Местная дата последнего ответа ведомства; пусто, если ответа ещё нет.",
            None,
        ),
        field(
            "lat",
            "number",
            "Широта",
            "Широта узла публичной сетки (шаг 0,001°, около 110 м), WGS 84. Пусто, если место объединено до \
             муниципалитета.",
            Some(json!({ "minimum": -90, "maximum": 90 })),
        ),
        field(
            "lon",
            "number",
            "Долгота",
            "Долгота узла публичной сетки (шаг 0,002°, около 120 м), WGS 84. Пусто, если место объединено до \
             муниципалитета.",
            Some(json!({ "minimum": -180, "maximum": 180 })),
        ),
        field(
            "location_precision",
            "string",
            "Точность места",
            "grid — место дано узлом публичной сетки; municipality — известен только муниципалитет: в этом узле \
             сетки, категории и месяце меньше 5 сообщений, или место не указано.",
            Some(json!({ "required": true, "enum": ["grid", "municipality"] })),
        ),
    ];
    json!({ "fields": fields, "missingValues": [""] })
}

/// The Frictionless Data Package descriptor of the two files, with their paths relative to it.
pub fn datapackage(data: &Dataset, region: &RegionData) -> Value {
    let updated = data.built_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut description = format!(
        "Публичные сообщения жителей региона «{}» на платформе обратной связи за период с {} по {}: категория, \
         муниципалитет, статус, ведомство и даты. Без авторов и текстов; место — узел публичной сетки, а если в узле \
         сетки, категории и месяце меньше {MIN_CELL} сообщений — только муниципалитет. Обновляется не реже раза в \
         час. Описание полей и защиты: docs/open-data.md.",
        region.region.name, data.from, data.to
    );
    if data.truncated {
        description.push_str(&format!(" Файл содержит {MAX_ROWS} самых новых сообщений периода."));
    }
    json!({
        "name": "feedback-public-messages",
        "title": format!("Сообщения жителей: {}", region.region.name),
        "description": description,
        "version": "1.0.0",
        "created": updated,
        "updated": updated,
        "temporal": { "start": data.from, "end": data.to },
        "licenses": [{
            "name": LICENSE,
            "path": "https://creativecommons.org/licenses/by/4.0/",
            "title": "Creative Commons Attribution 4.0"
        }],
        "resources": [
            {
                "name": "messages",
                "path": "messages.csv",
                "profile": "tabular-data-resource",
                "title": "Сообщения (CSV)",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "dialect": { "delimiter": ",", "header": true },
                "schema": table_schema(region),
            },
            {
                "name": "messages-geojson",
                "path": "messages.geojson",
                "title": "Сообщения с местом (GeoJSON, RFC 7946)",
                "description": "Строки таблицы messages, у которых есть место (location_precision = grid), как точки \
                                [долгота, широта] в WGS 84; остальные поля — свойства точки.",
                "format": "geojson",
                "mediatype": "application/geo+json",
                "encoding": "utf-8"
            }
        ]
    })
}

/// The open-data use case: reads the public index of the window, newest first, at most
/// [`MAX_ROWS`] messages, and builds the rows.
pub struct OpenData<S, C> {
    store: S,
    clock: C,
    reference: Arc<Reference<S>>,
}

impl<S, C> OpenData<S, C>
where
    S: crate::open311::PublicMessageStore + ReferenceStore,
    C: Clock,
{
    pub fn new(store: S, clock: C, reference: Arc<Reference<S>>) -> Self {
        Self { store, clock, reference }
    }

    /// The dataset as of now, with the region it describes.
    pub async fn build(&self) -> Result<(Dataset, Arc<crate::ports::Versioned<RegionData>>), ServiceError> {
        let snap = self.reference.snapshot().await?;
        let now = self.clock.now();
        let start = now - Duration::days(WINDOW_DAYS);
        let messages = self.read(start, now).await?;
        let mut messages = messages;
        let truncated = messages.len() > MAX_ROWS;
        messages.truncate(MAX_ROWS);
        let tz = snap.value.time_zone();
        let data = Dataset {
            built_at: now,
            from: start.with_timezone(&tz).date_naive(),
            to: now.with_timezone(&tz).date_naive(),
            rows: rows(&messages, &snap.value),
            truncated,
        };
        Ok((data, snap))
    }

    /// Up to `MAX_ROWS + 1` public messages submitted in `[start, end]`, newest first.
    async fn read(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<Message>, StoreError> {
        let from = MessageId::lower_bound(start);
        let mut before = MessageId::lower_bound(end + Duration::milliseconds(1));
        let mut out = Vec::new();
        while out.len() <= MAX_ROWS {
            let batch = self.store.public_messages(&from, &before, PAGE).await?;
            let Some(last) = batch.last() else { break };
            before = last.id;
            let short = batch.len() < PAGE;
            out.extend(batch);
            if short {
                break;
            }
        }
        out.truncate(MAX_ROWS + 1);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AuthorityId, CategoryId, CitizenId, MunicipalityId};
    use crate::values::Location;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn message(n: u32, category: &str, lat: f64, lon: f64, created: &str, public: bool, status: Status) -> Message {
        let created = at(created) + Duration::seconds(i64::from(n));
        Message {
            id: MessageId::new_at(created),
            author: CitizenId::parse(&format!("resident-{n}")).unwrap(),
            category_id: CategoryId::parse(category).unwrap(),
            municipality_id: MunicipalityId::parse("tyumen").unwrap(),
            text: format!("Яма у дома {n}, звоните +7 900 000-00-0{n}"),
            address: Some(format!("ул. Республики, {n}, кв. 5")),
            location: Some(Location::new(lat, lon).unwrap()),
            photo_ids: vec![],
            public,
            status,
            authority_id: Some(AuthorityId::parse("adm-tyumen").unwrap()),
            deadline: Some(created + Duration::days(10)),
            overdue: false,
            created_at: created,
            updated_at: created,
            version: 2,
            reopen_count: 0,
            routed_at: Some(created),
            answer: None,
            rating: None,
            duplicate_of: None,
            duplicates_count: 0,
            duplicate_ids: vec![],
            answer_photo_ids: vec![],
            reopened_at: None,
            supporter_ids: vec![],
            number: None,
        }
    }

    /// Five messages of one category in one grid node and month, four in another node, and two
    /// of the first node in the next month.
    fn sample() -> Vec<Message> {
        let mut out = Vec::new();
        for n in 0..5 {
            // all within 30 m of 57.153, 65.534: one grid node
            out.push(message(
                n,
                "dorogi-yamy",
                57.1530 + f64::from(n) * 0.0001,
                65.5341,
                "2026-11-03T10:00:00+05:00",
                true,
                Status::Routed,
            ));
        }
        for n in 10..14 {
            out.push(message(n, "dorogi-yamy", 57.1610, 65.5500, "2026-11-04T10:00:00+05:00", true, Status::Answered));
        }
        for n in 20..22 {
            out.push(message(
                n,
                "dorogi-yamy",
                57.1530,
                65.5341,
                "2026-12-01T10:00:00+05:00",
                true,
                Status::InProgress,
            ));
        }
        out
    }

    #[test]
    fn a_cell_with_fewer_than_five_messages_never_shows_a_place() {
        let region = crate::testing::sample_region();
        let rows = rows(&sample(), &region);
        assert_eq!(rows.len(), 11);
        let located: Vec<&Row> = rows.iter().filter(|r| r.lat.is_some()).collect();
        assert_eq!(located.len(), 5, "only the cell of five keeps its place");
        assert!(located
            .iter()
            .all(|r| r.lat == Some(57.153) && r.lon == Some(65.534) && r.submitted_month == "2026-11"));
        assert!(located.iter().all(|r| r.location_precision == Precision::Grid));
        for r in rows.iter().filter(|r| r.lat.is_none()) {
            assert_eq!((r.lon, r.location_precision), (None, Precision::Municipality));
            assert_eq!(r.municipality_id, "tyumen");
        }
        // the four in one node: merged up even though each has a point
        assert_eq!(rows.iter().filter(|r| r.status == "answered" && r.lat.is_none()).count(), 4);
        // the same node in another month is another cell, of two
        assert_eq!(rows.iter().filter(|r| r.submitted_month == "2026-12" && r.lat.is_none()).count(), 2);
    }

    #[test]
    fn a_cell_of_four_stays_hidden_in_every_file() {
        let region = crate::testing::sample_region();
        let four: Vec<Message> = sample().into_iter().filter(|m| m.status == Status::Answered).collect();
        let rows = rows(&four, &region);
        let csv = String::from_utf8(to_csv(&rows)).unwrap();
        assert!(!csv.contains("57.161") && !csv.contains("65.55"), "{csv}");
        assert_eq!(to_geojson(&rows)["features"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn only_public_visible_messages_are_rows_and_nothing_personal_leaks() {
        let region = crate::testing::sample_region();
        let mut all = sample();
        all.push(message(30, "dorogi-yamy", 57.153, 65.534, "2026-11-03T10:00:00+05:00", false, Status::Routed));
        all.push(message(31, "dorogi-yamy", 57.153, 65.534, "2026-11-03T10:00:00+05:00", true, Status::Rejected));
        all.push(message(32, "dorogi-yamy", 57.153, 65.534, "2026-11-03T10:00:00+05:00", true, Status::Submitted));
        let rows = rows(&all, &region);
        assert_eq!(rows.len(), 11, "private, rejected and unmoderated messages are left out");
        let csv = String::from_utf8(to_csv(&rows)).unwrap();
        let geo = to_geojson(&rows).to_string();
        for text in [csv.as_str(), geo.as_str()] {
            for secret in ["resident-", "Яма у дома", "+7 900", "Республики", "кв. 5", &all[0].id.to_string()]
            {
                assert!(!text.contains(secret), "{secret} leaked");
            }
        }
        assert_eq!(csv.lines().next().unwrap(), COLUMNS.join(","));
    }

    #[test]
    fn geojson_is_a_feature_collection_of_lon_lat_points() {
        let region = crate::testing::sample_region();
        let g = to_geojson(&rows(&sample(), &region));
        assert_eq!(g["type"], "FeatureCollection");
        let f = &g["features"][0];
        assert_eq!(f["type"], "Feature");
        assert_eq!(f["geometry"]["type"], "Point");
        assert_eq!(f["geometry"]["coordinates"], json!([65.534, 57.153]), "longitude first");
        assert_eq!(f["properties"]["category_id"], "dorogi-yamy");
    }

    #[test]
    fn the_package_documents_every_column() {
        let region = crate::testing::sample_region();
        let data = Dataset {
            built_at: at("2026-12-02T10:00:00Z"),
            from: NaiveDate::from_ymd_opt(2025, 12, 2).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
            rows: vec![],
            truncated: false,
        };
        let p = datapackage(&data, &region);
        let fields = p["resources"][0]["schema"]["fields"].as_array().unwrap();
        let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(names, COLUMNS);
        assert!(fields.iter().all(|f| !f["description"].as_str().unwrap().is_empty()));
        assert_eq!(p["licenses"][0]["name"], LICENSE);
        assert_eq!(p["updated"], "2026-12-02T10:00:00Z");
    }
}
