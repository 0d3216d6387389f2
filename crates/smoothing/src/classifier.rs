//! Base classifiers: anything that maps a batch of inputs to class scores.
//!
//! Randomized smoothing treats the base classifier f as a black box evaluated on noisy copies of
//! an input. [`BaseClassifier`] takes a whole batch at once (row-major, `batch × input_dim`) and
//! writes `batch × num_classes` scores (logits, probabilities, or one-hot votes); Cohen's
//! certificate uses only the argmax, LVM-RS maps the scores to the simplex. Implementations are
//! `Send + Sync` so that batches are evaluated in parallel.
//!
//! Adapters: [`ScoresFn`] (a closure from one input to its scores, checked for length),
//! [`LabelsFn`] (a closure returning a hard label, seen as one-hot scores), [`BatchFn`] (a closure
//! over a whole batch), and [`Linear`] (a softmax/linear layer given as plain weights, readable
//! from a text file).

use std::path::Path;

use lisse_core::Error as CoreError;
use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut, DVector};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A base classifier f: R^d → R^K evaluated on batches.
pub trait BaseClassifier: Send + Sync {
    /// Input dimension d.
    fn input_dim(&self) -> usize;
    /// Number of classes K.
    fn num_classes(&self) -> usize;
    /// Writes the scores of `inputs.len() / input_dim()` inputs (row-major) into `scores`
    /// (row-major, `num_classes()` per input). The predicted class is the argmax.
    ///
    /// # Errors
    /// Whatever the model reports; adapters report [`Error::ClassCount`] or
    /// [`Error::LabelOutOfRange`] when a closure breaks the declared shape.
    fn scores_into(&self, inputs: &[f64], scores: &mut [f64]) -> Result<()>;

    /// The most rows this classifier wants per call, or `None` (the default) for the whole
    /// batch. Certification generates each batch's noise and calls the classifier in chunks of
    /// at most this many rows (never more than the batch size); the noise drawn and every
    /// result are the same for any chunk size, only speed changes. Models that are cheap per
    /// row on the CPU gain from a chunk that fits in the L2 cache (a few hundred rows); a model
    /// with a large fixed cost per call (a GPU network) should keep `None`.
    fn preferred_rows(&self) -> Option<usize> {
        None
    }
}

impl<C: BaseClassifier + ?Sized> BaseClassifier for &C {
    fn input_dim(&self) -> usize {
        (**self).input_dim()
    }
    fn num_classes(&self) -> usize {
        (**self).num_classes()
    }
    fn scores_into(&self, inputs: &[f64], scores: &mut [f64]) -> Result<()> {
        (**self).scores_into(inputs, scores)
    }
    fn preferred_rows(&self) -> Option<usize> {
        (**self).preferred_rows()
    }
}

/// Bytes of noisy inputs per call during certification for the CPU models of this module.
const CHUNK_BYTES: usize = 64 * 1024;

/// Rows of `d` inputs that fill [`CHUNK_BYTES`] (at least 16): 64 KiB stay in the L2 cache
/// between the noise generator and the model (measured in `docs/performance.md`).
fn cache_rows(d: usize) -> usize {
    (CHUNK_BYTES / (8 * d.max(1))).max(16)
}

/// The index of the largest score (the first on ties), or an error on a non-finite score.
///
/// # Errors
/// [`Error::NonFiniteScore`].
#[inline]
pub fn argmax(scores: &[f64]) -> Result<usize> {
    let mut best = 0;
    let mut best_v = f64::NEG_INFINITY;
    for (c, &v) in scores.iter().enumerate() {
        if !v.is_finite() {
            return Err(Error::NonFiniteScore { class: c, value: v });
        }
        if v > best_v {
            best = c;
            best_v = v;
        }
    }
    Ok(best)
}

/// A closure from one input to its class scores (any `AsRef<[f64]>`), checked for length.
///
/// ```
/// use lisse_smoothing::classifier::{BaseClassifier, ScoresFn};
/// let f = ScoresFn::new(2, 3, |x: &[f64]| [x[0], x[1], 0.0]);
/// let mut s = [0.0; 3];
/// f.scores_into(&[1.0, -1.0], &mut s)?;
/// assert_eq!(s, [1.0, -1.0, 0.0]);
/// # Ok::<(), lisse_smoothing::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ScoresFn<F> {
    input_dim: usize,
    num_classes: usize,
    f: F,
}

