//! CERTIFY (Cohen et al. 2019, §3.2 "Pseudocode for certification and prediction").

use lisse_core::{Error as CoreError, RngStreams};
use serde::{Deserialize, Serialize};

use crate::classifier::BaseClassifier;
use crate::error::Result;
use crate::noise::{GaussianNoise, Phase, check_sampling, count_votes, par_map_inputs};
use crate::stats::clopper_pearson::{self, Bound};

/// Sample sizes and level of CERTIFY. Defaults are the paper's: n₀ = 100, n = 100 000,
/// α = 0.001 (one-sided), batch 1000.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CertifyParams {
    /// Selection samples n₀ (choose the class to certify).
    pub n0: u64,
    /// Estimation samples n (bound its probability).
    pub n: u64,
    /// Failure probability α ∈ (0, 1) of the certificate (one-sided; statsmodels' two-sided
    /// `proportion_confint(alpha=2α)` gives the same bound).
    pub alpha: f64,
    /// Noisy inputs per classifier call.
    pub batch: usize,
}

impl Default for CertifyParams {
    fn default() -> Self {
        Self {
            n0: 100,
            n: 100_000,
            alpha: 1e-3,
            batch: 1000,
        }
    }
}

impl CertifyParams {
    /// Checks n₀ ≥ 1, n ≥ 1, α ∈ (0, 1), batch ≥ 1.
    ///
    /// # Errors
    /// [`lisse_core::Error::InvalidParameter`] naming the parameter.
    pub fn validate(&self) -> Result<()> {
        if self.n0 == 0 {
            return Err(CoreError::invalid(
                "n0",
                self.n0,
                "at least 1 selection sample (the paper uses 100)",
            )
            .into());
        }
        if self.n == 0 {
            return Err(CoreError::invalid(
                "n",
                self.n,
                "at least 1 estimation sample (the paper uses 100 000)",
            )
            .into());
        }
        check_alpha(self.alpha)?;
        if self.batch == 0 {
            return Err(CoreError::invalid("batch", self.batch, "a positive batch size").into());
        }
        Ok(())
    }
}

pub(crate) fn check_alpha(alpha: f64) -> Result<()> {
    if alpha > 0.0 && alpha < 1.0 {
        Ok(())
    } else {
        Err(CoreError::invalid(
            "alpha",
            alpha,
            "in the open interval (0, 1): the probability that the certificate is wrong, e.g. 0.001",
        )
        .into())
    }
}

/// The outcome of CERTIFY for one input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    /// The certified class, or `None` when the procedure abstains.
    pub class: Option<usize>,
    /// The certified ℓ₂ radius (0 when abstaining).
    pub radius: f64,
    /// The lower confidence bound p̲_A of the selected class's probability.
    pub p_a_lower: f64,
    /// The upper bound p̄_B used for the runner-up (1 − p̲_A for Cohen's radius).
    pub p_b_upper: f64,
    /// The class chosen on the selection samples (certified or not).
    pub selected: usize,
    /// Votes for the selected class among the n estimation samples.
    pub count_a: u64,
    /// Estimation samples drawn.
    pub n: u64,
    /// Classifier evaluations spent (n₀ + n for CERTIFY).
    pub forward_passes: u64,
}

impl Certificate {
    /// Whether the procedure abstained.
    pub fn is_abstain(&self) -> bool {
        self.class.is_none()
    }

    /// Whether this certifies `label` at radius `r` (the "certified accuracy" criterion).
    pub fn certifies(&self, label: usize, r: f64) -> bool {
        self.class == Some(label) && self.radius >= r
    }
}

fn selection<C: BaseClassifier + ?Sized>(
    classifier: &C,
    noise: GaussianNoise,
    x: &[f64],
    params: &CertifyParams,
    streams: &RngStreams,
) -> Result<(usize, Vec<u64>)> {
    params.validate()?;
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
    let counts = count_votes(
        classifier,
        noise,
        x,
        params.n,
        params.batch,
        &streams.child(Phase::Estimation.index()),
    )?;
    Ok((c_a, counts))
}

/// The first class with the largest count.
pub(crate) fn argmax_count(counts: &[u64]) -> usize {
    let mut best = 0;
    for (c, &v) in counts.iter().enumerate() {
        if v > counts[best] {
            best = c;
        }
    }
    best
}

