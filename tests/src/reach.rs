//! Residents' preferences, subscriptions and browsers' push subscriptions on every backend:
//! defaults until set, a whole replacement, the limits (also under concurrent adds), the same
//! endpoint replacing its record, ownership and erasure.

use crate::contract::{Backend, Queue};
use crate::fixtures::{actor, code};
use crate::Harness;
use feedback_core::ids::{PushSubscriptionId, SubscriptionId};
use feedback_core::preferences::{
    CenterRequest, Channels, Digest, NewPushSubscription, Preferences, QuietHours, Reach, ReachErased,
    SubscriptionRequest, MAX_PUSH_SUBSCRIPTIONS, MAX_SUBSCRIPTIONS,
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

/// Runs `n` adds at once, the `i`th made by `add(i)`; how many were stored and how many refused,
/// each refusal being the limit (`limit_code`) or a lost race.
async fn race<T, F, Fut>(n: u32, limit_code: &str, add: F) -> (usize, usize)
where
    T: Send + 'static,
    F: Fn(u32) -> Fut,
    Fut: std::future::Future<Output = Result<T, feedback_core::ServiceError>> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(add(i))).collect();
    let (mut stored, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => stored += 1,
            Err(e) => {
                let c = code(e);
                assert!(c == limit_code || c == "concurrent_update", "{c}");
                refused += 1;
            }
        }
    }
    (stored, refused)
}

/// Twenty-six racing adds store at most twenty, and every accepted add is stored. Run on the
/// embedded backend only: moto's transactions are not atomic under concurrency (it once stored 25).
pub async fn the_subscription_limit_holds_under_concurrency<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let r = reach(h).await;
    let alice = resident("alice");
    let (stored, refused) = race(MAX_SUBSCRIPTIONS + 6, "subscription_limit", |i| {
        let (r, alice) = (r.clone(), alice.clone());
        async move { r.subscribe(&alice, around(100 + i * 10)).await }
    })
    .await;
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
    assert_eq!(
        erased,
        ReachErased { preferences: true, subscriptions: 2, push_subscriptions: 0, contacts: 0, deliveries: 0 }
    );
    assert_eq!(h.store.erase_reach(&alice.id).await.unwrap(), ReachErased::default());
    assert_eq!(h.store.get_preferences(&alice.id).await.unwrap(), None);
    assert!(r.subscriptions(&alice).await.unwrap().is_empty());
    assert_eq!(r.subscriptions(&bob).await.unwrap().len(), 1, "Bob's stay");
    for i in 0..MAX_SUBSCRIPTIONS {
        r.subscribe(&alice, around(100 + i)).await.unwrap();
    }
    assert_eq!(code(r.subscribe(&alice, around(300)).await.unwrap_err()), "subscription_limit", "the count restarted");
}

/// A browser's push subscription with the keys `n` picks.
pub fn browser(n: u32) -> NewPushSubscription {
    NewPushSubscription {
        endpoint: format!("https://fcm.googleapis.com/fcm/send/browser-{n}"),
        endpoint_origin: "https://fcm.googleapis.com".into(),
        p256dh: format!("BKey{n}"),
        auth: format!("auth{n}"),
    }
}

pub async fn push_subscriptions_are_kept_per_endpoint<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let r = reach(h).await;
    let (alice, bob) = (resident("alice"), resident("bob"));
    assert!(!r.preferences(&alice).await.unwrap().channels.push, "push is off until a browser asks");
    let first = r.add_push_subscription(&alice, browser(1)).await.unwrap();
    assert!(r.preferences(&alice).await.unwrap().channels.push, "turning push on in a browser turns the channel on");
    assert_eq!(first.id, PushSubscriptionId::of_endpoint(&browser(1).endpoint));
    assert_eq!(first.endpoint_origin, "https://fcm.googleapis.com");
    assert_eq!(first.created_at.to_rfc3339(), "2026-11-27T10:00:00+05:00", "in the region's time");
    r.add_push_subscription(&alice, browser(2)).await.unwrap();
    r.add_push_subscription(&bob, browser(3)).await.unwrap();

    // The same endpoint again replaces the record with its new keys instead of adding one
    let renewed = NewPushSubscription { p256dh: "BKeyNew".into(), auth: "authNew".into(), ..browser(1) };
    let again = r.add_push_subscription(&alice, renewed).await.unwrap();
    assert_eq!(again.id, first.id);
    let held = h.store.push_subscriptions(&alice.id).await.unwrap();
    assert_eq!(held.len(), 2, "{held:?}");
    let kept = held.iter().find(|s| s.id == first.id).unwrap();
    assert_eq!((kept.p256dh.as_str(), kept.auth.as_str()), ("BKeyNew", "authNew"));
    assert_eq!(kept.endpoint, browser(1).endpoint, "the pipeline reads the whole endpoint");
    let views = r.push_subscriptions(&alice).await.unwrap();
    assert_eq!(views.len(), 2);
    assert!(!serde_json::to_string(&views).unwrap().contains("browser-"), "never the whole endpoint");

    // Only the owner removes theirs
    assert_eq!(code(r.remove_push_subscription(&bob, &first.id).await.unwrap_err()), "not_found");
    r.remove_push_subscription(&alice, &first.id).await.unwrap();
    assert_eq!(code(r.remove_push_subscription(&alice, &first.id).await.unwrap_err()), "not_found", "gone");
    assert!(!h.store.delete_push_subscription(&alice.id, &first.id).await.unwrap());
    assert_eq!(r.push_subscriptions(&alice).await.unwrap().len(), 1);
    assert_eq!(h.store.push_subscriptions(&bob.id).await.unwrap().len(), 1, "Bob's stays");
    let official = actor("off-1", "[official]", &[("authority", "adm-tyumen")]);
    assert_eq!(code(r.add_push_subscription(&official, browser(9)).await.unwrap_err()), "forbidden");
}

