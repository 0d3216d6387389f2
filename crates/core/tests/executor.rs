//! The run loop: stopping rules, budgets, traces, observers, divergence.

use std::sync::Mutex;
use std::time::Duration;

use lisse_core::solver::{GradientDescent, Sgd, StepSize};
use lisse_core::{
    CountKind, Counted, Dimension, Error, Executor, Gradient, OracleCounts, OracleKind, Result,
    RngStreams, Sampler, Solver, StochasticGradient, StopReason, Stopping, StreamRng, TraceRecord,
};
use nalgebra::{DVector, dvector};
use rand::{Rng, RngExt};

/// f(x) = ½ Σ aᵢ xᵢ², minimizer 0.
struct Diagonal(DVector<f64>);
impl Dimension for Diagonal {
    fn dim(&self) -> usize {
        self.0.len()
    }
    fn full_batch_size(&self) -> usize {
        0
    }
}
impl Gradient for Diagonal {
    fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        lisse_core::check_dim("x", self.dim(), x.len())?;
        out.copy_from(&x.component_mul(&self.0));
        Ok(())
    }
}
/// The sample is a noise vector, uniform in [-0.1, 0.1] per coordinate, counted as 4 samples
/// per draw (as if averaged from 4 observations).
impl Sampler for Diagonal {
    type Sample = DVector<f64>;
    fn empty_sample(&self) -> DVector<f64> {
        DVector::zeros(self.dim())
    }
    fn draw_into<R: Rng + ?Sized>(&self, rng: &mut R, s: &mut DVector<f64>) -> Result<()> {
        for o in s.iter_mut() {
            *o = rng.random_range(-0.1..0.1);
        }
        Ok(())
    }
    fn samples_per_draw(&self) -> usize {
        4
    }
    fn points_read(&self, _s: &DVector<f64>) -> usize {
        4
    }
}
/// ∇f plus the sample.
impl StochasticGradient for Diagonal {
    fn gradient_at_into(
        &self,
        x: &DVector<f64>,
        s: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.gradient_into(x, out)?;
        *out += s;
        Ok(())
    }
}

struct Gd {
    f: Counted<Diagonal>,
    x: DVector<f64>,
    g: DVector<f64>,
    sample: DVector<f64>,
    step: f64,
    stochastic: bool,
}
impl Solver for Gd {
    fn name(&self) -> &'static str {
        "gd"
    }
    fn step(&mut self, rng: &mut StreamRng) -> Result<()> {
        if self.stochastic {
            self.f.draw_into(rng, &mut self.sample)?;
            self.f
                .gradient_at_into(&self.x, &self.sample, &mut self.g)?;
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
        (self.f.counts().calls.gradients > 0).then(|| self.g.norm())
    }
}

fn gd(step: f64, stochastic: bool) -> Gd {
    Gd {
        f: Counted::new(Diagonal(dvector![1.0, 4.0])),
        x: dvector![1.0, 1.0],
        g: DVector::zeros(2),
        sample: DVector::zeros(2),
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
    assert_eq!(r.counts.calls.gradients, 17);
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
    assert_eq!(r.counts.draws, 10);
    assert_eq!(r.counts.calls.gradients, 10);
    assert_eq!(r.counts.points.gradients, 40);
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
    // Issue 6, item 2: a tolerance alone may never fire (SGD has no residual).
    let e = Executor::new(Stopping::new().tolerance(1e-8))
        .run(&mut s, &mut RngStreams::new(0).stream(0))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { .. }));
    assert!(e.to_string().contains("a tolerance alone"), "{e}");
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
            assert!(what.contains("after iteration"), "{what}");
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
}