impl<F, S> ScoresFn<F>
where
    F: Fn(&[f64]) -> S + Send + Sync,
    S: AsRef<[f64]>,
{
    /// Wraps `f`, which must return `num_classes` scores for an input of length `input_dim`.
    pub fn new(input_dim: usize, num_classes: usize, f: F) -> Self {
        Self {
            input_dim,
            num_classes,
            f,
        }
    }
}

impl<F, S> BaseClassifier for ScoresFn<F>
where
    F: Fn(&[f64]) -> S + Send + Sync,
    S: AsRef<[f64]>,
{
    fn input_dim(&self) -> usize {
        self.input_dim
    }
    fn num_classes(&self) -> usize {
        self.num_classes
    }
    fn scores_into(&self, inputs: &[f64], scores: &mut [f64]) -> Result<()> {
        let k = self.num_classes;
        for (x, out) in inputs
            .chunks_exact(self.input_dim.max(1))
            .zip(scores.chunks_exact_mut(k.max(1)))
        {
            let s = (self.f)(x);
            let s = s.as_ref();
            if s.len() != k {
                return Err(Error::ClassCount {
                    expected: k,
                    got: s.len(),
                });
            }
            out.copy_from_slice(s);
        }
        Ok(())
    }
    fn preferred_rows(&self) -> Option<usize> {
        Some(cache_rows(self.input_dim))
    }
}

/// A closure returning a hard label; its scores are one-hot.
///
/// ```
/// use lisse_smoothing::classifier::{BaseClassifier, LabelsFn};
/// let f = LabelsFn::new(1, 2, |x: &[f64]| usize::from(x[0] > 0.0));
/// let mut s = [0.0; 4];
/// f.scores_into(&[3.0, -3.0], &mut s)?;
/// assert_eq!(s, [0.0, 1.0, 1.0, 0.0]);
/// # Ok::<(), lisse_smoothing::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LabelsFn<F> {
    input_dim: usize,
    num_classes: usize,
    f: F,
}

impl<F: Fn(&[f64]) -> usize + Send + Sync> LabelsFn<F> {
    /// Wraps `f`, which must return a label in `0..num_classes`.
    pub fn new(input_dim: usize, num_classes: usize, f: F) -> Self {
        Self {
            input_dim,
            num_classes,
            f,
        }
    }
}

impl<F: Fn(&[f64]) -> usize + Send + Sync> BaseClassifier for LabelsFn<F> {
    fn input_dim(&self) -> usize {
        self.input_dim
    }
    fn num_classes(&self) -> usize {
        self.num_classes
    }
    fn scores_into(&self, inputs: &[f64], scores: &mut [f64]) -> Result<()> {
        let k = self.num_classes;
        for (x, out) in inputs
            .chunks_exact(self.input_dim.max(1))
            .zip(scores.chunks_exact_mut(k.max(1)))
        {
            let label = (self.f)(x);
            if label >= k {
                return Err(Error::LabelOutOfRange {
                    label,
                    num_classes: k,
                });
            }
            out.fill(0.0);
            out[label] = 1.0;
        }
        Ok(())
    }
    fn preferred_rows(&self) -> Option<usize> {
        Some(cache_rows(self.input_dim))
    }
}

/// A closure over a whole batch: `f(inputs, scores)` with the layouts of
/// [`BaseClassifier::scores_into`]. The fastest adapter for models that vectorize.
#[derive(Debug, Clone)]
pub struct BatchFn<F> {
    input_dim: usize,
    num_classes: usize,
    f: F,
}

impl<F: Fn(&[f64], &mut [f64]) -> Result<()> + Send + Sync> BatchFn<F> {
    /// Wraps `f`.
    pub fn new(input_dim: usize, num_classes: usize, f: F) -> Self {
        Self {
            input_dim,
            num_classes,
            f,
        }
    }
}

impl<F: Fn(&[f64], &mut [f64]) -> Result<()> + Send + Sync> BaseClassifier for BatchFn<F> {
    fn input_dim(&self) -> usize {
        self.input_dim
    }
    fn num_classes(&self) -> usize {
        self.num_classes
    }
    fn scores_into(&self, inputs: &[f64], scores: &mut [f64]) -> Result<()> {
        (self.f)(inputs, scores)
    }
}

