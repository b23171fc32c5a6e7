//! The delivery store and pipeline on every backend: deliveries are created once, of
//! concurrent claims one wins and a sent delivery is never claimed again, due deliveries are
//! found by their due time, subscribers by municipality and point, digest residents by their
//! digest, contacts are erased; the pipeline sends each (notification, channel) once, tells
//! matching subscribers of public news only, and the author once even when subscribed.

use crate::contract::{Backend, Queue};
use crate::fixtures::{actor, at, submitted};
use crate::Harness;
use async_trait::async_trait;
use chrono::Duration;
use feedback_core::delivery::{
    Address, Audience, Channel, Contact, Delivery, DeliveryStatus, DeliveryStore, Outgoing, Payload, SendError,
    Transport,
};
use feedback_core::dispatch::{Attempted, Contacts, Deliveries, DeliverySettings};
use feedback_core::ids::{CitizenId, MunicipalityId};
use feedback_core::message::Status;
use feedback_core::notification::{Notification, NotificationKind};
use feedback_core::ports::NewRecord;
use feedback_core::preferences::{CenterRequest, Channels, Digest, Preferences, Reach, SubscriptionRequest};
use feedback_core::service::Reference;
use feedback_core::testing::{sample_region, ManualClock};
use std::sync::{Arc, Mutex};

/// A backend that also keeps deliveries.
pub trait DeliveryBackend: Backend + DeliveryStore {}
impl<T: Backend + DeliveryStore> DeliveryBackend for T {}

const T0: &str = "2026-12-02T10:00:00+05:00";

fn who(sub: &str) -> CitizenId {
    CitizenId::parse(sub).unwrap()
}

pub fn note(author: &str, id: &str, kind: NotificationKind) -> Notification {
    let (m, _) = submitted(author, at(T0));
    Notification {
        id: id.into(),
        citizen: who(author),
        message_id: m.id,
        message_number: None,
        kind,
        at: at(T0),
        text: "Ваше сообщение направлено".into(),
        expires_at: None,
        read_at: None,
    }
}

fn pending(subject: &str, to: &str, due: &str) -> Delivery {
    let payload =
        Payload::Transition { notification: note(to, subject, NotificationKind::Routed), audience: Audience::Author };
    Delivery::planned(subject, Channel::Email, &who(to), payload, at(T0)).deferred(at(due))
}

pub async fn a_delivery_is_created_once<S: DeliveryBackend, Q: Queue>(h: &Harness<S, Q>) {
    let d = pending("t1", "alice", T0);
    assert!(h.store.plan_delivery(&d).await.unwrap());
    let mut again = d.clone();
    again.attempts = 7;
    assert!(!h.store.plan_delivery(&again).await.unwrap(), "planning again writes nothing");
    assert_eq!(h.store.get_delivery(&d.id).await.unwrap(), Some(d.clone()));
    assert_eq!(h.store.deliveries_of("t1").await.unwrap(), vec![d]);
    assert!(h.store.get_delivery("missing").await.unwrap().is_none());
}

pub async fn of_concurrent_claims_one_wins_and_a_sent_delivery_stays_sent<S: DeliveryBackend, Q: Queue>(
    h: &Harness<S, Q>,
) {
    let d = pending("t2", "alice", T0);
    h.store.plan_delivery(&d).await.unwrap();
    let now = at(T0);
    let claims = (0..6).map(|_| {
        let (store, id) = (h.store.clone(), d.id.clone());
        tokio::spawn(async move { store.claim_delivery(&id, now, now + Duration::minutes(2)).await.unwrap() })
    });
    let mut won = Vec::new();
    for c in claims {
        won.extend(c.await.unwrap());
    }
    assert_eq!(won.len(), 1, "exactly one claim wins");
    a_sent_delivery_stays_sent(h, won.remove(0)).await;
}

/// The same without the race, for backends whose emulator does not make conditional writes
/// atomic (moto): a held claim stops the next one until it expires.
pub async fn a_held_claim_stops_another_and_a_sent_delivery_stays_sent<S: DeliveryBackend, Q: Queue>(
    h: &Harness<S, Q>,
) {
    let d = pending("t2", "alice", T0);
    h.store.plan_delivery(&d).await.unwrap();
    let now = at(T0);
    let first = h.store.claim_delivery(&d.id, now, now + Duration::minutes(2)).await.unwrap();
    assert!(first.is_some());
    let second = now + Duration::minutes(1);
    assert!(h.store.claim_delivery(&d.id, second, second + Duration::minutes(2)).await.unwrap().is_none());
    let expired = now + Duration::minutes(3);
    let again = h.store.claim_delivery(&d.id, expired, expired + Duration::minutes(2)).await.unwrap();
    a_sent_delivery_stays_sent(h, again.unwrap()).await;
}

