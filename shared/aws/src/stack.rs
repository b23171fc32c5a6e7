//! The stack a function runs in, read from its environment once per cold start: the table, and
//! the queues, the photos bucket, the voter-roll secret and the ballot keys where the function declares them
//! (`feedback_lambda::functions`), and the adapters over them.

use crate::{sdk_config, DynamoStore, QueueUrls, S3Blobs, SqsQueue};
use feedback_core::delivery::Transport;
use feedback_core::dispatch::DeliverySettings;
use feedback_core::participation::{PollSecrets, VoterSecret};
use feedback_core::photo::BlobUrls;
use feedback_core::ports::QueueName;
use feedback_core::service::Reference;
use feedback_core::SystemClock;
use feedback_lambda::config::ConfigError;
use feedback_lambda::functions::Function;
use feedback_lambda::{Config, Deps, Settings};
use std::sync::Arc;

/// The function's environment, the SDK configuration, the store and the reference-data cache.
/// The queues, the bucket and the secret are built on request, and only for a function that
/// declares them: it requires exactly their variables.
pub struct Stack {
    config: Config,
    sdk: aws_config::SdkConfig,
    store: DynamoStore,
    reference: Arc<Reference<DynamoStore>>,
}

impl Stack {
    /// Reads the function's variables (`Function::variables`, `Settings::VARIABLES`) and the SDK
    /// configuration.
    pub async fn from_env(function: &'static Function) -> Result<Stack, ConfigError> {
        crate::preload_tls_roots();
        let config = Config::from_env(function)?;
        let sdk = sdk_config().await;
        let deps = Deps::new(DynamoStore::from_conf(&sdk, &config.table_name), (), SystemClock, &config.settings);
        Ok(Stack { config, sdk, store: deps.store, reference: deps.reference })
    }

    /// The host-independent settings the services are built with.
    pub fn settings(&self) -> &Settings {
        &self.config.settings
    }

    /// The SDK configuration every client of the process shares.
    pub fn sdk(&self) -> &aws_config::SdkConfig {
        &self.sdk
    }

    /// The store, the system clock and the reference-data cache; no queue.
    pub fn deps(&self) -> Deps<DynamoStore, (), SystemClock> {
        Deps { store: self.store.clone(), queue: (), clock: SystemClock, reference: self.reference.clone() }
    }

    /// The queues the function sends to (`SUBMITTED_QUEUE_URL`, `NOTIFICATIONS_QUEUE_URL`).
    pub fn queue(&self) -> Result<SqsQueue, ConfigError> {
        let sends = self.config.function.sends;
        if sends.is_empty() {
            return Err(ConfigError::Undeclared(self.config.function.name, "a queue"));
        }
        let url = |q: QueueName| sends.contains(&q).then(|| self.config.queue_url(q)).transpose();
        let urls = QueueUrls {
            submitted: url(QueueName::Submitted)?,
            notifications: url(QueueName::Notifications)?,
            webhook_events: url(QueueName::WebhookEvents)?,
            webhook_deliveries: url(QueueName::WebhookDeliveries)?,
        };
        Ok(SqsQueue::from_conf(&self.sdk, urls))
    }

    /// The counting consumer of the table's stream (`TABLE_STREAM_ARN`).
    pub fn counter_stream(&self) -> Result<crate::CounterStream, ConfigError> {
        if !self.config.function.reads_stream {
            return Err(ConfigError::Undeclared(self.config.function.name, "the table's stream"));
        }
        let arn = std::env::var(feedback_lambda::functions::env::TABLE_STREAM_ARN)
            .map_err(|_| ConfigError::Missing(feedback_lambda::functions::env::TABLE_STREAM_ARN))?;
        Ok(crate::CounterStream::new(&self.store, &self.sdk).with_stream_arn(arn))
    }

    /// The private photos bucket (`PHOTOS_BUCKET`), which signs the photo URLs.
    pub fn photo_blobs(&self) -> anyhow::Result<Arc<dyn BlobUrls>> {
        Ok(Arc::new(S3Blobs::from_conf(&self.sdk, self.config.photos_bucket()?)?))
    }

    /// The voter-roll secret, read from the SSM parameter `VOTER_SECRET_PARAM` names.
    pub async fn voter_secret(&self) -> anyhow::Result<VoterSecret> {
        crate::voter_secret(&self.sdk, &self.config.voter_secret_param()?).await
    }

    /// The VAPID public key `VAPID_PUBLIC_KEY` gives, checked; `None` when it is not set (the
    /// stack sends no Web Push). The private key is not read.
    pub fn push_public_key(&self) -> anyhow::Result<Option<String>> {
        self.config
            .vapid_public_key
            .as_deref()
            .map(|k| {
                feedback_push::VapidKey::check_public_key(k).map_err(|e| {
                    anyhow::anyhow!(
                        "{}: {e}; give the public half of the key",
                        feedback_lambda::functions::env::VAPID_PUBLIC_KEY
                    )
                })
            })
            .transpose()
    }

