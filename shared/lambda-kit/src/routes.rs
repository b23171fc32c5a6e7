//! The route table: every HTTP route as an [`Operation`], the function that serves it and whether
//! it needs a token. The functions dispatch by its operations, the local host routes by it and
//! the SAM template is checked against it.

use crate::functions;

/// Whether a route needs a verified token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    Jwt,
}

/// One route of the table: the operation it serves, where API Gateway finds it, the function
/// that serves it and whether it needs a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub op: Operation,
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

    /// The greedy proxy route API Gateway delivers this route through, if it cannot express the
    /// route itself (see [`PROXIES`]).
    pub fn proxy(&self) -> Option<&'static Proxy> {
        proxy(self.method, self.path)
    }

    /// The key of the API Gateway route that delivers this route: its own, or its proxy's.
    pub fn gateway_key(&self) -> String {
        self.proxy().map_or_else(|| self.key(), Proxy::key)
    }
}

pub const SUBMIT_MESSAGE: &str = functions::SUBMIT_MESSAGE.name;
pub const REFERENCE_DATA: &str = functions::REFERENCE_DATA.name;
pub const HANDLE_MESSAGES: &str = functions::HANDLE_MESSAGES.name;
pub const POLLS: &str = functions::POLLS.name;
pub const ANALYTICS: &str = functions::ANALYTICS.name;
pub const OPEN311: &str = functions::OPEN311.name;
pub const WEBHOOKS: &str = functions::WEBHOOKS.name;

/// Declares [`Operation`], one variant per row, and [`ROUTES`], the rows in order, from one table.
macro_rules! route_table {
    ($($op:ident: $method:ident $path:literal => $function:ident, $access:ident;)*) => {
        /// An operation of the HTTP API: one route of [`ROUTES`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation {
            $($op,)*
        }

        impl Operation {
            /// The route of this operation.
            pub const fn route(self) -> &'static Route {
                match self {
                    $(Self::$op => &Route {
                        op: Self::$op,
                        method: stringify!($method),
                        path: $path,
                        function: $function,
                        access: Access::$access,
                    },)*
                }
            }
        }

        /// Every route of the HTTP API, in the order a request is matched against them.
        pub const ROUTES: &[Route] = &[$(*Operation::$op.route(),)*];
    };
}

