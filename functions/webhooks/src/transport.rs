//! The HTTP client of deliveries: resolves the endpoint's host, refuses a name with any forbidden
//! address (`feedback_core::webhook::check_resolved`), pins the connection to the address it
//! checked so that a second resolution cannot swap it (DNS rebinding), follows no redirect and
//! gives up after [`TIMEOUT`].

use async_trait::async_trait;
use feedback_core::webhook::{check_resolved, check_url, AttemptResult, Destinations, Transport, UrlError};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How long one attempt may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Deliveries over HTTPS (and, for a developer's receiver, plain HTTP to the loopback).
#[derive(Debug, Clone, Copy)]
pub struct HttpTransport {
    destinations: Destinations,
}

fn error(class: &str) -> AttemptResult {
    AttemptResult::Error { class: class.to_owned() }
}

impl HttpTransport {
    pub fn new(destinations: Destinations) -> Self {
        HttpTransport { destinations }
    }

    /// The address an attempt at `url` connects to, checked after resolution by the system's
    /// resolver.
    pub async fn pinned_address(&self, url: &str) -> Result<(String, SocketAddr), AttemptResult> {
        self.pinned_address_via(url, |host, port| async move {
            tokio::net::lookup_host((host.as_str(), port)).await.map(|addrs| addrs.map(|a| a.ip()).collect())
        })
        .await
    }

    /// The address an attempt at `url` connects to, checked after resolution by `resolve`.
    pub async fn pinned_address_via<F, Fut>(&self, url: &str, resolve: F) -> Result<(String, SocketAddr), AttemptResult>
    where
        F: FnOnce(String, u16) -> Fut,
        Fut: std::future::Future<Output = std::io::Result<Vec<IpAddr>>>,
    {
        let target = check_url(url, self.destinations).map_err(|_| error("refused_address"))?;
        let resolved: Vec<IpAddr> = match target.literal {
            Some(ip) => vec![ip],
            None => resolve(target.host.clone(), target.port).await.map_err(|_| error("dns"))?,
        };
        match check_resolved(&target, &resolved) {
            Ok(ip) => Ok((target.host, SocketAddr::new(ip, target.port))),
            Err(UrlError::Forbidden) => Err(error("refused_address")),
            Err(_) => Err(error("dns")),
        }
    }
}

#[async_trait]
impl Transport for HttpTransport {
    async fn post(&self, url: &str, headers: &[(&'static str, String)], body: &str) -> AttemptResult {
        let (host, addr) = match self.pinned_address(url).await {
            Ok(pinned) => pinned,
            Err(refused) => return refused,
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .no_proxy()
            .resolve(host.trim_start_matches('[').trim_end_matches(']'), addr)
            .user_agent("feedback-webhooks/1")
            .build();
        let Ok(client) = client else { return error("other") };
        let mut request = client.post(url).header("content-type", "application/json").body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(response) => AttemptResult::Status { status: response.status().as_u16() },
            Err(e) if e.is_timeout() => error("timeout"),
            Err(e) if e.is_connect() => error("connect"),
            Err(_) => error("other"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn resolving_to(addrs: &'static [&'static str]) -> std::io::Result<Vec<IpAddr>> {
        Ok(addrs.iter().map(|a| a.parse().unwrap()).collect())
    }

    #[tokio::test]
    async fn a_name_resolving_to_an_internal_address_is_refused_in_production() {
        let t = HttpTransport::new(Destinations::Public);
        let url = "https://rebinding.example.org/hook";
        for internal in [&["127.0.0.1"][..], &["169.254.169.254"], &["93.184.216.34", "10.1.2.3"], &["::1"]] {
            let got = t.pinned_address_via(url, |_, _| resolving_to(internal)).await;
            assert_eq!(got, Err(error("refused_address")), "{internal:?}");
        }
        let (host, addr) = t.pinned_address_via(url, |_, _| resolving_to(&["93.184.216.34"])).await.unwrap();
        assert_eq!((host.as_str(), addr), ("rebinding.example.org", "93.184.216.34:443".parse().unwrap()));
        let refused = t.post("https://127.0.0.1/hook", &[], "{}").await;
        assert_eq!(refused, error("refused_address"));
    }

    #[tokio::test]
    async fn a_developers_receiver_on_the_loopback_is_allowed_only_in_dev_mode() {
        let dev = HttpTransport::new(Destinations::PublicAndLocal);
        let (_, addr) = dev.pinned_address("http://localhost:9/hook").await.unwrap();
        assert!(addr.ip().is_loopback());
        let got = dev.pinned_address_via("http://localhost:9/", |_, _| resolving_to(&["10.0.0.1"])).await;
        assert_eq!(got, Err(error("refused_address")));
        let prod = HttpTransport::new(Destinations::Public);
        assert_eq!(prod.pinned_address("http://localhost:9/hook").await, Err(error("refused_address")));
    }
}
