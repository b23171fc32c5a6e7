//! Lists: a limit, an opaque cursor and a page.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

/// A page of a list: `{items, next_cursor}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

/// A page size: 1..=100, default 20.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(usize);

impl Limit {
    pub const DEFAULT: Limit = Limit(20);
    pub const MAX: usize = 100;

    pub fn parse(raw: Option<&str>) -> Result<Limit, String> {
        match raw {
            None => Ok(Limit::DEFAULT),
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Limit(n)),
                _ => Err(format!("limit должен быть целым числом от 1 до {}", Self::MAX)),
            },
        }
    }
    pub fn get(self) -> usize {
        self.0
    }
}

/// An opaque position in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    pub fn new(position: &str) -> Self {
        Cursor(position.to_owned())
    }
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1:{}", self.0))
    }
    pub fn decode(raw: &str) -> Result<Cursor, String> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| "недействительный cursor".to_owned())?;
        let text = String::from_utf8(bytes).map_err(|_| "недействительный cursor".to_owned())?;
        text.strip_prefix("v1:").map(|p| Cursor(p.to_owned())).ok_or_else(|| "недействительный cursor".to_owned())
    }
    pub fn position(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_1_to_100_are_refused() {
        assert_eq!(Limit::parse(None).unwrap().get(), 20);
        assert_eq!(Limit::parse(Some("100")).unwrap().get(), 100);
        assert!(Limit::parse(Some("0")).is_err());
        assert!(Limit::parse(Some("101")).is_err());
        assert!(Limit::parse(Some("-1")).is_err());
        assert!(Limit::parse(Some("abc")).is_err());
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor::new("01JABC");
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("!!!").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("v2:x")).is_err());
    }
}
