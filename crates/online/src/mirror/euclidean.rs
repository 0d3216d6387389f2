//! The Euclidean mirror map ψ(x) = ½‖x‖²: optimistic online gradient descent.

use lisse_core::{Result, check_dim};
use nalgebra::DVector;

use super::MirrorMap;
use crate::kernels::{
    aligned_copy, residual_and_g_sq, scale_about, scaled_step, scaled_step_and_sq,
    scaled_update_in_place, sum_error_bound, sum_sq_diff, update_sums, update_write_back,
};
use crate::projection::FastProjection;

/// ψ(x) = ½‖x‖² over a domain with an exact Euclidean projection ([`FastProjection`]): the step is
/// Π_X(x̂ − η v) (Chen et al. 2023, eq. (3) with ψ_t = ‖·‖²/(2η_t)). Allocation-free when the
/// domain's projection is (ball, box; the simplex uses a per-thread scratch).
///
/// On a ball centred at the origin the centre is held as x̂ = C·z with a scalar C: the update
/// half-step validates g in a read-only pass (‖g − M‖², ‖g‖²), then writes z ← z − (η/C)·g
/// (one fused multiply-add) and the hint buffer M ← g in place, and sets
/// C′ = C·min(1, R/(C‖z′‖)), with no rescaling pass and no copy of the learner. It also keeps
/// ‖z‖², ⟨z, g⟩ and ‖g‖², so that the next play with the default hint M = g knows
/// ‖C·z − η·M‖² before its pass; when that prediction is certain to lie inside or outside the
/// ball (a rigorous bound on the sums' rounding, scaled inside the sphere by that bound) the play
/// writes the projected point in one pass without a norm of its own; where the expansion could
/// cancel, near the sphere, or for other hints, it measures the norm and rescales after it.
///
/// ```
/// use lisse_core::domain::L2Ball;
/// use lisse_online::mirror::{Euclidean, MirrorMap};
/// use nalgebra::dvector;
/// let mut map = Euclidean::new(L2Ball::centered(2, 1.0)?, dvector![0.0, 0.0])?;
/// let mut x = dvector![0.0, 0.0];
/// map.step_from_center(1.0, &dvector![-3.0, 4.0], &mut x)?;
/// assert!((x - dvector![0.6, -0.8]).norm() < 1e-15); // Π onto the unit ball
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Euclidean<D> {
    domain: D,
    /// The centre x̂, or z with x̂ = C·z on an origin-centred ball.
    center: DVector<f64>,
    scratch: DVector<f64>,
    /// [`FastProjection::is_origin_centered`], computed once.
    origin_centered: bool,
    /// The lazily scaled representation on an origin-centred ball.
    lazy: Option<LazyBall>,
    /// From this dimension on, the update on the lazy ball takes two passes and writes the next
    /// play ([`MirrorMap::update_half_step_and_play`]); [`FUSED_MIN_DIM`] (changed by tests).
    fused_min_dim: usize,
}

/// From this dimension on, the update half-step on an origin-centred ball runs as two passes
/// that also write the next round's play (8 vector streams a round instead of 9, the second
/// pass backwards, starting on what the first left in cache), instead of three passes
/// (validation, update; the play in `predict`). The three-pass form does fewer flops per pass
/// (the two-pass form's first pass does five fused multiply-adds an element) and wins while the
/// learner's three vectors and the gradient (32·d bytes) sit in the 48 KiB L1 data cache;
/// measured 2026-11-29 (one thread, AVX-512), three-pass / two-pass: 575 / 780 ns at
/// d = 1,500, 890 / 1,130 ns at 2,000, 1,710 / 1,500 ns at 2,500, 3.4 / 2.6 µs at 4,000,
/// 30.4 / 26.1 µs at 32,768. 2,304: 72 KiB, 1.5 times that cache. Both forms give the same
/// bits (tested).
pub const FUSED_MIN_DIM: usize = 2304;

