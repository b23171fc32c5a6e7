use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use url::Url;

use crate::endpoint::EndpointPolicy;

/// Browsers send the keys unpadded; padded input is accepted as well.
pub(crate) const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_encode_padding(false).with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

const MAX_ENDPOINT_LEN: usize = 2048;

/// A browser's push subscription (`PushSubscription.toJSON()`), checked: the endpoint is allowed
/// by the policy, `p256dh` is an uncompressed P-256 point, `auth` is 16 bytes.
#[derive(Clone)]
pub struct Subscription {
    endpoint: Url,
    p256dh: p256::PublicKey,
    auth: [u8; 16],
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("endpoint_origin", &self.endpoint_origin()).finish_non_exhaustive()
    }
}

/// Why a subscription was refused; [`InvalidSubscription::detail`] is the resident-facing text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSubscription {
    #[error("push endpoint is not a valid URL")]
    Endpoint,
    #[error("push endpoint is not https")]
    Scheme,
    #[error("push endpoint names or resolves to a non-public address")]
    Address,
    #[error("p256dh is not an uncompressed P-256 point")]
    P256dh,
    #[error("auth is not 16 bytes of base64url")]
    Auth,
}

impl InvalidSubscription {
    /// The field the problem is about, as the browser names it.
    pub fn field(self) -> &'static str {
        match self {
            Self::Endpoint | Self::Scheme | Self::Address => "endpoint",
            Self::P256dh => "keys.p256dh",
            Self::Auth => "keys.auth",
        }
    }

    /// The resident-facing explanation (Russian).
    pub fn detail(self) -> &'static str {
        match self {
            Self::Endpoint => "Адрес подписки (endpoint) не является корректным URL.",
            Self::Scheme => "Адрес подписки (endpoint) должен начинаться с https://.",
            Self::Address => "Адрес подписки (endpoint) указывает на внутренний или недоступный адрес.",
            Self::P256dh => "Ключ p256dh должен быть несжатой точкой P-256 (65 байт) в кодировке base64url.",
            Self::Auth => "Секрет auth должен занимать 16 байт в кодировке base64url.",
        }
    }
}

impl Subscription {
    /// Checks a subscription as the browser sends it. The endpoint's name is checked here; the
    /// addresses it resolves to are checked by [`Subscription::check_resolves`] and again by the
    /// sender before it connects.
    pub fn parse(
        endpoint: &str,
        p256dh: &str,
        auth: &str,
        policy: EndpointPolicy,
    ) -> Result<Self, InvalidSubscription> {
        if endpoint.len() > MAX_ENDPOINT_LEN {
            return Err(InvalidSubscription::Endpoint);
        }
        let endpoint = Url::parse(endpoint).map_err(|_| InvalidSubscription::Endpoint)?;
        if !endpoint.username().is_empty() || endpoint.password().is_some() {
            return Err(InvalidSubscription::Endpoint);
        }
        if !policy.scheme_allowed(&endpoint) {
            return Err(InvalidSubscription::Scheme);
        }
        if !policy.host_allowed(&endpoint) {
            return Err(InvalidSubscription::Address);
        }
        let point = BASE64URL.decode(p256dh).map_err(|_| InvalidSubscription::P256dh)?;
        if point.len() != 65 || point.first() != Some(&0x04) {
            return Err(InvalidSubscription::P256dh);
        }
        let p256dh = p256::PublicKey::from_sec1_bytes(&point).map_err(|_| InvalidSubscription::P256dh)?;
        let auth: [u8; 16] =
            BASE64URL.decode(auth).ok().and_then(|bytes| bytes.try_into().ok()).ok_or(InvalidSubscription::Auth)?;
        Ok(Self { endpoint, p256dh, auth })
    }

