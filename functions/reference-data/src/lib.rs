//! `reference-data`: the region's categories, municipalities and authorities (public), the
//! routing rules (admins), and the health check.

pub mod integrations;

use feedback_core::category_search::CategoryIndex;
use feedback_core::ids::{AuthorityId, CategoryId, MunicipalityId};
use feedback_core::integration::{IntegrationStore, Integrations};
use feedback_core::page::Page;
use feedback_core::region::{AuthorityLevel, RoutingRule};
use feedback_core::service::Reference;
use feedback_core::{Clock, ReferenceStore, ServiceError};
use feedback_lambda::Deps;
use feedback_lambda::{actor, cacheable, json_body, ok, operation, ApiError, Operation};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CategoryView<'a> {
    pub id: &'a CategoryId,
    pub name: &'a str,
    pub parent_id: Option<&'a CategoryId>,
    pub deadline_working_days: u16,
    pub duplicate_radius_m: u32,
    /// Words residents use for the category's problems; absent when the region file has none.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub keywords: &'a [String],
    /// Offered as a tile on the portal; absent when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub popular: bool,
}

/// `GET /v1/categories/search`: the categories a query or a message text most likely means.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CategorySearchResults<'a> {
    pub items: Vec<CategoryHit<'a>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CategoryHit<'a> {
    pub id: &'a CategoryId,
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<&'a CategoryId>,
    /// Higher is a better match; comparable only within one answer.
    pub score: u32,
}

/// The longest query text: a whole message.
pub const MAX_QUERY_CHARS: usize = 2000;
/// How many categories a search returns, unless `limit` says otherwise.
pub const DEFAULT_SEARCH_LIMIT: usize = 8;
pub const MAX_SEARCH_LIMIT: usize = 20;

/// `?q=` and `?limit=` of a category search, validated.
pub fn search_params(req: &Request) -> Result<(String, usize), ApiError> {
    let params = req.query_string_parameters_ref();
    let q = params.and_then(|p| p.first("q")).unwrap_or("").trim().to_owned();
    if q.is_empty() {
        return Err(ApiError::validation("q", "Напишите, что случилось, — хотя бы одно слово"));
    }
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::validation("q", format!("Сократите запрос до {MAX_QUERY_CHARS} символов")));
    }
    let limit = match params.and_then(|p| p.first("limit")) {
        None => DEFAULT_SEARCH_LIMIT,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_SEARCH_LIMIT).contains(n))
            .ok_or_else(|| ApiError::validation("limit", format!("Укажите число от 1 до {MAX_SEARCH_LIMIT}")))?,
    };
    Ok((q, limit))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MunicipalityView<'a> {
    pub id: &'a MunicipalityId,
    pub name: &'a str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthorityView<'a> {
    pub id: &'a AuthorityId,
    pub name: &'a str,
    pub level: AuthorityLevel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub municipality_id: Option<&'a MunicipalityId>,
}

/// `GET /healthz`: the store answered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// One rule in a `PUT /v1/routing-rules` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    #[schema(pattern = "^[a-z0-9-]{1,64}$")]
    pub category_id: String,
    #[schema(pattern = "^[a-z0-9-]{1,64}$")]
    pub municipality_id: Option<String>,
    #[schema(pattern = "^[a-z0-9-]{1,64}$")]
    pub authority_id: String,
}

/// Parses a rules body, naming each bad entry by its index.
pub fn parse_rules(body: Vec<RuleRequest>) -> Result<Vec<RoutingRule>, ServiceError> {
    let mut errs = Vec::new();
    let mut rules = Vec::with_capacity(body.len());
    for (i, r) in body.into_iter().enumerate() {
        let category = CategoryId::parse(&r.category_id);
        let muni = r.municipality_id.as_deref().map(MunicipalityId::parse).transpose();
        let auth = AuthorityId::parse(&r.authority_id);
        match (category, muni, auth) {
            (Ok(category_id), Ok(municipality_id), Ok(authority_id)) => {
                rules.push(RoutingRule { category_id, municipality_id, authority_id })
            }
            (c, m, a) => {
                for (field, bad) in
                    [("category_id", c.is_err()), ("municipality_id", m.is_err()), ("authority_id", a.is_err())]
                {
                    if bad {
                        errs.push(feedback_core::FieldError::new(
                            format!("[{i}].{field}"),
                            "недопустимый идентификатор",
                        ));
                    }
                }
            }
        }
    }
    if errs.is_empty() {
        Ok(rules)
    } else {
        Err(ServiceError::Validation(errs))
    }
}

