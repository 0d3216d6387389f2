//! Committee scoring rules: position scores combined by OWA weights.

use lisse_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::ScoreFunction;
use crate::Profile;

/// The position-scoring vector s: the points a voter gives to its p-th ranked item
/// (p = 1 best). Non-increasing and non-negative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PositionScores {
    /// s(p) = [p ≤ t]: t-approval (plurality for t = 1).
    Approval(usize),
    /// s(p) = [p ≤ k]: approval of the top k, k the committee size (Bloc).
    ApprovalK,
    /// s(p) = m − p: Borda; the top item gets m − 1, the last 0.
    Borda,
    /// s(p) = max(t − p + 1, 0): truncated Borda with t nonzero positions.
    TruncatedBorda(usize),
    /// Explicit scores s(1), s(2), …; positions past the end score 0.
    Custom(Vec<u64>),
}

/// The OWA weights λ_1 ≥ … ≥ λ_k ≥ 0 applied to a voter's sorted member scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Owa {
    /// λ = (1, …, 1): separable (SNTV, Bloc, k-Borda).
    Sum,
    /// λ = (1, 0, …, 0): Chamberlin–Courant (the voter's best member counts).
    Best,
    /// λ_t = 1/t: proportional approval voting (PAV) and Harmonic-Borda.
    Harmonic,
    /// λ_t = p^−(t−1), integer p ≥ 2 (abcvoting's geometric Thiele rules).
    Geometric(u32),
    /// λ_t = numerators[t−1] / denominator (padded with the last entry if shorter than k).
    Custom {
        /// Non-increasing numerators.
        numerators: Vec<u64>,
        /// Common denominator ≥ 1.
        denominator: u64,
    },
}

/// A committee scoring rule (Elkind, Faliszewski, Skowron, Slinko 2017) in its OWA form
/// (Skowron, Faliszewski, Lang 2016): F(S) = Σ_v w_v Σ_{t=1..|S|} λ_t s(p_(t)), where
/// p_(1) < … < p_(|S|) are the positions of S's members in voter v's ranking.
///
/// With s and λ non-increasing and non-negative, F is monotone and submodular.
///
/// ```
/// use lisse_subset::{CommitteeScoringRule, Profile, ScoreFunction};
/// let p = Profile::new(3, vec![vec![0, 1, 2], vec![2, 1, 0]])?;
/// let borda = CommitteeScoringRule::k_borda().instantiate(&p, 2)?;
/// assert_eq!(borda.score(&[0, 1])?.value(), (2.0 + 1.0) + (0.0 + 1.0));
/// let cc = CommitteeScoringRule::borda_cc().instantiate(&p, 2)?;
/// assert_eq!(cc.score(&[0, 2])?.value(), 4.0); // both voters get their favourite
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitteeScoringRule {
    /// Position scores s.
    pub scores: PositionScores,
    /// OWA weights λ.
    pub owa: Owa,
}

impl CommitteeScoringRule {
    /// SNTV: s = plurality, λ = 1 (each voter's top item scores 1).
    pub fn sntv() -> Self {
        Self {
            scores: PositionScores::Approval(1),
            owa: Owa::Sum,
        }
    }
    /// t-Bloc: s = t-approval, λ = 1 (the paper's "10-Bloc" is t = k = 10).
    pub fn bloc(t: usize) -> Self {
        Self {
            scores: PositionScores::Approval(t),
            owa: Owa::Sum,
        }
    }
    /// Bloc with t = k.
    pub fn bloc_k() -> Self {
        Self {
            scores: PositionScores::ApprovalK,
            owa: Owa::Sum,
        }
    }
    /// k-Borda: s = Borda (top item m − 1), λ = 1.
    pub fn k_borda() -> Self {
        Self {
            scores: PositionScores::Borda,
            owa: Owa::Sum,
        }
    }
    /// Borda-CC (β-CC): s = Borda, λ = (1, 0, …, 0).
    pub fn borda_cc() -> Self {
        Self {
            scores: PositionScores::Borda,
            owa: Owa::Best,
        }
    }
    /// t-approval CC (α-CC): s = t-approval, λ = (1, 0, …, 0).
    pub fn approval_cc(t: usize) -> Self {
        Self {
            scores: PositionScores::Approval(t),
            owa: Owa::Best,
        }
    }
    /// Harmonic-Borda: s = Borda, λ_t = 1/t.
    pub fn harmonic_borda() -> Self {
        Self {
            scores: PositionScores::Borda,
            owa: Owa::Harmonic,
        }
    }
    /// PAV over t-approval: s = t-approval, λ_t = 1/t.
    pub fn pav(t: usize) -> Self {
        Self {
            scores: PositionScores::Approval(t),
            owa: Owa::Harmonic,
        }
    }
    /// Geometric rule: λ_t = p^−(t−1) with the given position scores.
    pub fn geometric(p: u32, scores: PositionScores) -> Self {
        Self {
            scores,
            owa: Owa::Geometric(p),
        }
    }

