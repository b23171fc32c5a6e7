//! Residents' e-mail from the local host: the SMTP transport (`--smtp-url`), the delivery
//! pipeline over the embedded store, the loop that attempts due deliveries and the digest run
//! (one-click unsubscribe is `submit-message`'s route). Without `--smtp-url` no e-mail channel exists and
//! no e-mail delivery is planned; in-portal notifications are unaffected.
//!
//! Deliveries are kept in the store, which is their outbox: the consumer loop attempts those
//! due, so a crash between planning and sending loses nothing.

use crate::host::Platform;
use feedback_core::delivery::Transport;
use feedback_core::dispatch::{Deliveries, DeliverySettings};
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

/// The pipeline with the transports the host has: `notify`'s sender, as on AWS.
pub struct Mail {
    pub sender: notify::Sender<SqliteStore, SystemClock>,
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
            transports.push(Arc::new(smtp));
        }
        transports.extend(others);
        let settings = DeliverySettings {
            channels: transports.iter().map(|t| t.channel()).collect(),
            portal_url: base_url.to_owned(),
            api_url: base_url.to_owned(),
            unsubscribe_secret: Arc::from(secret),
        };
        let deliveries = Deliveries::new(store, SystemClock, reference, settings);
        Ok(Mail { sender: notify::Sender::new(deliveries, transports, SEND_TIMEOUT) })
    }

    /// The pipeline, which plans a stored notification's deliveries.
    pub fn deliveries(&self) -> &Deliveries<SqliteStore, SystemClock> {
        &self.sender.deliveries
    }

    /// Attempts every due delivery (at most [`PAGES`] pages), all at once, each through its
    /// channel's transport; how many were sent, retried or died.
    pub async fn deliver_due(&self) -> anyhow::Result<usize> {
        let due = self.sender.deliveries.due(PAGES).await?;
        Ok(self.sender.attempt_all(due).await)
    }
}

/// Plans and sends the digests of the periods that ended.
pub async fn digests_once(p: &Platform) -> anyhow::Result<usize> {
    let Some(mail) = p.mail.get() else { return Ok(0) };
    Ok(mail.deliveries().plan_digests().await?.len())
}
