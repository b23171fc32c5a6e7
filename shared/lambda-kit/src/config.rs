//! Function configuration from the environment: the variables a function's ports need (see
//! [`Function::variables`]) and the optional settings. Fails fast and names the missing variable.

use crate::functions::{env, Function};
use crate::Settings;
use feedback_core::ports::QueueName;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// The function whose ports this configures.
    pub function: &'static Function,
    /// DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
    /// The `submitted` queue (`SUBMITTED_QUEUE_URL`), for functions that send to it.
    pub submitted_queue_url: Option<String>,
    /// The `notifications` queue (`NOTIFICATIONS_QUEUE_URL`), for functions that send to it.
    pub notifications_queue_url: Option<String>,
    /// The `webhook_events` queue (`WEBHOOK_EVENTS_QUEUE_URL`), for functions that publish events.
    pub webhook_events_queue_url: Option<String>,
    /// The `webhook_deliveries` queue (`WEBHOOK_DELIVERIES_QUEUE_URL`).
    pub webhook_deliveries_queue_url: Option<String>,
    /// The private photos bucket (`PHOTOS_BUCKET`), for functions that use photo objects.
    pub photos_bucket: Option<String>,
    /// The SSM parameter holding the voter-roll secret (`VOTER_SECRET_PARAM`).
    pub voter_secret_param: Option<String>,
    /// The SSM path of the polls' private ballot keys (`BALLOT_KEYS_PATH`).
    pub ballot_keys_path: Option<String>,
    /// The SSM parameter of the VAPID key and the contact push services are given
    /// (`VAPID_KEY_PARAM`, `VAPID_SUBJECT`), for a function that sends Web Push.
    pub vapid: Option<(String, String)>,
    /// The VAPID public key (`VAPID_PUBLIC_KEY`), for the function that serves it, when set.
    pub vapid_public_key: Option<String>,
    /// Residents' e-mail, for a function that sends it.
    pub mail: Option<MailEnv>,
    /// The SSM parameter of the unsubscribe tokens' key (`UNSUBSCRIBE_KEY_PARAM`), for a
    /// function that signs or verifies them.
    pub unsubscribe_key_param: Option<String>,
    /// The settings, from the variables of [`Settings::VARIABLES`] or their defaults.
    pub settings: Settings,
}

/// What a function that sends residents' e-mail reads (`Outbound::Mail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailEnv {
    /// `MAIL_FROM`.
    pub from: String,
    /// `SES_IDENTITY`.
    pub identity: String,
    /// `SES_CONFIGURATION_SET`.
    pub configuration_set: String,
    /// `PORTAL_URL`.
    pub portal_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {0} is not valid: {1}")]
    Invalid(&'static str, String),
    #[error("{0} does not declare {1} among its ports (feedback_lambda::functions)")]
    Undeclared(&'static str, &'static str),
}

impl Config {
    /// Reads the function's variables from the process environment.
    pub fn from_env(function: &'static Function) -> Result<Config, ConfigError> {
        Self::from_lookup(function, |k| std::env::var(k).ok())
    }

