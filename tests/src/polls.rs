//! Participation on every backend: one secret ballot per citizen, the condition inside the
//! ballot transaction, sharded tallies, the scheduled close, eligibility and discussions.

use crate::contract::{Backend, Queue};
use crate::fixtures::{actor, at, code, comment};
use crate::Harness;
use chrono::{DateTime, Duration, Utc};
use feedback_core::analytics::{Analytics, PollReport};
use feedback_core::disclosure::GroupCount;
use feedback_core::page::Limit;
use feedback_core::participation::{
    Audience, BallotAnswer, CommentStore, Flag, ModerationState, NewPoll, Participation, Poll, PollKind, PollStatus,
    PollStore, Question, QuestionKind, ResultsVisibility,
};
use feedback_core::ports::{Job, QueueName, Quota, StoreError};
use feedback_core::service::relay_pending;
use feedback_core::service::Reference;
use feedback_core::testing::{poll_secrets_with, sample_region, ManualClock, MemoryKeys};
use feedback_core::values::FlagReason;
use feedback_core::webhook::{Event, EventData, EventType, PollData};
use feedback_core::{Actor, CitizenId, Clock, MunicipalityId};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const NOW: &str = "2026-11-28T12:00:00+05:00";

pub trait PollBackend: Backend + PollStore + CommentStore {}
impl<T: Backend + PollStore + CommentStore> PollBackend for T {}

pub struct Polls<S: PollBackend> {
    pub participation: Participation<S, Arc<ManualClock>>,
    pub clock: Arc<ManualClock>,
    pub store: S,
    /// The polls' private ballot keys, kept in memory.
    pub keys: Arc<MemoryKeys>,
}

pub async fn polls<S: PollBackend, Q: Queue>(h: &Harness<S, Q>) -> Polls<S> {
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&sample_region()).await.unwrap();
    let clock = Arc::new(ManualClock::at(NOW));
    let keys = Arc::new(MemoryKeys::default());
    let secrets = poll_secrets_with(b"test-stack-secret-0123456789", keys.clone());
    Polls {
        participation: Participation::new(h.store.clone(), clock.clone(), reference, secrets, 5),
        clock,
        store: h.store.clone(),
        keys,
    }
}

fn flag_reason(text: &str) -> FlagReason {
    FlagReason::parse(text).unwrap()
}

pub fn admin() -> Actor {
    actor("admin-1", "[admin]", &[])
}

/// A resident of `municipality` born on `birthdate`.
pub fn resident(sub: &str, municipality: &str, birthdate: &str) -> Actor {
    actor(sub, "[citizen]", &[("municipality", municipality), ("birthdate", birthdate)])
}

pub fn vote_input(opens: DateTime<Utc>, closes: DateTime<Utc>, results: ResultsVisibility) -> NewPoll {
    NewPoll {
        kind: PollKind::Vote,
        title: "Какой объект благоустроить в 2027 году?".into(),
        description: None,
        questions: vec![Question {
            text: "Выберите общественное пространство".into(),
            kind: QuestionKind::Single,
            options: vec!["Набережная Туры".into(), "Сквер Депутатов".into(), "Парк Гагарина".into()],
            max_choices: None,
            required: true,
        }],
        audience: Audience::default(),
        opens_at: opens,
        closes_at: closes,
        results,
    }
}

/// A required survey question of `kind` with `options`, as many of them as a voter likes.
pub fn question(kind: QuestionKind, options: &[&str]) -> Question {
    Question {
        text: "Вопрос анкеты".into(),
        kind,
        options: options.iter().map(|s| s.to_string()).collect(),
        max_choices: None,
        required: true,
    }
}

pub fn choose(option: usize) -> Vec<BallotAnswer> {
    vec![BallotAnswer { question: 0, options: vec![option], text: None }]
}

async fn open_vote<S: PollBackend>(p: &Polls<S>, results: ResultsVisibility) -> Poll {
    let now = p.clock.now();
    p.participation
        .create(&admin(), vote_input(now - Duration::minutes(1), now + Duration::days(7), results))
        .await
        .unwrap()
}

