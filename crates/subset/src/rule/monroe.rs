//! The Monroe rule.

use lisse_core::Result;
use serde::{Deserialize, Serialize};

use super::ScoreFunction;
use super::committee::{PositionScores, check_k};
use crate::{CommitteeScoringRule, Profile};

/// The Monroe rule (Monroe 1995): every voter is assigned to one committee member, each
/// member represents ⌊n/k⌋ or ⌈n/k⌉ voters (n = number of voters, multiplicities counted),
/// and F(S) is the largest total Σ_v s(pos_v(assigned member)) over such assignments.
/// Not submodular; solved exactly by [`crate::solver::ilp`] or brute force.
///
/// For a fixed committee the assignment is a transportation problem, solved exactly here by
/// min-cost max-flow (successive shortest paths). A partial committee (|S| < k) assigns as
/// many voters as it can with at most ⌈n/k⌉ per member.
///
/// ```
/// use lisse_subset::{Monroe, Profile, ScoreFunction};
/// use lisse_subset::rule::PositionScores;
/// // Four voters, two like item 0 best, two like item 1 best; k = 2.
/// let p = Profile::new(3, vec![vec![0, 1, 2], vec![0, 2, 1], vec![1, 0, 2], vec![1, 2, 0]])?;
/// let f = Monroe::new(PositionScores::Borda).instantiate(&p, 2)?;
/// assert_eq!(f.score(&[0, 1])?.value(), 8.0); // everybody gets their favourite (2 points)
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Monroe {
    /// Position scores s.
    pub scores: PositionScores,
}

impl Monroe {
    /// Monroe with position scores s (Borda in Monroe's original rule).
    pub fn new(scores: PositionScores) -> Self {
        Self { scores }
    }

    /// The score function on `profile` for committees of size k.
    ///
    /// # Errors
    /// As [`CommitteeScoringRule::instantiate`].
    pub fn instantiate<'a>(&self, profile: &'a Profile, k: usize) -> Result<MonroeScore<'a>> {
        check_k(profile.m(), k)?;
        let rule = CommitteeScoringRule {
            scores: self.scores.clone(),
            owa: crate::rule::Owa::Best,
        };
        let s = rule.position_scores(profile.m(), k)?;
        let n = profile.n_voters();
        Ok(MonroeScore {
            profile,
            k,
            s,
            name: format!("Monroe ({})", rule.name().trim_end_matches(" CC")),
            lower: n / k as u64,
            upper: n.div_ceil(k as u64),
        })
    }
}

/// Monroe instantiated on a profile and k.
#[derive(Debug, Clone)]
pub struct MonroeScore<'a> {
    profile: &'a Profile,
    k: usize,
    s: Vec<u64>,
    name: String,
    lower: u64,
    upper: u64,
}

impl<'a> MonroeScore<'a> {
    /// The profile.
    pub fn profile(&self) -> &'a Profile {
        self.profile
    }
    /// Integer position scores.
    pub fn s(&self) -> &[u64] {
        &self.s
    }
    /// (⌊n/k⌋, ⌈n/k⌉): the voters each member represents.
    pub fn capacities(&self) -> (u64, u64) {
        (self.lower, self.upper)
    }
}

impl ScoreFunction for MonroeScore<'_> {
    fn m(&self) -> usize {
        self.profile.m()
    }
    fn k(&self) -> usize {
        self.k
    }
    fn denominator(&self) -> u64 {
        1
    }
    fn name(&self) -> String {
        self.name.clone()
    }
    fn scaled_value(&self, committee: &[u32]) -> u128 {
        if committee.is_empty() {
            return 0;
        }
        let nr = self.profile.n_rankings();
        let kk = committee.len();
        // Nodes: 0 source, 1..=nr voters, then members, then `extra`, then sink.
        let (src, extra, sink) = (0, 1 + nr + kk, 2 + nr + kk);
        let mut g = Flow::new(sink + 1);
        for v in 0..nr {
            let w = self.profile.weight(v);
            g.edge(src, 1 + v, w, 0);
            for (j, &c) in committee.iter().enumerate() {
                let sc = self.s[self.profile.position(v, c)] as i128;
                g.edge(1 + v, 1 + nr + j, w, -sc);
            }
        }
        if kk == self.k {
            let r = self.profile.n_voters() - self.lower * self.k as u64;
            for j in 0..kk {
                g.edge(1 + nr + j, sink, self.lower, 0);
                g.edge(1 + nr + j, extra, 1, 0);
            }
            g.edge(extra, sink, r, 0);
        } else {
            for j in 0..kk {
                g.edge(1 + nr + j, sink, self.upper, 0);
            }
        }
        (-g.min_cost_max_flow(src, sink)) as u128
    }
}

