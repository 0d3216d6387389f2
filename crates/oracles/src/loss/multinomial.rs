//! Multinomial logistic regression (softmax cross-entropy):
//! ℓᵢ(W) = logsumexp(Wᵀxᵢ) − (Wᵀxᵢ)_{yᵢ}.

use std::ops::Range;
use std::sync::Arc;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use nalgebra::{DMatrix, DMatrixView, DVector, DVectorViewMut};
use rayon::prelude::*;

use lisse_core::{
    Dimension, Error, FiniteSum, FiniteSumHvp, Gradient, Hvp, Objective, Result, check_batch,
    check_dim, check_finite,
};

use super::{
    BATCH_BLOCK, Samples, Scratch, Weights, block_columns, blocked_fill, blocked_sum,
    check_sample_out, check_term, data_loss_common, penalty, warm_cache, with_scratch,
};
use crate::data::{Dataset, Targets};

/// Samples per chunk on the small-K path (see `for_each_chunk`): 64 columns of d = 100
/// features are 50 KiB, about a core's L1 data cache. (32 measured the same on the 2-core
/// Xeon host, with the same bits: the gradient's entries are accumulated in sample order
/// either way.)
const CHUNK_COLUMNS: usize = 64;

/// Weighted, L2-regularized multinomial logistic regression (softmax cross-entropy) on a
/// K-class data set:
///
/// f(W) = (1/n) Σᵢ sᵢ [logsumexp(Wᵀxᵢ) − (Wᵀxᵢ)_{yᵢ}] + (λ/2)‖W‖²_F,  W ∈ ℝ^{d×K}.
///
/// With pᵢ = softmax(Wᵀxᵢ) and e_y the y-th unit vector of ℝᴷ:
/// - ∇f(W) = (1/n) Σᵢ sᵢ xᵢ (pᵢ − e_{yᵢ})ᵀ + λW,
/// - ∇²f(W)·V = (1/n) Σᵢ sᵢ xᵢ [(diag(pᵢ) − pᵢpᵢᵀ) Vᵀxᵢ]ᵀ + λV (exact, no finite differences).
///
/// # Parameter layout
/// The parameter vector `w` (length d·K) is the d×K matrix W stored **column-major**: column
/// k, the weights of class k, is `w[k·d .. (k+1)·d]`, i.e. `w[k·d + j] = W[j, k]`. Directions
/// `v` and gradients use the same layout. [`weights_matrix`](Self::weights_matrix) views `w` as
/// W without copying.
///
/// There is no intercept: add a constant feature to the data for one. The model is
/// over-parameterized (adding the same vector to every column of W changes nothing), so
/// without L2 the Hessian is singular; use λ > 0 for a strongly convex problem.
///
/// # Performance
/// Samples are processed in blocks of B = [`block_columns`]`(d)` columns (about 512 KiB of
/// features), with two matrix products per block: Z = WᵀX_B (K×B logits), a softmax per
/// column turning Z into R = (P − Y)diag(s), then G += X_B Rᵀ. Up to K = 32 (K = 16 for an
/// HVP, whose left operand has 2K rows) both products run register-blocked micro-kernels
/// (AVX-512, AVX2+FMA or scalar, chosen at run time) on 64-sample chunks of the block, so
/// each sample is read from memory once and reused from L1; larger K hands whole blocks to
/// faer's sequential SIMD gemm. Z is stored class-major (one row of B samples per
/// class), so the softmax is a few elementwise loops over rows that LLVM vectorizes, with a
/// branch-free exponential instead of a libm call per logit. An HVP stacks Wᵀ over Vᵀ and gets
/// both logits in one product. Full-batch blocks are consecutive columns, run in
/// parallel and summed in block order, so results are bit-identical for any number of
/// threads (on one machine: the micro-kernels' rounding depends on the vector width).
/// Minibatches gather their columns into one block-sized buffer per task of
/// [`BATCH_BLOCK`] indices (a single task, on the calling thread, for shorter batches).
///
/// ```
/// use lisse_core::{Dimension, Objective, OracleExt};
/// use lisse_oracles::data::{Dataset, Targets};
/// use lisse_oracles::loss::MultinomialLogistic;
/// use nalgebra::{DMatrix, DVector};
///
/// // 4 samples in ℝ², 3 classes.
/// let x = DMatrix::from_column_slice(2, 4, &[1.0, 0.0, 0.0, 1.0, -1.0, 0.5, 0.3, -0.8]);
/// let data = Dataset::new(x, Targets::Classes { labels: vec![0, 1, 2, 1], n_classes: 3 })?;
/// let f = MultinomialLogistic::new(data)?.with_l2(1e-3)?;
/// assert_eq!(f.dim(), 2 * 3);
///
/// // At W = 0 all classes are equally likely: each sample costs log K.
/// let w = DVector::zeros(f.dim());
/// assert!((f.value(&w)? - 3f64.ln()).abs() < 1e-15);
///
/// let w = DVector::from_fn(f.dim(), |i, _| (i as f64 * 0.7).sin());
/// assert!(f.check_gradient(&w, 1e-6)?.passes(1e-7));
/// let v = DVector::from_fn(f.dim(), |i, _| (i as f64).cos());
/// assert!(f.check_hvp(&w, &v, 1e-5)?.passes(1e-7));
/// // Column k of W holds the weights of class k.
/// assert_eq!(f.weights_matrix(&w)?[(1, 2)], w[2 * 2 + 1]);
/// assert_eq!(f.predict(&w, f.data().features())?.len(), 4);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Clone)]
pub struct MultinomialLogistic {
    data: Arc<Dataset>,
    weights: Vec<f64>,
    l2: f64,
    n_classes: usize,
}

impl MultinomialLogistic {
    /// Multinomial logistic regression on `data`, with unit weights and no regularization.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless the targets are [`Targets::Classes`];
    /// [`Error::TooLarge`](lisse_core::Error::TooLarge) when the d×K
    /// weights would exceed [`DEFAULT_MAX_DENSE_BYTES`](crate::data::DEFAULT_MAX_DENSE_BYTES).
    pub fn new(data: impl Into<Arc<Dataset>>) -> Result<Self> {
        let data = data.into();
        let Targets::Classes { n_classes, .. } = *data.targets() else {
            return Err(Error::invalid(
                "targets",
                "real values",
                "class labels (Targets::Classes) for multinomial logistic regression",
            ));
        };
        let n = data.n_samples();
        check_class_count(n_classes, data.n_features())?;
        Ok(Self {
            data,
            weights: vec![1.0; n],
            l2: 0.0,
            n_classes,
        })
    }

