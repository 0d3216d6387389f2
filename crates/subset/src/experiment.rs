//! The paper's experiment: how close the (constrained and unconstrained) selection from n
//! biased rankings comes to the best committee for the latent population, as n grows.
//!
//! For each repetition: split the items into two random groups (G1 favoured, G2
//! disadvantaged); draw n_max latent rankings and bias them; draw `n_eval` further latent
//! rankings as the population (the ground truth F). For each n in the grid (prefixes of the
//! n_max rankings) and each rule:
//!
//! - OPT = max_{|S|=k} F(S) on the population;
//! - unconstrained: S = argmax F̂(S) on the first n biased rankings;
//! - constrained, for each ℓ: S_ℓ = argmax F̂(S) with |S ∩ G2| = ℓ;
//!
//! and records F(S)/OPT. The paper's notebook plots max_ℓ of the mean ratio against the bias
//! λ at fixed n; here n varies, which shows how many rankings each rule needs. Separable rules
//! are solved exactly by sorting, the others by the ILP.

use lisse_core::{Result, RngStreams};
use serde::{Deserialize, Serialize};

use crate::bias::SwapBias;
use crate::culture::{AnyCulture, Culture};
use crate::rule::CommitteeScore;
use crate::{CommitteeScoringRule, Constraints, Groups, Profile, ScoreFunction, Selection, solver};

/// Parameters of the ratio experiment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RatioExperiment {
    /// Items m.
    pub m: usize,
    /// Committee size k.
    pub k: usize,
    /// Size of the favoured group G1 (G2 has m − size_g1 items).
    pub size_g1: usize,
    /// Numbers of biased rankings n (ascending).
    pub n_grid: Vec<usize>,
    /// Values of ℓ = |S ∩ G2| for the constrained selections.
    pub ells: Vec<usize>,
    /// Rankings in the population that defines F and OPT.
    pub n_eval: usize,
    /// Latent culture.
    pub culture: AnyCulture,
    /// Bias model (favouring G1).
    pub bias: SwapBias,
    /// Rules.
    pub rules: Vec<CommitteeScoringRule>,
}

/// One measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioSample {
    /// Repetition.
    pub rep: u64,
    /// Rule name.
    pub rule: String,
    /// Number of biased rankings used.
    pub n: usize,
    /// ℓ, or `None` for the unconstrained selection.
    pub ell: Option<usize>,
    /// F(S)/OPT on the population.
    pub ratio: f64,
}

/// Mean and standard error over repetitions, per (rule, n, ℓ).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioSummary {
    /// Rule name.
    pub rule: String,
    /// n.
    pub n: usize,
    /// ℓ (`None`: unconstrained).
    pub ell: Option<usize>,
    /// Mean ratio.
    pub mean: f64,
    /// Its standard error.
    pub se: f64,
    /// Repetitions.
    pub reps: usize,
}

impl RatioExperiment {
    /// Runs repetition `rep` with `streams.child(rep)` (independent of every other
    /// repetition, so repetitions may run in parallel in any order).
    ///
    /// # Errors
    /// Invalid parameters (k > m, ℓ > |G2|, …) as typed errors of the parts.
    pub fn run_rep(&self, streams: &RngStreams, rep: u64) -> Result<Vec<RatioSample>> {
        let s = streams.child(rep);
        let n_max = self.n_grid.iter().copied().max().unwrap_or(0);
        let groups = Groups::random_split(self.m, self.size_g1, &mut s.stream(0))?;
        let latent = self.culture.sample(self.m, n_max, &mut s.stream(1))?;
        let biased = self.bias.apply(&latent, &groups, 0, &mut s.stream(2))?;
        let population = self
            .culture
            .sample(self.m, self.n_eval, &mut s.stream(3))?
            .merge_identical();
        let mut out = Vec::new();
        for rule in &self.rules {
            let truth = rule.instantiate(&population, self.k)?;
            let opt = solve(&truth, &Constraints::cardinality(self.k))?
                .score
                .numerator as f64;
            for &n in &self.n_grid {
                let prefix = prefix(&biased, n)?;
                let f_hat = rule.instantiate(&prefix, self.k)?;
                let mut record = |ell: Option<usize>, c: &Constraints| -> Result<()> {
                    let sel = solve(&f_hat, c)?;
                    let value = truth.scaled_value(&sel.committee) as f64;
                    out.push(RatioSample {
                        rep,
                        rule: rule.name(),
                        n,
                        ell,
                        ratio: if opt > 0.0 { value / opt } else { 1.0 },
                    });
                    Ok(())
                };
                record(None, &Constraints::cardinality(self.k))?;
                for &ell in &self.ells {
                    record(
                        Some(ell),
                        &Constraints::exact_two_groups(self.k, groups.clone(), ell)?,
                    )?;
                }
            }
        }
        Ok(out)
    }

