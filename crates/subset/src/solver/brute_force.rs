//! Exhaustive search over all k-subsets.

use lisse_core::{Error, Result};

use super::Selection;
use crate::{Constraints, ScoreFunction};

/// The largest number of committees C(m, k) [`brute_force`] will enumerate.
pub const BRUTE_FORCE_LIMIT: u128 = 20_000_000;

/// C(m, k), saturating at `u128::MAX`.
pub fn binomial(m: usize, k: usize) -> u128 {
    if k > m {
        return 0;
    }
    let k = k.min(m - k);
    let mut r = 1u128;
    for i in 0..k {
        r = r.saturating_mul((m - i) as u128) / (i as u128 + 1);
    }
    r
}

/// The optimal committee by enumerating every k-subset in lexicographic order; among equal
/// scores the lexicographically smallest committee wins. Works for every score function and
/// for overlapping groups; meant for tests and small instances.
///
/// # Errors
/// [`Error::InvalidParameter`] when C(m, k) exceeds [`BRUTE_FORCE_LIMIT`] or k does not match;
/// [`Error::Infeasible`] when no committee meets the constraints.
pub fn brute_force<F: ScoreFunction + ?Sized>(
    f: &F,
    constraints: &Constraints,
) -> Result<Selection> {
    let mut best: Option<(u128, Vec<u32>)> = None;
    for_each_feasible(f, constraints, |c, v| {
        if best.as_ref().is_none_or(|(b, _)| v > *b) {
            best = Some((v, c.to_vec()));
        }
    })?;
    let (v, c) = best.ok_or_else(|| {
        Error::infeasible("no committee of size k meets the group bounds (checked exhaustively)")
    })?;
    Ok(Selection::new(c, v, f.denominator()))
}

/// Calls `visit(committee, scaled value)` for every feasible committee, in lexicographic order.
pub(crate) fn for_each_feasible<F: ScoreFunction + ?Sized>(
    f: &F,
    constraints: &Constraints,
    mut visit: impl FnMut(&[u32], u128),
) -> Result<()> {
    let (m, k) = (f.m(), constraints.k());
    lisse_core::check_dim("constraint k", f.k(), k)?;
    crate::rule::committee_check_k(m, k)?;
    if let Some(g) = constraints.groups() {
        lisse_core::check_dim("groups (items)", m, g.m())?;
    }
    constraints.check_feasible()?;
    let count = binomial(m, k);
    if count > BRUTE_FORCE_LIMIT {
        return Err(Error::invalid(
            "C(m, k)",
            count,
            format!("at most {BRUTE_FORCE_LIMIT} committees for brute force; use solver::ilp"),
        ));
    }
    let mut c: Vec<u32> = (0..k as u32).collect();
    loop {
        if constraints.is_satisfied(&c) {
            visit(&c, f.scaled_value(&c));
        }
        // Next k-combination.
        let Some(i) = (0..k).rev().find(|&i| (c[i] as usize) < m - k + i) else {
            return Ok(());
        };
        c[i] += 1;
        for j in i + 1..k {
            c[j] = c[j - 1] + 1;
        }
    }
}
