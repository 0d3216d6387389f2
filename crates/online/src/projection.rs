//! Geometry beyond lisse-core's Euclidean projections: generalized (‖·‖_A) projections for
//! ONS-type learners, and exact linear minimization for regret comparators.

use lisse_core::domain::{BoxDomain, L2Ball, Simplex, WholeSpace};
use lisse_core::{Dimension, Domain, Error, Result, check_dim, check_finite};
use nalgebra::{DMatrix, DVector};

use crate::kernels::{step_and_sq_dist, step_in_place_and_sq_dist, sum_sq_diff};

/// Sweeps / iterations cap of the iterative projections (every run ends).
const MAX_ITERS: usize = 20_000;

/// A domain with the generalized projection Π^A_X(y) = argmin_{x∈X} (x − y)ᵀA(x − y), A ≻ 0
/// (Hazan, *Introduction to Online Convex Optimization*, §4.4; reference notes §6.5).
///
/// Points already in X are returned unchanged. The iterative methods allocate (an
/// eigendecomposition or a few vectors); ONS-type learners only call them when x̂ − U⁻¹g
/// leaves X.
pub trait MetricProjection: Domain {
    /// Writes Π^A_X(y) into `out`.
    ///
    /// # Errors
    /// On wrong shapes, non-finite entries, or an `a` that is not symmetric positive definite
    /// (a non-positive diagonal entry or eigenvalue).
    fn project_in_metric(
        &self,
        a: &DMatrix<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()>;
}

/// Shape and finiteness checks shared by the implementations.
fn check_metric(dim: usize, a: &DMatrix<f64>, y: &DVector<f64>, out: &DVector<f64>) -> Result<()> {
    check_dim("metric rows", dim, a.nrows())?;
    check_dim("metric columns", dim, a.ncols())?;
    check_dim("point to project", dim, y.len())?;
    check_dim("output buffer", dim, out.len())?;
    check_finite("metric", a.as_slice())?;
    check_finite("point to project", y.as_slice())?;
    if (0..dim).any(|i| a[(i, i)] <= 0.0) {
        return Err(Error::invalid(
            "metric",
            "a matrix with a non-positive diagonal entry",
            "symmetric positive definite",
        ));
    }
    Ok(())
}

impl MetricProjection for WholeSpace {
    fn project_in_metric(
        &self,
        a: &DMatrix<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_metric(self.dim(), a, y, out)?;
        out.copy_from(y);
        Ok(())
    }
}

impl MetricProjection for L2Ball {
    /// KKT: A(x − y) + μ(x − c) = 0, so with A = QΛQᵀ and w = Qᵀ(y − c),
    /// ‖x(μ) − c‖² = Σᵢ (λᵢwᵢ/(λᵢ + μ))², strictly decreasing in μ. The root of
    /// 1/‖x(μ) − c‖ − 1/R (concave in μ, Moré & Sorensen 1983) is found by Newton's method
    /// safeguarded by bisection on [0, λ_max‖y − c‖/R].
    fn project_in_metric(
        &self,
        a: &DMatrix<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_metric(self.dim(), a, y, out)?;
        if self.contains(y, 0.0) {
            out.copy_from(y);
            return Ok(());
        }
        let r = self.radius();
        let c = self.center();
        if r == 0.0 {
            out.copy_from(c);
            return Ok(());
        }
        let eig = a.clone().symmetric_eigen();
        if eig.eigenvalues.iter().any(|&l| l <= 0.0 || !l.is_finite()) {
            return Err(Error::invalid(
                "metric",
                "a matrix with a non-positive eigenvalue",
                "symmetric positive definite",
            ));
        }
        let z = y - c;
        let w = eig.eigenvectors.tr_mul(&z);
        let lam = &eig.eigenvalues;
        let norm_at = |mu: f64| -> (f64, f64) {
            // (‖x(μ) − c‖, d‖x(μ) − c‖/dμ)
            let mut s = 0.0;
            let mut ds = 0.0;
            for (l, wi) in lam.iter().zip(w.iter()) {
                let q = l * wi / (l + mu);
                s += q * q;
                ds += -2.0 * q * q / (l + mu);
            }
            let n = s.sqrt();
            (n, if n > 0.0 { ds / (2.0 * n) } else { 0.0 })
        };
        let lam_max = lam.iter().copied().fold(0.0, f64::max);
        let (mut lo, mut hi) = (0.0, lam_max * z.norm() / r);
        let mut mu = 0.0;
        for _ in 0..200 {
            let (n, dn) = norm_at(mu);
            let f = 1.0 / n - 1.0 / r;
            if f.abs() <= 1e-15 / r {
                break;
            }
            if f < 0.0 {
                lo = mu;
            } else {
                hi = mu;
            }
            // d(1/n)/dμ = −dn/n².
            let df = -dn / (n * n);
            let newton = mu - f / df;
            mu = if df > 0.0 && newton > lo && newton < hi {
                newton
            } else {
                0.5 * (lo + hi)
            };
            if hi - lo <= 1e-16 * hi.max(1.0) {
                break;
            }
        }
        let scaled = DVector::from_iterator(
            w.len(),
            lam.iter().zip(w.iter()).map(|(l, wi)| l * wi / (l + mu)),
        );
        let x = &eig.eigenvectors * scaled;
        // Round-off can leave ‖x − c‖ a few ulps above R: pull it onto the sphere.
        let n = x.norm();
        let shrink = if n > r { r / n } else { 1.0 };
        for ((o, xi), ci) in out.iter_mut().zip(x.iter()).zip(c.iter()) {
            *o = ci + xi * shrink;
        }
        Ok(())
    }
}

impl MetricProjection for BoxDomain {
    /// The strictly convex box QP min ½(x − y)ᵀA(x − y) over l ≤ x ≤ u by cyclic coordinate
    /// descent, each coordinate minimized exactly:
    /// xᵢ ← clamp(yᵢ − Σ_{j≠i} Aᵢⱼ(xⱼ − yⱼ)/Aᵢᵢ, lᵢ, uᵢ) (linear convergence; Luo & Tseng 1992).
    fn project_in_metric(
        &self,
        a: &DMatrix<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_metric(self.dim(), a, y, out)?;
        out.copy_from(y);
        if self.contains(y, 0.0) {
            return Ok(());
        }
        self.project_in_place(out)?;
        let d = self.dim();
        let scale = 1.0 + y.amax();
        for _ in 0..MAX_ITERS {
            let mut change = 0.0_f64;
            for i in 0..d {
                let mut s = 0.0;
                for j in 0..d {
                    if j != i {
                        s += a[(i, j)] * (out[j] - y[j]);
                    }
                }
                let v = (y[i] - s / a[(i, i)]).clamp(self.lower()[i], self.upper()[i]);
                change = change.max((v - out[i]).abs());
                out[i] = v;
            }
            if change <= 1e-15 * scale {
                break;
            }
        }
        Ok(())
    }
}

impl MetricProjection for Simplex {
    /// The QP min ½(x − y)ᵀA(x − y) over the simplex by accelerated projected gradient
    /// (FISTA, Beck & Teboulle 2009, with adaptive restart) with step 1/λ_max(A) and the exact
    /// Euclidean simplex projection of lisse-core as the inner step, stopped when the gradient
    /// mapping vanishes; every iterate is feasible.
    fn project_in_metric(
        &self,
        a: &DMatrix<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_metric(self.dim(), a, y, out)?;
        if self.contains(y, 0.0) {
            out.copy_from(y);
            return Ok(());
        }
        let lam_max = a.clone().symmetric_eigenvalues().max();
        if !(lam_max > 0.0 && lam_max.is_finite()) {
            return Err(Error::invalid(
                "metric",
                "a matrix without a positive finite eigenvalue",
                "symmetric positive definite",
            ));
        }
        let step = 1.0 / lam_max;
        let mut scratch = Vec::new();
        let mut x = y.clone();
        self.project_with_scratch(&mut x, &mut scratch)?;
        let objective = |p: &DVector<f64>| {
            let r = p - y;
            r.dot(&(a * &r))
        };
        let mut z = x.clone();
        let mut prev = x.clone();
        let mut check = x.clone();
        let mut tk = 1.0_f64;
        let mut value = objective(&x);
        let scale = 1.0 + y.amax();
        for _ in 0..MAX_ITERS {
            // Stop on the gradient mapping at x (not on the movement, which momentum can
            // make vanish away from the solution).
            check.copy_from(&x);
            check.axpy(-step, &(a * (&x - y)), 1.0);
            self.project_with_scratch(&mut check, &mut scratch)?;
            if (&check - &x).amax() <= 1e-15 * scale {
                break;
            }
            let grad = a * (&z - y);
            prev.copy_from(&x);
            x.copy_from(&z);
            x.axpy(-step, &grad, 1.0);
            self.project_with_scratch(&mut x, &mut scratch)?;
            let next_value = objective(&x);
            if next_value > value {
                // Adaptive restart (O'Donoghue & Candès 2015): drop the momentum.
                tk = 1.0;
                x.copy_from(&check);
                z.copy_from(&check);
                value = objective(&x);
                continue;
            }
            value = next_value;
            let t_next = 0.5 * (1.0 + (1.0 + 4.0 * tk * tk).sqrt());
            let moment = (tk - 1.0) / t_next;
            for ((zi, xi), pi) in z.iter_mut().zip(x.iter()).zip(prev.iter()) {
                *zi = xi + moment * (xi - pi);
            }
            tk = t_next;
        }
        out.copy_from(&x);
        Ok(())
    }
}

/// A Euclidean projection for the learners' hot loop, where the point to project was just
/// computed from finite, already checked inputs.
///
/// The defaults call [`Domain::project_in_place`]. [`L2Ball`] fuses the step x − η·v with the
/// accumulation of ‖x − c‖² (16 partial sums, no rescaling) in one pass, checks once that the sum
/// is finite (a NaN or ±∞ entry, or an overflow, makes it non-finite and sends the point to the
/// robust projection of lisse-core, which reports the error), and scales only when x lies
/// outside. The result agrees with lisse-core's projection to a few ulps.
///
/// Every method takes `origin_centered`, the value of
/// [`is_origin_centered`](FastProjection::is_origin_centered) that the learner computed once at
/// construction: a ball centred at the origin then skips reading its centre (one vector stream
/// less per pass).
pub trait FastProjection: Domain {
    /// Whether the domain is a ball centred at the origin (one pass over the centre; learners
    /// call it once and pass the answer to the other methods). `false` by default.
    fn is_origin_centered(&self) -> bool {
        false
    }