/// x̂ = C·z on the ball of radius R around the origin, with the sums the next play needs (the
/// field names say y for z).
#[derive(Debug, Clone, Copy)]
struct LazyBall {
    radius: f64,
    /// C.
    scale: f64,
    /// ‖y‖².
    y_sq: f64,
    /// ⟨y, g⟩ for the gradient g of the last update (0 before the first).
    y_dot_g: f64,
    /// ‖g‖².
    g_sq: f64,
    /// Whether the three sums describe the current y and the last gradient.
    sums_valid: bool,
    /// 8γ_k + 16ε: the relative error bound of a predicted norm ([`sum_error_bound`]).
    rho: f64,
}

impl LazyBall {
    /// The scale σ of the play Π(C·z − η·g) with the default hint (g the last gradient) when
    /// the kept sums decide it: ‖C·z − η·g‖² = C²‖z‖² − 2Cη⟨z, g⟩ + η²‖g‖², trusted only
    /// without cancellation (a + |b| + c ≤ 4P, which the error bound below relies on). The
    /// predicted P carries a relative error ρ ≤ 8γ_k + 16ε: the sums have error γ_k of
    /// a + 2√(ac) + c ≤ 2(a + c) ≤ 8P, and forming and combining a, b, c adds a few ε of 4P.
    /// Writing x adds at most 3ε of C|zᵢ| + η|vᵢ| per element, ≤ 9ε·√P in norm. So when P is
    /// clearly inside (or outside) the ball the pass needs no norm of its own: σ = 1, or
    /// σ = R/√P shrunk by the margin ρ/2 + 32ε, gives ‖x‖ ≤ R with certainty and x within that
    /// margin of the exact projection (≤ 5e-14 relative at d = 1000, ≤ 4e-12 at d = 100,000).
    /// `None` near the sphere or when the sums are not valid: the play then measures the norm.
    fn default_play_scale(&self, eta: f64) -> Option<f64> {
        let s = self.scale;
        let (a, b, c) = (
            s * s * self.y_sq,
            2.0 * s * eta * self.y_dot_g,
            eta * eta * self.g_sq,
        );
        let p = a - b + c;
        let trusted = self.sums_valid && p.is_finite() && p > 0.0 && a + b.abs() + c <= 4.0 * p;
        if !trusted {
            return None;
        }
        let (r, rho) = (self.radius, self.rho);
        let slack = rho + 32.0 * f64::EPSILON;
        if p <= r * r * (1.0 - slack) {
            Some(1.0)
        } else if p > r * r * (1.0 + slack) {
            Some(r / p.sqrt() * (1.0 - 0.5 * rho - 32.0 * f64::EPSILON))
        } else {
            None
        }
    }

    /// The state after an update pass that left ‖z′‖² = `z_sq`, ⟨z′, g⟩ = `z_dot_g` for a
    /// gradient with ‖g‖² = `g_sq`: C′ = C·min(1, R/(C‖z′‖)) = R/‖z′‖ when the step left the
    /// ball, else C. [`Euclidean::settle`] handles the rare cases ([`LazyBall::is_regular`]).
    fn after_update(self, z_sq: f64, z_dot_g: f64, g_sq: f64) -> Self {
        let c = self.scale;
        LazyBall {
            scale: if c * c * z_sq > self.radius * self.radius {
                self.radius / z_sq.sqrt()
            } else {
                c
            },
            y_sq: z_sq,
            y_dot_g: z_dot_g,
            g_sq,
            sums_valid: true,
            ..self
        }
    }

    /// Whether the state after an update needs no fix-up: ‖z‖² finite and C ≥ 2⁻²⁰⁰.
    fn is_regular(&self) -> bool {
        self.y_sq.is_finite() && self.scale >= Self::MIN_SCALE
    }

    /// Below this scale C the centre is folded back into z (C·z written, C = 1), so that η/C
    /// and R/C stay far from overflow.
    const MIN_SCALE: f64 = 6.223_015_277_861_142e-61; // 2⁻²⁰⁰
}

