//! Item groups: a partition, or overlapping memberships.

use lisse_core::{Error, Result};
use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// Groups of items (for fairness constraints). Each group is a set of item ids; groups may
/// overlap, and items may belong to no group.
///
/// ```
/// use lisse_subset::Groups;
/// let g = Groups::partition(&[0, 1, 0, 1])?; // items 0, 2 in group 0; items 1, 3 in group 1
/// assert!(g.is_partition());
/// assert_eq!(g.members(1), &[1, 3]);
/// assert_eq!(g.group_of(2), Some(0));
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Groups {
    m: usize,
    members: Vec<Vec<u32>>,
    names: Vec<String>,
    /// For each item, the groups containing it (ascending).
    of_item: Vec<Vec<usize>>,
}

impl Groups {
    /// A partition given by one label per item: item `c` is in group `labels[c]`. Groups are
    /// numbered `0..=max(labels)`; each must be non-empty.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an empty label list or a label with no item.
    pub fn partition(labels: &[usize]) -> Result<Self> {
        let m = labels.len();
        crate::profile::check_size(m, 1)?;
        let count = labels.iter().max().map_or(0, |&l| l + 1);
        if count > m {
            return Err(Error::invalid(
                "labels",
                format!("a label {}", count - 1),
                format!("group labels 0..g with every group non-empty (m = {m} items)"),
            ));
        }
        let mut members = vec![Vec::new(); count];
        for (c, &l) in labels.iter().enumerate() {
            members[l].push(c as u32);
        }
        Self::overlapping(m, members)
    }

    /// Groups given by their member lists, possibly overlapping.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an unknown item, an item listed twice in a group, or an
    /// empty group.
    pub fn overlapping(m: usize, members: Vec<Vec<u32>>) -> Result<Self> {
        crate::profile::check_size(m, 1)?;
        let mut of_item = vec![Vec::new(); m];
        let mut members = members;
        for (g, mem) in members.iter_mut().enumerate() {
            if mem.is_empty() {
                return Err(Error::invalid(
                    format!("groups[{g}]"),
                    "an empty group",
                    "at least one item per group",
                ));
            }
            mem.sort_unstable();
            for w in mem.windows(2) {
                if w[0] == w[1] {
                    return Err(Error::invalid(
                        format!("groups[{g}]"),
                        format!("item {} listed twice", w[0]),
                        "each item at most once per group",
                    ));
                }
            }
            for &c in mem.iter() {
                if c as usize >= m {
                    return Err(Error::invalid(
                        format!("groups[{g}]"),
                        format!("unknown item {c}"),
                        format!("items numbered 0..{m}"),
                    ));
                }
                of_item[c as usize].push(g);
            }
        }
        let names = (0..members.len()).map(|g| format!("G{}", g + 1)).collect();
        Ok(Self {
            m,
            members,
            names,
            of_item,
        })
    }

    /// Two groups from a uniformly random split: `size_first` items in group 0 (the group the
    /// bias favours in [`crate::bias`]), the rest in group 1 — the paper's experimental setup.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `1 ≤ size_first < m`.
    pub fn random_split<R: Rng + ?Sized>(m: usize, size_first: usize, rng: &mut R) -> Result<Self> {
        if size_first == 0 || size_first >= m {
            return Err(Error::invalid(
                "size_first",
                size_first,
                format!("between 1 and m − 1 = {}", m.saturating_sub(1)),
            ));
        }
        let mut items: Vec<u32> = (0..m as u32).collect();
        items.shuffle(rng);
        let mut labels = vec![1usize; m];
        for &c in &items[..size_first] {
            labels[c as usize] = 0;
        }
        Self::partition(&labels)
    }

    /// Replaces the default names (`G1`, `G2`, …) used in error messages and reports.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] unless there is one name per group.
    pub fn with_names(mut self, names: Vec<String>) -> Result<Self> {
        lisse_core::check_dim("group names", self.members.len(), names.len())?;
        self.names = names;
        Ok(self)
    }

    /// Number of items m.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no groups.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The items of group `g`, ascending.
    ///
    /// # Panics
    /// When `g >= len()`.
    pub fn members(&self, g: usize) -> &[u32] {
        &self.members[g]
    }

    /// The name of group `g`.
    ///
    /// # Panics
    /// When `g >= len()`.
    pub fn name(&self, g: usize) -> &str {
        &self.names[g]
    }

    /// The groups containing item `c`, ascending.
    ///
    /// # Panics
    /// When `c >= m`.
    pub fn groups_of(&self, c: u32) -> &[usize] {
        &self.of_item[c as usize]
    }

    /// The single group of `c` when it belongs to exactly one group.
    ///
    /// # Panics
    /// When `c >= m`.
    pub fn group_of(&self, c: u32) -> Option<usize> {
        match self.of_item[c as usize].as_slice() {
            [g] => Some(*g),
            _ => None,
        }
    }

    /// Whether every item belongs to exactly one group.
    pub fn is_partition(&self) -> bool {
        self.of_item.iter().all(|g| g.len() == 1)
    }

    /// Whether the groups are pairwise disjoint (some items may be in no group).
    pub fn is_disjoint(&self) -> bool {
        self.of_item.iter().all(|g| g.len() <= 1)
    }

    /// Per-group counts of a committee.
    pub fn counts(&self, committee: &[u32]) -> Vec<usize> {
        let mut counts = vec![0; self.len()];
        for &c in committee {
            if let Some(gs) = self.of_item.get(c as usize) {
                for &g in gs {
                    counts[g] += 1;
                }
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lisse_core::RngStreams;

    #[test]
    fn partitions_and_overlaps() {
        let g = Groups::overlapping(4, vec![vec![0, 1], vec![1, 2]]).unwrap();
        assert!(!g.is_partition() && !g.is_disjoint());
        assert_eq!(g.groups_of(1), &[0, 1]);
        assert_eq!(g.group_of(1), None);
        assert_eq!(g.counts(&[1, 3]), vec![1, 1]);
        assert!(Groups::overlapping(3, vec![vec![0, 5]]).is_err());
        assert!(Groups::overlapping(3, vec![vec![0, 0]]).is_err());
        assert!(Groups::overlapping(3, vec![vec![]]).is_err());
        assert!(Groups::partition(&[0, 2, 2]).is_err()); // group 1 empty
    }

    #[test]
    fn random_split_sizes() {
        let mut rng = RngStreams::new(1).stream(0);
        let g = Groups::random_split(10, 4, &mut rng).unwrap();
        assert_eq!(g.members(0).len(), 4);
        assert_eq!(g.members(1).len(), 6);
        assert!(g.is_partition());
        assert!(Groups::random_split(10, 10, &mut rng).is_err());
    }
}
