//! Who is acting: built from verified token claims.

use crate::ids::{AuthorityId, CitizenId, MunicipalityId};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// A role granted by the identity provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    Citizen,
    Official,
    Moderator,
    Admin,
    Analyst,
}

impl Role {
    /// The claim's word, as serde writes it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Why claims do not describe an actor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error("the token has no valid `sub` claim")]
    MissingSubject,
    #[error("claim `{0}` is malformed")]
    Malformed(&'static str),
}

/// A signed-in person. Built only from verified claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: CitizenId,
    pub roles: BTreeSet<Role>,
    pub region: Option<String>,
    pub municipality: Option<MunicipalityId>,
    pub authority: Option<AuthorityId>,
    pub birthdate: Option<NaiveDate>,
    /// The address the token names, if any; never serialised, and `Debug` hides it.
    #[serde(skip)]
    pub email: Option<Email>,
    /// The phone number the token names (`phone_number`, E.164), if any; never serialised, and
    /// `Debug` hides it.
    #[serde(skip)]
    pub phone_number: Option<PhoneNumber>,
}

/// A phone number in E.164 form (`+` and 8 to 15 digits, no leading zero), from the token's
/// `phone_number` claim. Its `Debug` form hides it, so an actor in a log line names no number.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// The number, or `None` when the text is not E.164.
    pub fn parse(text: &str) -> Option<PhoneNumber> {
        let digits = text.strip_prefix('+')?;
        let valid =
            (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
        valid.then(|| PhoneNumber(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhoneNumber(…)")
    }
}

/// An e-mail address from the token's `email` claim. Its `Debug` form hides it, so an actor in
/// a log line names no address.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn new(raw: impl Into<String>) -> Email {
        Email(raw.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Email(…)")
    }
}

impl Actor {
    /// Builds an actor from flat string claims, as API Gateway's JWT authorizer passes them.
    ///
    /// Array claims arrive either as JSON (`["a","b"]`) or flattened by API Gateway (`[a b]`);
    /// both forms are accepted, as is a single space- or comma-separated string. Unknown roles
    /// are ignored, so a new role at the identity provider grants nothing here.
    pub fn from_claims(claims: &HashMap<String, String>) -> Result<Actor, ClaimsError> {
        let sub = claims.get("sub").ok_or(ClaimsError::MissingSubject)?;
        let id = CitizenId::parse(sub).map_err(|_| ClaimsError::MissingSubject)?;
        let roles = claims
            .get("roles")
            .map(|raw| parse_list_claim(raw).iter().filter_map(|r| r.parse::<Role>().ok()).collect())
            .unwrap_or_default();
        let municipality = optional(claims, "municipality")
            .map(|v| MunicipalityId::parse(v).map_err(|_| ClaimsError::Malformed("municipality")))
            .transpose()?;
        let authority = optional(claims, "authority")
            .map(|v| AuthorityId::parse(v).map_err(|_| ClaimsError::Malformed("authority")))
            .transpose()?;
        let birthdate = optional(claims, "birthdate")
            .map(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| ClaimsError::Malformed("birthdate")))
            .transpose()?;
        Ok(Actor {
            id,
            roles,
            region: optional(claims, "region").map(str::to_owned),
            municipality,
            authority,
            birthdate,
            email: optional(claims, "email").filter(|e| e.contains('@')).map(Email::new),
            phone_number: optional(claims, "phone_number").and_then(PhoneNumber::parse),
        })
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The role under which this actor's action is recorded in history: the most privileged one.
    pub fn acting_role(&self) -> Role {
        [Role::Admin, Role::Moderator, Role::Official, Role::Analyst, Role::Citizen]
            .into_iter()
            .find(|r| self.has(*r))
            .unwrap_or(Role::Citizen)
    }

    /// True when the actor's token is for `region` (tokens without a region claim match none).
    pub fn in_region(&self, region: &str) -> bool {
        self.region.as_deref() == Some(region)
    }
}

fn optional<'a>(claims: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    claims.get(key).map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn parse_list_claim(raw: &str) -> Vec<String> {
    let trimmed = raw.trim();
    if trimmed.starts_with('[') {
        if let Ok(list) = serde_json::from_str::<Vec<String>>(trimmed) {
            return list;
        }
        let inner = trimmed.trim_start_matches('[').trim_end_matches(']');
        return split_words(inner);
    }
    split_words(trimmed)
}

