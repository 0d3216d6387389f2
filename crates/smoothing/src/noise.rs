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
//! A batch does not draw its normals from the ChaCha8 stream itself (~13 ns per `u64`):
//! [`batch_sampler`] reads 5 × 256 bits from `stream(b)` and seeds a
//! [`NormalSampler`] — four interleaved xoshiro256++ generators
//! (Blackman & Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS 47(4), 2021)
//! and a fallback one, feeding an exact 256-layer ziggurat (Marsaglia & Tsang 2000; see
//! [`crate::ziggurat`]).
//!
//! The guarantee is unchanged in kind: the seeds of different inputs, phases and batches are
//! independent 256-bit outputs of distinct, non-overlapping ChaCha8 streams, and a batch
//! draws at most `batch × d ≤ 2²⁷` words from each of its five generators of period 2²⁵⁶ − 1, so
//! two generators overlap only if their uniformly random starting points land within 2²⁷ steps
//! of each other on the cycle — probability below 2²⁸/2²⁵⁶ per pair. Results still depend only
//! on (seed, input, phase, batch), hence are bit-identical for any thread count. xoshiro256++
//! and the ziggurat are fixed, portable algorithms implemented here, so the same seed gives the
//! same certificates on every platform.
//!
//! # Evaluation in chunks
//! A batch's noisy inputs are generated and evaluated [`BaseClassifier::preferred_rows`] rows at
//! a time (for [`Linear`](crate::Linear), a chunk of ~128 KiB that stays in the L2 cache between
//! the generator and the product), from one sampler per batch, so the numbers drawn and all
//! results are the same for any chunk size.

use lisse_core::{Error as CoreError, RngStreams};
use rayon::prelude::*;

use crate::classifier::BaseClassifier;
use crate::error::Result;
use crate::ziggurat::NormalSampler;

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

/// The normal sampler of batch `b` of a phase, seeded with 5 × 256 bits of
/// `streams.stream(b)` (see the module docs for why this keeps batches independent).
///
/// ```
/// use lisse_smoothing::noise::batch_sampler;
/// let streams = lisse_core::RngStreams::new(7);
/// let draw = |b| {
///     let mut z = [0.0; 4];
///     batch_sampler(&streams, b).fill(&mut z);
///     z
/// };
/// assert_eq!(draw(0), draw(0)); // reproducible
/// assert_ne!(draw(0), draw(1)); // each batch its own seed
/// ```
pub fn batch_sampler(streams: &RngStreams, b: u64) -> NormalSampler {
    NormalSampler::from_rng(&mut streams.stream(b))
}

/// The stream family of input `i` of a run seeded with `seed`.
pub fn input_streams(seed: u64, i: u64) -> RngStreams {
    RngStreams::new(seed).child(i)
}

