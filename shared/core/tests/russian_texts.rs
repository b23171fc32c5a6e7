//! The texts use cases hand to people are Russian: every literal a refusal (`Forbidden`), a
//! conflict's `detail` or a field error's message is written from.
//!
//! The test reads every file under `src` up to its `#[cfg(test)]` module and finds the string
//! literals that follow `Forbidden(`, `detail:`, and the message argument of
//! `FieldError::new(…)`, `ServiceError::field(…)` and `RegionError::new(…)` (directly or inside
//! `format!`). Each must contain Cyrillic.

mod sources;

use sources::rust_files;
use std::fs;
use std::path::Path;

/// The literal that `code` starts with, optionally inside `format!(`: `Some(text)`, or `None`
/// when `code` starts with something else (a variable, a call).
fn literal(code: &str) -> Option<&str> {
    let code = code.trim_start();
    let code = code.strip_prefix("format!(").map(str::trim_start).unwrap_or(code);
    let rest = code.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return rest.get(..i),
            _ => escaped = false,
        }
    }
    None
}

/// What follows the first argument of the call whose arguments start `code`: the code after
/// the top-level comma.
fn second_argument(code: &str) -> Option<&str> {
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in code.char_indices() {
        if in_string {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => in_string = false,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => return None,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => return code.get(i + 1..),
            _ => {}
        }
    }
    None
}

fn has_cyrillic(text: &str) -> bool {
    text.chars().any(|c| matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё'))
}

#[test]
fn refusals_conflicts_and_field_errors_are_written_in_russian() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files).unwrap();
    let mut checked = 0;
    let mut english = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        let product = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut found = |at: usize, code: Option<&str>| {
            if let Some(lit) = code.and_then(literal) {
                checked += 1;
                if !has_cyrillic(lit) {
                    let line = product[..at].lines().count();
                    english.push(format!("{}:{line}: {lit:?}", file.display()));
                }
            }
        };
        for marker in ["Forbidden(", "detail:"] {
            for (at, _) in product.match_indices(marker) {
                found(at, product.get(at + marker.len()..));
            }
        }
        for marker in ["FieldError::new(", "ServiceError::field(", "RegionError::new("] {
            for (at, _) in product.match_indices(marker) {
                found(at, product.get(at + marker.len()..).and_then(second_argument));
            }
        }
    }
    assert!(checked > 80, "the scan finds the texts: {checked}");
    assert!(english.is_empty(), "texts without Russian:\n{}", english.join("\n"));
}
