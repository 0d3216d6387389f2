//! Bilevel problems: an upper level f and a lower level g written with lisse-core's two-block
//! oracle traits, the lower level's constants, and counted access for the solvers.
//!
//! min_x Φ(x) = f(x, y*(x)),  y*(x) = argmin_y g(x, y),  g(x, ·) μ-strongly convex.
//!
//! By the implicit function theorem (Ghadimi & Wang 2018, eq. (2.4)),
//!
//! ∇Φ(x) = ∇ₓf(x, y*) − ∇²ₓᵧg(x, y*) [∇²ᵧᵧg(x, y*)]⁻¹ ∇ᵧf(x, y*),
//!
//! and the *surrogate* ∇̄f(x, y) is the same expression at an arbitrary y.
//!
//! | problem | file | closed form |
//! |---|---|---|
//! | [`QuadraticBilevel`] | `quadratic.rs` | y*(x), v*, ∇Φ(x) (benchopt's simulated problem, dense or factored) |
//! | [`HyperCleaning`] | `hyper_cleaning.rs` | — (data hyper-cleaning on the embedded digits) |
//! | [`SineBilevel`] | `sine.rs` | g = y²/2 − y sin x, f = sin y clipped: ∇Φ = cos x · cos(sin x) |
//!
//! Sign convention used throughout the crate: z ≈ [∇²ᵧᵧg]⁻¹∇ᵧf, and the hypergradient estimate
//! is ∇ₓf − ∇²ₓᵧg·z. (SOBA's paper writes v = −z.)

mod hyper_cleaning;
mod quadratic;
mod sine;

use std::cell::{RefCell, RefMut};
use std::sync::{Mutex, MutexGuard, PoisonError};

use lisse_core::{
    Counted, Error, OracleCounts, OracleKind, PartialGradients, PartialHvps, Result, Sampler,
    StochasticPartialGradients, StochasticPartialHvps, TwoBlock, check_dim, check_finite,
};
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use serde::{Deserialize, Serialize};

pub use hyper_cleaning::{CleaningLower, CleaningUpper, HyperCleaning, HyperCleaningSpec};
pub use quadratic::{QuadraticBilevel, QuadraticLevel, QuadraticSpec, Storage};
pub use sine::{SineBilevel, SineLower, SineUpper};

/// The oracles an upper level f must offer: partial gradients ∇ₓf, ∇ᵧf, exact and stochastic.
///
/// A name for a set of lisse-core traits plus one fused entry point,
/// [`grads_at_into`](Self::grads_at_into), whose default makes the two oracle calls; a level
/// whose ∇ₓF and ∇ᵧF read the same per-sample data overrides it with one pass. A type with the
/// lisse-core traits opts in with `impl UpperLevel for MyLevel {}`.
///
/// `Send + Sync` (and so its samples), so that SOBA-type solvers can evaluate the two levels
/// on two threads at once ([`BilevelProblem::lower_directions_and_upper_grads`]); keep
/// per-call scratch in a `Mutex`, not a `RefCell`.
pub trait UpperLevel:
    PartialGradients + StochasticPartialGradients<Sample: Send + Sync> + Send + Sync
{
    /// ∇ₓF(x, y; ξ) into `gx` and ∇ᵧF(x, y; ξ) into `gy` at one sample ξ: the same values as
    /// [`grad_x_at_into`](StochasticPartialGradients::grad_x_at_into) and
    /// [`grad_y_at_into`](StochasticPartialGradients::grad_y_at_into) (up to rounding).
    ///
    /// # Errors
    /// Those of the two oracles.
    fn grads_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &Self::Sample,
        gx: &mut DVector<f64>,
        gy: &mut DVector<f64>,
    ) -> Result<()> {
        self.grad_x_at_into(x, y, sample, gx)?;
        self.grad_y_at_into(x, y, sample, gy)
    }

    /// Whether [`grads_at_into`](Self::grads_at_into) returns [`Error::NonFinite`] itself
    /// whenever an output is not finite, so that [`BilevelProblem::upper_grads`] need not
    /// check its outputs a second time (false by default).
    fn checks_finite_outputs(&self) -> bool {
        false
    }
}

