//! The Euclidean model.

use lisse_core::{Error, Result};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::{Culture, check_n};
use crate::Profile;

/// The Euclidean model: candidates and voters are points drawn uniformly from the unit cube
/// [0, 1]^d (candidates afresh for every profile); each voter ranks the candidates by
/// increasing distance (ties by item id). d = 1 gives single-peaked and single-crossing
/// profiles.
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_subset::culture::{Culture, Euclidean};
/// let p = Euclidean::new(2)?.sample(8, 30, &mut RngStreams::new(6).stream(0))?;
/// assert_eq!(p.n_rankings(), 30);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Euclidean {
    dim: usize,
}

impl Euclidean {
    /// The model in dimension `dim` ≥ 1.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `dim` = 0 or above 1000.
    pub fn new(dim: usize) -> Result<Self> {
        if dim == 0 || dim > 1000 {
            return Err(Error::invalid("dim", dim, "between 1 and 1000"));
        }
        Ok(Self { dim })
    }

    /// The dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }
}

impl Culture for Euclidean {
    fn sample<R: Rng + ?Sized>(&self, m: usize, n: usize, rng: &mut R) -> Result<Profile> {
        check_n(m, n)?;
        let d = self.dim;
        crate::profile::check_size(m, d)?;
        let cands: Vec<f64> = (0..m * d).map(|_| rng.random::<f64>()).collect();
        let mut voter = vec![0.0; d];
        let mut keys: Vec<(f64, u32)> = vec![(0.0, 0); m];
        let mut orders = vec![0u32; n * m];
        for o in orders.chunks_exact_mut(m) {
            for x in &mut voter {
                *x = rng.random::<f64>();
            }
            for (c, k) in keys.iter_mut().enumerate() {
                let dist: f64 = cands[c * d..(c + 1) * d]
                    .iter()
                    .zip(&voter)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                *k = (dist, c as u32);
            }
            keys.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (x, k) in o.iter_mut().zip(&keys) {
                *x = k.1;
            }
        }
        Profile::from_flat(m, orders, vec![1; n])
    }
}
