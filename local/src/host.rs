//! The embedded host: one process serving the HTTP API on localhost, backed by SQLite, with the
//! queue consumer and the schedules driven in-process. Every request and delivery is handed to
//! the same handler code that runs on Lambda, in the shape API Gateway and SQS would deliver.

use crate::auth::{issue_dev_token, DevTokenRequest, Verifier};
use crate::blobs::{self, LocalBlobs};
use crate::events;
use crate::region_file::RegionSource;
use anyhow::Context;
use axum::body::{to_bytes, Body as AxumBody};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response as AxumResponse;
use feedback_core::error::ErrorChain;
use feedback_core::integration::Integrations;
use feedback_core::open311::Open311;
use feedback_core::participation::{Participation, PollSecrets, VoterSecret};
use feedback_core::ports::{QueueName, QueueReceiver};
use feedback_core::service::{Reference, Routing, SeedOutcome};
use feedback_core::webhook::{Destinations, Webhooks};
use feedback_core::workflow::{Notifications, Workflow};
use feedback_core::SystemClock;
use feedback_embedded::{Db, FolderKeys, QueueSettings, SqliteQueue, SqliteStore};
use feedback_lambda::routes::{self, Access, NoRoute};
use feedback_lambda::{request::MAX_BODY_BYTES, ApiError, Deps, Settings};
use feedback_push::{EndpointPolicy, PushSender, VapidKey};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Settings of `feedback serve`.
#[derive(Debug, Clone)]
pub struct HostConfig {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// The secrets folder, apart from the data folder: the voter-roll key and the ballot keys.
    pub secrets_dir: PathBuf,
    /// Where the region comes from on first start, when the store holds none yet.
    pub region_file: RegionSource,
    pub schedule_every: Duration,
    pub submissions_per_hour: u32,
    pub comments_per_hour: u32,
    /// Messages in `submitted` longer than this are re-enqueued by the schedule.
    pub stuck_after: Duration,
    /// Queue visibility timeout for the in-process consumer.
    pub visibility: Duration,
    pub max_receives: u32,
    /// Connections served at once; further ones wait until one closes.
    pub max_connections: usize,
    /// A request not answered within this time gets 503; a connection idle for twice as long is
    /// closed.
    pub request_timeout: Duration,
    /// The operator's contact that push services are given in every VAPID JWT (`mailto:` or
    /// `https:`).
    pub push_subject: String,
    /// Whether Web Push may reach `http://127.0.0.1` endpoints: a development host with a local
    /// receiver. Otherwise only public `https` push services.
    pub allow_local_push: bool,
    /// Residents' e-mail: the SMTP server and the sender; no server, no e-mail.
    pub mail: crate::mail::MailConfig,
    /// Whether webhook endpoints may be `http://127.0.0.1` or `http://localhost`, for a
    /// developer's receiver (`--allow-local-webhooks`); otherwise only public `https` URLs.
    pub allow_local_webhooks: bool,
    /// The portal's tile URL template in place of the region file's (`--tiles-url`).
    pub tiles_url: Option<String>,
}

impl HostConfig {
    /// The settings the functions' services are built with: reference data cached for an hour.
    pub fn settings(&self) -> Settings {
        Settings {
            submissions_per_hour: self.submissions_per_hour,
            comments_per_hour: self.comments_per_hour,
            reference_ttl: Duration::from_secs(3600),
            stuck_after: chrono::Duration::from_std(self.stuck_after).unwrap_or(chrono::Duration::minutes(2)),
        }
    }
}

type Store = SqliteStore;
type Queue = SqliteQueue;

