//! Web Push (RFC 8030) for residents' browsers: the subscription a browser hands over
//! ([`Subscription`]), the stack's VAPID key pair ([`VapidKey`], RFC 8292) and the sender
//! ([`PushSender`]) that encrypts a [`Notification`] for one subscription (RFC 8291, aes128gcm)
//! and posts it to the subscription's push service.
//!
//! The endpoint is supplied by a resident, so it is an SSRF vector: [`EndpointPolicy`] decides
//! which schemes, names and addresses may be reached, both when a subscription is accepted and
//! when the sender resolves the endpoint's host (the addresses it connects to are the ones it
//! checked).

mod endpoint;
mod sender;
mod subscription;
mod transport;
mod vapid;

pub use endpoint::{address_allowed, EndpointPolicy, ForbiddenAddress};
pub use sender::{BuildError, Notification, PushSender, SendError, Urgency};
pub use subscription::{InvalidSubscription, Subscription};
pub use transport::{notification_of, PushTransport};
pub use vapid::{InvalidVapidKey, VapidKey};
