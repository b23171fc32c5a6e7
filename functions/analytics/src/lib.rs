//! `analytics`: volumes, timeliness, satisfaction and turnout for admins, analysts (the region)
//! and officials (their authority), the staff heat map of every located message (admins,
//! analysts, the ЦУР), the public authority scorecards, all read from pre-aggregated counters; and the public open data, built from the public messages' index.

use feedback_core::analytics::heatmap::HeatmapQuery;
use feedback_core::analytics::{to_csv, Analytics};
use feedback_core::ids::PollId;
use feedback_core::open311::PublicMessageStore;
use feedback_core::open_data::{self, OpenData};
use feedback_core::page::Page;
use feedback_core::participation::PollStore;
use feedback_core::reference::Reference;
use feedback_core::{Actor, Clock, CounterStore, ReferenceStore, ServiceError};
use feedback_lambda::Deps;
use feedback_lambda::{actor, ok, operation, path_param, ApiError, Operation};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use std::sync::Arc;

mod xlsx;

/// The function's use cases: the analytics and the open data.
pub struct Services<S, C> {
    pub analytics: Analytics<S, C>,
    pub open_data: OpenData<S, C>,
}

impl<S, C> Services<S, C>
where
    S: CounterStore + PollStore + ReferenceStore + PublicMessageStore + Clone,
    C: Clock + Clone,
{
    pub fn new(store: S, clock: C, reference: Arc<Reference<S>>) -> Self {
        Services {
            analytics: Analytics::new(store.clone(), clock.clone(), reference.clone()),
            open_data: OpenData::new(store, clock, reference),
        }
    }
}

/// The function's services over a host's adapters.
pub fn services<S, Q, C>(deps: &Deps<S, Q, C>) -> Services<S, C>
where
    S: CounterStore + PollStore + ReferenceStore + PublicMessageStore + Clone,
    C: Clock + Clone,
{
    Services::new(deps.store.clone(), deps.clock.clone(), deps.reference.clone())
}

/// The handler both hosts call.
pub async fn handle<S, C>(services: &Services<S, C>, req: Request) -> Result<Response<Body>, Error>
where
    S: CounterStore + PollStore + ReferenceStore + PublicMessageStore + Clone,
    C: Clock,
{
    Ok(feedback_lambda::respond(&req, dispatch(services, &req)).await)
}

/// The query parameters a report takes; any other is refused, so a typo is not silently ignored.
const REPORT_PARAMS: &[&str] = &["from", "to", "group_by"];

fn query<'a>(req: &'a Request, allowed: &[&str]) -> Result<impl Fn(&str) -> Option<&'a str>, ApiError> {
    let q = req.query_string_parameters_ref();
    if let Some(q) = q {
        for (name, _) in q.iter() {
            if !allowed.contains(&name) {
                return Err(ApiError::validation(name, "неизвестный параметр"));
            }
        }
    }
    Ok(move |name: &str| q.and_then(|q| q.first(name)))
}

/// How long the public scorecards may be cached, in seconds: they change with every answer, but
/// a few minutes' delay costs nobody anything and spares the counters every page view.
const SCORECARD_CACHE: u32 = 300;

/// An open-data file, cached for `open_data::MAX_AGE_SECS` with a strong `ETag`; a request whose
/// `If-None-Match` names it gets 304 without the body.
fn file(req: &Request, content_type: &str, body: Vec<u8>) -> Result<Response<Body>, ApiError> {
    let etag = open_data::etag(&body);
    let cache = format!("public, max-age={}", open_data::MAX_AGE_SECS);
    let matches = req
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let builder = Response::builder()
        .header("cache-control", cache)
        .header("etag", etag)
        .header("access-control-allow-origin", "*");
    let resp = if matches {
        builder.status(304).body(Body::Empty)
    } else {
        builder.status(200).header("content-type", content_type).body(Body::Binary(body))
    };
    resp.map_err(|_| ApiError::internal())
}

