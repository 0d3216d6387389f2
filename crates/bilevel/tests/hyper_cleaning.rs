//! Data hyper-cleaning: derivatives against finite differences, and solvers against training on
//! the noisy labels.

use lisse_bilevel::problem::{HyperCleaning, HyperCleaningSpec};
use lisse_core::{PartialGradients, PartialHvps, RngStreams, TwoBlock};
use nalgebra::DVector;

fn small() -> HyperCleaning {
    let spec = HyperCleaningSpec {
        n_train: 200,
        n_validation: 100,
        ..HyperCleaningSpec::default()
    };
    HyperCleaning::digits(&spec, &mut RngStreams::new(1).stream(0)).unwrap()
}

#[test]
fn lower_derivatives_match_finite_differences() {
    let hc = small();
    let p = hc.problem().unwrap();
    let g = p.lower();
    let (n, d) = (g.dim_x(), g.dim_y());
    let lambda = DVector::from_fn(n, |i, _| ((i as f64) * 0.37).sin());
    let w = DVector::from_fn(d, |i, _| 0.1 * ((i as f64) * 0.11).cos());
    let v = DVector::from_fn(d, |i, _| ((i as f64) * 0.23).sin());
    let h = 1e-5;
    // ∇²ᵧᵧg·v against differences of ∇ᵧg along v.
    let mut hv = DVector::zeros(d);
    g.hvp_yy_into(&lambda, &w, &v, &mut hv).unwrap();
    let (mut gp, mut gm) = (DVector::zeros(d), DVector::zeros(d));
    g.grad_y_into(&lambda, &(&w + &v * h), &mut gp).unwrap();
    g.grad_y_into(&lambda, &(&w - &v * h), &mut gm).unwrap();
    let fd = (gp - gm) / (2.0 * h);
    assert!(
        (&fd - &hv).norm() <= 1e-6 * hv.norm().max(1.0),
        "{}",
        (&fd - &hv).norm()
    );
    // ∇²ₓᵧg·v: coordinate i is ∂/∂λᵢ ⟨∇ᵧg, v⟩.
    let mut cross = DVector::zeros(n);
    g.hvp_xy_into(&lambda, &w, &v, &mut cross).unwrap();
    for i in [0, 7, 199] {
        let mut lp = lambda.clone();
        lp[i] += h;
        let mut lm = lambda.clone();
        lm[i] -= h;
        let (mut a, mut b) = (DVector::zeros(d), DVector::zeros(d));
        g.grad_y_into(&lp, &w, &mut a).unwrap();
        g.grad_y_into(&lm, &w, &mut b).unwrap();
        let fd = (a - b).dot(&v) / (2.0 * h);
        assert!(
            (fd - cross[i]).abs() <= 1e-7 * cross[i].abs().max(1e-3),
            "{fd} vs {}",
            cross[i]
        );
    }
    // ∇ₓg: coordinate i is σ'(λᵢ)CEᵢ/n > 0.
    let mut gx = DVector::zeros(n);
    g.grad_x_into(&lambda, &w, &mut gx).unwrap();
    assert!(gx.iter().all(|&v| v > 0.0));
    // The lower solution is stationary.
    let ws = hc.fit_lower(&lambda, &DVector::zeros(d), 20).unwrap();
    let mut gy = DVector::zeros(d);
    g.grad_y_into(&lambda, &ws, &mut gy).unwrap();
    assert!(gy.norm() < 1e-8, "{}", gy.norm());
}

