//! Open311 GeoReport v2 and integrations on every backend, through the `open311` handler with
//! requests shaped as API Gateway delivers them (the greedy `/open311/v2/{proxy+}` route, a
//! base64-encoded form body). The cases follow the specification's examples.

use crate::contract::{Backend, Queue};
use crate::fixtures::{citizen, new_message, reason};
use crate::polls::admin;
use crate::workflow::{moderator, official, stack, Stack};
use crate::Harness;
use base64::Engine;
use chrono::{Duration, Utc};
use feedback_core::integration::{IntegrationStore, Integrations};
use feedback_core::open311::{Open311, Open311Policy, PublicMessageStore};
use feedback_core::ports::NotificationStore;
use feedback_core::service::Reference;
use feedback_core::testing::{sample_region, ManualClock};
use feedback_core::values::{Address, Location, MessageText};
use feedback_core::workflow::RejectReason;
use feedback_core::{Clock, MessageId, Status};
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What Open311 needs of a backend on top of the contract's ports.
pub trait Open311Backend: Backend + NotificationStore + IntegrationStore + PublicMessageStore {}
impl<T: Backend + NotificationStore + IntegrationStore + PublicMessageStore> Open311Backend for T {}

pub struct Open311Stack<S: Open311Backend, Q: Queue> {
    pub base: Stack<S, Q>,
    pub open311: Open311<S, Q, Arc<ManualClock>>,
    pub integrations: Integrations<S, Arc<ManualClock>>,
}

pub async fn open311_stack<S: Open311Backend, Q: Queue>(h: &Harness<S, Q>) -> Open311Stack<S, Q> {
    let base = stack(h).await;
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&sample_region()).await.unwrap();
    Open311Stack {
        open311: Open311::new(
            h.store.clone(),
            h.queue.clone(),
            base.clock.clone(),
            reference.clone(),
            Open311Policy::default(),
        ),
        integrations: Integrations::new(h.store.clone(), base.clock.clone(), reference),
        base,
    }
}

/// A request as API Gateway (HTTP API, payload 2.0) delivers it through the greedy Open311 route.
/// `query` is a raw query string; a body is sent base64-encoded, as API Gateway may send a form.
pub fn gateway_request(method: &str, path: &str, query: &str, body: Option<(&str, &[u8])>) -> lambda_http::Request {
    let mut headers = json!({"host": "api.feedback.example.ru", "user-agent": "open311-client/1.0", "accept": "*/*"});
    let (body, base64) = match body {
        Some((content_type, bytes)) => {
            headers["content-type"] = json!(content_type);
            headers["content-length"] = json!(bytes.len().to_string());
            (json!(base64::engine::general_purpose::STANDARD.encode(bytes)), true)
        }
        None => (Value::Null, false),
    };
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in open311::parse_form(query.as_bytes()).expect("test query") {
        match params.get_mut(&k) {
            Some(e) => {
                e.push(',');
                e.push_str(&v);
            }
            None => {
                params.insert(k, v);
            }
        }
    }
    let route_key = format!("{method} /open311/v2/{{proxy+}}");
    let event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "queryStringParameters": if params.is_empty() { Value::Null } else { json!(params) },
        "pathParameters": {"proxy": path.trim_start_matches("/open311/v2/")},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "api.feedback.example.ru",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7",
                     "userAgent": "open311-client/1.0"},
            "requestId": "CqX0RhQ2liAEJvw=",
            "routeKey": route_key,
            "stage": "$default",
            "time": "28/Nov/2026:10:15:30 +0000",
            "timeEpoch": 1795860930000u64
        },
        "body": body,
        "isBase64Encoded": base64
    });
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway event")
}

