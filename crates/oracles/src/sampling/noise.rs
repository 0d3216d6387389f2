//! Additive Gaussian gradient noise of a set variance.

use lisse_core::{Dimension, Error, Gradient, Result, Sampler, StochasticGradient, check_dim};
use nalgebra::DVector;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// g(x; ξ) = ∇f(x) + ξ with ξ ~ N(0, (σ²/d)·I), so E\[g\] = ∇f(x) and E‖g − ∇f(x)‖² = σ²
/// exactly: the bounded-variance assumption of stochastic optimization, with σ² known. The
/// sample is the noise vector ξ, so one draw can be reused at several points.
///
/// ```
/// use lisse_core::{Dimension, Gradient, OracleExt, Result, RngStreams};
/// use lisse_oracles::sampling::GradientNoise;
/// use nalgebra::{DVector, dvector};
/// struct Zero;
/// impl Dimension for Zero {
///     fn dim(&self) -> usize { 4 }
///     fn full_batch_size(&self) -> usize { 0 } // analytic: reads no data
/// }
/// impl Gradient for Zero {
///     fn gradient_into(&self, _x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
///         out.fill(0.0);
///         Ok(())
///     }
/// }
/// let noisy = GradientNoise::new(Zero, 2.0)?;
/// let mut rng = RngStreams::new(3).stream(0);
/// let x = DVector::zeros(4);
/// let mean_sq: f64 = (0..2000).map(|_| noisy.stochastic_gradient(&x, &mut rng).unwrap().norm_squared()).sum::<f64>() / 2000.0;
/// assert!((mean_sq - 2.0).abs() < 0.2);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GradientNoise<O> {
    inner: O,
    variance: f64,
}

impl<O: Gradient> GradientNoise<O> {
    /// Adds noise with E‖ξ‖² = `variance` to the gradients of `inner`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `variance` is negative or not finite.
    pub fn new(inner: O, variance: f64) -> Result<Self> {
        if !(variance.is_finite() && variance >= 0.0) {
            return Err(Error::invalid(
                "variance",
                variance,
                "a finite number >= 0 (σ² = E‖ξ‖²)",
            ));
        }
        Ok(Self { inner, variance })
    }

    /// σ² = E‖ξ‖².
    pub fn variance(&self) -> f64 {
        self.variance
    }

    /// The wrapped oracle.
    pub fn inner(&self) -> &O {
        &self.inner
    }
}

impl<O: Gradient> Dimension for GradientNoise<O> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn full_batch_size(&self) -> usize {
        self.inner.full_batch_size()
    }
}

/// The sample is the noise vector ξ itself (length `dim`).
///
/// Counting: one draw is **one** sample; each evaluation computes the exact gradient of the
/// inner oracle, so it reads that oracle's [`full_batch_size`](Dimension::full_batch_size)
/// points (n for a loss over n samples, 0 for an analytic function), not 1.
impl<O: Gradient> Sampler for GradientNoise<O> {
    type Sample = DVector<f64>;

    fn empty_sample(&self) -> DVector<f64> {
        DVector::zeros(self.dim())
    }

    fn draw_into<R: Rng + ?Sized>(&self, rng: &mut R, sample: &mut DVector<f64>) -> Result<()> {
        check_dim("noise sample", self.dim(), sample.len())?;
        let scale = (self.variance / self.dim().max(1) as f64).sqrt();
        for o in sample.iter_mut() {
            let z: f64 = StandardNormal.sample(rng);
            *o = scale * z;
        }
        Ok(())
    }

    fn samples_per_draw(&self) -> usize {
        1
    }

    fn points_read(&self, _sample: &DVector<f64>) -> usize {
        self.inner.full_batch_size()
    }
}

impl<O: Gradient> StochasticGradient for GradientNoise<O> {
    fn gradient_at_into(
        &self,
        x: &DVector<f64>,
        sample: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_dim("output buffer", self.dim(), out.len())?;
        check_dim("noise sample", self.dim(), sample.len())?;
        self.inner.gradient_into(x, out)?;
        *out += sample;
        Ok(())
    }
}