async fn a_sent_delivery_stays_sent<S: DeliveryBackend, Q: Queue>(h: &Harness<S, Q>, claimed: Delivery) {
    let (d, now) = (claimed.clone(), at(T0));
    let sent = claimed.after_attempt(&Ok(()), now);
    h.store.save_delivery(&sent).await.unwrap();
    let later = now + Duration::hours(1);
    assert!(h.store.claim_delivery(&d.id, later, later + Duration::minutes(2)).await.unwrap().is_none());
    assert_eq!(h.store.get_delivery(&d.id).await.unwrap().map(|d| d.status), Some(DeliveryStatus::Sent));
}

pub async fn due_deliveries_are_found_by_their_due_time<S: DeliveryBackend, Q: Queue>(h: &Harness<S, Q>) {
    let soon = pending("t3", "alice", "2026-12-02T10:01:00+05:00");
    let now_due = pending("t4", "bob", "2026-12-02T09:59:00+05:00");
    let later = pending("t5", "carol", "2026-12-02T11:00:00+05:00");
    let sent = pending("t6", "dave", "2026-12-02T09:00:00+05:00").after_attempt(&Ok(()), at(T0));
    for d in [&soon, &now_due, &later, &sent] {
        h.store.plan_delivery(d).await.unwrap();
    }
    let ids = |v: Vec<Delivery>| v.into_iter().map(|d| d.subject).collect::<Vec<_>>();
    let due = h.store.due_deliveries(at("2026-12-02T10:05:00+05:00"), 10).await.unwrap();
    assert_eq!(ids(due), ["t4", "t3"]);
    assert_eq!(ids(h.store.due_deliveries(at("2026-12-02T10:05:00+05:00"), 1).await.unwrap()), ["t4"]);
    h.store.save_delivery(&now_due.clone().after_attempt(&Ok(()), at(T0))).await.unwrap();
    assert_eq!(ids(h.store.due_deliveries(at("2026-12-02T10:05:00+05:00"), 10).await.unwrap()), ["t3"]);
}

async fn reach<S: DeliveryBackend, Q: Queue>(h: &Harness<S, Q>) -> Reach<S, Arc<ManualClock>> {
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&sample_region()).await.unwrap();
    Reach::new(h.store.clone(), Arc::new(ManualClock::at(T0)), reference)
}

pub fn resident(sub: &str) -> feedback_core::Actor {
    actor(sub, "[citizen]", &[("email", &format!("{sub}@example.ru"))])
}

fn in_tyumen() -> SubscriptionRequest {
    SubscriptionRequest { municipality_id: Some("tyumen".into()), ..Default::default() }
}

fn around_the_pit() -> SubscriptionRequest {
    SubscriptionRequest {
        center: Some(CenterRequest { lat: 57.153, lon: 65.541 }),
        radius_m: Some(500),
        ..Default::default()
    }
}

pub async fn subscribers_are_found_by_municipality_and_point<S: DeliveryBackend, Q: Queue>(h: &Harness<S, Q>) {
    let r = reach(h).await;
    r.subscribe(&resident("alice"), in_tyumen()).await.unwrap();
    r.subscribe(&resident("bob"), around_the_pit()).await.unwrap();
    let owners = |v: Vec<feedback_core::preferences::Subscription>| {
        v.into_iter().map(|s| s.owner.to_string()).collect::<Vec<_>>()
    };
    let tyumen = MunicipalityId::parse("tyumen").unwrap();
    assert_eq!(owners(h.store.subscriptions_in(&tyumen).await.unwrap()), ["alice"]);
    assert_eq!(owners(h.store.point_subscriptions().await.unwrap()), ["bob"]);
    let elsewhere = MunicipalityId::parse("tobolsk").unwrap();
    assert!(h.store.subscriptions_in(&elsewhere).await.unwrap().is_empty());
}

fn prefs(digest: Digest) -> Preferences {
    Preferences { channels: Channels { email: true, push: false, sms: false }, digest, quiet_hours: None }
}