#[test]
fn corruption_rate_and_metrics() {
    let hc = HyperCleaning::digits(
        &HyperCleaningSpec::default(),
        &mut RngStreams::new(2).stream(0),
    )
    .unwrap();
    let rate = hc.corrupted().iter().filter(|&&c| c).count() as f64 / hc.n_train() as f64;
    // Binomial(1000, 0.3): sd 0.0145; 5 sd.
    assert!((rate - 0.3).abs() < 0.073, "{rate}");
    // The oracle detector (λᵢ < 0 exactly on corrupted samples) has F1 = 1; flagging all has
    // F1 = 2p/(1 + p).
    let oracle = DVector::from_iterator(
        hc.n_train(),
        hc.corrupted().iter().map(|&c| if c { -1.0 } else { 1.0 }),
    );
    assert!((hc.detection_f1(&oracle).unwrap() - 1.0).abs() < 1e-15);
    let all = DVector::from_element(hc.n_train(), -1.0);
    assert!((hc.detection_f1(&all).unwrap() - 2.0 * rate / (1.0 + rate)).abs() < 1e-12);
    assert!(
        HyperCleaning::digits(
            &HyperCleaningSpec {
                l2: 0.0,
                ..HyperCleaningSpec::default()
            },
            &mut RngStreams::new(2).stream(0)
        )
        .is_err()
    );
    assert!(
        HyperCleaning::digits(
            &HyperCleaningSpec {
                corruption: 1.5,
                ..HyperCleaningSpec::default()
            },
            &mut RngStreams::new(2).stream(0)
        )
        .is_err()
    );
}

/// Every method against training on the noisy labels, p = 0.3, three fixed seeds, the settings
/// of the `bilevel` job of `reproduce` (1,000,000 points read per run; the step constants its
/// validation search chose, `CLEANING_STEPS` in `examples/reproduce/bilevel.rs`). Slow in debug builds:
/// `cargo test --release -p lisse-bilevel --test hyper_cleaning -- --ignored`.
#[test]
#[ignore = "statistical run, ~20 s in release"]
#[allow(clippy::too_many_lines)] // one constructor per method
fn every_method_beats_noisy_labels() {
    use lisse_bilevel::hypergradient::{LinearSystem, RandomizedNeumann};
    use lisse_bilevel::schedule::EpochSgd;
    use lisse_bilevel::solver::{
        Amigo, AmigoConfig, BoRep, BoRepConfig, MaSoba, MaSobaConfig, Soba, SobaConfig, StocBio,
        StocBioConfig, Ttsa, TtsaConfig,
    };
    use lisse_core::solver::StepSize;
    use lisse_core::{CountKind, Executor, Solver, Stopping};

    let spec = HyperCleaningSpec::default();
    for seed in 0..3u64 {
        let hc = HyperCleaning::digits(&spec, &mut RngStreams::new(seed).stream(0)).unwrap();
        let (n, d) = (hc.n_train(), hc.dim_model());
        let noisy = hc
            .test_accuracy(
                &hc.fit_lower(&DVector::zeros(n), &DVector::zeros(d), 30)
                    .unwrap(),
            )
            .unwrap();
        let (x0, y0) = (DVector::zeros(n), DVector::zeros(d));
        let p = || hc.problem().unwrap();
        let init = EpochSgd::new(0.3, 5, 10.0, 200).unwrap();
        let solvers: Vec<Box<dyn Solver + '_>> = vec![
            Box::new(
                BoRep::new(
                    p(),
                    RandomizedNeumann::new(10)
                        .unwrap()
                        .with_smoothness(1.0 / 0.3)
                        .unwrap(),
                    BoRepConfig::paper(1.0, 0.3, 10.0, init),
                    x0.clone(),
                    y0.clone(),
                )
                .unwrap(),
            ),
            Box::new(
                BoRep::new(
                    p(),
                    LinearSystem::new(StepSize::Constant(0.3)).unwrap(),
                    BoRepConfig::public_code(1.0, 0.3),
                    x0.clone(),
                    y0.clone(),
                )
                .unwrap(),
            ),
            Box::new(
                StocBio::new(
                    p(),
                    StocBioConfig {
                        inner_steps: 5,
                        neumann_eta: Some(0.3),
                        ..StocBioConfig::new(0.3, 1000.0)
                    },
                    x0.clone(),
                    y0.clone(),
                )
                .unwrap(),
            ),
            Box::new(
                Ttsa::new(
                    p(),
                    TtsaConfig {
                        neumann_smoothness: Some(1.0),
                        ..TtsaConfig::new(1.0, 1000.0)
                    },
                    x0.clone(),
                    y0.clone(),
                )
                .unwrap(),
            ),
            Box::new(Soba::new(p(), SobaConfig::new(3.0, 1000.0), x0.clone(), y0.clone()).unwrap()),
            Box::new(
                MaSoba::new(p(), MaSobaConfig::new(3.0, 1000.0), x0.clone(), y0.clone()).unwrap(),
            ),
            Box::new(
                Amigo::new(
                    p(),
                    AmigoConfig {
                        inner_steps: 5,
                        linear_steps: 5,
                        ..AmigoConfig::new(0.3, 1000.0)
                    },
                    x0.clone(),
                    y0.clone(),
                )
                .unwrap(),
            ),
        ];
        // Chance F1 of flagging at random with rate p is about p = 0.3.
        for mut s in solvers {
            let report = Executor::new(
                Stopping::new()
                    .budget(CountKind::TotalPoints, 1_000_000)
                    .max_iters(1_000_000),
            )
            .record_every(0)
            .run(s.as_mut(), &mut RngStreams::new(seed).stream(1))
            .unwrap();
            let acc = hc
                .test_accuracy(report.final_lower_point.as_ref().unwrap())
                .unwrap();
            let f1 = hc.detection_f1(&report.final_point).unwrap();
            assert!(
                acc > noisy,
                "{} seed {seed}: accuracy {acc} <= noisy {noisy}",
                report.solver
            );
            assert!(f1 > 0.7, "{} seed {seed}: F1 {f1}", report.solver);
        }
    }
}