route_table! {
    SubmitMessage: POST "/v1/messages" => SUBMIT_MESSAGE, Jwt;
    ListOwnMessages: GET "/v1/messages" => SUBMIT_MESSAGE, Jwt;
    NearbyMessages: GET "/v1/messages/nearby" => SUBMIT_MESSAGE, Jwt;
    MessageByNumber: GET "/v1/messages/by-number/{number}" => SUBMIT_MESSAGE, Jwt;
    GetMessage: GET "/v1/messages/{id}" => SUBMIT_MESSAGE, Jwt;
    RateMessage: POST "/v1/messages/{id}/rating" => SUBMIT_MESSAGE, Jwt;
    ListNotifications: GET "/v1/me/notifications" => SUBMIT_MESSAGE, Jwt;
    MarkNotificationsRead: POST "/v1/me/notifications/read" => SUBMIT_MESSAGE, Jwt;
    UnreadNotifications: GET "/v1/me/notifications/unread" => SUBMIT_MESSAGE, Jwt;
    ExportMyData: GET "/v1/me/data" => SUBMIT_MESSAGE, Jwt;
    EraseMe: DELETE "/v1/me" => SUBMIT_MESSAGE, Jwt;
    GetPreferences: GET "/v1/me/preferences" => SUBMIT_MESSAGE, Jwt;
    ReplacePreferences: PUT "/v1/me/preferences" => SUBMIT_MESSAGE, Jwt;
    ListSubscriptions: GET "/v1/me/subscriptions" => SUBMIT_MESSAGE, Jwt;
    Subscribe: POST "/v1/me/subscriptions" => SUBMIT_MESSAGE, Jwt;
    Unsubscribe: DELETE "/v1/me/subscriptions/{id}" => SUBMIT_MESSAGE, Jwt;
    ListPushSubscriptions: GET "/v1/me/push-subscriptions" => SUBMIT_MESSAGE, Jwt;
    AddPushSubscription: POST "/v1/me/push-subscriptions" => SUBMIT_MESSAGE, Jwt;
    RemovePushSubscription: DELETE "/v1/me/push-subscriptions/{id}" => SUBMIT_MESSAGE, Jwt;
    PushPublicKey: GET "/v1/push/public-key" => SUBMIT_MESSAGE, Public;
    UnsubscribePage: GET "/v1/unsubscribe" => SUBMIT_MESSAGE, Public;
    UnsubscribeByLink: POST "/v1/unsubscribe" => SUBMIT_MESSAGE, Public;
    NotificationDeliveries: GET "/v1/admin/notifications/{id}/deliveries" => SUBMIT_MESSAGE, Jwt;
    SupportMessage: POST "/v1/messages/{id}/supporters" => SUBMIT_MESSAGE, Jwt;
    PublicMessages: GET "/v1/public/messages" => SUBMIT_MESSAGE, Public;
    PublicMessage: GET "/v1/public/messages/{id}" => SUBMIT_MESSAGE, Public;
    PublicClusters: GET "/v1/public/clusters" => SUBMIT_MESSAGE, Public;
    AnnouncePhoto: POST "/v1/photos" => SUBMIT_MESSAGE, Jwt;
    DownloadPhoto: GET "/v1/messages/{id}/photos/{photo_id}" => SUBMIT_MESSAGE, Jwt;
    AuthorityQueue: GET "/v1/authority/messages" => HANDLE_MESSAGES, Jwt;
    AuthorityQueueCounts: GET "/v1/authority/messages/counts" => HANDLE_MESSAGES, Jwt;
    ListTemplates: GET "/v1/authority/templates" => HANDLE_MESSAGES, Jwt;
    CreateTemplate: POST "/v1/authority/templates" => HANDLE_MESSAGES, Jwt;
    ReplaceTemplate: PUT "/v1/authority/templates/{id}" => HANDLE_MESSAGES, Jwt;
    DeleteTemplate: DELETE "/v1/authority/templates/{id}" => HANDLE_MESSAGES, Jwt;
    AwaitingModeration: GET "/v1/moderation/messages" => HANDLE_MESSAGES, Jwt;
    TakeMessage: POST "/v1/messages/{id}/take" => HANDLE_MESSAGES, Jwt;
    AnswerMessage: POST "/v1/messages/{id}/answer" => HANDLE_MESSAGES, Jwt;
    RedirectMessage: POST "/v1/messages/{id}/redirect" => HANDLE_MESSAGES, Jwt;
    RejectMessage: POST "/v1/messages/{id}/reject" => HANDLE_MESSAGES, Jwt;
    ListCategories: GET "/v1/categories" => REFERENCE_DATA, Public;
    SearchCategories: GET "/v1/categories/search" => REFERENCE_DATA, Public;
    ListMunicipalities: GET "/v1/municipalities" => REFERENCE_DATA, Public;
    ListAuthorities: GET "/v1/authorities" => REFERENCE_DATA, Public;
    GetRoutingRules: GET "/v1/routing-rules" => REFERENCE_DATA, Jwt;
    ReplaceRoutingRules: PUT "/v1/routing-rules" => REFERENCE_DATA, Jwt;
    CreatePoll: POST "/v1/polls" => POLLS, Jwt;
    ListPolls: GET "/v1/polls" => POLLS, Jwt;
    GetPoll: GET "/v1/polls/{id}" => POLLS, Jwt;
    CancelPoll: POST "/v1/polls/{id}/cancel" => POLLS, Jwt;
    CastBallot: POST "/v1/polls/{id}/ballots" => POLLS, Jwt;
    PollResults: GET "/v1/polls/{id}/results" => POLLS, Jwt;
    CheckReceipt: GET "/v1/ballots/{receipt}" => POLLS, Jwt;
    CreateDiscussion: POST "/v1/discussions" => POLLS, Jwt;
    ListDiscussions: GET "/v1/discussions" => POLLS, Jwt;
    GetDiscussion: GET "/v1/discussions/{id}" => POLLS, Jwt;
    ListComments: GET "/v1/discussions/{id}/comments" => POLLS, Jwt;
    PostComment: POST "/v1/discussions/{id}/comments" => POLLS, Jwt;
    FlagComment: POST "/v1/comments/{id}/flags" => POLLS, Jwt;
    HideComment: POST "/v1/comments/{id}/hide" => POLLS, Jwt;
    RestoreComment: POST "/v1/comments/{id}/restore" => POLLS, Jwt;
    ModerationQueue: GET "/v1/moderation/comments" => POLLS, Jwt;
    MessagesReport: GET "/v1/analytics/messages" => ANALYTICS, Jwt;
    MessagesReportCsv: GET "/v1/analytics/messages.csv" => ANALYTICS, Jwt;
    MessagesReportXlsx: GET "/v1/analytics/messages.xlsx" => ANALYTICS, Jwt;
    AuthorityRanking: GET "/v1/analytics/authorities" => ANALYTICS, Jwt;
    PollReport: GET "/v1/analytics/polls/{id}" => ANALYTICS, Jwt;
    StaffHeatmap: GET "/v1/analytics/heatmap" => ANALYTICS, Jwt;
    PublicAuthorities: GET "/v1/public/authorities" => ANALYTICS, Public;
    PublicScorecard: GET "/v1/public/authorities/{authority_id}/scorecard" => ANALYTICS, Public;
    OpenDataCsv: GET "/v1/open-data/messages.csv" => ANALYTICS, Public;
    OpenDataGeoJson: GET "/v1/open-data/messages.geojson" => ANALYTICS, Public;
    OpenDataPackage: GET "/v1/open-data/datapackage.json" => ANALYTICS, Public;
    OpenApiDocument: GET "/v1/openapi.json" => REFERENCE_DATA, Public;
    CreateIntegration: POST "/v1/integrations" => REFERENCE_DATA, Jwt;
    ListIntegrations: GET "/v1/integrations" => REFERENCE_DATA, Jwt;
    RevokeIntegration: POST "/v1/integrations/{id}/revoke" => REFERENCE_DATA, Jwt;
    CreateWebhook: POST "/v1/webhooks" => WEBHOOKS, Jwt;
    ListWebhooks: GET "/v1/webhooks" => WEBHOOKS, Jwt;
    GetWebhook: GET "/v1/webhooks/{id}" => WEBHOOKS, Jwt;
    DisableWebhook: POST "/v1/webhooks/{id}/disable" => WEBHOOKS, Jwt;
    ListWebhookDeliveries: GET "/v1/webhooks/{id}/deliveries" => WEBHOOKS, Jwt;
    RedeliverWebhook: POST "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver" => WEBHOOKS, Jwt;
    Open311Services: GET "/open311/v2/services.{format}" => OPEN311, Public;
    Open311Service: GET "/open311/v2/services/{service_code}.{format}" => OPEN311, Public;
    Open311Search: GET "/open311/v2/requests.{format}" => OPEN311, Public;
    Open311Submit: POST "/open311/v2/requests.{format}" => OPEN311, Public;
    Open311Request: GET "/open311/v2/requests/{id}.{format}" => OPEN311, Public;
    Health: GET "/healthz" => REFERENCE_DATA, Public;
}

