//! The LVM-RS certificate with a valid choice among map configurations.

use lisse_core::{Error as CoreError, RngStreams};
use serde::{Deserialize, Serialize};

use super::simplex::{MapConfig, SimplexMap};
use crate::classifier::{BaseClassifier, argmax};
use crate::cohen::certify::check_alpha;
use crate::error::Result;
use crate::noise::{GaussianNoise, Phase, check_sampling, par_map_inputs, sample_batches};
use crate::stats::bernstein::{Moments, half_width};
use crate::stats::clopper_pearson;
use crate::stats::normal;

/// How the configuration (map, temperature) is chosen without invalidating the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ConfigSelection {
    /// All configurations on the same n samples, bounds at δ = α/(2·K·M).
    UnionBound,
    /// `n` held-out samples pick configuration and class; bounds at δ = α/K.
    HeldOut {
        /// Held-out noise samples.
        n: u64,
    },
}

/// Parameters of [`certify_lvm`]. Defaults: n = 100 000, α = 0.001, batch 1000,
/// [`MapConfig::default_grid`], union bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LvmParams {
    /// Estimation samples n.
    pub n: u64,
    /// Failure probability α ∈ (0, 1) of the whole certificate.
    pub alpha: f64,
    /// Noisy inputs per classifier call.
    pub batch: usize,
    /// The candidate configurations (at least one).
    pub configs: Vec<MapConfig>,
    /// How one of them is chosen.
    pub selection: ConfigSelection,
}

impl Default for LvmParams {
    fn default() -> Self {
        Self {
            n: 100_000,
            alpha: 1e-3,
            batch: 1000,
            configs: MapConfig::default_grid(),
            selection: ConfigSelection::UnionBound,
        }
    }
}

/// The outcome of LVM-RS for one input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LvmCertificate {
    /// The certified class of the smoothed classifier of `config`, or `None` (abstain).
    pub class: Option<usize>,
    /// max(R_multi, R_lip) = R_multi, or 0 when abstaining.
    pub radius: f64,
    /// σ/2·(Φ⁻¹(G̲_A) − Φ⁻¹(Ḡ_B)) of the chosen configuration.
    pub r_multi: f64,
    /// σ·sqrt(π/2)·(G̲_A − Ḡ_B) of the chosen configuration.
    pub r_lip: f64,
    /// The configuration whose smoothed classifier is certified.
    pub config: MapConfig,
    /// G̲_A.
    pub lower_a: f64,
    /// Ḡ_B.
    pub upper_b: f64,
    /// The level δ of each one-sided bound.
    pub delta: f64,
    /// Classifier evaluations spent (held-out + estimation).
    pub forward_passes: u64,
}

impl LvmCertificate {
    /// Whether this certifies `label` at radius `r`.
    pub fn certifies(&self, label: usize, r: f64) -> bool {
        self.class == Some(label) && self.radius >= r
    }
}

/// `R_multi = σ/2·(Φ⁻¹(lower_a) − Φ⁻¹(upper_b))` with the bounds clamped to [0, 1].
///
/// ```
/// use lisse_smoothing::lvm::{r_lip, r_multi};
/// // smoothing.md §5.6 (σ = 1, exact p_A, p_B): R_multi ≥ R_lip.
/// assert!((r_multi(1.0, 0.9, 0.05) - 1.463_202_6).abs() < 1e-7);
/// assert!((r_lip(1.0, 0.9, 0.05) - 1.065_317).abs() < 1e-6);
/// ```
pub fn r_multi(sigma: f64, lower_a: f64, upper_b: f64) -> f64 {
    let (a, b) = (lower_a.clamp(0.0, 1.0), upper_b.clamp(0.0, 1.0));
    0.5 * sigma * (normal::inverse_cdf(a) - normal::inverse_cdf(b))
}

/// `R_lip = σ·sqrt(π/2)·(lower_a − upper_b)`.
pub fn r_lip(sigma: f64, lower_a: f64, upper_b: f64) -> f64 {
    sigma
        * (std::f64::consts::PI / 2.0).sqrt()
        * (lower_a.clamp(0.0, 1.0) - upper_b.clamp(0.0, 1.0))
}

/// Per-configuration, per-class statistics of one batch or of a whole phase.
#[derive(Debug, Clone)]
struct Stats {
    k: usize,
    /// `configs × k` moments (for argmax configurations: of the 0/1 votes).
    moments: Vec<Moments>,
}

