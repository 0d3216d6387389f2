//! Axis-aligned boxes [l, u] = {x : lᵢ ≤ xᵢ ≤ uᵢ}.

use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::Domain;
use super::PROJECT_DIM_HINT;
use crate::{Dimension, Error, Result, check_dim_hint, check_finite};

/// The box [l, u] = {x : lᵢ ≤ xᵢ ≤ uᵢ for every i}.
///
/// Bounds may be infinite (lᵢ = −∞ or uᵢ = +∞ leave that side open), so half-spaces such as
/// the nonnegative orthant are boxes too. Projection clamps each coordinate, in O(d).
///
/// ```
/// use lisse_core::domain::{BoxDomain, Domain};
/// use nalgebra::dvector;
/// let unit = BoxDomain::uniform(2, 0.0, 1.0)?;
/// let mut y = dvector![-0.5, 0.25];
/// unit.project_in_place(&mut y)?;
/// assert_eq!(y, dvector![0.0, 0.25]);
/// assert!((unit.diameter() - 2f64.sqrt()).abs() < 1e-15);
///
/// let orthant = BoxDomain::uniform(2, 0.0, f64::INFINITY)?;
/// assert!(orthant.diameter().is_infinite());
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BoxSpec")]
pub struct BoxDomain {
    lower: DVector<f64>,
    upper: DVector<f64>,
}

/// The unvalidated serialized form of a [`BoxDomain`]; deserialization goes through
/// [`BoxDomain::new`].
#[derive(Deserialize)]
struct BoxSpec {
    lower: DVector<f64>,
    upper: DVector<f64>,
}

impl TryFrom<BoxSpec> for BoxDomain {
    type Error = Error;

    fn try_from(spec: BoxSpec) -> Result<Self> {
        Self::new(spec.lower, spec.upper)
    }
}

/// Checks one pair of bounds: neither NaN, l < +∞, u > −∞ and l ≤ u.
fn check_bounds(i: usize, lo: f64, hi: f64) -> Result<()> {
    if lo.is_nan() || lo == f64::INFINITY {
        return Err(Error::invalid(
            format!("lower[{i}]"),
            lo,
            "a finite number or -inf",
        ));
    }
    if hi.is_nan() || hi == f64::NEG_INFINITY {
        return Err(Error::invalid(
            format!("upper[{i}]"),
            hi,
            "a finite number or +inf",
        ));
    }
    if lo > hi {
        return Err(Error::infeasible(format!(
            "the box is empty: lower[{i}] = {lo} > upper[{i}] = {hi}; swap or widen the bounds"
        )));
    }
    Ok(())
}

impl BoxDomain {
    /// The box [`lower`, `upper`]; its dimension is `lower.len()`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when the two vectors have different lengths;
    /// [`Error::InvalidParameter`] naming the first offending index when a bound is NaN, a lower
    /// bound is +∞ or an upper bound is −∞; [`Error::Infeasible`] when `lower[i] > upper[i]`
    /// (the box is empty).
    pub fn new(lower: DVector<f64>, upper: DVector<f64>) -> Result<Self> {
        check_dim_hint(
            "box upper bounds",
            lower.len(),
            upper.len(),
            "give as many upper bounds as lower bounds, one per coordinate",
        )?;
        for (i, (&lo, &hi)) in lower.iter().zip(upper.iter()).enumerate() {
            check_bounds(i, lo, hi)?;
        }
        Ok(Self { lower, upper })
    }

    /// The box [`lo`, `hi`]^`dim`.
    ///
    /// # Errors
    /// As in [`BoxDomain::new`].
    ///
    /// ```
    /// use lisse_core::domain::BoxDomain;
    /// let b = BoxDomain::uniform(3, -1.0, 1.0)?;
    /// assert_eq!(b.lower().len(), 3);
    /// assert!(BoxDomain::uniform(3, 1.0, -1.0).is_err());
    /// # Ok::<(), lisse_core::Error>(())
    /// ```
    pub fn uniform(dim: usize, lo: f64, hi: f64) -> Result<Self> {
        check_bounds(0, lo, hi)?;
        Ok(Self {
            lower: DVector::from_element(dim, lo),
            upper: DVector::from_element(dim, hi),
        })
    }

    /// The lower bounds l.
    pub fn lower(&self) -> &DVector<f64> {
        &self.lower
    }

    /// The upper bounds u.
    pub fn upper(&self) -> &DVector<f64> {
        &self.upper
    }
}

impl Dimension for BoxDomain {
    fn dim(&self) -> usize {
        self.lower.len()
    }
    /// A domain reads no data.
    fn full_batch_size(&self) -> usize {
        0
    }
}

impl Domain for BoxDomain {
    /// xᵢ ← min(max(xᵢ, lᵢ), uᵢ).
    fn project_in_place(&self, x: &mut DVector<f64>) -> Result<()> {
        check_dim_hint("point to project", self.dim(), x.len(), PROJECT_DIM_HINT)?;
        check_finite("point to project", x.as_slice())?;
        for ((xi, &lo), &hi) in x.iter_mut().zip(self.lower.iter()).zip(self.upper.iter()) {
            *xi = xi.max(lo).min(hi);
        }
        Ok(())
    }

    /// lᵢ − `tol` ≤ xᵢ ≤ uᵢ + `tol` for every i; `false` on a wrong length or non-finite entries.
    fn contains(&self, x: &DVector<f64>, tol: f64) -> bool {
        x.len() == self.dim()
            && x.iter()
                .zip(self.lower.iter())
                .zip(self.upper.iter())
                .all(|((&xi, &lo), &hi)| xi.is_finite() && xi >= lo - tol && xi <= hi + tol)
    }

    /// ‖u − l‖₂ (computed with `hypot`, so without overflow of the squares); `f64::INFINITY`
    /// when some side is unbounded.
    fn diameter(&self) -> f64 {
        self.upper
            .iter()
            .zip(self.lower.iter())
            .fold(0.0, |acc: f64, (&hi, &lo)| acc.hypot(hi - lo))
    }
}
