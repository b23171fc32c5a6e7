//! Integrations: outside systems (city apps, Open311 clients) that submit and read through their
//! own API key. The key is shown once at creation; only its SHA-256 hash is stored, and a look-up
//! by key is a look-up by that hash.

use crate::actor::Actor;
use crate::error::{FieldError, ServiceError};
use crate::ids::CitizenId;
use crate::page::{Cursor, Limit, Page};
use crate::ports::{Clock, ReferenceStore, StoreError};
use crate::reference::Reference;
use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use ulid::Ulid;

/// An integration's id: a ULID, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IntegrationId(Ulid);

impl IntegrationId {
    pub fn new_at(at: DateTime<Utc>) -> Self {
        let ms = u64::try_from(at.timestamp_millis()).unwrap_or_default();
        Self(Ulid::from_parts(ms, Ulid::new().random()))
    }
    pub fn parse(raw: &str) -> Result<Self, ServiceError> {
        Ulid::from_str(raw).map(Self).map_err(|_| ServiceError::NotFound)
    }
}

impl fmt::Display for IntegrationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The prefix of every API key, so that a leaked key is recognisable (secret scanners, logs).
pub const API_KEY_PREFIX: &str = "fbk_";

/// A freshly made API key: `fbk_` and 32 random bytes in unpadded base64url (43 characters).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn generate() -> ApiKey {
        let bytes: [u8; 32] = rand::random();
        ApiKey(format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// The stored form of a key: lowercase hex SHA-256 of its text. A 256-bit random key needs no
/// salt or slow hash: guessing it is as hard as guessing the key.
pub fn key_hash(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

/// An integration's name: 1..200 characters after trimming, no control characters.
pub fn parse_name(raw: &str) -> Result<String, ServiceError> {
    let name = raw.trim();
    let n = name.chars().count();
    if n == 0 || n > 200 {
        return Err(ServiceError::field("name", "от 1 до 200 символов"));
    }
    if name.chars().any(char::is_control) {
        return Err(ServiceError::field("name", "содержит недопустимые управляющие символы"));
    }
    Ok(name.to_owned())
}

/// A registered integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    pub id: IntegrationId,
    pub name: String,
    /// SHA-256 of the API key (`key_hash`); the key itself is never stored.
    pub key_hash: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Integration {
    pub fn revoked(&self) -> bool {
        self.revoked_at.is_some()
    }

    /// The author id of the messages it submits: `integration:<id>`. It names no person, and no
    /// resident's token can carry it (the identity provider's subjects are never of this form).
    pub fn author_id(&self) -> CitizenId {
        CitizenId::integration(&self.id)
    }
}

/// Integrations and their key index.
#[async_trait]
pub trait IntegrationStore: Send + Sync + 'static {
    /// Atomically stores a new integration and its key-hash index entry. An existing id or key
    /// hash is a `Conflict` and nothing is written.
    async fn create_integration(&self, integration: &Integration) -> Result<(), StoreError>;

    /// One integration, read consistently.
    async fn get_integration(&self, id: &IntegrationId) -> Result<Option<Integration>, StoreError>;

    /// The integration whose key hashes to `hash`: a key look-up (never a scan), read consistently.
    async fn integration_by_key_hash(&self, hash: &str) -> Result<Option<Integration>, StoreError>;

    /// Integrations in id order (oldest first), only ids after `after` when given.
    async fn list_integrations(
        &self,
        after: Option<&IntegrationId>,
        limit: usize,
    ) -> Result<Vec<Integration>, StoreError>;

    /// Replaces a stored integration (its key hash unchanged). A missing one is a `Conflict`.
    async fn save_integration(&self, integration: &Integration) -> Result<(), StoreError>;
}

/// A created integration with its key, which the caller sees this once.
#[derive(Debug, Clone)]
pub struct CreatedIntegration {
    pub integration: Integration,
    pub api_key: ApiKey,
}

/// Why an API key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRefusal {
    Missing,
    Unknown,
    Revoked,
}

/// Checks an API key: the active integration it belongs to, or why it is refused.
pub async fn authenticate<S: IntegrationStore>(
    store: &S,
    raw: Option<&str>,
) -> Result<Result<Integration, KeyRefusal>, StoreError> {
    let Some(raw) = raw.map(str::trim).filter(|k| !k.is_empty()) else {
        return Ok(Err(KeyRefusal::Missing));
    };
    if raw.len() > 256 {
        return Ok(Err(KeyRefusal::Unknown));
    }
    Ok(match store.integration_by_key_hash(&key_hash(raw)).await? {
        None => Err(KeyRefusal::Unknown),
        Some(i) if i.revoked() => Err(KeyRefusal::Revoked),
        Some(i) => Ok(i),
    })
}