async fn public<S, C>(
    services: &Services<S, C>,
    req: &Request,
    op: Operation,
) -> Option<Result<Response<Body>, ApiError>>
where
    S: CounterStore + PollStore + ReferenceStore + PublicMessageStore + Clone,
    C: Clock,
{
    let run = async {
        let _no_params = query(req, &[])?;
        match op {
            Operation::PublicAuthorities => {
                Ok(feedback_lambda::cacheable(req, &services.analytics.scorecards().await?, SCORECARD_CACHE))
            }
            Operation::PublicScorecard => {
                let id = path_param(req, "authority_id")?;
                Ok(feedback_lambda::cacheable(req, &services.analytics.scorecard(&id).await?, SCORECARD_CACHE))
            }
            Operation::OpenDataCsv => {
                let (data, _) = services.open_data.build().await?;
                file(req, "text/csv; charset=utf-8", open_data::to_csv(&data.rows))
            }
            Operation::OpenDataGeoJson => {
                let (data, _) = services.open_data.build().await?;
                let body = serde_json::to_vec(&open_data::to_geojson(&data.rows)).map_err(|_| ApiError::internal())?;
                file(req, "application/geo+json", body)
            }
            Operation::OpenDataPackage => {
                let (data, snap) = services.open_data.build().await?;
                let body = serde_json::to_vec_pretty(&open_data::datapackage(&data, &snap.value))
                    .map_err(|_| ApiError::internal())?;
                file(req, "application/json", body)
            }
            _ => Err(ApiError::RouteNotFound),
        }
    };
    match op {
        Operation::PublicAuthorities
        | Operation::PublicScorecard
        | Operation::OpenDataCsv
        | Operation::OpenDataGeoJson
        | Operation::OpenDataPackage => Some(run.await),
        _ => None,
    }
}

async fn dispatch<S, C>(services: &Services<S, C>, req: &Request) -> Result<Response<Body>, ApiError>
where
    S: CounterStore + PollStore + ReferenceStore + PublicMessageStore + Clone,
    C: Clock,
{
    if let Some(op) = operation(req) {
        if let Some(answer) = public(services, req, op).await {
            return answer;
        }
    }
    let analytics = &services.analytics;
    let actor = actor(req)?;
    // Every staff answer says up to when its counters hold every transition (read first).
    let as_of = analytics.counted_as_of().await?;
    let mut response = staff(analytics, &actor, req).await?;
    if let Ok(value) = as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).parse() {
        response.headers_mut().insert("counted-as-of", value);
    }
    Ok(response)
}

async fn staff<S, C>(analytics: &Analytics<S, C>, actor: &Actor, req: &Request) -> Result<Response<Body>, ApiError>
where
    S: CounterStore + PollStore + ReferenceStore + PublicMessageStore + Clone,
    C: Clock,
{
    let actor = actor.clone();
    match operation(req) {
        Some(Operation::MessagesReport) => {
            let q = query(req, REPORT_PARAMS)?;
            Ok(ok(&analytics.messages(&actor, q("from"), q("to"), q("group_by")).await?))
        }
        Some(Operation::MessagesReportCsv) => {
            let q = query(req, REPORT_PARAMS)?;
            let report = analytics.messages(&actor, q("from"), q("to"), q("group_by")).await?;
            let name = format!("messages-{}-{}-{}.csv", report.group_by, report.from, report.to);
            Response::builder()
                .status(200)
                .header("content-type", "text/csv; charset=utf-8")
                .header("content-disposition", format!("attachment; filename=\"{name}\""))
                .body(Body::Binary(to_csv(&report.groups)))
                .map_err(|_| ApiError::internal())
        }
        Some(Operation::MessagesReportXlsx) => {
            let q = query(req, REPORT_PARAMS)?;
            let report = analytics.messages(&actor, q("from"), q("to"), q("group_by")).await?;
            let name = format!("messages-{}-{}-{}.xlsx", report.group_by, report.from, report.to);
            let bytes = xlsx::workbook(&report).map_err(|e| ServiceError::Unexpected(e.into()))?;
            Response::builder()
                .status(200)
                .header("content-type", feedback_lambda::XLSX)
                .header("content-disposition", format!("attachment; filename=\"{name}\""))
                .body(Body::Binary(bytes))
                .map_err(|_| ApiError::internal())
        }
        Some(Operation::AuthorityRanking) => {
            let q = query(req, &["from", "to"])?;
            let items = analytics.authorities(&actor, q("from"), q("to")).await?;
            Ok(ok(&Page { items, next_cursor: None }))
        }
        Some(Operation::StaffHeatmap) => {
            let q = query(req, &["bbox", "zoom", "overdue", "category_id"])?;
            let q = HeatmapQuery::parse(&|name| q(name).map(str::to_owned))?;
            Ok(ok(&analytics.heatmap(&actor, &q).await?))
        }
        Some(Operation::PollReport) => {
            let _no_params = query(req, &[])?;
            let id = PollId::parse(&path_param(req, "id")?).map_err(|_| ServiceError::NotFound)?;
            Ok(ok(&analytics.poll(&actor, &id).await?))
        }
        _ => Err(ApiError::RouteNotFound),
    }
}
