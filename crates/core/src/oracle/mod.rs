//! Oracle traits: one capability per trait.
//!
//! | trait | capability | written into |
//! |---|---|---|
//! | [`Dimension`] | the number of variables | — |
//! | [`Objective`] | f(x) | returned |
//! | [`Gradient`] | ∇f(x) | caller buffer |
//! | [`Hvp`] | ∇²f(x)·v | caller buffer |
//! | [`StochasticObjective`], [`StochasticGradient`], [`StochasticHvp`] | unbiased estimates from a fresh sample drawn from an explicit RNG | caller buffer |
//! | [`FiniteSum`], [`FiniteSumHvp`] | f = (1/n) Σᵢ fᵢ: term and minibatch values, gradients and HVPs | caller buffer |
//! | [`TwoBlock`], [`TwoBlockObjective`], [`PartialGradients`], [`PartialHvps`], their stochastic versions, [`TwoBlockFiniteSum`], [`TwoBlockFiniteSumHvp`] | functions of two blocks (x, y), as in bilevel problems | caller buffer |
//! | [`OracleExt`] | conveniences for every oracle: allocating variants, minibatch averages, derivative checks | — |
//!
//! Points are `&DVector<f64>`, outputs `&mut DVector<f64>` of the oracle's dimension, and every call
//! returns [`Result`](crate::Result): a wrong length is a typed
//! [`Error::DimensionMismatch`](crate::Error::DimensionMismatch), never a panic. Hot loops
//! allocate their buffers once and call the `*_into` methods; [`OracleExt`] adds allocating
//! variants for everything else.
//!
//! Stochastic methods take `rng: &mut R` with `R: Rng + ?Sized` and draw an *independent* sample on
//! every call; a solver never owns a hidden generator. Wrap any oracle in
//! [`Counted`](crate::Counted) to count its calls.

mod ext;
mod finite_sum;
mod first_order;
mod stochastic;
mod two_block;

pub use ext::OracleExt;
pub use finite_sum::{FiniteSum, FiniteSumHvp, check_batch as finite_sum_check_batch};
pub use first_order::{Dimension, Gradient, Hvp, Objective};
pub use stochastic::{StochasticGradient, StochasticHvp, StochasticObjective};
pub use two_block::{
    PartialGradients, PartialHvps, StochasticPartialGradients, StochasticPartialHvps, TwoBlock,
    TwoBlockFiniteSum, TwoBlockFiniteSumHvp, TwoBlockObjective,
};
