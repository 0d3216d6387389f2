//! The environment side of the online protocol, and a simulator of the SEA model.
//!
//! In the stochastically extended adversarial model (Sachs et al. 2022, Def. 1) nature picks a
//! distribution D_t each round, a loss f_t ~ D_t is drawn, and the learner observes
//! g_t = ∇f_t(x_t). [`SeaEnvironment`] builds instances whose cumulative stochastic variance
//! σ²_{1:T} and adversarial variation Σ²_{1:T} are known exactly, with exact comparators.

mod sea;

use lisse_core::Result;
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use crate::step_size::SeaConstants;

pub use sea::{BaseLoss, Drift, SeaConfig, SeaEnvironment};

/// What one evaluation of f_t at the played point returns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// f_t(x_t), the realized loss.
    pub loss: f64,
    /// F_t(x_t) = E[f_t(x_t)], the expected loss (pseudo-regret accounting).
    pub expected_loss: f64,
    /// F_t(u_t) for the round's minimizer u_t = argmin_X F_t, when the environment knows it
    /// (dynamic regret accounting).
    pub comparator_expected_loss: Option<f64>,
}

/// The best fixed point in hindsight over the rounds played so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestFixed {
    /// min_{u∈X} Σ_s F_s(u).
    pub expected: f64,
    /// min_{u∈X} Σ_s f_s(u).
    pub realized: f64,
    /// argmin_{u∈X} Σ_s F_s(u).
    pub point: DVector<f64>,
}

/// The SEA quantities and problem constants of the rounds played so far.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SeaStats {
    /// Rounds played.
    pub rounds: u64,
    /// σ²_{1:t} = Σ_s σ_s².
    pub sigma_sq: f64,
    /// max_s σ_s².
    pub sigma_sq_max: f64,
    /// Σ²_{1:t} = Σ_{2≤s≤t} sup_x ‖∇F_s(x) − ∇F_{s−1}(x)‖².
    pub variation_sq: f64,
    /// max_{s≥2} sup_x ‖∇F_s(x) − ∇F_{s−1}(x)‖².
    pub variation_sq_max: f64,
    /// Path length Σ_{s≥2} ‖u_s − u_{s−1}‖ of the per-round minimizers (0 when unknown).
    pub path_length: f64,
    /// D.
    pub diameter: f64,
    /// G.
    pub gradient_bound: f64,
    /// L.
    pub smoothness: f64,
}

impl SeaStats {
    /// The constants for the bound functions of [`crate::step_size`] and [`crate::baseline`].
    pub fn constants(&self) -> SeaConstants {
        SeaConstants {
            diameter: self.diameter,
            gradient_bound: self.gradient_bound,
            smoothness: self.smoothness,
            sigma_sq: self.sigma_sq,
            variation_sq: self.variation_sq,
            sigma_sq_max: self.sigma_sq_max,
            variation_sq_max: self.variation_sq_max,
            rounds: self.rounds,
        }
    }
}

/// A sequence of losses revealed one round at a time.
///
/// Per round the protocol calls [`begin_round`](Environment::begin_round) (nature draws f_t),
/// optionally [`exact_hint`](Environment::exact_hint), then
/// [`evaluate`](Environment::evaluate) once at the learner's point.
pub trait Environment {
    /// The dimension d.
    fn dim(&self) -> usize;

    /// The number of rounds T.
    fn horizon(&self) -> u64;

    /// A short description for tables.
    fn name(&self) -> String;

    /// Draws f_t.
    ///
    /// # Errors
    /// When the horizon is exhausted or the previous round was not evaluated.
    fn begin_round(&mut self) -> Result<()>;

    /// Writes g_t into `out` and returns `true` when ∇f_t does not depend on the point
    /// (linear losses), so an exact hint M_t = g_t can be given before playing.
    ///
    /// # Errors
    /// On a wrong length of `out`.
    fn exact_hint(&self, out: &mut DVector<f64>) -> Result<bool> {
        let _ = out;
        Ok(false)
    }

    /// Evaluates f_t at the played point `x`, writing g_t = ∇f_t(x) into `gradient`.
    ///
    /// # Errors
    /// On wrong lengths, non-finite `x`, or no round begun.
    fn evaluate(&mut self, x: &DVector<f64>, gradient: &mut DVector<f64>) -> Result<Evaluation>;

    /// F_t(u) = E[f_t(u)] for the current round t (the round last begun, before or after its
    /// evaluation), for dynamic regret against a user's comparator; `None` when the environment
    /// cannot evaluate it (the default) or no round has begun.
    ///
    /// # Errors
    /// On a wrong length or non-finite entries of `u`.
    fn expected_loss_at(&self, u: &DVector<f64>) -> Result<Option<f64>> {
        let _ = u;
        Ok(None)
    }

    /// The best fixed point in hindsight, when it can be computed.
    ///
    /// # Errors
    /// When the comparator's computation fails.
    fn best_fixed(&mut self) -> Result<Option<BestFixed>> {
        Ok(None)
    }

    /// σ², Σ², path length and constants so far, when known.
    fn sea_stats(&self) -> Option<SeaStats> {
        None
    }
}