    /// Number of classes K.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Number of features d.
    pub fn n_features(&self) -> usize {
        self.data.n_features()
    }

    /// Views the parameter vector `w` (length d·K, column-major) as the d×K matrix W whose
    /// column k holds the weights of class k. No copy.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `w.len() != d·K`.
    pub fn weights_matrix<'a>(&self, w: &'a DVector<f64>) -> Result<DMatrixView<'a, f64>> {
        self.check_param("w", w)?;
        Ok(DMatrixView::from_slice(
            w.as_slice(),
            self.n_features(),
            self.n_classes,
        ))
    }

    /// Predicted classes argmaxₖ (Wᵀxⱼ)ₖ of the samples in the columns of `features`
    /// (d×m, one sample per column, like [`Dataset::features`]); ties go to the lowest class.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `w.len() != d·K` or `features` does not have d rows.
    pub fn predict(&self, w: &DVector<f64>, features: &DMatrix<f64>) -> Result<Vec<usize>> {
        let wm = self.weights_matrix(w)?;
        check_dim(
            "features (rows = n_features)",
            self.n_features(),
            features.nrows(),
        )?;
        let k = self.n_classes;
        Ok((0..features.ncols())
            .into_par_iter()
            .map(|j| {
                with_scratch(k, |z| {
                    DVectorViewMut::from_slice(z, k).gemv_tr(1.0, &wm, &features.column(j), 0.0);
                    // First maximum; NaN scores never win.
                    (1..k).fold(0, |best, c| if z[c] > z[best] { c } else { best })
                })
            })
            .collect())
    }

    /// Fraction of the samples of `data` whose label [`predict`](Self::predict) gets right.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `data` has real targets;
    /// [`Error::DimensionMismatch`] when `w.len() != d·K` or `data` does not have d features.
    pub fn accuracy(&self, w: &DVector<f64>, data: &Dataset) -> Result<f64> {
        let Some(labels) = data.labels() else {
            return Err(Error::invalid(
                "data targets",
                "real values",
                "class labels (Targets::Classes)",
            ));
        };
        let predicted = self.predict(w, data.features())?;
        let correct = predicted.iter().zip(labels).filter(|(p, y)| p == y).count();
        Ok(correct as f64 / labels.len() as f64)
    }

    /// The per-sample losses outᵢ = ℓᵢ(W) = logsumexp(Wᵀxᵢ) − (Wᵀxᵢ)_{yᵢ} of all n samples,
    /// written into `out` (length n).
    ///
    /// **Unweighted and without the L2 term**: the weights sᵢ and λ do not enter (with unit
    /// weights and λ = 0 these are the terms fᵢ(W)). Computed blockwise with the same logit
    /// product and softmax as [`value`](Objective::value); parallel blocks write disjoint
    /// slices of `out`, so the result does not depend on the thread count.
    ///
    /// ```
    /// use lisse_core::Dimension;
    /// use lisse_oracles::data::{Dataset, Targets};
    /// use lisse_oracles::loss::MultinomialLogistic;
    /// use nalgebra::{DMatrix, DVector};
    ///
    /// // 3 samples in ℝ², 3 classes; weights and λ do not change per-sample losses.
    /// let x = DMatrix::from_column_slice(2, 3, &[1.0, 0.0, 0.0, 1.0, -1.0, 0.5]);
    /// let data = Dataset::new(x, Targets::Classes { labels: vec![0, 1, 2], n_classes: 3 })?;
    /// let f = MultinomialLogistic::new(data)?
    ///     .with_l2(0.1)?
    ///     .with_weights(vec![0.5, 2.0, 0.0])?;
    ///
    /// // At W = 0 every sample costs log K, and ∇ℓᵢ(0)ᵀV = mean_k (Vᵀxᵢ)_k − (Vᵀxᵢ)_{yᵢ}.
    /// let w = DVector::zeros(f.dim());
    /// let mut losses = DVector::zeros(3);
    /// f.sample_losses_into(&w, &mut losses)?;
    /// assert!(losses.iter().all(|l| (l - 3f64.ln()).abs() < 1e-15));
    ///
    /// // V = e₀e₀ᵀ (only W[0, 0] moves): (Vᵀxᵢ) = (xᵢ₀, 0, 0).
    /// let mut v = DVector::zeros(f.dim());
    /// v[0] = 1.0;
    /// let mut dd = DVector::zeros(3);
    /// f.sample_directional_derivatives_into(&w, &v, &mut dd)?;
    /// // sample 0: x₀₀ = 1, label 0: 1/3 − 1; sample 1: x₁₀ = 0; sample 2: x₂₀ = −1: −1/3.
    /// assert!((dd[0] + 2.0 / 3.0).abs() < 1e-15 && dd[1] == 0.0 && (dd[2] + 1.0 / 3.0).abs() < 1e-15);
    ///
    /// // Minibatch versions: one entry per batch index, repeats included.
    /// let mut batch = DVector::zeros(2);
    /// f.batch_sample_directional_derivatives_into(&w, &v, &[2, 2], &mut batch)?;
    /// assert_eq!(batch[0], dd[2]);
    /// assert_eq!(batch[1], dd[2]);
    /// # Ok::<(), lisse_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `w` does not have length d·K or `out` length n.
    pub fn sample_losses_into(&self, w: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        let samples = Samples::All(self.data.n_samples());
        self.check_param("w", w)?;
        check_sample_out(samples, out)?;
        self.per_sample(w.as_slice(), samples, out.as_mut_slice());
        Ok(())
    }

    /// The per-sample directional derivatives outᵢ = ∇ℓᵢ(W)ᵀV = Σₖ (pᵢₖ − [k = yᵢ]) (Vᵀxᵢ)ₖ,
    /// pᵢ = softmax(Wᵀxᵢ), of all n samples, written into `out` (length n). `v` is the
    /// direction V in the parameter layout of `w` (d×K, column-major).
    ///
    /// **Unweighted and without the L2 term**: the weights sᵢ and λ do not enter. One logit
    /// product per block gives both Wᵀxᵢ and Vᵀxᵢ (as in [`hvp_into`](Hvp::hvp_into)); parallel blocks
    /// write disjoint slices of `out`, so the result does not depend on the thread count.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `w` or `v` does not have length d·K or `out` length n.
    pub fn sample_directional_derivatives_into(
        &self,
        w: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        let samples = Samples::All(self.data.n_samples());
        self.check_param("w", w)?;
        self.check_param("v", v)?;
        check_sample_out(samples, out)?;
        Self::with_left_operand(w, Some(v), |lhs| {
            self.per_sample(lhs, samples, out.as_mut_slice());
        });
        Ok(())
    }

    /// The per-sample losses of a minibatch: outⱼ = ℓ_{iⱼ}(W) for the j-th index iⱼ of
    /// `batch` (repeated indices give repeated entries); `out` has length |batch|.
    ///
    /// Unweighted and without the L2 term, like
    /// [`sample_losses_into`](Self::sample_losses_into), whose entries at the batch indices
    /// these are.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `w` does not have length d·K or `out` length |batch|;
    /// [`Error::InvalidParameter`] when `batch` is empty or holds an index ≥ n.
    pub fn batch_sample_losses_into(
        &self,
        w: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check_param("w", w)?;
        check_batch(batch, self.data.n_samples())?;
        let samples = Samples::Batch(batch);
        check_sample_out(samples, out)?;
        self.per_sample(w.as_slice(), samples, out.as_mut_slice());
        Ok(())
    }

    /// The per-sample directional derivatives of a minibatch: outⱼ = ∇ℓ_{iⱼ}(W)ᵀV for the
    /// j-th index iⱼ of `batch` (repeated indices give repeated entries); `out` has length
    /// |batch|.
    ///
    /// Unweighted and without the L2 term, like
    /// [`sample_directional_derivatives_into`](Self::sample_directional_derivatives_into),
    /// whose entries at the batch indices these are.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `w` or `v` does not have length d·K or `out` length
    /// |batch|; [`Error::InvalidParameter`] when `batch` is empty or holds an index ≥ n.
    pub fn batch_sample_directional_derivatives_into(
        &self,
        w: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check_param("w", w)?;
        self.check_param("v", v)?;
        check_batch(batch, self.data.n_samples())?;
        let samples = Samples::Batch(batch);
        check_sample_out(samples, out)?;
        Self::with_left_operand(w, Some(v), |lhs| {
            self.per_sample(lhs, samples, out.as_mut_slice());
        });
        Ok(())
    }

    /// The three minibatch quantities a reweighted bilevel lower level needs at one sample
    /// (SOBA on data hyper-cleaning), from **one** logit product and **one** softmax per block:
    ///
    /// - `grad` ← (1/|B|) Σⱼ sⱼ ∇ℓ_{Bⱼ}(W) + λW, as
    ///   [`weighted_batch_gradient_into`](Self::weighted_batch_gradient_into);
    /// - `hvp` ← (1/|B|) Σⱼ sⱼ ∇²ℓ_{Bⱼ}(W)·V + λV, as
    ///   [`weighted_batch_hvp_into`](Self::weighted_batch_hvp_into);
    /// - `directional[j]` ← ∇ℓ_{Bⱼ}(W)ᵀV (unweighted, no L2), as
    ///   [`batch_sample_directional_derivatives_into`](Self::batch_sample_directional_derivatives_into);
    ///
    /// with `weights[j]` beside `batch[j]`. Per block, [Wᵀ; Vᵀ]·X_B gives the logits and the
    /// directional logits, one softmax gives pⱼ, and one product X_B·[Rᵀ | Aᵀ] gives both the
    /// gradient (R = (P − Y)diag(s)) and the HVP (A = the softmax Jacobian applied to Vᵀxⱼ):
    /// two gemms instead of the five of the three separate calls, and the batch's features are
    /// gathered once. Equal to the three separate calls up to rounding. Batches longer than
    /// [`BATCH_BLOCK`] run in parallel tasks summed in task order (bit-identical for any thread
    /// count).
    ///
    /// ```
    /// use lisse_core::Dimension;
    /// use lisse_oracles::data::{Dataset, Targets};
    /// use lisse_oracles::loss::MultinomialLogistic;
    /// use nalgebra::{DMatrix, DVector};
    ///
    /// let x = DMatrix::from_fn(3, 5, |i, j| ((i + 2 * j) as f64 * 0.7).sin());
    /// let data = Dataset::new(x, Targets::Classes { labels: vec![0, 1, 2, 1, 0], n_classes: 3 })?;
    /// let f = MultinomialLogistic::new(data)?.with_l2(0.1)?;
    /// let w = DVector::from_fn(f.dim(), |i, _| (i as f64 * 0.3).cos());
    /// let v = DVector::from_fn(f.dim(), |i, _| (i as f64 * 0.9).sin());
    /// let (batch, s) = ([4, 1, 1], [0.5, 2.0, 1.0]);
    /// let (mut g, mut h, mut dd) = (DVector::zeros(f.dim()), DVector::zeros(f.dim()), DVector::zeros(3));
    /// f.weighted_batch_gradient_hvp_directional_into(&w, &v, &batch, &s, &mut g, &mut h, &mut dd)?;
    /// let mut single = DVector::zeros(f.dim());
    /// f.weighted_batch_gradient_into(&w, &batch, &s, &mut single)?;
    /// assert!((&single - &g).norm() < 1e-14);
    /// f.weighted_batch_hvp_into(&w, &v, &batch, &s, &mut single)?;
    /// assert!((&single - &h).norm() < 1e-14);
    /// let mut per = DVector::zeros(3);
    /// f.batch_sample_directional_derivatives_into(&w, &v, &batch, &mut per)?;
    /// assert!((&per - &dd).norm() < 1e-14);
    /// # Ok::<(), lisse_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `w`, `v`, `grad` or `hvp` does not have length d·K,
    /// or `weights` or `directional` length |batch|; [`Error::InvalidParameter`] for an empty
    /// batch or an index ≥ n; [`Error::NonFinite`] for non-finite `w`, `v` or weights, or
    /// overflowing logits.
    #[allow(
        clippy::too_many_arguments,
        reason = "three outputs of one pass beside its four inputs"
    )]
    pub fn weighted_batch_gradient_hvp_directional_into(
        &self,
        w: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        weights: &[f64],
        grad: &mut DVector<f64>,
        hvp: &mut DVector<f64>,
        directional: &mut DVector<f64>,
    ) -> Result<()> {
        self.check_param("w", w)?;
        self.check_param("v", v)?;
        self.check_out(grad)?;
        self.check_out(hvp)?;
        check_batch(batch, self.data.n_samples())?;
        let samples = Samples::Batch(batch);
        super::check_call_weights(samples, weights)?;
        check_sample_out(samples, directional)?;
        let weights = Weights::PerCall(weights);
        let dk = self.dim();
        let mut acc = Scratch::zeroed(2 * dk);
        Self::with_left_operand(w, Some(v), |lhs| {
            let dd = directional.as_mut_slice();
            if batch.len() <= BATCH_BLOCK {
                self.for_each_block(samples, 0..batch.len(), false, |xb, sub| {
                    let chunk = &mut dd[sub.clone()];
                    self.block_fused(lhs, xb, samples, weights, sub, &mut acc, chunk);
                });
            } else {
                let tasks = batch.len().div_ceil(BATCH_BLOCK);
                let mut partials = Scratch::zeroed(tasks * 2 * dk);
                partials
                    .par_chunks_mut(2 * dk)
                    .zip(dd.par_chunks_mut(BATCH_BLOCK))
                    .enumerate()
                    .for_each(|(t, (part, chunk))| {
                        let start = t * BATCH_BLOCK;
                        self.for_each_block(
                            samples,
                            start..start + chunk.len(),
                            false,
                            |xb, sub| {
                                let out = &mut chunk[sub.start - start..sub.end - start];
                                self.block_fused(lhs, xb, samples, weights, sub, part, out);
                            },
                        );
                    });
                for part in partials.chunks_exact(2 * dk) {
                    for (a, &p) in acc.iter_mut().zip(part) {
                        *a += p;
                    }
                }
            }
        });
        let scale = 1.0 / batch.len() as f64;
        grad.copy_from_slice(&acc[..dk]);
        grad.axpy(self.l2, w, scale);
        hvp.copy_from_slice(&acc[dk..]);
        hvp.axpy(self.l2, v, scale);
        finite_output("gradient", grad.as_slice())?;
        finite_output("Hessian-vector product", hvp.as_slice())?;
        finite_output("directional derivative", directional.as_slice())
    }

    fn labels(&self) -> &[usize] {
        self.data.labels().unwrap_or(&[])
    }

    /// A parameter (W or a direction V) of length d·K with finite entries: NaN or infinite
    /// weights would give NaN values, gradients and accuracies (issue: `accuracy` returned
    /// `Ok(0.34)` at NaN weights).
    fn check_param(&self, what: &str, w: &DVector<f64>) -> Result<()> {
        check_dim(what, self.dim(), w.len())?;
        check_finite(what, w.as_slice())
    }

    fn check_out(&self, out: &DVector<f64>) -> Result<()> {
        check_dim("output buffer", self.dim(), out.len())
    }

    /// The left operand of the logit product, as a row-major matrix of d columns: Wᵀ (K×d)
    /// is `w` itself (w[k·d + j] = W[j, k] is row k of Wᵀ), so the value and gradient use `w`
    /// without a copy; for an HVP with direction V, [Wᵀ; Vᵀ] (2K×d) is `w` followed by `v` in a
    /// per-thread scratch buffer, so that one product per block gives both the logits Wᵀxⱼ and
    /// the directional logits Vᵀxⱼ (packing X_B once).
    fn with_left_operand<R>(
        w: &DVector<f64>,
        v: Option<&DVector<f64>>,
        f: impl FnOnce(&[f64]) -> R,
    ) -> R {
        match v {
            None => f(w.as_slice()),
            Some(v) => {
                let mut stacked = Scratch::zeroed(w.len() + v.len());
                stacked[..w.len()].copy_from_slice(w.as_slice());
                stacked[w.len()..].copy_from_slice(v.as_slice());
                f(&stacked)
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Block kernel. A block is B samples whose features are the columns of a d×B view X_B:
    // consecutive columns of the data for full-batch passes, or minibatch columns gathered into
    // an L2-sized buffer (cut into chunks of CHUNK_COLUMNS samples at small K). Each block
    // costs at most two matrix products (Z = WᵀX_B, then acc += X_B Rᵀ), run by the
    // micro-kernels of `small_gemm` at small K or faer's sequential SIMD gemm on zero-copy
    // views, and a softmax over the block that auto-vectorizes across samples. Every buffer comes from the
    // calling thread's scratch pool, so a call allocates nothing once the pools are warm.
    //
    // Layout: Z is stored class-major, z[c·B + j] = (Wᵀxⱼ)_c, i.e. row c of Z (class c for
    // every sample of the block) is contiguous. Every softmax step is then an elementwise loop
    // over contiguous rows of length B (max, exp, sums across the K rows), and the same buffer
    // read column-major as a B×K matrix is exactly the right operand Rᵀ of the second product.
    // ---------------------------------------------------------------------------------------

    /// acc += Σ over the block of the quantity `pass` sums, for the samples at `positions` of
    /// `samples`, whose features are the columns of `xb` (in the same order). `lhs` is
    /// [`left_operand`](Self::left_operand): Wᵀ, or [Wᵀ; Vᵀ] for an HVP. `ahead` holds the
    /// features of the chunk that comes next (possibly none), which the products request by
    /// software prefetch; it changes no result.
    #[allow(
        clippy::too_many_arguments,
        reason = "the pass, its operands and its output, all borrowed per block"
    )]
    fn block(
        &self,
        pass: Pass,
        lhs: &[f64],
        xb: &[f64],
        samples: Samples<'_>,
        weights: Weights<'_>,
        positions: Range<usize>,
        acc: &mut [f64],
        ahead: &[f64],
    ) {
        let (d, k, len) = (self.n_features(), self.n_classes, positions.len());
        let labels = self.labels();
        // The next chunk is requested during both products (half each), or during the logits
        // when there is no second product.
        let (ahead_logits, ahead_outer) = match pass {
            Pass::Value => (ahead, &[][..]),
            Pass::Gradient | Pass::Hvp => split_lines(ahead),
        };
        // [Z; A] = lhs·X_B, class-major (row stride len): rows 0..K hold the logits zⱼ = Wᵀxⱼ,
        // rows K..2K (HVP only) the directional logits aⱼ = Vᵀxⱼ.
        let mut za = block_logits(lhs, xb, d, len, ahead_logits);
        let (z, a) = za.split_at_mut(k * len);
        // Per-sample scratch: sᵢ, max_c zⱼ,c, Σ_c e^{zⱼ,c − max}, and (value, HVP) one more.
        let mut scratch = Scratch::zeroed(4 * len);
        let (s, rest) = scratch.split_at_mut(len);
        let (max, rest) = rest.split_at_mut(len);
        let (sum, extra) = rest.split_at_mut(len);
        let start = positions.start;
        samples.for_each_at(positions.clone(), |p, i| s[p - start] = weights.at(p, i));
        match pass {
            Pass::Value => {
                // extra ← z_{j,yⱼ}, before exponentiating overwrites the logits.
                let mut j = 0;
                samples.for_each(positions, |i| {
                    extra[j] = z[labels[i] * len + j];
                    j += 1;
                });
                exp_shifted_rows(z, len, max, sum);
                // sⱼ ℓⱼ = sⱼ (logsumexp(zⱼ) − zⱼ,yⱼ), logsumexp(zⱼ) = maxⱼ + ln Σ_c e^{zⱼ,c − maxⱼ}.
                for j in 0..len {
                    acc[0] += s[j] * (max[j] + sum[j].ln() - extra[j]);
                }
            }
            Pass::Gradient => {
                exp_shifted_rows(z, len, max, sum);
                // rⱼ = sⱼ (pⱼ − e_{yⱼ}), pⱼ,c = e^{zⱼ,c − maxⱼ} / sumⱼ: scale each row
                // elementwise by sⱼ/sumⱼ, then subtract sⱼ at the label.
                super::simd::scale_rows(z, len, s, sum, max);
                let mut j = 0;
                samples.for_each(positions, |i| {
                    z[labels[i] * len + j] -= s[j];
                    j += 1;
                });
                // G += X_B Rᵀ = Σⱼ xⱼ rⱼᵀ (Rᵀ: the buffer read column-major as B×K).
                block_outer(acc, xb, z, d, len, ahead_outer);
            }
            Pass::Hvp => {
                exp_shifted_rows(z, len, max, sum);
                // With eⱼ,c = e^{zⱼ,c − maxⱼ} and pⱼ = eⱼ/sumⱼ, the softmax Jacobian gives
                // sⱼ (diag(pⱼ) − pⱼpⱼᵀ) aⱼ = (sⱼ/sumⱼ) eⱼ ⊙ (aⱼ − pⱼᵀaⱼ), with
                // pⱼᵀaⱼ = (eⱼᵀaⱼ)/sumⱼ.
                let (pa, scale) = (extra, max);
                super::simd::hvp_rows(z, a, len, s, sum, pa, scale);
                // H += X_B Aᵀ.
                block_outer(acc, xb, a, d, len, ahead_outer);
            }
        }
    }

    /// Per-sample outputs of a block: for each position j of `positions` (sample i of
    /// `samples`, features the j-th column of `xb`), out[j] ← ℓᵢ(W) = logsumexp(zⱼ) − zⱼ,yᵢ
    /// when `lhs` is Wᵀ, or out[j] ← ∇ℓᵢ(W)ᵀV = Σ_c (pⱼ,c − [c = yᵢ]) aⱼ,c when `lhs` is
    /// [Wᵀ; Vᵀ] (aⱼ = Vᵀxⱼ). Unweighted, no L2. Same product and softmax as [`block`](Self::block),
    /// and the same `ahead`.
    fn block_samples(
        &self,
        lhs: &[f64],
        xb: &[f64],
        samples: Samples<'_>,
        positions: Range<usize>,
        out: &mut [f64],
        ahead: &[f64],
    ) {
        let (d, k, len) = (self.n_features(), self.n_classes, positions.len());
        let labels = self.labels();
        let mut za = block_logits(lhs, xb, d, len, ahead);
        let (z, a) = za.split_at_mut(k * len);
        let mut scratch = Scratch::zeroed(2 * len);
        let (max, sum) = scratch.split_at_mut(len);
        if a.is_empty() {
            // out ← zⱼ,yⱼ before exponentiating overwrites the logits, then
            // ℓⱼ = maxⱼ + ln sumⱼ − zⱼ,yⱼ (the same operations as the value pass).
            let mut j = 0;
            samples.for_each(positions, |i| {
                out[j] = z[labels[i] * len + j];
                j += 1;
            });
            exp_shifted_rows(z, len, max, sum);
            for ((o, &m), &total) in out.iter_mut().zip(max.iter()).zip(sum.iter()) {
                *o = m + total.ln() - *o;
            }
        } else {
            // With eⱼ,c = e^{zⱼ,c − maxⱼ}: ∇ℓⱼᵀV = pⱼᵀaⱼ − aⱼ,yⱼ = (eⱼᵀaⱼ)/sumⱼ − aⱼ,yⱼ.
            exp_shifted_rows(z, len, max, sum);
            out.fill(0.0);
            for (erow, arow) in z.chunks_exact(len).zip(a.chunks_exact(len)) {
                for ((o, &e), &av) in out.iter_mut().zip(erow).zip(arow) {
                    *o += e * av;
                }
            }
            let mut j = 0;
            samples.for_each(positions, |i| {
                out[j] = out[j] / sum[j] - a[labels[i] * len + j];
                j += 1;
            });
        }
    }

    /// The fused block of
    /// [`weighted_batch_gradient_hvp_directional_into`](Self::weighted_batch_gradient_hvp_directional_into):
    /// `lhs` = [Wᵀ; Vᵀ]; acc[..dK] += Σⱼ sⱼ∇ℓⱼ, acc[dK..] += Σⱼ sⱼ∇²ℓⱼ·V (d×2K, column-major)
    /// and out[j] ← ∇ℓⱼᵀV, with the same operations as [`block`](Self::block) (gradient and
    /// HVP passes) and [`block_samples`](Self::block_samples), the product and the softmax
    /// done once.
    #[allow(
        clippy::too_many_arguments,
        reason = "the pass's operands and its two outputs, all borrowed per block"
    )]
    fn block_fused(
        &self,
        lhs: &[f64],
        xb: &[f64],
        samples: Samples<'_>,
        weights: Weights<'_>,
        positions: Range<usize>,
        acc: &mut [f64],
        out: &mut [f64],
    ) {
        let (d, k, len) = (self.n_features(), self.n_classes, positions.len());
        let labels = self.labels();
        // [Z; A] = [Wᵀ; Vᵀ]·X_B, class-major (row stride len).
        let mut za = block_logits(lhs, xb, d, len, &[]);
        let mut scratch = Scratch::zeroed(4 * len);
        let (s, rest) = scratch.split_at_mut(len);
        let (max, rest) = rest.split_at_mut(len);
        let (sum, pa) = rest.split_at_mut(len);
        let start = positions.start;
        samples.for_each_at(positions.clone(), |p, i| s[p - start] = weights.at(p, i));
        let (z, a) = za.split_at_mut(k * len);
        exp_shifted_rows(z, len, max, sum);
        // pⱼᵀaⱼ = (eⱼᵀaⱼ)/sumⱼ, and ∇ℓⱼᵀV = pⱼᵀaⱼ − aⱼ,yⱼ.
        pa.fill(0.0);
        for (erow, arow) in z.chunks_exact(len).zip(a.chunks_exact(len)) {
            for ((dot, &e), &av) in pa.iter_mut().zip(erow).zip(arow) {
                *dot += e * av;
            }
        }
        let mut j = 0;
        samples.for_each(positions.clone(), |i| {
            out[j] = pa[j] / sum[j] - a[labels[i] * len + j];
            j += 1;
        });
        // HVP residual sⱼ(diag(pⱼ) − pⱼpⱼᵀ)aⱼ = (sⱼ/sumⱼ) eⱼ ⊙ (aⱼ − pⱼᵀaⱼ), as in `block`.
        let scale = max;
        for ((dot, sc), (&sj, &sumj)) in pa
            .iter_mut()
            .zip(scale.iter_mut())
            .zip(s.iter().zip(sum.iter()))
        {
            *dot /= sumj;
            *sc = sj / sumj;
        }
        for (erow, arow) in z.chunks_exact(len).zip(a.chunks_exact_mut(len)) {
            for (((av, &e), &paj), &sc) in
                arow.iter_mut().zip(erow).zip(pa.iter()).zip(scale.iter())
            {
                *av = sc * e * (*av - paj);
            }
        }
        // Gradient residual rⱼ = sⱼ(pⱼ − e_{yⱼ}), in place of the exponentials.
        for row in z.chunks_exact_mut(len) {
            for (r, &sc) in row.iter_mut().zip(scale.iter()) {
                *r *= sc;
            }
        }
        let mut j = 0;
        samples.for_each(positions, |i| {
            z[labels[i] * len + j] -= s[j];
            j += 1;
        });
        // [G | H] += X_B·[Rᵀ | Aᵀ]: the buffer read column-major as B×2K.
        block_outer(acc, xb, &za, d, len, &[]);
    }

    /// Positions per parallel task for a pass over `samples`: [`block_columns`]`(d)`
    /// consecutive samples for all n, [`BATCH_BLOCK`] indices for a minibatch.
    fn task_len(&self, samples: Samples<'_>) -> usize {
        match samples {
            Samples::All(_) => block_columns(self.n_features()),
            Samples::Batch(_) => BATCH_BLOCK,
        }
    }

    /// Calls `f(xb, sub)` for consecutive sub-ranges `sub` of the positions `range` of
    /// `samples` (one task), with `xb` the d×|sub| features of those samples (column-major): for
    /// all n, a slice of the data (the task is one block of consecutive columns, pulled into
    /// cache first); for a minibatch, the columns gathered `block_columns(d)` at a time into
    /// one per-thread scratch buffer.
    fn for_each_block(
        &self,
        samples: Samples<'_>,
        range: Range<usize>,
        warm: bool,
        mut f: impl FnMut(&[f64], Range<usize>),
    ) {
        let x = self.data.features();
        let d = x.nrows();
        match samples {
            Samples::All(_) => {
                let xb = &x.as_slice()[range.start * d..range.end * d];
                if warm {
                    warm_cache(xb);
                }
                f(xb, range);
            }
            Samples::Batch(batch) => {
                let columns = block_columns(d);
                let mut buffer = Scratch::zeroed(d * columns.min(range.len()));
                for start in range.clone().step_by(columns) {
                    let sub = start..(start + columns).min(range.end);
                    let len = sub.len();
                    for (column, &i) in buffer.chunks_exact_mut(d).zip(&batch[sub.clone()]) {
                        column.copy_from_slice(&x.as_slice()[i * d..(i + 1) * d]);
                    }
                    f(&buffer[..d * len], sub);
                }
            }
        }
    }

    /// acc ← Σ_{i∈S} of the quantity `pass` sums (unnormalized), deterministically: blocks of
    /// [`block_columns`]`(d)` consecutive samples for all n, or, for a minibatch, tasks of
    /// [`BATCH_BLOCK`] indices whose columns are gathered `block_columns(d)` at a time.
    fn sum(
        &self,
        pass: Pass,
        lhs: &[f64],
        samples: Samples<'_>,
        weights: Weights<'_>,
        acc: &mut [f64],
    ) {
        blocked_sum(samples.len(), self.task_len(samples), acc, |range, acc| {
            self.for_each_chunk(lhs, samples, range, |xb, sub, ahead| {
                self.block(pass, lhs, xb, samples, weights, sub, acc, ahead);
            });
        });
    }

    /// [`for_each_block`](Self::for_each_block), split further, when the left operand `lhs`
    /// has at most [`MAX_ROWS`](super::small_gemm::MAX_ROWS) rows (K ≤ 16), into chunks of
    /// [`CHUNK_COLUMNS`] samples that go through both products and the softmax while they are
    /// in L1 or L2: `f(xb, sub, ahead)`. For all n, `ahead` holds the features of the chunk
    /// that follows (the next [`CHUNK_COLUMNS`] samples of the data, past the task's end too),
    /// which the kernels request by software prefetch while they work on this one, so the
    /// stream from memory overlaps the arithmetic; for a minibatch (gathered columns) it is
    /// empty. Larger K keeps whole blocks, each pulled into cache first by a sequential pass
    /// (faer's gemm packs them). The chunks depend on d and K only, and prefetching changes no
    /// result, so results stay independent of the thread count.
    fn for_each_chunk(
        &self,
        lhs: &[f64],
        samples: Samples<'_>,
        range: Range<usize>,
        mut f: impl FnMut(&[f64], Range<usize>, &[f64]),
    ) {
        let d = self.n_features();
        if lhs.len() / d.max(1) > super::small_gemm::MAX_ROWS {
            self.for_each_block(samples, range, true, |xb, sub| f(xb, sub, &[]));
            return;
        }
        if let Samples::All(n) = samples {
            let x = self.data.features().as_slice();
            for start in range.clone().step_by(CHUNK_COLUMNS) {
                let end = (start + CHUNK_COLUMNS).min(range.end);
                let next = (end + CHUNK_COLUMNS).min(n);
                f(&x[start * d..end * d], start..end, &x[end * d..next * d]);
            }
            return;
        }
        self.for_each_block(samples, range, false, |xb, sub| {
            for start in sub.clone().step_by(CHUNK_COLUMNS) {
                let end = (start + CHUNK_COLUMNS).min(sub.end);
                let offset = start - sub.start;
                f(&xb[offset * d..(offset + end - start) * d], start..end, &[]);
            }
        });
    }

    /// out[p] ← ℓᵢ(W) (`lhs` = Wᵀ) or ∇ℓᵢ(W)ᵀV (`lhs` = [Wᵀ; Vᵀ]) for the sample i at each
    /// position p of `samples`, over the same tasks and blocks as [`sum`](Self::sum), each
    /// task writing its own slice of `out`.
    fn per_sample(&self, lhs: &[f64], samples: Samples<'_>, out: &mut [f64]) {
        blocked_fill(self.task_len(samples), out, |range, out| {
            let offset = range.start;
            self.for_each_chunk(lhs, samples, range, |xb, sub, ahead| {
                let chunk = &mut out[sub.start - offset..sub.end - offset];
                self.block_samples(lhs, xb, samples, sub, chunk, ahead);
            });
        });
    }

    /// (1/|S|) Σ_{i∈S} sᵢ ℓᵢ(W) + (λ/2)‖W‖².
    pub(crate) fn mean_value(
        &self,
        w: &DVector<f64>,
        samples: Samples<'_>,
        weights: Weights<'_>,
    ) -> Result<f64> {
        let mut sum = [0.0];
        self.sum(Pass::Value, w.as_slice(), samples, weights, &mut sum);
        let value = sum[0] / samples.len() as f64 + penalty(self.l2, w);
        finite_output("value", &[value])?;
        Ok(value)
    }

    /// out ← (1/|S|) Σ_{i∈S} sᵢ ∇ℓᵢ(W) + λW.
    pub(crate) fn mean_gradient(
        &self,
        w: &DVector<f64>,
        samples: Samples<'_>,
        weights: Weights<'_>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.sum(
            Pass::Gradient,
            w.as_slice(),
            samples,
            weights,
            out.as_mut_slice(),
        );
        out.axpy(self.l2, w, 1.0 / samples.len() as f64);
        finite_output("gradient", out.as_slice())
    }

    /// out ← (1/|S|) Σ_{i∈S} sᵢ ∇²ℓᵢ(W)·V + λV.
    pub(crate) fn mean_hvp(
        &self,
        w: &DVector<f64>,
        v: &DVector<f64>,
        samples: Samples<'_>,
        weights: Weights<'_>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        Self::with_left_operand(w, Some(v), |lhs| {
            self.sum(Pass::Hvp, lhs, samples, weights, out.as_mut_slice());
        });
        out.axpy(self.l2, v, 1.0 / samples.len() as f64);
        finite_output("Hessian-vector product", out.as_slice())
    }
}

