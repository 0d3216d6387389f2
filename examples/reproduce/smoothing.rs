//! The `smoothing` job: randomized-smoothing certification of a softmax model on the digits.
//!
//! A multinomial logistic regression (softmax layer) is trained on the embedded UCI digits,
//! pixels scaled to [0, 1], with Gaussian noise augmentation at each σ ∈ {0.25, 0.5, 1.0}
//! (Cohen et al. train with the noise they certify at). The test set is then certified with
//! Cohen et al.'s CERTIFY (n₀ = 100, α = 0.001) and with LVM-RS (union bound over the default
//! grid of 13 simplex maps), and certified accuracy — the fraction of test points whose
//! certificate names the true label at radius ≥ r — is plotted against r.
//!
//! Default: every second test image at n = 10 000. `--full`: the whole test set at n = 100 000.

use std::sync::Arc;
use std::time::Instant;

use lisse_core::solver::{GradientDescent, StepSize};
use lisse_core::{Executor, RngStreams, Solver, Stopping, StreamRng};
use lisse_examples::{
    AnyError, Scale, Series, line_plot_svg, markdown_table, output_dir, write_json,
};
use lisse_oracles::data::{Dataset, Targets, digits, train_test_split};
use lisse_oracles::loss::MultinomialLogistic;
use lisse_smoothing::Linear;
use lisse_smoothing::cohen::{CertifyParams, certify_all};
use lisse_smoothing::lvm::{LvmParams, certify_lvm_all};
use nalgebra::{DMatrix, DVector};
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

use crate::Options;

const SIGMAS: [f64; 3] = [0.25, 0.5, 1.0];
const RADII: [f64; 8] = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0];

/// Per (σ, method): certified accuracy at each radius of [`RADII`], and the averages.
#[derive(Debug, Serialize)]
struct Summary {
    sigma: f64,
    method: String,
    inputs: usize,
    n: u64,
    clean_accuracy: f64,
    certified_accuracy: Vec<(f64, f64)>,
    abstain_rate: f64,
    average_certified_radius: f64,
    seconds: f64,
}

pub(crate) fn run(opts: Options) -> Result<(), AnyError> {
    let (n, stride) = if opts.full { (100_000, 1) } else { (10_000, 2) };
    println!("== smoothing: randomized-smoothing certification of a softmax model on the digits");
    let out = output_dir("smoothing")?;
    let streams = RngStreams::new(opts.seed);
    let (train, test_x, test_y) = split(&mut streams.stream(0))?;
    let inputs: Vec<usize> = (0..test_y.len()).step_by(stride).collect();
    let x: Vec<f64> = inputs
        .iter()
        .flat_map(|&i| test_x[i].iter().copied())
        .collect();
    let y: Vec<usize> = inputs.iter().map(|&i| test_y[i]).collect();
    println!(
        "   {} test images, n = {n}, n0 = 100, alpha = 0.001",
        y.len()
    );

    let mut summaries = Vec::new();
    let mut series = Vec::new();
    for (si, &sigma) in SIGMAS.iter().enumerate() {
        let model = train_softmax(&train, sigma, &mut streams.child(1).stream(si as u64))?;
        let clean = clean_accuracy(&model, &x, &y);
        let cohen = CertifyParams {
            n,
            ..CertifyParams::default()
        };
        let t = Instant::now();
        let certs = certify_all(&model, &x, sigma, &cohen, opts.seed ^ 0x5eed)?;
        let secs = t.elapsed().as_secs_f64();
        let c: Vec<(Option<usize>, f64)> = certs.iter().map(|c| (c.class, c.radius)).collect();
        summaries.push(summarize(sigma, "Cohen (CP)", n, clean, &c, &y, secs));
        let lvm = LvmParams {
            n,
            ..LvmParams::default()
        };
        let t = Instant::now();
        let certs = certify_lvm_all(&model, &x, sigma, &lvm, opts.seed ^ 0x1e5)?;
        let secs = t.elapsed().as_secs_f64();
        let l: Vec<(Option<usize>, f64)> = certs.iter().map(|c| (c.class, c.radius)).collect();
        summaries.push(summarize(
            sigma,
            "LVM-RS (union bound)",
            n,
            clean,
            &l,
            &y,
            secs,
        ));
        for (name, certs) in [("Cohen", &c), ("LVM-RS", &l)] {
            series.push(Series {
                name: format!("{name}, σ = {sigma}"),
                points: (0..=80)
                    .map(|i| {
                        let r = 0.05 * f64::from(i);
                        (r, certified_accuracy(certs, &y, r))
                    })
                    .collect(),
            });
        }
        for s in &summaries[summaries.len() - 2..] {
            println!(
                "   σ = {sigma}: {:<22} clean {:.1}%, certified at r=0.5: {:.1}%, ACR {:.3}, {:.1} s",
                s.method,
                100.0 * s.clean_accuracy,
                100.0 * s.certified_accuracy[2].1,
                s.average_certified_radius,
                s.seconds
            );
        }
    }
    let table = table(&summaries);
    println!("{table}");
    std::fs::write(out.join("table.md"), &table)?;
    write_json(&out.join("summary.json"), &summaries)?;
    write_json(&out.join("curves.json"), &series)?;
    line_plot_svg(
        &out.join("certified_accuracy.svg"),
        "digits, softmax model: certified accuracy vs ℓ₂ radius",
        "radius r (pixels in [0, 1])",
        "certified accuracy",
        Scale::Linear,
        &series,
    )?;
    println!("wrote {}", out.display());
    Ok(())
}

