//! Automatic moderation of a resident's message text at submission.
//!
//! [`moderate`] applies its checks in a fixed order, so a text that breaks several rules always gets
//! the most important reason:
//!
//! 1. [`ModerationReason::Obscene`]: Russian mat (the roots `хуй`, `пизд-`, `еб-`/`ёб-`, `бляд-`/`бля`)
//!    and the strong insults built on them or usually grouped with them (`мудак`, `пидор`, `гандон`,
//!    `залупа`, `манда`). The text is cut into word tokens which are normalised (lower case, `ё`→`е`,
//!    Latin look-alikes and Latin transliteration, digits used as letters, collapsed letter runs,
//!    separators inside a word removed, spaced-out single letters joined). A root only matches at the
//!    start of a token, optionally after a short list of prefixes for that root, and only when the
//!    next letter fits the root, so ordinary words such as `корабля`, `хлеба`, `страхуй` or
//!    `скипидар` never match.
//! 2. [`ModerationReason::NoContent`]: the text has no letters at all.
//! 3. [`ModerationReason::Junk`]: a run of 5 or more identical letters, a run of 10 or more of any
//!    other identical character (digits, whitespace and divider characters such as `_`, `-`, `.`
//!    excepted), one letter making up more than half of all letters, fewer than 4 distinct letters,
//!    or keyboard-row mashing (`йцукен`, `фыва`, `qwerty`, `asdf`).
//! 4. [`ModerationReason::NoContent`]: fewer than 3 words, or fewer than 2 words of two letters or more.

use std::collections::HashMap;

/// Why automatic moderation refused a text. `code()` is its stable machine word (logs, Open311
/// refusals); `message_ru()` is what a person reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ModerationReason {
    /// The text contains obscene vocabulary.
    Obscene,
    /// The text has no letters, or too few words to describe a problem.
    NoContent,
    /// The text looks like keyboard mashing or contains long runs of a repeated character.
    Junk,
}

impl ModerationReason {
    /// The stable machine word used in API responses.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// A short explanation for the resident, in Russian.
    pub fn message_ru(self) -> &'static str {
        match self {
            ModerationReason::Obscene => "Текст содержит нецензурную лексику. Переформулируйте, пожалуйста.",
            ModerationReason::NoContent => "В тексте нет описания проблемы. Опишите ситуацию словами, пожалуйста.",
            ModerationReason::Junk => {
                "Текст похож на случайный набор символов или содержит длинные повторы. Опишите проблему обычным текстом."
            }
        }
    }
}

/// Checks a resident's text (already trimmed, 10..4000 chars). Ok(()) when it may be published to officials.
pub fn moderate(text: &str) -> Result<(), ModerationReason> {
    if contains_obscenity(text) {
        return Err(ModerationReason::Obscene);
    }
    let words = letter_words(text);
    if words.is_empty() {
        return Err(ModerationReason::NoContent);
    }
    if is_junk(text, &words) {
        return Err(ModerationReason::Junk);
    }
    if !has_enough_words(&words) {
        return Err(ModerationReason::NoContent);
    }
    Ok(())
}

/// Lower case with `ё` folded into `е`, the way every check compares letters.
/// Checks a discussion comment: short replies are fine, obscene language is not.
pub fn moderate_comment(text: &str) -> Result<(), ModerationReason> {
    if contains_obscenity(text) {
        return Err(ModerationReason::Obscene);
    }
    Ok(())
}

fn fold(c: char) -> char {
    if c == 'ё' {
        'е'
    } else {
        c
    }
}

/// Maximal runs of letters, lower-cased and folded.
fn letter_words(text: &str) -> Vec<Vec<char>> {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().flat_map(char::to_lowercase).map(fold).collect())
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// No content
// ---------------------------------------------------------------------------------------------------------------

/// Fewest words containing a letter. "Нет света в подъезде" has 4, "Не работает лифт" has 3.
const MIN_WORDS: usize = 3;
/// Fewest words of two letters or more, so that "а б в г д" does not count as a description.
const MIN_LONG_WORDS: usize = 2;

fn has_enough_words(words: &[Vec<char>]) -> bool {
    words.len() >= MIN_WORDS && words.iter().filter(|w| w.len() >= 2).count() >= MIN_LONG_WORDS
}

// ---------------------------------------------------------------------------------------------------------------
// Junk
// ---------------------------------------------------------------------------------------------------------------

/// Longest allowed run of one letter: "Оооочень" passes, "Ооооочень" does not.
const MAX_LETTER_RUN: usize = 4;
/// Longest allowed run of one non-letter character: nine "!" pass, ten do not.
const MAX_SYMBOL_RUN: usize = 9;
/// Characters that form long runs in ordinary documents (form blanks, dividers, ellipses).
const DIVIDERS: &[char] = &['_', '-', '=', '.', '*', '~', '#', '—', '–', '…'];
/// Fewest distinct letters in a real text.
const MIN_DISTINCT_LETTERS: usize = 4;
/// Keyboard rows, Russian ЙЦУКЕН and Latin QWERTY.
const KEYBOARD_ROWS: &[&str] = &["йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю", "qwertyuiop", "asdfghjkl", "zxcvbnm"];
/// Shortest run of neighbouring keys that counts as mashing ("фыва", "asdf").
const MIN_KEY_RUN: usize = 4;
/// A run of neighbouring keys this long never occurs in real words ("фывапро", "qwertyu").
const CERTAIN_KEY_RUN: usize = 7;