#[test]
fn fused_lower_directions_equal_the_single_oracles() {
    use lisse_bilevel::problem::LowerLevel;
    use lisse_core::{StochasticPartialGradients, StochasticPartialHvps};
    let hc = small();
    let p = hc.problem().unwrap();
    let g = p.lower();
    let (n, d) = (g.dim_x(), g.dim_y());
    // λ spans saturated weights (|λ| up to 2000, where σ' underflows) and ordinary ones.
    let lambda = DVector::from_fn(n, |i, _| {
        let t = ((i as f64) * 0.37).sin();
        if i % 5 == 0 { 2000.0 * t } else { 3.0 * t }
    });
    let w = DVector::from_fn(d, |i, _| 0.1 * ((i as f64) * 0.11).cos());
    let v = DVector::from_fn(d, |i, _| ((i as f64) * 0.23).sin());
    let batch: Vec<usize> = (0..64).map(|j| (j * 37 + 11) % n).chain([5, 5]).collect();
    let (mut g1, mut h1, mut c1) = (DVector::zeros(d), DVector::zeros(d), DVector::zeros(n));
    g.grad_y_at_into(&lambda, &w, &batch, &mut g1).unwrap();
    g.hvp_yy_at_into(&lambda, &w, &v, &batch, &mut h1).unwrap();
    g.hvp_xy_at_into(&lambda, &w, &v, &batch, &mut c1).unwrap();
    // Dirty buffers: the fused pass must overwrite them.
    let (mut g2, mut h2, mut c2) = (
        DVector::from_element(d, 7.0),
        DVector::from_element(d, 7.0),
        DVector::from_element(n, 7.0),
    );
    g.directions_at_into(&lambda, &w, &v, &batch, &mut g2, &mut h2, &mut c2)
        .unwrap();
    assert!((&g1 - &g2).norm() <= 1e-13 * g1.norm().max(1.0));
    assert!((&h1 - &h2).norm() <= 1e-13 * h1.norm().max(1.0));
    assert!((&c1 - &c2).norm() <= 1e-13 * c1.norm().max(1.0));
    // Indices outside the batch get 0; a saturated λ (λ₅ ≈ 1922, in the batch) gives σ' = 0.
    assert!(
        c2.iter()
            .enumerate()
            .all(|(i, &c)| batch.contains(&i) || c.abs() < f64::MIN_POSITIVE)
    );
    assert!(lambda[5] > 1000.0 && c2[5].abs() < f64::MIN_POSITIVE);
    assert!(c2[batch[0]].abs() > 0.0);
    // Bad input: typed errors.
    let mut short = DVector::zeros(d + 1);
    assert!(
        g.directions_at_into(&lambda, &w, &v, &batch, &mut short, &mut h2, &mut c2)
            .is_err()
    );
    assert!(
        g.directions_at_into(&lambda, &w, &v, &vec![n], &mut g2, &mut h2, &mut c2)
            .is_err()
    );
    assert!(
        g.directions_at_into(&lambda, &w, &v, &batch, &mut g2, &mut h2, &mut short)
            .is_err()
    );
    let mut bad = v.clone();
    bad[d - 1] = f64::INFINITY;
    assert!(
        g.directions_at_into(&lambda, &w, &bad, &batch, &mut g2, &mut h2, &mut c2)
            .is_err()
    );
}