    /// The key unsubscribe tokens are signed with, read from the SSM parameter
    /// `UNSUBSCRIBE_KEY_PARAM` names.
    pub async fn unsubscribe_key(&self) -> anyhow::Result<Arc<[u8]>> {
        let key =
            crate::secure_parameter(&self.sdk, &self.config.unsubscribe_key_param()?, crate::UNSUBSCRIBE_KEY).await?;
        Ok(Arc::from(key.as_bytes()))
    }

    /// The voter-roll secret and the unsubscribe key (as [`Self::voter_secret`] and
    /// [`Self::unsubscribe_key`]), read in one SSM round trip of the cold start.
    pub async fn voter_secret_and_unsubscribe_key(&self) -> anyhow::Result<(VoterSecret, Arc<[u8]>)> {
        let (voter, unsubscribe) = (self.config.voter_secret_param()?, self.config.unsubscribe_key_param()?);
        let [voter, key] = crate::secure_parameters(
            &self.sdk,
            [(&voter, crate::VOTER_SECRET), (&unsubscribe, crate::UNSUBSCRIBE_KEY)],
        )
        .await?;
        Ok((crate::parse_voter_secret(&voter)?, Arc::from(key.as_bytes())))
    }

    /// The residents' channels of the function (`Outbound::Mail`, `Push`, `Sms`) and the
    /// pipeline's settings:
    /// - e-mail through SES from `MAIL_FROM` with `SES_CONFIGURATION_SET`;
    /// - Web Push signed with the VAPID key read from `VAPID_KEY_PARAM`, over the table's
    ///   subscriptions;
    /// - SMS through SNS (planned and sent only while the region file turns it on);
    ///
    /// links to `PORTAL_URL` (which also serves the API) and unsubscribe tokens signed with the
    /// key read from `UNSUBSCRIBE_KEY_PARAM`. A missing or damaged key stops the cold start. The
    /// two keys are read at once: each is an SSM round trip of the cold start.
    pub async fn residents_channels(&self) -> anyhow::Result<(Vec<Arc<dyn Transport>>, DeliverySettings)> {
        use feedback_lambda::functions::Outbound;
        let outbound = self.config.function.outbound;
        // The VAPID key, when the function sends Web Push, and the unsubscribe key: one SSM
        // round trip.
        let unsubscribe = self.config.unsubscribe_key_param()?;
        let (push, unsubscribe_secret) = if outbound.contains(&Outbound::Push) {
            let (vapid, subject) = self.config.vapid()?;
            let [vapid_key, unsubscribe] = crate::secure_parameters(
                &self.sdk,
                [(&vapid, crate::VAPID_KEY), (&unsubscribe, crate::UNSUBSCRIBE_KEY)],
            )
            .await?;
            let key = crate::parse_vapid_key(&vapid, &vapid_key)?;
            let sender = feedback_push::PushSender::new(key, &subject, feedback_push::EndpointPolicy::PublicHttps)?;
            (Some(sender), Arc::from(unsubscribe.as_bytes()))
        } else {
            (None, self.unsubscribe_key().await?)
        };
        let mut transports: Vec<Arc<dyn Transport>> = Vec::new();
        let mut portal_url = String::new();
        if outbound.contains(&Outbound::Mail) {
            let env = self.config.mail()?;
            let from = feedback_mail::Sender::parse(&env.from).map_err(anyhow::Error::msg)?;
            transports.push(Arc::new(crate::SesMail::from_conf(&self.sdk, from, Some(env.configuration_set))));
            portal_url = env.portal_url;
        }
        if let Some(sender) = push {
            let policy = feedback_push::EndpointPolicy::PublicHttps;
            transports.push(Arc::new(feedback_push::PushTransport::new(sender, self.store.clone(), policy)));
        }
        if outbound.contains(&Outbound::Sms) {
            transports.push(Arc::new(crate::SmsChannel(crate::SnsSms::from_conf(&self.sdk, None))));
        }
        let settings = DeliverySettings {
            channels: transports.iter().map(|t| t.channel()).collect(),
            api_url: portal_url.clone(),
            portal_url,
            unsubscribe_secret,
        };
        Ok((transports, settings))
    }

    /// The voter-roll secret and the ballot keys under the SSM path `BALLOT_KEYS_PATH` names.
    pub async fn poll_secrets(&self) -> anyhow::Result<PollSecrets> {
        Ok(PollSecrets {
            voter: self.voter_secret().await?,
            keys: Arc::new(crate::SsmKeys::from_conf(&self.sdk, self.config.ballot_keys_path()?)),
        })
    }
}