/// A linear layer `scores = W·x + b` (the logits of a softmax classifier), W of shape K × d.
///
/// Text format ([`Linear::from_text`], [`Linear::read`]): whitespace-separated numbers, `#`
/// starts a comment. The first line holds `K d`; then K lines, one per class, each with d
/// weights followed by the bias.
///
/// ```
/// use lisse_smoothing::classifier::{BaseClassifier, Linear};
/// let model = Linear::from_text("2 2\n1 0 0\n0 1 0.5\n", "inline")?;
/// let mut s = [0.0; 2];
/// model.scores_into(&[3.0, 1.0], &mut s)?;
/// assert_eq!(s, [3.0, 1.5]);
/// # Ok::<(), lisse_smoothing::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LinearParts", into = "LinearParts")]
pub struct Linear {
    weights: DMatrix<f64>,
    bias: DVector<f64>,
    /// Wᵀ with each row (the K class weights of one input) padded with zeros to `padded_k`
    /// entries, the layout of the SIMD product (derived from `weights`, not serialized).
    wt: Vec<f64>,
    padded_k: usize,
}

/// The serialized form of [`Linear`]; deserializing goes through [`Linear::new`]'s checks.
#[derive(Serialize, Deserialize)]
struct LinearParts {
    weights: DMatrix<f64>,
    bias: DVector<f64>,
}

impl TryFrom<LinearParts> for Linear {
    type Error = Error;
    fn try_from(p: LinearParts) -> Result<Self> {
        Self::new(p.weights, p.bias)
    }
}

impl From<Linear> for LinearParts {
    fn from(l: Linear) -> Self {
        Self {
            weights: l.weights,
            bias: l.bias,
        }
    }
}

impl Linear {
    /// A layer from its K × d weights and K biases.
    ///
    /// # Errors
    /// Dimension mismatch, an empty layer, or non-finite entries.
    pub fn new(weights: DMatrix<f64>, bias: DVector<f64>) -> Result<Self> {
        if weights.nrows() == 0 || weights.ncols() == 0 {
            return Err(CoreError::invalid(
                "weights",
                format!("{}×{}", weights.nrows(), weights.ncols()),
                "a non-empty K × d matrix (K classes, d inputs)",
            )
            .into());
        }
        lisse_core::check_dim("bias", weights.nrows(), bias.len())?;
        lisse_core::check_finite("weights", weights.as_slice())?;
        lisse_core::check_finite("bias", bias.as_slice())?;
        let (k, d) = weights.shape();
        let padded_k = k.next_multiple_of(8);
        let mut wt = vec![0.0; d * padded_k];
        for (j, row) in wt.chunks_exact_mut(padded_k).enumerate() {
            for (c, v) in row[..k].iter_mut().enumerate() {
                *v = weights[(c, j)];
            }
        }
        Ok(Self {
            weights,
            bias,
            wt,
            padded_k,
        })
    }

    /// Parses the text format described on [`Linear`].
    ///
    /// # Errors
    /// [`lisse_core::Error::Parse`] naming the line that is wrong.
    pub fn from_text(text: &str, source_name: &str) -> Result<Self> {
        let parse_err = |line: usize, reason: String| -> Error {
            CoreError::Parse {
                source_name: source_name.into(),
                line,
                reason,
            }
            .into()
        };
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.split('#').next().unwrap_or("").trim()))
            .filter(|(_, l)| !l.is_empty());
        let (hl, header) = lines
            .next()
            .ok_or_else(|| parse_err(1, "empty file; expected a header `K d`".into()))?;
        let dims: Vec<usize> = header
            .split_whitespace()
            .map(str::parse)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| parse_err(hl, format!("header must be two integers `K d`: {e}")))?;
        let [k, d] = dims[..] else {
            return Err(parse_err(hl, "header must be two integers `K d`".into()));
        };
        if k == 0 || d == 0 || k.checked_mul(d + 1).is_none_or(|s| s > 1 << 28) {
            return Err(parse_err(
                hl,
                format!("K = {k}, d = {d}: both must be positive and K·(d+1) at most 2^28"),
            ));
        }
        let mut weights = DMatrix::zeros(k, d);
        let mut bias = DVector::zeros(k);
        for c in 0..k {
            let (ln, row) = lines.next().ok_or_else(|| {
                parse_err(
                    hl,
                    format!("expected {k} class rows after the header, found {c}"),
                )
            })?;
            let vals: Vec<f64> = row
                .split_whitespace()
                .map(str::parse)
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| parse_err(ln, format!("not a number: {e}")))?;
            if vals.len() != d + 1 {
                return Err(parse_err(
                    ln,
                    format!(
                        "expected {d} weights and a bias ({} numbers), found {}",
                        d + 1,
                        vals.len()
                    ),
                ));
            }
            for j in 0..d {
                weights[(c, j)] = vals[j];
            }
            bias[c] = vals[d];
        }
        if let Some((ln, _)) = lines.next() {
            return Err(parse_err(
                ln,
                format!("unexpected extra line after {k} class rows"),
            ));
        }
        Self::new(weights, bias)
    }

    /// Reads the text format from a file.
    ///
    /// # Errors
    /// [`lisse_core::Error::Io`] or a parse error.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| CoreError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_text(&text, &path.display().to_string())
    }

    /// The K × d weights.
    pub fn weights(&self) -> &DMatrix<f64> {
        &self.weights
    }

    /// The K biases.
    pub fn bias(&self) -> &DVector<f64> {
        &self.bias
    }
}

