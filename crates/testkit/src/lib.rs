//! # lisse-testkit
//!
//! proptest strategies for property-testing convergence claims with lisse. Add it as a
//! dev-dependency:
//!
//! ```toml
//! [dev-dependencies]
//! lisse-testkit = "0.1"
//! proptest = "1.12"
//! ```
//!
//! Randomness stays inside proptest: matrices, spectra and points are strategy values (so failing
//! cases shrink and replay from `proptest-regressions/`), and algorithms that need an RNG get a
//! seed drawn by [`seed`].
//!
//! | strategy | value | guarantees |
//! |---|---|---|
//! | [`spd_matrix`] | n×n symmetric matrix | spectrum in [μ, L], with μ and L attained when n ≥ 2 |
//! | [`strongly_convex_quadratic`] | [`QuadraticCase`] | ½xᵀAx − bᵀx with A as above and a known minimizer x* |
//! | [`point_in_ball`] | vector | ‖x − c‖ ≤ R |
//! | [`point_on_simplex`] | vector | x ≥ 0, Σx = 1 |
//! | [`vector`] | vector | entries in a range |
//!
//! # A convergence property test
//! Gradient descent with step 1/L on a μ-strongly convex, L-smooth quadratic contracts the
//! distance to the minimizer at least by (1 − μ/L) per step (Nesterov, *Lectures on Convex
//! Optimization*, 2018, Thm. 2.1.15). The test asserts the bound with a relative slack of 1e-9
//! and an absolute floor of 1e-12 (rounding); a wrong rate such as (1 − μ/L)³ fails and
//! shrinks to a small counterexample.
//!
//! ```
//! use lisse_core::{Gradient, OracleExt};
//! use lisse_testkit::strongly_convex_quadratic;
//! use nalgebra::DVector;
//! use proptest::prelude::*;
//!
//! proptest!(ProptestConfig::with_cases(32), |(case in strongly_convex_quadratic(1..=6, 0.1, 10.0))| {
//!     let (f, x_star) = (&case.problem, &case.minimizer);
//!     let step = 1.0 / case.l;
//!     let rate = 1.0 - case.mu / case.l;
//!     let mut x = DVector::zeros(x_star.len());
//!     let mut g = DVector::zeros(x_star.len());
//!     let d0 = (&x - x_star).norm();
//!     for k in 1..=50 {
//!         f.gradient_into(&x, &mut g).unwrap();
//!         x.axpy(-step, &g, 1.0);
//!         let bound = rate.powi(k) * d0;
//!         prop_assert!((&x - x_star).norm() <= bound * (1.0 + 1e-9) + 1e-12);
//!     }
//! });
//! ```

use std::ops::RangeInclusive;

use lisse_oracles::loss::Quadratic;
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;

/// A seed for an algorithm's RNG, drawn by proptest so failures replay.
pub fn seed() -> impl Strategy<Value = u64> {
    any::<u64>()
}

/// Vectors of length `dim` with entries in `lo..=hi`.
pub fn vector(dim: usize, lo: f64, hi: f64) -> impl Strategy<Value = DVector<f64>> {
    proptest::collection::vec(lo..=hi, dim).prop_map(DVector::from_vec)
}

/// Symmetric positive definite n×n matrices, n in `dims`, with every eigenvalue in [μ, L];
/// for n ≥ 2 the smallest is exactly μ and the largest exactly L (up to rounding in QΛQᵀ), so
/// constants that theory states in μ and L are the true ones.
///
/// Built as A = Q diag(λ) Qᵀ with Q the orthogonal factor of a QR decomposition of a random
/// matrix. Eigenvalues are parametrized as μ + t(L − μ), t ∈ [0, 1], so shrinking stays valid.
///
/// # Panics
/// If `mu <= 0` or `l < mu` (a bug in the test, not user input).
pub fn spd_matrix(
    dims: RangeInclusive<usize>,
    mu: f64,
    l: f64,
) -> impl Strategy<Value = DMatrix<f64>> {
    assert!(
        mu > 0.0 && l >= mu,
        "spd_matrix needs 0 < mu <= l, got mu = {mu}, l = {l}"
    );
    dims.prop_flat_map(move |n| {
        (
            proptest::collection::vec(-1.0..1.0f64, n * n),
            proptest::collection::vec(0.0..=1.0f64, n),
        )
            .prop_map(move |(entries, t)| spd_from_parts(n, &entries, &t, mu, l))
    })
}