impl Operation {
    /// The operation of an API Gateway route key (`POST /v1/messages/{id}/take`), as the Lambda
    /// event's `routeKey` carries it; `None` for a key of no table route.
    pub fn from_route_key(key: &str) -> Option<Operation> {
        let (method, path) = key.split_once(' ')?;
        ROUTES.iter().find(|r| r.method == method && r.path == path).map(|r| r.op)
    }
}

/// A greedy API Gateway route that delivers the table routes under its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proxy {
    pub method: &'static str,
    pub path: &'static str,
    pub function: &'static str,
    pub access: Access,
}

impl Proxy {
    /// The API Gateway route key, e.g. `GET /open311/v2/{proxy+}`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// Routes API Gateway delivers through one greedy path variable. An HTTP API path variable must
/// be a whole segment, so `/open311/v2/services.{format}` cannot be a route there: every GET and
/// POST under `/open311/v2/` goes to the function, which dispatches by [`ROUTES`] itself and
/// answers unknown paths in the Open311 error format.
pub const PROXIES: &[Proxy] = &[
    Proxy { method: "GET", path: "/open311/v2/{proxy+}", function: OPEN311, access: Access::Public },
    Proxy { method: "POST", path: "/open311/v2/{proxy+}", function: OPEN311, access: Access::Public },
];

/// The proxy route that covers a method and path, if any.
pub fn proxy(method: &str, path: &str) -> Option<&'static Proxy> {
    PROXIES.iter().find(|p| {
        p.method.eq_ignore_ascii_case(method)
            && p.path
                .strip_suffix("{proxy+}")
                .is_some_and(|prefix| path.starts_with(prefix) && path.len() > prefix.len())
    })
}

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
            (Some(p), Some(g)) if match_segment(p, g, &mut params) => {}
            _ => return None,
        }
    }
}

