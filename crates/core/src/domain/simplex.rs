//! The scaled simplex Δ(z) = {x ∈ ℝᵈ : xᵢ ≥ 0, Σᵢ xᵢ = z}, z > 0.
//!
//! The Euclidean projection of y onto Δ(z) is the "water-filling" xᵢ = max(yᵢ − θ, 0), where θ is
//! the unique root of φ(θ) = Σᵢ max(yᵢ − θ, 0) − z (φ is continuous and strictly decreasing where
//! positive). The three routines here differ only in how they find θ:
//!
//! | function | method | cost |
//! |---|---|---|
//! | [`project_simplex_sort`] | sort and scan (Held, Wolfe & Crowder 1974; Duchi et al. 2008, Fig. 1) | O(d log d) |
//! | [`project_simplex_condat`] | Condat 2016, Algorithm 2 | O(d) observed, O(d²) worst case |
//! | [`project_simplex_bisection`] | bisection on φ, finished by an exact step | O(d log(1/ε)) |
//!
//! All three share the last step, which keeps the result exact where it matters: on the
//! support S = {i : yᵢ > θ} the result is written relative to the support's mean ȳ_S,
//! xᵢ = (yᵢ − ȳ_S) + z/|S| (the same as yᵢ − θ, since θ = ȳ_S − z/|S|), so that z below the
//! resolution of max y is not lost (y = [1e16, 0], z = 1 gives exactly e₁, where yᵢ − θ would
//! give the zero vector); the result is then rescaled by z/Σx (Σx a compensated sum), so its
//! exact sum matches z to 3 units of roundoff relative to z whatever d, not to maxᵢ |yᵢ|. A point already in Δ(z) (by [`Simplex`]'s
//! `contains` with zero tolerance) is returned unchanged, so projecting twice gives the same
//! bits.
//!
//! References:
//! - M. Held, P. Wolfe, H. P. Crowder, "Validation of subgradient optimization",
//!   *Mathematical Programming* 6 (1974), 62–88.
//! - J. Duchi, S. Shalev-Shwartz, Y. Singer, T. Chandra, "Efficient projections onto the
//!   ℓ1-ball for learning in high dimensions", ICML 2008, Figure 1.
//! - L. Condat, "Fast projection onto the simplex and the ℓ1 ball",
//!   *Mathematical Programming* 158 (2016), 575–585, Algorithm 2 (the proposed algorithm).

use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::Domain;
use crate::{Dimension, Error, Result, check_dim_hint, check_finite, check_positive};

/// Which algorithm [`Simplex`] uses to find the water level θ.
///
/// ```
/// use lisse_core::domain::SimplexMethod;
/// let mut y = [0.5, 1.5, -1.0];
/// SimplexMethod::Sort.project(&mut y, 1.0, &mut Vec::new())?;
/// assert_eq!(y, [0.0, 1.0, 0.0]);
/// assert_eq!(SimplexMethod::default(), SimplexMethod::Condat);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SimplexMethod {
    /// [`project_simplex_sort`]: O(d log d), deterministic cost.
    Sort,
    /// [`project_simplex_condat`]: linear time in practice; the default.
    #[default]
    Condat,
    /// [`project_simplex_bisection`]: the slow, robust reference; needs no scratch buffer.
    Bisection,
}

impl SimplexMethod {
    /// Projects `y` onto Δ(`z`) in place with this method; `scratch` is used by
    /// [`Sort`](SimplexMethod::Sort) and [`Condat`](SimplexMethod::Condat) and ignored by
    /// [`Bisection`](SimplexMethod::Bisection).
    ///
    /// # Errors
    /// As [`project_simplex_sort`].
    pub fn project(self, y: &mut [f64], z: f64, scratch: &mut Vec<f64>) -> Result<()> {
        match self {
            SimplexMethod::Sort => project_simplex_sort(y, z, scratch),
            SimplexMethod::Condat => project_simplex_condat(y, z, scratch),
            SimplexMethod::Bisection => project_simplex_bisection(y, z),
        }
    }
}