/// What a block pass sums: sᵢℓᵢ, sᵢ∇ℓᵢ, or sᵢ∇²ℓᵢ·V (V enters through the left operand).
#[derive(Clone, Copy)]
enum Pass {
    Value,
    Gradient,
    Hvp,
}

/// A typed error when a result is not finite although its inputs were: finite but huge
/// weights (|Wᵀx| near 1e308) overflow the logits.
fn finite_output(what: &str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(Error::NonFinite {
            what: format!(
                "multinomial {what} (the logits Wᵀx overflow: the weights are too large; \
                 lower the step size or rescale the features)"
            ),
            index,
            value: values[index],
        }),
    }
}

/// dst ← lhs·rhs (`Accum::Replace`) or dst += lhs·rhs (`Accum::Add`), by faer's sequential
/// SIMD gemm on views of the caller's slices (no copy). Sequential inside a block: the
/// parallelism is over blocks, whose partial sums are added in block order, so the result does
/// not depend on the thread count.
fn product(dst: MatMut<'_, f64>, accum: Accum, lhs: MatRef<'_, f64>, rhs: MatRef<'_, f64>) {
    matmul(dst, accum, lhs, rhs, 1.0, Par::Seq);
}

/// [Z; A] = lhs·X_B in a scratch buffer, class-major (row r of the result, for every sample
/// of the block, is contiguous with stride `len`): `lhs` is Wᵀ (K×d, the logits) or [Wᵀ; Vᵀ]
/// (2K×d, the logits and the directional logits), `xb` the d×`len` features of the block.
/// Up to [`MAX_ROWS`](super::small_gemm::MAX_ROWS) rows (K ≤ 16) by the register-blocked
/// kernel of [`small_gemm`](super::small_gemm), more by faer's gemm.
fn block_logits(lhs: &[f64], xb: &[f64], d: usize, len: usize, ahead: &[f64]) -> Scratch {
    let rows = lhs.len() / d;
    let mut za = Scratch::zeroed(rows * len);
    if rows <= super::small_gemm::MAX_ROWS {
        super::small_gemm::logits(lhs, xb, d, len, &mut za, ahead);
    } else {
        product(
            MatMut::from_row_major_slice_mut(&mut za, rows, len),
            Accum::Replace,
            MatRef::from_row_major_slice(lhs, rows, d),
            MatRef::from_column_major_slice(xb, d, len),
        );
    }
    za
}