impl<D: FastProjection> Euclidean<D> {
    /// The map over `domain`, started at Π_X(`start`).
    ///
    /// # Errors
    /// When `start` has the wrong length or non-finite entries.
    pub fn new(domain: D, start: DVector<f64>) -> Result<Self> {
        let mut start = start;
        domain.project_in_place(&mut start)?;
        let center = aligned_copy(&start);
        let scratch = aligned_copy(&start);
        let origin_centered = domain.is_origin_centered();
        // ‖y‖² by nalgebra's sequential sum lacks the error bound the prediction relies on:
        // the first play measures its norm unless the start is the origin (all sums exact).
        let at_origin = center.iter().all(|c| *c == 0.0);
        let lazy = domain.origin_ball_radius().map(|radius| LazyBall {
            radius,
            scale: 1.0,
            y_sq: 0.0,
            y_dot_g: 0.0,
            g_sq: 0.0,
            sums_valid: at_origin,
            rho: 8.0 * sum_error_bound(center.len()) + 16.0 * f64::EPSILON,
        });
        Ok(Self {
            domain,
            center,
            scratch,
            origin_centered,
            lazy,
            fused_min_dim: FUSED_MIN_DIM,
        })
    }

    /// The play on the lazy ball: out ← Π(C·z − η·v), in one pass without a norm when the
    /// scale σ of the projection is known ([`LazyBall::default_play_scale`]).
    fn lazy_play(
        &self,
        lazy: LazyBall,
        eta: f64,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
        sigma: Option<f64>,
    ) -> Result<()> {
        let d = self.center.len();
        check_dim("direction", d, v.len())?;
        check_dim("output buffer", d, out.len())?;
        let r = lazy.radius;
        if let Some(sigma) = sigma {
            scaled_step(
                self.center.as_slice(),
                sigma * lazy.scale,
                sigma * eta,
                v.as_slice(),
                out.as_mut_slice(),
            );
            return Ok(());
        }
        // Unknown or borderline norm: measure it in the pass and rescale after it.
        let sq = scaled_step_and_sq(
            self.center.as_slice(),
            lazy.scale,
            eta,
            v.as_slice(),
            out.as_mut_slice(),
        );
        if !sq.is_finite() {
            return self.domain.project_in_place(out);
        }
        if sq > r * r {
            scale_about(out.as_mut_slice(), None, r / sq.sqrt());
        }
        Ok(())
    }

    /// Writes C·z into z and sets C = 1 (before a step that does not know the lazy scale).
    fn materialize(&mut self) {
        if let Some(lazy) = self.lazy.as_mut() {
            if lazy.scale < 1.0 {
                scale_about(self.center.as_mut_slice(), None, lazy.scale);
                lazy.scale = 1.0;
            }
            lazy.sums_valid = false;
        }
    }

    /// The domain X.
    pub fn domain(&self) -> &D {
        &self.domain
    }
}

impl<D: FastProjection> Euclidean<D> {
    /// The update half-step on the lazy ball. The centre is held as x̂ = C·z; the step
    /// y′ = C·z − η·g = C·(z − (η/C)·g) is one fused multiply-add per element on z, then
    /// C′ = C·min(1, R/(C·‖z′‖)), with ‖g − M‖² and the sums of the next play, and M's buffer
    /// left holding g. C is folded back into z (one extra pass) only when it falls below 2⁻²⁰⁰.
    ///
    /// Validation before mutation, in two passes and no copy of the learner: a read-only pass
    /// over g and M gives ‖g − M‖² and ‖g‖²; ‖g‖² is finite only if every gᵢ is finite with
    /// |gᵢ| < 1.4e154, and with (η/C)·‖g‖ ≤ f64::MAX/2 and R/C ≤ f64::MAX/4 (|zᵢ| ≤ R/C) the
    /// step cannot overflow, so nothing after the check can fail. The second pass then writes z
    /// and the hint buffer in place (three vectors of the learner touched per round, where it
    /// kept six with copies). A gradient that fails the check is either non-finite (the error
    /// names the entry; nothing was written) or finite but huge: that one takes the copying
    /// path, which steps the materialized centre in a scratch vector and commits it only after
    /// its projection succeeded.
    fn lazy_update(
        &mut self,
        lazy: LazyBall,
        eta: f64,
        g: &DVector<f64>,
        hint_then_last: &mut DVector<f64>,
    ) -> Result<f64> {
        let d = self.center.len();
        check_dim("gradient", d, g.len())?;
        check_dim("hint", d, hint_then_last.len())?;
        let (residual, g_sq) = residual_and_g_sq(g.as_slice(), hint_then_last.as_slice());
        let gamma = eta / lazy.scale;
        // γ²‖g‖² ≤ 1e300 (γ‖g‖ ≤ 1e150) and R ≤ 1e300·C: stricter than needed, no sqrt or
        // division on the round's critical path; an overflow of γ² fails the test (copying path).
        let in_place = g_sq * (gamma * gamma) <= 1e300 && lazy.radius <= 1e300 * lazy.scale;
        if !in_place {
            lisse_core::check_finite("gradient", g.as_slice())?;
            return self.copying_update(lazy, eta, g, hint_then_last, residual);
        }
        let (z_sq, z_dot_g) = scaled_update_in_place(
            self.center.as_mut_slice(),
            gamma,
            g.as_slice(),
            hint_then_last.as_mut_slice(),
        );
        self.settle(lazy.after_update(z_sq, z_dot_g, g_sq))?;
        Ok(residual)
    }