/// The checks shared by the three projections: a nonempty, finite `y` and a finite `z > 0`.
fn check_simplex_input(y: &[f64], z: f64) -> Result<()> {
    if y.is_empty() {
        return Err(Error::invalid("dim", 0, "at least 1"));
    }
    check_positive("z", z)?;
    check_finite("point to project onto the simplex", y)
}

/// Whether `x` lies in Δ(z) up to `tol`: every xᵢ ≥ −`tol`, and the compensated sum Ŝ of x
/// ([`neumaier`]) satisfies |Ŝ − z| ≤ `tol`·max(1, z) + [`sum_slack`]`(d, max(z, Σ|xᵢ|))`, the
/// rounding slack ≈ 2ε·max(z, ‖x‖₁) that an exact-sum test needs. `false` on a wrong length or
/// non-finite entries.
///
/// Why a slack at all: the projection's floats cannot add up to exactly z in general. The
/// projection of y = (1, 2·10⁻²⁰) onto Δ(1) is (1 − 10⁻²⁰, 10⁻²⁰); its nearest floats are
/// (1, 10⁻²⁰), whose exact sum is 1 + 10⁻²⁰, and no float x₁ has x₁ + 10⁻²⁰ = 1: an exact sum
/// would have to move x₂ by its own size. "Every projection satisfies `contains` with zero
/// tolerance" is therefore proven with the bound of [`sum_slack`], which holds for every
/// output of the projections, and nothing looser: it is independent of d to first order, so
/// it rejects a sum off by 3ε·z at any dimension (`crates/core/tests/domains.rs`).
fn on_simplex(x: &[f64], z: f64, tol: f64) -> bool {
    if !x.iter().all(|&v| v.is_finite() && v >= -tol) {
        return false;
    }
    let (sum, _) = neumaier(x.iter().copied());
    let l1: f64 = x.iter().map(|v| v.abs()).sum();
    if !sum.is_finite() || !l1.is_finite() {
        return false;
    }
    (sum - z).abs() <= tol * z.max(1.0) + sum_slack(x.len(), z.max(l1))
}

/// The rounding slack of [`Simplex`]'s `contains` for d entries of absolute sum (or target)
/// at most `scale`: (2ε + 8(dε)²)·`scale` + (d + 1)·2⁻¹⁰⁷⁴, with ε = 2⁻⁵² = 2u.
///
/// Proof that every projection output x passes with `tol = 0` (u = 2⁻⁵³ the unit roundoff,
/// γₖ = ku/(1 − ku), S = Σ xᵢ exact, all xᵢ ≥ 0 so ‖x‖₁ = S). The last step of a projection
/// ([`match_total`]) takes the water-filled w ≥ 0, its compensated sum T and writes
/// xᵢ = fl(wᵢ·fl(z/T)).
/// 1. Compensated summation (Neumaier's, which returns the same value as Ogita, Rump & Oishi's
///    Sum2, "Accurate sum and dot product", SIAM J. Sci. Comput. 26 (2005), Prop. 4.5) has
///    |Ŝ − S| ≤ u|S| + γ²_{d−1} Σ|xᵢ|; error-free additions stay exact under underflow.
/// 2. So T = Σwᵢ(1 + η), |η| ≤ u + γ²_{d−1}; f = fl(z/T) = (z/T)(1 + δ₀); each product adds
///    a factor (1 + δᵢ) and, if it underflows, an absolute error ≤ 2⁻¹⁰⁷⁵; |δ| ≤ u. Hence
///    S = z(1 + δ₀)(1 + θ)/(1 + η) + ρ with |θ| ≤ u, |ρ| ≤ d·2⁻¹⁰⁷⁵:
///    |S − z| ≤ (3u + O(u²) + γ²_{d−1})·z + |ρ|.
/// 3. The test's own Ŝ adds (u + γ²_{d−1})·S (step 1); ‖x‖₁ is taken as a plain sum, at most
///    γ_{d−1} below its exact value. With γ_{d−1} ≤ dε for dε ≤ ½, the total is within
///    4u + 8(dε)² = 2ε + 8(dε)² relative to max(z, ‖x‖₁), plus (d + 1)·2⁻¹⁰⁷⁴ absolute.
///
/// A point the projection leaves unchanged passed the test before (`project_checked`).
fn sum_slack(d: usize, scale: f64) -> f64 {
    /// The smallest positive subnormal, 2⁻¹⁰⁷⁴.
    const TINY: f64 = f64::from_bits(1);
    let d = count_f64(d);
    let d_eps = d * f64::EPSILON;
    (2.0 * f64::EPSILON + 8.0 * d_eps * d_eps) * scale + (d + 1.0) * TINY
}

