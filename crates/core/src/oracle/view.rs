//! Single-block views of two-block oracles: fix x to get an oracle in y, fix y to get one in x.
//!
//! A view borrows the two-block oracle, so when that oracle is a caller's
//! [`Counted`](crate::Counted), every call through the view lands in the caller's counter (as
//! ∇ᵧ, ∇²ᵧᵧ, ∇ₓ evaluations). This is how a reference solver ([`Sgd`](crate::solver::Sgd),
//! [`GradientDescent`](crate::solver::GradientDescent)) runs as the lower-level inner loop of
//! a bilevel method:
//!
//! ```
//! use lisse_core::solver::{GradientDescent, StepSize};
//! use lisse_core::{Counted, Executor, OracleExt, PartialGradients, Result, RngStreams, Stopping, TwoBlock};
//! use nalgebra::{DVector, dvector};
//! /// g(x, y) = ½‖y − x‖²
//! struct G;
//! impl TwoBlock for G {
//!     fn dim_x(&self) -> usize { 2 }
//!     fn dim_y(&self) -> usize { 2 }
//!     fn full_batch_size_xy(&self) -> usize { 0 } // analytic: reads no data
//! }
//! impl PartialGradients for G {
//!     fn grad_x_into(&self, x: &DVector<f64>, y: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
//!         out.copy_from(&(x - y));
//!         Ok(())
//!     }
//!     fn grad_y_into(&self, x: &DVector<f64>, y: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
//!         out.copy_from(&(y - x));
//!         Ok(())
//!     }
//! }
//! let g = Counted::new(G);
//! let x = dvector![1.0, -1.0];
//! let mut inner = GradientDescent::new(g.fix_x(x.clone())?, DVector::zeros(2), StepSize::Constant(1.0))?;
//! Executor::new(Stopping::new().max_iters(3)).run(&mut inner, &mut RngStreams::new(0).stream(0))?;
//! assert_eq!(g.counts().calls.grads_y, 3); // counted in the caller's counter
//! # Ok::<(), lisse_core::Error>(())
//! ```

use nalgebra::DVector;
use rand::Rng;

use super::{
    Dimension, Gradient, Hvp, Objective, PartialGradients, PartialHvps, Sampler,
    StochasticGradient, StochasticHvp, StochasticPartialGradients, StochasticPartialHvps, TwoBlock,
    TwoBlockObjective,
};
use crate::{Result, check_dim, check_finite};

/// y ↦ h(x, y) for a fixed x: an oracle in y (value, ∇ᵧ, ∇²ᵧᵧ·v, and their stochastic
/// versions at a sample). Built with [`OracleExt::fix_x`](crate::OracleExt::fix_x).
#[derive(Debug, Clone)]
pub struct FixX<'a, O: ?Sized> {
    oracle: &'a O,
    x: DVector<f64>,
}

/// x ↦ h(x, y) for a fixed y: an oracle in x (value, ∇ₓ, and ∇ₓ at a sample). Built with
/// [`OracleExt::fix_y`](crate::OracleExt::fix_y).
#[derive(Debug, Clone)]
pub struct FixY<'a, O: ?Sized> {
    oracle: &'a O,
    y: DVector<f64>,
}

impl<'a, O: TwoBlock + ?Sized> FixX<'a, O> {
    /// The view of `oracle` at the fixed `x`.
    ///
    /// # Errors
    /// A wrong length or a non-finite entry of `x`.
    pub fn new(oracle: &'a O, x: DVector<f64>) -> Result<Self> {
        check_dim("fixed x", oracle.dim_x(), x.len())?;
        check_finite("fixed x", x.as_slice())?;
        Ok(Self { oracle, x })
    }

    /// The fixed x.
    pub fn x(&self) -> &DVector<f64> {
        &self.x
    }

    /// Moves the fixed x to `x` (copied, no allocation).
    ///
    /// # Errors
    /// A wrong length or a non-finite entry of `x`.
    pub fn set_x(&mut self, x: &DVector<f64>) -> Result<()> {
        check_dim("fixed x", self.x.len(), x.len())?;
        check_finite("fixed x", x.as_slice())?;
        self.x.copy_from(x);
        Ok(())
    }
}