fn is_junk(text: &str, words: &[Vec<char>]) -> bool {
    has_long_run(text) || has_dominant_letter(words) || is_keyboard_mashing(words)
}

fn has_long_run(text: &str) -> bool {
    let mut prev = None;
    let mut run = 0;
    for c in text.chars().flat_map(char::to_lowercase).map(fold) {
        if prev == Some(c) {
            run += 1;
        } else {
            prev = Some(c);
            run = 1;
        }
        if c.is_whitespace() || c.is_ascii_digit() || DIVIDERS.contains(&c) {
            continue;
        }
        let limit = if c.is_alphabetic() { MAX_LETTER_RUN } else { MAX_SYMBOL_RUN };
        if run > limit {
            return true;
        }
    }
    false
}

fn has_dominant_letter(words: &[Vec<char>]) -> bool {
    let mut counts: HashMap<char, usize> = HashMap::new();
    for &c in words.iter().flatten() {
        *counts.entry(c).or_default() += 1;
    }
    let total: usize = counts.values().sum();
    let most = counts.values().copied().max().unwrap_or(0);
    counts.len() < MIN_DISTINCT_LETTERS || most * 2 > total
}

/// Mashed words make up at least 40 % of the letters, or one word holds a very long keyboard run.
fn is_keyboard_mashing(words: &[Vec<char>]) -> bool {
    let total: usize = words.iter().map(Vec::len).sum();
    let mut mashed = 0;
    for word in words {
        let runs = KeyRuns::of(word);
        if runs.longest >= CERTAIN_KEY_RUN {
            return true;
        }
        if runs.is_mashed(word.len()) {
            mashed += word.len();
        }
    }
    mashed * 5 >= total * 2 && mashed > 0
}

/// Runs of neighbouring keys (in one direction along one keyboard row) inside a word.
struct KeyRuns {
    /// Letters that belong to a run of at least [`MIN_KEY_RUN`] keys.
    covered: usize,
    /// Length of the longest run, in letters.
    longest: usize,
}

impl KeyRuns {
    fn of(word: &[char]) -> Self {
        let mut covered = vec![false; word.len()];
        let mut longest = 0;
        let mut start = 0;
        let mut dir = 0;
        for i in 1..=word.len() {
            let step = if let (Some(&a), Some(&b)) = (word.get(i - 1), word.get(i)) { key_step(a, b) } else { 0 };
            if step != 0 && (dir == 0 || step == dir) {
                dir = step;
                continue;
            }
            if dir != 0 {
                let len = i - start;
                longest = longest.max(len);
                if len >= MIN_KEY_RUN {
                    covered.iter_mut().take(i).skip(start).for_each(|c| *c = true);
                }
            }
            if step != 0 {
                start = i - 1;
                dir = step;
            } else {
                start = i;
                dir = 0;
            }
        }
        KeyRuns { covered: covered.iter().filter(|&&c| c).count(), longest }
    }

    /// Runs cover at least 60 % of the word, and either one run is long or runs cover the whole word.
    /// So "фыва", "йцукен" and "asdfasdf" are mashed while "пролив" or "некую" (a 4-key run inside
    /// a real word) are not.
    fn is_mashed(&self, len: usize) -> bool {
        self.covered > 0 && self.covered * 5 >= len * 3 && (self.longest > MIN_KEY_RUN || self.covered == len)
    }
}

/// +1 when `b` is the key right of `a` on the same row, -1 when it is the key to the left, 0 otherwise.
fn key_step(a: char, b: char) -> i32 {
    match (key_position(a), key_position(b)) {
        (Some((ra, ca)), Some((rb, cb))) if ra == rb && cb == ca + 1 => 1,
        (Some((ra, ca)), Some((rb, cb))) if ra == rb && ca == cb + 1 => -1,
        _ => 0,
    }
}

fn key_position(c: char) -> Option<(usize, usize)> {
    KEYBOARD_ROWS.iter().enumerate().find_map(|(row, keys)| keys.chars().position(|k| k == c).map(|col| (row, col)))
}

// ---------------------------------------------------------------------------------------------------------------
// Obscene
// ---------------------------------------------------------------------------------------------------------------

/// How many prefixes may be stacked before a root ("недо" + "вы" + "еб...").
const MAX_PREFIXES: usize = 3;

/// Roots so specific that they are obscene anywhere inside a token.
const ANYWHERE: &[&str] = &["пизд", "пезд", "пизж"];

/// Whole tokens that are obscene only on their own: "манда" but not "мандарин", "мандат", "команда".
const EXACT: &[&str] = &["манда", "манды", "манде", "манду", "мандой", "мандою", "хули", "хуле"];

/// Normalised token starts that are never obscene: the city nickname "Ебург" for Yekaterinburg and the
/// common misspelling of "эбонит".
const SAFE_STARTS: &[&str] = &["ебург", "ебонит"];