pub async fn one_ballot_per_citizen_with_a_receipt<S: PollBackend, Q: Queue>(h: &Harness<S, Q>) {
    let p = polls(h).await;
    let poll = open_vote(&p, ResultsVisibility::Live).await;
    assert_eq!(poll.status, PollStatus::Open);
    let alice = resident("alice", "tyumen", "1990-01-01");
    let receipt = p.participation.vote(&alice, &poll.id, choose(1)).await.unwrap();
    for other in ["bob", "carol"] {
        p.participation.vote(&resident(other, "ishim", "1985-05-05"), &poll.id, choose(2)).await.unwrap();
    }
    // the same citizen again: refused, whatever the choice
    assert_eq!(code(p.participation.vote(&alice, &poll.id, choose(0)).await.unwrap_err()), "already_voted");
    assert_eq!(p.participation.get(&alice, &poll.id).await.unwrap().has_voted, Some(true));
    assert_eq!(
        p.participation.get(&resident("dave", "tyumen", "1990-01-01"), &poll.id).await.unwrap().has_voted,
        Some(false)
    );
    // the receipt proves the ballot is counted; a made-up one does not
    assert_eq!(
        p.participation.check_receipt(&resident("zed", "tyumen", "1990-01-01"), &receipt).await.unwrap(),
        poll.id
    );
    assert_eq!(
        code(p.participation.check_receipt(&alice, "00000000000000000000000000").await.unwrap_err()),
        "not_found"
    );
    // live results
    let r = p.participation.results(&alice, &poll.id).await.unwrap();
    assert_eq!((r.total_ballots, r.is_final), (3, false));
    let counts: Vec<u64> = r.questions[0].options.as_ref().unwrap().iter().map(|o| o.count).collect();
    assert_eq!(counts, vec![0, 1, 2]);
    // a resident sees option counts only; turnout by municipality is for admins and analysts
    assert!(r.turnout.is_empty(), "a resident sees turnout: {:?}", r.turnout);
    let staff = p.participation.results(&admin(), &poll.id).await.unwrap();
    assert_eq!(staff.turnout.get("tyumen"), Some(&GroupCount::Suppressed));
    assert_eq!(staff.turnout.get("ishim"), Some(&GroupCount::Suppressed));
}

/// The audit's small municipality: one resident of Ishim votes in a live poll beside larger
/// groups. No resident sees turnout; admins and analysts see Ishim as "<10", and the smallest
/// other group is hidden with it so the total cannot give it away.
pub async fn small_turnout_groups_are_suppressed<S: PollBackend, Q: Queue>(h: &Harness<S, Q>) {
    let p = polls(h).await;
    let now = p.clock.now();
    let poll = p
        .participation
        .create(&admin(), vote_input(now - Duration::minutes(1), now + Duration::days(1), ResultsVisibility::Live))
        .await
        .unwrap();
    let mut voters = vec![("lone", "ishim")];
    voters.extend((0..12).map(|_| ("t", "tyumen")));
    voters.extend((0..11).map(|_| ("b", "tobolsk")));
    for (i, (who, municipality)) in voters.iter().enumerate() {
        let sub = format!("{who}-{i}");
        p.participation.vote(&resident(&sub, municipality, "1990-01-01"), &poll.id, choose(i % 3)).await.unwrap();
    }
    let neighbour = p.participation.results(&resident("n", "ishim", "1990-01-01"), &poll.id).await.unwrap();
    assert!(neighbour.turnout.is_empty(), "a resident sees turnout: {:?}", neighbour.turnout);
    assert_eq!(neighbour.total_ballots, 24);
    let expected: BTreeMap<String, GroupCount> = [
        ("ishim".to_owned(), GroupCount::Suppressed),
        ("tobolsk".to_owned(), GroupCount::Suppressed),
        ("tyumen".to_owned(), GroupCount::Exact(12)),
    ]
    .into();
    let analyst = actor("analyst-1", "[analyst]", &[]);
    for staff in [admin(), analyst.clone()] {
        assert_eq!(p.participation.results(&staff, &poll.id).await.unwrap().turnout, expected);
    }
    // the analytics report of the poll, live and after the close
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    let analytics = Analytics::new(h.store.clone(), p.clock.clone(), reference);
    let report_turnout = |r: &PollReport| -> BTreeMap<String, GroupCount> {
        r.turnout.iter().map(|t| (t.municipality_id.clone(), t.ballots)).collect()
    };
    let live = analytics.poll(&analyst, &poll.id).await.unwrap();
    assert_eq!(report_turnout(&live), expected);
    // turnout as a share of the adults the region file knows: 24 of 2400, Tyumen 12 of 1200, and
    // no share for a suppressed group
    assert_eq!((live.eligible, live.turnout_share), (Some(2400), Some(0.01)));
    let shares: BTreeMap<&str, (Option<u64>, Option<f64>)> =
        live.turnout.iter().map(|t| (t.municipality_id.as_str(), (t.eligible, t.share))).collect();
    assert_eq!(shares["tyumen"], (Some(1200), Some(0.01)));
    assert_eq!(shares["ishim"], (Some(400), None));
    assert_eq!(live.results.as_ref().unwrap().turnout, expected);
    p.clock.advance(Duration::days(2));
    assert_eq!(p.participation.run_schedule().await.unwrap().closed, 1);
    let closed = analytics.poll(&analyst, &poll.id).await.unwrap();
    assert_eq!(report_turnout(&closed), expected);
    assert_eq!(closed.results.as_ref().unwrap().turnout, expected);
    assert_eq!(p.participation.results(&admin(), &poll.id).await.unwrap().turnout, expected);
    // the stored results keep the exact figures
    let stored = p.store.get_results(&poll.id).await.unwrap().unwrap();
    assert_eq!(stored.turnout.get("ishim"), Some(&GroupCount::Exact(1)));
}