pub fn text(resp: &Response<Body>) -> String {
    match resp.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

pub fn content_type(resp: &Response<Body>) -> String {
    resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

impl<S: Open311Backend, Q: Queue> Open311Stack<S, Q> {
    pub async fn call(&self, req: lambda_http::Request) -> Response<Body> {
        open311::handle(&self.open311, req).await.expect("the handler answers")
    }

    pub async fn get(&self, path: &str, query: &str) -> Response<Body> {
        self.call(gateway_request("GET", path, query, None)).await
    }

    pub async fn get_json(&self, path: &str, query: &str) -> Value {
        let resp = self.get(path, query).await;
        assert_eq!(resp.status(), 200, "{path}?{query}: {}", text(&resp));
        assert!(content_type(&resp).starts_with("application/json"));
        serde_json::from_str(&text(&resp)).expect("JSON")
    }

    pub async fn post(&self, format: &str, form: &str) -> Response<Body> {
        let path = format!("/open311/v2/requests.{format}");
        self.call(gateway_request("POST", &path, "", Some(("application/x-www-form-urlencoded", form.as_bytes()))))
            .await
    }

    /// A new integration's key.
    pub async fn key(&self, name: &str) -> (String, String) {
        let made = self.integrations.create(&admin(), name).await.unwrap();
        (made.integration.id.to_string(), made.api_key.as_str().to_owned())
    }

    /// Files a request through Open311 at latitude `lat` (far enough apart, requests of one
    /// service are not duplicates of each other) and returns its id.
    pub async fn file(&self, key: &str, service_code: &str, description: &str, lat: f64) -> MessageId {
        let form = format!(
            "api_key={key}&jurisdiction_id=72&service_code={service_code}&lat={lat}&long=65.5343&address_string={}&description={}",
            enc("Тюмень, ул. Республики, 15"),
            enc(description)
        );
        let resp = self.post("json", &form).await;
        assert_eq!(resp.status(), 201, "{}", text(&resp));
        let body: Value = serde_json::from_str(&text(&resp)).unwrap();
        MessageId::parse(body[0]["service_request_id"].as_str().unwrap()).unwrap()
    }
}

/// Percent-encodes a form value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const HOLE: &str = "Глубокая яма на проезжей части у дома 15, машины объезжают по встречной";
const PERSONAL: [&str; 5] = ["ivanov@example.ru", "Иван", "Иванов", "79991234567", "device-42"];

pub async fn a_post_becomes_a_routed_public_message_of_the_integration<S: Open311Backend, Q: Queue>(h: &Harness<S, Q>) {
    let s = open311_stack(h).await;
    let (integration, key) = s.key("Городское приложение «Мой двор»").await;
    // Given a request as the specification's example sends it, personal data included
    let form = format!(
        "api_key={key}&jurisdiction_id=72&service_code=dorogi-yamy&lat=57.1530&long=65.5343&address_string={}\
         &email={}&device_id={}&account_id=&first_name={}&last_name={}&phone={}&description={}",
        enc("Тюмень, ул. Республики, 15"),
        enc(PERSONAL[0]),
        PERSONAL[4],
        enc(PERSONAL[1]),
        enc(PERSONAL[2]),
        PERSONAL[3],
        enc(HOLE)
    );
    // When it is posted
    let resp = s.post("json", &form).await;
    // Then it is created, with a notice and no account
    assert_eq!(resp.status(), 201, "{}", text(&resp));
    let created: Value = serde_json::from_str(&text(&resp)).unwrap();
    let list = created.as_array().expect("a list, as the specification shows");
    assert_eq!(list.len(), 1);
    assert!(list[0]["service_notice"].as_str().unwrap().contains("раб. дн."));
    assert_eq!(list[0]["account_id"], Value::Null);
    let id = MessageId::parse(list[0]["service_request_id"].as_str().unwrap()).unwrap();

    // and it is an ordinary public message, attributed to the integration, in `submitted`
    let m = h.store.get_message(&id).await.unwrap().unwrap();
    assert_eq!(m.author.as_str(), format!("integration:{integration}"));
    assert!(m.public);
    assert_eq!(m.status, Status::Submitted);
    assert_eq!(m.municipality_id.as_str(), "tyumen");
    let stored =
        serde_json::to_string(&m).unwrap() + &serde_json::to_string(&h.store.get_history(&id).await.unwrap()).unwrap();
    for p in PERSONAL {
        assert!(!stored.contains(p), "personal data {p} was stored");
    }
    assert!(h.store.get_history(&id).await.unwrap()[0].note.contains("Городское приложение «Мой двор»"));
    // until it has passed routing it is not public
    assert_eq!(s.get(&format!("/open311/v2/requests/{id}.json"), "").await.status(), 404);

    // When the routing job is delivered
    assert!(s.base.drain().await >= 1);
    // Then GET by id shows the authority and the deadline, in the region's offset
    let got = s.get_json(&format!("/open311/v2/requests/{id}.json"), "jurisdiction_id=72").await;
    let list = got.as_array().expect("a one-element list");
    assert_eq!(list.len(), 1);
    let r = &list[0];
    let routed = h.store.get_message(&id).await.unwrap().unwrap();
    assert_eq!(routed.status, Status::Routed);
    assert_eq!(r["service_request_id"], id.to_string());
    assert_eq!(r["status"], "open");
    assert_eq!(r["service_code"], "dorogi-yamy");
    assert_eq!(r["service_name"], "Ямы на дорогах");
    assert_eq!(r["agency_responsible"], "Управа по дорожному хозяйству города Тюмени");
    assert_eq!(r["description"], HOLE);
    assert_eq!(r["address"], "Тюмень, ул. Республики, 15");
    assert_eq!((r["lat"].as_f64(), r["long"].as_f64()), (Some(57.153), Some(65.534)));
    let deadline = routed.deadline.unwrap().with_timezone(&chrono_tz::Asia::Yekaterinburg);
    assert_eq!(r["expected_datetime"], deadline.format("%Y-%m-%dT%H:%M:%S+05:00").to_string());
    assert!(r["requested_datetime"].as_str().unwrap().ends_with("+05:00"));
    assert!(r["service_notice"].as_str().unwrap().starts_with("Ответ будет дан до "));
    // and it never shows personal data or who filed it
    let raw = text(&s.get(&format!("/open311/v2/requests/{id}.json"), "").await);
    for p in PERSONAL.iter().chain(&["integration:", "author"]) {
        assert!(!raw.contains(p), "{p} is shown: {raw}");
    }

    // When the authority answers, the request is closed with the answer as its notes
    let answer = MessageText::parse("Яма заделана литым асфальтом 28 ноября").unwrap();
    s.base.workflow.answer(&official("o-1", "tyumen-upravdor"), &id, answer).await.unwrap();
    let got = s.get_json(&format!("/open311/v2/requests/{id}.json"), "").await;
    assert_eq!(got[0]["status"], "closed");
    assert_eq!(got[0]["status_notes"], "Яма заделана литым асфальтом 28 ноября");
}

pub async fn searches_filter_by_id_service_status_and_dates<S: Open311Backend, Q: Queue>(h: &Harness<S, Q>) {
    let s = open311_stack(h).await;
    let (_, key) = s.key("Открытые данные").await;
    let t0 = s.base.clock.now();
    // Given three requests two days apart, newest last
    s.base.clock.set(t0 - Duration::days(4));
    let old = s.file(&key, "zhkh-musor", "Не вывозят мусор со двора третью неделю подряд", 57.10).await;
    s.base.clock.set(t0 - Duration::days(2));
    let mid = s.file(&key, "dorogi-yamy", "Яма на перекрёстке Республики и Мельникайте", 57.12).await;
    s.base.clock.set(t0);
    let new = s.file(&key, "dorogi-yamy", "Провал асфальта у остановки на улице Мельникайте", 57.14).await;
    s.base.drain().await;
    s.base.clock.advance(Duration::seconds(1));
    // and one answered (closed), one rejected (closed), a private message and a public one
    s.base
        .workflow
        .answer(&official("o-1", "tyumen-upravdor"), &mid, MessageText::parse("Яма заделана в срок").unwrap())
        .await
        .unwrap();
    s.base
        .workflow
        .reject(&moderator("m-1"), &old, RejectReason::Spam, Some(reason("Иванов И. И., кв. 5")))
        .await
        .unwrap();
    let private = s.base.submit(&citizen("alice"), "dorogi-yamy", "Яма у моего подъезда на Республики", None).await;
    let mut input = new_message("dorogi-yamy", "Яма у школы номер пять на Республики");
    input.public = true;
    let public = s.base.messages.submit(&citizen("bob"), input, None).await.unwrap().message.id;
    s.base.drain().await;

    let ids = |v: &Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|r| r["service_request_id"].as_str().unwrap().to_owned()).collect()
    };
    let all = s.get_json("/open311/v2/requests.json", "").await;
    // Then the default search is the last 90 days of public requests, newest first; the rejected
    // one is gone from it
    assert_eq!(ids(&all), vec![public.to_string(), new.to_string(), mid.to_string()]);
    let by_code = s.get_json("/open311/v2/requests.json", "service_code=dorogi-yamy&jurisdiction_id=72").await;
    assert_eq!(ids(&by_code), vec![public.to_string(), new.to_string(), mid.to_string()]);
    let closed = s.get_json("/open311/v2/requests.json", "status=closed").await;
    assert_eq!(ids(&closed), vec![mid.to_string()]);
    let open = s.get_json("/open311/v2/requests.json", "status=open&service_code=dorogi-yamy,zhkh-musor").await;
    assert_eq!(ids(&open), vec![public.to_string(), new.to_string()]);
    let start = (t0 - Duration::days(3)).with_timezone(&chrono_tz::Asia::Yekaterinburg).to_rfc3339();
    let end = (t0 - Duration::days(1)).with_timezone(&chrono_tz::Asia::Yekaterinburg).to_rfc3339();
    let ranged =
        s.get_json("/open311/v2/requests.json", &format!("start_date={}&end_date={}", enc(&start), enc(&end))).await;
    assert_eq!(ids(&ranged), vec![mid.to_string()]);
    // A `+` left unencoded in an offset arrives as a space and is still read
    let plus = s.get_json("/open311/v2/requests.json", &format!("start_date={start}")).await;
    assert_eq!(ids(&plus), vec![public.to_string(), new.to_string(), mid.to_string()]);
    // service_request_id overrides the other filters; rejected, non-public and unknown ids are
    // left out
    let listed = s
        .get_json(
            "/open311/v2/requests.json",
            &format!("service_request_id={old},{private},{new},01ARZ3NDEKTSV4RRFFQ69G5FAV&status=open"),
        )
        .await;
    assert_eq!(ids(&listed), vec![new.to_string()]);
    // A window longer than 90 days or a bad status is a 400 error list
    let far = (t0 - Duration::days(120)).to_rfc3339();
    let resp = s
        .get("/open311/v2/requests.json", &format!("start_date={}&end_date={}", enc(&far), enc(&t0.to_rfc3339())))
        .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(serde_json::from_str::<Value>(&text(&resp)).unwrap()[0]["code"], 400);
    assert_eq!(s.get("/open311/v2/requests.json", "status=pending").await.status(), 400);
    assert_eq!(s.get("/open311/v2/requests.json", "start_date=yesterday").await.status(), 400);
}

