//! `/v1/integrations`: the region's admins register integrations, list them and revoke their keys.

use chrono::{DateTime, FixedOffset};
use feedback_core::integration::{Integration, IntegrationStore, Integrations};
use feedback_core::page::Page;
use feedback_core::views::local_time;
use feedback_core::{Clock, ReferenceStore};
use feedback_lambda::{actor, created, json_body, limit_and_cursor, ok, operation, path_param, ApiError, Operation};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

/// `POST /v1/integrations` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIntegrationRequest {
    /// 1..200 characters.
    pub name: String,
}

/// A created integration with its API key, shown only in this response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedIntegrationView {
    pub id: String,
    pub name: String,
    /// `fbk_` and 43 characters; only its SHA-256 hash is stored.
    pub api_key: String,
    pub created_at: DateTime<FixedOffset>,
}

/// An integration as listed; never its key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IntegrationView {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<FixedOffset>,
    pub revoked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<FixedOffset>>,
}

impl IntegrationView {
    pub fn of(i: &Integration, tz: &chrono_tz::Tz) -> Self {
        IntegrationView {
            id: i.id.to_string(),
            name: i.name.clone(),
            created_at: local_time(i.created_at, tz),
            revoked: i.revoked(),
            revoked_at: i.revoked_at.map(|t| local_time(t, tz)),
        }
    }
}

/// The integration routes; `None` for any other route.
pub async fn dispatch<S: IntegrationStore + ReferenceStore, C: Clock>(
    integrations: &Integrations<S, C>,
    req: &Request,
) -> Option<Result<Response<Body>, ApiError>> {
    Some(match operation(req)? {
        Operation::CreateIntegration => create(integrations, req).await,
        Operation::ListIntegrations => list(integrations, req).await,
        Operation::RevokeIntegration => revoke(integrations, req).await,
        _ => return None,
    })
}

async fn create<S: IntegrationStore + ReferenceStore, C: Clock>(
    integrations: &Integrations<S, C>,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let actor = actor(req)?;
    let body: NewIntegrationRequest = json_body(req)?;
    let made = integrations.create(&actor, &body.name).await?;
    let tz = integrations.time_zone().await?;
    Ok(created(&CreatedIntegrationView {
        id: made.integration.id.to_string(),
        name: made.integration.name.clone(),
        api_key: made.api_key.as_str().to_owned(),
        created_at: local_time(made.integration.created_at, &tz),
    }))
}

async fn list<S: IntegrationStore + ReferenceStore, C: Clock>(
    integrations: &Integrations<S, C>,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let actor = actor(req)?;
    let (limit, cursor) = limit_and_cursor(req)?;
    let page = integrations.list(&actor, cursor, limit).await?;
    let tz = integrations.time_zone().await?;
    let page: Page<IntegrationView> = page.map(|i| IntegrationView::of(&i, &tz));
    Ok(ok(&page))
}

async fn revoke<S: IntegrationStore + ReferenceStore, C: Clock>(
    integrations: &Integrations<S, C>,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let actor = actor(req)?;
    let id = path_param(req, "id")?;
    let revoked = integrations.revoke(&actor, &id).await?;
    let tz = integrations.time_zone().await?;
    Ok(ok(&IntegrationView::of(&revoked, &tz)))
}
