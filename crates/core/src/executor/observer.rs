//! Observers of a run.

use super::{Report, Solver, TraceRecord};

/// Sees every trace record of a run, with the solver, and the final report.
///
/// Progress bars and logs implement this in binaries and examples; library code never draws.
pub trait Observer {
    /// Called at each record, with the solver (its name, iterates and counts).
    fn observe(&mut self, solver: &dyn Solver, record: &TraceRecord);

    /// Called once when the run ends normally.
    fn finish(&mut self, _report: &Report) {}
}

impl<F: FnMut(&dyn Solver, &TraceRecord)> Observer for F {
    fn observe(&mut self, solver: &dyn Solver, record: &TraceRecord) {
        self(solver, record);
    }
}
