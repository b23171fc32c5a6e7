//! A region's reference data: municipalities, authorities, categories, routing rules and the
//! production calendar. Read from `infra/regions/<code>-<name>.toml` by the tooling
//! (`feedback_local::region_file`) and validated here as a whole.

use crate::calendar::{Calendar, CalendarError};
use crate::ids::{AuthorityId, CategoryId, MunicipalityId};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionInfo {
    pub code: String,
    pub name: String,
    pub time_zone: String,
    pub center_authority_id: AuthorityId,
    pub default_deadline_working_days: u16,
    pub default_duplicate_radius_m: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Municipality {
    pub id: MunicipalityId,
    pub name: String,
    /// Residents aged 18 and over, where the region file knows them: the denominator of a poll's
    /// turnout share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adults: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthorityLevel {
    Center,
    Regional,
    Municipal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authority {
    pub id: AuthorityId,
    pub name: String,
    pub level: AuthorityLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality_id: Option<MunicipalityId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<CategoryId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_working_days: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_radius_m: Option<u32>,
    /// Words and short phrases residents use for the category's problems (synonyms, everyday
    /// words, objects); the category search matches them beside the name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// One of the region's most frequent everyday categories, offered as a tile on the portal.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub popular: bool,
}

/// At most this many keywords per category.
pub const MAX_KEYWORDS: usize = 40;
/// A keyword's length bound, in characters.
pub const MAX_KEYWORD_CHARS: usize = 60;

impl Category {
    fn keyword_problems(&self, entry: &str) -> Vec<RegionError> {
        let mut errs = Vec::new();
        if self.keywords.len() > MAX_KEYWORDS {
            errs.push(RegionError::new(entry, format!("keywords — не больше {MAX_KEYWORDS} слов и фраз")));
        }
        let mut seen = HashSet::new();
        for k in &self.keywords {
            let chars = k.chars().count();
            let russian = k.chars().any(is_cyrillic)
                && k.chars().all(|c| is_cyrillic(c) || c.is_ascii_digit() || c == ' ' || c == '-');
            if chars == 0 || chars > MAX_KEYWORD_CHARS || k.trim() != k {
                errs.push(RegionError::new(
                    entry,
                    format!("ключевое слово «{k}» — от 1 до {MAX_KEYWORD_CHARS} символов без пробелов по краям"),
                ));
            } else if !russian {
                errs.push(RegionError::new(
                    entry,
                    format!("ключевое слово «{k}» — русские буквы, цифры, пробелы и дефисы"),
                ));
            } else if !seen.insert(k.to_lowercase()) {
                errs.push(RegionError::new(entry, format!("ключевое слово «{k}» повторяется")));
            }
        }
        errs
    }
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё')
}

/// One routing rule: messages of `category_id` (a leaf or a group) from `municipality_id`
/// (or from anywhere when absent) go to `authority_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    pub category_id: CategoryId,
    #[serde(default)]
    pub municipality_id: Option<MunicipalityId>,
    pub authority_id: AuthorityId,
}

/// How long the region keeps what it no longer needs (`[retention]` in the region file). The
/// scheduled run prunes the embedded store; DynamoDB expires the items itself by their TTL,
/// which is set when they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    /// Idempotency records: a retried submission within this time gets the first answer.
    pub idempotency_hours: u32,
    /// Residents' notifications.
    pub notification_days: u32,
    /// Photos announced but never attached to a message.
    pub unattached_photo_hours: u32,
    /// Closed messages keep their author, flat number and contacts this many years after
    /// closing; then the scheduled run pseudonymises them (`rights::pseudonymise_closed`).
    pub closed_message_years: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { idempotency_hours: 24, notification_days: 365, unattached_photo_hours: 24, closed_message_years: 5 }
    }
}

impl Retention {
    pub fn idempotency(&self) -> chrono::Duration {
        chrono::Duration::hours(i64::from(self.idempotency_hours))
    }

    pub fn notifications(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.notification_days))
    }

    pub fn unattached_photos(&self) -> chrono::Duration {
        chrono::Duration::hours(i64::from(self.unattached_photo_hours))
    }

    /// Messages closed before this instant no longer keep their personal link: `now` less
    /// `closed_message_years` calendar years.
    pub fn closed_messages_before(&self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        now.checked_sub_months(chrono::Months::new(self.closed_message_years.saturating_mul(12))).unwrap_or(now)
    }

    fn problems(&self) -> Vec<RegionError> {
        let mut errs = Vec::new();
        let mut within = |entry: &str, value: u32, range: std::ops::RangeInclusive<u32>| {
            if !range.contains(&value) {
                errs.push(RegionError::new(
                    format!("retention.{entry}"),
                    format!("должно быть от {} до {}", range.start(), range.end()),
                ));
            }
        };
        within("idempotency_hours", self.idempotency_hours, 1..=24 * 30);
        within("notification_days", self.notification_days, 30..=3653);
        within("unattached_photo_hours", self.unattached_photo_hours, 1..=24 * 30);
        within("closed_message_years", self.closed_message_years, 1..=75);
        errs
    }
}

