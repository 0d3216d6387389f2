//! Multinomial logistic regression (softmax cross-entropy):
//! ℓᵢ(W) = logsumexp(Wᵀxᵢ) − (Wᵀxᵢ)_{yᵢ}.

use std::ops::Range;
use std::sync::Arc;

use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut, DVector, DVectorViewMut};
use rayon::prelude::*;

use lisse_core::{
    Dimension, Error, FiniteSum, FiniteSumHvp, Gradient, Hvp, Objective, Result, check_batch,
    check_dim,
};

use super::{
    BATCH_BLOCK, Samples, block_columns, blocked_sum, check_term, data_loss_common, penalty,
    softmax_in_place, warm_cache, with_scratch,
};
use crate::data::{Dataset, Targets};

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
/// features), with two matrix products per block that nalgebra hands to the SIMD gemm of
/// `matrixmultiply`: Z = WᵀX_B (K×B logits), a softmax per column turning Z into
/// R = diag(s)(P − Y), then G += X_B Rᵀ. Full-batch blocks are consecutive columns, run in
/// parallel and summed in block order, so results are bit-identical for any number of
/// threads. Minibatches gather their columns into one block-sized buffer per task of
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
    /// [`Error::InvalidParameter`] unless the targets are [`Targets::Classes`].
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

    fn labels(&self) -> &[usize] {
        self.data.labels().unwrap_or(&[])
    }

    fn check_param(&self, what: &str, w: &DVector<f64>) -> Result<()> {
        check_dim(what, self.dim(), w.len())
    }

    fn check_out(&self, out: &DVector<f64>) -> Result<()> {
        check_dim("output buffer", self.dim(), out.len())
    }

    /// Wᵀ as a contiguous K×d matrix (row k of Wᵀ is column k of W), copied once per call.
    ///
    /// A zero-copy strided view of `w` would do for the SIMD gemm, but nalgebra 0.35's
    /// fallback for small products (any dimension ≤ 5) indexes past the end of a column whose
    /// row stride is not 1 (`axcpy_uninit` loops over the raw slice length), so every left
    /// operand handed to `gemm` here is contiguous.
    fn transposed(&self, w: &DVector<f64>) -> DMatrix<f64> {
        DMatrixView::from_slice(w.as_slice(), self.n_features(), self.n_classes).transpose()
    }

    // ---------------------------------------------------------------------------------------
    // Block kernels. A block is B samples whose features are the columns of a d×B view X_B:
    // consecutive columns of the data for full-batch passes, or minibatch columns gathered into
    // an L2-sized buffer. Each block costs two matrix products, which nalgebra dispatches to the
    // SIMD gemm of `matrixmultiply`: Z = WᵀX_B, then acc += X_B Rᵀ.
    // ---------------------------------------------------------------------------------------

    /// acc += Σ over the block of the quantity `pass` sums, for the samples at `positions` of
    /// `samples`, whose features are the columns of `xb` (in the same order).
    fn block(
        &self,
        pass: Pass<'_>,
        wt: &DMatrix<f64>,
        xb: &DMatrixView<'_, f64>,
        samples: Samples<'_>,
        positions: Range<usize>,
        acc: &mut [f64],
    ) {
        let (d, k, len) = (self.n_features(), self.n_classes, positions.len());
        let (labels, s) = (self.labels(), &self.weights);
        // Z = WᵀX_B (K×B): column j holds the logits zⱼ = Wᵀxⱼ of the j-th sample of the block.
        let mut z = vec![0.0; k * len];
        DMatrixViewMut::from_slice(&mut z, k, len).gemm(1.0, wt, xb, 0.0);
        let mut j = 0;
        match pass {
            Pass::Value => samples.for_each(positions, |i| {
                // sᵢ ℓᵢ = sᵢ (logsumexp(zᵢ) − zᵢ,yᵢ)
                let zi = &mut z[j * k..(j + 1) * k];
                let zy = zi[labels[i]];
                acc[0] += s[i] * (softmax_in_place(zi) - zy);
                j += 1;
            }),
            Pass::Gradient => {
                samples.for_each(positions, |i| {
                    // rᵢ = sᵢ (pᵢ − e_{yᵢ}), pᵢ = softmax(zᵢ)
                    let ri = &mut z[j * k..(j + 1) * k];
                    softmax_in_place(ri);
                    ri[labels[i]] -= 1.0;
                    for rk in ri.iter_mut() {
                        *rk *= s[i];
                    }
                    j += 1;
                });
                // G += X_B Rᵀ = Σⱼ xⱼ rⱼᵀ
                let rt = DMatrixView::from_slice_with_strides(&z, len, k, k, 1);
                DMatrixViewMut::from_slice(acc, d, k).gemm(1.0, xb, &rt, 1.0);
            }
            Pass::Hvp(vt) => {
                // A = VᵀX_B: column j holds aⱼ = Vᵀxⱼ.
                let mut a = vec![0.0; k * len];
                DMatrixViewMut::from_slice(&mut a, k, len).gemm(1.0, vt, xb, 0.0);
                samples.for_each(positions, |i| {
                    // aᵢ ← sᵢ (diag(pᵢ) − pᵢpᵢᵀ) aᵢ
                    let pi = &mut z[j * k..(j + 1) * k];
                    softmax_in_place(pi);
                    curvature_in_place(pi, &mut a[j * k..(j + 1) * k], s[i]);
                    j += 1;
                });
                // H += X_B Aᵀ
                let at = DMatrixView::from_slice_with_strides(&a, len, k, k, 1);
                DMatrixViewMut::from_slice(acc, d, k).gemm(1.0, xb, &at, 1.0);
            }
        }
    }

    /// acc ← Σ_{i∈S} of the quantity `pass` sums (unnormalized), deterministically: blocks of
    /// [`block_columns`]`(d)` consecutive samples for all n, or, for a minibatch, tasks of
    /// [`BATCH_BLOCK`] indices whose columns are gathered `block_columns(d)` at a time.
    fn sum(&self, pass: Pass<'_>, w: &DVector<f64>, samples: Samples<'_>, acc: &mut [f64]) {
        let wt = self.transposed(w);
        let x = self.data.features();
        let d = x.nrows();
        let columns = block_columns(d);
        match samples {
            Samples::All(n) => blocked_sum(n, columns, acc, |range, acc| {
                warm_cache(&x.as_slice()[range.start * d..range.end * d]);
                let xb = x.columns(range.start, range.len());
                self.block(pass, &wt, &xb, samples, range, acc);
            }),
            Samples::Batch(batch) => blocked_sum(batch.len(), BATCH_BLOCK, acc, |range, acc| {
                let mut buffer = vec![0.0; d * columns.min(range.len())];
                for start in range.clone().step_by(columns) {
                    let sub = start..(start + columns).min(range.end);
                    let len = sub.len();
                    for (column, &i) in buffer.chunks_exact_mut(d).zip(&batch[sub.clone()]) {
                        column.copy_from_slice(&x.as_slice()[i * d..(i + 1) * d]);
                    }
                    let xb = DMatrixView::from_slice(&buffer[..d * len], d, len);
                    self.block(pass, &wt, &xb, samples, sub, acc);
                }
            }),
        }
    }

    /// (1/|S|) Σ_{i∈S} sᵢ ℓᵢ(W) + (λ/2)‖W‖².
    fn mean_value(&self, w: &DVector<f64>, samples: Samples<'_>) -> f64 {
        let mut sum = [0.0];
        self.sum(Pass::Value, w, samples, &mut sum);
        sum[0] / samples.len() as f64 + penalty(self.l2, w)
    }

    /// out ← (1/|S|) Σ_{i∈S} sᵢ ∇ℓᵢ(W) + λW.
    fn mean_gradient(&self, w: &DVector<f64>, samples: Samples<'_>, out: &mut DVector<f64>) {
        self.sum(Pass::Gradient, w, samples, out.as_mut_slice());
        out.axpy(self.l2, w, 1.0 / samples.len() as f64);
    }

    /// out ← (1/|S|) Σ_{i∈S} sᵢ ∇²ℓᵢ(W)·V + λV.
    fn mean_hvp(
        &self,
        w: &DVector<f64>,
        v: &DVector<f64>,
        samples: Samples<'_>,
        out: &mut DVector<f64>,
    ) {
        self.sum(
            Pass::Hvp(&self.transposed(v)),
            w,
            samples,
            out.as_mut_slice(),
        );
        out.axpy(self.l2, v, 1.0 / samples.len() as f64);
    }
}

