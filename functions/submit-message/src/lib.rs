//! `submit-message`: residents file messages, list their own and read one with its history;
//! they take all their data (`GET /v1/me/data`) and have it erased (`DELETE /v1/me`); they set
//! how they are notified (`/v1/me/preferences`), which places and topics they follow
//! (`/v1/me/subscriptions`) and which browsers get push notifications
//! (`/v1/me/push-subscriptions`, with the stack's public key at `/v1/push/public-key`).
//! Anyone holding a link from residents' e-mail unsubscribes with one click (`/v1/unsubscribe`,
//! RFC 8058), and the region's admins and the ЦУР's officials read a notification's delivery
//! log (`/v1/admin/notifications/{id}/deliveries`): this function keeps residents' preferences
//! and contacts, and its store already holds the deliveries.
//!
//! It also serves the region's problems in public (`/v1/public/messages`, `/v1/public/clusters`:
//! anonymous, cacheable) and «Я тоже» (`/v1/messages/nearby`, `/v1/messages/{id}/supporters`):
//! reads of the message store and one transition.

use feedback_core::delivery::DeliveryLogEntry;
use feedback_core::delivery::DeliveryStore;
use feedback_core::dispatch::{Contacts, Deliveries, DeliverySettings};
use feedback_core::ids::{
    CategoryId, MessageId, MessageNumber, MunicipalityId, PhotoId, PushSubscriptionId, SubscriptionId,
};
use feedback_core::notification::NotificationKind;
use feedback_core::open311::PublicMessageStore;
use feedback_core::participation::{CommentStore, PollStore, VoterSecret};
use feedback_core::photo::BlobUrls;
use feedback_core::photo::{PhotoStore, Photos};
use feedback_core::ports::NotificationStore;
use feedback_core::ports::ReadSelection;
use feedback_core::preferences::{resident, NewPushSubscription, Preferences, Reach, ReachStore, SubscriptionRequest};
use feedback_core::public::{ClusterQuery, ListQuery, PublicMap};
use feedback_core::rights::{Rights, RightsStore};
use feedback_core::service::SubmitPolicy;
use feedback_core::service::{Messages, NewMessage};
use feedback_core::values::{Address, CommentText, IdempotencyKey, Location, MessageText, PhotoIds};
use feedback_core::views::{local_time, MessageView};
use feedback_core::workflow::{Notifications, Workflow, UNREAD_CAP};
use feedback_core::{Clock, CounterStore, FieldErrors, MessageStore, ReferenceStore, ServiceError, WorkQueue};
use feedback_lambda::metrics::Metric;
use feedback_lambda::{
    actor, created, json_body, json_body_without, limit_and_cursor, no_content, ok, operation, path_param, ApiError,
    Operation, MESSAGE_SERVER_OWNED,
};
use feedback_lambda::{observe, Deps, Settings};
use feedback_push::EndpointPolicy;
use lambda_http::{Body, Error, Request, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The body of `POST /v1/messages`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"category_id": "dorogi-yamy", "text": "Глубокая яма на проезжей части у дома 15 по улице Республики", "municipality_id": "tyumen", "address": "Тюмень, ул. Республики, 15", "location": {"lat": 57.153, "lon": 65.541}, "public": true}))]
pub struct NewMessageRequest {
    #[schema(pattern = "^[a-z0-9-]{1,64}$")]
    pub category_id: String,
    #[schema(min_length = 10, max_length = 4000)]
    pub text: String,
    #[schema(pattern = "^[a-z0-9-]{1,64}$")]
    #[serde(default)]
    pub municipality_id: Option<String>,
    #[schema(max_length = 500)]
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub location: Option<LocationRequest>,
    #[schema(max_items = 3)]
    #[serde(default)]
    pub photo_ids: Option<Vec<String>>,
    #[serde(default)]
    pub public: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationRequest {
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
}

impl NewMessageRequest {
    /// Parses every field, reporting all problems at once.
    pub fn parse(self) -> Result<NewMessage, ServiceError> {
        let mut errs = FieldErrors::new();
        let category_id = errs.check(
            "category_id",
            match self.category_id.trim() {
                "" => Err("Выберите категорию.".to_owned()),
                id => CategoryId::parse(id).map_err(|e| e.to_string()),
            },
        );
        let text = errs.check("text", MessageText::parse(&self.text));
        let municipality_id =
            errs.check("municipality_id", self.municipality_id.as_deref().map(MunicipalityId::parse).transpose());
        let address = errs.check("address", self.address.as_deref().map(Address::parse).transpose());
        let location = errs.check("location", self.location.map(|l| Location::new(l.lat, l.lon)).transpose());
        let photo_ids = errs.check("photo_ids", PhotoIds::parse(&self.photo_ids.unwrap_or_default()));
        let public = self.public.unwrap_or(false);
        errs.finish_with(|| {
            Some(NewMessage {
                category_id: category_id?,
                text: text?,
                municipality_id: municipality_id?,
                address: address?,
                location: location?,
                photo_ids: photo_ids?,
                public,
            })
        })
    }
}

/// The body of `POST /v1/messages/{id}/rating`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"score": 5, "comment": "Яму заделали, спасибо"}))]
pub struct RatingRequest {
    #[schema(minimum = 1, maximum = 5)]
    pub score: u8,
    #[schema(max_length = 1000)]
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub reopen: Option<bool>,
}

/// A notification as residents read it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: String,
    pub message_id: MessageId,
    /// The message's number (`72-000123`), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_number: Option<MessageNumber>,
    pub kind: NotificationKind,
    pub at: chrono::DateTime<chrono::FixedOffset>,
    pub text: String,
    /// Whether the resident has read it.
    pub read: bool,
    /// When it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_at: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// The body of `POST /v1/me/notifications/read`: either `ids`, or `up_to` (every notification
/// made at or before that time).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"up_to": "2026-12-02T18:00:00+05:00"}))]
pub struct MarkReadRequest {
    #[schema(max_items = 500)]
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    #[serde(default)]
    pub up_to: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// What `POST /v1/me/notifications/read` changed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MarkReadView {
    /// Notifications marked read by this call; ones read before are not counted again.
    pub marked: usize,
    /// Unread notifications left, up to 100.
    pub unread: usize,
}

/// How many notifications are unread.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnreadView {
    /// Unread notifications, counted up to 100.
    pub unread: usize,
    /// True when there are 100 or more: show «99+».
    pub capped: bool,
}

