//! The Euclidean mirror map ψ(x) = ½‖x‖²: optimistic online gradient descent.

use lisse_core::{Result, check_dim};
use nalgebra::DVector;

use super::MirrorMap;
use crate::kernels::{
    aligned_copy, check_finite_fast, residual_and_g_sq, scale_about, scaled_step,
    scaled_step_and_sq, scaled_update_in_place, sum_error_bound, sum_sq_diff,
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
}

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
        })
    }

    /// The play on the lazy ball: out ← Π(C·z − η·v), given the predicted ‖C·z − η·v‖² when
    /// known.
    fn lazy_play(
        &self,
        lazy: LazyBall,
        eta: f64,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
        predicted_sq: Option<f64>,
    ) -> Result<()> {
        let d = self.center.len();
        check_dim("direction", d, v.len())?;
        check_dim("output buffer", d, out.len())?;
        let r = lazy.radius;
        if let Some(p) = predicted_sq {
            // The predicted P = ‖C·z − η·v‖² carries a relative error ρ ≤ 8γ_k + 16ε: the
            // sums have error γ_k of a + 2√(ac) + c ≤ 2(a + c) ≤ 8P (a, c as in the caller,
            // trusted only when a + |b| + c ≤ 4P), and forming and combining a, b, c adds a few
            // ε of 4P. Writing x adds at most 3ε of C|zᵢ| + η|vᵢ| per element, ≤ 9ε·√P in norm.
            // So when P is clearly inside (or outside) the ball the pass needs no norm of its
            // own: σ = 1, or σ = R/√P shrunk by the margin ρ/2 + 32ε, gives ‖x‖ ≤ R with
            // certainty and x within that margin of the exact projection (≤ 5e-14 relative at
            // d = 1000, ≤ 4e-12 at d = 100,000).
            let rho = lazy.rho;
            let slack = rho + 32.0 * f64::EPSILON;
            let sigma = if p <= r * r * (1.0 - slack) {
                Some(1.0)
            } else if p > r * r * (1.0 + slack) {
                Some(r / p.sqrt() * (1.0 - 0.5 * rho - 32.0 * f64::EPSILON))
            } else {
                None
            };
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
        let c = lazy.scale;
        let mut next = LazyBall {
            // C′ = C·min(1, R/(C‖z′‖)) = R/‖z′‖ when the step left the ball, else C.
            scale: if c * c * z_sq > lazy.radius * lazy.radius {
                lazy.radius / z_sq.sqrt()
            } else {
                c
            },
            y_sq: z_sq,
            y_dot_g: z_dot_g,
            g_sq,
            sums_valid: true,
            ..lazy
        };
        if !z_sq.is_finite() {
            // Entries finite (by the check) but ‖z‖² overflows: materialize and project
            // robustly, which cannot fail on finite entries.
            scale_about(self.center.as_mut_slice(), None, c);
            self.domain.project_in_place(&mut self.center)?;
            next.scale = 1.0;
            next.sums_valid = false;
        } else if next.scale < LazyBall::MIN_SCALE {
            let s = next.scale;
            scale_about(self.center.as_mut_slice(), None, s);
            next = LazyBall {
                scale: 1.0,
                y_sq: z_sq * s * s,
                y_dot_g: z_dot_g * s,
                ..next
            };
        }
        self.lazy = Some(next);
        Ok(residual)
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
        // ‖C·z − η·g‖² = C²‖z‖² − 2Cη⟨z, g⟩ + η²‖g‖², trusted only without cancellation
        // (a + |b| + c ≤ 4P, which the error bound of `lazy_play` relies on).
        let s = lazy.scale;
        let (a, b, c) = (
            s * s * lazy.y_sq,
            2.0 * s * eta * lazy.y_dot_g,
            eta * eta * lazy.g_sq,
        );
        let predicted = a - b + c;
        let trusted = lazy.sums_valid
            && predicted.is_finite()
            && predicted > 0.0
            && a + b.abs() + c <= 4.0 * predicted;
        self.lazy_play(lazy, eta, v, out, trusted.then_some(predicted))
    }

    fn advance_center(&mut self, eta: f64, g: &DVector<f64>) -> Result<()> {
        check_dim("gradient", self.center.len(), g.len())?;
        check_finite_fast("gradient", g.as_slice())?;
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