/// Runs `per_input(row, streams)` on every row of `inputs` (row-major, `m × d` with d the
/// classifier's input dimension) in parallel, row i with [`input_streams`]`(seed, i)`, and
/// collects the results in row order: the shared body of the `*_all` certification functions,
/// whose results therefore do not depend on the thread count.
///
/// # Errors
/// A length of `inputs` that is not a multiple of d; the first error of `per_input`.
pub(crate) fn par_map_inputs<C, T, F>(
    classifier: &C,
    inputs: &[f64],
    seed: u64,
    per_input: F,
) -> Result<Vec<T>>
where
    C: BaseClassifier + ?Sized,
    T: Send,
    F: Fn(&[f64], &RngStreams) -> Result<T> + Sync,
{
    let d = classifier.input_dim().max(1);
    if !inputs.len().is_multiple_of(d) {
        return Err(
            CoreError::dimension("inputs (a multiple of input_dim)", d, inputs.len()).into(),
        );
    }
    inputs
        .par_chunks_exact(d)
        .enumerate()
        .map(|(i, x)| per_input(x, &input_streams(seed, i as u64)))
        .collect()
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

    /// Writes `rows` noisy copies of `x` into `out` (row-major, `rows × x.len()`): the next
    /// `rows · x.len()` normals of `sampler`, scaled by σ and shifted by `x`.
    ///
    /// ```
    /// use lisse_smoothing::noise::{GaussianNoise, batch_sampler};
    /// let noise = GaussianNoise::new(0.5)?;
    /// let mut out = vec![0.0; 3 * 2];
    /// noise.perturb_into(&[1.0, 2.0], &mut batch_sampler(&lisse_core::RngStreams::new(1), 0), &mut out);
    /// assert!(out.iter().all(|v| v.is_finite()) && out[0] != out[2]);
    /// # Ok::<(), lisse_smoothing::Error>(())
    /// ```
    pub fn perturb_into(&self, x: &[f64], sampler: &mut NormalSampler, out: &mut [f64]) {
        let sigma = self.sigma;
        sampler.fill_then(
            out,
            #[inline(always)]
            |out| {
                for row in out.chunks_exact_mut(x.len().max(1)) {
                    for (o, &xi) in row.iter_mut().zip(x) {
                        *o = xi + sigma * *o;
                    }
                }
            },
        );
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

/// Draws `n` noisy copies of `x` in batches of `batch` (batch b from
/// [`batch_sampler`]`(streams, b)`), evaluates the classifier on chunks of at most
/// [`BaseClassifier::preferred_rows`] rows, and folds each chunk's scores (`rows × K`,
/// row-major) into the batch's accumulator (`init()`, then `fold` chunk by chunk in row order).
/// Batches run in parallel; the accumulators come back in batch order.
#[allow(clippy::too_many_arguments)] // the sampling arguments, then the accumulator's two closures
pub(crate) fn sample_batches<C, T, I, F>(
    classifier: &C,
    noise: GaussianNoise,
    x: &[f64],
    n: u64,
    batch: usize,
    streams: &RngStreams,
    init: I,
    fold: F,
) -> Result<Vec<T>>
where
    C: BaseClassifier + ?Sized,
    T: Send,
    I: Fn() -> T + Sync,
    F: Fn(&mut T, &[f64], usize) -> Result<()> + Sync,
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
    let chunk = classifier
        .preferred_rows()
        .map_or(batch, |r| r.clamp(1, batch));
    // One contiguous run of batches per thread, so each thread allocates its two chunk buffers
    // once per call (not once per batch); results depend only on the batch index.
    let per_thread = nb.div_ceil(rayon::current_num_threads().max(1));
    (0..nb)
        .into_par_iter()
        .with_min_len(per_thread.max(1))
        .map_init(
            || (vec![0.0; chunk * d], vec![0.0; chunk * k]),
            |(inputs, scores), b| {
                let b = b as u64;
                let batch_rows = (n - b * batch as u64).min(batch as u64) as usize;
                let mut sampler = batch_sampler(streams, b);
                let mut acc = init();
                let mut done = 0;
                while done < batch_rows {
                    let rows = (batch_rows - done).min(chunk);
                    noise.perturb_into(x, &mut sampler, &mut inputs[..rows * d]);
                    classifier.scores_into(&inputs[..rows * d], &mut scores[..rows * k])?;
                    fold(&mut acc, &scores[..rows * k], rows)?;
                    done += rows;
                }
                Ok(acc)
            },
        )
        .collect()
}

/// Vote counts per class of `n` noisy copies of `x` (batch b from
/// [`batch_sampler`]`(streams, b)`).
pub(crate) fn count_votes<C: BaseClassifier + ?Sized>(
    classifier: &C,
    noise: GaussianNoise,
    x: &[f64],
    n: u64,
    batch: usize,
    streams: &RngStreams,
) -> Result<Vec<u64>> {
    let k = classifier.num_classes();
    let per = sample_batches(
        classifier,
        noise,
        x,
        n,
        batch,
        streams,
        || vec![0_u64; k],
        |counts, scores, _rows| {
            for s in scores.chunks_exact(k) {
                counts[crate::classifier::argmax(s)?] += 1;
            }
            Ok(())
        },
    )?;
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
        noise.perturb_into(&x, &mut batch_sampler(&streams, 0), &mut a);
        noise.perturb_into(&x, &mut batch_sampler(&streams, 1), &mut b);
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
        noise.perturb_into(&x, &mut batch_sampler(&streams, 0), &mut again);
        assert_eq!(a, again);
    }

    /// A linear layer that asks for a given chunk size.
    struct Chunked(crate::Linear, Option<usize>);
    impl BaseClassifier for Chunked {
        fn input_dim(&self) -> usize {
            self.0.input_dim()
        }
        fn num_classes(&self) -> usize {
            self.0.num_classes()
        }
        fn scores_into(&self, inputs: &[f64], scores: &mut [f64]) -> Result<()> {
            assert!(inputs.len() / 3 <= self.1.unwrap_or(usize::MAX));
            self.0.scores_into(inputs, scores)
        }
        fn preferred_rows(&self) -> Option<usize> {
            self.1
        }
    }

    #[test]
    fn chunk_size_does_not_change_the_votes() {
        let w =
            nalgebra::DMatrix::from_row_slice(3, 3, &[1.0, 0.0, 0.5, 0.0, 1.0, 0.2, 0.3, 0.3, 0.0]);
        let b = nalgebra::DVector::from_vec(vec![0.0, 0.1, 0.2]);
        let noise = GaussianNoise::new(1.0).unwrap();
        let streams = input_streams(4, 2).child(Phase::Estimation.index());
        let votes = |chunk| {
            let f = Chunked(crate::Linear::new(w.clone(), b.clone()).unwrap(), chunk);
            count_votes(&f, noise, &[0.2, 0.1, 0.0], 2_345, 1_000, &streams).unwrap()
        };
        let whole = votes(None);
        assert_eq!(whole.iter().sum::<u64>(), 2_345);
        assert!(whole.iter().all(|&c| c > 100), "{whole:?}");
        for chunk in [Some(1), Some(7), Some(128), Some(5_000)] {
            assert_eq!(votes(chunk), whole, "chunk {chunk:?}");
        }
    }
}
