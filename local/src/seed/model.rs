//! The random building blocks of the simulation: weighted draws, stable hashes, discs on the
//! map, and the municipalities, categories and residents as the simulation sees them.

use feedback_core::ids::{AuthorityId, CategoryId, MunicipalityId};
use rand::Rng;

/// A resident: a municipality (index into the model's list) and a number in its pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Citizen {
    pub(super) muni: u16,
    pub(super) number: u32,
}

/// Draws an index with probability proportional to its weight.
pub(super) struct Weighted {
    cumulative: Vec<f64>,
}

impl Weighted {
    pub(super) fn new(weights: impl IntoIterator<Item = f64>) -> Weighted {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w.max(0.0);
                total
            })
            .collect();
        Weighted { cumulative }
    }

    pub(super) fn sample(&self, rng: &mut impl Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        self.cumulative.partition_point(|c| *c <= x).min(self.cumulative.len().saturating_sub(1))
    }
}

pub(super) fn exponential(rng: &mut impl Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.random::<f64>()).ln()
}

pub(super) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(super) fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Area {
    pub(super) lat: f64,
    pub(super) lon: f64,
    pub(super) radius_km: f64,
}

impl Area {
    /// A uniform point in the disc.
    pub(super) fn sample(&self, rng: &mut impl Rng) -> (f64, f64) {
        let r = self.radius_km * rng.random::<f64>().sqrt();
        let a = rng.random::<f64>() * std::f64::consts::TAU;
        let lat = self.lat + r * a.cos() / 111.2;
        let lon = self.lon + r * a.sin() / (111.2 * self.lat.to_radians().cos());
        ((lat * 1e6).round() / 1e6, (lon * 1e6).round() / 1e6)
    }
}

pub(super) struct Muni {
    pub(super) id: MunicipalityId,
    pub(super) name: String,
    pub(super) weight: f64,
    pub(super) center: Option<Area>,
    /// The settlement in addresses: "Тюмень", "с. Абатское".
    pub(super) settlement: String,
    /// Where, in texts: "в Тюмени", "в селе Абатском".
    pub(super) locative: String,
    /// The municipality's own administration, when the region has one.
    pub(super) administration: Option<AuthorityId>,
    /// Residents who file messages.
    pub(super) pool: u32,
    /// Residents who may vote (at least the filing ones).
    pub(super) voters: u32,
    pub(super) big_city: bool,
}

pub(super) struct Cat {
    pub(super) id: CategoryId,
    pub(super) group: Option<CategoryId>,
    pub(super) name: String,
    pub(super) weight: f64,
    /// Seasonal factors, January to December.
    pub(super) season: [f64; 12],
    /// The share of messages with a location.
    pub(super) located: f64,
}

impl Cat {
    /// The category's weight in a month (0 to 11).
    pub(super) fn weight_in(&self, month0: usize) -> f64 {
        self.weight * self.season.get(month0.min(11)).copied().unwrap_or(1.0)
    }
}
