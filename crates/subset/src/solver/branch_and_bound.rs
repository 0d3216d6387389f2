//! Branch-and-bound for submodular committee scores.

use lisse_core::Result;

use super::state::OwaState;
use super::{Selection, greedy};
use crate::constraint::FairnessMatroid;
use crate::rule::CommitteeScore;
use crate::{Constraints, ScoreFunction};

/// An exact search over committees, for submodular committee scoring rules under disjoint
/// group bounds (the method of abcvoting's Thiele branch-and-bound, made group-aware).
///
/// - Incumbent: the [`greedy`] committee.
/// - Branching: items in decreasing singleton score; a node fixes which of the first i items
///   are members.
/// - Bound: F(partial) plus the best `missing` marginal gains of the remaining items, chosen
///   subject to the remaining upper quotas. Valid by submodularity (gains only shrink as the
///   committee grows), so no optimum is pruned.
/// - Pruning also drops nodes whose remaining items cannot meet a lower bound.
///
/// Expect it to lose to [`super::ilp`] on mid-size instances with many near-ties; it wins when
/// the greedy is already near-optimal and the bound is tight (small k, skewed profiles).
///
/// # Errors
/// As [`greedy`].
pub fn branch_and_bound(f: &CommitteeScore<'_>, constraints: &Constraints) -> Result<Selection> {
    let incumbent = greedy(f, constraints)?;
    let m = f.m();
    let mut matroid = FairnessMatroid::new(constraints, m)?;
    let singles = f.singleton_scores();
    let mut order: Vec<u32> = (0..m as u32).collect();
    order.sort_unstable_by(|&a, &b| {
        singles[b as usize]
            .cmp(&singles[a as usize])
            .then(a.cmp(&b))
    });
    let mut search = Search {
        order,
        k: constraints.k(),
        best: incumbent.score.numerator,
        best_committee: incumbent.committee,
        gains: Vec::with_capacity(m),
    };
    let mut state = OwaState::new(f);
    search.dfs(0, &mut state, &mut matroid);
    Ok(Selection::new(
        search.best_committee,
        search.best,
        f.denominator(),
    ))
}

struct Search {
    order: Vec<u32>,
    k: usize,
    best: u128,
    best_committee: Vec<u32>,
    gains: Vec<(u128, u32)>,
}

impl Search {
    fn dfs(&mut self, i: usize, state: &mut OwaState<'_, '_>, matroid: &mut FairnessMatroid) {
        let missing = self.k - state.members.len();
        if missing == 0 {
            if state.value > self.best {
                self.best = state.value;
                self.best_committee = state.members.clone();
            }
            return;
        }
        if self.order.len() - i < missing || !self.bound_allows(i, state, matroid, missing) {
            return;
        }
        let c = self.order[i];
        if matroid.can_add(c) {
            matroid.add(c);
            state.add(c);
            self.dfs(i + 1, state, matroid);
            state.pop();
            matroid.remove(c);
        }
        self.dfs(i + 1, state, matroid);
    }

    /// Whether the optimistic bound beats the incumbent and every lower bound can still be met.
    fn bound_allows(
        &mut self,
        i: usize,
        state: &OwaState<'_, '_>,
        matroid: &FairnessMatroid,
        missing: usize,
    ) -> bool {
        let ng = matroid.n_groups();
        let mut avail = vec![0usize; ng];
        self.gains.clear();
        for &c in &self.order[i..] {
            if matroid.can_add(c) {
                avail[matroid.group(c)] += 1;
                self.gains.push((state.gain(c), c));
            }
        }
        let mut need = 0;
        for (g, &a) in avail.iter().enumerate() {
            let (count, lower, _) = matroid.quota(g);
            if count + a < lower {
                return false;
            }
            need += lower.saturating_sub(count);
        }
        if need > missing {
            return false;
        }
        self.gains.sort_unstable_by(|a, b| b.cmp(a));
        let mut room: Vec<usize> = (0..ng)
            .map(|g| {
                let (count, _, upper) = matroid.quota(g);
                upper - count
            })
            .collect();
        let mut bound = state.value;
        let mut taken = 0;
        for &(gain, c) in &self.gains {
            if taken == missing {
                break;
            }
            let g = matroid.group(c);
            if room[g] > 0 {
                room[g] -= 1;
                bound += gain;
                taken += 1;
            }
        }
        taken == missing && bound > self.best
    }
}