/// Finds the water level θ of (y, z) with `find_level`, on (y, z) scaled by 2⁻⁵¹² when some
/// |yᵢ| or z exceeds 2⁶⁰⁰, so that the running sums and differences of the methods cannot
/// overflow; y and θ are scaled back.
/// The projection is positively homogeneous, Π_{Δ(sz)}(s·y) = s·Π_{Δ(z)}(y), and scaling by a
/// power of two is exact (barring underflow of entries far below the scale, which do not
/// matter at it).
fn rescaled(y: &mut [f64], z: f64, find_level: impl FnOnce(&mut [f64], f64) -> f64) -> f64 {
    /// 2^e for a normal exponent e.
    const fn pow2(e: i32) -> f64 {
        f64::from_bits(((1023 + e) as u64) << 52)
    }
    const LARGE: f64 = pow2(600);
    const DOWN: f64 = pow2(-512);
    const UP: f64 = pow2(512);
    let m = y.iter().fold(z, |acc, v| acc.max(v.abs()));
    if m <= LARGE {
        return find_level(y, z);
    }
    for v in y.iter_mut() {
        *v *= DOWN;
    }
    let theta = find_level(y, z * DOWN);
    for v in y.iter_mut() {
        *v *= UP;
    }
    theta * UP
}

/// Writes xᵢ = max(yᵢ − θ, 0) exactly where it matters (see the module docs): relative to the
/// mean of the support S = {i : yᵢ > θ}, or, when θ has rounded onto max y (z below its
/// resolution), of the support S = {i : yᵢ = max y}.
fn water_fill(y: &mut [f64], z: f64, theta: f64) {
    let (sum, count) = neumaier(y.iter().copied().filter(|&v| v > theta));
    if count == 0 {
        // Exact arithmetic has max y > θ; rounding put θ on it: the support is the maxima,
        // and their mean is max y itself.
        let y_max = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let ties = y.iter().filter(|&&v| v >= y_max).count();
        fill(y, y_max.next_down(), y_max, z / count_f64(ties));
        return;
    }
    let n = count_f64(count);
    let mut mean = sum / n;
    if !mean.is_finite() {
        // Σ yᵢ overflowed; Σ (yᵢ / |S|) cannot.
        (mean, _) = neumaier(y.iter().copied().filter(|&v| v > theta).map(|v| v / n));
    }
    fill(y, theta, mean, z / n);
}

/// Writes xᵢ = max((yᵢ − mean) + share, 0) for yᵢ > `floor`, and 0 elsewhere.
fn fill(y: &mut [f64], floor: f64, mean: f64, share: f64) {
    for yi in y.iter_mut() {
        *yi = if *yi > floor {
            ((*yi - mean) + share).max(0.0)
        } else {
            0.0
        };
    }
}

/// A count as `f64` (exact below 2⁵³).
#[allow(clippy::cast_precision_loss)]
fn count_f64(count: usize) -> f64 {
    count as f64
}

/// Neumaier's compensated sum of `values`, and their count.
fn neumaier(values: impl Iterator<Item = f64>) -> (f64, usize) {
    let (mut sum, mut compensation, mut count) = (0.0f64, 0.0f64, 0usize);
    for v in values {
        let t = sum + v;
        compensation += if sum.abs() >= v.abs() {
            (sum - t) + v
        } else {
            (v - t) + sum
        };
        sum = t;
        count += 1;
    }
    (sum + compensation, count)
}

