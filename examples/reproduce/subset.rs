//! The `subset` job: Boehmer, Celis, Huang, Mehrotra, Vishnoi (ICML 2023) with lisse-subset.
//!
//! 1. The ratio experiment: F(S)/OPT on the latent population for the selection made from n
//!    biased rankings (swap bias), unconstrained and with exactly ℓ items of the disadvantaged
//!    group, as n grows — for separable rules (SNTV, Bloc, k-Borda, solved by sorting) and
//!    approval-CC (solved by the ILP).
//! 2. The smoothness tool: α and γ(β) with standard errors for Borda, Bloc and SNTV under three
//!    cultures and the notebook's strong swap bias (φ = 1e-4, λ = 0.9).

use std::fmt::Write as _;
use std::path::Path;

use lisse_core::RngStreams;
use lisse_examples::{
    AnyError, Scale, Series, line_plot_svg, markdown_table, output_dir, write_json,
};
use lisse_subset::bias::SwapBias;
use lisse_subset::culture::{AnyCulture, Culture, ImpartialCulture, Mallows, PlackettLuce};
use lisse_subset::experiment::{RatioExperiment, RatioSample, RatioSummary};
use lisse_subset::smoothness::{SmoothnessEstimate, estimate};
use lisse_subset::{CommitteeScoringRule, Groups};
use rayon::prelude::*;
use serde::Serialize;

use crate::Options;

#[derive(Debug, Serialize)]
struct CultureResult {
    culture: String,
    experiment: RatioExperiment,
    summary: Vec<RatioSummary>,
}

#[derive(Debug, Serialize)]
struct SmoothnessResult {
    culture: String,
    estimate: SmoothnessEstimate,
}

