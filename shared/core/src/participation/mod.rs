//! Participation: votes, surveys and discussions that a regional admin targets at municipalities
//! and schedules; one secret ballot per eligible resident; results when the poll allows.

pub mod ballot;
pub mod comments;
pub mod poll;
pub mod seal;
pub mod service;

pub use ballot::{
    new_receipt, random_id, shard_of, validate_answers, voter_hash, BallotAnswer, BallotContent, BallotRefused,
    BallotWrite, OptionResult, PollStore, QuestionResult, Results, SealedBallot, SealedPage, Tally, TextAnswer,
    VoterSecret, MAX_TEXT_ANSWER, RECEIPT_LEN, TALLY_SHARDS,
};
pub use comments::{Comment, CommentStore, Flag, ModerationState, FLAGS_SHOWN, HIDE_AFTER_FLAGS};
pub use poll::{
    age_on, list_partition, validate_new_poll, Audience, NewPoll, Poll, PollKind, PollStatus, Question, QuestionKind,
    ResultsVisibility, MAX_OPTIONS, MAX_QUESTIONS, MAX_YEARS_AHEAD, MIN_OPTIONS,
};
pub use seal::{BallotKey, BallotKeys, SealError};
pub use service::{ModerationItem, Participation, PollForActor, PollSecrets, ScheduleReport};

impl VoterSecret {
    /// The resident's voter hash in a poll under this secret (`voter_hash`): what the voter
    /// roll holds, and what `PollStore::has_voted` looks up.
    pub fn voter_hash(&self, poll: &crate::ids::PollId, citizen: &crate::ids::CitizenId) -> String {
        voter_hash(&self.0, poll, citizen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CitizenId, PollId};
    use chrono::{DateTime, NaiveDate, Utc};

    fn poll(kind: PollKind, questions: Vec<Question>) -> NewPoll {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        NewPoll {
            kind,
            title: "Благоустройство набережной".into(),
            description: None,
            questions,
            audience: Audience::default(),
            opens_at: t("2026-12-01T00:00:00+05:00"),
            closes_at: t("2026-12-15T00:00:00+05:00"),
            results: ResultsVisibility::Live,
        }
    }
    fn q(kind: QuestionKind, options: &[&str], max: Option<u8>) -> Question {
        Question {
            text: "Что сделать в первую очередь?".into(),
            kind,
            options: options.iter().map(|s| s.to_string()).collect(),
            max_choices: max,
            required: true,
        }
    }
    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T12:00:00+05:00").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_vote_needs_exactly_one_single_choice_question_with_two_to_ten_options() {
        assert!(validate_new_poll(&poll(PollKind::Vote, vec![q(QuestionKind::Single, &["Да", "Нет"], None)]), now())
            .is_empty());
        assert!(
            !validate_new_poll(&poll(PollKind::Vote, vec![q(QuestionKind::Single, &["Да"], None)]), now()).is_empty()
        );
        assert!(!validate_new_poll(&poll(PollKind::Vote, vec![q(QuestionKind::Multi, &["А", "Б"], None)]), now())
            .is_empty());
        let eleven: Vec<String> = (0..11).map(|i| i.to_string()).collect();
        let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
        assert!(
            !validate_new_poll(&poll(PollKind::Vote, vec![q(QuestionKind::Single, &eleven, None)]), now()).is_empty()
        );
    }

    #[test]
    fn closing_before_opening_and_too_many_questions_are_refused() {
        let mut p = poll(PollKind::Survey, vec![q(QuestionKind::Text, &[], None)]);
        p.closes_at = p.opens_at;
        assert!(validate_new_poll(&p, now()).iter().any(|e| e.field == "closes_at"));
        let p = poll(PollKind::Survey, (0..11).map(|_| q(QuestionKind::Text, &[], None)).collect());
        assert!(validate_new_poll(&p, now()).iter().any(|e| e.field == "questions"));
        let p = poll(PollKind::Survey, vec![q(QuestionKind::Multi, &["А", "Б", "В"], Some(4))]);
        assert!(validate_new_poll(&p, now()).iter().any(|e| e.field == "questions[0].max_choices"));
    }

    #[test]
    fn answers_are_checked_against_the_questions() {
        let input = poll(
            PollKind::Survey,
            vec![
                q(QuestionKind::Single, &["А", "Б"], None),
                q(QuestionKind::Multi, &["А", "Б", "В"], Some(2)),
                q(QuestionKind::Text, &[], None),
            ],
        );
        let p = Poll {
            id: PollId::new_at(now()),
            kind: input.kind,
            title: input.title,
            description: None,
            questions: input.questions,
            audience: input.audience,
            opens_at: input.opens_at,
            closes_at: input.closes_at,
            results: input.results,
            status: PollStatus::Open,
            region: "72".into(),
            created_by: CitizenId::parse("admin").unwrap(),
            created_at: now(),
            version: 1,
            ballot_key: None,
        };
        let a = |question: usize, options: &[usize], text: Option<&str>| BallotAnswer {
            question,
            options: options.to_vec(),
            text: text.map(str::to_owned),
        };
        let ok = vec![a(0, &[1], None), a(1, &[0, 2], None), a(2, &[], Some("Больше фонарей"))];
        assert!(validate_answers(&p, &ok).is_empty());
        // an option out of range, too many choices, text on a choice question, a missing required answer
        assert!(!validate_answers(&p, &[a(0, &[2], None), a(1, &[0], None), a(2, &[], Some("x"))]).is_empty());
        assert!(!validate_answers(&p, &[a(0, &[0], None), a(1, &[0, 1, 2], None), a(2, &[], Some("x"))]).is_empty());
        assert!(!validate_answers(&p, &[a(0, &[0], Some("x")), a(1, &[0], None), a(2, &[], Some("x"))]).is_empty());
        assert!(!validate_answers(&p, &[a(0, &[0], None), a(1, &[0], None)]).is_empty());
        assert!(!validate_answers(&p, &[a(0, &[0, 0], None), a(1, &[0], None), a(2, &[], Some("x"))]).is_empty());
    }

    #[test]
    fn ages_count_full_years() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(age_on(d("2008-11-29"), d("2026-11-28")), 17);
        assert_eq!(age_on(d("2008-11-28"), d("2026-11-28")), 18);
    }

    #[test]
    fn voter_hashes_are_keyed_and_receipt_shards_spread() {
        let poll = PollId::new_at(now());
        let alice = CitizenId::parse("alice").unwrap();
        let h1 = voter_hash(b"0123456789abcdef", &poll, &alice);
        assert_eq!(h1, voter_hash(b"0123456789abcdef", &poll, &alice));
        assert_ne!(h1, voter_hash(b"another-secret-key", &poll, &alice));
        let shards: std::collections::HashSet<u8> = (0..200).map(|_| shard_of(&new_receipt())).collect();
        assert_eq!(shards.len(), TALLY_SHARDS as usize);
        assert_eq!(new_receipt().len(), RECEIPT_LEN);
        // all 128 bits are random: no fixed prefix
        let firsts: std::collections::HashSet<char> = (0..64).filter_map(|_| new_receipt().chars().nth(1)).collect();
        assert!(firsts.len() > 8);
        assert_ne!(new_receipt(), new_receipt());
    }
}