/// Everything the host runs, built once.
pub struct Platform {
    pub db: Db,
    pub queue: Queue,
    pub reference: Arc<Reference<Store>>,
    pub submit: submit_message::Services<Store, Queue, SystemClock>,
    pub workflow: Workflow<Store, Queue, SystemClock>,
    /// The officials' function: the workflow's handler, the templates and the answers' photos.
    pub officials: handle_messages::Services<Store, Queue, SystemClock>,
    pub routing: Routing<Store, Queue, SystemClock>,
    pub escalate: escalate_overdue::Services<Store, Queue, SystemClock>,
    pub notifications: Notifications<Store>,
    pub participation: Participation<Store, SystemClock>,
    pub analytics: analytics::Services<Store, SystemClock>,
    pub integrations: Integrations<Store, SystemClock>,
    pub open311: Open311<Store, Queue, SystemClock>,
    pub webhooks: Webhooks<Store, Queue, SystemClock>,
    pub webhook_transport: webhooks::HttpTransport,
    pub verifier: Verifier,
    /// The Web Push sender, signing with the VAPID key of the secrets folder.
    pub push: PushSender,
    /// The code of the region this host serves, from its reference data.
    pub region_code: String,
    pub dev_key: Option<Vec<u8>>,
    pub blobs: Arc<LocalBlobs>,
    /// The URL the host serves on, known once it is bound.
    pub base_url: Arc<std::sync::OnceLock<String>>,
    /// The delivery pipeline, built once the host's URL (its links' base) is known.
    pub mail: std::sync::OnceLock<Arc<crate::mail::Mail>>,
    /// The key unsubscribe links are signed with, in the secrets folder.
    unsubscribe_key: Vec<u8>,
    pub config: HostConfig,
}

impl Platform {
    /// Opens the data directory and seeds the region on first start.
    pub async fn open(config: HostConfig, verifier: Verifier) -> anyhow::Result<Platform> {
        crate::datadir::prepare(&config.data_dir)
            .with_context(|| format!("preparing data directory {}", config.data_dir.display()))?;
        // The keys first: a damaged key file stops the host before anything is written.
        let secret = poll_secrets(&config.data_dir, &config.secrets_dir)?;
        let push = push_sender(&config)?;
        let unsubscribe_key = crate::datadir::key(&config.secrets_dir, "unsubscribe.key", "unsubscribe key")?;
        let base_url = Arc::new(std::sync::OnceLock::new());
        let blobs = Arc::new(LocalBlobs::open(&config.data_dir, base_url.clone())?);
        let db = Db::open(&config.data_dir.join("feedback.db"))?;
        let settings = config.settings();
        let queue = SqliteQueue::new(db.clone(), QueueSettings { max_receives: config.max_receives });
        let deps = Deps::new(SqliteStore::new(db.clone()), queue.clone(), SystemClock, &settings);
        let reference = deps.reference.clone();
        if reference.snapshot().await.is_err() {
            let region = config.region_file.load()?;
            let outcome = reference.seed(&region).await.context("seeding the region")?;
            debug_assert_eq!(outcome, SeedOutcome::Created);
            tracing::info!(region = %region.region.code, file = %config.region_file, "region seeded");
        }
        let region_code =
            reference.snapshot().await.context("reading the region's reference data")?.value.region.code.clone();
        let mut submit = submit_message::services(
            &deps,
            blobs.clone(),
            secret.voter.clone(),
            Arc::from(unsubscribe_key.as_slice()),
            &settings,
        );
        submit.push_policy = push_policy(&config);
        submit.push_public_key = Some(push.public_key());
        let escalate = escalate_overdue::services(&deps, blobs.clone(), &settings);
        let dev_key = match &verifier {
            Verifier::Dev { key } => Some(key.clone()),
            Verifier::Oidc { .. } => None,
        };
        let destinations =
            if config.allow_local_webhooks { Destinations::PublicAndLocal } else { Destinations::Public };
        Ok(Platform {
            webhooks: webhooks::services(&deps, destinations),
            webhook_transport: webhooks::HttpTransport::new(destinations),
            db,
            queue,
            reference,
            workflow: handle_messages::services(&deps, blobs.clone()).workflow,
            officials: handle_messages::services(&deps, blobs.clone()),
            routing: route_messages::services(&deps),
            notifications: notify::services(&deps),
            participation: polls::services(&deps, secret, &settings),
            analytics: analytics::services(&deps),
            integrations: reference_data::services(&deps),
            open311: open311::services(&deps),
            submit,
            escalate,
            verifier,
            push,
            region_code,
            dev_key,
            blobs,
            base_url,
            mail: std::sync::OnceLock::new(),
            unsubscribe_key,
            config,
        })
    }
}