/// A small min-cost max-flow network (successive shortest paths with Bellman–Ford, which
/// handles the negative costs).
struct Flow {
    to: Vec<usize>,
    cap: Vec<u64>,
    cost: Vec<i128>,
    adj: Vec<Vec<usize>>,
}

impl Flow {
    fn new(n: usize) -> Self {
        Self {
            to: Vec::new(),
            cap: Vec::new(),
            cost: Vec::new(),
            adj: vec![Vec::new(); n],
        }
    }

    fn edge(&mut self, a: usize, b: usize, cap: u64, cost: i128) {
        self.adj[a].push(self.to.len());
        self.to.push(b);
        self.cap.push(cap);
        self.cost.push(cost);
        self.adj[b].push(self.to.len());
        self.to.push(a);
        self.cap.push(0);
        self.cost.push(-cost);
    }

    /// Total cost of a min-cost maximum flow.
    fn min_cost_max_flow(&mut self, s: usize, t: usize) -> i128 {
        let n = self.adj.len();
        let mut total = 0i128;
        loop {
            let mut dist = vec![i128::MAX; n];
            let mut prev = vec![usize::MAX; n];
            let mut in_queue = vec![false; n];
            dist[s] = 0;
            let mut queue = std::collections::VecDeque::from([s]);
            while let Some(u) = queue.pop_front() {
                in_queue[u] = false;
                for &e in &self.adj[u] {
                    if self.cap[e] > 0 && dist[u] + self.cost[e] < dist[self.to[e]] {
                        let v = self.to[e];
                        dist[v] = dist[u] + self.cost[e];
                        prev[v] = e;
                        if !in_queue[v] {
                            in_queue[v] = true;
                            queue.push_back(v);
                        }
                    }
                }
            }
            if dist[t] == i128::MAX {
                return total;
            }
            let mut f = u64::MAX;
            let mut v = t;
            while v != s {
                let e = prev[v];
                f = f.min(self.cap[e]);
                v = self.to[e ^ 1];
            }
            let mut v = t;
            while v != s {
                let e = prev[v];
                self.cap[e] -= f;
                self.cap[e ^ 1] += f;
                v = self.to[e ^ 1];
            }
            total += i128::from(f) * dist[t];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Monroe by enumerating every assignment of voters (weight 1) to members.
    fn brute(p: &Profile, s: &[u64], committee: &[u32]) -> u128 {
        let n = p.n_rankings();
        let k = committee.len();
        let (lo, hi) = (n / k, n.div_ceil(k));
        let mut best = 0u128;
        let total = k.pow(n as u32);
        for code in 0..total {
            let mut x = code;
            let mut load = vec![0; k];
            let mut val = 0u128;
            for v in 0..n {
                let j = x % k;
                x /= k;
                load[j] += 1;
                val += u128::from(s[p.position(v, committee[j])]);
            }
            if load.iter().all(|&l| l >= lo && l <= hi) {
                best = best.max(val);
            }
        }
        best
    }

    #[test]
    fn flow_matches_brute_force_assignments() {
        use crate::culture::{Culture, ImpartialCulture};
        let rng = &mut lisse_core::RngStreams::new(4).stream(0);
        for trial in 0..20 {
            let n = 3 + trial % 5;
            let p = ImpartialCulture.sample(5, n, rng).unwrap();
            let f = Monroe::new(PositionScores::Borda)
                .instantiate(&p, 2)
                .unwrap();
            for committee in [[0u32, 1], [2, 4], [3, 1]] {
                assert_eq!(f.scaled_value(&committee), brute(&p, f.s(), &committee));
            }
        }
    }
}
