//! Sequential certification: early decisions, saved passes, and the error budget.

use lisse_core::RngStreams;
use lisse_smoothing::classifier::LabelsFn;
use lisse_smoothing::noise::input_streams;
use lisse_smoothing::sequential::{Decision, SequentialParams, certify_sequential};

fn halfplane() -> impl lisse_smoothing::BaseClassifier {
    LabelsFn::new(1, 2, |x: &[f64]| usize::from(x[0] > 0.0))
}

#[test]
fn hopeless_targets_stop_at_the_first_stage() {
    let c = certify_sequential(
        &halfplane(),
        &[0.0],
        1.0,
        0.5,
        &SequentialParams::default(),
        &RngStreams::new(2),
    )
    .unwrap();
    assert_eq!(c.decision, Decision::OutOfReach);
    assert_eq!((c.stage, c.n, c.forward_passes), (0, 1000, 1100));
    assert_eq!(c.class, None);
}

#[test]
fn borderline_targets_use_more_stages() {
    // True radius 0.3 at σ = 1; target 0.25 needs many samples.
    let c = certify_sequential(
        &halfplane(),
        &[0.3],
        1.0,
        0.25,
        &SequentialParams::default(),
        &RngStreams::new(3),
    )
    .unwrap();
    assert!(c.stage >= 1, "{c:?}");
    if c.decision == Decision::Certified {
        assert!(c.radius >= 0.25 && c.radius < 0.3);
    }
}

#[test]
fn false_certificates_stay_within_alpha() {
    // True radius 0.2 (x₀ = 0.2, σ = 1); any certificate at target 0.2 + 0.05 is wrong.
    let p = SequentialParams {
        n0: 10,
        stages: vec![100, 400, 1600],
        alpha: 0.3,
        beta: 0.05,
        batch: 400,
    };
    let reps = 200;
    let bad = (0..reps)
        .filter(|&r| {
            let c = certify_sequential(&halfplane(), &[0.2], 1.0, 0.25, &p, &input_streams(8, r))
                .unwrap();
            c.decision == Decision::Certified
        })
        .count();
    let limit = 0.3 * reps as f64 + 3.0 * (0.3 * 0.7 * reps as f64).sqrt();
    assert!((bad as f64) <= limit, "{bad} false certificates in {reps}");
}

#[test]
fn errors_are_typed() {
    let f = halfplane();
    let s = RngStreams::new(0);
    let e = |p: SequentialParams, r: f64| {
        certify_sequential(&f, &[1.0], 1.0, r, &p, &s)
            .unwrap_err()
            .to_string()
    };
    assert!(
        e(
            SequentialParams {
                stages: vec![],
                ..SequentialParams::default()
            },
            0.1
        )
        .contains("stages")
    );
    assert!(
        e(
            SequentialParams {
                stages: vec![10, 10],
                ..SequentialParams::default()
            },
            0.1
        )
        .contains("stages")
    );
    assert!(
        e(
            SequentialParams {
                beta: 0.0,
                ..SequentialParams::default()
            },
            0.1
        )
        .contains("beta")
    );
    assert!(
        e(
            SequentialParams {
                alpha: 1.0,
                ..SequentialParams::default()
            },
            0.1
        )
        .contains("alpha")
    );
    assert!(
        e(
            SequentialParams {
                n0: 0,
                ..SequentialParams::default()
            },
            0.1
        )
        .contains("n0")
    );
    assert!(e(SequentialParams::default(), -1.0).contains("target_radius"));
}