/// The body of `POST /v1/photos`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"content_type": "image/jpeg", "size_bytes": 350000}))]
pub struct PhotoRequest {
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    #[schema(minimum = 1, maximum = 5242880)]
    pub size_bytes: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhotoUploadView {
    pub photo_id: PhotoId,
    pub upload_url: String,
    /// Send the upload (`PUT`) with exactly these headers: they are signed into the URL. On S3
    /// they make the URL single-use (`If-None-Match: *`).
    pub upload_headers: std::collections::BTreeMap<String, String>,
    pub expires_at: chrono::DateTime<chrono::FixedOffset>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhotoDownloadView {
    pub url: String,
    pub expires_at: chrono::DateTime<chrono::FixedOffset>,
}

/// The body of `POST /v1/me/push-subscriptions`: what the browser's
/// `PushSubscription.toJSON()` gives.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"endpoint": "https://fcm.googleapis.com/fcm/send/dXk0...", "expirationTime": null, "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM", "auth": "tBHItJI5svbpez7KI4CCXg"}}))]
pub struct PushSubscriptionRequest {
    /// The push service's URL for this browser: `https`, a public host.
    #[schema(max_length = 2048)]
    pub endpoint: String,
    /// When the push service lets the subscription lapse, milliseconds since the epoch.
    #[serde(default, rename = "expirationTime")]
    pub expiration_time: Option<f64>,
    pub keys: PushKeysRequest,
}

/// The browser's keys a push payload is encrypted to (RFC 8291), base64url.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushKeysRequest {
    /// The browser's P-256 public key, the uncompressed point (65 bytes).
    pub p256dh: String,
    /// The authentication secret (16 bytes).
    pub auth: String,
}

impl PushSubscriptionRequest {
    /// Checks the subscription under `policy`: the endpoint's scheme and host, the addresses its
    /// host resolves to, and the keys; 422 naming the field.
    pub async fn check(self, policy: EndpointPolicy) -> Result<NewPushSubscription, ServiceError> {
        let invalid = |e: feedback_push::InvalidSubscription| ServiceError::field(e.field(), e.detail());
        let sub = feedback_push::Subscription::parse(&self.endpoint, &self.keys.p256dh, &self.keys.auth, policy)
            .map_err(invalid)?;
        sub.check_resolves(policy).await.map_err(invalid)?;
        Ok(NewPushSubscription {
            endpoint: sub.endpoint().to_owned(),
            endpoint_origin: sub.endpoint_origin(),
            p256dh: sub.p256dh(),
            auth: sub.auth(),
        })
    }
}

/// The stack's VAPID public key (`GET /v1/push/public-key`), for
/// `PushManager.subscribe({applicationServerKey})`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PushPublicKeyView {
    /// base64url of the uncompressed P-256 point (65 bytes).
    #[schema(example = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM")]
    pub public_key: String,
}