/// acc (d×m, column-major) += X_B·Rᵀ, with `r` the m×`len` class-major residuals (row c
/// contiguous) and `xb` the d×`len` features of the block: up to
/// [`MAX_ROWS`](super::small_gemm::MAX_ROWS) columns by the register-blocked kernel of
/// [`small_gemm`](super::small_gemm), more by faer's gemm (the buffer read column-major as
/// `len`×m is Rᵀ).
fn block_outer(acc: &mut [f64], xb: &[f64], r: &[f64], d: usize, len: usize, ahead: &[f64]) {
    let m = r.len() / len.max(1);
    if m <= super::small_gemm::MAX_ROWS {
        super::small_gemm::accumulate_outer(acc, xb, r, d, len, ahead);
    } else {
        product(
            MatMut::from_column_major_slice_mut(acc, d, m),
            Accum::Add,
            MatRef::from_column_major_slice(xb, d, len),
            MatRef::from_column_major_slice(r, len, m),
        );
    }
}

/// `ahead` cut in two at a cache line (of 8 f64 from its start) near the middle: the lines
/// each of a block's two products requests.
fn split_lines(ahead: &[f64]) -> (&[f64], &[f64]) {
    ahead.split_at(ahead.len() / 16 * 8)
}

/// For the K×B class-major logits `z` (row c, `z[c·B..(c+1)·B]`, holds class c of the B
/// samples): max[j] ← max_c z_{j,c}, z_{j,c} ← e^{z_{j,c} − max[j]} and
/// sum[j] ← Σ_c e^{z_{j,c} − max[j]}, so that softmax(zⱼ) = zⱼ/sum[j] and
/// logsumexp(zⱼ) = max[j] + ln sum[j]. Shifting by the max keeps every exponent ≤ 0 (no
/// overflow, sum[j] ≥ 1). Each step is an elementwise loop over rows of length B, compiled for
/// AVX2 at run time when the CPU has it ([`simd`](super::simd), bit-identical to the baseline
/// build); every sample is computed on its own, so grouping does not change results.
fn exp_shifted_rows(z: &mut [f64], len: usize, max: &mut [f64], sum: &mut [f64]) {
    super::simd::exp_shifted_rows(z, len, max, sum);
}