fn spd_from_parts(n: usize, entries: &[f64], t: &[f64], mu: f64, l: f64) -> DMatrix<f64> {
    let m = DMatrix::from_column_slice(n, n, entries) + DMatrix::identity(n, n) * 1e-3;
    let q = m.qr().q();
    let mut lambda: Vec<f64> = t.iter().map(|&ti| mu + ti * (l - mu)).collect();
    if n >= 2 {
        lambda[0] = mu;
        lambda[n - 1] = l;
    } else {
        lambda[0] = mu.max(lambda[0]).min(l);
    }
    let a = &q * DMatrix::from_diagonal(&DVector::from_vec(lambda)) * q.transpose();
    // Symmetrize exactly: rounding in QΛQᵀ leaves tiny asymmetries.
    (&a + a.transpose()) * 0.5
}

/// A strongly convex quadratic with everything a convergence test needs to know.
#[derive(Debug, Clone)]
pub struct QuadraticCase {
    /// f(x) = ½xᵀAx − bᵀx.
    pub problem: Quadratic,
    /// The matrix A.
    pub a: DMatrix<f64>,
    /// The unique minimizer x* (b = A x*).
    pub minimizer: DVector<f64>,
    /// Strong convexity constant (smallest eigenvalue of A).
    pub mu: f64,
    /// Smoothness constant (largest eigenvalue of A).
    pub l: f64,
}

/// Strongly convex quadratics ½xᵀAx − bᵀx with A from [`spd_matrix`] and a minimizer x* with
/// entries in [−5, 5], b = A x*. For dimension 1 the constant reported as both μ and L is the
/// single eigenvalue.
///
/// # Panics
/// If `mu <= 0` or `l < mu`.
pub fn strongly_convex_quadratic(
    dims: RangeInclusive<usize>,
    mu: f64,
    l: f64,
) -> impl Strategy<Value = QuadraticCase> {
    spd_matrix(dims, mu, l)
        .prop_flat_map(|a| {
            let n = a.nrows();
            (Just(a), vector(n, -5.0, 5.0))
        })
        .prop_map(move |(a, x_star)| {
            let b = &a * &x_star;
            let (mu_case, l_case) = if a.nrows() == 1 {
                (a[(0, 0)], a[(0, 0)])
            } else {
                (mu, l)
            };
            let problem =
                Quadratic::new(a.clone(), b).expect("spd_matrix yields a valid SPD matrix");
            QuadraticCase {
                problem,
                a,
                minimizer: x_star,
                mu: mu_case,
                l: l_case,
            }
        })
}

/// Points of the Euclidean ball ‖x − center‖ ≤ radius, including its boundary.
pub fn point_in_ball(center: DVector<f64>, radius: f64) -> impl Strategy<Value = DVector<f64>> {
    let dim = center.len();
    (proptest::collection::vec(-1.0..1.0f64, dim), 0.0..=1.0f64).prop_map(move |(dir, frac)| {
        let dir = DVector::from_vec(dir);
        let norm = dir.norm();
        if norm == 0.0 {
            center.clone()
        } else {
            &center + dir * (frac * radius / norm)
        }
    })
}

/// Points of the probability simplex {x ≥ 0, Σx = 1} in dimension `dim`, including faces
/// (some coordinates exactly 0).
pub fn point_on_simplex(dim: usize) -> impl Strategy<Value = DVector<f64>> {
    proptest::collection::vec(prop_oneof![3 => 0.0..1.0f64, 1 => Just(0.0)], dim).prop_map(
        move |w| {
            let s: f64 = w.iter().sum();
            if s == 0.0 {
                DVector::from_element(dim, 1.0 / dim as f64)
            } else {
                DVector::from_vec(w) / s
            }
        },
    )
}
