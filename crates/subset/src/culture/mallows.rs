//! The Mallows model, sampled by repeated insertion.

use std::fmt;

use lisse_core::{Error, Result};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::{Culture, iid};
use crate::Profile;

/// How the Mallows dispersion is given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Dispersion {
    /// The dispersion φ ∈ [0, 1] itself: P(σ) ∝ φ^KT(σ, center).
    Phi(f64),
    /// The normalized dispersion normφ ∈ [0, 1] of Boehmer et al. (2021): φ is chosen per m so
    /// that E(KT) = normφ · m(m−1)/4, half the maximal distance at normφ = 1 (φ = 1, uniform).
    Normalized(f64),
}

/// The Mallows model (Mallows 1957): P(σ) = φ^KT(σ, σ₀) / Z with Z = Π_{j=1..m} (1−φ^j)/(1−φ),
/// KT the Kendall-tau distance and σ₀ the central order (identity unless set).
///
/// Sampled with the repeated insertion model (Doignon, Pekeč, Regenwetter 2004): starting from
/// the list (0), item j = 1, …, m−1 of the center is inserted at index i ∈ {0, …, j} with
/// probability ∝ φ^(j−i); the displacement j−i is a truncated geometric variable drawn by
/// inversion in O(1), so a ranking costs O(m²) for the list insertions and O(m) draws.
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_subset::culture::{Culture, Mallows};
/// let rng = &mut RngStreams::new(3).stream(0);
/// // φ = 0: every ranking is the center.
/// let p = Mallows::new(0.0)?.sample(4, 3, rng)?;
/// assert!(p.orders().all(|o| o == [0, 1, 2, 3]));
/// let q = Mallows::normalized(0.5)?.sample(10, 100, rng)?;
/// assert_eq!(q.n_rankings(), 100);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mallows {
    dispersion: Dispersion,
    center: Option<Vec<u32>>,
}

impl Mallows {
    /// Mallows with dispersion φ ∈ [0, 1].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for φ outside [0, 1].
    pub fn new(phi: f64) -> Result<Self> {
        lisse_core::check_range("phi", phi, 0.0, 1.0)?;
        Ok(Self {
            dispersion: Dispersion::Phi(phi),
            center: None,
        })
    }

    /// Mallows with normalized dispersion normφ ∈ [0, 1] (φ chosen per m so that the expected Kendall-tau distance is normφ · m(m−1)/4).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for normφ outside [0, 1].
    pub fn normalized(norm_phi: f64) -> Result<Self> {
        lisse_core::check_range("norm_phi", norm_phi, 0.0, 1.0)?;
        Ok(Self {
            dispersion: Dispersion::Normalized(norm_phi),
            center: None,
        })
    }

    /// Sets the central order (default: the identity 0, 1, …, m−1).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `center` is not a permutation.
    pub fn with_center(mut self, center: Vec<u32>) -> Result<Self> {
        Profile::new(center.len(), vec![center.clone()])?;
        self.center = Some(center);
        Ok(self)
    }

    /// The dispersion as given.
    pub fn dispersion(&self) -> Dispersion {
        self.dispersion
    }

    /// The φ used for m items.
    pub fn phi(&self, m: usize) -> f64 {
        match self.dispersion {
            Dispersion::Phi(p) => p,
            Dispersion::Normalized(r) => phi_from_normalized(m, r),
        }
    }

    /// Draws one order into `out` (length m) with dispersion `phi`, using `list` as scratch.
    fn draw<R: Rng + ?Sized>(&self, phi: f64, rng: &mut R, list: &mut Vec<u32>, out: &mut [u32]) {
        let m = out.len();
        list.clear();
        list.push(0);
        let ln_phi = phi.ln();
        for j in 1..m {
            let d = truncated_geometric(phi, ln_phi, j, rng.random::<f64>());
            list.insert(j - d, j as u32);
        }
        for (o, &l) in out.iter_mut().zip(list.iter()) {
            *o = self.center.as_ref().map_or(l, |c| c[l as usize]);
        }
    }
}

/// The displacement d ∈ {0, …, j} with P(d) ∝ φ^d, by inversion of the CDF
/// (1 − φ^(d+1)) / (1 − φ^(j+1)).
fn truncated_geometric(phi: f64, ln_phi: f64, j: usize, u: f64) -> usize {
    if phi <= 0.0 {
        return 0;
    }
    if phi >= 1.0 {
        return ((u * (j + 1) as f64) as usize).min(j);
    }
    let tail = phi.powi(j as i32 + 1);
    // Smallest d with 1 − φ^(d+1) > u (1 − φ^(j+1)).
    // (d + 1) ln φ < ln(1 − u (1 − φ^(j+1))) ⟺ d + 1 > x, so d = ⌊x⌋.
    let x = (1.0 - u * (1.0 - tail)).ln() / ln_phi;
    let d = x.floor() as i64;
    d.clamp(0, j as i64) as usize
}

impl Culture for Mallows {
    fn sample<R: Rng + ?Sized>(&self, m: usize, n: usize, rng: &mut R) -> Result<Profile> {
        if let Some(c) = &self.center
            && c.len() != m
        {
            return Err(Error::dimension("Mallows center", c.len(), m));
        }
        let phi = self.phi(m);
        let mut list = Vec::with_capacity(m);
        iid(m, n, rng, |rng, o| self.draw(phi, rng, &mut list, o))
    }
}

impl fmt::Display for Mallows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.dispersion {
            Dispersion::Phi(p) => write!(f, "Mallows (φ = {p})"),
            Dispersion::Normalized(r) => write!(f, "Mallows (normφ = {r})"),
        }
    }
}

