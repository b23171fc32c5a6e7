//! `/v1/webhooks`: the region's admins register endpoints, list them, disable them, read their
//! delivery log and redeliver. The secret is in the creation's answer only.

use chrono::{DateTime, FixedOffset};
use feedback_core::views::local_time;
use feedback_core::webhook::{
    AttemptResult, DeliveryStatus, DisabledReason, Endpoint, EventType, NewEndpoint, WebhookDelivery, WebhookStore,
    Webhooks,
};
use feedback_core::{Clock, ReferenceStore, WorkQueue};
use feedback_lambda::{actor, created, json_body, ok, operation, path_param, ApiError, Operation};
use lambda_http::{Body, Error, Request, Response};
use serde::{Deserialize, Serialize};

/// `POST /v1/webhooks` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookRequest {
    /// `https://` and a public host.
    pub url: String,
    /// At least one of the event types.
    pub events: Vec<String>,
    /// Only message events about this authority's messages.
    #[serde(default)]
    pub authority_id: Option<String>,
}

/// An endpoint as listed: never its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<EventType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_id: Option<String>,
    pub enabled: bool,
    pub created_at: DateTime<FixedOffset>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<DateTime<FixedOffset>>,
    /// Why it is disabled: `admin` (an admin disabled it) or `failing` (every attempt failed for
    /// 24 hours, so the platform disabled it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<DisabledReason>,
    /// Since when every attempt has failed, if they have.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<FixedOffset>>,
}

/// A created endpoint with its signing secret, shown only in this response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedWebhookView {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_` and base64 of 32 random bytes (Standard Webhooks).
    pub secret: String,
}

/// One entry of the delivery log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// The `webhook-id` of every attempt.
    pub id: String,
    pub event_type: EventType,
    pub event_id: String,
    pub attempts: u32,
    pub status: DeliveryStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_result: Option<AttemptResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<FixedOffset>>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

/// The endpoint's deliveries, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryLog {
    pub items: Vec<DeliveryView>,
}

/// The region's endpoints.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookView>,
}

impl WebhookView {
    pub fn of(e: &Endpoint, tz: &chrono_tz::Tz) -> Self {
        WebhookView {
            id: e.id.to_string(),
            url: e.url.clone(),
            events: e.events.clone(),
            authority_id: e.authority_id.as_ref().map(ToString::to_string),
            enabled: e.enabled,
            created_at: local_time(e.created_at, tz),
            disabled_at: e.disabled_at.map(|t| local_time(t, tz)),
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since.map(|t| local_time(t, tz)),
        }
    }
}

impl DeliveryView {
    pub fn of(d: &WebhookDelivery, tz: &chrono_tz::Tz) -> Self {
        DeliveryView {
            id: d.id.clone(),
            event_type: d.event.event_type,
            event_id: d.event.id.to_string(),
            attempts: d.attempts,
            status: d.status,
            last_result: d.last_result.clone(),
            next_attempt_at: d.next_attempt_at.map(|t| local_time(t, tz)),
            created_at: local_time(d.created_at, tz),
            updated_at: local_time(d.updated_at, tz),
        }
    }
}

/// The handler both hosts call.
pub async fn handle<S: WebhookStore + ReferenceStore, Q: WorkQueue, C: Clock>(
    webhooks: &Webhooks<S, Q, C>,
    req: Request,
) -> Result<Response<Body>, Error> {
    Ok(feedback_lambda::respond(&req, dispatch(webhooks, &req)).await)
}

async fn dispatch<S: WebhookStore + ReferenceStore, Q: WorkQueue, C: Clock>(
    webhooks: &Webhooks<S, Q, C>,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let actor = actor(req)?;
    let tz = webhooks.time_zone().await?;
    match operation(req) {
        Some(Operation::CreateWebhook) => {
            let body: NewWebhookRequest = json_body(req)?;
            let request = NewEndpoint { url: body.url, events: body.events, authority_id: body.authority_id };
            let made = webhooks.create(&actor, &request).await?;
            Ok(created(&CreatedWebhookView {
                webhook: WebhookView::of(&made, &tz),
                secret: made.secret.expose().to_owned(),
            }))
        }
        Some(Operation::ListWebhooks) => {
            let items = webhooks.list(&actor).await?.iter().map(|e| WebhookView::of(e, &tz)).collect();
            Ok(ok(&WebhookList { items }))
        }
        Some(Operation::GetWebhook) => {
            Ok(ok(&WebhookView::of(&webhooks.get(&actor, &path_param(req, "id")?).await?, &tz)))
        }
        Some(Operation::DisableWebhook) => {
            Ok(ok(&WebhookView::of(&webhooks.disable(&actor, &path_param(req, "id")?).await?, &tz)))
        }
        Some(Operation::ListWebhookDeliveries) => {
            let log = webhooks.deliveries(&actor, &path_param(req, "id")?).await?;
            Ok(ok(&DeliveryLog { items: log.iter().map(|d| DeliveryView::of(d, &tz)).collect() }))
        }
        Some(Operation::RedeliverWebhook) => {
            let again = webhooks.redeliver(&actor, &path_param(req, "id")?, &path_param(req, "delivery_id")?).await?;
            Ok(ok(&DeliveryView::of(&again, &tz)))
        }
        _ => Err(feedback_core::ServiceError::NotFound.into()),
    }
}
