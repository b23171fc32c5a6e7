//! Residents' preferences and subscriptions on every backend: defaults until set, a whole
//! replacement, the limit of subscriptions under concurrent adds, ownership and erasure.

use crate::contract::{Backend, Queue};
use crate::fixtures::{actor, code};
use crate::Harness;
use feedback_core::ids::SubscriptionId;
use feedback_core::preferences::{
    CenterRequest, Channels, Digest, Preferences, QuietHours, Reach, ReachErased, SubscriptionRequest,
    MAX_SUBSCRIPTIONS,
};
use feedback_core::service::Reference;
use feedback_core::testing::{sample_region, ManualClock};
use feedback_core::Actor;
use std::sync::Arc;

pub async fn reach<S: Backend, Q: Queue>(h: &Harness<S, Q>) -> Arc<Reach<S, Arc<ManualClock>>> {
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&sample_region()).await.unwrap();
    let clock = Arc::new(ManualClock::at("2026-11-27T10:00:00+05:00"));
    Arc::new(Reach::new(h.store.clone(), clock, reference))
}

pub fn resident(sub: &str) -> Actor {
    actor(sub, "[citizen]", &[("email", &format!("{sub}@example.ru"))])
}

pub fn daily() -> Preferences {
    Preferences {
        channels: Channels { email: false, push: true, sms: true },
        digest: Digest::Daily,
        quiet_hours: Some(QuietHours { from: "22:00".into(), to: "08:00".into() }),
    }
}

pub fn around(radius_m: u32) -> SubscriptionRequest {
    SubscriptionRequest {
        center: Some(CenterRequest { lat: 57.153, lon: 65.541 }),
        radius_m: Some(radius_m),
        category_id: Some("dorogi-yamy".into()),
        ..Default::default()
    }
}

pub async fn preferences_are_defaults_until_replaced_whole<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let r = reach(h).await;
    let alice = resident("alice");
    let got = r.preferences(&alice).await.unwrap();
    assert_eq!(
        (got.channels, got.digest, got.quiet_hours),
        (Channels { email: true, push: false, sms: false }, Digest::Instant, None)
    );
    let no_email = actor("bob", "[citizen]", &[]);
    assert!(!r.preferences(&no_email).await.unwrap().channels.email);

    assert_eq!(r.set_preferences(&alice, daily()).await.unwrap(), daily());
    assert_eq!(r.set_preferences(&alice, daily()).await.unwrap(), daily(), "a repeat changes nothing");
    assert_eq!(r.preferences(&alice).await.unwrap(), daily());
    let weekly = Preferences { digest: Digest::Weekly, quiet_hours: None, ..daily() };
    r.set_preferences(&alice, weekly.clone()).await.unwrap();
    assert_eq!(r.preferences(&alice).await.unwrap(), weekly, "the quiet hours left with the replacement");
    assert_eq!(h.store.get_preferences(&no_email.id).await.unwrap(), None, "Bob's are his own");

    let bad = Preferences { quiet_hours: Some(QuietHours { from: "24:00".into(), to: "08:00".into() }), ..daily() };
    assert_eq!(code(r.set_preferences(&alice, bad).await.unwrap_err()), "validation_failed");
    assert_eq!(r.preferences(&alice).await.unwrap(), weekly, "a refused replacement writes nothing");
    let official = actor("off-1", "[official]", &[("authority", "adm-tyumen")]);
    assert_eq!(code(r.preferences(&official).await.unwrap_err()), "forbidden");
}

pub async fn subscriptions_are_the_owners_only<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let r = reach(h).await;
    let (alice, bob) = (resident("alice"), resident("bob"));
    let town = SubscriptionRequest { municipality_id: Some("tyumen".into()), ..Default::default() };
    let first = r.subscribe(&alice, around(500)).await.unwrap();
    let second = r.subscribe(&alice, town).await.unwrap();
    assert_eq!((first.radius_m, first.category_id.as_ref().map(|c| c.as_str())), (Some(500), Some("dorogi-yamy")));
    assert_eq!(second.municipality_id.as_ref().map(|m| m.as_str()), Some("tyumen"));
    let bobs = r.subscribe(&bob, around(1000)).await.unwrap();
    let ids = |v: Vec<feedback_core::preferences::SubscriptionView>| {
        let mut ids = v.iter().map(|s| s.id).collect::<Vec<_>>();
        ids.sort();
        ids
    };
    let mut both = vec![first.id, second.id];
    both.sort();
    assert_eq!(ids(r.subscriptions(&alice).await.unwrap()), both);
    assert_eq!(ids(r.subscriptions(&bob).await.unwrap()), vec![bobs.id]);

    assert_eq!(code(r.unsubscribe(&bob, &first.id).await.unwrap_err()), "not_found", "not Bob's");
    assert_eq!(
        code(r.unsubscribe(&alice, &SubscriptionId::new_at(chrono::Utc::now())).await.unwrap_err()),
        "not_found"
    );
    r.unsubscribe(&alice, &first.id).await.unwrap();
    assert_eq!(code(r.unsubscribe(&alice, &first.id).await.unwrap_err()), "not_found", "gone");
    assert_eq!(ids(r.subscriptions(&alice).await.unwrap()), vec![second.id]);
    assert_eq!(ids(r.subscriptions(&bob).await.unwrap()), vec![bobs.id]);

    let unknown = SubscriptionRequest { municipality_id: Some("atlantis".into()), ..Default::default() };
    assert_eq!(code(r.subscribe(&alice, unknown).await.unwrap_err()), "validation_failed");
}