pub async fn a_late_ballot_is_refused_by_the_transaction<S: PollBackend, Q: Queue>(h: &Harness<S, Q>) {
    let p = polls(h).await;
    let now = p.clock.now();
    let poll = p
        .participation
        .create(&admin(), vote_input(now - Duration::minutes(1), now + Duration::minutes(10), ResultsVisibility::Live))
        .await
        .unwrap();
    // the schedule has not run: the poll is still `open` in the store, but its time is over
    p.clock.advance(Duration::minutes(10));
    let late = p.participation.vote(&resident("alice", "tyumen", "1990-01-01"), &poll.id, choose(0)).await;
    assert_eq!(code(late.unwrap_err()), "poll_not_open");
    assert_eq!(p.store.tally(&poll.id).await.unwrap().total, 0);
    // a cancelled poll refuses ballots too
    let other = open_vote(&p, ResultsVisibility::Live).await;
    p.participation.cancel(&admin(), &other.id).await.unwrap();
    let refused = p.participation.vote(&resident("alice", "tyumen", "1990-01-01"), &other.id, choose(0)).await;
    assert_eq!(code(refused.unwrap_err()), "poll_not_open");
}

/// Casts `voters` ballots one at a time and checks the sharded tally sums exactly.
pub async fn the_tally_sums_exactly<S: PollBackend, Q: Queue>(h: &Harness<S, Q>, voters: usize) {
    let p = polls(h).await;
    let poll = open_vote(&p, ResultsVisibility::Live).await;
    let mut expected = [0u64; 3];
    for i in 0..voters {
        let option = (i * 7 + i / 3) % 3;
        expected[option] += 1;
        let who = resident(&format!("voter-{i}"), if i % 4 == 0 { "ishim" } else { "tyumen" }, "1980-01-01");
        p.participation.vote(&who, &poll.id, choose(option)).await.unwrap();
    }
    let tally = p.store.tally(&poll.id).await.unwrap();
    assert_eq!(tally.total, voters as u64);
    let counts: Vec<u64> = (0..3).map(|o| tally.counts.get(&0).and_then(|c| c.get(&o)).copied().unwrap_or(0)).collect();
    assert_eq!(counts, expected.to_vec());
    assert_eq!(tally.turnout.values().sum::<u64>(), voters as u64);
}

pub async fn the_schedule_opens_closes_and_freezes_once<S: PollBackend, Q: Queue>(h: &Harness<S, Q>) {
    let p = polls(h).await;
    let opens = at("2026-12-01T09:00:00+05:00");
    let closes = at("2026-12-01T21:00:00+05:00");
    let poll =
        p.participation.create(&admin(), vote_input(opens, closes, ResultsVisibility::AfterClose)).await.unwrap();
    assert_eq!(poll.status, PollStatus::Scheduled);
    let alice = resident("alice", "tyumen", "1990-01-01");
    // before opening: nothing to do, and no ballots
    assert_eq!(p.participation.run_schedule().await.unwrap().opened, 0);
    assert_eq!(code(p.participation.vote(&alice, &poll.id, choose(0)).await.unwrap_err()), "poll_not_open");
    // opened by the schedule
    p.clock.set(at("2026-12-01T09:00:30+05:00"));
    assert_eq!(p.participation.run_schedule().await.unwrap().opened, 1);
    assert_eq!(p.participation.run_schedule().await.unwrap().opened, 0);
    p.participation.vote(&alice, &poll.id, choose(2)).await.unwrap();
    p.participation.vote(&resident("bob", "tyumen", "1990-01-01"), &poll.id, choose(2)).await.unwrap();
    // results stay unpublished while it is open
    assert_eq!(code(p.participation.results(&alice, &poll.id).await.unwrap_err()), "results_not_published");
    // closed and frozen by the schedule; a second run changes nothing
    p.clock.set(at("2026-12-01T21:00:05+05:00"));
    assert_eq!(p.participation.run_schedule().await.unwrap().closed, 1);
    assert_eq!(p.participation.run_schedule().await.unwrap().closed, 0);
    let stored = p.store.get_poll(&poll.id).await.unwrap().unwrap();
    assert_eq!(stored.status, PollStatus::Closed);
    let r = p.participation.results(&alice, &poll.id).await.unwrap();
    assert!(r.is_final);
    assert_eq!(r.total_ballots, 2);
    assert_eq!(r.questions[0].options.as_ref().unwrap()[2].share, 1.0);
    // a ballot after the close is refused
    let late = p.participation.vote(&resident("carol", "tyumen", "1990-01-01"), &poll.id, choose(0)).await;
    assert_eq!(code(late.unwrap_err()), "poll_not_open");
    assert_eq!(p.store.get_results(&poll.id).await.unwrap().unwrap().total_ballots, 2);
}

