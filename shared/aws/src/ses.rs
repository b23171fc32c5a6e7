//! E-mail to residents through SES v2: `SendEmail` with the MIME message of `feedback-mail` as
//! raw content (the same bytes the local host's SMTP transport sends, unsubscribe headers
//! included), tagged with the configuration set whose event destination reports bounces and
//! complaints.

use crate::is_transient;
use async_trait::async_trait;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use feedback_core::delivery::{Address, Channel, Outgoing, SendError, Transport};
use feedback_mail::{compose, Sender};

/// The e-mail [`Transport`] on AWS (`ses:SendRawEmail` on the identity and the configuration
/// set).
#[derive(Clone, Debug)]
pub struct SesMail {
    client: aws_sdk_sesv2::Client,
    from: Sender,
    configuration_set: Option<String>,
}

impl SesMail {
    pub fn from_conf(conf: &aws_config::SdkConfig, from: Sender, configuration_set: Option<String>) -> SesMail {
        SesMail { client: aws_sdk_sesv2::Client::new(conf), from, configuration_set }
    }
}

/// Throttling, SES's own failures, a paused account and no answer at all are worth retrying;
/// a rejected message or a malformed request is not, and turns the address off.
fn classify(
    e: &aws_sdk_sesv2::error::SdkError<SendEmailError, aws_sdk_sesv2::config::http::HttpResponse>,
) -> SendError {
    let text = DisplayErrorContext(e).to_string();
    let retryable = is_transient(e)
        || e.raw_response().is_none()
        || e.as_service_error().is_some_and(|s| {
            s.is_too_many_requests_exception()
                || s.is_limit_exceeded_exception()
                || s.is_sending_paused_exception()
                || s.is_account_suspended_exception()
                || s.is_mail_from_domain_not_verified_exception()
                || s.is_not_found_exception()
        })
        || e.code() == Some("Throttling");
    if retryable {
        SendError::Transient(text)
    } else {
        SendError::Permanent(text)
    }
}

#[async_trait]
impl Transport for SesMail {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    async fn send(&self, to: &Address, content: &Outgoing) -> Result<(), SendError> {
        let message = compose(&self.from, to, content)?;
        let raw = RawMessage::builder()
            .data(Blob::new(message.formatted()))
            .build()
            .map_err(|e| SendError::Permanent(format!("the raw message could not be built: {e}")))?;
        self.client
            .send_email()
            .from_email_address(self.from.mailbox().email.to_string())
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map(drop)
            .map_err(|e| classify(&e))
    }
}
