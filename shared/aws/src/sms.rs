//! SMS to residents through SNS: `Publish` straight to a phone number, as a transactional
//! message (delivered for reliability, not cost). Regions turn it on in their region file; the
//! account's SNS spending limit caps what it may cost.

use crate::is_transient;
use aws_sdk_sns::types::MessageAttributeValue;

/// The longest text sent: two concatenated Cyrillic (UCS-2) segments of 67 characters.
pub const MAX_SMS_CHARS: usize = 134;

/// A phone number in E.164 form (`+` and 8 to 15 digits), as the identity provider's
/// `phone_number` claim carries it. Never logged or shown in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhoneNumber(…)")
    }
}

impl PhoneNumber {
    pub fn parse(text: &str) -> Option<PhoneNumber> {
        let digits = text.strip_prefix('+')?;
        let valid =
            (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
        valid.then(|| PhoneNumber(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_e164_and_hidden_from_debug() {
        let phone = PhoneNumber::parse("+79991234567").unwrap();
        assert_eq!(format!("{phone:?}"), "PhoneNumber(…)");
        for bad in ["79991234567", "+7999", "+7 999 123 45 67", "+0991234567", "+7999123456789012", ""] {
            assert!(PhoneNumber::parse(bad).is_none(), "{bad}");
        }
    }
}