pub(crate) fn run(opts: Options) -> Result<(), AnyError> {
    let out = output_dir("subset")?;
    let streams = RngStreams::new(opts.seed);
    let t0 = std::time::Instant::now();
    let (reps, n_grid, n_eval) = if opts.full {
        (200u64, vec![5, 10, 20, 50, 100, 200, 500, 1000], 5000)
    } else {
        (40, vec![5, 10, 20, 50, 100, 200, 500], 2000)
    };
    let (m, k) = (20, 6);
    println!("== subset: Boehmer, Celis, Huang, Mehrotra, Vishnoi (ICML 2023)");
    println!(
        "   ratio experiment: m = {m}, k = {k}, groups 10/10, swap bias φ = 0.5, λ = 0.5, {reps} repetitions"
    );
    let cultures = [
        AnyCulture::Mallows(Mallows::normalized(0.4)?),
        AnyCulture::PlackettLuce(PlackettLuce::new(
            (0..m).map(|i| 0.85_f64.powi(i as i32)).collect(),
        )?),
    ];
    let rules = vec![
        CommitteeScoringRule::sntv(),
        CommitteeScoringRule::bloc_k(),
        CommitteeScoringRule::k_borda(),
        CommitteeScoringRule::approval_cc(3),
    ];
    let mut report = String::new();
    let mut results = Vec::new();
    for (ci, culture) in cultures.iter().enumerate() {
        let exp = RatioExperiment {
            m,
            k,
            size_g1: m / 2,
            n_grid: n_grid.clone(),
            ells: (0..=k).collect(),
            n_eval,
            culture: culture.clone(),
            bias: SwapBias::new(0.5, 0.5)?,
            rules: rules.clone(),
        };
        let cs = streams.child(ci as u64);
        let samples: Vec<Vec<RatioSample>> = (0..reps)
            .into_par_iter()
            .map(|r| exp.run_rep(&cs, r))
            .collect::<Result<_, _>>()?;
        let samples: Vec<RatioSample> = samples.into_iter().flatten().collect();
        let summary = RatioExperiment::summarize(&samples);
        let name = culture.name();
        let _ = writeln!(report, "\n### {name}\n");
        report.push_str(&ratio_table(&summary, &rules, &n_grid, k));
        report.push('\n');
        report.push_str(&needed_table(&summary, &rules, &n_grid, k));
        ratio_plot(
            &out.join(format!("ratio_{ci}.svg")),
            &name,
            &summary,
            &rules,
            &n_grid,
            k,
        )?;
        results.push(CultureResult {
            culture: name,
            experiment: exp,
            summary,
        });
    }
    println!("{report}");
    println!("   ratio experiment: {:.1} s", t0.elapsed().as_secs_f64());

    let table = smoothness_part(opts, &streams, &out)?;
    let mut md = String::from("# subset: F(S)/OPT on the latent population\n");
    md.push_str(&report);
    md.push_str("\n# Smoothness (α, γ(β))\n\n");
    md.push_str(&table);
    std::fs::write(out.join("tables.md"), md)?;
    write_json(&out.join("ratio.json"), &results)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// The smoothness tool: α and γ(β) per (culture, rule); writes the γ plots and the JSON.
fn smoothness_part(opts: Options, streams: &RngStreams, out: &Path) -> Result<String, AnyError> {
    let t1 = std::time::Instant::now();
    let (sm, sn, iters) = (10, 10, if opts.full { 2000 } else { 500 });
    println!("   smoothness tool: m = {sm}, n = {sn}, {iters} draws, swap bias φ = 1e-4, λ = 0.9");
    let groups = Groups::random_split(sm, sm / 2, &mut streams.stream(1000))?;
    let bias = SwapBias::new(1e-4, 0.9)?;
    let smooth_cultures = [
        AnyCulture::Impartial(ImpartialCulture),
        AnyCulture::Mallows(Mallows::normalized(0.4)?),
        AnyCulture::PlackettLuce(PlackettLuce::new(
            (0..sm).map(|i| 0.7_f64.powi(i as i32)).collect(),
        )?),
    ];
    let smooth_rules = [
        CommitteeScoringRule::k_borda(),
        CommitteeScoringRule::bloc(3),
        CommitteeScoringRule::sntv(),
    ];
    let jobs: Vec<(usize, usize)> = (0..smooth_cultures.len())
        .flat_map(|c| (0..smooth_rules.len()).map(move |r| (c, r)))
        .collect();
    let estimates: Vec<SmoothnessResult> = jobs
        .par_iter()
        .map(|&(c, r)| {
            let culture = &smooth_cultures[c];
            let est = estimate(
                &smooth_rules[r],
                1,
                sm,
                iters,
                100,
                &streams.child(2000 + c as u64),
                |rng| {
                    let latent = culture.sample(sm, sn, rng)?;
                    let biased = bias.apply(&latent, &groups, 0, rng)?;
                    Ok((latent, biased))
                },
                &groups,
            )?;
            Ok(SmoothnessResult {
                culture: culture.name(),
                estimate: est,
            })
        })
        .collect::<Result<_, lisse_core::Error>>()?;
    let table = smoothness_table(&estimates);
    println!("{table}");
    for (c, culture) in smooth_cultures.iter().enumerate() {
        let series: Vec<Series> = estimates
            .iter()
            .filter(|e| e.culture == culture.name())
            .map(|e| Series {
                name: e.estimate.rule.clone(),
                points: e
                    .estimate
                    .curve
                    .iter()
                    .filter_map(|p| p.gamma.map(|g| (p.beta, g)))
                    .collect(),
            })
            .collect();
        line_plot_svg(
            &out.join(format!("gamma_{c}.svg")),
            &format!("γ(β): {}", culture.name()),
            "β",
            "γ(β)",
            Scale::Linear,
            &series,
        )?;
    }
    println!("   smoothness tool: {:.1} s", t1.elapsed().as_secs_f64());
    write_json(&out.join("smoothness.json"), &estimates)?;
    Ok(table)
}

fn find<'a>(
    s: &'a [RatioSummary],
    rule: &str,
    n: usize,
    ell: Option<usize>,
) -> Option<&'a RatioSummary> {
    s.iter()
        .find(|x| x.rule == rule && x.n == n && x.ell == ell)
}

/// The ℓ with the best mean ratio at (rule, n).
fn best_ell<'a>(s: &'a [RatioSummary], rule: &str, n: usize, k: usize) -> Option<&'a RatioSummary> {
    (0..=k)
        .filter_map(|l| find(s, rule, n, Some(l)))
        .max_by(|a, b| a.mean.total_cmp(&b.mean))
}

