//! Identifiers. Server-made ids are ULIDs; reference-data ids are short slugs from the region file.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use ulid::Ulid;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("нужен ULID: 26 символов Crockford base32")]
    NotUlid,
    #[error("от 1 до 64 символов: латинские строчные буквы, цифры и «-»")]
    BadSlug,
    #[error("от 1 до 256 печатных символов")]
    BadSubject,
    #[error("32 шестнадцатеричные цифры")]
    NotPushId,
    #[error("номер обращения пишется как код региона, дефис и не меньше 6 цифр, например 72-000123")]
    BadNumber,
}

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Ulid);

        impl $name {
            /// A new id for an entity created at `at`: ids sort by creation time.
            pub fn new_at(at: chrono::DateTime<chrono::Utc>) -> Self {
                let ms = u64::try_from(at.timestamp_millis()).unwrap_or_default();
                Self(Ulid::from_parts(ms, rand_bits()))
            }
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                Ulid::from_str(raw).map(Self).map_err(|_| IdError::NotUlid)
            }
            /// The smallest id of anything created at or after `at`: a range bound for time queries.
            pub fn lower_bound(at: chrono::DateTime<chrono::Utc>) -> Self {
                Self(Ulid::from_parts(u64::try_from(at.timestamp_millis()).unwrap_or_default(), 0))
            }
            /// When the id was made: the `at` of [`Self::new_at`], to the millisecond.
            pub fn minted_at(&self) -> chrono::DateTime<chrono::Utc> {
                let ms = i64::try_from(self.0.timestamp_ms()).unwrap_or(i64::MAX);
                chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
            }
            pub fn ulid(&self) -> Ulid {
                self.0
            }
            pub fn from_ulid(u: Ulid) -> Self {
                Self(u)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                string_schema(ULID_PATTERN, "ULID")
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// What a ULID looks like on the wire: 26 characters of Crockford's base32.
pub const ULID_PATTERN: &str = "^[0-7][0-9A-HJKMNP-TV-Z]{25}$";
/// What a reference-data slug looks like.
pub const SLUG_PATTERN: &str = "^[a-z0-9-]{1,64}$";

fn string_schema(pattern: &str, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern)).description(Some(description)).into()
}

fn rand_bits() -> u128 {
    // Ulid::new() draws from the thread-local RNG; its random part is all we keep.
    Ulid::new().random()
}

ulid_id!(
    /// A resident's message.
    MessageId
);
ulid_id!(
    /// An uploaded photo.
    PhotoId
);
ulid_id!(
    /// A poll, survey or discussion.
    PollId
);
ulid_id!(
    /// A comment in a discussion.
    CommentId
);
ulid_id!(
    /// A resident's subscription to a place or topic.
    SubscriptionId
);
ulid_id!(
    /// An integrator's webhook endpoint.
    WebhookId
);
ulid_id!(
    /// An authority's ready-made answer.
    TemplateId
);
ulid_id!(
    /// One event the platform publishes to webhook endpoints.
    EventId
);

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                let ok = !raw.is_empty()
                    && raw.len() <= 64
                    && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if ok {
                    Ok(Self(raw.to_owned()))
                } else {
                    Err(IdError::BadSlug)
                }
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(raw: String) -> Result<Self, IdError> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                string_schema(SLUG_PATTERN, "reference-data slug")
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

slug_id!(
    /// A category of the region's category tree, e.g. `zhkh-musor`.
    CategoryId
);
slug_id!(
    /// A municipality (city okrug or district), e.g. `tyumen`.
    MunicipalityId
);
slug_id!(
    /// An authority: the ЦУР, a regional department or a municipal administration.
    AuthorityId
);

/// A message's short number, which a person can read out: the region's code, a dash and the
/// message's sequence number in the region, zero-padded to at least six digits (`72-000123`).
/// Unique in the region; allocated at submission (`numbering`). Messages stored before numbers
/// existed have none.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageNumber {
    region: String,
    seq: u64,
}

