//! A simulator of the SEA model with exactly known σ²_{1:T} and Σ²_{1:T}.

use lisse_core::{Error, Result, RngStreams, StreamRng, check_dim, check_finite, check_range};
use nalgebra::DVector;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::{BestFixed, Environment, Evaluation, SeaStats};
use crate::projection::LinearMinimizer;

/// Iteration cap and tolerance of the logistic comparator's projected gradient solve.
const LOGISTIC_ITERS: usize = 100_000;

/// The deterministic part h of f_t(x) = h(x) + ⟨c_t + ξ_t, x⟩.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BaseLoss {
    /// h = 0: linear losses (L = 0), the instance of Sachs et al.'s lower bound.
    Linear,
    /// h(x) = ½‖x‖², so F_t(x) = ½‖x + c_t‖² − ½‖c_t‖²: 1-strongly convex, 1-smooth, and
    /// (1/G²)-exp-concave on X.
    Quadratic,
    /// h(x) = ln(1 + exp(−y⟨z, x⟩)) for a fixed example (z, y), y = ±1: convex,
    /// (‖z‖²/4)-smooth.
    Logistic {
        /// The feature vector z.
        features: DVector<f64>,
        /// The label y ∈ {−1, +1}.
        label: f64,
    },
}

/// How the adversary moves the mean c_t of the linear term; drawn obliviously from its own
/// random stream, so Σ²_{1:T} is a deterministic number of the instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Drift {
    /// c_t = `mean` for every t: Σ²_{1:T} = 0.
    Fixed,
    /// c_t = mean + r(cos θ_t a + sin θ_t b) on a circle of radius r in a random plane, with
    /// θ_t = θ_{t−1} ± φ (random signs) and chord 2r·sin(φ/2) = `step`: every term of Σ² is
    /// exactly step², so Σ²_{1:T} = (T − 1)·step². Needs d ≥ 2 and step ≤ 2r.
    Rotating {
        /// r.
        radius: f64,
        /// ‖c_t − c_{t−1}‖.
        step: f64,
    },
    /// c_t = mean + m·ε_t·e on `count` rounds drawn without replacement (ε_t = ±1 fresh, e a
    /// random unit vector), c_t = mean elsewhere: sparse adversarial spikes (Sachs et al.,
    /// Thm. 6 flavour). Σ² is the exact sum of the realized jumps (2m² per isolated spike).
    Spikes {
        /// The number of spike rounds K ≤ T.
        count: u64,
        /// m.
        magnitude: f64,
    },
}

/// A SEA instance: f_t(x) = h(x) + ⟨c_t + ξ_t, x⟩ over a domain X.
///
/// The noise ξ_t has fixed norm s and a uniform direction, so E ξ_t = 0 and, since ∇f_t − ∇F_t
/// = ξ_t does not depend on x, σ_t² = s² exactly and σ²_{1:T} = T·s². The mean's drift gives
/// sup_x ‖∇F_t − ∇F_{t−1}‖ = ‖c_t − c_{t−1}‖ exactly, whatever h is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeaConfig {
    /// h.
    pub base: BaseLoss,
    /// The adversary's drift of c_t.
    pub drift: Drift,
    /// The centre of c_t (length d).
    pub mean: DVector<f64>,
    /// s = ‖ξ_t‖ (σ_t = s).
    pub noise_norm: f64,
    /// T.
    pub horizon: u64,
    /// The seed of the noise and drift streams.
    pub seed: u64,
}

impl SeaConfig {
    /// A linear instance in dimension `dim` with σ²_{1:T} = `sigma_sq` and
    /// Σ²_{1:T} = `variation_sq` set exactly: s = √(σ²/T), and a rotating drift of radius
    /// `radius` with step √(Σ²/(T − 1)) (fixed mean when Σ² = 0).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for negative targets, T = 0, or a step larger than 2r.
    pub fn with_totals(
        base: BaseLoss,
        dim: usize,
        horizon: u64,
        sigma_sq: f64,
        variation_sq: f64,
        radius: f64,
        seed: u64,
    ) -> Result<Self> {
        check_range("sigma_sq", sigma_sq, 0.0, f64::INFINITY)?;
        check_range("variation_sq", variation_sq, 0.0, f64::INFINITY)?;
        if horizon == 0 {
            return Err(Error::invalid("horizon T", 0, "at least 1"));
        }
        let drift = if variation_sq > 0.0 && horizon > 1 {
            Drift::Rotating {
                radius,
                step: (variation_sq / (horizon - 1) as f64).sqrt(),
            }
        } else {
            Drift::Fixed
        };
        Ok(Self {
            base,
            drift,
            mean: DVector::zeros(dim),
            noise_norm: (sigma_sq / horizon as f64).sqrt(),
            horizon,
            seed,
        })
    }
}

