//! Bilevel solvers, one file per algorithm, each a lisse-core [`Solver`](lisse_core::Solver)
//! driven by the [`Executor`](lisse_core::Executor). `iterate()` is the upper variable x;
//! `lower()` gives y.
//!
//! | solver | file | x-update | y-update | hypergradient |
//! |---|---|---|---|---|
//! | [`BoRep`] | `bo_rep.rs` | normalized momentum, step length η | every I steps, N projected SGD steps in B(y, R); Epoch-SGD at start | any [`HypergradientEstimator`](crate::hypergradient::HypergradientEstimator) |
//! | [`StocBio`] | `stocbio.rs` | SGD | T warm-started SGD steps per iteration | truncated Neumann |
//! | [`Ttsa`] | `ttsa.rs` | SGD, β_t | one SGD step, α_t | randomized Neumann |
//! | [`Soba`] | `soba.rs` | SGD | one SGD step | one SGD step on z, jointly |
//! | [`MaSoba`] | `ma_soba.rs` | moving average of the direction | one SGD step | one SGD step on z |
//! | [`Amigo`] | `amigo.rs` | SGD | T warm-started SGD steps | M warm-started SGD steps on z |
//! | [`HypergradientSgd`] | `hypergradient_sgd.rs` | SGD or normalized SGD (± momentum) | T SGD steps | any estimator |
//!
//! Step sizes are lisse-core `StepSize` schedules: benchopt's
//! c/(t+1)^e is `StepSize::Decaying { eta0: c, power: e }`.
//!
//! What several solvers share lives in `state.rs` (crate-private): the state every solver
//! keeps (the counted problem, x, y, the iteration counter, an x-direction and a ∇ᵧG buffer),
//! "T SGD steps on y, then a hypergradient estimate" (StocBiO, TTSA, the SGD ablations) and
//! SOBA's joint directions with the persistent z (SOBA, MA-SOBA); the `Solver` accessors
//! (`iterate`, `lower_iterate`, `counts`) and the inherent `lower`/`bilevel_counts` come from
//! two small macros in this file. Each algorithm's own update stays in its file.

/// The `Solver` methods every bilevel solver shares (`iterate`, `lower_iterate`, `counts`),
/// read from the solver's [`BilevelState`](state::BilevelState) field `state`; expanded inside
/// each `impl Solver`, next to the solver's own `name` and `step`.
macro_rules! state_solver_methods {
    () => {
        fn iterate(&self) -> &nalgebra::DVector<f64> {
            &self.state.x
        }

        fn lower_iterate(&self) -> Option<&nalgebra::DVector<f64>> {
            Some(&self.state.y)
        }

        fn counts(&self) -> lisse_core::OracleCounts {
            self.state.problem.counts()
        }
    };
}

/// The inherent accessors every bilevel solver shares (`lower`, `bilevel_counts`), read from
/// the solver's field `state`.
macro_rules! state_accessors {
    () => {
        /// The lower variable y.
        pub fn lower(&self) -> &nalgebra::DVector<f64> {
            &self.state.y
        }

        /// Calls by block.
        pub fn bilevel_counts(&self) -> crate::problem::BilevelCounts {
            self.state.problem.bilevel_counts()
        }
    };
}

mod amigo;
mod bo_rep;
mod hypergradient_sgd;
mod ma_soba;
mod soba;
mod state;
mod stocbio;
mod ttsa;

pub use amigo::{Amigo, AmigoConfig};
pub use bo_rep::{BoRep, BoRepConfig, epoch_sgd};
pub use hypergradient_sgd::{HypergradientSgd, HypergradientSgdConfig};
pub use ma_soba::{MaSoba, MaSobaConfig};
pub use soba::{Soba, SobaConfig};
pub use stocbio::{StocBio, StocBioConfig};
pub use ttsa::{Ttsa, TtsaConfig};

use lisse_core::domain::{Domain, L2Ball};
use lisse_core::solver::{StepSchedule, StepSize};
use lisse_core::{Error, Result};
use nalgebra::DVector;
use rand::Rng;

use crate::problem::{BilevelProblem, LowerLevel, UpperLevel};

/// benchopt's c/(t+1)^e.
fn decaying(c: f64, e: f64) -> StepSize {
    StepSize::Decaying { eta0: c, power: e }
}

/// Validates named schedules, in order.
fn check_steps(steps: &[(&str, StepSize)]) -> Result<()> {
    steps
        .iter()
        .try_for_each(|&(name, step)| check_step(name, step))
}

/// Validates the `inner_step` and `outer_step` schedules of a configuration.
fn check_inner_outer(inner_step: StepSize, outer_step: StepSize) -> Result<()> {
    check_steps(&[("inner_step", inner_step), ("outer_step", outer_step)])
}

/// Validates a schedule under a name.
fn check_step(name: &str, step: StepSize) -> Result<()> {
    step.validate().map_err(|e| match e {
        Error::InvalidParameter { value, allowed, .. } => Error::InvalidParameter {
            name: name.to_owned(),
            value,
            allowed,
        },
        other => other,
    })
}

/// Validates a count parameter ≥ 1.
fn check_count(name: &str, value: usize) -> Result<()> {
    if value == 0 {
        Err(Error::invalid(name, 0, "at least 1"))
    } else {
        Ok(())
    }
}

/// `steps` SGD steps y ← y − γ∇ᵧG(x, y; ζ), each on a fresh sample; with `ball` each iterate
/// is projected onto it (BO-REP's B(ŷ⁰, R): the caller re-centres the ball at ŷ⁰ with
/// [`L2Ball::set_center`], no allocation). `buf` has length dim y.
#[allow(clippy::too_many_arguments)]
fn lower_sgd<F: UpperLevel, G: LowerLevel, R: Rng + ?Sized>(
    problem: &BilevelProblem<F, G>,
    x: &DVector<f64>,
    y: &mut DVector<f64>,
    steps: usize,
    gamma: f64,
    rng: &mut R,
    buf: &mut DVector<f64>,
    ball: Option<&L2Ball>,
) -> Result<()> {
    for _ in 0..steps {
        problem.lower_grad_y(x, y, rng, buf)?;
        y.axpy(-gamma, buf, 1.0);
        if let Some(ball) = ball {
            ball.project_in_place(y)?;
        }
    }
    Ok(())
}
