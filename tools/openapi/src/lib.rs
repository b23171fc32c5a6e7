//! The OpenAPI 3.1 document of the HTTP API.
//!
//! Paths come from the route table, schemas from the wire types (`utoipa::ToSchema`), and each
//! route's request body, query parameters, success response and possible problems from
//! [`operation`]. The document is written to `shared/lambda-kit/openapi.json`, which both hosts
//! serve at `GET /v1/openapi.json`; a test fails when that file and this generator disagree, and
//! a route without an operation does not compile.

use feedback_lambda::routes::{Access, Operation as Op, Route, ROUTES};
use feedback_lambda::XLSX;
use serde_json::{json, Map, Value};
use utoipa::OpenApi;

use feedback_core::analytics::heatmap::{HeatCell, Heatmap};
use feedback_core::analytics::scorecard::{ScorecardList, ScorecardReport};
use feedback_core::analytics::{AuthorityRank, MessagesReport, PollReport};
use feedback_core::message::Status;
use feedback_core::open311::{Open311Created, Open311Request, Open311Service, Open311ServiceDefinition};
use feedback_core::participation::{PollStatus, Results};
use feedback_core::preferences::{Preferences, PushSubscriptionView, SubscriptionRequest, SubscriptionView};
use feedback_core::public::{Cluster, Clusters, Nearby, PublicMessage, PublicPage, PublicPoint, Supporters};
use feedback_core::region::RoutingRule;
use feedback_core::rights::{Erasure, ResidentData};
use feedback_core::views::MessageView;
use feedback_core::workflow::QueueCounts;
use feedback_lambda::problem::Problem;
use handle_messages::{AnswerRequest, RedirectRequest, RejectRequest, TemplateList, TemplateRequest, TemplateView};
use open311::Open311Error;
use polls::{
    BallotRequest, CommentRequest, CommentView, DiscussionRequest, FlagRequest, PollRequest, PollView,
    ReceiptCheckView, ReceiptView,
};
use reference_data::integrations::{CreatedIntegrationView, IntegrationView, NewIntegrationRequest};
use reference_data::{
    AuthorityView, CategoryHit, CategorySearchResults, CategoryView, Health, MunicipalityView, RuleRequest,
};
use submit_message::{
    MarkReadRequest, MarkReadView, NewMessageRequest, NotificationDeliveryLog, NotificationView, PhotoDownloadView,
    PhotoRequest, PhotoUploadView, PushPublicKeyView, PushSubscriptionRequest, RatingRequest, UnreadView,
    UnsubscribedView,
};
use webhooks::{CreatedWebhookView, DeliveryLog, DeliveryView, NewWebhookRequest, WebhookList, WebhookView};

/// Every named schema; utoipa adds the types they refer to.
#[derive(OpenApi)]
#[openapi(components(schemas(
    Problem,
    NewMessageRequest,
    RatingRequest,
    PhotoRequest,
    MessageView,
    NotificationView,
    MarkReadRequest,
    MarkReadView,
    UnreadView,
    QueueCounts,
    ResidentData,
    Erasure,
    Preferences,
    SubscriptionRequest,
    SubscriptionView,
    PushSubscriptionRequest,
    PushSubscriptionView,
    PushPublicKeyView,
    UnsubscribedView,
    NotificationDeliveryLog,
    PhotoUploadView,
    PhotoDownloadView,
    AnswerRequest,
    TemplateRequest,
    TemplateView,
    TemplateList,
    RedirectRequest,
    RejectRequest,
    CategoryView,
    CategoryHit,
    CategorySearchResults,
    MunicipalityView,
    AuthorityView,
    RoutingRule,
    RuleRequest,
    Health,
    PollRequest,
    DiscussionRequest,
    BallotRequest,
    CommentRequest,
    FlagRequest,
    PollView,
    CommentView,
    ReceiptView,
    ReceiptCheckView,
    Results,
    MessagesReport,
    AuthorityRank,
    PollReport,
    Heatmap,
    HeatCell,
    ScorecardList,
    ScorecardReport,
    Status,
    PollStatus,
    NewIntegrationRequest,
    CreatedIntegrationView,
    IntegrationView,
    NewWebhookRequest,
    CreatedWebhookView,
    WebhookView,
    WebhookList,
    DeliveryView,
    DeliveryLog,
    Open311Service,
    Open311ServiceDefinition,
    Open311Request,
    Open311Created,
    Open311Error,
    Open311RequestForm,
    PublicMessage,
    PublicPage,
    PublicPoint,
    Cluster,
    Clusters,
    Nearby,
    Supporters,
)))]
struct Schemas;

/// The form of `POST /open311/v2/requests.{format}`, as GeoReport v2 defines it. A test checks that
/// the parser in `functions/open311` takes every field named here and refuses any other.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Open311RequestForm {
    /// The key of an integration, issued by the region's admin.
    api_key: String,
    /// The region code, e.g. `72`.
    jurisdiction_id: Option<String>,
    /// A service code from `services.{format}`.
    service_code: String,
    /// Latitude (WGS 84); with `long`, or give `address_string`.
    lat: Option<f64>,
    long: Option<f64>,
    address_string: Option<String>,
    address_id: Option<String>,
    /// The resident's text: 10..4000 characters.
    description: String,
    /// Accepted and not stored: the platform keeps no personal data of Open311 submitters.
    email: Option<String>,
    device_id: Option<String>,
    account_id: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    media_url: Option<String>,
    /// `attribute[municipality]`: the municipality id, see the service definition.
    #[schema(rename = "attribute[municipality]")]
    attribute_municipality: Option<String>,
}