data_loss_common!(MultinomialLogistic);

impl super::WeightedKernels for MultinomialLogistic {
    fn n_samples_k(&self) -> usize {
        self.data.n_samples()
    }
    fn check_point(&self, w: &DVector<f64>, v: Option<&DVector<f64>>) -> Result<()> {
        self.check_param("w", w)?;
        if let Some(v) = v {
            self.check_param("v", v)?;
        }
        Ok(())
    }
    fn kernel_value(&self, w: &DVector<f64>, samples: Samples<'_>, s: Weights<'_>) -> Result<f64> {
        self.mean_value(w, samples, s)
    }
    fn kernel_gradient(
        &self,
        w: &DVector<f64>,
        samples: Samples<'_>,
        s: Weights<'_>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.mean_gradient(w, samples, s, out)
    }
    fn kernel_hvp(
        &self,
        w: &DVector<f64>,
        v: &DVector<f64>,
        samples: Samples<'_>,
        s: Weights<'_>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.mean_hvp(w, v, samples, s, out)
    }
}

impl Dimension for MultinomialLogistic {
    /// d·K.
    fn dim(&self) -> usize {
        self.data.n_features() * self.n_classes
    }
    /// A full-batch call reads all n samples.
    fn full_batch_size(&self) -> usize {
        self.data.n_samples()
    }
}

