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
//!
//! # The generator inside a batch
//! A batch does not draw its normals from the ChaCha8 stream itself: [`batch_rng`] reads 256
//! bits from `stream(b)` and seeds a xoshiro256++ generator ([`BatchRng`], Blackman & Vigna,
//! "Scrambled linear pseudorandom number generators", ACM TOMS 47(4), 2021), which then feeds
//! `rand_distr`'s ziggurat [`StandardNormal`]. ChaCha8 costs ~13 ns per `u64` here, xoshiro256++
//! about 1 ns, and noise generation was ~80% of CERTIFY's time; with the switch CERTIFY is
//! several times faster (figures in `docs/performance.md`).
//!
//! The guarantee is unchanged in kind: the seeds of different inputs, phases and batches are
//! independent 256-bit outputs of distinct, non-overlapping ChaCha8 streams, and a batch
//! draws at most `batch × d ≤ 2²⁷` numbers from a generator of period 2²⁵⁶ − 1, so two batches
//! overlap only if their uniformly random starting points land within 2²⁷ steps of each other
//! on the cycle — probability below 2²⁸/2²⁵⁶ per pair. Results still depend only on
//! (seed, input, phase, batch), hence are bit-identical for any thread count. xoshiro256++ is a
//! fixed, portable algorithm (not `SmallRng`, whose algorithm may change between rand releases),
//! so the same seed gives the same certificates on every platform.

use lisse_core::{Error as CoreError, RngStreams};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
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

/// The generator that draws one batch's noise: xoshiro256++, seeded from the batch's ChaCha8
/// stream by [`batch_rng`] (see the module docs for why this keeps batches independent).
pub type BatchRng = Xoshiro256PlusPlus;

/// The noise generator of batch `b` of a phase: a [`BatchRng`] seeded with 256 bits of
/// `streams.stream(b)`.
///
/// ```
/// use lisse_smoothing::noise::batch_rng;
/// use rand::RngExt;
/// let streams = lisse_core::RngStreams::new(7);
/// let (a, b): (u64, u64) = (batch_rng(&streams, 0).random(), batch_rng(&streams, 1).random());
/// assert_eq!(a, batch_rng(&streams, 0).random::<u64>()); // reproducible
/// assert_ne!(a, b); // each batch its own seed
/// ```
pub fn batch_rng(streams: &RngStreams, b: u64) -> BatchRng {
    BatchRng::from_rng(&mut streams.stream(b))
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

/// Draws `n` noisy copies of `x` in batches of `batch` (batch b from [`batch_rng`]`(streams, b)`),
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
    let nb = usize::try_from(n.div_ceil(batch as u64)).map_err(|_| {
        CoreError::invalid(
            "n",
            n,
            "at most usize::MAX batches of samples on this platform",
        )
    })?;
    // One contiguous run of batches per thread, so each thread allocates its two buffers once
    // per call (not once per rayon split); results still depend only on the batch index.
    let per_thread = nb.div_ceil(rayon::current_num_threads().max(1));
    (0..nb)
        .into_par_iter()
        .with_min_len(per_thread.max(1))
        .map_init(
            || (vec![0.0; batch * d], vec![0.0; batch * k]),
            |(inputs, scores), b| {
                let b = b as u64;
                let rows = (n - b * batch as u64).min(batch as u64) as usize;
                let mut rng = batch_rng(streams, b);
                noise.perturb_into(x, &mut rng, &mut inputs[..rows * d]);
                classifier.scores_into(&inputs[..rows * d], &mut scores[..rows * k])?;
                per_batch(&scores[..rows * k], rows)
            },
        )
        .collect()
}

/// Vote counts per class of `n` noisy copies of `x` (batch b from [`batch_rng`]`(streams, b)`).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_noise_has_the_right_moments_and_batches_differ() {
        let noise = GaussianNoise::new(0.5).unwrap();
        let x = [1.0, -2.0];
        let rows = 50_000;
        let streams = input_streams(9, 3).child(Phase::Estimation.index());
        let mut a = vec![0.0; rows * 2];
        let mut b = vec![0.0; rows * 2];
        noise.perturb_into(&x, &mut batch_rng(&streams, 0), &mut a);
        noise.perturb_into(&x, &mut batch_rng(&streams, 1), &mut b);
        // Mean x, variance σ² per coordinate (5 standard errors), and batch 1 ≠ batch 0.
        for (j, &xj) in x.iter().enumerate() {
            let col: Vec<f64> = a.iter().skip(j).step_by(2).copied().collect();
            let mean = col.iter().sum::<f64>() / rows as f64;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (rows - 1) as f64;
            assert!(
                (mean - xj).abs() < 5.0 * 0.5 / (rows as f64).sqrt(),
                "{mean}"
            );
            assert!(
                (var - 0.25).abs() < 5.0 * 0.25 * (2.0 / rows as f64).sqrt(),
                "{var}"
            );
        }
        // Coordinates 0 and 1 of a row and rows of different batches are uncorrelated.
        let corr = |u: &[f64], v: &[f64]| {
            let n = u.len() as f64;
            let (mu, mv) = (u.iter().sum::<f64>() / n, v.iter().sum::<f64>() / n);
            let c: f64 = u.iter().zip(v).map(|(p, q)| (p - mu) * (q - mv)).sum();
            let su: f64 = u.iter().map(|p| (p - mu).powi(2)).sum();
            let sv: f64 = v.iter().map(|q| (q - mv).powi(2)).sum();
            c / (su * sv).sqrt()
        };
        let a0: Vec<f64> = a.iter().step_by(2).copied().collect();
        let a1: Vec<f64> = a.iter().skip(1).step_by(2).copied().collect();
        let b0: Vec<f64> = b.iter().step_by(2).copied().collect();
        let bound = 5.0 / (rows as f64).sqrt();
        assert!(corr(&a0, &a1).abs() < bound);
        assert!(corr(&a0, &b0).abs() < bound);
        assert_ne!(a, b);
        // Reproducible from the indices alone.
        let mut again = vec![0.0; rows * 2];
        noise.perturb_into(&x, &mut batch_rng(&streams, 0), &mut again);
        assert_eq!(a, again);
    }
}
