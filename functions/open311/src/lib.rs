//! `open311`: Open311 GeoReport v2 (<https://wiki.open311.org/GeoReport_v2>) over the platform's
//! services. Every endpoint answers in JSON or XML by its format suffix, with the same data, and
//! every failure as the specification's error list in the requested format.
//!
//! On AWS, API Gateway delivers every GET and POST under `/open311/v2/` through one greedy route,
//! so this handler finds its route in the table itself, from the method and the raw path.

use feedback_core::error::FieldError;
use feedback_core::integration::IntegrationStore;
use feedback_core::open311::Open311Policy;
use feedback_core::open311::{
    Open311, Open311Attribute, Open311AttributeValue, Open311Created, Open311Request, Open311Service,
    Open311ServiceDefinition, Open311Submission, OpenClosed, PublicMessageStore, RequestQuery,
};
use feedback_core::{Clock, MessageStore, ReferenceStore, ServiceError, WorkQueue};
use feedback_lambda::request::MAX_BODY_BYTES;
use feedback_lambda::routes::{self, NoRoute, Operation};
use feedback_lambda::Deps;
use lambda_http::{Body, Error, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};

/// The status of a created request. GeoReport v2 does not fix it; a new resource is 201.
pub const CREATED_STATUS: u16 = 201;

/// One error of the specification's error list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Open311Error {
    /// The HTTP status it comes with: 400, 403, 404, …
    pub code: u16,
    /// What went wrong, in Russian.
    pub description: String,
}

/// The format a response is written in, from the path's suffix (`json` or `xml`; anything
/// else is refused, answered in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString)]
#[strum(serialize_all = "lowercase")]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// The format a refusal is written in when the request's own format is unknown: XML for a
    /// path ending in `.xml`, JSON otherwise.
    fn of_path(path: &str) -> Format {
        if path.ends_with(".xml") {
            Format::Xml
        } else {
            Format::Json
        }
    }
}

/// A refusal: an HTTP status and the error list.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub errors: Vec<Open311Error>,
    pub retry_after: Option<u64>,
}

impl Refusal {
    pub fn new(status: u16, description: impl Into<String>) -> Refusal {
        Refusal {
            status,
            errors: vec![Open311Error { code: status, description: description.into() }],
            retry_after: None,
        }
    }

    fn fields(errors: &[FieldError]) -> Refusal {
        let errors: Vec<Open311Error> = errors
            .iter()
            .map(|e| Open311Error { code: 400, description: format!("{}: {}", e.field, e.message) })
            .collect();
        if errors.is_empty() {
            return Refusal::new(400, "Некорректный запрос.");
        }
        Refusal { status: 400, errors, retry_after: None }
    }
}

/// Every use-case failure as the specification's error list: the one mapping of this function.
impl From<ServiceError> for Refusal {
    fn from(e: ServiceError) -> Refusal {
        match e {
            ServiceError::NotFound => Refusal::new(404, "Не найдено."),
            ServiceError::Forbidden(why) => Refusal::new(403, format!("Доступ запрещён: {why}.")),
            ServiceError::NotEligible | ServiceError::WrongRegion => Refusal::new(403, "Доступ запрещён."),
            ServiceError::Validation(errors) => Refusal::fields(&errors),
            ServiceError::Moderation(reason) => {
                Refusal::new(400, format!("description: {} ({})", reason.message_ru(), reason.code()))
            }
            ServiceError::IdempotencyKeyReused => Refusal::new(400, "Некорректный запрос."),
            ServiceError::Conflict { detail, .. } => Refusal::new(409, detail),
            ServiceError::RateLimited { retry_after_secs } => Refusal {
                retry_after: Some(retry_after_secs),
                ..Refusal::new(429, format!("Слишком много запросов; повторите через {retry_after_secs} с."))
            },
            ServiceError::Unavailable { retry_after_secs } => Refusal {
                retry_after: Some(retry_after_secs),
                ..Refusal::new(503, format!("Сервис временно недоступен; повторите через {retry_after_secs} с."))
            },
            ServiceError::Unexpected(err) => {
                tracing::error!(error = ?err, "open311 request failed");
                Refusal::new(500, "Внутренняя ошибка; повторите запрос позже.")
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Rendering
// ------------------------------------------------------------------------------------------------

#[derive(Serialize)]
#[serde(rename = "services")]
struct ServicesXml<'a> {
    service: &'a [Open311Service],
}

#[derive(Serialize)]
#[serde(rename = "service_definition")]
struct DefinitionXml<'a> {
    service_code: &'a str,
    attributes: AttributesXml<'a>,
}

#[derive(Serialize)]
struct AttributesXml<'a> {
    attribute: Vec<AttributeXml<'a>>,
}

#[derive(Serialize)]
struct AttributeXml<'a> {
    variable: bool,
    code: &'a str,
    datatype: &'a str,
    required: bool,
    datatype_description: &'a str,
    order: u32,
    description: &'a str,
    values: ValuesXml<'a>,
}

