//! Mirror maps for optimistic online mirror descent: the geometry of a learner.
//!
//! A mirror map owns the centre x̂_t of the two-step update (Chen et al. 2023, Algorithm 1)
//! and performs the Bregman-proximal step
//!
//! argmin_{x∈X} ⟨η·v, x⟩ + B_ψ(x, x̂_t)
//!
//! either into a caller buffer (the *play* half-step, v = M_t) or onto the centre itself (the
//! *update* half-step, v = g_t).
//!
//! | map | ψ | step | dual norm |
//! |---|---|---|---|
//! | [`Euclidean`] | ½‖x‖² | Π_X(x̂ − η v) | ‖·‖₂ |
//! | [`Entropy`] | Σ xᵢ ln xᵢ on the simplex | softmax(log x̂ − η v), in the log domain | ‖·‖_∞ |
//! | [`Mahalanobis`] | ½‖x‖²_U, U = δI + (β/2)Σ g gᵀ | Π^U_X(x̂ − η U⁻¹ v) | ‖·‖_{U⁻¹} |

mod entropy;
mod euclidean;
mod mahalanobis;

use lisse_core::Result;
use nalgebra::DVector;

pub use entropy::Entropy;
pub use euclidean::{Euclidean, FUSED_MIN_DIM};
pub use mahalanobis::{MAX_DIM as MAHALANOBIS_MAX_DIM, Mahalanobis};

/// The geometry of an online mirror descent learner; see the [module docs](self).
pub trait MirrorMap {
    /// The dimension d.
    fn dim(&self) -> usize;

    /// A short name ("euclidean", "entropy", "mahalanobis").
    fn name(&self) -> &'static str;

    /// Writes argmin_{x∈X} ⟨η·v, x⟩ + B(x, x̂) into `out`, leaving the centre unchanged.
    ///
    /// # Errors
    /// On a wrong length of `v` or `out`, or a non-finite result of the step.
    fn step_from_center(
        &mut self,
        eta: f64,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()>;

    /// [`step_from_center`](MirrorMap::step_from_center) when `v` is the gradient g passed to
    /// the last successful [`update_half_step`](MirrorMap::update_half_step) (zero before the
    /// first: the default hint M_t = g_{t−1}); maps may reuse sums kept from that update. The
    /// default calls `step_from_center`.
    ///
    /// # Errors
    /// As [`step_from_center`](MirrorMap::step_from_center).
    fn step_from_center_last_gradient(
        &mut self,
        eta: f64,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.step_from_center(eta, v, out)
    }

    /// Replaces the centre by argmin_{x∈X} ⟨η·g, x⟩ + B(x, x̂), then lets the map absorb g
    /// (the ONS-type map adds (β/2)·g gᵀ to its matrix *after* the step).
    ///
    /// # Errors
    /// On a wrong length of `g` or a non-finite result of the step.
    fn advance_center(&mut self, eta: f64, g: &DVector<f64>) -> Result<()>;

    /// The whole update half-step of optimistic OMD: checks that `g` is finite, advances the
    /// centre with η ([`advance_center`](MirrorMap::advance_center)), returns ‖g − M‖²_* for
    /// the hint M held in `hint_then_last`, and leaves g in `hint_then_last` (the next round's
    /// default hint). `g` is validated before anything is written: on a bad `g` the map and the
    /// buffer are unchanged. The Euclidean map on a ball does it in one fused pass (in place on
    /// an origin-centred ball).
    ///
    /// # Errors
    /// [`lisse_core::Error::NonFinite`] for a non-finite `g`; errors of the step.
    fn update_half_step(
        &mut self,
        eta: f64,
        g: &DVector<f64>,
        hint_then_last: &mut DVector<f64>,
    ) -> Result<f64> {
        lisse_core::check_dim("gradient", self.dim(), g.len())?;
        lisse_core::check_dim("hint", self.dim(), hint_then_last.len())?;
        lisse_core::check_finite("gradient", g.as_slice())?;
        self.advance_center(eta, g)?;
        let residual = self.dual_norm_sq_diff(g, hint_then_last);
        hint_then_last.as_mut_slice().copy_from_slice(g.as_slice());
        Ok(residual)
    }

    /// [`update_half_step`](MirrorMap::update_half_step), and possibly the next round's play
    /// for the default hint as well, to save a pass over the centre: a map that does so calls
    /// `next_eta` once, with the residual ‖g − M‖²_* it returns, to learn η_{t+1} (the caller's
    /// schedule records the residual in that call), and writes into `next_play` the point that
    /// [`step_from_center_last_gradient`](MirrorMap::step_from_center_last_gradient) would
    /// write with η_{t+1} after the update. Returns (residual, η_{t+1} if `next_eta` was called,
    /// whether `next_play` holds that play). `next_eta` is called only once nothing can fail.
    /// The default calls `update_half_step` and neither of the two.
    ///
    /// # Errors
    /// As [`update_half_step`](MirrorMap::update_half_step); nothing is written on a bad `g`.
    fn update_half_step_and_play(
        &mut self,
        eta: f64,
        g: &DVector<f64>,
        hint_then_last: &mut DVector<f64>,
        next_eta: &mut dyn FnMut(f64) -> f64,
        next_play: &mut DVector<f64>,
    ) -> Result<(f64, Option<f64>, bool)> {
        let _ = (next_eta, next_play);
        Ok((self.update_half_step(eta, g, hint_then_last)?, None, false))
    }

    /// ‖a − b‖²_* in the dual norm of the map's analysis (for the adaptive step sizes).
    fn dual_norm_sq_diff(&mut self, a: &DVector<f64>, b: &DVector<f64>) -> f64;

    /// The centre x̂ as a primal point of X.
    fn center(&self) -> DVector<f64>;
}
