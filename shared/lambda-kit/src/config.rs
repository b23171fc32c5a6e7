//! Function configuration from the environment. Fails fast and names the missing variable.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
    /// The `submitted` queue (`SUBMITTED_QUEUE_URL`), for functions that enqueue routing.
    pub submitted_queue_url: Option<String>,
    /// The `notifications` queue (`NOTIFICATIONS_QUEUE_URL`).
    pub notifications_queue_url: Option<String>,
    /// The private photos bucket (`PHOTOS_BUCKET`).
    pub photos_bucket: Option<String>,
    /// The SSM parameter holding the voter-roll secret (`VOTER_SECRET_PARAM`).
    pub voter_secret_param: Option<String>,
    /// Comments a citizen may post per rolling hour (`COMMENTS_PER_HOUR`, default 30).
    pub comments_per_hour: u32,
    /// Per-citizen submissions per hour (`SUBMISSIONS_PER_HOUR`, default 20).
    pub submissions_per_hour: u32,
    /// How long reference data is cached (`REFERENCE_TTL_SECS`, default 30).
    pub reference_ttl: Duration,
    /// Messages in `submitted` longer than this are re-enqueued (`STUCK_AFTER_SECS`, default 120).
    pub stuck_after: chrono::Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {0} is not valid: {1}")]
    Invalid(&'static str, String),
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let table_name = get("TABLE_NAME").filter(|v| !v.is_empty()).ok_or(ConfigError::Missing("TABLE_NAME"))?;
        let num = |key: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(key) {
                None => Ok(default),
                Some(v) => v.parse().map_err(|_| ConfigError::Invalid(key, v)),
            }
        };
        let defaults = crate::Settings::default();
        Ok(Config {
            table_name,
            submitted_queue_url: get("SUBMITTED_QUEUE_URL").filter(|v| !v.is_empty()),
            notifications_queue_url: get("NOTIFICATIONS_QUEUE_URL").filter(|v| !v.is_empty()),
            photos_bucket: get("PHOTOS_BUCKET").filter(|v| !v.is_empty()),
            voter_secret_param: get("VOTER_SECRET_PARAM").filter(|v| !v.is_empty()),
            comments_per_hour: num("COMMENTS_PER_HOUR", defaults.comments_per_hour.into())? as u32,
            submissions_per_hour: num("SUBMISSIONS_PER_HOUR", defaults.submissions_per_hour.into())? as u32,
            reference_ttl: Duration::from_secs(num("REFERENCE_TTL_SECS", defaults.reference_ttl.as_secs())?),
            stuck_after: chrono::Duration::seconds(
                num("STUCK_AFTER_SECS", defaults.stuck_after.num_seconds() as u64)? as i64
            ),
        })
    }

    /// The photos bucket, required by the function that signs photo URLs.
    pub fn require_photos_bucket(&self) -> Result<String, ConfigError> {
        self.photos_bucket.clone().ok_or(ConfigError::Missing("PHOTOS_BUCKET"))
    }

    /// The voter-roll secret's parameter name, required by the participation functions.
    pub fn require_voter_secret_param(&self) -> Result<String, ConfigError> {
        self.voter_secret_param.clone().ok_or(ConfigError::Missing("VOTER_SECRET_PARAM"))
    }

    /// The `submitted` queue URL, required by functions that enqueue.
    pub fn require_submitted_queue(&self) -> Result<String, ConfigError> {
        self.submitted_queue_url.clone().ok_or(ConfigError::Missing("SUBMITTED_QUEUE_URL"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_table_is_named() {
        let err = Config::from_lookup(|_| None).unwrap_err();
        assert_eq!(err.to_string(), "environment variable TABLE_NAME is not set");
    }

    #[test]
    fn defaults_apply_and_bad_numbers_are_named() {
        let c = Config::from_lookup(|k| (k == "TABLE_NAME").then(|| "t".to_string())).unwrap();
        assert_eq!(c.submissions_per_hour, 20);
        let err = Config::from_lookup(|k| match k {
            "TABLE_NAME" => Some("t".into()),
            "SUBMISSIONS_PER_HOUR" => Some("many".into()),
            _ => None,
        })
        .unwrap_err();
        assert!(err.to_string().contains("SUBMISSIONS_PER_HOUR"));
    }
}