    /// The radius R when the domain is a Euclidean ball centred at the origin (the
    /// [`Euclidean`](crate::mirror::Euclidean) map then keeps its centre scaled lazily and
    /// needs no rescaling pass); `None` by default.
    fn origin_ball_radius(&self) -> Option<f64> {
        None
    }

    /// Replaces `x` by Π_X(x).
    ///
    /// # Errors
    /// As [`Domain::project_in_place`].
    fn project_in_place_fast(&self, x: &mut DVector<f64>, origin_centered: bool) -> Result<()> {
        let _ = origin_centered;
        self.project_in_place(x)
    }

    /// Writes Π_X(base − η·v) into `out` (inputs already checked finite).
    ///
    /// # Errors
    /// As [`Domain::project_in_place`], and on wrong lengths.
    fn project_step(
        &self,
        base: &DVector<f64>,
        eta: f64,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
        origin_centered: bool,
    ) -> Result<()> {
        check_dim("direction", base.len(), v.len())?;
        check_dim("output buffer", base.len(), out.len())?;
        for ((o, x), g) in out
            .as_mut_slice()
            .iter_mut()
            .zip(base.as_slice())
            .zip(v.as_slice())
        {
            *o = x - eta * g;
        }
        self.project_in_place_fast(out, origin_centered)
    }