    /// Means and standard errors per (rule, n, ℓ), in first-seen order.
    pub fn summarize(samples: &[RatioSample]) -> Vec<RatioSummary> {
        let mut keys: Vec<(String, usize, Option<usize>)> = Vec::new();
        for s in samples {
            let key = (s.rule.clone(), s.n, s.ell);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys.into_iter()
            .map(|(rule, n, ell)| {
                let x: Vec<f64> = samples
                    .iter()
                    .filter(|s| s.rule == rule && s.n == n && s.ell == ell)
                    .map(|s| s.ratio)
                    .collect();
                let r = x.len() as f64;
                let mean = x.iter().sum::<f64>() / r;
                let var = if x.len() > 1 {
                    x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (r - 1.0)
                } else {
                    0.0
                };
                RatioSummary {
                    rule,
                    n,
                    ell,
                    mean,
                    se: (var / r).sqrt(),
                    reps: x.len(),
                }
            })
            .collect()
    }
}

/// The first n rankings of a profile.
fn prefix(p: &Profile, n: usize) -> Result<Profile> {
    let n = n.min(p.n_rankings());
    let orders: Vec<u32> = p.orders().take(n).flatten().copied().collect();
    Profile::from_flat(p.m(), orders, p.weights()[..n].to_vec())
}

/// Exact: sorting for separable rules, the ILP otherwise.
fn solve(f: &CommitteeScore<'_>, c: &Constraints) -> Result<Selection> {
    if f.is_separable() {
        solver::separable(f, c)
    } else {
        solver::ilp(f, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::culture::Mallows;

    #[test]
    fn without_bias_ratios_approach_one_and_never_exceed_it() {
        let exp = RatioExperiment {
            m: 8,
            k: 3,
            size_g1: 4,
            n_grid: vec![2, 200],
            ells: vec![0, 1, 2, 3],
            n_eval: 400,
            culture: AnyCulture::Mallows(Mallows::new(0.5).unwrap()),
            bias: SwapBias::new(0.5, 0.0).unwrap(),
            rules: vec![
                CommitteeScoringRule::k_borda(),
                CommitteeScoringRule::approval_cc(2),
            ],
        };
        let streams = RngStreams::new(1);
        let samples: Vec<RatioSample> = (0..6)
            .flat_map(|r| exp.run_rep(&streams, r).unwrap())
            .collect();
        assert!(
            samples
                .iter()
                .all(|s| s.ratio <= 1.0 + 1e-12 && s.ratio >= 0.0)
        );
        let sum = RatioExperiment::summarize(&samples);
        for rule in ["k-Borda", "2-approval CC"] {
            let at = |n| {
                sum.iter()
                    .find(|s| s.rule == rule && s.n == n && s.ell.is_none())
                    .unwrap()
                    .mean
            };
            assert!(at(200) > 0.97, "{rule}: {}", at(200));
        }
        assert_eq!(
            exp.run_rep(&streams, 3).unwrap(),
            exp.run_rep(&streams, 3).unwrap()
        );
    }
}