/// The answer to a one-click unsubscribe: the channel turned off.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"unsubscribed": "email"}))]
pub struct UnsubscribedView {
    pub unsubscribed: feedback_core::delivery::Channel,
}

/// A notification's deliveries, one per channel and recipient: no address, no resident.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationDeliveryLog {
    pub items: Vec<DeliveryLogEntry>,
}

const PUSH_NOT_CONFIGURED: &str = "Уведомления в браузере на этой платформе не настроены.";

/// What the function needs: the residents' use cases.
pub struct Services<S, Q, C> {
    pub messages: Messages<S, Q, C>,
    pub workflow: Workflow<S, Q, C>,
    pub notifications: Notifications<S>,
    pub photos: Photos<S, C>,
    pub rights: Rights<S, C>,
    pub reach: Reach<S, C>,
    /// Which push endpoints residents may subscribe with.
    pub push_policy: EndpointPolicy,
    /// The stack's VAPID public key, when Web Push is configured; never the private key.
    pub push_public_key: Option<String>,
    /// The e-mail address a resident's token brings, kept when they submit or set preferences:
    /// the delivery pipeline sends to it.
    pub contacts: Contacts<S, C>,
    /// One-click unsubscribe (verifying the links with the unsubscribe key) and the delivery
    /// log; it sends nothing.
    pub deliveries: Deliveries<S, C>,
    /// The public map and «Я тоже».
    pub public: PublicMap<S, C>,
    /// The time notifications are marked read at.
    pub clock: C,
}

/// Everything the function's store implements.
pub trait Store:
    MessageStore
    + ReferenceStore
    + NotificationStore
    + PhotoStore
    + CommentStore
    + PollStore
    + RightsStore
    + ReachStore
    + DeliveryStore
    + PublicMessageStore
    + CounterStore
{
}
impl<T> Store for T where
    T: MessageStore
        + ReferenceStore
        + NotificationStore
        + PhotoStore
        + CommentStore
        + PollStore
        + RightsStore
        + ReachStore
        + DeliveryStore
        + PublicMessageStore
        + CounterStore
{
}

