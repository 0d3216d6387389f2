//! Dynamic regret against a comparator sequence supplied by the user: a hand-computed case,
//! agreement with the simulator's built-in comparator, and the typed errors.
// The hand-computed case uses dyadic values, summed exactly.
#![allow(clippy::float_cmp)]

use lisse_core::Error;
use lisse_core::domain::L2Ball;
use lisse_online::env::{BaseLoss, Environment, Evaluation, SeaConfig, SeaEnvironment};
use lisse_online::regret::{ComparatorFn, ComparatorPath};
use lisse_online::{Hint, OnlineLearner, OptimisticOmd, RunOptions, run, run_with_comparator};
use nalgebra::{DVector, dvector};

/// f_t(x) = a_t·x on ℝ¹ (deterministic: F_t = f_t).
struct Linear1d {
    a: Vec<f64>,
    t: usize,
}

impl Environment for Linear1d {
    fn dim(&self) -> usize {
        1
    }
    fn horizon(&self) -> u64 {
        self.a.len() as u64
    }
    fn name(&self) -> String {
        "linear 1-d".into()
    }
    fn begin_round(&mut self) -> lisse_core::Result<()> {
        self.t += 1;
        Ok(())
    }
    fn evaluate(
        &mut self,
        x: &DVector<f64>,
        gradient: &mut DVector<f64>,
    ) -> lisse_core::Result<Evaluation> {
        let a = self.a[self.t - 1];
        gradient[0] = a;
        Ok(Evaluation {
            loss: a * x[0],
            expected_loss: a * x[0],
            comparator_expected_loss: None,
        })
    }
    fn expected_loss_at(&self, u: &DVector<f64>) -> lisse_core::Result<Option<f64>> {
        Ok((self.t > 0).then(|| self.a[self.t - 1] * u[0]))
    }
}

/// Plays a fixed script of points.
struct Scripted {
    plays: Vec<f64>,
    t: usize,
    x: DVector<f64>,
}

impl OnlineLearner for Scripted {
    fn dim(&self) -> usize {
        1
    }
    fn name(&self) -> String {
        "scripted".into()
    }
    fn predict(&mut self, _hint: Hint<'_>) -> lisse_core::Result<&DVector<f64>> {
        self.x[0] = self.plays[self.t];
        Ok(&self.x)
    }
    fn update(&mut self, _gradient: &DVector<f64>) -> lisse_core::Result<()> {
        self.t += 1;
        Ok(())
    }
}

/// An environment without [`Environment::expected_loss_at`].
struct Opaque(Linear1d);
impl Environment for Opaque {
    fn dim(&self) -> usize {
        1
    }
    fn horizon(&self) -> u64 {
        self.0.horizon()
    }
    fn name(&self) -> String {
        "opaque".into()
    }
    fn begin_round(&mut self) -> lisse_core::Result<()> {
        self.0.begin_round()
    }
    fn evaluate(
        &mut self,
        x: &DVector<f64>,
        g: &mut DVector<f64>,
    ) -> lisse_core::Result<Evaluation> {
        self.0.evaluate(x, g)
    }
}

fn hand_case() -> (Linear1d, Scripted) {
    (
        Linear1d {
            a: vec![1.0, -2.0, 3.0],
            t: 0,
        },
        Scripted {
            plays: vec![0.5, -0.5, 0.25],
            t: 0,
            x: DVector::zeros(1),
        },
    )
}

#[test]
fn dynamic_regret_and_path_length_match_a_hand_computed_case() {
    // Σ a_t x_t = 0.5 + 1 + 0.75 = 2.25; u = (−1, 1, −1): Σ a_t u_t = −1 − 2 − 3 = −6;
    // dynamic regret 8.25; P_T = |1 − (−1)| + |−1 − 1| = 4.
    let points = vec![dvector![-1.0], dvector![1.0], dvector![-1.0]];
    let mut path = ComparatorPath::new(points).unwrap();
    assert_eq!(path.path_length(), 4.0);
    let (mut env, mut learner) = hand_case();
    let report =
        run_with_comparator(&mut learner, &mut env, &RunOptions::default(), &mut path).unwrap();
    let dynamic = report.last().unwrap().comparator.unwrap();
    assert_eq!(dynamic.rounds, 3);
    assert_eq!(dynamic.comparator_loss, -6.0);
    assert_eq!(dynamic.dynamic_regret, 8.25);
    assert_eq!(dynamic.path_length, 4.0);

    // The same sequence from a closure.
    let (mut env, mut learner) = hand_case();
    let mut closure = ComparatorFn::new(1, |t, u: &mut DVector<f64>| {
        u[0] = if t % 2 == 1 { -1.0 } else { 1.0 };
    });
    let report =
        run_with_comparator(&mut learner, &mut env, &RunOptions::default(), &mut closure).unwrap();
    assert_eq!(report.last().unwrap().comparator.unwrap(), dynamic);
    // Plain `run` reports no user comparator.
    let (mut env, mut learner) = hand_case();
    let report = run(&mut learner, &mut env, &RunOptions::default()).unwrap();
    assert!(report.last().unwrap().comparator.is_none());
}

fn sea(seed: u64) -> SeaEnvironment<L2Ball> {
    let config = SeaConfig::with_totals(BaseLoss::Quadratic, 3, 400, 8.0, 3.0, 0.8, seed).unwrap();
    SeaEnvironment::new(L2Ball::centered(3, 1.0).unwrap(), config).unwrap()
}