/// Cohen et al.'s CERTIFY for one input.
///
/// Draws n₀ noisy samples (phase [`Phase::Selection`] of `streams`) to choose `c_A`, then n
/// fresh ones ([`Phase::Estimation`]) to bound `p_A` from below by Clopper–Pearson at level α;
/// abstains when `p̲_A < ½`, else certifies `c_A` at radius `σ·Φ⁻¹(p̲_A)`. With probability
/// ≥ 1 − α over the noise, the answer is either an abstention or `g(x)` with a valid radius.
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_smoothing::classifier::LabelsFn;
/// use lisse_smoothing::cohen::{CertifyParams, certify};
/// // f(x) = [x₀ > 0]: g's true radius at x = (1, 0) is the distance 1 to the boundary.
/// let f = LabelsFn::new(2, 2, |x: &[f64]| usize::from(x[0] > 0.0));
/// let params = CertifyParams { n: 10_000, ..CertifyParams::default() };
/// let c = certify(&f, &[1.0, 0.0], 0.5, &params, &RngStreams::new(7))?;
/// assert_eq!(c.class, Some(1));
/// assert!(c.radius > 0.8 && c.radius < 1.0);
/// # Ok::<(), lisse_smoothing::Error>(())
/// ```
///
/// # Errors
/// Invalid parameters (σ ≤ 0, α ∉ (0, 1), n₀ = 0, n = 0), a wrong input length, or a classifier
/// that breaks its contract (non-finite scores, wrong class count).
pub fn certify<C: BaseClassifier + ?Sized>(
    classifier: &C,
    x: &[f64],
    sigma: f64,
    params: &CertifyParams,
    streams: &RngStreams,
) -> Result<Certificate> {
    let noise = GaussianNoise::new(sigma)?;
    let (c_a, counts) = selection(classifier, noise, x, params, streams)?;
    let n_a = counts[c_a];
    let p_a = clopper_pearson::lower(n_a, params.n, params.alpha)?;
    let certified = p_a.value >= 0.5;
    Ok(Certificate {
        class: certified.then_some(c_a),
        radius: if certified {
            super::binary_radius(sigma, p_a).max(0.0)
        } else {
            0.0
        },
        p_a_lower: p_a.value,
        p_b_upper: p_a.complement,
        selected: c_a,
        count_a: n_a,
        n: params.n,
        forward_passes: params.n0 + params.n,
    })
}

/// CERTIFY with the two-sided radius `σ/2·(Φ⁻¹(p̲_A) − Φ⁻¹(p̄_B))` of Cohen et al.'s Theorem 1.
///
/// `c_A` is chosen on the n₀ selection samples, so on the n estimation samples K one-sided
/// events need to hold at once: the lower bound of `p_A` and the upper bounds of the K − 1 other
/// classes. Each is a Clopper–Pearson bound at level α/K (Bonferroni), and
/// `p̄_B = min(max_{c≠A} p̄_c, 1 − p̲_A)`. (Bounding only the runner-up of the *same* counts
/// without correction is a common, invalid shortcut: that class is chosen by the data.)
/// Certifies when `p̲_A ≥ p̄_B`.
///
/// # Errors
/// As [`certify`].
pub fn certify_multiclass<C: BaseClassifier + ?Sized>(
    classifier: &C,
    x: &[f64],
    sigma: f64,
    params: &CertifyParams,
    streams: &RngStreams,
) -> Result<Certificate> {
    let noise = GaussianNoise::new(sigma)?;
    let (c_a, counts) = selection(classifier, noise, x, params, streams)?;
    let k = counts.len() as f64;
    let level = params.alpha / k;
    let n_a = counts[c_a];
    let p_a = clopper_pearson::lower(n_a, params.n, level)?;
    // p̄_B = min(max_{c≠A} p̄_c, 1 − p̲_A).
    let mut p_b = Bound {
        value: p_a.complement,
        complement: p_a.value,
    };
    let max_b = max_other(&counts, c_a, params.n, level)?;
    if max_b.value < p_b.value {
        p_b = max_b;
    }
    let certified = p_a.value >= p_b.value;
    Ok(Certificate {
        class: certified.then_some(c_a),
        radius: if certified {
            super::multiclass_radius(sigma, p_a, p_b).max(0.0)
        } else {
            0.0
        },
        p_a_lower: p_a.value,
        p_b_upper: p_b.value,
        selected: c_a,
        count_a: n_a,
        n: params.n,
        forward_passes: params.n0 + params.n,
    })
}

fn first_other(c_a: usize) -> usize {
    usize::from(c_a == 0)
}

/// The largest Clopper–Pearson upper bound among classes other than `c_a`.
fn max_other(counts: &[u64], c_a: usize, n: u64, level: f64) -> Result<Bound> {
    // The bound is increasing in the count: bound the largest other count only.
    let (mut best, mut best_count) = (first_other(c_a), 0);
    for (c, &v) in counts.iter().enumerate() {
        if c != c_a && v >= best_count {
            best = c;
            best_count = v;
        }
    }
    Ok(clopper_pearson::upper(counts[best], n, level)?)
}

/// CERTIFY for every row of `inputs` (row-major, `m × d`) in parallel; input i uses
/// [`input_streams`](crate::noise::input_streams)`(seed, i)`, so the results do not depend on the thread count.
///
/// # Errors
/// As [`certify`]; a length that is not a multiple of d.
pub fn certify_all<C: BaseClassifier + ?Sized>(
    classifier: &C,
    inputs: &[f64],
    sigma: f64,
    params: &CertifyParams,
    seed: u64,
) -> Result<Vec<Certificate>> {
    par_map_inputs(classifier, inputs, seed, |x, streams| {
        certify(classifier, x, sigma, params, streams)
    })
}
