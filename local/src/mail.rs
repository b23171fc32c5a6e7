//! Residents' e-mail from the local host: the SMTP transport (`--smtp-url`), the delivery
//! pipeline over the embedded store, the loop that attempts due deliveries and the digest run
//! (one-click unsubscribe is `submit-message`'s route). Without `--smtp-url` no e-mail channel exists and
//! no e-mail delivery is planned; in-portal notifications are unaffected.
//!
//! Deliveries are kept in the store, which is their outbox: the consumer loop attempts those
//! due, so a crash between planning and sending loses nothing.

use crate::host::Platform;
use feedback_core::delivery::{Channel, Transport};
use feedback_core::dispatch::{Attempted, Deliveries, DeliverySettings};
use feedback_core::error::ErrorChain;
use feedback_core::SystemClock;
use feedback_embedded::SqliteStore;
use std::sync::Arc;
use std::time::Duration;

/// How long one send may take before it counts as a transient failure.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);
/// Due deliveries read per pass, in pages of `feedback_core::dispatch::PAGE`.
const PAGES: usize = 5;

/// The e-mail settings of `feedback serve`.
#[derive(Debug, Clone, Default)]
pub struct MailConfig {
    /// `smtp://host:port`; none turns e-mail off.
    pub smtp_url: Option<String>,
    pub from: String,
}

/// The pipeline and the transports the host has.
pub struct Mail {
    pub deliveries: Deliveries<SqliteStore, SystemClock>,
    pub transports: Vec<Arc<dyn Transport>>,
}

impl Mail {
    /// The pipeline with the transports `config` names, its links pointing at `base_url`.
    pub fn open(
        store: SqliteStore,
        reference: Arc<feedback_core::service::Reference<SqliteStore>>,
        config: &MailConfig,
        secret: Vec<u8>,
        base_url: &str,
        others: Vec<Arc<dyn Transport>>,
    ) -> anyhow::Result<Mail> {
        let mut transports: Vec<Arc<dyn Transport>> = Vec::new();
        if let Some(url) = &config.smtp_url {
            let from = feedback_mail::Sender::parse(&config.from).map_err(anyhow::Error::msg)?;
            let smtp = feedback_mail::SmtpMail::new(url, from, SEND_TIMEOUT).map_err(anyhow::Error::msg)?;
            transports.push(Arc::new(notify::Timed { inner: Arc::new(smtp), limit: SEND_TIMEOUT }));
        }
        transports.extend(
            others.into_iter().map(|t| Arc::new(notify::Timed { inner: t, limit: SEND_TIMEOUT }) as Arc<dyn Transport>),
        );
        let settings = DeliverySettings {
            channels: transports.iter().map(|t| t.channel()).collect(),
            portal_url: base_url.to_owned(),
            api_url: base_url.to_owned(),
            unsubscribe_secret: Arc::from(secret),
        };
        Ok(Mail { deliveries: Deliveries::new(store, SystemClock, reference, settings), transports })
    }

    fn transport(&self, channel: Channel) -> Option<&Arc<dyn Transport>> {
        self.transports.iter().find(|t| t.channel() == channel)
    }

    /// Attempts every due delivery, all at once, each through its channel's transport (whose
    /// sends time out): a dead mail server delays e-mail only.
    pub async fn deliver_due(self: &Arc<Self>, region: &str) -> anyhow::Result<usize> {
        let due = self.deliveries.due(PAGES).await?;
        let mut attempts = tokio::task::JoinSet::new();
        for id in due {
            let mail = self.clone();
            attempts.spawn(async move { mail.attempt(&id).await });
        }
        let mut done = 0;
        while let Some(r) = attempts.join_next().await {
            match r {
                Ok(Attempted::Skipped) => {}
                Ok(Attempted::Dead(_)) => {
                    feedback_lambda::metrics::emit(region, feedback_lambda::metrics::Metric::DeliveriesDead, 1.0);
                    done += 1;
                }
                Ok(_) => done += 1,
                Err(e) => tracing::error!(panicked = e.is_panic(), "a delivery attempt failed"),
            }
        }
        Ok(done)
    }

    async fn attempt(&self, id: &str) -> Attempted {
        let Some(channel) = self.deliveries_channel(id).await else { return Attempted::Skipped };
        let Some(t) = self.transport(channel) else { return Attempted::Skipped };
        match self.deliveries.attempt(id, t.as_ref()).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %ErrorChain(&e), "delivery attempt failed");
                Attempted::Skipped
            }
        }
    }

    async fn deliveries_channel(&self, id: &str) -> Option<Channel> {
        use feedback_core::delivery::DeliveryStore;
        self.deliveries.store().get_delivery(id).await.ok().flatten().map(|d| d.channel)
    }
}

/// Plans and sends the digests of the periods that ended.
pub async fn digests_once(p: &Platform) -> anyhow::Result<usize> {
    let Some(mail) = p.mail.get() else { return Ok(0) };
    Ok(mail.deliveries.plan_digests().await?.len())
}
