//! The Plackett–Luce model.

use lisse_core::{Error, Result};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::{Culture, iid};
use crate::Profile;

/// Plackett–Luce (Luce 1959; Plackett 1975): items are picked best first, each time with
/// probability proportional to its weight among the items left:
/// P(σ) = Π_i w_{σ_i} / Σ_{j ≥ i} w_{σ_j}.
///
/// Sampled in O(m log m) with the Gumbel-max trick (Yellott 1977): sort the keys
/// ln w_c + G_c, G_c = −ln(−ln U_c) i.i.d. standard Gumbel, in *descending* order.
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_subset::culture::{Culture, PlackettLuce};
/// let pl = PlackettLuce::new(vec![8.0, 4.0, 2.0, 1.0])?;
/// let p = pl.sample(4, 200, &mut RngStreams::new(5).stream(0))?;
/// let first0 = p.orders().filter(|o| o[0] == 0).count();
/// assert!(first0 > 80); // P(item 0 first) = 8/15
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlackettLuce {
    weights: Vec<f64>,
}

impl PlackettLuce {
    /// Plackett–Luce with one positive weight per item.
    ///
    /// # Errors
    /// [`Error::NonFinite`] / [`Error::InvalidParameter`] for a non-finite or non-positive weight.
    pub fn new(weights: Vec<f64>) -> Result<Self> {
        lisse_core::check_finite("Plackett–Luce weights", &weights)?;
        if let Some(i) = weights.iter().position(|&w| w <= 0.0) {
            return Err(Error::invalid(
                format!("weights[{i}]"),
                weights[i],
                "a finite number > 0",
            ));
        }
        Ok(Self { weights })
    }

    /// The weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The exact probability of `order` (for tests).
    pub fn probability(&self, order: &[u32]) -> f64 {
        let mut rest: f64 = order.iter().map(|&c| self.weights[c as usize]).sum();
        let mut p = 1.0;
        for &c in order {
            let w = self.weights[c as usize];
            p *= w / rest;
            rest -= w;
        }
        p
    }
}

impl Culture for PlackettLuce {
    fn sample<R: Rng + ?Sized>(&self, m: usize, n: usize, rng: &mut R) -> Result<Profile> {
        lisse_core::check_dim("Plackett–Luce weights", self.weights.len(), m)?;
        let log_w: Vec<f64> = self.weights.iter().map(|w| w.ln()).collect();
        let mut keys: Vec<(f64, u32)> = vec![(0.0, 0); m];
        iid(m, n, rng, |rng, o| {
            for (c, k) in keys.iter_mut().enumerate() {
                let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
                *k = (log_w[c] - (-u.ln()).ln(), c as u32);
            }
            keys.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for (x, k) in o.iter_mut().zip(&keys) {
                *x = k.1;
            }
        })
    }
}