    /// The whole update half-step of optimistic OGD: checks that `g` is finite, writes
    /// Π_X(base − η·g) into `out`, and returns ‖g − hint‖². On error the caller discards `out`.
    /// [`L2Ball`] does it in one pass.
    ///
    /// # Errors
    /// [`lisse_core::Error::NonFinite`] for a non-finite `g`; as [`Domain::project_in_place`].
    fn fused_update(
        &self,
        base: &DVector<f64>,
        eta: f64,
        g: &DVector<f64>,
        hint: &DVector<f64>,
        out: &mut DVector<f64>,
        origin_centered: bool,
    ) -> Result<f64> {
        lisse_core::check_finite("gradient", g.as_slice())?;
        self.project_step(base, eta, g, out, origin_centered)?;
        Ok(sum_sq_diff(g.as_slice(), hint.as_slice()))
    }

    /// Replaces `x` by Π_X(x − η·v) (inputs already checked finite).
    ///
    /// # Errors
    /// As [`Domain::project_in_place`], and on wrong lengths.
    fn project_step_in_place(
        &self,
        x: &mut DVector<f64>,
        eta: f64,
        v: &DVector<f64>,
        origin_centered: bool,
    ) -> Result<()> {
        check_dim("direction", x.len(), v.len())?;
        x.axpy(-eta, v, 1.0);
        self.project_in_place_fast(x, origin_centered)
    }
}

/// Finishes a fused projection onto `ball` given sq = ‖x − c‖² (falls back to the robust
/// projection when sq is not finite).
fn finish_ball_projection(
    ball: &L2Ball,
    x: &mut DVector<f64>,
    sq: f64,
    origin_centered: bool,
) -> Result<()> {
    if !sq.is_finite() {
        return ball.project_in_place(x);
    }
    let r = ball.radius();
    if sq <= r * r {
        return Ok(());
    }
    let center = (!origin_centered).then(|| ball.center().as_slice());
    crate::kernels::scale_about(x.as_mut_slice(), center, r / sq.sqrt());
    Ok(())
}

impl FastProjection for L2Ball {
    fn is_origin_centered(&self) -> bool {
        self.center().iter().all(|c| *c == 0.0)
    }