/// Management of integrations by the region's admins.
pub struct Integrations<S, C> {
    store: S,
    clock: C,
    reference: Arc<Reference<S>>,
}

impl<S: IntegrationStore + ReferenceStore, C: Clock> Integrations<S, C> {
    pub fn new(store: S, clock: C, reference: Arc<Reference<S>>) -> Self {
        Self { store, clock, reference }
    }

    /// The region's time zone, for showing times.
    pub async fn time_zone(&self) -> Result<chrono_tz::Tz, ServiceError> {
        Ok(self.reference.snapshot().await?.value.time_zone())
    }

    async fn require_admin(&self, actor: &Actor) -> Result<(), ServiceError> {
        let region = self.reference.snapshot().await?;
        crate::policy::require_region_admin(actor, &region.value)
    }

    /// Registers an integration and makes its key (admins of the region).
    pub async fn create(&self, actor: &Actor, name: &str) -> Result<CreatedIntegration, ServiceError> {
        self.require_admin(actor).await?;
        let name = parse_name(name)?;
        let api_key = ApiKey::generate();
        let now = self.clock.now();
        let integration = Integration {
            id: IntegrationId::new_at(now),
            name,
            key_hash: key_hash(api_key.as_str()),
            created_at: now,
            revoked_at: None,
        };
        self.store.create_integration(&integration).await?;
        tracing::info!(integration = %integration.id, by = %actor.id, "integration created");
        Ok(CreatedIntegration { integration, api_key })
    }

    /// The integrations, oldest first (admins of the region).
    pub async fn list(
        &self,
        actor: &Actor,
        cursor: Option<Cursor>,
        limit: Limit,
    ) -> Result<Page<Integration>, ServiceError> {
        self.require_admin(actor).await?;
        let after = cursor
            .map(|c| {
                Ulid::from_str(c.position())
                    .map(IntegrationId)
                    .map_err(|_| ServiceError::Validation(vec![FieldError::new("cursor", "недействительный cursor")]))
            })
            .transpose()?;
        let mut items = self.store.list_integrations(after.as_ref(), limit.get() + 1).await?;
        let next_cursor = if items.len() > limit.get() {
            items.truncate(limit.get());
            items.last().map(|i| Cursor::new(&i.id.to_string()).encode())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Revokes an integration's key (admins of the region). Revoking twice keeps the first time.
    pub async fn revoke(&self, actor: &Actor, id: &str) -> Result<Integration, ServiceError> {
        self.require_admin(actor).await?;
        let id = IntegrationId::parse(id)?;
        let mut integration = self.store.get_integration(&id).await?.ok_or(ServiceError::NotFound)?;
        if integration.revoked_at.is_none() {
            integration.revoked_at = Some(self.clock.now());
            self.store.save_integration(&integration).await?;
            tracing::info!(integration = %integration.id, by = %actor.id, "integration revoked");
        }
        Ok(integration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_long_random_and_hashed_to_hex() {
        let a = ApiKey::generate();
        let b = ApiKey::generate();
        assert_ne!(a, b);
        assert!(a.as_str().starts_with(API_KEY_PREFIX));
        assert_eq!(a.as_str().len(), API_KEY_PREFIX.len() + 43);
        assert!(a.as_str()[API_KEY_PREFIX.len()..]
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        let h = key_hash(a.as_str());
        assert_eq!(h.len(), 64);
        assert_ne!(h, key_hash(b.as_str()));
        assert!(!format!("{a:?}").contains(&a.as_str()[4..]));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  Городское приложение  ").unwrap(), "Городское приложение");
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"я".repeat(201)).is_err());
        assert!(parse_name("a\u{0}b").is_err());
    }

    #[test]
    fn the_author_id_names_the_integration() {
        let i = Integration {
            id: IntegrationId::new_at(Utc::now()),
            name: "x".into(),
            key_hash: key_hash("k"),
            created_at: Utc::now(),
            revoked_at: None,
        };
        assert_eq!(i.author_id().to_string(), format!("integration:{}", i.id));
        assert!(CitizenId::parse(i.author_id().as_str()).is_ok());
    }
}
