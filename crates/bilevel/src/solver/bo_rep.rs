//! BO-REP: Bilevel Optimization with lower-level initialization REfinement and Periodic updates
//! (Hao, Gong & Liu, "Bilevel Optimization under Unbounded Smoothness: A New Algorithm and
//! Convergence Analysis", ICLR 2024, Algorithms 1–3).

use lisse_core::domain::{Domain, L2Ball};
use lisse_core::{Error, Result, Solver, StreamRng, check_dim, check_positive, check_range};
use nalgebra::DVector;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::state::BilevelState;
use super::{check_count, lower_sgd};
use crate::hypergradient::HypergradientEstimator;
use crate::problem::{BilevelProblem, LowerLevel, UpperLevel};
use crate::schedule::EpochSgd;

/// Parameters of [`BoRep`].
///
/// | field | paper (Alg. 1–3) | public code (`data_cleaning/bo_rep.py`) |
/// |---|---|---|
/// | `eta` | η, normalized step | `outer_update_lr` |
/// | `beta` | β, momentum | 0.9 |
/// | `period` | I | `interval` = 2 |
/// | `lower_steps` | N | `y_warm_start` = 3 (10 + 1 in data cleaning) |
/// | `lower_step` | γ | `inner_update_lr` |
/// | `radius` | R: projection on B(ŷ⁰, R) | none (`None`) |
/// | `init` | Epoch-SGD refinement of y₀ | none (`None`) |
/// | `norm_epsilon` | 0: each step has length η exactly | 1e-10 added to ‖m‖ |
/// | estimator | randomized Neumann | SOBA's linear system, ν = 1e-2 |
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoRepConfig {
    /// η > 0: the length of every x-step.
    pub eta: f64,
    /// β ∈ [0, 1): momentum m ← βm + (1 − β)h.
    pub beta: f64,
    /// I ≥ 1: y is updated at iterations k with k mod I = 0.
    pub period: usize,
    /// N ≥ 1: SGD steps per lower update.
    pub lower_steps: usize,
    /// γ > 0: the lower SGD step.
    pub lower_step: f64,
    /// R > 0: lower SGD iterates are projected on B(ŷ⁰, R), ŷ⁰ the y at the start of the update;
    /// `None` for no projection.
    pub radius: Option<f64>,
    /// Epoch-SGD on g(x₀, ·) before the first iteration; `None` to start from y₀ as given.
    pub init: Option<EpochSgd>,
    /// ε ≥ 0 in x ← x − η m/(‖m‖ + ε).
    pub norm_epsilon: f64,
}

impl BoRepConfig {
    /// The paper's form: projection radius R, Epoch-SGD initialization `init`, exact step
    /// length (ε = 0); β = 0.9, I = 2, N = 3 as in the experiments (override the fields for the
    /// theory's I = O(ε⁻²)). Pair it with [`RandomizedNeumann`](crate::hypergradient::RandomizedNeumann).
    pub fn paper(eta: f64, lower_step: f64, radius: f64, init: EpochSgd) -> Self {
        Self {
            radius: Some(radius),
            init: Some(init),
            ..Self::experiments(eta, lower_step)
        }
    }

    /// The official code's variant: no projection, no initialization refinement, ε = 1e-10;
    /// β = 0.9, I = 2, N = 3. Pair it with [`LinearSystem`](crate::hypergradient::LinearSystem).
    pub fn public_code(eta: f64, lower_step: f64) -> Self {
        Self {
            norm_epsilon: 1e-10,
            ..Self::experiments(eta, lower_step)
        }
    }