impl<'a, O: TwoBlock + ?Sized> FixY<'a, O> {
    /// The view of `oracle` at the fixed `y`.
    ///
    /// # Errors
    /// A wrong length or a non-finite entry of `y`.
    pub fn new(oracle: &'a O, y: DVector<f64>) -> Result<Self> {
        check_dim("fixed y", oracle.dim_y(), y.len())?;
        check_finite("fixed y", y.as_slice())?;
        Ok(Self { oracle, y })
    }

    /// The fixed y.
    pub fn y(&self) -> &DVector<f64> {
        &self.y
    }

    /// Moves the fixed y to `y` (copied, no allocation).
    ///
    /// # Errors
    /// A wrong length or a non-finite entry of `y`.
    pub fn set_y(&mut self, y: &DVector<f64>) -> Result<()> {
        check_dim("fixed y", self.y.len(), y.len())?;
        check_finite("fixed y", y.as_slice())?;
        self.y.copy_from(y);
        Ok(())
    }
}

impl<O: TwoBlock + ?Sized> Dimension for FixX<'_, O> {
    fn dim(&self) -> usize {
        self.oracle.dim_y()
    }
    fn full_batch_size(&self) -> usize {
        self.oracle.full_batch_size_xy()
    }
}

impl<O: TwoBlock + ?Sized> Dimension for FixY<'_, O> {
    fn dim(&self) -> usize {
        self.oracle.dim_x()
    }
    fn full_batch_size(&self) -> usize {
        self.oracle.full_batch_size_xy()
    }
}

impl<O: TwoBlockObjective + ?Sized> Objective for FixX<'_, O> {
    fn value(&self, y: &DVector<f64>) -> Result<f64> {
        self.oracle.value_xy(&self.x, y)
    }
}

impl<O: TwoBlockObjective + ?Sized> Objective for FixY<'_, O> {
    fn value(&self, x: &DVector<f64>) -> Result<f64> {
        self.oracle.value_xy(x, &self.y)
    }
}

impl<O: PartialGradients + ?Sized> Gradient for FixX<'_, O> {
    fn gradient_into(&self, y: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        self.oracle.grad_y_into(&self.x, y, out)
    }
}

impl<O: PartialGradients + ?Sized> Gradient for FixY<'_, O> {
    fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        self.oracle.grad_x_into(x, &self.y, out)
    }
}

impl<O: PartialHvps + ?Sized> Hvp for FixX<'_, O> {
    fn hvp_into(&self, y: &DVector<f64>, v: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        self.oracle.hvp_yy_into(&self.x, y, v, out)
    }
}

macro_rules! forward_sampler {
    ($view:ident) => {
        impl<O: Sampler + ?Sized> Sampler for $view<'_, O> {
            type Sample = O::Sample;
            fn empty_sample(&self) -> O::Sample {
                self.oracle.empty_sample()
            }
            fn draw_into<R: Rng + ?Sized>(
                &self,
                rng: &mut R,
                sample: &mut O::Sample,
            ) -> Result<()> {
                self.oracle.draw_into(rng, sample)
            }
            fn samples_per_draw(&self) -> usize {
                self.oracle.samples_per_draw()
            }
            fn points_read(&self, sample: &O::Sample) -> usize {
                self.oracle.points_read(sample)
            }
        }
    };
}
forward_sampler!(FixX);
forward_sampler!(FixY);

impl<O: StochasticPartialGradients + ?Sized> StochasticGradient for FixX<'_, O> {
    fn gradient_at_into(
        &self,
        y: &DVector<f64>,
        sample: &O::Sample,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.oracle.grad_y_at_into(&self.x, y, sample, out)
    }
}

impl<O: StochasticPartialGradients + ?Sized> StochasticGradient for FixY<'_, O> {
    fn gradient_at_into(
        &self,
        x: &DVector<f64>,
        sample: &O::Sample,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.oracle.grad_x_at_into(x, &self.y, sample, out)
    }
}

impl<O: StochasticPartialHvps + ?Sized> StochasticHvp for FixX<'_, O> {
    fn hvp_at_into(
        &self,
        y: &DVector<f64>,
        v: &DVector<f64>,
        sample: &O::Sample,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.oracle.hvp_yy_at_into(&self.x, y, v, sample, out)
    }
}
