// Test code: helpers outside #[test] functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! The category search over the real region file finds what residents mean: the corpus of their
//! everyday phrasings (`data/category_corpus.tsv`) has its category among the top three results
//! at least nine times out of ten.

use feedback_core::category_search::CategoryIndex;
use feedback_core::region::RegionData;
use feedback_local::region_file;
use std::path::Path;

fn region() -> RegionData {
    region_file::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(region_file::DEFAULT_PATH)).unwrap()
}

fn corpus() -> Vec<(String, String)> {
    let text = include_str!("data/category_corpus.tsv");
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (query, id) = l.split_once('\t').unwrap_or_else(|| panic!("no tab in «{l}»"));
            (query.to_owned(), id.to_owned())
        })
        .collect()
}

#[test]
fn everyday_phrasings_find_their_category_in_the_top_three() {
    let region = region();
    let index = CategoryIndex::new(&region);
    let corpus = corpus();
    assert!(corpus.len() >= 60, "{} phrasings", corpus.len());
    let mut misses = Vec::new();
    for (query, id) in &corpus {
        assert!(region.is_leaf(&feedback_core::ids::CategoryId::parse(id).unwrap()), "{id} is no leaf category");
        let top: Vec<&str> = index.ids(query, 3).into_iter().map(|c| c.as_str()).collect();
        if !top.contains(&id.as_str()) {
            misses.push(format!("«{query}» → {top:?}, expected {id}"));
        }
    }
    let found = corpus.len() - misses.len();
    let rate = found as f64 * 100.0 / corpus.len() as f64;
    println!("category search: top-3 hit rate {rate:.1} % ({found} of {})", corpus.len());
    for m in &misses {
        println!("  miss: {m}");
    }
    assert!(rate >= 90.0, "top-3 hit rate {rate:.1} %: {misses:#?}");
}

#[test]
fn the_search_box_example_and_the_audited_words_find_something() {
    let region = region();
    let index = CategoryIndex::new(&region);
    for word in [
        "яма",
        "фонарь",
        "собака",
        "батарея",
        "горячая вода",
        "свалка",
        "лифт",
        "парковка",
        "детская площадка",
        "больница",
        "школа",
    ] {
        assert!(!index.search(word, 3).is_empty(), "«{word}» finds nothing");
    }
    assert_eq!(index.ids("яма", 1)[0].as_str(), "dorogi-yamy");
    assert!(region.categories.iter().all(|c| !c.keywords.is_empty()), "a category without keywords");
    let popular = region.categories.iter().filter(|c| c.popular).count();
    assert!((1..=8).contains(&popular), "{popular} popular categories");
}