/// The Open311 fields the form schema names.
pub const OPEN311_FORM_FIELDS: &[&str] = &[
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "description",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "media_url",
    "attribute[municipality]",
];

/// What a request carries in its body.
#[derive(Debug, Clone, Copy)]
pub enum Input {
    None,
    Json(&'static str),
    JsonArray(&'static str),
    Form(&'static str),
    /// An optional form body `List-Unsubscribe=One-Click` (RFC 8058), or none.
    OneClick,
}

/// What a successful response carries.
#[derive(Debug, Clone, Copy)]
pub enum Output {
    Json(&'static str),
    /// `{items: [...], next_cursor}` of the named schema.
    Page(&'static str),
    Csv,
    /// An Office Open XML spreadsheet.
    Xlsx,
    /// The OpenAPI document itself.
    Document,
    /// A GeoReport v2 list of the named schema, as JSON or XML by the path's `{format}`.
    Open311(&'static str, &'static str, &'static str),
    /// One GeoReport v2 object (a service definition), as JSON or XML.
    Open311One(&'static str, &'static str),
    /// No body (204).
    Empty,
    /// An HTML page.
    Html,
    /// A cached file of open data with an `ETag`, of the given media type; 304 when unchanged.
    File(&'static str),
}

/// One operation: everything about a route that the route table does not say.
#[derive(Debug, Clone)]
pub struct Operation {
    pub summary: &'static str,
    pub input: Input,
    pub output: Output,
    pub status: u16,
    pub query: Vec<Value>,
    pub headers: Vec<Value>,
    /// Problems besides those every operation of its kind can return.
    pub problems: &'static [u16],
}

fn op(summary: &'static str, input: Input, output: Output) -> Operation {
    Operation { summary, input, output, status: 200, query: vec![], headers: vec![], problems: &[] }
}

impl Operation {
    fn created(mut self) -> Self {
        self.status = 201;
        self
    }
    fn no_content(mut self) -> Self {
        self.status = 204;
        self
    }
    fn paged(mut self) -> Self {
        self.query.extend(paging());
        self
    }
    fn query(mut self, params: impl IntoIterator<Item = Value>) -> Self {
        self.query.extend(params);
        self
    }
    fn problems(mut self, codes: &'static [u16]) -> Self {
        self.problems = codes;
        self
    }
}

fn param(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description})
}

fn paging() -> [Value; 2] {
    [
        param("limit", json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 20}), "Размер страницы."),
        param("cursor", json!({"type": "string"}), "Непрозрачный курсор из `next_cursor` предыдущей страницы."),
    ]
}

fn date_range() -> [Value; 2] {
    [
        param(
            "from",
            json!({"type": "string", "format": "date"}),
            "Первый день (местная дата), по умолчанию 30 дней назад.",
        ),
        param(
            "to",
            json!({"type": "string", "format": "date"}),
            "Последний день (местная дата), по умолчанию сегодня.",
        ),
    ]
}

fn jurisdiction() -> Value {
    param("jurisdiction_id", json!({"type": "string"}), "Код региона, например `72`; другой код — 404.")
}

fn open311_search() -> [Value; 5] {
    [
        param(
            "service_request_id",
            json!({"type": "string"}),
            "Номера обращений через запятую; остальные фильтры тогда не применяются.",
        ),
        param("service_code", json!({"type": "string"}), "Коды услуг через запятую."),
        param(
            "start_date",
            json!({"type": "string", "format": "date-time"}),
            "Не раньше этого времени; по умолчанию 90 дней назад.",
        ),
        param(
            "end_date",
            json!({"type": "string", "format": "date-time"}),
            "Не позже этого времени; по умолчанию сейчас.",
        ),
        param(
            "status",
            json!({"type": "string", "pattern": "^(open|closed)(,(open|closed))*$"}),
            "open, closed или оба через запятую.",
        ),
    ]
}

/// The signed token of an unsubscribe link.
fn unsubscribe_token() -> Value {
    json!({
        "name": "token", "in": "query", "required": true, "schema": {"type": "string"},
        "description": "Подписанный токен из ссылки в письме; поддельный или просроченный — 422."
    })
}

/// The box of a map: `minLon,minLat,maxLon,maxLat`.
fn bbox(required: bool) -> Value {
    json!({
        "name": "bbox", "in": "query", "required": required,
        "schema": {"type": "string", "pattern": "^-?[0-9.]+,-?[0-9.]+,-?[0-9.]+,-?[0-9.]+$"},
        "description": "Прямоугольник карты: minLon,minLat,maxLon,maxLat (градусы WGS 84, без перехода через 180°)."
    })
}

/// The filters both public reads share.
fn public_filters() -> [Value; 2] {
    [
        param(
            "category_id",
            json!({"type": "string", "pattern": "^[a-z0-9-]{1,64}$"}),
            "Категория (с подкатегориями).",
        ),
        param(
            "status",
            json!({"type": "string", "enum": ["routed", "in_progress", "answered", "closed", "reopened"]}),
            "Только в этом статусе.",
        ),
    ]
}

fn poll_status() -> Value {
    param(
        "status",
        json!({"type": "string", "enum": ["scheduled", "open", "closed", "cancelled"], "default": "open"}),
        "Состояние.",
    )
}

/// The OpenAPI operation of a route.
pub fn operation(route: &Route) -> Operation {
    use Input::{Json, JsonArray, None as NoBody};
    use Output::{Csv, Document, Json as Out, Page, Xlsx};
    match route.op {
        Op::SubmitMessage => {
            let mut o =
                op("Подать сообщение", Json("NewMessageRequest"), Out("MessageView")).created().problems(&[409, 429]);
            o.headers.push(json!({
                "name": "Idempotency-Key", "in": "header", "required": false,
                "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[\\x21-\\x7e]+$"},
                "description": "Повтор с тем же ключом возвращает первый ответ."
            }));
            o
        }
        Op::ListOwnMessages => op("Мои сообщения", NoBody, Page("MessageView")).paged(),
        Op::GetMessage => op("Сообщение с историей", NoBody, Out("MessageView")),
        Op::MessageByNumber => op("Сообщение по номеру, с историей", NoBody, Out("MessageView")).problems(&[422]),
        Op::RateMessage => {
            op("Оценить ответ или переоткрыть", Json("RatingRequest"), Out("MessageView")).problems(&[409])
        }
        Op::ListNotifications => op("Мои уведомления", NoBody, Page("NotificationView")).paged(),
        Op::MarkNotificationsRead => {
            op("Отметить уведомления прочитанными", Json("MarkReadRequest"), Out("MarkReadView"))
        }
        Op::UnreadNotifications => op("Сколько уведомлений не прочитано", NoBody, Out("UnreadView")),
        Op::ExportMyData => op("Все мои данные одним документом", NoBody, Out("ResidentData")),
        Op::EraseMe => op("Удалить мои данные", NoBody, Out("Erasure")).problems(&[409]),
        Op::GetPreferences => op("Мои настройки уведомлений", NoBody, Out("Preferences")),
        Op::ReplacePreferences => op("Заменить настройки уведомлений", Json("Preferences"), Out("Preferences")),
        Op::ListSubscriptions => op("Мои подписки", NoBody, Page("SubscriptionView")),
        Op::Subscribe => op("Подписаться на место или тему", Json("SubscriptionRequest"), Out("SubscriptionView"))
            .created()
            .problems(&[409]),
        Op::Unsubscribe => op("Отписаться", NoBody, Output::Empty).no_content(),
        Op::ListPushSubscriptions => op("Браузеры с уведомлениями", NoBody, Page("PushSubscriptionView")),
        Op::AddPushSubscription => {
            op("Включить уведомления в браузере", Json("PushSubscriptionRequest"), Out("PushSubscriptionView"))
                .created()
                .problems(&[409])
        }
        Op::RemovePushSubscription => op("Выключить уведомления в браузере", NoBody, Output::Empty).no_content(),
        Op::PushPublicKey => {
            op("Открытый ключ для подписки на уведомления", NoBody, Out("PushPublicKeyView")).problems(&[503])
        }
        Op::UnsubscribePage => op("Страница отписки от писем по ссылке; ничего не меняет", NoBody, Output::Html)
            .query([unsubscribe_token()]),
        Op::UnsubscribeByLink => {
            op("Отписаться от писем одним нажатием (RFC 8058)", Input::OneClick, Out("UnsubscribedView"))
                .query([unsubscribe_token()])
        }
        Op::NotificationDeliveries => op("Журнал доставок уведомления", NoBody, Out("NotificationDeliveryLog")),
        Op::NearbyMessages => op("Уже сообщили рядом", NoBody, Out("Nearby")).query([
            json!({"name": "category_id", "in": "query", "required": true,
                "schema": {"type": "string", "pattern": "^[a-z0-9-]{1,64}$"}, "description": "Категория."}),
            json!({"name": "lat", "in": "query", "required": true,
                "schema": {"type": "number", "minimum": -90, "maximum": 90}, "description": "Широта места."}),
            json!({"name": "lon", "in": "query", "required": true,
                "schema": {"type": "number", "minimum": -180, "maximum": 180}, "description": "Долгота места."}),
        ]),
        Op::SupportMessage => op("Я тоже: поддержать сообщение", NoBody, Out("Supporters")).problems(&[409]),
        Op::PublicMessages => op("Проблемы региона: публичные сообщения", NoBody, Out("PublicPage"))
            .query([bbox(false)])
            .query(public_filters())
            .query(date_range())
            .query([
                param(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
                    "Размер страницы.",
                ),
                param("cursor", json!({"type": "string"}), "Непрозрачный курсор из `next_cursor` предыдущей страницы."),
            ]),
        Op::PublicMessage => op("Публичное сообщение", NoBody, Out("PublicMessage")).problems(&[404]),
        Op::PublicClusters => op("Проблемы региона на карте: кластеры", NoBody, Out("Clusters"))
            .query([
                bbox(true),
                json!({"name": "zoom", "in": "query", "required": true,
                    "schema": {"type": "integer", "minimum": 0, "maximum": 18}, "description": "Масштаб карты."}),
            ])
            .query(public_filters()),
        Op::AnnouncePhoto => {
            op("Адрес для загрузки фото", Json("PhotoRequest"), Out("PhotoUploadView")).created().problems(&[429])
        }
        Op::DownloadPhoto => op("Адрес фото", NoBody, Out("PhotoDownloadView")),
        Op::AuthorityQueue => op("Очередь ведомства", NoBody, Page("MessageView")).paged().query([
            param(
                "status",
                json!({"type": "string", "enum": ["open", "all", "routed", "in_progress", "answered", "closed",
                    "rejected", "reopened"], "default": "open"}),
                "Ожидающие ответа (open, по умолчанию), все (all) или только в этом статусе.",
            ),
            param("overdue", json!({"type": "boolean"}), "Только просроченные (true) или нет (false)."),
            param(
                "q",
                json!({"type": "string", "maxLength": 100}),
                "Слова, которые есть в тексте или адресе. Поиск просматривает не больше 1000 сообщений за запрос: \
                 страница может быть короче limit, а next_cursor продолжает поиск.",
            ),
            param(
                "sort",
                json!({"type": "string", "enum": ["deadline", "newest", "oldest"], "default": "deadline"}),
                "Порядок: ближайший срок первым (deadline, по умолчанию), сначала новые (newest) или сначала \
                 старые (oldest) по времени подачи. Курсор действует в том порядке, в котором он выдан.",
            ),
        ]),
        Op::AuthorityQueueCounts => op("Счётчики очереди ведомства", NoBody, Out("QueueCounts")),
        Op::ListTemplates => op("Шаблоны ответов ведомства", NoBody, Out("TemplateList")),
        Op::CreateTemplate => {
            op("Добавить шаблон ответа", Json("TemplateRequest"), Out("TemplateView")).created().problems(&[409])
        }
        Op::ReplaceTemplate => op("Изменить шаблон ответа", Json("TemplateRequest"), Out("TemplateView")),
        Op::DeleteTemplate => op("Удалить шаблон ответа", NoBody, Output::Empty).no_content(),
        Op::AwaitingModeration => op("Сообщения на модерации", NoBody, Page("MessageView")).paged(),
        Op::TakeMessage => op("Взять в работу", NoBody, Out("MessageView")).problems(&[409]),
        Op::AnswerMessage => op("Ответить", Json("AnswerRequest"), Out("MessageView")).problems(&[409]),
        Op::RedirectMessage => op("Перенаправить", Json("RedirectRequest"), Out("MessageView")).problems(&[409]),
        Op::RejectMessage => op("Отклонить", Json("RejectRequest"), Out("MessageView")).problems(&[409]),
        Op::ListCategories => op("Категории", NoBody, Page("CategoryView")),
        Op::SearchCategories => {
            op("Поиск категории по словам или тексту сообщения", NoBody, Out("CategorySearchResults")).query([
                json!({"name": "q", "in": "query", "required": true,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 2000},
                    "description": "Слова или текст сообщения."}),
                param(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 20, "default": 8}),
                    "Сколько категорий вернуть.",
                ),
            ])
        }
        Op::ListMunicipalities => op("Муниципальные образования", NoBody, Page("MunicipalityView")),
        Op::ListAuthorities => op("Ведомства", NoBody, Page("AuthorityView")),
        Op::GetRoutingRules => op("Правила маршрутизации", NoBody, Page("RoutingRule")),
        Op::ReplaceRoutingRules => op("Заменить правила маршрутизации", JsonArray("RuleRequest"), Page("RoutingRule")),
        Op::CreatePoll => op("Создать голосование или опрос", Json("PollRequest"), Out("PollView")).created(),
        Op::ListPolls => op("Голосования и опросы", NoBody, Page("PollView")).paged().query([poll_status()]),
        Op::GetPoll => op("Голосование или опрос", NoBody, Out("PollView")),
        Op::CancelPoll => op("Отменить", NoBody, Out("PollView")).problems(&[409]),
        Op::CastBallot => op("Проголосовать", Json("BallotRequest"), Out("ReceiptView")).created().problems(&[409]),
        Op::PollResults => op("Результаты", NoBody, Out("Results")).problems(&[409]),
        Op::CheckReceipt => op("Проверить квитанцию", NoBody, Out("ReceiptCheckView")),
        Op::CreateDiscussion => op("Создать обсуждение", Json("DiscussionRequest"), Out("PollView")).created(),
        Op::ListDiscussions => op("Обсуждения", NoBody, Page("PollView")).paged().query([poll_status()]),
        Op::GetDiscussion => op("Обсуждение", NoBody, Out("PollView")),
        Op::ListComments => op("Комментарии", NoBody, Page("CommentView")).paged(),
        Op::PostComment => {
            op("Написать комментарий", Json("CommentRequest"), Out("CommentView")).created().problems(&[409, 429])
        }
        Op::FlagComment => op("Пожаловаться", Json("FlagRequest"), Out("CommentView")).problems(&[409]),
        Op::HideComment => op("Скрыть", NoBody, Out("CommentView")).problems(&[409]),
        Op::RestoreComment => op("Вернуть", NoBody, Out("CommentView")).problems(&[409]),
        Op::ModerationQueue => op("Очередь модерации", NoBody, Page("CommentView")).paged().query([param(
            "state",
            json!({"type": "string", "enum": ["flagged", "hidden"], "default": "flagged"}),
            "Отмеченные жалобами или скрытые.",
        )]),
        Op::MessagesReport | Op::MessagesReportCsv | Op::MessagesReportXlsx => {
            let output = match route.path.rsplit('.').next() {
                Some("csv") => Csv,
                Some("xlsx") => Xlsx,
                _ => Out("MessagesReport"),
            };
            op("Показатели сообщений", NoBody, output).query(date_range()).query([param(
                "group_by",
                json!({"type": "string", "enum": ["category", "municipality", "authority", "status", "day"], "default": "category"}),
                "Группировка.",
            )])
        }
        Op::AuthorityRanking => op("Рейтинг ведомств", NoBody, Page("AuthorityRank")).query(date_range()),
        Op::PollReport => op("Явка и результаты", NoBody, Out("PollReport")),
        Op::StaffHeatmap => op("Карта обращений: все сообщения с местом по ячейкам", NoBody, Out("Heatmap")).query([
            bbox(true),
            json!({"name": "zoom", "in": "query", "required": true,
                    "schema": {"type": "integer", "minimum": 0, "maximum": 18}, "description": "Масштаб карты."}),
            param(
                "overdue",
                json!({"type": "boolean", "default": false}),
                "Только просроченные сейчас (true) или все сообщения (false).",
            ),
            param(
                "category_id",
                json!({"type": "string", "pattern": "^[a-z0-9-]{1,64}$"}),
                "Только эта категория и её подкатегории.",
            ),
        ]),
        Op::PublicAuthorities => op("Рейтинг ведомств за 12 месяцев", NoBody, Out("ScorecardList")),
        Op::PublicScorecard => op("Карточка ведомства за 12 месяцев", NoBody, Out("ScorecardReport")),
        Op::OpenDataCsv => op("Открытые данные: сообщения (CSV)", NoBody, Output::File("text/csv")),
        Op::OpenDataGeoJson => {
            op("Открытые данные: сообщения с местом (GeoJSON)", NoBody, Output::File("application/geo+json"))
        }
        Op::OpenDataPackage => {
            op("Открытые данные: описание (Frictionless Data Package)", NoBody, Output::File("application/json"))
        }
        Op::CreateIntegration => {
            op("Выпустить ключ интеграции", Json("NewIntegrationRequest"), Out("CreatedIntegrationView")).created()
        }
        Op::ListIntegrations => op("Интеграции", NoBody, Page("IntegrationView")).paged(),
        Op::RevokeIntegration => op("Отозвать ключ", NoBody, Out("IntegrationView")).problems(&[409]),
        Op::CreateWebhook => {
            op("Зарегистрировать вебхук", Json("NewWebhookRequest"), Out("CreatedWebhookView")).created()
        }
        Op::ListWebhooks => op("Вебхуки региона", NoBody, Out("WebhookList")),
        Op::GetWebhook => op("Вебхук", NoBody, Out("WebhookView")),
        Op::DisableWebhook => op("Отключить вебхук", NoBody, Out("WebhookView")),
        Op::ListWebhookDeliveries => op("Журнал доставок вебхука", NoBody, Out("DeliveryLog")),
        Op::RedeliverWebhook => op("Доставить повторно", NoBody, Out("DeliveryView")).problems(&[409]),
        Op::Open311Services => op("Open311: услуги", NoBody, Output::Open311("Open311Service", "services", "service"))
            .query([jurisdiction()])
            .problems(&[404]),
        Op::Open311Service => {
            op("Open311: описание услуги", NoBody, Output::Open311One("Open311ServiceDefinition", "service_definition"))
                .query([jurisdiction()])
        }
        Op::Open311Search => {
            op("Open311: поиск обращений", NoBody, Output::Open311("Open311Request", "service_requests", "request"))
                .query([jurisdiction()])
                .query(open311_search())
                .problems(&[400, 404])
        }
        Op::Open311Submit => op(
            "Open311: новое обращение",
            Input::Form("Open311RequestForm"),
            Output::Open311("Open311Created", "service_requests", "request"),
        )
        .created()
        .problems(&[400, 403, 404, 413, 415, 429]),
        Op::Open311Request => {
            op("Open311: обращение", NoBody, Output::Open311("Open311Request", "service_requests", "request"))
                .query([jurisdiction()])
        }
        Op::OpenApiDocument => op("Этот документ", NoBody, Document),
        Op::Health => op("Готовность", NoBody, Out("Health")),
    }
}