    /// A short name (`"k-Borda"`, `"5-approval CC"`, …).
    pub fn name(&self) -> String {
        let s = match &self.scores {
            PositionScores::Approval(1) => "plurality".to_owned(),
            PositionScores::Approval(t) => format!("{t}-approval"),
            PositionScores::ApprovalK => "k-approval".to_owned(),
            PositionScores::Borda => "Borda".to_owned(),
            PositionScores::TruncatedBorda(t) => format!("{t}-truncated Borda"),
            PositionScores::Custom(_) => "custom scores".to_owned(),
        };
        match (&self.scores, &self.owa) {
            (PositionScores::Approval(1), Owa::Sum) => "SNTV".into(),
            (PositionScores::Approval(t), Owa::Sum) => format!("{t}-Bloc"),
            (PositionScores::ApprovalK, Owa::Sum) => "Bloc".into(),
            (PositionScores::Borda, Owa::Sum) => "k-Borda".into(),
            (PositionScores::Borda, Owa::Harmonic) => "Harmonic-Borda".into(),
            (PositionScores::Approval(t), Owa::Harmonic) => format!("PAV ({t}-approval)"),
            (_, Owa::Best) => format!("{s} CC"),
            (_, Owa::Sum) => format!("{s} sum"),
            (_, Owa::Harmonic) => format!("{s} harmonic"),
            (_, Owa::Geometric(p)) => format!("{s} geometric-{p}"),
            (_, Owa::Custom { .. }) => format!("{s} custom OWA"),
        }
    }

    /// Whether the rule is separable (λ constant): F(S) = Σ_{c∈S} σ(c).
    pub fn is_separable(&self) -> bool {
        match &self.owa {
            Owa::Sum => true,
            Owa::Custom { numerators, .. } => numerators.windows(2).all(|w| w[0] == w[1]),
            _ => false,
        }
    }

    /// The integer position scores s(1..m).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a zero t or custom scores that increase somewhere.
    pub fn position_scores(&self, m: usize, k: usize) -> Result<Vec<u64>> {
        let s: Vec<u64> = match &self.scores {
            PositionScores::Approval(t) | PositionScores::TruncatedBorda(t) if *t == 0 => {
                return Err(Error::invalid("t", 0, "at least 1 position"));
            }
            PositionScores::Approval(t) => (0..m).map(|p| u64::from(p < *t)).collect(),
            PositionScores::ApprovalK => (0..m).map(|p| u64::from(p < k)).collect(),
            PositionScores::Borda => (0..m).map(|p| (m - 1 - p) as u64).collect(),
            PositionScores::TruncatedBorda(t) => {
                (0..m).map(|p| t.saturating_sub(p) as u64).collect()
            }
            PositionScores::Custom(v) => (0..m).map(|p| v.get(p).copied().unwrap_or(0)).collect(),
        };
        if let Some(i) = s.windows(2).position(|w| w[1] > w[0]) {
            return Err(Error::invalid(
                "position scores",
                format!("s({}) = {} < s({}) = {}", i + 1, s[i], i + 2, s[i + 1]),
                "non-increasing scores (better positions never score less)",
            ));
        }
        Ok(s)
    }

