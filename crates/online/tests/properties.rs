//! Invariants: feasibility of every projection (including the generalized ‖·‖_A ones), the
//! exactness of the SEA simulator's σ² and Σ², exact comparators, numerics of Hedge, the
//! two-step update, the ensemble's meta regret, and typed errors.

#![allow(clippy::float_cmp)] // exact values are the point of several assertions

mod common;

use common::{HintKind, instance, play};
use lisse_core::domain::{BoxDomain, L2Ball, Simplex};
use lisse_core::{Domain, Error};
use lisse_online::baseline::{Ensemble, EnsembleConfig, Hedge, Ogd, OgdStep, Ons, OptimisticFtrl};
use lisse_online::env::{BaseLoss, Drift, Environment, SeaConfig, SeaEnvironment};
use lisse_online::mirror::{Entropy, Euclidean, Mahalanobis, MirrorMap};
use lisse_online::projection::MetricProjection;
use lisse_online::step_size::{
    Constant, SeaConstants, SeaConvex, StronglyConvex, exp_concave_bound, sea_convex_bound,
    strongly_convex_bound,
};
use lisse_online::{Hint, OnlineLearner, OptimisticOmd, RunOptions, run};
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;

/// A random SPD matrix with condition number up to ~1e3.
fn spd(d: usize) -> impl Strategy<Value = DMatrix<f64>> {
    (
        proptest::collection::vec(-1.0..1.0f64, d * d),
        0.001..1.0f64,
    )
        .prop_map(move |(v, eps)| {
            let b = DMatrix::from_vec(d, d, v);
            &b * b.transpose() + DMatrix::identity(d, d) * eps
        })
}