/// Where the resource an operation creates can be used next: `(target, parameter, value)`.
/// Clients and schemathesis's stateful phase follow these OpenAPI links.
fn links(op: Op) -> &'static [(Op, &'static str, &'static str)] {
    const ID: &str = "$response.body#/id";
    match op {
        Op::SubmitMessage => &[
            (Op::GetMessage, "id", ID),
            (Op::RateMessage, "id", ID),
            (Op::TakeMessage, "id", ID),
            (Op::AnswerMessage, "id", ID),
            (Op::RedirectMessage, "id", ID),
            (Op::RejectMessage, "id", ID),
        ],
        Op::CreatePoll => &[
            (Op::GetPoll, "id", ID),
            (Op::PollResults, "id", ID),
            (Op::CastBallot, "id", ID),
            (Op::CancelPoll, "id", ID),
            (Op::PollReport, "id", ID),
        ],
        Op::CreateDiscussion => {
            &[(Op::GetDiscussion, "id", ID), (Op::ListComments, "id", ID), (Op::PostComment, "id", ID)]
        }
        Op::PostComment => &[(Op::FlagComment, "id", ID), (Op::HideComment, "id", ID), (Op::RestoreComment, "id", ID)],
        Op::CastBallot => &[(Op::CheckReceipt, "receipt", "$response.body#/receipt")],
        _ => &[],
    }
}

