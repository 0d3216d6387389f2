//! The ONS-type mirror map ψ_t(x) = ½‖x‖²_{U_t} with a growing matrix U_t.

use lisse_core::{Error, Result, check_dim, check_finite, check_positive};
use nalgebra::{DMatrix, DVector};

use super::MirrorMap;
use crate::projection::MetricProjection;

/// Sherman–Morrison updates between two exact re-inversions of U (bounds round-off drift).
const REFACTOR_EVERY: u64 = 512;

/// The largest dimension the O(d²)-memory map accepts: U and U⁻¹ then take 2 × 2 GiB.
pub const MAX_DIM: usize = 16_384;

/// ψ_t(x) = ½‖x‖²_{U_t} with U_1 = δI and U_{t+1} = U_t + (β/2)·g_t g_tᵀ (optimistic online
/// Newton step; reference notes §3.3, matrix in the style of Chiang et al. 2012). The step is
/// the generalized projection Π^{U_t}_X(x̂_t − η U_t⁻¹ v) of [`MetricProjection`]; U_t⁻¹ is kept
/// by Sherman–Morrison updates, re-inverted exactly every 512 updates. O(d²) per step plus a
/// projection whenever the unconstrained point leaves X.
///
/// Both half-steps of round t use the same U_t; the rank-one update happens in
/// [`advance_center`](MirrorMap::advance_center) *after* the centre step, so U_t is built from
/// g_s, s < t.
///
/// ```
/// use lisse_core::domain::L2Ball;
/// use lisse_online::mirror::{Mahalanobis, MirrorMap};
/// use nalgebra::dvector;
/// let mut map = Mahalanobis::new(L2Ball::centered(2, 1.0)?, dvector![0.0, 0.0], 1.0, 0.5)?;
/// map.advance_center(1.0, &dvector![-10.0, 0.0])?;
/// assert!(map.center().norm() <= 1.0 + 1e-12);
/// assert!((map.matrix()[(0, 0)] - 26.0).abs() < 1e-12); // δ + (β/2)·g₁²
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Mahalanobis<D> {
    domain: D,
    center: DVector<f64>,
    u: DMatrix<f64>,
    u_inv: DMatrix<f64>,
    beta: f64,
    point: DVector<f64>,
    direction: DVector<f64>,
    projected: DVector<f64>,
    updates: u64,
}

impl<D: MetricProjection> Mahalanobis<D> {
    /// U₁ = δI, rank-one weight β/2, started at Π_X(`start`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless δ > 0 and β > 0 (finite), or when d > [`MAX_DIM`]
    /// (checked before allocating the d×d matrices); errors of the start point.
    pub fn new(domain: D, start: DVector<f64>, delta: f64, beta: f64) -> Result<Self> {
        check_positive("delta", delta)?;
        check_positive("beta", beta)?;
        let d = start.len();
        if d > MAX_DIM {
            return Err(Error::invalid(
                "dimension",
                d,
                format!(
                    "at most {MAX_DIM} for the ONS-type map (it stores two d×d matrices); \
                     use the Euclidean map for larger problems"
                ),
            ));
        }
        let mut center = start;
        domain.project_in_place(&mut center)?;
        Ok(Self {
            domain,
            center,
            u: DMatrix::identity(d, d) * delta,
            u_inv: DMatrix::identity(d, d) / delta,
            beta,
            point: DVector::zeros(d),
            direction: DVector::zeros(d),
            projected: DVector::zeros(d),
            updates: 0,
        })
    }

    /// The optimistic ONS constants of the reference notes §3.3 (derived, not the paper's):
    /// β = ½·min{1/(4GD), α}, δ = max{2βG², 8L}, with D the domain's diameter.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless α > 0, G > 0, L ≥ 0 and D is finite and > 0.
    pub fn optimistic_ons(
        domain: D,
        start: DVector<f64>,
        alpha: f64,
        gradient_bound: f64,
        smoothness: f64,
    ) -> Result<Self> {
        let (beta, delta) = crate::step_size::exp_concave_parameters(
            alpha,
            gradient_bound,
            domain.diameter(),
            smoothness,
        )?;
        Self::new(domain, start, delta, beta)
    }

    /// The current matrix U_t.
    pub fn matrix(&self) -> &DMatrix<f64> {
        &self.u
    }

    /// β.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// The domain X.
    pub fn domain(&self) -> &D {
        &self.domain
    }

    /// x̂ ← Π^U_X(x̂ − η U⁻¹ g) without touching U (classic ONS updates U first).
    ///
    /// # Errors
    /// On a wrong length or non-finite `g`.
    pub fn step_center(&mut self, eta: f64, g: &DVector<f64>) -> Result<()> {
        check_dim("gradient", self.center.len(), g.len())?;
        check_finite("gradient", g.as_slice())?;
        self.point.copy_from(&self.center);
        self.point.gemv(-eta, &self.u_inv, g, 1.0);
        self.domain
            .project_in_metric(&self.u, &self.point, &mut self.projected)?;
        self.center.copy_from(&self.projected);
        Ok(())
    }

    /// U ← U + (β/2)·g gᵀ and the matching Sherman–Morrison update of U⁻¹.
    ///
    /// # Errors
    /// On a wrong length or non-finite `g`; [`Error::NonFinite`] if U⁻¹ degenerates.
    pub fn absorb_gradient(&mut self, g: &DVector<f64>) -> Result<()> {
        check_dim("gradient", self.center.len(), g.len())?;
        check_finite("gradient", g.as_slice())?;
        let w = 0.5 * self.beta;
        self.u.ger(w, g, g, 1.0);
        self.updates += 1;
        if self.updates.is_multiple_of(REFACTOR_EVERY) {
            self.u_inv = self.u.clone().try_inverse().ok_or_else(|| {
                Error::infeasible("the ONS matrix became singular; increase delta")
            })?;
        } else {
            // (U + w ggᵀ)⁻¹ = U⁻¹ − w (U⁻¹g)(U⁻¹g)ᵀ / (1 + w gᵀU⁻¹g).
            self.direction.gemv(1.0, &self.u_inv, g, 0.0);
            let denom = 1.0 + w * g.dot(&self.direction);
            self.u_inv
                .ger(-w / denom, &self.direction, &self.direction, 1.0);
        }
        check_finite("ONS inverse matrix", self.u_inv.as_slice())
    }
}

impl<D: MetricProjection> MirrorMap for Mahalanobis<D> {
    fn dim(&self) -> usize {
        self.center.len()
    }

    fn name(&self) -> &'static str {
        "mahalanobis"
    }

    fn step_from_center(
        &mut self,
        eta: f64,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_dim("direction", self.center.len(), v.len())?;
        check_dim("output buffer", self.center.len(), out.len())?;
        self.point.copy_from(&self.center);
        self.point.gemv(-eta, &self.u_inv, v, 1.0);
        self.domain.project_in_metric(&self.u, &self.point, out)
    }

    fn advance_center(&mut self, eta: f64, g: &DVector<f64>) -> Result<()> {
        self.step_center(eta, g)?;
        self.absorb_gradient(g)
    }

    fn dual_norm_sq_diff(&mut self, a: &DVector<f64>, b: &DVector<f64>) -> f64 {
        self.point.copy_from(a);
        self.point -= b;
        self.direction.gemv(1.0, &self.u_inv, &self.point, 0.0);
        self.point.dot(&self.direction)
    }

    fn center(&self) -> DVector<f64> {
        self.center.clone()
    }
}