pub async fn digest_residents_are_found_by_their_digest<S: DeliveryBackend, Q: Queue>(h: &Harness<S, Q>) {
    for (sub, digest) in [
        ("ann", Digest::Daily),
        ("ben", Digest::Weekly),
        ("cat", Digest::Daily),
        ("dan", Digest::Instant),
        ("eve", Digest::Daily),
    ] {
        h.store.put_preferences(&who(sub), &prefs(digest)).await.unwrap();
    }
    h.store.put_preferences(&who("dan"), &prefs(Digest::Daily)).await.unwrap();
    h.store.put_preferences(&who("eve"), &prefs(Digest::Instant)).await.unwrap();
    let first = h.store.digest_residents(Digest::Daily, None, 2).await.unwrap();
    assert_eq!(first, [who("ann"), who("cat")]);
    assert_eq!(h.store.digest_residents(Digest::Daily, Some(&who("cat")), 2).await.unwrap(), [who("dan")]);
    assert_eq!(h.store.digest_residents(Digest::Weekly, None, 10).await.unwrap(), [who("ben")]);
}

pub async fn contacts_are_kept_per_channel_and_erased<S: DeliveryBackend, Q: Queue>(h: &Harness<S, Q>) {
    let c = Contact::refreshed(None, Channel::Email, &Address::new("a@example.ru"), at(T0));
    h.store.put_contact(&who("alice"), &c).await.unwrap();
    h.store.put_contact(&who("bob"), &c).await.unwrap();
    assert_eq!(h.store.get_contact(&who("alice"), Channel::Email).await.unwrap(), Some(c.clone()));
    assert!(h.store.get_contact(&who("alice"), Channel::Sms).await.unwrap().is_none());
    assert_eq!(h.store.erase_contacts(&who("alice")).await.unwrap(), 1);
    assert!(h.store.get_contact(&who("alice"), Channel::Email).await.unwrap().is_none());
    assert!(h.store.get_contact(&who("bob"), Channel::Email).await.unwrap().is_some());
    let to_bob = pending("t7", "bob", T0);
    let to_carol = pending("t7", "carol", T0);
    for d in [&to_bob, &to_carol] {
        h.store.plan_delivery(d).await.unwrap();
    }
    let erased = h.store.erase_reach(&who("bob")).await.unwrap();
    assert_eq!(erased.contacts, 1, "erasing a resident's reach takes their contact");
    assert_eq!(erased.deliveries, 1, "and the deliveries to them");
    assert!(h.store.get_contact(&who("bob"), Channel::Email).await.unwrap().is_none());
    assert!(h.store.get_delivery(&to_bob.id).await.unwrap().is_none());
    assert_eq!(h.store.deliveries_of("t7").await.unwrap(), vec![to_carol]);
    let due: Vec<String> = h.store.due_deliveries(at(T0), 10).await.unwrap().into_iter().map(|d| d.id).collect();
    assert!(!due.contains(&to_bob.id), "an erased delivery is not due either");
}

pub async fn a_reported_address_is_found_by_its_address_and_turned_off_once<S: DeliveryBackend, Q: Queue>(
    h: &Harness<S, Q>,
) {
    let email = |a: &str| Contact::refreshed(None, Channel::Email, &Address::new(a), at(T0));
    h.store.put_contact(&who("alice"), &email("Alice.Lee@Example.ru")).await.unwrap();
    h.store.put_contact(&who("bob"), &email("alice.lee@example.ru")).await.unwrap();
    h.store.put_contact(&who("carol"), &email("carol@example.ru")).await.unwrap();
    let sms = Contact::refreshed(None, Channel::Sms, &Address::new("alice.lee@example.ru"), at(T0));
    h.store.put_contact(&who("dave"), &sms).await.unwrap();
    h.store.put_contact(&who("erin"), &email("alice.lee@example.ru")).await.unwrap();
    h.store.put_contact(&who("erin"), &email("erin@example.ru")).await.unwrap();
    let reported = Address::new("ALICE.LEE@example.ru");
    let at_address = || async {
        let found = h.store.contacts_at(Channel::Email, &reported).await.unwrap();
        found.into_iter().map(|(c, _)| c).collect::<Vec<_>>()
    };
    assert_eq!(
        at_address().await,
        [who("alice"), who("bob")],
        "case aside, not another channel's, not a former address"
    );

    let contacts = Contacts::new(h.store.clone(), Arc::new(ManualClock::at(T0)));
    assert_eq!(contacts.address_reported_dead(Channel::Email, &reported).await.unwrap(), 2);
    assert_eq!(contacts.address_reported_dead(Channel::Email, &reported).await.unwrap(), 0, "a repeated report");
    for (sub, channel, off) in
        [("alice", Channel::Email, true), ("bob", Channel::Email, true), ("carol", Channel::Email, false)]
            .into_iter()
            .chain([("dave", Channel::Sms, false), ("erin", Channel::Email, false)])
    {
        let c = h.store.get_contact(&who(sub), channel).await.unwrap().unwrap();
        assert_eq!(c.disabled, off, "{sub}");
    }
    assert_eq!(at_address().await, [who("alice"), who("bob")], "a contact turned off is still found by its address");
    h.store.erase_contacts(&who("bob")).await.unwrap();
    assert_eq!(at_address().await, [who("alice")], "an erased contact is not");

    let (p, _) = pipeline(h).await;
    p.remember_contact(&resident("alice")).await.unwrap();
    assert_eq!(p.plan(&note("alice", "tr-live", NotificationKind::Routed)).await.unwrap().len(), 1);
    assert_eq!(contacts.address_reported_dead(Channel::Email, &Address::new("alice@example.ru")).await.unwrap(), 1);
    assert!(
        p.plan(&note("alice", "tr-after-bounce", NotificationKind::Routed)).await.unwrap().is_empty(),
        "no e-mail is planned to an address turned off"
    );
}

