//! The web portal on the local host: the files of `web/dist` compiled into the binary
//! (`feedback-web-assets`), and `/config.json`, which tells the portal how to sign people in.
//!
//! Every GET or HEAD outside the API (`/v1/`, `/open311/`, `/healthz`, the local photo store)
//! comes here. A client-side route gets the application shell; a missing file gets 404.

use crate::auth::Verifier;
use crate::host::Platform;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use feedback_core::region::Authority;
use feedback_core::RegionData;
use serde_json::{json, Value};

/// Paths that belong to the API or the host, never to the portal.
const NOT_WEB: [&str; 3] = ["/v1/", "/open311/", "/local-blobs/"];

/// Whether the portal answers this request.
pub fn handles(method: &str, path: &str) -> bool {
    matches!(method, "GET" | "HEAD")
        && path != "/healthz"
        && path != "/v1"
        && path != "/open311"
        && !NOT_WEB.iter().any(|prefix| path.starts_with(prefix))
}

/// Answers a portal request: `/config.json`, a file, or the shell for a client-side route.
pub async fn respond(p: &Platform, method: &str, path: &str, headers: &HeaderMap) -> Response {
    let head = method == "HEAD";
    if path == "/config.json" {
        let mut region = p.reference.snapshot().await.ok().map(|v| v.value.clone());
        if let (Some(url), Some(map)) = (&p.config.tiles_url, region.as_mut().and_then(|r| r.map.as_mut())) {
            map.tiles_url.clone_from(url);
        }
        let body = config(&p.verifier, region.as_ref()).to_string();
        let mut resp = response(StatusCode::OK, "application/json", body.into_bytes(), head);
        resp.headers_mut().insert("cache-control", HeaderValue::from_static("no-store"));
        return resp;
    }
    let Some(asset) = feedback_web_assets::resolve(path) else {
        let body = "<!doctype html><html lang=\"ru\"><meta charset=\"utf-8\"><title>Не найдено</title>\
                    <p>Такого файла нет. <a href=\"/\">На главную</a></p></html>";
        return response(StatusCode::NOT_FOUND, "text/html; charset=utf-8", body.as_bytes().to_vec(), head);
    };
    let not_modified = headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag || t.trim() == "*"));
    let mut resp = if not_modified {
        response(StatusCode::NOT_MODIFIED, asset.content_type, Vec::new(), true)
    } else {
        response(StatusCode::OK, asset.content_type, asset.body.to_vec(), head)
    };
    let h = resp.headers_mut();
    h.insert("cache-control", HeaderValue::from_static(asset.cache_control));
    h.insert("etag", HeaderValue::from_static(asset.etag));
    if asset.is_shell() {
        let tiles = match &p.config.tiles_url {
            Some(url) => Some(url.clone()),
            None => p.reference.snapshot().await.ok().and_then(|r| r.value.map.as_ref().map(|m| m.tiles_url.clone())),
        };
        add_shell_headers(resp.headers_mut(), &p.verifier, path, tiles.as_deref());
    }
    resp
}

fn response(status: StatusCode, content_type: &'static str, body: Vec<u8>, head: bool) -> Response {
    let len = body.len();
    let mut resp = Response::new(if head { Body::empty() } else { Body::from(body) });
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static(content_type));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    if head && status == StatusCode::OK {
        h.insert("content-length", HeaderValue::from(len));
    }
    resp
}

/// The shell's security headers. Only the embeddable widget (`/widget`) may be framed by other
/// sites; the portal itself may not. Scripts and styles come only from this origin; requests go
/// to this origin and, in OIDC mode, to the identity provider; images also come from the map's
/// tile server (`tiles`, the template; a `{s}` subdomain becomes `*`).
fn add_shell_headers(h: &mut HeaderMap, verifier: &Verifier, path: &str, tiles: Option<&str>) {
    let widget = path == "/widget" || path.starts_with("/widget/");
    let ancestors = if widget { "*" } else { "'none'" };
    let idp = match verifier {
        Verifier::Oidc { issuer, .. } => origin_of(issuer).map(|o| format!(" {o}")).unwrap_or_default(),
        Verifier::Dev { .. } => String::new(),
    };
    let tiles = tiles.and_then(origin_of).map(|o| format!(" {}", o.replace("{s}", "*"))).unwrap_or_default();
    let csp = format!(
        "default-src 'self'; script-src 'self'; worker-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:{tiles}; \
         connect-src 'self'{idp}; form-action 'self'{idp}; frame-ancestors {ancestors}; base-uri 'self'; \
         object-src 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert("content-security-policy", v);
    }
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    if !widget {
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    }
}

/// `https://idp.example/realms/x` → `https://idp.example`.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}"))
}

/// What the portal needs to know before anyone signs in.
///
/// Dev mode lists demo users drawn from the region's reference data: two residents, an
/// official of the first municipality's administration, a moderator, an admin and an analyst.
/// OIDC mode names the identity provider; the portal uses the audience as its client id, since
/// the tokens it sends must carry that audience.
pub fn config(verifier: &Verifier, region: Option<&RegionData>) -> Value {
    let region_json = region.map(|r| {
        json!({
            "code": r.region.code,
            "name": r.region.name,
            "time_zone": r.region.time_zone,
            "map": r.map,
        })
    });
    match verifier {
        Verifier::Oidc { issuer, audience, .. } => json!({
            "auth": "oidc",
            "issuer": issuer,
            "client_id": audience,
            "scope": "openid profile",
            "region": region_json,
        }),
        Verifier::Dev { .. } => json!({
            "auth": "dev",
            "region": region_json,
            "demo_users": region.map(demo_users).unwrap_or_default(),
        }),
    }
}