/// The events published to webhook endpoints since the last call, relayed and taken off their queue.
async fn published_poll_events<S: PollBackend, Q: Queue>(h: &Harness<S, Q>, now: DateTime<Utc>) -> Vec<Event> {
    relay_pending(&h.store, &h.queue, now + Duration::hours(1), Duration::seconds(0)).await.unwrap();
    let mut events = Vec::new();
    loop {
        let batch = h.queue.receive(QueueName::WebhookEvents, 10, std::time::Duration::from_secs(30)).await.unwrap();
        if batch.is_empty() {
            return events;
        }
        for d in batch {
            match Job::from_body(&d.body).unwrap() {
                Job::Publish { event } => events.push(event),
                other => panic!("not a publish job: {other:?}"),
            }
            h.queue.ack(QueueName::WebhookEvents, &d.receipt).await.unwrap();
        }
    }
}

pub async fn the_schedule_publishes_opened_and_closed_once<S: PollBackend, Q: Queue>(h: &Harness<S, Q>) {
    let p = polls(h).await;
    let (opens, closes) = (at("2026-12-01T09:00:00+05:00"), at("2026-12-01T21:00:00+05:00"));
    let mut input = vote_input(opens, closes, ResultsVisibility::AfterClose);
    input.audience.municipalities = vec![MunicipalityId::parse("tyumen").unwrap()];
    let poll = p.participation.create(&admin(), input).await.unwrap();
    assert_eq!(p.participation.run_schedule().await.unwrap().opened, 0);
    assert!(published_poll_events(h, p.clock.now()).await.is_empty(), "a scheduled poll publishes nothing yet");

    p.clock.set(at("2026-12-01T09:00:30+05:00"));
    assert_eq!(p.participation.run_schedule().await.unwrap().opened, 1);
    assert_eq!(p.participation.run_schedule().await.unwrap().opened, 0);
    p.participation.vote(&resident("alice", "tyumen", "1990-01-01"), &poll.id, choose(1)).await.unwrap();
    let opened = published_poll_events(h, p.clock.now()).await;
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0].event_type, EventType::PollOpened);
    let expected = PollData {
        poll_id: poll.id,
        kind: poll.kind,
        title: poll.title.clone(),
        municipalities: vec![MunicipalityId::parse("tyumen").unwrap()],
        opens_at: opens,
        closes_at: closes,
    };
    assert_eq!(opened[0].data, EventData::Poll(expected.clone()));

    p.clock.set(at("2026-12-01T21:00:05+05:00"));
    assert_eq!(p.participation.run_schedule().await.unwrap().closed, 1);
    assert_eq!(p.participation.run_schedule().await.unwrap().closed, 0);
    let closed = published_poll_events(h, p.clock.now()).await;
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_eq!(closed[0].event_type, EventType::PollClosed);
    assert_eq!(closed[0].data, EventData::Poll(expected.clone()));
    assert_ne!(closed[0].id, opened[0].id);
    assert_eq!(
        closed[0].id,
        Event::about_poll(EventType::PollClosed, expected, p.clock.now()).id,
        "derived from the poll"
    );
    let body = closed[0].body();
    for private in ["alice", "ballot", "receipt", "voter", "turnout", "Набережная"] {
        assert!(!body.contains(private), "{private} in {body}");
    }
}

