//! SMS to residents through SNS: `Publish` straight to a phone number, as a transactional
//! message (delivered for reliability, not cost). Regions turn it on in their region file; the
//! account's SNS spending limit caps what it may cost.

use crate::is_transient;
use aws_sdk_sns::types::MessageAttributeValue;
use feedback_core::delivery::{Address, Channel, Outgoing, SendError, Transport};
use feedback_core::PhoneNumber;

/// The longest text sent: two concatenated Cyrillic (UCS-2) segments of 67 characters.
pub const MAX_SMS_CHARS: usize = 134;

/// How a text ended, in the terms of the delivery pipeline's transport port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// SNS throttled the call or failed on its side: worth retrying later.
    #[error("transient SMS failure: {0}")]
    Transient(String),
    /// SNS refused the message (a bad number, a text too long, no permission): retrying will
    /// not help.
    #[error("permanent SMS failure: {0}")]
    Permanent(String),
}

/// Sends texts with SNS `Publish` (`sns:Publish`, whose only IAM resource is `*`).
#[derive(Clone, Debug)]
pub struct SnsSms {
    client: aws_sdk_sns::Client,
    sender_id: Option<String>,
}

impl SnsSms {
    /// `sender_id` is the alphanumeric sender shown where the destination country allows one.
    pub fn from_conf(conf: &aws_config::SdkConfig, sender_id: Option<String>) -> SnsSms {
        SnsSms { client: aws_sdk_sns::Client::new(conf), sender_id }
    }

    /// Sends `text` (at most [`MAX_SMS_CHARS`] characters) to `to`.
    pub async fn send(&self, to: &PhoneNumber, text: &str) -> Result<(), SmsError> {
        if text.is_empty() || text.chars().count() > MAX_SMS_CHARS {
            return Err(SmsError::Permanent(format!("text of {} characters", text.chars().count())));
        }
        let attribute = |value: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| SmsError::Permanent(e.to_string()))
        };
        let mut publish = self
            .client
            .publish()
            .phone_number(to.as_str())
            .message(text)
            .message_attributes("AWS.SNS.SMS.SMSType", attribute("Transactional")?);
        if let Some(sender) = &self.sender_id {
            publish = publish.message_attributes("AWS.SNS.SMS.SenderID", attribute(sender)?);
        }
        match publish.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_transient(&e) || e.raw_response().is_none() => {
                Err(SmsError::Transient(aws_sdk_sns::error::DisplayErrorContext(&e).to_string()))
            }
            Err(e) => Err(SmsError::Permanent(aws_sdk_sns::error::DisplayErrorContext(&e).to_string())),
        }
    }
}

/// The SMS channel of the residents' delivery pipeline: the delivery's subject and link as one
/// text of at most [`MAX_SMS_CHARS`] characters, to the resident's phone contact.
pub struct SmsChannel(pub SnsSms);

#[async_trait::async_trait]
impl Transport for SmsChannel {
    fn channel(&self) -> Channel {
        Channel::Sms
    }

    async fn send(&self, to: &Address, content: &Outgoing) -> Result<(), SendError> {
        let phone = PhoneNumber::parse(to.as_str())
            .ok_or_else(|| SendError::Permanent("the contact is not a phone number".to_owned()))?;
        match self.0.send(&phone, &content.short_text(MAX_SMS_CHARS)).await {
            Ok(()) => Ok(()),
            Err(SmsError::Transient(e)) => Err(SendError::Transient(e)),
            Err(SmsError::Permanent(e)) => Err(SendError::Permanent(e)),
        }
    }
}
