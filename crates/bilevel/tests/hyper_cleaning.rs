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
