//! Personal data out of what the public sees: a message's text, its address and its place.
//!
//! The stored message keeps everything the resident wrote, for the authority; only the public
//! views pass through here. Pure functions, no I/O.
//!
//! - Phone numbers, e-mails, passport numbers (series and number), СНИЛС, personal ИНН (12 digits,
//!   after the word «ИНН» or with a valid checksum), bank card numbers (13–19 digits, Luhn-valid)
//!   and flat numbers («кв. 12», «квартира 12») are replaced by a mask in square brackets.
//! - An address is cut to street and house: a flat, office, entrance, floor or room is dropped.
//! - Coordinates are snapped to a grid of about 100 m (see [`coarsen`]).

pub const PHONE: &str = "[телефон скрыт]";
pub const EMAIL: &str = "[e-mail скрыт]";
pub const PASSPORT: &str = "[паспорт скрыт]";
pub const SNILS: &str = "[СНИЛС скрыт]";
pub const INN: &str = "[ИНН скрыт]";
pub const CARD: &str = "[номер карты скрыт]";
pub const FLAT: &str = "[квартира скрыта]";

/// The grid's step in latitude, degrees: about 111 m.
pub const LAT_STEP: f64 = 0.001;
/// The grid's step in longitude, degrees: about 121 m at 57° N (Тюмень) and 101 m at 63° N.
pub const LON_STEP: f64 = 0.002;

/// A point snapped to the nearest node of the grid (`LAT_STEP` × `LON_STEP`): multiples of
/// 0.001° of latitude and 0.002° of longitude, so a public point is at most about 60 m from the
/// true one in each direction and never tells one house from its neighbour.
pub fn coarsen(lat: f64, lon: f64) -> (f64, f64) {
    // Whole thousandths of a degree, divided once: the result prints as a short decimal.
    let lat = (lat * 1000.0).round() / 1000.0;
    let lon = ((lon * 500.0).round() * 2.0) / 1000.0;
    (lat, lon)
}

/// An address cut to its street and house: from the first flat, office, entrance, floor or room
/// on, everything is dropped; what is left is scrubbed as text.
pub fn scrub_address(address: &str) -> String {
    let chars: Vec<char> = address.chars().collect();
    let mut cut = chars.len();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_alphabetic() {
            let end = word_end(&chars, i, &[]);
            if ADDRESS_CUT.contains(&lower(&chars, i, end).as_str()) {
                cut = part_start(&chars, i);
                break;
            }
            i = end;
        } else {
            i += 1;
        }
    }
    let kept: String = chars.iter().take(cut).collect();
    let kept = kept.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '-' | '–'));
    scrub_text(kept)
}

/// Words that start the part of an address below the house.
const ADDRESS_CUT: &[&str] = &[
    "кв",
    "кв-ра",
    "квартира",
    "квартиры",
    "квартире",
    "оф",
    "офис",
    "офиса",
    "офисе",
    "эт",
    "этаж",
    "этаже",
    "этажа",
    "под",
    "подъезд",
    "подъезда",
    "подъезде",
    "пом",
    "помещение",
    "помещения",
    "комн",
    "комната",
    "комнаты",
];

/// Where the cut at the word starting at `at` begins: at the word, or, when only a number stands
/// between it and the previous comma («, 3 подъезд»), at that number.
fn part_start(chars: &[char], at: usize) -> usize {
    let mut k = at;
    while k > 0 {
        match chars.get(k - 1) {
            Some(&c) if c.is_ascii_digit() || c.is_whitespace() || c == '№' || c == '-' => k -= 1,
            _ => break,
        }
    }
    if k == 0 || chars.get(k - 1) == Some(&',') {
        k
    } else {
        at
    }
}

