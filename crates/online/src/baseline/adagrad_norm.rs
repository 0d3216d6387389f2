//! AdaGrad-norm: OGD with the scalar AdaGrad step (Streeter & McMahan 2010; Ward, Wu & Bottou
//! 2019).

use lisse_core::{Result, check_positive};
use nalgebra::DVector;

use crate::learner::{Hint, HintState, OnlineLearner, check_gradient, round_order_error};
use crate::projection::FastProjection;

/// x_{t+1} = Π_X(x_t − η_t g_t), η_t = D/√(2·Σ_{s≤t}‖g_s‖²) (no step while all gradients so far
/// are 0). Regret ≤ √2·D·√(Σ_t‖g_t‖²) ([`adagrad_norm_bound`]; Orabona, *A Modern
/// Introduction to Online Learning*, §4.2). Ignores hints.
///
/// ```
/// use lisse_core::domain::L2Ball;
/// use lisse_online::baseline::AdaGradNorm;
/// use lisse_online::{Hint, OnlineLearner};
/// use nalgebra::dvector;
/// let mut ada = AdaGradNorm::new(L2Ball::centered(1, 10.0)?)?;
/// ada.predict(Hint::Zero)?;
/// ada.update(&dvector![2.0])?;
/// // η₁ = D/√(2·4) = 20/√8: the first step has length D/√2 > R and is clipped to the ball.
/// assert_eq!(ada.step_size(), Some(20.0 / 8f64.sqrt()));
/// assert_eq!(ada.predict(Hint::Zero)?[0], -10.0);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct AdaGradNorm<D> {
    domain: D,
    diameter: f64,
    x: DVector<f64>,
    sum_sq: f64,
    pending: bool,
}

impl<D: FastProjection> AdaGradNorm<D> {
    /// AdaGrad-norm over a bounded `domain` (D = its diameter), started at Π_X(0).
    ///
    /// # Errors
    /// [`lisse_core::Error::InvalidParameter`] when the diameter is not finite and > 0.
    pub fn new(domain: D) -> Result<Self> {
        let diameter = domain.diameter();
        check_positive("diameter D", diameter)?;
        let mut x = DVector::zeros(domain.dim());
        domain.project_in_place(&mut x)?;
        Ok(Self {
            domain,
            diameter,
            x,
            sum_sq: 0.0,
            pending: false,
        })
    }

    fn eta(&self) -> f64 {
        if self.sum_sq > 0.0 {
            self.diameter / (2.0 * self.sum_sq).sqrt()
        } else {
            0.0
        }
    }
}

impl<D: FastProjection> OnlineLearner for AdaGradNorm<D> {
    fn dim(&self) -> usize {
        self.x.len()
    }

    fn name(&self) -> String {
        "AdaGrad-norm".into()
    }

    fn predict(&mut self, hint: Hint<'_>) -> Result<&DVector<f64>> {
        HintState::check(self.dim(), hint)?;
        self.pending = true;
        Ok(&self.x)
    }

    fn update(&mut self, gradient: &DVector<f64>) -> Result<()> {
        if !self.pending {
            return Err(round_order_error());
        }
        check_gradient(self.dim(), gradient)?;
        self.sum_sq += gradient.norm_squared();
        let eta = self.eta();
        if eta > 0.0 {
            self.domain
                .project_step_in_place(&mut self.x, eta, gradient, false)?;
        }
        self.pending = false;
        Ok(())
    }

    fn step_size(&self) -> Option<f64> {
        Some(self.eta())
    }
}

/// √2·D·√(Σ_t ‖g_t‖²): the regret bound of [`AdaGradNorm`].
pub fn adagrad_norm_bound(diameter: f64, sum_gradient_sq: f64) -> f64 {
    2f64.sqrt() * diameter * sum_gradient_sq.max(0.0).sqrt()
}