/// `scores` (row-major, rows × K) ← `inputs` (row-major, rows × d) · Wᵀ + b, with Wᵀ's rows
/// padded to `padded_k`: K classes in NV SIMD registers per row and R rows at once (R·NV
/// independent accumulators hide the latency of the fused multiply-adds); the sum for each score
/// runs over the inputs in order, starting from the bias. Returns false (doing nothing) when K
/// needs more than 4 registers.
struct RowsTimesWt<'a> {
    wt: &'a [f64],
    padded_k: usize,
    bias: &'a [f64],
    d: usize,
    inputs: &'a [f64],
    scores: &'a mut [f64],
}

impl pulp::WithSimd for RowsTimesWt<'_> {
    type Output = bool;
    // Inlined into pulp's dispatch, which enables the CPU's instruction sets.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) -> bool {
        match self.bias.len().div_ceil(S::F64_LANES) {
            1 => self.run::<S, 1, 4>(simd),
            2 => self.run::<S, 2, 4>(simd),
            3 => self.run::<S, 3, 4>(simd),
            4 => self.run::<S, 4, 2>(simd),
            _ => return false,
        }
        true
    }
}

impl RowsTimesWt<'_> {
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn run<S: pulp::Simd, const NV: usize, const R: usize>(self, simd: S) {
        let (k, d, kp) = (self.bias.len(), self.d, self.padded_k);
        let lanes = S::F64_LANES;
        let mut bias = [0.0; 32];
        bias[..k].copy_from_slice(self.bias);
        let bias_v: [S::f64s; NV] =
            std::array::from_fn(|v| simd.partial_load_f64s(&bias[v * lanes..(v + 1) * lanes]));
        let mut x_blocks = self.inputs.chunks_exact(R * d);
        let mut s_blocks = self.scores.chunks_exact_mut(R * k);
        for (x, s) in (&mut x_blocks).zip(&mut s_blocks) {
            let mut acc = [bias_v; R];
            for (j, row) in self.wt.chunks_exact(kp).enumerate() {
                let (w, _) = S::as_simd_f64s(&row[..NV * lanes]);
                for (r, acc_r) in acc.iter_mut().enumerate() {
                    let xv = simd.splat_f64s(x[r * d + j]);
                    for (a, &wv) in acc_r.iter_mut().zip(w) {
                        *a = simd.mul_add_e_f64s(xv, wv, *a);
                    }
                }
            }
            for (acc_r, s_r) in acc.iter().zip(s.chunks_exact_mut(k)) {
                store_scores(simd, acc_r, s_r);
            }
        }
        for (x, s) in x_blocks
            .remainder()
            .chunks_exact(d)
            .zip(s_blocks.into_remainder().chunks_exact_mut(k))
        {
            let mut acc = bias_v;
            for (&xj, row) in x.iter().zip(self.wt.chunks_exact(kp)) {
                let (w, _) = S::as_simd_f64s(&row[..NV * lanes]);
                let xv = simd.splat_f64s(xj);
                for (a, &wv) in acc.iter_mut().zip(w) {
                    *a = simd.mul_add_e_f64s(xv, wv, *a);
                }
            }
            store_scores(simd, &acc, s);
        }
    }
}

