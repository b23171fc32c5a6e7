//! Finding a category from what a resident types: a short query («яма») or a whole message
//! («во дворе не горит фонарь»). Words are normalised and stemmed (Snowball, Russian) on both
//! sides; a category scores by the query's stems found in its name, its keywords and its group's
//! name, and more when a whole name or keyword phrase appears in the query. Only categories a
//! message can be filed in (leaves) are returned.

use crate::ids::CategoryId;
use crate::region::{Category, RegionData};
use rust_stemmers::{Algorithm, Stemmer};
use std::collections::HashSet;

/// Words that say nothing about the category.
const STOP_WORDS: &[&str] = &[
    "а",
    "без",
    "бы",
    "в",
    "во",
    "вот",
    "все",
    "всё",
    "где",
    "да",
    "для",
    "до",
    "его",
    "ее",
    "её",
    "же",
    "за",
    "и",
    "из",
    "или",
    "их",
    "к",
    "как",
    "ко",
    "ли",
    "мне",
    "меня",
    "мы",
    "на",
    "над",
    "нас",
    "наш",
    "не",
    "нет",
    "но",
    "о",
    "об",
    "около",
    "от",
    "по",
    "под",
    "при",
    "про",
    "с",
    "со",
    "так",
    "там",
    "то",
    "тут",
    "у",
    "уже",
    "что",
    "это",
    "я",
    "очень",
    "просто",
    "уже",
    "есть",
    "был",
    "была",
    "были",
    "было",
    "когда",
    "который",
];

/// Weights of one query stem found in a category's name, keywords or group name; a stem that
/// only shares a beginning (of four letters or more) with the category's stem counts half.
const NAME: u32 = 10;
const KEYWORD: u32 = 6;
const GROUP: u32 = 2;
/// Per word of a whole name or keyword phrase (of two words or more) found in the query.
const NAME_PHRASE: u32 = 6;
const KEYWORD_PHRASE: u32 = 8;

/// A category found, with its score (higher is better).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<'a> {
    pub category: &'a Category,
    pub score: u32,
}

/// Lowercase, `ё` as `е`, everything but letters and digits as spaces.
pub fn normalise(text: &str) -> String {
    let lower: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'ё' => 'е',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        })
        .collect();
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The stems of a text's words, in order, without stop words.
pub fn stems(stemmer: &Stemmer, text: &str) -> Vec<String> {
    normalise(text)
        .split(' ')
        .filter(|w| !w.is_empty() && !STOP_WORDS.contains(w))
        .map(|w| stemmer.stem(w).into_owned())
        .collect()
}

/// The searchable form of one category.
struct Entry<'a> {
    category: &'a Category,
    name: Vec<String>,
    group: Vec<String>,
    keywords: Vec<Vec<String>>,
}

/// The region's leaf categories, stemmed once for any number of queries.
pub struct CategoryIndex<'a> {
    stemmer: Stemmer,
    entries: Vec<Entry<'a>>,
}

impl<'a> CategoryIndex<'a> {
    pub fn new(region: &'a RegionData) -> Self {
        let stemmer = Stemmer::create(Algorithm::Russian);
        let entries = region
            .categories
            .iter()
            .filter(|c| region.is_leaf(&c.id))
            .map(|c| Entry {
                category: c,
                name: stems(&stemmer, &c.name),
                group: c
                    .parent_id
                    .as_ref()
                    .and_then(|p| region.category(p))
                    .map(|p| stems(&stemmer, &p.name))
                    .unwrap_or_default(),
                keywords: c.keywords.iter().map(|k| stems(&stemmer, k)).filter(|k| !k.is_empty()).collect(),
            })
            .collect();
        CategoryIndex { stemmer, entries }
    }

    /// The best `limit` categories for a query, best first; those with nothing in common with it
    /// are left out. Equal scores keep the region file's order.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit<'a>> {
        let words = stems(&self.stemmer, query);
        if words.is_empty() {
            return Vec::new();
        }
        let mut hits: Vec<Hit<'a>> = self
            .entries
            .iter()
            .map(|e| Hit { category: e.category, score: score(e, &words) })
            .filter(|h| h.score > 0)
            .collect();
        hits.sort_by_key(|h| std::cmp::Reverse(h.score));
        hits.truncate(limit);
        hits
    }

    /// The ids of the best `limit` categories.
    pub fn ids(&self, query: &str, limit: usize) -> Vec<&'a CategoryId> {
        self.search(query, limit).into_iter().map(|h| &h.category.id).collect()
    }
}

