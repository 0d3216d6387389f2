//! The `online` job: optimistic OMD in the SEA model (Chen, Zhang, Tu, Zhao & Zhang, ICML 2023 /
//! JMLR 2024) against OGD and the optimistic FTRL of Sachs et al. (2022).
//!
//! Linear losses f_t(x) = ⟨c_t + ξ_t, x⟩ on the unit ball of ℝ¹⁰ (D = 2, L = 0), with the
//! simulator's exact σ²_{1:T} and Σ²_{1:T}:
//! - **σ sweep** (Σ² = 0): a fixed mean θ·(s/√T)·e₁ with a random sign θ (the shape of the SCO
//!   lower bound) and noise of norm s, T = 10⁴;
//! - **Σ sweep** (σ² = 0): K Rademacher spikes of size 1 at random rounds (the shape of Sachs
//!   et al.'s Thm. 6 lower bound), T = 10⁴;
//! - **T sweep**: noise s = 0.5 plus K = T/10 spikes.
//!
//! Each point is the mean pseudo-regret over seeds (± 2 standard errors), with the bound
//! curves beside it: the derived convex-smooth bound of optimistic OMD, Sachs et al.'s Thm. 5,
//! and OGD's (3/2)GD√T. The SEA bounds scale as √σ² + √Σ², and so do the measurements.

use std::fmt::Write as _;
use std::path::Path;

use lisse_core::RngStreams;
use lisse_core::domain::L2Ball;
use lisse_examples::{
    AnyError, Scale, Series, line_plot_svg, markdown_table, output_dir, write_json,
};
use lisse_online::baseline::{Ogd, OgdStep, OptimisticFtrl, ogd_bound, optimistic_ftrl_bound};
use lisse_online::env::{BaseLoss, Drift, SeaConfig, SeaEnvironment, SeaStats};
use lisse_online::step_size::{sea_convex_bound, sea_convex_delta};
use lisse_online::{OnlineLearner, OptimisticOmd, RunOptions, run};
use nalgebra::DVector;
use rand::RngExt;
use rayon::prelude::*;
use serde::Serialize;

use crate::Options;

const DIM: usize = 10;
const RADIUS: f64 = 1.0;
const DIAMETER: f64 = 2.0 * RADIUS;
const LEARNERS: [&str; 3] = ["optimistic OMD", "OGD", "optimistic FTRL"];

/// One measured point of a sweep.
#[derive(Debug, Clone, Serialize)]
struct Point {
    sweep: String,
    x: f64,
    horizon: u64,
    learner: String,
    mean_pseudo_regret: f64,
    two_se: f64,
    mean_realized_regret: f64,
    bound: f64,
    sqrt_sigma_sq: f64,
    sqrt_variation_sq: f64,
    seeds: u64,
}

/// (pseudo-regret, realized regret, bound, statistics) of each learner on one instance.
type SeedResult = Vec<(f64, f64, f64, SeaStats)>;

/// One configuration of a sweep: its x value and how to build the instance of a seed.
struct Config {
    x: f64,
    horizon: u64,
    make: Box<dyn Fn(u64) -> SeaConfig + Sync>,
}

pub(crate) fn run_job(opts: Options) -> Result<(), AnyError> {
    let seeds: u64 = if opts.full { 64 } else { 16 };
    let big_t: u64 = if opts.full { 100_000 } else { 10_000 };
    println!("== online: optimistic OMD in the SEA model (Chen et al. 2023) vs OGD and");
    println!("   optimistic FTRL (Sachs et al. 2022); linear losses on the unit ball of R^{DIM},");
    println!("   {seeds} seeds, T = {big_t} for the sigma and Sigma sweeps");
    let out = output_dir("online")?;
    let streams = RngStreams::new(opts.seed);

    let sigma_configs = sigma_sweep(big_t);
    let variation_configs = variation_sweep(big_t);
    let horizon_configs = horizon_sweep(opts.full);

    let mut points = Vec::new();
    for (index, (sweep, configs)) in [
        ("sigma", &sigma_configs),
        ("variation", &variation_configs),
        ("horizon", &horizon_configs),
    ]
    .into_iter()
    .enumerate()
    {
        for (k, config) in configs.iter().enumerate() {
            let sub = streams.child(100 * index as u64 + k as u64);
            points.extend(measure(sweep, config, seeds, &sub)?);
        }
    }

    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|p| {
            vec![
                p.sweep.clone(),
                p.horizon.to_string(),
                format!("{:.1}", p.sqrt_sigma_sq),
                format!("{:.1}", p.sqrt_variation_sq),
                p.learner.clone(),
                format!("{:.2} ± {:.2}", p.mean_pseudo_regret, p.two_se),
                format!("{:.2}", p.mean_realized_regret),
                format!("{:.1}", p.bound),
            ]
        })
        .collect();
    let table = markdown_table(
        &[
            "sweep",
            "T",
            "√σ²",
            "√Σ²",
            "learner",
            "pseudo-regret (± 2 s.e.)",
            "realized regret",
            "bound",
        ],
        &rows,
    );
    println!("{table}");
    let scaling = scaling_summary(&points);
    println!("{scaling}");
    std::fs::write(out.join("table.md"), format!("{table}\n{scaling}"))?;
    write_json(&out.join("points.json"), &points)?;
    write_plots(&out, &points)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// σ sweep: fixed mean θ·(s/√T)·e₁, noise of norm s.