impl Platform {
    /// Builds the delivery pipeline with links to `base_url`; once.
    pub fn start_mail(&self, base_url: &str) -> anyhow::Result<()> {
        if self.mail.get().is_none() {
            let mail = crate::mail::Mail::open(
                SqliteStore::new(self.db.clone()),
                self.reference.clone(),
                &self.config.mail,
                self.unsubscribe_key.clone(),
                base_url,
                vec![Arc::new(feedback_push::PushTransport::new(
                    self.push.clone(),
                    SqliteStore::new(self.db.clone()),
                    push_policy(&self.config),
                ))],
            )?;
            let _ = self.mail.set(Arc::new(mail));
        }
        Ok(())
    }
}

/// Serves until `shutdown` flips to true. Calls `on_ready` with the bound address.
pub async fn serve(
    platform: Arc<Platform>,
    mut shutdown: watch::Receiver<bool>,
    on_ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(platform.config.addr)
        .await
        .with_context(|| format!("binding {}", platform.config.addr))?;
    let addr = listener.local_addr()?;
    let listener = crate::limits::LimitedListener::new(
        listener,
        platform.config.max_connections,
        platform.config.request_timeout.saturating_mul(2),
    );
    let _ = platform.base_url.set(format!("http://{addr}"));
    platform.start_mail(&format!("http://{addr}"))?;
    let consumer = tokio::spawn(consume(platform.clone(), shutdown.clone()));
    let scheduler = tokio::spawn(schedule(platform.clone(), shutdown.clone()));
    let app_platform = platform.clone();
    let app = axum::Router::new()
        .fallback(move |req: axum::extract::Request| {
            let p = app_platform.clone();
            async move {
                match tokio::time::timeout(p.config.request_timeout, handle_http(p.clone(), req)).await {
                    Ok(resp) => resp,
                    Err(_) => {
                        tracing::warn!("request timed out");
                        timed_out()
                    }
                }
            }
        })
        .layer(compression());
    on_ready(addr);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        })
        .await?;
    let _ = consumer.await;
    let _ = scheduler.await;
    tracing::info!("stopped");
    Ok(())
}

/// Text responses (the portal, JSON, CSV, problems) compressed with brotli or gzip, whichever the
/// client prefers; images, photos and bodies under 1 KiB go as they are.
fn compression() -> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
    tower_http::compression::CompressionLayer::new()
        .quality(tower_http::CompressionLevel::Fastest)
        .compress_when(SizeAbove::new(1024).and(NotForContentType::IMAGES).and(NotForContentType::GRPC))
}

async fn handle_http(p: Arc<Platform>, req: axum::extract::Request) -> AxumResponse {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let started = std::time::Instant::now();
    let (m, pa) = (method.clone(), path.clone());
    let resp = contain_panics(async move { dispatch(&p, req, &m, &pa).await }).await;
    let route = logged_route(&method, &path);
    tracing::info!(%route, status = resp.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    resp
}

/// What the request log says of a request: its route template (`GET /v1/ballots/{receipt}`),
/// never the raw path, whose ids, receipts and file names are the caller's business.
pub fn logged_route(method: &str, path: &str) -> String {
    if let Ok((route, _)) = routes::find(method, path) {
        return route.key();
    }
    if let Some(route) = routes::proxy(method, path) {
        return route.key();
    }
    let area = if path.starts_with(blobs::PREFIX) {
        "photo bytes"
    } else if path == "/v1/dev/tokens" || path == "/healthz" || path == "/config.json" {
        path
    } else if path.starts_with("/v1/") || path.starts_with("/open311/") {
        "no route"
    } else {
        "portal"
    };
    format!("{method} {area}")
}

/// Runs one request's work in its own task: a bug that panics in it answers that request 500
/// and leaves the host serving every other.
pub async fn contain_panics<F>(work: F) -> AxumResponse
where
    F: std::future::Future<Output = AxumResponse> + Send + 'static,
{
    match tokio::spawn(work).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(panicked = e.is_panic(), "request failed inside the host; answered 500");
            to_axum(ApiError::internal().into_response())
        }
    }
}