/// Lower-case Latin words whose transliteration happens to look like mat.
const SAFE_LATIN: &[&str] = &["ebay", "ebola", "ebony", "hue", "huey"];

const HUY_PREFIXES: &[&str] = &[
    "а", "вы", "до", "за", "из", "ис", "на", "не", "недо", "ни", "о", "об", "от", "отъ", "пере", "по", "под", "при",
    "про", "раз", "рас", "с",
];

/// Vowel-final prefixes and the consonant-final ones only with a hard or soft sign, so that "себе",
/// "обеспечение", "вебинар" or "дебет" never reach the root.
const EB_PREFIXES: &[&str] = &[
    "вы",
    "до",
    "долба",
    "долбо",
    "за",
    "мозго",
    "мудо",
    "на",
    "не",
    "недо",
    "пере",
    "по",
    "при",
    "про",
    "у",
    "хитро",
    "въ",
    "вь",
    "взъ",
    "взь",
    "изъ",
    "изь",
    "надъ",
    "надь",
    "объ",
    "обь",
    "отъ",
    "оть",
    "подъ",
    "подь",
    "разъ",
    "разь",
    "съ",
    "сь",
];

const BLYA_PREFIXES: &[&str] = &["вы", "за", "по", "раз"];

/// What may follow a root's stem inside the token.
enum Follow {
    Any,
    OneOf(&'static [char]),
}

/// An obscene root: the stem at the start of the token (after allowed prefixes) followed by a fitting letter,
/// or ending the token when `bare` is set.
struct Root {
    stem: &'static str,
    follow: Follow,
    bare: bool,
    prefixes: &'static [&'static str],
}

const ROOTS: &[Root] = &[
    // хуй, хуя, хуе(в), хуи, хую; "ху" + д/л/ж/т/н is ordinary ("худой", "хулиган", "хуже", "хутор").
    Root { stem: "ху", follow: Follow::OneOf(&['й', 'е', 'я', 'ю', 'и']), bare: false, prefixes: HUY_PREFIXES },
    // еба-, ебе-, еби-, ебо-, ебу-, ебы-, ебл-, ебн-, ебк-, and a bare "ёб" / "долбоёб"; "ебр" (ЕБРР) is not.
    Root {
        stem: "еб",
        follow: Follow::OneOf(&['а', 'е', 'и', 'о', 'у', 'ы', 'л', 'н', 'к']),
        bare: true,
        prefixes: EB_PREFIXES,
    },
    // бля, блядь, блять; "бляха", "бляшка" are ordinary words.
    Root { stem: "бля", follow: Follow::OneOf(&['д', 'т']), bare: true, prefixes: BLYA_PREFIXES },
    // "мудрый" stays clean: only the insulting stems are listed.
    Root { stem: "мудак", follow: Follow::Any, bare: true, prefixes: &[] },
    Root { stem: "мудач", follow: Follow::Any, bare: true, prefixes: &[] },
    Root { stem: "мудил", follow: Follow::Any, bare: true, prefixes: &[] },
    Root { stem: "мудозв", follow: Follow::Any, bare: true, prefixes: &[] },
    // Token start only, so "скипидар" stays clean.
    Root { stem: "пидор", follow: Follow::Any, bare: true, prefixes: &[] },
    Root { stem: "пидар", follow: Follow::Any, bare: true, prefixes: &[] },
    Root { stem: "пидер", follow: Follow::Any, bare: true, prefixes: &[] },
    Root { stem: "пидр", follow: Follow::Any, bare: true, prefixes: &[] },
    Root { stem: "педрил", follow: Follow::Any, bare: true, prefixes: &[] },
    Root { stem: "гандон", follow: Follow::Any, bare: true, prefixes: &[] },
    Root { stem: "гондон", follow: Follow::Any, bare: true, prefixes: &[] },
    Root { stem: "залуп", follow: Follow::Any, bare: true, prefixes: &[] },
    Root { stem: "мандавош", follow: Follow::Any, bare: true, prefixes: &[] },
];

impl Root {
    fn matches(&self, word: &str, prefixes_left: usize) -> bool {
        self.matches_here(word)
            || (prefixes_left > 0
                && self
                    .prefixes
                    .iter()
                    .any(|p| word.strip_prefix(p).is_some_and(|rest| self.matches(rest, prefixes_left - 1))))
    }

    fn matches_here(&self, word: &str) -> bool {
        let Some(rest) = word.strip_prefix(self.stem) else {
            return false;
        };
        match (rest.chars().next(), &self.follow) {
            (None, _) => self.bare,
            (Some(_), Follow::Any) => true,
            (Some(c), Follow::OneOf(allowed)) => allowed.contains(&c),
        }
    }
}

fn contains_obscenity(text: &str) -> bool {
    candidate_tokens(text).iter().any(|token| normal_forms(token).iter().any(|form| is_obscene_form(form)))
}

fn is_obscene_form(word: &str) -> bool {
    if word.is_empty() || SAFE_STARTS.iter().any(|s| word.starts_with(s)) {
        return false;
    }
    ANYWHERE.iter().any(|s| word.contains(s))
        || EXACT.contains(&word)
        || ROOTS.iter().any(|root| root.matches(word, MAX_PREFIXES))
}

