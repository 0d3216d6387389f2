//! The paper's tool: estimate a score function's smoothness parameters α and γ(β) under a
//! latent generator and a bias model, with standard errors.
//!
//! Following the released code's `get_alpha` (Boehmer et al. 2023), with its defects fixed:
//!
//! - f(c) and f̂(c) are the expected per-ranking singleton scores F({c}) of item c under the
//!   latent and the biased model, estimated by averaging over `iters` independently drawn
//!   profiles (per-item standard errors from the spread across draws).
//! - **α** = (1/τ₁) · min_c min(f(c), f̂(c)), τ₁ the largest per-ranking singleton score
//!   (λ₁·s(1): m − 1 for Borda, 1 for SNTV). The notebook divides by m for every rule.
//! - **γ(β)** = max { f̂(j)/f̂(i) : i ≠ j in the same group, f(j) ≤ β·f(i) } over *ordered*
//!   pairs (the notebook scans unordered pairs, so only one direction of each is checked), on a
//!   grid of β from min f / max f to 1. Undefined (`None`) when no pair qualifies.
//! - Standard errors: α's is the standard error of the attaining item's mean over τ₁; γ's is
//!   the delta-method error of the attaining ratio, r·√((se_j/f̂_j)² + (se_i/f̂_i)²), which
//!   ignores the covariance of f̂_i and f̂_j. The notebook's `DELTA` argument (unused there) is
//!   dropped; [`SmoothnessEstimate::rankings_needed`] uses δ instead.
//!
//! Reading [R, to be checked against the paper's Definition]: large α means every item gets
//! enough score mass for empirical scores to concentrate with few rankings; γ(β) < 1 means the
//! bias does not erase within-group quality gaps of factor β.
//!
//! ```
//! use lisse_core::RngStreams;
//! use lisse_subset::bias::SwapBias;
//! use lisse_subset::culture::{Culture, Mallows};
//! use lisse_subset::smoothness::estimate;
//! use lisse_subset::{CommitteeScoringRule, Groups};
//! let groups = Groups::random_split(8, 4, &mut RngStreams::new(1).stream(0))?;
//! let (mallows, bias) = (Mallows::new(0.5)?, SwapBias::new(0.5, 0.5)?);
//! let est = estimate(&CommitteeScoringRule::k_borda(), 1, 8, 50, 20, &RngStreams::new(2), |rng| {
//!     let latent = mallows.sample(8, 10, rng)?;
//!     let biased = bias.apply(&latent, &groups, 0, rng)?;
//!     Ok((latent, biased))
//! }, &groups)?;
//! assert!(est.alpha > 0.0 && est.alpha <= 1.0);
//! # Ok::<(), lisse_core::Error>(())
//! ```

use lisse_core::{Error, Result, RngStreams, StreamRng};
use serde::{Deserialize, Serialize};

use crate::{CommitteeScoringRule, Groups, Profile};

/// One point of the γ(β) curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GammaPoint {
    /// β.
    pub beta: f64,
    /// γ(β), `None` when no same-group pair has f(j) ≤ β·f(i).
    pub gamma: Option<f64>,
    /// Its standard error (delta method).
    pub gamma_se: Option<f64>,
}

/// The output of [`estimate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmoothnessEstimate {
    /// The rule's name.
    pub rule: String,
    /// α.
    pub alpha: f64,
    /// Standard error of α.
    pub alpha_se: f64,
    /// The normalizer τ₁.
    pub tau1: f64,
    /// γ(β) on the grid.
    pub curve: Vec<GammaPoint>,
    /// Per-item mean per-ranking singleton scores, latent model.
    pub latent_mean: Vec<f64>,
    /// Their standard errors.
    pub latent_se: Vec<f64>,
    /// Per-item mean per-ranking singleton scores, biased model.
    pub biased_mean: Vec<f64>,
    /// Their standard errors.
    pub biased_se: Vec<f64>,
    /// Number of profile draws.
    pub iters: usize,
}

impl SmoothnessEstimate {
    /// γ at the grid point nearest β (`None` if undefined there).
    pub fn gamma_at(&self, beta: f64) -> Option<f64> {
        self.curve
            .iter()
            .min_by(|a, b| (a.beta - beta).abs().total_cmp(&(b.beta - beta).abs()))
            .and_then(|p| p.gamma)
    }