    /// Resolves the endpoint's host and refuses it when any address it resolves to is not
    /// allowed (a name that resolves to nothing is refused too).
    pub async fn check_resolves(&self, policy: EndpointPolicy) -> Result<(), InvalidSubscription> {
        let addresses = crate::sender::resolve(&self.endpoint).await.map_err(|_| InvalidSubscription::Address)?;
        if addresses.is_empty() || addresses.iter().any(|a| !policy.ip_allowed(a.ip())) {
            return Err(InvalidSubscription::Address);
        }
        Ok(())
    }

    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str()
    }

    pub(crate) fn url(&self) -> &Url {
        &self.endpoint
    }

    /// `scheme://host[:port]`: what may be shown or exported instead of the whole endpoint,
    /// whose path is a capability.
    pub fn endpoint_origin(&self) -> String {
        self.endpoint.origin().ascii_serialization()
    }

    /// `p256dh`, base64url of the uncompressed point, as stored.
    pub fn p256dh(&self) -> String {
        BASE64URL.encode(self.p256dh.to_sec1_bytes())
    }

    /// `auth`, base64url, as stored.
    pub fn auth(&self) -> String {
        BASE64URL.encode(self.auth)
    }

    pub(crate) fn public_key(&self) -> &p256::PublicKey {
        &self.p256dh
    }

    pub(crate) fn auth_secret(&self) -> &[u8; 16] {
        &self.auth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point() -> String {
        let secret = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        BASE64URL.encode(secret.public_key().to_sec1_bytes())
    }

    const AUTH: &str = "AAECAwQFBgcICQoLDA0ODw";

    #[test]
    fn a_browser_subscription_parses_and_round_trips() {
        let p256dh = point();
        let sub = Subscription::parse(
            "https://fcm.googleapis.com/fcm/send/abc:def",
            &p256dh,
            AUTH,
            EndpointPolicy::PublicHttps,
        )
        .unwrap();
        assert_eq!(sub.endpoint_origin(), "https://fcm.googleapis.com");
        assert_eq!(sub.p256dh(), p256dh);
        assert_eq!(sub.auth(), AUTH);
        assert!(!format!("{sub:?}").contains("abc:def"));
    }

    #[test]
    fn bad_keys_and_endpoints_are_refused() {
        let p256dh = point();
        let strict = EndpointPolicy::PublicHttps;
        let parse = |e: &str, p: &str, a: &str| Subscription::parse(e, p, a, strict).unwrap_err();
        let ok = "https://push.example.com/x";
        assert_eq!(parse("not a url", &p256dh, AUTH), InvalidSubscription::Endpoint);
        assert_eq!(parse("http://push.example.com/x", &p256dh, AUTH), InvalidSubscription::Scheme);
        assert_eq!(parse("https://169.254.169.254/x", &p256dh, AUTH), InvalidSubscription::Address);
        assert_eq!(parse("https://u:p@push.example.com/x", &p256dh, AUTH), InvalidSubscription::Endpoint);
        assert_eq!(parse(ok, "AAAA", AUTH), InvalidSubscription::P256dh);
        let compressed = BASE64URL.encode(
            p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng)
                .public_key()
                .to_sec1_bytes()
                .get(..33)
                .unwrap(),
        );
        assert_eq!(parse(ok, &compressed, AUTH), InvalidSubscription::P256dh);
        let off_curve = BASE64URL.encode([4u8; 65]);
        assert_eq!(parse(ok, &off_curve, AUTH), InvalidSubscription::P256dh);
        assert_eq!(parse(ok, &p256dh, "AAEC"), InvalidSubscription::Auth);
        assert_eq!(parse(ok, &p256dh, "!!!"), InvalidSubscription::Auth);
    }

    #[tokio::test]
    async fn resolution_checks_the_address() {
        let ip_literal =
            Subscription::parse("http://127.0.0.1:9/x", &point(), AUTH, EndpointPolicy::AllowLoopbackHttp).unwrap();
        assert_eq!(ip_literal.check_resolves(EndpointPolicy::PublicHttps).await, Err(InvalidSubscription::Address));
        assert!(ip_literal.check_resolves(EndpointPolicy::AllowLoopbackHttp).await.is_ok());
    }
}