/// The first `s.len()` lanes of the registers `acc`, into `s`.
#[allow(clippy::inline_always)]
#[inline(always)]
fn store_scores<S: pulp::Simd, const NV: usize>(simd: S, acc: &[S::f64s; NV], s: &mut [f64]) {
    let lanes = S::F64_LANES;
    let mut tmp = [0.0; 32];
    for (v, &a) in acc.iter().enumerate() {
        simd.partial_store_f64s(&mut tmp[v * lanes..(v + 1) * lanes], a);
    }
    s.copy_from_slice(&tmp[..s.len()]);
}

impl BaseClassifier for Linear {
    fn input_dim(&self) -> usize {
        self.weights.ncols()
    }
    fn num_classes(&self) -> usize {
        self.weights.nrows()
    }
    fn scores_into(&self, inputs: &[f64], scores: &mut [f64]) -> Result<()> {
        let (k, d) = self.weights.shape();
        let batch = inputs.len() / d;
        lisse_core::check_dim("scores buffer", batch * k, scores.len())?;
        let product = RowsTimesWt {
            wt: &self.wt,
            padded_k: self.padded_k,
            bias: self.bias.as_slice(),
            d,
            inputs: &inputs[..batch * d],
            scores: &mut *scores,
        };
        // AVX2 (4 lanes) before AVX-512 (8): the kernel holds K classes in ⌈K/lanes⌉ vectors,
        // so K = 10 computes 12 lanes on AVX2 against 16 on AVX-512, and measured ~10% faster
        // per image on a 2-vCPU AVX-512 Xeon (`python3 benches/smoothing_peer.py 6`).
        #[cfg(target_arch = "x86_64")]
        let done = match pulp::x86::V3::try_new() {
            Some(v3) => pulp::Simd::vectorize(v3, product),
            None => pulp::Arch::new().dispatch(product),
        };
        #[cfg(not(target_arch = "x86_64"))]
        let done = pulp::Arch::new().dispatch(product);
        if !done {
            // More classes than the SIMD kernel holds in registers: matrixmultiply's gemm.
            // Row-major batch × d is column-major d × batch: S (K × batch) = W·X + b·1ᵀ.
            for col in scores.chunks_exact_mut(k) {
                col.copy_from_slice(self.bias.as_slice());
            }
            let x = DMatrixView::from_slice(&inputs[..batch * d], d, batch);
            let mut s = DMatrixViewMut::from_slice(scores, k, batch);
            s.gemm(1.0, &self.weights, &x, 1.0);
        }
        Ok(())
    }

    fn preferred_rows(&self) -> Option<usize> {
        Some(cache_rows(self.weights.ncols()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_product_matches_the_definition_for_any_shape() {
        // K from 1 to 40 covers 1–4 SIMD registers per row and matrixmultiply's fallback; row
        // counts cover the blocks of R rows and the remainder.
        for k in [1, 2, 3, 4, 5, 8, 10, 13, 16, 17, 32, 40] {
            for d in [1, 3, 64] {
                let w = DMatrix::from_fn(k, d, |c, j| ((c * 7 + j * 3) as f64 * 0.37).sin());
                let b = DVector::from_fn(k, |c, _| (c as f64 * 1.3).cos());
                let model = Linear::new(w.clone(), b.clone()).unwrap();
                for rows in [1, 2, 3, 4, 5, 9] {
                    let x: Vec<f64> = (0..rows * d).map(|t| (t as f64 * 0.71).cos()).collect();
                    let mut s = vec![f64::NAN; rows * k];
                    model.scores_into(&x, &mut s).unwrap();
                    for r in 0..rows {
                        for c in 0..k {
                            let exact: f64 =
                                b[c] + (0..d).map(|j| w[(c, j)] * x[r * d + j]).sum::<f64>();
                            assert!(
                                (s[r * k + c] - exact).abs() < 1e-12 * (1.0 + exact.abs()),
                                "K {k} d {d} rows {rows}: {} vs {exact}",
                                s[r * k + c]
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn linear_serializes_and_deserializes_through_its_checks() {
        let model = Linear::from_text("2 2\n1 0 0\n0 1 0.5\n", "inline").unwrap();
        let json = serde_json::to_string(&model).unwrap();
        let back: Linear = serde_json::from_str(&json).unwrap();
        assert_eq!(back, model);
        // A bias of the wrong length is rejected by Linear::new's check, not accepted as is.
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        value["bias"] = serde_json::to_value(DVector::<f64>::zeros(3)).unwrap();
        let err = serde_json::from_value::<Linear>(value).unwrap_err();
        assert!(err.to_string().contains("bias"), "{err}");
    }
}
