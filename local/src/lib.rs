//! The local host `feedback`: the whole platform in one process, with no AWS account.

pub mod auth;
pub mod blobs;
pub mod datadir;
pub mod events;
pub mod host;
pub mod limits;
pub mod mail;
pub mod manifest;
pub mod reconcile;
pub mod region_file;
pub mod seed;
pub mod web;

/// Parses `500ms`, `5s`, `2m` or `1h`.
pub fn parse_duration(raw: &str) -> Result<std::time::Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (num, unit) = raw.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("{raw:?} is not a duration such as 5s or 500ms"))?;
    let d = match unit {
        "ms" => std::time::Duration::from_millis(n),
        "s" | "" => std::time::Duration::from_secs(n),
        "m" => std::time::Duration::from_secs(n * 60),
        "h" => std::time::Duration::from_secs(n * 3600),
        _ => return Err(format!("{raw:?} has an unknown unit; use ms, s, m or h")),
    };
    if d.is_zero() {
        return Err("the duration must be positive".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("five").is_err());
        assert!(parse_duration("5d").is_err());
    }
}