/// The eleventh browser is refused, the same endpoint is still replaced at the limit, and a place
/// freed by a removal is taken again.
pub async fn the_push_subscription_limit_holds<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let r = reach(h).await;
    let alice = resident("alice");
    for i in 0..MAX_PUSH_SUBSCRIPTIONS {
        r.add_push_subscription(&alice, browser(i)).await.unwrap();
    }
    let over = r.add_push_subscription(&alice, browser(100)).await.unwrap_err();
    assert_eq!(code(over), "push_subscription_limit");
    r.add_push_subscription(&alice, browser(0)).await.unwrap();
    assert_eq!(r.push_subscriptions(&alice).await.unwrap().len(), MAX_PUSH_SUBSCRIPTIONS as usize);
    let one = PushSubscriptionId::of_endpoint(&browser(3).endpoint);
    r.remove_push_subscription(&alice, &one).await.unwrap();
    r.add_push_subscription(&alice, browser(100)).await.unwrap();
    assert_eq!(r.push_subscriptions(&alice).await.unwrap().len(), MAX_PUSH_SUBSCRIPTIONS as usize);
    assert_eq!(code(r.add_push_subscription(&alice, browser(101)).await.unwrap_err()), "push_subscription_limit");
}

/// Sixteen racing adds of distinct browsers store at most ten, and every accepted one is stored.
/// Embedded backend only, as for subscriptions.
pub async fn the_push_subscription_limit_holds_under_concurrency<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let r = reach(h).await;
    let alice = resident("alice");
    let (stored, refused) = race(MAX_PUSH_SUBSCRIPTIONS + 6, "push_subscription_limit", |i| {
        let (r, alice) = (r.clone(), alice.clone());
        async move { r.add_push_subscription(&alice, browser(i)).await }
    })
    .await;
    assert_eq!(r.push_subscriptions(&alice).await.unwrap().len(), stored, "every accepted add is stored");
    assert!(stored <= MAX_PUSH_SUBSCRIPTIONS as usize && refused >= 6, "{stored} stored, {refused} refused");
}

pub async fn erasing_takes_push_subscriptions<S: Backend, Q: Queue>(h: &Harness<S, Q>) {
    let r = reach(h).await;
    let (alice, bob) = (resident("alice"), resident("bob"));
    r.add_push_subscription(&alice, browser(1)).await.unwrap();
    r.add_push_subscription(&alice, browser(2)).await.unwrap();
    r.subscribe(&alice, around(500)).await.unwrap();
    r.add_push_subscription(&bob, browser(3)).await.unwrap();
    let erased = h.store.erase_reach(&alice.id).await.unwrap();
    assert_eq!(
        erased,
        ReachErased { preferences: true, subscriptions: 1, push_subscriptions: 2, contacts: 0, deliveries: 0 },
        "push turned on kept preferences"
    );
    assert!(h.store.push_subscriptions(&alice.id).await.unwrap().is_empty());
    assert_eq!(h.store.push_subscriptions(&bob.id).await.unwrap().len(), 1, "Bob's stays");
    for i in 0..MAX_PUSH_SUBSCRIPTIONS {
        r.add_push_subscription(&alice, browser(10 + i)).await.unwrap();
    }
    let over = r.add_push_subscription(&alice, browser(99)).await.unwrap_err();
    assert_eq!(code(over), "push_subscription_limit", "the count restarted");
}

/// Every case, for the per-backend test files.
#[macro_export]
macro_rules! reach_suite {
    ($harness:expr) => {
        $crate::reach_suite!(@cases $harness;
            preferences_are_defaults_until_replaced_whole,
            subscriptions_are_the_owners_only,
            the_subscription_limit_holds,
            erasing_takes_preferences_and_subscriptions,
            push_subscriptions_are_kept_per_endpoint,
            the_push_subscription_limit_holds,
            erasing_takes_push_subscriptions
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
