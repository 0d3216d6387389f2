//! Impartial culture: every ranking uniform and independent.

use lisse_core::Result;
use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::{Culture, iid};
use crate::Profile;

/// Impartial culture: each ranking is a uniform random permutation (Fisher–Yates).
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_subset::culture::{Culture, ImpartialCulture};
/// let p = ImpartialCulture.sample(5, 10, &mut RngStreams::new(1).stream(0))?;
/// assert_eq!((p.m(), p.n_rankings()), (5, 10));
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImpartialCulture;

impl Culture for ImpartialCulture {
    fn sample<R: Rng + ?Sized>(&self, m: usize, n: usize, rng: &mut R) -> Result<Profile> {
        iid(m, n, rng, |rng, o| {
            for (i, c) in o.iter_mut().enumerate() {
                *c = i as u32;
            }
            o.shuffle(rng);
        })
    }
}
