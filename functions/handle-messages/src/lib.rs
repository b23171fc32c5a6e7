//! `handle-messages`: officials and moderators work on messages — the authority's queue with its
//! counts, the messages awaiting moderation, take, answer, redirect and reject.

use feedback_core::ids::{AuthorityId, MessageId};
use feedback_core::values::{MessageText, Reason};
use feedback_core::views::MessageView;
use feedback_core::workflow::{QueueFilter, RejectReason, SearchTerms, Workflow};
use feedback_core::{Clock, CounterStore, FieldErrors, MessageStore, ReferenceStore, ServiceError, Status, WorkQueue};
use feedback_lambda::Deps;
use feedback_lambda::{actor, json_body, limit_and_cursor, ok, operation, path_param, ApiError, Operation};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "Яма будет заделана в течение пяти рабочих дней."}))]
pub struct AnswerRequest {
    #[schema(min_length = 10, max_length = 4000)]
    pub text: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"authority_id": "tsur-72", "reason": "not_in_competence"}))]
pub struct RedirectRequest {
    #[schema(pattern = "^[a-z0-9-]{1,64}$")]
    pub authority_id: String,
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason_code": "spam"}))]
pub struct RejectRequest {
    #[schema(pattern = "^(obscene|spam|duplicate|no_content|personal_data|not_a_request)$")]
    pub reason_code: String,
    #[schema(max_length = 1000)]
    #[serde(default)]
    pub comment: Option<String>,
}

fn queue_filter(req: &Request) -> Result<QueueFilter, ApiError> {
    let q = req.query_string_parameters_ref();
    let mut filter = QueueFilter::default();
    match q.and_then(|q| q.first("status")) {
        None | Some("open") => {}
        Some("all") => filter.all = true,
        Some(s) => {
            filter.status = Some(s.parse::<Status>().map_err(|_| {
                ApiError::validation(
                    "status",
                    "open, all или статус: routed, in_progress, answered, closed, rejected, reopened",
                )
            })?)
        }
    }
    filter.overdue = q
        .and_then(|q| q.first("overdue"))
        .map(|s| match s {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(ApiError::validation("overdue", "true или false")),
        })
        .transpose()?;
    if let Some(raw) = q.and_then(|q| q.first("q")) {
        filter.search = SearchTerms::parse(raw).map_err(|m| ApiError::validation("q", m))?;
    }
    Ok(filter)
}

/// The function's service over a host's adapters.
pub fn services<S, Q, C>(deps: &Deps<S, Q, C>) -> Workflow<S, Q, C>
where
    S: MessageStore + ReferenceStore + Clone,
    Q: WorkQueue + Clone,
    C: Clock + Clone,
{
    Workflow::new(deps.store.clone(), deps.queue.clone(), deps.clock.clone(), deps.reference.clone())
}

/// The handler both hosts call.
pub async fn handle<S, Q, C>(workflow: &Workflow<S, Q, C>, req: Request) -> Result<Response<Body>, Error>
where
    S: MessageStore + ReferenceStore + CounterStore,
    Q: WorkQueue,
    C: Clock,
{
    Ok(feedback_lambda::respond(&req, dispatch(workflow, &req)).await)
}

async fn dispatch<S, Q, C>(workflow: &Workflow<S, Q, C>, req: &Request) -> Result<Response<Body>, ApiError>
where
    S: MessageStore + ReferenceStore + CounterStore,
    Q: WorkQueue,
    C: Clock,
{
    let actor = actor(req)?;
    let tz = workflow.reference().snapshot().await?.value.time_zone();
    let op = operation(req);
    if op == Some(Operation::AuthorityQueue) {
        let filter = queue_filter(req)?;
        let (limit, cursor) = limit_and_cursor(req)?;
        let page = workflow.queue(&actor, filter, cursor, limit).await?;
        return Ok(ok(&page.map(|m| MessageView::summary(&m, &tz))));
    }
    if op == Some(Operation::AuthorityQueueCounts) {
        return Ok(ok(&workflow.queue_counts(&actor).await?));
    }
    if op == Some(Operation::AwaitingModeration) {
        let (limit, cursor) = limit_and_cursor(req)?;
        let page = workflow.awaiting_moderation(&actor, cursor, limit).await?;
        return Ok(ok(&page.map(|m| MessageView::summary(&m, &tz))));
    }
    let id = MessageId::parse(&path_param(req, "id")?).map_err(|_| ServiceError::NotFound)?;
    let message = match op {
        Some(Operation::TakeMessage) => workflow.take(&actor, &id).await?,
        Some(Operation::AnswerMessage) => {
            let body = json_body::<AnswerRequest>(req)?;
            let text = MessageText::parse(&body.text).map_err(|m| ApiError::validation("text", m))?;
            workflow.answer(&actor, &id, text).await?
        }
        Some(Operation::RedirectMessage) => {
            let body = json_body::<RedirectRequest>(req)?;
            let mut errs = FieldErrors::new();
            let to = errs.check("authority_id", AuthorityId::parse(&body.authority_id));
            let reason = errs.check("reason", Reason::parse(&body.reason));
            let (to, reason) = errs.finish_with(|| Some((to?, reason?)))?;
            workflow.redirect(&actor, &id, to, reason).await?
        }
        Some(Operation::RejectMessage) => {
            let body = json_body::<RejectRequest>(req)?;
            let mut errs = FieldErrors::new();
            let reason = errs.check(
                "reason_code",
                body.reason_code
                    .parse::<RejectReason>()
                    .map_err(|_| "одно из: obscene, spam, duplicate, no_content, personal_data, not_a_request"),
            );
            let comment = errs.check("comment", body.comment.as_deref().map(Reason::parse).transpose());
            let (reason, comment) = errs.finish_with(|| Some((reason?, comment?)))?;
            workflow.reject(&actor, &id, reason, comment).await?
        }
        _ => return Err(ApiError::RouteNotFound),
    };
    Ok(ok(&MessageView::summary(&message, &tz)))
}
