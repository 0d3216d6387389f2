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

mod amigo;
mod bo_rep;
mod hypergradient_sgd;
mod ma_soba;
mod soba;
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

/// Validates the starting point of a solver.
fn check_start<F: UpperLevel, G: LowerLevel>(
    problem: &BilevelProblem<F, G>,
    x0: &DVector<f64>,
    y0: &DVector<f64>,
) -> Result<()> {
    problem.check_point(x0, y0)
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

/// `steps` SGD steps y ← y − γ∇ᵧG(x, y; ζ), each on a fresh sample; with `ball` (centred at 0)
/// each iterate is projected onto `center` + ball. `buf` and `offset` have length dim y.
#[allow(clippy::too_many_arguments)]
fn lower_sgd<F: UpperLevel, G: LowerLevel, R: Rng + ?Sized>(
    problem: &BilevelProblem<F, G>,
    x: &DVector<f64>,
    y: &mut DVector<f64>,
    steps: usize,
    gamma: f64,
    rng: &mut R,
    buf: &mut DVector<f64>,
    ball: Option<(&L2Ball, &DVector<f64>, &mut DVector<f64>)>,
) -> Result<()> {
    match ball {
        None => {
            for _ in 0..steps {
                problem.lower_grad_y(x, y, rng, buf)?;
                y.axpy(-gamma, buf, 1.0);
            }
        }
        Some((ball, center, offset)) => {
            for _ in 0..steps {
                problem.lower_grad_y(x, y, rng, buf)?;
                y.axpy(-gamma, buf, 1.0);
                project_around(ball, center, y, offset)?;
            }
        }
    }
    Ok(())
}

/// y ← center + Π_{ball}(y − center), for a ball centred at the origin.
fn project_around(
    ball: &L2Ball,
    center: &DVector<f64>,
    y: &mut DVector<f64>,
    offset: &mut DVector<f64>,
) -> Result<()> {
    offset.copy_from(y);
    *offset -= center;
    ball.project_in_place(offset)?;
    y.copy_from(center);
    *y += &*offset;
    Ok(())
}
