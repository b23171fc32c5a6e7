use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::StatusCode;
use serde::Serialize;
use url::{Host, Url};

use crate::endpoint::{EndpointPolicy, ForbiddenAddress};
use crate::subscription::Subscription;
use crate::vapid::VapidKey;

const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a push service keeps an undelivered message, and how long the VAPID JWT is valid
/// (RFC 8292 allows at most 24 hours).
const TTL: Duration = Duration::from_secs(12 * 60 * 60);

/// What a resident's browser shows: a small JSON object the portal's service worker reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub title: String,
    pub body: String,
    /// Opened when the notification is clicked: a path or URL of the portal.
    pub url: String,
}

/// RFC 8030 `Urgency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Urgency {
    Low,
    #[default]
    Normal,
    High,
}

impl Urgency {
    fn header(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
        }
    }
}

/// How a push ended, in the terms of the delivery pipeline's transport port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: the push service was busy, failed or did not answer in time.
    #[error("transient push failure: {0}")]
    Transient(String),
    /// Retrying will not help: the request or the endpoint is refused.
    #[error("permanent push failure: {0}")]
    Permanent(String),
    /// The subscription has expired or was withdrawn (404/410): delete it.
    #[error("push subscription is gone")]
    Gone,
}

/// Sends notifications to push services: one client with a connection pool, a 10 s timeout, no
/// redirects, and a resolver that connects only to addresses the policy allows.
#[derive(Clone)]
pub struct PushSender {
    client: reqwest::Client,
    key: Arc<VapidKey>,
    subject: String,
    policy: EndpointPolicy,
}

impl std::fmt::Debug for PushSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSender").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl PushSender {
    /// `subject` is the operator's contact for push services, `mailto:` or `https:` (RFC 8292).
    pub fn new(key: VapidKey, subject: &str, policy: EndpointPolicy) -> Result<Self, BuildError> {
        if !(subject.starts_with("mailto:") || subject.starts_with("https://")) {
            return Err(BuildError::Subject);
        }
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(CheckedResolver { policy }))
            .user_agent("feedback-push")
            .build()
            .map_err(|e| BuildError::Client(e.to_string()))?;
        Ok(Self { client, key: Arc::new(key), subject: subject.to_owned(), policy })
    }

    pub fn public_key(&self) -> String {
        self.key.public_key()
    }

    /// Encrypts `notification` for `subscription` and posts it to the push service.
    pub async fn send(
        &self,
        subscription: &Subscription,
        notification: &Notification,
        urgency: Urgency,
    ) -> Result<(), SendError> {
        let url = subscription.url();
        if !self.policy.scheme_allowed(url) || !self.policy.host_allowed(url) {
            return Err(SendError::Permanent(ForbiddenAddress.to_string()));
        }
        let plaintext = serde_json::to_vec(notification).map_err(|e| SendError::Permanent(format!("payload: {e}")))?;
        let body = web_push_native::encrypt(plaintext, subscription.public_key(), subscription.auth_secret().into())
            .map_err(|e| SendError::Permanent(format!("encryption: {e}")))?;
        let expires = chrono::Utc::now().timestamp() + TTL.as_secs() as i64;
        let authorization = self
            .key
            .authorization(&url.origin().ascii_serialization(), &self.subject, expires)
            .map_err(|e| SendError::Permanent(format!("vapid: {e}")))?;
        let response = self
            .client
            .post(url.clone())
            .header("TTL", TTL.as_secs())
            .header(reqwest::header::CONTENT_ENCODING, "aes128gcm")
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header("Urgency", urgency.header())
            .header(reqwest::header::AUTHORIZATION, authorization)
            .body(body)
            .send()
            .await
            .map_err(request_error)?;
        outcome(response.status())
    }
}

fn outcome(status: StatusCode) -> Result<(), SendError> {
    match status.as_u16() {
        200..=202 => Ok(()),
        404 | 410 => Err(SendError::Gone),
        429 | 500..=599 => Err(SendError::Transient(format!("push service answered {status}"))),
        _ => Err(SendError::Permanent(format!("push service answered {status}"))),
    }
}

fn request_error(error: reqwest::Error) -> SendError {
    // The endpoint is a capability URL: no error text carries it.
    let error = error.without_url();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(cause) = source {
        if cause.downcast_ref::<ForbiddenAddress>().is_some() {
            return SendError::Permanent(ForbiddenAddress.to_string());
        }
        source = cause.source();
    }
    if error.is_builder() || error.is_redirect() {
        SendError::Permanent(format!("push request: {error}"))
    } else {
        SendError::Transient(format!("push request: {error}"))
    }
}

/// The addresses `url`'s host stands for, on its port.
pub(crate) async fn resolve(url: &Url) -> std::io::Result<Vec<SocketAddr>> {
    let port = url.port_or_known_default().unwrap_or(443);
    match url.host() {
        Some(Host::Ipv4(ip)) => Ok(vec![SocketAddr::new(ip.into(), port)]),
        Some(Host::Ipv6(ip)) => Ok(vec![SocketAddr::new(ip.into(), port)]),
        Some(Host::Domain(name)) => Ok(tokio::net::lookup_host((name, port)).await?.collect()),
        None => Ok(Vec::new()),
    }
}

/// Resolves a push service's name and hands the connector only the addresses the policy allows;
/// a name with any forbidden address is refused whole, so a rebinding answer cannot slip one in.
struct CheckedResolver {
    policy: EndpointPolicy,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if addresses.is_empty() || addresses.iter().any(|a| !policy.ip_allowed(a.ip())) {
                return Err(Box::new(ForbiddenAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

/// Why a sender could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the VAPID subject must be a mailto: or https: URL")]
    Subject,
    #[error("HTTP client: {0}")]
    Client(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_onto_the_transport_outcomes() {
        for (status, expected) in
            [(201, Ok(())), (202, Ok(())), (404, Err(SendError::Gone)), (410, Err(SendError::Gone))]
        {
            assert_eq!(outcome(StatusCode::from_u16(status).unwrap()), expected);
        }
        for status in [429, 500, 502, 503] {
            assert!(matches!(outcome(StatusCode::from_u16(status).unwrap()), Err(SendError::Transient(_))));
        }
        for status in [400, 401, 403, 413] {
            assert!(matches!(outcome(StatusCode::from_u16(status).unwrap()), Err(SendError::Permanent(_))));
        }
    }
}