/// Rescales a nonnegative `x` by z/Σx so that its exact sum matches z to 3u relative, for
/// any d (done at the caller's scale, after [`rescaled`]; the proof is at [`sum_slack`]).
fn match_total(y: &mut [f64], z: f64) {
    // Compensated: a plain sum's error grows with d (up to (d − 1)u relative), and would pass
    // into every entry through the factor.
    let (total, _) = neumaier(y.iter().copied());
    if total > 0.0 && (total - z).abs() > 0.0 {
        let factor = z / total;
        for yi in y.iter_mut() {
            *yi *= factor;
        }
    }
}

/// Runs a checked projection: a point already in Δ(z) (with zero tolerance) is left unchanged,
/// so that projecting twice gives the same bits.
fn project_checked(
    y: &mut [f64],
    z: f64,
    find_level: impl FnOnce(&mut [f64], f64) -> f64,
) -> Result<()> {
    check_simplex_input(y, z)?;
    if !on_simplex(y, z, 0.0) {
        let theta = rescaled(y, z, find_level);
        water_fill(y, z, theta);
        match_total(y, z);
    }
    Ok(())
}

/// Projects `y` onto Δ(`z`) = {x ≥ 0, Σx = z} in place by sorting, in O(d log d).
///
/// Held, Wolfe & Crowder (1974); Duchi, Shalev-Shwartz, Singer & Chandra (ICML 2008), Figure 1:
/// sort y descending into μ, let ρ = max{j : μⱼ − (Σ_{r≤j} μᵣ − z)/j > 0} and
/// θ = (Σ_{r≤ρ} μᵣ − z)/ρ; then xᵢ = max(yᵢ − θ, 0).
///
/// `scratch` receives the sorted copy; it is cleared first, and once its capacity reaches
/// `y.len()` the call does not allocate.
///
/// # Errors
/// [`Error::InvalidParameter`] when `y` is empty (parameter `dim`) or `z` is not a finite
/// number > 0; [`Error::NonFinite`] when `y` holds NaN or ±∞. `y` is unchanged on error.
///
/// ```
/// use lisse_core::domain::project_simplex_sort;
/// let mut y = [0.3, 0.9, -2.0];
/// project_simplex_sort(&mut y, 1.0, &mut Vec::new())?;
/// assert!((y[0] - 0.2).abs() < 1e-15 && (y[1] - 0.8).abs() < 1e-15 && y[2] == 0.0);
/// # Ok::<(), lisse_core::Error>(())
/// ```
pub fn project_simplex_sort(y: &mut [f64], z: f64, scratch: &mut Vec<f64>) -> Result<()> {
    project_checked(y, z, |y, z| sort_in_place(y, z, scratch))
}

/// The water level θ of [`project_simplex_sort`] on checked input.
fn sort_in_place(y: &mut [f64], z: f64, scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend_from_slice(y);
    scratch.sort_unstable_by(|a, b| b.total_cmp(a));
    // j = 1 always qualifies in exact arithmetic (μ₁ − (μ₁ − z) = z > 0); start from it so that
    // rounding (z ≪ |μ₁|) cannot leave ρ undefined.
    let mut cumsum = scratch[0];
    let mut theta = cumsum - z;
    for (j, &mu) in scratch.iter().enumerate().skip(1) {
        cumsum += mu;
        let candidate = (cumsum - z) / (j + 1) as f64;
        // The condition holds for a prefix j ≤ ρ, so the scan stops at the first failure.
        if mu - candidate > 0.0 {
            theta = candidate;
        } else {
            break;
        }
    }
    theta
}