#[derive(Serialize)]
struct ValuesXml<'a> {
    value: &'a [Open311AttributeValue],
}

impl<'a> From<&'a Open311Attribute> for AttributeXml<'a> {
    fn from(a: &'a Open311Attribute) -> Self {
        AttributeXml {
            variable: a.variable,
            code: &a.code,
            datatype: &a.datatype,
            required: a.required,
            datatype_description: &a.datatype_description,
            order: a.order,
            description: &a.description,
            values: ValuesXml { value: &a.values },
        }
    }
}

#[derive(Serialize)]
#[serde(rename = "service_requests")]
struct RequestsXml<'a, T: Serialize> {
    request: &'a [T],
}

#[derive(Serialize)]
#[serde(rename = "errors")]
struct ErrorsXml<'a> {
    error: &'a [Open311Error],
}

/// XML of a value, with the declaration. `None` fields become empty elements.
fn xml<T: Serialize>(value: &T) -> Result<String, quick_xml::SeError> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    let mut ser = quick_xml::se::Serializer::new(&mut out);
    ser.expand_empty_elements(false);
    value.serialize(ser)?;
    Ok(out)
}

fn respond(status: u16, format: Format, body: Result<String, String>) -> Response<Body> {
    let content_type = match format {
        Format::Json => "application/json; charset=utf-8",
        Format::Xml => "text/xml; charset=utf-8",
    };
    match body {
        Ok(text) => Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(Body::Text(text))
            .unwrap_or_else(|_| Response::new(Body::Empty)),
        Err(e) => {
            tracing::error!(error = %e, "open311 response could not be written");
            let mut r = Response::new(Body::Text(
                r#"[{"code":500,"description":"Внутренняя ошибка; повторите запрос позже."}]"#.into(),
            ));
            *r.status_mut() = lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR;
            r.headers_mut()
                .insert("content-type", lambda_http::http::HeaderValue::from_static("application/json; charset=utf-8"));
            r
        }
    }
}

fn render<J: Serialize, X: Serialize>(status: u16, format: Format, json: &J, xml_value: &X) -> Response<Body> {
    let body = match format {
        Format::Json => serde_json::to_string(json).map_err(|e| e.to_string()),
        Format::Xml => xml(xml_value).map_err(|e| e.to_string()),
    };
    respond(status, format, body)
}

impl Refusal {
    /// The error list in the given format.
    pub fn into_response(self, format: Format) -> Response<Body> {
        let mut resp = render(self.status, format, &self.errors, &ErrorsXml { error: &self.errors });
        if let Some(secs) = self.retry_after {
            if let Ok(v) = lambda_http::http::HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert("retry-after", v);
            }
        }
        resp
    }
}

/// The answer to a body over 64 KiB, for a host that refuses it before the handler runs.
pub fn payload_too_large(path: &str) -> Response<Body> {
    Refusal::new(413, "Тело запроса больше 64 КиБ.").into_response(Format::of_path(path))
}

// ------------------------------------------------------------------------------------------------
// Parsing
// ------------------------------------------------------------------------------------------------

/// Why a form body does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// A name or value is not UTF-8 after percent-decoding.
    NotUtf8,
    /// A `%` not followed by two hex digits.
    BadEscape,
}

/// Splits an `application/x-www-form-urlencoded` body into decoded name/value pairs, in order.
/// Unlike a lenient decoder, it refuses a `%` without two hex digits and bytes that are not
/// UTF-8 once decoded.
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    let escapes_complete = body
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'%')
        .all(|(i, _)| body.get(i + 1..i + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)));
    if !escapes_complete {
        return Err(FormError::BadEscape);
    }
    // Separators are ASCII, so the whole body decodes to UTF-8 exactly when every name and value does.
    if percent_encoding::percent_decode(body).decode_utf8().is_err() {
        return Err(FormError::NotUtf8);
    }
    Ok(form_urlencoded::parse(body).into_owned().collect())
}

/// A POST body, split: the key, the jurisdiction and the request itself. Personal data fields
/// of the specification (email, device_id, account_id, first_name, last_name, phone) are
/// accepted and dropped here: they are never stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostForm {
    pub api_key: Option<String>,
    pub jurisdiction_id: Option<String>,
    pub submission: Open311Submission,
}

