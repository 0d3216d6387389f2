//! The `bilevel` job: BO-REP (Hao, Gong & Liu, ICLR 2024) against StocBiO, TTSA, SOBA,
//! MA-SOBA and AmIGO, and against training on the noisy labels.
//!
//! 1. Data hyper-cleaning on the embedded digits (train 1,000 / validation 300 / test 497,
//!    labels corrupted with probability p = 0.3, c = 0.01, batches of 64): every method gets
//!    the same budget of *points read* (`CountKind::TotalPoints`, samples touched by all
//!    evaluations); test accuracy of the lower variable W and the F1 of flagging σ(λᵢ) < ½ as
//!    corrupted, against points read and against wall time, over several seeds.
//! 2. The quadratic bilevel problem (closed-form ∇Φ): ‖∇Φ(x)‖ against points read.
//!
//! Runs go in parallel over (method, seed) with an indexed rayon map, each with its own random
//! stream, so every number except wall time is the same for any `RAYON_NUM_THREADS`.

use std::path::Path;

use lisse_bilevel::hypergradient::{LinearSystem, RandomizedNeumann};
use lisse_bilevel::problem::{
    BilevelProblem, ClosedForm, HyperCleaning, HyperCleaningSpec, LowerLevel, QuadraticBilevel,
    QuadraticSpec, UpperLevel,
};
use lisse_bilevel::schedule::EpochSgd;
use lisse_bilevel::solver::{
    Amigo, AmigoConfig, BoRep, BoRepConfig, MaSoba, MaSobaConfig, Soba, SobaConfig, StocBio,
    StocBioConfig, Ttsa, TtsaConfig,
};
use lisse_core::solver::StepSize;
use lisse_core::{CountKind, Executor, Report, RngStreams, Solver, Stopping};
use lisse_examples::{
    AnyError, Scale, Series, line_plot_svg, markdown_table, output_dir, write_json,
};
use nalgebra::DVector;
use rayon::prelude::*;
use serde::Serialize;

use crate::Options;

/// The methods, in table order.
const METHODS: [&str; 7] = [
    "bo-rep (paper)",
    "bo-rep (public code)",
    "stocbio",
    "ttsa",
    "soba",
    "ma-soba",
    "amigo",
];

/// Step sizes of one problem family (see `docs/bilevel.md` for how they were chosen).
#[derive(Debug, Clone, Copy, Serialize)]
struct Steps {
    /// Lower-level (and z) step.
    inner: f64,
    /// Upper-level SGD-type step.
    outer: f64,
    /// BO-REP's step length η.
    eta: f64,
    /// C_g used by the Neumann series (1/inner).
    neumann_smoothness: f64,
    /// BO-REP's ball radius R and Epoch-SGD radius D₁.
    radius: f64,
}

/// Builds method `k` on `problem`.
fn make<'a, F, G>(
    k: usize,
    problem: BilevelProblem<F, G>,
    steps: Steps,
    x0: DVector<f64>,
    y0: DVector<f64>,
) -> Result<Box<dyn Solver + 'a>, AnyError>
where
    F: UpperLevel + std::fmt::Debug + 'a,
    G: LowerLevel + std::fmt::Debug + 'a,
{
    let s = steps;
    let decaying = |c: f64, p: f64| StepSize::Decaying { eta0: c, power: p };
    Ok(match k {
        0 => {
            let init = EpochSgd::new(s.inner, 5, s.radius, 200)?;
            Box::new(BoRep::new(
                problem,
                RandomizedNeumann::new(10)?.with_smoothness(s.neumann_smoothness)?,
                BoRepConfig::paper(s.eta, s.inner, s.radius, init),
                x0,
                y0,
            )?)
        }
        1 => Box::new(BoRep::new(
            problem,
            LinearSystem::new(StepSize::Constant(s.inner))?,
            BoRepConfig::public_code(s.eta, s.inner),
            x0,
            y0,
        )?),
        2 => Box::new(StocBio::new(
            problem,
            StocBioConfig {
                inner_steps: 5,
                neumann_steps: 10,
                neumann_eta: Some(1.0 / s.neumann_smoothness),
                ..StocBioConfig::new(s.inner, s.outer)
            },
            x0,
            y0,
        )?),
        3 => Box::new(Ttsa::new(
            problem,
            TtsaConfig {
                neumann_smoothness: Some(s.neumann_smoothness),
                ..TtsaConfig::new(s.inner, s.outer)
            },
            x0,
            y0,
        )?),
        4 => Box::new(Soba::new(
            problem,
            SobaConfig::new(s.inner, s.outer),
            x0,
            y0,
        )?),
        5 => Box::new(MaSoba::new(
            problem,
            MaSobaConfig::new(s.inner, s.outer),
            x0,
            y0,
        )?),
        _ => Box::new(Amigo::new(
            problem,
            AmigoConfig {
                inner_steps: 5,
                linear_steps: 5,
                // Constant steps (benchopt's exponent 0). With the other methods' outer step
                // and z-step AmIGO's warm-started z diverged on hyper-cleaning seeds, so it
                // takes a tenth of the outer step and 0.3 of the z-step.
                inner_step: decaying(s.inner, 0.0),
                linear_step: decaying(0.3 * s.inner, 0.0),
                outer_step: decaying(s.outer / 10.0, 0.0),
            },
            x0,
            y0,
        )?),
    })
}