fn split_words(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .map(|w| w.trim_matches('"'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn roles_are_read_in_api_gateway_flattened_form() {
        let a = Actor::from_claims(&claims(&[("sub", "u1"), ("roles", "[official moderator]")])).unwrap();
        assert!(a.has(Role::Official) && a.has(Role::Moderator) && !a.has(Role::Citizen));
        assert_eq!(a.acting_role(), Role::Moderator);
    }

    #[test]
    fn roles_are_read_in_json_and_plain_forms() {
        let a = Actor::from_claims(&claims(&[("sub", "u1"), ("roles", r#"["citizen","admin"]"#)])).unwrap();
        assert!(a.has(Role::Citizen) && a.has(Role::Admin));
        let b = Actor::from_claims(&claims(&[("sub", "u1"), ("roles", "citizen")])).unwrap();
        assert!(b.has(Role::Citizen));
    }

    #[test]
    fn unknown_roles_grant_nothing_and_missing_sub_is_refused() {
        let a = Actor::from_claims(&claims(&[("sub", "u1"), ("roles", "[superuser]")])).unwrap();
        assert!(a.roles.is_empty());
        assert_eq!(Actor::from_claims(&claims(&[("roles", "citizen")])), Err(ClaimsError::MissingSubject));
    }

    #[test]
    fn residence_authority_and_birthdate_are_parsed() {
        let a = Actor::from_claims(&claims(&[
            ("sub", "u1"),
            ("municipality", "tyumen"),
            ("authority", "adm-tyumen"),
            ("birthdate", "1990-05-01"),
            ("region", "72"),
        ]))
        .unwrap();
        assert_eq!(a.municipality.as_ref().unwrap().as_str(), "tyumen");
        assert_eq!(a.authority.as_ref().unwrap().as_str(), "adm-tyumen");
        assert_eq!(a.birthdate, NaiveDate::from_ymd_opt(1990, 5, 1));
        assert!(a.in_region("72") && !a.in_region("66"));
        assert!(Actor::from_claims(&claims(&[("sub", "u1"), ("birthdate", "01.05.1990")])).is_err());
    }

    #[test]
    fn the_email_claim_is_kept_but_never_shown() {
        let a = Actor::from_claims(&claims(&[("sub", "u1"), ("email", "alice@example.ru")])).unwrap();
        assert_eq!(a.email.as_ref().map(Email::as_str), Some("alice@example.ru"));
        assert!(!format!("{a:?}").contains("alice@"));
        assert!(!serde_json::to_string(&a).unwrap().contains("alice@"));
        assert_eq!(Actor::from_claims(&claims(&[("sub", "u1"), ("email", " ")])).unwrap().email, None);
    }

    #[test]
    fn the_phone_number_claim_is_kept_when_e164_but_never_shown() {
        let a = Actor::from_claims(&claims(&[("sub", "u1"), ("phone_number", "+79991234567")])).unwrap();
        assert_eq!(a.phone_number.as_ref().map(PhoneNumber::as_str), Some("+79991234567"));
        assert!(!format!("{a:?}").contains("9991234567"));
        assert!(!serde_json::to_string(&a).unwrap().contains("9991234567"));
        for bad in ["79991234567", "+7999", "+7 999 123 45 67", "+0991234567", "+7999123456789012", " "] {
            let a = Actor::from_claims(&claims(&[("sub", "u1"), ("phone_number", bad)])).unwrap();
            assert_eq!(a.phone_number, None, "{bad}");
        }
    }
}