#[test]
fn the_loop_runs_on_a_rayon_worker_from_any_thread() {
    // Every step, metric and observer call runs on a pool worker, whether `run` is called from
    // a foreign thread (this test's) or from inside a pool (where it must stay on the caller's
    // worker, not hand over again).
    let on_worker = Mutex::new(Vec::new());
    let run = || {
        let mut s = gd(0.1, false);
        Executor::new(Stopping::new().max_iters(3))
            .metric("worker", |_: &dyn Solver| {
                f64::from(u8::from(rayon::current_thread_index().is_some()))
            })
            .observer(|_: &dyn Solver, _: &TraceRecord| {
                on_worker
                    .lock()
                    .unwrap()
                    .push(rayon::current_thread_index());
            })
            .run(&mut s, &mut RngStreams::new(0).stream(0))
            .unwrap()
    };
    assert!(rayon::current_thread_index().is_none());
    let from_main = run();
    assert!(
        from_main
            .trace
            .metric_series("worker")
            .iter()
            .all(|p| p.1 > 0.5)
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let (caller, inside) = pool.install(|| (rayon::current_thread_index(), run()));
    assert!(
        inside
            .trace
            .metric_series("worker")
            .iter()
            .all(|p| p.1 > 0.5)
    );
    let seen = on_worker.lock().unwrap();
    assert_eq!(seen.len(), 2 * 4);
    assert!(seen.iter().all(Option::is_some));
    // Inside the pool, the run stayed on the calling worker.
    assert!(seen[4..].iter().all(|&i| i == caller));
}

#[test]
fn metrics_and_observers_see_every_record() {
    let seen = Mutex::new(Vec::<u64>::new());
    let mut s = gd(0.1, false);
    let r = Executor::new(Stopping::new().max_iters(25))
        .record_every(10)
        .metric("x0", |s: &dyn Solver| s.iterate()[0])
        .observer(|solver: &dyn Solver, rec: &TraceRecord| {
            assert_eq!(solver.name(), "gd");
            assert_eq!(solver.counts().calls.gradients, rec.iter);
            seen.lock().unwrap().push(rec.iter);
        })
        .run(&mut s, &mut RngStreams::new(0).stream(0))
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![0, 10, 20, 25]);
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

/// Issue 6, item 2: runs that could never end are refused or stopped with a typed error.
#[test]
fn runs_that_cannot_end_are_errors() {
    // A Samples budget on an analytic oracle that draws nothing (the README's pattern on a
    // quadratic): the count never moves.
    let mut s = gd(0.1, false);
    let e = Executor::new(Stopping::new().budget(CountKind::Samples, 10 * 1797))
        .run(&mut s, &mut RngStreams::new(0).stream(0))
        .unwrap_err();
    match &e {
        Error::Stalled { rule, reason } => {
            assert!(rule.contains("Samples"), "{rule}");
            assert!(reason.contains("iteration 1"), "{reason}");
        }
        other => panic!("expected Stalled, got {other:?}"),
    }
    // A budget on HVPs for a solver that never calls one.
    let mut s = gd(0.1, true);
    let e = Executor::new(Stopping::new().budget(CountKind::Calls(OracleKind::Hvp), 5))
        .run(&mut s, &mut RngStreams::new(0).stream(0))
        .unwrap_err();
    assert!(matches!(e, Error::Stalled { .. }), "{e:?}");
    assert!(e.to_string().contains("Hvp"), "{e}");
    // A tolerance below what the solver can reach, with a cap: the cap ends it.
    let mut s = gd(0.1, true);
    let r = Executor::new(Stopping::new().tolerance(0.0).max_iters(100))
        .run(&mut s, &mut RngStreams::new(0).stream(0))
        .unwrap();
    assert_eq!(r.stop_reason, StopReason::MaxIterations);
    // The same budget with an iteration cap is a normal run.
    let mut s = gd(0.1, false);
    let r = Executor::new(Stopping::new().budget(CountKind::Samples, 10).max_iters(20))
        .run(&mut s, &mut RngStreams::new(0).stream(0))
        .unwrap();
    assert_eq!(r.stop_reason, StopReason::MaxIterations);
}

/// Issue 6, item 17: two million SGD steps must not keep two million records.
#[test]
fn default_trace_is_bounded() {
    let mut s = gd(0.1, false);
    let r = Executor::new(Stopping::new().max_iters(2_000_000))
        .run(&mut s, &mut RngStreams::new(0).stream(0))
        .unwrap();
    let n = r.trace.records.len();
    assert!(n <= lisse_core::DEFAULT_MAX_RECORDS, "{n} records");
    assert!(n >= lisse_core::DEFAULT_MAX_RECORDS / 2, "{n} records");
    assert_eq!(r.trace.records.first().unwrap().iter, 0);
    assert_eq!(r.trace.records.last().unwrap().iter, 2_000_000);
    // Evenly thinned: every gap but the last is the same.
    let gaps: Vec<u64> = r
        .trace
        .records
        .windows(2)
        .map(|w| w[1].iter - w[0].iter)
        .collect();
    assert!(
        gaps[..gaps.len() - 1].iter().all(|&g| g == gaps[0]),
        "{:?}",
        &gaps[..4]
    );
    // A small explicit bound.
    let mut s = gd(0.1, false);
    let r = Executor::new(Stopping::new().max_iters(1000))
        .max_records(10)
        .run(&mut s, &mut RngStreams::new(0).stream(0))
        .unwrap();
    assert!(r.trace.records.len() <= 10 && r.trace.records.len() >= 5);
    assert_eq!(r.trace.records.last().unwrap().iter, 1000);
}

/// Issue 6, item 13: a diverging GD reports the iteration, even when the projection or the
/// oracle sees the non-finite value before the executor does.
#[test]
fn divergence_names_the_iteration() {
    let f = Diagonal(dvector![1.0, 4.0]);
    let mut gd = GradientDescent::new(f, dvector![1.0, 1.0], StepSize::Constant(1e300)).unwrap();
    let e = Executor::new(Stopping::new().max_iters(100))
        .run(&mut gd, &mut RngStreams::new(0).stream(0))
        .unwrap_err();
    match e {
        Error::NonFinite { what, .. } => {
            assert!(what.contains("gd"), "{what}");
            assert!(what.contains("iteration"), "{what}");
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
}

/// Issue 5 acceptance: a list of boxed solvers (GD and SGD) runs through one executor with a
/// metric that reads the solver's state.
#[test]
fn boxed_solvers_run_through_one_executor() {
    let mut solvers: Vec<Box<dyn Solver>> = vec![
        Box::new(
            GradientDescent::new(
                Diagonal(dvector![1.0, 4.0]),
                dvector![1.0, 1.0],
                StepSize::Constant(0.2),
            )
            .unwrap(),
        ),
        Box::new(
            Sgd::new(
                Diagonal(dvector![1.0, 4.0]),
                dvector![1.0, 1.0],
                StepSize::Constant(0.2),
            )
            .unwrap(),
        ),
    ];
    let mut finals = Vec::new();
    for solver in &mut solvers {
        let r = Executor::new(Stopping::new().max_iters(200))
            .record_every(50)
            .metric("distance", |s: &dyn Solver| s.iterate().norm())
            .metric("has_y", |s: &dyn Solver| {
                f64::from(u8::from(s.lower_iterate().is_some()))
            })
            .run(solver.as_mut(), &mut RngStreams::new(3).stream(0))
            .unwrap();
        let d = r.trace.metric_series("distance");
        assert_eq!(d.len(), 5);
        assert!((d.last().unwrap().1 - r.final_point.norm()).abs() < 1e-15);
        assert!(d.last().unwrap().1 < d[0].1);
        assert!(r.trace.metric_series("has_y")[0].1.abs() < 0.5);
        finals.push((r.solver.clone(), r.final_point.norm(), r.counts));
    }
    assert_eq!(finals[0].0, "gd");
    assert_eq!(finals[1].0, "sgd");
    assert!(finals[0].1 < 1e-12);
    // SGD stalls at the noise level, GD does not.
    assert!(finals[1].1 > finals[0].1);
    assert_eq!(finals[1].2.samples, 800);
}

/// `init` runs once, before the first record, with the run's generator, and its calls count.
#[test]
fn init_runs_once_before_the_first_record() {
    struct Warm {
        inner: Gd,
        inits: u32,
    }
    impl Solver for Warm {
        fn name(&self) -> &'static str {
            "warm"
        }
        fn init(&mut self, rng: &mut StreamRng) -> Result<()> {
            self.inits += 1;
            for _ in 0..3 {
                self.inner.step(rng)?;
            }
            Ok(())
        }
        fn step(&mut self, rng: &mut StreamRng) -> Result<()> {
            self.inner.step(rng)
        }
        fn iterate(&self) -> &DVector<f64> {
            self.inner.iterate()
        }
        fn counts(&self) -> OracleCounts {
            self.inner.counts()
        }
    }
    let mut w = Warm {
        inner: gd(0.1, true),
        inits: 0,
    };
    let r = Executor::new(Stopping::new().max_iters(2))
        .run(&mut w, &mut RngStreams::new(0).stream(0))
        .unwrap();
    assert_eq!(w.inits, 1);
    assert_eq!(r.trace.records[0].counts.calls.gradients, 3);
    assert_eq!(r.counts.calls.gradients, 5);
}
