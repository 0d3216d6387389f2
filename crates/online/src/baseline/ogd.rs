//! Online (projected) gradient descent (Zinkevich 2003).

use lisse_core::{Result, check_positive};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use crate::learner::{Hint, HintState, OnlineLearner, check_gradient, round_order_error};
use crate::projection::FastProjection;

/// The step-size rule of [`Ogd`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum OgdStep {
    /// η_t = η.
    Constant(f64),
    /// η_t = D/(G√t) (Hazan, *Introduction to OCO*, Thm. 3.1).
    Convex {
        /// D, the diameter.
        diameter: f64,
        /// G, the gradient bound.
        gradient_bound: f64,
    },
    /// η_t = 1/(λt) (Hazan, Thm. 3.3).
    StronglyConvex {
        /// λ.
        lambda: f64,
    },
}

impl OgdStep {
    fn validate(&self) -> Result<()> {
        match *self {
            OgdStep::Constant(eta) => check_positive("step size eta", eta),
            OgdStep::Convex {
                diameter,
                gradient_bound,
            } => {
                check_positive("diameter D", diameter)?;
                check_positive("gradient bound G", gradient_bound)
            }
            OgdStep::StronglyConvex { lambda } => check_positive("strong convexity lambda", lambda),
        }
    }

    fn eta(&self, t: u64) -> f64 {
        let t = t.max(1) as f64;
        match *self {
            OgdStep::Constant(eta) => eta,
            OgdStep::Convex {
                diameter,
                gradient_bound,
            } => diameter / (gradient_bound * t.sqrt()),
            OgdStep::StronglyConvex { lambda } => 1.0 / (lambda * t),
        }
    }
}

/// Online gradient descent x_{t+1} = Π_X(x_t − η_t g_t) (Zinkevich 2003), started at the
/// projection of the origin. Ignores hints. Allocation-free per round on a ball or box.
///
/// ```
/// use lisse_core::domain::L2Ball;
/// use lisse_online::baseline::{Ogd, OgdStep};
/// use lisse_online::{Hint, OnlineLearner};
/// use nalgebra::dvector;
/// let step = OgdStep::Convex { diameter: 2.0, gradient_bound: 1.0 };
/// let mut ogd = Ogd::new(L2Ball::centered(2, 1.0)?, step)?;
/// let x = ogd.predict(Hint::Zero)?.clone();
/// ogd.update(&dvector![1.0, 0.0])?;
/// assert_eq!(ogd.predict(Hint::Zero)?[0], x[0] - 1.0); // clipped to the ball
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Ogd<D> {
    domain: D,
    x: DVector<f64>,
    step: OgdStep,
    round: u64,
    pending: bool,
    origin_centered: bool,
}

impl<D: FastProjection> Ogd<D> {
    /// OGD over `domain` with step rule `step`.
    ///
    /// # Errors
    /// [`lisse_core::Error::InvalidParameter`] for a non-positive η, D, G or λ.
    pub fn new(domain: D, step: OgdStep) -> Result<Self> {
        step.validate()?;
        let mut x = DVector::zeros(domain.dim());
        domain.project_in_place(&mut x)?;
        let origin_centered = domain.is_origin_centered();
        Ok(Self {
            domain,
            x,
            step,
            round: 0,
            pending: false,
            origin_centered,
        })
    }
}

impl<D: FastProjection> OnlineLearner for Ogd<D> {
    fn dim(&self) -> usize {
        self.x.len()
    }

    fn name(&self) -> String {
        match self.step {
            OgdStep::Constant(_) => "OGD (constant)".into(),
            OgdStep::Convex { .. } => "OGD (D/(G sqrt t))".into(),
            OgdStep::StronglyConvex { .. } => "OGD (1/(lambda t))".into(),
        }
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
        self.round += 1;
        self.domain.project_step_in_place(
            &mut self.x,
            self.step.eta(self.round),
            gradient,
            self.origin_centered,
        )?;
        self.pending = false;
        Ok(())
    }

    fn step_size(&self) -> Option<f64> {
        Some(self.step.eta(self.round + 1))
    }
}

/// (3/2)·G·D·√T: the regret bound of OGD with η_t = D/(G√t) (Hazan, *Introduction to OCO*,
/// Thm. 3.1).
pub fn ogd_bound(diameter: f64, gradient_bound: f64, rounds: u64) -> f64 {
    1.5 * gradient_bound * diameter * (rounds as f64).sqrt()
}

/// (G²/(2λ))·(1 + ln T): the regret bound of OGD with η_t = 1/(λt) on λ-strongly convex losses
/// (Hazan, Thm. 3.3).
pub fn ogd_strongly_convex_bound(lambda: f64, gradient_bound: f64, rounds: u64) -> f64 {
    gradient_bound * gradient_bound / (2.0 * lambda) * (1.0 + (rounds.max(1) as f64).ln())
}
