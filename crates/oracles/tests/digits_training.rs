//! End to end on real data: the embedded digits, the multinomial loss, minibatch sampling and
//! the core solvers reach the accuracy logistic regression is known to reach on this data set
//! (about 96–97% test accuracy).

use std::sync::Arc;

use lisse_core::solver::{GradientDescent, Sgd, StepSize};
use lisse_core::{CountKind, Dimension, Executor, RngStreams, Stopping};
use lisse_oracles::data::{Standardizer, digits, train_test_split};
use lisse_oracles::loss::MultinomialLogistic;
use lisse_oracles::sampling::{Minibatch, Sampling};
use nalgebra::DVector;

fn prepared(
    seed: u64,
) -> (
    Arc<lisse_oracles::data::Dataset>,
    lisse_oracles::data::Dataset,
) {
    let (train, test) =
        train_test_split(&digits(), 0.2, &mut RngStreams::new(seed).stream(0)).unwrap();
    let scaler = Standardizer::fit(&train);
    (
        Arc::new(scaler.transform(&train).unwrap().with_intercept()),
        scaler.transform(&test).unwrap().with_intercept(),
    )
}

fn sgd_accuracy(seed: u64, epochs: u64) -> f64 {
    let (train, test) = prepared(seed);
    let n = train.n_samples() as u64;
    let loss = MultinomialLogistic::new(train)
        .unwrap()
        .with_l2(1e-3)
        .unwrap();
    let dim = loss.dim();
    let oracle = Minibatch::new(loss.clone(), 32, Sampling::WithReplacement).unwrap();
    let mut sgd = Sgd::new(oracle, DVector::zeros(dim), StepSize::Constant(0.05)).unwrap();
    let report = Executor::new(Stopping::new().budget(CountKind::Samples, epochs * n))
        .record_every(0)
        .run(&mut sgd, &mut RngStreams::new(seed).stream(1))
        .unwrap();
    assert!(report.counts.samples >= epochs * n && report.counts.samples < epochs * n + 32);
    loss.accuracy(&report.final_point, &test).unwrap()
}

#[test]
fn sgd_learns_the_digits() {
    let acc = sgd_accuracy(0, 10);
    assert!(acc >= 0.94, "test accuracy {acc}");
}

#[test]
fn gd_counts_full_batches_as_n_samples() {
    let (train, _) = prepared(1);
    let n = train.n_samples() as u64;
    let loss = MultinomialLogistic::new(train).unwrap();
    let dim = loss.dim();
    let mut gd = GradientDescent::new(loss, DVector::zeros(dim), StepSize::Constant(0.5)).unwrap();
    let report = Executor::new(Stopping::new().budget(CountKind::TotalPoints, 5 * n))
        .run(&mut gd, &mut RngStreams::new(0).stream(0))
        .unwrap();
    assert_eq!(report.counts.calls.gradients, 5);
    assert_eq!(report.counts.points.gradients, 5 * n);
    // Full-batch GD draws nothing.
    assert_eq!((report.counts.draws, report.counts.samples), (0, 0));
}

/// Over 10 seeds (splits and sampling), SGD's mean test accuracy is at least 96% and no seed
/// falls below 94%.
#[test]
fn sgd_accuracy_over_seeds() {
    let accs: Vec<f64> = (0..10).map(|s| sgd_accuracy(100 + s, 30)).collect();
    let mean = accs.iter().sum::<f64>() / accs.len() as f64;
    assert!(mean >= 0.96, "mean accuracy {mean}, per seed {accs:?}");
    assert!(accs.iter().all(|&a| a >= 0.94), "{accs:?}");
}