    /// Stores the state after an update pass, with the rare fix-ups: ‖z‖² overflowed (entries
    /// finite by the check): materialize C·z and project it robustly; C fell below 2⁻²⁰⁰: fold
    /// it into z.
    fn settle(&mut self, mut next: LazyBall) -> Result<()> {
        let c_old = self.lazy.map_or(1.0, |l| l.scale);
        if !next.y_sq.is_finite() {
            scale_about(self.center.as_mut_slice(), None, c_old);
            self.domain.project_in_place(&mut self.center)?;
            next.scale = 1.0;
            next.sums_valid = false;
        } else if next.scale < LazyBall::MIN_SCALE {
            let s = next.scale;
            scale_about(self.center.as_mut_slice(), None, s);
            next = LazyBall {
                scale: 1.0,
                y_sq: next.y_sq * s * s,
                y_dot_g: next.y_dot_g * s,
                ..next
            };
        }
        self.lazy = Some(next);
        Ok(())
    }

    /// The two-pass update half-step on the lazy ball (d ≥ [`FUSED_MIN_DIM`]): a read-only pass
    /// forms ‖g − M‖², ‖g‖² and the sums of z′ = z − (η/C)·g ([`update_sums`]); then, when g
    /// passes the check of [`Euclidean::lazy_update`] and no fix-up is due, `next_eta` gives
    /// η_{t+1} and one backward pass writes z′, M ← g and the next play Π(C′z′ − η_{t+1}g)
    /// when the sums decide its scale ([`update_write_back`]). The same bits as the three-pass
    /// form.
    fn fused_update(
        &mut self,
        lazy: LazyBall,
        eta: f64,
        g: &DVector<f64>,
        hint_then_last: &mut DVector<f64>,
        next_eta: &mut dyn FnMut(f64) -> f64,
        next_play: &mut DVector<f64>,
    ) -> Result<(f64, Option<f64>, bool)> {
        let d = self.center.len();
        check_dim("gradient", d, g.len())?;
        check_dim("hint", d, hint_then_last.len())?;
        check_dim("output buffer", d, next_play.len())?;
        let gamma = eta / lazy.scale;
        let [residual, g_sq, z_sq, z_dot_g] = update_sums(
            self.center.as_slice(),
            gamma,
            g.as_slice(),
            hint_then_last.as_slice(),
        );
        let in_place = g_sq * (gamma * gamma) <= 1e300 && lazy.radius <= 1e300 * lazy.scale;
        if !in_place {
            lisse_core::check_finite("gradient", g.as_slice())?;
            let residual = self.copying_update(lazy, eta, g, hint_then_last, residual)?;
            return Ok((residual, None, false));
        }
        let next = lazy.after_update(z_sq, z_dot_g, g_sq);
        let (z, h) = (self.center.as_mut_slice(), hint_then_last.as_mut_slice());
        if !next.is_regular() {
            update_write_back(z, gamma, g.as_slice(), h, None);
            self.settle(next)?;
            return Ok((residual, None, false));
        }
        let eta_next = next_eta(residual);
        let sigma = next.default_play_scale(eta_next);
        let play = sigma.map(|s| (s * next.scale, s * eta_next, next_play.as_mut_slice()));
        update_write_back(z, gamma, g.as_slice(), h, play);
        self.lazy = Some(next);
        Ok((residual, Some(eta_next), sigma.is_some()))
    }