/// One record of a run.
#[derive(Debug, Clone, Serialize)]
struct Point {
    points: u64,
    calls: u64,
    seconds: f64,
    values: Vec<f64>,
}

/// One run of one method on one seed.
#[derive(Debug, Clone, Serialize)]
struct Run {
    method: String,
    seed: u64,
    iterations: u64,
    seconds: f64,
    metrics: Vec<String>,
    trace: Vec<Point>,
}

impl Run {
    fn from_report(method: &str, seed: u64, names: &[&str], r: &Report) -> Self {
        Self {
            method: method.to_owned(),
            seed,
            iterations: r.iterations,
            seconds: r.elapsed_s,
            metrics: names.iter().map(|s| (*s).to_owned()).collect(),
            trace: r
                .trace
                .records
                .iter()
                .map(|rec| Point {
                    points: rec.counts.get(CountKind::TotalPoints),
                    calls: rec.counts.get(CountKind::TotalCalls),
                    seconds: rec.elapsed_s,
                    values: names.iter().map(|n| rec.metrics[*n]).collect(),
                })
                .collect(),
        }
    }

    fn last(&self, k: usize) -> f64 {
        self.trace.last().map_or(f64::NAN, |p| p.values[k])
    }
}

#[derive(Debug, Serialize)]
struct Results {
    corruption: f64,
    budget_points: u64,
    seeds: u64,
    hyper_cleaning_steps: Steps,
    quadratic_steps: Steps,
    noisy_label_accuracy: Vec<f64>,
    hyper_cleaning: Vec<Run>,
    quadratic: Vec<Run>,
}

