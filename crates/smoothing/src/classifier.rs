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
pub struct Linear {
    weights: DMatrix<f64>,
    bias: DVector<f64>,
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
        Ok(Self { weights, bias })
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
        // Row-major batch × d is column-major d × batch: S (K × batch) = W·X + b·1ᵀ.
        for col in scores.chunks_exact_mut(k) {
            col.copy_from_slice(self.bias.as_slice());
        }
        let x = DMatrixView::from_slice(&inputs[..batch * d], d, batch);
        let mut s = DMatrixViewMut::from_slice(scores, k, batch);
        s.gemm(1.0, &self.weights, &x, 1.0);
        Ok(())
    }

    fn preferred_rows(&self) -> Option<usize> {
        Some(cache_rows(self.weights.ncols()))
    }
}