fn sigma_sweep(big_t: u64) -> Vec<Config> {
    [0.05, 0.1, 0.2, 0.5, 1.0, 2.0]
        .into_iter()
        .map(|s| Config {
            x: s * (big_t as f64).sqrt(),
            horizon: big_t,
            make: Box::new(move |seed| {
                let sign = if RngStreams::new(seed).stream(9).random_bool(0.5) {
                    1.0
                } else {
                    -1.0
                };
                let mut mean = DVector::zeros(DIM);
                mean[0] = sign * s / (big_t as f64).sqrt();
                SeaConfig {
                    base: BaseLoss::Linear,
                    drift: Drift::Fixed,
                    mean,
                    noise_norm: s,
                    horizon: big_t,
                    seed,
                }
            }),
        })
        .collect()
}

/// Σ sweep: K Rademacher spikes of size 1, no noise.
fn variation_sweep(big_t: u64) -> Vec<Config> {
    let spike_counts: Vec<u64> = [10, 30, 100, 300, 1000, 3000, 10_000]
        .into_iter()
        .filter(|&k| k <= big_t)
        .collect();
    spike_counts
        .iter()
        .map(|&k| Config {
            x: f64::NAN, // the exact √Σ² of each seed is used
            horizon: big_t,
            make: Box::new(move |seed| SeaConfig {
                base: BaseLoss::Linear,
                drift: Drift::Spikes {
                    count: k,
                    magnitude: 1.0,
                },
                mean: DVector::zeros(DIM),
                noise_norm: 0.0,
                horizon: big_t,
                seed,
            }),
        })
        .collect()
}

/// T sweep: noise 0.5 and T/10 spikes.
fn horizon_sweep(full: bool) -> Vec<Config> {
    let horizons: &[u64] = if full {
        &[1000, 3000, 10_000, 30_000, 100_000, 300_000]
    } else {
        &[1000, 3000, 10_000, 30_000, 100_000]
    };
    horizons
        .iter()
        .map(|&t| Config {
            x: t as f64,
            horizon: t,
            make: Box::new(move |seed| SeaConfig {
                base: BaseLoss::Linear,
                drift: Drift::Spikes {
                    count: t / 10,
                    magnitude: 1.0,
                },
                mean: DVector::zeros(DIM),
                noise_norm: 0.5,
                horizon: t,
                seed,
            }),
        })
        .collect()
}

/// Runs the three learners on `seeds` instances of one configuration (seeds in parallel,
/// reduced in seed order, so results do not depend on the thread count).
fn measure(
    sweep: &str,
    config: &Config,
    seeds: u64,
    streams: &RngStreams,
) -> Result<Vec<Point>, AnyError> {
    let per_seed: Vec<Result<SeedResult, String>> = (0..seeds)
        .into_par_iter()
        .map(|seed| {
            let instance_seed: u64 = streams.stream(seed).random();
            run_seed(&(config.make)(instance_seed)).map_err(|e| e.to_string())
        })
        .collect();
    let mut results = Vec::with_capacity(seeds as usize);
    for r in per_seed {
        results.push(r?);
    }
    let mut points = Vec::new();
    for (i, name) in LEARNERS.iter().enumerate() {
        let pseudo: Vec<f64> = results.iter().map(|r| r[i].0).collect();
        let realized: Vec<f64> = results.iter().map(|r| r[i].1).collect();
        let bound = results.iter().map(|r| r[i].2).sum::<f64>() / seeds as f64;
        let stats: Vec<SeaStats> = results.iter().map(|r| r[i].3).collect();
        let (mean, two_se) = mean_two_se(&pseudo);
        let sqrt_sigma = stats.iter().map(|s| s.sigma_sq.sqrt()).sum::<f64>() / seeds as f64;
        let sqrt_var = stats.iter().map(|s| s.variation_sq.sqrt()).sum::<f64>() / seeds as f64;
        let x = match sweep {
            "sigma" => sqrt_sigma,
            "variation" => sqrt_var,
            _ => config.x,
        };
        points.push(Point {
            sweep: sweep.to_owned(),
            x,
            horizon: config.horizon,
            learner: (*name).to_owned(),
            mean_pseudo_regret: mean,
            two_se,
            mean_realized_regret: mean_two_se(&realized).0,
            bound,
            sqrt_sigma_sq: sqrt_sigma,
            sqrt_variation_sq: sqrt_var,
            seeds,
        });
    }
    Ok(points)
}

