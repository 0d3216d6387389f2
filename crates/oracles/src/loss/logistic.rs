//! Binary logistic regression: ℓᵢ(w) = log(1 + exp(−ỹᵢ xᵢᵀw)), ỹᵢ ∈ {−1, +1}.

use std::sync::Arc;

use nalgebra::DVector;

use lisse_core::{Error, Result};

use super::glm::{self, Glm, impl_glm_oracles, impl_glm_sample_methods};
use super::{Samples, check_term, data_loss_common, sigmoid, softplus};
use crate::data::{Dataset, Targets};

/// Weighted, L2-regularized binary logistic regression on a two-class data set:
///
/// f(w) = (1/n) Σᵢ sᵢ log(1 + exp(−ỹᵢ xᵢᵀw)) + (λ/2)‖w‖²,  w ∈ ℝᵈ,
///
/// with ỹᵢ = +1 for label 1 and −1 for label 0. With σ(u) = 1/(1 + e^{−u}),
/// ∇f(w) = (1/n) Σᵢ −sᵢ ỹᵢ σ(−ỹᵢ xᵢᵀw) xᵢ + λw and
/// ∇²f(w)·v = (1/n) Σᵢ sᵢ σ(xᵢᵀw) σ(−xᵢᵀw) (xᵢᵀv) xᵢ + λv.
///
/// The loss is evaluated as a softplus, max(u, 0) + log1p(e^{−|u|}) with u = −ỹᵢxᵢᵀw, and σ
/// with exponentials of non-positive arguments only, so nothing overflows for any w. There
/// is no intercept: add a constant feature to the data for one.
///
/// ```
/// use lisse_core::{Objective, OracleExt};
/// use lisse_oracles::data::{Dataset, Targets};
/// use lisse_oracles::loss::Logistic;
/// use nalgebra::{DMatrix, dvector};
///
/// let x = DMatrix::from_column_slice(2, 3, &[1.0, 0.5, -1.0, 0.2, 0.3, -2.0]);
/// let data = Dataset::new(x, Targets::Classes { labels: vec![1, 0, 1], n_classes: 2 })?;
/// let f = Logistic::new(data)?.with_l2(1e-2)?;
///
/// // At w = 0 every sample costs log 2.
/// let zero = dvector![0.0, 0.0];
/// assert!((f.value(&zero)? - std::f64::consts::LN_2).abs() < 1e-15);
/// // Huge margins neither overflow nor lose the gradient.
/// assert!(f.value(&dvector![1e6, -1e6])?.is_finite());
/// assert!(f.check_gradient(&dvector![0.7, -0.4], 1e-6)?.passes(1e-7));
/// assert!(f.check_hvp(&dvector![0.7, -0.4], &dvector![1.0, 2.0], 1e-5)?.passes(1e-7));
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Logistic {
    data: Arc<Dataset>,
    weights: Vec<f64>,
    l2: f64,
}

impl Logistic {
    /// Binary logistic regression on `data`, with unit weights and no regularization.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless the targets are [`Targets::Classes`] with
    /// `n_classes == 2`.
    pub fn new(data: impl Into<Arc<Dataset>>) -> Result<Self> {
        let data = data.into();
        match data.targets() {
            Targets::Classes { n_classes: 2, .. } => {}
            Targets::Classes { n_classes, .. } => {
                return Err(Error::invalid(
                    "n_classes",
                    n_classes,
                    "2 for binary logistic regression; use MultinomialLogistic for more classes",
                ));
            }
            Targets::Real(_) => {
                return Err(Error::invalid(
                    "targets",
                    "real values",
                    "binary class labels (Targets::Classes with n_classes = 2) for logistic regression",
                ));
            }
        }
        let n = data.n_samples();
        Ok(Self {
            data,
            weights: vec![1.0; n],
            l2: 0.0,
        })
    }

    /// The probabilities P(label = 1 | xᵢ) = σ(xᵢᵀw) of all samples, written into `out`
    /// (length n).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `w` does not have length d or `out` length n.
    pub fn probabilities_into(&self, w: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        glm::check_lengths(self, w, None, None)?;
        lisse_core::check_dim(
            "probability buffer (one per sample)",
            self.data.n_samples(),
            out.len(),
        )?;
        out.gemv_tr(1.0, self.data.features(), w, 0.0);
        out.apply(|t| *t = sigmoid(*t));
        Ok(())
    }

    /// ỹᵢ = +1 for label 1, −1 for label 0.
    #[inline]
    fn sign(&self, i: usize) -> f64 {
        match self.data.labels() {
            Some(labels) if labels[i] == 1 => 1.0,
            _ => -1.0,
        }
    }
}

data_loss_common!(Logistic);

impl Glm for Logistic {
    fn dataset(&self) -> &Dataset {
        &self.data
    }

    fn lambda(&self) -> f64 {
        self.l2
    }

    /// φᵢ(t) = softplus(−ỹᵢ t) = log(1 + e^{−ỹᵢ t}).
    #[inline]
    fn phi(&self, i: usize, t: f64) -> f64 {
        softplus(-self.sign(i) * t)
    }

    /// φᵢ′(t) = −ỹᵢ σ(−ỹᵢ t).
    #[inline]
    fn dphi(&self, i: usize, t: f64) -> f64 {
        let y = self.sign(i);
        -y * sigmoid(-y * t)
    }

    /// φᵢ″(t) = σ(t) σ(−t) (both factors computed stably, never as 1 − σ).
    #[inline]
    fn d2phi(&self, _i: usize, t: f64) -> f64 {
        sigmoid(t) * sigmoid(-t)
    }
}

impl_glm_oracles!(Logistic);
impl_glm_sample_methods!(
    Logistic,
    loss = "log(1 + exp(−ỹᵢ xᵢᵀw))",
    derivative = "−ỹᵢ σ(−ỹᵢ xᵢᵀw) (xᵢᵀv)",
);
