//! # lisse-subset
//!
//! Select k of m items from many rankings when the rankings may be biased against a group of
//! items, with group-fairness constraints on the selection. Implements Boehmer, Celis, Huang,
//! Mehrotra and Vishnoi, "Subset Selection Based On Multiple Rankings in the Presence of Bias:
//! Effectiveness of Fairness Constraints for Multiwinner Voting Score Functions" (ICML 2023),
//! and goes past its public notebook, which covers only separable rules.
//!
//! ```
//! // Everything comes from lisse-subset alone (it re-exports the seeded streams and errors).
//! use lisse_subset::bias::SwapBias;
//! use lisse_subset::culture::{Culture, Mallows};
//! use lisse_subset::{CommitteeScoringRule, Constraints, Groups, RngStreams, ScoreFunction, solver};
//!
//! let streams = RngStreams::new(42);
//! // 30 latent rankings of 12 items, and the rankings biased evaluators report.
//! let latent = Mallows::normalized(0.4)?.sample(12, 30, &mut streams.stream(0))?;
//! let groups = Groups::random_split(12, 6, &mut streams.stream(1))?; // G1 favoured, G2 not
//! let biased = SwapBias::new(0.5, 0.6)?.apply(&latent, &groups, 0, &mut streams.stream(2))?;
//!
//! // Pick 4 items by Borda-CC on the biased rankings: unconstrained, and with 2 from each group.
//! let rule = CommitteeScoringRule::borda_cc();
//! let f_hat = rule.instantiate(&biased, 4)?;
//! let free = solver::ilp(&f_hat, &Constraints::cardinality(4))?;
//! let fair = solver::ilp(&f_hat, &Constraints::exact_two_groups(4, groups.clone(), 2)?)?;
//! assert_eq!(groups.counts(&fair.committee), vec![2, 2]);
//!
//! // Judge both on the latent rankings.
//! let f = rule.instantiate(&latent, 4)?;
//! let (q_free, q_fair) = (f.score(&free.committee)?, f.score(&fair.committee)?);
//! println!("latent Borda-CC: unconstrained {} vs fair {}", q_free.value(), q_fair.value());
//!
//! // Bad input is a typed error that says what to fix.
//! let e = rule.instantiate(&biased, 13).unwrap_err();
//! assert!(e.to_string().contains("a committee size between 1 and m = 12"));
//! # Ok::<(), lisse_subset::Error>(())
//! ```
//!
//! ## Contents
//! - [`profile`]: [`Profile`] (n rankings of m items with multiplicities, validated), PrefLib
//!   SOC/SOI/TOC/TOI reading and writing ([`PreflibFile`]), item [`Groups`] (partition or
//!   overlapping).
//! - [`culture`]: seeded generators — impartial culture, Mallows (φ or normalized φ) by
//!   repeated insertion, Plackett–Luce, Pólya–Eggenberger urn, single-peaked (Conitzer,
//!   Walsh), Euclidean, latent utilities with noise.
//! - [`bias`]: the swapping bias (φ, λ; weights recomputed after every swap) and the
//!   multiplicative utility bias θ.
//! - [`rule`]: committee scoring rules (SNTV, Bloc, k-Borda, Borda-CC, approval-CC,
//!   Harmonic-Borda, PAV, geometric) and Monroe, with exact integer scores.
//! - [`constraint`]: lower/upper bounds per group, proportional bounds, the two-group
//!   "exactly ℓ" form, and a feasibility check that names the failing bound.
//! - [`solver`]: exact sorting for separable rules, ILP (good_lp + microlp), lazy greedy,
//!   branch-and-bound, brute force, enumeration of all optima.
//! - [`smoothness`]: the paper's tool — α and γ(β) with standard errors.
//! - [`experiment`]: F(S)/OPT as the number of rankings grows, constrained and not.
//!
//! Every random choice takes the caller's generator; use [`RngStreams`] (re-exported from
//! lisse-core) for reproducible streams. Bad input gives a typed [`Error`] (lisse-core's error
//! type, re-exported) whose message says what to fix.
//!
//! ## Dependencies
//! Besides lisse-core, rand and serde, the crate uses `good_lp` with only its `microlp`
//! feature: a maintained modelling layer over a pure-Rust MILP solver, so the exact solvers
//! need no C or C++ toolchain; writing a dependable branch-and-cut by hand would cost far more.

pub mod bias;
pub mod constraint;
pub mod culture;
pub mod experiment;
pub mod profile;
pub mod rule;
pub mod smoothness;
pub mod solver;

pub use constraint::Constraints;
pub use lisse_core::{Error, Result, RngStreams, StreamRng};
pub use profile::{Ballot, DataType, Groups, PreflibFile, Profile};
pub use rule::{CommitteeScore, CommitteeScoringRule, Monroe, MonroeScore, Score, ScoreFunction};
pub use solver::Selection;