/// What a message number looks like on the wire.
pub const MESSAGE_NUMBER_PATTERN: &str = "^[0-9A-Za-z]{1,8}-[0-9]{6,15}$";

impl MessageNumber {
    /// The longest region code a number carries.
    const MAX_REGION: usize = 8;
    /// The most digits of the sequence part: far more than a region ever numbers.
    const MAX_DIGITS: usize = 15;

    /// The number `seq` of the region `region` (its code from the region file). `None` when the
    /// code is not 1–8 Latin letters or digits, or `seq` is zero or has more than 15 digits.
    pub fn new(region: &str, seq: u64) -> Option<Self> {
        let ok =
            !region.is_empty() && region.len() <= Self::MAX_REGION && region.bytes().all(|b| b.is_ascii_alphanumeric());
        (ok && seq > 0 && seq < 10u64.pow(Self::MAX_DIGITS as u32)).then(|| Self { region: region.to_owned(), seq })
    }

    /// Reads `72-000123`. Surrounding spaces are ignored; more leading zeros than six digits
    /// need are accepted and name the same number.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let (region, digits) = raw.trim().split_once('-').ok_or(IdError::BadNumber)?;
        if digits.len() < 6 || digits.len() > Self::MAX_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::BadNumber);
        }
        let seq = digits.parse::<u64>().map_err(|_| IdError::BadNumber)?;
        Self::new(region, seq).ok_or(IdError::BadNumber)
    }

    /// The region code it starts with.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Its place in the region's sequence.
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

impl TryFrom<String> for MessageNumber {
    type Error = IdError;
    fn try_from(raw: String) -> Result<Self, IdError> {
        Self::parse(&raw)
    }
}

impl From<MessageNumber> for String {
    fn from(n: MessageNumber) -> String {
        n.to_string()
    }
}

impl fmt::Display for MessageNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:06}", self.region, self.seq)
    }
}

impl utoipa::PartialSchema for MessageNumber {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(MESSAGE_NUMBER_PATTERN))
            .description(Some("the message's number in its region: region code, dash, at least 6 digits"))
            .examples(["72-000123"])
            .into()
    }
}

impl utoipa::ToSchema for MessageNumber {}

/// A resident's browser push subscription: the first 16 bytes of the SHA-256 of its endpoint,
/// in lowercase hex, so that the same browser subscribing again names the same record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PushSubscriptionId(String);

/// What a push subscription id looks like on the wire.
pub const PUSH_SUBSCRIPTION_ID_PATTERN: &str = "^[0-9a-f]{32}$";

impl PushSubscriptionId {
    /// The id of the subscription whose endpoint is `endpoint`.
    pub fn of_endpoint(endpoint: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(endpoint.as_bytes());
        Self(hex::encode(digest.get(..16).unwrap_or_default()))
    }
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        if raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdError::NotPushId)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PushSubscriptionId {
    type Error = IdError;
    fn try_from(raw: String) -> Result<Self, IdError> {
        Self::parse(&raw)
    }
}

impl From<PushSubscriptionId> for String {
    fn from(id: PushSubscriptionId) -> String {
        id.0
    }
}

impl fmt::Display for PushSubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl utoipa::PartialSchema for PushSubscriptionId {
    fn schema() -> RefOr<Schema> {
        string_schema(PUSH_SUBSCRIPTION_ID_PATTERN, "32 hex digits")
    }
}

impl utoipa::ToSchema for PushSubscriptionId {}

/// The identity-provider subject of a person (`sub` claim).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CitizenId(String);

