//! `cargo run --release --example reproduce [-- JOB] [--full] [--seed N]`
//!
//! The main job of lisse: reproduces each paper's headline behaviour on embedded data and
//! writes tables, JSON and SVG plots under `target/reproduce/<job>/`. With no job it runs them
//! all. The default size finishes within minutes on 2 cores; `--full` runs the full-size
//! experiments (more epochs and seeds).
//!
//! Jobs so far:
//! - `digits`: the foundation's smoke test — multinomial logistic regression on the embedded
//!   UCI handwritten digits, full-batch gradient descent against minibatch SGD per oracle call.
//! - `bilevel`: BO-REP against StocBiO, TTSA, SOBA, MA-SOBA and AmIGO on data hyper-cleaning
//!   (test accuracy, corrupted-label F1) and on a quadratic with closed-form ∇Φ.
//! - `online`: optimistic OMD in the SEA model (Chen et al. 2023) against OGD and the optimistic
//!   FTRL of Sachs et al. (2022): regret against T, σ and Σ beside the bound curves.
//! - `smoothing`: randomized-smoothing certification (Cohen et al. 2019; LVM-RS, Delattre et al.
//!   2024) of a softmax model trained with noise augmentation on the digits.
//! - `subset`: subset selection from biased rankings (Boehmer et al., ICML 2023): F(S)/OPT as
//!   the number of rankings grows, with and without fairness constraints, and the smoothness tool.
//!
//! Each paper crate adds its job here (`bilevel`, `subset`, `smoothing`, `online`).

mod bilevel;
mod digits;
mod online;
mod smoothing;
mod subset;

use clap::{Parser, Subcommand};
use lisse_examples::{error_chain, output_dir};

#[derive(Debug, Parser)]
#[command(
    name = "reproduce",
    about = "Reproduce the headline results of the lisse papers on embedded data"
)]
struct Cli {
    #[command(subcommand)]
    job: Option<Job>,
    /// Run the full-size experiments (slower) instead of the quick default.
    #[arg(long, global = true)]
    full: bool,
    /// Base seed of every random stream.
    #[arg(long, global = true, default_value_t = 2024)]
    seed: u64,
}

#[derive(Debug, Clone, Copy, Subcommand)]
enum Job {
    /// Multinomial logistic regression on the embedded handwritten digits (GD vs SGD).
    Digits,
    /// Bilevel optimization: BO-REP vs StocBiO, TTSA, SOBA, MA-SOBA, AmIGO on data
    /// hyper-cleaning and a quadratic.
    Bilevel,
    /// Optimistic OMD in the SEA model: regret against T, sigma and Sigma, with bound curves.
    Online,
    /// Randomized-smoothing certification (Cohen et al.; LVM-RS) of a softmax model on the digits.
    Smoothing,
    /// Subset selection from biased rankings with fairness constraints (Boehmer et al. 2023).
    Subset,
}

impl Job {
    /// The job's folder under `target/reproduce/`.
    fn folder(self) -> &'static str {
        match self {
            Job::Digits => "digits",
            Job::Bilevel => "bilevel",
            Job::Online => "online",
            Job::Smoothing => "smoothing",
            Job::Subset => "subset",
        }
    }
}

/// Options every job receives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub(crate) full: bool,
    pub(crate) seed: u64,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let opts = Options {
        full: cli.full,
        seed: cli.seed,
    };
    let jobs = cli.job.map_or_else(
        || {
            vec![
                Job::Digits,
                Job::Bilevel,
                Job::Online,
                Job::Smoothing,
                Job::Subset,
            ]
        },
        |j| vec![j],
    );
    // Check every output folder before computing anything: a folder that cannot be written
    // fails now, not after the runs.
    for job in &jobs {
        if let Err(e) = output_dir(job.folder()) {
            eprintln!("error: {}", error_chain(e.as_ref()));
            return std::process::ExitCode::FAILURE;
        }
    }
    for job in jobs {
        let result = match job {
            Job::Digits => digits::run(opts),
            Job::Bilevel => bilevel::run(opts),
            Job::Online => online::run_job(opts),
            Job::Smoothing => smoothing::run(opts),
            Job::Subset => subset::run(opts),
        };
        if let Err(e) = result {
            eprintln!("error in job {}: {}", job.folder(), error_chain(e.as_ref()));
            return std::process::ExitCode::FAILURE;
        }
    }
    std::process::ExitCode::SUCCESS
}
