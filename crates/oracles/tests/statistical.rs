//! Long statistical checks, run before a release with
//! `cargo test --release -p lisse-oracles --test statistical -- --ignored`.

use std::sync::Arc;

use lisse_core::{Dimension, FiniteSum, OracleExt, RngStreams};
use lisse_oracles::data::digits;
use lisse_oracles::loss::MultinomialLogistic;
use lisse_oracles::sampling::{Minibatch, Sampling};
use nalgebra::DVector;
use rayon::prelude::*;

/// On real data (200 digits, 640 parameters), minibatch gradients are unbiased and their
/// variance matches σ²/b with replacement and (n − b)/(n − 1)·σ²/b without, to 2%, over 200,000
/// draws per scheme. Draws run in parallel on independent streams and are reduced in order.
#[test]
#[ignore = "statistical: 400,000 minibatch gradients, about 10 s in release"]
fn minibatch_variance_on_digits_matches_theory() {
    let data = digits().subset(&(0..200).collect::<Vec<_>>()).unwrap();
    let loss = MultinomialLogistic::new(Arc::new(data))
        .unwrap()
        .with_l2(1e-2)
        .unwrap();
    let n = loss.n_terms();
    let w = DVector::from_fn(loss.dim(), |i, _| ((i * 37 % 101) as f64 - 50.0) / 500.0);
    let full = loss.gradient(&w).unwrap();
    let sigma2 = (0..n)
        .map(|i| (loss.batch_gradient(&w, &[i]).unwrap() - &full).norm_squared())
        .sum::<f64>()
        / n as f64;
    let b = 8;
    let reps = 200_000u64;
    for (sampling, expected) in [
        (Sampling::WithReplacement, sigma2 / b as f64),
        (
            Sampling::WithoutReplacement,
            (n - b) as f64 / (n - 1) as f64 * sigma2 / b as f64,
        ),
    ] {
        let oracle = Minibatch::new(loss.clone(), b, sampling).unwrap();
        let streams = RngStreams::new(99);
        let draws: Vec<(DVector<f64>, f64)> = (0..reps)
            .into_par_iter()
            .map(|r| {
                let g = oracle
                    .stochastic_gradient(&w, &mut streams.stream(r))
                    .unwrap();
                let sq = (&g - &full).norm_squared();
                (g, sq)
            })
            .collect();
        let mean = draws
            .iter()
            .fold(DVector::zeros(full.len()), |acc, (g, _)| acc + g)
            / reps as f64;
        let var = draws.iter().map(|(_, sq)| sq).sum::<f64>() / reps as f64;
        assert!(
            (var / expected - 1.0).abs() < 0.02,
            "{sampling:?}: variance {var} vs {expected}"
        );
        // ‖mean − ∇f‖² has expectation expected/reps; allow 3× that.
        assert!(
            (mean - &full).norm_squared() < 3.0 * expected / reps as f64,
            "{sampling:?}: biased"
        );
    }
}