/// The portal's maps: where the raster tiles come from, whose they are, and where a map opens.
/// No tile provider is built into the portal; the default is OpenStreetMap's public tiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapSettings {
    /// A tile URL template with `{z}`, `{x}` and `{y}`, `https` (plain `http` only on a loopback
    /// host, for tests).
    #[serde(default = "MapSettings::default_tiles_url")]
    pub tiles_url: String,
    /// The attribution the provider's licence asks for, shown on every map.
    #[serde(default = "MapSettings::default_attribution")]
    pub attribution: String,
    /// Where the portal's maps open: `[lat, lon]` and a zoom of 0..=18.
    pub center: [f64; 2],
    pub zoom: u8,
}

impl MapSettings {
    fn default_tiles_url() -> String {
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png".to_owned()
    }

    fn default_attribution() -> String {
        "© участники OpenStreetMap".to_owned()
    }

    /// Whether `url` is a tile URL template the portal may load: `https` (plain `http` only on a
    /// loopback host) with `{z}`, `{x}` and `{y}`.
    pub fn check_tiles_url(url: &str) -> Result<(), String> {
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"].iter().any(|p| url.starts_with(p));
        if !(url.starts_with("https://") || loopback) {
            return Err("нужен адрес https://".into());
        }
        match ["{z}", "{x}", "{y}"].into_iter().find(|part| !url.contains(part)) {
            Some(part) => Err(format!("в шаблоне нет {part}")),
            None => Ok(()),
        }
    }

    fn problems(&self) -> Vec<RegionError> {
        let mut errs = Vec::new();
        if let Err(problem) = Self::check_tiles_url(&self.tiles_url) {
            errs.push(RegionError::new("map.tiles_url", problem));
        }
        if self.attribution.trim().is_empty() {
            errs.push(RegionError::new("map.attribution", "укажите правообладателя карты"));
        }
        let [lat, lon] = self.center;
        if !((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
            errs.push(RegionError::new("map.center", "широта −90…90, долгота −180…180"));
        }
        if self.zoom > 18 {
            errs.push(RegionError::new("map.zoom", "от 0 до 18"));
        }
        errs
    }
}

/// How the region reaches residents beyond the portal and e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReachSettings {
    /// Whether residents may choose SMS (sent through SNS, AWS only). Off unless the region turns
    /// it on: every text costs money, within the account's SNS spending limit.
    #[serde(default)]
    pub sms_enabled: bool,
}

/// The whole reference data of one region, as stored and as read from the region file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionData {
    pub region: RegionInfo,
    pub municipalities: Vec<Municipality>,
    pub authorities: Vec<Authority>,
    pub categories: Vec<Category>,
    #[serde(default)]
    pub routing_rules: Vec<RoutingRule>,
    pub calendar: Calendar,
    #[serde(default)]
    pub retention: Retention,
    #[serde(default)]
    pub reach: ReachSettings,
    /// The portal's maps; without it the portal offers no map and places are chosen without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<MapSettings>,
}

/// A problem in reference data, naming the entry at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry}: {problem}")]
pub struct RegionError {
    pub entry: String,
    pub problem: String,
}

impl From<CalendarError> for RegionError {
    fn from(e: CalendarError) -> Self {
        Self { entry: e.entry, problem: e.problem }
    }
}

impl RegionError {
    fn new(entry: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { entry: entry.into(), problem: problem.into() }
    }
}