/// The simulator of a [`SeaConfig`] over a domain with exact linear minimization.
///
/// Exact comparators: the best fixed point is argmin_X T·h(u) + ⟨C, u⟩ with C = Σ c_t
/// (+ Σ ξ_t for the realized regret): ⟨C, u⟩ by [`LinearMinimizer`] for linear losses,
/// Π_X(−C/T) for the quadratic (isotropic, so the Euclidean projection is exact); for the
/// logistic base a projected gradient solve to a step of 1e-13 (the only non-closed form).
/// The per-round minimizer u_t = argmin_X F_t gives dynamic regret and the path length
/// (linear and quadratic bases).
///
/// ```
/// use lisse_core::domain::L2Ball;
/// use lisse_online::env::{BaseLoss, Drift, Environment, SeaConfig, SeaEnvironment};
/// use nalgebra::DVector;
/// let config = SeaConfig {
///     base: BaseLoss::Linear,
///     drift: Drift::Rotating { radius: 1.0, step: 0.1 },
///     mean: DVector::zeros(3),
///     noise_norm: 0.5,
///     horizon: 100,
///     seed: 7,
/// };
/// let mut env = SeaEnvironment::new(L2Ball::centered(3, 1.0)?, config)?;
/// let (x, mut g) = (DVector::zeros(3), DVector::zeros(3));
/// for _ in 0..100 {
///     env.begin_round()?;
///     env.evaluate(&x, &mut g)?;
/// }
/// let stats = env.sea_stats().unwrap();
/// assert!((stats.sigma_sq - 100.0 * 0.25).abs() < 1e-9);
/// assert!((stats.variation_sq - 99.0 * 0.01).abs() < 1e-9);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug)]
pub struct SeaEnvironment<D> {
    domain: D,
    config: SeaConfig,
    noise_rng: StreamRng,
    drift_rng: StreamRng,
    round: u64,
    open: bool,
    c: DVector<f64>,
    c_prev: DVector<f64>,
    xi: DVector<f64>,
    plane: Option<(DVector<f64>, DVector<f64>, f64)>,
    angle: f64,
    spikes: Vec<u64>,
    next_spike: usize,
    spike_direction: DVector<f64>,
    sum_c: DVector<f64>,
    sum_xi: DVector<f64>,
    u: DVector<f64>,
    u_prev: DVector<f64>,
    warm: DVector<f64>,
    stats: SeaStats,
}

impl<D: LinearMinimizer> SeaEnvironment<D> {
    /// The simulator of `config` over `domain`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when the mean or features do not match the domain;
    /// [`Error::InvalidParameter`] for a negative or non-finite noise norm, drift radius, step
    /// or magnitude, a step above 2r, d < 2 for a rotating drift, more spikes than rounds,
    /// a label other than ±1, T = 0, or an unbounded domain.
    pub fn new(domain: D, config: SeaConfig) -> Result<Self> {
        let d = domain.dim();
        check_dim("drift mean", d, config.mean.len())?;
        check_finite("drift mean", config.mean.as_slice())?;
        check_range("noise norm", config.noise_norm, 0.0, f64::INFINITY)?;
        if config.horizon == 0 {
            return Err(Error::invalid("horizon T", 0, "at least 1"));
        }
        let diameter = domain.diameter();
        if !diameter.is_finite() {
            return Err(Error::invalid(
                "domain diameter",
                diameter,
                "finite (the SEA bounds need a bounded domain)",
            ));
        }
        let streams = RngStreams::new(config.seed);
        let mut drift_rng = streams.stream(1);
        let (base_gradient, smoothness) = match &config.base {
            BaseLoss::Linear => (0.0, 0.0),
            BaseLoss::Quadratic => (domain.max_norm(), 1.0),
            BaseLoss::Logistic { features, label } => {
                check_dim("logistic features", d, features.len())?;
                check_finite("logistic features", features.as_slice())?;
                if !is_sign(*label) {
                    return Err(Error::invalid("logistic label", label, "+1 or -1"));
                }
                (features.norm(), features.norm_squared() / 4.0)
            }
        };
        let drift = DriftState::new(&config, d, &mut drift_rng)?;
        let gradient_bound = base_gradient + config.mean.norm() + drift.norm + config.noise_norm;
        let stats = SeaStats {
            diameter,
            gradient_bound,
            smoothness,
            ..SeaStats::default()
        };
        Ok(Self {
            noise_rng: streams.stream(0),
            drift_rng,
            round: 0,
            open: false,
            c: config.mean.clone(),
            c_prev: config.mean.clone(),
            xi: DVector::zeros(d),
            plane: drift.plane,
            angle: 0.0,
            spikes: drift.spikes,
            next_spike: 0,
            spike_direction: drift.spike_direction,
            sum_c: DVector::zeros(d),
            sum_xi: DVector::zeros(d),
            u: DVector::zeros(d),
            u_prev: DVector::zeros(d),
            warm: DVector::zeros(d),
            stats,
            domain,
            config,
        })
    }