/// Letters and digits; digits stay in tokens because they are often used as letters ("п0хуй", "бл9ть").
fn is_word_char(c: char) -> bool {
    c.is_alphabetic() || c.is_ascii_digit()
}

/// Punctuation that ends a phrase; a single letter next to it is a list item ("корпуса А, Б"), not a
/// spelled-out word.
const PHRASE_PUNCTUATION: &[char] = &[',', ';', ':', '(', ')', '?', '!', '"', '«', '»'];

/// Raw tokens to check: plain words, whitespace-delimited chunks with inner separators dropped ("х.у.й",
/// "е-б-а-т-ь"), and every stretch of three or more spaced single letters joined ("х у й").
fn candidate_tokens(text: &str) -> Vec<String> {
    let mut tokens: Vec<String> =
        text.split(|c: char| !is_word_char(c)).filter(|t| !t.is_empty()).map(str::to_owned).collect();
    let mut spaced: Vec<char> = Vec::new();
    for chunk in text.split_whitespace() {
        let compact: String = chunk.chars().filter(|&c| is_word_char(c)).collect();
        if compact.is_empty() {
            continue;
        }
        let mut letters = compact.chars();
        match (letters.next(), letters.next()) {
            (Some(c), None) if c.is_alphabetic() && !chunk.contains(PHRASE_PUNCTUATION) => spaced.push(c),
            _ => push_spaced(&mut spaced, &mut tokens),
        }
        if compact != chunk {
            tokens.push(compact);
        }
    }
    push_spaced(&mut spaced, &mut tokens);
    tokens
}

/// Shortest and longest word looked for among spaced single letters; the cap keeps long letter lists cheap.
const SPACED_WORD_LEN: std::ops::RangeInclusive<usize> = 3..=20;

/// Turns a stretch of spaced single letters into every joined window of 3 to 20 letters.
fn push_spaced(spaced: &mut Vec<char>, tokens: &mut Vec<String>) {
    let n = spaced.len();
    if n >= *SPACED_WORD_LEN.start() {
        for start in 0..n {
            let last = n.min(start + SPACED_WORD_LEN.end());
            for end in start + SPACED_WORD_LEN.start()..=last {
                tokens.extend(spaced.get(start..end).map(|w| w.iter().collect::<String>()));
            }
        }
    }
    spaced.clear();
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// Latin letters that look like Cyrillic ones: "xyй", "eбaть".
    LookAlike,
    /// Latin transliteration: "nahui", "pizdec", "blyat".
    Phonetic,
}

/// The Cyrillic spellings a token may stand for, each also with runs of a letter collapsed ("хуууй").
fn normal_forms(token: &str) -> Vec<String> {
    let lower = token.to_lowercase();
    if SAFE_LATIN.contains(&lower.as_str()) || !lower.chars().any(char::is_alphabetic) {
        return Vec::new();
    }
    let mut forms = vec![transliterate(&lower, Scheme::LookAlike)];
    if lower.chars().any(|c| c.is_ascii_alphabetic()) {
        forms.push(transliterate(&lower, Scheme::Phonetic));
    }
    let collapsed: Vec<String> = forms.iter().map(|f| collapse_runs(f)).collect();
    forms.extend(collapsed);
    forms
}

fn transliterate(lower: &str, scheme: Scheme) -> String {
    let chars: Vec<char> = lower.chars().collect();
    let mut out = String::with_capacity(lower.len());
    let mut i = 0;
    while i < chars.len() {
        if scheme == Scheme::Phonetic {
            if let Some((c, used)) = chars.get(i..).and_then(phonetic_digraph) {
                out.push(c);
                i += used;
                continue;
            }
        }
        let Some(&c) = chars.get(i) else { break };
        let mapped = match c {
            'ё' => Some('е'),
            'і' | 'ї' => Some('и'),
            'а'..='я' => Some(c),
            '0' => Some('о'),
            '3' => Some('з'),
            '4' => Some('ч'),
            '6' => Some('б'),
            '9' => Some('я'),
            'a'..='z' => Some(match scheme {
                Scheme::LookAlike => look_alike(c),
                Scheme::Phonetic => phonetic(c, out.chars().last()),
            }),
            // Other letters and digits stay as they are and simply never match a root.
            _ if c.is_alphanumeric() => Some(c),
            _ => None,
        };
        out.extend(mapped);
        i += 1;
    }
    out
}

/// Latin letters that look like a Cyrillic letter; others stay Latin and block a match.
fn look_alike(c: char) -> char {
    match c {
        'a' => 'а',
        'b' => 'б',
        'c' => 'с',
        'e' => 'е',
        'h' => 'н',
        'i' => 'и',
        'k' => 'к',
        'm' => 'м',
        'n' => 'п',
        'o' => 'о',
        'p' => 'р',
        'r' => 'г',
        't' => 'т',
        'u' => 'и',
        'x' => 'х',
        'y' => 'у',
        other => other,
    }
}

