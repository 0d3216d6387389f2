//! Observers of a run.

use super::{Report, TraceRecord};

/// Sees every trace record of a run, and the final report.
///
/// Progress bars and logs implement this in binaries and examples; library code never draws.
pub trait Observer {
    /// Called at each record, with the solver's name.
    fn observe(&mut self, solver: &str, record: &TraceRecord);

    /// Called once when the run ends normally.
    fn finish(&mut self, _report: &Report) {}
}

impl<F: FnMut(&str, &super::TraceRecord)> Observer for F {
    fn observe(&mut self, solver: &str, record: &TraceRecord) {
        self(solver, record);
    }
}
