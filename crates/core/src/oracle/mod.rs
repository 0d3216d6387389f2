//! Oracle traits: one capability per trait.
//!
//! | trait | capability | written into |
//! |---|---|---|
//! | [`Dimension`] | the number of variables | — |
//! | [`Objective`] | f(x) | returned |
//! | [`Gradient`] | ∇f(x) | caller buffer |
//! | [`Hvp`] | ∇²f(x)·v | caller buffer |
//! | [`Sampler`] | draws a sample value (a batch of indices, a noise vector) from the caller's RNG | caller sample buffer |
//! | [`StochasticObjective`], [`StochasticGradient`], [`StochasticHvp`] | unbiased estimates *at* a given sample | caller buffer |
//! | [`FiniteSum`], [`FiniteSumHvp`] | f = (1/n) Σᵢ fᵢ: term and minibatch values, gradients and HVPs | caller buffer |
//! | [`TwoBlock`], [`TwoBlockObjective`], [`PartialGradients`], [`PartialHvps`], [`StochasticPartialGradients`], [`StochasticPartialHvps`], [`TwoBlockFiniteSum`], [`TwoBlockFiniteSumHvp`] | functions of two blocks (x, y), as in bilevel problems | caller buffer |
//! | [`FixX`], [`FixY`] | single-block views of a two-block oracle | — |
//! | [`OracleExt`] | conveniences for every oracle: allocating variants, draw-and-evaluate, views, derivative checks | — |
//!
//! Points are `&DVector<f64>`, outputs `&mut DVector<f64>` of the oracle's dimension, and every call
//! returns [`Result`](crate::Result): a wrong length is a typed
//! [`Error::DimensionMismatch`](crate::Error::DimensionMismatch), never a panic. Hot loops
//! allocate their buffers once and call the `*_into` methods; [`OracleExt`] adds allocating
//! variants for everything else.
//!
//! Stochastic oracles separate the *draw* ([`Sampler::draw_into`], from `rng: &mut R` with
//! `R: Rng + ?Sized`) from the *evaluation at the sample* (`gradient_at_into`,
//! `hvp_yy_at_into`, ...), so one sample serves several quantities and several points; see
//! [`stochastic`](self::Sampler). Wrap any oracle in [`Counted`](crate::Counted) to count its
//! draws and evaluations.

mod ext;
mod finite_sum;
mod first_order;
mod stochastic;
mod two_block;
mod view;

pub use ext::OracleExt;
pub use finite_sum::{FiniteSum, FiniteSumHvp, check_batch as finite_sum_check_batch};
pub use first_order::{Dimension, Gradient, Hvp, Objective};
pub use stochastic::{
    Sampler, StochasticGradient, StochasticHvp, StochasticObjective, StochasticPartialGradients,
    StochasticPartialHvps,
};
pub use two_block::{
    PartialGradients, PartialHvps, TwoBlock, TwoBlockFiniteSum, TwoBlockFiniteSumHvp,
    TwoBlockObjective,
};
pub use view::{FixX, FixY};
