//! The domain of the citizen feedback platform: parsed values, entities, rules and the ports that
//! adapters implement. Nothing here knows about AWS, HTTP or SQL.

pub mod actor;
pub mod analytics;
pub mod calendar;
pub mod category_search;
pub mod clock;
pub mod counters;
pub mod delivery;
pub mod disclosure;
pub mod dispatch;
pub mod error;
pub mod event;
pub mod geo;
pub mod ids;
pub mod integration;
pub mod message;
pub mod moderation;
pub mod notification;
pub mod numbering;
pub mod open311;
pub mod open_data;
pub mod outbox;
pub mod page;
pub mod participation;
pub mod photo;
pub mod policy;
pub mod ports;
pub mod preferences;
pub mod public;
pub mod reference;
pub mod region;
pub mod retention;
pub mod rights;
pub mod routing;
pub mod routing_service;
pub mod scrub;
pub mod service;
pub mod submission;
pub mod templates;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod values;
pub mod views;
pub mod webhook;
pub mod workflow;

pub use actor::{Actor, PhoneNumber, Role};
pub use clock::ManualClock;
pub use error::{FieldError, FieldErrors, ServiceError};
pub use ids::{AuthorityId, CategoryId, CitizenId, MessageId, MunicipalityId};
pub use message::{HistoryEntry, Message, Status};
pub use ports::{Clock, CounterStore, Job, MessageStore, ReferenceStore, StoreError, SystemClock, WorkQueue};
pub use region::RegionData;