fn ratio_table(
    s: &[RatioSummary],
    rules: &[CommitteeScoringRule],
    n_grid: &[usize],
    k: usize,
) -> String {
    let mut rows = Vec::new();
    for rule in rules {
        let name = rule.name();
        for &n in n_grid {
            let (Some(u), Some(b), Some(p)) = (
                find(s, &name, n, None),
                best_ell(s, &name, n, k),
                find(s, &name, n, Some(k / 2)),
            ) else {
                continue;
            };
            rows.push(vec![
                name.clone(),
                n.to_string(),
                format!("{:.3} ± {:.3}", u.mean, u.se),
                format!("{:.3} ± {:.3}", p.mean, p.se),
                format!("{:.3} ± {:.3} (ℓ = {})", b.mean, b.se, b.ell.unwrap_or(0)),
            ]);
        }
    }
    markdown_table(
        &[
            "rule",
            "n",
            "unconstrained",
            &format!("ℓ = {} (proportional)", k / 2),
            "best ℓ",
        ],
        &rows,
    )
}

/// The smallest n at which each selection reaches 0.95 and 0.99 of OPT.
fn needed_table(
    s: &[RatioSummary],
    rules: &[CommitteeScoringRule],
    n_grid: &[usize],
    k: usize,
) -> String {
    let first = |name: &str, level: f64, constrained: bool| {
        n_grid
            .iter()
            .find(|&&n| {
                let x = if constrained {
                    best_ell(s, name, n, k)
                } else {
                    find(s, name, n, None)
                };
                x.is_some_and(|x| x.mean >= level)
            })
            .map_or_else(
                || format!("> {}", n_grid.last().unwrap_or(&0)),
                ToString::to_string,
            )
    };
    let rows: Vec<Vec<String>> = rules
        .iter()
        .map(|r| {
            let name = r.name();
            vec![
                name.clone(),
                first(&name, 0.95, false),
                first(&name, 0.95, true),
                first(&name, 0.99, false),
                first(&name, 0.99, true),
            ]
        })
        .collect();
    markdown_table(
        &[
            "rule",
            "n for 0.95 (unconstr.)",
            "n for 0.95 (best ℓ)",
            "n for 0.99 (unconstr.)",
            "n for 0.99 (best ℓ)",
        ],
        &rows,
    )
}

fn ratio_plot(
    path: &Path,
    culture: &str,
    s: &[RatioSummary],
    rules: &[CommitteeScoringRule],
    n_grid: &[usize],
    k: usize,
) -> Result<(), AnyError> {
    let mut series = Vec::new();
    for rule in rules {
        let name = rule.name();
        let pts = |constrained: bool| -> Vec<(f64, f64)> {
            n_grid
                .iter()
                .filter_map(|&n| {
                    let x = if constrained {
                        best_ell(s, &name, n, k)
                    } else {
                        find(s, &name, n, None)
                    };
                    x.map(|x| ((n as f64).log10(), x.mean))
                })
                .collect()
        };
        series.push(Series {
            name: format!("{name} (unconstrained)"),
            points: pts(false),
        });
        series.push(Series {
            name: format!("{name} (best ℓ)"),
            points: pts(true),
        });
    }
    line_plot_svg(
        path,
        &format!("F(S)/OPT vs rankings: {culture}"),
        "log10(number of biased rankings n)",
        "F(S)/OPT (latent population)",
        Scale::Linear,
        &series,
    )
}

fn smoothness_table(est: &[SmoothnessResult]) -> String {
    let rows: Vec<Vec<String>> = est
        .iter()
        .map(|e| {
            let x = &e.estimate;
            let g = |b: f64| {
                x.gamma_at(b)
                    .map_or_else(|| "—".to_owned(), |g| format!("{g:.3}"))
            };
            vec![
                e.culture.clone(),
                x.rule.clone(),
                format!("{:.4} ± {:.4}", x.alpha, x.alpha_se),
                g(0.5),
                g(0.9),
                x.rankings_needed(0.9, 0.1)
                    .map_or_else(|| "—".to_owned(), |n| format!("{n:.3e}")),
            ]
        })
        .collect();
    markdown_table(
        &[
            "culture",
            "rule",
            "α ± se",
            "γ(0.5)",
            "γ(0.9)",
            "n sufficient (β = 0.9, δ = 0.1)",
        ],
        &rows,
    )
}
