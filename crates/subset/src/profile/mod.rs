//! Profiles: n rankings of m items, with multiplicities.
//!
//! A ranking is an *order*: `order[p]` is the item at 0-indexed position `p`, best first (the
//! convention of PrefLib, mapel and prefsampling). Items are `u32` ids `0..m`. Every ranking is
//! checked to be a permutation of the items when the profile is built, so the solvers never
//! meet a malformed ballot. Positions are stored next to the orders for O(1) look-ups.

mod groups;
pub mod preflib;

pub use groups::Groups;
pub use preflib::{Ballot, DataType, PreflibFile};

use lisse_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// The largest number of stored entries (distinct rankings × items) a profile may hold, so a
/// typo in a size fails with an error instead of an out-of-memory abort.
pub const MAX_ENTRIES: usize = 1 << 28;

/// n rankings of m items, each with a positive multiplicity (weight).
///
/// ```
/// use lisse_subset::Profile;
/// let p = Profile::new(3, vec![vec![0, 1, 2], vec![2, 0, 1]])?;
/// assert_eq!(p.position(1, 2), 0); // ranking 1 puts item 2 first
/// assert!(Profile::new(3, vec![vec![0, 0, 2]]).is_err()); // not a permutation
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ProfileData", into = "ProfileData")]
pub struct Profile {
    m: usize,
    orders: Vec<u32>,
    positions: Vec<u32>,
    weights: Vec<u64>,
}

/// The serialized form of a [`Profile`] (validated on deserialization).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProfileData {
    m: usize,
    orders: Vec<Vec<u32>>,
    weights: Vec<u64>,
}

impl TryFrom<ProfileData> for Profile {
    type Error = Error;
    fn try_from(d: ProfileData) -> Result<Self> {
        Profile::with_weights(d.m, d.orders, d.weights)
    }
}

impl From<Profile> for ProfileData {
    fn from(p: Profile) -> Self {
        ProfileData {
            m: p.m,
            orders: p.orders().map(<[u32]>::to_vec).collect(),
            weights: p.weights,
        }
    }
}

impl Profile {
    /// A profile of `orders`, each with weight 1.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `m == 0`, when a ranking is not a permutation of
    /// `0..m` (naming the ranking and the offending item), or when the profile is too large.
    pub fn new(m: usize, orders: Vec<Vec<u32>>) -> Result<Self> {
        let weights = vec![1; orders.len()];
        Self::with_weights(m, orders, weights)
    }

    /// A profile of `orders` with multiplicities `weights` (each ≥ 1).
    ///
    /// # Errors
    /// As [`Profile::new`], plus [`Error::DimensionMismatch`] when the lengths differ and
    /// [`Error::InvalidParameter`] for a zero weight.
    pub fn with_weights(m: usize, orders: Vec<Vec<u32>>, weights: Vec<u64>) -> Result<Self> {
        lisse_core::check_dim("weights (one per ranking)", orders.len(), weights.len())?;
        check_size(m, orders.len())?;
        let mut flat = Vec::with_capacity(orders.len() * m);
        for (v, o) in orders.into_iter().enumerate() {
            if o.len() != m {
                return Err(Error::invalid(
                    format!("rankings[{v}]"),
                    format!("a ranking of length {}", o.len()),
                    format!("a permutation of all m = {m} items 0..{m}"),
                ));
            }
            flat.extend(o);
        }
        Self::from_flat(m, flat, weights)
    }

    /// A profile from row-major orders (`n·m` entries) and weights.
    ///
    /// # Errors
    /// As [`Profile::with_weights`].
    pub fn from_flat(m: usize, orders: Vec<u32>, weights: Vec<u64>) -> Result<Self> {
        check_size(m, weights.len())?;
        lisse_core::check_dim("orders (n·m entries)", weights.len() * m, orders.len())?;
        if let Some(v) = weights.iter().position(|&w| w == 0) {
            return Err(Error::invalid(
                format!("weights[{v}]"),
                0,
                "a positive multiplicity (drop the ranking instead of giving it weight 0)",
            ));
        }
        let mut positions = vec![u32::MAX; orders.len()];
        for (v, o) in orders.chunks_exact(m).enumerate() {
            let pos = &mut positions[v * m..(v + 1) * m];
            for (p, &c) in o.iter().enumerate() {
                let ci = c as usize;
                if ci >= m {
                    return Err(Error::invalid(
                        format!("rankings[{v}]"),
                        format!("unknown item {c}"),
                        format!("items numbered 0..{m} (m = {m})"),
                    ));
                }
                if pos[ci] != u32::MAX {
                    return Err(Error::invalid(
                        format!("rankings[{v}]"),
                        format!("item {c} at positions {} and {p}", pos[ci]),
                        "a permutation: each item exactly once",
                    ));
                }
                pos[ci] = p as u32;
            }
        }
        Ok(Self {
            m,
            orders,
            positions,
            weights,
        })
    }

    /// Number of items m.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Number of stored (not necessarily distinct) rankings.
    pub fn n_rankings(&self) -> usize {
        self.weights.len()
    }

    /// Number of voters: the sum of the multiplicities.
    pub fn n_voters(&self) -> u64 {
        self.weights.iter().sum()
    }

