//! The one-dimensional problem of the BO-REP lab's synthetic experiment (p = 2):
//! g(x, y) = y²/2 − y·sin x, f(x, y) = sin(y) clipped to ±1 outside |y| ≤ π/2.
//!
//! y*(x) = sin x, Φ(x) = sin(sin x), ∇Φ(x) = cos x · cos(sin x); the surrogate at any y with
//! |y| ≤ π/2 is ∇̄f(x, y) = −∇²ₓᵧg·(∇²ᵧᵧg)⁻¹·∇ᵧf = cos x · cos y.
//!
//! The stochastic oracles add Gaussian noise: standard deviation `noise_std` (1 in the lab's
//! script) on ∇ᵧG, and `noise_std` (0.01 there) on ∇ₓF and ∇ᵧF. Second-order products are exact.

use std::f64::consts::FRAC_PI_2;

use lisse_core::{
    PartialGradients, PartialHvps, Result, Sampler, StochasticPartialGradients,
    StochasticPartialHvps, TwoBlock, check_dim, check_range,
};
use nalgebra::DVector;
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

use super::{BilevelProblem, ClosedForm, LowerConstants};

fn check_scalars(x: &DVector<f64>, y: &DVector<f64>, out: usize) -> Result<()> {
    check_dim("x", 1, x.len())?;
    check_dim("y", 1, y.len())?;
    check_dim("output buffer", 1, out)
}

/// f(x, y) = sin(clip(y, −π/2, π/2)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SineUpper {
    noise_std: f64,
}

/// g(x, y) = y²/2 − y·sin x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SineLower {
    noise_std: f64,
}

impl SineUpper {
    fn dfdy(y: f64) -> f64 {
        if y.abs() <= FRAC_PI_2 { y.cos() } else { 0.0 }
    }
}

impl TwoBlock for SineUpper {
    fn dim_x(&self) -> usize {
        1
    }
    fn dim_y(&self) -> usize {
        1
    }
    /// Analytic: reads no data.
    fn full_batch_size_xy(&self) -> usize {
        0
    }
}

impl TwoBlock for SineLower {
    fn dim_x(&self) -> usize {
        1
    }
    fn dim_y(&self) -> usize {
        1
    }
    /// Analytic: reads no data.
    fn full_batch_size_xy(&self) -> usize {
        0
    }
}

impl PartialGradients for SineUpper {
    fn grad_x_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_scalars(x, y, out.len())?;
        out[0] = 0.0;
        Ok(())
    }
    fn grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_scalars(x, y, out.len())?;
        out[0] = Self::dfdy(y[0]);
        Ok(())
    }
}

/// A sample is the noise pair (ξₓ, ξᵧ) ~ N(0, I₂) of ∇ₓF and ∇ᵧF.
impl Sampler for SineUpper {
    type Sample = [f64; 2];
    fn empty_sample(&self) -> [f64; 2] {
        [0.0; 2]
    }
    fn draw_into<R: Rng + ?Sized>(&self, rng: &mut R, sample: &mut [f64; 2]) -> Result<()> {
        *sample = [rng.sample(StandardNormal), rng.sample(StandardNormal)];
        Ok(())
    }
    fn samples_per_draw(&self) -> usize {
        1
    }
    fn points_read(&self, _sample: &[f64; 2]) -> usize {
        0
    }
}

impl StochasticPartialGradients for SineUpper {
    fn grad_x_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &[f64; 2],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_scalars(x, y, out.len())?;
        out[0] = self.noise_std * sample[0];
        Ok(())
    }
    fn grad_y_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &[f64; 2],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_scalars(x, y, out.len())?;
        out[0] = Self::dfdy(y[0]) + self.noise_std * sample[1];
        Ok(())
    }
}

impl PartialGradients for SineLower {
    fn grad_x_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_scalars(x, y, out.len())?;
        out[0] = -y[0] * x[0].cos();
        Ok(())
    }
    fn grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_scalars(x, y, out.len())?;
        out[0] = y[0] - x[0].sin();
        Ok(())
    }
}

/// A sample is the noise ζ ~ N(0, 1) of ∇ᵧG (the second-order products are exact).
impl Sampler for SineLower {
    type Sample = f64;
    fn empty_sample(&self) -> f64 {
        0.0
    }
    fn draw_into<R: Rng + ?Sized>(&self, rng: &mut R, sample: &mut f64) -> Result<()> {
        *sample = rng.sample(StandardNormal);
        Ok(())
    }
    fn samples_per_draw(&self) -> usize {
        1
    }
    fn points_read(&self, _sample: &f64) -> usize {
        0
    }
}

impl StochasticPartialGradients for SineLower {
    fn grad_x_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &f64,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.grad_x_into(x, y, out)?;
        out[0] += self.noise_std * sample;
        Ok(())
    }
    fn grad_y_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &f64,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.grad_y_into(x, y, out)?;
        out[0] += self.noise_std * sample;
        Ok(())
    }
}

impl PartialHvps for SineLower {
    fn hvp_yy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_scalars(x, y, out.len())?;
        check_dim("v", 1, v.len())?;
        out[0] = v[0];
        Ok(())
    }
    fn hvp_xy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_scalars(x, y, out.len())?;
        check_dim("v", 1, v.len())?;
        out[0] = -x[0].cos() * v[0];
        Ok(())
    }
}

impl StochasticPartialHvps for SineLower {
    fn hvp_yy_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        _sample: &f64,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.hvp_yy_into(x, y, v, out)
    }
    fn hvp_xy_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        _sample: &f64,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.hvp_xy_into(x, y, v, out)
    }
}

/// The one-dimensional bilevel problem (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SineBilevel {
    upper: SineUpper,
    lower: SineLower,
}

impl SineBilevel {
    /// The problem with noise of standard deviation `upper_noise` on ∇F and `lower_noise` on
    /// ∇ᵧG (the lab's script: 0.01 and 1).
    ///
    /// # Errors
    /// A negative or non-finite standard deviation.
    pub fn new(upper_noise: f64, lower_noise: f64) -> Result<Self> {
        check_range("upper_noise", upper_noise, 0.0, f64::INFINITY)?;
        check_range("lower_noise", lower_noise, 0.0, f64::INFINITY)?;
        Ok(Self {
            upper: SineUpper {
                noise_std: upper_noise,
            },
            lower: SineLower {
                noise_std: lower_noise,
            },
        })
    }

    /// The counted [`BilevelProblem`] (μ = C_g = 1: ∇²ᵧᵧg = 1).
    ///
    /// # Errors
    /// None in practice.
    pub fn problem(&self) -> Result<BilevelProblem<SineUpper, SineLower>> {
        BilevelProblem::new(self.upper, self.lower, LowerConstants::new(1.0, 1.0)?)
    }
}

impl ClosedForm for SineBilevel {
    fn lower_solution(&self, x: &DVector<f64>) -> Result<DVector<f64>> {
        check_dim("x", 1, x.len())?;
        Ok(DVector::from_element(1, x[0].sin()))
    }
    fn hypergradient(&self, x: &DVector<f64>) -> Result<DVector<f64>> {
        check_dim("x", 1, x.len())?;
        Ok(DVector::from_element(1, x[0].cos() * x[0].sin().cos()))
    }
}

impl super::UpperLevel for SineUpper {}
impl super::LowerLevel for SineLower {}
