//! Parsed values: once constructed they are valid, so the domain never re-checks them.

use crate::ids::PhotoId;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The text of a message or an answer: 10..4000 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageText(String);

impl MessageText {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 4000;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        let n = trimmed.chars().count();
        if n < Self::MIN_CHARS {
            return Err(format!("не короче {} символов", Self::MIN_CHARS));
        }
        if n > Self::MAX_CHARS {
            return Err(format!("не длиннее {} символов", Self::MAX_CHARS));
        }
        if trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
            return Err("содержит недопустимые управляющие символы".into());
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A free-form address line: 1..500 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Address(String);

impl Address {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("не может быть пустым".into());
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(format!("не длиннее {} символов", Self::MAX_CHARS));
        }
        if trimmed.chars().any(char::is_control) {
            return Err("содержит недопустимые управляющие символы".into());
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text of 1..=`max` characters after trimming.
fn bounded_text(raw: &str, max: usize) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("не может быть пустым".into());
    }
    if trimmed.chars().count() > max {
        return Err(format!("не длиннее {max} символов"));
    }
    Ok(trimmed.to_owned())
}

/// A free text of 1..=`$max` characters after trimming.
macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, String> {
                bounded_text(raw, Self::MAX_CHARS).map(Self)
            }

            /// An optional text: absent or blank is none.
            pub fn parse_optional(raw: Option<&str>) -> Result<Option<Self>, String> {
                raw.filter(|r| !r.trim().is_empty()).map(Self::parse).transpose()
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

bounded_text!(
    /// Why an official redirects a message, or a moderator's comment on a rejection.
    Reason,
    1000
);

bounded_text!(
    /// Why a resident flags a comment.
    FlagReason,
    500
);

bounded_text!(
    /// A comment in a discussion, or on a rating.
    CommentText,
    1000
);

/// The photos a message names: at most three distinct photo ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PhotoIds(Vec<PhotoId>);

impl PhotoIds {
    pub const MAX: usize = 3;

    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, String> {
        if raw.len() > Self::MAX {
            return Err(format!("не больше {} фотографий", Self::MAX));
        }
        let mut seen = HashSet::new();
        let mut ids = Vec::with_capacity(raw.len());
        for (i, r) in raw.iter().enumerate() {
            let id = PhotoId::parse(r.as_ref()).map_err(|e| format!("фотография {}: {e}", i + 1))?;
            if !seen.insert(id) {
                return Err(format!("фотография {} указана дважды", i + 1));
            }
            ids.push(id);
        }
        Ok(Self(ids))
    }

    pub fn as_slice(&self) -> &[PhotoId] {
        &self.0
    }

    pub fn to_vec(&self) -> Vec<PhotoId> {
        self.0.clone()
    }
}

/// A WGS 84 point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Location {
    lat: f64,
    lon: f64,
}

impl Location {
    pub fn new(lat: f64, lon: f64) -> Result<Self, String> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err("широта должна быть в диапазоне −90..90".into());
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err("долгота должна быть в диапазоне −180..180".into());
        }
        Ok(Self { lat, lon })
    }
    pub fn lat(&self) -> f64 {
        self.lat
    }
    pub fn lon(&self) -> f64 {
        self.lon
    }

    /// Great-circle distance in metres (haversine, mean Earth radius).
    pub fn distance_m(&self, other: &Location) -> f64 {
        const R: f64 = 6_371_008.8;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().asin()
    }
}

/// A client's `Idempotency-Key`: 1..64 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = !raw.is_empty() && raw.len() <= 64 && raw.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err("Idempotency-Key: от 1 до 64 печатных символов ASCII".into())
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_text_is_trimmed_and_bounded_in_characters_not_bytes() {
        assert_eq!(MessageText::parse("  Яма на дороге  ").unwrap().as_str(), "Яма на дороге");
        assert!(MessageText::parse("Короткий").is_err());
        assert!(MessageText::parse(&"я".repeat(4000)).is_ok());
        assert!(MessageText::parse(&"я".repeat(4001)).is_err());
        assert!(MessageText::parse("          x          ").is_err());
        assert!(MessageText::parse("Текст с \u{0} нулём внутри").is_err());
    }

    #[test]
    fn reasons_and_comments_are_trimmed_and_bounded_by_their_own_limits() {
        assert_eq!(Reason::parse("  не наш участок ").unwrap().as_str(), "не наш участок");
        assert!(Reason::parse("   ").is_err());
        assert!(Reason::parse(&"я".repeat(Reason::MAX_CHARS)).is_ok());
        assert!(Reason::parse(&"я".repeat(Reason::MAX_CHARS + 1)).is_err());
        assert!(FlagReason::parse(&"я".repeat(500)).is_ok());
        assert!(FlagReason::parse(&"я".repeat(501)).is_err());
        assert!(CommentText::parse(&"я".repeat(1000)).is_ok());
        assert!(CommentText::parse(&"я".repeat(1001)).is_err());
        assert!(CommentText::parse("").is_err());
    }

    #[test]
    fn an_optional_text_that_is_absent_or_blank_is_none() {
        assert_eq!(FlagReason::parse_optional(None), Ok(None));
        assert_eq!(FlagReason::parse_optional(Some("  ")), Ok(None));
        assert_eq!(FlagReason::parse_optional(Some(" спам ")).unwrap().unwrap().as_str(), "спам");
        assert!(CommentText::parse_optional(Some(&"я".repeat(1001))).is_err());
    }

    #[test]
    fn photo_ids_are_at_most_three_distinct_valid_ids() {
        let a = "01J00000000000000000000001";
        let b = "01J00000000000000000000002";
        assert_eq!(PhotoIds::parse(&[a, b]).unwrap().as_slice().len(), 2);
        assert!(PhotoIds::parse::<&str>(&[]).unwrap().as_slice().is_empty());
        assert!(PhotoIds::parse(&[a, b, "01J00000000000000000000003", "01J00000000000000000000004"]).is_err());
        assert!(PhotoIds::parse(&[a, a]).unwrap_err().contains("дважды"));
        assert!(PhotoIds::parse(&[a, "not-a-ulid"]).is_err());
    }

    #[test]
    fn location_rejects_out_of_range_and_nan() {
        assert!(Location::new(57.15, 65.53).is_ok());
        assert!(Location::new(91.0, 0.0).is_err());
        assert!(Location::new(0.0, -180.5).is_err());
        assert!(Location::new(f64::NAN, 0.0).is_err());
    }

    #[test]
    fn distance_between_two_tyumen_points_is_about_right() {
        let a = Location::new(57.1530, 65.5343).unwrap();
        let b = Location::new(57.1539, 65.5343).unwrap();
        let d = a.distance_m(&b);
        assert!((d - 100.0).abs() < 1.0, "got {d}");
    }

    #[test]
    fn idempotency_key_is_printable_ascii_up_to_64() {
        assert!(IdempotencyKey::parse("abc-123_XYZ").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("with space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(65)).is_err());
        assert!(IdempotencyKey::parse("ключ").is_err());
    }
}

/// What a poll is: a vote, a survey or a discussion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PollKind {
    Vote,
    Survey,
    Discussion,
}
