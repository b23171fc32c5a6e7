//! The `mail-events` handler on a store, with the SES event fixtures in `events/` as SNS hands
//! them over: a permanent bounce and a complaint turn the reported address off for every
//! resident who has it, a transient bounce changes nothing, a redelivered event changes nothing
//! again, and a message that is not an SES event is skipped.

use crate::event;
use aws_lambda_events::event::sns::SnsEvent;
use feedback_core::delivery::{Address, Channel, Contact, DeliveryStore};
use feedback_core::dispatch::Contacts;
use feedback_core::ids::CitizenId;
use feedback_core::testing::ManualClock;
use lambda_runtime::{Context, LambdaEvent};
use std::sync::Arc;

/// An `sns-*` fixture as the event the function receives.
pub fn sns_event(name: &str) -> LambdaEvent<SnsEvent> {
    let payload: SnsEvent = serde_json::from_str(&event(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    LambdaEvent::new(payload, Context::default())
}

/// The residents the fixtures concern, their e-mail as their tokens brought it, and whether a
/// fixture's event turns it off.
const RESIDENTS: &[(&str, &str, bool)] = &[
    // The permanent bounce names the address in other letter case.
    ("bounced", "bounced.resident@example.ru", true),
    ("same-address", "BOUNCED.RESIDENT@EXAMPLE.RU", true),
    ("complaining", "complaining.resident@example.ru", true),
    // The transient bounce.
    ("mailbox-full", "full.mailbox@example.ru", false),
    ("bystander", "bystander@example.ru", false),
];

fn who(sub: &str) -> CitizenId {
    CitizenId::parse(sub).unwrap()
}

/// Whether each resident's e-mail contact is off, in [`RESIDENTS`]' order.
pub async fn disabled<S: DeliveryStore>(store: &S) -> Vec<bool> {
    let mut out = Vec::new();
    for (sub, _, _) in RESIDENTS {
        out.push(store.get_contact(&who(sub), Channel::Email).await.unwrap().unwrap().disabled);
    }
    out
}

/// Runs every SES fixture through the handler twice over `store`, which holds nothing of
/// [`RESIDENTS`] yet.
pub async fn ses_events_turn_off_bounced_and_complained_addresses_once<S: DeliveryStore + Clone>(store: S) {
    let t0 = "2026-12-02T14:00:00+05:00";
    for (sub, address, _) in RESIDENTS {
        let contact = Contact::refreshed(None, Channel::Email, &Address::new(*address), crate::fixtures::at(t0));
        store.put_contact(&who(sub), &contact).await.unwrap();
    }
    let clock = Arc::new(ManualClock::at(t0));
    let contacts = Contacts::new(store.clone(), clock.clone());
    let fixtures = ["sns-ses-transient-bounce.json", "sns-ses-permanent-bounce.json", "sns-ses-complaint.json"];
    mail_events::handle(&contacts, sns_event(fixtures[0])).await.unwrap();
    assert_eq!(disabled(&store).await, [false; 5], "a transient bounce turns nothing off");
    for name in &fixtures[1..] {
        mail_events::handle(&contacts, sns_event(name)).await.unwrap();
    }
    let want: Vec<bool> = RESIDENTS.iter().map(|(_, _, off)| *off).collect();
    assert_eq!(disabled(&store).await, want);
    let bounced = store.get_contact(&who("bounced"), Channel::Email).await.unwrap().unwrap();
    clock.advance(chrono::Duration::hours(1));
    for name in fixtures {
        mail_events::handle(&contacts, sns_event(name)).await.unwrap();
    }
    assert_eq!(disabled(&store).await, want, "redelivered events change nothing");
    assert_eq!(
        store.get_contact(&who("bounced"), Channel::Email).await.unwrap().unwrap(),
        bounced,
        "not even the time it was turned off"
    );

    let mut garbage = sns_event("sns-ses-permanent-bounce.json");
    garbage.payload.records[0].sns.message = "{\"not\": \"an SES event\"".into();
    mail_events::handle(&contacts, garbage).await.unwrap();
}
