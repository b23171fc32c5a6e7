//! The ballot-linking attack: an insider holds a copy of everything (every stored row, every file
//! of the data and secrets folders including the write-ahead log, every secret), knows the full
//! voter list and the voter-roll secret, and tries to pair each voter with a choice. Each attack
//! returns its guesses by voter hash; `accuracy` scores them against the truth.
//!
//! The poll is a survey with a single-choice question and a free-text question whose answer names
//! the choice (as a resident's comment often does), so that once the free-text answers are
//! published, linking a voter to their text answer is linking them to their choice.

use crate::polls::{admin, question, resident, vote_input, PollBackend, NOW};
use chrono::Duration;
use feedback_core::participation::{
    voter_hash, BallotAnswer, BallotKeys, NewPoll, Participation, Poll, PollKind, QuestionKind, ResultsVisibility,
};
use feedback_core::service::Reference;
use feedback_core::testing::{poll_secrets_with, sample_region, ManualClock};
use feedback_core::Clock;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The options; each text answer names one.
pub const OPTIONS: [&str; 4] = ["Набережная", "Сквер", "Парк", "Стадион"];
/// The voter-roll secret of the scenario, which the attacker holds too.
pub const VOTER_SECRET: &[u8] = b"test-stack-secret-0123456789";

/// A poll and the truth the attacker is after: voter hash → choice, and each text answer's choice.
pub struct Cast {
    pub poll: Poll,
    pub truth: BTreeMap<String, usize>,
    pub texts: BTreeMap<String, usize>,
}

/// The answer text of a ballot for `choice`, distinct per ballot by a random word.
fn text_for(choice: usize, nonce: u64) -> String {
    format!("Мой выбор — {}, пожелание {nonce:016x}", OPTIONS.get(choice).copied().unwrap_or("?"))
}

/// Participation over `store` and the ballot keys in `keys`, with the scenario's voter secret and a
/// clock the test moves.
pub async fn participation<S: PollBackend>(
    store: S,
    keys: Arc<dyn BallotKeys>,
) -> (Participation<S, Arc<ManualClock>>, Arc<ManualClock>) {
    let reference = Arc::new(Reference::new(store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&sample_region()).await.unwrap();
    let clock = Arc::new(ManualClock::at(NOW));
    let secrets = poll_secrets_with(VOTER_SECRET, keys);
    (Participation::new(store, clock.clone(), reference, secrets, 5), clock)
}

/// Creates a survey with results after the close (sealed) or live, open from now for `hours`.
pub async fn survey<S: PollBackend>(
    p: &Participation<S, Arc<ManualClock>>,
    clock: &ManualClock,
    results: ResultsVisibility,
    hours: i64,
) -> Poll {
    let now = clock.now();
    let input = NewPoll {
        kind: PollKind::Survey,
        questions: vec![question(QuestionKind::Single, &OPTIONS), question(QuestionKind::Text, &[])],
        ..vote_input(now - Duration::minutes(1), now + Duration::hours(hours), results)
    };
    p.create(&admin(), input).await.unwrap()
}

/// `voters` residents of one municipality vote, in a random order, with choices spread evenly
/// over the options (so that guessing one option for everybody scores exactly 1/4).
pub async fn cast<S: PollBackend>(
    p: &Participation<S, Arc<ManualClock>>,
    poll: Poll,
    voters: usize,
    seed: u64,
) -> Cast {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..voters).collect();
    order.shuffle(&mut rng);
    let mut truth = BTreeMap::new();
    let mut texts = BTreeMap::new();
    for (turn, i) in order.into_iter().enumerate() {
        let citizen = format!("voter-{seed}-{i:03}");
        let choice = turn % OPTIONS.len();
        let text = text_for(choice, rand::Rng::random(&mut rng));
        let answers = vec![
            BallotAnswer { question: 0, options: vec![choice], text: None },
            BallotAnswer { question: 1, options: vec![], text: Some(text.clone()) },
        ];
        p.vote(&resident(&citizen, "tyumen", "1990-01-01"), &poll.id, answers).await.unwrap();
        let hash = voter_hash(VOTER_SECRET, &poll.id, &feedback_core::CitizenId::parse(&citizen).unwrap());
        truth.insert(hash, choice);
        texts.insert(text, choice);
    }
    Cast { poll, truth, texts }
}

