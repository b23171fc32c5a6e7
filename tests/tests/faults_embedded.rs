//! The lifecycle, participation and analytics flows on the embedded backend with one call in
//! ten failing transiently, before or after its write: clients retry, consumers get
//! redeliveries, and every acknowledged write is there exactly once at the end.

use feedback_tests::faults::suites::{self, ClientFigures};
use feedback_tests::faults::Faults;
use std::io::Write;

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
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fault-figures.txt");
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    writeln!(file, "{line}").unwrap();
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
