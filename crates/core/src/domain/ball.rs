//! The Euclidean ball B(c, R) = {x : ‖x − c‖₂ ≤ R}.

use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::Domain;
use super::PROJECT_DIM_HINT;
use crate::{Dimension, Error, Result, check_dim_hint, check_finite, check_finite_hint};

/// The closed Euclidean ball B(c, R) = {x : ‖x − c‖₂ ≤ R} with a finite center c and a finite
/// radius R ≥ 0.
///
/// Projection: Π(y) = c + (y − c)·min(1, R/‖y − c‖₂), in O(d). The norm is computed with
/// rescaling, so points far outside the ball (‖y − c‖² beyond `f64::MAX`) are projected
/// correctly rather than collapsed onto the center. Rounding can leave c + (y − c)·R/‖y − c‖
/// a few ulps outside the ball; the projection then pulls the point toward c by a few ulps
/// more, so that every projected point satisfies `contains` with zero tolerance, and (points
/// inside being left unchanged) projecting twice gives the same bits.
///
/// The center can be moved in place, without allocating, with [`L2Ball::set_center`] (for a
/// ball that follows an iterate, as in BO-REP).
///
/// ```
/// use lisse_core::domain::{Domain, L2Ball};
/// use nalgebra::dvector;
/// let ball = L2Ball::new(dvector![1.0, 0.0], 2.0)?;
/// let mut y = dvector![1.0, 4.0];
/// ball.project_in_place(&mut y)?;
/// assert!((y - dvector![1.0, 2.0]).norm() < 1e-15);
/// assert_eq!(ball.diameter(), 4.0);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "L2BallSpec")]
pub struct L2Ball {
    center: DVector<f64>,
    radius: f64,
}

/// The unvalidated serialized form of an [`L2Ball`]; deserialization goes through
/// [`L2Ball::new`].
#[derive(Deserialize)]
struct L2BallSpec {
    center: DVector<f64>,
    radius: f64,
}

impl TryFrom<L2BallSpec> for L2Ball {
    type Error = Error;

    fn try_from(spec: L2BallSpec) -> Result<Self> {
        Self::new(spec.center, spec.radius)
    }
}

impl L2Ball {
    /// The ball of radius `radius` around `center`; its dimension is `center.len()`.
    ///
    /// # Errors
    /// [`Error::NonFinite`] when `center` holds NaN or ±∞;
    /// [`Error::InvalidParameter`] when `radius` is negative, NaN or infinite.
    pub fn new(center: DVector<f64>, radius: f64) -> Result<Self> {
        check_finite_hint(
            "ball center",
            center.as_slice(),
            "give a center with finite entries",
        )?;
        if !(radius.is_finite() && radius >= 0.0) {
            return Err(Error::invalid("radius", radius, "a finite number >= 0"));
        }
        Ok(Self { center, radius })
    }

    /// The ball of radius `radius` around the origin of ℝ^`dim`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `radius` is negative, NaN or infinite.
    ///
    /// ```
    /// use lisse_core::domain::{Domain, L2Ball};
    /// let ball = L2Ball::centered(3, 1.0)?;
    /// assert_eq!(ball.center().len(), 3);
    /// assert_eq!(ball.radius(), 1.0);
    /// # Ok::<(), lisse_core::Error>(())
    /// ```
    pub fn centered(dim: usize, radius: f64) -> Result<Self> {
        Self::new(DVector::zeros(dim), radius)
    }

    /// The center c.
    pub fn center(&self) -> &DVector<f64> {
        &self.center
    }

    /// Moves the center to `center`, copying into the ball's own buffer (no allocation).
    ///
    /// ```
    /// use lisse_core::domain::{Domain, L2Ball};
    /// use nalgebra::dvector;
    /// let mut ball = L2Ball::centered(2, 1.0)?;
    /// ball.set_center(&[3.0, 0.0])?;
    /// assert!(ball.contains(&dvector![3.5, 0.0], 0.0));
    /// assert!(!ball.contains(&dvector![0.0, 0.0], 0.0));
    /// # Ok::<(), lisse_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `center.len() != dim()`; [`Error::NonFinite`] for a NaN
    /// or infinite entry. The ball is unchanged on error.
    pub fn set_center(&mut self, center: &[f64]) -> Result<()> {
        check_dim_hint(
            "ball center",
            self.dim(),
            center.len(),
            "a ball keeps its dimension; give dim() entries",
        )?;
        check_finite_hint("ball center", center, "give a center with finite entries")?;
        self.center.as_mut_slice().copy_from_slice(center);
        Ok(())
    }

