//! The Web Push channel of the residents' delivery pipeline: one delivery reaches every browser
//! the resident turned push on in, and subscriptions a push service reports gone are removed.

use crate::sender::{Notification, PushSender, SendError as PushError, Urgency};
use crate::subscription::Subscription;
use crate::EndpointPolicy;
use async_trait::async_trait;
use feedback_core::delivery::{Address, Channel, Outgoing, SendError, Transport};
use feedback_core::ids::CitizenId;
use feedback_core::preferences::ReachStore;

/// The longest body a push notification carries, in characters.
const BODY_MAX: usize = 180;

/// Sends a delivery to the resident's browsers. The delivery's address is the resident's id:
/// the subscriptions are read when it is sent, so a browser added or removed since the planning
/// counts.
pub struct PushTransport<S> {
    sender: PushSender,
    store: S,
    policy: EndpointPolicy,
}

impl<S> PushTransport<S> {
    pub fn new(sender: PushSender, store: S, policy: EndpointPolicy) -> Self {
        Self { sender, store, policy }
    }
}

/// What the browser shows: the subject as the title, the delivery's first line as the body,
/// and the message's page.
pub fn notification_of(content: &Outgoing) -> Notification {
    let first = content.text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    let body = if first.chars().count() > BODY_MAX {
        let cut: String = first.chars().take(BODY_MAX - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        first.to_owned()
    };
    Notification { title: content.subject.clone(), body, url: content.link.clone() }
}

#[async_trait]
impl<S: ReachStore> Transport for PushTransport<S> {
    fn channel(&self) -> Channel {
        Channel::Push
    }

    /// Sent when at least one browser took it. Otherwise a transient failure is retried, and
    /// when every subscription is gone (or none is left) the channel has no address: `Gone`.
    async fn send(&self, to: &Address, content: &Outgoing) -> Result<(), SendError> {
        let citizen = CitizenId::parse(to.as_str()).map_err(|e| SendError::Permanent(e.to_string()))?;
        let stored = self.store.push_subscriptions(&citizen).await.map_err(|e| SendError::Transient(e.to_string()))?;
        let note = notification_of(content);
        let (mut sent, mut transient, mut permanent) = (0usize, None, None);
        for s in &stored {
            let result = match Subscription::parse(&s.endpoint, &s.p256dh, &s.auth, self.policy) {
                Ok(sub) => self.sender.send(&sub, &note, Urgency::Normal).await,
                Err(e) => Err(PushError::Permanent(e.to_string())),
            };
            match result {
                Ok(()) => sent += 1,
                Err(PushError::Gone) => {
                    if let Err(e) = self.store.delete_push_subscription(&citizen, &s.id).await {
                        tracing::warn!(error = %e, "a gone push subscription is still stored");
                    }
                }
                Err(PushError::Transient(e)) => transient = Some(e),
                Err(PushError::Permanent(e)) => permanent = Some(e),
            }
        }
        match (sent, transient, permanent) {
            (n, _, _) if n > 0 => Ok(()),
            (_, Some(e), _) => Err(SendError::Transient(e)),
            (_, None, Some(e)) => Err(SendError::Permanent(e)),
            _ => Err(SendError::Gone),
        }
    }
}
