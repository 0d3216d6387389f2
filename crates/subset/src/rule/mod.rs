//! Score functions on committees: committee scoring rules (position scores with OWA weights)
//! and Monroe.
//!
//! Every score is exact: position scores and OWA weights are integers over one common
//! denominator (lcm(1, …, k) for the harmonic weights, p^(k−1) for geometric ones), and values
//! are `u128` numerators, so ties and optimality are decided without rounding. [`Score`]
//! carries the numerator and the denominator; [`Score::value`] gives the `f64`.

mod committee;
mod monroe;

pub(crate) use committee::check_k as committee_check_k;
pub use committee::{CommitteeScore, CommitteeScoringRule, Owa, PositionScores};
pub use monroe::{Monroe, MonroeScore};

use serde::{Deserialize, Serialize};

/// An exact score: `numerator / denominator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Score {
    /// The scaled value.
    pub numerator: u128,
    /// The common denominator of the rule's weights.
    pub denominator: u64,
}

impl Score {
    /// The score as a float.
    pub fn value(&self) -> f64 {
        self.numerator as f64 / self.denominator as f64
    }
}

/// A set function F(S) on committees of one profile, exact in integers.
pub trait ScoreFunction {
    /// Number of items m.
    fn m(&self) -> usize;
    /// Committee size k the function is instantiated for.
    fn k(&self) -> usize;
    /// The common denominator of every value.
    fn denominator(&self) -> u64;
    /// F(S)·denominator for a committee of distinct items below m, |S| ≤ k. Callers have
    /// validated the committee (solvers do; [`ScoreFunction::score`] does).
    fn scaled_value(&self, committee: &[u32]) -> u128;
    /// A short name for reports.
    fn name(&self) -> String;

    /// F(S) exactly, after checking the committee.
    ///
    /// # Errors
    /// [`lisse_core::Error::InvalidParameter`] for an unknown or repeated item, or |S| > k.
    fn score(&self, committee: &[u32]) -> lisse_core::Result<Score> {
        check_committee(self.m(), self.k(), committee)?;
        Ok(Score {
            numerator: self.scaled_value(committee),
            denominator: self.denominator(),
        })
    }
}

/// Checks a committee: distinct items below m, at most k of them.
///
/// # Errors
/// [`lisse_core::Error::InvalidParameter`] naming the problem.
pub fn check_committee(m: usize, k: usize, committee: &[u32]) -> lisse_core::Result<()> {
    use lisse_core::Error;
    if committee.len() > k {
        return Err(Error::invalid(
            "committee",
            format!("{} members", committee.len()),
            format!("at most k = {k} members"),
        ));
    }
    let mut seen = vec![false; m];
    for &c in committee {
        if c as usize >= m {
            return Err(Error::invalid(
                "committee",
                format!("unknown item {c}"),
                format!("items 0..{m}"),
            ));
        }
        if std::mem::replace(&mut seen[c as usize], true) {
            return Err(Error::invalid(
                "committee",
                format!("item {c} twice"),
                "distinct items",
            ));
        }
    }
    Ok(())
}
