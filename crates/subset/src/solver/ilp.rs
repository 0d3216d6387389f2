//! Exact integer linear programs (good_lp with the pure-Rust microlp back-end).

use good_lp::{
    Expression, ProblemVariables, ResolutionError, Solution, SolverModel, Variable, microlp,
    variable,
};
use lisse_core::{Error, Result};

use super::Selection;
use crate::rule::{CommitteeScore, MonroeScore};
use crate::{Constraints, Profile, ScoreFunction};

/// The optimal committee of a committee scoring rule by integer linear programming, under any
/// group bounds (overlapping groups too).
///
/// Identical rankings are merged first (weights add). Binary y_c marks membership, with
/// Σ_c y_c = k and ℓ_g ≤ Σ_{c∈G_g} y_c ≤ u_g. The voters' part is continuous, which is exact
/// for integral y:
///
/// - **Chamberlin–Courant** (λ = (1, 0, …)): the assignment form (Procaccia, Rosenschein,
///   Zohar 2008; Lu, Boutilier 2011): x_{v,c} ≤ y_c, Σ_c x_{v,c} ≤ 1, objective
///   Σ_v w_v Σ_c s(pos_v(c)) x_{v,c}, with x only for each voter's top m − k + 1 items (a
///   k-committee always has a member there).
/// - **Any OWA** (λ non-increasing): with Δ_p = s(p) − s(p+1) and N_p(v) = |S ∩ top_p(v)|,
///   F(S) = Σ_v w_v Σ_p Δ_p Σ_{t ≤ N_p(v)} λ_t. Variables z_{v,p,t} ∈ [0, 1] for breakpoints
///   p (Δ_p > 0) and λ_t > 0, with Σ_t z_{v,p,t} ≤ Σ_{c∈top_p(v)} y_c; since λ is
///   non-increasing the LP fills the lower t first. The first max(0, k − (m − p)) terms are
///   always 1 and enter as constants. Approval-based rules have one breakpoint, so PAV has
///   n·k such variables (abcvoting's model); Borda-based OWA rules have n·m·k.
///
/// The returned score is recomputed exactly from the committee, never read off the solver.
/// When the [`super::greedy`] committee already gives every voter the score of its own top k
/// items (an upper bound on any committee), it is returned without building the ILP.
///
/// ```
/// use lisse_subset::{CommitteeScoringRule, Constraints, Profile, solver};
/// let p = Profile::new(4, vec![vec![0, 1, 2, 3], vec![0, 1, 3, 2], vec![3, 2, 1, 0]])?;
/// let f = CommitteeScoringRule::borda_cc().instantiate(&p, 2)?;
/// let s = solver::ilp(&f, &Constraints::cardinality(2))?;
/// assert_eq!(s, solver::brute_force(&f, &Constraints::cardinality(2))?);
/// # Ok::<(), lisse_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::Infeasible`] naming the failing bound (or, for overlapping groups the solver
/// proves infeasible, saying so); [`Error::InvalidParameter`] for a k mismatch.
pub fn ilp(f: &CommitteeScore<'_>, constraints: &Constraints) -> Result<Selection> {
    ilp_with_cuts(f, constraints, &[])
}

