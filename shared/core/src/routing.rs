//! Routing: which authority answers a message.

use crate::ids::{AuthorityId, CategoryId, MunicipalityId};
use crate::region::{RegionData, RoutingRule};

/// The outcome of routing one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingDecision {
    pub authority_id: AuthorityId,
    /// The rule that matched; `None` when the message went to the ЦУР for manual triage.
    pub rule: Option<RoutingRule>,
}

/// Picks the most specific rule for a message's category and municipality.
///
/// Specificity, most specific first: (leaf category, municipality), (leaf category, any),
/// (group, municipality), (group, any). With no rule the message goes to the region's
/// coordination centre (ЦУР).
pub fn decide(region: &RegionData, category: &CategoryId, municipality: &MunicipalityId) -> RoutingDecision {
    let group = region.category(category).and_then(|c| c.parent_id.as_ref());
    let mut best: Option<(u8, &RoutingRule)> = None;
    for rule in &region.routing_rules {
        let cat_score = if &rule.category_id == category {
            2
        } else if Some(&rule.category_id) == group {
            0
        } else {
            continue;
        };
        let muni_score = match &rule.municipality_id {
            Some(m) if m == municipality => 1,
            Some(_) => continue,
            None => 0,
        };
        let score = cat_score + muni_score;
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, rule));
        }
    }
    match best {
        Some((_, rule)) => RoutingDecision { authority_id: rule.authority_id.clone(), rule: Some(rule.clone()) },
        None => RoutingDecision { authority_id: region.region.center_authority_id.clone(), rule: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_region;

    fn route(cat: &str, muni: &str) -> String {
        let r = sample_region();
        decide(&r, &CategoryId::parse(cat).unwrap(), &MunicipalityId::parse(muni).unwrap()).authority_id.to_string()
    }

    #[test]
    fn a_leaf_rule_for_the_municipality_beats_everything() {
        assert_eq!(route("dorogi-yamy", "tyumen"), "tyumen-upravdor");
    }

    #[test]
    fn a_leaf_rule_for_any_municipality_beats_a_group_rule_for_the_municipality() {
        assert_eq!(route("dorogi-regionalnye", "tyumen"), "ddit");
    }

    #[test]
    fn a_group_rule_for_the_municipality_beats_a_group_rule_for_any() {
        assert_eq!(route("dorogi-yamy", "ishim"), "adm-ishim");
        assert_eq!(route("dorogi-yamy", "tobolsk"), "ddit");
    }

    #[test]
    fn a_rule_for_another_municipality_never_applies() {
        assert_eq!(route("zhkh-otoplenie", "ishim"), "gzhi");
    }

    #[test]
    fn with_no_rule_the_message_goes_to_the_coordination_centre() {
        let r = sample_region();
        let d = decide(&r, &CategoryId::parse("prochee").unwrap(), &MunicipalityId::parse("tyumen").unwrap());
        assert_eq!(d.authority_id.as_str(), "tsur-72");
        assert!(d.rule.is_none());
    }
}