fn errors_json(resp: &Response<Body>) -> Vec<(u64, String)> {
    let v: Value = serde_json::from_str(&text(resp)).unwrap_or_else(|e| panic!("{e}: {}", text(resp)));
    v.as_array()
        .expect("an error list")
        .iter()
        .map(|e| (e["code"].as_u64().unwrap(), e["description"].as_str().unwrap().to_owned()))
        .collect()
}

#[derive(Debug, Deserialize)]
struct ErrorsXml {
    #[serde(default)]
    error: Vec<ErrorXml>,
}

#[derive(Debug, Deserialize)]
struct ErrorXml {
    code: u64,
    description: String,
}

fn errors_xml(resp: &Response<Body>) -> Vec<(u64, String)> {
    let body = text(resp);
    assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<errors>"), "{body}");
    let parsed: ErrorsXml = quick_xml::de::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    parsed.error.into_iter().map(|e| (e.code, e.description)).collect()
}

pub async fn a_wrong_missing_or_revoked_key_is_refused_with_403<S: Open311Backend, Q: Queue>(h: &Harness<S, Q>) {
    let s = open311_stack(h).await;
    let (id, key) = s.key("Старое приложение").await;
    let form = |k: &str| format!("api_key={k}&service_code=dorogi-yamy&lat=57.15&long=65.53&description={}", enc(HOLE));
    for k in ["fbk_wrong", "", &key[..key.len() - 1]] {
        let resp = s.post("json", &form(k)).await;
        assert_eq!(resp.status(), 403, "{k}");
        let errs = errors_json(&resp);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, 403);
        let resp = s.post("xml", &form(k)).await;
        assert_eq!(resp.status(), 403);
        assert!(content_type(&resp).starts_with("text/xml"));
        assert_eq!(errors_xml(&resp)[0].0, 403);
    }
    // A key that works until its integration is revoked, in the body or, as some clients send
    // it, in the query string
    assert_eq!(s.post("json", &form(&key)).await.status(), 201);
    let body = format!("service_code=dorogi-yamy&lat=57.15&long=65.53&description={}", enc(HOLE));
    let in_query = gateway_request(
        "POST",
        "/open311/v2/requests.json",
        &format!("api_key={key}&jurisdiction_id=72"),
        Some(("application/x-www-form-urlencoded", body.as_bytes())),
    );
    assert_eq!(s.call(in_query).await.status(), 201);
    let revoked = s.integrations.revoke(&admin(), &id).await.unwrap();
    assert!(revoked.revoked());
    let resp = s.post("xml", &form(&key)).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(errors_xml(&resp), vec![(403, "Доступ запрещён: api_key отозван.".to_owned())]);
    assert_eq!(errors_json(&s.post("json", &form(&key)).await)[0].0, 403);
    // Revoking again keeps the first time
    let again = s.integrations.revoke(&admin(), &id).await.unwrap();
    assert_eq!(again.revoked_at, revoked.revoked_at);
}

