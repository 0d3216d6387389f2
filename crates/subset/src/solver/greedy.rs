//! Lazy greedy under the fairness matroid.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use lisse_core::{Error, Result};

use super::Selection;
use super::state::OwaState;
use crate::constraint::FairnessMatroid;
use crate::rule::CommitteeScore;
use crate::{Constraints, ScoreFunction};

/// The greedy committee: repeatedly add the item of largest marginal gain among those that
/// keep the set independent in the fairness matroid (upper bounds, and room left for every
/// unmet lower bound), until |S| = k — even when the best gain is 0, since only a basis is a
/// fair committee. Ties go to the smallest item id.
///
/// Lazy evaluation (Minoux 1978): by submodularity a stale gain is an upper bound, so an item
/// is re-evaluated only when it reaches the top of the heap; the committee is the same as the
/// plain greedy's.
///
/// Guarantees for monotone submodular F (s and λ non-increasing and non-negative):
/// F(S) ≥ (1 − 1/e)·OPT without group bounds (Nemhauser, Wolsey, Fisher 1978) and
/// F(S) ≥ ½·OPT under disjoint group bounds, a matroid (Fisher, Nemhauser, Wolsey 1978).
///
/// ```
/// use lisse_subset::{CommitteeScoringRule, Constraints, Profile, solver};
/// let p = Profile::new(4, vec![vec![0, 1, 2, 3], vec![0, 1, 3, 2], vec![3, 2, 1, 0]])?;
/// let f = CommitteeScoringRule::borda_cc().instantiate(&p, 2)?;
/// let s = solver::greedy(&f, &Constraints::cardinality(2))?;
/// assert_eq!(s.committee, vec![0, 3]);
/// # Ok::<(), lisse_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for overlapping groups or a k mismatch; [`Error::Infeasible`]
/// naming the failing bound.
pub fn greedy(f: &CommitteeScore<'_>, constraints: &Constraints) -> Result<Selection> {
    lisse_core::check_dim("constraint k", f.k(), constraints.k())?;
    let m = f.m();
    let mut matroid = FairnessMatroid::new(constraints, m)?;
    let mut state = OwaState::new(f);
    // (gain bound, smallest id first, round the bound was computed in)
    let mut heap: BinaryHeap<(u128, Reverse<u32>, usize)> = (0..m as u32)
        .map(|c| (u128::MAX, Reverse(c), usize::MAX))
        .collect();
    for round in 0..constraints.k() {
        loop {
            let Some((_, Reverse(c), when)) = heap.pop() else {
                return Err(Error::infeasible(
                    "no item can be added without breaking a group bound",
                ));
            };
            if !matroid.can_add(c) {
                continue; // never addable again: independence is inherited by subsets
            }
            if when == round {
                matroid.add(c);
                state.add(c);
                break;
            }
            heap.push((state.gain(c), Reverse(c), round));
        }
    }
    Ok(Selection::new(
        state.members.clone(),
        state.value,
        f.denominator(),
    ))
}