async fn dispatch(p: &Platform, req: axum::extract::Request, method: &str, path: &str) -> AxumResponse {
    if path == "/healthz" && method == "GET" {
        return health(p).await;
    }
    if let Some(id) = path.strip_prefix(blobs::PREFIX) {
        return blob(p, req, method, id).await;
    }
    if crate::web::handles(method, path) {
        return crate::web::respond(p, method, path, req.headers()).await;
    }
    if path == "/v1/dev/tokens" {
        return match (&p.dev_key, method) {
            (Some(key), "POST") => dev_token(key, req).await,
            (Some(_), _) => to_axum(problem_method_not_allowed()),
            (None, _) => to_axum(ApiError::RouteNotFound.into_response()),
        };
    }
    // What API Gateway sends through a greedy route goes to its function, which answers paths
    // it does not know itself (in Open311's error format).
    let found = routes::find(method, path)
        .map(|(r, params)| (r.key(), r.function, r.access, params))
        .or_else(|e| routes::proxy(method, path).map(|r| (r.key(), r.function, r.access, Vec::new())).ok_or(e));
    let (route_key, function, access, params) = match found {
        Ok(found) => found,
        Err(NoRoute::NotFound) => return to_axum(ApiError::RouteNotFound.into_response()),
        Err(NoRoute::MethodNotAllowed) => return to_axum(problem_method_not_allowed()),
    };
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) if function == routes::OPEN311 => return to_axum(open311::payload_too_large(path)),
        Err(_) => return to_axum(ApiError::PayloadTooLarge.into_response()),
    };
    let claims = match access {
        Access::Public => None,
        Access::Jwt => {
            let token = parts
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
            match token.map(|t| p.verifier.verify(t.trim())) {
                Some(Ok(claims)) => Some(claims),
                _ => return to_axum(ApiError::Unauthorized.into_response()),
            }
        }
    };
    let request = match events::api_gateway_request(&p.region_code, &route_key, params, &parts, &bytes, claims) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %ErrorChain(e.as_ref()), "request could not be translated");
            return to_axum(ApiError::validation("request", "некорректный запрос").into_response());
        }
    };
    let result = match function {
        routes::SUBMIT_MESSAGE => submit_message::handle(&p.submit, request).await,
        routes::HANDLE_MESSAGES => handle_messages::handle(&p.officials, request).await,
        routes::POLLS => polls::handle(&p.participation, request).await,
        routes::REFERENCE_DATA => reference_data::handle(&p.reference, &p.integrations, request).await,
        routes::OPEN311 => open311::handle(&p.open311, request).await,
        routes::ANALYTICS => analytics::handle(&p.analytics, request).await,
        routes::WEBHOOKS => webhooks::handle(&p.webhooks, request).await,
        other => Err(format!("function {other} is not hosted here").into()),
    };
    match result {
        Ok(resp) => to_axum(resp),
        Err(e) => {
            tracing::error!(error = %ErrorChain(e.as_ref()), "handler failed");
            to_axum(ApiError::internal().into_response())
        }
    }
}

/// The answer to a request not handled within the request timeout.
fn timed_out() -> AxumResponse {
    blob_problem(
        503,
        "timeout",
        "Сервис не успел ответить",
        "Запрос не выполнен за отведённое время; повторите его позже (с тем же Idempotency-Key, если он был).",
    )
}

/// A refusal of the blob stand-in as `application/problem+json`.
fn blob_problem(status: u16, code: &str, title: &str, detail: &str) -> AxumResponse {
    let body = serde_json::json!({"type": format!("urn:feedback:problem:{code}"), "title": title, "status": status,
        "detail": detail, "code": code});
    let mut r = to_axum(feedback_lambda::json_response(status, &body));
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/problem+json"));
    if status == 503 {
        let retry = feedback_core::error::UNAVAILABLE_RETRY_AFTER_SECS.to_string();
        if let Ok(v) = HeaderValue::from_str(&retry) {
            r.headers_mut().insert("retry-after", v);
        }
    }
    r
}