/// A transport that records what it was asked to send (on e-mail unless `channel` says).
#[derive(Default)]
pub struct Recorder {
    pub sent: Mutex<Vec<(String, String)>>,
    pub fail: Mutex<Option<SendError>>,
    pub channel: Option<Channel>,
}

impl Recorder {
    pub fn on(channel: Channel) -> Recorder {
        Recorder { channel: Some(channel), ..Recorder::default() }
    }
}

#[async_trait]
impl Transport for Recorder {
    fn channel(&self) -> Channel {
        self.channel.unwrap_or(Channel::Email)
    }
    async fn send(&self, to: &Address, content: &Outgoing) -> Result<(), SendError> {
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        self.sent.lock().unwrap().push((to.as_str().to_owned(), content.subject.clone()));
        Ok(())
    }
}

async fn pipeline<S: DeliveryBackend, Q: Queue>(
    h: &Harness<S, Q>,
) -> (Deliveries<S, Arc<ManualClock>>, Arc<ManualClock>) {
    pipeline_on(h, vec![Channel::Email], sample_region()).await
}

pub async fn pipeline_on<S: DeliveryBackend, Q: Queue>(
    h: &Harness<S, Q>,
    channels: Vec<Channel>,
    region: feedback_core::region::RegionData,
) -> (Deliveries<S, Arc<ManualClock>>, Arc<ManualClock>) {
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&region).await.unwrap();
    let clock = Arc::new(ManualClock::at(T0));
    let settings = DeliverySettings {
        channels,
        portal_url: "https://portal.example".into(),
        api_url: "https://api.example".into(),
        unsubscribe_secret: Arc::from(&b"secret"[..]),
    };
    (Deliveries::new(h.store.clone(), clock.clone(), reference, settings), clock)
}

pub async fn the_pipeline_sends_once_to_the_author_and_matching_subscribers<S: DeliveryBackend, Q: Queue>(
    h: &Harness<S, Q>,
) {
    let (p, _) = pipeline(h).await;
    let r = reach(h).await;
    for sub in ["alice", "sub1", "sub2"] {
        p.remember_contact(&resident(sub)).await.unwrap();
    }
    r.subscribe(&resident("sub1"), in_tyumen()).await.unwrap();
    r.subscribe(&resident("alice"), in_tyumen()).await.unwrap();
    let mut elsewhere = in_tyumen();
    elsewhere.municipality_id = Some("tobolsk".into());
    r.subscribe(&resident("sub2"), elsewhere).await.unwrap();

    let (mut m, entry) = submitted("alice", at(T0));
    m.public = true;
    m.status = Status::Routed;
    h.store.create_message(&NewRecord::new(m.clone(), entry), None, &[], None).await.unwrap();
    let mut n = note("alice", "tr-public", NotificationKind::Routed);
    n.message_id = m.id;
    h.store.put_notification(&n).await.unwrap();

    let planned = p.plan(&n).await.unwrap();
    assert_eq!(planned.len(), 2, "the author once, the matching subscriber once");
    assert_eq!(p.plan(&n).await.unwrap(), planned, "planning again yields the same pending deliveries");
    let t = Recorder::default();
    for id in planned.iter().chain(planned.iter()) {
        p.attempt(id, &t).await.unwrap();
    }
    let mut to: Vec<String> = t.sent.lock().unwrap().iter().map(|(a, _)| a.clone()).collect();
    to.sort();
    assert_eq!(to, ["alice@example.ru", "sub1@example.ru"]);
    assert!(p.plan(&n).await.unwrap().is_empty(), "sent deliveries are not planned again");

    let mut hidden = m.clone();
    hidden.id = feedback_core::ids::MessageId::new_at(at(T0) + Duration::seconds(1));
    hidden.public = false;
    let (_, entry) = submitted("alice", at(T0));
    h.store.create_message(&NewRecord::new(hidden.clone(), entry), None, &[], None).await.unwrap();
    let mut private = note("alice", "tr-private", NotificationKind::Answered);
    private.message_id = hidden.id;
    assert_eq!(p.plan(&private).await.unwrap().len(), 1, "a non-public message tells its author only");
}

