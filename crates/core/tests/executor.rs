//! The run loop: stopping rules, budgets, traces, observers, divergence.

use std::cell::RefCell;
use std::time::Duration;

use lisse_core::{
    CountKind, Counted, Dimension, Error, Executor, Gradient, OracleCounts, Result, RngStreams,
    Solver, StochasticGradient, StopReason, Stopping, TraceRecord,
};
use nalgebra::{DVector, dvector};
use rand::{Rng, RngExt};

/// f(x) = ½ Σ aᵢ xᵢ², minimizer 0.
struct Diagonal(DVector<f64>);
impl Dimension for Diagonal {
    fn dim(&self) -> usize {
        self.0.len()
    }
}
impl Gradient for Diagonal {
    fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        lisse_core::check_dim("x", self.dim(), x.len())?;
        out.copy_from(&x.component_mul(&self.0));
        Ok(())
    }
}
/// ∇f plus uniform noise in [-s, s] per coordinate, 4 samples per call.
impl StochasticGradient for Diagonal {
    fn stochastic_gradient_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.gradient_into(x, out)?;
        for o in out.iter_mut() {
            *o += rng.random_range(-0.1..0.1);
        }
        Ok(())
    }
    fn samples_per_call(&self) -> usize {
        4
    }
}

struct Gd {
    f: Counted<Diagonal>,
    x: DVector<f64>,
    g: DVector<f64>,
    step: f64,
    stochastic: bool,
}
impl Solver for Gd {
    fn name(&self) -> &'static str {
        "gd"
    }
    fn step<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Result<()> {
        if self.stochastic {
            self.f.stochastic_gradient_into(&self.x, rng, &mut self.g)?;
        } else {
            self.f.gradient_into(&self.x, &mut self.g)?;
        }
        self.x.axpy(-self.step, &self.g, 1.0);
        Ok(())
    }
    fn iterate(&self) -> &DVector<f64> {
        &self.x
    }
    fn counts(&self) -> OracleCounts {
        self.f.counts()
    }
    fn residual(&self) -> Option<f64> {
        // No residual before the first gradient.
        (self.f.counts().gradients > 0).then(|| self.g.norm())
    }
}

fn gd(step: f64, stochastic: bool) -> Gd {
    Gd {
        f: Counted::new(Diagonal(dvector![1.0, 4.0])),
        x: dvector![1.0, 1.0],
        g: DVector::zeros(2),
        step,
        stochastic,
    }
}

#[test]
fn max_iters_stops_exactly() {
    let mut s = gd(0.1, false);
    let r = Executor::new(Stopping::new().max_iters(17))
        .run(&mut s, &mut RngStreams::new(0).stream(0))
        .unwrap();
    assert_eq!(r.stop_reason, StopReason::MaxIterations);
    assert_eq!(r.iterations, 17);
    assert_eq!(r.counts.gradients, 17);
    // Recorded at 0..=17.
    assert_eq!(r.trace.records.len(), 18);
    // GD with step 0.1 on diag(1, 4): x_k = ((0.9)^k, (0.6)^k).
    assert!((r.final_point[0] - 0.9f64.powi(17)).abs() < 1e-15);
    assert!((r.final_point[1] - 0.6f64.powi(17)).abs() < 1e-15);
}

#[test]
fn budget_counts_samples_and_gradients() {
    let mut s = gd(0.1, true);
    let r = Executor::new(
        Stopping::new()
            .budget(CountKind::Samples, 40)
            .max_iters(1000),
    )
    .record_every(0)
    .run(&mut s, &mut RngStreams::new(1).stream(0))
    .unwrap();
    assert_eq!(r.stop_reason, StopReason::OracleBudget);
    assert_eq!(r.counts.samples, 40);
    assert_eq!(r.counts.gradients, 10);
    assert_eq!(
        r.trace.records.len(),
        2,
        "record_every(0) keeps only start and end"
    );
}

#[test]
fn tolerance_stops_when_residual_is_small() {
    let mut s = gd(0.2, false);
    let r = Executor::new(Stopping::new().tolerance(1e-6).max_iters(10_000))
        .run(&mut s, &mut RngStreams::new(0).stream(0))
        .unwrap();
    assert_eq!(r.stop_reason, StopReason::Tolerance);
    assert!(r.trace.records.last().unwrap().residual.unwrap() <= 1e-6);
    assert!(r.iterations < 10_000);
}

#[test]
fn max_time_stops() {
    let mut s = gd(0.1, false);
    let r = Executor::new(Stopping::new().max_time(Duration::from_millis(5)))
        .record_every(0)
        .run(&mut s, &mut RngStreams::new(0).stream(0))
        .unwrap();
    assert_eq!(r.stop_reason, StopReason::MaxTime);
    assert!(r.elapsed_s >= 0.005);
}

#[test]
fn no_stopping_rule_is_an_error() {
    let mut s = gd(0.1, false);
    let e = Executor::new(Stopping::new())
        .run(&mut s, &mut RngStreams::new(0).stream(0))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { .. }));
    assert!(e.to_string().contains("at least one of max_iters"));
    let e = Executor::new(Stopping::new().tolerance(f64::NAN))
        .run(&mut s, &mut RngStreams::new(0).stream(0));
    assert!(matches!(e, Err(Error::InvalidParameter { .. })));
}

#[test]
fn divergence_is_reported_as_non_finite() {
    // Step 1.0 on curvature 4 diverges: x₁ ← −3 x₁ until it overflows.
    let mut s = gd(1.0, false);
    let e = Executor::new(Stopping::new().max_iters(10_000))
        .run(&mut s, &mut RngStreams::new(0).stream(0))
        .unwrap_err();
    match e {
        Error::NonFinite { what, index, .. } => {
            assert_eq!(index, 1);
            assert!(what.contains("iterate of gd"));
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
}

#[test]
fn metrics_and_observers_see_every_record() {
    let seen = RefCell::new(Vec::<u64>::new());
    let mut s = gd(0.1, false);
    let r = Executor::new(Stopping::new().max_iters(25))
        .record_every(10)
        .metric("x0", |x| x[0])
        .observer(|name: &str, rec: &TraceRecord| {
            assert_eq!(name, "gd");
            seen.borrow_mut().push(rec.iter);
        })
        .run(&mut s, &mut RngStreams::new(0).stream(0))
        .unwrap();
    assert_eq!(*seen.borrow(), vec![0, 10, 20, 25]);
    let series = r.trace.metric_series("x0");
    assert_eq!(
        series.iter().map(|p| p.0).collect::<Vec<_>>(),
        vec![0, 10, 20, 25]
    );
    assert!((series[1].1 - 0.9f64.powi(10)).abs() < 1e-15);
    // The report round-trips through JSON.
    let json = serde_json::to_string(&r).unwrap();
    let back: lisse_core::Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
}

#[test]
fn same_seed_same_run() {
    let run = |seed| {
        let mut s = gd(0.1, true);
        Executor::new(Stopping::new().max_iters(50))
            .run(&mut s, &mut RngStreams::new(seed).stream(0))
            .unwrap()
    };
    assert_eq!(run(5).final_point, run(5).final_point);
    assert_ne!(run(5).final_point, run(6).final_point);
}
