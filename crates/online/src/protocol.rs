//! The online protocol's run loop, with a serializable trace.
//!
//! An online round is not an optimization step (the loss changes every round and is chosen
//! after the play), so the protocol has its own loop rather than lisse-core's executor:
//!
//! for t = 1..T: nature draws f_t → the learner plays x_t = predict(M_t) → the environment
//! reveals g_t = ∇f_t(x_t) → update(g_t) → regret accounting.

use std::time::Instant;

use lisse_core::{Error, Result};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use crate::env::{Environment, SeaStats};
use crate::learner::{Hint, OnlineLearner};
use crate::regret::{
    ComparatorSequence, DynamicRegret, DynamicRegretTracker, RegretSummary, RegretTracker,
};

/// Which hint the protocol hands the learner each round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum HintPolicy {
    /// M_t = g_{t−1} (the learner's own memory).
    #[default]
    LastGradient,
    /// M_t = 0.
    Zero,
    /// M_t = g_t, the exact coming gradient; only for environments whose gradient does not
    /// depend on the point ([`Environment::exact_hint`]); otherwise the run fails.
    Exact,
}

/// Options of [`run`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RunOptions {
    /// The hint policy.
    pub hint: HintPolicy,
    /// About this many trace points, log-spaced in t (the last round is always recorded).
    pub checkpoints: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            hint: HintPolicy::LastGradient,
            checkpoints: 20,
        }
    }
}

/// One point of the trace.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TracePoint {
    /// Regret figures at round t.
    pub regret: RegretSummary,
    /// The step size of round t, if the learner has one.
    pub step_size: Option<f64>,
    /// σ², Σ² and constants over rounds 1..t, if the environment knows them.
    pub stats: Option<SeaStats>,
    /// Dynamic regret and path length against the user's comparator sequence
    /// ([`run_with_comparator`]); `None` for [`run`].
    #[serde(default)]
    pub comparator: Option<DynamicRegret>,
}

/// The outcome of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// The learner's name.
    pub learner: String,
    /// The environment's name.
    pub environment: String,
    /// The hint policy.
    pub hint: HintPolicy,
    /// Log-spaced trace points, the last at t = T.
    pub trace: Vec<TracePoint>,
    /// Wall-clock seconds.
    pub elapsed_s: f64,
}

impl RunReport {
    /// The last trace point (t = T).
    pub fn last(&self) -> Option<&TracePoint> {
        self.trace.last()
    }
}

/// Log-spaced checkpoints in 1..=T, always including T.
fn checkpoint_rounds(horizon: u64, count: usize) -> Vec<u64> {
    let mut out: Vec<u64> = (0..count.max(1))
        .map(|k| {
            let f = (k + 1) as f64 / count.max(1) as f64;
            (horizon as f64).powf(f).round() as u64
        })
        .filter(|&t| t >= 1)
        .collect();
    out.push(horizon);
    out.sort_unstable();
    out.dedup();
    out
}

/// Plays `learner` against `env` for the environment's horizon.
///
/// # Errors
/// [`Error::DimensionMismatch`] when the dimensions differ; [`Error::InvalidParameter`] for
/// [`HintPolicy::Exact`] on an environment without exact hints; any error of the learner or
/// the environment (non-finite gradients, …).
pub fn run<L, E>(learner: &mut L, env: &mut E, options: &RunOptions) -> Result<RunReport>
where
    L: OnlineLearner + ?Sized,
    E: Environment + ?Sized,
{
    run_inner::<L, E, dyn ComparatorSequence>(learner, env, options, None)
}