    /// The OWA weights as (numerators λ_1..λ_k, denominator).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the common denominator overflows `u64` (harmonic
    /// weights for k above about 40, geometric ones for large p^(k−1)), for p < 2, or for
    /// custom weights that increase or have a zero denominator.
    pub fn owa_weights(&self, k: usize) -> Result<(Vec<u64>, u64)> {
        let overflow = |what: &str| {
            Error::invalid(
                "k",
                k,
                format!("small enough that the {what} OWA denominator fits in 64 bits"),
            )
        };
        let (num, den) = match &self.owa {
            Owa::Sum => (vec![1; k], 1),
            Owa::Best => ((0..k).map(|t| u64::from(t == 0)).collect(), 1),
            Owa::Harmonic => {
                let mut l = 1u64;
                for t in 1..=k as u64 {
                    l = l / gcd(l, t) * t;
                    if l > u64::MAX / (k as u64 + 1) {
                        return Err(overflow("harmonic"));
                    }
                }
                ((1..=k as u64).map(|t| l / t).collect(), l)
            }
            Owa::Geometric(p) => {
                if *p < 2 {
                    return Err(Error::invalid(
                        "p",
                        p,
                        "an integer ≥ 2 (p = 1 is the sum rule)",
                    ));
                }
                let e = k.saturating_sub(1) as u32;
                let den = u64::from(*p)
                    .checked_pow(e)
                    .ok_or_else(|| overflow("geometric"))?;
                (
                    (0..k as u32).map(|t| den / u64::from(*p).pow(t)).collect(),
                    den,
                )
            }
            Owa::Custom {
                numerators,
                denominator,
            } => {
                if *denominator == 0 || numerators.is_empty() {
                    return Err(Error::invalid(
                        "custom OWA",
                        "zero denominator or no weights",
                        "a denominator ≥ 1 and at least one weight",
                    ));
                }
                let last = *numerators.last().unwrap_or(&0);
                (
                    (0..k)
                        .map(|t| numerators.get(t).copied().unwrap_or(last))
                        .collect(),
                    *denominator,
                )
            }
        };
        if let Some(i) = num.windows(2).position(|w| w[1] > w[0]) {
            return Err(Error::invalid(
                "OWA weights",
                format!("λ_{} < λ_{}", i + 1, i + 2),
                "non-increasing weights (else the rule is not submodular and the ILP is not exact)",
            ));
        }
        Ok((num, den))
    }

    /// The score function F of this rule on `profile` for committees of size `k`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for k = 0, k > m, or weights as in
    /// [`Self::position_scores`] and [`Self::owa_weights`]; or when the largest possible
    /// score would overflow 128 bits.
    pub fn instantiate<'a>(&self, profile: &'a Profile, k: usize) -> Result<CommitteeScore<'a>> {
        let m = profile.m();
        check_k(m, k)?;
        let s = self.position_scores(m, k)?;
        let (owa, den) = self.owa_weights(k)?;
        let bound = u128::from(profile.n_voters())
            .checked_mul(u128::from(s[0]))
            .and_then(|x| x.checked_mul(owa.iter().map(|&l| u128::from(l)).sum::<u128>()));
        if bound.is_none() {
            return Err(Error::invalid(
                "profile size",
                profile.n_voters(),
                "a total score below 2^128",
            ));
        }
        Ok(CommitteeScore {
            profile,
            k,
            s,
            owa,
            den,
            name: self.name(),
        })
    }
}

/// Checks 1 ≤ k ≤ m.
///
/// # Errors
/// [`Error::InvalidParameter`] otherwise.
pub(crate) fn check_k(m: usize, k: usize) -> Result<()> {
    if k == 0 || k > m {
        return Err(Error::invalid(
            "k",
            k,
            format!("a committee size between 1 and m = {m}"),
        ));
    }
    Ok(())
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A committee scoring rule instantiated on a profile and a committee size k: the set
/// function F the solvers maximize.
#[derive(Debug, Clone)]
pub struct CommitteeScore<'a> {
    profile: &'a Profile,
    k: usize,
    s: Vec<u64>,
    owa: Vec<u64>,
    den: u64,
    name: String,
}

