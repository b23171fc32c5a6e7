//! `analytics`: volumes, timeliness, satisfaction and turnout for admins, analysts (the region)
//! and officials (their authority). It reads only pre-aggregated counters.

use feedback_core::analytics::{to_csv, Analytics};
use feedback_core::ids::PollId;
use feedback_core::page::Page;
use feedback_core::participation::PollStore;
use feedback_core::{Clock, CounterStore, ReferenceStore, ServiceError};
use feedback_lambda::Deps;
use feedback_lambda::{actor, ok, operation, path_param, ApiError, Operation};
use lambda_http::{Body, Error, Request, RequestExt, Response};

mod xlsx;

/// The function's service over a host's adapters.
pub fn services<S, Q, C>(deps: &Deps<S, Q, C>) -> Analytics<S, C>
where
    S: CounterStore + PollStore + ReferenceStore + Clone,
    C: Clock + Clone,
{
    Analytics::new(deps.store.clone(), deps.clock.clone(), deps.reference.clone())
}

/// The handler both hosts call.
pub async fn handle<S, C>(analytics: &Analytics<S, C>, req: Request) -> Result<Response<Body>, Error>
where
    S: CounterStore + PollStore + ReferenceStore + Clone,
    C: Clock,
{
    Ok(feedback_lambda::respond(&req, dispatch(analytics, &req)).await)
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

async fn dispatch<S, C>(analytics: &Analytics<S, C>, req: &Request) -> Result<Response<Body>, ApiError>
where
    S: CounterStore + PollStore + ReferenceStore + Clone,
    C: Clock,
{
    let actor = actor(req)?;
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
        Some(Operation::PollReport) => {
            let _no_params = query(req, &[])?;
            let id = PollId::parse(&path_param(req, "id")?).map_err(|_| ServiceError::NotFound)?;
            Ok(ok(&analytics.poll(&actor, &id).await?))
        }
        _ => Err(ApiError::RouteNotFound),
    }
}