#[test]
fn fused_upper_grads_equal_the_single_oracles() {
    use lisse_bilevel::problem::UpperLevel;
    use lisse_core::StochasticPartialGradients;
    let hc = small();
    let p = hc.problem().unwrap();
    let f = p.upper();
    let (n, d) = (f.dim_x(), f.dim_y());
    let lambda = DVector::from_fn(n, |i, _| ((i as f64) * 0.37).sin());
    let w = DVector::from_fn(d, |i, _| 0.1 * ((i as f64) * 0.11).cos());
    // 66 validation indices with a repeat: more than one block of 8, not a multiple of 8.
    let batch: Vec<usize> = (0..64).map(|j| (j * 37 + 11) % 100).chain([5, 5]).collect();
    let (mut gx1, mut gy1) = (DVector::zeros(n), DVector::zeros(d));
    f.grad_x_at_into(&lambda, &w, &batch, &mut gx1).unwrap();
    f.grad_y_at_into(&lambda, &w, &batch, &mut gy1).unwrap();
    // Dirty buffers: the fused pass must overwrite them.
    let (mut gx2, mut gy2) = (DVector::from_element(n, 7.0), DVector::from_element(d, 7.0));
    f.grads_at_into(&lambda, &w, &batch, &mut gx2, &mut gy2)
        .unwrap();
    assert!(gx2.iter().all(|&v| v == 0.0) && gx1 == gx2);
    assert!(gy1.norm() > 0.1);
    assert!((&gy1 - &gy2).norm() <= 1e-13 * gy1.norm());
    // Bad input: typed errors.
    let mut short = DVector::zeros(d + 1);
    assert!(
        f.grads_at_into(&lambda, &w, &batch, &mut gx2, &mut short)
            .is_err()
    );
    assert!(
        f.grads_at_into(&lambda, &w, &vec![100], &mut gx2, &mut gy2)
            .is_err()
    );
    let mut bad = w.clone();
    bad[3] = f64::NAN;
    assert!(
        f.grads_at_into(&lambda, &bad, &batch, &mut gx2, &mut gy2)
            .is_err()
    );
}

