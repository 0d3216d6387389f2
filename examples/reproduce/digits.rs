//! The `digits` job: multinomial logistic regression on the embedded UCI digits.
//!
//! Full-batch gradient descent (step 1/L) against minibatch SGD (b = 32, constant step), both
//! given the same budget of *samples touched* (epochs × n). Shows the oracle accounting, the
//! run loop, the embedded data and the plots every paper job builds on.

use std::sync::Arc;

use lisse_core::solver::{GradientDescent, Sgd, StepSize};
use lisse_core::{
    CountKind, Dimension, Executor, Objective, Report, RngStreams, Solver, Stopping, StreamRng,
};
use lisse_examples::{
    AnyError, ProgressObserver, Scale, Series, line_plot_svg, markdown_table, output_dir,
    write_json,
};
use lisse_oracles::data::{Dataset, Standardizer, digits, train_test_split};
use lisse_oracles::loss::MultinomialLogistic;
use lisse_oracles::sampling::{Minibatch, Sampling};
use nalgebra::DVector;
use serde::Serialize;

use crate::Options;

const L2: f64 = 1e-3;
const BATCH: usize = 32;

#[derive(Debug, Serialize)]
struct Outcome {
    seed: u64,
    method: String,
    epochs: f64,
    gradient_calls: u64,
    samples: u64,
    train_loss: f64,
    test_accuracy: f64,
    seconds: f64,
}

pub(crate) fn run(opts: Options) -> Result<(), AnyError> {
    let (epochs, seeds) = if opts.full { (200u64, 5u64) } else { (40, 1) };
    let out = output_dir("digits")?;
    println!(
        "== digits: multinomial logistic regression on the UCI handwritten digits (CC BY 4.0)"
    );
    let streams = RngStreams::new(opts.seed);

    let mut outcomes = Vec::new();
    let mut first_reports: Vec<Report> = Vec::new();
    let mut n_train = 1.0;
    for s in 0..seeds {
        let seed_streams = streams.child(s);
        let (train, test) = prepare(&mut seed_streams.stream(0))?;
        let n = train.n_samples() as u64;
        n_train = n as f64;
        let loss = MultinomialLogistic::new(train.clone())?.with_l2(L2)?;
        let dim = loss.dim();
        let step = 1.0 / smoothness_bound(&train, L2);
        let budget = Stopping::new().budget(CountKind::Samples, epochs * n);

        let gd = GradientDescent::new(loss.clone(), DVector::zeros(dim), StepSize::Constant(step))?;
        let sgd_oracle = Minibatch::new(loss.clone(), BATCH, Sampling::WithReplacement)?;
        let sgd = Sgd::new(sgd_oracle, DVector::zeros(dim), StepSize::Constant(step))?;
        let eval = Eval {
            loss: &loss,
            test: &test,
        };
        let reports = [
            eval.run(
                gd,
                budget,
                1,
                epochs,
                "GD (full batch)",
                &mut seed_streams.stream(1),
            )?,
            eval.run(
                sgd,
                budget,
                n / BATCH as u64,
                epochs * n / BATCH as u64,
                "SGD (b = 32)",
                &mut seed_streams.stream(2),
            )?,
        ];
        for report in reports {
            let name = report.solver.clone();
            let last = report.trace.records.last().ok_or("empty trace")?;
            outcomes.push(Outcome {
                seed: s,
                method: name,
                epochs: report.counts.samples as f64 / n as f64,
                gradient_calls: report.counts.gradients,
                samples: report.counts.samples,
                train_loss: last.metrics["train_loss"],
                test_accuracy: last.metrics["test_accuracy"],
                seconds: report.elapsed_s,
            });
            if s == 0 {
                first_reports.push(report);
            }
        }
    }

    // Table.
    let rows: Vec<Vec<String>> = outcomes
        .iter()
        .map(|o| {
            vec![
                o.seed.to_string(),
                o.method.clone(),
                format!("{:.1}", o.epochs),
                o.gradient_calls.to_string(),
                o.samples.to_string(),
                format!("{:.4}", o.train_loss),
                format!("{:.2}%", 100.0 * o.test_accuracy),
                format!("{:.2}", o.seconds),
            ]
        })
        .collect();
    let table = markdown_table(
        &[
            "seed",
            "method",
            "epochs",
            "gradient calls",
            "samples",
            "train loss",
            "test accuracy",
            "seconds",
        ],
        &rows,
    );
    println!("{table}");
    std::fs::write(out.join("table.md"), &table)?;
    write_json(&out.join("outcomes.json"), &outcomes)?;
    write_json(&out.join("reports.json"), &first_reports)?;

    // Plots against epochs (samples / n), the per-oracle-call comparison of the field.
    for (metric, label, scale, file) in [
        (
            "train_loss",
            "training loss (regularized)",
            Scale::Log,
            "train_loss.svg",
        ),
        (
            "test_accuracy",
            "test accuracy",
            Scale::Linear,
            "test_accuracy.svg",
        ),
    ] {
        let series: Vec<Series> = first_reports
            .iter()
            .map(|r| Series {
                name: r.solver.clone(),
                points: r
                    .trace
                    .records
                    .iter()
                    .map(|rec| (rec.counts.samples as f64 / n_train, rec.metrics[metric]))
                    .collect(),
            })
            .collect();
        line_plot_svg(
            &out.join(file),
            &format!("digits: {label}"),
            "epochs (samples / n)",
            label,
            scale,
            &series,
        )?;
    }
    println!("wrote {}", out.display());
    Ok(())
}

/// Train/test split (80/20) of the digits, standardized with training statistics, with an
/// intercept feature.
fn prepare(rng: &mut StreamRng) -> Result<(Arc<Dataset>, Arc<Dataset>), AnyError> {
    let (train, test) = train_test_split(&digits(), 0.2, rng)?;
    let scaler = Standardizer::fit(&train);
    let train = scaler.transform(&train)?.with_intercept();
    let test = scaler.transform(&test)?.with_intercept();
    Ok((Arc::new(train), Arc::new(test)))
}

/// L ≤ ½ λ_max(XXᵀ/n) + λ for softmax cross-entropy (Böhning, Ann. Inst. Statist. Math. 44, 1992:
/// the Hessian is bounded by ½(I − 11ᵀ/K) ⊗ XXᵀ/n).
fn smoothness_bound(train: &Dataset, l2: f64) -> f64 {
    let x = train.features();
    let gram = x * x.transpose() / train.n_samples() as f64;
    0.5 * gram.symmetric_eigenvalues().max() + l2
}

/// What every run records: the regularized training loss and the test accuracy, evaluated
/// outside the counted oracles.
struct Eval<'a> {
    loss: &'a MultinomialLogistic,
    test: &'a Dataset,
}

impl Eval<'_> {
    fn run<S: Solver>(
        &self,
        mut solver: S,
        stopping: Stopping,
        record_every: u64,
        iterations: u64,
        label: &str,
        rng: &mut StreamRng,
    ) -> Result<Report, AnyError> {
        let report = Executor::new(stopping)
            .record_every(record_every)
            .metric("train_loss", |w| self.loss.value(w).unwrap_or(f64::NAN))
            .metric("test_accuracy", |w| {
                self.loss.accuracy(w, self.test).unwrap_or(f64::NAN)
            })
            .observer(ProgressObserver::new(
                iterations,
                label,
                Some("test_accuracy"),
            ))
            .run(&mut solver, rng)?;
        Ok(report)
    }
}
