//! Hypergradient estimators behind one trait.
//!
//! Each estimator returns an estimate of the surrogate
//! ∇̄f(x, y) = ∇ₓf(x, y) − ∇²ₓᵧg(x, y) z,  z ≈ [∇²ᵧᵧg(x, y)]⁻¹ ∇ᵧf(x, y),
//! which equals ∇Φ(x) at y = y*(x). They differ in how z is obtained:
//!
//! | estimator | z | oracle calls per estimate | used by |
//! |---|---|---|---|
//! | [`RandomizedNeumann`] | (Q/C_g) Π_{j=1}^{q} (I − ∇²ᵧᵧG(ζʲ)/C_g) ∇ᵧF(ξ), q ~ U{0..Q−1} | ∇ₓF, ∇ᵧF (one ξ), q HVPs, 1 cross | TTSA, BO-REP's analysis |
//! | [`TruncatedNeumann`] | η Σ_{q=0}^{Q} Π_{j=1}^{q} (I − η∇²ᵧᵧG(Bⱼ)) ∇ᵧF(ξ) | ∇ₓF, ∇ᵧF, Q HVPs, 1 cross | StocBiO |
//! | [`LinearSystem`] | one SGD step z ← z − ν(∇²ᵧᵧG z − ∇ᵧF) on a persistent z | ∇ₓF, ∇ᵧF, 1 HVP, 1 cross | SOBA, BO-REP's public code |
//! | [`ConjugateGradient`] | CG on (∇²ᵧᵧg + ridge·I) z = ∇ᵧf with exact HVPs | ∇ₓf, ∇ᵧf, ≤ max_iter HVPs, 1 cross | implicit differentiation (Blondel et al. 2022) |
//! | [`DenseExact`] | Cholesky solve of the dense ∇²ᵧᵧg | ∇ₓf, ∇ᵧf, dim y HVPs, 1 cross | small problems, tests |
//!
//! The stochastic estimators draw every sample independently from the caller's RNG, as their
//! analyses require; ∇ₓF and ∇ᵧF share one sample ξ. The last two are deterministic (exact
//! oracles; on a data problem each call reads the full data set).
//!
//! A new estimator (a stochastic CG on one held minibatch, SAGA-style memory) is a new file
//! implementing [`HypergradientEstimator`].

mod conjugate_gradient;
mod dense;
mod linear_system;
mod neumann_randomized;
mod neumann_truncated;

pub use conjugate_gradient::ConjugateGradient;
pub use dense::DenseExact;
pub use linear_system::LinearSystem;
pub use neumann_randomized::RandomizedNeumann;
pub use neumann_truncated::TruncatedNeumann;

use lisse_core::Result;
use nalgebra::DVector;
use rand::Rng;

use crate::problem::{BilevelProblem, LowerLevel, UpperLevel};

/// An estimator of the hypergradient surrogate ∇̄f(x, y) (see the module docs).
pub trait HypergradientEstimator: Send {
    /// A short name (`"neumann-randomized"`).
    fn name(&self) -> &'static str;

    /// Writes the estimate at (x, y) into `out` (length dim x), drawing samples from `rng` and
    /// calling the oracles through `problem` (so they are counted).
    ///
    /// # Errors
    /// Wrong lengths, a non-finite oracle output, or an invalid parameter for this problem.
    fn estimate<F: UpperLevel, G: LowerLevel, R: Rng + ?Sized>(
        &mut self,
        problem: &BilevelProblem<F, G>,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()>;

    /// Forgets any warm-start state (the persistent z of [`LinearSystem`], CG's last solution).
    fn reset(&mut self) {}
}

/// Buffers of length dim x / dim y, allocated on first use and reused.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scratch {
    pub(crate) gx: DVector<f64>,
    pub(crate) gy: DVector<f64>,
    pub(crate) v: DVector<f64>,
    pub(crate) w: DVector<f64>,
    pub(crate) s: DVector<f64>,
}

impl Scratch {
    pub(crate) fn ensure(&mut self, dx: usize, dy: usize) {
        if self.gx.len() != dx {
            self.gx = DVector::zeros(dx);
        }
        for b in [&mut self.gy, &mut self.v, &mut self.w, &mut self.s] {
            if b.len() != dy {
                *b = DVector::zeros(dy);
            }
        }
    }
}