/// What a block pass sums: sᵢℓᵢ, sᵢ∇ℓᵢ, or sᵢ∇²ℓᵢ·V for the direction V (held as Vᵀ).
#[derive(Clone, Copy)]
enum Pass<'a> {
    Value,
    Gradient,
    Hvp(&'a DMatrix<f64>),
}

/// a ← scale · (diag(p) − ppᵀ) a = scale · p ⊙ (a − pᵀa): the softmax Jacobian applied to a.
#[inline]
fn curvature_in_place(p: &[f64], a: &mut [f64], scale: f64) {
    let pa: f64 = p.iter().zip(a.iter()).map(|(pk, ak)| pk * ak).sum();
    for (ak, pk) in a.iter_mut().zip(p) {
        *ak = scale * pk * (*ak - pa);
    }
}

data_loss_common!(MultinomialLogistic);

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
        Ok(self.mean_value(w, Samples::All(self.data.n_samples())))
    }
}

impl Gradient for MultinomialLogistic {
    fn gradient_into(&self, w: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        self.check_param("w", w)?;
        self.check_out(out)?;
        self.mean_gradient(w, Samples::All(self.data.n_samples()), out);
        Ok(())
    }
}

impl Hvp for MultinomialLogistic {
    fn hvp_into(&self, w: &DVector<f64>, v: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        self.check_param("w", w)?;
        self.check_param("v", v)?;
        self.check_out(out)?;
        self.mean_hvp(w, v, Samples::All(self.data.n_samples()), out);
        Ok(())
    }
}

impl FiniteSum for MultinomialLogistic {
    fn n_terms(&self) -> usize {
        self.data.n_samples()
    }

    fn term_value(&self, w: &DVector<f64>, i: usize) -> Result<f64> {
        self.check_param("w", w)?;
        check_term(i, self.data.n_samples())?;
        Ok(self.mean_value(w, Samples::Batch(&[i])))
    }

    fn term_gradient_into(&self, w: &DVector<f64>, i: usize, out: &mut DVector<f64>) -> Result<()> {
        self.check_param("w", w)?;
        self.check_out(out)?;
        check_term(i, self.data.n_samples())?;
        self.mean_gradient(w, Samples::Batch(&[i]), out);
        Ok(())
    }

    fn batch_value(&self, w: &DVector<f64>, batch: &[usize]) -> Result<f64> {
        self.check_param("w", w)?;
        check_batch(batch, self.data.n_samples())?;
        Ok(self.mean_value(w, Samples::Batch(batch)))
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
        self.mean_gradient(w, Samples::Batch(batch), out);
        Ok(())
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
        self.mean_hvp(w, v, Samples::Batch(&[i]), out);
        Ok(())
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
        self.mean_hvp(w, v, Samples::Batch(batch), out);
        Ok(())
    }
}