    /// The statistics so far, with the instance's constants D, G and L (known before the
    /// first round).
    pub fn sea_stats_now(&self) -> SeaStats {
        self.stats
    }

    /// The configuration.
    pub fn config(&self) -> &SeaConfig {
        &self.config
    }

    /// The domain X.
    pub fn domain(&self) -> &D {
        &self.domain
    }

    /// The current mean c_t of the linear term.
    pub fn mean_now(&self) -> &DVector<f64> {
        &self.c
    }

    /// The minimizer u_t = argmin_X F_t of the round last evaluated (the comparator of the
    /// built-in dynamic regret); `None` before the first evaluation and for the logistic base,
    /// whose per-round minimizer is not computed.
    pub fn comparator_now(&self) -> Option<&DVector<f64>> {
        let evaluated = self.round > 0 && !self.open;
        (evaluated && !matches!(self.config.base, BaseLoss::Logistic { .. })).then_some(&self.u)
    }

    /// h(x).
    fn base_value(&self, x: &DVector<f64>) -> f64 {
        match &self.config.base {
            BaseLoss::Linear => 0.0,
            BaseLoss::Quadratic => 0.5 * x.norm_squared(),
            BaseLoss::Logistic { features, label } => softplus(-label * features.dot(x)),
        }
    }

    /// out ← out + ∇h(x).
    fn add_base_gradient(&self, x: &DVector<f64>, out: &mut DVector<f64>) {
        match &self.config.base {
            BaseLoss::Linear => {}
            BaseLoss::Quadratic => *out += x,
            BaseLoss::Logistic { features, label } => {
                let m = label * features.dot(x);
                // d/dx softplus(−m) = −σ(−m)·y z.
                out.axpy(-label * sigmoid(-m), features, 1.0);
            }
        }
    }

    /// argmin_X n·h(u) + ⟨cost, u⟩ into `self.u` (warm-started for the logistic base); returns
    /// the minimum value.
    fn minimize(&mut self, n: f64, cost: &DVector<f64>) -> Result<f64> {
        match &self.config.base {
            BaseLoss::Linear => {
                self.domain.argmin_linear(cost, &mut self.u)?;
            }
            BaseLoss::Quadratic => {
                self.u.copy_from(cost);
                self.u /= -n.max(f64::MIN_POSITIVE);
                self.domain.project_in_place(&mut self.u)?;
            }
            BaseLoss::Logistic { features, .. } => {
                let lip = n * features.norm_squared() / 4.0;
                if lip == 0.0 {
                    self.domain.argmin_linear(cost, &mut self.u)?;
                } else {
                    self.u.copy_from(&self.warm);
                    self.domain.project_in_place(&mut self.u)?;
                    let mut grad = DVector::zeros(self.u.len());
                    let mut next = self.u.clone();
                    let scale = 1.0 + self.domain.max_norm();
                    for _ in 0..LOGISTIC_ITERS {
                        grad.copy_from(cost);
                        grad /= n;
                        self.add_base_gradient(&self.u, &mut grad);
                        next.copy_from(&self.u);
                        next.axpy(-n / lip, &grad, 1.0);
                        self.domain.project_in_place(&mut next)?;
                        let moved = (&next - &self.u).amax();
                        self.u.copy_from(&next);
                        if moved <= 1e-13 * scale {
                            break;
                        }
                    }
                    self.warm.copy_from(&self.u);
                }
            }
        }
        Ok(n * self.base_value(&self.u) + cost.dot(&self.u))
    }

    fn spike_now(&mut self) -> Option<f64> {
        if self.spikes.get(self.next_spike) == Some(&self.round) {
            self.next_spike += 1;
            Some(if self.drift_rng.random_bool(0.5) {
                1.0
            } else {
                -1.0
            })
        } else {
            None
        }
    }
}

