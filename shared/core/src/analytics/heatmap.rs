//! The staff heat map: every located message of the region, public or not, counted by map cell,
//! and those of them overdue now. It reads the heat map's cell counters (`counters::deltas`,
//! series `H|…`) that the transitions keep in their own transaction, so a request costs the
//! cells of the box, never the messages, and the counts are exact.

use super::cells::{check_category, cover_ranges, in_category, MAX_CELLS};
use crate::actor::{Actor, Role};
use crate::counters::{heat_series, MESSAGES_FIELD, OVERDUE_FIELD};
use crate::error::{FieldErrors, ServiceError};
use crate::geo::{self, BBox};
use crate::ids::{CategoryId, MunicipalityId};
use crate::policy::is_center_official;
use crate::region::RegionData;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The query of the heat map: a box, a zoom, all messages or only the overdue ones, a category.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapQuery {
    pub bbox: BBox,
    pub zoom: u8,
    pub overdue: bool,
    pub category: Option<CategoryId>,
}

impl HeatmapQuery {
    /// `bbox` and `zoom` (required), `overdue` (`true` or `false`, by default `false`),
    /// `category_id`.
    pub fn parse(get: &dyn Fn(&str) -> Option<String>) -> Result<HeatmapQuery, ServiceError> {
        let mut errors = FieldErrors::new();
        let bbox = match get("bbox") {
            Some(b) => errors.check("bbox", BBox::parse(&b)),
            None => errors.check("bbox", Err::<BBox, _>("обязательный параметр")),
        };
        let zoom = match get("zoom") {
            Some(z) => errors
                .check("zoom", z.trim().parse::<u8>().ok().filter(|z| *z <= geo::MAX_ZOOM).ok_or("целое от 0 до 18")),
            None => errors.check("zoom", Err::<u8, _>("обязательный параметр")),
        };
        let overdue = match get("overdue").as_deref().map(str::trim) {
            None | Some("false") => Some(false),
            Some("true") => Some(true),
            Some(_) => errors.check("overdue", Err::<bool, _>("true или false")),
        };
        let category = get("category_id")
            .map(|c| errors.check("category_id", CategoryId::parse(c.trim()).map_err(|_| "неизвестная категория")))
            .and_then(|c| c);
        let (bbox, zoom, overdue) = errors.finish_with(|| Some((bbox?, zoom?, overdue?)))?;
        Ok(HeatmapQuery { bbox, zoom, overdue, category })
    }
}

/// The messages counted in one cell of the heat map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HeatCell {
    /// The centre of the cell.
    pub lat: f64,
    pub lon: f64,
    pub count: u64,
    /// The municipality most of the cell's counted messages belong to.
    pub municipality_id: MunicipalityId,
}

/// The heat map of a box at a zoom level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Heatmap {
    /// The geohash precision of the cells (2..6): the zoom's, or coarser for a box too large.
    pub precision: u8,
    /// The largest count of a cell in the answer (0 when there is none), for the colour scale.
    pub max: u64,
    /// Cells with at least one counted message, ordered by cell.
    pub cells: Vec<HeatCell>,
}

/// Who may read the heat map: admins and analysts of the region, officials of its ЦУР. It
/// shows private messages' places, so no other official and no resident.
pub fn may_read(actor: &Actor, region: &RegionData) -> Result<(), ServiceError> {
    let staff = actor.has(Role::Admin) || actor.has(Role::Analyst) || actor.has(Role::Official);
    if !staff {
        return Err(ServiceError::Forbidden("карта обращений доступна администраторам, аналитикам и сотрудникам ЦУР"));
    }
    if !actor.in_region(&region.region.code) {
        return Err(ServiceError::WrongRegion);
    }
    if actor.has(Role::Admin) || actor.has(Role::Analyst) || is_center_official(actor, region) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("карта обращений доступна администраторам, аналитикам и сотрудникам ЦУР"))
    }
}

