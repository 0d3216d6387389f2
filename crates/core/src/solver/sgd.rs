//! Projected stochastic gradient descent.

use nalgebra::DVector;

use super::step_size::checked_step;
use super::{StepSchedule, StepSize, feasible_start};
use crate::domain::WholeSpace;
use crate::{Counted, Domain, OracleCounts, Result, Solver, StochasticGradient, StreamRng};

/// Projected stochastic gradient descent x_{t+1} = Π_X(x_t − η_t ∇F(x_t; ξ_t)), with a fresh
/// sample ξ_t drawn from the executor's RNG each step (Robbins & Monro, 1951; for the rates with
/// decaying steps see Nemirovski, Juditsky, Lan & Shapiro, SIAM J. Optim. 19(4), 2009).
///
/// Each step makes one draw and one gradient evaluation at it, through the solver's
/// [`Counted`] oracle; the sample buffer is allocated once, at construction.
///
/// It also keeps the running average x̄_t = (1/t) Σ_{s≤t} x_s (Polyak–Ruppert averaging),
/// available from [`Sgd::average`].
#[derive(Debug, Clone)]
pub struct Sgd<O: StochasticGradient, D = WholeSpace, S = StepSize> {
    oracle: Counted<O>,
    domain: D,
    step: S,
    x: DVector<f64>,
    grad: DVector<f64>,
    sample: O::Sample,
    average: DVector<f64>,
    t: u64,
}

impl<O: StochasticGradient, S: StepSchedule> Sgd<O, WholeSpace, S> {
    /// Unconstrained SGD from `x0`.
    ///
    /// # Errors
    /// A wrong length or non-finite entry of `x0`, or an invalid step size.
    pub fn new(oracle: O, x0: DVector<f64>, step: S) -> Result<Self> {
        let domain = WholeSpace::new(oracle.dim());
        Sgd::projected(oracle, domain, x0, step)
    }
}

impl<O: StochasticGradient, D: Domain, S: StepSchedule> Sgd<O, D, S> {
    /// SGD projected onto `domain`, from Π(`x0`).
    ///
    /// # Errors
    /// A wrong length or non-finite entry of `x0`, a domain of another dimension, or an
    /// invalid step size.
    pub fn projected(oracle: O, domain: D, mut x0: DVector<f64>, step: S) -> Result<Self> {
        let d = oracle.dim();
        feasible_start(d, &domain, &mut x0, &step)?;
        let sample = oracle.empty_sample();
        Ok(Self {
            oracle: Counted::new(oracle),
            domain,
            step,
            average: x0.clone(),
            x: x0,
            grad: DVector::zeros(d),
            sample,
            t: 0,
        })
    }

    /// The Polyak–Ruppert average of the iterates x₁, …, x_t (x₀ before the first step).
    pub fn average(&self) -> &DVector<f64> {
        &self.average
    }

    /// The counted oracle.
    pub fn oracle(&self) -> &Counted<O> {
        &self.oracle
    }

    /// The sample of the last step (the one its gradient was evaluated at).
    pub fn last_sample(&self) -> &O::Sample {
        &self.sample
    }
}

impl<O: StochasticGradient<Sample: Send> + Send, D: Domain + Send, S: StepSchedule + Send> Solver
    for Sgd<O, D, S>
{
    fn name(&self) -> &'static str {
        "sgd"
    }

    fn step(&mut self, rng: &mut StreamRng) -> Result<()> {
        use crate::Sampler;
        let eta = checked_step(&self.step, self.t)?;
        self.oracle.draw_into(rng, &mut self.sample)?;
        self.oracle
            .gradient_at_into(&self.x, &self.sample, &mut self.grad)?;
        self.x.axpy(-eta, &self.grad, 1.0);
        self.domain.project_in_place(&mut self.x)?;
        self.t += 1;
        // x̄_t = x̄_{t−1} + (x_t − x̄_{t−1})/t
        let w = 1.0 / self.t as f64;
        self.average.axpy(w, &self.x, 1.0 - w);
        Ok(())
    }

    fn iterate(&self) -> &DVector<f64> {
        &self.x
    }

    fn counts(&self) -> OracleCounts {
        self.oracle.counts()
    }
}