/// Matches one segment: a literal, a whole `{param}`, or a literal or `{param}` before a
/// `.` and a literal or `{param}` after it (`services.{format}`, `{id}.{format}`), split at
/// the segment's last `.`.
fn match_segment(pattern: &str, got: &str, params: &mut PathParams) -> bool {
    fn param(p: &str) -> Option<&str> {
        p.strip_prefix('{').and_then(|p| p.strip_suffix('}')).filter(|name| !name.contains(['{', '}', '.']))
    }
    if let Some(name) = param(pattern) {
        if got.is_empty() {
            return false;
        }
        params.push((name.to_owned(), got.to_owned()));
        return true;
    }
    if !pattern.contains('{') {
        return pattern == got;
    }
    let (Some((p_stem, p_ext)), Some((g_stem, g_ext))) = (pattern.rsplit_once('.'), got.rsplit_once('.')) else {
        return false;
    };
    let mut local = Vec::new();
    for (p, g) in [(p_stem, g_stem), (p_ext, g_ext)] {
        match param(p) {
            Some(name) if !g.is_empty() => local.push((name.to_owned(), g.to_owned())),
            Some(_) => return false,
            None if p == g => {}
            None => return false,
        }
    }
    params.extend(local);
    true
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
    fn a_segment_may_hold_a_parameter_before_a_format_suffix() {
        let (route, params) = find("GET", "/open311/v2/requests/01J0000000000000000000000.xml").unwrap();
        assert_eq!(route.path, "/open311/v2/requests/{id}.{format}");
        assert_eq!(
            params,
            vec![
                ("id".to_string(), "01J0000000000000000000000".to_string()),
                ("format".to_string(), "xml".to_string())
            ]
        );
        let (route, params) = find("GET", "/open311/v2/services.json").unwrap();
        assert_eq!(route.path, "/open311/v2/services.{format}");
        assert_eq!(params, vec![("format".to_string(), "json".to_string())]);
        let (route, params) = find("GET", "/open311/v2/services/zhkh-musor.json").unwrap();
        assert_eq!(route.path, "/open311/v2/services/{service_code}.{format}");
        assert_eq!(params[0], ("service_code".to_string(), "zhkh-musor".to_string()));
        assert_eq!(find("POST", "/open311/v2/requests.xml").unwrap().0.function, OPEN311);
        assert_eq!(find("GET", "/open311/v2/services").unwrap_err(), NoRoute::NotFound);
        assert_eq!(find("GET", "/open311/v2/services.").unwrap_err(), NoRoute::NotFound);
        assert_eq!(find("GET", "/open311/v2/.json").unwrap_err(), NoRoute::NotFound);
        assert_eq!(find("GET", "/open311/v2/requests/.json").unwrap_err(), NoRoute::NotFound);
        assert_eq!(find("GET", "/v1/messages/a.b").unwrap().1, vec![("id".to_string(), "a.b".to_string())]);
    }

    #[test]
    fn open311_routes_reach_api_gateway_through_the_proxy() {
        for route in ROUTES {
            if route.path.starts_with("/open311/") {
                let proxy = route.proxy().unwrap_or_else(|| panic!("{} has no proxy", route.key()));
                assert_eq!(proxy.path, "/open311/v2/{proxy+}", "{}", route.key());
                assert_eq!((proxy.method, proxy.function, proxy.access), (route.method, OPEN311, Access::Public));
                assert_eq!(route.gateway_key(), proxy.key());
            } else {
                assert_eq!(route.proxy(), None, "{}", route.key());
                assert_eq!(route.gateway_key(), route.key());
                assert!(route
                    .path
                    .split('/')
                    .all(|seg| !seg.contains('{') || (seg.starts_with('{') && seg.ends_with('}'))));
            }
        }
        assert!(proxy("GET", "/open311/v2/anything.yaml").is_some());
        assert!(proxy("DELETE", "/open311/v2/services.json").is_none());
        assert!(proxy("GET", "/open311/v2/").is_none());
    }

    #[test]
    fn every_route_key_is_unique() {
        let mut keys: Vec<String> = ROUTES.iter().map(Route::key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), ROUTES.len());
    }

    #[test]
    fn every_operation_round_trips_through_its_route_key() {
        for route in ROUTES {
            assert_eq!(route.op.route(), route, "{}", route.key());
            assert_eq!(Operation::from_route_key(&route.key()), Some(route.op), "{}", route.key());
        }
        assert_eq!(Operation::from_route_key("POST /v1/messages/{id}/take"), Some(Operation::TakeMessage));
        assert_eq!(Operation::from_route_key("GET /open311/v2/requests.{format}"), Some(Operation::Open311Search));
        for unknown in ["", "POST", "post /v1/messages", "GET /v1/messages/", "GET /open311/v2/{proxy+}"] {
            assert_eq!(Operation::from_route_key(unknown), None, "{unknown}");
        }
    }
}
