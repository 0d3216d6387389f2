//! Gaussian noise drawn in batches, each from its own reproducible stream.
//!
//! # Where the randomness comes from
//! A certification run for input `i` with seed `s` uses `RngStreams::new(s).child(i)` (see
//! [`input_streams`]). Inside it, each phase — selection with n₀ samples, estimation with n,
//! PREDICT, held-out configuration choice, each stage of sequential certification — takes
//! `child(phase)` ([`Phase`]), and batch `b` of a phase draws from `stream(b)` of that. So no two
//! inputs, phases or batches share noise (the independence of the selection and estimation
//! samples is what Clopper–Pearson's guarantee needs), and because a batch's noise depends only
//! on its indices, results are bit-identical for any number of threads: batches run in parallel
//! with rayon and their statistics are reduced in batch order.

use lisse_core::{Error as CoreError, RngStreams};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::classifier::BaseClassifier;
use crate::error::Result;

/// The phases of a certification run; each gets its own child stream family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Cohen's n₀ samples that choose the class to certify.
    Selection,
    /// The n fresh samples whose counts are bounded.
    Estimation,
    /// PREDICT's n samples.
    Predict,
    /// Held-out samples choosing an LVM-RS configuration.
    HeldOut,
    /// Stage `s` of sequential certification.
    Stage(u32),
}

impl Phase {
    /// The child index of this phase.
    pub fn index(self) -> u64 {
        match self {
            Phase::Selection => 0,
            Phase::Estimation => 1,
            Phase::Predict => 2,
            Phase::HeldOut => 3,
            Phase::Stage(s) => 16 + u64::from(s),
        }
    }
}

/// The stream family of input `i` of a run seeded with `seed`.
pub fn input_streams(seed: u64, i: u64) -> RngStreams {
    RngStreams::new(seed).child(i)
}

/// Isotropic Gaussian noise N(0, σ²I) in the classifier's input space.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GaussianNoise {
    sigma: f64,
}

impl GaussianNoise {
    /// Noise of standard deviation σ (in the units of the classifier's inputs).
    ///
    /// # Errors
    /// [`lisse_core::Error::InvalidParameter`] unless σ is finite and > 0.
    pub fn new(sigma: f64) -> Result<Self> {
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(CoreError::invalid(
                "sigma",
                sigma,
                "a finite noise level > 0, in the units of the classifier's inputs (e.g. 0.25 \
                 for pixels in [0, 1])",
            )
            .into());
        }
        Ok(Self { sigma })
    }

    /// σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// Writes `rows` noisy copies of `x` into `out` (row-major, `rows × x.len()`).
    ///
    /// ```
    /// use lisse_smoothing::noise::GaussianNoise;
    /// let noise = GaussianNoise::new(0.5)?;
    /// let mut out = vec![0.0; 3 * 2];
    /// noise.perturb_into(&[1.0, 2.0], &mut lisse_core::RngStreams::new(1).stream(0), &mut out);
    /// assert!(out.iter().all(|v| v.is_finite()) && out[0] != out[2]);
    /// # Ok::<(), lisse_smoothing::Error>(())
    /// ```
    pub fn perturb_into<R: Rng + ?Sized>(&self, x: &[f64], rng: &mut R, out: &mut [f64]) {
        for row in out.chunks_exact_mut(x.len().max(1)) {
            for (o, &xi) in row.iter_mut().zip(x) {
                let z: f64 = StandardNormal.sample(rng);
                *o = xi + self.sigma * z;
            }
        }
    }
}

/// Elements one batch buffer may hold (1 GiB of f64): larger requests get an error, not an abort.
const MAX_BUFFER: usize = 1 << 27;

/// Checks the shared sampling arguments.
pub(crate) fn check_sampling<C: BaseClassifier + ?Sized>(
    classifier: &C,
    x: &[f64],
    batch: usize,
) -> Result<()> {
    lisse_core::check_dim("input x", classifier.input_dim(), x.len())?;
    lisse_core::check_finite("input x", x)?;
    if classifier.num_classes() < 2 {
        return Err(CoreError::invalid(
            "num_classes",
            classifier.num_classes(),
            "at least 2 classes",
        )
        .into());
    }
    if batch == 0 {
        return Err(CoreError::invalid("batch", batch, "a positive batch size, e.g. 1000").into());
    }
    let width = classifier.input_dim().max(classifier.num_classes());
    if batch.checked_mul(width).is_none_or(|s| s > MAX_BUFFER) {
        return Err(CoreError::invalid(
            "batch",
            batch,
            format!(
                "at most {} for inputs of this size (buffers are batch × {width})",
                MAX_BUFFER / width
            ),
        )
        .into());
    }
    Ok(())
}

/// Draws `n` noisy copies of `x` in batches of `batch` (batch b from `streams.stream(b)`),
/// evaluates the classifier, and maps each batch's scores (`rows × K`, row-major) with
/// `per_batch`. Batches run in parallel; the results come back in batch order.
pub(crate) fn sample_batches<C, T, F>(
    classifier: &C,
    noise: GaussianNoise,
    x: &[f64],
    n: u64,
    batch: usize,
    streams: &RngStreams,
    per_batch: F,
) -> Result<Vec<T>>
where
    C: BaseClassifier + ?Sized,
    T: Send,
    F: Fn(&[f64], usize) -> Result<T> + Sync,
{
    let d = x.len();
    let k = classifier.num_classes();
    let nb = n.div_ceil(batch as u64);
    (0..nb)
        .into_par_iter()
        .map_init(
            || (vec![0.0; batch * d], vec![0.0; batch * k]),
            |(inputs, scores), b| {
                let rows = (n - b * batch as u64).min(batch as u64) as usize;
                let mut rng = streams.stream(b);
                noise.perturb_into(x, &mut rng, &mut inputs[..rows * d]);
                classifier.scores_into(&inputs[..rows * d], &mut scores[..rows * k])?;
                per_batch(&scores[..rows * k], rows)
            },
        )
        .collect()
}

/// Vote counts per class of `n` noisy copies of `x` (batch b of `streams.stream(b)`).
pub(crate) fn count_votes<C: BaseClassifier + ?Sized>(
    classifier: &C,
    noise: GaussianNoise,
    x: &[f64],
    n: u64,
    batch: usize,
    streams: &RngStreams,
) -> Result<Vec<u64>> {
    let k = classifier.num_classes();
    let per = sample_batches(classifier, noise, x, n, batch, streams, |scores, _rows| {
        let mut counts = vec![0_u64; k];
        for s in scores.chunks_exact(k) {
            counts[crate::classifier::argmax(s)?] += 1;
        }
        Ok(counts)
    })?;
    let mut counts = vec![0_u64; k];
    for c in per {
        for (a, b) in counts.iter_mut().zip(c) {
            *a += b;
        }
    }
    Ok(counts)
}
