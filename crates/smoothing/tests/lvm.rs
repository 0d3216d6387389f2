//! LVM-RS: radius formulas, valid configuration choice, errors and coverage.
#![allow(clippy::float_cmp)]

use lisse_core::RngStreams;
use lisse_smoothing::classifier::ScoresFn;
use lisse_smoothing::lvm::{
    ConfigSelection, LvmParams, MapConfig, certify_lvm, certify_lvm_all, r_lip, r_multi,
};
use lisse_smoothing::noise::input_streams;
use lisse_smoothing::stats::normal;
use proptest::prelude::*;

#[test]
fn radii_match_closed_forms() {
    // smoothing.md §5.6 (σ = 1): (p_A, p_B, R_multi, R_lip), recomputed here from Φ⁻¹.
    for (pa, pb, rm, rl) in [
        (0.6, 0.4, 0.253_347_1, 0.250_662_83),
        (0.8, 0.1, 1.061_586_4, 0.877_319_9),
        (0.9, 0.05, 1.463_202_6, 1.065_317),
        (0.99, 0.005, 2.451_088_6, 1.234_514_4),
    ] {
        assert!((r_multi(1.0, pa, pb) - rm).abs() < 1e-6);
        assert!((r_lip(1.0, pa, pb) - rl).abs() < 1e-6);
        let exact = 0.5 * (normal::inverse_cdf(pa) - normal::inverse_cdf(pb));
        assert_eq!(r_multi(1.0, pa, pb), exact);
        assert_eq!(r_multi(2.0, pa, pb), 2.0 * exact);
    }
    // Cohen's radius is the special case p_B = 1 − p_A.
    assert!((r_multi(0.5, 0.9, 0.1) - 0.5 * normal::inverse_cdf(0.9)).abs() < 1e-15);
}

proptest! {
    #[test]
    fn r_multi_dominates_r_lip(a in 0.0..1.0_f64, b in 0.0..1.0_f64, sigma in 0.1..3.0_f64) {
        prop_assume!(a > b);
        prop_assert!(r_multi(sigma, a, b) >= r_lip(sigma, a, b) - 1e-12);
    }
}

fn two_logits() -> impl lisse_smoothing::BaseClassifier {
    ScoresFn::new(2, 2, |x: &[f64]| [x[0] + 0.5 * x[1], 0.0])
}

#[test]
fn levels_follow_the_selection_rule() {
    let f = two_logits();
    let base = LvmParams {
        n: 2000,
        batch: 500,
        ..LvmParams::default()
    };
    let m = base.configs.len() as f64;
    let u = certify_lvm(&f, &[0.8, 0.0], 0.5, &base, &RngStreams::new(1)).unwrap();
    assert!((u.delta - base.alpha / (2.0 * 2.0 * m)).abs() < 1e-18);
    assert_eq!(u.forward_passes, 2000);
    let held = LvmParams {
        selection: ConfigSelection::HeldOut { n: 300 },
        ..base.clone()
    };
    let h = certify_lvm(&f, &[0.8, 0.0], 0.5, &held, &RngStreams::new(1)).unwrap();
    assert!((h.delta - base.alpha / 2.0).abs() < 1e-18);
    assert_eq!(h.forward_passes, 2300);
    for c in [&u, &h] {
        assert_eq!(c.class, Some(0));
        assert!(c.r_multi >= c.r_lip);
        assert!(c.radius <= c.r_multi && c.radius > c.r_multi * (1.0 - 1e-14));
        assert!(c.lower_a > c.upper_b);
    }
    // More configurations cost a smaller δ: the paper's grid of 205.
    let paper = LvmParams {
        configs: MapConfig::paper_grid(),
        ..base
    };
    let p = certify_lvm(&f, &[0.8, 0.0], 0.5, &paper, &RngStreams::new(1)).unwrap();
    assert!(p.delta < u.delta);
}

#[test]
fn errors_are_typed() {
    let f = two_logits();
    let s = RngStreams::new(0);
    let x = [0.1, 0.1];
    let err =
        |p: LvmParams, sigma: f64| certify_lvm(&f, &x, sigma, &p, &s).unwrap_err().to_string();
    assert!(
        err(
            LvmParams {
                n: 1,
                ..LvmParams::default()
            },
            1.0
        )
        .contains("n =")
    );
    assert!(
        err(
            LvmParams {
                configs: vec![],
                ..LvmParams::default()
            },
            1.0
        )
        .contains("configs")
    );
    assert!(
        err(
            LvmParams {
                configs: vec![MapConfig::softmax(0.0)],
                ..LvmParams::default()
            },
            1.0
        )
        .contains("temperature")
    );
    assert!(
        err(
            LvmParams {
                alpha: 0.0,
                ..LvmParams::default()
            },
            1.0
        )
        .contains("alpha")
    );
    assert!(err(LvmParams::default(), -1.0).contains("sigma"));
    assert!(
        err(
            LvmParams {
                selection: ConfigSelection::HeldOut { n: 0 },
                ..LvmParams::default()
            },
            1.0
        )
        .contains("held-out")
    );
    let nan = ScoresFn::new(1, 2, |_x: &[f64]| [f64::INFINITY, 0.0]);
    let p = LvmParams {
        n: 10,
        ..LvmParams::default()
    };
    assert!(certify_lvm(&nan, &[0.0], 1.0, &p, &s).is_err());
}