/// Like [`run`], and also tracks dynamic regret Σ_t F_t(x_t) − Σ_t F_t(u_t) and path length
/// P_T = Σ_{t≥2} ‖u_t − u_{t−1}‖ against the user's comparator sequence u_1, …, u_T (in each
/// [`TracePoint::comparator`]). F_t(u_t) comes from [`Environment::expected_loss_at`]. The
/// comparators need not lie in the learner's domain (the regret is then against an
/// infeasible sequence, which can make it negative).
///
/// ```
/// use lisse_core::domain::L2Ball;
/// use lisse_online::env::{BaseLoss, SeaConfig, SeaEnvironment};
/// use lisse_online::regret::ComparatorFn;
/// use lisse_online::{OptimisticOmd, RunOptions, run_with_comparator};
/// use nalgebra::DVector;
///
/// let ball = L2Ball::centered(2, 1.0)?;
/// let config = SeaConfig::with_totals(BaseLoss::Quadratic, 2, 500, 5.0, 2.0, 1.0, 7)?;
/// let mut env = SeaEnvironment::new(ball.clone(), config)?;
/// let mut learner = OptimisticOmd::strongly_convex(ball, 1.0)?;
/// // The comparator: the origin for the first half, then (0.5, 0).
/// let mut comparator = ComparatorFn::new(2, |t, u: &mut DVector<f64>| {
///     u.fill(0.0);
///     if t > 250 {
///         u[0] = 0.5;
///     }
/// });
/// let report = run_with_comparator(&mut learner, &mut env, &RunOptions::default(), &mut comparator)?;
/// let dynamic = report.last().unwrap().comparator.unwrap();
/// assert_eq!(dynamic.rounds, 500);
/// assert_eq!(dynamic.path_length, 0.5);
/// # Ok::<(), lisse_core::Error>(())
/// ```
///
/// # Errors
/// As [`run`]; also [`Error::DimensionMismatch`] when the comparators' dimension differs from
/// the environment's, [`Error::InvalidParameter`] when a fixed-length sequence does not hold
/// exactly T points or when the environment cannot evaluate F_t at a given point, and
/// [`Error::NonFinite`] for a comparator with NaN or ±∞ entries (naming the round).
pub fn run_with_comparator<L, E, C>(
    learner: &mut L,
    env: &mut E,
    options: &RunOptions,
    comparator: &mut C,
) -> Result<RunReport>
where
    L: OnlineLearner + ?Sized,
    E: Environment + ?Sized,
    C: ComparatorSequence + ?Sized,
{
    lisse_core::check_dim_hint(
        "comparator sequence",
        env.dim(),
        comparator.dim(),
        "give comparators u_t of the environment's dimension",
    )?;
    if let Some(len) = comparator.rounds()
        && len != env.horizon()
    {
        return Err(Error::invalid(
            "comparator sequence length",
            len,
            format!("one point u_t per round: T = {} points", env.horizon()),
        ));
    }
    run_inner(learner, env, options, Some(comparator))
}

/// A user's comparator sequence with its buffer and tracker.
struct UserComparator<'a, C: ?Sized> {
    sequence: &'a mut C,
    point: DVector<f64>,
    tracker: DynamicRegretTracker,
}

fn run_inner<L, E, C>(
    learner: &mut L,
    env: &mut E,
    options: &RunOptions,
    comparator: Option<&mut C>,
) -> Result<RunReport>
where
    L: OnlineLearner + ?Sized,
    E: Environment + ?Sized,
    C: ComparatorSequence + ?Sized,
{
    lisse_core::check_dim("environment", learner.dim(), env.dim())?;
    let mut user = comparator.map(|sequence| UserComparator {
        point: DVector::zeros(sequence.dim()),
        tracker: DynamicRegretTracker::new(sequence.dim()),
        sequence,
    });
    let start = Instant::now();
    let d = learner.dim();
    let mut gradient = DVector::zeros(d);
    let mut hint = DVector::zeros(d);
    let mut played = DVector::zeros(d);
    let mut tracker = RegretTracker::new();
    let checkpoints = checkpoint_rounds(env.horizon(), options.checkpoints);
    let mut next = 0;
    let mut trace = Vec::with_capacity(checkpoints.len());
    for t in 1..=env.horizon() {
        env.begin_round()?;
        let x = match options.hint {
            HintPolicy::LastGradient => learner.predict(Hint::LastGradient)?,
            HintPolicy::Zero => learner.predict(Hint::Zero)?,
            HintPolicy::Exact => {
                if !env.exact_hint(&mut hint)? {
                    return Err(Error::invalid(
                        "hint policy",
                        "Exact",
                        "LastGradient or Zero for an environment whose gradient depends on x",
                    ));
                }
                learner.predict(Hint::External(&hint))?
            }
        };
        played.copy_from(x);
        let evaluation = env.evaluate(&played, &mut gradient)?;
        learner.update(&gradient)?;
        tracker.record(&evaluation);
        if let Some(user) = user.as_mut() {
            user.sequence.point(t, &mut user.point)?;
            let Some(comparator_loss) = env.expected_loss_at(&user.point)? else {
                return Err(Error::invalid(
                    "environment",
                    env.name(),
                    "an environment that evaluates F_t at any point \
                     (Environment::expected_loss_at) for a user's comparator",
                ));
            };
            user.tracker
                .record(evaluation.expected_loss, comparator_loss, &user.point)?;
        }
        if checkpoints.get(next) == Some(&t) {
            next += 1;
            let best = env.best_fixed()?;
            let stats = env.sea_stats();
            trace.push(TracePoint {
                regret: tracker.summary(best.as_ref(), stats.as_ref()),
                step_size: learner.step_size(),
                stats,
                comparator: user.as_ref().map(|u| u.tracker.summary()),
            });
        }
    }
    Ok(RunReport {
        learner: learner.name(),
        environment: env.name(),
        hint: options.hint,
        trace,
        elapsed_s: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::checkpoint_rounds;

    #[test]
    fn checkpoints_are_increasing_and_end_at_the_horizon() {
        let c = checkpoint_rounds(1000, 10);
        assert_eq!(*c.last().unwrap(), 1000);
        assert!(c.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(checkpoint_rounds(1, 5), vec![1]);
    }
}