/// Projects `y` onto Δ(`z`) = {x ≥ 0, Σx = z} in place with Condat's algorithm: linear time in
/// practice, O(d²) in the worst case.
///
/// L. Condat, "Fast projection onto the simplex and the ℓ1 ball", *Mathematical Programming*
/// 158 (2016), Algorithm 2. A candidate support v and a waiting list ṽ are kept; ρ is always
/// (Σ_{v} y − z)/|v|:
/// 1. v = (y₁), ρ = y₁ − z.
/// 2. For n ≥ 2 with yₙ > ρ: ρ ← ρ + (yₙ − ρ)/(|v| + 1); if ρ > yₙ − z append yₙ to v,
///    otherwise move v to ṽ and restart with v = (yₙ), ρ = yₙ − z.
/// 3. Re-admit each y ∈ ṽ with y > ρ: append it, then ρ ← ρ + (y − ρ)/|v|, |v| counted *after*
///    the append.
/// 4. Until |v| stops changing, remove each y ∈ v with y ≤ ρ, then ρ ← ρ + (ρ − y)/|v|, |v|
///    counted *after* the removal.
/// 5. θ = ρ, xᵢ = max(yᵢ − θ, 0).
///
/// `scratch` holds both lists (ṽ followed by v) in at most `y.len()` entries; it is cleared
/// first, and once its capacity reaches `y.len()` repeated calls do not allocate.
///
/// # Errors
/// As [`project_simplex_sort`]. `y` is unchanged on error.
///
/// ```
/// use lisse_core::domain::project_simplex_condat;
/// let mut scratch = Vec::with_capacity(4);
/// let mut y = [0.1, 0.5, 0.2, 0.9];
/// project_simplex_condat(&mut y, 1.0, &mut scratch)?;
/// assert!((y.iter().sum::<f64>() - 1.0).abs() < 1e-15);
/// assert!((y[1] - 0.3).abs() < 1e-15 && (y[3] - 0.7).abs() < 1e-15);
/// # Ok::<(), lisse_core::Error>(())
/// ```
pub fn project_simplex_condat(y: &mut [f64], z: f64, scratch: &mut Vec<f64>) -> Result<()> {
    project_checked(y, z, |y, z| condat_in_place(y, z, scratch))
}

/// The water level θ of [`project_simplex_condat`] on checked input.
fn condat_in_place(y: &[f64], z: f64, buf: &mut Vec<f64>) -> f64 {
    buf.clear();
    buf.reserve(y.len());

    // Step 1. buf[..v_start] is the waiting list ṽ, buf[v_start..] the candidate support v.
    let mut v_start = 0;
    buf.push(y[0]);
    let mut rho = y[0] - z;

    // Step 2.
    for &yn in &y[1..] {
        if yn > rho {
            let v_len = buf.len() - v_start;
            rho += (yn - rho) / (v_len + 1) as f64;
            if rho > yn - z {
                buf.push(yn);
            } else {
                v_start = buf.len();
                buf.push(yn);
                rho = yn - z;
            }
        }
    }

    // Step 3: re-admit the waiting list. Admitted entries are compacted to the front of the
    // buffer (the write index never passes the read index), then v is moved down behind them,
    // so the buffer never holds more than y.len() entries.
    if v_start > 0 {
        let mut v_len = buf.len() - v_start;
        let mut admitted = 0;
        for i in 0..v_start {
            let w = buf[i];
            if w > rho {
                buf[admitted] = w;
                admitted += 1;
                v_len += 1;
                rho += (w - rho) / v_len as f64;
            }
        }
        let end = buf.len();
        buf.copy_within(v_start..end, admitted);
        buf.truncate(v_len);
    }

    // Step 4: drop entries at or below the level until v is stable.
    loop {
        let len = buf.len();
        let mut kept = 0;
        for i in 0..len {
            let w = buf[i];
            let remaining = kept + (len - i - 1);
            // In exact arithmetic ρ < max v, so v never empties; the guard keeps the last
            // entry when rounding (z ≪ |y|) says otherwise, instead of dividing by zero.
            if w > rho || remaining == 0 {
                buf[kept] = w;
                kept += 1;
            } else {
                rho += (rho - w) / remaining as f64;
            }
        }
        buf.truncate(kept);
        if kept == len {
            break;
        }
    }

    rho
}

