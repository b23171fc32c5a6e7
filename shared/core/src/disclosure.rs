//! Statistical disclosure control for ballot counts by group.
//!
//! A count of ballots by municipality names few people when the group is small: with live
//! results, the one resident of a village who voted can be read off the figures. Every count of
//! ballots by group that leaves the platform (an admin's or analyst's turnout, the analytics of a
//! poll) goes through [`suppress`]: a group under [`MIN_GROUP`] ballots is shown as `"<10"`, and
//! more groups are hidden with it (complementary suppression) until the hidden ones cannot be
//! worked out from the total and the groups still shown.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;

/// The smallest group whose count is shown.
pub const MIN_GROUP: u64 = 10;

/// What a suppressed count reads as.
pub const SUPPRESSED: &str = "<10";

/// A count of ballots in a group, as shown: exact, or suppressed (`"<10"` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupCount {
    Exact(u64),
    Suppressed,
}

impl GroupCount {
    /// The exact value, when shown.
    pub fn exact(self) -> Option<u64> {
        match self {
            GroupCount::Exact(n) => Some(n),
            GroupCount::Suppressed => None,
        }
    }
}

impl Serialize for GroupCount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            GroupCount::Exact(n) => s.serialize_u64(*n),
            GroupCount::Suppressed => s.serialize_str(SUPPRESSED),
        }
    }
}

impl<'de> Deserialize<'de> for GroupCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Exact(u64),
            Text(String),
        }
        match Wire::deserialize(d)? {
            Wire::Exact(n) => Ok(GroupCount::Exact(n)),
            Wire::Text(t) if t == SUPPRESSED => Ok(GroupCount::Suppressed),
            Wire::Text(t) => {
                Err(serde::de::Error::custom(format!("a count is a number or \"{SUPPRESSED}\", not {t:?}")))
            }
        }
    }
}

impl utoipa::PartialSchema for GroupCount {
    fn schema() -> RefOr<Schema> {
        let exact = ObjectBuilder::new().schema_type(SchemaType::Type(Type::Integer)).minimum(Some(0));
        let hidden = ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some([SUPPRESSED]))
            .description(Some(
                "a group of fewer than 10 ballots, or one hidden so that such a group cannot be deduced",
            ));
        OneOfBuilder::new().item(exact).item(hidden).into()
    }
}

impl utoipa::ToSchema for GroupCount {}

/// The counts of `groups` as they may be shown.
///
/// Groups under [`MIN_GROUP`] are hidden. While the hidden groups could still be worked out
/// (only one is hidden, so the total minus the shown groups gives it; or together they hold
/// fewer than [`MIN_GROUP`] ballots, so each is bounded by their sum), the smallest shown group
/// is hidden too. Every group is hidden when no choice is left.
pub fn suppress<K: Clone + Ord>(groups: &BTreeMap<K, u64>) -> BTreeMap<K, GroupCount> {
    let mut hidden: BTreeSet<&K> = groups.iter().filter(|(_, n)| **n < MIN_GROUP).map(|(k, _)| k).collect();
    loop {
        let sum: u64 = hidden.iter().filter_map(|k| groups.get(*k)).sum();
        if hidden.is_empty() || (hidden.len() >= 2 && sum >= MIN_GROUP) {
            break;
        }
        let smallest_shown = groups.iter().filter(|(k, _)| !hidden.contains(k)).min_by_key(|(k, n)| (**n, *k));
        match smallest_shown {
            Some((k, _)) => {
                hidden.insert(k);
            }
            None => break,
        }
    }
    groups
        .iter()
        .map(|(k, n)| (k.clone(), if hidden.contains(k) { GroupCount::Suppressed } else { GroupCount::Exact(*n) }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(pairs: &[(&'static str, u64)]) -> BTreeMap<&'static str, u64> {
        pairs.iter().copied().collect()
    }

    fn shown(out: &BTreeMap<&'static str, GroupCount>) -> Vec<(&'static str, Option<u64>)> {
        out.iter().map(|(k, c)| (*k, c.exact())).collect()
    }

    #[test]
    fn large_groups_are_shown_exactly() {
        let out = suppress(&groups(&[("tyumen", 120), ("ishim", 10)]));
        assert_eq!(shown(&out), vec![("ishim", Some(10)), ("tyumen", Some(120))]);
    }

    #[test]
    fn a_lone_small_group_takes_the_smallest_other_group_with_it() {
        // Without the complement, 131 - 120 - 11 would give the village's 1.
        let out = suppress(&groups(&[("tyumen", 120), ("ishim", 11), ("village", 1)]));
        assert_eq!(shown(&out), vec![("ishim", None), ("tyumen", Some(120)), ("village", None)]);
    }

    #[test]
    fn small_groups_that_sum_under_ten_are_hidden_with_more() {
        // Two groups of 1 and 2: their sum, 3, would bound each; the next smallest joins them.
        let out = suppress(&groups(&[("a", 1), ("b", 2), ("c", 40), ("d", 50)]));
        assert_eq!(shown(&out), vec![("a", None), ("b", None), ("c", None), ("d", Some(50))]);
    }

    #[test]
    fn a_single_group_under_ten_is_hidden() {
        let out = suppress(&groups(&[("village", 3)]));
        assert_eq!(shown(&out), vec![("village", None)]);
    }

    #[test]
    fn no_hidden_group_can_be_deduced_from_the_total() {
        // Exhaustively over small tables: what stays hidden is either nothing or at least two
        // groups holding at least ten ballots together, unless everything is hidden.
        let values = [0u64, 1, 2, 5, 9, 10, 11, 30];
        for a in values {
            for b in values {
                for c in values {
                    for d in values {
                        let g = groups(&[("a", a), ("b", b), ("c", c), ("d", d)]);
                        let out = suppress(&g);
                        for (k, count) in &out {
                            if let GroupCount::Exact(n) = count {
                                assert!(*n >= MIN_GROUP, "{k} shown with {n} in {g:?}");
                            }
                        }
                        let hidden: Vec<u64> =
                            out.iter().filter(|(_, c)| c.exact().is_none()).map(|(k, _)| g[k]).collect();
                        let all_hidden = hidden.len() == g.len();
                        let safe = hidden.is_empty() || (hidden.len() >= 2 && hidden.iter().sum::<u64>() >= MIN_GROUP);
                        assert!(safe || all_hidden, "{g:?} -> {out:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn counts_read_and_write_as_numbers_or_the_marker() {
        let json = serde_json::to_string(&[GroupCount::Exact(12), GroupCount::Suppressed]).unwrap();
        assert_eq!(json, r#"[12,"<10"]"#);
        let back: Vec<GroupCount> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, vec![GroupCount::Exact(12), GroupCount::Suppressed]);
        assert!(serde_json::from_str::<GroupCount>(r#""<5""#).is_err());
    }
}