/// Whether a label is exactly ±1 (labels are exact data, not computed values).
#[allow(clippy::float_cmp)]
fn is_sign(v: f64) -> bool {
    v == 1.0 || v == -1.0
}

/// The adversary's precomputed drift geometry.
struct DriftState {
    plane: Option<(DVector<f64>, DVector<f64>, f64)>,
    spikes: Vec<u64>,
    spike_direction: DVector<f64>,
    /// sup_t ‖c_t − mean‖.
    norm: f64,
}

impl DriftState {
    fn new(config: &SeaConfig, d: usize, drift_rng: &mut StreamRng) -> Result<Self> {
        let mut plane = None;
        let mut spikes = Vec::new();
        let mut spike_direction = DVector::zeros(d);
        let norm = match config.drift {
            Drift::Fixed => 0.0,
            Drift::Rotating { radius, step } => {
                check_range("drift radius", radius, 0.0, f64::INFINITY)?;
                check_range("drift step", step, 0.0, 2.0 * radius)?;
                if d < 2 {
                    return Err(Error::invalid(
                        "dimension",
                        d,
                        "at least 2 for a rotating drift",
                    ));
                }
                let a = random_unit(d, drift_rng);
                let mut b = random_unit(d, drift_rng);
                // Gram–Schmidt (retry on a degenerate draw).
                loop {
                    let proj = b.dot(&a);
                    b.axpy(-proj, &a, 1.0);
                    let n = b.norm();
                    if n > 1e-8 {
                        b /= n;
                        break;
                    }
                    b = random_unit(d, drift_rng);
                }
                let phi = if radius > 0.0 {
                    2.0 * (step / (2.0 * radius)).min(1.0).asin()
                } else {
                    0.0
                };
                plane = Some((a * radius, b * radius, phi));
                radius
            }
            Drift::Spikes { count, magnitude } => {
                check_range("spike magnitude", magnitude, 0.0, f64::INFINITY)?;
                if count > config.horizon {
                    return Err(Error::invalid(
                        "spike count",
                        count,
                        format!("at most the horizon T = {}", config.horizon),
                    ));
                }
                spikes =
                    rand::seq::index::sample(drift_rng, config.horizon as usize, count as usize)
                        .into_iter()
                        .map(|i| i as u64 + 1)
                        .collect();
                spikes.sort_unstable();
                spike_direction = random_unit(d, drift_rng);
                magnitude
            }
        };
        Ok(Self {
            plane,
            spikes,
            spike_direction,
            norm,
        })
    }
}

/// A uniformly random unit vector (normalized Gaussian; redrawn if the norm underflows).
fn random_unit(d: usize, rng: &mut StreamRng) -> DVector<f64> {
    loop {
        let v = DVector::from_fn(d, |_, _| StandardNormal.sample(rng));
        let n: f64 = v.norm();
        if n > 1e-12 {
            return v / n;
        }
    }
}

/// ln(1 + eᵛ) without overflow.
fn softplus(v: f64) -> f64 {
    if v > 0.0 {
        v + (-v).exp().ln_1p()
    } else {
        v.exp().ln_1p()
    }
}

/// 1/(1 + e⁻ᵛ) without overflow.
fn sigmoid(v: f64) -> f64 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        let e = v.exp();
        e / (1.0 + e)
    }
}

impl<D: LinearMinimizer> Environment for SeaEnvironment<D> {
    fn dim(&self) -> usize {
        self.c.len()
    }

    fn horizon(&self) -> u64 {
        self.config.horizon
    }

    fn name(&self) -> String {
        let base = match self.config.base {
            BaseLoss::Linear => "linear",
            BaseLoss::Quadratic => "quadratic",
            BaseLoss::Logistic { .. } => "logistic",
        };
        let drift = match self.config.drift {
            Drift::Fixed => "fixed mean".to_owned(),
            Drift::Rotating { step, .. } => format!("rotating drift (step {step:.3})"),
            Drift::Spikes { count, magnitude } => format!("{count} spikes of {magnitude:.3}"),
        };
        format!("SEA {base}, s = {:.3}, {drift}", self.config.noise_norm)
    }