/// [`ilp`] with no-good cuts Σ_{c∈W} y_c ≤ k − 1 excluding each committee W in `cuts`.
pub(crate) fn ilp_with_cuts(
    f: &CommitteeScore<'_>,
    constraints: &Constraints,
    cuts: &[Vec<u32>],
) -> Result<Selection> {
    check(f, constraints)?;
    let (m, k) = (f.m(), constraints.k());
    // Shortcut: when the greedy committee gives every voter its best possible score (its top
    // k items), nothing can beat it — common for CC with many approvals per voter.
    if cuts.is_empty() && constraints.is_disjoint() {
        let ub: u128 = f
            .profile()
            .weights()
            .iter()
            .map(|&w| {
                u128::from(w)
                    * (0..k)
                        .map(|t| u128::from(f.owa()[t]) * u128::from(f.s()[t]))
                        .sum::<u128>()
            })
            .sum();
        if let Ok(g) = super::greedy(f, constraints)
            && g.score.numerator == ub
        {
            return Ok(g);
        }
    }
    let (s, owa) = (f.s(), f.owa());
    let merged = merge_equivalent(f.profile(), s)?;
    let den = f.denominator() as f64;
    let mut vars = ProblemVariables::new();
    let y: Vec<Variable> = (0..m).map(|_| vars.add(variable().binary())).collect();
    let mut objective = Expression::default();
    let mut voter_rows: Vec<(Expression, f64)> = Vec::new(); // expr ≤ rhs
    let mut prefix: Vec<u32> = Vec::with_capacity(m);
    for (v, order) in merged.orders().enumerate() {
        let w = merged.weight(v) as f64;
        if f.is_cc() {
            let l1 = owa[0] as f64 / den;
            let mut assigned = Expression::default();
            for &c in order.iter().take(m - k + 1) {
                let score = s[merged.position(v, c)] as f64;
                if score == 0.0 {
                    continue;
                }
                let x = vars.add(variable().min(0).max(1));
                objective.add_mul(w * l1 * score, x);
                assigned.add_mul(1.0, x);
                voter_rows.push((Expression::from(x) - y[c as usize], 0.0));
            }
            voter_rows.push((assigned, 1.0));
            continue;
        }
        prefix.clear();
        for p in 0..m {
            prefix.push(order[p]);
            let delta = s[p] - s.get(p + 1).copied().unwrap_or(0);
            if delta == 0 {
                continue;
            }
            let guaranteed = (k + p + 1).saturating_sub(m); // members surely in the top p+1
            let top = (p + 1).min(k);
            let mut fill = Expression::default();
            let mut any = false;
            for (t, &lambda) in owa.iter().enumerate().take(top) {
                let coef = w * delta as f64 * lambda as f64 / den;
                if lambda == 0 {
                    break;
                }
                if t < guaranteed {
                    objective += coef;
                    continue;
                }
                let z = vars.add(variable().min(0).max(1));
                objective.add_mul(coef, z);
                fill.add_mul(1.0, z);
                any = true;
            }
            if any {
                let mut members = Expression::default();
                for &c in &prefix {
                    members.add_mul(1.0, y[c as usize]);
                }
                voter_rows.push((fill - members, -(guaranteed as f64)));
            }
        }
    }
    let mut model = vars.maximise(objective).using(microlp);
    model = add_committee_rows(model, &y, constraints, cuts);
    for (e, rhs) in voter_rows {
        model.add_constraint(e.leq(rhs));
    }
    let committee = solve_committee(model, &y, constraints)?;
    Ok(Selection::new(
        committee.clone(),
        f.scaled_value(&committee),
        f.denominator(),
    ))
}

/// The optimal Monroe committee by integer linear programming, under any group bounds.
///
/// Binary y_c as in [`ilp`]; continuous x_{v,c} ∈ [0, w_v] (voters of merged ranking v
/// assigned to c) with Σ_c x_{v,c} = w_v and ⌊n/k⌋·y_c ≤ Σ_v x_{v,c} ≤ ⌈n/k⌉·y_c; objective
/// Σ_{v,c} s(pos_v(c)) x_{v,c}. For integral y the x-problem is a transportation problem with
/// integral data, so its LP optimum is integral (totally unimodular). abcvoting uses integer
/// partition variables with big-M instead.
///
/// # Errors
/// As [`ilp`].
pub fn ilp_monroe(f: &MonroeScore<'_>, constraints: &Constraints) -> Result<Selection> {
    lisse_core::check_dim("constraint k", f.k(), constraints.k())?;
    crate::rule::committee_check_k(f.m(), constraints.k())?;
    constraints.check_feasible()?;
    let m = f.m();
    let merged: Profile = f.profile().merge_identical();
    let (lower, upper) = f.capacities();
    let mut vars = ProblemVariables::new();
    let y: Vec<Variable> = (0..m).map(|_| vars.add(variable().binary())).collect();
    let mut objective = Expression::default();
    let mut load: Vec<Expression> = vec![Expression::default(); m];
    let mut rows: Vec<good_lp::Constraint> = Vec::new();
    for v in 0..merged.n_rankings() {
        let w = merged.weight(v) as f64;
        let mut assigned = Expression::default();
        for (c, l) in load.iter_mut().enumerate() {
            let x = vars.add(variable().min(0).max(w));
            objective.add_mul(f.s()[merged.position(v, c as u32)] as f64, x);
            assigned.add_mul(1.0, x);
            l.add_mul(1.0, x);
        }
        rows.push(assigned.eq(w));
    }
    for (c, l) in load.into_iter().enumerate() {
        rows.push((l.clone() - lower as f64 * y[c]).geq(0.0));
        rows.push((l - upper as f64 * y[c]).leq(0.0));
    }
    let mut model = vars.maximise(objective).using(microlp);
    model = add_committee_rows(model, &y, constraints, &[]);
    for r in rows {
        model.add_constraint(r);
    }
    let committee = solve_committee(model, &y, constraints)?;
    Ok(Selection::new(
        committee.clone(),
        f.scaled_value(&committee),
        1,
    ))
}