/// Digits with pixels scaled to [0, 1]; 80/20 split. Returns the training set (features d × m)
/// and the test images and labels.
/// Training set, test images, test labels.
type Split = (Dataset, Vec<Vec<f64>>, Vec<usize>);

fn split(rng: &mut StreamRng) -> Result<Split, AnyError> {
    let (train, test) = train_test_split(&digits(), 0.2, rng)?;
    let scale = |d: &Dataset| -> Result<Dataset, AnyError> {
        let (f, t) = d.clone().into_parts();
        Ok(Dataset::new(f / 16.0, t)?)
    };
    let (train, test) = (scale(&train)?, scale(&test)?);
    let labels = test.labels().ok_or("digits have class labels")?.to_vec();
    let xs = (0..test.n_samples())
        .map(|i| test.features().column(i).iter().copied().collect())
        .collect();
    Ok((train, xs, labels))
}

/// Trains a softmax layer with Gaussian noise augmentation (4 noisy copies of each training
/// image, noise σ) by full-batch gradient descent with lisse-core's solver and lisse-oracles'
/// loss, and returns it as a `Linear` model. The only training code of the job.
fn train_softmax(train: &Dataset, sigma: f64, rng: &mut StreamRng) -> Result<Linear, AnyError> {
    const COPIES: usize = 4;
    const L2: f64 = 1e-4;
    const ITERS: u64 = 300;
    let (d, m) = (train.n_features(), train.n_samples());
    let labels = train.labels().ok_or("labels")?;
    let k = train.n_classes().ok_or("classes")?;
    let mut f = DMatrix::zeros(d + 1, m * COPIES);
    let mut y = Vec::with_capacity(m * COPIES);
    for c in 0..COPIES {
        for (i, &label) in labels.iter().enumerate() {
            let col = c * m + i;
            for j in 0..d {
                let z: f64 = StandardNormal.sample(rng);
                f[(j, col)] = train.features()[(j, i)] + sigma * z;
            }
            f[(d, col)] = 1.0;
            y.push(label);
        }
    }
    let data = Arc::new(Dataset::new(
        f,
        Targets::Classes {
            labels: y,
            n_classes: k,
        },
    )?);
    // L ≤ ½ λ_max(XXᵀ/n) + λ (Böhning 1992).
    let gram = data.features() * data.features().transpose() / data.n_samples() as f64;
    let lip = 0.5 * gram.symmetric_eigenvalues().max() + L2;
    let loss = MultinomialLogistic::new(Arc::clone(&data))?.with_l2(L2)?;
    let mut gd = GradientDescent::new(
        loss.clone(),
        DVector::zeros((d + 1) * k),
        StepSize::Constant(1.0 / lip),
    )?;
    Executor::new(Stopping::new().max_iters(ITERS)).run(&mut gd, rng)?;
    let w = loss.weights_matrix(gd.iterate())?; // (d + 1) × K, last row the intercept
    let weights = w.rows(0, d).transpose();
    let bias = w.row(d).transpose();
    Ok(Linear::new(weights, bias)?)
}

fn clean_accuracy(model: &Linear, x: &[f64], y: &[usize]) -> f64 {
    let d = model.weights().ncols();
    let correct = x
        .chunks_exact(d)
        .zip(y)
        .filter(|(xi, yi)| {
            let s = model.weights() * DVector::from_column_slice(xi) + model.bias();
            s.argmax().0 == **yi
        })
        .count();
    correct as f64 / y.len() as f64
}

fn certified_accuracy(certs: &[(Option<usize>, f64)], y: &[usize], r: f64) -> f64 {
    let ok = certs
        .iter()
        .zip(y)
        .filter(|((c, rad), yi)| *c == Some(**yi) && *rad >= r)
        .count();
    ok as f64 / y.len() as f64
}

fn summarize(
    sigma: f64,
    method: &str,
    n: u64,
    clean: f64,
    certs: &[(Option<usize>, f64)],
    y: &[usize],
    seconds: f64,
) -> Summary {
    let acr = certs
        .iter()
        .zip(y)
        .map(|((c, r), yi)| if *c == Some(*yi) { *r } else { 0.0 })
        .sum::<f64>()
        / y.len() as f64;
    Summary {
        sigma,
        method: method.to_owned(),
        inputs: y.len(),
        n,
        clean_accuracy: clean,
        certified_accuracy: RADII
            .iter()
            .map(|&r| (r, certified_accuracy(certs, y, r)))
            .collect(),
        abstain_rate: certs.iter().filter(|(c, _)| c.is_none()).count() as f64 / y.len() as f64,
        average_certified_radius: acr,
        seconds,
    }
}

fn table(summaries: &[Summary]) -> String {
    let mut headers: Vec<String> = vec!["σ".into(), "method".into(), "clean acc.".into()];
    headers.extend(RADII.iter().map(|r| format!("r = {r}")));
    headers.extend(["ACR".into(), "abstain".into(), "seconds".into()]);
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .map(|s| {
            let mut row = vec![
                s.sigma.to_string(),
                s.method.clone(),
                format!("{:.1}%", 100.0 * s.clean_accuracy),
            ];
            row.extend(
                s.certified_accuracy
                    .iter()
                    .map(|(_, a)| format!("{:.1}%", 100.0 * a)),
            );
            row.push(format!("{:.3}", s.average_certified_radius));
            row.push(format!("{:.1}%", 100.0 * s.abstain_rate));
            row.push(format!("{:.1}", s.seconds));
            row
        })
        .collect();
    let h: Vec<&str> = headers.iter().map(String::as_str).collect();
    markdown_table(&h, &rows)
}