/// The text with personal data masked; everything else is kept as it is.
pub fn scrub_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let emails = email_ranges(&chars);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if let Some(&(_, end)) = emails.iter().find(|(s, _)| *s == i) {
            out.push_str(EMAIL);
            i = end;
        } else if c.is_alphabetic() {
            let end = word_end(&chars, i, &emails);
            if let Some(flat_end) = flat_at(&chars, i, end) {
                out.push_str(FLAT);
                i = flat_end;
            } else {
                out.extend(chars.iter().take(end).skip(i));
                i = end;
            }
        } else if starts_number(&chars, i) {
            i = number(&chars, i, &emails, &mut out);
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn lower(chars: &[char], from: usize, to: usize) -> String {
    chars.iter().take(to).skip(from).flat_map(|c| c.to_lowercase()).collect()
}

/// The end of the word starting at `i`: letters, with single hyphens between them («кв-ра»).
fn word_end(chars: &[char], i: usize, emails: &[(usize, usize)]) -> usize {
    let mut j = i;
    loop {
        match chars.get(j) {
            Some(c) if c.is_alphabetic() => j += 1,
            Some('-') if j > i && chars.get(j + 1).is_some_and(|c| c.is_alphabetic()) => j += 1,
            _ => return j,
        }
        if emails.iter().any(|(s, _)| *s == j) {
            return j;
        }
    }
}

const FLAT_WORDS: &[&str] =
    &["кв", "кв-ра", "кв-ры", "кв-ре", "кварт", "квартира", "квартиры", "квартире", "квартиру", "квартирой"];

/// A flat number at the word `[i, end)`: «кв. 12», «кв12», «квартира № 12а». Its end, if it is one.
fn flat_at(chars: &[char], i: usize, end: usize) -> Option<usize> {
    if !FLAT_WORDS.contains(&lower(chars, i, end).as_str()) {
        return None;
    }
    let mut k = end;
    if chars.get(k) == Some(&'.') {
        k += 1;
    }
    let mut skipped = 0;
    while let Some(&c) = chars.get(k) {
        if (c.is_whitespace() || c == '№') && skipped < 3 {
            k += 1;
            skipped += 1;
        } else {
            break;
        }
    }
    let digits_from = k;
    while chars.get(k).is_some_and(char::is_ascii_digit) {
        k += 1;
    }
    if k == digits_from || k - digits_from > 4 {
        return None;
    }
    // «кв. 12.5 м²» is an area, not a flat.
    if matches!(chars.get(k), Some('.' | ',')) && chars.get(k + 1).is_some_and(char::is_ascii_digit) {
        return None;
    }
    // A letter of the flat number: «кв. 12а».
    if chars.get(k).is_some_and(|c| c.is_alphabetic()) && !chars.get(k + 1).is_some_and(|c| c.is_alphabetic()) {
        k += 1;
    }
    Some(k)
}

/// E-mail addresses as `[start, end)` ranges of chars.
fn email_ranges(chars: &[char]) -> Vec<(usize, usize)> {
    let local = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-');
    let domain = |c: char| c.is_alphanumeric() || matches!(c, '.' | '-');
    let mut out = Vec::new();
    for (at, _) in chars.iter().enumerate().filter(|(_, c)| **c == '@') {
        let mut start = at;
        while start > 0 && chars.get(start - 1).is_some_and(|&c| local(c)) {
            start -= 1;
        }
        while chars.get(start).is_some_and(|&c| !c.is_alphanumeric()) && start < at {
            start += 1;
        }
        let mut end = at + 1;
        while chars.get(end).is_some_and(|&c| domain(c)) {
            end += 1;
        }
        while end > at + 1 && chars.get(end - 1).is_some_and(|&c| !c.is_alphanumeric()) {
            end -= 1;
        }
        let host = lower(chars, at + 1, end);
        let tld_ok = host.rsplit_once('.').is_some_and(|(name, tld)| {
            !name.is_empty() && tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic)
        });
        if start < at && tld_ok {
            out.push((start, end));
        }
    }
    out
}