pub async fn only_the_audience_may_vote<S: PollBackend, Q: Queue>(h: &Harness<S, Q>) {
    let p = polls(h).await;
    let now = p.clock.now();
    let mut input = vote_input(now - Duration::minutes(1), now + Duration::days(1), ResultsVisibility::Live);
    input.audience = Audience { municipalities: vec![MunicipalityId::parse("tyumen").unwrap()], min_age: Some(18) };
    let poll = p.participation.create(&admin(), input).await.unwrap();
    let refuse = |who: Actor| {
        let participation = &p.participation;
        let id = poll.id;
        async move { code(participation.vote(&who, &id, choose(0)).await.unwrap_err()) }
    };
    assert_eq!(refuse(resident("ivan", "ishim", "1990-01-01")).await, "not_eligible");
    // 18 tomorrow: not yet
    assert_eq!(refuse(resident("teen", "tyumen", "2008-11-29")).await, "not_eligible");
    assert_eq!(refuse(actor("nobirth", "[citizen]", &[("municipality", "tyumen")])).await, "not_eligible");
    p.participation.vote(&resident("adult", "tyumen", "2008-11-28"), &poll.id, choose(0)).await.unwrap();
    // the ineligible do not see it listed; the eligible do, with has_voted
    let listed = |who: Actor| {
        let participation = &p.participation;
        async move { participation.list(&who, false, PollStatus::Open, None, Limit::DEFAULT).await.unwrap().items }
    };
    assert!(listed(resident("ivan", "ishim", "1990-01-01")).await.is_empty());
    let mine = listed(resident("adult", "tyumen", "2008-11-28")).await;
    assert_eq!((mine.len(), mine[0].has_voted), (1, Some(true)));
    // and only an admin of the region creates polls
    let other_region = actor("admin-66", "[admin]", &[("region", "66")]);
    let input = vote_input(now, now + Duration::days(1), ResultsVisibility::Live);
    assert_eq!(code(p.participation.create(&other_region, input).await.unwrap_err()), "wrong_region");
}

pub async fn survey_answers_are_validated<S: PollBackend, Q: Queue>(h: &Harness<S, Q>) {
    let p = polls(h).await;
    let now = p.clock.now();
    let q = |kind, options: &[&str], max| Question {
        text: "Вопрос анкеты".into(),
        kind,
        options: options.iter().map(|s| s.to_string()).collect(),
        max_choices: max,
        required: true,
    };
    let input = NewPoll {
        kind: PollKind::Survey,
        questions: vec![
            q(QuestionKind::Single, &["Да", "Нет"], None),
            q(QuestionKind::Multi, &["Автобус", "Трамвай", "Такси"], Some(2)),
            q(QuestionKind::Text, &[], None),
        ],
        ..vote_input(now - Duration::minutes(1), now + Duration::days(1), ResultsVisibility::Live)
    };
    let poll = p.participation.create(&admin(), input).await.unwrap();
    let alice = resident("alice", "tyumen", "1990-01-01");
    let a = |question, options: &[usize], text: Option<&str>| BallotAnswer {
        question,
        options: options.to_vec(),
        text: text.map(str::to_owned),
    };
    for bad in [
        vec![a(0, &[2], None), a(1, &[0], None), a(2, &[], Some("Больше автобусов"))],
        vec![a(0, &[0], None), a(1, &[0, 1, 2], None), a(2, &[], Some("Больше автобусов"))],
        vec![a(0, &[0], Some("текст")), a(1, &[0], None), a(2, &[], Some("Больше автобусов"))],
        vec![a(0, &[0], None), a(1, &[0], None), a(2, &[], Some(&"я".repeat(1001)))],
    ] {
        assert_eq!(code(p.participation.vote(&alice, &poll.id, bad).await.unwrap_err()), "validation_failed");
    }
    let good = vec![a(0, &[0], None), a(1, &[0, 1], None), a(2, &[], Some("Больше автобусов"))];
    p.participation.vote(&alice, &poll.id, good).await.unwrap();
    let r = p.participation.results(&alice, &poll.id).await.unwrap();
    assert_eq!(r.questions[2].text_answers, Some(1));
    assert_eq!(r.questions[1].options.as_ref().unwrap().iter().map(|o| o.count).collect::<Vec<_>>(), vec![1, 1, 0]);
}

