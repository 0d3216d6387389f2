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
//! - `subset`: subset selection from biased rankings (Boehmer et al., ICML 2023): F(S)/OPT as
//!   the number of rankings grows, with and without fairness constraints, and the smoothness tool.
//!
//! Each paper crate adds its job here (`bilevel`, `subset`, `smoothing`, `online`).

mod digits;
mod subset;

use clap::{Parser, Subcommand};
use lisse_examples::AnyError;

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
    /// Subset selection from biased rankings with fairness constraints (Boehmer et al. 2023).
    Subset,
}

/// Options every job receives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub(crate) full: bool,
    pub(crate) seed: u64,
}

fn main() -> Result<(), AnyError> {
    let cli = Cli::parse();
    let opts = Options {
        full: cli.full,
        seed: cli.seed,
    };
    let jobs = cli
        .job
        .map_or_else(|| vec![Job::Digits, Job::Subset], |j| vec![j]);
    for job in jobs {
        match job {
            Job::Digits => digits::run(opts)?,
            Job::Subset => subset::run(opts)?,
        }
    }
    Ok(())
}