    /// A sufficient number of rankings, from a multiplicative Chernoff bound [derived here, not
    /// the paper's theorem constant]: per-ranking singleton scores lie in [0, τ₁] with mean at
    /// least α·τ₁, so n ≥ 3 ln(2m/δ) / (α ε²) puts every item's empirical biased score within
    /// a factor 1 ± ε of its mean with probability 1 − δ; ε = (1 − γ)/(1 + γ) then keeps every
    /// same-group pair with f(j) ≤ β f(i) in order. `None` when γ(β) is undefined or ≥ 1.
    pub fn rankings_needed(&self, beta: f64, delta: f64) -> Option<f64> {
        let g = self.gamma_at(beta)?;
        if g >= 1.0 || self.alpha <= 0.0 || !(delta > 0.0 && delta < 1.0) {
            return None;
        }
        let eps = (1.0 - g) / (1.0 + g);
        let m = self.latent_mean.len() as f64;
        Some(3.0 * (2.0 * m / delta).ln() / (self.alpha * eps * eps))
    }
}

/// Estimates α and γ(β) for `rule` (its singleton scores F({c}), so k enters only through the
/// OWA weights; `k` = 1 is the natural choice) over `iters` draws of
/// `draw(rng) -> (latent, biased)` profiles of m items, with stream i of `streams` for draw i;
/// `grid` β points. Only same-group pairs of `groups` count for γ.
///
/// # Errors
/// [`Error::InvalidParameter`] for `iters` < 2, `grid` < 2, or mismatched sizes; errors of
/// `draw` are passed on.
#[allow(clippy::too_many_arguments)]
pub fn estimate(
    rule: &CommitteeScoringRule,
    k: usize,
    m: usize,
    iters: usize,
    grid: usize,
    streams: &RngStreams,
    mut draw: impl FnMut(&mut StreamRng) -> Result<(Profile, Profile)>,
    groups: &Groups,
) -> Result<SmoothnessEstimate> {
    if iters < 2 || grid < 2 {
        return Err(Error::invalid(
            "iters / grid",
            format!("{iters} / {grid}"),
            "at least 2 each",
        ));
    }
    lisse_core::check_dim("groups (items)", m, groups.m())?;
    let mut lat = Moments::new(m);
    let mut bia = Moments::new(m);
    let mut tau1 = 0.0;
    for i in 0..iters {
        let (latent, biased) = draw(&mut streams.stream(i as u64))?;
        lisse_core::check_dim("latent profile (items)", m, latent.m())?;
        lisse_core::check_dim("biased profile (items)", m, biased.m())?;
        for (p, acc) in [(&latent, &mut lat), (&biased, &mut bia)] {
            let f = rule.instantiate(p, k)?;
            let den = crate::ScoreFunction::denominator(&f) as f64;
            let scale = p.n_voters() as f64 * den;
            let x: Vec<f64> = f
                .singleton_scores()
                .iter()
                .map(|&s| s as f64 / scale)
                .collect();
            tau1 = f.s()[0] as f64 * f.owa()[0] as f64 / den;
            acc.push(&x);
        }
    }
    let (f, f_se) = lat.mean_se();
    let (fh, fh_se) = bia.mean_se();
    if tau1 <= 0.0 {
        return Err(Error::invalid(
            "rule",
            rule.name(),
            "a rule whose top position scores > 0",
        ));
    }
    // α and its standard error.
    let mut alpha = f64::INFINITY;
    let mut alpha_se = 0.0;
    for c in 0..m {
        for (v, se) in [(f[c], f_se[c]), (fh[c], fh_se[c])] {
            if v < alpha {
                alpha = v;
                alpha_se = se;
            }
        }
    }
    // γ(β) over ordered same-group pairs.
    let fmax = f.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let fmin = f.iter().copied().fold(f64::INFINITY, f64::min);
    let beta0 = if fmax > 0.0 { fmin / fmax } else { 0.0 };
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for g in 0..groups.len() {
        let mem = groups.members(g);
        for &i in mem {
            for &j in mem {
                if i != j {
                    pairs.push((i as usize, j as usize));
                }
            }
        }
    }
    let curve = (0..grid)
        .map(|t| {
            let beta = beta0 + (1.0 - beta0) * t as f64 / (grid - 1) as f64;
            let mut best: Option<(f64, f64)> = None;
            for &(i, j) in &pairs {
                if f[j] <= beta * f[i] && fh[i] > 0.0 {
                    let r = fh[j] / fh[i];
                    if best.is_none_or(|(b, _)| r > b) {
                        let rel_j = if fh[j] > 0.0 { fh_se[j] / fh[j] } else { 0.0 };
                        let se = r * (rel_j.powi(2) + (fh_se[i] / fh[i]).powi(2)).sqrt();
                        best = Some((r, se));
                    }
                }
            }
            GammaPoint {
                beta,
                gamma: best.map(|b| b.0),
                gamma_se: best.map(|b| b.1),
            }
        })
        .collect();
    Ok(SmoothnessEstimate {
        rule: rule.name(),
        alpha: alpha / tau1,
        alpha_se: alpha_se / tau1,
        tau1,
        curve,
        latent_mean: f,
        latent_se: f_se,
        biased_mean: fh,
        biased_se: fh_se,
        iters,
    })
}