    fn origin_ball_radius(&self) -> Option<f64> {
        self.is_origin_centered().then(|| self.radius())
    }

    fn fused_update(
        &self,
        base: &DVector<f64>,
        eta: f64,
        g: &DVector<f64>,
        hint: &DVector<f64>,
        out: &mut DVector<f64>,
        origin_centered: bool,
    ) -> Result<f64> {
        let d = self.dim();
        for (what, len) in [
            ("point to project", base.len()),
            ("gradient", g.len()),
            ("hint", hint.len()),
            ("output buffer", out.len()),
        ] {
            check_dim(what, d, len)?;
        }
        let (sq, residual) = crate::kernels::fused_update(
            base.as_slice(),
            eta,
            g.as_slice(),
            hint.as_slice(),
            (!origin_centered).then(|| self.center().as_slice()),
            out.as_mut_slice(),
        );
        if !residual.is_finite() {
            // NaN or ±∞ in g (the hint is finite), or an overflow: name the entry if any.
            check_finite("gradient", g.as_slice())?;
            check_finite("hint", hint.as_slice())?;
        }
        finish_ball_projection(self, out, sq, origin_centered)?;
        Ok(residual)
    }

    fn project_in_place_fast(&self, x: &mut DVector<f64>, origin_centered: bool) -> Result<()> {
        check_dim("point to project", self.dim(), x.len())?;
        let sq = sum_sq_diff(x.as_slice(), self.center().as_slice());
        finish_ball_projection(self, x, sq, origin_centered)
    }

