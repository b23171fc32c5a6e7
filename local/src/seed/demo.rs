//! The demo model of a region (`<region file>.demo.toml`): how often each category is filed and
//! when, where the municipalities are and how texts name them, the streets and routes residents
//! write about, and every text the simulated people write. Read from TOML and checked before a run
//! starts; the binary carries the default region's model.

use crate::region_file::RegionSource;
use anyhow::{anyhow, Context};
use feedback_core::participation::{PollKind, Question, QuestionKind};
use feedback_core::workflow::RejectReason;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The default region's model, built into the binary.
const EMBEDDED: &str = include_str!("../../../infra/regions/72-tyumen.demo.toml");

/// What the region file's demo model is, read from the file beside it or built in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Demo {
    /// The code of the region this model is for.
    pub(super) region: String,
    /// Seasonal factors by name, January to December.
    pub(super) seasons: BTreeMap<String, [f64; 12]>,
    pub(super) categories: BTreeMap<String, CategoryModel>,
    pub(super) municipalities: BTreeMap<String, MunicipalityModel>,
    pub(super) places: Places,
    pub(super) messages: MessageTexts,
    pub(super) answers: AnswerTexts,
    pub(super) redirects: Redirects,
    /// A moderator's comment by rejection reason.
    pub(super) rejections: BTreeMap<String, String>,
    pub(super) ratings: RatingTexts,
    pub(super) polls: PollTexts,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CategoryModel {
    pub(super) weight: f64,
    /// A name in `seasons`; none: as frequent all year.
    pub(super) season: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MunicipalityModel {
    /// Thousands of people.
    pub(super) population: f64,
    pub(super) lat: f64,
    pub(super) lon: f64,
    pub(super) radius_km: f64,
    /// The settlement in addresses: "Тюмень", "с. Абатское".
    pub(super) settlement: String,
    /// Where, in texts: "в Тюмени", "в селе Абатском".
    pub(super) locative: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Places {
    pub(super) city_streets: Vec<String>,
    pub(super) town_streets: Vec<String>,
    pub(super) routes: Vec<u32>,
    /// Where, in texts, for a municipality the model does not list; `{name}` is its name.
    pub(super) unknown_locative: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MessageTexts {
    pub(super) openers: Vec<String>,
    pub(super) requests: Vec<String>,
    /// The problem for a category without templates; `{category}` is its name.
    pub(super) fallback: String,
    pub(super) generic_details: Vec<String>,
    /// By category group.
    pub(super) details: BTreeMap<String, Vec<String>>,
    /// By category.
    pub(super) templates: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AnswerTexts {
    pub(super) generic: String,
    pub(super) again: String,
    pub(super) by_center: String,
    pub(super) closers: Vec<String>,
    /// By category group.
    pub(super) groups: BTreeMap<String, Vec<String>>,
    /// By category: the one answer, as is.
    pub(super) fixed: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Redirects {
    pub(super) to_center: String,
    pub(super) onward: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RatingTexts {
    pub(super) reopening: Vec<String>,
    pub(super) low: Vec<String>,
    pub(super) middling: Vec<String>,
    pub(super) high: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PollTexts {
    pub(super) few_municipalities: String,
    pub(super) many_municipalities: String,
    pub(super) text_answers: Vec<String>,
    pub(super) templates: Vec<PollTemplate>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PollTemplate {
    pub(super) kind: PollKind,
    pub(super) title: String,
    pub(super) description: String,
    pub(super) questions: Vec<Question>,
}

/// The demo model beside a region file: `X.demo.toml` for `X.toml`.
pub(super) fn demo_file(region_file: &Path) -> PathBuf {
    region_file.with_extension("demo.toml")
}

impl Demo {
    /// Parses and checks a model; errors name `origin` and every problem.
    pub(super) fn parse(text: &str, origin: &str) -> anyhow::Result<Demo> {
        let demo: Demo = toml::from_str(text).map_err(|e| anyhow!("{origin}: {e}"))?;
        let problems = demo.problems();
        anyhow::ensure!(problems.is_empty(), "{origin}: invalid demo model:\n  - {}", problems.join("\n  - "));
        Ok(demo)
    }

    /// The model for the region `code` read from `region`: the file beside the region file, or
    /// else the built-in model when the region is the default one.
    pub(super) fn for_region(region: &RegionSource, code: &str) -> anyhow::Result<Demo> {
        let beside = match region {
            RegionSource::File(file) => Some(demo_file(file)).filter(|path| path.exists()),
            RegionSource::Embedded => None,
        };
        let Some(path) = beside else {
            let demo = Demo::embedded()?;
            if demo.region != code {
                return Err(match region {
                    RegionSource::File(file) => anyhow!(
                        "region {code} has no demo model for `feedback seed`: {} does not exist",
                        demo_file(file).display()
                    ),
                    RegionSource::Embedded => {
                        anyhow!("the built-in demo model is of region {}, not of region {code}", demo.region)
                    }
                });
            }
            return Ok(demo);
        };
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading demo model {}", path.display()))?;
        let demo = Demo::parse(&text, &path.display().to_string())?;
        anyhow::ensure!(
            demo.region == code,
            "{} is the demo model of region {}, not of region {code}",
            path.display(),
            demo.region
        );
        Ok(demo)
    }

    /// The model built into the binary.
    pub(super) fn embedded() -> anyhow::Result<Demo> {
        Demo::parse(EMBEDDED, "the built-in demo model")
    }

    /// A season's factors; none: as frequent all year.
    pub(super) fn season(&self, name: Option<&str>) -> [f64; 12] {
        name.and_then(|n| self.seasons.get(n)).copied().unwrap_or([1.0; 12])
    }

    /// What makes the model unusable: empty lists the simulation draws from, unknown names, and
    /// numbers out of range.
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut nonempty = |what: &str, len: usize| {
            if len == 0 {
                out.push(format!("{what} is empty"));
            }
        };
        nonempty("places.city_streets", self.places.city_streets.len());
        nonempty("places.town_streets", self.places.town_streets.len());
        nonempty("places.routes", self.places.routes.len());
        nonempty("messages.openers", self.messages.openers.len());
        nonempty("messages.requests", self.messages.requests.len());
        nonempty("messages.generic_details", self.messages.generic_details.len());
        nonempty("answers.closers", self.answers.closers.len());
        nonempty("ratings.reopening", self.ratings.reopening.len());
        nonempty("ratings.low", self.ratings.low.len());
        nonempty("ratings.middling", self.ratings.middling.len());
        nonempty("ratings.high", self.ratings.high.len());
        nonempty("polls.text_answers", self.polls.text_answers.len());
        nonempty("polls.templates", self.polls.templates.len());
        for (table, lists) in [
            ("messages.details", &self.messages.details),
            ("messages.templates", &self.messages.templates),
            ("answers.groups", &self.answers.groups),
        ] {
            for (key, list) in lists {
                nonempty(&format!("{table}.{key}"), list.len());
            }
        }
        for (i, poll) in self.polls.templates.iter().enumerate() {
            nonempty(&format!("polls.templates[{i}].questions"), poll.questions.len());
            for (j, q) in poll.questions.iter().enumerate() {
                if q.kind != QuestionKind::Text {
                    nonempty(&format!("polls.templates[{i}].questions[{j}].options"), q.options.len());
                }
            }
        }
        for (name, factors) in &self.seasons {
            if factors.iter().any(|f| !f.is_finite() || *f < 0.0) {
                out.push(format!("seasons.{name}: factors must be finite and not negative"));
            }
        }
        for (id, c) in &self.categories {
            if !c.weight.is_finite() || c.weight < 0.0 {
                out.push(format!("categories.{id}: weight must be finite and not negative"));
            }
            if let Some(season) = c.season.as_deref().filter(|s| !self.seasons.contains_key(*s)) {
                out.push(format!("categories.{id}: unknown season {season:?}"));
            }
        }
        for (id, m) in &self.municipalities {
            if !(m.population.is_finite() && m.population > 0.0) {
                out.push(format!("municipalities.{id}: population must be positive"));
            }
            if !((-90.0..=90.0).contains(&m.lat) && (-180.0..=180.0).contains(&m.lon)) {
                out.push(format!("municipalities.{id}: lat and lon must be a point on Earth"));
            }
            if !(m.radius_km.is_finite() && m.radius_km > 0.0) {
                out.push(format!("municipalities.{id}: radius_km must be positive"));
            }
        }
        for reason in self.rejections.keys() {
            if reason.parse::<RejectReason>().is_err() {
                out.push(format!("rejections.{reason}: not a rejection reason"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tyumen() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/regions/72-tyumen.toml")
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("feedback-demo-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_built_in_model_is_the_file_beside_the_default_region() {
        assert_eq!(demo_file(&tyumen()).file_name().unwrap(), "72-tyumen.demo.toml");
        assert_eq!(std::fs::read_to_string(demo_file(&tyumen())).unwrap(), EMBEDDED);
        let demo = Demo::for_region(&tyumen().into(), "72").unwrap();
        assert_eq!(demo.region, "72");
        assert_eq!(demo.polls.templates.len(), 8);
    }

    #[test]
    fn a_region_file_without_a_model_beside_it_gets_the_built_in_one_only_for_the_default_region() {
        let dir = temp("fallback");
        let file = dir.join("72-copy.toml");
        std::fs::copy(tyumen(), &file).unwrap();
        assert_eq!(Demo::for_region(&file.clone().into(), "72").unwrap().region, "72");
        let err = Demo::for_region(&dir.join("99-elsewhere.toml").into(), "99").unwrap_err().to_string();
        assert!(err.contains("region 99 has no demo model") && err.contains("99-elsewhere.demo.toml"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_model_beside_the_region_file_is_read_and_must_name_its_region() {
        let dir = temp("beside");
        let file = dir.join("99-elsewhere.toml");
        let text =
            EMBEDDED.replacen("region = \"72\"", "region = \"99\"", 1).replacen("\"Республики\"", "\"Садовая\"", 1);
        std::fs::write(demo_file(&file), &text).unwrap();
        let demo = Demo::for_region(&file.clone().into(), "99").unwrap();
        assert_eq!(demo.places.city_streets[0], "Садовая");
        let err = Demo::for_region(&file.clone().into(), "98").unwrap_err().to_string();
        assert!(err.contains("99-elsewhere.demo.toml is the demo model of region 99, not of region 98"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_broken_model_is_an_error_naming_the_file_and_the_problem() {
        let dir = temp("broken");
        let file = dir.join("72-tyumen.toml");
        std::fs::write(demo_file(&file), EMBEDDED.replacen("[places]", "[places\n", 1)).unwrap();
        let err = format!("{:#}", Demo::for_region(&file.clone().into(), "72").unwrap_err());
        assert!(err.contains("72-tyumen.demo.toml") && err.contains("line"), "{err}");

        let typo = EMBEDDED.replacen("weight = 4.0, season = \"heating\"", "weight = 4.0, season = \"heat\"", 1);
        let err = Demo::parse(&typo, "typo.toml").unwrap_err().to_string();
        assert!(
            err.contains("typo.toml") && err.contains("categories.zhkh-otoplenie: unknown season \"heat\""),
            "{err}"
        );

        let empty = EMBEDDED.replacen("routes = [", "routes = [] # [", 1);
        let err = Demo::parse(&empty, "empty.toml").unwrap_err().to_string();
        assert!(err.contains("places.routes is empty"), "{err}");

        let unknown = EMBEDDED.replacen("[redirects]", "[redirects]\nback = \"x\"", 1);
        let err = Demo::parse(&unknown, "unknown.toml").unwrap_err().to_string();
        assert!(err.contains("unknown field `back`"), "{err}");

        let reason = EMBEDDED.replacen("[rejections]", "[rejections]\nrude = \"x\"", 1);
        let err = Demo::parse(&reason, "reason.toml").unwrap_err().to_string();
        assert!(err.contains("rejections.rude: not a rejection reason"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