/// (pseudo-regret, realized regret, bound, stats) of each learner on one instance.
fn run_seed(config: &SeaConfig) -> Result<SeedResult, AnyError> {
    let ball = L2Ball::centered(DIM, RADIUS)?;
    let g = SeaEnvironment::new(ball.clone(), config.clone())?
        .sea_stats_now()
        .gradient_bound;
    let delta = sea_convex_delta(DIAMETER, g, 0.0)?;
    let nu = OptimisticFtrl::<L2Ball>::tuned_nu(DIAMETER, g, 0.0)?;
    let mut learners: Vec<Box<dyn OnlineLearner>> = vec![
        Box::new(OptimisticOmd::sea_convex(ball.clone(), g, delta)?),
        Box::new(Ogd::new(
            ball.clone(),
            OgdStep::Convex {
                diameter: DIAMETER,
                gradient_bound: g,
            },
        )?),
        Box::new(OptimisticFtrl::new(ball.clone(), nu)?),
    ];
    let options = RunOptions {
        checkpoints: 1,
        ..RunOptions::default()
    };
    let mut out = Vec::new();
    for (i, learner) in learners.iter_mut().enumerate() {
        let mut env = SeaEnvironment::new(ball.clone(), config.clone())?;
        let report = run(learner.as_mut(), &mut env, &options)?;
        let last = report.last().ok_or("empty trace")?;
        let stats = last.stats.ok_or("no SEA statistics")?;
        let constants = stats.constants();
        let bound = match i {
            0 => sea_convex_bound(&constants, delta)?,
            1 => ogd_bound(DIAMETER, g, stats.rounds),
            _ => optimistic_ftrl_bound(&constants, nu)?,
        };
        out.push((
            last.regret.pseudo_regret.ok_or("no comparator")?,
            last.regret.realized_regret.ok_or("no comparator")?,
            bound,
            stats,
        ));
    }
    Ok(out)
}

fn mean_two_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (mean, 0.0);
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, 2.0 * (var / n).sqrt())
}

/// Least-squares slope of regret against √σ² (σ sweep) and √Σ² (Σ sweep), and of
/// log regret against log T: the measured scaling.
fn scaling_summary(points: &[Point]) -> String {
    let mut s = String::from("Measured scaling (least squares over the sweep):\n\n");
    for name in LEARNERS {
        let pick = |sweep: &str| -> Vec<(f64, f64)> {
            points
                .iter()
                .filter(|p| p.sweep == sweep && p.learner == name)
                .map(|p| (p.x, p.mean_pseudo_regret))
                .collect()
        };
        let (a, r2a) = slope_through_origin(&pick("sigma"));
        let (b, r2b) = slope_through_origin(&pick("variation"));
        let logs: Vec<(f64, f64)> = pick("horizon")
            .into_iter()
            .filter(|&(_, y)| y > 0.0)
            .map(|(x, y)| (x.ln(), y.ln()))
            .collect();
        let c = slope(&logs);
        let _ = writeln!(
            s,
            "- {name}: regret ≈ {a:.3}·√σ² (R² {r2a:.3}), ≈ {b:.3}·√Σ² (R² {r2b:.3}), ∝ T^{c:.2}"
        );
    }
    s
}

/// Slope of y = a·x and its R².
fn slope_through_origin(pts: &[(f64, f64)]) -> (f64, f64) {
    let sxy: f64 = pts.iter().map(|(x, y)| x * y).sum();
    let sxx: f64 = pts.iter().map(|(x, _)| x * x).sum();
    let a = sxy / sxx;
    let mean_y = pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64;
    let ss_res: f64 = pts.iter().map(|(x, y)| (y - a * x).powi(2)).sum();
    let ss_tot: f64 = pts.iter().map(|(_, y)| (y - mean_y).powi(2)).sum();
    (a, 1.0 - ss_res / ss_tot.max(f64::MIN_POSITIVE))
}

/// Ordinary least-squares slope.
fn slope(pts: &[(f64, f64)]) -> f64 {
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = pts.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = pts.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    sxy / sxx
}

fn write_plots(out: &Path, points: &[Point]) -> Result<(), AnyError> {
    for (sweep, file, x_label, scale) in [
        (
            "sigma",
            "regret_vs_sigma.svg",
            "sqrt(sigma^2_1:T)",
            Scale::Linear,
        ),
        (
            "variation",
            "regret_vs_variation.svg",
            "sqrt(Sigma^2_1:T)",
            Scale::Linear,
        ),
        ("horizon", "regret_vs_horizon.svg", "log10 T", Scale::Log),
    ] {
        let mut series = Vec::new();
        for name in LEARNERS {
            let sel: Vec<&Point> = points
                .iter()
                .filter(|p| p.sweep == sweep && p.learner == name)
                .collect();
            let x = |p: &Point| if sweep == "horizon" { p.x.log10() } else { p.x };
            series.push(Series {
                name: format!("{name} (measured)"),
                points: sel.iter().map(|p| (x(p), p.mean_pseudo_regret)).collect(),
            });
            if name != "OGD" || sweep == "horizon" {
                series.push(Series {
                    name: format!("{name} bound"),
                    points: sel.iter().map(|p| (x(p), p.bound)).collect(),
                });
            }
        }
        let title = format!("online: pseudo-regret vs {x_label}");
        line_plot_svg(
            &out.join(file),
            &title,
            x_label,
            "pseudo-regret",
            scale,
            &series,
        )?;
    }
    Ok(())
}