/// Fields a POST may carry that are not kept: the personal data GeoReport v2 allows.
const DROPPED_FIELDS: &[&str] = &["email", "device_id", "account_id", "first_name", "last_name", "phone"];

/// Reads a POST form's fields. Each field at most once; unknown fields are refused by name.
pub fn post_form(pairs: Vec<(String, String)>) -> Result<PostForm, Vec<FieldError>> {
    let mut form = PostForm::default();
    let mut errors = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (name, value) in pairs {
        if let Some(code) = name.strip_prefix("attribute[").and_then(|r| r.strip_suffix(']')) {
            if code.is_empty() || form.submission.attributes.iter().any(|(c, _)| c == code) {
                errors.push(FieldError::new(name.clone(), "атрибут указан дважды или без кода"));
            } else {
                form.submission.attributes.push((code.to_owned(), value));
            }
            continue;
        }
        if seen.contains(&name) {
            errors.push(FieldError::new(name, "параметр указан дважды"));
            continue;
        }
        seen.push(name.clone());
        let coordinate = |v: &str, errors: &mut Vec<FieldError>| match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Some(x),
            _ if v.trim().is_empty() => None,
            _ => {
                errors.push(FieldError::new(name.clone(), "ожидается число в градусах"));
                None
            }
        };
        let text = || Some(value.clone()).filter(|v| !v.trim().is_empty());
        match name.as_str() {
            "api_key" => form.api_key = text(),
            "jurisdiction_id" => form.jurisdiction_id = text(),
            "service_code" => form.submission.service_code = text(),
            "lat" => form.submission.lat = coordinate(&value, &mut errors),
            "long" => form.submission.long = coordinate(&value, &mut errors),
            "address_string" => form.submission.address_string = text(),
            "address_id" => form.submission.address_id = text(),
            "description" => form.submission.description = text(),
            "media_url" => form.submission.media_url = text(),
            n if DROPPED_FIELDS.contains(&n) => {}
            _ => errors.push(FieldError::new(name.clone(), "неизвестный параметр")),
        }
    }
    if errors.is_empty() {
        Ok(form)
    } else {
        Err(errors)
    }
}

/// Parses a time filter: RFC 3339 / ISO 8601 with an offset. A `+` that a query string turned
/// into a space is read back as `+`.
pub fn parse_time(field: &str, raw: &str) -> Result<chrono::DateTime<chrono::Utc>, FieldError> {
    let raw = raw.trim();
    chrono::DateTime::parse_from_rfc3339(raw)
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(&raw.replace(' ', "+")))
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| {
            FieldError::new(field, "ожидается дата и время ISO 8601 со смещением, например 2026-11-27T10:00:00+05:00")
        })
}

fn list(raw: Option<&str>) -> Vec<String> {
    raw.map(|r| r.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()).unwrap_or_default()
}

/// Reads the search parameters of `GET requests`.
pub fn request_query(params: &dyn Fn(&str) -> Option<String>) -> Result<RequestQuery, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut q = RequestQuery::default();
    if let Some(ids) = params("service_request_id") {
        q.ids = Some(list(Some(&ids)));
    }
    q.service_codes = list(params("service_code").as_deref());
    for (field, slot) in [("start_date", &mut q.start), ("end_date", &mut q.end)] {
        if let Some(raw) = params(field).filter(|r| !r.trim().is_empty()) {
            match parse_time(field, &raw) {
                Ok(t) => *slot = Some(t),
                Err(e) => errors.push(e),
            }
        }
    }
    for s in list(params("status").as_deref()) {
        match OpenClosed::parse(&s) {
            Some(st) => q.statuses.push(st),
            None => errors.push(FieldError::new("status", "допустимы значения open и closed")),
        }
    }
    if errors.is_empty() {
        Ok(q)
    } else {
        Err(errors)
    }
}

// ------------------------------------------------------------------------------------------------
// The handler
// ------------------------------------------------------------------------------------------------

/// The function's service over a host's adapters.
pub fn services<S, Q, C>(deps: &Deps<S, Q, C>) -> Open311<S, Q, C>
where
    S: MessageStore + ReferenceStore + IntegrationStore + PublicMessageStore + Clone,
    Q: WorkQueue + Clone,
    C: Clock + Clone,
{
    let d = deps;
    Open311::new(d.store.clone(), d.queue.clone(), d.clock.clone(), d.reference.clone(), Open311Policy::default())
}

