//! Optimistic FTRL with the AdaFTRL step size (Sachs, Hadiji, van Erven & Guzmán 2022).

use lisse_core::{Result, check_positive, check_range};
use nalgebra::DVector;

use crate::kernels::sum_sq_diff;
use crate::learner::{Hint, HintState, OnlineLearner, check_gradient, round_order_error};
use crate::projection::FastProjection;
use crate::step_size::SeaConstants;

/// Optimistic FTRL of Sachs et al. (2022, eq. (2), Thm. 5):
///
/// x_t = argmin_{x∈X} ⟨x, M_t + Σ_{s<t} g_s⟩ + ‖x − x₀‖²/η_t = Π_X(x₀ − (η_t/2)(M_t + Σ_{s<t} g_s)),
///
/// with the AdaFTRL step η_t = D²/(ν + Σ_{s<t} η_s‖g_s − M_s‖²) and x₀ = Π_X(0) (the paper
/// centres the regularizer at the origin of a ball; any x₀ ∈ X keeps ψ(u) ≤ D²/η). ν = LD² + DG
/// gives O(D(√σ² + √Σ²) + DG + LD²) ([`optimistic_ftrl_bound`]); only D is needed to run it.
/// Allocation-free per round on a ball or box.
///
/// ```
/// use lisse_core::domain::L2Ball;
/// use lisse_online::baseline::OptimisticFtrl;
/// use lisse_online::{Hint, OnlineLearner};
/// use nalgebra::dvector;
/// let mut ftrl = OptimisticFtrl::new(L2Ball::centered(2, 1.0)?, 3.0)?;
/// let x = ftrl.predict(Hint::External(&dvector![1.0, 0.0]))?;
/// // η₁ = D²/ν = 4/3: x₁ = Π(−(2/3)·(1, 0))
/// assert!((x[0] + 2.0 / 3.0).abs() < 1e-15);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct OptimisticFtrl<D> {
    domain: D,
    anchor: DVector<f64>,
    diameter: f64,
    nu: f64,
    sum_gradients: DVector<f64>,
    accumulated: f64,
    hints: HintState,
    x: DVector<f64>,
    eta: f64,
    pending: bool,
}

impl<D: FastProjection> OptimisticFtrl<D> {
    /// OFTRL over a bounded `domain` (D = its diameter) with AdaFTRL parameter ν > 0.
    ///
    /// # Errors
    /// [`lisse_core::Error::InvalidParameter`] unless D and ν are finite and > 0.
    pub fn new(domain: D, nu: f64) -> Result<Self> {
        let diameter = domain.diameter();
        check_positive("diameter D", diameter)?;
        check_positive("nu", nu)?;
        let d = domain.dim();
        let mut anchor = DVector::zeros(d);
        domain.project_in_place(&mut anchor)?;
        Ok(Self {
            domain,
            x: anchor.clone(),
            anchor,
            diameter,
            nu,
            sum_gradients: DVector::zeros(d),
            accumulated: 0.0,
            hints: HintState::new(d),
            eta: f64::NAN,
            pending: false,
        })
    }

    /// ν = L·D² + D·G, the tuning of Sachs et al. (Thm. 5).
    ///
    /// # Errors
    /// [`lisse_core::Error::InvalidParameter`] unless D, G > 0 and L ≥ 0.
    pub fn tuned_nu(diameter: f64, gradient_bound: f64, smoothness: f64) -> Result<f64> {
        check_positive("diameter D", diameter)?;
        check_positive("gradient bound G", gradient_bound)?;
        check_range("smoothness L", smoothness, 0.0, f64::INFINITY)?;
        Ok(smoothness * diameter * diameter + diameter * gradient_bound)
    }
}

impl<D: FastProjection> OnlineLearner for OptimisticFtrl<D> {
    fn dim(&self) -> usize {
        self.x.len()
    }

    fn name(&self) -> String {
        "optimistic FTRL (Sachs et al.)".into()
    }

    fn predict(&mut self, hint: Hint<'_>) -> Result<&DVector<f64>> {
        self.hints.resolve(hint)?;
        self.eta = self.diameter * self.diameter / (self.nu + self.accumulated);
        let half = 0.5 * self.eta;
        for (((x, a), s), m) in self
            .x
            .as_mut_slice()
            .iter_mut()
            .zip(self.anchor.as_slice())
            .zip(self.sum_gradients.as_slice())
            .zip(self.hints.current.as_slice())
        {
            *x = a - half * (s + m);
        }
        self.domain.project_in_place_fast(&mut self.x, false)?;
        self.pending = true;
        Ok(&self.x)
    }

    fn update(&mut self, gradient: &DVector<f64>) -> Result<()> {
        if !self.pending {
            return Err(round_order_error());
        }
        check_gradient(self.dim(), gradient)?;
        let residual = sum_sq_diff(gradient.as_slice(), self.hints.current.as_slice());
        self.accumulated += self.eta * residual;
        for (s, g) in self
            .sum_gradients
            .as_mut_slice()
            .iter_mut()
            .zip(gradient.as_slice())
        {
            *s += g;
        }
        self.hints.record(gradient);
        self.pending = false;
        Ok(())
    }

    fn step_size(&self) -> Option<f64> {
        self.eta.is_finite().then_some(self.eta)
    }
}

/// The regret bound of Sachs et al. (2022, Thm. 5) for [`OptimisticFtrl`] with M_t = g_{t−1}:
///
/// R_T ≤ 6D√σ²_{1:T} + 3√2·D√Σ²_{1:T} + (3√2/2)·DG + ν + (4D²G² + 9L²D⁴)/ν.
///
/// # Errors
/// [`lisse_core::Error::InvalidParameter`] for invalid constants or ν ≤ 0.
pub fn optimistic_ftrl_bound(c: &SeaConstants, nu: f64) -> Result<f64> {
    c.validate()?;
    check_positive("nu", nu)?;
    let (d, g, l) = (c.diameter, c.gradient_bound, c.smoothness);
    let r2 = 2f64.sqrt();
    Ok(6.0 * d * c.sigma_sq.sqrt()
        + 3.0 * r2 * d * c.variation_sq.sqrt()
        + 1.5 * r2 * d * g
        + nu
        + (4.0 * d * d * g * g + 9.0 * l * l * d.powi(4)) / nu)
}