/// Projects `y` onto Δ(`z`) = {x ≥ 0, Σx = z} in place by bisection; the robust reference used
/// to test the other two methods.
///
/// φ(θ) = Σᵢ max(yᵢ − θ, 0) − z is continuous and nonincreasing, with φ(max y − z) ≥ 0 and
/// φ(max y) = −z < 0. The bracket [max y − z, max y] is halved until its width falls below
/// 1e-15·(maxᵢ |yᵢ| + z) or stops shrinking (at most 200 halvings; about 50 suffice). The
/// support S = {i : yᵢ > θₘ} at the final midpoint then gives θ exactly as
/// (Σ_{i∈S} yᵢ − z)/|S|, the same formula the other methods end with.
///
/// Needs no scratch buffer and never allocates; costs O(d) per halving.
///
/// # Errors
/// As [`project_simplex_sort`]. `y` is unchanged on error.
///
/// ```
/// use lisse_core::domain::project_simplex_bisection;
/// let mut y = [2.0, 2.0, 2.0, 2.0];
/// project_simplex_bisection(&mut y, 2.0)?;
/// assert!(y.iter().all(|&x| (x - 0.5).abs() < 1e-15));
/// # Ok::<(), lisse_core::Error>(())
/// ```
pub fn project_simplex_bisection(y: &mut [f64], z: f64) -> Result<()> {
    project_checked(y, z, bisection_in_place)
}

