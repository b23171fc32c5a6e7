//! Region files (`infra/regions/<code>-<name>.toml`): TOML read here, checked by the domain's
//! `RegionData::validate`.

use feedback_core::region::{RegionData, RegionError};

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

    #[test]
    fn toml_errors_name_the_file_position() {
        let errs = parse("[region]\ncode = 72\n").unwrap_err();
        assert_eq!(errs[0].entry, "region file");
    }
}