    /// Reads exactly the variables the function requires, and the optional settings.
    pub fn from_lookup(
        function: &'static Function,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let required = |key: &'static str| get(key).filter(|v| !v.is_empty()).ok_or(ConfigError::Missing(key));
        let needed = |key: &'static str| -> Result<Option<String>, ConfigError> {
            if function.variables().contains(&key) {
                required(key).map(Some)
            } else {
                Ok(None)
            }
        };
        let num = |key: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(key) {
                None => Ok(default),
                Some(v) => v.parse().map_err(|_| ConfigError::Invalid(key, v)),
            }
        };
        let count = |key: &'static str, default: u32| -> Result<u32, ConfigError> {
            let n = num(key, default.into())?;
            u32::try_from(n).map_err(|_| ConfigError::Invalid(key, n.to_string()))
        };
        let defaults = Settings::default();
        let stuck_after = num(env::STUCK_AFTER_SECS, defaults.stuck_after.num_seconds().unsigned_abs())?;
        Ok(Config {
            function,
            table_name: required(env::TABLE_NAME)?,
            submitted_queue_url: needed(env::SUBMITTED_QUEUE_URL)?,
            notifications_queue_url: needed(env::NOTIFICATIONS_QUEUE_URL)?,
            webhook_events_queue_url: needed(env::WEBHOOK_EVENTS_QUEUE_URL)?,
            webhook_deliveries_queue_url: needed(env::WEBHOOK_DELIVERIES_QUEUE_URL)?,
            photos_bucket: needed(env::PHOTOS_BUCKET)?,
            voter_secret_param: needed(env::VOTER_SECRET_PARAM)?,
            ballot_keys_path: needed(env::BALLOT_KEYS_PATH)?,
            vapid: needed(env::VAPID_KEY_PARAM)?.zip(needed(env::VAPID_SUBJECT)?),
            vapid_public_key: get(env::VAPID_PUBLIC_KEY)
                .filter(|v| !v.trim().is_empty() && function.optional_variables().contains(&env::VAPID_PUBLIC_KEY)),
            mail: match needed(env::MAIL_FROM)? {
                None => None,
                Some(from) => Some(MailEnv {
                    from,
                    identity: required(env::SES_IDENTITY)?,
                    configuration_set: required(env::SES_CONFIGURATION_SET)?,
                    portal_url: required(env::PORTAL_URL)?,
                }),
            },
            unsubscribe_key_param: needed(env::UNSUBSCRIBE_KEY_PARAM)?,
            settings: Settings {
                submissions_per_hour: count(env::SUBMISSIONS_PER_HOUR, defaults.submissions_per_hour)?,
                comments_per_hour: count(env::COMMENTS_PER_HOUR, defaults.comments_per_hour)?,
                reference_ttl: Duration::from_secs(num(env::REFERENCE_TTL_SECS, defaults.reference_ttl.as_secs())?),
                stuck_after: chrono::Duration::seconds(
                    i64::try_from(stuck_after)
                        .map_err(|_| ConfigError::Invalid(env::STUCK_AFTER_SECS, stuck_after.to_string()))?,
                ),
            },
        })
    }

    /// A queue's URL, for a function that sends to it.
    pub fn queue_url(&self, queue: QueueName) -> Result<String, ConfigError> {
        let url = match queue {
            QueueName::Submitted => &self.submitted_queue_url,
            QueueName::Notifications => &self.notifications_queue_url,
            QueueName::WebhookEvents => &self.webhook_events_queue_url,
            QueueName::WebhookDeliveries => &self.webhook_deliveries_queue_url,
        };
        url.clone().ok_or(ConfigError::Undeclared(self.function.name, env::queue_url(queue)))
    }

    /// The photos bucket, for a function that uses photo objects.
    pub fn photos_bucket(&self) -> Result<String, ConfigError> {
        self.photos_bucket.clone().ok_or(ConfigError::Undeclared(self.function.name, env::PHOTOS_BUCKET))
    }

    /// The voter-roll secret's parameter name, for a function that reads the secret.
    pub fn voter_secret_param(&self) -> Result<String, ConfigError> {
        self.voter_secret_param.clone().ok_or(ConfigError::Undeclared(self.function.name, env::VOTER_SECRET_PARAM))
    }

    /// The VAPID key's parameter name and the subject, for a function that sends Web Push.
    pub fn vapid(&self) -> Result<(String, String), ConfigError> {
        self.vapid.clone().ok_or(ConfigError::Undeclared(self.function.name, env::VAPID_KEY_PARAM))
    }

    /// The e-mail settings, for a function that sends residents' e-mail.
    pub fn mail(&self) -> Result<MailEnv, ConfigError> {
        self.mail.clone().ok_or(ConfigError::Undeclared(self.function.name, env::MAIL_FROM))
    }

    /// The unsubscribe key's parameter name, for a function that signs or verifies the tokens.
    pub fn unsubscribe_key_param(&self) -> Result<String, ConfigError> {
        self.unsubscribe_key_param
            .clone()
            .ok_or(ConfigError::Undeclared(self.function.name, env::UNSUBSCRIBE_KEY_PARAM))
    }

    /// The SSM path of the ballot keys, for a function that keeps, reads or destroys them.
    pub fn ballot_keys_path(&self) -> Result<String, ConfigError> {
        self.ballot_keys_path.clone().ok_or(ConfigError::Undeclared(self.function.name, env::BALLOT_KEYS_PATH))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::{ANALYTICS, POLLS, SUBMIT_MESSAGE};

    #[test]
    fn a_missing_table_is_named() {
        let err = Config::from_lookup(&ANALYTICS, |_| None).unwrap_err();
        assert_eq!(err.to_string(), "environment variable TABLE_NAME is not set");
    }

    #[test]
    fn defaults_apply_and_bad_numbers_are_named() {
        let c = Config::from_lookup(&ANALYTICS, |k| (k == "TABLE_NAME").then(|| "t".to_string())).unwrap();
        assert_eq!(c.settings.submissions_per_hour, 20);
        let err = Config::from_lookup(&ANALYTICS, |k| match k {
            "TABLE_NAME" => Some("t".into()),
            "SUBMISSIONS_PER_HOUR" => Some("many".into()),
            _ => None,
        })
        .unwrap_err();
        assert!(err.to_string().contains("SUBMISSIONS_PER_HOUR"));
    }

    #[test]
    fn a_function_requires_the_variables_of_its_ports_and_reads_no_other() {
        let all = |k: &str| (!Settings::VARIABLES.contains(&k)).then(|| format!("value of {k}"));
        let err =
            Config::from_lookup(&SUBMIT_MESSAGE, |k| (k != "PHOTOS_BUCKET").then(|| all(k)).flatten()).unwrap_err();
        assert_eq!(err.to_string(), "environment variable PHOTOS_BUCKET is not set");
        let polls = Config::from_lookup(&POLLS, all).unwrap();
        assert_eq!(polls.voter_secret_param().unwrap(), "value of VOTER_SECRET_PARAM");
        assert!(polls.submitted_queue_url.is_none() && polls.photos_bucket.is_none() && polls.vapid.is_none());
        assert_eq!(
            polls.queue_url(QueueName::Submitted).unwrap_err().to_string(),
            "polls does not declare SUBMITTED_QUEUE_URL among its ports (feedback_lambda::functions)"
        );
    }
}
