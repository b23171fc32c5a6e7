//! `polls`: votes, surveys and discussions — admins create and cancel them, residents list the
//! ones they may join, cast one secret ballot, read results and comment; moderators keep the
//! discussions clean.

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use feedback_core::ids::{CommentId, MunicipalityId, PollId};
use feedback_core::page::Page;
use feedback_core::participation::PollSecrets;
use feedback_core::participation::{
    Audience, BallotAnswer, Comment, CommentStore, ModerationItem, ModerationState, NewPoll, Participation,
    PollForActor, PollKind, PollStatus, PollStore, Question, QuestionKind, ResultsVisibility,
};
use feedback_core::values::{CommentText, FlagReason};
use feedback_core::views::local_time;
use feedback_core::{Clock, FieldErrors, ReferenceStore, ServiceError};
use feedback_lambda::metrics::Metric;
use feedback_lambda::{actor, created, json_body, limit_and_cursor, ok, operation, path_param, ApiError, Operation};
use feedback_lambda::{Deps, Settings};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionRequest {
    #[schema(min_length = 1, max_length = 1000)]
    pub text: String,
    pub kind: QuestionKind,
    #[schema(max_items = 10)]
    #[serde(default)]
    pub options: Option<Vec<String>>,
    #[serde(default)]
    pub max_choices: Option<u8>,
    #[serde(default)]
    pub required: Option<bool>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceRequest {
    #[serde(default)]
    pub municipalities: Option<Vec<String>>,
    #[serde(default)]
    pub min_age: Option<u8>,
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PollKindRequest {
    Vote,
    Survey,
}

/// The body of `POST /v1/polls`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "vote", "title": "Какой двор благоустроить первым?", "questions": [{"text": "Выберите двор", "kind": "single", "options": ["Двор на ул. Ленина, 10", "Двор на ул. Мира, 3"]}], "audience": {"municipalities": ["tyumen"]}, "opens_at": "2030-01-01T09:00:00+05:00", "closes_at": "2030-02-01T18:00:00+05:00", "results": "after_close"}))]
pub struct PollRequest {
    pub kind: PollKindRequest,
    #[schema(min_length = 3, max_length = 300)]
    pub title: String,
    #[schema(max_length = 5000)]
    #[serde(default)]
    pub description: Option<String>,
    #[schema(max_items = 10)]
    pub questions: Vec<QuestionRequest>,
    #[serde(default)]
    pub audience: Option<AudienceRequest>,
    pub opens_at: DateTime<FixedOffset>,
    pub closes_at: DateTime<FixedOffset>,
    pub results: ResultsVisibility,
}

/// The body of `POST /v1/discussions`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Благоустройство сквера на улице Мельникайте", "opens_at": "2030-01-01T09:00:00+05:00", "closes_at": "2030-02-01T18:00:00+05:00"}))]
pub struct DiscussionRequest {
    #[schema(min_length = 3, max_length = 300)]
    pub title: String,
    #[schema(max_length = 5000)]
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub audience: Option<AudienceRequest>,
    pub opens_at: DateTime<FixedOffset>,
    pub closes_at: DateTime<FixedOffset>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BallotRequest {
    pub answers: Vec<BallotAnswer>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "Поддерживаю, сквер нужен"}))]
pub struct CommentRequest {
    #[schema(min_length = 1, max_length = 1000)]
    pub text: String,
    #[serde(default)]
    pub reply_to: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "оскорбление"}))]
pub struct FlagRequest {
    #[schema(max_length = 500)]
    #[serde(default)]
    pub reason: Option<String>,
}

fn audience(req: Option<AudienceRequest>) -> Result<Audience, ServiceError> {
    let req = req.unwrap_or_default();
    let mut municipalities = Vec::new();
    for (i, m) in req.municipalities.unwrap_or_default().iter().enumerate() {
        municipalities.push(
            MunicipalityId::parse(m).map_err(|_| {
                ServiceError::field(format!("audience.municipalities[{i}]"), "недопустимый идентификатор")
            })?,
        );
    }
    Ok(Audience { municipalities, min_age: req.min_age })
}

impl PollRequest {
    pub fn parse(self) -> Result<NewPoll, ServiceError> {
        let mut errs = FieldErrors::new();
        let questions = self
            .questions
            .into_iter()
            .map(|q| Question {
                text: q.text,
                kind: q.kind,
                options: q.options.unwrap_or_default(),
                max_choices: q.max_choices,
                required: q.required.unwrap_or(true),
            })
            .collect();
        let audience = audience(self.audience)
            .map_err(|e| match e {
                ServiceError::Validation(v) => errs.extend(v),
                _ => errs.push("audience", "недопустимая аудитория"),
            })
            .ok();
        errs.finish_with(|| {
            Some(NewPoll {
                kind: match self.kind {
                    PollKindRequest::Vote => PollKind::Vote,
                    PollKindRequest::Survey => PollKind::Survey,
                },
                title: self.title,
                description: self.description,
                questions,
                audience: audience?,
                opens_at: self.opens_at.with_timezone(&Utc),
                closes_at: self.closes_at.with_timezone(&Utc),
                results: self.results,
            })
        })
    }
}

