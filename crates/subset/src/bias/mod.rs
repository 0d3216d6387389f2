//! Bias models: how an evaluator's reported rankings differ from the latent ones.
//!
//! Both models favour one group (G1 in the paper) over the others. [`SwapBias`] acts on any
//! ranking; [`UtilityBias`] acts on the utilities of a [`crate::culture::LatentUtility`]
//! model, so it draws the latent and the biased profile together.

mod swap;
mod utility;

pub use swap::SwapBias;
pub use utility::UtilityBias;