fn phonetic(c: char, prev: Option<char>) -> char {
    match c {
        'a' => 'а',
        'b' => 'б',
        'c' => 'ц',
        'd' => 'д',
        'e' => 'е',
        'f' => 'ф',
        'g' => 'г',
        'h' | 'x' => 'х',
        'i' => 'и',
        'j' => 'й',
        'k' | 'q' => 'к',
        'l' => 'л',
        'm' => 'м',
        'n' => 'н',
        'o' => 'о',
        'p' => 'п',
        'r' => 'р',
        's' => 'с',
        't' => 'т',
        'u' => 'у',
        'v' | 'w' => 'в',
        'y' if prev.is_some_and(|p| "аеиоуыэюя".contains(p)) => 'й',
        'y' => 'ы',
        'z' => 'з',
        other => other,
    }
}

fn phonetic_digraph(chars: &[char]) -> Option<(char, usize)> {
    if chars.starts_with(&['s', 'c', 'h']) {
        return Some(('щ', 3));
    }
    let c = match chars {
        ['s', 'h', ..] => 'ш',
        ['c', 'h', ..] => 'ч',
        ['z', 'h', ..] => 'ж',
        ['k', 'h', ..] => 'х',
        ['t', 's', ..] => 'ц',
        ['y' | 'j', 'a', ..] => 'я',
        ['y' | 'j', 'u', ..] => 'ю',
        ['y' | 'j', 'o' | 'e', ..] => 'е',
        _ => return None,
    };
    Some((c, 2))
}