impl Objective for MultinomialLogistic {
    fn value(&self, w: &DVector<f64>) -> Result<f64> {
        self.check_param("w", w)?;
        self.mean_value(
            w,
            Samples::All(self.data.n_samples()),
            Weights::Stored(&self.weights),
        )
    }
}

impl Gradient for MultinomialLogistic {
    fn gradient_into(&self, w: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        self.check_param("w", w)?;
        self.check_out(out)?;
        self.mean_gradient(
            w,
            Samples::All(self.data.n_samples()),
            Weights::Stored(&self.weights),
            out,
        )
    }
}

impl Hvp for MultinomialLogistic {
    fn hvp_into(&self, w: &DVector<f64>, v: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        self.check_param("w", w)?;
        self.check_param("v", v)?;
        self.check_out(out)?;
        self.mean_hvp(
            w,
            v,
            Samples::All(self.data.n_samples()),
            Weights::Stored(&self.weights),
            out,
        )
    }
}

impl FiniteSum for MultinomialLogistic {
    fn n_terms(&self) -> usize {
        self.data.n_samples()
    }

    fn term_value(&self, w: &DVector<f64>, i: usize) -> Result<f64> {
        self.check_param("w", w)?;
        check_term(i, self.data.n_samples())?;
        self.mean_value(w, Samples::Batch(&[i]), Weights::Stored(&self.weights))
    }

