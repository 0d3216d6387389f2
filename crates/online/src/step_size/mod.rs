//! Step-size schedules of optimistic OMD, each with the regret bound it guarantees.
//!
//! | schedule | η_t | setting | bound function |
//! |---|---|---|---|
//! | [`Constant`] | η | any (fixed-η OMD) | — |
//! | [`SeaConvex`] | D/√(δ + 4G² + Σ_{s<t}‖g_s − M_s‖²_*) | convex, smooth F_t | [`sea_convex_bound`] |
//! | [`StronglyConvex`] | 2/(λt) | λ-strongly convex, smooth F_t | [`strongly_convex_bound`] |
//! | [`Unit`] with the [`Mahalanobis`](crate::mirror::Mahalanobis) map | 1 (the step lives in U_t) | α-exp-concave f_t | [`exp_concave_bound`] |
//!
//! **Provenance of the constants.** The algorithms are Chen et al.'s (2023/2024). The full text
//! was not available when this crate was written, so the explicit constants of the bound
//! functions are *derived* from the standard optimistic-OMD lemma plus the gradient-difference
//! decomposition of Sachs et al. (2022, proof of Thm. 5), following the lisse reference notes
//! (§3.1–3.3, tagged D); they match the paper's rates, not necessarily its constants. The
//! tests check every bound against measured regret on simulated SEA instances.

mod exp_concave;
mod sea_convex;
mod strongly_convex;

use lisse_core::{Result, check_positive};
use serde::{Deserialize, Serialize};

pub use exp_concave::{Unit, exp_concave_bound, exp_concave_parameters};
pub use sea_convex::{SeaConvex, sea_convex_bound, sea_convex_delta};
pub use strongly_convex::{StronglyConvex, strongly_convex_bound};

/// A step-size schedule η_t of optimistic OMD.
///
/// [`eta`](StepSchedule::eta) is called before g_t is seen; both half-steps of round t use the
/// returned η_t (reference notes §2.3: the library implements the two-step form with the η of
/// each half-step explicit). [`record`](StepSchedule::record) then receives the round's
/// residual ‖g_t − M_t‖²_*, so that η_{t+1} includes it.
pub trait StepSchedule {
    /// η_t for round `t` (1-based).
    fn eta(&self, t: u64) -> f64;

    /// Absorbs the residual ‖g_t − M_t‖²_* of round `t`.
    fn record(&mut self, t: u64, residual_sq: f64);

    /// A short name for tables.
    fn name(&self) -> String;
}

/// η_t = η for every round.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Constant {
    eta: f64,
}

impl Constant {
    /// The constant schedule η.
    ///
    /// # Errors
    /// [`lisse_core::Error::InvalidParameter`] unless η is finite and > 0.
    pub fn new(eta: f64) -> Result<Self> {
        check_positive("step size eta", eta)?;
        Ok(Self { eta })
    }
}

impl StepSchedule for Constant {
    fn eta(&self, _t: u64) -> f64 {
        self.eta
    }

    fn record(&mut self, _t: u64, _residual_sq: f64) {}

    fn name(&self) -> String {
        format!("eta = {:.3e}", self.eta)
    }
}

/// The problem constants and SEA quantities a bound is evaluated at.
///
/// `sigma_sq` = σ²_{1:T} = Σ_t σ_t², `variation_sq` = Σ²_{1:T} = Σ_{t≥2} sup_x ‖∇F_t − ∇F_{t−1}‖²
/// (the t = 1 term is paid by the G·D part of each bound, so it is excluded; reference notes
/// §1.2), and the `_max` fields their per-round maxima (t ≥ 2 for the variation). Norms are
/// the mirror map's dual norm (‖·‖₂ for the Euclidean map).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SeaConstants {
    /// D: the diameter of X.
    pub diameter: f64,
    /// G: a bound on every observed gradient's norm.
    pub gradient_bound: f64,
    /// L: smoothness of the expected losses F_t (0 for linear losses).
    pub smoothness: f64,
    /// σ²_{1:T}.
    pub sigma_sq: f64,
    /// Σ²_{1:T} (t ≥ 2).
    pub variation_sq: f64,
    /// σ²_max.
    pub sigma_sq_max: f64,
    /// Σ²_max (t ≥ 2).
    pub variation_sq_max: f64,
    /// The number of rounds T.
    pub rounds: u64,
}

impl SeaConstants {
    /// Checks D > 0, G > 0 (finite) and L, σ², Σ² ≥ 0.
    ///
    /// # Errors
    /// [`lisse_core::Error::InvalidParameter`] naming the first bad constant.
    pub fn validate(&self) -> Result<()> {
        check_positive("diameter D", self.diameter)?;
        check_positive("gradient bound G", self.gradient_bound)?;
        for (name, v) in [
            ("smoothness L", self.smoothness),
            ("sigma_sq", self.sigma_sq),
            ("variation_sq", self.variation_sq),
            ("sigma_sq_max", self.sigma_sq_max),
            ("variation_sq_max", self.variation_sq_max),
        ] {
            lisse_core::check_range(name, v, 0.0, f64::INFINITY)?;
        }
        Ok(())
    }
}