pub async fn transient_failures_wait_and_a_permanent_one_turns_the_address_off<S: DeliveryBackend, Q: Queue>(
    h: &Harness<S, Q>,
) {
    let (p, clock) = pipeline(h).await;
    p.remember_contact(&resident("alice")).await.unwrap();
    let n = note("alice", "tr-fail", NotificationKind::InProgress);
    let id = p.plan(&n).await.unwrap().remove(0);
    let t = Recorder::default();
    *t.fail.lock().unwrap() = Some(SendError::Transient("421".into()));
    assert_eq!(p.attempt(&id, &t).await.unwrap(), Attempted::Retry);
    assert_eq!(p.attempt(&id, &t).await.unwrap(), Attempted::Skipped, "not due before its backoff");
    assert!(p.due(1).await.unwrap().is_empty());
    clock.advance(Duration::minutes(1));
    assert_eq!(p.due(1).await.unwrap(), vec![id.clone()]);
    *t.fail.lock().unwrap() = Some(SendError::Permanent("550".into()));
    assert!(matches!(p.attempt(&id, &t).await.unwrap(), Attempted::Dead(_)));
    let contact = h.store.get_contact(&who("alice"), Channel::Email).await.unwrap().unwrap();
    assert!(contact.disabled);
    let log = p.log(&actor("admin", "[admin]", &[]), "tr-fail").await.unwrap();
    assert_eq!((log.len(), log[0].attempts, log[0].status), (1, 2, DeliveryStatus::Dead));
    assert!(!serde_json::to_string(&log).unwrap().contains("alice"));
}

pub async fn quiet_hours_defer_a_delivery_until_they_end<S: DeliveryBackend, Q: Queue>(h: &Harness<S, Q>) {
    let (p, clock) = pipeline(h).await;
    p.remember_contact(&resident("alice")).await.unwrap();
    let quiet = Preferences {
        quiet_hours: Some(feedback_core::preferences::QuietHours { from: "22:00".into(), to: "08:00".into() }),
        ..prefs(Digest::Instant)
    };
    h.store.put_preferences(&who("alice"), &quiet).await.unwrap();
    clock.set(at("2026-12-02T23:30:00+05:00"));
    let id = p.plan(&note("alice", "tr-night", NotificationKind::Routed)).await.unwrap().remove(0);
    let t = Recorder::default();
    assert_eq!(p.attempt(&id, &t).await.unwrap(), Attempted::Deferred);
    let d = h.store.get_delivery(&id).await.unwrap().unwrap();
    assert_eq!(
        (d.status, d.attempts, d.next_attempt_at),
        (DeliveryStatus::Pending, 0, Some(at("2026-12-03T08:00:00+05:00")))
    );
    clock.set(at("2026-12-03T07:59:00+05:00"));
    assert!(p.due(1).await.unwrap().is_empty());
    clock.set(at("2026-12-03T08:00:00+05:00"));
    assert_eq!(p.due(1).await.unwrap(), vec![id.clone()]);
    assert_eq!(p.attempt(&id, &t).await.unwrap(), Attempted::Sent);
    assert_eq!(t.sent.lock().unwrap().len(), 1);
}

pub async fn a_digest_resident_gets_one_digest_per_period<S: DeliveryBackend, Q: Queue>(h: &Harness<S, Q>) {
    one_digest_per_period(h, true).await;
}

/// The same with the repeated runs one after another (moto).
pub async fn a_digest_resident_gets_one_digest_per_period_run_after_run<S: DeliveryBackend, Q: Queue>(
    h: &Harness<S, Q>,
) {
    one_digest_per_period(h, false).await;
}