fn links_of(route: &Route) -> Option<Value> {
    let mut out = Map::new();
    for (target, param, value) in links(route.op) {
        let id = operation_id(target.route());
        let name = id[..1].to_ascii_uppercase() + &id[1..];
        out.insert(name, json!({"operationId": id, "parameters": {*param: value}}));
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn page_schema(item: &str) -> Value {
    json!({
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": schema_ref(item)},
            "next_cursor": {"type": ["string", "null"]}
        }
    })
}

/// A GeoReport v2 list: a JSON array, or the same items as XML under `<list><element>…`.
fn open311_content(item: &str, list: &str, element: &str) -> Value {
    json!({
        "application/json": {"schema": {"type": "array", "items": schema_ref(item)}},
        "text/xml": {"schema": {
            "type": "array",
            "xml": {"name": list, "wrapped": true},
            "items": {"allOf": [schema_ref(item)], "xml": {"name": element}}
        }}
    })
}

fn operation_id(route: &Route) -> String {
    let mut id = route.method.to_ascii_lowercase();
    for part in route.path.split('/').filter(|p| !p.is_empty() && *p != "v1") {
        for word in part.split(['-', '_', '.', '{', '}']) {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                id.push(first.to_ascii_uppercase());
                id.extend(chars);
            }
        }
    }
    id
}

