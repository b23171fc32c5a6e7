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
}