/// The oracles a lower level g must offer: ∇ᵧg, ∇²ᵧᵧg·v and ∇²ₓᵧg·v, exact and stochastic.
///
/// A name for a set of lisse-core traits plus one fused entry point,
/// [`directions_at_into`](Self::directions_at_into) (SOBA's three lower quantities at one
/// sample), whose default makes the three oracle calls; a level overrides it with one pass over
/// the sample's data. A type with the lisse-core traits opts in with
/// `impl LowerLevel for MyLevel {}`. `Send + Sync` like [`UpperLevel`].
pub trait LowerLevel:
    PartialGradients
    + PartialHvps
    + StochasticPartialGradients<Sample: Send + Sync>
    + StochasticPartialHvps
    + Send
    + Sync
{
    /// ∇ᵧG(x, y; ζ) into `grad_y`, ∇²ᵧᵧG(x, y; ζ)·v into `hvp` and ∇²ₓᵧG(x, y; ζ)·v into
    /// `cross` at one sample ζ: the values of the three single oracles (up to rounding).
    ///
    /// # Errors
    /// Those of the three oracles.
    #[allow(clippy::too_many_arguments)]
    fn directions_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        sample: &Self::Sample,
        grad_y: &mut DVector<f64>,
        hvp: &mut DVector<f64>,
        cross: &mut DVector<f64>,
    ) -> Result<()> {
        self.grad_y_at_into(x, y, sample, grad_y)?;
        self.hvp_yy_at_into(x, y, v, sample, hvp)?;
        self.hvp_xy_at_into(x, y, v, sample, cross)
    }

    /// Whether [`directions_at_into`](Self::directions_at_into) returns [`Error::NonFinite`]
    /// itself whenever an output is not finite, so that [`BilevelProblem::lower_directions`]
    /// need not check its outputs a second time (false by default).
    fn checks_finite_outputs(&self) -> bool {
        false
    }
}

/// Per-call scratch of a level: a `Mutex`, so that the level is `Sync` (see [`UpperLevel`]),
/// whose clone copies the contents. Uncontended (each level is evaluated by one thread at a
/// time), so a lock costs a few nanoseconds.
#[derive(Debug, Default)]
pub(crate) struct Scratch<T>(Mutex<T>);

impl<T> Scratch<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(Mutex::new(value))
    }

    /// The scratch (a panic while it was held leaves it usable: every user overwrites it).
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: Clone> Clone for Scratch<T> {
    fn clone(&self) -> Self {
        Self::new(self.lock().clone())
    }
}

/// Problems with a closed-form lower solution and hypergradient (for tests and metrics).
pub trait ClosedForm {
    /// y*(x).
    ///
    /// # Errors
    /// A wrong length of `x`.
    fn lower_solution(&self, x: &DVector<f64>) -> Result<DVector<f64>>;

    /// ∇Φ(x).
    ///
    /// # Errors
    /// A wrong length of `x`.
    fn hypergradient(&self, x: &DVector<f64>) -> Result<DVector<f64>>;
}

/// Constants of the lower level g: μ-strong convexity in y and a bound C_g ≥ l_{g,1} on the
/// smoothness of every stochastic ∇ᵧG(x, ·; ζ) (so that ‖I − ∇²ᵧᵧG/C_g‖ ≤ 1 − μ/C_g, the
/// contraction the Neumann estimators rely on).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LowerConstants {
    /// μ > 0.
    pub mu: f64,
    /// C_g ≥ μ.
    pub smoothness: f64,
}