fn starts_number(chars: &[char], i: usize) -> bool {
    let digit_at = |k: usize| chars.get(k).is_some_and(char::is_ascii_digit);
    match chars.get(i) {
        Some(c) if c.is_ascii_digit() => true,
        Some('+') => digit_at(i + 1) || (chars.get(i + 1) == Some(&'(') && digit_at(i + 2)),
        Some('(') => digit_at(i + 1),
        _ => false,
    }
}

/// Characters that may stand between the digit groups of one number: «+7 (912) 345-67-89».
const SEPARATORS: &[char] = &[' ', '\u{a0}', '-', '–', '(', ')', '№'];

struct Group {
    /// Where the group starts, with a leading `+` or `(` of the number's first group.
    start: usize,
    end: usize,
    digits: String,
    /// The separator before it (empty for the first group).
    sep: String,
}

/// Reads the number starting at `i` (digit groups and the separators between them), writes it
/// with its personal parts masked and returns where it ends.
fn number(chars: &[char], i: usize, emails: &[(usize, usize)], out: &mut String) -> usize {
    let mut groups: Vec<Group> = Vec::new();
    let mut j = i;
    while chars.get(j).is_some_and(|c| !c.is_ascii_digit()) {
        j += 1;
    }
    let mut sep = String::new();
    loop {
        let start = if groups.is_empty() { i } else { j };
        let from = j;
        while chars.get(j).is_some_and(char::is_ascii_digit) {
            j += 1;
        }
        groups.push(Group { start, end: j, digits: chars.iter().take(j).skip(from).collect(), sep });
        let mut k = j;
        while k < j + 3 && chars.get(k).is_some_and(|c| SEPARATORS.contains(c)) {
            k += 1;
        }
        let next_is_digit = chars.get(k).is_some_and(char::is_ascii_digit);
        if k == j || !next_is_digit || groups.len() >= 12 || emails.iter().any(|(s, _)| *s == k) {
            break;
        }
        sep = chars.iter().take(k).skip(j).collect();
        j = k;
    }
    // The longest run of groups from the leftmost group on that is personal data is masked; the
    // groups before it are kept.
    let mut cursor = i;
    let mut g = 0;
    while g < groups.len() {
        let found = (g + 1..=groups.len())
            .rev()
            .find_map(|e| groups.get(g..e).and_then(|run| classify(chars, run, g == 0).map(|m| (e, m))));
        match found {
            Some((e, mask)) => {
                let mut from = groups.get(g).map_or(cursor, |x| x.start);
                if g > 0 && from > cursor && chars.get(from - 1) == Some(&'(') {
                    from -= 1;
                }
                out.extend(chars.iter().take(from).skip(cursor));
                out.push_str(mask);
                cursor = groups.get(e - 1).map_or(from, |x| x.end);
                g = e;
            }
            None => g += 1,
        }
    }
    out.extend(chars.iter().take(j).skip(cursor));
    j
}