fn path_params(path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}').map(|e| start + e) else { break };
        let name = &rest[start + 1..end];
        rest = &rest[end + 1..];
        let schema = match name {
            "id" | "photo_id" => json!({"type": "string", "pattern": feedback_core::ids::ULID_PATTERN}),
            "format" => json!({"type": "string", "enum": ["json", "xml"]}),
            "number" => json!({"type": "string", "pattern": feedback_core::ids::MESSAGE_NUMBER_PATTERN}),
            "service_code" | "authority_id" => {
                json!({"type": "string", "pattern": feedback_core::ids::SLUG_PATTERN})
            }
            _ => json!({"type": "string", "minLength": 1}),
        };
        out.push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
    }
    out
}

fn problem_statuses(route: &Route, o: &Operation) -> Vec<u16> {
    let mut codes: Vec<u16> = o.problems.to_vec();
    // Every operation but this document reads or writes the store, which may be briefly unable to
    // serve (full disk, I/O error, lock, throttling): 503 with Retry-After, nothing written.
    if !matches!(o.output, Output::Document) {
        codes.push(503);
    }
    if matches!(o.output, Output::Open311(..) | Output::Open311One(..)) {
        // GeoReport v2 answers bad input with 400 and its own error list.
        codes.extend([400, 404]);
        codes.sort_unstable();
        codes.dedup();
        return codes;
    }
    if route.access == Access::Jwt {
        codes.extend([401, 403]);
    }
    if route.path.contains('{') {
        codes.push(404);
    }
    match o.input {
        Input::None => {}
        Input::OneClick => codes.extend([413, 422]),
        Input::Json(_) | Input::JsonArray(_) | Input::Form(_) => codes.extend([400, 413, 415, 422]),
    }
    if !o.query.is_empty() || !o.headers.is_empty() {
        codes.push(422);
    }
    codes.sort_unstable();
    codes.dedup();
    codes
}