    /// Sets the radius.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `radius` is negative, NaN or infinite; the ball is
    /// unchanged on error.
    pub fn set_radius(&mut self, radius: f64) -> Result<()> {
        if !(radius.is_finite() && radius >= 0.0) {
            return Err(Error::invalid("radius", radius, "a finite number >= 0"));
        }
        self.radius = radius;
        Ok(())
    }

    /// ‖x − c‖₂ as [`contains`](Domain::contains) computes it.
    fn distance(&self, x: &[f64]) -> f64 {
        let (m, s) = self.scaled_distance(x);
        2.0 * m * s.sqrt()
    }

    /// The radius R.
    pub fn radius(&self) -> f64 {
        self.radius
    }

    /// Returns (m, s) with ‖x − c‖₂ = 2·m·√s, computed without overflow or underflow of the
    /// squares: hᵢ = xᵢ/2 − cᵢ/2 (finite for finite inputs), m = maxᵢ |hᵢ|, s = Σᵢ (hᵢ/m)².
    /// `s` is 0 when x = c.
    fn scaled_distance(&self, x: &[f64]) -> (f64, f64) {
        let half_diff = |(xi, ci): (&f64, &f64)| 0.5 * xi - 0.5 * ci;
        let m = x
            .iter()
            .zip(self.center.iter())
            .map(half_diff)
            .fold(0.0, |acc: f64, h| acc.max(h.abs()));
        if m == 0.0 {
            return (0.0, 0.0);
        }
        let s = x
            .iter()
            .zip(self.center.iter())
            .map(half_diff)
            .map(|h| (h / m) * (h / m))
            .sum();
        (m, s)
    }
}

impl Dimension for L2Ball {
    fn dim(&self) -> usize {
        self.center.len()
    }
    /// A domain reads no data.
    fn full_batch_size(&self) -> usize {
        0
    }
}

impl Domain for L2Ball {
    /// Π(y) = c + (y − c)·min(1, R/‖y − c‖₂); points inside the ball are left bit-for-bit unchanged.
    fn project_in_place(&self, x: &mut DVector<f64>) -> Result<()> {
        check_dim_hint("point to project", self.dim(), x.len(), PROJECT_DIM_HINT)?;
        check_finite("point to project", x.as_slice())?;
        let (m, s) = self.scaled_distance(x.as_slice());
        let dist = 2.0 * m * s.sqrt();
        if dist <= self.radius {
            return Ok(());
        }
        // (yᵢ − cᵢ)/‖y − c‖ = hᵢ/(m·√s), so xᵢ = cᵢ + (hᵢ/m)·(R/√s).
        let scale = self.radius / s.sqrt();
        for (xi, ci) in x.iter_mut().zip(self.center.iter()) {
            let h = 0.5 * *xi - 0.5 * ci;
            *xi = ci + (h / m) * scale;
        }
        // Rounding can leave the point a few ulps outside: pull it toward c by 4ε, 8ε, ...
        // until `contains` (the same distance) accepts it; shrink = 1 gives c itself.
        let mut shrink = 4.0 * f64::EPSILON;
        while self.distance(x.as_slice()) > self.radius {
            let keep = (1.0 - shrink).max(0.0);
            for (xi, ci) in x.iter_mut().zip(self.center.iter()) {
                *xi = ci + 2.0 * ((0.5 * *xi - 0.5 * ci) * keep);
            }
            shrink *= 2.0;
        }
        Ok(())
    }

    /// ‖x − c‖₂ ≤ R + `tol`, `false` on a wrong length or non-finite entries.
    fn contains(&self, x: &DVector<f64>, tol: f64) -> bool {
        if x.len() != self.dim() || !x.iter().all(|v| v.is_finite()) {
            return false;
        }
        self.distance(x.as_slice()) <= self.radius + tol
    }

    /// 2R.
    fn diameter(&self) -> f64 {
        if self.dim() == 0 {
            0.0
        } else {
            2.0 * self.radius
        }
    }
}