impl LowerConstants {
    /// Validates μ > 0 and C_g ≥ μ, both finite.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the constant and how to fix it.
    pub fn new(mu: f64, smoothness: f64) -> Result<Self> {
        if !(mu.is_finite() && mu > 0.0) {
            return Err(Error::invalid(
                "mu (strong convexity of the lower level)",
                mu,
                "a finite number > 0: the lower level g(x, ·) must be strongly convex; \
                 add a squared L2 term (c/2)‖y‖² to g",
            ));
        }
        if !(smoothness.is_finite() && smoothness >= mu) {
            return Err(Error::invalid(
                "smoothness C_g of the lower level",
                smoothness,
                format!("a finite number >= mu = {mu}"),
            ));
        }
        Ok(Self { mu, smoothness })
    }

    /// κ = C_g / μ.
    pub fn condition_number(&self) -> f64 {
        self.smoothness / self.mu
    }
}

/// Oracle calls of a bilevel solver, split by the blocks the pseudocode of every method names
/// (read from lisse-core's per-kind call tallies of f and g).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BilevelCounts {
    /// ∇ₓf calls.
    pub grad_x_upper: u64,
    /// ∇ᵧf calls.
    pub grad_y_upper: u64,
    /// ∇ᵧg calls.
    pub grad_y_lower: u64,
    /// ∇²ᵧᵧg·v calls.
    pub hvp_yy: u64,
    /// ∇²ₓᵧg·v calls.
    pub hvp_xy: u64,
}

impl BilevelCounts {
    /// All calls.
    pub fn total(&self) -> u64 {
        self.grad_x_upper + self.grad_y_upper + self.grad_y_lower + self.hvp_yy + self.hvp_xy
    }
}

/// A bilevel problem: upper level f, lower level g, and g's constants, with every draw and
/// oracle call counted through lisse-core's [`Counted`] (and read by block in
/// [`BilevelCounts`]) and every output checked for NaN/∞.
///
/// Each stochastic method draws its own independent sample (into a buffer the problem keeps,
/// so nothing allocates) from the caller's RNG, as the theory of every method here assumes
/// (ξ, ζ⁰, ζʲ independent). Two methods evaluate several quantities at one sample:
/// [`BilevelProblem::upper_grads`] (∇ₓF and ∇ᵧF at one ξ, as the estimators of Ghadimi & Wang
/// 2018) and [`BilevelProblem::lower_directions`] (∇ᵧG, ∇²ᵧᵧG·z and ∇²ₓᵧG·z at one ζ, as SOBA).
///
/// Cloning gives a copy with **fresh** counters (so several solvers can run on one problem).
pub struct BilevelProblem<F: UpperLevel, G: LowerLevel> {
    upper: Counted<F>,
    lower: Counted<G>,
    constants: LowerConstants,
    upper_sample: RefCell<F::Sample>,
    lower_sample: RefCell<G::Sample>,
}

impl<F: UpperLevel, G: LowerLevel> std::fmt::Debug for BilevelProblem<F, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BilevelProblem")
            .field("dim_x", &self.upper.dim_x())
            .field("dim_y", &self.upper.dim_y())
            .field("constants", &self.constants)
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}

impl<F: UpperLevel + Clone, G: LowerLevel + Clone> Clone for BilevelProblem<F, G> {
    fn clone(&self) -> Self {
        let upper = Counted::new(self.upper.inner().clone());
        let lower = Counted::new(self.lower.inner().clone());
        Self {
            upper_sample: RefCell::new(upper.empty_sample()),
            lower_sample: RefCell::new(lower.empty_sample()),
            upper,
            lower,
            constants: self.constants,
        }
    }
}

