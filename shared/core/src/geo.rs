//! Geohash cells for finding open messages near a point without scanning.

const BASE32: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

/// The precision of the cells messages are indexed under: about 1.2 km × 0.6 km, so a 3 × 3
/// block of cells covers every radius up to [`MAX_RADIUS_M`].
pub const PRECISION: usize = 6;
/// The largest duplicate radius the cell index answers exactly.
pub const MAX_RADIUS_M: u32 = 600;

/// The geohash of a point at `precision` characters.
pub fn encode(lat: f64, lon: f64, precision: usize) -> String {
    let (mut lat_lo, mut lat_hi, mut lon_lo, mut lon_hi) = (-90.0, 90.0, -180.0, 180.0);
    let mut out = String::with_capacity(precision);
    let (mut bits, mut ch, mut even) = (0, 0usize, true);
    while out.len() < precision {
        if even {
            let mid = (lon_lo + lon_hi) / 2.0;
            if lon >= mid {
                ch = (ch << 1) | 1;
                lon_lo = mid;
            } else {
                ch <<= 1;
                lon_hi = mid;
            }
        } else {
            let mid = (lat_lo + lat_hi) / 2.0;
            if lat >= mid {
                ch = (ch << 1) | 1;
                lat_lo = mid;
            } else {
                ch <<= 1;
                lat_hi = mid;
            }
        }
        even = !even;
        bits += 1;
        if bits == 5 {
            out.extend(BASE32.get(ch).map(|&b| b as char));
            bits = 0;
            ch = 0;
        }
    }
    out
}

/// The cell of a point and its eight neighbours.
pub fn cell_and_neighbours(lat: f64, lon: f64) -> Vec<String> {
    // Cell size at the index precision, in degrees.
    let lat_step = 180.0 / f64::from(1u32 << 15);
    let lon_step = 360.0 / f64::from(1u32 << 15);
    let mut cells = Vec::with_capacity(9);
    for dlat in [-1.0, 0.0, 1.0] {
        for dlon in [-1.0, 0.0, 1.0] {
            let la = (lat + dlat * lat_step).clamp(-89.999_999, 89.999_999);
            let mut lo = lon + dlon * lon_step;
            if lo >= 180.0 {
                lo -= 360.0;
            } else if lo < -180.0 {
                lo += 360.0;
            }
            let c = encode(la, lo, PRECISION);
            if !cells.contains(&c) {
                cells.push(c);
            }
        }
    }
    cells
}

/// The precisions the public map's cell counters are kept at: from about 1250 km (2) to about
/// 150 m (7). A message counts once at every one of them.
pub const CLUSTER_PRECISIONS: std::ops::RangeInclusive<usize> = 2..=7;

/// The finest precision of the public map's counters; a message's cell at this precision is
/// recorded in its history entries' facts, and the coarser cells are its prefixes.
pub const CELL_PRECISION: usize = 7;

/// The precisions the staff heat map's cell counters are kept at: from about 1250 km (2) to
/// about 1.2 km (6). Every located message counts once at every one of them.
pub const HEAT_PRECISIONS: std::ops::RangeInclusive<usize> = 2..=6;

/// The finest precision of the heat map's counters, recorded in the history entries' facts.
pub const HEAT_CELL_PRECISION: usize = 6;

/// The most map zoom levels (as web maps number them) the public map accepts.
pub const MAX_ZOOM: u8 = 18;

/// The cell precision that clusters a map at `zoom`: cells of roughly 30 to 130 pixels.
pub fn precision_for_zoom(zoom: u8) -> usize {
    match zoom {
        0..=4 => 2,
        5..=7 => 3,
        8..=9 => 4,
        10..=12 => 5,
        13..=14 => 6,
        _ => 7,
    }
}

/// The size of a cell at `precision`, in degrees of latitude and longitude.
pub fn cell_size(precision: usize) -> (f64, f64) {
    let bits = 5 * precision as i32;
    let lon_bits = (bits + 1) / 2;
    let lat_bits = bits / 2;
    (180.0 / 2f64.powi(lat_bits), 360.0 / 2f64.powi(lon_bits))
}

