//! Hedge / exponential weights (Littlestone & Warmuth 1994; Freund & Schapire 1997).

use lisse_core::Result;
use nalgebra::DVector;

use crate::learner::{Hint, HintState, OnlineLearner};
use crate::mirror::Entropy;
use crate::omd::OptimisticOmd;
use crate::step_size::Constant;

/// Hedge over `n` experts with a fixed learning rate η: p_{t+1} ∝ p_t ⊙ exp(−η ℓ_t), in the
/// log domain (see [`Entropy`]), so losses of size 1e300 leave the weights finite and
/// normalized. It is [`OptimisticOmd`] with the entropy map and the zero hint; hints passed to
/// [`predict`](OnlineLearner::predict) are checked and ignored (use
/// `OptimisticOmd::hedge` for optimistic Hedge).
///
/// ```
/// use lisse_online::baseline::Hedge;
/// use lisse_online::{Hint, OnlineLearner};
/// use nalgebra::dvector;
/// let mut hedge = Hedge::new(3, 0.5)?;
/// for _ in 0..50 {
///     hedge.predict(Hint::Zero)?;
///     hedge.update(&dvector![1e300, 0.0, -1e300])?;
/// }
/// let p = hedge.predict(Hint::Zero)?;
/// assert!(p.iter().all(|v| v.is_finite()) && (p.sum() - 1.0).abs() < 1e-15);
/// assert_eq!(p[2], 1.0);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Hedge {
    inner: OptimisticOmd<Entropy, Constant>,
}

impl Hedge {
    /// Hedge over `n` experts with learning rate `eta`, started uniform.
    ///
    /// # Errors
    /// [`lisse_core::Error::InvalidParameter`] when `n == 0` or η is not finite and > 0.
    pub fn new(n: usize, eta: f64) -> Result<Self> {
        Ok(Self {
            inner: OptimisticOmd::hedge(n, Constant::new(eta)?)?.with_name("Hedge"),
        })
    }
}

impl OnlineLearner for Hedge {
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn name(&self) -> String {
        self.inner.name()
    }

    fn predict(&mut self, hint: Hint<'_>) -> Result<&DVector<f64>> {
        HintState::check(self.dim(), hint)?;
        self.inner.predict(Hint::Zero)
    }

    fn update(&mut self, gradient: &DVector<f64>) -> Result<()> {
        self.inner.update(gradient)
    }

    fn step_size(&self) -> Option<f64> {
        self.inner.step_size()
    }
}

/// ln N/η + η·Σ_t ‖ℓ_t − m_t‖²_∞: the regret bound of (optimistic) Hedge with a fixed η
/// against every expert, from the optimistic OMD lemma with the entropy map, 1-strongly convex
/// in ‖·‖₁ (Rakhlin & Sridharan 2013; Syrgkanis et al. 2015). For plain Hedge (m_t = 0) pass
/// Σ‖ℓ_t‖²_∞; the classic ln N/η + (η/2)Σ‖ℓ_t‖²_∞ is smaller still.
pub fn hedge_bound(n: usize, eta: f64, sum_residual_sq_inf: f64) -> f64 {
    (n.max(1) as f64).ln() / eta + eta * sum_residual_sq_inf
}