    fn project_step(
        &self,
        base: &DVector<f64>,
        eta: f64,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
        origin_centered: bool,
    ) -> Result<()> {
        let d = self.dim();
        check_dim("point to project", d, base.len())?;
        check_dim("direction", d, v.len())?;
        check_dim("output buffer", d, out.len())?;
        let sq = step_and_sq_dist(
            base.as_slice(),
            eta,
            v.as_slice(),
            (!origin_centered).then(|| self.center().as_slice()),
            out.as_mut_slice(),
        );
        finish_ball_projection(self, out, sq, origin_centered)
    }

    fn project_step_in_place(
        &self,
        x: &mut DVector<f64>,
        eta: f64,
        v: &DVector<f64>,
        origin_centered: bool,
    ) -> Result<()> {
        let d = self.dim();
        check_dim("point to project", d, x.len())?;
        check_dim("direction", d, v.len())?;
        let sq = step_in_place_and_sq_dist(
            x.as_mut_slice(),
            eta,
            v.as_slice(),
            (!origin_centered).then(|| self.center().as_slice()),
        );
        finish_ball_projection(self, x, sq, origin_centered)
    }
}

impl FastProjection for BoxDomain {}
impl FastProjection for Simplex {}
impl FastProjection for WholeSpace {}

/// A domain on which argmin_{u∈X} ⟨c, u⟩ and sup_{x∈X} ‖x‖₂ are known in closed form; the
/// SEA simulator uses it for exact comparators and gradient bounds.
pub trait LinearMinimizer: Domain {
    /// Writes a minimizer of ⟨c, u⟩ over X into `out` (ties broken towards the lowest index).
    ///
    /// # Errors
    /// On wrong lengths or non-finite `c`.
    fn argmin_linear(&self, c: &DVector<f64>, out: &mut DVector<f64>) -> Result<()>;

    /// sup_{x∈X} ‖x‖₂.
    fn max_norm(&self) -> f64;
}

impl LinearMinimizer for L2Ball {
    /// u = center − R·c/‖c‖ (the center when c = 0).
    fn argmin_linear(&self, c: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        check_dim("linear cost", self.dim(), c.len())?;
        check_dim("output buffer", self.dim(), out.len())?;
        check_finite("linear cost", c.as_slice())?;
        out.copy_from(self.center());
        let n = c.norm();
        if n > 0.0 {
            out.axpy(-self.radius() / n, c, 1.0);
        }
        Ok(())
    }

    fn max_norm(&self) -> f64 {
        self.center().norm() + self.radius()
    }
}

impl LinearMinimizer for BoxDomain {
    /// uᵢ = lᵢ if cᵢ > 0, uᵢ if cᵢ < 0, and the finite bound nearest 0 if cᵢ = 0.
    fn argmin_linear(&self, c: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        check_dim("linear cost", self.dim(), c.len())?;
        check_dim("output buffer", self.dim(), out.len())?;
        check_finite("linear cost", c.as_slice())?;
        for i in 0..self.dim() {
            let (lo, hi) = (self.lower()[i], self.upper()[i]);
            let v = if c[i] > 0.0 {
                lo
            } else if c[i] < 0.0 {
                hi
            } else {
                0.0_f64.clamp(lo, hi)
            };
            if !v.is_finite() {
                return Err(Error::infeasible(format!(
                    "the linear cost is unbounded below on the box (coordinate {i}); \
                     give the box finite bounds"
                )));
            }
            out[i] = v;
        }
        Ok(())
    }

    fn max_norm(&self) -> f64 {
        self.lower()
            .iter()
            .zip(self.upper().iter())
            .map(|(l, u)| {
                let m = l.abs().max(u.abs());
                m * m
            })
            .sum::<f64>()
            .sqrt()
    }
}

impl LinearMinimizer for Simplex {
    /// The vertex z·e_i of the smallest cᵢ.
    fn argmin_linear(&self, c: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        check_dim("linear cost", self.dim(), c.len())?;
        check_dim("output buffer", self.dim(), out.len())?;
        check_finite("linear cost", c.as_slice())?;
        let i = c.argmin().0;
        out.fill(0.0);
        out[i] = self.total();
        Ok(())
    }

    fn max_norm(&self) -> f64 {
        self.total()
    }
}
