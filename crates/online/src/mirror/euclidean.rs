//! The Euclidean mirror map ψ(x) = ½‖x‖²: optimistic online gradient descent.

use lisse_core::{Result, check_dim};
use nalgebra::DVector;

use super::MirrorMap;
use crate::kernels::{
    check_finite_fast, scale_about, scaled_fused_update, scaled_step_and_sq, sum_sq_diff,
};
use crate::projection::FastProjection;

/// ψ(x) = ½‖x‖² over a domain with an exact Euclidean projection ([`FastProjection`]): the step is
/// Π_X(x̂ − η v) (Chen et al. 2023, eq. (3) with ψ_t = ‖·‖²/(2η_t)). Allocation-free when the
/// domain's projection is (ball, box; the simplex uses a per-thread scratch).
///
/// On a ball centred at the origin the centre is held as s·y and scaled lazily: the update
/// half-step writes y ← s·y − η·g and sets s = min(1, R/‖y‖), with no rescaling pass. It also
/// keeps ‖y‖², ⟨y, g⟩ and ‖g‖², so that the next play with the default hint M = g knows
/// ‖s·y − η·M‖² before its pass and writes the projected point directly (scaled 4 ulps inside
/// the sphere); where that expansion could cancel, or for other hints, the play measures the
/// norm in its pass and rescales after it.
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
    /// The centre x̂, or y with x̂ = s·y on an origin-centred ball.
    center: DVector<f64>,
    scratch: DVector<f64>,
    /// [`FastProjection::is_origin_centered`], computed once.
    origin_centered: bool,
    /// The lazily scaled representation on an origin-centred ball.
    lazy: Option<LazyBall>,
}

/// x̂ = s·y on the ball of radius R around the origin, with the sums the next play needs.
#[derive(Debug, Clone, Copy)]
struct LazyBall {
    radius: f64,
    /// s.
    scale: f64,
    /// ‖y‖².
    y_sq: f64,
    /// ⟨y, g⟩ for the gradient g of the last update (0 before the first).
    y_dot_g: f64,
    /// ‖g‖².
    g_sq: f64,
    /// Whether the three sums describe the current y and the last gradient.
    sums_valid: bool,
}

impl LazyBall {
    /// Scales a finished step: s = R/√sq when sq > R², else 1; a non-finite sq sends the point
    /// to the robust projection.
    fn scale_for(radius: f64, sq: f64) -> f64 {
        if sq > radius * radius {
            radius / sq.sqrt()
        } else {
            1.0
        }
    }
}

impl<D: FastProjection> Euclidean<D> {
    /// The map over `domain`, started at Π_X(`start`).
    ///
    /// # Errors
    /// When `start` has the wrong length or non-finite entries.
    pub fn new(domain: D, start: DVector<f64>) -> Result<Self> {
        let mut center = start;
        domain.project_in_place(&mut center)?;
        let scratch = center.clone();
        let origin_centered = domain.is_origin_centered();
        let lazy = domain.origin_ball_radius().map(|radius| LazyBall {
            radius,
            scale: 1.0,
            y_sq: center.norm_squared(),
            y_dot_g: 0.0,
            g_sq: 0.0,
            sums_valid: true,
        });
        Ok(Self {
            domain,
            center,
            scratch,
            origin_centered,
            lazy,
        })
    }

    /// The play on the lazy ball: out ← Π(s·y − η·v), given the predicted ‖s·y − η·v‖² when
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
        // σ scales the step up front when the predicted norm says the point lies outside.
        let sigma = match predicted_sq {
            Some(sq) if sq > r * r => r / sq.sqrt() * (1.0 - 4.0 * f64::EPSILON),
            _ => 1.0,
        };
        let sq = scaled_step_and_sq(
            self.center.as_slice(),
            sigma * lazy.scale,
            sigma * eta,
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

    /// Writes s·y into y and sets s = 1 (before a step that does not know the lazy scale).
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
    /// The update half-step on the lazy ball: y ← s·y − η·g and s = min(1, R/‖y‖) in one pass.
    fn lazy_update(
        &mut self,
        lazy: LazyBall,
        eta: f64,
        g: &DVector<f64>,
        hint: &DVector<f64>,
        last: &mut DVector<f64>,
    ) -> Result<f64> {
        let d = self.center.len();
        check_dim("gradient", d, g.len())?;
        check_dim("hint", d, hint.len())?;
        check_dim("gradient buffer", d, last.len())?;
        let sums = scaled_fused_update(
            self.center.as_slice(),
            lazy.scale,
            eta,
            g.as_slice(),
            hint.as_slice(),
            self.scratch.as_mut_slice(),
            last.as_mut_slice(),
        );
        if !sums.residual.is_finite() {
            // NaN or ±∞ in g (the hint is finite), or an overflow: name the entry if any.
            lisse_core::check_finite("gradient", g.as_slice())?;
            lisse_core::check_finite("hint", hint.as_slice())?;
        }
        let mut next = LazyBall {
            scale: LazyBall::scale_for(lazy.radius, sums.out_sq),
            y_sq: sums.out_sq,
            y_dot_g: sums.out_dot_g,
            g_sq: sums.g_sq,
            sums_valid: true,
            ..lazy
        };
        if !sums.out_sq.is_finite() {
            self.domain.project_in_place(&mut self.scratch)?;
            next.scale = 1.0;
            next.sums_valid = false;
        }
        std::mem::swap(&mut self.center, &mut self.scratch);
        self.lazy = Some(next);
        Ok(sums.residual)
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
        // ‖s·y − η·g‖² = s²‖y‖² − 2sη⟨y, g⟩ + η²‖g‖², trusted only without cancellation.
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
        hint: &DVector<f64>,
        last: &mut DVector<f64>,
    ) -> Result<f64> {
        if let Some(lazy) = self.lazy {
            return self.lazy_update(lazy, eta, g, hint, last);
        }
        let residual = self.domain.fused_update(
            &self.center,
            eta,
            g,
            hint,
            &mut self.scratch,
            last,
            self.origin_centered,
        )?;
        std::mem::swap(&mut self.center, &mut self.scratch);
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