pub(crate) fn run(opts: Options) -> Result<(), AnyError> {
    let (seeds, budget) = if opts.full {
        (5u64, 4_000_000u64)
    } else {
        (3, 1_000_000)
    };
    let spec = HyperCleaningSpec::default();
    println!(
        "== bilevel: BO-REP vs StocBiO, TTSA, SOBA, MA-SOBA, AmIGO on data hyper-cleaning \
         (digits, p = {}, {seeds} seeds, {budget} points read each) and on a quadratic",
        spec.corruption
    );
    let out = output_dir("bilevel")?;
    let streams = RngStreams::new(opts.seed);

    // Hyper-cleaning.
    let steps = Steps {
        inner: 1.0,
        outer: 1000.0,
        eta: 0.3,
        neumann_smoothness: 1.0,
        radius: 10.0,
    };
    // Each task builds its own instance from the seed's stream (the problems keep sample
    // buffers, so they are not shared across threads); the same seed gives the same instance.
    let instance = |s: u64| HyperCleaning::digits(&spec, &mut streams.child(s).stream(0));
    let noisy: Vec<f64> = (0..seeds)
        .into_par_iter()
        .map(|s| -> Result<f64, AnyError> {
            let hc = instance(s)?;
            let w = hc.fit_lower(
                &DVector::zeros(hc.n_train()),
                &DVector::zeros(hc.dim_model()),
                30,
            )?;
            Ok(hc.test_accuracy(&w)?)
        })
        .collect::<Result<_, _>>()?;
    let jobs: Vec<(usize, u64)> = (0..METHODS.len())
        .flat_map(|m| (0..seeds).map(move |s| (m, s)))
        .collect();
    let names = ["test_accuracy", "f1"];
    let cleaning: Vec<Run> = jobs
        .par_iter()
        .map(|&(m, s)| -> Result<Run, AnyError> {
            let hc = instance(s)?;
            let mut solver = make(
                m,
                hc.problem()?,
                steps,
                DVector::zeros(hc.n_train()),
                DVector::zeros(hc.dim_model()),
            )?;
            let report = Executor::new(
                Stopping::new()
                    .budget(CountKind::TotalPoints, budget)
                    .max_iters(10 * budget),
            )
            .record_every(100)
            .max_records(200)
            .metric("test_accuracy", |sv: &dyn Solver| {
                sv.lower_iterate()
                    .map_or(f64::NAN, |w| hc.test_accuracy(w).unwrap_or(f64::NAN))
            })
            .metric("f1", |sv: &dyn Solver| {
                hc.detection_f1(sv.iterate()).unwrap_or(f64::NAN)
            })
            .run(solver.as_mut(), &mut streams.child(s).stream(1 + m as u64))?;
            Ok(Run::from_report(METHODS[m], s, &names, &report))
        })
        .collect::<Result<_, _>>()?;

    let (quadratic, qsteps, g0) = quadratic_runs(&streams, budget)?;

    let table = tables(&cleaning, &noisy, &quadratic, g0);
    println!("{table}");
    std::fs::write(out.join("table.md"), &table)?;
    write_plots(&out, &cleaning, &quadratic)?;
    write_json(
        &out.join("results.json"),
        &Results {
            corruption: spec.corruption,
            budget_points: budget,
            seeds,
            hyper_cleaning_steps: steps,
            quadratic_steps: qsteps,
            noisy_label_accuracy: noisy,
            hyper_cleaning: cleaning,
            quadratic,
        },
    )?;
    println!("wrote {}", out.display());
    Ok(())
}

