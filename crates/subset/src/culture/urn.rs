//! The Pólya–Eggenberger urn model.

use lisse_core::Result;
use rand::seq::SliceRandom;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::{Culture, check_n};
use crate::Profile;

/// The Pólya–Eggenberger urn (Berg 1985), as in prefsampling: the urn starts with one copy of
/// each of the m! orders; each drawn order is returned with α·m! extra copies. Equivalently,
/// the j-th ranking (j = 0, 1, …) is a fresh uniform order with probability 1/(1 + jα) and
/// otherwise a copy of a uniformly chosen earlier ranking. α = 0 is impartial culture; large α
/// makes profiles nearly unanimous.
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_subset::culture::{Culture, Urn};
/// let p = Urn::new(10.0)?.sample(6, 50, &mut RngStreams::new(2).stream(0))?;
/// assert!(p.merge_identical().n_rankings() < 50); // many copies
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Urn {
    alpha: f64,
}

impl Urn {
    /// The urn with replacement parameter α ≥ 0.
    ///
    /// # Errors
    /// [`lisse_core::Error::InvalidParameter`] for negative or non-finite α.
    pub fn new(alpha: f64) -> Result<Self> {
        lisse_core::check_range("alpha", alpha, 0.0, f64::INFINITY)?;
        Ok(Self { alpha })
    }

    /// The replacement parameter α.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
}

impl Culture for Urn {
    fn sample<R: Rng + ?Sized>(&self, m: usize, n: usize, rng: &mut R) -> Result<Profile> {
        check_n(m, n)?;
        let mut orders = vec![0u32; n * m];
        for j in 0..n {
            let fresh = rng.random::<f64>() * (1.0 + j as f64 * self.alpha) < 1.0;
            if fresh {
                let o = &mut orders[j * m..(j + 1) * m];
                for (i, c) in o.iter_mut().enumerate() {
                    *c = i as u32;
                }
                o.shuffle(rng);
            } else {
                let src = rng.random_range(0..j);
                orders.copy_within(src * m..(src + 1) * m, j * m);
            }
        }
        Profile::from_flat(m, orders, vec![1; n])
    }
}