/// A survey with results after the close: ballots are sealed to the poll's key, so the store holds
/// no option counts and no readable answer while it is open. The close opens them, freezes exact
/// totals, keeps the free-text answers (once, however often it runs) and destroys the sealed
/// ballots and the key; receipts still prove "counted". A cancelled sealed poll loses its sealed
/// ballots and key too.
pub async fn sealed_ballots_are_opened_at_the_close_then_destroyed<S: PollBackend, Q: Queue>(h: &Harness<S, Q>) {
    let p = polls(h).await;
    let now = p.clock.now();
    let input = NewPoll {
        kind: PollKind::Survey,
        questions: vec![question(QuestionKind::Single, &["Да", "Нет", "Не знаю"]), question(QuestionKind::Text, &[])],
        ..vote_input(now - Duration::minutes(1), now + Duration::hours(2), ResultsVisibility::AfterClose)
    };
    let poll = p.participation.create(&admin(), input).await.unwrap();
    assert!(poll.ballot_key.is_some());
    assert_eq!(p.keys.kept(), 1);
    let mut receipts = Vec::new();
    let mut texts = Vec::new();
    for i in 0..12usize {
        let text = format!("Пожелание номер {i}: осветить двор");
        let answers = vec![
            BallotAnswer { question: 0, options: vec![i % 3], text: None },
            BallotAnswer { question: 1, options: vec![], text: Some(text.clone()) },
        ];
        let voter = resident(&format!("sealed-{i}"), if i % 2 == 0 { "tyumen" } else { "ishim" }, "1990-01-01");
        receipts.push(p.participation.vote(&voter, &poll.id, answers).await.unwrap());
        texts.push(text);
    }
    // While open: sealed ballots only, in pages; no option counts, no readable text.
    let mut sealed = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = p.store.sealed_page(&poll.id, after.as_deref(), 5).await.unwrap();
        sealed.extend(page.ballots);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(sealed.len(), 12);
    assert!(sealed.iter().all(|b| b.sealed.len() == sealed[0].sealed.len()), "sealed sizes differ");
    for b in &sealed {
        assert!(!b.sealed.windows(8).any(|w| w == &"Пожелание".as_bytes()[..8]), "a sealed ballot holds its text");
    }
    let live = p.store.tally(&poll.id).await.unwrap();
    assert_eq!(live.total, 12);
    assert!(live.counts.is_empty(), "option counts while sealed: {:?}", live.counts);
    assert!(p.store.text_answers(&poll.id, None, 100).await.unwrap().is_empty());

    p.clock.set(now + Duration::hours(3));
    let report = p.participation.run_schedule().await.unwrap();
    assert_eq!((report.closed, report.keys_destroyed), (1, 0), "{report:?}");
    let closed = p.store.get_poll(&poll.id).await.unwrap().unwrap();
    assert_eq!((closed.status, closed.ballot_key.is_none()), (PollStatus::Closed, true));
    assert_eq!(p.keys.kept(), 0);
    assert!(p.store.sealed_page(&poll.id, None, 100).await.unwrap().ballots.is_empty());
    let r = p.participation.results(&resident("reader", "tyumen", "1990-01-01"), &poll.id).await.unwrap();
    assert_eq!((r.total_ballots, r.is_final), (12, true));
    let counts: Vec<u64> = r.questions[0].options.as_ref().unwrap().iter().map(|o| o.count).collect();
    assert_eq!(counts, vec![4, 4, 4]);
    assert_eq!(r.questions[1].text_answers, Some(12));
    let kept = |answers: Vec<feedback_core::participation::TextAnswer>| {
        let mut t: Vec<String> = answers.into_iter().map(|a| a.text).collect();
        t.sort();
        t
    };
    texts.sort();
    assert_eq!(kept(p.store.text_answers(&poll.id, None, 100).await.unwrap()), texts);
    // paging through the text answers by id
    let first = p.store.text_answers(&poll.id, None, 5).await.unwrap();
    let rest = p.store.text_answers(&poll.id, first.last().map(|a| a.id.as_str()), 100).await.unwrap();
    assert_eq!((first.len(), rest.len()), (5, 7));
    for receipt in &receipts {
        assert_eq!(
            p.participation.check_receipt(&resident("zed", "tyumen", "1990-01-01"), receipt).await.unwrap(),
            poll.id
        );
    }
    assert_eq!(p.participation.run_schedule().await.unwrap(), Default::default());
    assert_eq!(p.store.text_answers(&poll.id, None, 100).await.unwrap().len(), 12);

    // A poll whose key was lost cannot be counted; it stays closing and holds up no other poll.
    let window = |hours| {
        vote_input(
            p.clock.now() - Duration::minutes(1),
            p.clock.now() + Duration::hours(hours),
            ResultsVisibility::AfterClose,
        )
    };
    let lost = p.participation.create(&admin(), window(1)).await.unwrap();
    let counted = p.participation.create(&admin(), window(1)).await.unwrap();
    p.participation.vote(&resident("lost-1", "tyumen", "1990-01-01"), &lost.id, choose(0)).await.unwrap();
    p.participation.vote(&resident("lost-1", "tyumen", "1990-01-01"), &counted.id, choose(1)).await.unwrap();
    feedback_core::participation::BallotKeys::destroy_key(p.keys.as_ref(), &lost.id).await.unwrap();
    p.clock.set(p.clock.now() + Duration::hours(2));
    let report = p.participation.run_schedule().await.unwrap();
    assert_eq!((report.closed, report.failed), (1, 1), "{report:?}");
    assert_eq!(p.store.get_poll(&lost.id).await.unwrap().unwrap().status, PollStatus::Closing);
    assert_eq!(p.store.get_results(&counted.id).await.unwrap().unwrap().total_ballots, 1);

    // Cancelled while open: its sealed ballots and key go at the next run.
    let input = vote_input(
        p.clock.now() - Duration::minutes(1),
        p.clock.now() + Duration::days(1),
        ResultsVisibility::AfterClose,
    );
    let cancelled = p.participation.create(&admin(), input).await.unwrap();
    p.participation.vote(&resident("late-1", "tyumen", "1990-01-01"), &cancelled.id, choose(0)).await.unwrap();
    p.participation.cancel(&admin(), &cancelled.id).await.unwrap();
    assert_eq!(p.keys.kept(), 1);
    // staff see how many ballots a cancelled secret poll had, never a count per option
    let seen = p.participation.results(&admin(), &cancelled.id).await.unwrap();
    assert_eq!((seen.total_ballots, seen.is_final, seen.questions.len()), (1, false, 0));
    let report = p.participation.run_schedule().await.unwrap();
    assert_eq!((report.keys_destroyed, report.failed), (1, 1), "{report:?}");
    assert_eq!(p.keys.kept(), 0);
    assert!(p.store.sealed_page(&cancelled.id, None, 100).await.unwrap().ballots.is_empty());
    assert!(p.store.get_poll(&cancelled.id).await.unwrap().unwrap().ballot_key.is_none());
    // A live survey keeps its free-text answers at once, with no link to the ballot.
    let input = NewPoll {
        kind: PollKind::Survey,
        questions: vec![question(QuestionKind::Text, &[])],
        ..vote_input(p.clock.now() - Duration::minutes(1), p.clock.now() + Duration::days(1), ResultsVisibility::Live)
    };
    let live = p.participation.create(&admin(), input).await.unwrap();
    assert!(live.ballot_key.is_none());
    let answer =
        vec![BallotAnswer { question: 0, options: vec![], text: Some("Скамейки у пруда".into()) }];
    p.participation.vote(&resident("live-1", "tyumen", "1990-01-01"), &live.id, answer).await.unwrap();
    assert_eq!(kept(p.store.text_answers(&live.id, None, 10).await.unwrap()), vec!["Скамейки у пруда".to_owned()]);
}