fn learner()
-> OptimisticOmd<lisse_online::mirror::Euclidean<L2Ball>, lisse_online::step_size::StronglyConvex> {
    OptimisticOmd::strongly_convex(L2Ball::centered(3, 1.0).unwrap(), 1.0).unwrap()
}

#[test]
fn the_simulators_own_comparators_reproduce_its_dynamic_regret() {
    for seed in [1, 2, 3] {
        // Record the simulator's per-round minimizers u_t = argmin F_t (they do not depend on
        // the plays).
        let mut env = sea(seed);
        let mut probe = learner();
        let mut g = DVector::zeros(3);
        let mut minimizers = Vec::new();
        for _ in 0..env.horizon() {
            env.begin_round().unwrap();
            let x = probe.predict(Hint::LastGradient).unwrap().clone();
            env.evaluate(&x, &mut g).unwrap();
            probe.update(&g).unwrap();
            minimizers.push(env.comparator_now().unwrap().clone());
        }
        let mut path = ComparatorPath::new(minimizers).unwrap();

        let mut env = sea(seed);
        let report =
            run_with_comparator(&mut learner(), &mut env, &RunOptions::default(), &mut path)
                .unwrap();
        let last = report.last().unwrap();
        let user = last.comparator.unwrap();
        let built_in_regret = last.regret.dynamic_regret.unwrap();
        let built_in_path = last.regret.path_length.unwrap();
        assert!(built_in_path > 0.1, "a moving comparator: {built_in_path}");
        let tol = |x: f64| 1e-9 * (1.0 + x.abs());
        assert!(
            (user.dynamic_regret - built_in_regret).abs() <= tol(built_in_regret),
            "{} vs {built_in_regret}",
            user.dynamic_regret
        );
        assert!(
            (user.path_length - built_in_path).abs() <= tol(built_in_path),
            "{} vs {built_in_path}",
            user.path_length
        );
        assert!((path.path_length() - built_in_path).abs() <= tol(built_in_path));

        // A constant comparator at the best fixed point: dynamic regret = pseudo-regret, P_T = 0.
        let mut env = sea(seed);
        run(&mut learner(), &mut env, &RunOptions::default()).unwrap();
        let best = env.best_fixed().unwrap().unwrap().point;
        let mut fixed = ComparatorFn::new(3, |_, u: &mut DVector<f64>| u.copy_from(&best));
        let mut env = sea(seed);
        let report =
            run_with_comparator(&mut learner(), &mut env, &RunOptions::default(), &mut fixed)
                .unwrap();
        let last = report.last().unwrap();
        let user = last.comparator.unwrap();
        let pseudo = last.regret.pseudo_regret.unwrap();
        assert_eq!(user.path_length, 0.0);
        assert!((user.dynamic_regret - pseudo).abs() <= 1e-9 * (1.0 + pseudo.abs()));
    }
}

#[test]
fn bad_comparators_get_typed_errors() {
    let opts = RunOptions::default();
    // Wrong dimension.
    let mut path = ComparatorPath::new(vec![dvector![0.0, 0.0]; 400]).unwrap();
    let err = run_with_comparator(&mut learner(), &mut sea(1), &opts, &mut path).unwrap_err();
    assert!(
        matches!(
            err,
            Error::DimensionMismatch {
                expected: 3,
                got: 2,
                ..
            }
        ),
        "{err}"
    );
    // Wrong length.
    let mut path = ComparatorPath::new(vec![dvector![0.0, 0.0, 0.0]; 399]).unwrap();
    let err = run_with_comparator(&mut learner(), &mut sea(1), &opts, &mut path).unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err}");
    assert!(err.to_string().contains("400"), "{err}");
    // Non-finite entries, found at construction with the round named.
    let mut points = vec![dvector![0.0, 0.0, 0.0]; 400];
    points[6][1] = f64::NAN;
    let err = ComparatorPath::new(points).unwrap_err();
    assert!(matches!(err, Error::NonFinite { index: 1, .. }), "{err}");
    assert!(err.to_string().contains("u_7"), "{err}");
    // Mixed dimensions and an empty sequence.
    let err = ComparatorPath::new(vec![dvector![0.0], dvector![0.0, 1.0]]).unwrap_err();
    assert!(matches!(err, Error::DimensionMismatch { .. }), "{err}");
    assert!(matches!(
        ComparatorPath::new(Vec::new()).unwrap_err(),
        Error::InvalidParameter { .. }
    ));
    // A closure that writes ∞ in round 3.
    let mut closure = ComparatorFn::new(3, |t, u: &mut DVector<f64>| {
        u.fill(0.0);
        if t == 3 {
            u[2] = f64::INFINITY;
        }
    });
    let err = run_with_comparator(&mut learner(), &mut sea(1), &opts, &mut closure).unwrap_err();
    assert!(matches!(err, Error::NonFinite { index: 2, .. }), "{err}");
    assert!(err.to_string().contains("u_3"), "{err}");
    // An environment that cannot evaluate F_t at a given point.
    let (env, mut scripted) = hand_case();
    let mut path = ComparatorPath::new(vec![dvector![0.0]; 3]).unwrap();
    let err = run_with_comparator(&mut scripted, &mut Opaque(env), &opts, &mut path).unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err}");
}