    /// Ranking `v` as an order, best first.
    ///
    /// # Panics
    /// When `v >= n_rankings()`.
    pub fn order(&self, v: usize) -> &[u32] {
        &self.orders[v * self.m..(v + 1) * self.m]
    }

    /// All orders, best first.
    pub fn orders(&self) -> impl ExactSizeIterator<Item = &[u32]> + '_ {
        self.orders.chunks_exact(self.m)
    }

    /// Positions of every item in ranking `v` (`positions(v)[c]` = 0-indexed position of `c`).
    ///
    /// # Panics
    /// When `v >= n_rankings()`.
    pub fn positions(&self, v: usize) -> &[u32] {
        &self.positions[v * self.m..(v + 1) * self.m]
    }

    /// The 0-indexed position of item `c` in ranking `v` (0 = best).
    ///
    /// # Panics
    /// When `v` or `c` is out of range.
    pub fn position(&self, v: usize, c: u32) -> usize {
        self.positions[v * self.m + c as usize] as usize
    }

    /// Multiplicity of ranking `v`.
    ///
    /// # Panics
    /// When `v >= n_rankings()`.
    pub fn weight(&self, v: usize) -> u64 {
        self.weights[v]
    }

    /// All multiplicities.
    pub fn weights(&self) -> &[u64] {
        &self.weights
    }

    /// The same profile with identical rankings merged (weights added), in order of first
    /// appearance. Scores and optima are unchanged; solvers get smaller.
    #[must_use]
    pub fn merge_identical(&self) -> Profile {
        let mut index: std::collections::HashMap<&[u32], usize> = std::collections::HashMap::new();
        let mut orders = Vec::new();
        let mut weights: Vec<u64> = Vec::new();
        let mut positions = Vec::new();
        for (v, o) in self.orders().enumerate() {
            if let Some(&i) = index.get(o) {
                weights[i] += self.weights[v];
            } else {
                index.insert(o, weights.len());
                weights.push(self.weights[v]);
                orders.extend_from_slice(o);
                positions.extend_from_slice(self.positions(v));
            }
        }
        Profile {
            m: self.m,
            orders,
            positions,
            weights,
        }
    }

    /// The profile with every ranking reversed (worst first); handy for tests.
    #[must_use]
    pub fn reversed(&self) -> Profile {
        let mut orders = self.orders.clone();
        for o in orders.chunks_exact_mut(self.m) {
            o.reverse();
        }
        let mut positions = self.positions.clone();
        let last = self.m as u32 - 1;
        for p in &mut positions {
            *p = last - *p;
        }
        Profile {
            m: self.m,
            orders,
            positions,
            weights: self.weights.clone(),
        }
    }
}

/// Rejects empty item sets and sizes whose storage would be unreasonable.
pub(crate) fn check_size(m: usize, n: usize) -> Result<()> {
    if m == 0 || m > u32::MAX as usize {
        return Err(Error::invalid("m", m, "between 1 and 2^32 - 1 items"));
    }
    match n.checked_mul(m) {
        Some(e) if e <= MAX_ENTRIES => Ok(()),
        _ => Err(Error::invalid(
            "n·m",
            format!("{n}·{m}"),
            format!(
                "at most {MAX_ENTRIES} stored entries; merge identical rankings or sample fewer"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_problem() {
        let e = Profile::new(3, vec![vec![0, 1, 2], vec![0, 2, 2]]).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("rankings[1]") && msg.contains("item 2"),
            "{msg}"
        );
        let e = Profile::new(3, vec![vec![0, 1, 3]]).unwrap_err();
        assert!(e.to_string().contains("unknown item 3"));
        assert!(Profile::new(3, vec![vec![0, 1]]).is_err());
        assert!(Profile::new(0, vec![]).is_err());
        assert!(Profile::with_weights(2, vec![vec![0, 1]], vec![0]).is_err());
        assert!(Profile::with_weights(2, vec![vec![0, 1]], vec![1, 1]).is_err());
        assert!(Profile::from_flat(1 << 20, vec![], vec![1; 1 << 10]).is_err());
    }

    #[test]
    fn positions_invert_orders_and_merge_keeps_weights() {
        let p = Profile::new(
            4,
            vec![vec![3, 1, 0, 2], vec![0, 1, 2, 3], vec![3, 1, 0, 2]],
        )
        .unwrap();
        for (v, o) in p.orders().enumerate() {
            for (i, &c) in o.iter().enumerate() {
                assert_eq!(p.position(v, c), i);
            }
        }
        let q = p.merge_identical();
        assert_eq!(q.n_rankings(), 2);
        assert_eq!(q.weights(), &[2, 1]);
        assert_eq!(q.n_voters(), p.n_voters());
        assert_eq!(p.reversed().order(0), &[2, 0, 1, 3]);
        assert_eq!(p.reversed().position(0, 2), 0);
    }

    #[test]
    fn serde_round_trip_validates() {
        let p = Profile::with_weights(3, vec![vec![2, 0, 1]], vec![5]).unwrap();
        let s = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Profile>(&s).unwrap(), p);
        let bad = r#"{"m":3,"orders":[[0,0,1]],"weights":[1]}"#;
        assert!(serde_json::from_str::<Profile>(bad).is_err());
    }
}
