//! The route table: every HTTP route, the function that serves it and whether it needs a token.
//! The local host routes by it and the SAM template is checked against it.

/// Whether a route needs a verified token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    Jwt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub function: &'static str,
    pub access: Access,
}

impl Route {
    /// The API Gateway route key, e.g. `GET /v1/messages/{id}`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

const fn r(method: &'static str, path: &'static str, function: &'static str, access: Access) -> Route {
    Route { method, path, function, access }
}

pub const SUBMIT_MESSAGE: &str = "submit-message";
pub const REFERENCE_DATA: &str = "reference-data";
pub const HANDLE_MESSAGES: &str = "handle-messages";
pub const POLLS: &str = "polls";
pub const ANALYTICS: &str = "analytics";

/// Every route of the HTTP API.
pub const ROUTES: &[Route] = &[
    r("POST", "/v1/messages", SUBMIT_MESSAGE, Access::Jwt),
    r("GET", "/v1/messages", SUBMIT_MESSAGE, Access::Jwt),
    r("GET", "/v1/messages/{id}", SUBMIT_MESSAGE, Access::Jwt),
    r("POST", "/v1/messages/{id}/rating", SUBMIT_MESSAGE, Access::Jwt),
    r("GET", "/v1/me/notifications", SUBMIT_MESSAGE, Access::Jwt),
    r("POST", "/v1/photos", SUBMIT_MESSAGE, Access::Jwt),
    r("GET", "/v1/messages/{id}/photos/{photo_id}", SUBMIT_MESSAGE, Access::Jwt),
    r("GET", "/v1/authority/messages", HANDLE_MESSAGES, Access::Jwt),
    r("POST", "/v1/messages/{id}/take", HANDLE_MESSAGES, Access::Jwt),
    r("POST", "/v1/messages/{id}/answer", HANDLE_MESSAGES, Access::Jwt),
    r("POST", "/v1/messages/{id}/redirect", HANDLE_MESSAGES, Access::Jwt),
    r("POST", "/v1/messages/{id}/reject", HANDLE_MESSAGES, Access::Jwt),
    r("GET", "/v1/categories", REFERENCE_DATA, Access::Public),
    r("GET", "/v1/municipalities", REFERENCE_DATA, Access::Public),
    r("GET", "/v1/authorities", REFERENCE_DATA, Access::Public),
    r("GET", "/v1/routing-rules", REFERENCE_DATA, Access::Jwt),
    r("PUT", "/v1/routing-rules", REFERENCE_DATA, Access::Jwt),
    r("POST", "/v1/polls", POLLS, Access::Jwt),
    r("GET", "/v1/polls", POLLS, Access::Jwt),
    r("GET", "/v1/polls/{id}", POLLS, Access::Jwt),
    r("POST", "/v1/polls/{id}/cancel", POLLS, Access::Jwt),
    r("POST", "/v1/polls/{id}/ballots", POLLS, Access::Jwt),
    r("GET", "/v1/polls/{id}/results", POLLS, Access::Jwt),
    r("GET", "/v1/ballots/{receipt}", POLLS, Access::Jwt),
    r("POST", "/v1/discussions", POLLS, Access::Jwt),
    r("GET", "/v1/discussions", POLLS, Access::Jwt),
    r("GET", "/v1/discussions/{id}", POLLS, Access::Jwt),
    r("GET", "/v1/discussions/{id}/comments", POLLS, Access::Jwt),
    r("POST", "/v1/discussions/{id}/comments", POLLS, Access::Jwt),
    r("POST", "/v1/comments/{id}/flags", POLLS, Access::Jwt),
    r("POST", "/v1/comments/{id}/hide", POLLS, Access::Jwt),
    r("POST", "/v1/comments/{id}/restore", POLLS, Access::Jwt),
    r("GET", "/v1/moderation/comments", POLLS, Access::Jwt),
    r("GET", "/v1/analytics/messages", ANALYTICS, Access::Jwt),
    r("GET", "/v1/analytics/messages.csv", ANALYTICS, Access::Jwt),
    r("GET", "/v1/analytics/authorities", ANALYTICS, Access::Jwt),
    r("GET", "/v1/analytics/polls/{id}", ANALYTICS, Access::Jwt),
    r("GET", "/v1/openapi.json", REFERENCE_DATA, Access::Public),
    r("GET", "/healthz", REFERENCE_DATA, Access::Public),
];

/// Why a request matched no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRoute {
    NotFound,
    MethodNotAllowed,
}

/// Path parameters of a matched route, in order: `[("id", "01J…")]`.
pub type PathParams = Vec<(String, String)>;

/// Finds the route for a method and path, with its path parameters.
pub fn find(method: &str, path: &str) -> Result<(&'static Route, PathParams), NoRoute> {
    let mut path_matched = false;
    for route in ROUTES {
        if let Some(params) = match_path(route.path, path) {
            if route.method.eq_ignore_ascii_case(method) {
                return Ok((route, params));
            }
            path_matched = true;
        }
    }
    Err(if path_matched { NoRoute::MethodNotAllowed } else { NoRoute::NotFound })
}

fn match_path(pattern: &str, path: &str) -> Option<PathParams> {
    let path = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path);
    let mut pat = pattern.split('/');
    let mut got = path.split('/');
    let mut params = Vec::new();
    loop {
        match (pat.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(p), Some(g)) if p.starts_with('{') && p.ends_with('}') => {
                if g.is_empty() {
                    return None;
                }
                params.push((p[1..p.len() - 1].to_owned(), g.to_owned()));
            }
            (Some(p), Some(g)) if p == g => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_with_parameters() {
        let (route, params) = find("GET", "/v1/messages/01J0000000000000000000000").unwrap();
        assert_eq!(route.path, "/v1/messages/{id}");
        assert_eq!(params, vec![("id".to_string(), "01J0000000000000000000000".to_string())]);
        assert_eq!(find("POST", "/v1/messages").unwrap().0.function, SUBMIT_MESSAGE);
    }

    #[test]
    fn a_known_path_with_another_method_is_not_allowed() {
        assert_eq!(find("DELETE", "/v1/messages").unwrap_err(), NoRoute::MethodNotAllowed);
        assert_eq!(find("GET", "/v1/nothing").unwrap_err(), NoRoute::NotFound);
        assert_eq!(find("GET", "/v1/messages/").unwrap().0.path, "/v1/messages");
    }

    #[test]
    fn every_route_key_is_unique() {
        let mut keys: Vec<String> = ROUTES.iter().map(Route::key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), ROUTES.len());
    }
}
