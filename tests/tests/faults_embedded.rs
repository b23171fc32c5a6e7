//! The lifecycle, participation and analytics flows on the embedded backend with one call in
//! ten failing transiently, before or after its write: clients retry, consumers get
//! redeliveries, and every acknowledged write is there exactly once at the end.

use feedback_tests::faults::suites::{self, ClientFigures};
use feedback_tests::faults::Faults;

const PER_MILLE: u64 = 100;

fn report(suite: &str, faults: &Faults, client: ClientFigures) {
    let line = format!(
        "fault injection {suite}: {}; client operations acknowledged {}, retried {}, deliveries redelivered {}; writes lost {}",
        faults.stats(),
        client.acknowledged,
        client.retried,
        client.redelivered,
        client.lost
    );
    println!("{line}");
    // One line per suite, the suites running at once: replace this suite's line of an earlier run.
    static FILE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = FILE.lock().unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fault-figures.txt");
    let prefix = format!("fault injection {suite}:");
    let mut lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with(&prefix))
        .map(str::to_owned)
        .collect();
    lines.push(line);
    lines.sort();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let stats = faults.stats();
    assert!(stats.before > 0 && stats.after > 0, "faults were injected both before and after writes");
    assert_eq!(client.lost, 0, "every acknowledged write is there exactly once");
}

#[tokio::test]
async fn the_lifecycle_under_faults() {
    let faults = Faults::new(PER_MILLE, 0x5eed_0001);
    let client = suites::the_lifecycle(&faults).await;
    report("lifecycle", &faults, client);
}

#[tokio::test]
async fn participation_under_faults() {
    let faults = Faults::new(PER_MILLE, 0x5eed_0002);
    let client = suites::participation(&faults).await;
    report("participation", &faults, client);
}

#[tokio::test]
async fn analytics_under_faults() {
    let faults = Faults::new(PER_MILLE, 0x5eed_0003);
    let client = suites::analytics(&faults).await;
    report("analytics", &faults, client);
}

#[tokio::test]
async fn an_answer_whose_commit_was_not_confirmed_is_answered_again_with_its_duplicates() {
    use feedback_core::values::MessageText;
    use feedback_core::{MessageStore, Status};
    use feedback_tests::fixtures::citizen;
    use feedback_tests::workflow::{official, stack};
    // Given an original with a duplicate, on a store that fails nothing yet
    let faults = Faults::new(0, 1);
    let h = suites::harness(&faults);
    let s = stack(&h).await;
    let (alice, bob) = (citizen("alice"), citizen("bob"));
    let original = s.submit(&alice, "dorogi-yamy", "Яма у остановки Площадь Борцов", Some((57.153, 65.5343))).await;
    s.drain().await;
    let dup = s.submit(&bob, "dorogi-yamy", "Большая яма у остановки на площади", Some((57.1532, 65.5343))).await;
    s.drain().await;
    assert_eq!(h.store.inner.get_message(&dup).await.unwrap().unwrap().duplicate_of, Some(original));
    // When the answer to the original commits but the caller hears a failure, and the
    // duplicate's answer never happens
    let upravdor = official("o-1", "tyumen-upravdor");
    let text = MessageText::parse("Яма у остановки отремонтирована").unwrap();
    faults.resume();
    faults.fail_write_after(0);
    let first = s.workflow.answer(&upravdor, &original, text.clone()).await.unwrap_err();
    assert!(feedback_tests::faults::is_transient(&first));
    assert_eq!(h.store.inner.get_message(&original).await.unwrap().unwrap().status, Status::Answered);
    assert_eq!(h.store.inner.get_message(&dup).await.unwrap().unwrap().status, Status::Routed);
    // Then the official's retry succeeds as the first attempt did, and completes the duplicate
    let again = s.workflow.answer(&upravdor, &original, text).await.unwrap();
    assert_eq!(again.status, Status::Answered);
    assert_eq!(h.store.inner.get_message(&dup).await.unwrap().unwrap().status, Status::Answered);
    let history = h.store.inner.get_history(&original).await.unwrap();
    assert_eq!(history.iter().filter(|e| e.to == Status::Answered).count(), 1, "answered once");
    // And a different answer is still refused
    let other = MessageText::parse("Совсем другой ответ на сообщение").unwrap();
    assert!(s.workflow.answer(&upravdor, &original, other).await.is_err());
    faults.pause();
    feedback_tests::analytics::assert_reconciled(&h.store.inner).await;
}
