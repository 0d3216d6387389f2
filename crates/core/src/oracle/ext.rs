//! Conveniences on top of the oracle traits, for every type (a blanket extension trait, as
//! `rand::RngExt` extends `rand::Rng`).

use nalgebra::DVector;
use rand::Rng;

use super::{
    FiniteSum, FixX, FixY, Gradient, Hvp, Objective, PartialGradients, PartialHvps, Sampler,
    StochasticGradient, StochasticPartialGradients, StochasticPartialHvps, TwoBlock,
    TwoBlockObjective,
};
use crate::check::{DerivativeCheck, finite_difference_gradient, finite_difference_hvp};
use crate::two_block_check;
use crate::{Error, Result, check_dim};

/// Allocating variants, minibatch averages and derivative checks for every oracle.
///
/// Implemented for all types; each method is available when the receiver implements the trait
/// named in its `where` clause. Hot loops should call the `*_into` methods of the oracle traits
/// with preallocated buffers instead.
///
/// ```
/// use lisse_core::{Dimension, Gradient, Objective, OracleExt, Result};
/// use nalgebra::{DVector, dvector};
/// /// f(x) = ½‖x‖² + x₀x₁
/// struct F;
/// impl Dimension for F {
///     fn dim(&self) -> usize { 2 }
///     fn full_batch_size(&self) -> usize { 0 } // analytic: reads no data
/// }
/// impl Objective for F {
///     fn value(&self, x: &DVector<f64>) -> Result<f64> { Ok(0.5 * x.norm_squared() + x[0] * x[1]) }
/// }
/// impl Gradient for F {
///     fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
///         lisse_core::check_dim("x", 2, x.len())?;
///         out[0] = x[0] + x[1];
///         out[1] = x[1] + x[0];
///         Ok(())
///     }
/// }
/// let x = dvector![0.5, -1.5];
/// assert_eq!(F.gradient(&x)?, dvector![-1.0, -1.0]);
/// assert!(F.check_gradient(&x, 1e-6)?.passes(1e-8));
/// # Ok::<(), lisse_core::Error>(())
/// ```
pub trait OracleExt {
    /// ∇f(x), allocated.
    ///
    /// # Errors
    /// As [`Gradient::gradient_into`].
    fn gradient(&self, x: &DVector<f64>) -> Result<DVector<f64>>
    where
        Self: Gradient,
    {
        let mut out = DVector::zeros(self.dim());
        self.gradient_into(x, &mut out)?;
        Ok(out)
    }

    /// ∇²f(x)·v, allocated.
    ///
    /// # Errors
    /// As [`Hvp::hvp_into`].
    fn hvp(&self, x: &DVector<f64>, v: &DVector<f64>) -> Result<DVector<f64>>
    where
        Self: Hvp,
    {
        let mut out = DVector::zeros(self.dim());
        self.hvp_into(x, v, &mut out)?;
        Ok(out)
    }

    /// Draws one sample from `rng`, allocated (hot loops keep a buffer from
    /// [`Sampler::empty_sample`] and call [`Sampler::draw_into`]).
    ///
    /// # Errors
    /// As [`Sampler::draw_into`].
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Self::Sample>
    where
        Self: Sampler,
    {
        let mut sample = self.empty_sample();
        self.draw_into(rng, &mut sample)?;
        Ok(sample)
    }

    /// ∇F(x; ξ) at a given sample, allocated.
    ///
    /// # Errors
    /// As [`StochasticGradient::gradient_at_into`].
    fn gradient_at(&self, x: &DVector<f64>, sample: &Self::Sample) -> Result<DVector<f64>>
    where
        Self: StochasticGradient,
    {
        let mut out = DVector::zeros(self.dim());
        self.gradient_at_into(x, sample, &mut out)?;
        Ok(out)
    }