/// Every method on the quadratic bilevel problem; returns the runs, the steps and ‖∇Φ(x₀)‖.
fn quadratic_runs(streams: &RngStreams, budget: u64) -> Result<(Vec<Run>, Steps, f64), AnyError> {
    let quad = QuadraticBilevel::random(
        &QuadraticSpec {
            dim_x: 20,
            dim_y: 20,
            n_lower: 512,
            n_upper: 512,
            batch_size: 32,
            ..QuadraticSpec::default()
        },
        &mut streams.stream(100),
    )?;
    let l_phi = quad.phi_hessian().symmetric_eigenvalues().max();
    let c_g = quad.constants().smoothness;
    let qsteps = Steps {
        inner: 0.5 / c_g,
        outer: 0.5 / l_phi,
        eta: 0.02,
        neumann_smoothness: c_g,
        radius: 2.0,
    };
    let x0 = DVector::from_element(20, 2.0);
    let quadratic: Vec<Run> = (0..METHODS.len())
        .into_par_iter()
        .map(|m| -> Result<Run, AnyError> {
            let mut solver = make(m, quad.problem()?, qsteps, x0.clone(), DVector::zeros(20))?;
            let report = Executor::new(
                Stopping::new()
                    .budget(CountKind::TotalPoints, 4 * budget)
                    .max_iters(10 * budget),
            )
            .record_every(50)
            .max_records(200)
            .metric("grad_norm", |sv: &dyn Solver| {
                quad.hypergradient(sv.iterate())
                    .map_or(f64::NAN, |g| g.norm())
            })
            .run(solver.as_mut(), &mut streams.stream(200 + m as u64))?;
            Ok(Run::from_report(METHODS[m], 0, &["grad_norm"], &report))
        })
        .collect::<Result<_, _>>()?;

    Ok((quadratic, qsteps, quad.hypergradient(&x0)?.norm()))
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

fn tables(cleaning: &[Run], noisy: &[f64], quadratic: &[Run], g0: f64) -> String {
    let (nm, ns) = mean_sd(noisy);
    let mut rows = vec![vec![
        "noisy labels (λ = 0)".to_owned(),
        format!("{:.2}% ± {:.2}%", 100.0 * nm, 100.0 * ns),
        "—".to_owned(),
        "—".to_owned(),
        "—".to_owned(),
        "—".to_owned(),
    ]];
    for m in METHODS {
        let runs: Vec<&Run> = cleaning.iter().filter(|r| r.method == m).collect();
        let acc: Vec<f64> = runs.iter().map(|r| r.last(0)).collect();
        let f1: Vec<f64> = runs.iter().map(|r| r.last(1)).collect();
        let (am, asd) = mean_sd(&acc);
        let (fm, fsd) = mean_sd(&f1);
        let iters = runs.iter().map(|r| r.iterations).sum::<u64>() / runs.len().max(1) as u64;
        let secs = runs.iter().map(|r| r.seconds).sum::<f64>() / runs.len().max(1) as f64;
        let beats = acc.iter().zip(noisy).filter(|(a, n)| a > n).count();
        rows.push(vec![
            m.to_owned(),
            format!("{:.2}% ± {:.2}%", 100.0 * am, 100.0 * asd),
            format!("{fm:.3} ± {fsd:.3}"),
            format!("{beats}/{}", acc.len()),
            iters.to_string(),
            format!("{secs:.2}"),
        ]);
    }
    let mut s = String::from("### Data hyper-cleaning (digits, p = 0.3), equal points read\n\n");
    s.push_str(&markdown_table(
        &[
            "method",
            "test accuracy",
            "detection F1",
            "seeds beating noisy labels",
            "iterations",
            "seconds",
        ],
        &rows,
    ));
    let qrows: Vec<Vec<String>> = quadratic
        .iter()
        .map(|r| {
            vec![
                r.method.clone(),
                format!("{g0:.3e}"),
                format!("{:.3e}", r.last(0)),
                r.iterations.to_string(),
            ]
        })
        .collect();
    s.push_str("\n### Quadratic (20/20, closed-form ∇Φ), equal points read\n\n");
    s.push_str(&markdown_table(
        &["method", "‖∇Φ(x₀)‖", "‖∇Φ(x)‖ at the end", "iterations"],
        &qrows,
    ));
    s
}

fn series(runs: &[Run], seed: u64, k: usize, by_time: bool) -> Vec<Series> {
    runs.iter()
        .filter(|r| r.seed == seed)
        .map(|r| Series {
            name: r.method.clone(),
            points: r
                .trace
                .iter()
                .map(|p| {
                    (
                        if by_time { p.seconds } else { p.points as f64 },
                        p.values[k],
                    )
                })
                .collect(),
        })
        .collect()
}

fn write_plots(out: &Path, cleaning: &[Run], quadratic: &[Run]) -> Result<(), AnyError> {
    line_plot_svg(
        &out.join("accuracy_vs_points.svg"),
        "hyper-cleaning: test accuracy (seed 0)",
        "points read",
        "test accuracy",
        Scale::Linear,
        &series(cleaning, 0, 0, false),
    )?;
    line_plot_svg(
        &out.join("f1_vs_points.svg"),
        "hyper-cleaning: corrupted-label detection F1 (seed 0)",
        "points read",
        "F1",
        Scale::Linear,
        &series(cleaning, 0, 1, false),
    )?;
    line_plot_svg(
        &out.join("accuracy_vs_time.svg"),
        "hyper-cleaning: test accuracy against wall time (seed 0)",
        "seconds",
        "test accuracy",
        Scale::Linear,
        &series(cleaning, 0, 0, true),
    )?;
    line_plot_svg(
        &out.join("quadratic_grad_norm.svg"),
        "quadratic: ‖∇Φ(x)‖",
        "points read",
        "‖∇Φ‖",
        Scale::Log,
        &series(quadratic, 0, 0, false),
    )?;
    Ok(())
}