/// The bounds of a cell: `(min_lat, min_lon, max_lat, max_lon)`; `None` for a character outside
/// the geohash alphabet.
pub fn cell_bounds(cell: &str) -> Option<(f64, f64, f64, f64)> {
    let (mut lat_lo, mut lat_hi, mut lon_lo, mut lon_hi) = (-90.0, 90.0, -180.0, 180.0);
    let mut even = true;
    for c in cell.bytes() {
        let v = BASE32.iter().position(|&b| b == c)?;
        for shift in (0..5).rev() {
            let bit = (v >> shift) & 1 == 1;
            if even {
                let mid = (lon_lo + lon_hi) / 2.0;
                if bit {
                    lon_lo = mid;
                } else {
                    lon_hi = mid;
                }
            } else {
                let mid = (lat_lo + lat_hi) / 2.0;
                if bit {
                    lat_lo = mid;
                } else {
                    lat_hi = mid;
                }
            }
            even = !even;
        }
    }
    Some((lat_lo, lon_lo, lat_hi, lon_hi))
}

/// A box on the map: south-west and north-east corners, in degrees. It never crosses the
/// antimeridian (`min_lon <= max_lon`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl BBox {
    /// `minLon,minLat,maxLon,maxLat`, as map clients send it.
    pub fn parse(raw: &str) -> Result<BBox, &'static str> {
        const WHAT: &str = "четыре числа через запятую: minLon,minLat,maxLon,maxLat";
        let parts: Vec<f64> =
            raw.split(',').map(|p| p.trim().parse::<f64>().map_err(|_| WHAT)).collect::<Result<_, _>>()?;
        let [min_lon, min_lat, max_lon, max_lat] = parts[..] else { return Err(WHAT) };
        if parts.iter().any(|v| !v.is_finite()) {
            return Err(WHAT);
        }
        if !(-180.0..=180.0).contains(&min_lon) || !(-180.0..=180.0).contains(&max_lon) {
            return Err("долгота от -180 до 180");
        }
        if !(-90.0..=90.0).contains(&min_lat) || !(-90.0..=90.0).contains(&max_lat) {
            return Err("широта от -90 до 90");
        }
        if min_lon > max_lon || min_lat > max_lat {
            return Err("минимум не больше максимума");
        }
        Ok(BBox { min_lon, min_lat, max_lon, max_lat })
    }

    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        (self.min_lat..=self.max_lat).contains(&lat) && (self.min_lon..=self.max_lon).contains(&lon)
    }

    /// Whether the cell shares any point with the box.
    pub fn meets_cell(&self, cell: &str) -> bool {
        cell_bounds(cell).is_some_and(|(lat_lo, lon_lo, lat_hi, lon_hi)| {
            lat_lo <= self.max_lat && lat_hi >= self.min_lat && lon_lo <= self.max_lon && lon_hi >= self.min_lon
        })
    }

    /// How many cells of `precision` the box touches.
    pub fn cell_count(&self, precision: usize) -> u64 {
        let ((lat_rows, lon_cols), _) = self.grid(precision);
        lat_rows.count() as u64 * lon_cols.count() as u64
    }

    /// The cells of `precision` the box touches, at most `max`; `None` when there are more.
    pub fn cover(&self, precision: usize, max: u64) -> Option<Vec<String>> {
        if self.cell_count(precision) > max {
            return None;
        }
        let ((rows, cols), (h, w)) = self.grid(precision);
        let mut out = Vec::new();
        for r in rows {
            for c in cols.clone() {
                let lat = -90.0 + (r as f64 + 0.5) * h;
                let lon = -180.0 + (c as f64 + 0.5) * w;
                out.push(encode(lat, lon, precision));
            }
        }
        Some(out)
    }

    /// The row and column index ranges of the cells the box touches, and the cell size.
    #[allow(clippy::type_complexity)]
    fn grid(&self, precision: usize) -> ((std::ops::RangeInclusive<i64>, std::ops::RangeInclusive<i64>), (f64, f64)) {
        let (h, w) = cell_size(precision);
        let max_row = (180.0 / h) as i64 - 1;
        let max_col = (360.0 / w) as i64 - 1;
        let row = |lat: f64| (((lat + 90.0) / h).floor() as i64).clamp(0, max_row);
        let col = |lon: f64| (((lon + 180.0) / w).floor() as i64).clamp(0, max_col);
        ((row(self.min_lat)..=row(self.max_lat), col(self.min_lon)..=col(self.max_lon)), (h, w))
    }
}