/// The water level θ of [`project_simplex_bisection`] on checked input.
fn bisection_in_place(y: &mut [f64], z: f64) -> f64 {
    const MAX_HALVINGS: usize = 200;
    let y_max = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let y_abs_max = y.iter().fold(0.0, |acc: f64, v| acc.max(v.abs()));
    let width_tol = 1e-15 * (y_abs_max + z);
    let excess = |theta: f64| y.iter().map(|&v| (v - theta).max(0.0)).sum::<f64>() - z;

    let mut lo = y_max - z;
    let mut hi = y_max;
    for _ in 0..MAX_HALVINGS {
        if hi - lo <= width_tol {
            break;
        }
        let mid = lo + 0.5 * (hi - lo);
        if mid <= lo || mid >= hi {
            break;
        }
        if excess(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }

    // Exact finish on the support at the midpoint; mid < hi ≤ max y, so S is nonempty.
    let mid = lo + 0.5 * (hi - lo);
    let (sum, count) = y
        .iter()
        .filter(|&&v| v > mid)
        .fold((0.0, 0usize), |(s, c), &v| (s + v, c + 1));
    if count == 0 {
        mid
    } else {
        (sum - z) / count as f64
    }
}

/// The scaled simplex Δ(z) = {x ∈ ℝᵈ : xᵢ ≥ 0, Σᵢ xᵢ = z} with d ≥ 1 and z > 0; the probability
/// simplex when z = 1.
///
/// [`Domain::project_in_place`] uses a per-thread scratch buffer, so repeated projections do
/// not allocate. To manage the buffer yourself call [`Simplex::project_with_scratch`], or the
/// free functions [`project_simplex_condat`], [`project_simplex_sort`] and
/// [`project_simplex_bisection`] on slices.
///
/// ```
/// use lisse_core::domain::{Domain, Simplex, SimplexMethod};
/// use nalgebra::dvector;
/// let simplex = Simplex::probability(3)?.with_method(SimplexMethod::Sort);
/// let mut y = dvector![0.6, 0.6, -1.0];
/// simplex.project_in_place(&mut y)?;
/// assert!((&y - dvector![0.5, 0.5, 0.0]).amax() < 1e-15);
/// assert!(simplex.contains(&y, 1e-12));
///
/// let mut scratch = Vec::new();
/// let mut w = dvector![3.0, 1.0, 2.0];
/// simplex.project_with_scratch(&mut w, &mut scratch)?;
/// assert_eq!(w, dvector![1.0, 0.0, 0.0]);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SimplexSpec")]
pub struct Simplex {
    dim: usize,
    total: f64,
    method: SimplexMethod,
}

/// The unvalidated serialized form of a [`Simplex`]; deserialization goes through
/// [`Simplex::new`].
#[derive(Deserialize)]
struct SimplexSpec {
    dim: usize,
    total: f64,
    #[serde(default)]
    method: SimplexMethod,
}

impl TryFrom<SimplexSpec> for Simplex {
    type Error = Error;

    fn try_from(spec: SimplexSpec) -> Result<Self> {
        Ok(Self::new(spec.dim, spec.total)?.with_method(spec.method))
    }
}

impl Simplex {
    /// Δ(`total`) in ℝ^`dim`, projected with the default [`SimplexMethod::Condat`].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `dim` is 0 (the set would be empty) or `total` is not a
    /// finite number > 0.
    pub fn new(dim: usize, total: f64) -> Result<Self> {
        if dim == 0 {
            return Err(Error::invalid("dim", 0, "at least 1"));
        }
        check_positive("total", total)?;
        Ok(Self {
            dim,
            total,
            method: SimplexMethod::default(),
        })
    }

    /// The probability simplex {x ≥ 0, Σx = 1} in ℝ^`dim`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `dim` is 0.
    pub fn probability(dim: usize) -> Result<Self> {
        Self::new(dim, 1.0)
    }

    /// The same set, projected with `method`.
    #[must_use]
    pub fn with_method(mut self, method: SimplexMethod) -> Self {
        self.method = method;
        self
    }

    /// The total z = Σᵢ xᵢ.
    pub fn total(&self) -> f64 {
        self.total
    }

    /// The projection algorithm.
    pub fn method(&self) -> SimplexMethod {
        self.method
    }

    /// [`Domain::project_in_place`] with a caller scratch buffer: does not allocate once
    /// `scratch` has capacity `dim()`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `x.len() != dim()`; [`Error::NonFinite`] when `x`
    /// holds NaN or ±∞.
    pub fn project_with_scratch(&self, x: &mut DVector<f64>, scratch: &mut Vec<f64>) -> Result<()> {
        check_dim_hint(
            "point to project",
            self.dim,
            x.len(),
            super::PROJECT_DIM_HINT,
        )?;
        self.method.project(x.as_mut_slice(), self.total, scratch)
    }
}

impl Dimension for Simplex {
    fn dim(&self) -> usize {
        self.dim
    }
    /// A domain reads no data.
    fn full_batch_size(&self) -> usize {
        0
    }
}

thread_local! {
    /// Per-thread scratch for [`Simplex`]'s `Domain` projection: it grows to the largest
    /// dimension projected on the thread, then projections allocate nothing.
    static SIMPLEX_SCRATCH: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Domain for Simplex {
    /// Water-filling projection with [`Simplex::method`], using a per-thread scratch buffer (no
    /// allocation once it has grown to `dim()`).
    fn project_in_place(&self, x: &mut DVector<f64>) -> Result<()> {
        SIMPLEX_SCRATCH.with_borrow_mut(|scratch| self.project_with_scratch(x, scratch))
    }

    /// xᵢ ≥ −`tol` for every i and |Σᵢ xᵢ − z| ≤ `tol`·max(1, z) plus a rounding slack
    /// (2ε + 8(dε)²)·max(z, ‖x‖₁) + (d + 1)·2⁻¹⁰⁷⁴, with Σᵢ xᵢ taken by compensated summation; `false` on a wrong length
    /// or non-finite entries. The last two terms are the proven rounding of the projection's
    /// final rescaling and of the compensated sum itself (an exactly-z float sum is not
    /// achievable in general; proof and example in the source of `on_simplex`/`sum_slack`):
    /// to first order 2ε·z whatever d, so with `tol = 0` a point passes iff its exact sum
    /// is within about 4 units of roundoff of z. Every projection satisfies it with `tol = 0`.
    fn contains(&self, x: &DVector<f64>, tol: f64) -> bool {
        x.len() == self.dim && on_simplex(x.as_slice(), self.total, tol)
    }

    /// z·√2 (the distance between two vertices) for d ≥ 2; 0 for d = 1.
    fn diameter(&self) -> f64 {
        if self.dim >= 2 {
            self.total * std::f64::consts::SQRT_2
        } else {
            0.0
        }
    }
}
