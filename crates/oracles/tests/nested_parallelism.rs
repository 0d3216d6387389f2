//! Issue 5, item 6: stochastic oracles nest inside rayon tasks without panicking, and give the
//! same bits whatever the pool size.
//!
//! The reproduction: 64 parallel replicates of a minibatch multinomial oracle on the digits,
//! batch 9,000 (the loss kernel itself runs rayon over chunks of the batch), in pools of 4 and
//! 8 threads. With the former thread-local index buffer borrowed across the kernel, a stolen
//! outer task borrowed it again and panicked ("already borrowed").

use lisse_core::{Counted, Dimension, OracleExt, RngStreams};
use lisse_oracles::data::digits;
use lisse_oracles::loss::MultinomialLogistic;
use lisse_oracles::sampling::{Minibatch, Sampling};
use nalgebra::DVector;
use rayon::prelude::*;

fn replicates(threads: usize) -> (Vec<DVector<f64>>, u64) {
    let loss = MultinomialLogistic::new(digits()).unwrap();
    let oracle = Counted::new(Minibatch::new(loss, 9_000, Sampling::WithReplacement).unwrap());
    let w = DVector::from_fn(oracle.dim(), |i, _| ((i * 13 % 17) as f64 - 8.0) / 100.0);
    let streams = RngStreams::new(2024);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let grads = pool.install(|| {
        (0..64u64)
            .into_par_iter()
            .map(|r| {
                oracle
                    .stochastic_gradient(&w, &mut streams.stream(r))
                    .unwrap()
            })
            .collect::<Vec<_>>()
    });
    (grads, oracle.counts().samples)
}

#[test]
fn nested_replicates_in_pools_of_4_and_8_threads() {
    let (four, samples) = replicates(4);
    assert_eq!(samples, 64 * 9_000);
    let (eight, _) = replicates(8);
    let (one, _) = replicates(1);
    assert_eq!(four, eight, "bit-identical for 4 and 8 threads");
    assert_eq!(four, one, "bit-identical to one thread");
    // Distinct streams give distinct batches.
    assert_ne!(four[0], four[1]);
}