impl CitizenId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let ok = !raw.is_empty() && raw.len() <= 256 && raw.chars().all(|c| !c.is_control() && c != '#');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdError::BadSubject)
        }
    }
    /// The subject of an integration: `integration:<id>`. A fixed prefix and a ULID are always a
    /// valid subject (short, no control characters, no `#`), so this needs no check.
    pub(crate) fn integration(id: &impl fmt::Display) -> Self {
        Self(format!("integration:{id}"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// A fresh pseudonym that names no one: `erased-` and a new random ULID, never derived from
    /// a person's id. It replaces a resident's id where their records stay after erasure or
    /// after the retention of their link (`rights`).
    pub fn pseudonym() -> Self {
        Self(format!("{PSEUDONYM_PREFIX}{}", Ulid::new()))
    }
    /// Whether this is a pseudonym rather than a person's subject.
    pub fn is_pseudonym(&self) -> bool {
        self.0.starts_with(PSEUDONYM_PREFIX)
    }
}

/// What every pseudonym starts with.
pub const PSEUDONYM_PREFIX: &str = "erased-";

impl TryFrom<String> for CitizenId {
    type Error = IdError;
    fn try_from(raw: String) -> Result<Self, IdError> {
        Self::parse(&raw)
    }
}

impl From<CitizenId> for String {
    fn from(id: CitizenId) -> String {
        id.0
    }
}

impl fmt::Display for CitizenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_accept_lowercase_digits_and_hyphens_only() {
        assert!(CategoryId::parse("zhkh-musor").is_ok());
        assert!(CategoryId::parse("").is_err());
        assert!(CategoryId::parse("ЖКХ").is_err());
        assert!(CategoryId::parse("Zhkh").is_err());
        assert!(CategoryId::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn message_ids_sort_by_creation_time() {
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let t1 = t0 + chrono::Duration::milliseconds(1);
        assert!(MessageId::new_at(t0) < MessageId::new_at(t1));
        let id = MessageId::new_at(t0);
        assert_eq!(id.minted_at(), t0);
        assert_eq!(MessageId::parse(&id.to_string()), Ok(id));
        assert_eq!(MessageId::parse("not-a-ulid"), Err(IdError::NotUlid));
    }

    #[test]
    fn push_ids_are_the_endpoints_hash() {
        let a = PushSubscriptionId::of_endpoint("https://push.example.com/a");
        assert_eq!(a, PushSubscriptionId::of_endpoint("https://push.example.com/a"));
        assert_ne!(a, PushSubscriptionId::of_endpoint("https://push.example.com/b"));
        assert_eq!(PushSubscriptionId::parse(a.as_str()), Ok(a.clone()));
        assert_eq!(a.as_str().len(), 32);
        assert!(PushSubscriptionId::parse("ABCDEF0123456789abcdef0123456789").is_err());
        assert!(PushSubscriptionId::parse("abc").is_err());
    }

    #[test]
    fn pseudonyms_are_fresh_valid_subjects() {
        let (a, b) = (CitizenId::pseudonym(), CitizenId::pseudonym());
        assert_ne!(a, b);
        assert!(a.is_pseudonym() && !CitizenId::parse("alice").unwrap().is_pseudonym());
        assert_eq!(CitizenId::parse(a.as_str()), Ok(a));
    }

    #[test]
    fn subjects_refuse_separators_and_control_characters() {
        assert!(CitizenId::parse("alice").is_ok());
        assert!(CitizenId::parse("a#b").is_err());
        assert!(CitizenId::parse("a\nb").is_err());
        assert!(CitizenId::parse("").is_err());
    }

    #[test]
    fn message_numbers_read_and_print_zero_padded() {
        let n = MessageNumber::parse("72-000123").unwrap();
        assert_eq!((n.region(), n.seq()), ("72", 123));
        assert_eq!(n.to_string(), "72-000123");
        assert_eq!(MessageNumber::new("72", 1234567).unwrap().to_string(), "72-1234567");
        assert_eq!(MessageNumber::parse(" 72-0000123 ").unwrap(), n, "extra zeros name the same number");
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"72-000123\"");
        assert_eq!(serde_json::from_str::<MessageNumber>("\"72-000123\"").unwrap(), n);
        for bad in [
            "",
            "72",
            "72-",
            "72-123",
            "72-00012a",
            "-000123",
            "72-000000",
            "7#2-000123",
            "72-0001234567890123",
            "123456789-000001",
        ] {
            assert_eq!(MessageNumber::parse(bad), Err(IdError::BadNumber), "{bad}");
        }
        assert!(MessageNumber::new("72", 0).is_none());
        assert!(MessageNumber::new("", 1).is_none());
    }
}