    /// Draw and evaluate in one call: draws a fresh sample into `sample` (a reusable buffer,
    /// so nothing allocates) and writes ∇F(x; ξ) at it into `out`. The sample stays available
    /// for further evaluations.
    ///
    /// # Errors
    /// As [`Sampler::draw_into`] and [`StochasticGradient::gradient_at_into`].
    fn stochastic_gradient_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        rng: &mut R,
        sample: &mut Self::Sample,
        out: &mut DVector<f64>,
    ) -> Result<()>
    where
        Self: StochasticGradient,
    {
        self.draw_into(rng, sample)?;
        self.gradient_at_into(x, sample, out)
    }

    /// One stochastic gradient at a fresh sample, allocated (sample and result).
    ///
    /// # Errors
    /// As [`OracleExt::stochastic_gradient_into`].
    fn stochastic_gradient<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        rng: &mut R,
    ) -> Result<DVector<f64>>
    where
        Self: StochasticGradient,
    {
        let sample = self.draw(rng)?;
        self.gradient_at(x, &sample)
    }

    /// The mean of `m` stochastic gradients at `m` independent fresh samples, written into
    /// `out`; `sample` and `scratch` (length `dim`) are caller buffers, so the call allocates
    /// nothing. Its variance is σ²/m.
    ///
    /// # Errors
    /// `m == 0`, a wrong buffer length, or an error of the oracle.
    fn averaged_stochastic_gradient_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        m: usize,
        rng: &mut R,
        sample: &mut Self::Sample,
        out: &mut DVector<f64>,
        scratch: &mut DVector<f64>,
    ) -> Result<()>
    where
        Self: StochasticGradient,
    {
        if m == 0 {
            return Err(Error::invalid("m", 0, "at least 1 gradient to average"));
        }
        check_dim("output buffer", self.dim(), out.len())?;
        check_dim("scratch buffer", self.dim(), scratch.len())?;
        out.fill(0.0);
        for _ in 0..m {
            self.stochastic_gradient_into(x, rng, sample, scratch)?;
            *out += &*scratch;
        }
        *out /= m as f64;
        Ok(())
    }

    /// ∇ₓH(x, y; ξ) at a given sample, allocated.
    ///
    /// # Errors
    /// As [`StochasticPartialGradients::grad_x_at_into`].
    fn grad_x_at(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &Self::Sample,
    ) -> Result<DVector<f64>>
    where
        Self: StochasticPartialGradients,
    {
        let mut out = DVector::zeros(self.dim_x());
        self.grad_x_at_into(x, y, sample, &mut out)?;
        Ok(out)
    }

    /// ∇ᵧH(x, y; ξ) at a given sample, allocated.
    ///
    /// # Errors
    /// As [`StochasticPartialGradients::grad_y_at_into`].
    fn grad_y_at(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &Self::Sample,
    ) -> Result<DVector<f64>>
    where
        Self: StochasticPartialGradients,
    {
        let mut out = DVector::zeros(self.dim_y());
        self.grad_y_at_into(x, y, sample, &mut out)?;
        Ok(out)
    }

    /// ∇²ᵧᵧH(x, y; ξ)·v at a given sample, allocated.
    ///
    /// # Errors
    /// As [`StochasticPartialHvps::hvp_yy_at_into`].
    fn hvp_yy_at(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        sample: &Self::Sample,
    ) -> Result<DVector<f64>>
    where
        Self: StochasticPartialHvps,
    {
        let mut out = DVector::zeros(self.dim_y());
        self.hvp_yy_at_into(x, y, v, sample, &mut out)?;
        Ok(out)
    }

    /// ∇²ₓᵧH(x, y; ξ)·v at a given sample, allocated.
    ///
    /// # Errors
    /// As [`StochasticPartialHvps::hvp_xy_at_into`].
    fn hvp_xy_at(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        sample: &Self::Sample,
    ) -> Result<DVector<f64>>
    where
        Self: StochasticPartialHvps,
    {
        let mut out = DVector::zeros(self.dim_x());
        self.hvp_xy_at_into(x, y, v, sample, &mut out)?;
        Ok(out)
    }

    /// The oracle in y at a fixed x (see [`FixX`]); calls through it are calls of `self`.
    ///
    /// # Errors
    /// A wrong length or a non-finite entry of `x`.
    fn fix_x(&self, x: DVector<f64>) -> Result<FixX<'_, Self>>
    where
        Self: TwoBlock,
    {
        FixX::new(self, x)
    }

    /// The oracle in x at a fixed y (see [`FixY`]); calls through it are calls of `self`.
    ///
    /// # Errors
    /// A wrong length or a non-finite entry of `y`.
    fn fix_y(&self, y: DVector<f64>) -> Result<FixY<'_, Self>>
    where
        Self: TwoBlock,
    {
        FixY::new(self, y)
    }

    /// (1/|B|) Σ_{i∈B} ∇fᵢ(x), allocated.
    ///
    /// # Errors
    /// As [`FiniteSum::batch_gradient_into`].
    fn batch_gradient(&self, x: &DVector<f64>, batch: &[usize]) -> Result<DVector<f64>>
    where
        Self: FiniteSum,
    {
        let mut out = DVector::zeros(self.dim());
        self.batch_gradient_into(x, batch, &mut out)?;
        Ok(out)
    }

    /// ∇ₓh(x, y), allocated.
    ///
    /// # Errors
    /// As [`PartialGradients::grad_x_into`].
    fn grad_x(&self, x: &DVector<f64>, y: &DVector<f64>) -> Result<DVector<f64>>
    where
        Self: PartialGradients,
    {
        let mut out = DVector::zeros(self.dim_x());
        self.grad_x_into(x, y, &mut out)?;
        Ok(out)
    }

    /// ∇ᵧh(x, y), allocated.
    ///
    /// # Errors
    /// As [`PartialGradients::grad_y_into`].
    fn grad_y(&self, x: &DVector<f64>, y: &DVector<f64>) -> Result<DVector<f64>>
    where
        Self: PartialGradients,
    {
        let mut out = DVector::zeros(self.dim_y());
        self.grad_y_into(x, y, &mut out)?;
        Ok(out)
    }

    /// ∇²ᵧᵧh(x, y)·v, allocated.
    ///
    /// # Errors
    /// As [`PartialHvps::hvp_yy_into`].
    fn hvp_yy(&self, x: &DVector<f64>, y: &DVector<f64>, v: &DVector<f64>) -> Result<DVector<f64>>
    where
        Self: PartialHvps,
    {
        let mut out = DVector::zeros(self.dim_y());
        self.hvp_yy_into(x, y, v, &mut out)?;
        Ok(out)
    }

    /// ∇²ₓᵧh(x, y)·v, allocated.
    ///
    /// # Errors
    /// As [`PartialHvps::hvp_xy_into`].
    fn hvp_xy(&self, x: &DVector<f64>, y: &DVector<f64>, v: &DVector<f64>) -> Result<DVector<f64>>
    where
        Self: PartialHvps,
    {
        let mut out = DVector::zeros(self.dim_x());
        self.hvp_xy_into(x, y, v, &mut out)?;
        Ok(out)
    }

    /// Compares ∇f(x) with central finite differences of f (see [`crate::check`]).
    ///
    /// # Errors
    /// A wrong length, a bad step, or an error of the oracle.
    fn check_gradient(&self, x: &DVector<f64>, step: f64) -> Result<DerivativeCheck>
    where
        Self: Objective + Gradient,
    {
        let numeric = finite_difference_gradient(self, x, step)?;
        DerivativeCheck::compare(&self.gradient(x)?, &numeric)
    }

    /// Compares ∇²f(x)·v with central finite differences of ∇f (see [`crate::check`]).
    ///
    /// # Errors
    /// A wrong length, a bad step, or an error of the oracle.
    fn check_hvp(&self, x: &DVector<f64>, v: &DVector<f64>, step: f64) -> Result<DerivativeCheck>
    where
        Self: Gradient + Hvp,
    {
        let numeric = finite_difference_hvp(self, x, v, step)?;
        DerivativeCheck::compare(&self.hvp(x, v)?, &numeric)
    }

    /// Compares ∇ₓh(x, y) with central finite differences of h in x (see
    /// [`crate::two_block_check`]).
    ///
    /// # Errors
    /// A wrong length, a bad step, or an error of the oracle.
    fn check_grad_x(&self, x: &DVector<f64>, y: &DVector<f64>, step: f64) -> Result<DerivativeCheck>
    where
        Self: TwoBlockObjective + PartialGradients,
    {
        let numeric = two_block_check::finite_difference_grad_x(self, x, y, step)?;
        DerivativeCheck::compare(&self.grad_x(x, y)?, &numeric)
    }

    /// Compares ∇ᵧh(x, y) with central finite differences of h in y.
    ///
    /// # Errors
    /// A wrong length, a bad step, or an error of the oracle.
    fn check_grad_y(&self, x: &DVector<f64>, y: &DVector<f64>, step: f64) -> Result<DerivativeCheck>
    where
        Self: TwoBlockObjective + PartialGradients,
    {
        let numeric = two_block_check::finite_difference_grad_y(self, x, y, step)?;
        DerivativeCheck::compare(&self.grad_y(x, y)?, &numeric)
    }

    /// Compares ∇²ᵧᵧh(x, y)·v with central finite differences of ∇ᵧh along v.
    ///
    /// # Errors
    /// A wrong length, a bad step, or an error of the oracle.
    fn check_hvp_yy(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        step: f64,
    ) -> Result<DerivativeCheck>
    where
        Self: PartialGradients + PartialHvps,
    {
        let numeric = two_block_check::finite_difference_hvp_yy(self, x, y, v, step)?;
        DerivativeCheck::compare(&self.hvp_yy(x, y, v)?, &numeric)
    }

    /// Compares ∇²ₓᵧh(x, y)·v with central finite differences of ∇ₓh along v in y.
    ///
    /// # Errors
    /// A wrong length, a bad step, or an error of the oracle.
    fn check_hvp_xy(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        step: f64,
    ) -> Result<DerivativeCheck>
    where
        Self: PartialGradients + PartialHvps,
    {
        let numeric = two_block_check::finite_difference_hvp_xy(self, x, y, v, step)?;
        DerivativeCheck::compare(&self.hvp_xy(x, y, v)?, &numeric)
    }
}

impl<T: ?Sized> OracleExt for T {}