/// A discussion open from a minute before `now` for a week.
pub fn discussion_input(title: &str, now: DateTime<Utc>) -> NewPoll {
    NewPoll {
        kind: PollKind::Discussion,
        title: title.into(),
        questions: vec![],
        ..vote_input(now - Duration::minutes(1), now + Duration::days(7), ResultsVisibility::Live)
    }
}

pub async fn three_distinct_flaggers_hide_a_comment<S: PollBackend, Q: Queue>(h: &Harness<S, Q>) {
    let p = polls(h).await;
    let now = p.clock.now();
    let d = p.participation.create(&admin(), discussion_input("Правила выгула собак в парках", now)).await.unwrap();
    let alice = resident("alice", "tyumen", "1990-01-01");
    let c = p.participation.comment(&alice, &d.id, comment("Нужны огороженные площадки"), None).await.unwrap();
    let bob = resident("bob", "tyumen", "1990-01-01");
    p.participation.comment(&bob, &d.id, comment("Согласен!"), Some(c.id)).await.unwrap();
    // the same flagger twice counts once, with the first reason; the third distinct flagger hides it
    let f1 = resident("f1", "tyumen", "1990-01-01");
    p.participation.flag(&f1, &c.id, Some(flag_reason("оскорбление"))).await.unwrap();
    assert_eq!(p.participation.flag(&f1, &c.id, Some(flag_reason("другая причина"))).await.unwrap().flags, 1);
    p.participation.flag(&resident("f2", "tyumen", "1990-01-01"), &c.id, None).await.unwrap();
    let moderator = actor("m-1", "[moderator]", &[]);
    let queue =
        p.participation.moderation_queue(&moderator, ModerationState::Flagged, None, Limit::DEFAULT).await.unwrap();
    assert_eq!(queue.items.iter().map(|x| x.comment.id).collect::<Vec<_>>(), vec![c.id]);
    // moderators read the reasons flaggers gave; a flag without one adds none
    let reasons: Vec<&str> = queue.items[0].flag_reasons.iter().map(|r| r.as_str()).collect();
    assert_eq!(reasons, ["оскорбление"]);
    let f3 = resident("f3", "tyumen", "1990-01-01");
    let hidden = p.participation.flag(&f3, &c.id, Some(flag_reason("спам"))).await.unwrap();
    assert!(hidden.hidden);
    // hidden comments are not listed for citizens, but are for moderators
    let seen = p.participation.comments(&alice, &d.id, None, Limit::DEFAULT).await.unwrap().items;
    assert_eq!(seen.len(), 1);
    let hidden_queue = p.participation.moderation_queue(&moderator, ModerationState::Hidden, None, Limit::DEFAULT);
    let hidden_queue = hidden_queue.await.unwrap().items;
    assert_eq!(hidden_queue.len(), 1);
    let reasons: Vec<&str> = hidden_queue[0].flag_reasons.iter().map(|r| r.as_str()).collect();
    assert_eq!(reasons, ["оскорбление", "спам"]);
    // a moderator restores it; it is listed again and further flags do not hide it
    let restored = p.participation.moderate(&moderator, &c.id, false).await.unwrap();
    assert!(!restored.hidden);
    assert_eq!(p.participation.comments(&alice, &d.id, None, Limit::DEFAULT).await.unwrap().items.len(), 2);
    assert!(!p.participation.flag(&resident("f4", "tyumen", "1990-01-01"), &c.id, None).await.unwrap().hidden);
    assert_eq!(code(p.participation.moderate(&alice, &c.id, true).await.unwrap_err()), "forbidden");
    // comments are rate limited per citizen (5 per hour here)
    for i in 0..4 {
        p.participation.comment(&alice, &d.id, comment(&format!("Комментарий {i}")), None).await.unwrap();
    }
    let over = p.participation.comment(&alice, &d.id, comment("Ещё один"), None).await;
    assert_eq!(code(over.unwrap_err()), "rate_limited");
}

