//! The unconstrained domain ℝᵈ.

use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::Domain;
use super::PROJECT_DIM_HINT;
use crate::{Dimension, Result, check_dim_hint, check_finite};

/// The whole space ℝᵈ: no constraint, the projection is the identity.
///
/// Unconstrained methods can still be written against `&impl Domain` and handed a
/// `WholeSpace`; its projection only checks the length and finiteness of the point.
///
/// ```
/// use lisse_core::domain::{Domain, WholeSpace};
/// use nalgebra::dvector;
/// let space = WholeSpace::new(2);
/// let mut x = dvector![3.0, -4.0];
/// space.project_in_place(&mut x)?;
/// assert_eq!(x, dvector![3.0, -4.0]);
/// assert!(space.diameter().is_infinite());
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WholeSpace {
    dim: usize,
}

impl WholeSpace {
    /// ℝ^`dim`.
    pub fn new(dim: usize) -> Self {
        Self { dim }
    }
}

impl Dimension for WholeSpace {
    fn dim(&self) -> usize {
        self.dim
    }
    /// A domain reads no data.
    fn full_batch_size(&self) -> usize {
        0
    }
}

impl Domain for WholeSpace {
    /// Leaves `x` unchanged after checking its length and that every entry is finite.
    fn project_in_place(&self, x: &mut DVector<f64>) -> Result<()> {
        check_dim_hint("point to project", self.dim, x.len(), PROJECT_DIM_HINT)?;
        check_finite("point to project", x.as_slice())
    }

    /// `true` when `x` has length `dim()` and finite entries (`tol` is not used).
    fn contains(&self, x: &DVector<f64>, _tol: f64) -> bool {
        x.len() == self.dim && x.iter().all(|v| v.is_finite())
    }

    /// `f64::INFINITY` (0 for the zero-dimensional space).
    fn diameter(&self) -> f64 {
        if self.dim == 0 { 0.0 } else { f64::INFINITY }
    }
}
