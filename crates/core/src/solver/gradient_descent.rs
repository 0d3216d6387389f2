//! Projected gradient descent.

use super::step_size::checked_step;
use super::{StepSchedule, StepSize, feasible_start};
use crate::domain::WholeSpace;
use crate::{Counted, Domain, Gradient, OracleCounts, Result, Solver, StreamRng};
use nalgebra::DVector;

/// Projected gradient descent x_{t+1} = Π_X(x_t − η_t ∇f(x_t)).
///
/// For L-smooth convex f and η = 1/L it converges at rate O(L‖x₀ − x*‖²/t), and linearly at
/// rate (1 − μ/L) for μ-strongly convex f (Nesterov, *Lectures on Convex Optimization*, 2018,
/// Thms. 2.1.14–2.1.15). Its residual is the norm of the gradient mapping
/// ‖x_t − x_{t+1}‖/η_t, which equals ‖∇f(x_t)‖ without constraints.
///
/// ```
/// use lisse_core::solver::{GradientDescent, StepSize};
/// use lisse_core::{Dimension, Executor, Gradient, Result, RngStreams, Stopping};
/// use nalgebra::{DVector, dvector};
/// /// f(x) = ½‖x − (1, 2)‖²
/// struct F;
/// impl Dimension for F {
///     fn dim(&self) -> usize { 2 }
///     fn full_batch_size(&self) -> usize { 0 } // analytic: reads no data
/// }
/// impl Gradient for F {
///     fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
///         out.copy_from(&(x - dvector![1.0, 2.0]));
///         Ok(())
///     }
/// }
/// let mut gd = GradientDescent::new(F, DVector::zeros(2), StepSize::Constant(0.5))?;
/// let report = Executor::new(Stopping::new().tolerance(1e-10).max_iters(1000))
///     .run(&mut gd, &mut RngStreams::new(0).stream(0))?;
/// assert!((report.final_point - dvector![1.0, 2.0]).norm() < 1e-9);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GradientDescent<O, D = WholeSpace, S = StepSize> {
    oracle: Counted<O>,
    domain: D,
    step: S,
    x: DVector<f64>,
    next: DVector<f64>,
    grad: DVector<f64>,
    t: u64,
    residual: Option<f64>,
}

impl<O: Gradient, S: StepSchedule> GradientDescent<O, WholeSpace, S> {
    /// Unconstrained gradient descent from `x0`.
    ///
    /// # Errors
    /// A wrong length or non-finite entry of `x0`, or an invalid step size.
    pub fn new(oracle: O, x0: DVector<f64>, step: S) -> Result<Self> {
        let domain = WholeSpace::new(oracle.dim());
        GradientDescent::projected(oracle, domain, x0, step)
    }
}

impl<O: Gradient, D: Domain, S: StepSchedule> GradientDescent<O, D, S> {
    /// Gradient descent projected onto `domain`, from Π(`x0`).
    ///
    /// # Errors
    /// A wrong length or non-finite entry of `x0`, a domain of another dimension, or an
    /// invalid step size.
    pub fn projected(oracle: O, domain: D, mut x0: DVector<f64>, step: S) -> Result<Self> {
        let d = oracle.dim();
        feasible_start(d, &domain, &mut x0, &step)?;
        Ok(Self {
            oracle: Counted::new(oracle),
            domain,
            step,
            next: x0.clone(),
            x: x0,
            grad: DVector::zeros(d),
            t: 0,
            residual: None,
        })
    }

    /// The counted oracle.
    pub fn oracle(&self) -> &Counted<O> {
        &self.oracle
    }
}

impl<O: Gradient + Send, D: Domain + Send, S: StepSchedule + Send> Solver
    for GradientDescent<O, D, S>
{
    fn name(&self) -> &'static str {
        "gd"
    }

    fn step(&mut self, _rng: &mut StreamRng) -> Result<()> {
        let eta = checked_step(&self.step, self.t)?;
        self.oracle.gradient_into(&self.x, &mut self.grad)?;
        self.next.copy_from(&self.x);
        self.next.axpy(-eta, &self.grad, 1.0);
        self.domain.project_in_place(&mut self.next)?;
        std::mem::swap(&mut self.x, &mut self.next);
        // ‖x_t − x_{t+1}‖ / η without a temporary.
        let moved = self
            .x
            .iter()
            .zip(self.next.iter())
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        self.residual = Some(moved / eta);
        self.t += 1;
        Ok(())
    }

    fn iterate(&self) -> &DVector<f64> {
        &self.x
    }

    fn counts(&self) -> OracleCounts {
        self.oracle.counts()
    }

    fn residual(&self) -> Option<f64> {
        self.residual
    }
}