async fn one_digest_per_period<S: DeliveryBackend, Q: Queue>(h: &Harness<S, Q>, concurrent: bool) {
    let (p, clock) = pipeline(h).await;
    p.remember_contact(&resident("alice")).await.unwrap();
    p.remember_contact(&resident("bob")).await.unwrap();
    h.store.put_preferences(&who("alice"), &prefs(Digest::Daily)).await.unwrap();
    h.store.put_preferences(&who("bob"), &prefs(Digest::Daily)).await.unwrap();
    let first = note("alice", "tr-d1", NotificationKind::Routed);
    let mut second = note("alice", "tr-d2", NotificationKind::Answered);
    second.at = at("2026-12-02T18:00:00+05:00");
    for n in [&first, &second] {
        h.store.put_notification(n).await.unwrap();
        assert!(p.plan(n).await.unwrap().is_empty(), "a digest resident gets no instant mail");
    }
    clock.set(at("2026-12-03T09:00:00+05:00"));
    let planned = p.plan_digests().await.unwrap();
    assert_eq!(planned.len(), 1, "alice had news; bob had none");
    let p = Arc::new(p);
    if concurrent {
        let runs: Vec<_> = (0..4)
            .map(|_| {
                let p = p.clone();
                tokio::spawn(async move { p.plan_digests().await.unwrap() })
            })
            .collect();
        for run in runs {
            assert_eq!(run.await.unwrap(), planned, "repeated and concurrent runs plan the same digest");
        }
    } else {
        for _ in 0..2 {
            assert_eq!(p.plan_digests().await.unwrap(), planned, "repeated runs plan the same digest");
        }
    }
    let t = Recorder::default();
    for _ in 0..2 {
        p.attempt(&planned[0], &t).await.unwrap();
    }
    let sent = t.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0], ("alice@example.ru".to_owned(), "Сводка уведомлений за 2026-12-02".to_owned()));
    assert!(p.plan_digests().await.unwrap().is_empty(), "a sent digest is not planned again");
    let d = h.store.get_delivery(&planned[0]).await.unwrap().unwrap();
    assert_eq!(d.subject, "digest:2026-12-02");
}

/// A subscriber who reads their news in a daily digest hears a public message's news there: it
/// is kept as their notification (once, however often the job is planned) and the digest of the
/// day lists it.
pub async fn a_digest_subscriber_hears_the_news_in_the_digest<S: DeliveryBackend, Q: Queue>(h: &Harness<S, Q>) {
    let (p, clock) = pipeline(h).await;
    let r = reach(h).await;
    p.remember_contact(&resident("dora")).await.unwrap();
    r.subscribe(&resident("dora"), in_tyumen()).await.unwrap();
    h.store.put_preferences(&who("dora"), &prefs(Digest::Daily)).await.unwrap();
    let (mut m, entry) = submitted("alice", at(T0));
    m.public = true;
    m.status = Status::Routed;
    h.store.create_message(&NewRecord::new(m.clone(), entry), None, &[], None).await.unwrap();
    let mut n = note("alice", "tr-news", NotificationKind::Routed);
    n.message_id = m.id;
    for _ in 0..2 {
        p.plan(&n).await.unwrap();
    }
    let kept = h.store.list_notifications(&who("dora"), None, 10).await.unwrap();
    assert_eq!(kept.len(), 1, "kept once: {kept:?}");
    assert_eq!((kept[0].message_id, kept[0].citizen.as_str()), (m.id, "dora"));
    assert!(kept[0].text.starts_with("По вашей подписке"), "{}", kept[0].text);
    clock.set(at("2026-12-03T09:00:00+05:00"));
    let digests = p.plan_digests().await.unwrap();
    assert_eq!(digests.len(), 1, "dora's digest of the day");
    let t = Recorder::default();
    assert_eq!(p.attempt(&digests[0], &t).await.unwrap(), Attempted::Sent);
    assert_eq!(t.sent.lock().unwrap()[0].0, "dora@example.ru");
}

