//! The stack a function runs in, read from its environment once per cold start: the table, the
//! queues, the photos bucket and the voter-roll secret, and the adapters over them.

use crate::{sdk_config, DynamoStore, QueueUrls, S3Blobs, SqsQueue};
use feedback_core::participation::VoterSecret;
use feedback_core::photo::BlobUrls;
use feedback_core::service::Reference;
use feedback_core::SystemClock;
use feedback_lambda::config::ConfigError;
use feedback_lambda::{Config, Deps, Settings};
use std::sync::Arc;

/// The function's environment, the SDK configuration, the store and the reference-data cache.
/// The queues, the bucket and the secret are built on request: only the functions that use them
/// require their variables.
pub struct Stack {
    config: Config,
    settings: Settings,
    sdk: aws_config::SdkConfig,
    store: DynamoStore,
    reference: Arc<Reference<DynamoStore>>,
}

impl Stack {
    /// Reads the environment (`feedback_lambda::Config`) and the SDK configuration.
    pub async fn from_env() -> Result<Stack, ConfigError> {
        let config = Config::from_env()?;
        let sdk = sdk_config().await;
        let settings = Settings::from(&config);
        let deps = Deps::new(DynamoStore::from_conf(&sdk, &config.table_name), (), SystemClock, &settings);
        Ok(Stack { config, settings, sdk, store: deps.store, reference: deps.reference })
    }

    /// The host-independent settings the services are built with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The SDK configuration every client of the process shares.
    pub fn sdk(&self) -> &aws_config::SdkConfig {
        &self.sdk
    }

    /// The store, the system clock and the reference-data cache; no queue.
    pub fn deps(&self) -> Deps<DynamoStore, (), SystemClock> {
        Deps { store: self.store.clone(), queue: (), clock: SystemClock, reference: self.reference.clone() }
    }

    /// Both queues: `SUBMITTED_QUEUE_URL` (required) and `NOTIFICATIONS_QUEUE_URL`.
    pub fn queue(&self) -> Result<SqsQueue, ConfigError> {
        let urls = QueueUrls {
            submitted: self.config.require_submitted_queue()?,
            notifications: self.config.notifications_queue_url.clone(),
        };
        Ok(SqsQueue::from_conf(&self.sdk, urls))
    }

    /// The `submitted` queue alone (`SUBMITTED_QUEUE_URL`).
    pub fn submitted_queue(&self) -> Result<SqsQueue, ConfigError> {
        let urls = QueueUrls { submitted: self.config.require_submitted_queue()?, notifications: None };
        Ok(SqsQueue::from_conf(&self.sdk, urls))
    }

    /// The private photos bucket (`PHOTOS_BUCKET`), which signs the photo URLs.
    pub fn photo_blobs(&self) -> anyhow::Result<Arc<dyn BlobUrls>> {
        Ok(Arc::new(S3Blobs::from_conf(&self.sdk, self.config.require_photos_bucket()?)?))
    }

    /// The voter-roll secret, read from the SSM parameter `VOTER_SECRET_PARAM` names.
    pub async fn voter_secret(&self) -> anyhow::Result<VoterSecret> {
        crate::voter_secret(&self.sdk, &self.config.require_voter_secret_param()?).await
    }
}