impl RegionData {
    /// Checks every reference and invariant, collecting all problems at once.
    pub fn validate(&self) -> Result<(), Vec<RegionError>> {
        let mut errs = Vec::new();
        if self.region.time_zone.parse::<chrono_tz::Tz>().is_err() {
            errs.push(RegionError::new(
                "region.time_zone",
                format!("неизвестный часовой пояс «{}»", self.region.time_zone),
            ));
        }
        if crate::ids::MessageNumber::new(&self.region.code, 1).is_none() {
            errs.push(RegionError::new(
                "region.code",
                "от 1 до 8 латинских букв или цифр: код начинает номера сообщений, например 72-000123",
            ));
        }
        if self.region.default_deadline_working_days == 0 {
            errs.push(RegionError::new("region.default_deadline_working_days", "не меньше 1"));
        }
        errs.extend(self.retention.problems());
        errs.extend(self.map.iter().flat_map(MapSettings::problems));
        let munis = unique_ids(&mut errs, "municipalities", self.municipalities.iter().map(|m| m.id.as_str()));
        unique_ids(&mut errs, "authorities", self.authorities.iter().map(|a| a.id.as_str()));
        let cats = unique_ids(&mut errs, "categories", self.categories.iter().map(|c| c.id.as_str()));

        match self.authority(&self.region.center_authority_id) {
            Some(a) if a.level == AuthorityLevel::Center => {}
            Some(_) => errs.push(RegionError::new("region.center_authority_id", "нужен орган уровня center (ЦУР)")),
            None => errs.push(RegionError::new(
                "region.center_authority_id",
                format!("неизвестный орган власти «{}»", self.region.center_authority_id),
            )),
        }
        for a in &self.authorities {
            let entry = format!("authorities[id={}]", a.id);
            match (&a.level, &a.municipality_id) {
                (AuthorityLevel::Municipal, None) => {
                    errs.push(RegionError::new(entry, "у муниципального органа нужен municipality_id"))
                }
                (_, Some(m)) if !munis.contains(m.as_str()) => {
                    errs.push(RegionError::new(entry, format!("неизвестный муниципалитет «{m}»")))
                }
                _ => {}
            }
        }
        for c in &self.categories {
            let entry = format!("categories[id={}]", c.id);
            if let Some(p) = &c.parent_id {
                if !cats.contains(p.as_str()) {
                    errs.push(RegionError::new(&entry, format!("неизвестная родительская категория «{p}»")));
                } else if self.category(p).and_then(|pc| pc.parent_id.as_ref()).is_some() {
                    errs.push(RegionError::new(&entry, "категории вкладываются не глубже двух уровней"));
                }
            }
            if c.deadline_working_days == Some(0) {
                errs.push(RegionError::new(&entry, "deadline_working_days — не меньше 1"));
            }
            errs.extend(c.keyword_problems(&entry));
        }
        errs.extend(self.check_rules(&self.routing_rules));
        errs.extend(self.calendar.validate().into_iter().map(RegionError::from));
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }

    /// Checks routing rules against this region's reference data. Admins edit the rules over the
    /// API, so the problems are in Russian.
    pub fn check_rules(&self, rules: &[RoutingRule]) -> Vec<RegionError> {
        let mut errs = Vec::new();
        let mut seen = HashSet::new();
        for (i, r) in rules.iter().enumerate() {
            let entry = format!(
                "routing_rules[{i}] (category_id={}, municipality_id={})",
                r.category_id,
                r.municipality_id.as_ref().map(|m| m.as_str()).unwrap_or("*")
            );
            if self.category(&r.category_id).is_none() {
                errs.push(RegionError::new(&entry, format!("неизвестная категория «{}»", r.category_id)));
            }
            if let Some(m) = &r.municipality_id {
                if self.municipality(m).is_none() {
                    errs.push(RegionError::new(&entry, format!("неизвестный муниципалитет «{m}»")));
                }
            }
            if self.authority(&r.authority_id).is_none() {
                errs.push(RegionError::new(&entry, format!("неизвестный орган власти «{}»", r.authority_id)));
            }
            if !seen.insert((&r.category_id, &r.municipality_id)) {
                errs.push(RegionError::new(
                    &entry,
                    "повторяет более раннее правило для той же категории и муниципалитета",
                ));
            }
        }
        errs
    }

    pub fn time_zone(&self) -> chrono_tz::Tz {
        self.region.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }
    pub fn municipality(&self, id: &MunicipalityId) -> Option<&Municipality> {
        self.municipalities.iter().find(|m| &m.id == id)
    }
    pub fn authority(&self, id: &AuthorityId) -> Option<&Authority> {
        self.authorities.iter().find(|a| &a.id == id)
    }
    pub fn category(&self, id: &CategoryId) -> Option<&Category> {
        self.categories.iter().find(|c| &c.id == id)
    }
    /// A category messages can be filed in: one with no children.
    pub fn is_leaf(&self, id: &CategoryId) -> bool {
        self.category(id).is_some() && !self.categories.iter().any(|c| c.parent_id.as_ref() == Some(id))
    }
    /// The answer term of a category: its own, its group's, or the region's default.
    pub fn deadline_days(&self, id: &CategoryId) -> u16 {
        self.category_setting(id, |c| c.deadline_working_days).unwrap_or(self.region.default_deadline_working_days)
    }
    /// The duplicate-linking radius of a category: its own, its group's, or the region's default.
    pub fn duplicate_radius_m(&self, id: &CategoryId) -> u32 {
        self.category_setting(id, |c| c.duplicate_radius_m).unwrap_or(self.region.default_duplicate_radius_m)
    }
    fn category_setting<T>(&self, id: &CategoryId, get: impl Fn(&Category) -> Option<T>) -> Option<T> {
        let c = self.category(id)?;
        get(c).or_else(|| c.parent_id.as_ref().and_then(|p| self.category(p)).and_then(&get))
    }
    /// Lookup tables for hot paths.
    pub fn authority_names(&self) -> HashMap<&AuthorityId, &str> {
        self.authorities.iter().map(|a| (&a.id, a.name.as_str())).collect()
    }
}

