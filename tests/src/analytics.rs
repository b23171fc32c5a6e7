//! Analytics on every backend: each event counted once on its local day, in every scope, and the
//! counters equal to a recount from the history.

use crate::contract::{Backend, Queue};
use crate::fixtures::citizen;
use crate::polls::admin;
use crate::workflow::{moderator, official, stack};
use crate::Harness;
use chrono::Duration;
use feedback_core::analytics::{reconcile, Analytics, GroupStats};
use feedback_core::ports::{HistoryScan, Job, NotificationStore};
use feedback_core::service::Reference;
use feedback_core::values::MessageText;
use feedback_core::workflow::RejectReason;
use feedback_core::CounterStore;
use std::sync::Arc;

/// Asserts that every counter equals its recount from the stored history.
pub async fn assert_reconciled<S: CounterStore + HistoryScan>(store: &S) {
    let outcome = reconcile(store, &|_| {}).await.expect("reconcile");
    assert!(outcome.differences.is_empty(), "counters differ from the history: {:?}", outcome.differences);
}

fn text(s: &str) -> MessageText {
    MessageText::parse(s).unwrap()
}

fn group<'a>(groups: &'a [GroupStats], key: &str) -> &'a GroupStats {
    groups.iter().find(|g| g.key == key).unwrap_or_else(|| panic!("no group {key} in {groups:?}"))
}

