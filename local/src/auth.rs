//! Token verification for the local host: dev mode (HS256 tokens the host issues itself) and
//! production mode (the identity provider's RS256/ES256 tokens, checked against its JWKS).
//! Verified claims are flattened the way API Gateway's JWT authorizer passes them.

use anyhow::{bail, Context};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

pub const DEV_ISSUER: &str = "feedback-local-dev";
pub const DEV_AUDIENCE: &str = "feedback";

/// How tokens are checked.
pub enum Verifier {
    Dev { key: Vec<u8> },
    Oidc { issuer: String, audience: String, keys: JwkSet },
}

/// What a dev token carries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevTokenRequest {
    pub sub: String,
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Serialize)]
struct DevClaims<'a> {
    #[serde(flatten)]
    request: &'a DevTokenRequest,
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

/// Loads the dev signing key kept under the data directory, creating it on first use; a file
/// that exists but is unreadable or damaged is an error, never replaced.
pub fn dev_key(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    crate::datadir::key(data_dir, "dev-signing.key", "dev token signing key")
}

/// Issues a dev token valid for 12 hours.
pub fn issue_dev_token(key: &[u8], request: &DevTokenRequest) -> anyhow::Result<String> {
    let now = chrono::Utc::now().timestamp();
    let claims = DevClaims { request, iss: DEV_ISSUER, aud: DEV_AUDIENCE, iat: now, exp: now + 12 * 3600 };
    Ok(encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(key))?)
}

impl Verifier {
    /// Reads a JWKS from a file path or an http(s) URL.
    pub async fn oidc(issuer: String, audience: String, jwks: &str) -> anyhow::Result<Verifier> {
        let text = if jwks.starts_with("http://") || jwks.starts_with("https://") {
            reqwest::get(jwks).await?.error_for_status()?.text().await?
        } else {
            std::fs::read_to_string(jwks).with_context(|| format!("reading JWKS {jwks}"))?
        };
        let keys: JwkSet = serde_json::from_str(&text).context("parsing the JWKS")?;
        Ok(Verifier::Oidc { issuer, audience, keys })
    }

    pub fn is_dev(&self) -> bool {
        matches!(self, Verifier::Dev { .. })
    }

    /// Verifies a bearer token and returns its claims flattened to strings.
    pub fn verify(&self, token: &str) -> anyhow::Result<HashMap<String, String>> {
        let claims: serde_json::Map<String, serde_json::Value> = match self {
            Verifier::Dev { key } => {
                let mut v = Validation::new(Algorithm::HS256);
                v.set_issuer(&[DEV_ISSUER]);
                v.set_audience(&[DEV_AUDIENCE]);
                decode(token, &DecodingKey::from_secret(key), &v)?.claims
            }
            Verifier::Oidc { issuer, audience, keys } => {
                let header = decode_header(token)?;
                if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
                    bail!("algorithm {:?} is not accepted", header.alg);
                }
                let kid = header.kid.context("the token has no kid")?;
                let jwk = keys.find(&kid).context("unknown signing key")?;
                let mut v = Validation::new(header.alg);
                v.set_issuer(&[issuer]);
                v.set_audience(&[audience]);
                decode(token, &DecodingKey::from_jwk(jwk)?, &v)?.claims
            }
        };
        Ok(flatten(claims))
    }
}

/// Flattens claims as API Gateway does: strings as they are, arrays as `[a b]`, others as JSON.
pub fn flatten(claims: serde_json::Map<String, serde_json::Value>) -> HashMap<String, String> {
    claims
        .into_iter()
        .map(|(k, v)| {
            let s = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Array(items) => {
                    let parts: Vec<String> = items
                        .into_iter()
                        .map(|i| match i {
                            serde_json::Value::String(s) => s,
                            other => other.to_string(),
                        })
                        .collect();
                    format!("[{}]", parts.join(" "))
                }
                other => other.to_string(),
            };
            (k, s)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dev_token_round_trips_into_flattened_claims() {
        let key = b"0123456789abcdef0123456789abcdef".to_vec();
        let req = DevTokenRequest {
            sub: "alice".into(),
            roles: vec!["citizen".into(), "moderator".into()],
            municipality: Some("tyumen".into()),
            ..Default::default()
        };
        let token = issue_dev_token(&key, &req).unwrap();
        let claims = Verifier::Dev { key: key.clone() }.verify(&token).unwrap();
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["roles"], "[citizen moderator]");
        assert_eq!(claims["municipality"], "tyumen");
        assert!(Verifier::Dev { key: b"another key".to_vec() }.verify(&token).is_err());
    }
}