/// The centre of a cell, `(lat, lon)`.
pub fn cell_centre(cell: &str) -> Option<(f64, f64)> {
    cell_bounds(cell).map(|(a, b, c, d)| ((a + c) / 2.0, (b + d) / 2.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_points_encode_to_their_geohash() {
        assert_eq!(encode(57.64911, 10.40744, 11), "u4pruydqqvj");
        assert_eq!(encode(57.1522, 65.5412, 6).len(), 6);
    }

    #[test]
    fn neighbours_cover_every_point_within_the_max_radius() {
        let (lat, lon) = (57.1522, 65.5412);
        let cells = cell_and_neighbours(lat, lon);
        assert_eq!(cells.len(), 9);
        // Points 600 m away in eight directions fall in one of the nine cells.
        let dlat = 600.0 / 111_320.0;
        let dlon = 600.0 / (111_320.0 * lat.to_radians().cos());
        for (a, b) in
            [(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0), (0.7, 0.7), (-0.7, 0.7), (0.7, -0.7), (-0.7, -0.7)]
        {
            let c = encode(lat + a * dlat, lon + b * dlon, PRECISION);
            assert!(cells.contains(&c), "{c} missing for ({a}, {b})");
        }
    }

    #[test]
    fn a_cell_decodes_to_the_box_its_points_encode_into() {
        let cell = encode(57.1522, 65.5412, 7);
        let (lat_lo, lon_lo, lat_hi, lon_hi) = cell_bounds(&cell).unwrap();
        assert!(lat_lo <= 57.1522 && 57.1522 < lat_hi && lon_lo <= 65.5412 && 65.5412 < lon_hi);
        let (h, w) = cell_size(7);
        assert!(((lat_hi - lat_lo) - h).abs() < 1e-12 && ((lon_hi - lon_lo) - w).abs() < 1e-12);
        let (lat, lon) = cell_centre(&cell).unwrap();
        assert_eq!(encode(lat, lon, 7), cell);
        assert_eq!(cell_bounds("a"), None, "a is not in the alphabet");
    }

    #[test]
    fn a_box_is_covered_by_exactly_the_cells_it_touches() {
        let b = BBox::parse("65.40,57.10,65.70,57.20").unwrap();
        let cells = b.cover(5, 1000).unwrap();
        assert_eq!(cells.len() as u64, b.cell_count(5));
        assert!(cells.iter().all(|c| b.meets_cell(c)));
        for (lat, lon) in [(57.10, 65.40), (57.2, 65.7), (57.15, 65.55)] {
            assert!(cells.contains(&encode(lat, lon, 5)), "{lat},{lon}");
        }
        assert!(b.cover(7, 10).is_none());
        assert_eq!(BBox::parse("-180,-90,180,90").unwrap().cell_count(1), 32);
    }

    #[test]
    fn boxes_are_refused_unless_well_formed() {
        for bad in [
            "",
            "1,2,3",
            "1,2,3,4,5",
            "a,b,c,d",
            "10,50,5,60",
            "10,60,20,50",
            "-181,0,0,1",
            "0,-91,1,1",
            "NaN,0,1,1",
            "inf,0,1,1",
        ] {
            assert!(BBox::parse(bad).is_err(), "{bad}");
        }
        assert!(BBox::parse(" 65.4, 57.1 ,65.7,57.2").is_ok());
    }

    #[test]
    fn zoom_levels_map_to_coarser_cells_further_out() {
        let p: Vec<usize> = (0..=MAX_ZOOM).map(precision_for_zoom).collect();
        assert!(p.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!((p[0], p[18]), (*CLUSTER_PRECISIONS.start(), *CLUSTER_PRECISIONS.end()));
    }
}