impl Stats {
    fn merge(&mut self, other: &Stats) {
        for (a, b) in self.moments.iter_mut().zip(&other.moments) {
            a.merge(b);
        }
    }

    /// Lower and upper bounds of every class of configuration `m` at level δ each.
    fn bounds(&self, m: usize, config: &MapConfig, delta: f64) -> Result<(Vec<f64>, Vec<f64>)> {
        let mom = &self.moments[m * self.k..(m + 1) * self.k];
        let mut lower = Vec::with_capacity(self.k);
        let mut upper = Vec::with_capacity(self.k);
        for c in mom {
            if config.map == SimplexMap::Argmax {
                let count = (c.mean * c.count as f64).round() as u64;
                lower.push(clopper_pearson::lower(count, c.count, delta)?.value);
                upper.push(clopper_pearson::upper(count, c.count, delta)?.value);
            } else {
                let w = half_width(c.variance(), c.count, delta, 1.0);
                lower.push((c.mean - w).next_down().clamp(0.0, 1.0));
                upper.push((c.mean + w).next_up().clamp(0.0, 1.0));
            }
        }
        Ok((lower, upper))
    }
}

fn collect_stats<C: BaseClassifier + ?Sized>(
    classifier: &C,
    noise: GaussianNoise,
    x: &[f64],
    n: u64,
    batch: usize,
    configs: &[MapConfig],
    streams: &RngStreams,
) -> Result<Stats> {
    let k = classifier.num_classes();
    let m = configs.len();
    let per = sample_batches(
        classifier,
        noise,
        x,
        n,
        batch,
        streams,
        || {
            (
                Stats {
                    k,
                    moments: vec![Moments::default(); m * k],
                },
                vec![0.0; k],
                vec![0.0; k],
            )
        },
        |(st, out, scratch), scores, _rows| {
            for z in scores.chunks_exact(k) {
                argmax(z)?; // rejects non-finite scores
                for (j, cfg) in configs.iter().enumerate() {
                    cfg.apply(z, out, scratch);
                    for (mom, &v) in st.moments[j * k..(j + 1) * k].iter_mut().zip(out.iter()) {
                        mom.push(v);
                    }
                }
            }
            Ok(())
        },
    )?;
    let mut total = Stats {
        k,
        moments: vec![Moments::default(); m * k],
    };
    for (st, _, _) in &per {
        total.merge(st);
    }
    Ok(total)
}

/// Class A (given or the argmax of the lower bounds), class B = argmax_{c≠A} of the upper
/// bounds, and the two radii.
fn evaluate(
    lower: &[f64],
    upper: &[f64],
    fixed_a: Option<usize>,
    sigma: f64,
) -> (usize, f64, f64, f64, f64) {
    let a = fixed_a.unwrap_or_else(|| {
        let mut best = 0;
        for (c, &v) in lower.iter().enumerate() {
            if v > lower[best] {
                best = c;
            }
        }
        best
    });
    let mut ub = f64::NEG_INFINITY;
    for (c, &v) in upper.iter().enumerate() {
        if c != a && v > ub {
            ub = v;
        }
    }
    let la = lower[a];
    let rm = r_multi(sigma, la, ub);
    let rl = r_lip(sigma, la, ub);
    (a, la, ub, rm, rl)
}

fn validate(params: &LvmParams) -> Result<()> {
    check_alpha(params.alpha)?;
    if params.n < 2 {
        return Err(CoreError::invalid(
            "n",
            params.n,
            "at least 2 estimation samples (the Bernstein bound needs a sample variance)",
        )
        .into());
    }
    if params.configs.is_empty() {
        return Err(CoreError::invalid("configs", 0, "at least one map configuration").into());
    }
    for c in &params.configs {
        if c.map != SimplexMap::Argmax && !(c.temperature.is_finite() && c.temperature > 0.0) {
            return Err(CoreError::invalid(
                "temperature",
                c.temperature,
                "a finite number > 0 for softmax and sparsemax",
            )
            .into());
        }
    }
    if let ConfigSelection::HeldOut { n } = params.selection
        && n == 0
    {
        return Err(CoreError::invalid("held-out n", n, "at least 1 held-out sample").into());
    }
    Ok(())
}