fn collapse_runs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev = None;
    for c in s.chars() {
        if prev != Some(c) {
            out.push(c);
        }
        prev = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test per text, named `given_<group>_when_moderated_then_<outcome>::<case>`.
    macro_rules! cases {
        ($expected:expr; $($name:ident => $text:expr,)+) => {
            $(
                #[test]
                fn $name() {
                    assert_eq!(moderate($text), $expected, "text: {}", $text);
                }
            )+
        };
    }

    mod given_clean_complaint_when_moderated_then_ok {
        use super::*;

        cases! { Ok(());
            no_light_in_entrance => "Нет света в подъезде",
            pothole_near_house => "Яма на дороге у дома 5",
            garbage_not_collected => "Во дворе дома 12 по ул. Ленина третью неделю не вывозят мусор.",
            cold_radiators => "В квартире 45 по ул. Республики, 160 батареи чуть тёплые, +16 в комнате!",
            bus_late => "Автобус №27 не приходит по расписанию, ждали 40 минут на остановке «Центральный рынок».",
            emphasised_very => "Ооочень плохо убирают снег во дворе",
            emphasised_four_letters => "Оооочень плохо убирают снег во дворе",
            school_roof_leaks => "В школе №14 протекает крыша в спортзале, дети занимаются в холоде.",
            crossing_request => "Просим установить пешеходный переход у детского сада на ул. Мельникайте, 101.",
            lift_broken => "Не работает лифт в доме 7/2 уже 5 дней!!! Пожилые жильцы не могут выйти.",
            three_short_words => "Не работает лифт",
            dark_sidewalk => "Тротуар на Пермякова между домами 50 и 52 не освещён, очень опасно вечером.",
            management_ignores => "Управляющая компания «Комфорт» игнорирует заявки о протечке с 01.02.2024.",
            no_hot_water => "Горячей воды нет с 8:00 утра, аварийная служба не отвечает (тел. 8-3452-00-00-00).",
            minibus_interval => "Маршрутка 45 ходит раз в час, хотя по графику каждые 15 минут.",
            broken_playground => "Детская площадка во дворе сломана: качели оторваны, горка треснула.",
            flooded_basement => "В подвале дома стоит вода, по подъезду запах канализации.",
            traffic_light => "На светофоре у ТЦ «Гудвин» не работает зелёная секция для пешеходов.",
            school_bus => "Школьный автобус в Ишиме не довозит детей до школы №4 к 7:30.",
            asphalt_again => "После ремонта дороги на ул. Широтной асфальт снова разрушился — прошло 2 месяца.",
            noisy_neighbours => "Соседи сверху шумят каждую ночь после 23:00, участковый не реагирует.",
            heating_bill => "Прошу проверить начисления за отопление: в квитанции 4 500 руб. вместо 2 800.",
            clinic_booking => "В поликлинике №3 невозможно записаться к терапевту через Госуслуги.",
            storm_drain => "Ливнёвка на перекрёстке Ленина/Республики забита, после дождя лужа по колено.",
            rats => "Мусорные контейнеры переполнены, вокруг бегают крысы. Примите меры!",
            textbooks => "Учительница 5 «Б» класса не выдаёт учебники, родители жалуются.",
            dark_bus_stop => "Ночью на остановке «Дом обороны» не горят фонари, страшно идти.",
            thanks_and_door => "Спасибо за ремонт подъезда! Но в тамбуре до сих пор нет двери.",
            gas_cut => "В доме по адресу ул. 50 лет Октября, д. 32, корп. 1 отключили газ без предупреждения.",
            shouting_caps => "Трамваев у нас нет, а автобусы ОЧЕНЬ грязные и холодные!!!",
            nine_exclamations => "Помогите!!!!!!!!! Нет воды в доме третий день.",
            wifi_library => "Wi-Fi в библиотеке не работает, а на сайте написано, что он есть.",
            emoji_conductor => "Кондуктор в автобусе 30 нагрубила пенсионерке 😡 Разберитесь, пожалуйста.",
            urgent_pipe => "Срочно!!! Прорвало трубу в подвале дома 3а.",
            form_blank => "Заявление ______________ от жителей дома 15 по ул. Мира: нет отопления.",
            divider_line => "Нет отопления в доме 7.\n----------\nПросим принять меры до холодов.",
            long_number => "В квитанции долг 10000000000 рублей, это явная ошибка начисления.",
            taxi_latin => "Такси Yandex Go не может подъехать к дому из-за ям на дороге.",
            ebay_latin => "Купил обогреватель на eBay, потому что в квартире +14 градусов.",
            corpus_letters => "Во дворе корпусов А, Б, В не убран снег.",
            latin_only => "Street lights on Lenina street are broken again.",
            multi_sentence => "Добрый день. Пишу повторно: в доме 21 по ул. Холодильной с января не работает \
                домофон. Заявка в УК №1543 от 12.01. Мастер приходил, сказал, что нужна плата. \
                Когда отремонтируют? Спасибо.",
        }
    }

    mod given_ordinary_word_resembling_mat_when_moderated_then_ok {
        use super::*;

        cases! { Ok(());
            nebo => "Над двором чистое небо, а в подъезде темно — лампы не горят.",
            khleb => "В магазине у дома 8 продают просроченный хлеб и молоко.",
            khleba => "Хлеба в социальный магазин не завозят с понедельника.",
            rebyonok => "Мой ребёнок не может попасть в детский сад №12 уже год.",
            ucheba => "Учеба в школе №5 идёт в две смены из-за нехватки кабинетов.",
            trebovat => "Жильцы вправе требовать перерасчёт за отопление.",
            trebuet => "Сосед требует деньги за парковку во дворе, это законно?",
            trebovaniya => "Требования пожарной безопасности в школе не соблюдаются.",
            greben => "На крыше сорван гребень кровли, вода течёт на пятый этаж.",
            oskorblenie => "Ответ диспетчера — прямое оскорбление для пенсионеров.",
            strakhuy => "Сосед говорит: «страхуй квартиру», потому что трубы текут постоянно.",
            strakhovka => "Страховка не покрывает ущерб от протечки крыши, помогите.",
            zastrakhuyte => "Нам в УК ответили: застрахуйте имущество сами, а крышу чинить не будем.",
            khuligan => "Местный хулиган разбил стекло на остановке у школы.",
            khudoy => "Худой забор вокруг стройки падает на тротуар.",
            psikhushka => "Не дом, а психушка: ночью сверлят и кричат.",
            komanda => "Команда дворников не выходит на уборку снега третий день.",
            mandarin => "Детям в столовой дали гнилой мандарин на полдник.",
            mandat => "Депутат получил мандат, но на встречи с жителями не приходит.",
            kolebletsya => "Напряжение в сети колеблется, техника сгорела у трёх соседей.",
            upotreblenie => "Употребление алкоголя во дворе детского сада продолжается каждый вечер.",
            upotreblyat => "Воду из-под крана нельзя употреблять, она ржавая.",
            upotreblyayut => "Подростки у школы употребляют энергетики прямо на крыльце.",
            rublya => "Цена проезда выросла на 2 рубля без объявления.",
            sablya => "На памятнике у школы отломана сабля, надо восстановить.",
            korablya => "Модель корабля у ДК разрушается, краска облезла.",
            skipidar => "После покраски в подъезде запах как скипидар, дышать невозможно.",
            vliyanie => "Шум от стройки оказывает влияние на здоровье жильцов.",
            ogloblyami => "Рабочие перегородили проезд какими-то оглоблями и ушли.",
            potrebitel => "Как потребитель услуг ЖКХ прошу сделать перерасчёт.",
            neboskryob => "Рядом с домом строят небоскрёб, по стенам пошли трещины.",
            pogrebenie => "Место под погребение на городском кладбище не выделяют месяц.",
            tyumen => "Тюмень, ул. Мельникайте, 70: не убран снег.",
            ishim => "Город Ишим, дорога на вокзал разбита полностью.",
            yalutorovsk => "Ялуторовск, микрорайон Комсомольский: вода идёт ржавая.",
            debet => "В квитанции дебет и кредит не сходятся, прошу пересчитать.",
            eburg => "Автобус до Ебурга отменили, как теперь добраться до Екатеринбурга?",
            tebe_sebe => "Диспетчер сказал: «Это тебе не нужно, решай сам», а себе оставил премию.",
            nebesa => "Свалка дымит до небес, дышать нечем.",
            sebestoimost => "Себестоимость уборки выросла, а дворник приходит раз в неделю.",
            vebinar => "На вебинаре администрации не ответили про ремонт дороги.",
            ebonit => "В щитке подъезда треснула ебонитовая панель, искрит.",
            blyakha => "Бляха на двери подъезда оторвана, номер дома не виден.",
            blyashki => "Врач говорит, у меня бляшки, а к кардиологу не записаться.",
            blin => "Блин, опять нет горячей воды в доме 4.",
            mudryy => "Мудрое решение было бы отремонтировать школу летом.",
            sukhuyu_plokhuyu => "Плохую дорогу засыпали, сухую траву не убрали, тихую улицу превратили в трассу.",
            pokhudet => "Ухудшение качества воды заметили все, похудеть от такой воды можно.",
            khuzhe => "Дорога стала ещё хуже после ремонта.",
            ebrr => "Кредит ЕБРР на троллейбусы так и не потратили.",
            gondola => "Гондола канатной дороги в парке стоит сломанная.",
            zebra => "Зебра на переходе у школы стёрлась полностью.",
            wrong_layout_latin => "Hub for scooters blocks the sidewalk on Respubliki street.",
        }
    }

    mod given_obscene_text_when_moderated_then_obscene {
        use super::*;

        cases! { Err(ModerationReason::Obscene);
            khuy => "Опять нет света, хуй дождёшься ремонта",
            khuyovaya => "Дорога хуёвая, яма на яме у дома 5",
            khuevo => "Двор убирают хуево, грязь по колено",
            nakhuy => "Идите нахуй со своими отписками",
            na_khuy_spaced => "Да пошли вы все на хуй с такой работой",
            pokhuy => "Мне уже похуй, сколько раз писать про этот лифт",
            okhueli => "Вы там совсем охуели? Третий месяц без воды",
            okhuenno => "Охуенно у вас тут всё работает, три дня без воды",
            nikhuya => "Нихуя не сделано за год, дорога так и разбита",
            khuynya => "Хуйня какая-то, а не ремонт подъезда",
            zakhuyarili => "Захуярили забор прямо поперёк тротуара",
            khuli => "Хули вы не чистите снег во дворе?",
            pizdets => "Во дворе полный пиздец, мусор не вывозят",
            raspizdyay => "Этот распиздяй из управляющей компании опять не пришёл",
            spizdili => "У нас в подъезде спиздили почтовые ящики",
            ebat => "Сколько можно ебать мозги жильцам с этими счетами",
            ebyot => "Кого это ебёт, что у нас нет света? Никого.",
            zaebali => "Заебали уже отключать горячую воду каждую неделю",
            vyebyvatsya => "Хватит выебываться, просто почините крышу",
            uyobok => "Этот уёбок сосед паркуется на газоне",
            yob_bare_without_yo => "Еб твою мать, когда уже починят лифт",
            vyebon => "Выебон сплошной, а не работа управляющей компании",
            dolboyob => "Какой долбоёб придумал перекрыть единственный выезд",
            sebalis => "Рабочие съебались и бросили траншею открытой",
            naebali => "Рабочие наебали всех жильцов с ремонтом крыши",
            otebites => "Отъебитесь уже с вашими опросами, почините дорогу",
            proebal => "Подрядчик проебал все сроки по ремонту школы",
            ebanutye => "Ну вы и ебанутые, кто так кладёт асфальт",
            ebanyy_caps => "Этот ЕБАНЫЙ лифт опять стоит третий день",
            pereebat => "Переебать бы тому, кто так асфальт положил",
            neebicheskaya => "Неебическая яма у дома 7 на Ленина",
            uebishche => "Уебище из ЖЭКа нахамило по телефону",
            yob_bare => "Вот же ёб твою мать, опять прорвало трубу",
            blyad => "Блядь, когда уже сделают нормальный тротуар",
            blyadi => "Мусоропровод забит, бляди из УК трубку не берут",
            blyat => "Опять нет воды, блять, третий день подряд",
            blya => "Бля, сколько можно ждать автобус на морозе",
            vybl => "Сосед-выблядок опять бросил мусор у подъезда",
            mudak => "Начальник ЖЭУ мудак и хам, жалобы игнорирует",
            mudila => "Какой мудила ставит машину поперёк двора",
            pidoras => "Пидорас на джипе опять перегородил проезд",
            pidory => "Эти пидоры из УК деньги собирают, а ничего не делают",
            gandon => "Управляющий гандон не отвечает на звонки",
            gondon => "Гондон из УК опять отключил воду",
            zalupa => "Полная залупа, а не ремонт дороги",
            manda => "Соседка — манда, орёт каждую ночь",
            mandavoshka => "Не сосед, а мандавошка, весь подъезд замусорил",
            latin_lookalike_xy => "Ремонт сделали через xyй, всё уже отвалилось",
            latin_lookalike_upper => "XУЁВO работает управляющая компания",
            latin_lookalike_ebanye => "Дороги eбaные, подвеска уже сломана",
            latin_z => "Ну и пиzдец у вас в парке творится",
            latin_spizdili => "Рабочие спиZдили плитку с тротуара",
            translit_nahui => "Это просто nahui никому не нужно",
            translit_pizdec => "pizdec, а не благоустройство, посмотрите сами",
            translit_blyat => "Опять blyat не вывезли мусор со двора",
            translit_huy => "Ремонт дорог huy знает когда будет",
            digit_zero => "Ответ от УК: нам п0хуй, ждите весны",
            digit_three => "Вы там 3аебали со своими проверками",
            digit_nine => "Да бл9ть, опять отключили свет",
            digit_six => "Опять 6ля нет горячей воды в доме",
            dotted => "Вы х.у.й получите, а не ремонт, ответили в УК",
            hyphenated => "Работа УК — это е-б-а-т-ь какой позор",
            underscored => "Ответ УК: п_и_з_д_е_ц полный, ждите",
            spaced_letters => "В подъезде написано х у й на стене и никто не закрашивает",
            spaced_caps => "Ремонт тут П И З Д Е Ц какой долгий",
            stretched => "Да хуууууй вам, а не новая остановка",
            stretched_eb => "Дорогу ебааааать как долго чинят",
        }
    }

    mod given_text_without_content_when_moderated_then_no_content {
        use super::*;

        cases! { Err(ModerationReason::NoContent);
            digits_only => "1234567890",
            date_time => "12.03.2024 10:45",
            phone => "+7 (912) 345-67-89",
            punctuation_only => "!!! ??? ... ,,, ---",
            emoji_only => "😡😡😡 👎👎👎 🤬🤬🤬",
            exclamation_run_without_letters => "!!!!!!!!!!!!!!!!",
            two_words => "Нет света!!",
            two_words_with_exclamations => "Прорвало трубу!!!",
            single_letters => "а б в г д е ж з",
            empty => "",
        }
    }

    mod given_junk_text_when_moderated_then_junk {
        use super::*;

        cases! { Err(ModerationReason::Junk);
            one_letter_run => "аааааааааааааа",
            letter_run_in_sentence => "Нет света аааааа в подъезде",
            five_letter_emphasis => "Ооооочень плохо убирают двор",
            exclamation_run => "Помогите!!!!!!!!!!!! Нет воды в доме",
            question_run => "Нет воды ?????????? совсем нет",
            emoji_run => "🤬🤬🤬🤬🤬🤬🤬🤬🤬🤬 плохо всё плохо",
            bracket_run => "Ну спасибо вам )))))))))))) отличный ремонт",
            ytsuken => "йцукен йцукен йцукен",
            fyva => "фыва фыва фыва олдж",
            full_row => "фывапролджэ",
            full_row_in_sentence => "Жалоба фывапролдж на дорогу",
            bottom_row => "ячсмитьбю ячсмитьбю",
            qwerty => "qwerty asdf zxcv",
            asdf_repeated => "asdfasdf asdfasdf",
            few_distinct_letters => "ыва ыва ыва ыва ыва",
            two_letters => "ха ха ха ха ха ха ха",
            dominant_letter => "ааа на ааа ааа ааа",
        }
    }

    mod given_text_breaking_several_rules_when_moderated_then_most_important_reason {
        use super::*;

        cases! { Err(ModerationReason::Obscene);
            obscene_and_run => "Хуууууууууй вам, а не ремонт!!!!!!!!!!!!",
            obscene_and_short => "Пиздец!!",
        }
    }

    #[test]
    fn given_each_reason_when_code_is_read_then_stable_api_word() {
        assert_eq!(ModerationReason::Obscene.code(), "obscene");
        assert_eq!(ModerationReason::NoContent.code(), "no_content");
        assert_eq!(ModerationReason::Junk.code(), "junk");
    }

    #[test]
    fn given_each_reason_when_message_is_read_then_distinct_russian_sentence() {
        let reasons = [ModerationReason::Obscene, ModerationReason::NoContent, ModerationReason::Junk];
        for reason in reasons {
            let message = reason.message_ru();
            assert!(message.chars().any(|c| ('а'..='я').contains(&c)), "{reason:?}: {message}");
            assert!(message.ends_with('.'), "{reason:?}: {message}");
        }
        assert_ne!(reasons[0].message_ru(), reasons[1].message_ru());
        assert_ne!(reasons[1].message_ru(), reasons[2].message_ru());
        assert_ne!(reasons[0].message_ru(), reasons[2].message_ru());
    }

    #[test]
    fn given_keyboard_run_inside_real_word_when_runs_measured_then_not_mashed() {
        for word in ["пролив", "некую", "кенгуру", "проложили"] {
            let chars: Vec<char> = word.chars().collect();
            assert!(!KeyRuns::of(&chars).is_mashed(chars.len()), "{word}");
        }
        for word in ["фыва", "йцукен", "asdfasdf", "ывапро"] {
            let chars: Vec<char> = word.chars().collect();
            assert!(KeyRuns::of(&chars).is_mashed(chars.len()), "{word}");
        }
    }

    #[test]
    fn given_maximum_length_spaced_letters_when_moderated_then_no_content() {
        let text = "а б в г д е ж з и к л м н о п р с т у ф ".repeat(100);
        assert_eq!(moderate(text.trim()), Err(ModerationReason::NoContent));
    }

    #[test]
    fn given_maximum_length_clean_text_when_moderated_then_ok() {
        let sentence = "Во дворе дома 12 не вывозят мусор, просим принять меры. ";
        let text = sentence.repeat(4000 / sentence.chars().count());
        assert_eq!(moderate(text.trim()), Ok(()));
    }
}