/// E(KT(σ, σ₀)) under Mallows(φ) with m items: Σ_{j=1..m−1} E(d_j), where the insertion
/// displacement d_j ∈ {0, …, j} has P ∝ φ^d, so E(d_j) = φ/(1−φ) − (j+1)φ^(j+1)/(1−φ^(j+1)).
/// Summed, this is the closed form m φ/(1−φ) − Σ_{j=1..m} j φ^j/(1−φ^j) of Boehmer et al.
/// (2021); near φ = 1 each term is evaluated by its limit j/2.
///
/// ```
/// let e = lisse_subset::culture::expected_kendall_tau(4, 0.3);
/// assert!((e - 0.971999817).abs() < 1e-8);
/// ```
pub fn expected_kendall_tau(m: usize, phi: f64) -> f64 {
    let mut total = 0.0;
    for j in 1..m {
        total += if phi <= 0.0 {
            0.0
        } else if 1.0 - phi < 1e-6 {
            // Exact sum for φ ≈ 1 (avoids cancellation): Σ d φ^d / Σ φ^d.
            let (mut num, mut den, mut w) = (0.0, 0.0, 1.0);
            for d in 0..=j {
                num += d as f64 * w;
                den += w;
                w *= phi;
            }
            num / den
        } else {
            let t = phi.powi(j as i32 + 1);
            phi / (1.0 - phi) - (j + 1) as f64 * t / (1.0 - t)
        };
    }
    total
}

/// The φ with E(KT) = normφ · m(m−1)/4 under Mallows(φ), by bisection on (0, 1) to 1e-13
/// (E(KT) increases in φ). normφ is clamped to \[0, 1\]; m ≤ 1 returns 1.
pub fn phi_from_normalized(m: usize, norm_phi: f64) -> f64 {
    let r = norm_phi.clamp(0.0, 1.0);
    if m <= 1 || r >= 1.0 {
        return 1.0;
    }
    if r <= 0.0 {
        return 0.0;
    }
    let target = r * (m * (m - 1)) as f64 / 4.0;
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while hi - lo > 1e-13 {
        let mid = 0.5 * (lo + hi);
        if expected_kendall_tau(m, mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The Kendall-tau distance between two orders of the same items (number of discordant
/// pairs), O(m²).
///
/// # Panics
/// When the orders differ in length or an item id is out of range.
pub fn kendall_tau(a: &[u32], b: &[u32]) -> usize {
    let m = a.len();
    let mut pos_b = vec![0usize; m];
    for (p, &c) in b.iter().enumerate() {
        pos_b[c as usize] = p;
    }
    let mut d = 0;
    for i in 0..m {
        for j in i + 1..m {
            if pos_b[a[i] as usize] > pos_b[a[j] as usize] {
                d += 1;
            }
        }
    }
    d
}

/// The exact Mallows probability φ^KT(order, center) / Z(m, φ).
pub fn mallows_probability(order: &[u32], center: &[u32], phi: f64) -> f64 {
    let m = order.len();
    // Z = Π_{j=1..m} (1 + φ + … + φ^(j−1)), summed directly (stable near φ = 1).
    let z: f64 = (1..=m)
        .map(|j| (0..j).map(|d| phi.powi(d as i32)).sum::<f64>())
        .product();
    phi.powi(kendall_tau(order, center) as i32) / z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_kt_matches_brute_force_and_reference_values() {
        // Reference values (m = 4): φ = 0.3 → 0.971999817, φ = 0.7 → 2.248370820.
        assert!((expected_kendall_tau(4, 0.3) - 0.971_999_817).abs() < 1e-8);
        assert!((expected_kendall_tau(4, 0.7) - 2.248_370_820).abs() < 1e-8);
        // Brute force over all 24 orders.
        let perms = crate::solver::permutations(4);
        for phi in [0.1, 0.5, 0.9, 0.999_999_5, 1.0] {
            let id = [0, 1, 2, 3];
            let e: f64 = perms
                .iter()
                .map(|p| kendall_tau(p, &id) as f64 * mallows_probability(p, &id, phi))
                .sum();
            assert!((e - expected_kendall_tau(4, phi)).abs() < 1e-7, "φ = {phi}");
            let total: f64 = perms.iter().map(|p| mallows_probability(p, &id, phi)).sum();
            assert!((total - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn normalized_phi_inverts_expected_kendall_tau() {
        for (m, r, phi) in [
            (10, 0.2, 0.360_173),
            (10, 0.5, 0.653_450),
            (10, 0.8, 0.862_888),
            (20, 0.5, 0.783_895),
            (50, 0.8, 0.965_261),
        ] {
            let got = phi_from_normalized(m, r);
            assert!((got - phi).abs() < 1e-6, "m = {m}, normφ = {r}: {got}");
            let back = expected_kendall_tau(m, got) / ((m * (m - 1)) as f64 / 4.0);
            assert!((back - r).abs() < 1e-9);
        }
        assert!(phi_from_normalized(10, 0.0).abs() < f64::EPSILON);
        assert!((phi_from_normalized(10, 1.0) - 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn truncated_geometric_is_in_range() {
        for u in [0.0, 1e-12, 0.5, 0.999_999_999] {
            for j in [1, 5, 40] {
                let d = truncated_geometric(0.3, 0.3_f64.ln(), j, u);
                assert!(d <= j);
            }
        }
        assert_eq!(truncated_geometric(0.3, 0.3_f64.ln(), 5, 0.0), 0);
    }
}