    fn term_gradient_into(&self, w: &DVector<f64>, i: usize, out: &mut DVector<f64>) -> Result<()> {
        self.check_param("w", w)?;
        self.check_out(out)?;
        check_term(i, self.data.n_samples())?;
        self.mean_gradient(w, Samples::Batch(&[i]), Weights::Stored(&self.weights), out)
    }

    fn batch_value(&self, w: &DVector<f64>, batch: &[usize]) -> Result<f64> {
        self.check_param("w", w)?;
        check_batch(batch, self.data.n_samples())?;
        self.mean_value(w, Samples::Batch(batch), Weights::Stored(&self.weights))
    }

    fn batch_gradient_into(
        &self,
        w: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check_param("w", w)?;
        self.check_out(out)?;
        check_batch(batch, self.data.n_samples())?;
        self.mean_gradient(
            w,
            Samples::Batch(batch),
            Weights::Stored(&self.weights),
            out,
        )
    }
}

impl FiniteSumHvp for MultinomialLogistic {
    fn term_hvp_into(
        &self,
        w: &DVector<f64>,
        v: &DVector<f64>,
        i: usize,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check_param("w", w)?;
        self.check_param("v", v)?;
        self.check_out(out)?;
        check_term(i, self.data.n_samples())?;
        self.mean_hvp(
            w,
            v,
            Samples::Batch(&[i]),
            Weights::Stored(&self.weights),
            out,
        )
    }

    fn batch_hvp_into(
        &self,
        w: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check_param("w", w)?;
        self.check_param("v", v)?;
        self.check_out(out)?;
        check_batch(batch, self.data.n_samples())?;
        self.mean_hvp(
            w,
            v,
            Samples::Batch(batch),
            Weights::Stored(&self.weights),
            out,
        )
    }
}

/// Checks, before any d×K buffer is allocated, that the d×K weights of `n_classes` classes on
/// `d` features fit the dense memory limit (class ids used as class indices, such as
/// 1600000000, would otherwise abort on a 25 GB allocation or overflow).
fn check_class_count(n_classes: usize, d: usize) -> Result<()> {
    crate::data::check_dense_size(
        "the multinomial weights",
        d,
        n_classes,
        crate::data::DEFAULT_MAX_DENSE_BYTES,
        "encode class labels as dense indices 0..K-1 (the data readers do so when n_classes is \
         not given), or reduce the features (see docs/limits.md)",
    )
}