fn status_text(code: u16) -> &'static str {
    match code {
        400 => "Тело запроса не разбирается как JSON",
        401 => "Нет действительного токена",
        403 => "Нет права на это действие",
        404 => "Не найдено или недоступно вызывающему",
        409 => "Конфликт с текущим состоянием",
        413 => "Тело больше 64 КиБ",
        415 => "Неподдерживаемый тип содержимого",
        422 => "Ошибка в данных",
        429 => "Слишком много запросов",
        503 => "Хранилище временно недоступно; ничего не сохранено",
        _ => "Ошибка",
    }
}

/// Sets a member of a JSON object built by `json!` (a no-op on any other value).
fn set(object: &mut Value, key: &str, value: Value) {
    if let Some(members) = object.as_object_mut() {
        members.insert(key.to_owned(), value);
    }
}

fn path_item(route: &Route, o: &Operation) -> Value {
    let success = match o.output {
        Output::Json(name) => json!({"application/json": {"schema": schema_ref(name)}}),
        Output::Page(name) => json!({"application/json": {"schema": page_schema(name)}}),
        Output::Csv => json!({"text/csv": {"schema": {"type": "string"}}}),
        Output::Xlsx => {
            let mut content = Map::new();
            content.insert(XLSX.to_owned(), json!({"schema": {"type": "string", "format": "binary"}}));
            Value::Object(content)
        }
        Output::Document => json!({"application/json": {"schema": {"type": "object"}}}),
        Output::Open311(item, list, element) => open311_content(item, list, element),
        Output::Open311One(item, element) => json!({
            "application/json": {"schema": schema_ref(item)},
            "text/xml": {"schema": {"allOf": [schema_ref(item)], "xml": {"name": element}}}
        }),
        Output::Empty => Value::Null,
        Output::Html => json!({"text/html": {"schema": {"type": "string"}}}),
        Output::File(media) if media.ends_with("json") => json!({ media: {"schema": {"type": "object"}} }),
        Output::File(media) => json!({ media: {"schema": {"type": "string"}} }),
    };
    let mut responses = Map::new();
    let mut ok = json!({"description": o.summary});
    if !success.is_null() {
        set(&mut ok, "content", success);
    }
    if let Some(links) = links_of(route) {
        set(&mut ok, "links", links);
    }
    responses.insert(o.status.to_string(), ok);
    if let Output::File(_) = o.output {
        responses.insert("304".into(), json!({"description": "Не изменилось с версии, названной в If-None-Match"}));
    }
    for code in problem_statuses(route, o) {
        let content = match o.output {
            Output::Open311(..) | Output::Open311One(..) => open311_content("Open311Error", "errors", "error"),
            _ => json!({"application/problem+json": {"schema": schema_ref("Problem")}}),
        };
        let mut r = json!({"description": status_text(code), "content": content});
        if code == 429 || code == 503 {
            set(
                &mut r,
                "headers",
                json!({"Retry-After": {"schema": {"type": "integer"}, "description": "Секунд до повтора."}}),
            );
        }
        responses.insert(code.to_string(), r);
    }
    let mut parameters = path_params(route.path);
    if route.op == Op::NotificationDeliveries {
        // A notification's id is its message's id and the transition's number.
        parameters = vec![json!({"name": "id", "in": "path", "required": true, "schema": {
            "type": "string", "pattern": format!("{}:[0-9]{{6}}$", feedback_core::ids::ULID_PATTERN.trim_end_matches('$'))
        }})];
    }
    parameters.extend(o.headers.iter().cloned());
    parameters.extend(o.query.iter().cloned());
    let mut item = json!({
        "operationId": operation_id(route),
        "summary": o.summary,
        "tags": [route.function],
        "responses": responses,
    });
    if !parameters.is_empty() {
        set(&mut item, "parameters", Value::Array(parameters));
    }
    let security = match route.access {
        Access::Jwt => json!([{"bearer": []}]),
        Access::Public => json!([]),
    };
    set(&mut item, "security", security);
    let body = match o.input {
        Input::None => None,
        Input::Json(name) => Some(schema_ref(name)),
        Input::JsonArray(name) => Some(json!({"type": "array", "items": schema_ref(name)})),
        Input::Form(_) | Input::OneClick => None,
    };
    if let Some(schema) = body {
        set(&mut item, "requestBody", json!({"required": true, "content": {"application/json": {"schema": schema}}}));
    }
    if let Input::OneClick = o.input {
        set(
            &mut item,
            "requestBody",
            json!({
                "required": false,
                "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object",
                    "properties": {"List-Unsubscribe": {"const": "One-Click"}}
                }}}
            }),
        );
    }
    if let Input::Form(name) = o.input {
        set(
            &mut item,
            "requestBody",
            json!({
                "required": true,
                "content": {"application/x-www-form-urlencoded": {"schema": schema_ref(name)}}
            }),
        );
    }
    item
}

