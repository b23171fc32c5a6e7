//! The residents' and officials' words: messages, answers, moderators' reasons, rating comments
//! and ballots, built from the demo model's Russian templates.

use super::demo::{Demo, PollTemplate};
use super::model::{Cat, Muni, Weighted};
use chrono::{DateTime, Duration};
use chrono_tz::Tz;
use feedback_core::participation::{BallotAnswer, QuestionKind};
use feedback_core::workflow::RejectReason;
use rand::rngs::StdRng;
use rand::Rng;

/// Where a message is about.
pub(super) struct Place<'a> {
    pub(super) street: &'a str,
    pub(super) street2: &'a str,
    pub(super) house: u32,
    /// A small count (2 to 4) for "дня", "недели", "раза".
    pub(super) n: u32,
    pub(super) route: u32,
}

/// One of `items`, uniformly; empty when there are none.
pub(super) fn pick<'a>(rng: &mut StdRng, items: &'a [String]) -> &'a str {
    if items.is_empty() {
        return "";
    }
    items.get(rng.random_range(0..items.len())).map_or("", String::as_str)
}

/// A street name as it follows "на улице", "вдоль улицы": adjectives agree ("Советской"),
/// names in the genitive stay ("Ленина").
fn oblique(street: &str) -> String {
    match street.strip_suffix("ая") {
        Some(stem) => format!("{stem}ой"),
        None => street.to_owned(),
    }
}

/// A resident's message about a problem of the category.
pub(super) fn message(rng: &mut StdRng, demo: &Demo, cat: &Cat, muni: &Muni, place: &Place) -> String {
    let words = &demo.messages;
    let core = match words.templates.get(cat.id.as_str()) {
        Some(t) => pick(rng, t).to_owned(),
        None => words.fallback.replace("{category}", &cat.name),
    };
    let (street, street2) = (oblique(place.street), oblique(place.street2));
    let core = core
        .replace("{place}", &format!("№ {} на улице {street}", place.house))
        .replace("{street_nom}", place.street)
        .replace("{street2}", &street2)
        .replace("{street}", &street)
        .replace("{house}", &place.house.to_string())
        .replace("{in_town}", &muni.locative)
        .replace("{n}", &place.n.to_string())
        .replace("{route}", &place.route.to_string());
    let mut parts: Vec<&str> = Vec::with_capacity(4);
    if rng.random_bool(0.3) {
        parts.push(pick(rng, &words.openers));
    }
    parts.push(&core);
    if rng.random_bool(0.5) {
        let details = cat.group.as_ref().and_then(|g| words.details.get(g.as_str())).unwrap_or(&words.generic_details);
        parts.push(pick(rng, details));
    }
    if rng.random_bool(0.8) {
        parts.push(pick(rng, &words.requests));
    }
    parts.join(" ")
}

/// An official's answer at the local moment `at`; `by_center` when the ЦУР answers itself.
pub(super) fn answer(
    rng: &mut StdRng,
    demo: &Demo,
    cat: Option<&Cat>,
    by_center: bool,
    again: bool,
    at: DateTime<Tz>,
) -> String {
    let words = &demo.answers;
    let Some(cat) = cat else { return words.generic.clone() };
    let fixed = words.fixed.get(cat.id.as_str());
    let body = match fixed {
        Some(text) => text.as_str(),
        None => match cat.group.as_ref().and_then(|g| words.groups.get(g.as_str())) {
            Some(t) => pick(rng, t),
            None => &words.generic,
        },
    };
    let date = (at + Duration::days(rng.random_range(3..30))).format("%d.%m.%Y");
    let body = body.replace("{date}", &date.to_string());
    let mut parts: Vec<&str> = Vec::with_capacity(3);
    if again {
        parts.push(&words.again);
    } else if by_center && fixed.is_none() {
        parts.push(&words.by_center);
    }
    parts.push(&body);
    if rng.random_bool(0.3) {
        parts.push(pick(rng, &words.closers));
    }
    parts.join(" ")
}

/// A moderator's reason and comment.
pub(super) fn rejection(rng: &mut StdRng, demo: &Demo) -> (RejectReason, Option<String>) {
    let roll = rng.random::<f64>();
    let reason = if roll < 0.3 {
        RejectReason::NotARequest
    } else if roll < 0.55 {
        RejectReason::Duplicate
    } else if roll < 0.75 {
        RejectReason::Spam
    } else if roll < 0.9 {
        RejectReason::PersonalData
    } else {
        RejectReason::NoContent
    };
    (reason, demo.rejections.get(reason.as_str()).cloned())
}

/// What the author writes with a score, if anything.
pub(super) fn rating_comment(rng: &mut StdRng, demo: &Demo, score: u8, reopen: bool) -> Option<String> {
    if !reopen && !rng.random_bool(0.35) {
        return None;
    }
    let words = &demo.ratings;
    let options = match score {
        1 | 2 if reopen => &words.reopening,
        1 | 2 => &words.low,
        3 => &words.middling,
        _ => &words.high,
    };
    Some(pick(rng, options).to_owned())
}

/// One resident's answers, by the poll's preferences.
pub(super) fn ballot(
    rng: &mut StdRng,
    poll: &PollTemplate,
    preference: &[Vec<f64>],
    text_answers: &[String],
) -> Vec<BallotAnswer> {
    let mut out = Vec::new();
    for (qi, q) in poll.questions.iter().enumerate() {
        let weights = Weighted::new(preference.get(qi).into_iter().flatten().copied());
        match q.kind {
            QuestionKind::Single => {
                out.push(BallotAnswer { question: qi, options: vec![weights.sample(rng)], text: None });
            }
            QuestionKind::Multi => {
                let max = usize::from(q.max_choices.unwrap_or(1)).clamp(1, q.options.len().max(1));
                let want = rng.random_range(1..=max);
                let mut options: Vec<usize> = Vec::new();
                for _ in 0..want * 4 {
                    let o = weights.sample(rng);
                    if !options.contains(&o) {
                        options.push(o);
                    }
                    if options.len() == want {
                        break;
                    }
                }
                options.sort_unstable();
                out.push(BallotAnswer { question: qi, options, text: None });
            }
            QuestionKind::Text => {
                if rng.random_bool(0.35) {
                    out.push(BallotAnswer {
                        question: qi,
                        options: vec![],
                        text: Some(pick(rng, text_answers).to_owned()),
                    });
                }
            }
        }
    }
    out
}
