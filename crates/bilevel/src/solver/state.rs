//! The parts several solvers share: the state every solver keeps (the counted problem, x, y,
//! the iteration counter and two buffers), "T SGD steps on y, then an estimate of ∇Φ"
//! (StocBiO, TTSA, SGD on a hypergradient, BO-REP), and SOBA's joint directions (SOBA and
//! MA-SOBA). What is specific to an algorithm stays in its own file.

use lisse_core::Result;
use lisse_core::solver::StepSize;
use nalgebra::DVector;
use rand::Rng;

use super::lower_sgd;
use crate::elementwise::{axpy, reverse_sub_assign, sub_assign};
use crate::hypergradient::HypergradientEstimator;
use crate::problem::{BilevelProblem, LowerLevel, UpperLevel};

/// The state of a bilevel solver: the counted problem, the upper and lower variables, the
/// iteration counter t, a buffer of length dim x for the step's x-direction (a hypergradient
/// estimate) and one of length dim y for the lower SGD's ∇ᵧG.
#[derive(Debug)]
pub(crate) struct BilevelState<F: UpperLevel, G: LowerLevel> {
    pub(crate) problem: BilevelProblem<F, G>,
    pub(crate) x: DVector<f64>,
    pub(crate) y: DVector<f64>,
    /// The x-direction of the current step (dim x).
    pub(crate) direction: DVector<f64>,
    /// ∇ᵧG of the lower SGD steps (dim y).
    pub(crate) grad_y: DVector<f64>,
    /// Iterations done.
    pub(crate) t: u64,
}

impl<F: UpperLevel, G: LowerLevel> BilevelState<F, G> {
    /// The state at (x₀, y₀), t = 0.
    ///
    /// # Errors
    /// Wrong lengths or non-finite entries of x₀, y₀.
    pub(crate) fn new(
        problem: BilevelProblem<F, G>,
        x0: DVector<f64>,
        y0: DVector<f64>,
    ) -> Result<Self> {
        problem.check_point(&x0, &y0)?;
        let (dx, dy) = (problem.dim_x(), problem.dim_y());
        Ok(Self {
            problem,
            x: x0,
            y: y0,
            direction: DVector::zeros(dx),
            grad_y: DVector::zeros(dy),
            t: 0,
        })
    }

    /// `steps` unprojected SGD steps y ← y − γ∇ᵧG(x, y; ζ), warm-started from the current y,
    /// each on a fresh sample.
    pub(crate) fn lower_sgd<R: Rng + ?Sized>(
        &mut self,
        steps: usize,
        gamma: f64,
        rng: &mut R,
    ) -> Result<()> {
        lower_sgd(
            &self.problem,
            &self.x,
            &mut self.y,
            steps,
            gamma,
            rng,
            &mut self.grad_y,
            None,
        )
    }

    /// [`lower_sgd`](Self::lower_sgd), then `estimator`'s ĥ(x, y) at the new y into
    /// `direction`.
    pub(crate) fn lower_sgd_then_estimate<E: HypergradientEstimator, R: Rng + ?Sized>(
        &mut self,
        steps: usize,
        gamma: f64,
        estimator: &mut E,
        rng: &mut R,
    ) -> Result<()> {
        self.lower_sgd(steps, gamma, rng)?;
        estimator.estimate(&self.problem, &self.x, &self.y, rng, &mut self.direction)
    }

    /// One iteration of SGD on a hypergradient estimate: `inner_steps` SGD steps on y with step
    /// `inner_step` at t, ĥ from `estimator`, x ← x − `outer_step`(t)·ĥ, t ← t + 1 (StocBiO and
    /// TTSA).
    pub(crate) fn sgd_on_estimate<E: HypergradientEstimator, R: Rng + ?Sized>(
        &mut self,
        inner_steps: usize,
        inner_step: StepSize,
        outer_step: StepSize,
        estimator: &mut E,
        rng: &mut R,
    ) -> Result<()> {
        self.lower_sgd_then_estimate(inner_steps, inner_step.at(self.t), estimator, rng)?;
        self.x.axpy(-outer_step.at(self.t), &self.direction, 1.0);
        self.t += 1;
        Ok(())
    }
}

/// SOBA's directions (Dagréou et al. 2022, eq. (6)–(7)) with the persistent linear-system
/// variable z, shared by SOBA and MA-SOBA:
///
/// ```text
/// D_y = ∇ᵧG(x, y; ζ),  D_z = ∇²ᵧᵧG(x, y; ζ)·z − ∇ᵧF(x, y; ξ),  D_x = ∇ₓF(x, y; ξ) − ∇²ₓᵧG(x, y; ζ)·z
/// ```
///
/// with one lower sample ζ for the three lower quantities and one upper sample ξ for the two
/// upper ones (as the paper's implementation): two draws and one call each of ∇ᵧg, HVP,
/// cross, ∇ₓf, ∇ᵧf.
#[derive(Debug)]
pub(crate) struct SobaDirections {
    /// z ≈ [∇²ᵧᵧg]⁻¹∇ᵧf (z₀ = 0).
    pub(crate) z: DVector<f64>,
    dy: DVector<f64>,
    dz: DVector<f64>,
    /// ∇ₓF and ∇ᵧF. Written by the thread that evaluates the upper level and only read by
    /// the update: with the lower level's cross product written into the state's `direction`
    /// instead, no cache line goes back and forth between the two threads for ownership.
    grad_x_upper: DVector<f64>,
    grad_y_upper: DVector<f64>,
}

impl SobaDirections {
    /// z = 0 and buffers for dimensions (dim x, dim y).
    pub(crate) fn new(dim_x: usize, dim_y: usize) -> Self {
        Self {
            z: DVector::zeros(dim_y),
            dy: DVector::zeros(dim_y),
            dz: DVector::zeros(dim_y),
            grad_x_upper: DVector::zeros(dim_x),
            grad_y_upper: DVector::zeros(dim_y),
        }
    }

    /// D_y and D_z at (x, y, z) into `self`, D_x into the state's `direction`.
    pub(crate) fn compute<F: UpperLevel, G: LowerLevel, R: Rng + Send + ?Sized>(
        &mut self,
        state: &mut BilevelState<F, G>,
        rng: &mut R,
    ) -> Result<()> {
        state.problem.lower_directions_and_upper_grads(
            (&state.x, &state.y, &self.z),
            rng,
            [&mut self.dy, &mut self.dz, &mut state.direction],
            [&mut self.grad_x_upper, &mut self.grad_y_upper],
        )?;
        sub_assign(&mut self.dz, &self.grad_y_upper);
        // D_x = ∇ₓF − ∇²ₓᵧG·z, with the cross product in `direction`.
        reverse_sub_assign(&mut state.direction, &self.grad_x_upper);
        Ok(())
    }

    /// y ← y − ρ D_y and z ← z − ρ D_z.
    pub(crate) fn step_lower(&mut self, y: &mut DVector<f64>, rho: f64) {
        axpy(y, -rho, &self.dy, 1.0);
        axpy(&mut self.z, -rho, &self.dz, 1.0);
    }
}