fn blob_refused(e: blobs::BlobError) -> AxumResponse {
    use blobs::BlobError as E;
    match e {
        E::BadSignature => blob_problem(403, "bad_signature", "Ссылка недействительна", "Подпись ссылки не совпадает."),
        E::Expired => {
            blob_problem(403, "url_expired", "Ссылка устарела", "Срок действия ссылки истёк; запросите новую.")
        }
        E::WrongContent => blob_problem(
            400,
            "content_mismatch",
            "Не тот файл",
            "Тип или размер файла отличается от заявленных при запросе ссылки.",
        ),
        E::NotAnImage => blob_problem(
            422,
            "not_an_image",
            "Файл не является изображением",
            "Содержимое файла не соответствует заявленному типу (image/jpeg или image/png).",
        ),
        E::AlreadyUploaded => blob_problem(
            409,
            "upload_url_used",
            "Ссылка уже использована",
            "По этой ссылке фотография уже загружена; для новой фотографии запросите новую ссылку.",
        ),
        E::NotFound => blob_problem(404, "not_found", "Не найдено", "Такой фотографии нет."),
        E::Unavailable => blob_problem(
            503,
            "unavailable",
            "Сервис временно недоступен",
            "Фотографию не удалось сохранить; ничего не сохранено. Повторите позже.",
        ),
    }
}

/// The local stand-in for S3: signed PUT and GET of photo bytes. A PUT is checked from its URL
/// and headers before any of its body is read, and its body is read up to the signed size only.
async fn blob(p: &Platform, req: axum::extract::Request, method: &str, id: &str) -> AxumResponse {
    let query = blobs::Query::parse(req.uri().query().unwrap_or(""));
    match method {
        "PUT" => {
            let (ct, length) = {
                let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
                (header("content-type").unwrap_or_default(), header("content-length"))
            };
            let length = match length.map(|v| v.parse::<u64>()) {
                None => None,
                Some(Ok(n)) => Some(n),
                Some(Err(_)) => return blob_refused(blobs::BlobError::WrongContent),
            };
            let permit = match p.blobs.authorize_put(id, &query, &ct, length) {
                Ok(permit) => permit,
                Err(e) => return blob_refused(e),
            };
            let limit = usize::try_from(permit.size).unwrap_or(usize::MAX).saturating_add(1);
            let Ok(bytes) = to_bytes(req.into_body(), limit).await else {
                return blob_refused(blobs::BlobError::WrongContent);
            };
            match p.blobs.store(&permit, &bytes) {
                Ok(()) => {
                    let mut r = AxumResponse::new(AxumBody::empty());
                    *r.status_mut() = StatusCode::OK;
                    r
                }
                Err(e) => blob_refused(e),
            }
        }
        "GET" => match p.blobs.get(id, &query) {
            Ok((bytes, ct)) => {
                let mut r = AxumResponse::new(AxumBody::from(bytes));
                if let Ok(v) = HeaderValue::from_str(&ct) {
                    r.headers_mut().insert("content-type", v);
                }
                r
            }
            Err(e) => blob_refused(e),
        },
        _ => to_axum(problem_method_not_allowed()),
    }
}

fn problem_method_not_allowed() -> lambda_http::Response<lambda_http::Body> {
    let mut r = ApiError::RouteNotFound.into_response();
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    let body = r#"{"type":"urn:feedback:problem:method_not_allowed","title":"Метод не поддерживается","status":405,"detail":"Этот адрес не поддерживает такой метод.","code":"method_not_allowed"}"#;
    *r.body_mut() = lambda_http::Body::Text(body.into());
    r
}