/// The whole document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for route in ROUTES {
        let o = operation(route);
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        entry[route.method.to_ascii_lowercase()] = path_item(route, &o);
    }
    let components = serde_json::to_value(Schemas::openapi().components).unwrap_or_default();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Обратная связь: HTTP API",
            "version": "1",
            "description": "Единое окно обратной связи региона: сообщения жителей, работа ведомств, голосования, опросы, обсуждения и аналитика. Ошибки — application/problem+json (RFC 9457).",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
        },
        "paths": paths,
        "components": {
            "schemas": components.get("schemas").cloned().unwrap_or_else(|| json!({})),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        }
    })
}

/// The document as it is committed: pretty JSON with a final newline.
pub fn render() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap_or_default();
    text.push('\n');
    text
}

/// Where the committed document lives, relative to the workspace root.
pub const COMMITTED: &str = "shared/lambda-kit/openapi.json";

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_route_has_an_operation_with_typed_responses() {
        let doc = document();
        for route in ROUTES {
            let item = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
            assert!(item.is_object(), "{} is missing", route.key());
            let responses = item["responses"].as_object().expect("responses");
            let success: Vec<&String> = responses.keys().filter(|k| k.starts_with('2')).collect();
            assert_eq!(success.len(), 1, "{}", route.key());
            if route.access == Access::Jwt {
                assert!(responses.contains_key("401") && responses.contains_key("403"), "{}", route.key());
                assert_eq!(item["security"], json!([{"bearer": []}]), "{}", route.key());
            }
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let mut found = Vec::new();
        refs(&doc["paths"], &mut found);
        refs(&doc["components"], &mut found);
        assert!(found.len() > 50, "the document refers to its schemas: {}", found.len());
        for r in found {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected ref {r}"));
            assert!(doc["components"]["schemas"][name].is_object(), "{r} does not resolve");
        }
    }

    #[test]
    fn request_schemas_refuse_unknown_and_server_owned_fields() {
        let doc = document();
        let new_message = &doc["components"]["schemas"]["NewMessageRequest"];
        assert_eq!(new_message["additionalProperties"], json!(false), "{new_message}");
        let props = new_message["properties"].as_object().expect("properties");
        for owned in ["status", "authority_id", "id", "deadline"] {
            assert!(!props.contains_key(owned), "{owned} is server-owned");
        }
        let required = new_message["required"].as_array().expect("required");
        assert!(required.contains(&json!("category_id")) && required.contains(&json!("text")));
    }

    #[test]
    fn request_schemas_state_the_limits_the_domain_parses_with() {
        use feedback_core::values::{Address, CommentText, FlagReason, MessageText, PhotoIds, Reason};
        let doc = document();
        let field = |schema: &str, name: &str| doc["components"]["schemas"][schema]["properties"][name].clone();
        let checks = [
            (field("NewMessageRequest", "text")["minLength"].clone(), MessageText::MIN_CHARS),
            (field("NewMessageRequest", "text")["maxLength"].clone(), MessageText::MAX_CHARS),
            (field("NewMessageRequest", "address")["maxLength"].clone(), Address::MAX_CHARS),
            (field("NewMessageRequest", "photo_ids")["maxItems"].clone(), PhotoIds::MAX),
            (field("AnswerRequest", "text")["maxLength"].clone(), MessageText::MAX_CHARS),
            (field("AnswerRequest", "photo_ids")["maxItems"].clone(), PhotoIds::MAX),
            (field("TemplateRequest", "title")["maxLength"].clone(), feedback_core::templates::MAX_TITLE_CHARS),
            (field("TemplateRequest", "text")["minLength"].clone(), MessageText::MIN_CHARS),
            (field("TemplateRequest", "text")["maxLength"].clone(), MessageText::MAX_CHARS),
            (field("RatingRequest", "comment")["maxLength"].clone(), CommentText::MAX_CHARS),
            (field("RedirectRequest", "reason")["maxLength"].clone(), Reason::MAX_CHARS),
            (field("RejectRequest", "comment")["maxLength"].clone(), Reason::MAX_CHARS),
            (field("CommentRequest", "text")["maxLength"].clone(), CommentText::MAX_CHARS),
            (field("FlagRequest", "reason")["maxLength"].clone(), FlagReason::MAX_CHARS),
        ];
        for (i, (stated, parsed)) in checks.into_iter().enumerate() {
            assert_eq!(stated, json!(parsed), "check {i}");
        }
    }

    #[test]
    fn links_point_at_operations_that_exist() {
        let doc = document();
        let ids: Vec<String> = ROUTES.iter().map(operation_id).collect();
        let created = &doc["paths"]["/v1/messages"]["post"]["responses"]["201"]["links"];
        assert_eq!(created["GetMessagesId"]["parameters"]["id"], "$response.body#/id", "{created}");
        for route in ROUTES {
            for (target, _, _) in links(route.op) {
                let id = operation_id(target.route());
                assert!(ids.contains(&id), "{} links to unknown {target:?}", route.key());
            }
        }
    }

    #[test]
    fn the_open311_form_schema_names_exactly_what_the_parser_takes() {
        let doc = document();
        let props = doc["components"]["schemas"]["Open311RequestForm"]["properties"].as_object().expect("form");
        let mut named: Vec<&str> = props.keys().map(String::as_str).collect();
        named.sort_unstable();
        let mut listed = OPEN311_FORM_FIELDS.to_vec();
        listed.sort_unstable();
        assert_eq!(named, listed);
        for field in OPEN311_FORM_FIELDS {
            let parsed = open311::post_form(vec![(field.to_string(), "1".to_string())]);
            assert!(parsed.is_ok(), "the parser refuses {field}: {parsed:?}");
        }
        assert!(open311::post_form(vec![("bogus".into(), "1".into())]).is_err());
    }

    #[test]
    fn the_committed_document_is_the_generated_one() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let committed = std::fs::read_to_string(root.join(COMMITTED)).unwrap_or_default();
        assert!(
            committed == render(),
            "{COMMITTED} is out of date with the code: run `cargo run -p feedback-openapi` and commit it"
        );
    }
}
