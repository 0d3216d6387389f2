//! Simplex maps: logits to probability vectors, with a temperature.
//!
//! LVM-RS (Delattre et al., ICLR 2024) smooths `h(x) = map(t·f(x))` instead of the hard vote
//! `argmax f(x)`. A low temperature t gives a map with a small Lipschitz constant, hence a small
//! variance of h under noise (Gaussian Poincaré: `Var h(x+ε) ≤ σ²·E‖∇h‖²`) but also a small
//! margin; a high one tends to hard votes. The maps:
//!
//! - softmax(t·z): ½-Lipschitz in every ℓp norm, so `t/2`-Lipschitz;
//! - sparsemax(t·z) (Martins & Astudillo, ICML 2016): the Euclidean projection of t·z onto the
//!   simplex, 1-Lipschitz, so `t`-Lipschitz; it produces exact zeros;
//! - argmax: the one-hot vote, the limit t → ∞ of both.

use serde::{Deserialize, Serialize};

/// Which map sends scaled logits to the simplex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SimplexMap {
    /// softmax(t·z).
    Softmax,
    /// sparsemax(t·z), the Euclidean projection onto the simplex.
    Sparsemax,
    /// The one-hot argmax (hard votes; the temperature is ignored).
    Argmax,
}

/// A map and its temperature t (the logits are multiplied by t).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MapConfig {
    /// The map.
    pub map: SimplexMap,
    /// The temperature t > 0 multiplying the logits.
    pub temperature: f64,
}

impl MapConfig {
    /// softmax(t·z).
    pub fn softmax(temperature: f64) -> Self {
        Self {
            map: SimplexMap::Softmax,
            temperature,
        }
    }

    /// sparsemax(t·z).
    pub fn sparsemax(temperature: f64) -> Self {
        Self {
            map: SimplexMap::Sparsemax,
            temperature,
        }
    }

    /// Hard votes.
    pub fn argmax() -> Self {
        Self {
            map: SimplexMap::Argmax,
            temperature: f64::INFINITY,
        }
    }

    /// Applies the map to logits `z`, writing the probability vector into `out`; `scratch`
    /// (same length) is used by sparsemax's sort. Non-finite logits are the caller's to reject.
    ///
    /// ```
    /// use lisse_smoothing::lvm::MapConfig;
    /// let (mut out, mut scratch) = ([0.0; 3], [0.0; 3]);
    /// MapConfig::sparsemax(1.0).apply(&[1.0, 0.2, -3.0], &mut out, &mut scratch);
    /// assert!((out[0] - 0.9).abs() < 1e-15 && (out[1] - 0.1).abs() < 1e-15 && out[2] == 0.0);
    /// MapConfig::softmax(1e7).apply(&[1.0, 0.2, -3.0], &mut out, &mut scratch);
    /// assert_eq!(out, [1.0, 0.0, 0.0]); // the argmax limit
    /// ```
    pub fn apply(&self, z: &[f64], out: &mut [f64], scratch: &mut [f64]) {
        match self.map {
            SimplexMap::Softmax => softmax(z, self.temperature, out),
            SimplexMap::Sparsemax => sparsemax(z, self.temperature, out, scratch),
            SimplexMap::Argmax => {
                out.fill(0.0);
                let mut best = 0;
                for (c, &v) in z.iter().enumerate() {
                    if v > z[best] {
                        best = c;
                    }
                }
                if let Some(o) = out.get_mut(best) {
                    *o = 1.0;
                }
            }
        }
    }

    /// A Lipschitz constant of the map as a function of the logits (ℓ₂): t/2 for softmax, t for
    /// sparsemax, ∞ for argmax.
    pub fn lipschitz(&self) -> f64 {
        match self.map {
            SimplexMap::Softmax => 0.5 * self.temperature,
            SimplexMap::Sparsemax => self.temperature,
            SimplexMap::Argmax => f64::INFINITY,
        }
    }

