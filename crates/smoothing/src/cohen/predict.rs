//! PREDICT (Cohen et al. 2019, §3.2), with the exact two-sided binomial test of Hung & Fithian.

use lisse_core::{Error as CoreError, RngStreams};
use serde::{Deserialize, Serialize};

use crate::classifier::BaseClassifier;
use crate::error::Result;
use crate::noise::{GaussianNoise, Phase, check_sampling, count_votes};
use crate::stats::binomial_test;

use super::certify::check_alpha;

/// Sample size and level of PREDICT; defaults n = 100 000, α = 0.001, batch 1000
/// (`predict.py` of locuslab/smoothing).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PredictParams {
    /// Noise samples n.
    pub n: u64,
    /// Probability α of returning a class other than g(x).
    pub alpha: f64,
    /// Noisy inputs per classifier call.
    pub batch: usize,
}

impl Default for PredictParams {
    fn default() -> Self {
        Self {
            n: 100_000,
            alpha: 1e-3,
            batch: 1000,
        }
    }
}

/// The outcome of PREDICT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The predicted class, or `None` when the test cannot separate the top two classes.
    pub class: Option<usize>,
    /// The two-sided p-value of H₀: the top two classes are equally likely.
    pub p_value: f64,
    /// Votes per class.
    pub counts: Vec<u64>,
}

/// PREDICT: n noisy votes; the top two counts n_A ≥ n_B; return c_A if the two-sided binomial
/// test of n_A out of n_A + n_B at ½ has p-value ≤ α, else abstain. Then
/// `P[returning a class ≠ g(x)] ≤ α`.
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_smoothing::classifier::LabelsFn;
/// use lisse_smoothing::cohen::{PredictParams, predict};
/// let f = LabelsFn::new(1, 3, |x: &[f64]| if x[0] > 0.0 { 2 } else { 0 });
/// let params = PredictParams { n: 1000, ..PredictParams::default() };
/// let clear = predict(&f, &[2.0], 1.0, &params, &RngStreams::new(1))?;
/// assert_eq!(clear.class, Some(2));
/// let coin = predict(&f, &[0.0], 1.0, &params, &RngStreams::new(1))?;
/// assert_eq!(coin.class, None); // a fair coin between classes 0 and 2
/// # Ok::<(), lisse_smoothing::Error>(())
/// ```
///
/// # Errors
/// σ ≤ 0, α ∉ (0, 1), n = 0, a wrong input length or a classifier breaking its contract.
pub fn predict<C: BaseClassifier + ?Sized>(
    classifier: &C,
    x: &[f64],
    sigma: f64,
    params: &PredictParams,
    streams: &RngStreams,
) -> Result<Prediction> {
    let noise = GaussianNoise::new(sigma)?;
    check_alpha(params.alpha)?;
    if params.n == 0 {
        return Err(CoreError::invalid("n", params.n, "at least 1 noise sample").into());
    }
    check_sampling(classifier, x, params.batch)?;
    let counts = count_votes(
        classifier,
        noise,
        x,
        params.n,
        params.batch,
        &streams.child(Phase::Predict.index()),
    )?;
    let c_a = super::certify::argmax_count(&counts);
    let n_b = counts
        .iter()
        .enumerate()
        .filter(|&(c, _)| c != c_a)
        .map(|(_, &v)| v)
        .max()
        .unwrap_or(0);
    let p_value = binomial_test::two_sided_half(counts[c_a], n_b);
    Ok(Prediction {
        class: (p_value <= params.alpha).then_some(c_a),
        p_value,
        counts,
    })
}