impl<'a> CommitteeScore<'a> {
    /// The profile.
    pub fn profile(&self) -> &'a Profile {
        self.profile
    }

    /// The integer position scores s(1..m).
    pub fn s(&self) -> &[u64] {
        &self.s
    }

    /// The OWA numerators λ_1..λ_k (over [`ScoreFunction::denominator`]).
    pub fn owa(&self) -> &[u64] {
        &self.owa
    }

    /// Whether λ is constant, so F(S) = Σ_{c∈S} σ(c).
    pub fn is_separable(&self) -> bool {
        self.owa.windows(2).all(|w| w[0] == w[1])
    }

    /// Whether λ = (λ_1, 0, …, 0): Chamberlin–Courant.
    pub fn is_cc(&self) -> bool {
        self.owa.iter().skip(1).all(|&l| l == 0)
    }

    /// The scaled singleton scores σ(c)·denominator/λ_1-free form: Σ_v w_v λ_1 s(pos_v(c)),
    /// which are exactly the per-item contributions when the rule is separable.
    pub fn singleton_scores(&self) -> Vec<u128> {
        let m = self.profile.m();
        let mut out = vec![0u128; m];
        let l1 = u128::from(self.owa[0]);
        for (v, o) in self.profile.orders().enumerate() {
            let w = u128::from(self.profile.weight(v)) * l1;
            for (p, &c) in o.iter().enumerate() {
                out[c as usize] += w * u128::from(self.s[p]);
            }
        }
        out
    }

    /// Voter `v`'s scaled score of a committee given its members' positions sorted ascending.
    #[inline]
    pub(crate) fn voter_value(&self, sorted_positions: &[u32]) -> u128 {
        sorted_positions
            .iter()
            .zip(&self.owa)
            .map(|(&p, &l)| u128::from(l) * u128::from(self.s[p as usize]))
            .sum()
    }
}

impl ScoreFunction for CommitteeScore<'_> {
    fn m(&self) -> usize {
        self.profile.m()
    }
    fn k(&self) -> usize {
        self.k
    }
    fn denominator(&self) -> u64 {
        self.den
    }
    fn name(&self) -> String {
        self.name.clone()
    }
    fn scaled_value(&self, committee: &[u32]) -> u128 {
        let mut pos: Vec<u32> = Vec::with_capacity(committee.len());
        let mut total = 0u128;
        for v in 0..self.profile.n_rankings() {
            let ps = self.profile.positions(v);
            pos.clear();
            pos.extend(committee.iter().map(|&c| ps[c as usize]));
            pos.sort_unstable();
            total += u128::from(self.profile.weight(v)) * self.voter_value(&pos);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_rules_have_the_textbook_vectors() {
        let r = CommitteeScoringRule::k_borda();
        assert_eq!(r.position_scores(4, 2).unwrap(), vec![3, 2, 1, 0]);
        assert_eq!(
            CommitteeScoringRule::bloc_k()
                .position_scores(4, 2)
                .unwrap(),
            vec![1, 1, 0, 0]
        );
        assert_eq!(
            CommitteeScoringRule::sntv().position_scores(3, 2).unwrap(),
            vec![1, 0, 0]
        );
        assert_eq!(
            CommitteeScoringRule::harmonic_borda()
                .owa_weights(4)
                .unwrap(),
            (vec![12, 6, 4, 3], 12)
        );
        assert_eq!(
            CommitteeScoringRule::borda_cc().owa_weights(3).unwrap(),
            (vec![1, 0, 0], 1)
        );
        let g = CommitteeScoringRule::geometric(2, PositionScores::Borda);
        assert_eq!(g.owa_weights(3).unwrap(), (vec![4, 2, 1], 4));
        assert!(CommitteeScoringRule::pav(1).owa_weights(80).is_err());
        let bad = CommitteeScoringRule {
            scores: PositionScores::Custom(vec![1, 2]),
            owa: Owa::Sum,
        };
        assert!(bad.position_scores(3, 1).is_err());
        let p = Profile::new(3, vec![vec![0, 1, 2]]).unwrap();
        assert!(CommitteeScoringRule::sntv().instantiate(&p, 4).is_err());
        assert!(CommitteeScoringRule::sntv().instantiate(&p, 0).is_err());
    }

    #[test]
    fn pav_counts_harmonic_numbers() {
        // One voter approving items 0, 1, 2 (3-approval): PAV of {0, 1, 2} = 1 + 1/2 + 1/3.
        let p = Profile::new(5, vec![vec![0, 1, 2, 3, 4]]).unwrap();
        let f = CommitteeScoringRule::pav(3).instantiate(&p, 3).unwrap();
        let s = f.score(&[2, 0, 1]).unwrap();
        assert!((s.value() - (1.0 + 0.5 + 1.0 / 3.0)).abs() < 1e-15);
        assert_eq!(s.numerator, 6 + 3 + 2);
        assert!(f.score(&[0, 0]).is_err());
        assert!(f.score(&[0, 9]).is_err());
        assert!(f.score(&[0, 1, 2, 3]).is_err());
    }
}
