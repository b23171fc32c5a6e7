//! `handle-messages`: officials and moderators work on messages — the authority's queue with its
//! counts, the messages awaiting moderation, take, answer (with photos), redirect and reject —
//! and officials keep their authority's reply templates.

use chrono::{DateTime, FixedOffset};
use feedback_core::ids::{AuthorityId, MessageId, TemplateId};
use feedback_core::message::QueueOrder;
use feedback_core::photo::{BlobUrls, PhotoStore, Photos};
use feedback_core::templates::{ReplyTemplate, TemplateInput, TemplateStore, Templates};
use feedback_core::values::{MessageText, PhotoIds, Reason};
use feedback_core::views::{local_time, MessageView};
use feedback_core::workflow::{QueueFilter, RejectReason, SearchTerms, Workflow};
use feedback_core::{Clock, CounterStore, FieldErrors, MessageStore, ReferenceStore, ServiceError, Status, WorkQueue};
use feedback_lambda::Deps;
use feedback_lambda::{
    actor, created, json_body, limit_and_cursor, no_content, ok, operation, path_param, ApiError, Operation,
};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "Яма заделана, участок дороги восстановлен.", "photo_ids": ["01JD3Q6Z8C4V0N5R7T9W1X2Y3Z"]}))]
pub struct AnswerRequest {
    #[schema(min_length = 10, max_length = 4000)]
    pub text: String,
    /// Photos of what was done, announced by the answering official (`POST /v1/photos`) and
    /// uploaded; at most three, like a resident's.
    #[schema(max_items = 3)]
    #[serde(default)]
    pub photo_ids: Option<Vec<String>>,
}

/// The body of `POST /v1/authority/templates` and `PUT /v1/authority/templates/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Яма заделана", "text": "Яма на проезжей части заделана. Спасибо за сообщение."}))]
pub struct TemplateRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub title: String,
    #[schema(min_length = 10, max_length = 4000)]
    pub text: String,
}

/// A reply template of the caller's authority.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateView {
    pub id: TemplateId,
    pub title: String,
    pub text: String,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

impl TemplateView {
    fn of(t: ReplyTemplate, tz: &chrono_tz::Tz) -> TemplateView {
        TemplateView {
            id: t.id,
            title: t.title,
            text: t.text,
            created_at: local_time(t.created_at, tz),
            updated_at: local_time(t.updated_at, tz),
        }
    }
}

/// The templates of the caller's authority, by title (at most 100: one page).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateList {
    pub items: Vec<TemplateView>,
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
    if let Some(raw) = q.and_then(|q| q.first("sort")) {
        filter.order = raw.parse::<QueueOrder>().map_err(|_| {
            ApiError::validation(
                "sort",
                "выберите порядок: deadline (по сроку), newest (сначала новые) или oldest (сначала старые)",
            )
        })?;
    }
    Ok(filter)
}

/// What the function needs: the workflow, the templates and the photos answers carry.
pub struct Services<S, Q, C> {
    pub workflow: Workflow<S, Q, C>,
    pub templates: Templates<S, C>,
    /// Checks that an answer's photos were uploaded and are images.
    pub photos: Photos<S, C>,
}

/// Everything the function's store implements.
pub trait Store: MessageStore + ReferenceStore + CounterStore + TemplateStore + PhotoStore {}
impl<T> Store for T where T: MessageStore + ReferenceStore + CounterStore + TemplateStore + PhotoStore {}

/// The function's services over a host's adapters; `blobs` reads the first bytes of an answer's
/// photos.
pub fn services<S, Q, C>(deps: &Deps<S, Q, C>, blobs: Arc<dyn BlobUrls>) -> Services<S, Q, C>
where
    S: Store + Clone,
    Q: WorkQueue + Clone,
    C: Clock + Clone,
{
    let d = deps;
    Services {
        workflow: Workflow::new(d.store.clone(), d.queue.clone(), d.clock.clone(), d.reference.clone()),
        templates: Templates::new(d.store.clone(), d.clock.clone(), d.reference.clone()),
        photos: Photos::new(d.store.clone(), d.clock.clone(), blobs, d.reference.clone()),
    }
}

/// The handler both hosts call.
pub async fn handle<S, Q, C>(services: &Services<S, Q, C>, req: Request) -> Result<Response<Body>, Error>
where
    S: Store,
    Q: WorkQueue,
    C: Clock,
{
    Ok(feedback_lambda::respond(&req, dispatch(services, &req)).await)
}

async fn dispatch<S, Q, C>(services: &Services<S, Q, C>, req: &Request) -> Result<Response<Body>, ApiError>
where
    S: Store,
    Q: WorkQueue,
    C: Clock,
{
    let workflow = &services.workflow;
    let actor = actor(req)?;
    let tz = workflow.reference().snapshot().await?.value.time_zone();
    let op = operation(req);
    match op {
        Some(Operation::ListTemplates) => {
            let items = services.templates.list(&actor).await?;
            return Ok(ok(&TemplateList { items: items.into_iter().map(|t| TemplateView::of(t, &tz)).collect() }));
        }
        Some(Operation::CreateTemplate) => {
            let body = json_body::<TemplateRequest>(req)?;
            let input = TemplateInput::parse(&body.title, &body.text)?;
            return Ok(created(&TemplateView::of(services.templates.create(&actor, input).await?, &tz)));
        }
        Some(Operation::ReplaceTemplate) => {
            let id = TemplateId::parse(&path_param(req, "id")?).map_err(|_| ServiceError::NotFound)?;
            let body = json_body::<TemplateRequest>(req)?;
            let input = TemplateInput::parse(&body.title, &body.text)?;
            return Ok(ok(&TemplateView::of(services.templates.update(&actor, &id, input).await?, &tz)));
        }
        Some(Operation::DeleteTemplate) => {
            let id = TemplateId::parse(&path_param(req, "id")?).map_err(|_| ServiceError::NotFound)?;
            services.templates.delete(&actor, &id).await?;
            return Ok(no_content());
        }
        _ => {}
    }
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
            let mut errs = FieldErrors::new();
            let text = errs.check("text", MessageText::parse(&body.text));
            let photos = errs.check("photo_ids", PhotoIds::parse(&body.photo_ids.unwrap_or_default()));
            let (text, photos) = errs.finish_with(|| Some((text?, photos?)))?;
            if photos.as_slice().is_empty() {
                workflow.answer(&actor, &id, text).await?
            } else {
                let not_uploaded = services.photos.check_uploaded(&actor.id, photos.as_slice()).await?;
                if !not_uploaded.is_empty() {
                    return Err(ServiceError::Validation(not_uploaded).into());
                }
                workflow.answer_with_photos(&actor, &id, text, &photos).await?
            }
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
