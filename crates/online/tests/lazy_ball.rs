//! The lazily scaled centre of the Euclidean map on an origin-centred ball (no rescaling pass,
//! the play's norm predicted from the last update's sums) against a plain reference of
//! optimistic OGD, with every hint kind, gradients of all sizes and active projections.

use lisse_core::domain::L2Ball;
use lisse_online::mirror::MirrorMap;
use lisse_online::{Hint, OnlineLearner, OptimisticOmd};
use nalgebra::DVector;
use proptest::prelude::*;

/// Π onto the ball of radius r around the origin.
fn project(mut y: DVector<f64>, r: f64) -> DVector<f64> {
    let n = y.norm();
    if n > r {
        y *= r / n;
    }
    y
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn lazy_ball_matches_plain_optimistic_ogd(
        d in prop::sample::select(vec![1usize, 3, 16, 17, 50, 333, 1000]),
        radius in 0.1f64..10.0,
        gscale in prop::sample::select(vec![1e-3, 1.0, 1e3]),
        seed in any::<u64>(),
    ) {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let ball = L2Ball::centered(d, radius).unwrap();
        let (g_bound, delta) = (gscale * 2.0 * (d as f64).sqrt(), 1.0);
        let mut learner = OptimisticOmd::sea_convex(ball, g_bound, delta).unwrap();
        // Reference: x̂, the last gradient, V̄.
        let (mut center, mut last, mut acc) = (DVector::zeros(d), DVector::zeros(d), 0.0);
        let diameter = 2.0 * radius;
        // A drifting mean makes the centre reach the sphere and stay on it.
        let drift = DVector::from_fn(d, |_, _| rng.random_range(-1.0..1.0) * gscale);
        for t in 0..120 {
            let eta = diameter / (delta + 4.0 * g_bound * g_bound + acc).sqrt();
            let kind = t % 7;
            let external = DVector::from_fn(d, |_, _| rng.random_range(-2.0..2.0) * gscale);
            let (hint, m) = match kind {
                0 => (Hint::Zero, DVector::zeros(d)),
                1 => (Hint::External(&external), external.clone()),
                _ => (Hint::LastGradient, last.clone()),
            };
            let x = learner.predict(hint).unwrap().clone();
            let expect = project(&center - eta * &m, radius);
            let tol = 1e-12 * (radius + eta * m.norm());
            prop_assert!((&x - &expect).norm() <= tol, "t={t}: {} vs {}", x, expect);
            prop_assert!(x.norm() <= radius * (1.0 + 4.0 * f64::EPSILON), "infeasible play");
            let g = &drift + DVector::from_fn(d, |_, _| rng.random_range(-1.0..1.0) * gscale);
            learner.update(&g).unwrap();
            center = project(&center - eta * &g, radius);
            acc += (&g - &m).norm_squared();
            last = g;
            let c = learner.mirror().center();
            prop_assert!((&c - &center).norm() <= 1e-12 * radius, "centre");
            prop_assert!(c.norm() <= radius * (1.0 + 4.0 * f64::EPSILON), "infeasible centre");
        }
    }
}

/// The update half-step writes in place only after a read-only pass has validated the
/// gradient: a rejected gradient leaves the learner bit for bit unchanged, and a finite but huge
/// gradient (too large for the in-place step) takes the copying path and still lands in the ball.
#[test]
fn rejected_and_huge_gradients_on_the_lazy_ball() {
    let d = 40;
    let ball = L2Ball::centered(d, 2.0).unwrap();
    let mut learner = OptimisticOmd::sea_convex(ball, 1.0, 1.0).unwrap();
    let g = |k: usize| DVector::from_fn(d, |i, _| ((i * 7 + k * 3) as f64).sin());
    for k in 0..30 {
        learner.predict(Hint::LastGradient).unwrap();
        learner.update(&g(k)).unwrap();
    }
    let x = learner.predict(Hint::LastGradient).unwrap().clone();
    let centre = learner.mirror().center();
    for (i, bad) in [(0, f64::NAN), (17, f64::INFINITY), (39, f64::NEG_INFINITY)] {
        let mut b = g(99);
        b[i] = bad;
        assert!(learner.update(&b).is_err());
        assert_eq!(
            learner.mirror().center(),
            centre,
            "centre changed by a rejected update"
        );
        assert_eq!(
            learner.predict(Hint::LastGradient).unwrap(),
            &x,
            "hint changed"
        );
    }
    // Finite but beyond the in-place bound (‖g‖² overflows): the copying path. Hinted exactly,
    // so that ‖g − M‖² = 0 and the step size stays positive.
    let mut huge = g(5);
    huge[3] = 1e200;
    learner.predict(Hint::External(&huge)).unwrap();
    learner.update(&huge).unwrap();
    let c = learner.mirror().center();
    assert!(c.iter().all(|v| v.is_finite()) && c.norm() <= 2.0 * (1.0 + 4.0 * f64::EPSILON));
    // The centre is the projection of the old centre minus η·g: along −e₃, on the sphere.
    assert!((c[3] + 2.0).abs() < 1e-12, "{c}");
    // The next default hint is the huge gradient itself: the play is again along −e₃.
    let x = learner.predict(Hint::LastGradient).unwrap();
    assert!(x.norm() <= 2.0 * (1.0 + 4.0 * f64::EPSILON) && (x[3] + 2.0).abs() < 1e-12);
    learner.update(&g(6)).unwrap();
}
