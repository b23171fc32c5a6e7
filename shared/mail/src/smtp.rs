//! The SMTP transport of the local host: one connection per send, a bounded wait.

use crate::{compose, Sender};
use async_trait::async_trait;
use feedback_core::delivery::{Address, Channel, Outgoing, SendError, Transport};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

/// Sends e-mail through an SMTP server (`smtp://host:port`, `smtps://…`, with credentials in
/// the URL if the server wants them).
pub struct SmtpMail {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Sender,
}

impl SmtpMail {
    pub fn new(url: &str, from: Sender, timeout: Duration) -> Result<SmtpMail, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("the SMTP URL does not parse: {e}"))?
            .timeout(Some(timeout))
            .build();
        Ok(SmtpMail { transport, from })
    }
}

/// A failed SMTP exchange as a send error: 5xx replies are permanent, everything else (4xx,
/// connection refused, a timeout) is worth another try.
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let code = e.status().map(|c| c.to_string()).unwrap_or_else(|| "no reply".to_owned());
    if e.is_permanent() {
        SendError::Permanent(format!("SMTP {code}"))
    } else if e.is_timeout() {
        SendError::Transient("SMTP timeout".to_owned())
    } else {
        SendError::Transient(format!("SMTP {code}"))
    }
}

#[async_trait]
impl Transport for SmtpMail {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    async fn send(&self, to: &Address, content: &Outgoing) -> Result<(), SendError> {
        let message = compose(&self.from, to, content)?;
        self.transport.send(message).await.map(drop).map_err(|e| classify(&e))
    }
}