/// Ready when the store reads, takes a write (a probe row committed like a real write, so a full
/// disk or a failing or locked database shows here) and the queue answers.
async fn health(p: &Platform) -> AxumResponse {
    let store_ok = p.db.ping().await.is_ok() && p.reference.snapshot().await.is_ok();
    let write_ok = match p.db.probe_write().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %ErrorChain(&e), "health probe: the store does not take writes");
            false
        }
    };
    let queue_ok = p.queue.depth(QueueName::Submitted).await.is_ok();
    let status = if store_ok && write_ok && queue_ok { 200 } else { 503 };
    let body = serde_json::json!({"status": if status == 200 {"ok"} else {"unavailable"}, "store": store_ok,
        "writes": write_ok, "queue": queue_ok});
    let mut resp = to_axum(feedback_lambda::json_response(status, &body));
    if status != 200 {
        let retry = feedback_core::error::UNAVAILABLE_RETRY_AFTER_SECS.to_string();
        if let Ok(v) = HeaderValue::from_str(&retry) {
            resp.headers_mut().insert("retry-after", v);
        }
    }
    resp
}

async fn dev_token(key: &[u8], req: axum::extract::Request) -> AxumResponse {
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    if !content_type.starts_with("application/json") {
        return to_axum(ApiError::UnsupportedMediaType.into_response());
    }
    let Ok(bytes) = to_bytes(req.into_body(), MAX_BODY_BYTES).await else {
        return to_axum(ApiError::PayloadTooLarge.into_response());
    };
    let value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return to_axum(ApiError::malformed_json(&e).into_response()),
    };
    let request: DevTokenRequest = match feedback_lambda::from_json_value(value) {
        Ok(r) => r,
        Err(e) => return to_axum(e.into_response()),
    };
    if feedback_core::CitizenId::parse(&request.sub).is_err() {
        return to_axum(ApiError::validation("sub", "недопустимый идентификатор").into_response());
    }
    match issue_dev_token(key, &request) {
        Ok(token) => to_axum(feedback_lambda::json_response(201, &serde_json::json!({ "token": token }))),
        Err(_) => to_axum(ApiError::internal().into_response()),
    }
}

fn to_axum(resp: lambda_http::Response<lambda_http::Body>) -> AxumResponse {
    let (parts, body) = resp.into_parts();
    let bytes: Vec<u8> = match body {
        lambda_http::Body::Empty => Vec::new(),
        lambda_http::Body::Text(t) => t.into_bytes(),
        lambda_http::Body::Binary(b) => b,
        _ => Vec::new(),
    };
    let mut out = AxumResponse::new(AxumBody::from(bytes));
    *out.status_mut() = parts.status;
    *out.headers_mut() = parts.headers;
    out.headers_mut().entry("content-type").or_insert(HeaderValue::from_static("application/json"));
    out
}

