//! Single-peaked rankings on the axis 0 < 1 < … < m−1.

use lisse_core::Result;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::{Culture, iid};
use crate::Profile;

/// Single-peaked rankings, Conitzer's random-peak model (Conitzer 2009): the peak is uniform
/// on the axis 0 < 1 < … < m−1; then, while items remain on both sides, the next position
/// goes to the nearest unranked item on the left or on the right with probability ½ each;
/// the rest of the remaining side follows.
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_subset::culture::{Culture, SinglePeakedConitzer};
/// let p = SinglePeakedConitzer.sample(6, 20, &mut RngStreams::new(4).stream(0))?;
/// // Every top-t prefix is an interval of the axis.
/// for o in p.orders() {
///     for t in 1..=6 {
///         let (lo, hi) = (o[..t].iter().min().unwrap(), o[..t].iter().max().unwrap());
///         assert_eq!((hi - lo + 1) as usize, t);
///     }
/// }
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinglePeakedConitzer;

impl Culture for SinglePeakedConitzer {
    fn sample<R: Rng + ?Sized>(&self, m: usize, n: usize, rng: &mut R) -> Result<Profile> {
        iid(m, n, rng, |rng, o| {
            let peak = rng.random_range(0..m);
            o[0] = peak as u32;
            let (mut left, mut right) = (peak, peak); // ranked interval [left, right]
            for slot in o.iter_mut().skip(1) {
                let go_left = if left == 0 {
                    false
                } else if right == m - 1 {
                    true
                } else {
                    rng.random::<bool>()
                };
                if go_left {
                    left -= 1;
                    *slot = left as u32;
                } else {
                    right += 1;
                    *slot = right as u32;
                }
            }
        })
    }
}

/// Single-peaked rankings, Walsh's uniform model (Walsh 2015): uniform over the 2^(m−1)
/// single-peaked orders. Built from the bottom: each of the last m−1 positions takes the
/// leftmost or the rightmost remaining item with probability ½ each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinglePeakedWalsh;

impl Culture for SinglePeakedWalsh {
    fn sample<R: Rng + ?Sized>(&self, m: usize, n: usize, rng: &mut R) -> Result<Profile> {
        iid(m, n, rng, |rng, o| {
            let (mut left, mut right) = (0usize, m - 1); // remaining interval [left, right]
            for p in (1..m).rev() {
                if rng.random::<bool>() {
                    o[p] = left as u32;
                    left += 1;
                } else {
                    o[p] = right as u32;
                    right -= 1;
                }
            }
            o[0] = left as u32;
        })
    }
}