fn score(e: &Entry<'_>, query: &[String]) -> u32 {
    let distinct: HashSet<&String> = query.iter().collect();
    let words: u32 = distinct
        .into_iter()
        .map(|q| {
            let keyword = e.keywords.iter().map(|k| weight(q, k, KEYWORD)).max().unwrap_or(0);
            weight(q, &e.name, NAME).max(keyword).max(weight(q, &e.group, GROUP))
        })
        .sum();
    let name_phrase = if e.name.len() >= 2 && contains(query, &e.name) { phrase(&e.name, NAME_PHRASE) } else { 0 };
    let keyword_phrase = e
        .keywords
        .iter()
        .filter(|k| k.len() >= 2 && contains(query, k))
        .map(|k| phrase(k, KEYWORD_PHRASE))
        .max()
        .unwrap_or(0);
    words + name_phrase + keyword_phrase
}

fn weight(q: &str, stems: &[String], full: u32) -> u32 {
    if stems.iter().any(|s| s == q) {
        full
    } else if stems.iter().any(|s| shares_beginning(q, s)) {
        full / 2
    } else {
        0
    }
}

fn shares_beginning(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.chars().count() >= 4 && long.starts_with(short)
}

fn phrase(words: &[String], per_word: u32) -> u32 {
    u32::try_from(words.len()).unwrap_or(u32::MAX).saturating_mul(per_word)
}

/// Whether `phrase` appears in `query` as consecutive words.
fn contains(query: &[String], phrase: &[String]) -> bool {
    query.windows(phrase.len()).any(|w| w == phrase)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_region;

    #[test]
    fn normalising_lowers_case_folds_yo_and_drops_punctuation() {
        assert_eq!(normalise("  Ёлка, ЖКХ!! «Яма»—тут "), "елка жкх яма тут");
    }

    #[test]
    fn stems_drop_stop_words_and_endings() {
        let s = Stemmer::create(Algorithm::Russian);
        assert_eq!(stems(&s, "Ямы на дорогах"), stems(&s, "яма дорога"));
        assert_eq!(stems(&s, "не горит фонарь"), stems(&s, "горят фонари"));
        assert!(stems(&s, "и в на").is_empty());
    }

    #[test]
    fn a_keyword_finds_its_category_and_names_weigh_more() {
        let region = sample_region();
        let index = CategoryIndex::new(&region);
        assert_eq!(index.ids("яма", 3)[0].as_str(), "dorogi-yamy");
        assert_eq!(index.ids("Выбоины", 3)[0].as_str(), "dorogi-yamy");
        assert_eq!(index.ids("батареи холодные", 3)[0].as_str(), "zhkh-otoplenie");
        let hits = index.search("ямы асфальт", 5);
        let name_and_keyword = hits[0].score;
        let keyword_only = index.search("асфальт выбоина", 5)[0].score;
        assert!(name_and_keyword > keyword_only, "{hits:?}");
        assert_eq!(index.search("ямы", 5)[0].score, NAME);
        assert_eq!(index.search("выбоина", 5)[0].score, KEYWORD);
    }

    #[test]
    fn groups_are_not_results_and_limits_hold() {
        let region = sample_region();
        let index = CategoryIndex::new(&region);
        assert!(index.search("дороги", 10).iter().all(|h| h.category.parent_id.is_some()));
        assert_eq!(index.search("дороги", 10).len(), 2);
        assert_eq!(index.search("дороги", 1).len(), 1);
        assert!(index.search("", 5).is_empty());
        assert!(index.search("и на в", 5).is_empty());
        assert!(index.search("квазар", 5).is_empty());
    }

    #[test]
    fn a_whole_phrase_in_a_message_outweighs_scattered_words() {
        let region = sample_region();
        let index = CategoryIndex::new(&region);
        let phrase = index.search("на дороге огромная яма, ямы на дорогах повсюду", 1)[0].score;
        assert!(phrase > NAME + GROUP, "{phrase}");
    }
}
