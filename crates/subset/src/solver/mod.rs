//! Solvers: maximize a score function over committees of size k that meet the fairness
//! constraints.
//!
//! | solver | rules | constraints | guarantee |
//! |---|---|---|---|
//! | [`separable`] | separable (SNTV, Bloc, k-Borda) | disjoint groups | exact, O(m log m) after scoring |
//! | [`ilp`] | every committee scoring rule; [`ilp_monroe`] for Monroe | any groups | exact (MILP, pure-Rust microlp) |
//! | [`branch_and_bound`] | committee scoring rules | disjoint groups | exact |
//! | [`greedy`] | committee scoring rules | disjoint groups | ≥ (1 − 1/e)·OPT unconstrained, ≥ ½·OPT with bounds |
//! | [`brute_force`] | any [`ScoreFunction`](crate::ScoreFunction) | any groups | exact, C(m, k) evaluations |
//! | [`all_optimal`], [`all_optimal_ilp`] | as brute force / ILP | as brute force / ILP | every optimal committee |
//!
//! Ties are broken deterministically: the greedy picks the smallest item id among equal
//! gains; brute force returns the lexicographically smallest optimal committee (sorted ids);
//! the other exact solvers return an optimal committee, and [`all_optimal`] lists them all.

mod branch_and_bound;
mod brute_force;
mod enumerate;
mod greedy;
mod ilp;
mod separable;
mod state;

pub use branch_and_bound::branch_and_bound;
pub use brute_force::{BRUTE_FORCE_LIMIT, binomial, brute_force};
pub use enumerate::{all_optimal, all_optimal_ilp};
pub use greedy::greedy;
pub use ilp::{ilp, ilp_monroe};
pub use separable::{separable, separable_from_scores};

use serde::{Deserialize, Serialize};

use crate::rule::Score;

/// A selected committee with its exact score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// The members, ascending.
    pub committee: Vec<u32>,
    /// F(committee), exact.
    pub score: Score,
}

impl Selection {
    pub(crate) fn new(mut committee: Vec<u32>, numerator: u128, denominator: u64) -> Self {
        committee.sort_unstable();
        Self {
            committee,
            score: Score {
                numerator,
                denominator,
            },
        }
    }
}

/// All permutations of 0..m in lexicographic order (tests and exact distributions; m ≤ 8).
pub fn permutations(m: usize) -> Vec<Vec<u32>> {
    let mut cur: Vec<u32> = (0..m as u32).collect();
    let mut out = vec![cur.clone()];
    // Next permutation (Narayana Pandita).
    loop {
        let Some(i) = (1..m).rev().find(|&i| cur[i - 1] < cur[i]) else {
            return out;
        };
        let j = (i..m).rev().find(|&j| cur[j] > cur[i - 1]).unwrap_or(i);
        cur.swap(i - 1, j);
        cur[i..].reverse();
        out.push(cur.clone());
    }
}