    /// The experiments' β = 0.9, I = 2, N = 3, with neither ball nor initialization and ε = 0.
    fn experiments(eta: f64, lower_step: f64) -> Self {
        Self {
            eta,
            beta: 0.9,
            period: 2,
            lower_steps: 3,
            lower_step,
            radius: None,
            init: None,
            norm_epsilon: 0.0,
        }
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the bad field.
    pub fn validate(&self) -> Result<()> {
        check_positive("eta (BO-REP step length)", self.eta)?;
        if !(self.beta.is_finite() && (0.0..1.0).contains(&self.beta)) {
            return Err(Error::invalid("beta (momentum)", self.beta, "in [0, 1)"));
        }
        check_count("period I", self.period)?;
        check_count("lower_steps N", self.lower_steps)?;
        check_positive("lower_step gamma", self.lower_step)?;
        if let Some(r) = self.radius {
            check_positive("radius R", r)?;
        }
        if let Some(e) = &self.init {
            e.validate()?;
        }
        check_range("norm_epsilon", self.norm_epsilon, 0.0, f64::INFINITY)
    }
}

/// Epoch-SGD (see [`EpochSgd`]) on g(x, ·) from `y`, which it overwrites with the average of
/// the last epoch. Every step draws a fresh ∇ᵧG sample and is counted by `problem`.
///
/// # Errors
/// Wrong lengths, an invalid schedule, or a non-finite oracle output.
pub fn epoch_sgd<F: UpperLevel, G: LowerLevel, R: Rng + ?Sized>(
    problem: &BilevelProblem<F, G>,
    schedule: &EpochSgd,
    x: &DVector<f64>,
    y: &mut DVector<f64>,
    rng: &mut R,
) -> Result<()> {
    schedule.validate()?;
    let dy = problem.dim_y();
    check_dim("y", dy, y.len())?;
    // One ball for the whole run, re-centred at each epoch's start point (no allocation).
    let mut ball = L2Ball::centered(dy, 0.0)?;
    let mut grad = DVector::zeros(dy);
    let mut sum = DVector::zeros(dy);
    for epoch in schedule.epochs() {
        ball.set_radius(epoch.radius)?;
        ball.set_center(y.as_slice())?;
        sum.fill(0.0);
        for _ in 0..epoch.length {
            problem.lower_grad_y(x, y, rng, &mut grad)?;
            y.axpy(-epoch.step, &grad, 1.0);
            ball.project_in_place(y)?;
            sum += &*y;
        }
        y.copy_from(&sum);
        *y /= epoch.length as f64;
    }
    Ok(())
}

/// BO-REP (Hao, Gong & Liu 2024, Alg. 1):
///
/// ```text
/// y₀ ← EpochSGD(x₀, y_init)                          (initialization refinement, Alg. 3)
/// for k = 0, 1, …:
///     if k mod I = 0: ŷ⁰ = y; N steps ŷ ← Π_{B(ŷ⁰,R)}(ŷ − γ∇ᵧG(x_k, ŷ; ζ)); y ← ŷ   (Alg. 2)
///     h_k = Ĥ(x_k, y)                                (any hypergradient estimator)
///     m_k = β m_{k−1} + (1 − β) h_k,  m_{−1} = 0
///     x_{k+1} = x_k − η m_k/‖m_k‖                    (normalized: ‖x_{k+1} − x_k‖ = η)
/// ```
///
/// The initialization refinement runs in [`Solver::init`] (before the first step, counted in
/// the run's budget; a solver stepped by hand runs it at its first step). A step at k mod I = 0
/// runs its N lower steps inside the step, so an executor budget can be overshot by one step:
/// N ∇ᵧg calls plus one estimate. When m = 0 (and ε = 0) x does not move.
///
/// The official code's variant is [`BoRepConfig::public_code`] with the
/// [`LinearSystem`](crate::hypergradient::LinearSystem) estimator (its data-cleaning script
/// also computes the z-step's HVP before the lower update and runs N + 1 lower steps; those
/// details are not reproduced).
#[derive(Debug)]
pub struct BoRep<F: UpperLevel, G: LowerLevel, E> {
    /// x, y, the counted problem; its `t` is the paper's k.
    state: BilevelState<F, G>,
    estimator: E,
    config: BoRepConfig,
    /// The momentum m (m₋₁ = 0).
    m: DVector<f64>,
    /// B(ŷ⁰, R), re-centred at ŷ⁰ (the y at the start of each lower update) in place.
    ball: Option<L2Ball>,
    initialized: bool,
    last_step: f64,
}

impl<F: UpperLevel, G: LowerLevel, E: HypergradientEstimator> BoRep<F, G, E> {
    /// BO-REP from (x₀, y₀).
    ///
    /// # Errors
    /// Wrong lengths or non-finite entries of x₀, y₀, or an invalid configuration.
    pub fn new(
        problem: BilevelProblem<F, G>,
        estimator: E,
        config: BoRepConfig,
        x0: DVector<f64>,
        y0: DVector<f64>,
    ) -> Result<Self> {
        config.validate()?;
        let state = BilevelState::new(problem, x0, y0)?;
        let (dx, dy) = (state.x.len(), state.y.len());
        let ball = config.radius.map(|r| L2Ball::centered(dy, r)).transpose()?;
        Ok(Self {
            state,
            estimator,
            config,
            m: DVector::zeros(dx),
            ball,
            initialized: false,
            last_step: 0.0,
        })
    }

    state_accessors!();

    /// The momentum m.
    pub fn momentum(&self) -> &DVector<f64> {
        &self.m
    }

    /// ‖x_{k+1} − x_k‖ of the last step.
    pub fn last_step_length(&self) -> f64 {
        self.last_step
    }

    /// The problem (with its counters).
    pub fn problem(&self) -> &BilevelProblem<F, G> {
        &self.state.problem
    }

    /// The estimator.
    pub fn estimator(&self) -> &E {
        &self.estimator
    }
}

impl<F: UpperLevel, G: LowerLevel, E: HypergradientEstimator> Solver for BoRep<F, G, E> {
    fn name(&self) -> &'static str {
        "bo-rep"
    }

    /// The initialization refinement: Epoch-SGD on g(x₀, ·) (when configured).
    fn init(&mut self, rng: &mut StreamRng) -> Result<()> {
        if !self.initialized {
            if let Some(init) = &self.config.init {
                let s = &mut self.state;
                epoch_sgd(&s.problem, init, &s.x, &mut s.y, rng)?;
            }
            self.initialized = true;
        }
        Ok(())
    }

    fn step(&mut self, rng: &mut StreamRng) -> Result<()> {
        // Driven without an executor: refine y before the first step.
        self.init(rng)?;
        let c = &self.config;
        let s = &mut self.state;
        if s.t.is_multiple_of(c.period as u64) {
            if let Some(ball) = &mut self.ball {
                ball.set_center(s.y.as_slice())?;
            }
            lower_sgd(
                &s.problem,
                &s.x,
                &mut s.y,
                c.lower_steps,
                c.lower_step,
                rng,
                &mut s.grad_y,
                self.ball.as_ref(),
            )?;
        }
        self.estimator
            .estimate(&s.problem, &s.x, &s.y, rng, &mut s.direction)?;
        self.m.axpy(1.0 - c.beta, &s.direction, c.beta);
        let norm = self.m.norm();
        if norm > 0.0 {
            let scale = c.eta / (norm + c.norm_epsilon);
            s.x.axpy(-scale, &self.m, 1.0);
            self.last_step = scale * norm;
        } else {
            self.last_step = 0.0;
        }
        s.t += 1;
        Ok(())
    }

    state_solver_methods!();
}
