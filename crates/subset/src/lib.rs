//! # lisse-subset
//!
//! Placeholder.

pub mod bias;
pub mod constraint;
pub mod culture;
pub mod profile;
pub mod rule;
pub mod solver;

pub use constraint::Constraints;
pub use profile::{Ballot, DataType, Groups, PreflibFile, Profile};
pub use rule::{CommitteeScore, CommitteeScoringRule, Monroe, MonroeScore, Score, ScoreFunction};
pub use solver::Selection;