/// Drives the `submitted` queue: each receive becomes one SQS batch event for `route-messages`,
/// and only the records it does not report as failed are deleted.
async fn consume(p: Arc<Platform>, mut shutdown: watch::Receiver<bool>) {
    let idle = (p.config.schedule_every / 10).clamp(Duration::from_millis(50), Duration::from_millis(500));
    while !*shutdown.borrow() {
        // Each batch runs in its own task: a panic in a consumer is that batch's failure (its
        // records come back and, in the end, go to the dead letters), not the consumer's end.
        let batch = p.clone();
        match tokio::spawn(async move { drain_once(&batch).await }).await {
            Ok(Ok(n)) if n > 0 => continue,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %ErrorChain(e.as_ref()), "queue consumer failed"),
            Err(e) => tracing::error!(panicked = e.is_panic(), "queue consumer batch failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(idle) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Receives one batch from each queue and runs its consumer function on it (`route-messages`
/// for `submitted`, `notify` for `notifications`: `feedback_lambda::functions::CONSUMERS`).
/// Returns the number of records delivered.
pub async fn drain_once(p: &Platform) -> anyhow::Result<usize> {
    let mut delivered = 0;
    for consumer in feedback_lambda::functions::CONSUMERS {
        let queue = consumer.queue;
        let deliveries = p.queue.receive(queue, consumer.batch_size, p.config.visibility).await?;
        if deliveries.is_empty() {
            continue;
        }
        delivered += deliveries.len();
        let event = events::sqs_event(queue.as_str(), &deliveries)?;
        let response = match queue {
            QueueName::Submitted => route_messages::handle(&p.routing, event).await,
            QueueName::Notifications => match p.mail.get() {
                Some(mail) => notify::handle_planned(&p.notifications, mail.deliveries(), event).await,
                None => notify::handle(&p.notifications, event).await,
            },
            QueueName::WebhookEvents => webhooks::handle_events(&p.webhooks, event).await,
            QueueName::WebhookDeliveries => webhooks::handle_deliveries(&p.webhooks, &p.webhook_transport, event).await,
        }
        .map_err(anyhow::Error::from_boxed)?;
        let failed: std::collections::HashSet<&str> =
            response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        for d in &deliveries {
            if !failed.contains(d.message_id.as_str()) {
                p.queue.ack(queue, &d.receipt).await?;
            }
        }
    }
    if let Some(mail) = p.mail.get() {
        delivered += mail.deliver_due().await?;
    }
    Ok(delivered)
}

/// Runs `close-polls` once with the event EventBridge Scheduler would send.
pub async fn close_polls_once(p: &Platform) -> anyhow::Result<feedback_core::participation::ScheduleReport> {
    let event = events::scheduler_event(feedback_lambda::functions::CLOSE_POLLS.name)?;
    close_polls::handle(&p.participation, event).await.map_err(anyhow::Error::from_boxed)
}

/// The secrets folder that goes with a data folder when none is given: beside it, named after it
/// with `-secrets` (`./data` → `./data-secrets`).
pub fn default_secrets_dir(data_dir: &std::path::Path) -> PathBuf {
    let name = data_dir.file_name().map_or_else(|| "data".into(), |n| n.to_string_lossy().into_owned());
    data_dir.with_file_name(format!("{name}-secrets"))
}

/// What participation keeps in the secrets folder, apart from the data folder (0700, files 0600):
/// the voter-roll secret, created on first use, and the polls' private ballot keys. A key file that
/// exists but is unreadable or damaged stops the host (a new voter-roll key would empty the voter
/// roll). A voter-roll key that an earlier version kept in the data folder moves to the secrets
/// folder. Never logged.
pub fn poll_secrets(data_dir: &std::path::Path, secrets_dir: &std::path::Path) -> anyhow::Result<PollSecrets> {
    const VOTER_KEY: &str = "voter-roll.key";
    crate::datadir::prepare(secrets_dir)
        .with_context(|| format!("preparing secrets folder {}", secrets_dir.display()))?;
    let (old, new) = (data_dir.join(VOTER_KEY), secrets_dir.join(VOTER_KEY));
    if old.exists() && !new.exists() {
        std::fs::rename(&old, &new).with_context(|| format!("moving {} to {}", old.display(), new.display()))?;
        tracing::info!(from = %old.display(), to = %new.display(), "moved the voter-roll key to the secrets folder");
    }
    let key = crate::datadir::key(secrets_dir, VOTER_KEY, "voter-roll key")?;
    let voter = VoterSecret::new(key).map_err(|e| anyhow::anyhow!(e))?;
    let keys = FolderKeys::open(secrets_dir).with_context(|| format!("opening {}", secrets_dir.display()))?;
    Ok(PollSecrets { voter, keys: Arc::new(keys) })
}

/// The Web Push sender over the stack's VAPID key: a secret of the secrets folder (`vapid.key`,
/// 0600), created on first start. A damaged key file stops the host (a new key would silently
/// invalidate every browser's subscription). Never logged.
pub fn push_sender(config: &HostConfig) -> anyhow::Result<PushSender> {
    const VAPID_KEY: &str = "vapid.key";
    let seed = crate::datadir::key(&config.secrets_dir, VAPID_KEY, "VAPID key")?;
    let key = VapidKey::from_seed(&seed).map_err(|e| {
        anyhow::anyhow!(
            "the VAPID key file {} is damaged ({e}); restore it from a backup, or move it away and start \
             again to create a new one (browsers then subscribe anew)",
            config.secrets_dir.join(VAPID_KEY).display()
        )
    })?;
    PushSender::new(key, &config.push_subject, push_policy(config)).context("building the Web Push sender")
}

/// Which push endpoints the host accepts and reaches: `http://127.0.0.1` too with
/// `--allow-local-push`, otherwise public `https` push services only.
fn push_policy(config: &HostConfig) -> EndpointPolicy {
    if config.allow_local_push {
        EndpointPolicy::AllowLoopbackHttp
    } else {
        EndpointPolicy::PublicHttps
    }
}

/// Runs `escalate-overdue` once with the event EventBridge Scheduler would send.
pub async fn escalate_once(p: &Platform) -> anyhow::Result<escalate_overdue::Report> {
    let event = events::scheduler_event(feedback_lambda::functions::ESCALATE_OVERDUE.name)?;
    escalate_overdue::handle(&p.escalate.escalation, event).await.map_err(anyhow::Error::from_boxed)
}

/// The in-process scheduler: on each tick, the jobs EventBridge Scheduler runs on AWS.
async fn schedule(p: Arc<Platform>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(p.config.schedule_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        let run = p.clone();
        // A run that fails is logged with its error's chain, in its span, by the handler
        // (`feedback_lambda::observe::scheduled`), as on Lambda.
        let ticked = tokio::spawn(async move {
            let _ = escalate_once(&run).await;
            let _ = close_polls_once(&run).await;
            if let Err(e) = crate::mail::digests_once(&run).await {
                tracing::error!(error = %ErrorChain(e.as_ref()), "the digest run failed");
            }
            let _ = webhooks::sweep(&run.webhooks).await;
        });
        if let Err(e) = ticked.await {
            tracing::error!(panicked = e.is_panic(), "a scheduled run failed");
        }
        let _ = escalate_overdue::sweep_photos(&p.escalate.photos).await;
        let _ = escalate_overdue::prune(&p.escalate.pruning).await;
    }
}

#[cfg(test)]
mod tests {
    use super::{contain_panics, AxumResponse};

    #[test]
    fn the_request_log_names_route_templates_never_raw_paths() {
        use super::logged_route;
        let receipt = "7Q2M9XK4TR8B3N6P";
        assert_eq!(logged_route("GET", &format!("/v1/ballots/{receipt}")), "GET /v1/ballots/{receipt}");
        let id = "01JDQ3Z5V1K8Y2M4N6P8R0T2W4";
        assert_eq!(logged_route("POST", &format!("/v1/messages/{id}/take")), "POST /v1/messages/{id}/take");
        assert_eq!(
            logged_route("GET", &format!("/open311/v2/requests/{id}.json")),
            "GET /open311/v2/requests/{id}.{format}"
        );
        assert_eq!(logged_route("GET", &format!("/v1/nothing/{id}")), "GET no route");
        assert_eq!(logged_route("GET", &format!("/messages/{id}")), "GET portal");
        assert!(!logged_route("PUT", &format!("{}{id}", super::blobs::PREFIX)).contains(id));
    }

    #[tokio::test]
    async fn a_panicking_request_answers_500_and_the_next_one_is_served() {
        let bug = std::hint::black_box(true);
        let panicking = async move {
            if bug {
                panic!("a bug in one request");
            }
            AxumResponse::new(axum::body::Body::empty())
        };
        let resp = contain_panics(panicking).await;
        assert_eq!(resp.status().as_u16(), 500);
        let ok = contain_panics(async { AxumResponse::new(axum::body::Body::empty()) }).await;
        assert_eq!(ok.status().as_u16(), 200);
    }

    #[test]
    fn the_local_binary_unwinds_and_the_lambda_zips_abort() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let manifest: toml::Table = std::fs::read_to_string(path).unwrap().parse().unwrap();
        let profile = |name: &str| manifest["profile"][name].as_table().unwrap().clone();
        assert_eq!(profile("release").get("panic").and_then(|v| v.as_str()), Some("unwind"));
        assert_eq!(profile("lambda-release").get("panic").and_then(|v| v.as_str()), Some("abort"));
    }
}
