//! Least squares: ℓᵢ(w) = ½(xᵢᵀw − yᵢ)².

use std::sync::Arc;

use nalgebra::DVector;

use lisse_core::{Error, Result};

use super::glm::{self, Glm, impl_glm_oracles, impl_glm_sample_methods};
use super::{Samples, check_term, data_loss_common};
use crate::data::{Dataset, Targets};

/// Weighted, L2-regularized least squares on a regression data set:
///
/// f(w) = (1/n) Σᵢ sᵢ ½(xᵢᵀw − yᵢ)² + (λ/2)‖w‖²,  w ∈ ℝᵈ,
///
/// with ∇f(w) = (1/n) Σᵢ sᵢ (xᵢᵀw − yᵢ) xᵢ + λw and ∇²f(w)·v = (1/n) Σᵢ sᵢ (xᵢᵀv) xᵢ + λv.
/// The finite-sum terms are fᵢ(w) = sᵢ ½(xᵢᵀw − yᵢ)² + (λ/2)‖w‖² (see [the module
/// docs](super)). There is no intercept: add a constant feature to the data for one.
///
/// ```
/// use lisse_core::{FiniteSum, Objective, OracleExt};
/// use lisse_oracles::data::{Dataset, Targets};
/// use lisse_oracles::loss::LeastSquares;
/// use nalgebra::{DMatrix, dvector};
///
/// // Two samples in ℝ² (one per column): x₀ = (1, 0), x₁ = (0, 2); targets y = (1, 2).
/// let x = DMatrix::from_column_slice(2, 2, &[1.0, 0.0, 0.0, 2.0]);
/// let data = Dataset::new(x, Targets::Real(dvector![1.0, 2.0]))?;
/// let f = LeastSquares::new(data)?.with_l2(0.5)?;
///
/// let w = dvector![1.0, 1.0];
/// // f(w) = ½·(½·0² + ½·0²) + ¼‖w‖² = 0.5
/// assert!((f.value(&w)? - 0.5).abs() < 1e-15);
/// // ∇f(w) = λw at an interpolating point
/// assert_eq!(f.gradient(&w)?, dvector![0.5, 0.5]);
/// // term 1: ½(2 − 2)² + ¼‖w‖²
/// assert_eq!(f.term_value(&w, 1)?, 0.5);
/// assert!(f.check_gradient(&dvector![0.3, -2.0], 1e-6)?.passes(1e-7));
/// // Per-sample losses ½rᵢ², without weights or λ: at w = 0 the residuals are −y.
/// let mut losses = dvector![0.0, 0.0];
/// f.sample_losses_into(&dvector![0.0, 0.0], &mut losses)?;
/// assert_eq!(losses, dvector![0.5, 2.0]);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Clone)]
pub struct LeastSquares {
    data: Arc<Dataset>,
    weights: Vec<f64>,
    l2: f64,
}

impl LeastSquares {
    /// Least squares on `data`, with unit weights and no regularization.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless the targets are [`Targets::Real`].
    pub fn new(data: impl Into<Arc<Dataset>>) -> Result<Self> {
        let data = data.into();
        if !matches!(data.targets(), Targets::Real(_)) {
            return Err(Error::invalid(
                "targets",
                "class labels",
                "real-valued (Targets::Real) for least squares; use Logistic or MultinomialLogistic for labels",
            ));
        }
        let n = data.n_samples();
        Ok(Self {
            data,
            weights: vec![1.0; n],
            l2: 0.0,
        })
    }

    /// The residuals xᵢᵀw − yᵢ of all samples, written into `out` (length n).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `w` does not have length d or `out` length n.
    pub fn residuals_into(&self, w: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        glm::check_lengths(self, w, None, None)?;
        lisse_core::check_dim(
            "residual buffer (one per sample)",
            self.data.n_samples(),
            out.len(),
        )?;
        out.gemv_tr(1.0, self.data.features(), w, 0.0);
        *out -= self.targets();
        Ok(())
    }

    fn targets(&self) -> &DVector<f64> {
        match self.data.targets() {
            Targets::Real(y) => y,
            Targets::Classes { .. } => unreachable!("LeastSquares::new accepts real targets only"),
        }
    }
}

data_loss_common!(LeastSquares);

impl Glm for LeastSquares {
    fn dataset(&self) -> &Dataset {
        &self.data
    }

    fn lambda(&self) -> f64 {
        self.l2
    }

    /// φᵢ(t) = ½(t − yᵢ)².
    #[inline]
    fn phi(&self, i: usize, t: f64) -> f64 {
        let r = t - self.targets()[i];
        0.5 * r * r
    }

    /// φᵢ′(t) = t − yᵢ.
    #[inline]
    fn dphi(&self, i: usize, t: f64) -> f64 {
        t - self.targets()[i]
    }

    /// φᵢ″(t) = 1.
    #[inline]
    fn d2phi(&self, _i: usize, _t: f64) -> f64 {
        1.0
    }
}

impl_glm_oracles!(LeastSquares);
impl_glm_sample_methods!(
    LeastSquares,
    loss = "½(xᵢᵀw − yᵢ)²",
    derivative = "(xᵢᵀw − yᵢ)(xᵢᵀv)",
);
