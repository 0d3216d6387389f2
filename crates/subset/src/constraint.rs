//! Fairness constraints: per-group lower and upper bounds on a committee of size k.

use lisse_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::Groups;

/// Committee size k and, optionally, bounds ℓ_g ≤ |S ∩ G_g| ≤ u_g per group.
///
/// ```
/// use lisse_subset::{Constraints, Groups};
/// let groups = Groups::partition(&[0, 0, 0, 1, 1])?;
/// let c = Constraints::exact_two_groups(3, groups.clone(), 2)?; // exactly 2 from group 1
/// assert!(c.check_feasible().is_ok());
/// assert!(c.is_satisfied(&[0, 3, 4]));
/// let e = Constraints::new(3, groups, vec![0, 3], vec![3, 3])?.check_feasible().unwrap_err();
/// assert!(e.to_string().contains("lower bound 3 of group G2 exceeds its 2 items"));
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constraints {
    k: usize,
    groups: Option<Groups>,
    lower: Vec<usize>,
    upper: Vec<usize>,
}

impl Constraints {
    /// Only the size: |S| = k.
    pub fn cardinality(k: usize) -> Self {
        Self {
            k,
            groups: None,
            lower: Vec::new(),
            upper: Vec::new(),
        }
    }

    /// Size k with bounds `lower[g] ≤ |S ∩ G_g| ≤ upper[g]`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] unless there is one bound of each kind per group.
    /// Feasibility is checked by [`Self::check_feasible`] (solvers call it).
    pub fn new(k: usize, groups: Groups, lower: Vec<usize>, upper: Vec<usize>) -> Result<Self> {
        lisse_core::check_dim("lower bounds (one per group)", groups.len(), lower.len())?;
        lisse_core::check_dim("upper bounds (one per group)", groups.len(), upper.len())?;
        Ok(Self {
            k,
            groups: Some(groups),
            lower,
            upper,
        })
    }

    /// Proportional bounds: group g gets between ⌊k·share_g⌋ and ⌈k·share_g⌉ members.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] unless one share per group; [`Error::InvalidParameter`]
    /// for a share outside [0, 1].
    pub fn proportional(k: usize, groups: Groups, shares: &[f64]) -> Result<Self> {
        lisse_core::check_dim("shares (one per group)", groups.len(), shares.len())?;
        for (g, &s) in shares.iter().enumerate() {
            lisse_core::check_range(&format!("shares[{g}]"), s, 0.0, 1.0)?;
        }
        let lower = shares
            .iter()
            .map(|s| (k as f64 * s + 1e-9).floor() as usize)
            .collect();
        let upper = shares
            .iter()
            .map(|s| (k as f64 * s - 1e-9).ceil() as usize)
            .collect();
        Self::new(k, groups, lower, upper)
    }

    /// Proportional to group sizes: share_g = |G_g| / m.
    ///
    /// # Errors
    /// As [`Self::proportional`].
    pub fn proportional_to_sizes(k: usize, groups: Groups) -> Result<Self> {
        let m = groups.m() as f64;
        let shares: Vec<f64> = (0..groups.len())
            .map(|g| groups.members(g).len() as f64 / m)
            .collect();
        Self::proportional(k, groups, &shares)
    }

    /// The paper's two-group form: exactly ℓ members from group 1 (the disadvantaged one) and
    /// k − ℓ from group 0.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless there are exactly two groups and ℓ ≤ k.
    pub fn exact_two_groups(k: usize, groups: Groups, ell: usize) -> Result<Self> {
        if groups.len() != 2 {
            return Err(Error::invalid("groups", groups.len(), "exactly two groups"));
        }
        if ell > k {
            return Err(Error::invalid("ell", ell, format!("at most k = {k}")));
        }
        Self::new(k, groups, vec![k - ell, ell], vec![k - ell, ell])
    }

    /// Committee size k.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The groups, if any.
    pub fn groups(&self) -> Option<&Groups> {
        self.groups.as_ref()
    }

    /// Lower bounds (empty without groups).
    pub fn lower(&self) -> &[usize] {
        &self.lower
    }

    /// Upper bounds (empty without groups).
    pub fn upper(&self) -> &[usize] {
        &self.upper
    }

    /// Whether there are no group bounds, or the groups are pairwise disjoint.
    pub fn is_disjoint(&self) -> bool {
        self.groups.as_ref().is_none_or(Groups::is_disjoint)
    }

