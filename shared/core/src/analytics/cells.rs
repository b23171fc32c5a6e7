//! Reading cell counters by map box, shared by the public clusters (`crate::public`) and the
//! staff heat map ([`super::heatmap`]): the bound on cells per request, the slot ranges that
//! cover a box, and the category filter.

use super::SlotRange;
use crate::error::ServiceError;
use crate::geo::BBox;
use crate::ids::CategoryId;
use crate::region::RegionData;
use std::collections::BTreeMap;

/// The most cells one cluster request reads; a box that touches more cells at its zoom's
/// precision is clustered one precision coarser, and so on.
pub const MAX_CELLS: u64 = 256;

/// The slot ranges that read the cells of a box at precision `p` from the series `series` names
/// (`counters::cell_series`, `counters::heat_series`): one range per parent cell (one level up),
/// from the first to the last of its children the box touches. At precision 2 a box touches at
/// most 32 × 32 cells: the whole world.
pub(crate) fn cover_ranges(bbox: &BBox, p: usize, series: fn(usize, &str) -> String) -> Vec<SlotRange> {
    let cells = bbox.cover(p, MAX_CELLS.max(1024)).unwrap_or_default();
    let mut spans: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for cell in &cells {
        let parent = cell.get(..p - 1).unwrap_or(cell);
        let span = spans.entry(parent).or_insert((cell, cell));
        span.0 = span.0.min(cell);
        span.1 = span.1.max(cell);
    }
    spans
        .iter()
        .map(|(parent, (first, last))| SlotRange {
            series: series(p, parent),
            slot_from: (*first).to_owned(),
            slot_to: format!("{last}~"),
        })
        .collect()
}

pub(crate) fn check_category(region: &RegionData, category: Option<&CategoryId>) -> Result<(), ServiceError> {
    match category {
        Some(c) if region.category(c).is_none() => Err(ServiceError::field("category_id", "неизвестная категория")),
        _ => Ok(()),
    }
}

/// Whether `category` is `wanted` or one of its subcategories.
pub(crate) fn in_category(region: &RegionData, category: &str, wanted: &CategoryId) -> bool {
    category == wanted.as_str()
        || region
            .categories
            .iter()
            .any(|c| c.id.as_str() == category && c.parent_id.as_ref().is_some_and(|p| p == wanted))
}
