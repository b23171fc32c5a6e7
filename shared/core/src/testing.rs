//! Test support shared by every crate's tests and benchmarks: a small region, and the settable
//! clock under the path tests import it by. Compiled only for this crate's tests and with the
//! `testing` feature, so the functions' binaries do not carry it.

use crate::calendar::Calendar;
use crate::region::{
    Authority, AuthorityLevel, Category, Municipality, ReachSettings, RegionData, RegionInfo, RoutingRule,
};

pub use crate::clock::ManualClock;

fn muni(id: &str, name: &str, adults: u64) -> Municipality {
    Municipality { id: id.parse_slug(), name: name.into(), adults: Some(adults) }
}
fn auth(id: &str, name: &str, level: AuthorityLevel, m: Option<&str>) -> Authority {
    Authority { id: id.parse_slug(), name: name.into(), level, municipality_id: m.map(|m| m.parse_slug()) }
}
fn cat(id: &str, name: &str, parent: Option<&str>, days: Option<u16>) -> Category {
    Category {
        id: id.parse_slug(),
        name: name.into(),
        parent_id: parent.map(|p| p.parse_slug()),
        deadline_working_days: days,
        duplicate_radius_m: None,
        keywords: Vec::new(),
        popular: false,
    }
}
fn rule(c: &str, m: Option<&str>, a: &str) -> RoutingRule {
    RoutingRule {
        category_id: c.parse_slug(),
        municipality_id: m.map(|m| m.parse_slug()),
        authority_id: a.parse_slug(),
    }
}

trait ParseSlug {
    fn parse_slug<T: TryFrom<String>>(&self) -> T;
}
impl ParseSlug for str {
    fn parse_slug<T: TryFrom<String>>(&self) -> T {
        T::try_from(self.to_owned()).unwrap_or_else(|_| panic!("bad test slug {self}"))
    }
}

/// A small but complete region for tests: three municipalities, a ЦУР, regional and municipal
/// authorities, two category groups and rules at every level of specificity.
pub fn sample_region() -> RegionData {
    use AuthorityLevel::*;
    RegionData {
        region: RegionInfo {
            code: "72".into(),
            name: "Тюменская область".into(),
            time_zone: "Asia/Yekaterinburg".into(),
            center_authority_id: "tsur-72".parse_slug(),
            default_deadline_working_days: 8,
            default_duplicate_radius_m: 50,
        },
        municipalities: vec![
            muni("tyumen", "город Тюмень", 1200),
            muni("ishim", "город Ишим", 400),
            muni("tobolsk", "город Тобольск", 800),
        ],
        authorities: vec![
            auth("tsur-72", "Центр управления регионом Тюменской области", Center, None),
            auth("ddit", "Департамент дорожной инфраструктуры и транспорта Тюменской области", Regional, None),
            auth("gzhi", "Государственная жилищная инспекция Тюменской области", Regional, None),
            auth("adm-tyumen", "Администрация города Тюмени", Municipal, Some("tyumen")),
            auth("tyumen-upravdor", "Управа по дорожному хозяйству города Тюмени", Municipal, Some("tyumen")),
            auth("adm-ishim", "Администрация города Ишима", Municipal, Some("ishim")),
            auth("adm-tobolsk", "Администрация города Тобольска", Municipal, Some("tobolsk")),
        ],
        categories: vec![
            cat("zhkh", "ЖКХ", None, Some(5)),
            Category {
                keywords: vec!["батарея".into(), "радиатор".into()],
                ..cat("zhkh-otoplenie", "Отопление", Some("zhkh"), Some(3))
            },
            cat("zhkh-musor", "Вывоз мусора", Some("zhkh"), None),
            cat("dorogi", "Дороги", None, None),
            Category {
                keywords: vec!["яма".into(), "выбоина".into(), "асфальт".into()],
                popular: true,
                ..cat("dorogi-yamy", "Ямы на дорогах", Some("dorogi"), None)
            },
            cat("dorogi-regionalnye", "Региональные трассы", Some("dorogi"), Some(10)),
            cat("prochee", "Прочее", None, None),
        ],
        routing_rules: vec![
            rule("zhkh-otoplenie", Some("tyumen"), "adm-tyumen"),
            rule("zhkh", None, "gzhi"),
            rule("dorogi-yamy", Some("tyumen"), "tyumen-upravdor"),
            rule("dorogi-regionalnye", None, "ddit"),
            rule("dorogi", Some("tyumen"), "adm-tyumen"),
            rule("dorogi", Some("ishim"), "adm-ishim"),
            rule("dorogi", None, "ddit"),
        ],
        calendar: Calendar {
            holidays: [
                "2026-11-04",
                "2026-12-31",
                "2027-01-01",
                "2027-01-04",
                "2027-01-05",
                "2027-01-06",
                "2027-01-07",
            ]
            .into_iter()
            .chain(["2027-01-08"])
            .filter_map(|d| d.parse().ok())
            .collect(),
            working_weekends: Default::default(),
        },
        retention: Default::default(),
        // Every channel, so that the preferences' round trips may include SMS.
        reach: ReachSettings { sms_enabled: true },
        map: None,
    }
}

/// Ballot keys kept in memory, with the count of keys ever destroyed.
#[derive(Default)]
pub struct MemoryKeys {
    keys: std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
}

impl MemoryKeys {
    /// How many keys are kept now.
    pub fn kept(&self) -> usize {
        self.keys.lock().map(|k| k.len()).unwrap_or(0)
    }
}

#[async_trait::async_trait]
impl crate::participation::BallotKeys for MemoryKeys {
    async fn put_key(
        &self,
        poll: &crate::ids::PollId,
        key: &crate::participation::BallotKey,
    ) -> Result<(), crate::ports::StoreError> {
        let mut keys = self.keys.lock().map_err(|_| crate::ports::StoreError::Conflict)?;
        if keys.contains_key(&poll.to_string()) {
            return Err(crate::ports::StoreError::Conflict);
        }
        keys.insert(poll.to_string(), key.as_bytes().to_vec());
        Ok(())
    }

    async fn get_key(
        &self,
        poll: &crate::ids::PollId,
    ) -> Result<Option<crate::participation::BallotKey>, crate::ports::StoreError> {
        let keys = self.keys.lock().map_err(|_| crate::ports::StoreError::Conflict)?;
        keys.get(&poll.to_string())
            .map(|k| crate::participation::BallotKey::from_bytes(k.clone()))
            .transpose()
            .map_err(|e| crate::ports::StoreError::backend("reading a ballot key", e))
    }

    async fn destroy_key(&self, poll: &crate::ids::PollId) -> Result<(), crate::ports::StoreError> {
        self.keys.lock().map_err(|_| crate::ports::StoreError::Conflict)?.remove(&poll.to_string());
        Ok(())
    }
}

/// Participation's secrets for a test: the voter-roll secret from `voter` (16 bytes or more) and
/// ballot keys kept in memory.
pub fn poll_secrets(voter: &[u8]) -> crate::participation::PollSecrets {
    poll_secrets_with(voter, std::sync::Arc::new(MemoryKeys::default()))
}

/// The same, over the given key custody.
pub fn poll_secrets_with(
    voter: &[u8],
    keys: std::sync::Arc<dyn crate::participation::BallotKeys>,
) -> crate::participation::PollSecrets {
    let voter = crate::participation::VoterSecret::new(voter.to_vec())
        .unwrap_or_else(|e| panic!("a test's voter-roll secret: {e}"));
    crate::participation::PollSecrets { voter, keys }
}