/// The AWS functions' sender: `notify` sends what it plans in the same invocation; a transient
/// failure waits for `deliver-mail`'s tick, which sends it once due.
pub async fn notify_sends_what_it_plans_and_the_tick_retries_what_failed<S: DeliveryBackend, Q: Queue>(
    h: &Harness<S, Q>,
) {
    use feedback_core::dispatch::Planner;
    let (p, clock) = pipeline(h).await;
    p.remember_contact(&resident("alice")).await.unwrap();
    let t = Arc::new(Recorder::default());
    let sender = notify::Sender::new(p, vec![t.clone()], std::time::Duration::from_secs(10));
    let planned = sender.plan(&note("alice", "tr-now", NotificationKind::Routed)).await.unwrap();
    assert_eq!(planned.len(), 1);
    assert_eq!(t.sent.lock().unwrap().len(), 1, "sent in the invocation that planned it");
    *t.fail.lock().unwrap() = Some(SendError::Transient("throttled".into()));
    let failed = sender.plan(&note("alice", "tr-later", NotificationKind::Answered)).await.unwrap();
    assert_eq!(t.sent.lock().unwrap().len(), 1);
    *t.fail.lock().unwrap() = None;
    sender.tick().await.unwrap();
    assert_eq!(t.sent.lock().unwrap().len(), 1, "not due before its backoff");
    clock.advance(Duration::minutes(1));
    sender.tick().await.unwrap();
    assert_eq!(t.sent.lock().unwrap().len(), 2, "the tick sends it once due");
    let d = h.store.get_delivery(&failed[0]).await.unwrap().unwrap();
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Sent, 2));
}

/// The sender with every channel of the AWS functions: each delivery goes through its own
/// channel's transport, so a failing mail server leaves the texts alone; the phone number is
/// kept, and texts planned and sent, only while the region file turns SMS on.
pub async fn each_channel_has_its_transport_and_sms_follows_the_region<S: DeliveryBackend, Q: Queue>(
    h: &Harness<S, Q>,
) {
    use feedback_core::dispatch::Planner;
    let mut region = sample_region();
    region.reach.sms_enabled = true;
    let (p, clock) = pipeline_on(h, vec![Channel::Email, Channel::Push, Channel::Sms], region.clone()).await;
    let with_phone = |sub: &str| {
        actor(sub, "[citizen]", &[("email", &format!("{sub}@example.ru")), ("phone_number", "+79990001122")])
    };
    p.remember_contact(&with_phone("alice")).await.unwrap();
    let sms_contact = h.store.get_contact(&who("alice"), Channel::Sms).await.unwrap();
    assert_eq!(sms_contact.map(|c| c.address), Some(Address::new("+79990001122")));
    let both = Preferences { channels: Channels { email: true, push: false, sms: true }, ..prefs(Digest::Instant) };
    h.store.put_preferences(&who("alice"), &both).await.unwrap();

    let (mail, texts) = (Arc::new(Recorder::on(Channel::Email)), Arc::new(Recorder::on(Channel::Sms)));
    *mail.fail.lock().unwrap() = Some(SendError::Transient("421 try later".into()));
    let channels: Vec<Arc<dyn Transport>> = vec![mail.clone(), texts.clone()];
    let sender = notify::Sender::new(p, channels, std::time::Duration::from_secs(10));
    let planned = sender.plan(&note("alice", "tr-both", NotificationKind::Answered)).await.unwrap();
    assert_eq!(planned.len(), 2, "one delivery per channel the resident chose");
    let sent: Vec<String> = texts.sent.lock().unwrap().iter().map(|(to, _)| to.clone()).collect();
    assert_eq!(sent, ["+79990001122"], "the text went out at once");
    assert!(mail.sent.lock().unwrap().is_empty(), "the mail server is down");
    let status = |id: &String| {
        let (store, id) = (h.store.clone(), id.clone());
        async move { store.get_delivery(&id).await.unwrap().map(|d| (d.channel, d.status)) }
    };
    let mut states = Vec::new();
    for id in &planned {
        states.push(status(id).await.unwrap());
    }
    states.sort_by_key(|(c, _)| c.as_str());
    assert_eq!(states, [(Channel::Email, DeliveryStatus::Pending), (Channel::Sms, DeliveryStatus::Sent)]);

    // The region turns SMS off: the next notification is planned by e-mail only.
    region.reach.sms_enabled = false;
    sender.deliveries.reference().seed(&region).await.unwrap();
    *mail.fail.lock().unwrap() = None;
    clock.advance(Duration::minutes(1));
    let later = sender.plan(&note("alice", "tr-mail-only", NotificationKind::Closed)).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(status(&later[0]).await.unwrap().0, Channel::Email);
    sender.tick().await.unwrap();
    assert_eq!(mail.sent.lock().unwrap().len(), 2, "the e-mail that waited and the new one");
    assert_eq!(texts.sent.lock().unwrap().len(), 1);

    // Where the region sends no SMS, a phone number is not kept at all.
    sender.deliveries.remember_contact(&with_phone("bob")).await.unwrap();
    assert!(h.store.get_contact(&who("bob"), Channel::Sms).await.unwrap().is_none());
    assert!(h.store.get_contact(&who("bob"), Channel::Email).await.unwrap().is_some());
}