/// Three messages through every kind of event, with every routing job delivered three times:
/// each event counts once, on its day, for the region and for the authority it is credited to.
pub async fn every_event_counts_once_in_every_scope<S: Backend + NotificationStore, Q: Queue>(h: &Harness<S, Q>) {
    let s = stack(h).await;
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    let analytics = Analytics::new(h.store.clone(), s.clock.clone(), reference);
    let (alice, bob, carol) = (citizen("alice"), citizen("bob"), citizen("carol"));
    // Friday 2026-11-27: three submissions, every routing job delivered three times
    let pothole = s.submit(&alice, "dorogi-yamy", "Яма на Республики у дома 15", None).await;
    let heating = s.submit(&bob, "zhkh-otoplenie", "В квартире холодно, батареи ледяные", None).await;
    let spam = s.submit(&carol, "dorogi-yamy", "Яма во дворе дома 7 по улице Мира", None).await;
    for id in [pothole, heating, spam] {
        for _ in 0..2 {
            s.queue.send(&Job::RouteMessage { message_id: id }).await.unwrap();
        }
    }
    s.drain().await;
    let upravdor = official("o-1", "tyumen-upravdor");
    let adm = official("o-2", "adm-tyumen");
    // the pothole is answered the same day, on time, and rated 5
    s.clock.advance(Duration::hours(2));
    s.workflow.take(&upravdor, &pothole).await.unwrap();
    s.workflow.answer(&upravdor, &pothole, text("Яма заделана холодным асфальтом")).await.unwrap();
    s.workflow.reject(&moderator("m-1"), &spam, RejectReason::Duplicate, None).await.unwrap();
    s.clock.advance(Duration::hours(1));
    s.workflow.rate(&alice, &pothole, 5, None, false).await.unwrap();
    // heating (3 working days, due Wednesday 2026-12-02) goes overdue on Thursday
    s.clock.advance(Duration::days(6));
    s.escalation.run().await.unwrap();
    s.escalation.run().await.unwrap();
    s.workflow.answer(&adm, &heating, text("Подача тепла восстановлена, проведена проверка")).await.unwrap();
    // rated 2 and reopened, then answered again within the new deadline
    s.clock.advance(Duration::hours(1));
    s.workflow.rate(&bob, &heating, 2, None, true).await.unwrap();
    s.clock.advance(Duration::hours(1));
    s.workflow.answer(&adm, &heating, text("Заменён стояк, температура в норме")).await.unwrap();
    s.drain().await;

    let (from, to) = (Some("2026-11-01"), Some("2026-12-31"));
    let by_cat = analytics.messages(&admin(), from, to, Some("category")).await.unwrap().groups;
    let yamy = group(&by_cat, "dorogi-yamy");
    assert_eq!(yamy.name.as_deref(), Some("Ямы на дорогах"));
    assert_eq!((yamy.submitted, yamy.routed, yamy.answered, yamy.answered_on_time), (2, 2, 1, 1));
    assert_eq!((yamy.rejected, yamy.closed, yamy.rating_count, yamy.rating_avg), (1, 1, 1, Some(5.0)));
    assert_eq!(yamy.avg_response_hours, Some(2.0));
    let heat = group(&by_cat, "zhkh-otoplenie");
    assert_eq!((heat.submitted, heat.routed, heat.answered, heat.answered_on_time, heat.overdue), (1, 1, 2, 1, 1));
    assert_eq!((heat.reopened, heat.rating_count, heat.rating_4_5_share), (1, 1, Some(0.0)));

    // by day: the events fall on their own local days
    let by_day = analytics.messages(&admin(), Some("2026-11-27"), Some("2026-12-03"), Some("day")).await.unwrap();
    assert_eq!(by_day.groups.len(), 7, "every day of the range, empty ones included");
    let friday = group(&by_day.groups, "2026-11-27");
    assert_eq!((friday.submitted, friday.routed, friday.answered, friday.rejected, friday.closed), (3, 3, 1, 1, 1));
    let thursday = group(&by_day.groups, "2026-12-03");
    assert_eq!((thursday.overdue, thursday.answered, thursday.reopened), (1, 2, 1));
    assert_eq!(group(&by_day.groups, "2026-11-29").submitted, 0);

    // current status of the messages submitted in the range
    let by_status = analytics.messages(&admin(), from, to, Some("status")).await.unwrap().groups;
    let statuses: Vec<(&str, Option<i64>)> = by_status.iter().map(|g| (g.key.as_str(), g.messages)).collect();
    assert_eq!(statuses, vec![("answered", Some(1)), ("closed", Some(1)), ("rejected", Some(1))]);

    // an official sees only their authority, by category and in the ranking
    let own = analytics.messages(&upravdor, from, to, Some("category")).await.unwrap().groups;
    assert_eq!(own.len(), 1);
    assert_eq!((own[0].key.as_str(), own[0].routed, own[0].answered), ("dorogi-yamy", 2, 1));
    let own_status = analytics.messages(&adm, from, to, Some("status")).await.unwrap().groups;
    assert_eq!(
        own_status.iter().map(|g| (g.key.as_str(), g.messages)).collect::<Vec<_>>(),
        vec![("answered", Some(1))]
    );
    let ranking = analytics.authorities(&admin(), from, to).await.unwrap();
    let ids: Vec<&str> = ranking.iter().map(|r| r.authority_id.as_str()).collect();
    assert_eq!(ids, vec!["tyumen-upravdor", "adm-tyumen"], "best on-time share first");
    assert_eq!(ranking[1].on_time_share, Some(0.5));
    let only_own = analytics.authorities(&adm, from, to).await.unwrap();
    assert_eq!(only_own.iter().map(|r| r.authority_id.as_str()).collect::<Vec<_>>(), vec!["adm-tyumen"]);

    // a citizen is refused; the range is checked
    let refused = analytics.messages(&alice, from, to, None).await.unwrap_err();
    assert_eq!(crate::fixtures::code(refused), "forbidden");
    let backwards = analytics.messages(&admin(), Some("2026-12-01"), Some("2026-11-01"), None).await.unwrap_err();
    assert_eq!(crate::fixtures::code(backwards), "validation_failed");
    let too_long = analytics.messages(&admin(), Some("2025-01-01"), Some("2026-01-03"), None).await.unwrap_err();
    assert_eq!(crate::fixtures::code(too_long), "validation_failed");
    assert!(analytics.messages(&admin(), Some("2025-01-01"), Some("2026-01-02"), None).await.is_ok(), "366 days apart");

    // the public scorecards, from the same counters: nobody has 20 answers, so nobody is ranked
    let cards = analytics.scorecards().await.unwrap();
    assert!(cards.items.iter().all(|c| c.rank.is_none() && c.standing_ru == "недостаточно данных"));
    let card = |id: &str| cards.items.iter().find(|c| c.authority_id == id).unwrap();
    let quick = card("tyumen-upravdor");
    assert_eq!((quick.answered, quick.on_time.count, quick.on_time.n), (1, 1, 1));
    assert_eq!((quick.median_working_days.value, quick.median_working_days.n), (Some(0.0), 1), "the same day");
    assert_eq!((quick.rating_4_5.count, quick.rating_4_5.n), (1, 1));
    let slow = card("adm-tyumen");
    // the first answer came four working days after routing (Friday to Thursday), overdue; the
    // second, after the reopening, in time
    assert_eq!((slow.on_time.count, slow.on_time.n), (1, 2));
    assert_eq!((slow.median_working_days.value, slow.median_working_days.n), (Some(4.0), 1));
    assert_eq!((slow.reopened.count, slow.reopened.n), (1, 2));
    assert_eq!(slow.on_time.ci_low, Some(0.0945), "Wilson 1 of 2");
    let one = analytics.scorecard("adm-tyumen").await.unwrap();
    assert_eq!(one.scorecard, *slow);
    assert_eq!(crate::fixtures::code(analytics.scorecard("nobody").await.unwrap_err()), "not_found");
    assert_reconciled(&h.store).await;
}

/// Every analytics case, for the per-backend test files.
#[macro_export]
macro_rules! analytics_suite {
    ($harness:expr) => {
        $crate::analytics_suite!(@cases $harness; every_event_counts_once_in_every_scope);
    };
    (@cases $harness:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (_guard, h) = $harness;
                $crate::analytics::$case(&h).await;
            }
        )*
    };
}
