//! Exact selection for separable rules under disjoint group bounds.

use lisse_core::{Error, Result};

use super::Selection;
use crate::constraint::FairnessMatroid;
use crate::rule::CommitteeScore;
use crate::{Constraints, ScoreFunction};

/// The optimal committee of a separable rule (F(S) = Σ_{c∈S} σ(c): SNTV, Bloc, k-Borda)
/// under disjoint group bounds, in O(m log m) after the O(n·m) scoring.
///
/// Greedy over the items sorted by (σ descending, id ascending), adding each item that keeps
/// the set independent in the fairness matroid: a modular function is maximized over the
/// bases of a matroid by the greedy (Edmonds 1971). With two groups and exact counts this is
/// the paper's S_ℓ: the top k − ℓ of G1 and the top ℓ of G2.
///
/// ```
/// use lisse_subset::{CommitteeScoringRule, Constraints, Groups, Profile, solver};
/// let p = Profile::new(4, vec![vec![0, 1, 2, 3], vec![1, 0, 2, 3]])?;
/// let f = CommitteeScoringRule::k_borda().instantiate(&p, 2)?;
/// let c = Constraints::exact_two_groups(2, Groups::partition(&[0, 0, 1, 1])?, 1)?;
/// assert_eq!(solver::separable(&f, &c)?.committee, vec![0, 2]);
/// # Ok::<(), lisse_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for a non-separable rule or overlapping groups;
/// [`Error::Infeasible`] naming the failing bound.
pub fn separable(f: &CommitteeScore<'_>, constraints: &Constraints) -> Result<Selection> {
    if !f.is_separable() {
        return Err(Error::invalid(
            "rule",
            f.name(),
            "a separable rule (constant OWA weights); use solver::ilp, branch_and_bound or greedy",
        ));
    }
    lisse_core::check_dim("constraint k", f.k(), constraints.k())?;
    let sel = separable_from_scores(&f.singleton_scores(), constraints)?;
    Ok(Selection::new(
        sel.committee,
        sel.score.numerator,
        f.denominator(),
    ))
}

/// The committee maximizing Σ_{c∈S} scores(c) under the constraints (see [`separable`]);
/// the returned score has denominator 1.
///
/// # Errors
/// As [`separable`], and [`Error::InvalidParameter`] for k > m.
pub fn separable_from_scores(scores: &[u128], constraints: &Constraints) -> Result<Selection> {
    let m = scores.len();
    let mut matroid = FairnessMatroid::new(constraints, m)?;
    let mut order: Vec<u32> = (0..m as u32).collect();
    order.sort_unstable_by(|&a, &b| scores[b as usize].cmp(&scores[a as usize]).then(a.cmp(&b)));
    let mut committee = Vec::with_capacity(constraints.k());
    let mut total = 0u128;
    for c in order {
        if matroid.can_add(c) {
            matroid.add(c);
            committee.push(c);
            total += scores[c as usize];
            if committee.len() == constraints.k() {
                break;
            }
        }
    }
    if committee.len() < constraints.k() {
        return Err(Error::infeasible("no committee meets the bounds"));
    }
    Ok(Selection::new(committee, total, 1))
}