fn demo_users(r: &RegionData) -> Vec<Value> {
    let code = &r.region.code;
    let first = r.municipalities.first().map(|m| m.id.to_string());
    let second = r.municipalities.get(1).map(|m| m.id.to_string()).or_else(|| first.clone());
    let name_of = |id: &Option<String>| {
        r.municipalities.iter().find(|m| Some(m.id.to_string()) == *id).map(|m| m.name.clone()).unwrap_or_default()
    };
    let official: Option<&Authority> = r
        .authorities
        .iter()
        .find(|a| a.municipality_id.as_ref().map(|m| m.to_string()) == first)
        .or_else(|| r.authorities.iter().find(|a| a.id != r.region.center_authority_id));
    let mut users = vec![
        json!({"sub": "resident-anna", "name": "Анна Петрова", "title": format!("Жительница: {}", name_of(&first)),
               "roles": ["citizen"], "region": code, "municipality": first, "birthdate": "1988-04-12"}),
        json!({"sub": "resident-ivan", "name": "Иван Смирнов", "title": format!("Житель: {}", name_of(&first)),
               "roles": ["citizen"], "region": code, "municipality": first, "birthdate": "1979-09-30"}),
        json!({"sub": "resident-olga", "name": "Ольга Кузнецова", "title": format!("Жительница: {}", name_of(&second)),
               "roles": ["citizen"], "region": code, "municipality": second, "birthdate": "2001-02-17"}),
    ];
    if let Some(a) = official {
        users.push(
            json!({"sub": "official-sergey", "name": "Сергей Волков", "title": format!("Должностное лицо: {}", a.name),
                          "roles": ["official"], "region": code, "authority": a.id.to_string()}),
        );
    }
    let center = r.authorities.iter().find(|a| a.id == r.region.center_authority_id);
    if let Some(a) = center {
        users.push(
            json!({"sub": "official-tsur", "name": "Мария Орлова", "title": format!("Должностное лицо: {}", a.name),
                          "roles": ["official"], "region": code, "authority": a.id.to_string()}),
        );
    }
    users.extend([
        json!({"sub": "moderator-elena", "name": "Елена Морозова", "title": "Модератор", "roles": ["moderator"], "region": code}),
        json!({"sub": "admin-dmitry", "name": "Дмитрий Соколов", "title": "Администратор региона", "roles": ["admin"], "region": code}),
        json!({"sub": "analyst-irina", "name": "Ирина Лебедева", "title": "Аналитик", "roles": ["analyst"], "region": code}),
    ]);
    users
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> RegionData {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/regions/72-tyumen.toml");
        crate::region_file::load(&path).unwrap()
    }

    #[test]
    fn the_api_and_the_host_paths_never_reach_the_portal() {
        assert!(handles("GET", "/"));
        assert!(handles("HEAD", "/messages/01J"));
        assert!(handles("GET", "/config.json"));
        assert!(!handles("POST", "/"));
        assert!(!handles("GET", "/v1/nothing-here"));
        assert!(!handles("GET", "/v1"));
        assert!(!handles("GET", "/open311/v2/services.json"));
        assert!(!handles("GET", "/healthz"));
        assert!(!handles("GET", "/local-blobs/abc"));
    }

    #[test]
    fn dev_config_lists_demo_users_of_real_reference_data() {
        let r = region();
        let cfg = config(&Verifier::Dev { key: vec![1; 32] }, Some(&r));
        assert_eq!(cfg["auth"], "dev");
        assert_eq!(cfg["region"]["code"], "72");
        let users = cfg["demo_users"].as_array().unwrap();
        let roles: Vec<&str> =
            users.iter().flat_map(|u| u["roles"].as_array().unwrap()).filter_map(|r| r.as_str()).collect();
        for role in ["citizen", "official", "moderator", "admin", "analyst"] {
            assert!(roles.contains(&role), "{role} missing from {roles:?}");
        }
        let official = users.iter().find(|u| u["sub"] == "official-sergey").unwrap();
        let authority = official["authority"].as_str().unwrap();
        assert!(r.authorities.iter().any(|a| a.id.to_string() == authority));
        assert_eq!(authority, "adm-tyumen");
        assert_eq!(users[0]["municipality"], "tyumen");
    }

    #[test]
    fn oidc_config_names_the_provider_and_no_demo_users() {
        let verifier = Verifier::Oidc {
            issuer: "https://id.example.ru/realms/72".into(),
            audience: "feedback-portal".into(),
            keys: serde_json::from_str(r#"{"keys":[]}"#).unwrap(),
        };
        let cfg = config(&verifier, None);
        assert_eq!(cfg["auth"], "oidc");
        assert_eq!(cfg["issuer"], "https://id.example.ru/realms/72");
        assert_eq!(cfg["client_id"], "feedback-portal");
        assert!(cfg.get("demo_users").is_none());
        let mut h = HeaderMap::new();
        add_shell_headers(&mut h, &verifier, "/", Some("https://{s}.tiles.example.ru/{z}/{x}/{y}.png"));
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("img-src 'self' data: blob: https://*.tiles.example.ru;"), "{csp}");
        assert!(csp.contains("connect-src 'self' https://id.example.ru;"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("worker-src 'self';"), "the portal's service worker: {csp}");
        let mut w = HeaderMap::new();
        add_shell_headers(&mut w, &verifier, "/widget", None);
        assert!(w["content-security-policy"].to_str().unwrap().contains("frame-ancestors *"));
        assert!(w.get("x-frame-options").is_none());
    }
}
