//! Enumeration of all optimal committees.

use lisse_core::Result;

use super::{Selection, brute_force::for_each_feasible, ilp};
use crate::rule::CommitteeScore;
use crate::{Constraints, ScoreFunction};

/// Every optimal committee, in lexicographic order, by exhaustive search (small instances).
///
/// ```
/// use lisse_subset::{CommitteeScoringRule, Constraints, Profile, solver};
/// // Two voters with opposite rankings: under SNTV with k = 1 items 0 and 2 tie.
/// let p = Profile::new(3, vec![vec![0, 1, 2], vec![2, 1, 0]])?;
/// let f = CommitteeScoringRule::sntv().instantiate(&p, 1)?;
/// let all = solver::all_optimal(&f, &Constraints::cardinality(1))?;
/// assert_eq!(all.iter().map(|s| s.committee.clone()).collect::<Vec<_>>(), vec![vec![0], vec![2]]);
/// # Ok::<(), lisse_core::Error>(())
/// ```
///
/// # Errors
/// As [`super::brute_force`].
pub fn all_optimal<F: ScoreFunction + ?Sized>(
    f: &F,
    constraints: &Constraints,
) -> Result<Vec<Selection>> {
    let mut best = 0u128;
    let mut all: Vec<Vec<u32>> = Vec::new();
    for_each_feasible(f, constraints, |c, v| {
        if v > best || all.is_empty() {
            best = v;
            all.clear();
        }
        if v == best {
            all.push(c.to_vec());
        }
    })?;
    if all.is_empty() {
        return Err(lisse_core::Error::infeasible(
            "no committee of size k meets the group bounds",
        ));
    }
    Ok(all
        .into_iter()
        .map(|c| Selection::new(c, best, f.denominator()))
        .collect())
}

/// Every optimal committee through the ILP: solve, add the no-good cut
/// Σ_{c∈W} y_c ≤ k − 1 for each optimum W found, and re-solve until the exact optimum drops
/// (as abcvoting enumerates with Gurobi). At most `limit` committees are returned, sorted.
///
/// # Errors
/// As [`super::ilp`].
pub fn all_optimal_ilp(
    f: &CommitteeScore<'_>,
    constraints: &Constraints,
    limit: usize,
) -> Result<Vec<Selection>> {
    let mut found: Vec<Selection> = Vec::new();
    while found.len() < limit {
        let cuts: Vec<Vec<u32>> = found.iter().map(|s| s.committee.clone()).collect();
        let next = match ilp::ilp_with_cuts(f, constraints, &cuts) {
            Ok(next) => next,
            Err(e) if found.is_empty() => return Err(e),
            Err(_) => break,
        };
        if found
            .first()
            .is_some_and(|b| next.score.numerator < b.score.numerator)
        {
            break;
        }
        found.push(next);
    }
    if found.is_empty() {
        return Err(lisse_core::Error::infeasible(
            "no committee of size k meets the group bounds",
        ));
    }
    found.sort_by(|a, b| a.committee.cmp(&b.committee));
    Ok(found)
}
