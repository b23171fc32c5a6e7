//! Region files (`infra/regions/<code>-<name>.toml`): TOML read here, checked by the domain's
//! `RegionData::validate`. The default region file is built into the binary, so the host starts
//! from any folder.

use anyhow::Context;
use feedback_core::region::{RegionData, RegionError};
use std::path::{Path, PathBuf};

/// The default region file, relative to the current folder.
pub const DEFAULT_PATH: &str = "infra/regions/72-tyumen.toml";

/// The default region file, built into the binary.
const EMBEDDED: &str = include_str!("../../infra/regions/72-tyumen.toml");

/// Where a command reads its region from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionSource {
    File(PathBuf),
    /// The default region file as built into the binary.
    Embedded,
}

impl RegionSource {
    /// The region file given, or else the default one: [`DEFAULT_PATH`] when it exists under the
    /// current folder, otherwise the copy built into the binary.
    pub fn resolve(given: Option<PathBuf>) -> RegionSource {
        match given {
            Some(path) => RegionSource::File(path),
            None if Path::new(DEFAULT_PATH).is_file() => RegionSource::File(DEFAULT_PATH.into()),
            None => RegionSource::Embedded,
        }
    }

    /// Reads and validates the region; errors name the file and every bad entry.
    pub fn load(&self) -> anyhow::Result<RegionData> {
        match self {
            RegionSource::File(path) => load(path),
            RegionSource::Embedded => parse(EMBEDDED).map_err(|errs| invalid(self, &errs)),
        }
    }
}

impl std::fmt::Display for RegionSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegionSource::File(path) => write!(f, "{}", path.display()),
            RegionSource::Embedded => write!(f, "the built-in {DEFAULT_PATH}"),
        }
    }
}

impl From<PathBuf> for RegionSource {
    fn from(path: PathBuf) -> RegionSource {
        RegionSource::File(path)
    }
}

/// Reads and validates a region file; errors name the file and every bad entry.
pub fn load(path: &Path) -> anyhow::Result<RegionData> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading region file {}", path.display()))?;
    parse(&text).map_err(|errs| invalid(&path.display(), &errs))
}

fn invalid(origin: &dyn std::fmt::Display, errs: &[RegionError]) -> anyhow::Error {
    let list: Vec<String> = errs.iter().map(|e| format!("  - {e}")).collect();
    anyhow::anyhow!("{origin}: invalid reference data:\n{}", list.join("\n"))
}

/// Parses and validates a region file's text. Errors name the entry at fault.
pub fn parse(text: &str) -> Result<RegionData, Vec<RegionError>> {
    let data: RegionData = toml::from_str(text)
        .map_err(|e| vec![RegionError { entry: "region file".to_owned(), problem: e.message().to_owned() }])?;
    data.validate()?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tyumen() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(DEFAULT_PATH)
    }

    #[test]
    fn toml_errors_name_the_file_position() {
        let errs = parse("[region]\ncode = 72\n").unwrap_err();
        assert_eq!(errs[0].entry, "region file");
    }

    #[test]
    fn the_demo_region_file_loads() {
        let region = load(&tyumen()).unwrap();
        assert!(region.municipalities.len() >= 20);
        assert!(region.authorities.len() >= 15 + region.municipalities.len());
        let groups = region.categories.iter().filter(|c| c.parent_id.is_none()).count();
        assert!(groups >= 6 && region.categories.len() - groups >= 25);
        assert!(region.calendar.holidays.iter().any(|d| d.to_string() == "2026-12-31"));
    }

    #[test]
    fn the_built_in_region_is_the_default_region_file() {
        assert_eq!(RegionSource::Embedded.load().unwrap(), load(&tyumen()).unwrap());
        assert_eq!(RegionSource::resolve(Some(tyumen())), RegionSource::File(tyumen()));
        assert_eq!(RegionSource::Embedded.to_string(), "the built-in infra/regions/72-tyumen.toml");
    }

    #[test]
    fn an_unknown_id_in_a_rule_names_the_file_and_the_entry() {
        let text = std::fs::read_to_string(tyumen()).unwrap();
        let broken = text.replacen("authority_id = \"adm-tyumen\"", "authority_id = \"adm-nowhere\"", 1);
        let file = std::env::temp_dir().join(format!("broken-region-{}.toml", std::process::id()));
        std::fs::write(&file, broken).unwrap();
        let err = load(&file).unwrap_err().to_string();
        let _ = std::fs::remove_file(&file);
        assert!(err.contains(&file.display().to_string()), "{err}");
        assert!(err.contains("routing_rules[") && err.contains("неизвестный орган власти «adm-nowhere»"), "{err}");
    }
}
