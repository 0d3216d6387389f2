//! Shared helpers of the integration tests.
#![allow(dead_code, unreachable_pub)]

use lisse_core::domain::L2Ball;
use lisse_online::env::{BaseLoss, Drift, Environment, SeaConfig, SeaEnvironment, SeaStats};
use lisse_online::projection::LinearMinimizer;
use lisse_online::{Hint, OnlineLearner};
use nalgebra::DVector;
use proptest::prelude::*;

/// What one played game measured.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub realized: f64,
    pub pseudo: f64,
    pub dynamic: Option<f64>,
    pub sum_gradient_sq: f64,
    pub stats: SeaStats,
}

/// Which hint a test game passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HintKind {
    Last,
    Zero,
    Exact,
}

/// Plays the whole horizon, checking every played point is feasible.
pub fn play<L: OnlineLearner, D: LinearMinimizer>(
    learner: &mut L,
    env: &mut SeaEnvironment<D>,
    hint: HintKind,
) -> Outcome {
    let d = env.dim();
    let (mut g, mut h) = (DVector::zeros(d), DVector::zeros(d));
    let (mut loss, mut expected, mut comparator) = (0.0, 0.0, Some(0.0));
    let mut sum_gradient_sq = 0.0;
    for _ in 0..env.horizon() {
        env.begin_round().unwrap();
        let x = match hint {
            HintKind::Last => learner.predict(Hint::LastGradient).unwrap().clone(),
            HintKind::Zero => learner.predict(Hint::Zero).unwrap().clone(),
            HintKind::Exact => {
                assert!(env.exact_hint(&mut h).unwrap());
                learner.predict(Hint::External(&h)).unwrap().clone()
            }
        };
        assert!(
            env.domain().contains(&x, 1e-9),
            "infeasible play {x:?} by {}",
            learner.name()
        );
        let e = env.evaluate(&x, &mut g).unwrap();
        assert!(g.norm() <= env.sea_stats_now().gradient_bound * (1.0 + 1e-12));
        sum_gradient_sq += g.norm_squared();
        learner.update(&g).unwrap();
        loss += e.loss;
        expected += e.expected_loss;
        comparator = comparator
            .zip(e.comparator_expected_loss)
            .map(|(a, b)| a + b);
    }
    let best = env.best_fixed().unwrap().unwrap();
    Outcome {
        realized: loss - best.realized,
        pseudo: expected - best.expected,
        dynamic: comparator.map(|c| expected - c),
        sum_gradient_sq,
        stats: env.sea_stats_now(),
    }
}

/// A random SEA instance on the unit ball.
#[derive(Debug, Clone)]
pub struct Instance {
    pub dim: usize,
    pub config: SeaConfig,
}

impl Instance {
    pub fn env(&self) -> SeaEnvironment<L2Ball> {
        SeaEnvironment::new(
            L2Ball::centered(self.dim, 1.0).unwrap(),
            self.config.clone(),
        )
        .unwrap()
    }

    pub fn ball(&self) -> L2Ball {
        L2Ball::centered(self.dim, 1.0).unwrap()
    }
}

pub fn drift() -> impl Strategy<Value = Drift> {
    prop_oneof![
        Just(Drift::Fixed),
        (0.2..1.5f64, 0.0..1.0f64).prop_map(|(radius, frac)| Drift::Rotating {
            radius,
            step: frac * 0.5 * radius,
        }),
        (0u64..60, 0.0..2.0f64).prop_map(|(count, magnitude)| Drift::Spikes { count, magnitude }),
    ]
}

/// Random SEA instances with the given base losses, d ∈ [2, max_dim], T ∈ [100, max_t].
pub fn instance(
    bases: Vec<&'static str>,
    max_dim: usize,
    max_t: u64,
) -> impl Strategy<Value = Instance> {
    (
        2..=max_dim,
        100..=max_t,
        0.0..1.5f64,
        drift(),
        any::<u64>(),
        0.0..0.8f64,
        proptest::sample::select(bases),
    )
        .prop_map(|(dim, horizon, noise_norm, drift, seed, mean_norm, base)| {
            let mut mean = DVector::from_fn(dim, |i, _| {
                ((i as f64 + 1.0) * 0.7 + seed as f64 % 3.0).sin()
            });
            mean *= mean_norm / mean.norm().max(1e-12);
            let base = match base {
                "linear" => BaseLoss::Linear,
                "quadratic" => BaseLoss::Quadratic,
                _ => BaseLoss::Logistic {
                    features: DVector::from_fn(dim, |i, _| if i % 2 == 0 { 1.0 } else { -0.5 }),
                    label: if seed % 2 == 0 { 1.0 } else { -1.0 },
                },
            };
            Instance {
                dim,
                config: SeaConfig {
                    base,
                    drift,
                    mean,
                    noise_norm,
                    horizon,
                    seed,
                },
            }
        })
}

/// Azuma–Hoeffding allowance for the noise martingale Σ⟨ξ_t, x_t − u⟩ (increments bounded by
/// s·D) at failure probability 1e-9: s·D·√(2T·ln(2·10⁹)).
pub fn martingale_allowance(noise_norm: f64, diameter: f64, rounds: u64) -> f64 {
    noise_norm * diameter * (2.0 * rounds as f64 * (2e9f64).ln()).sqrt()
}