/// The precision a heat map of `bbox` at `zoom` is counted at: the zoom's (at most 6), or
/// coarser so that the box touches at most [`MAX_CELLS`] cells.
pub fn precision(bbox: &BBox, zoom: u8) -> usize {
    let (min, max) = (*geo::HEAT_PRECISIONS.start(), *geo::HEAT_PRECISIONS.end());
    let mut p = geo::precision_for_zoom(zoom).clamp(min, max);
    while p > min && bbox.cell_count(p) > MAX_CELLS {
        p -= 1;
    }
    p
}

/// The counter rows of the box as the heat map's cells (`rows` read by [`ranges`]).
pub fn cells(region: &RegionData, q: &HeatmapQuery, p: usize, rows: &[super::CounterRow]) -> Heatmap {
    let field = if q.overdue { OVERDUE_FIELD } else { MESSAGES_FIELD };
    let mut counts: BTreeMap<&str, BTreeMap<&str, i64>> = BTreeMap::new();
    for row in rows {
        let mut parts = row.key.slot.splitn(3, '|');
        let (Some(cell), Some(category), Some(municipality)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if cell.len() != p || !q.bbox.meets_cell(cell) {
            continue;
        }
        if q.category.as_ref().is_some_and(|c| !in_category(region, category, c)) {
            continue;
        }
        let n = row.fields.get(field).copied().unwrap_or(0);
        *counts.entry(cell).or_default().entry(municipality).or_default() += n;
    }
    let cells: Vec<HeatCell> = counts
        .into_iter()
        .filter_map(|(cell, by_municipality)| {
            let total: i64 = by_municipality.values().sum();
            let (municipality, _) = by_municipality.iter().max_by_key(|(id, n)| (**n, std::cmp::Reverse(**id)))?;
            let municipality_id = MunicipalityId::parse(municipality).ok()?;
            let (lat, lon) = geo::cell_centre(cell)?;
            (total > 0).then_some(HeatCell { lat, lon, count: total as u64, municipality_id })
        })
        .collect();
    let max = cells.iter().map(|c| c.count).max().unwrap_or(0);
    Heatmap { precision: p as u8, max, cells }
}

/// The slot ranges of the heat map's counters that a box at precision `p` touches.
pub fn ranges(bbox: &BBox, p: usize) -> Vec<super::SlotRange> {
    cover_ranges(bbox, p, heat_series)
}

/// Refuses a category the region does not have.
pub fn check(region: &RegionData, q: &HeatmapQuery) -> Result<(), ServiceError> {
    check_category(region, q.category.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    fn fields(e: ServiceError) -> Vec<String> {
        match e {
            ServiceError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn heatmap_queries_need_a_box_and_a_zoom_and_read_overdue_as_a_boolean() {
        let q = HeatmapQuery::parse(&params(&[("bbox", "65,57,66,58"), ("zoom", "12")])).unwrap();
        assert_eq!((q.zoom, q.overdue, q.category), (12, false, None));
        let q = HeatmapQuery::parse(&params(&[("bbox", "65,57,66,58"), ("zoom", "0"), ("overdue", "true")])).unwrap();
        assert!(q.overdue);
        assert_eq!(fields(HeatmapQuery::parse(&params(&[])).unwrap_err()), ["bbox", "zoom"]);
        let bad = HeatmapQuery::parse(&params(&[
            ("bbox", "66,57,65,58"),
            ("zoom", "19"),
            ("overdue", "да"),
            ("category_id", "Не категория"),
        ]))
        .unwrap_err();
        assert_eq!(fields(bad), ["bbox", "zoom", "overdue", "category_id"]);
    }

    #[test]
    fn a_large_box_is_counted_coarser_and_never_finer_than_six() {
        let street = BBox::parse("65.50,57.14,65.56,57.17").unwrap();
        assert_eq!(precision(&street, 18), 6);
        let city = BBox::parse("65.40,57.10,65.70,57.20").unwrap();
        assert!(city.cell_count(6) > MAX_CELLS);
        assert_eq!(precision(&city, 18), 5);
        let world = BBox::parse("-180,-90,180,90").unwrap();
        assert_eq!(precision(&world, 18), 2);
        assert_eq!(precision(&city, 0), 2);
    }
}