/// The quality half of issue 10's hyper-cleaning goal: SOBA with the bench's and the JAX peer's
/// settings (p = 0.3, c = 0.01, batches of 64, `SobaConfig::new(1.0, 1000.0)`, 5,000
/// iterations from λ = 0, W = 0) over five seeds of split and batches, against the peer's
/// 0.950 test accuracy and 0.871 detection F1 (`benches/bilevel_jax.py`). The means must come
/// within one point of both; the spread over seeds is about ±0.7 points of accuracy and ±2 of
/// F1, so a broken kernel (or σ, or scatter) falls far below. Prints the figures for
/// docs/performance.md. `cargo test --release -p lisse-bilevel --test hyper_cleaning --
/// --ignored soba_quality --nocapture` (about 1 s in release).
#[test]
#[ignore = "statistical run, slow in debug builds"]
fn soba_quality_at_the_peer_settings() {
    use lisse_bilevel::solver::{Soba, SobaConfig};
    use lisse_core::Solver;

    let spec = HyperCleaningSpec::default();
    let (mut accuracy, mut f1) = (Vec::new(), Vec::new());
    for seed in 0..5u64 {
        let hc = HyperCleaning::digits(&spec, &mut RngStreams::new(seed).stream(0)).unwrap();
        let (n, d) = (hc.n_train(), hc.dim_model());
        let mut soba = Soba::new(
            hc.problem().unwrap(),
            SobaConfig::new(1.0, 1000.0),
            DVector::zeros(n),
            DVector::zeros(d),
        )
        .unwrap();
        let mut rng = RngStreams::new(seed).stream(1);
        for _ in 0..5000 {
            soba.step(&mut rng).unwrap();
        }
        accuracy.push(hc.test_accuracy(soba.lower()).unwrap());
        f1.push(hc.detection_f1(soba.iterate()).unwrap());
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "SOBA, 5,000 iterations, 5 seeds: test accuracy {:.4} ({accuracy:.3?}), F1 {:.3} ({f1:.3?})",
        mean(&accuracy),
        mean(&f1)
    );
    assert!(mean(&accuracy) >= 0.94, "accuracy {accuracy:?}");
    assert!(mean(&f1) >= 0.861, "F1 {f1:?}");
}

/// Hyper-cleaning's fused passes check their own outputs (`checks_finite_outputs`), so
/// `BilevelProblem` skips its second pass: a non-finite input must still end in a typed
/// `NonFinite` error through the problem, for W, for z and for a NaN weight λᵢ in the batch
/// (which only σ'(λᵢ) and the cross product see through the scatter).
#[test]
fn fused_passes_report_non_finite_values_through_the_problem() {
    use lisse_bilevel::problem::{LowerLevel, UpperLevel};
    use lisse_core::Error;
    let hc = small();
    let p = hc.problem().unwrap();
    assert!(p.lower().checks_finite_outputs() && p.upper().checks_finite_outputs());
    let (n, d) = (p.dim_x(), p.dim_y());
    let lambda = DVector::zeros(n);
    let w = DVector::from_element(d, 0.01);
    let (mut g, mut h, mut c) = (DVector::zeros(d), DVector::zeros(d), DVector::zeros(n));
    let mut rng = RngStreams::new(3).stream(0);
    let nan_at = |v: &DVector<f64>, i: usize| {
        let mut v = v.clone();
        v[i] = f64::NAN;
        v
    };
    let is_non_finite = |r: lisse_core::Result<()>| matches!(r, Err(Error::NonFinite { .. }));
    // Finite inputs pass.
    p.lower_directions(&lambda, &w, &w, &mut rng, &mut g, &mut h, &mut c)
        .unwrap();
    assert!(is_non_finite(p.lower_directions(
        &lambda,
        &nan_at(&w, 5),
        &w,
        &mut rng,
        &mut g,
        &mut h,
        &mut c
    )));
    assert!(is_non_finite(p.lower_directions(
        &lambda,
        &w,
        &nan_at(&w, d - 1),
        &mut rng,
        &mut g,
        &mut h,
        &mut c
    )));
    // Every λᵢ NaN: whichever batch is drawn holds one.
    let all_nan = DVector::from_element(n, f64::NAN);
    let r = p.lower_directions(&all_nan, &w, &w, &mut rng, &mut g, &mut h, &mut c);
    assert!(matches!(&r, Err(Error::NonFinite { what, .. }) if what.contains("lambda")));
    let (mut gx, mut gy) = (DVector::zeros(n), DVector::zeros(d));
    assert!(is_non_finite(p.upper_grads(
        &lambda,
        &nan_at(&w, 0),
        &mut rng,
        &mut gx,
        &mut gy
    )));
}
