//! Sequential certification of a target radius: stop sampling as soon as the answer is known.
//!
//! Fixed-n CERTIFY spends n = 100 000 forward passes on every input, even when the first 1 000
//! already show that the target radius is certain, or out of reach. Here the question is "is
//! `x` certified at radius ≥ r?", i.e. is `p_A ≥ p* = Φ(r/σ)`, and samples are drawn in
//! stages of cumulative sizes `n_1 < n_2 < … < n_S` (fresh noise per stage, counts
//! accumulated):
//!
//! - **certify** at stage s when the Clopper–Pearson lower bound at level α/S of the cumulative
//!   count gives `σ·Φ⁻¹(p̲_A) ≥ r`;
//! - **give up** at stage s when the upper bound at level β gives `p̄_A < p*` (the target is out
//!   of reach with high confidence);
//! - otherwise continue; after stage S, decide as fixed-n CERTIFY at level α/S would.
//!
//! # Error budget
//! The S lower bounds hold simultaneously with probability ≥ 1 − α (union bound), so whatever
//! stage the procedure stops at, a certificate it returns is wrong with probability ≤ α — the
//! data-dependent stopping time does not matter because every stage's event is covered
//! (the staged design of Horváth et al., ICLR 2022, with cumulative counts). Giving up only ever
//! produces an abstention, which is never wrong, so β trades forward passes for power and is not
//! part of the validity budget. The price of early stopping is the level α/S instead of α:
//! a certified radius slightly smaller than fixed-n CERTIFY's at the same n.
//!
//! The class is chosen on n₀ separate selection samples as in CERTIFY.

use lisse_core::{Error as CoreError, RngStreams};
use serde::{Deserialize, Serialize};

use crate::classifier::BaseClassifier;
use crate::cohen::certify::{argmax_count, check_alpha};
use crate::error::Result;
use crate::noise::{GaussianNoise, Phase, check_sampling, count_votes};
use crate::stats::clopper_pearson;
use crate::stats::normal;

/// Parameters of [`certify_sequential`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequentialParams {
    /// Selection samples n₀.
    pub n0: u64,
    /// Cumulative sample sizes of the stages, strictly increasing (default 1 000, 10 000,
    /// 100 000).
    pub stages: Vec<u64>,
    /// Failure probability α of a returned certificate (split α/S over the stages).
    pub alpha: f64,
    /// Level of the futility test (stop when the target is out of reach); does not affect
    /// validity.
    pub beta: f64,
    /// Noisy inputs per classifier call.
    pub batch: usize,
}

impl Default for SequentialParams {
    fn default() -> Self {
        Self {
            n0: 100,
            stages: vec![1_000, 10_000, 100_000],
            alpha: 1e-3,
            beta: 1e-3,
            batch: 1000,
        }
    }
}

/// How a sequential run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    /// The target radius is certified.
    Certified,
    /// The target radius is out of reach (upper bound below Φ(r/σ)).
    OutOfReach,
    /// All stages used without reaching either conclusion.
    Undecided,
}

/// The outcome of [`certify_sequential`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequentialCertificate {
    /// The certified class (`None` unless [`Decision::Certified`]).
    pub class: Option<usize>,
    /// The certified radius (≥ the target when certified, else 0).
    pub radius: f64,
    /// How the run ended.
    pub decision: Decision,
    /// The stage (0-based) at which it ended.
    pub stage: usize,
    /// Estimation samples used.
    pub n: u64,
    /// Classifier evaluations spent (n₀ + n).
    pub forward_passes: u64,
    /// Evaluations saved against fixed-n CERTIFY with the last stage's size.
    pub forward_passes_saved: u64,
}