/// LVM-RS for one input: the best certificate among `params.configs`, chosen validly.
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_smoothing::classifier::ScoresFn;
/// use lisse_smoothing::lvm::{LvmParams, certify_lvm};
/// // Logits (x₀, −x₀): class 0 wins for x₀ > 0.
/// let f = ScoresFn::new(1, 2, |x: &[f64]| [x[0], -x[0]]);
/// let params = LvmParams { n: 20_000, ..LvmParams::default() };
/// let c = certify_lvm(&f, &[0.6], 0.5, &params, &RngStreams::new(3))?;
/// assert_eq!(c.class, Some(0));
/// assert!(c.radius > 0.3 && c.r_multi >= c.r_lip);
/// # Ok::<(), lisse_smoothing::Error>(())
/// ```
///
/// # Errors
/// σ ≤ 0, α ∉ (0, 1), n < 2, no configurations, a non-positive temperature, a wrong input
/// length, or a classifier breaking its contract.
pub fn certify_lvm<C: BaseClassifier + ?Sized>(
    classifier: &C,
    x: &[f64],
    sigma: f64,
    params: &LvmParams,
    streams: &RngStreams,
) -> Result<LvmCertificate> {
    let noise = GaussianNoise::new(sigma)?;
    validate(params)?;
    check_sampling(classifier, x, params.batch)?;
    let k = classifier.num_classes();
    let kf = k as f64;
    let est = streams.child(Phase::Estimation.index());
    let (config, stats_m, fixed_a, delta, extra, stats) = match params.selection {
        ConfigSelection::UnionBound => {
            let m = params.configs.len() as f64;
            let delta = params.alpha / (2.0 * kf * m);
            let stats = collect_stats(
                classifier,
                noise,
                x,
                params.n,
                params.batch,
                &params.configs,
                &est,
            )?;
            let mut best: Option<(usize, f64)> = None;
            for (j, cfg) in params.configs.iter().enumerate() {
                let (lo, up) = stats.bounds(j, cfg, delta)?;
                let r = evaluate(&lo, &up, None, sigma).3;
                if best.is_none_or(|(_, br)| r > br) {
                    best = Some((j, r));
                }
            }
            let j = best.map_or(0, |b| b.0);
            (params.configs[j], j, None, delta, 0, stats)
        }
        ConfigSelection::HeldOut { n: n_h } => {
            let held = collect_stats(
                classifier,
                noise,
                x,
                n_h,
                params.batch,
                &params.configs,
                &streams.child(Phase::HeldOut.index()),
            )?;
            // Choose by the radius the held-out samples would give at the final level.
            let delta = params.alpha / kf;
            let mut best: Option<(usize, usize, f64)> = None;
            for (j, cfg) in params.configs.iter().enumerate() {
                let (lo, up) = held.bounds(j, cfg, delta)?;
                let (a, _, _, r, _) = evaluate(&lo, &up, None, sigma);
                if best.is_none_or(|(_, _, br)| r > br) {
                    best = Some((j, a, r));
                }
            }
            let (j, a, _) = best.unwrap_or((0, 0, 0.0));
            let cfg = params.configs[j];
            let stats = collect_stats(classifier, noise, x, params.n, params.batch, &[cfg], &est)?;
            (cfg, 0, Some(a), delta, n_h, stats)
        }
    };
    let (lo, up) = stats.bounds(stats_m, &config, delta)?;
    let (a, la, ub, rm, rl) = evaluate(&lo, &up, fixed_a, sigma);
    let certified = la > 0.0 && la >= ub && rm.is_finite();
    let shrink = |r: f64| (r - 16.0 * f64::EPSILON * r.abs()).max(0.0);
    Ok(LvmCertificate {
        class: certified.then_some(a),
        radius: if certified { shrink(rm.max(rl)) } else { 0.0 },
        r_multi: rm,
        r_lip: rl,
        config,
        lower_a: la,
        upper_b: ub,
        delta,
        forward_passes: params.n + extra,
    })
}

/// [`certify_lvm`] for every row of `inputs` in parallel; input i uses
/// [`input_streams`](crate::noise::input_streams)`(seed, i)`.
///
/// # Errors
/// As [`certify_lvm`].
pub fn certify_lvm_all<C: BaseClassifier + ?Sized>(
    classifier: &C,
    inputs: &[f64],
    sigma: f64,
    params: &LvmParams,
    seed: u64,
) -> Result<Vec<LvmCertificate>> {
    par_map_inputs(classifier, inputs, seed, |x, streams| {
        certify_lvm(classifier, x, sigma, params, streams)
    })
}