/// The store keeps each flag's reason with its flagger and lists a comment's flags by flagger.
pub async fn flags_keep_their_reasons<S: PollBackend, Q: Queue>(h: &Harness<S, Q>) {
    let p = polls(h).await;
    let now = p.clock.now();
    let input = discussion_input("Остановки общественного транспорта", now);
    let d = p.participation.create(&admin(), input).await.unwrap();
    let alice = resident("alice", "tyumen", "1990-01-01");
    let mut c = p.participation.comment(&alice, &d.id, comment("Нужен павильон на остановке"), None).await.unwrap();
    let quota = Quota::hourly("flag#test".to_owned(), 100, now);
    let flags = [
        Flag {
            flagger: CitizenId::parse("zoe").unwrap(), reason: Some(flag_reason("реклама «Окна» & \"скидки\""))
        },
        Flag { flagger: CitizenId::parse("bob").unwrap(), reason: None },
        Flag { flagger: CitizenId::parse("ann").unwrap(), reason: Some(flag_reason(&"я".repeat(500))) },
    ];
    for flag in &flags {
        let mut next = c.clone();
        next.flags += 1;
        next.version += 1;
        p.store.update_comment(c.version, &next, Some((flag, &quota))).await.unwrap();
        c = next;
    }
    // a repeated flagger is refused and changes nothing
    let mut next = c.clone();
    next.version += 1;
    let again = Flag { flagger: CitizenId::parse("bob").unwrap(), reason: Some(flag_reason("ещё раз")) };
    assert!(matches!(
        p.store.update_comment(c.version, &next, Some((&again, &quota))).await,
        Err(StoreError::Conflict)
    ));
    let stored = p.store.flags(&c.id, 10).await.unwrap();
    assert_eq!(stored, vec![flags[2].clone(), flags[1].clone(), flags[0].clone()]);
    assert_eq!(p.store.flags(&c.id, 2).await.unwrap(), vec![flags[2].clone(), flags[1].clone()]);
    let other = p.participation.comment(&alice, &d.id, comment("Без жалоб"), None).await.unwrap();
    assert!(p.store.flags(&other.id, 10).await.unwrap().is_empty());
}

/// Every participation case that runs on both backends.
#[macro_export]
macro_rules! polls_suite {
    ($harness:expr) => {
        $crate::polls_suite!(@cases $harness;
            one_ballot_per_citizen_with_a_receipt,
            small_turnout_groups_are_suppressed,
            a_late_ballot_is_refused_by_the_transaction,
            the_schedule_opens_closes_and_freezes_once,
            the_schedule_publishes_opened_and_closed_once,
            only_the_audience_may_vote,
            survey_answers_are_validated,
            sealed_ballots_are_opened_at_the_close_then_destroyed,
            three_distinct_flaggers_hide_a_comment,
            flags_keep_their_reasons
        );
    };
    (@cases $harness:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (_guard, h) = $harness;
                $crate::polls::$case(&h).await;
                $crate::analytics::assert_reconciled(&h.store).await;
            }
        )*
    };
}
