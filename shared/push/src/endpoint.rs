use std::net::{IpAddr, Ipv4Addr};

use url::{Host, Url};

/// Which push endpoints may be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointPolicy {
    /// Public `https` endpoints only: the production policy.
    #[default]
    PublicHttps,
    /// Also `http://127.0.0.1` endpoints: a development host talking to a local receiver.
    AllowLoopbackHttp,
}

/// An endpoint names or resolves to an address the sender must not reach.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("push endpoint address is not allowed")]
pub struct ForbiddenAddress;

impl EndpointPolicy {
    pub(crate) fn scheme_allowed(self, url: &Url) -> bool {
        match url.scheme() {
            "https" => true,
            "http" => self == Self::AllowLoopbackHttp && matches!(url.host(), Some(Host::Ipv4(ip)) if ip.is_loopback()),
            _ => false,
        }
    }

    pub(crate) fn host_allowed(self, url: &Url) -> bool {
        match url.host() {
            None => false,
            Some(Host::Domain(name)) => name_allowed(name),
            Some(Host::Ipv4(ip)) => self.ip_allowed(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.ip_allowed(IpAddr::V6(ip)),
        }
    }

    /// Whether the sender may connect to `ip`.
    pub fn ip_allowed(self, ip: IpAddr) -> bool {
        if self == Self::AllowLoopbackHttp && ip == IpAddr::V4(Ipv4Addr::LOCALHOST) {
            return true;
        }
        address_allowed(ip)
    }
}

fn name_allowed(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let internal = ["localhost", "local", "internal", "localdomain", "home.arpa"];
    !name.is_empty()
        && name.contains('.')
        && !internal.iter().any(|suffix| name == *suffix || name.ends_with(&format!(".{suffix}")))
}

/// Whether `ip` is a public unicast address: not loopback, private, shared (CGNAT), link-local
/// (which holds the cloud metadata service), unique-local, multicast, documentation or reserved.
pub fn address_allowed(ip: IpAddr) -> bool {
    !feedback_core::webhook::forbidden(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_ok(policy: EndpointPolicy, endpoint: &str) -> bool {
        let url = Url::parse(endpoint).unwrap();
        policy.scheme_allowed(&url) && policy.host_allowed(&url)
    }

    #[test]
    fn public_https_endpoints_pass() {
        let strict = EndpointPolicy::PublicHttps;
        assert!(host_ok(strict, "https://fcm.googleapis.com/fcm/send/abc"));
        assert!(host_ok(strict, "https://updates.push.services.mozilla.com/wpush/v2/x"));
        assert!(host_ok(strict, "https://8.8.8.8/x"));
    }

    #[test]
    fn internal_names_and_addresses_are_refused() {
        let strict = EndpointPolicy::PublicHttps;
        for endpoint in [
            "http://push.example.com/x",
            "ftp://push.example.com/x",
            "https://localhost/x",
            "https://a.localhost/x",
            "https://metadata.google.internal/x",
            "https://printer.local/x",
            "https://intranet/x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://172.16.0.1/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://[::1]/x",
            "https://[fd00:ec2::254]/x",
            "https://[fe80::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://[::ffff:169.254.169.254]/x",
        ] {
            assert!(!host_ok(strict, endpoint), "{endpoint}");
        }
    }

    #[test]
    fn loopback_http_only_with_the_development_policy() {
        assert!(!host_ok(EndpointPolicy::PublicHttps, "http://127.0.0.1:8080/push"));
        assert!(host_ok(EndpointPolicy::AllowLoopbackHttp, "http://127.0.0.1:8080/push"));
        assert!(!host_ok(EndpointPolicy::AllowLoopbackHttp, "http://10.0.0.1:8080/push"));
        assert!(!host_ok(EndpointPolicy::AllowLoopbackHttp, "http://localhost:8080/push"));
    }
}