/// The function's services over a host's adapters; `blobs` signs the photo URLs and deletes an
/// erased resident's photos, `secret` finds the polls a resident voted in for the export,
/// `unsubscribe_key` verifies the unsubscribe links of residents' e-mail.
pub fn services<S, Q, C>(
    deps: &Deps<S, Q, C>,
    blobs: Arc<dyn BlobUrls>,
    secret: VoterSecret,
    unsubscribe_key: Arc<[u8]>,
    settings: &Settings,
) -> Services<S, Q, C>
where
    S: Store + Clone,
    Q: WorkQueue + Clone,
    C: Clock + Clone,
{
    let policy = SubmitPolicy { per_hour: settings.submissions_per_hour };
    let d = deps;
    Services {
        messages: Messages::new(d.store.clone(), d.queue.clone(), d.clock.clone(), d.reference.clone(), policy),
        workflow: Workflow::new(d.store.clone(), d.queue.clone(), d.clock.clone(), d.reference.clone()),
        notifications: Notifications::new(d.store.clone()),
        photos: Photos::new(d.store.clone(), d.clock.clone(), blobs.clone(), d.reference.clone()),
        rights: Rights::new(d.store.clone(), d.clock.clone(), blobs, d.reference.clone(), secret),
        reach: Reach::new(d.store.clone(), d.clock.clone(), d.reference.clone()),
        push_policy: EndpointPolicy::PublicHttps,
        push_public_key: None,
        contacts: Contacts::new(d.store.clone(), d.clock.clone()),
        deliveries: Deliveries::new(
            d.store.clone(),
            d.clock.clone(),
            d.reference.clone(),
            DeliverySettings::verifying(unsubscribe_key),
        ),
        public: PublicMap::new(d.store.clone(), d.clock.clone(), d.reference.clone()),
        clock: d.clock.clone(),
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
    match operation(req) {
        Some(Operation::PushPublicKey) => return push_public_key(services.push_public_key.as_deref()),
        Some(Operation::UnsubscribePage) => {
            let token = token(req);
            services.deliveries.verify(&token)?;
            return Ok(unsubscribe_page(&token));
        }
        Some(Operation::UnsubscribeByLink) => {
            one_click_body(req)?;
            let channel = services.deliveries.unsubscribe(&token(req)).await?;
            return Ok(ok(&UnsubscribedView { unsubscribed: channel }));
        }
        Some(Operation::PublicMessages) => {
            let q = query(req, PUBLIC_LIST_PARAMS)?;
            return Ok(public(req, &services.public.list(&ListQuery::parse(&q)?).await?));
        }
        Some(Operation::PublicMessage) => {
            let _no_params = query(req, &[])?;
            return Ok(public(req, &services.public.get(&path_param(req, "id")?).await?));
        }
        Some(Operation::PublicClusters) => {
            let q = query(req, PUBLIC_CLUSTER_PARAMS)?;
            return Ok(public(req, &services.public.clusters(&ClusterQuery::parse(&q)?).await?));
        }
        _ => {}
    }
    let messages = &services.messages;
    let actor = actor(req)?;
    let region = messages.reference().snapshot().await?;
    let tz = region.value.time_zone();
    let op = operation(req);
    if matches!(op, Some(Operation::SubmitMessage | Operation::ReplacePreferences)) {
        if let Err(e) = services.contacts.remember(&actor, &region.value.reach).await {
            tracing::warn!(error = %feedback_core::error::ErrorChain(&e), "contact not kept");
        }
    }
    match op {
        Some(Operation::SubmitMessage) => {
            let key = req
                .headers()
                .get("idempotency-key")
                .map(|v| {
                    v.to_str()
                        .map_err(|_| "Idempotency-Key: от 1 до 64 печатных символов ASCII".to_owned())
                        .and_then(IdempotencyKey::parse)
                })
                .transpose()
                .map_err(|m| ApiError::validation("Idempotency-Key", m))?;
            let input = json_body_without::<NewMessageRequest>(req, MESSAGE_SERVER_OWNED)?.parse()?;
            let not_uploaded = services.photos.check_uploaded(&actor.id, input.photo_ids.as_slice()).await?;
            if !not_uploaded.is_empty() {
                return Err(ServiceError::Validation(not_uploaded).into());
            }
            let submitted = messages.submit(&actor, input, key).await?;
            observe::record_message(&submitted.message.id);
            if !submitted.replayed {
                observe::count(req, Metric::SubmissionsAccepted);
            }
            Ok(created(&MessageView::summary(&submitted.message, &tz)))
        }
        Some(Operation::NearbyMessages) => {
            let q = query(req, &["category_id", "lat", "lon"])?;
            Ok(ok(&services.public.nearby(&actor, q("category_id"), q("lat"), q("lon")).await?))
        }
        Some(Operation::SupportMessage) => Ok(ok(&services.public.support(&actor, &path_param(req, "id")?).await?)),
        Some(Operation::ListOwnMessages) => {
            let (limit, cursor) = limit_and_cursor(req)?;
            let page = messages.list_own(&actor, cursor, limit).await?;
            Ok(ok(&page.map(|m| MessageView::summary(&m, &tz))))
        }
        Some(Operation::MessageByNumber) => {
            let number = MessageNumber::parse(&path_param(req, "number")?)
                .map_err(|e| ApiError::validation("number", e.to_string()))?;
            let detail = messages.get_by_number(&actor, &number).await?;
            observe::record_message(&detail.message.id);
            Ok(ok(&MessageView::detail(&detail.message, &detail.history, &actor, &region.value)))
        }
        Some(Operation::GetMessage) => {
            let id = MessageId::parse(&path_param(req, "id")?).map_err(|_| ServiceError::NotFound)?;
            let detail = messages.get(&actor, &id).await?;
            Ok(ok(&MessageView::detail(&detail.message, &detail.history, &actor, &region.value)))
        }
        Some(Operation::RateMessage) => {
            let id = MessageId::parse(&path_param(req, "id")?).map_err(|_| ServiceError::NotFound)?;
            let body = json_body::<RatingRequest>(req)?;
            let comment =
                CommentText::parse_optional(body.comment.as_deref()).map_err(|m| ApiError::validation("comment", m))?;
            let m = services.workflow.rate(&actor, &id, body.score, comment, body.reopen.unwrap_or(false)).await?;
            Ok(ok(&MessageView::summary(&m, &tz)))
        }
        Some(Operation::AnnouncePhoto) => {
            let body = json_body::<PhotoRequest>(req)?;
            let (photo, signed) = services.photos.announce(&actor, &body.content_type, body.size_bytes).await?;
            Ok(created(&PhotoUploadView {
                photo_id: photo.id,
                upload_url: signed.url,
                upload_headers: signed.headers,
                expires_at: local_time(signed.expires_at, &tz),
            }))
        }
        Some(Operation::DownloadPhoto) => {
            let id = MessageId::parse(&path_param(req, "id")?).map_err(|_| ServiceError::NotFound)?;
            let photo = PhotoId::parse(&path_param(req, "photo_id")?).map_err(|_| ServiceError::NotFound)?;
            let signed = services.photos.download(&actor, &id, &photo).await?;
            Ok(ok(&PhotoDownloadView { url: signed.url, expires_at: local_time(signed.expires_at, &tz) }))
        }
        Some(Operation::ListNotifications) => {
            let (limit, cursor) = limit_and_cursor(req)?;
            let page = services.notifications.list(&actor, cursor, limit).await?;
            Ok(ok(&page.map(|n| NotificationView {
                id: n.id,
                message_id: n.message_id,
                message_number: n.message_number,
                kind: n.kind,
                at: local_time(n.at, &tz),
                text: n.text,
                read: n.read_at.is_some(),
                read_at: n.read_at.map(|t| local_time(t, &tz)),
            })))
        }
        Some(Operation::MarkNotificationsRead) => {
            let body = json_body::<MarkReadRequest>(req)?;
            let which = match (body.ids, body.up_to) {
                (Some(ids), None) if !ids.is_empty() => ReadSelection::Ids(ids),
                (None, Some(t)) => ReadSelection::UpTo(t.with_timezone(&chrono::Utc)),
                _ => {
                    return Err(ApiError::validation(
                        "ids",
                        "укажите либо непустой список ids, либо up_to — время, до которого всё прочитано",
                    ))
                }
            };
            let marked = services.notifications.mark_read(&actor, &which, services.clock.now()).await?;
            let unread = services.notifications.unread(&actor).await?;
            Ok(ok(&MarkReadView { marked, unread }))
        }
        Some(Operation::UnreadNotifications) => {
            let unread = services.notifications.unread(&actor).await?;
            Ok(ok(&UnreadView { unread, capped: unread >= UNREAD_CAP }))
        }
        Some(Operation::ExportMyData) => {
            let data = services.rights.export(&actor).await?;
            let mut response = ok(&data);
            response.headers_mut().insert(
                lambda_http::http::header::CONTENT_DISPOSITION,
                lambda_http::http::HeaderValue::from_static("attachment; filename=\"my-data.json\""),
            );
            Ok(response)
        }
        Some(Operation::EraseMe) => Ok(ok(&services.rights.erase(&actor).await?)),
        Some(Operation::GetPreferences) => Ok(ok(&services.reach.preferences(&actor).await?)),
        Some(Operation::ReplacePreferences) => {
            let body = json_body::<Preferences>(req)?;
            Ok(ok(&services.reach.set_preferences(&actor, body).await?))
        }
        Some(Operation::ListSubscriptions) => {
            let items = services.reach.subscriptions(&actor).await?;
            Ok(ok(&feedback_core::page::Page { items, next_cursor: None }))
        }
        Some(Operation::Subscribe) => {
            let body = json_body::<SubscriptionRequest>(req)?;
            Ok(created(&services.reach.subscribe(&actor, body).await?))
        }
        Some(Operation::Unsubscribe) => {
            let id = SubscriptionId::parse(&path_param(req, "id")?).map_err(|_| ServiceError::NotFound)?;
            services.reach.unsubscribe(&actor, &id).await?;
            Ok(no_content())
        }
        Some(Operation::NotificationDeliveries) => {
            let id = path_param(req, "id")?;
            if !is_notification_id(&id) {
                return Err(ServiceError::NotFound.into());
            }
            Ok(ok(&NotificationDeliveryLog { items: services.deliveries.log(&actor, &id).await? }))
        }
        Some(Operation::ListPushSubscriptions) => {
            let items = services.reach.push_subscriptions(&actor).await?;
            Ok(ok(&feedback_core::page::Page { items, next_cursor: None }))
        }
        Some(Operation::AddPushSubscription) => {
            let body = json_body::<PushSubscriptionRequest>(req)?;
            resident(&actor)?;
            let new = body.check(services.push_policy).await?;
            Ok(created(&services.reach.add_push_subscription(&actor, new).await?))
        }
        Some(Operation::RemovePushSubscription) => {
            let id = PushSubscriptionId::parse(&path_param(req, "id")?).map_err(|_| ServiceError::NotFound)?;
            services.reach.remove_push_subscription(&actor, &id).await?;
            Ok(no_content())
        }
        _ => Err(ApiError::RouteNotFound),
    }
}

/// Whether `id` has the shape of a notification's id: its message's id and the transition's
/// six-digit number (`01J…:000002`).
fn is_notification_id(id: &str) -> bool {
    id.split_once(':').is_some_and(|(message, seq)| {
        MessageId::parse(message).is_ok() && seq.len() == 6 && seq.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The `token` of an unsubscribe link; empty when it has none (and fails verification).
fn token(req: &Request) -> String {
    use lambda_http::RequestExt;
    req.query_string_parameters_ref().and_then(|q| q.first("token")).unwrap_or_default().to_owned()
}

const ONE_CLICK: &str = "Тело запроса: ожидается пустое или List-Unsubscribe=One-Click (RFC 8058).";

/// The body of a one-click unsubscribe: empty, or the form field `List-Unsubscribe=One-Click`
/// mail clients post (RFC 8058); 422 otherwise.
fn one_click_body(req: &Request) -> Result<(), ApiError> {
    let body = feedback_lambda::body_bytes(req)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let mut fields = form_urlencoded::parse(body);
    match (fields.next(), fields.next()) {
        (Some((k, v)), None) if k == "List-Unsubscribe" && v == "One-Click" => Ok(()),
        _ => Err(ApiError::validation("List-Unsubscribe", ONE_CLICK)),
    }
}

/// The page an unsubscribe link opens: it changes nothing, its button posts the one-click form.
fn unsubscribe_page(token: &str) -> Response<Body> {
    let query: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
    let action = feedback_core::delivery::escape_html(&format!("/v1/unsubscribe?token={query}"));
    let html = format!(
        "<!DOCTYPE html><html lang=\"ru\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Отписка от писем</title></head><body>\
         <h1>Отписаться от писем портала?</h1><p>Письма о ваших сообщениях и подписках больше не будут приходить. \
         Уведомления на портале останутся.</p>\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
         <button type=\"submit\">Отписаться</button></form></body></html>"
    );
    let mut response = Response::new(Body::Text(html));
    let headers = response.headers_mut();
    use lambda_http::http::{header, HeaderValue};
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The stack's public key, cached by browsers and proxies for an hour; 503 `not_configured`
/// when the stack does not send Web Push.
fn push_public_key(key: Option<&str>) -> Result<Response<Body>, ApiError> {
    let key = key.ok_or(ApiError::NotConfigured(PUSH_NOT_CONFIGURED))?;
    let mut response = ok(&PushPublicKeyView { public_key: key.to_owned() });
    response.headers_mut().insert(
        lambda_http::http::header::CACHE_CONTROL,
        lambda_http::http::HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(response)
}

/// The query parameters of the public list; any other is refused.
const PUBLIC_LIST_PARAMS: &[&str] = &["bbox", "category_id", "status", "from", "to", "cursor", "limit"];
/// The query parameters of the clusters; any other is refused.
const PUBLIC_CLUSTER_PARAMS: &[&str] = &["bbox", "zoom", "category_id", "status"];

/// The request's query parameters, refusing any not in `allowed` (a typo is not silently
/// ignored): a parameter's first value by name.
fn query(req: &Request, allowed: &[&str]) -> Result<impl Fn(&str) -> Option<String>, ApiError> {
    use lambda_http::RequestExt;
    let q = req.query_string_parameters();
    if let Some((name, _)) = q.iter().find(|(name, _)| !allowed.contains(name)) {
        return Err(ApiError::validation(name, "неизвестный параметр"));
    }
    Ok(move |name: &str| q.first(name).map(str::to_owned))
}

/// A public answer that any cache (CloudFront, the browser) may keep for a minute, with the
/// shared `ETag` revalidation.
fn public<T: serde::Serialize>(req: &Request, value: &T) -> Response<Body> {
    feedback_lambda::cacheable(req, value, 60)
}