fn unique_ids<'a>(errs: &mut Vec<RegionError>, kind: &str, ids: impl Iterator<Item = &'a str>) -> HashSet<&'a str> {
    let mut set = HashSet::new();
    for id in ids {
        if !set.insert(id) {
            errs.push(RegionError::new(format!("{kind}[id={id}]"), "идентификатор повторяется"));
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_region;

    #[test]
    fn the_sample_region_is_valid() {
        sample_region().validate().unwrap();
    }

    #[test]
    fn retention_defaults_when_absent_and_is_bounded() {
        let mut doc = serde_json::to_value(sample_region()).unwrap();
        doc.as_object_mut().unwrap().remove("retention");
        let r: RegionData = serde_json::from_value(doc).unwrap();
        assert_eq!(
            r.retention,
            Retention {
                idempotency_hours: 24,
                notification_days: 365,
                unattached_photo_hours: 24,
                closed_message_years: 5
            }
        );
        let mut bad = sample_region();
        bad.retention = Retention {
            idempotency_hours: 0,
            notification_days: 7,
            unattached_photo_hours: 24 * 31,
            closed_message_years: 0,
        };
        let entries: Vec<String> = bad.validate().unwrap_err().into_iter().map(|e| e.entry).collect();
        assert_eq!(
            entries,
            [
                "retention.idempotency_hours",
                "retention.notification_days",
                "retention.unattached_photo_hours",
                "retention.closed_message_years"
            ]
        );
        let now = chrono::DateTime::parse_from_rfc3339("2031-03-01T00:00:00Z").unwrap().to_utc();
        let before = Retention::default().closed_messages_before(now);
        assert_eq!(before, chrono::DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z").unwrap().to_utc());
    }

    #[test]
    fn an_unknown_id_in_a_rule_is_named_with_its_entry() {
        let mut r = sample_region();
        r.routing_rules.push(RoutingRule {
            category_id: CategoryId::parse("no-such").unwrap(),
            municipality_id: None,
            authority_id: AuthorityId::parse("dzhkh").unwrap(),
        });
        let errs = r.validate().unwrap_err();
        assert!(errs
            .iter()
            .any(|e| e.entry.contains("category_id=no-such") && e.problem.contains("неизвестная категория «no-such»")));
    }

    #[test]
    fn a_region_code_that_cannot_start_a_message_number_is_refused() {
        let mut r = sample_region();
        r.region.code = "tyumen-72".into();
        let errs = r.validate().unwrap_err();
        assert!(errs.iter().any(|e| e.entry == "region.code" && e.problem.contains("72-000123")), "{errs:?}");
    }

    #[test]
    fn category_terms_fall_back_to_group_then_region() {
        let r = sample_region();
        assert_eq!(r.deadline_days(&CategoryId::parse("zhkh-otoplenie").unwrap()), 3);
        assert_eq!(r.deadline_days(&CategoryId::parse("dorogi-yamy").unwrap()), 8);
        assert!(r.is_leaf(&CategoryId::parse("dorogi-yamy").unwrap()));
        assert!(!r.is_leaf(&CategoryId::parse("dorogi").unwrap()));
    }

    #[test]
    fn keywords_are_optional_bounded_and_russian() {
        let mut doc = serde_json::to_value(sample_region()).unwrap();
        for c in doc["categories"].as_array_mut().unwrap() {
            c.as_object_mut().unwrap().remove("keywords");
        }
        let r: RegionData = serde_json::from_value(doc).unwrap();
        r.validate().unwrap();
        assert!(r.categories.iter().all(|c| c.keywords.is_empty()));

        let mut bad = sample_region();
        let long = "я".repeat(MAX_KEYWORD_CHARS + 1);
        bad.categories[1].keywords =
            vec!["".into(), long, "pothole".into(), "яма".into(), "Яма".into(), " лужа".into()];
        bad.categories[2].keywords = (0..=MAX_KEYWORDS).map(|i| format!("слово {i}")).collect();
        let problems: Vec<String> = bad.validate().unwrap_err().into_iter().map(|e| e.problem).collect();
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("keywords — не больше 40")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("«pothole» — русские буквы")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("«Яма» повторяется")), "{problems:?}");
    }
}