/// Checks x = Π^A_X(y): x ∈ X and the variational inequality ⟨A(x − y), z − x⟩ ≥ 0 at random
/// feasible z (the optimality condition of the convex projection problem).
fn check_metric_projection<D: MetricProjection>(
    domain: &D,
    a: &DMatrix<f64>,
    y: &DVector<f64>,
    probes: &[DVector<f64>],
) -> Result<(), TestCaseError> {
    let mut x = DVector::zeros(y.len());
    domain.project_in_metric(a, y, &mut x).unwrap();
    prop_assert!(domain.contains(&x, 1e-10), "infeasible {x:?}");
    let grad = a * (&x - y);
    let scale = 1.0 + grad.norm() * (1.0 + y.norm());
    for p in probes {
        let mut z = p.clone();
        domain.project_in_place(&mut z).unwrap();
        let vi = grad.dot(&(&z - &x));
        prop_assert!(vi >= -1e-7 * scale, "variational inequality violated: {vi}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn generalized_projections_are_feasible_and_optimal(
        (a, y, probes) in (2usize..6).prop_flat_map(|d| (
            spd(d),
            proptest::collection::vec(-5.0..5.0f64, d).prop_map(DVector::from_vec),
            proptest::collection::vec(proptest::collection::vec(-2.0..2.0f64, d).prop_map(DVector::from_vec), 8),
        )),
    ) {
        let d = y.len();
        check_metric_projection(&L2Ball::new(DVector::from_element(d, 0.3), 1.0).unwrap(), &a, &y, &probes)?;
        check_metric_projection(&BoxDomain::uniform(d, -0.5, 1.0).unwrap(), &a, &y, &probes)?;
        check_metric_projection(&Simplex::probability(d).unwrap(), &a, &y, &probes)?;
    }

    /// ONS-type learners keep every play feasible on ball, box and simplex, even under large
    /// adversarial gradients.
    #[test]
    fn ons_iterates_stay_feasible(
        d in 2usize..5,
        grads in proptest::collection::vec(proptest::collection::vec(-50.0..50.0f64, 4), 40),
    ) {
        fn drive<D: MetricProjection + Clone>(dom: &D, grads: &[Vec<f64>], d: usize) -> Result<(), TestCaseError> {
            let mut oons = OptimisticOmd::exp_concave(dom.clone(), 0.1, 100.0, 1.0).unwrap();
            let mut ons = Ons::new(dom.clone(), 0.1, 100.0).unwrap();
            for g in grads {
                let g = DVector::from_column_slice(&g[..d]);
                let x = oons.predict(Hint::LastGradient).unwrap();
                prop_assert!(dom.contains(x, 1e-9));
                oons.update(&g).unwrap();
                let x = ons.predict(Hint::Zero).unwrap();
                prop_assert!(dom.contains(x, 1e-9));
                ons.update(&g).unwrap();
                prop_assert!(dom.contains(&oons.mirror().center(), 1e-9));
            }
            Ok(())
        }
        drive(&L2Ball::centered(d, 1.0).unwrap(), &grads, d)?;
        drive(&BoxDomain::uniform(d, -1.0, 0.5).unwrap(), &grads, d)?;
        drive(&Simplex::probability(d).unwrap(), &grads, d)?;
    }

    /// σ²_{1:T} = T·s² and Σ²_{1:T} = (T − 1)·step² exactly; gradients are bounded by G.
    #[test]
    fn sea_variance_and_variation_are_set_exactly(
        d in 2usize..8, horizon in 2u64..800, sigma_sq in 0.0..500.0f64,
        variation_sq in 0.0..50.0f64, seed in any::<u64>(),
    ) {
        // The chord must fit the circle: radius ≥ step/2.
        let radius = (variation_sq / (horizon - 1) as f64).sqrt().max(2.0);
        let config = SeaConfig::with_totals(BaseLoss::Quadratic, d, horizon, sigma_sq, variation_sq, radius, seed).unwrap();
        let mut env = SeaEnvironment::new(L2Ball::centered(d, 1.0).unwrap(), config.clone()).unwrap();
        let (x, mut g) = (DVector::zeros(d), DVector::zeros(d));
        let mut prev: Option<DVector<f64>> = None;
        for _ in 0..horizon {
            env.begin_round().unwrap();
            let e = env.evaluate(&x, &mut g).unwrap();
            // At x = 0: g = c_t + ξ_t and f_t(0) = F_t(0) = 0.
            prop_assert_eq!(e.loss, 0.0);
            prop_assert!(g.norm() <= env.sea_stats_now().gradient_bound + 1e-12);
            if let Some(p) = &prev {
                let jump = (env.mean_now() - p).norm_squared();
                let step_sq = variation_sq / (horizon - 1) as f64;
                prop_assert!((jump - step_sq).abs() <= 1e-9 * (1.0 + step_sq));
            }
            prev = Some(env.mean_now().clone());
        }
        let s = env.sea_stats_now();
        prop_assert!((s.sigma_sq - sigma_sq).abs() <= 1e-9 * (1.0 + sigma_sq));
        prop_assert!((s.variation_sq - variation_sq).abs() <= 1e-8 * (1.0 + variation_sq));
    }

    /// The best fixed point is a true minimizer (no random feasible point does better), for
    /// every base loss; dynamic regret ≥ static pseudo-regret.
    #[test]
    fn comparators_are_exact(
        inst in instance(vec!["linear", "quadratic", "logistic"], 5, 300),
        probes in proptest::collection::vec(proptest::collection::vec(-1.0..1.0f64, 5), 16),
    ) {
        let mut env = inst.env();
        let mut learner = Ogd::new(inst.ball(), OgdStep::Constant(0.05)).unwrap();
        let out = play(&mut learner, &mut env, HintKind::Zero);
        let best = env.best_fixed().unwrap().unwrap();
        prop_assert!(inst.ball().contains(&best.point, 1e-12));
        // Σ_t F_t(u) = T·h(u) + ⟨Σ c_t, u⟩ is convex: compare with random feasible points by
        // replaying the sums through the environment's own evaluation.
        let n = out.stats.rounds as f64;
        let value_at = |u: &DVector<f64>| -> f64 {
            let mut replay = inst.env();
            let mut g = DVector::zeros(u.len());
            let mut total = 0.0;
            for _ in 0..replay.horizon() {
                replay.begin_round().unwrap();
                total += replay.evaluate(u, &mut g).unwrap().expected_loss;
            }
            total
        };
        let at_best = value_at(&best.point);
        prop_assert!((at_best - best.expected).abs() <= 1e-8 * (1.0 + at_best.abs()));
        for p in &probes {
            let mut z = DVector::from_column_slice(&p[..inst.dim]);
            inst.ball().project_in_place(&mut z).unwrap();
            prop_assert!(value_at(&z) >= at_best - 1e-7 * (1.0 + n));
        }
        if let Some(dynamic) = out.dynamic {
            prop_assert!(dynamic >= out.pseudo - 1e-8 * (1.0 + n));
        }
    }

    /// The ensemble plays feasible convex combinations, its weights are normalized, and its
    /// meta regret against every base learner is below the optimistic-FTRL bound.
    #[test]
    fn ensemble_meta_regret_is_below_its_bound(inst in instance(vec!["linear", "quadratic"], 5, 1000)) {
        let mut env = inst.env();
        let s0 = env.sea_stats_now();
        let config = EnsembleConfig { gradient_bound: s0.gradient_bound, smoothness: s0.smoothness, horizon: inst.config.horizon };
        let mut ens = Ensemble::new(&inst.ball(), config).unwrap();
        prop_assert!(ens.pool_size() >= 1);
        let out = play(&mut ens, &mut env, HintKind::Last);
        prop_assert!(out.dynamic.is_some());
        let w: f64 = ens.weights().iter().sum();
        prop_assert!((w - 1.0).abs() < 1e-12);
        let bound = ens.meta_regret_bound();
        for r in ens.meta_regrets() {
            prop_assert!(r <= bound, "meta regret {} > {}", r, bound);
        }
    }
}

/// Exact hints make optimistic OGD immune to a Rademacher adversary: O(1) regret, while OGD
/// (which cannot use the hint) pays Θ(√T). A learner that ignored its hint would fail.
#[test]
fn exact_hints_beat_the_rademacher_adversary() {
    let (d, horizon) = (2, 20_000);
    let config = SeaConfig {
        base: BaseLoss::Linear,
        drift: Drift::Spikes {
            count: horizon,
            magnitude: 1.0,
        },
        mean: DVector::zeros(d),
        noise_norm: 0.0,
        horizon,
        seed: 3,
    };
    let ball = L2Ball::centered(d, 1.0).unwrap();
    let env = || SeaEnvironment::new(ball.clone(), config.clone()).unwrap();
    let delta = 1.0;
    let mut oomd = OptimisticOmd::sea_convex(ball.clone(), 1.0, delta).unwrap();
    let exact = play(&mut oomd, &mut env(), HintKind::Exact).realized;
    let tight = (delta + 4.0_f64).sqrt();
    assert!(exact <= tight, "{exact} > {tight}");
    let step = OgdStep::Convex {
        diameter: 2.0,
        gradient_bound: 1.0,
    };
    let mut ogd = Ogd::new(ball.clone(), step).unwrap();
    let plain = play(&mut ogd, &mut env(), HintKind::Zero).realized;
    assert!(
        plain > 10.0 * tight,
        "OGD regret {plain} unexpectedly small"
    );
    let mut oomd = OptimisticOmd::sea_convex(ball.clone(), 1.0, delta).unwrap();
    let last = play(&mut oomd, &mut env(), HintKind::Last).realized;
    assert!(
        last > 10.0 * tight,
        "last-gradient hints cannot predict a Rademacher sign: {last}"
    );
}

/// One round by hand on the unit ball with an active projection: the two-step form plays
/// Π(x̂ − ηM) and moves the centre to Π(x̂ − ηg), both from the same centre and η.
#[test]
fn two_step_update_matches_the_hand_computation() {
    let ball = L2Ball::centered(2, 1.0).unwrap();
    let start = DVector::from_vec(vec![0.6, 0.0]);
    let map = Euclidean::new(ball, start).unwrap();
    let mut learner = OptimisticOmd::new(map, Constant::new(0.5).unwrap());
    let m = DVector::from_vec(vec![0.0, -2.0]);
    let x = learner.predict(Hint::External(&m)).unwrap().clone();
    // x̂ − ηM = (0.6, 1.0), norm √1.36 → projected.
    let n = 1.36f64.sqrt();
    assert!((&x - DVector::from_vec(vec![0.6 / n, 1.0 / n])).norm() < 1e-15);
    learner.update(&DVector::from_vec(vec![-1.0, 0.0])).unwrap();
    // x̂₂ = Π((0.6, 0) − 0.5·(−1, 0)) = Π((1.1, 0)) = (1, 0): from x̂₁, not from x₁.
    assert!((learner.mirror().center() - DVector::from_vec(vec![1.0, 0.0])).norm() < 1e-15);
    // Next play with the default hint M₂ = g₁ = (−1, 0): Π((1, 0) + 0.5·(1, 0)) = (1, 0). Its
    // norm is predicted from the update's sums, so it is scaled inside the sphere by the
    // prediction's rounding-error bound (76ε relative at d = 2; see `Euclidean`), never outside.
    let x2 = learner.predict(Hint::LastGradient).unwrap();
    assert!((x2 - DVector::from_vec(vec![1.0, 0.0])).norm() < 100.0 * f64::EPSILON);
    assert!(x2.norm() <= 1.0);
}

/// The adaptive step of round t+1 includes round t's residual; round t uses η_t for both
/// half-steps.
#[test]
fn adaptive_step_indexing() {
    let ball = L2Ball::centered(1, 10.0).unwrap();
    let mut learner = OptimisticOmd::sea_convex(ball, 1.0, 1.0).unwrap();
    learner.predict(Hint::Zero).unwrap();
    assert_eq!(learner.step_size(), Some(20.0 / 5f64.sqrt()));
    learner.update(&DVector::from_vec(vec![0.5])).unwrap();
    assert_eq!(learner.schedule().accumulated(), 0.25);
    learner.predict(Hint::Zero).unwrap();
    assert_eq!(learner.step_size(), Some(20.0 / 5.25f64.sqrt()));
}

#[test]
fn hedge_stays_finite_and_normalized_for_huge_losses() {
    for eta in [1e-3, 1.0, 1e3] {
        let mut hedge = Hedge::new(4, eta).unwrap();
        let mut opt = OptimisticOmd::hedge(4, Constant::new(eta).unwrap()).unwrap();
        for t in 0..200 {
            let sign = if t % 3 == 0 { -1.0 } else { 1.0 };
            let g = DVector::from_vec(vec![1e300 * sign, -1e300 * sign, 1e300, 0.0]);
            for learner in [&mut hedge as &mut dyn OnlineLearner, &mut opt] {
                let p = learner.predict(Hint::LastGradient).unwrap();
                assert!(p.iter().all(|v| v.is_finite() && *v >= 0.0), "{p:?}");
                assert!((p.sum() - 1.0).abs() < 1e-14, "{p:?}");
                learner.update(&g).unwrap();
            }
        }
    }
    // The map directly: ±MAX-sized products η·g are clamped, not turned into NaN.
    let mut map = Entropy::uniform(3).unwrap();
    map.advance_center(1e10, &DVector::from_vec(vec![1e300, -1e300, 0.0]))
        .unwrap();
    let p = map.center();
    assert!(p.iter().all(|v| v.is_finite()) && (p.sum() - 1.0).abs() < 1e-15);
    assert_eq!(p[1], 1.0);
    assert!(map.log_weights().iter().all(|w| w.is_finite()));
}

#[test]
fn hedge_matches_exponential_weights() {
    let mut hedge = Hedge::new(3, 0.7).unwrap();
    let losses = [[0.2, 0.5, 0.1], [0.9, 0.0, 0.3], [0.4, 0.4, 1.0]];
    let mut cum = [0.0; 3];
    for l in losses {
        let p = hedge.predict(Hint::Zero).unwrap().clone();
        let w: Vec<f64> = cum.iter().map(|c: &f64| (-0.7 * c).exp()).collect();
        let z: f64 = w.iter().sum();
        for i in 0..3 {
            assert!((p[i] - w[i] / z).abs() < 1e-15);
        }
        hedge.update(&DVector::from_row_slice(&l)).unwrap();
        for i in 0..3 {
            cum[i] += l[i];
        }
    }
}

fn is_invalid(e: &Error, name: &str) -> bool {
    matches!(e, Error::InvalidParameter { name: n, .. } if n.contains(name))
}

#[test]
fn typed_errors_for_bad_parameters() {
    let ball = L2Ball::centered(3, 1.0).unwrap();
    // λ ≤ 0.
    for lambda in [0.0, -1.0, f64::NAN] {
        assert!(is_invalid(
            &StronglyConvex::new(lambda).unwrap_err(),
            "lambda"
        ));
        assert!(is_invalid(
            &OptimisticOmd::strongly_convex(ball.clone(), lambda).unwrap_err(),
            "lambda"
        ));
        assert!(Ogd::new(ball.clone(), OgdStep::StronglyConvex { lambda }).is_err());
        let c = SeaConstants {
            diameter: 2.0,
            gradient_bound: 1.0,
            ..SeaConstants::default()
        };
        assert!(strongly_convex_bound(&c, lambda).is_err());
    }
    // D ≤ 0: as a parameter, and as a degenerate domain.
    for d in [0.0, -2.0] {
        assert!(is_invalid(
            &SeaConvex::new(d, 1.0, 1.0).unwrap_err(),
            "diameter"
        ));
        let c = SeaConstants {
            diameter: d,
            gradient_bound: 1.0,
            ..SeaConstants::default()
        };
        assert!(is_invalid(
            &sea_convex_bound(&c, 1.0).unwrap_err(),
            "diameter"
        ));
        assert!(exp_concave_bound(&c, 1.0, 2).is_err());
    }
    let point = L2Ball::centered(3, 0.0).unwrap();
    assert!(is_invalid(
        &OptimisticOmd::sea_convex(point.clone(), 1.0, 1.0).unwrap_err(),
        "diameter"
    ));
    assert!(OptimisticFtrl::new(point.clone(), 1.0).is_err());
    let unbounded = lisse_core::domain::WholeSpace::new(3);
    assert!(OptimisticOmd::sea_convex(unbounded, 1.0, 1.0).is_err());
    assert!(SeaConvex::new(2.0, 1.0, 0.0).is_err()); // δ ≤ 0
    assert!(Constant::new(0.0).is_err());
    assert!(Hedge::new(0, 1.0).is_err());
    assert!(Mahalanobis::new(ball.clone(), DVector::zeros(3), -1.0, 1.0).is_err());
    // A dimension whose d×d matrices would not fit is refused before allocating them.
    let huge = lisse_online::mirror::MAHALANOBIS_MAX_DIM + 1;
    let big = L2Ball::centered(huge, 1.0).unwrap();
    assert!(is_invalid(
        &Ons::new(big.clone(), 1.0, 1.0).unwrap_err(),
        "dimension"
    ));
    assert!(OptimisticOmd::exp_concave(big, 1.0, 1.0, 1.0).is_err());
}

#[test]
fn typed_errors_for_bad_gradients_and_hints() {
    let ball = L2Ball::centered(3, 1.0).unwrap();
    let config = EnsembleConfig {
        gradient_bound: 1.0,
        smoothness: 1.0,
        horizon: 100,
    };
    let mut learners: Vec<Box<dyn OnlineLearner>> = vec![
        Box::new(OptimisticOmd::sea_convex(ball.clone(), 1.0, 1.0).unwrap()),
        Box::new(OptimisticOmd::strongly_convex(ball.clone(), 1.0).unwrap()),
        Box::new(OptimisticOmd::exp_concave(ball.clone(), 1.0, 1.0, 1.0).unwrap()),
        Box::new(OptimisticOmd::hedge(3, Constant::new(1.0).unwrap()).unwrap()),
        Box::new(Ogd::new(ball.clone(), OgdStep::Constant(0.1)).unwrap()),
        Box::new(lisse_online::baseline::AdaGradNorm::new(ball.clone()).unwrap()),
        Box::new(Ons::new(ball.clone(), 1.0, 1.0).unwrap()),
        Box::new(Hedge::new(3, 1.0).unwrap()),
        Box::new(OptimisticFtrl::new(ball.clone(), 1.0).unwrap()),
        Box::new(Ensemble::new(&ball, config).unwrap()),
    ];
    for l in &mut learners {
        let name = l.name();
        // update before predict
        let e = l.update(&DVector::zeros(3)).unwrap_err();
        assert!(is_invalid(&e, "round order"), "{name}: {e}");
        // hint of the wrong dimension
        let e = l.predict(Hint::External(&DVector::zeros(2))).unwrap_err();
        assert!(
            matches!(
                e,
                Error::DimensionMismatch {
                    expected: 3,
                    got: 2,
                    ..
                }
            ),
            "{name}: {e}"
        );
        let e = l
            .predict(Hint::External(&DVector::from_element(3, f64::NAN)))
            .unwrap_err();
        assert!(matches!(e, Error::NonFinite { .. }), "{name}: {e}");
        let x0 = l.predict(Hint::Zero).unwrap().clone();
        // non-finite gradients and wrong lengths leave the learner unchanged
        for g in [
            DVector::from_vec(vec![1.0, f64::INFINITY, 0.0]),
            DVector::from_vec(vec![f64::NAN, 0.0, 0.0]),
        ] {
            let e = l.update(&g).unwrap_err();
            assert!(matches!(e, Error::NonFinite { .. }), "{name}: {e}");
        }
        let e = l.update(&DVector::zeros(4)).unwrap_err();
        assert!(matches!(e, Error::DimensionMismatch { .. }), "{name}: {e}");
        assert_eq!(
            l.predict(Hint::Zero).unwrap(),
            &x0,
            "{name} changed on a rejected update"
        );
        l.update(&DVector::from_vec(vec![0.1, 0.2, 0.3])).unwrap();
    }
}

#[test]
fn typed_errors_for_bad_environments() {
    let ball = L2Ball::centered(3, 1.0).unwrap();
    let base = SeaConfig {
        base: BaseLoss::Linear,
        drift: Drift::Fixed,
        mean: DVector::zeros(3),
        noise_norm: 0.1,
        horizon: 10,
        seed: 1,
    };
    let bad = |f: &dyn Fn(&mut SeaConfig)| {
        let mut c = base.clone();
        f(&mut c);
        SeaEnvironment::new(ball.clone(), c).is_err()
    };
    assert!(bad(&|c| c.mean = DVector::zeros(2)));
    assert!(bad(&|c| c.noise_norm = -1.0));
    assert!(bad(&|c| c.horizon = 0));
    assert!(bad(&|c| c.drift = Drift::Spikes {
        count: 11,
        magnitude: 1.0
    }));
    assert!(bad(&|c| c.drift = Drift::Rotating {
        radius: 1.0,
        step: 3.0
    }));
    assert!(bad(&|c| c.base = BaseLoss::Logistic {
        features: DVector::zeros(3),
        label: 0.5
    }));
    let mut env = SeaEnvironment::new(ball.clone(), base.clone()).unwrap();
    let mut g = DVector::zeros(3);
    assert!(env.evaluate(&DVector::zeros(3), &mut g).is_err()); // no round begun
    // Exact hints on an environment whose gradient depends on x are refused.
    let mut quad = base.clone();
    quad.base = BaseLoss::Quadratic;
    let mut env = SeaEnvironment::new(ball.clone(), quad).unwrap();
    let mut learner = OptimisticOmd::sea_convex(ball.clone(), 3.0, 1.0).unwrap();
    let options = RunOptions {
        hint: lisse_online::HintPolicy::Exact,
        ..RunOptions::default()
    };
    assert!(run(&mut learner, &mut env, &options).is_err());
    // Dimension mismatch between learner and environment.
    let mut env = SeaEnvironment::new(ball, base).unwrap();
    let mut small = OptimisticOmd::sea_convex(L2Ball::centered(2, 1.0).unwrap(), 3.0, 1.0).unwrap();
    assert!(run(&mut small, &mut env, &RunOptions::default()).is_err());
}

#[test]
fn run_reports_a_serializable_trace() {
    let ball = L2Ball::centered(4, 1.0).unwrap();
    let config = SeaConfig::with_totals(BaseLoss::Quadratic, 4, 500, 50.0, 5.0, 1.0, 9).unwrap();
    let mut env = SeaEnvironment::new(ball.clone(), config).unwrap();
    let mut learner = OptimisticOmd::strongly_convex(ball, 1.0).unwrap();
    let report = run(&mut learner, &mut env, &RunOptions::default()).unwrap();
    let last = report.last().unwrap();
    assert_eq!(last.regret.rounds, 500);
    assert!(last.regret.pseudo_regret.is_some() && last.regret.dynamic_regret.is_some());
    assert!(
        report
            .trace
            .windows(2)
            .all(|w| w[0].regret.rounds < w[1].regret.rounds)
    );
    let json = serde_json::to_string(&report).unwrap();
    let back: lisse_online::RunReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back.trace.len(), report.trace.len());
}