/// Decides whether `x` is certified at radius ≥ `target_radius` with as few samples as the
/// stages allow; see the [module docs](self) for the error budget.
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_smoothing::classifier::LabelsFn;
/// use lisse_smoothing::sequential::{Decision, SequentialParams, certify_sequential};
/// let f = LabelsFn::new(1, 2, |x: &[f64]| usize::from(x[0] > 0.0));
/// // Distance 2 to the boundary at σ = 1: radius 0.5 is easy and decided at the first stage.
/// let c = certify_sequential(&f, &[2.0], 1.0, 0.5, &SequentialParams::default(), &RngStreams::new(1))?;
/// assert_eq!(c.decision, Decision::Certified);
/// assert_eq!(c.n, 1_000);
/// assert_eq!(c.forward_passes_saved, 99_000);
/// # Ok::<(), lisse_smoothing::Error>(())
/// ```
///
/// # Errors
/// σ ≤ 0, α or β ∉ (0, 1), n₀ = 0, stages empty or not strictly increasing, a negative or
/// non-finite target, and the classifier errors of CERTIFY.
pub fn certify_sequential<C: BaseClassifier + ?Sized>(
    classifier: &C,
    x: &[f64],
    sigma: f64,
    target_radius: f64,
    params: &SequentialParams,
    streams: &RngStreams,
) -> Result<SequentialCertificate> {
    let noise = GaussianNoise::new(sigma)?;
    check_alpha(params.alpha)?;
    if !(params.beta > 0.0 && params.beta < 1.0) {
        return Err(CoreError::invalid("beta", params.beta, "in the open interval (0, 1)").into());
    }
    if params.n0 == 0 {
        return Err(CoreError::invalid("n0", 0, "at least 1 selection sample").into());
    }
    if params.stages.is_empty()
        || params.stages[0] == 0
        || params.stages.windows(2).any(|w| w[0] >= w[1])
    {
        return Err(CoreError::invalid(
            "stages",
            format!("{:?}", params.stages),
            "a non-empty, strictly increasing list of positive cumulative sample sizes",
        )
        .into());
    }
    if !(target_radius.is_finite() && target_radius >= 0.0) {
        return Err(
            CoreError::invalid("target_radius", target_radius, "a finite radius ≥ 0").into(),
        );
    }
    check_sampling(classifier, x, params.batch)?;
    let sel = count_votes(
        classifier,
        noise,
        x,
        params.n0,
        params.batch,
        &streams.child(Phase::Selection.index()),
    )?;
    let c_a = argmax_count(&sel);
    let s_total = params.stages.len();
    let level = params.alpha / s_total as f64;
    // p* = Φ(r/σ) and its complement, for the futility test.
    let p_star = normal::cdf(target_radius / sigma);
    let n_max = *params.stages.last().unwrap_or(&0);
    let (mut count, mut used) = (0_u64, 0_u64);
    for (s, &n_s) in params.stages.iter().enumerate() {
        let votes = count_votes(
            classifier,
            noise,
            x,
            n_s - used,
            params.batch,
            &streams.child(Phase::Stage(s as u32).index()),
        )?;
        count += votes[c_a];
        used = n_s;
        let lower = clopper_pearson::lower(count, used, level)?;
        let radius = if lower.value >= 0.5 {
            crate::cohen::binary_radius(sigma, lower).max(0.0)
        } else {
            0.0
        };
        let finish =
            |decision: Decision, class: Option<usize>, radius: f64| SequentialCertificate {
                class,
                radius,
                decision,
                stage: s,
                n: used,
                forward_passes: params.n0 + used,
                forward_passes_saved: n_max - used,
            };
        if lower.value >= 0.5 && radius >= target_radius {
            return Ok(finish(Decision::Certified, Some(c_a), radius));
        }
        let upper = clopper_pearson::upper(count, used, params.beta)?;
        if upper.value < p_star {
            return Ok(finish(Decision::OutOfReach, None, 0.0));
        }
        if s + 1 == s_total {
            return Ok(finish(Decision::Undecided, None, 0.0));
        }
    }
    Err(CoreError::infeasible("no stages were run").into())
}