    /// Sets the dimension from which the lazy ball's update takes two passes (tests).
    #[cfg(test)]
    pub(crate) fn set_fused_min_dim(&mut self, d: usize) {
        self.fused_min_dim = d;
    }

    /// The update half-step for a finite gradient too large for the in-place pass: steps the
    /// materialized centre in the scratch vector and commits only after the projection
    /// succeeded.
    fn copying_update(
        &mut self,
        lazy: LazyBall,
        eta: f64,
        g: &DVector<f64>,
        hint_then_last: &mut DVector<f64>,
        residual: f64,
    ) -> Result<f64> {
        self.scratch.copy_from(&self.center);
        scale_about(self.scratch.as_mut_slice(), None, lazy.scale);
        self.domain
            .project_step_in_place(&mut self.scratch, eta, g, true)?;
        std::mem::swap(&mut self.center, &mut self.scratch);
        hint_then_last.copy_from(g);
        self.lazy = Some(LazyBall {
            scale: 1.0,
            sums_valid: false,
            ..lazy
        });
        Ok(residual)
    }
}

impl<D: FastProjection> MirrorMap for Euclidean<D> {
    fn dim(&self) -> usize {
        self.domain.dim()
    }

    fn name(&self) -> &'static str {
        "euclidean"
    }

    fn step_from_center(
        &mut self,
        eta: f64,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        if let Some(lazy) = self.lazy {
            return self.lazy_play(lazy, eta, v, out, None);
        }
        self.domain
            .project_step(&self.center, eta, v, out, self.origin_centered)
    }

    fn step_from_center_last_gradient(
        &mut self,
        eta: f64,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        let Some(lazy) = self.lazy else {
            return self.step_from_center(eta, v, out);
        };
        self.lazy_play(lazy, eta, v, out, lazy.default_play_scale(eta))
    }

    fn advance_center(&mut self, eta: f64, g: &DVector<f64>) -> Result<()> {
        check_dim("gradient", self.center.len(), g.len())?;
        lisse_core::check_finite("gradient", g.as_slice())?;
        self.materialize();
        self.domain
            .project_step_in_place(&mut self.center, eta, g, self.origin_centered)
    }

    fn update_half_step(
        &mut self,
        eta: f64,
        g: &DVector<f64>,
        hint_then_last: &mut DVector<f64>,
    ) -> Result<f64> {
        if let Some(lazy) = self.lazy {
            return self.lazy_update(lazy, eta, g, hint_then_last);
        }
        let residual = self.domain.fused_update(
            &self.center,
            eta,
            g,
            hint_then_last,
            &mut self.scratch,
            self.origin_centered,
        )?;
        std::mem::swap(&mut self.center, &mut self.scratch);
        hint_then_last.as_mut_slice().copy_from_slice(g.as_slice());
        Ok(residual)
    }

    fn update_half_step_and_play(
        &mut self,
        eta: f64,
        g: &DVector<f64>,
        hint_then_last: &mut DVector<f64>,
        next_eta: &mut dyn FnMut(f64) -> f64,
        next_play: &mut DVector<f64>,
    ) -> Result<(f64, Option<f64>, bool)> {
        match self.lazy {
            Some(lazy) if self.center.len() >= self.fused_min_dim => {
                self.fused_update(lazy, eta, g, hint_then_last, next_eta, next_play)
            }
            _ => Ok((self.update_half_step(eta, g, hint_then_last)?, None, false)),
        }
    }

    fn dual_norm_sq_diff(&mut self, a: &DVector<f64>, b: &DVector<f64>) -> f64 {
        sum_sq_diff(a.as_slice(), b.as_slice())
    }

    fn center(&self) -> DVector<f64> {
        match self.lazy {
            Some(lazy) if lazy.scale < 1.0 => &self.center * lazy.scale,
            _ => self.center.clone(),
        }
    }
}