/// A resident's deliveries are listed newest first for their export; those the region's
/// retention no longer keeps go with their notifications (pending ones stay), on a store that
/// does not expire items by itself.
pub async fn deliveries_are_listed_for_their_recipient_and_go_with_the_retention<S: DeliveryBackend, Q: Queue>(
    h: &Harness<S, Q>,
) {
    use feedback_core::ports::Pruned;
    let planned = |subject: &str, to: &str, when: chrono::DateTime<chrono::Utc>| {
        let payload = Payload::Transition {
            notification: note(to, subject, NotificationKind::Routed),
            audience: Audience::Author,
        };
        Delivery::planned(subject, Channel::Email, &who(to), payload, when).expiring(when + Duration::days(365))
    };
    let t0 = at(T0);
    let old_sent = planned("r-old", "alice", t0).after_attempt(&Ok(()), t0);
    let old_pending = planned("r-stuck", "alice", t0 + Duration::seconds(1));
    let recent = planned("r-new", "alice", t0 + Duration::days(300)).after_attempt(&Ok(()), t0 + Duration::days(300));
    let bobs = planned("r-bob", "bob", t0);
    for d in [&old_sent, &old_pending, &recent, &bobs] {
        h.store.plan_delivery(d).await.unwrap();
    }
    let subjects = |v: Vec<Delivery>| v.into_iter().map(|d| d.subject).collect::<Vec<_>>();
    assert_eq!(subjects(h.store.deliveries_to(&who("alice"), 10).await.unwrap()), ["r-new", "r-stuck", "r-old"]);
    assert_eq!(subjects(h.store.deliveries_to(&who("alice"), 1).await.unwrap()), ["r-new"]);
    assert!(h.store.deliveries_to(&who("carol"), 10).await.unwrap().is_empty());

    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&sample_region()).await.unwrap();
    let clock = Arc::new(ManualClock::at(T0));
    clock.set(t0 + Duration::days(400));
    let pruned = feedback_core::retention::Pruning::new(h.store.clone(), clock, reference).run().await.unwrap();
    if h.store.expires_by_itself() {
        assert_eq!(pruned, Pruned::default(), "DynamoDB expires them by their TTL");
        return;
    }
    assert_eq!(pruned.deliveries, 1, "the one sent more than a year ago");
    assert_eq!(subjects(h.store.deliveries_to(&who("alice"), 10).await.unwrap()), ["r-new", "r-stuck"]);
    assert!(h.store.get_delivery(&bobs.id).await.unwrap().is_some(), "a pending delivery stays");
}

#[macro_export]
macro_rules! delivery_suite {
    ($harness:expr) => {
        $crate::delivery_suite!(@common $harness;
            of_concurrent_claims_one_wins_and_a_sent_delivery_stays_sent,
            a_digest_resident_gets_one_digest_per_period
        );
    };
    (sequential $harness:expr) => {
        $crate::delivery_suite!(@common $harness;
            a_held_claim_stops_another_and_a_sent_delivery_stays_sent,
            a_digest_resident_gets_one_digest_per_period_run_after_run
        );
    };
    (@common $harness:expr; $($extra:ident),*) => {
        $crate::delivery_suite!(@cases $harness;
            $($extra,)*
            a_delivery_is_created_once,
            due_deliveries_are_found_by_their_due_time,
            subscribers_are_found_by_municipality_and_point,
            digest_residents_are_found_by_their_digest,
            contacts_are_kept_per_channel_and_erased,
            a_reported_address_is_found_by_its_address_and_turned_off_once,
            the_pipeline_sends_once_to_the_author_and_matching_subscribers,
            transient_failures_wait_and_a_permanent_one_turns_the_address_off,
            quiet_hours_defer_a_delivery_until_they_end,
            notify_sends_what_it_plans_and_the_tick_retries_what_failed,
            each_channel_has_its_transport_and_sms_follows_the_region,
            deliveries_are_listed_for_their_recipient_and_go_with_the_retention,
            a_digest_subscriber_hears_the_news_in_the_digest
        );
    };
    (@cases $harness:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (_guard, h) = $harness;
                $crate::delivery::$case(&h).await;
            }
        )*
    };
}