/// The handler both hosts call.
pub async fn handle<S, Q, C>(service: &Open311<S, Q, C>, req: Request) -> Result<Response<Body>, Error>
where
    S: MessageStore + ReferenceStore + IntegrationStore + PublicMessageStore,
    Q: WorkQueue,
    C: Clock,
{
    Ok(feedback_lambda::respond(&req, answer(service, &req)).await)
}

/// Matches the path against the Open311 routes (API Gateway delivers them through a proxy) and
/// answers, refusals in the Open311 error format.
async fn answer<S, Q, C>(service: &Open311<S, Q, C>, req: &Request) -> Response<Body>
where
    S: MessageStore + ReferenceStore + IntegrationStore + PublicMessageStore,
    Q: WorkQueue,
    C: Clock,
{
    let path = req.raw_http_path();
    let path = if path.is_empty() { req.uri().path().to_owned() } else { path.to_owned() };
    let fallback = Format::of_path(&path);
    let (route, params) = match routes::find(req.method().as_str(), &path) {
        Ok((route, params)) if route.function == routes::OPEN311 => (route, params),
        Err(NoRoute::MethodNotAllowed) => {
            return Refusal::new(405, "Этот адрес не поддерживает такой метод.").into_response(fallback)
        }
        _ => return Refusal::new(404, "Такого адреса нет.").into_response(fallback),
    };
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let Ok(format) = param("format").parse::<Format>() else {
        return Refusal::new(400, "Формат ответа — json или xml (суффикс .json или .xml).").into_response(fallback);
    };
    let result = match route.op {
        Operation::Open311Services => service_list(service, req, format).await,
        Operation::Open311Service => definition(service, req, &param("service_code"), format).await,
        Operation::Open311Search => search(service, req, format).await,
        Operation::Open311Request => one(service, req, &param("id"), format).await,
        Operation::Open311Submit => create(service, req, format).await,
        _ => Err(Refusal::new(404, "Такого адреса нет.")),
    };
    result.unwrap_or_else(|refusal| refusal.into_response(format))
}

fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref().and_then(|q| q.first(name)).map(str::to_owned)
}

async fn check_jurisdiction<S, Q, C>(service: &Open311<S, Q, C>, given: Option<&str>) -> Result<(), Refusal>
where
    S: MessageStore + ReferenceStore + IntegrationStore + PublicMessageStore,
    Q: WorkQueue,
    C: Clock,
{
    match service.check_jurisdiction(given).await {
        Err(ServiceError::NotFound) => Err(Refusal::new(404, "Неизвестный jurisdiction_id: здесь только код региона.")),
        other => other.map_err(Refusal::from),
    }
}

async fn service_list<S, Q, C>(
    service: &Open311<S, Q, C>,
    req: &Request,
    format: Format,
) -> Result<Response<Body>, Refusal>
where
    S: MessageStore + ReferenceStore + IntegrationStore + PublicMessageStore,
    Q: WorkQueue,
    C: Clock,
{
    check_jurisdiction(service, query_param(req, "jurisdiction_id").as_deref()).await?;
    let list = service.services().await?;
    Ok(render(200, format, &list, &ServicesXml { service: &list }))
}

async fn definition<S, Q, C>(
    service: &Open311<S, Q, C>,
    req: &Request,
    code: &str,
    format: Format,
) -> Result<Response<Body>, Refusal>
where
    S: MessageStore + ReferenceStore + IntegrationStore + PublicMessageStore,
    Q: WorkQueue,
    C: Clock,
{
    check_jurisdiction(service, query_param(req, "jurisdiction_id").as_deref()).await?;
    let def: Open311ServiceDefinition = service.service_definition(code).await.map_err(|e| match e {
        ServiceError::NotFound => Refusal::new(404, format!("Услуга {code} не найдена.")),
        other => Refusal::from(other),
    })?;
    let xml_value = DefinitionXml {
        service_code: &def.service_code,
        attributes: AttributesXml { attribute: def.attributes.iter().map(AttributeXml::from).collect() },
    };
    Ok(render(200, format, &def, &xml_value))
}

async fn search<S, Q, C>(service: &Open311<S, Q, C>, req: &Request, format: Format) -> Result<Response<Body>, Refusal>
where
    S: MessageStore + ReferenceStore + IntegrationStore + PublicMessageStore,
    Q: WorkQueue,
    C: Clock,
{
    check_jurisdiction(service, query_param(req, "jurisdiction_id").as_deref()).await?;
    let query = request_query(&|name| query_param(req, name)).map_err(|e| Refusal::fields(&e))?;
    let list: Vec<Open311Request> = service.requests(&query).await?;
    Ok(render(200, format, &list, &RequestsXml { request: &list }))
}

