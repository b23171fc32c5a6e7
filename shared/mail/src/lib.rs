//! The e-mail channel: the MIME message of an [`Outgoing`] (multipart/alternative, text and
//! HTML, with the RFC 8058 one-click unsubscribe headers), shared by the SMTP transport of the
//! local host (feature `smtp`) and the SES transport on AWS, which sends the same bytes raw.

use feedback_core::delivery::{Address, Outgoing, SendError};
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

#[cfg(feature = "smtp")]
mod smtp;
#[cfg(feature = "smtp")]
pub use smtp::SmtpMail;

/// `List-Unsubscribe: <URL>` (RFC 2369).
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.trim().trim_start_matches('<').trim_end_matches('>').to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// The sender's address, parsed once.
#[derive(Debug, Clone)]
pub struct Sender(Mailbox);

impl Sender {
    /// `raw` as a mailbox (`noreply@example.ru` or `Портал <noreply@example.ru>`).
    pub fn parse(raw: &str) -> Result<Sender, String> {
        raw.parse::<Mailbox>().map(Sender).map_err(|e| format!("the sender address does not parse: {e}"))
    }
    pub fn mailbox(&self) -> &Mailbox {
        &self.0
    }
}

/// The MIME message of `content` from `from` to `to`. An address that does not parse is a
/// permanent failure: no retry makes it deliverable.
pub fn compose(from: &Sender, to: &Address, content: &Outgoing) -> Result<lettre::Message, SendError> {
    let to: Mailbox =
        to.as_str().parse().map_err(|_| SendError::Permanent("the recipient address does not parse".into()))?;
    let mut builder = lettre::Message::builder().from(from.0.clone()).to(to).subject(content.subject.clone());
    if let Some(url) = &content.unsubscribe_url {
        builder = builder.header(ListUnsubscribe(url.clone())).header(ListUnsubscribePost);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(content.text.clone(), content.html.clone()))
        .map_err(|e| SendError::Permanent(format!("the message could not be built: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing() -> Outgoing {
        Outgoing {
            subject: "Сообщение № 01J: Дан ответ".into(),
            text: "Новый статус: Дан ответ".into(),
            html: "<p>Новый статус: <b>Дан ответ</b></p>".into(),
            link: "https://portal.example/messages/01J".into(),
            unsubscribe_url: Some("https://api.example/v1/unsubscribe?token=abc.def".into()),
        }
    }

    #[test]
    fn a_mail_is_multipart_alternative_with_one_click_unsubscribe() {
        let from = Sender::parse("Портал <noreply@example.ru>").unwrap();
        let m = compose(&from, &Address::new("alice@example.ru"), &outgoing()).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("To: alice@example.ru"), "{raw}");
        assert!(raw.contains("List-Unsubscribe: <https://api.example/v1/unsubscribe?token=abc.def>"), "{raw}");
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("text/plain; charset=utf-8") && raw.contains("text/html; charset=utf-8"), "{raw}");
        assert!(raw.contains("Subject: =?utf-8?"), "{raw}");
    }

    #[test]
    fn a_bad_recipient_is_permanent() {
        let from = Sender::parse("noreply@example.ru").unwrap();
        assert!(matches!(compose(&from, &Address::new("not an address"), &outgoing()), Err(SendError::Permanent(_))));
        assert!(Sender::parse("nope").is_err());
    }
}