    fn begin_round(&mut self) -> Result<()> {
        if self.open {
            return Err(Error::invalid(
                "round order",
                "begin_round() twice",
                "evaluate(x) once after each begin_round()",
            ));
        }
        if self.round >= self.config.horizon {
            return Err(Error::invalid(
                "round",
                self.round + 1,
                format!("at most the horizon T = {}", self.config.horizon),
            ));
        }
        self.round += 1;
        self.c_prev.copy_from(&self.c);
        self.c.copy_from(&self.config.mean);
        match self.config.drift {
            Drift::Fixed => {}
            Drift::Rotating { .. } => {
                if let Some((a, b, phi)) = &self.plane {
                    if self.round > 1 {
                        let sign = if self.drift_rng.random_bool(0.5) {
                            1.0
                        } else {
                            -1.0
                        };
                        self.angle += sign * phi;
                    }
                    self.c.axpy(self.angle.cos(), a, 1.0);
                    self.c.axpy(self.angle.sin(), b, 1.0);
                }
            }
            Drift::Spikes { magnitude, .. } => {
                if let Some(sign) = self.spike_now() {
                    self.c.axpy(sign * magnitude, &self.spike_direction, 1.0);
                }
            }
        }
        let s = self.config.noise_norm;
        if s > 0.0 {
            let mut n2 = 0.0;
            loop {
                for v in self.xi.iter_mut() {
                    *v = StandardNormal.sample(&mut self.noise_rng);
                    n2 += *v * *v;
                }
                if n2 > 1e-24 {
                    break;
                }
                n2 = 0.0;
            }
            self.xi *= s / n2.sqrt();
        }
        // Exact SEA accounting.
        let st = &mut self.stats;
        st.rounds = self.round;
        st.sigma_sq += s * s;
        st.sigma_sq_max = st.sigma_sq_max.max(s * s);
        if self.round > 1 {
            let jump = (&self.c - &self.c_prev).norm_squared();
            st.variation_sq += jump;
            st.variation_sq_max = st.variation_sq_max.max(jump);
        }
        self.sum_c += &self.c;
        self.sum_xi += &self.xi;
        self.open = true;
        Ok(())
    }

    fn exact_hint(&self, out: &mut DVector<f64>) -> Result<bool> {
        check_dim("hint buffer", self.dim(), out.len())?;
        if self.config.base != BaseLoss::Linear || !self.open {
            return Ok(false);
        }
        out.copy_from(&self.c);
        *out += &self.xi;
        Ok(true)
    }

    fn evaluate(&mut self, x: &DVector<f64>, gradient: &mut DVector<f64>) -> Result<Evaluation> {
        check_dim("played point", self.dim(), x.len())?;
        check_dim("gradient buffer", self.dim(), gradient.len())?;
        check_finite("played point", x.as_slice())?;
        if !self.open {
            return Err(Error::invalid(
                "round order",
                "evaluate() without begin_round()",
                "begin_round() once before each evaluate(x)",
            ));
        }
        self.open = false;
        let h = self.base_value(x);
        let mean_part = self.c.dot(x);
        let expected_loss = h + mean_part;
        let loss = expected_loss + self.xi.dot(x);
        // g = ∇h(x) + c_t + ξ_t.
        gradient.copy_from(&self.c);
        *gradient += &self.xi;
        self.add_base_gradient(x, gradient);
        let comparator = if let BaseLoss::Logistic { .. } = self.config.base {
            None
        } else {
            self.u_prev.copy_from(&self.u);
            let c = std::mem::take(&mut self.c);
            let value = self.minimize(1.0, &c);
            self.c = c;
            let value = value?;
            if self.round > 1 {
                self.stats.path_length += (&self.u - &self.u_prev).norm();
            }
            Some(value)
        };
        Ok(Evaluation {
            loss,
            expected_loss,
            comparator_expected_loss: comparator,
        })
    }

    fn expected_loss_at(&self, u: &DVector<f64>) -> Result<Option<f64>> {
        check_dim("comparator point", self.dim(), u.len())?;
        check_finite("comparator point", u.as_slice())?;
        if self.round == 0 {
            return Ok(None);
        }
        Ok(Some(self.base_value(u) + self.c.dot(u)))
    }

    fn best_fixed(&mut self) -> Result<Option<BestFixed>> {
        if self.round == 0 {
            return Ok(None);
        }
        let n = self.round as f64;
        let saved = self.u.clone();
        let realized_cost = &self.sum_c + &self.sum_xi;
        let realized = self.minimize(n, &realized_cost)?;
        let cost = self.sum_c.clone();
        let expected = self.minimize(n, &cost)?;
        let point = self.u.clone();
        self.u = saved;
        Ok(Some(BestFixed {
            expected,
            realized,
            point,
        }))
    }

    fn sea_stats(&self) -> Option<SeaStats> {
        Some(self.stats)
    }
}
