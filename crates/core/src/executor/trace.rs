//! Serializable traces and run reports.

use std::collections::BTreeMap;

use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::StopReason;
use crate::OracleCounts;

/// The state of a run at one recorded iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceRecord {
    /// Iterations completed.
    pub iter: u64,
    /// Seconds since the run started.
    pub elapsed_s: f64,
    /// Oracle calls so far.
    pub counts: OracleCounts,
    /// The solver's residual, if it has one.
    pub residual: Option<f64>,
    /// User metrics by name.
    pub metrics: BTreeMap<String, f64>,
}

/// The records of a run, in iteration order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// One record per recorded iteration.
    pub records: Vec<TraceRecord>,
}

impl Trace {
    /// The series of one metric as (iteration, value) pairs, for plotting.
    pub fn metric_series(&self, name: &str) -> Vec<(u64, f64)> {
        self.records
            .iter()
            .filter_map(|r| r.metrics.get(name).map(|&v| (r.iter, v)))
            .collect()
    }
}

/// Everything a run produced; serialize it with serde to plot elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The solver's name.
    pub solver: String,
    /// Which rule stopped the run.
    pub stop_reason: StopReason,
    /// Iterations completed.
    pub iterations: u64,
    /// Wall time in seconds.
    pub elapsed_s: f64,
    /// Oracle calls made.
    pub counts: OracleCounts,
    /// The final iterate.
    pub final_point: DVector<f64>,
    /// The final lower-level iterate y of a bilevel solver ([`Solver::lower_iterate`]).
    ///
    /// [`Solver::lower_iterate`]: super::Solver::lower_iterate
    #[serde(default)]
    pub final_lower_point: Option<DVector<f64>>,
    /// The recorded trace.
    pub trace: Trace,
}