/// The share of voters whose guessed choice is their choice (no guess counts as wrong).
pub fn accuracy(cast: &Cast, guesses: &BTreeMap<String, usize>) -> f64 {
    let right = cast.truth.iter().filter(|(hash, choice)| guesses.get(*hash) == Some(choice)).count();
    right as f64 / cast.truth.len().max(1) as f64
}

/// The choice a text names.
fn choice_of(text: &str) -> Option<usize> {
    OPTIONS.iter().position(|o| text.contains(&format!("Мой выбор — {o},")))
}

/// Pairs the voter-roll entries and the text answers in the order the store lists them: the
/// i-th voter with the i-th answer.
pub fn by_storage_order(roll: &[String], texts: &[String]) -> BTreeMap<String, usize> {
    roll.iter().zip(texts).filter_map(|(hash, text)| Some((hash.clone(), choice_of(text)?))).collect()
}

/// For every place a voter's hash occurs in raw bytes, the nearest text answer in the same bytes;
/// the nearest of all wins.
pub fn by_proximity(cast: &Cast, files: &[Vec<u8>]) -> BTreeMap<String, usize> {
    let mut best: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for bytes in files {
        let texts: Vec<(usize, usize)> = cast
            .texts
            .iter()
            .flat_map(|(text, choice)| find_all(bytes, text.as_bytes()).into_iter().map(move |at| (at, *choice)))
            .collect();
        for hash in cast.truth.keys() {
            for at in find_all(bytes, hash.as_bytes()) {
                for (t, choice) in &texts {
                    let distance = at.abs_diff(*t);
                    if best.get(hash).is_none_or(|(d, _)| distance < *d) {
                        best.insert(hash.clone(), (distance, *choice));
                    }
                }
            }
        }
    }
    best.into_iter().map(|(hash, (_, choice))| (hash, choice)).collect()
}

/// Replays a SQLite write-ahead log transaction by transaction: a transaction that brings one
/// voter's hash and a text answer not seen before pairs them.
pub fn by_log_replay(cast: &Cast, wal: &[u8]) -> BTreeMap<String, usize> {
    let mut seen_hashes = BTreeSet::new();
    let mut seen_texts = BTreeSet::new();
    let mut out = BTreeMap::new();
    for tx in wal_transactions(wal) {
        let hashes: BTreeSet<&String> =
            cast.truth.keys().filter(|h| !seen_hashes.contains(*h) && contains(&tx, h.as_bytes())).collect();
        let texts: Vec<(&String, usize)> = cast
            .texts
            .iter()
            .filter(|(t, _)| !seen_texts.contains(*t) && contains(&tx, t.as_bytes()))
            .map(|(t, c)| (t, *c))
            .collect();
        if let (1, Some((_, choice))) = (hashes.len(), texts.first()) {
            if let Some(hash) = hashes.first() {
                out.insert((*hash).clone(), *choice);
            }
        }
        seen_hashes.extend(hashes.into_iter().cloned());
        seen_texts.extend(texts.into_iter().map(|(t, _)| t.clone()));
    }
    out
}

/// The page images of each committed transaction in a SQLite WAL file (format: a 32-byte header
/// with the page size at offset 8, then frames of a 24-byte header and a page; a frame whose
/// header holds a non-zero database size at offset 4 ends a transaction).
pub fn wal_transactions(wal: &[u8]) -> Vec<Vec<u8>> {
    let Some(page) = wal.get(8..12).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut at = 32;
    while let Some(frame) = wal.get(at..at + 24 + page) {
        current.extend_from_slice(&frame[24..]);
        if frame[4..8] != [0, 0, 0, 0] {
            out.push(std::mem::take(&mut current));
        }
        at += 24 + page;
    }
    out
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return Vec::new();
    }
    haystack.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir`, recursively, as bytes.
pub fn read_tree(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(read_tree(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}
