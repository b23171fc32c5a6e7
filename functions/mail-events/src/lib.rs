//! `mail-events`: SES reports what became of residents' e-mail through the configuration set's
//! event destination, an SNS topic this function is subscribed to. A permanent bounce or a
//! complaint turns the address off (`Contact::disabled`, which the delivery pipeline honours),
//! for every resident who has it as their e-mail contact, found by the address through an index
//! (`DeliveryStore::contacts_at`), never a scan. A transient or undetermined bounce and a
//! "not spam" report change nothing. A redelivered event finds the address off already and
//! changes nothing either. No log line names an address.

use aws_lambda_events::event::sns::SnsEvent;
use feedback_core::delivery::{Address, Channel, DeliveryStore};
use feedback_core::dispatch::Contacts;
use feedback_core::Clock;
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;

/// An SES event notification, as a configuration set's event destination publishes it
/// (`eventType`) or an identity's feedback notification (`notificationType`): the parts read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    #[serde(alias = "notificationType")]
    event_type: String,
    #[serde(default)]
    bounce: Option<Bounce>,
    #[serde(default)]
    complaint: Option<Complaint>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    #[serde(default)]
    bounced_recipients: Vec<Recipient>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    #[serde(default)]
    complained_recipients: Vec<Recipient>,
    #[serde(default)]
    complaint_feedback_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recipient(…)")
    }
}

/// What an event says of its recipients' addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A permanent bounce: the address does not take mail.
    Bounced,
    /// The recipient reported the mail as spam (any feedback type but `not-spam`).
    Complained,
    /// Anything else: a transient or undetermined bounce, a `not-spam` report, another event
    /// type. The address stays on.
    Kept,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Bounced => "bounced",
            Verdict::Complained => "complained",
            Verdict::Kept => "kept",
        }
    }
}

/// An SES event read: its type, the verdict and the addresses to turn off (none when kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailEvent {
    pub event_type: String,
    pub verdict: Verdict,
    pub dead: Vec<Address>,
}

/// The bare address of a recipient, without a display name around it (`Имя <a@b>`).
fn bare(raw: &str) -> Address {
    let raw = raw.trim();
    let inner = match (raw.rfind('<'), raw.ends_with('>')) {
        (Some(open), true) => raw.get(open + 1..raw.len() - 1).unwrap_or(raw),
        _ => raw,
    };
    Address::new(inner.trim())
}

/// Reads the SES event an SNS message carries.
pub fn read(message: &str) -> Result<MailEvent, serde_json::Error> {
    let n: Notification = serde_json::from_str(message)?;
    let (verdict, recipients) = match (n.event_type.as_str(), n.bounce, n.complaint) {
        ("Bounce", Some(b), _) if b.bounce_type == "Permanent" => (Verdict::Bounced, b.bounced_recipients),
        ("Complaint", _, Some(c)) if c.complaint_feedback_type.as_deref() != Some("not-spam") => {
            (Verdict::Complained, c.complained_recipients)
        }
        _ => (Verdict::Kept, Vec::new()),
    };
    let dead = recipients.iter().map(|r| bare(&r.email_address)).filter(|a| !a.as_str().is_empty()).collect();
    Ok(MailEvent { event_type: n.event_type, verdict, dead })
}

/// Turns off the addresses one event names; how many contacts were on.
pub async fn apply<S: DeliveryStore, C: Clock>(contacts: &Contacts<S, C>, event: &MailEvent) -> Result<u32, Error> {
    let mut turned = 0;
    for address in &event.dead {
        turned += contacts.address_reported_dead(Channel::Email, address).await?;
    }
    Ok(turned)
}

/// The handler: each record's event is read and applied. A message that is not an SES event is
/// logged (by its SNS id and where the JSON broke, never its text) and skipped: retrying cannot
/// mend it. A store failure fails the invocation, and Lambda retries the event; what was done
/// before the failure is found done.
pub async fn handle<S: DeliveryStore, C: Clock>(
    contacts: &Contacts<S, C>,
    event: LambdaEvent<SnsEvent>,
) -> Result<(), Error> {
    for record in &event.payload.records {
        let sns = &record.sns;
        let mail = match read(&sns.message) {
            Ok(mail) => mail,
            Err(e) => {
                tracing::warn!(
                    sns_message_id = %sns.message_id,
                    error_kind = ?e.classify(),
                    line = e.line(),
                    column = e.column(),
                    "not an SES event notification; skipped"
                );
                continue;
            }
        };
        let turned_off = apply(contacts, &mail).await?;
        tracing::info!(
            sns_message_id = %sns.message_id,
            event_type = %mail.event_type,
            verdict = mail.verdict.as_str(),
            recipients = mail.dead.len(),
            turned_off,
            "SES event applied"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_permanent_bounces_and_complaints_name_dead_addresses() {
        let bounce = |kind: &str| {
            format!(
                r#"{{"eventType":"Bounce","bounce":{{"bounceType":"{kind}","bouncedRecipients":[{{"emailAddress":"a@example.ru"}},{{"emailAddress":"Иван <B@example.ru>"}}]}},"mail":{{}}}}"#
            )
        };
        let permanent = read(&bounce("Permanent")).unwrap();
        assert_eq!(permanent.verdict, Verdict::Bounced);
        assert_eq!(permanent.dead, [Address::new("a@example.ru"), Address::new("B@example.ru")]);
        for kind in ["Transient", "Undetermined"] {
            let kept = read(&bounce(kind)).unwrap();
            assert_eq!((kept.verdict, kept.dead.len()), (Verdict::Kept, 0), "{kind}");
        }
        let complaint = |feedback: &str| {
            format!(
                r#"{{"notificationType":"Complaint","complaint":{{"complainedRecipients":[{{"emailAddress":"c@example.ru"}}]{feedback}}}}}"#
            )
        };
        assert_eq!(read(&complaint("")).unwrap().dead, [Address::new("c@example.ru")]);
        let abuse = read(&complaint(r#","complaintFeedbackType":"abuse""#)).unwrap();
        assert_eq!(abuse.verdict, Verdict::Complained);
        assert_eq!(read(&complaint(r#","complaintFeedbackType":"not-spam""#)).unwrap().verdict, Verdict::Kept);
        let delivered = read(r#"{"eventType":"Delivery","delivery":{"recipients":["d@example.ru"]}}"#).unwrap();
        assert_eq!((delivered.verdict, delivered.dead.len()), (Verdict::Kept, 0));
        assert!(read("not json").is_err());
        assert!(read(r#"{"mail":{}}"#).is_err(), "no event type");
    }

    #[test]
    fn a_read_event_debug_form_names_no_address() {
        let permanent = read(
            r#"{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"secret@example.ru"}]}}"#,
        )
        .unwrap();
        assert!(!format!("{permanent:?}").contains("secret"));
    }
}
