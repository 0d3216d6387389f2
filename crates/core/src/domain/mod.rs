//! Feasible sets with exact Euclidean projections Π_X(y) = argmin_{x∈X} ‖x − y‖².
//!
//! | domain | projection | cost |
//! |---|---|---|
//! | [`WholeSpace`] | identity | O(1) |
//! | [`L2Ball`] | c + (y − c)·min(1, R/‖y − c‖) | O(d) |
//! | [`BoxDomain`] | coordinate-wise clamp | O(d) |
//! | [`Simplex`] | water-filling xᵢ = max(yᵢ − θ, 0) | O(d log d) sort, or linear-time Condat |
//!
//! Projected methods in the bilevel and online crates take `&impl Domain` and call
//! [`Domain::project_in_place`] once per step.

mod ball;
mod boxed;
mod simplex;
mod whole_space;

use nalgebra::DVector;

use crate::{Dimension, Result};

pub use ball::L2Ball;
pub use boxed::BoxDomain;
pub use simplex::{
    Simplex, SimplexMethod, project_simplex_bisection, project_simplex_condat, project_simplex_sort,
};
pub use whole_space::WholeSpace;

/// A closed convex set X ⊂ ℝᵈ with an exact Euclidean projection.
pub trait Domain: Dimension {
    /// Replaces `x` by Π_X(x).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) when `x.len() != dim()`;
    /// [`Error::NonFinite`](crate::Error::NonFinite) when `x` holds NaN or ±∞.
    fn project_in_place(&self, x: &mut DVector<f64>) -> Result<()>;

    /// Whether `x` lies in X up to `tol` (in the set's natural units); `false` on a wrong length.
    fn contains(&self, x: &DVector<f64>, tol: f64) -> bool;

    /// sup_{x,x'∈X} ‖x − x'‖₂; `f64::INFINITY` for unbounded sets. Online bounds use it as D.
    fn diameter(&self) -> f64;

    /// Writes Π_X(y) into `out`.
    ///
    /// # Errors
    /// As [`Domain::project_in_place`], and a wrong length of `out`.
    fn project_into(&self, y: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        crate::check_dim_hint(
            "output buffer",
            y.len(),
            out.len(),
            "allocate the output with the length of the point to project",
        )?;
        out.copy_from(y);
        self.project_in_place(out)
    }
}

/// The fix for a point of the wrong length handed to a projection.
pub(crate) const PROJECT_DIM_HINT: &str = "give a point with the domain's dim() entries";