/// The function's integrations service over a host's adapters; the handler also reads the
/// adapters' reference-data cache.
pub fn services<S, Q, C>(deps: &Deps<S, Q, C>) -> Integrations<S, C>
where
    S: IntegrationStore + ReferenceStore + Clone,
    C: Clock + Clone,
{
    Integrations::new(deps.store.clone(), deps.clock.clone(), deps.reference.clone())
}

/// How long browsers and shared caches may keep reference data (categories, municipalities,
/// authorities, category search) before they revalidate it by its `ETag`.
pub const REFERENCE_MAX_AGE: u32 = 300;

/// The handler both hosts call.
pub async fn handle<R: ReferenceStore + IntegrationStore, C: Clock>(
    reference: &Reference<R>,
    integrations: &Integrations<R, C>,
    req: Request,
) -> Result<Response<Body>, Error> {
    let work = async {
        match integrations::dispatch(integrations, &req).await {
            Some(result) => result,
            None => dispatch(reference, &req).await,
        }
    };
    Ok(feedback_lambda::respond(&req, work).await)
}

async fn dispatch<R: ReferenceStore>(reference: &Reference<R>, req: &Request) -> Result<Response<Body>, ApiError> {
    match operation(req) {
        Some(Operation::Health) => {
            reference.snapshot().await?;
            Ok(ok(&Health { status: "ok" }))
        }
        Some(Operation::OpenApiDocument) => Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("cache-control", "public, max-age=300")
            .body(Body::Text(feedback_lambda::openapi::DOCUMENT.to_owned()))
            .map_err(|_| ApiError::internal()),
        Some(Operation::ListCategories) => {
            let snap = reference.snapshot().await?;
            let r = &snap.value;
            let items = r
                .categories
                .iter()
                .map(|c| CategoryView {
                    id: &c.id,
                    name: &c.name,
                    parent_id: c.parent_id.as_ref(),
                    deadline_working_days: r.deadline_days(&c.id),
                    duplicate_radius_m: r.duplicate_radius_m(&c.id),
                    keywords: &c.keywords,
                    popular: c.popular,
                })
                .collect();
            Ok(cacheable(req, &Page { items, next_cursor: None }, REFERENCE_MAX_AGE))
        }
        Some(Operation::SearchCategories) => {
            let (q, limit) = search_params(req)?;
            let snap = reference.snapshot().await?;
            let index = CategoryIndex::new(&snap.value);
            let items = index
                .search(&q, limit)
                .into_iter()
                .map(|h| CategoryHit {
                    id: &h.category.id,
                    name: &h.category.name,
                    parent_id: h.category.parent_id.as_ref(),
                    score: h.score,
                })
                .collect();
            Ok(cacheable(req, &CategorySearchResults { items }, REFERENCE_MAX_AGE))
        }
        Some(Operation::ListMunicipalities) => {
            let snap = reference.snapshot().await?;
            let items =
                snap.value.municipalities.iter().map(|m| MunicipalityView { id: &m.id, name: &m.name }).collect();
            Ok(cacheable(req, &Page { items, next_cursor: None }, REFERENCE_MAX_AGE))
        }
        Some(Operation::ListAuthorities) => {
            let snap = reference.snapshot().await?;
            let items = snap
                .value
                .authorities
                .iter()
                .map(|a| AuthorityView {
                    id: &a.id,
                    name: &a.name,
                    level: a.level,
                    municipality_id: a.municipality_id.as_ref(),
                })
                .collect();
            Ok(cacheable(req, &Page { items, next_cursor: None }, REFERENCE_MAX_AGE))
        }
        Some(Operation::GetRoutingRules) => {
            let actor = actor(req)?;
            let rules = reference.rules(&actor).await?;
            Ok(ok(&Page { items: rules, next_cursor: None }))
        }
        Some(Operation::ReplaceRoutingRules) => {
            let actor = actor(req)?;
            let rules = parse_rules(json_body::<Vec<RuleRequest>>(req)?)?;
            let stored = reference.replace_rules(&actor, rules).await?;
            Ok(ok(&Page { items: stored, next_cursor: None }))
        }
        _ => Err(ApiError::RouteNotFound),
    }
}