impl<F: UpperLevel, G: LowerLevel> BilevelProblem<F, G> {
    /// Pairs `upper` and `lower`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when f and g disagree on dim x or dim y, or a dimension is
    /// 0; [`Error::InvalidParameter`] when `constants` are out of range (see
    /// [`LowerConstants::new`]).
    pub fn new(upper: F, lower: G, constants: LowerConstants) -> Result<Self> {
        let constants = LowerConstants::new(constants.mu, constants.smoothness)?;
        check_dim(
            "dim_x of the lower level (must equal the upper level's)",
            upper.dim_x(),
            lower.dim_x(),
        )?;
        check_dim(
            "dim_y of the lower level (must equal the upper level's)",
            upper.dim_y(),
            lower.dim_y(),
        )?;
        if upper.dim_x() == 0 || upper.dim_y() == 0 {
            return Err(Error::invalid(
                "dimensions (dim_x, dim_y)",
                format!("({}, {})", upper.dim_x(), upper.dim_y()),
                "both at least 1",
            ));
        }
        let upper = Counted::new(upper);
        let lower = Counted::new(lower);
        Ok(Self {
            upper_sample: RefCell::new(upper.empty_sample()),
            lower_sample: RefCell::new(lower.empty_sample()),
            upper,
            lower,
            constants,
        })
    }

    /// Length of x.
    pub fn dim_x(&self) -> usize {
        self.upper.dim_x()
    }

    /// Length of y.
    pub fn dim_y(&self) -> usize {
        self.upper.dim_y()
    }

    /// The lower level's constants.
    pub fn constants(&self) -> LowerConstants {
        self.constants
    }

    /// The upper level (uncounted access, for metrics).
    pub fn upper(&self) -> &F {
        self.upper.inner()
    }

    /// The lower level (uncounted access, for metrics).
    pub fn lower(&self) -> &G {
        self.lower.inner()
    }

    /// lisse-core's tallies of both levels added (samples drawn, draws, calls and points per
    /// kind).
    pub fn counts(&self) -> OracleCounts {
        self.upper.counts() + self.lower.counts()
    }

    /// The upper level's tallies.
    pub fn upper_counts(&self) -> OracleCounts {
        self.upper.counts()
    }

    /// The lower level's tallies.
    pub fn lower_counts(&self) -> OracleCounts {
        self.lower.counts()
    }

    /// Calls by block, read from the two levels' [`Counted`] tallies.
    pub fn bilevel_counts(&self) -> BilevelCounts {
        let (f, g) = (self.upper.counts().calls, self.lower.counts().calls);
        BilevelCounts {
            grad_x_upper: f.grads_x,
            grad_y_upper: f.grads_y,
            grad_y_lower: g.grads_y,
            hvp_yy: g.hvps,
            hvp_xy: g.cross_hvps,
        }
    }

    /// Checks that `x` and `y` have the problem's lengths and are finite.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] or [`Error::NonFinite`].
    pub fn check_point(&self, x: &DVector<f64>, y: &DVector<f64>) -> Result<()> {
        check_dim("x", self.dim_x(), x.len())?;
        check_dim("y", self.dim_y(), y.len())?;
        check_finite("x", x.as_slice())?;
        check_finite("y", y.as_slice())
    }