#[test]
fn zero_variance_scores_give_the_closed_form_bernstein_bound() {
    // sparsemax(4, 0) = (1, 0) whatever the noise: V_n = 0, so G̲_A = 1 − 7·ln(2/δ)/(3(n − 1))
    // and Ḡ_B = 7·ln(2/δ)/(3(n − 1)), δ = α/(2·K·M) with K = 2, M = 1.
    let f = ScoresFn::new(1, 2, |x: &[f64]| [4.0 + 0.01 * x[0], 0.0]);
    let p = LvmParams {
        n: 5000,
        batch: 1000,
        configs: vec![MapConfig::sparsemax(1.0)],
        ..LvmParams::default()
    };
    let c = certify_lvm(&f, &[0.0], 0.5, &p, &RngStreams::new(4)).unwrap();
    let delta = p.alpha / 4.0;
    let w = 7.0 * (2.0 / delta).ln() / (3.0 * 4999.0);
    assert_eq!(c.delta, delta);
    assert!((c.lower_a - (1.0 - w)).abs() < 1e-15 && c.lower_a <= 1.0 - w);
    assert!((c.upper_b - w).abs() < 1e-15 && c.upper_b >= w);
    // σ/2 = 0.25.
    assert!(
        (c.r_multi - 0.25 * (normal::inverse_cdf(1.0 - w) - normal::inverse_cdf(w))).abs() < 1e-12
    );
    // Hard votes on the same samples: Clopper–Pearson at the same δ, α^{1/n} closed form.
    let h = LvmParams {
        configs: vec![MapConfig::argmax()],
        ..p
    };
    let c = certify_lvm(&f, &[0.0], 0.5, &h, &RngStreams::new(4)).unwrap();
    let exact = delta.powf(1.0 / 5000.0);
    assert!(c.lower_a <= exact && c.lower_a > exact - 1e-14);
}

/// Violations of the true radius for the hard-vote configuration of a linear model, where the
/// smoothed classifier is the Cohen one and its radius |w·x + b|/‖w‖ is known.
fn violations(selection: ConfigSelection, reps: u64, alpha: f64) -> usize {
    let f = ScoresFn::new(2, 2, |x: &[f64]| [x[0] - 0.5 * x[1] - 0.05, 0.0]);
    let x = [0.4, 0.1];
    let w_norm = (1.0_f64 + 0.25).sqrt();
    let margin: f64 = 0.4 - 0.05 - 0.05;
    let true_radius = margin.abs() / w_norm;
    let params = LvmParams {
        n: 300,
        alpha,
        batch: 300,
        configs: vec![MapConfig::argmax()],
        selection,
    };
    (0..reps)
        .filter(|&r| {
            let c = certify_lvm(&f, &x, 0.5, &params, &input_streams(21, r)).unwrap();
            c.class
                .is_some_and(|cls| cls != 0 || c.radius > true_radius)
        })
        .count()
}

#[test]
fn hard_vote_certificates_cover_the_true_radius() {
    let (reps, alpha) = (200, 0.2);
    let limit = alpha * reps as f64 + 3.0 * (alpha * (1.0 - alpha) * reps as f64).sqrt();
    for sel in [
        ConfigSelection::UnionBound,
        ConfigSelection::HeldOut { n: 50 },
    ] {
        let bad = violations(sel, reps, alpha);
        assert!(bad as f64 <= limit, "{sel:?}: {bad}");
    }
}

#[test]
fn all_inputs_reproducible_across_thread_counts() {
    let f = two_logits();
    let p = LvmParams {
        n: 500,
        batch: 100,
        ..LvmParams::default()
    };
    let inputs = [0.3, 0.0, -0.4, 0.2, 1.0, 1.0];
    let run = |t| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .unwrap()
            .install(|| certify_lvm_all(&f, &inputs, 0.25, &p, 5).unwrap())
    };
    assert_eq!(run(1), run(2));
    let err = certify_lvm_all(&f, &inputs[..5], 0.25, &p, 5).unwrap_err();
    assert!(err.to_string().contains("multiple of input_dim"), "{err}");
}