/// Running per-item sums for means and standard errors.
struct Moments {
    n: usize,
    sum: Vec<f64>,
    sq: Vec<f64>,
}

impl Moments {
    fn new(m: usize) -> Self {
        Self {
            n: 0,
            sum: vec![0.0; m],
            sq: vec![0.0; m],
        }
    }
    fn push(&mut self, x: &[f64]) {
        self.n += 1;
        for ((s, q), &v) in self.sum.iter_mut().zip(&mut self.sq).zip(x) {
            *s += v;
            *q += v * v;
        }
    }
    fn mean_se(&self) -> (Vec<f64>, Vec<f64>) {
        let n = self.n as f64;
        let mean: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let se = self
            .sq
            .iter()
            .zip(&mean)
            .map(|(q, mu)| ((q / n - mu * mu).max(0.0) * n / (n - 1.0) / n).sqrt())
            .collect();
        (mean, se)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bias::SwapBias;
    use crate::culture::{Culture, ImpartialCulture, Mallows};

    #[test]
    fn impartial_culture_without_bias_has_known_alpha_and_gamma() {
        // IC, no bias: every item's mean Borda score is (m − 1)/2, so α ≈ ½; f̂ = f, so
        // γ(β) ≤ β wherever defined, up to noise.
        let m = 6;
        let groups = Groups::partition(&[0, 1, 0, 1, 0, 1]).unwrap();
        let est = estimate(
            &CommitteeScoringRule::k_borda(),
            1,
            m,
            200,
            10,
            &RngStreams::new(3),
            |rng| {
                let p = ImpartialCulture.sample(m, 20, rng)?;
                Ok((p.clone(), p))
            },
            &groups,
        )
        .unwrap();
        assert!(
            (est.alpha - 0.5).abs() < 5.0 * est.alpha_se + 0.02,
            "{} ± {}",
            est.alpha,
            est.alpha_se
        );
        assert!((est.tau1 - 5.0).abs() < 1e-12);
        for pt in &est.curve {
            if let Some(g) = pt.gamma {
                assert!(g <= pt.beta + 1e-12, "γ({}) = {g}", pt.beta);
            }
        }
    }

    #[test]
    fn sntv_alpha_is_far_below_borda_alpha_under_concentrated_mallows() {
        let m = 8;
        let groups = Groups::partition(&[0, 1, 0, 1, 0, 1, 0, 1]).unwrap();
        let (mallows, bias) = (Mallows::new(0.3).unwrap(), SwapBias::new(0.5, 0.5).unwrap());
        let run = |rule: CommitteeScoringRule| {
            estimate(
                &rule,
                1,
                m,
                100,
                20,
                &RngStreams::new(5),
                |rng| {
                    let latent = mallows.sample(m, 20, rng)?;
                    let biased = bias.apply(&latent, &groups, 0, rng)?;
                    Ok((latent, biased))
                },
                &groups,
            )
            .unwrap()
        };
        let (borda, sntv) = (
            run(CommitteeScoringRule::k_borda()),
            run(CommitteeScoringRule::sntv()),
        );
        // SNTV's worst item is almost never ranked first: P ≈ φ^7 / Z ≈ 1.5e-4.
        assert!(
            sntv.alpha < 0.005 && borda.alpha > 0.02,
            "SNTV {} Borda {}",
            sntv.alpha,
            borda.alpha
        );
    }
}