async fn one<S, Q, C>(
    service: &Open311<S, Q, C>,
    req: &Request,
    id: &str,
    format: Format,
) -> Result<Response<Body>, Refusal>
where
    S: MessageStore + ReferenceStore + IntegrationStore + PublicMessageStore,
    Q: WorkQueue,
    C: Clock,
{
    check_jurisdiction(service, query_param(req, "jurisdiction_id").as_deref()).await?;
    let found = service.request(id).await.map_err(|e| match e {
        ServiceError::NotFound => Refusal::new(404, format!("Заявка {id} не найдена.")),
        other => Refusal::from(other),
    })?;
    let list = [found];
    Ok(render(200, format, &list, &RequestsXml { request: &list }))
}

async fn create<S, Q, C>(service: &Open311<S, Q, C>, req: &Request, format: Format) -> Result<Response<Body>, Refusal>
where
    S: MessageStore + ReferenceStore + IntegrationStore + PublicMessageStore,
    Q: WorkQueue,
    C: Clock,
{
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime != "application/x-www-form-urlencoded" {
        return Err(Refusal::new(400, "Тело запроса — application/x-www-form-urlencoded."));
    }
    let body: &[u8] = match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    if body.len() > MAX_BODY_BYTES {
        return Err(Refusal::new(413, "Тело запроса больше 64 КиБ."));
    }
    let pairs = parse_form(body).map_err(|e| match e {
        FormError::NotUtf8 => Refusal::new(400, "Тело запроса не в кодировке UTF-8."),
        FormError::BadEscape => Refusal::new(400, "Тело запроса: после % должны идти две шестнадцатеричные цифры."),
    })?;
    // Some clients send `api_key` and `jurisdiction_id` in the query string of the POST; the body wins.
    let api_key =
        pairs.iter().find(|(k, _)| k == "api_key").map(|(_, v)| v.clone()).or_else(|| query_param(req, "api_key"));
    let integration = service.authenticate(api_key.as_deref()).await?;
    let form = post_form(pairs).map_err(|e| Refusal::fields(&e))?;
    let jurisdiction = form.jurisdiction_id.clone().or_else(|| query_param(req, "jurisdiction_id"));
    check_jurisdiction(service, jurisdiction.as_deref()).await?;
    let created: Open311Created = service.submit(&integration, form.submission).await?;
    let list = [created];
    Ok(render(CREATED_STATUS, format, &list, &RequestsXml { request: &list }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_percent_and_utf8() {
        let pairs =
            parse_form(b"a=1&description=%D0%AF%D0%BC%D0%B0+%D0%BD%D0%B0&attribute%5Bmunicipality%5D=ishim&e").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "1".into()),
                ("description".into(), "Яма на".into()),
                ("attribute[municipality]".into(), "ishim".into()),
                ("e".into(), String::new())
            ]
        );
        assert_eq!(parse_form(b"a=%zz"), Err(FormError::BadEscape));
        assert_eq!(parse_form(b"a=%4"), Err(FormError::BadEscape));
        assert_eq!(parse_form(b"a=%FF"), Err(FormError::NotUtf8));
    }

    #[test]
    fn a_post_form_keeps_no_personal_data_and_refuses_repeats() {
        let pairs = parse_form(
            b"api_key=k&service_code=s&lat=57.15&long=65.53&email=a%40b.ru&first_name=A&last_name=B&phone=1&device_id=d&account_id=x&attribute[municipality]=tyumen",
        )
        .unwrap();
        let form = post_form(pairs).unwrap();
        assert_eq!(form.api_key.as_deref(), Some("k"));
        assert_eq!((form.submission.lat, form.submission.long), (Some(57.15), Some(65.53)));
        assert_eq!(form.submission.attributes, vec![("municipality".to_string(), "tyumen".to_string())]);
        let debug = format!("{form:?}");
        assert!(!debug.contains("a@b.ru") && !debug.contains("first_name"));
        let errs = post_form(parse_form(b"lat=1&lat=2&long=x&what=1").unwrap()).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["lat", "long", "what"]);
    }

    #[test]
    fn xml_lists_follow_the_specification() {
        let errors = [Open311Error { code: 403, description: "нет".into() }];
        let text = xml(&ErrorsXml { error: &errors }).unwrap();
        assert_eq!(
            text,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<errors><error><code>403</code><description>нет</description></error></errors>"
        );
    }

    #[test]
    fn time_filters_read_a_plus_turned_into_a_space() {
        let t = parse_time("start_date", "2026-11-27T10:00:00 05:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-27T05:00:00+00:00");
        assert!(parse_time("start_date", "27.11.2026").is_err());
    }
}