    /// ∇ₓF(x, y; ξ) and ∇ᵧF(x, y; ξ) on one fresh sample ξ.
    ///
    /// # Errors
    /// A wrong length, or a non-finite oracle output.
    pub fn upper_grads<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        gx: &mut DVector<f64>,
        gy: &mut DVector<f64>,
    ) -> Result<()> {
        let s = self.draw_upper_grads(rng)?;
        Self::upper_grads_at(self.upper.inner(), (x, y), &s, [gx, gy])
    }

    /// Draws ξ for [`upper_grads`](Self::upper_grads) and tallies the two calls it stands for.
    fn draw_upper_grads<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<RefMut<'_, F::Sample>> {
        let mut s = self.upper_sample.borrow_mut();
        Self::draw_upper_into(&self.upper, rng, &mut s)?;
        Ok(s)
    }

    /// Draws ξ into `s` from `upper` and tallies the two calls it stands for.
    fn draw_upper_into<R: Rng + ?Sized>(
        upper: &Counted<F>,
        rng: &mut R,
        s: &mut F::Sample,
    ) -> Result<()> {
        upper.draw_into(rng, s)?;
        // One fused pass, tallied as the two calls it stands for.
        let points = upper.points_read(s) as u64;
        let counter = upper.counter();
        counter.add_evaluations(OracleKind::GradX, 1, points);
        counter.add_evaluations(OracleKind::GradY, 1, points);
        Ok(())
    }

    /// The evaluation of [`upper_grads`](Self::upper_grads) at a drawn (and tallied) ξ.
    fn upper_grads_at(
        upper: &F,
        (x, y): (&DVector<f64>, &DVector<f64>),
        s: &F::Sample,
        [gx, gy]: [&mut DVector<f64>; 2],
    ) -> Result<()> {
        upper.grads_at_into(x, y, s, gx, gy)?;
        if upper.checks_finite_outputs() {
            return Ok(());
        }
        check_finite("∇ₓf (upper-level oracle output)", gx.as_slice())?;
        check_finite("∇ᵧf (upper-level oracle output)", gy.as_slice())
    }

    /// ∇ᵧF(x, y; ξ) on a fresh sample.
    ///
    /// # Errors
    /// A wrong length, or a non-finite oracle output.
    pub fn upper_grad_y<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        let mut s = self.upper_sample.borrow_mut();
        self.upper.draw_into(rng, &mut s)?;
        self.upper.grad_y_at_into(x, y, &s, out)?;
        check_finite("∇ᵧf (upper-level oracle output)", out.as_slice())
    }

    /// ∇ₓF(x, y; ξ) on a fresh sample.
    ///
    /// # Errors
    /// A wrong length, or a non-finite oracle output.
    pub fn upper_grad_x<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        let mut s = self.upper_sample.borrow_mut();
        self.upper.draw_into(rng, &mut s)?;
        self.upper.grad_x_at_into(x, y, &s, out)?;
        check_finite("∇ₓf (upper-level oracle output)", out.as_slice())
    }

    /// ∇ᵧG(x, y; ζ) on a fresh sample.
    ///
    /// # Errors
    /// A wrong length, or a non-finite oracle output.
    pub fn lower_grad_y<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        let mut s = self.lower_sample.borrow_mut();
        self.lower.draw_into(rng, &mut s)?;
        self.lower.grad_y_at_into(x, y, &s, out)?;
        check_finite("∇ᵧg (lower-level oracle output)", out.as_slice())
    }

    /// ∇²ᵧᵧG(x, y; ζ)·v on a fresh sample.
    ///
    /// # Errors
    /// A wrong length, or a non-finite oracle output.
    pub fn hvp_yy<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        let mut s = self.lower_sample.borrow_mut();
        self.lower.draw_into(rng, &mut s)?;
        self.lower.hvp_yy_at_into(x, y, v, &s, out)?;
        check_finite("∇²ᵧᵧg·v (lower-level oracle output)", out.as_slice())
    }

    /// ∇²ₓᵧG(x, y; ζ)·v on a fresh sample (length dim x).
    ///
    /// # Errors
    /// A wrong length, or a non-finite oracle output.
    pub fn hvp_xy<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        let mut s = self.lower_sample.borrow_mut();
        self.lower.draw_into(rng, &mut s)?;
        self.lower.hvp_xy_at_into(x, y, v, &s, out)?;
        check_finite("∇²ₓᵧg·v (lower-level oracle output)", out.as_slice())
    }

    /// ∇ᵧG(x, y; ζ), ∇²ᵧᵧG(x, y; ζ)·z and ∇²ₓᵧG(x, y; ζ)·z on **one** fresh sample ζ (SOBA's
    /// directions share one lower batch).
    ///
    /// # Errors
    /// A wrong length, or a non-finite oracle output.
    #[allow(clippy::too_many_arguments)]
    pub fn lower_directions<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        z: &DVector<f64>,
        rng: &mut R,
        grad_y: &mut DVector<f64>,
        hvp: &mut DVector<f64>,
        cross: &mut DVector<f64>,
    ) -> Result<()> {
        let s = self.draw_lower_directions(rng)?;
        Self::lower_directions_at(self.lower.inner(), (x, y, z), &s, [grad_y, hvp, cross])
    }

    /// [`lower_directions`](Self::lower_directions) at (x, y, z) on a fresh ζ, and
    /// [`upper_grads`](Self::upper_grads) at (x, y) on a fresh ξ, drawn in that order: the
    /// same draws, tallies and results as the two calls one after the other. Called on a rayon
    /// worker thread (as [`Executor::run`](lisse_core::Executor::run) runs every solver), the
    /// two levels are evaluated at once on two threads (`rayon::join`); elsewhere one after
    /// the other, since handing work to the pool from a foreign thread costs more than a
    /// small level's evaluation.
    ///
    /// `lower` receives (∇ᵧG, ∇²ᵧᵧG·z, ∇²ₓᵧG·z), `upper` (∇ₓF, ∇ᵧF).
    ///
    /// # Errors
    /// A wrong length, or a non-finite oracle output (the lower level's error first).
    pub fn lower_directions_and_upper_grads<R: Rng + Send + ?Sized>(
        &self,
        (x, y, z): (&DVector<f64>, &DVector<f64>, &DVector<f64>),
        rng: &mut R,
        lower: [&mut DVector<f64>; 3],
        upper: [&mut DVector<f64>; 2],
    ) -> Result<()> {
        let zeta = self.draw_lower_directions(rng)?;
        let mut xi = self.upper_sample.borrow_mut();
        let (zeta, xi) = (&*zeta, &mut *xi);
        let (f, g) = (&self.upper, self.lower.inner());
        let eval_lower = move || Self::lower_directions_at(g, (x, y, z), zeta, lower);
        // ξ is drawn after ζ, by the thread that evaluates the upper level (the lower level's
        // evaluation draws nothing), so the draws come in the same order either way.
        let eval_upper = move || {
            Self::draw_upper_into(f, rng, xi)?;
            Self::upper_grads_at(f.inner(), (x, y), xi, upper)
        };
        let (lower, upper) = if rayon::current_thread_index().is_some() {
            rayon::join(eval_lower, eval_upper)
        } else {
            (eval_lower(), eval_upper())
        };
        lower.and(upper)
    }

    /// Draws ζ for [`lower_directions`](Self::lower_directions) and tallies the three calls it
    /// stands for.
    fn draw_lower_directions<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<RefMut<'_, G::Sample>> {
        let mut s = self.lower_sample.borrow_mut();
        self.lower.draw_into(rng, &mut s)?;
        // One fused pass, tallied as the three calls it stands for.
        let points = self.lower.points_read(&s) as u64;
        let counter = self.lower.counter();
        counter.add_evaluations(OracleKind::GradY, 1, points);
        counter.add_evaluations(OracleKind::Hvp, 1, points);
        counter.add_evaluations(OracleKind::CrossHvp, 1, points);
        Ok(s)
    }

    /// The evaluation of [`lower_directions`](Self::lower_directions) at a drawn (and
    /// tallied) ζ, into (∇ᵧG, HVP, cross).
    fn lower_directions_at(
        lower: &G,
        (x, y, z): (&DVector<f64>, &DVector<f64>, &DVector<f64>),
        s: &G::Sample,
        [grad_y, hvp, cross]: [&mut DVector<f64>; 3],
    ) -> Result<()> {
        lower.directions_at_into(x, y, z, s, grad_y, hvp, cross)?;
        if lower.checks_finite_outputs() {
            return Ok(());
        }
        check_finite("∇ᵧg (lower-level oracle output)", grad_y.as_slice())?;
        check_finite("∇²ᵧᵧg·v (lower-level oracle output)", hvp.as_slice())?;
        check_finite("∇²ₓᵧg·v (lower-level oracle output)", cross.as_slice())
    }

    /// Exact ∇ₓf(x, y) and ∇ᵧf(x, y) (counted; a data problem reads every sample).
    ///
    /// # Errors
    /// A wrong length, or a non-finite oracle output.
    pub fn exact_upper_grads(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        gx: &mut DVector<f64>,
        gy: &mut DVector<f64>,
    ) -> Result<()> {
        self.upper.grad_x_into(x, y, gx)?;
        self.upper.grad_y_into(x, y, gy)?;
        check_finite("∇ₓf (upper-level oracle output)", gx.as_slice())?;
        check_finite("∇ᵧf (upper-level oracle output)", gy.as_slice())
    }

    /// Exact ∇²ᵧᵧg(x, y)·v (counted).
    ///
    /// # Errors
    /// A wrong length, or a non-finite oracle output.
    pub fn exact_hvp_yy(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.lower.hvp_yy_into(x, y, v, out)?;
        check_finite("∇²ᵧᵧg·v (lower-level oracle output)", out.as_slice())
    }

    /// Exact ∇²ₓᵧg(x, y)·v (counted).
    ///
    /// # Errors
    /// A wrong length, or a non-finite oracle output.
    pub fn exact_hvp_xy(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.lower.hvp_xy_into(x, y, v, out)?;
        check_finite("∇²ₓᵧg·v (lower-level oracle output)", out.as_slice())
    }

    /// The surrogate ∇̄f(x, y) = ∇ₓf − ∇²ₓᵧg [∇²ᵧᵧg]⁻¹ ∇ᵧf at (x, y), by a dense Cholesky solve
    /// of the exact Hessian (built from dim y exact HVPs). **Uncounted**: for metrics and tests,
    /// not for solvers (use [`DenseExact`](crate::hypergradient::DenseExact) there).
    ///
    /// # Errors
    /// A wrong length, a Hessian too large to store (dim y > 8192), or one that is not
    /// positive definite.
    pub fn surrogate_hypergradient(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
    ) -> Result<DVector<f64>> {
        self.check_point(x, y)?;
        let (dx, dy) = (self.dim_x(), self.dim_y());
        let f = self.upper.inner();
        let g = self.lower.inner();
        let mut gx = DVector::zeros(dx);
        let mut gy = DVector::zeros(dy);
        f.grad_x_into(x, y, &mut gx)?;
        f.grad_y_into(x, y, &mut gy)?;
        let h = lower_hessian(g, x, y)?;
        let z = solve_spd(h, &gy)?;
        let mut cross = DVector::zeros(dx);
        g.hvp_xy_into(x, y, &z, &mut cross)?;
        Ok(gx - cross)
    }
}

