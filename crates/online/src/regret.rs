//! Regret accounting: static pseudo-regret and realized regret against the best fixed point,
//! dynamic regret against the per-round minimizers with their path length.
//!
//! With F_t = E f_t (reference notes §1.4):
//! - pseudo-regret Σ_t F_t(x_t) − min_u Σ_t F_t(u), the quantity the SEA bounds control in
//!   expectation;
//! - realized regret Σ_t f_t(x_t) − min_u Σ_t f_t(u);
//! - dynamic regret Σ_t F_t(x_t) − Σ_t F_t(u_t), u_t = argmin_X F_t, with path length
//!   P_T = Σ_{t≥2} ‖u_t − u_{t−1}‖.
//!
//! The minima are exact for the simulator's linear and quadratic losses (see
//! [`SeaEnvironment`](crate::env::SeaEnvironment)).

use serde::{Deserialize, Serialize};

use crate::env::{BestFixed, Evaluation, SeaStats};

/// Running sums of a learner's losses.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct RegretTracker {
    rounds: u64,
    loss: f64,
    expected_loss: f64,
    comparator_loss: f64,
    comparator_known: bool,
}

impl RegretTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self {
            comparator_known: true,
            ..Self::default()
        }
    }

    /// Adds one round's evaluation.
    pub fn record(&mut self, e: &Evaluation) {
        self.rounds += 1;
        self.loss += e.loss;
        self.expected_loss += e.expected_loss;
        match e.comparator_expected_loss {
            Some(c) => self.comparator_loss += c,
            None => self.comparator_known = false,
        }
    }

    /// The regret figures so far, given the best fixed point over the same rounds.
    pub fn summary(&self, best: Option<&BestFixed>, stats: Option<&SeaStats>) -> RegretSummary {
        let dynamic = (self.comparator_known && self.rounds > 0)
            .then_some(self.expected_loss - self.comparator_loss);
        RegretSummary {
            rounds: self.rounds,
            cumulative_loss: self.loss,
            cumulative_expected_loss: self.expected_loss,
            pseudo_regret: best.map(|b| self.expected_loss - b.expected),
            realized_regret: best.map(|b| self.loss - b.realized),
            dynamic_regret: dynamic,
            path_length: dynamic.and(stats.map(|s| s.path_length)),
        }
    }
}

/// The regret figures of a run at one time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegretSummary {
    /// Rounds t.
    pub rounds: u64,
    /// Σ f_s(x_s).
    pub cumulative_loss: f64,
    /// Σ F_s(x_s).
    pub cumulative_expected_loss: f64,
    /// Σ F_s(x_s) − min_u Σ F_s(u).
    pub pseudo_regret: Option<f64>,
    /// Σ f_s(x_s) − min_u Σ f_s(u).
    pub realized_regret: Option<f64>,
    /// Σ F_s(x_s) − Σ F_s(u_s).
    pub dynamic_regret: Option<f64>,
    /// Σ_{s≥2} ‖u_s − u_{s−1}‖.
    pub path_length: Option<f64>,
}
