//! The strategies deliver what they promise.

use lisse_core::{Gradient, OracleExt};
use lisse_testkit::{point_in_ball, point_on_simplex, spd_matrix, strongly_convex_quadratic};
use nalgebra::{DVector, dvector};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn spd_spectrum_is_within_and_attains_bounds(a in spd_matrix(1..=8, 0.5, 20.0)) {
        prop_assert!((&a - a.transpose()).amax() == 0.0);
        let eig = a.clone().symmetric_eigen().eigenvalues;
        let (lo, hi) = (eig.min(), eig.max());
        prop_assert!(lo >= 0.5 - 1e-9 && hi <= 20.0 + 1e-9, "spectrum [{lo}, {hi}]");
        if a.nrows() >= 2 {
            prop_assert!((lo - 0.5).abs() < 1e-9 && (hi - 20.0).abs() < 1e-9);
        }
    }

    #[test]
    fn quadratic_minimizer_is_stationary(case in strongly_convex_quadratic(1..=6, 0.1, 10.0)) {
        let g = case.problem.gradient(&case.minimizer).unwrap();
        prop_assert!(g.norm() <= 1e-9 * (1.0 + case.minimizer.norm()) * case.l);
    }

    #[test]
    fn ball_points_are_inside(x in point_in_ball(dvector![1.0, -2.0, 0.5], 3.0)) {
        prop_assert!((x - dvector![1.0, -2.0, 0.5]).norm() <= 3.0 * (1.0 + 1e-12));
    }

    #[test]
    fn simplex_points_are_on_simplex(x in point_on_simplex(5)) {
        prop_assert!(x.iter().all(|&v| v >= 0.0));
        prop_assert!((x.sum() - 1.0).abs() < 1e-12);
    }
}

/// The convergence property has teeth: a rate faster than the truth is refuted.
#[test]
fn a_too_fast_rate_is_refuted() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    let result = runner.run(&strongly_convex_quadratic(2..=6, 1.0, 4.0), |case| {
        let step = 1.0 / case.l;
        let wrong_rate = (1.0 - case.mu / case.l).powi(3);
        let mut x = DVector::zeros(case.minimizer.len());
        let mut g = DVector::zeros(case.minimizer.len());
        let d0 = (&x - &case.minimizer).norm();
        for k in 1..=30 {
            case.problem.gradient_into(&x, &mut g).unwrap();
            x.axpy(-step, &g, 1.0);
            prop_assert!(
                (&x - &case.minimizer).norm() <= wrong_rate.powi(k) * d0 * (1.0 + 1e-9) + 1e-12
            );
        }
        Ok(())
    });
    assert!(
        result.is_err(),
        "a 3x faster rate than (1 - mu/L) must fail on some quadratic"
    );
}