    /// Checks that some committee satisfies the constraints, for items `0..m` given by the
    /// groups (without groups the caller checks k ≤ m). Exact for disjoint groups; for
    /// overlapping groups (where deciding feasibility is NP-hard) only the per-group and
    /// total conditions are checked, and the exact solvers report what remains.
    ///
    /// # Errors
    /// [`Error::Infeasible`] naming the bound that fails and what to relax.
    pub fn check_feasible(&self) -> Result<()> {
        let Some(groups) = &self.groups else {
            return Ok(());
        };
        let m = groups.m();
        if self.k == 0 || self.k > m {
            return Err(Error::infeasible(format!(
                "k = {} must be between 1 and the number of items m = {m}",
                self.k
            )));
        }
        let mut sum_lower = 0;
        let mut room = 0; // items the upper bounds admit (disjoint groups)
        for g in 0..groups.len() {
            let (l, u, size, name) = (
                self.lower[g],
                self.upper[g],
                groups.members(g).len(),
                groups.name(g),
            );
            if l > u {
                return Err(Error::infeasible(format!(
                    "lower bound {l} of group {name} exceeds its upper bound {u}"
                )));
            }
            if l > size {
                return Err(Error::infeasible(format!(
                    "lower bound {l} of group {name} exceeds its {size} items; lower it to at most {size}"
                )));
            }
            if l > self.k {
                return Err(Error::infeasible(format!(
                    "lower bound {l} of group {name} exceeds k = {}",
                    self.k
                )));
            }
            sum_lower += l;
            room += u.min(size);
        }
        if groups.is_disjoint() {
            if sum_lower > self.k {
                return Err(Error::infeasible(format!(
                    "the lower bounds add up to {sum_lower} > k = {}; lower some of them or raise k",
                    self.k
                )));
            }
            let ungrouped = (0..m as u32)
                .filter(|&c| groups.groups_of(c).is_empty())
                .count();
            if room + ungrouped < self.k {
                return Err(Error::infeasible(format!(
                    "the upper bounds admit at most {} items (including {ungrouped} ungrouped) < k = {}; raise some upper bound",
                    room + ungrouped,
                    self.k
                )));
            }
        }
        Ok(())
    }

    /// Whether `committee` has size k and meets every bound.
    pub fn is_satisfied(&self, committee: &[u32]) -> bool {
        if committee.len() != self.k {
            return false;
        }
        let Some(groups) = &self.groups else {
            return true;
        };
        groups
            .counts(committee)
            .iter()
            .enumerate()
            .all(|(g, &c)| c >= self.lower[g] && c <= self.upper[g])
    }
}

/// The fairness matroid of disjoint groups (with ungrouped items in an extra group with
/// bounds [0, k]): I = {S : |S ∩ G_g| ≤ u_g, Σ_g max(|S ∩ G_g|, ℓ_g) ≤ k}, whose bases are
/// exactly the fair k-committees when the constraints are feasible. Tracks counts so the
/// independence oracle is O(1).
#[derive(Debug, Clone)]
pub(crate) struct FairnessMatroid {
    k: usize,
    group: Vec<usize>,
    lower: Vec<usize>,
    upper: Vec<usize>,
    count: Vec<usize>,
    /// Σ_g max(count_g, ℓ_g).
    committed: usize,
    size: usize,
}

impl FairnessMatroid {
    /// The matroid for disjoint constraints.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for overlapping groups (use the ILP), [`Error::Infeasible`]
    /// as in [`Constraints::check_feasible`], k > m.
    pub(crate) fn new(c: &Constraints, m: usize) -> Result<Self> {
        crate::rule::committee_check_k(m, c.k)?;
        c.check_feasible()?;
        let (group, mut lower, mut upper) = match &c.groups {
            None => (vec![0; m], vec![0], vec![c.k]),
            Some(g) => {
                lisse_core::check_dim("groups (items)", m, g.m())?;
                if !g.is_disjoint() {
                    return Err(Error::invalid(
                        "groups",
                        "overlapping groups",
                        "disjoint groups for this solver; use solver::ilp or solver::brute_force with overlapping groups",
                    ));
                }
                let extra = g.len();
                let group = (0..m as u32)
                    .map(|i| g.group_of(i).unwrap_or(extra))
                    .collect();
                (group, c.lower.clone(), c.upper.clone())
            }
        };
        if c.groups.is_some() {
            lower.push(0);
            upper.push(c.k);
        }
        let committed = lower.iter().sum();
        Ok(Self {
            k: c.k,
            count: vec![0; lower.len()],
            group,
            lower,
            upper,
            committed,
            size: 0,
        })
    }

    /// Whether S + c stays independent (c not in S).
    #[inline]
    pub(crate) fn can_add(&self, c: u32) -> bool {
        let g = self.group[c as usize];
        if self.count[g] >= self.upper[g] || self.size >= self.k {
            return false;
        }
        let extra = usize::from(self.count[g] >= self.lower[g]);
        self.committed + extra <= self.k
    }

    /// Adds c (after [`Self::can_add`]).
    pub(crate) fn add(&mut self, c: u32) {
        let g = self.group[c as usize];
        if self.count[g] >= self.lower[g] {
            self.committed += 1;
        }
        self.count[g] += 1;
        self.size += 1;
    }

    /// Removes c (a member).
    pub(crate) fn remove(&mut self, c: u32) {
        let g = self.group[c as usize];
        self.count[g] -= 1;
        self.size -= 1;
        if self.count[g] >= self.lower[g] {
            self.committed -= 1;
        }
    }

    /// Group index of an item (ungrouped items share the last index).
    pub(crate) fn group(&self, c: u32) -> usize {
        self.group[c as usize]
    }

    /// Per-group (count, lower, upper).
    pub(crate) fn quota(&self, g: usize) -> (usize, usize, usize) {
        (self.count[g], self.lower[g], self.upper[g])
    }

    /// Number of groups (including the ungrouped one).
    pub(crate) fn n_groups(&self) -> usize {
        self.lower.len()
    }
}