/// Largest dim y for which a dense Hessian is formed.
pub(crate) const MAX_DENSE_DIM: usize = 8192;

/// The dense ∇²ᵧᵧg(x, y), column j = ∇²ᵧᵧg·eⱼ (uncounted).
pub(crate) fn lower_hessian<G: PartialHvps>(
    g: &G,
    x: &DVector<f64>,
    y: &DVector<f64>,
) -> Result<DMatrix<f64>> {
    let dy = g.dim_y();
    if dy > MAX_DENSE_DIM {
        return Err(Error::invalid(
            "dim y for a dense Hessian",
            dy,
            format!("at most {MAX_DENSE_DIM}; use the conjugate-gradient estimator instead"),
        ));
    }
    let mut h = DMatrix::zeros(dy, dy);
    let mut e = DVector::zeros(dy);
    let mut col = DVector::zeros(dy);
    for j in 0..dy {
        e[j] = 1.0;
        g.hvp_yy_into(x, y, &e, &mut col)?;
        h.set_column(j, &col);
        e[j] = 0.0;
    }
    Ok(h)
}

/// Solves H z = b for symmetric positive definite H (symmetrized first) by Cholesky.
pub(crate) fn solve_spd(mut h: DMatrix<f64>, b: &DVector<f64>) -> Result<DVector<f64>> {
    check_finite("lower-level Hessian", h.as_slice())?;
    let ht = h.transpose();
    h += ht;
    h *= 0.5;
    let chol = h.cholesky().ok_or_else(|| {
        Error::invalid(
            "lower-level Hessian ∇²ᵧᵧg",
            "not positive definite",
            "positive definite: the lower level must be strongly convex in y (μ > 0)",
        )
    })?;
    Ok(chol.solve(b))
}