/// Twenty-six racing adds store at most twenty, and every accepted add is stored. Run on the
/// embedded backend only: moto's transactions are not atomic under concurrency (it once stored 25).
pub async fn the_subscription_limit_holds_under_concurrency<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let r = reach(h).await;
    let alice = resident("alice");
    let tasks: Vec<_> = (0..MAX_SUBSCRIPTIONS + 6)
        .map(|i| {
            let (r, alice) = (r.clone(), alice.clone());
            tokio::spawn(async move { r.subscribe(&alice, around(100 + i * 10)).await })
        })
        .collect();
    let (mut stored, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => stored += 1,
            Err(e) => {
                let c = code(e);
                assert!(c == "subscription_limit" || c == "concurrent_update", "{c}");
                refused += 1;
            }
        }
    }
    let held = r.subscriptions(&alice).await.unwrap();
    assert_eq!(held.len(), stored, "every accepted add is stored");
    assert!(stored <= MAX_SUBSCRIPTIONS as usize && refused >= 6, "{stored} stored, {refused} refused");
}

/// The twenty-first add is refused, and a place freed by a removal is taken again.
pub async fn the_subscription_limit_holds<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let r = reach(h).await;
    let alice = resident("alice");
    for i in 0..MAX_SUBSCRIPTIONS {
        r.subscribe(&alice, around(100 + i * 10)).await.unwrap();
    }
    let over = r.subscribe(&alice, around(300)).await.unwrap_err();
    assert_eq!(code(over), "subscription_limit");
    assert_eq!(r.subscriptions(&alice).await.unwrap().len(), MAX_SUBSCRIPTIONS as usize);
    let one = r.subscriptions(&alice).await.unwrap()[0].id;
    r.unsubscribe(&alice, &one).await.unwrap();
    r.subscribe(&alice, around(300)).await.unwrap();
    assert_eq!(r.subscriptions(&alice).await.unwrap().len(), MAX_SUBSCRIPTIONS as usize, "a freed place is taken");
    assert_eq!(code(r.subscribe(&alice, around(400)).await.unwrap_err()), "subscription_limit");
}

pub async fn erasing_takes_preferences_and_subscriptions<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let r = reach(h).await;
    let (alice, bob) = (resident("alice"), resident("bob"));
    r.set_preferences(&alice, daily()).await.unwrap();
    r.subscribe(&alice, around(500)).await.unwrap();
    r.subscribe(&alice, around(900)).await.unwrap();
    r.subscribe(&bob, around(500)).await.unwrap();
    let erased = h.store.erase_reach(&alice.id).await.unwrap();
    assert_eq!(erased, ReachErased { preferences: true, subscriptions: 2, contacts: 0, deliveries: 0 });
    assert_eq!(h.store.erase_reach(&alice.id).await.unwrap(), ReachErased::default());
    assert_eq!(h.store.get_preferences(&alice.id).await.unwrap(), None);
    assert!(r.subscriptions(&alice).await.unwrap().is_empty());
    assert_eq!(r.subscriptions(&bob).await.unwrap().len(), 1, "Bob's stay");
    for i in 0..MAX_SUBSCRIPTIONS {
        r.subscribe(&alice, around(100 + i)).await.unwrap();
    }
    assert_eq!(code(r.subscribe(&alice, around(300)).await.unwrap_err()), "subscription_limit", "the count restarted");
}

/// Every case, for the per-backend test files.
#[macro_export]
macro_rules! reach_suite {
    ($harness:expr) => {
        $crate::reach_suite!(@cases $harness;
            preferences_are_defaults_until_replaced_whole,
            subscriptions_are_the_owners_only,
            the_subscription_limit_holds,
            erasing_takes_preferences_and_subscriptions
        );
    };
    (@cases $harness:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (_guard, h) = $harness;
                $crate::reach::$case(&h).await;
            }
        )*
    };
}