/// What a run of digit groups is, if it is personal data.
fn classify(chars: &[char], run: &[Group], first: bool) -> Option<&'static str> {
    let head = run.first()?;
    let digits: String = run.iter().map(|g| g.digits.as_str()).collect();
    let n = digits.len();
    let lens: Vec<usize> = run.iter().map(|g| g.digits.len()).collect();
    let seps = || run.iter().skip(1).map(|g| g.sep.as_str());
    let lead = chars.get(head.start).copied();
    let plus = first && lead == Some('+');
    let paren = (first && lead == Some('(')) || seps().any(|s| s.contains(['(', ')']));
    let plain = seps().all(|s| s.chars().all(|c| matches!(c, ' ' | '\u{a0}' | '-')));
    let first_digit = digits.chars().next()?;
    let (word, window) = context(chars, head.start);
    let word = word.as_str();

    if word == "инн" && n == 12 {
        return Some(INN);
    }
    if word == "снилс" && n == 11 {
        return Some(SNILS);
    }
    let passport_word = matches!(word, "паспорт" | "паспорта" | "паспорте" | "паспортом" | "серия" | "серии")
        || (word.starts_with("номер") && (window.contains("паспорт") || window.contains("сери")));
    if passport_word && matches!(n, 4 | 6 | 10) {
        return Some(PASSPORT);
    }
    if n == 12 && lens.len() == 1 && inn_valid(&digits) {
        return Some(INN);
    }
    if n == 10 && (lens == [4, 6] || lens == [2, 2, 6]) {
        return Some(PASSPORT);
    }
    if n == 11 && lens == [3, 3, 3, 2] {
        return Some(SNILS);
    }
    // Amounts and counts grouped by thousands («1 000 000 000 руб.») are not phones or cards.
    let thousands = lens.len() >= 2
        && lens.first().is_some_and(|&l| (1..=3).contains(&l))
        && lens.iter().skip(1).all(|&l| l == 3)
        && seps().all(|s| s.chars().all(|c| c == ' ' || c == '\u{a0}'));
    if thousands && !plus {
        return None;
    }
    if plus && (11..=13).contains(&n) {
        return Some(PHONE);
    }
    // The first group of a phone is the country prefix, the whole number or the area code.
    let head_len = lens.first().copied().unwrap_or(0);
    if n == 11 && matches!(first_digit, '7' | '8') && matches!(head_len, 1 | 4 | 11) {
        return Some(PHONE);
    }
    if n == 10
        && ((head_len == 10 && first_digit == '9') || ((3..=5).contains(&head_len) && (paren || lens.len() >= 2)))
    {
        return Some(PHONE);
    }
    let short_phone = (5..=7).contains(&n)
        && lens.len() >= 3
        && seps().all(|s| s == "-")
        && lens.iter().rev().take(2).all(|&l| l == 2);
    if short_phone {
        return Some(PHONE);
    }
    if (13..=19).contains(&n) && plain && (lens.len() == 1 || lens.iter().all(|&l| l >= 4)) && luhn_valid(&digits) {
        return Some(CARD);
    }
    if n == 11 && lens.len() == 1 && snils_valid(&digits) {
        return Some(SNILS);
    }
    None
}

/// The word just before `at` (lower case), skipping a few characters of punctuation, and the 40
/// characters before `at` (lower case).
fn context(chars: &[char], at: usize) -> (String, String) {
    let mut k = at;
    let mut skipped = 0;
    while k > 0 && skipped < 4 && chars.get(k - 1).is_some_and(|c| !c.is_alphanumeric()) {
        k -= 1;
        skipped += 1;
    }
    let end = k;
    while k > 0 && chars.get(k - 1).is_some_and(|c| c.is_alphabetic()) {
        k -= 1;
    }
    (lower(chars, k, end), lower(chars, at.saturating_sub(40), at))
}

fn digit_values(digits: &str) -> Vec<u32> {
    digits.chars().filter_map(|c| c.to_digit(10)).collect()
}

/// The check digits of a personal (12-digit) ИНН.
fn inn_valid(digits: &str) -> bool {
    let d = digit_values(digits);
    let check = |weights: &[u32]| weights.iter().zip(&d).map(|(w, x)| w * x).sum::<u32>() % 11 % 10;
    d.len() == 12
        && Some(&check(&[7, 2, 4, 10, 3, 5, 9, 4, 6, 8])) == d.get(10)
        && Some(&check(&[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8])) == d.get(11)
}

/// The check number of a СНИЛС: the last two digits.
fn snils_valid(digits: &str) -> bool {
    let d = digit_values(digits);
    if d.len() != 11 {
        return false;
    }
    let sum: u32 = d.iter().take(9).zip((1..=9).rev()).map(|(x, w)| x * w).sum();
    let check = match sum % 101 {
        100 => 0,
        s => s,
    };
    let given = d.iter().skip(9).fold(0, |acc, x| acc * 10 + x);
    check == given
}

/// The Luhn check of a card number.
fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digit_values(digits)
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            if i % 2 == 1 {
                if x * 2 > 9 {
                    x * 2 - 9
                } else {
                    x * 2
                }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests;