/// Merges voters whose rankings score every committee the same: equal orders on the top
/// p* + 1 positions, p* the last position with s(p*) > s(p* + 1); for approval-type scores
/// (a single breakpoint) equal *sets* of approved items. Weights add.
fn merge_equivalent(p: &Profile, s: &[u64]) -> Result<Profile> {
    let m = p.m();
    let breaks: Vec<usize> = (0..m)
        .filter(|&q| s[q] > s.get(q + 1).copied().unwrap_or(0))
        .collect();
    let Some(&last) = breaks.last() else {
        return Ok(p.merge_identical()); // all scores 0: nothing to gain
    };
    let approval = breaks.len() == 1;
    let mut index: std::collections::HashMap<Vec<u32>, usize> = std::collections::HashMap::new();
    let mut orders: Vec<u32> = Vec::new();
    let mut weights: Vec<u64> = Vec::new();
    for (v, o) in p.orders().enumerate() {
        let mut key = o[..=last].to_vec();
        if approval {
            key.sort_unstable();
        }
        if let Some(&i) = index.get(&key) {
            weights[i] += p.weight(v);
        } else {
            index.insert(key, weights.len());
            weights.push(p.weight(v));
            orders.extend_from_slice(o);
        }
    }
    Profile::from_flat(m, orders, weights)
}

fn check(f: &CommitteeScore<'_>, constraints: &Constraints) -> Result<()> {
    lisse_core::check_dim("constraint k", f.k(), constraints.k())?;
    crate::rule::committee_check_k(f.m(), constraints.k())?;
    if let Some(g) = constraints.groups() {
        lisse_core::check_dim("groups (items)", f.m(), g.m())?;
    }
    constraints.check_feasible()
}

/// Σ y = k, the group bounds, and the no-good cuts.
fn add_committee_rows<M: SolverModel>(
    mut model: M,
    y: &[Variable],
    c: &Constraints,
    cuts: &[Vec<u32>],
) -> M {
    let total: Expression = y.iter().copied().sum();
    model.add_constraint(total.eq(c.k() as f64));
    if let Some(groups) = c.groups() {
        for g in 0..groups.len() {
            let size: Expression = groups.members(g).iter().map(|&i| y[i as usize]).sum();
            model.add_constraint(size.clone().geq(c.lower()[g] as f64));
            model.add_constraint(size.leq(c.upper()[g] as f64));
        }
    }
    for cut in cuts {
        let e: Expression = cut.iter().map(|&i| y[i as usize]).sum();
        model.add_constraint(e.leq(c.k() as f64 - 1.0));
    }
    model
}

fn solve_committee<M: SolverModel>(model: M, y: &[Variable], c: &Constraints) -> Result<Vec<u32>>
where
    M::Error: Into<ResolutionError>,
{
    let solution = model.solve().map_err(|e| match e.into() {
        ResolutionError::Infeasible => Error::infeasible(
            "no committee of size k meets every group bound (proved by the ILP; with overlapping groups, relax a bound of a group that shares items)",
        ),
        other => Error::infeasible(format!("the ILP solver failed: {other}")),
    })?;
    let committee: Vec<u32> = (0..y.len() as u32)
        .filter(|&i| solution.value(y[i as usize]) > 0.5)
        .collect();
    if !c.is_satisfied(&committee) {
        return Err(Error::infeasible(format!(
            "the ILP solver returned a committee of size {} that breaks the constraints (numerical trouble)",
            committee.len()
        )));
    }
    Ok(committee)
}
