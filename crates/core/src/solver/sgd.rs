//! Projected stochastic gradient descent.

use nalgebra::DVector;
use rand::Rng;

use super::{StepSize, feasible_start};
use crate::domain::WholeSpace;
use crate::{Counted, Domain, OracleCounts, Result, Solver, StochasticGradient};

/// Projected stochastic gradient descent x_{t+1} = Π_X(x_t − η_t g(x_t; ξ_t)), with a fresh
/// sample ξ_t drawn from the executor's RNG each step (Robbins & Monro, 1951; for the rates with
/// decaying steps see Nemirovski, Juditsky, Lan & Shapiro, SIAM J. Optim. 19(4), 2009).
///
/// It also keeps the running average x̄_t = (1/t) Σ_{s≤t} x_s (Polyak–Ruppert averaging),
/// available from [`Sgd::average`].
#[derive(Debug, Clone)]
pub struct Sgd<O, D = WholeSpace> {
    oracle: Counted<O>,
    domain: D,
    step: StepSize,
    x: DVector<f64>,
    grad: DVector<f64>,
    average: DVector<f64>,
    t: u64,
}

impl<O: StochasticGradient> Sgd<O, WholeSpace> {
    /// Unconstrained SGD from `x0`.
    ///
    /// # Errors
    /// A wrong length or non-finite entry of `x0`, or an invalid step size.
    pub fn new(oracle: O, x0: DVector<f64>, step: StepSize) -> Result<Self> {
        let domain = WholeSpace::new(oracle.dim());
        Sgd::projected(oracle, domain, x0, step)
    }
}

impl<O: StochasticGradient, D: Domain> Sgd<O, D> {
    /// SGD projected onto `domain`, from Π(`x0`).
    ///
    /// # Errors
    /// A wrong length or non-finite entry of `x0`, a domain of another dimension, or an
    /// invalid step size.
    pub fn projected(oracle: O, domain: D, mut x0: DVector<f64>, step: StepSize) -> Result<Self> {
        let d = oracle.dim();
        feasible_start(d, &domain, &mut x0, step)?;
        Ok(Self {
            oracle: Counted::new(oracle),
            domain,
            step,
            average: x0.clone(),
            x: x0,
            grad: DVector::zeros(d),
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
}

impl<O: StochasticGradient, D: Domain> Solver for Sgd<O, D> {
    fn name(&self) -> &'static str {
        "sgd"
    }

    fn step<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Result<()> {
        let eta = self.step.at(self.t);
        self.oracle
            .stochastic_gradient_into(&self.x, rng, &mut self.grad)?;
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