impl DiscussionRequest {
    pub fn parse(self) -> Result<NewPoll, ServiceError> {
        Ok(NewPoll {
            kind: PollKind::Discussion,
            title: self.title,
            description: self.description,
            questions: vec![],
            audience: audience(self.audience)?,
            opens_at: self.opens_at.with_timezone(&Utc),
            closes_at: self.closes_at.with_timezone(&Utc),
            results: ResultsVisibility::Live,
        })
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PollView {
    pub id: PollId,
    pub kind: PollKind,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<Question>,
    pub audience: Audience,
    pub opens_at: DateTime<FixedOffset>,
    pub closes_at: DateTime<FixedOffset>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<ResultsVisibility>,
    pub status: PollStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_voted: Option<bool>,
}

impl PollView {
    fn of(p: PollForActor, tz: &Tz) -> PollView {
        let poll = p.poll;
        PollView {
            id: poll.id,
            kind: poll.kind,
            title: poll.title,
            description: poll.description,
            questions: poll.questions,
            audience: poll.audience,
            opens_at: local_time(poll.opens_at, tz),
            closes_at: local_time(poll.closes_at, tz),
            results: (poll.kind != PollKind::Discussion).then_some(poll.results),
            status: poll.status.public(),
            has_voted: p.has_voted,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommentView {
    pub id: CommentId,
    pub discussion_id: PollId,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<CommentId>,
    pub created_at: DateTime<FixedOffset>,
    /// The caller wrote it.
    pub mine: bool,
    pub hidden: bool,
    /// Flags and state are shown to moderators.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<u32>,
    /// The reasons flaggers gave, in the moderators' queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag_reasons: Option<Vec<String>>,
}

/// The receipt of a cast ballot: the code that later proves it was counted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReceiptView {
    pub receipt: String,
}

/// What checking a receipt tells: the poll it belongs to, and that the ballot is counted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReceiptCheckView {
    pub poll_id: PollId,
    pub counted: bool,
}

fn comment_view(c: Comment, viewer: &feedback_core::Actor, tz: &Tz) -> CommentView {
    let staff = viewer.has(feedback_core::Role::Moderator);
    CommentView {
        id: c.id,
        discussion_id: c.discussion_id,
        mine: c.author == viewer.id,
        text: c.text,
        reply_to: c.reply_to,
        created_at: local_time(c.created_at, tz),
        hidden: c.hidden,
        flags: staff.then_some(c.flags),
        flag_reasons: None,
    }
}

fn moderation_view(item: ModerationItem, viewer: &feedback_core::Actor, tz: &Tz) -> CommentView {
    let reasons = item.flag_reasons.iter().map(|r| r.as_str().to_owned()).collect();
    CommentView { flag_reasons: Some(reasons), ..comment_view(item.comment, viewer, tz) }
}

fn status_param(req: &Request, default: PollStatus) -> Result<PollStatus, ApiError> {
    match req.query_string_parameters_ref().and_then(|q| q.first("status")) {
        None => Ok(default),
        Some(s) => PollStatus::parse_public(s)
            .ok_or_else(|| ApiError::validation("status", "одно из: scheduled, open, closed, cancelled")),
    }
}

fn poll_id(req: &Request) -> Result<PollId, ApiError> {
    PollId::parse(&path_param(req, "id")?).map_err(|_| ApiError::Service(ServiceError::NotFound))
}

fn comment_id(req: &Request) -> Result<CommentId, ApiError> {
    CommentId::parse(&path_param(req, "id")?).map_err(|_| ApiError::Service(ServiceError::NotFound))
}

/// The function's service over a host's adapters and the poll secrets.
pub fn services<S, Q, C>(deps: &Deps<S, Q, C>, secrets: PollSecrets, settings: &Settings) -> Participation<S, C>
where
    S: PollStore + CommentStore + ReferenceStore + Clone,
    C: Clock + Clone,
{
    deps.participation(secrets, settings)
}

/// The handler both hosts call.
pub async fn handle<S, C>(participation: &Participation<S, C>, req: Request) -> Result<Response<Body>, Error>
where
    S: PollStore + CommentStore + ReferenceStore,
    C: Clock,
{
    Ok(feedback_lambda::respond(&req, dispatch(participation, &req)).await)
}

async fn dispatch<S, C>(p: &Participation<S, C>, req: &Request) -> Result<Response<Body>, ApiError>
where
    S: PollStore + CommentStore + ReferenceStore,
    C: Clock,
{
    let actor = actor(req)?;
    let tz = p.reference().snapshot().await?.value.time_zone();
    let view = |x: PollForActor| PollView::of(x, &tz);
    match operation(req) {
        Some(Operation::CreatePoll) => {
            let poll = p.create(&actor, json_body::<PollRequest>(req)?.parse()?).await?;
            Ok(created(&view(PollForActor { poll, has_voted: None })))
        }
        Some(Operation::CreateDiscussion) => {
            let poll = p.create(&actor, json_body::<DiscussionRequest>(req)?.parse()?).await?;
            Ok(created(&view(PollForActor { poll, has_voted: None })))
        }
        Some(op @ (Operation::ListPolls | Operation::ListDiscussions)) => {
            let status = status_param(req, PollStatus::Open)?;
            let (limit, cursor) = limit_and_cursor(req)?;
            let page = p.list(&actor, op == Operation::ListDiscussions, status, cursor, limit).await?;
            Ok(ok(&page.map(view)))
        }
        Some(op @ (Operation::GetPoll | Operation::GetDiscussion)) => {
            let found = p.get(&actor, &poll_id(req)?).await?;
            if (found.poll.kind == PollKind::Discussion) != (op == Operation::GetDiscussion) {
                return Err(ServiceError::NotFound.into());
            }
            Ok(ok(&view(found)))
        }
        Some(Operation::CancelPoll) => {
            let poll = p.cancel(&actor, &poll_id(req)?).await?;
            Ok(ok(&view(PollForActor { poll, has_voted: None })))
        }
        Some(Operation::CastBallot) => {
            let body = json_body::<BallotRequest>(req)?;
            let receipt = p.vote(&actor, &poll_id(req)?, body.answers).await?;
            feedback_lambda::observe::count(req, Metric::BallotsCast);
            Ok(created(&ReceiptView { receipt }))
        }
        Some(Operation::PollResults) => Ok(ok(&p.results(&actor, &poll_id(req)?).await?)),
        Some(Operation::CheckReceipt) => {
            let poll = p.check_receipt(&actor, &path_param(req, "receipt")?).await?;
            Ok(ok(&ReceiptCheckView { poll_id: poll, counted: true }))
        }
        Some(Operation::ListComments) => {
            let (limit, cursor) = limit_and_cursor(req)?;
            let page = p.comments(&actor, &poll_id(req)?, cursor, limit).await?;
            Ok(ok(&page.map(|c| comment_view(c, &actor, &tz))))
        }
        Some(Operation::PostComment) => {
            let body = json_body::<CommentRequest>(req)?;
            let mut errs = FieldErrors::new();
            let text = errs.check("text", CommentText::parse(&body.text));
            let reply_to = errs.check("reply_to", body.reply_to.as_deref().map(CommentId::parse).transpose());
            let (text, reply_to) = errs.finish_with(|| Some((text?, reply_to?)))?;
            let c = p.comment(&actor, &poll_id(req)?, text, reply_to).await?;
            Ok(created(&comment_view(c, &actor, &tz)))
        }
        Some(Operation::FlagComment) => {
            let body = json_body::<FlagRequest>(req)?;
            let reason =
                FlagReason::parse_optional(body.reason.as_deref()).map_err(|m| ApiError::validation("reason", m))?;
            let c = p.flag(&actor, &comment_id(req)?, reason).await?;
            Ok(ok(&comment_view(c, &actor, &tz)))
        }
        Some(op @ (Operation::HideComment | Operation::RestoreComment)) => {
            let c = p.moderate(&actor, &comment_id(req)?, op == Operation::HideComment).await?;
            Ok(ok(&comment_view(c, &actor, &tz)))
        }
        Some(Operation::ModerationQueue) => {
            let state = match req.query_string_parameters_ref().and_then(|q| q.first("state")) {
                None | Some("flagged") => ModerationState::Flagged,
                Some("hidden") => ModerationState::Hidden,
                Some(_) => return Err(ApiError::validation("state", "flagged или hidden")),
            };
            let (limit, cursor) = limit_and_cursor(req)?;
            let page: Page<ModerationItem> = p.moderation_queue(&actor, state, cursor, limit).await?;
            Ok(ok(&page.map(|item| moderation_view(item, &actor, &tz))))
        }
        _ => Err(ApiError::RouteNotFound),
    }
}