    /// The configuration grid of the public LVM-RS code: t ∈ {1} ∪ linspace(0.1, 50, 100) ∪
    /// {1e7} for both softmax and sparsemax (204 maps), plus hard votes: 205 configurations.
    pub fn paper_grid() -> Vec<Self> {
        let mut temps = vec![1.0];
        temps.extend((0..100).map(|i| 0.1 + (50.0 - 0.1) * f64::from(i) / 99.0));
        temps.push(1e7);
        let mut grid: Vec<Self> = temps.iter().map(|&t| Self::softmax(t)).collect();
        grid.extend(temps.iter().map(|&t| Self::sparsemax(t)));
        grid.push(Self::argmax());
        grid
    }

    /// A small default grid: t ∈ {0.5, 1, 2, 4, 8, 16} for both maps, plus hard votes
    /// (13 configurations: a union bound over them costs ln 13 ≈ 2.6 in the exponent).
    pub fn default_grid() -> Vec<Self> {
        let temps = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0];
        let mut grid: Vec<Self> = temps.iter().map(|&t| Self::softmax(t)).collect();
        grid.extend(temps.iter().map(|&t| Self::sparsemax(t)));
        grid.push(Self::argmax());
        grid
    }
}

/// softmax(t·z), shifted by the maximum for stability.
fn softmax(z: &[f64], t: f64, out: &mut [f64]) {
    let m = z.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let mut s = 0.0;
    for (o, &v) in out.iter_mut().zip(z) {
        *o = (t * (v - m)).exp();
        s += *o;
    }
    for o in out.iter_mut() {
        *o /= s;
    }
}

/// sparsemax(t·z): sort descending; k* = max{k : 1 + k·u_(k) > Σ_{j≤k} u_(j)};
/// τ = (Σ_{j≤k*} u_(j) − 1)/k*; out = max(u − τ, 0), with u = t·z (Martins & Astudillo, Alg. 1).
fn sparsemax(z: &[f64], t: f64, out: &mut [f64], scratch: &mut [f64]) {
    let k = z.len();
    let u = &mut scratch[..k];
    for (s, &v) in u.iter_mut().zip(z) {
        *s = t * v;
    }
    u.sort_unstable_by(|a, b| b.total_cmp(a));
    let mut cum = 0.0;
    let mut tau = 0.0;
    for (i, &v) in u.iter().enumerate() {
        cum += v;
        let kf = (i + 1) as f64;
        if 1.0 + kf * v > cum {
            tau = (cum - 1.0) / kf;
        } else {
            break;
        }
    }
    for (o, &v) in out.iter_mut().zip(z) {
        *o = (t * v - tau).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparsemax_is_the_projection_onto_the_simplex() {
        // Check the KKT conditions of min ‖p − u‖² over the simplex: p = max(u − τ, 0), Σp = 1.
        let z = [0.3, -1.2, 0.25, 2.0, 1.9];
        let (mut out, mut scratch) = ([0.0; 5], [0.0; 5]);
        for t in [0.1, 1.0, 3.0] {
            MapConfig::sparsemax(t).apply(&z, &mut out, &mut scratch);
            let s: f64 = out.iter().sum();
            assert!((s - 1.0).abs() < 1e-14);
            // The same τ for all positive coordinates.
            let taus: Vec<f64> = out
                .iter()
                .zip(&z)
                .filter(|(p, _)| **p > 0.0)
                .map(|(p, v)| t * v - p)
                .collect();
            assert!(taus.windows(2).all(|w| (w[0] - w[1]).abs() < 1e-14));
            for (p, v) in out.iter().zip(&z) {
                if *p == 0.0 {
                    assert!(t * v <= taus[0] + 1e-14);
                }
            }
        }
        MapConfig::softmax(1.0).apply(&z, &mut out, &mut scratch);
        assert!((out.iter().sum::<f64>() - 1.0).abs() < 1e-14);
        assert_eq!(MapConfig::paper_grid().len(), 205);
    }
}