/// A JSON value with every scalar as the text XML would carry (null as empty).
fn as_text(v: &Value) -> Value {
    match v {
        Value::Null => json!(""),
        Value::Bool(b) => json!(b.to_string()),
        Value::Number(n) => json!(n.to_string()),
        Value::String(s) => json!(s),
        Value::Array(a) => Value::Array(a.iter().map(as_text).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), as_text(v))).collect()),
    }
}

#[derive(Debug, Deserialize)]
struct ServicesXml {
    #[serde(default)]
    service: Vec<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
struct RequestsXml {
    #[serde(default)]
    request: Vec<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
struct DefinitionXml {
    service_code: String,
    attributes: AttributesXml,
}

#[derive(Debug, Deserialize)]
struct AttributesXml {
    #[serde(default)]
    attribute: Vec<AttributeXml>,
}

#[derive(Debug, Deserialize)]
struct AttributeXml {
    variable: String,
    code: String,
    datatype: String,
    required: String,
    datatype_description: String,
    order: String,
    description: String,
    values: ValuesXml,
}

#[derive(Debug, Deserialize)]
struct ValuesXml {
    #[serde(default)]
    value: Vec<BTreeMap<String, String>>,
}

pub async fn xml_and_json_carry_the_same_data<S: Open311Backend, Q: Queue>(h: &Harness<S, Q>) {
    let s = open311_stack(h).await;
    let (_, key) = s.key("Сравнение форматов").await;
    let a = s.file(&key, "dorogi-yamy", "Яма & выбоина <у дома> №15 на Республики", 57.15).await;
    s.file(&key, "zhkh-otoplenie", "Холодные батареи в подъезде дома 7 на Ленина", 57.16).await;
    s.base.drain().await;
    s.base
        .workflow
        .answer(&official("o-1", "tyumen-upravdor"), &a, MessageText::parse("Ремонт выполнен \"в срок\"").unwrap())
        .await
        .unwrap();

    let pair = |path: &str| (format!("/open311/v2/{path}.json"), format!("/open311/v2/{path}.xml"));
    let xml_of = |resp: &Response<Body>| {
        assert_eq!(resp.status(), 200, "{}", text(resp));
        assert!(content_type(resp).starts_with("text/xml"));
        let body = text(resp);
        assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"));
        body
    };

    // Services: `<services><service>…`
    let (j, x) = pair("services");
    let json_services = as_text(&s.get_json(&j, "").await);
    let parsed: ServicesXml = quick_xml::de::from_str(&xml_of(&s.get(&x, "").await)).unwrap();
    assert_eq!(json_services, serde_json::to_value(&parsed.service).unwrap());
    assert_eq!(parsed.service.len(), 5);
    let heating = parsed.service.iter().find(|s| s["service_code"] == "zhkh-otoplenie").unwrap();
    assert_eq!((heating["group"].as_str(), heating["type"].as_str()), ("ЖКХ", "realtime"));

    // A service definition: `<service_definition><attributes><attribute>…<values><value>…`
    let (j, x) = pair("services/dorogi-yamy");
    let json_def = as_text(&s.get_json(&j, "").await);
    let def: DefinitionXml = quick_xml::de::from_str(&xml_of(&s.get(&x, "").await)).unwrap();
    let attrs: Vec<Value> = def
        .attributes
        .attribute
        .iter()
        .map(|a| {
            json!({"variable": a.variable, "code": a.code, "datatype": a.datatype, "required": a.required,
                   "datatype_description": a.datatype_description, "order": a.order, "description": a.description,
                   "values": a.values.value})
        })
        .collect();
    assert_eq!(json_def, json!({"service_code": def.service_code, "attributes": attrs}));
    assert_eq!(json_def["attributes"][0]["values"].as_array().unwrap().len(), 3);

    // Requests and one request: `<service_requests><request>…`
    for path in ["requests".to_owned(), format!("requests/{a}")] {
        let (j, x) = pair(&path);
        let json_list = as_text(&s.get_json(&j, "").await);
        let parsed: RequestsXml = quick_xml::de::from_str(&xml_of(&s.get(&x, "").await)).unwrap();
        assert_eq!(json_list, serde_json::to_value(&parsed.request).unwrap(), "{path}");
        assert!(!parsed.request.is_empty());
    }
    let one: RequestsXml =
        quick_xml::de::from_str(&text(&s.get(&format!("/open311/v2/requests/{a}.xml"), "").await)).unwrap();
    assert_eq!(one.request.len(), 1);
    assert!(one.request[0]["description"].starts_with("Яма & выбоина <у дома>"));
    assert_eq!(one.request[0]["status_notes"], "Ремонт выполнен \"в срок\"");

    // The answer to a POST
    let form = format!(
        "api_key={key}&service_code=zhkh-musor&address_string={}&description={}",
        enc("Ишим, ул. Ленина, 1"),
        enc("Контейнеры переполнены уже неделю, мусор на земле")
    );
    let xml_created = s.post("xml", &format!("{form}&attribute%5Bmunicipality%5D=ishim")).await;
    assert_eq!(xml_created.status(), 201);
    let parsed: RequestsXml = quick_xml::de::from_str(&text(&xml_created)).unwrap();
    assert_eq!(parsed.request.len(), 1);
    assert_eq!(parsed.request[0]["account_id"], "");
    let id = MessageId::parse(&parsed.request[0]["service_request_id"]).unwrap();
    assert_eq!(h.store.get_message(&id).await.unwrap().unwrap().municipality_id.as_str(), "ishim");
    let json_created: Value = serde_json::from_str(&text(&s.post("json", &form).await)).unwrap();
    assert_eq!(
        as_text(&json_created)[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        parsed.request[0].keys().collect::<Vec<_>>()
    );
}

pub async fn a_rejected_or_unrouted_public_message_is_not_public<S: Open311Backend, Q: Queue>(h: &Harness<S, Q>) {
    let s = open311_stack(h).await;
    // Given a public message that names a neighbour, with a phone and a passport number
    let about = "Сосед Петров из кв. 12, тел. +7 912 345-67-89, паспорт 7101 123456, сжигает мусор во дворе";
    let mut input = new_message("zhkh-musor", about);
    input.public = true;
    let id = s.base.messages.submit(&citizen("alice"), input, None).await.unwrap().message.id;
    // Then before routing it is nowhere public
    assert_eq!(s.get(&format!("/open311/v2/requests/{id}.json"), "").await.status(), 404);
    let listed = |v: Value| v.as_array().unwrap().iter().any(|r| r["service_request_id"] == id.to_string());
    assert!(!listed(s.get_json("/open311/v2/requests.json", "").await));
    // after routing it is
    s.base.drain().await;
    assert_eq!(s.get(&format!("/open311/v2/requests/{id}.json"), "").await.status(), 200);
    // When a moderator rejects it for personal data
    s.base
        .workflow
        .reject(&moderator("m-1"), &id, RejectReason::PersonalData, Some(reason("Персональные данные соседа")))
        .await
        .unwrap();
    // Then it vanishes, as if it had never been public: by id, in the search, in either format
    for format in ["json", "xml"] {
        assert_eq!(s.get(&format!("/open311/v2/requests/{id}.{format}"), "").await.status(), 404);
    }
    assert!(!listed(s.get_json("/open311/v2/requests.json", "").await));
    assert!(!listed(s.get_json("/open311/v2/requests.json", &format!("service_request_id={id}")).await));
    let raw = text(&s.get("/open311/v2/requests.json", "status=closed").await);
    assert!(!raw.contains("кв. 12") && !raw.contains("345-67-89") && !raw.contains("персональные"), "{raw}");
}

pub async fn public_text_is_scrubbed_and_the_stored_message_is_not<S: Open311Backend, Q: Queue>(h: &Harness<S, Q>) {
    let s = open311_stack(h).await;
    // Given a public message that names a phone, an e-mail, a passport and a flat, with the flat
    // and the entrance in its address and a precise point
    let about = "Сосед из кв. 12 жжёт мусор во дворе. Мой телефон +7 912 345-67-89, почта petrov@mail.ru, \
                 паспорт 7101 123456";
    let address = "Тюмень, ул. Республики, 15, кв. 12, подъезд 3";
    let mut input = new_message("zhkh-musor", about);
    input.public = true;
    input.address = Some(Address::parse(address).unwrap());
    input.location = Some(Location::new(57.15349, 65.5351).unwrap());
    let id = s.base.messages.submit(&citizen("alice"), input, None).await.unwrap().message.id;
    s.base.drain().await;
    let routed = h.store.get_message(&id).await.unwrap().unwrap();
    s.base
        .workflow
        .answer(
            &official("o-1", routed.authority_id.as_ref().unwrap().as_str()),
            &id,
            MessageText::parse("Мастер приедет завтра, его телефон 8 (3452) 12-34-56").unwrap(),
        )
        .await
        .unwrap();
    let personal =
        ["345-67-89", "912", "petrov", "mail.ru", "7101", "123456", "кв. 12", "подъезд", "12-34-56", "57.15349"];
    // When Open311 shows it, by id and in a search
    let got = s.get_json(&format!("/open311/v2/requests/{id}.json"), "").await;
    let r = &got[0];
    // Then the text, the answer and the address carry none of it, and the point is on the grid
    assert_eq!(
        r["description"],
        "Сосед из [квартира скрыта] жжёт мусор во дворе. Мой телефон [телефон скрыт], почта [e-mail скрыт], \
         паспорт [паспорт скрыт]"
    );
    assert_eq!(r["status_notes"], "Мастер приедет завтра, его телефон [телефон скрыт]");
    assert_eq!(r["address"], "Тюмень, ул. Республики, 15");
    assert_eq!((r["lat"].as_f64(), r["long"].as_f64()), (Some(57.153), Some(65.536)));
    let raw_json = text(&s.get(&format!("/open311/v2/requests/{id}.json"), "").await);
    let raw_xml = text(&s.get(&format!("/open311/v2/requests/{id}.xml"), "").await);
    let listed = text(&s.get("/open311/v2/requests.xml", &format!("service_request_id={id}")).await);
    for raw in [&raw_json, &raw_xml, &listed] {
        for p in personal.iter().chain(&["65.5351"]) {
            assert!(!raw.contains(p), "{p} is shown: {raw}");
        }
        assert!(raw.contains("[телефон скрыт]") && raw.contains("Тюмень, ул. Республики, 15"), "{raw}");
    }
    assert!(raw_xml.contains("<lat>57.153</lat>") && raw_xml.contains("<long>65.536</long>"), "{raw_xml}");
    // and the stored message, which the authority reads, is untouched
    let stored = h.store.get_message(&id).await.unwrap().unwrap();
    assert_eq!(stored.text, about);
    assert_eq!(stored.address.as_deref(), Some(address));
    let point = stored.location.unwrap();
    assert_eq!((point.lat(), point.lon()), (57.15349, 65.5351));
    assert_eq!(stored.answer.unwrap().text, "Мастер приедет завтра, его телефон 8 (3452) 12-34-56");
}

pub async fn only_public_requests_are_shown<S: Open311Backend, Q: Queue>(h: &Harness<S, Q>) {
    let s = open311_stack(h).await;
    // Given a private message and a public one filed by residents
    let private = s.base.submit(&citizen("alice"), "dorogi-yamy", "Яма у моего подъезда на Республики", None).await;
    let mut input = new_message("dorogi-yamy", "Яма у школы номер пять на Республики");
    input.public = true;
    let public = s.base.messages.submit(&citizen("bob"), input, None).await.unwrap().message.id;
    s.base.drain().await;
    // Then the private one does not exist for Open311, in either format
    for format in ["json", "xml"] {
        let resp = s.get(&format!("/open311/v2/requests/{private}.{format}"), "").await;
        assert_eq!(resp.status(), 404);
        let errs = if format == "json" { errors_json(&resp) } else { errors_xml(&resp) };
        assert_eq!(errs[0].0, 404);
    }
    assert_eq!(s.get("/open311/v2/requests/not-an-id.json", "").await.status(), 404);
    // and the public one is shown without its author
    let got = s.get_json(&format!("/open311/v2/requests/{public}.json"), "").await;
    assert_eq!(got[0]["service_request_id"], public.to_string());
    assert!(!text(&s.get(&format!("/open311/v2/requests/{public}.json"), "").await).contains("bob"));
    // Another jurisdiction, an unknown or group service, an unknown format or path are spec errors
    assert_eq!(errors_json(&s.get("/open311/v2/services.json", "jurisdiction_id=66").await)[0].0, 404);
    assert_eq!(errors_xml(&s.get("/open311/v2/requests.xml", "jurisdiction_id=66").await)[0].0, 404);
    assert_eq!(s.get("/open311/v2/services/nothing.json", "").await.status(), 404);
    assert_eq!(errors_xml(&s.get("/open311/v2/services/dorogi.xml", "").await)[0].0, 404);
    let yaml = s.get("/open311/v2/services.yaml", "").await;
    assert_eq!((yaml.status().as_u16(), errors_json(&yaml)[0].0), (400, 400));
    assert_eq!(errors_xml(&s.get("/open311/v2/discovery.xml", "").await)[0].0, 404);
    assert_eq!(s.get("/open311/v2/services.json", "jurisdiction_id=72").await.status(), 200);
}

pub async fn bad_posts_are_spec_errors_and_store_nothing<S: Open311Backend, Q: Queue>(h: &Harness<S, Q>) {
    let s = open311_stack(h).await;
    let (id, key) = s.key("Проверка ввода").await;
    let author = feedback_core::CitizenId::parse(&format!("integration:{id}")).unwrap();
    let ok = format!("api_key={key}&service_code=dorogi-yamy&lat=57.15&long=65.53&description={}", enc(HOLE));
    let cases: Vec<(String, u16)> = vec![
        (format!("api_key={key}&lat=57.15&long=65.53&description={}", enc(HOLE)), 400),
        (format!("api_key={key}&service_code=dorogi&lat=57.15&long=65.53&description={}", enc(HOLE)), 400),
        (format!("api_key={key}&service_code=dorogi-yamy&description={}", enc(HOLE)), 400),
        (format!("api_key={key}&service_code=dorogi-yamy&lat=91&long=65.53&description={}", enc(HOLE)), 400),
        (format!("api_key={key}&service_code=dorogi-yamy&lat=57.15&description={}", enc(HOLE)), 400),
        (format!("api_key={key}&service_code=dorogi-yamy&lat=57.15&long=65.53&description=short"), 400),
        (format!("{ok}&attribute%5Bmunicipality%5D=moskva"), 400),
        (format!("{ok}&attribute%5Bcolour%5D=red"), 400),
        (format!("{ok}&jurisdiction_id=66"), 404),
        (format!("{ok}&service_code=zhkh-musor"), 400),
        (format!("{ok}&media_url=javascript:alert(1)"), 400),
        (format!("{ok}&unknown=1"), 400),
        (format!("{ok}&description=%D0"), 400),
        (format!("{ok}&description=%zz"), 400),
        (
            format!(
                "api_key={key}&service_code=dorogi-yamy&lat=57.15&long=65.53&description={}",
                enc("хуй хуй хуй хуй")
            ),
            400,
        ),
    ];
    for (form, status) in &cases {
        let resp = s.post("json", form).await;
        assert_eq!(resp.status().as_u16(), *status, "{form}: {}", text(&resp));
        assert_eq!(errors_json(&resp)[0].0, u64::from(*status));
    }
    // A JSON body, or a body over 64 KiB, is refused in the spec's format too
    let json_body = s
        .call(gateway_request(
            "POST",
            "/open311/v2/requests.xml",
            "",
            Some(("application/json", b"{\"api_key\":\"x\"}")),
        ))
        .await;
    assert_eq!((json_body.status().as_u16(), errors_xml(&json_body)[0].0), (400, 400));
    let big = format!("{ok}&address_string={}", "a".repeat(70_000));
    let resp = s
        .call(gateway_request(
            "POST",
            "/open311/v2/requests.json",
            "",
            Some(("application/x-www-form-urlencoded", big.as_bytes())),
        ))
        .await;
    assert_eq!((resp.status().as_u16(), errors_json(&resp)[0].0), (413, 413));
    assert!(h.store.author_submissions_since(&author, Utc::now() - Duration::days(400), 10).await.unwrap().is_empty());
    // and a correct one with media_url keeps the link in the text officials read
    let resp = s.post("json", &format!("{ok}&media_url={}", enc("https://photos.example.ru/1.jpg"))).await;
    assert_eq!(resp.status(), 201, "{}", text(&resp));
    let created: Value = serde_json::from_str(&text(&resp)).unwrap();
    let id = MessageId::parse(created[0]["service_request_id"].as_str().unwrap()).unwrap();
    assert!(h.store.get_message(&id).await.unwrap().unwrap().text.ends_with("Фото: https://photos.example.ru/1.jpg"));
}

pub async fn integrations_are_listed_with_a_cursor<S: Open311Backend, Q: Queue>(h: &Harness<S, Q>) {
    let s = open311_stack(h).await;
    let mut made = Vec::new();
    for i in 0..3 {
        s.base.clock.advance(Duration::seconds(1));
        made.push(s.key(&format!("Интеграция {i}")).await.0);
    }
    let limit = feedback_core::page::Limit::parse(Some("2")).unwrap();
    let first = s.integrations.list(&admin(), None, limit).await.unwrap();
    assert_eq!(first.items.iter().map(|i| i.id.to_string()).collect::<Vec<_>>(), made[..2]);
    let cursor = feedback_core::page::Cursor::decode(first.next_cursor.as_deref().unwrap()).unwrap();
    let second = s.integrations.list(&admin(), Some(cursor), limit).await.unwrap();
    assert_eq!(second.items.iter().map(|i| i.id.to_string()).collect::<Vec<_>>(), made[2..]);
    assert_eq!(second.next_cursor, None);
    // The key is found by its hash only, and nothing stores the key itself
    let found = s.integrations.list(&admin(), None, feedback_core::page::Limit::DEFAULT).await.unwrap();
    assert!(found.items.iter().all(|i| i.key_hash.len() == 64 && !i.revoked()));
    let (_, key) = s.key("Ключ").await;
    let by_hash = h.store.integration_by_key_hash(&feedback_core::integration::key_hash(&key)).await.unwrap();
    assert_eq!(by_hash.unwrap().name, "Ключ");
    assert!(h
        .store
        .integration_by_key_hash(&feedback_core::integration::key_hash("fbk_other"))
        .await
        .unwrap()
        .is_none());
    assert!(!serde_json::to_string(&found.items).unwrap().contains("fbk_"));
}

/// The Open311 cases, one test each, for a harness expression `(guard, Harness)`.
#[macro_export]
macro_rules! open311_suite {
    ($harness:expr) => {
        $crate::open311_suite!(@cases $harness;
            a_post_becomes_a_routed_public_message_of_the_integration,
            searches_filter_by_id_service_status_and_dates,
            a_wrong_missing_or_revoked_key_is_refused_with_403,
            xml_and_json_carry_the_same_data,
            only_public_requests_are_shown,
            a_rejected_or_unrouted_public_message_is_not_public,
            public_text_is_scrubbed_and_the_stored_message_is_not,
            bad_posts_are_spec_errors_and_store_nothing,
            integrations_are_listed_with_a_cursor
        );
    };
    (@cases $harness:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (_guard, h) = $harness;
                $crate::open311::$case(&h).await;
                $crate::analytics::assert_reconciled(&h.store).await;
            }
        )*
    };
}
