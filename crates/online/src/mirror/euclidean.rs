//! The Euclidean mirror map ψ(x) = ½‖x‖²: optimistic online gradient descent.

use lisse_core::{Result, check_dim};
use nalgebra::DVector;

use super::MirrorMap;
use crate::kernels::{check_finite_fast, sum_sq_diff};
use crate::projection::FastProjection;

/// ψ(x) = ½‖x‖² over a domain with an exact Euclidean projection ([`FastProjection`]): the step is
/// Π_X(x̂ − η v) (Chen et al. 2023, eq. (3) with ψ_t = ‖·‖²/(2η_t)). Allocation-free when the
/// domain's projection is (ball, box; the simplex uses a per-thread scratch).
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
    center: DVector<f64>,
    scratch: DVector<f64>,
    /// [`FastProjection::is_origin_centered`], computed once.
    origin_centered: bool,
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
        Ok(Self {
            domain,
            center,
            scratch,
            origin_centered,
        })
    }

    /// The domain X.
    pub fn domain(&self) -> &D {
        &self.domain
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
        self.domain
            .project_step(&self.center, eta, v, out, self.origin_centered)
    }

    fn advance_center(&mut self, eta: f64, g: &DVector<f64>) -> Result<()> {
        check_dim("gradient", self.center.len(), g.len())?;
        check_finite_fast("gradient", g.as_slice())?;
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
        self.center.clone()
    }
}
