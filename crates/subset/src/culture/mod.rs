//! Seeded generative models of rankings ("cultures").
//!
//! Each culture implements [`Culture`]: `sample(m, n, rng)` draws a [`Profile`] of n rankings of
//! m items. Samplers follow the definitions of prefsampling (Boehmer, Faliszewski, Janeczko et
//! al.), the reference the paper's experiments use through mapel; every random choice comes
//! from the caller's generator (use [`lisse_core::RngStreams`] for reproducible streams).

mod euclidean;
mod impartial;
mod latent_utility;
mod mallows;
mod plackett_luce;
mod single_peaked;
mod urn;

pub use euclidean::Euclidean;
pub use impartial::ImpartialCulture;
pub use latent_utility::LatentUtility;
pub use mallows::{
    Dispersion, Mallows, expected_kendall_tau, kendall_tau, mallows_probability,
    phi_from_normalized,
};
pub use plackett_luce::PlackettLuce;
pub use single_peaked::{SinglePeakedConitzer, SinglePeakedWalsh};
pub use urn::Urn;

use lisse_core::Result;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::profile::{Profile, check_size};

/// A generative model of profiles.
pub trait Culture {
    /// Draws n rankings of m items.
    ///
    /// # Errors
    /// [`lisse_core::Error::InvalidParameter`] when `m` or `n` is zero, the profile would be too
    /// large, or the model's parameters do not fit `m`.
    fn sample<R: Rng + ?Sized>(&self, m: usize, n: usize, rng: &mut R) -> Result<Profile>;
}

/// Builds a profile of n i.i.d. orders drawn by `draw(rng, out)` into a length-m buffer.
fn iid<R: Rng + ?Sized>(
    m: usize,
    n: usize,
    rng: &mut R,
    mut draw: impl FnMut(&mut R, &mut [u32]),
) -> Result<Profile> {
    check_n(m, n)?;
    let mut orders = vec![0u32; n * m];
    for o in orders.chunks_exact_mut(m) {
        draw(rng, o);
    }
    Profile::from_flat(m, orders, vec![1; n])
}

fn check_n(m: usize, n: usize) -> Result<()> {
    if n == 0 {
        return Err(lisse_core::Error::invalid("n", 0, "at least one ranking"));
    }
    check_size(m, n)
}

/// Any of the cultures, for experiments that loop over several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AnyCulture {
    /// [`ImpartialCulture`].
    Impartial(ImpartialCulture),
    /// [`Mallows`].
    Mallows(Mallows),
    /// [`PlackettLuce`].
    PlackettLuce(PlackettLuce),
    /// [`Urn`].
    Urn(Urn),
    /// [`SinglePeakedConitzer`].
    Conitzer(SinglePeakedConitzer),
    /// [`SinglePeakedWalsh`].
    Walsh(SinglePeakedWalsh),
    /// [`Euclidean`].
    Euclidean(Euclidean),
    /// [`LatentUtility`].
    LatentUtility(LatentUtility),
}

impl AnyCulture {
    /// A short name for tables and plots.
    pub fn name(&self) -> String {
        match self {
            Self::Impartial(_) => "impartial culture".into(),
            Self::Mallows(c) => c.to_string(),
            Self::PlackettLuce(_) => "Plackett–Luce".into(),
            Self::Urn(u) => format!("urn (α = {})", u.alpha()),
            Self::Conitzer(_) => "single-peaked (Conitzer)".into(),
            Self::Walsh(_) => "single-peaked (Walsh)".into(),
            Self::Euclidean(e) => format!("Euclidean ({}-d)", e.dim()),
            Self::LatentUtility(l) => format!("latent utility (σ = {})", l.sigma()),
        }
    }
}

impl Culture for AnyCulture {
    fn sample<R: Rng + ?Sized>(&self, m: usize, n: usize, rng: &mut R) -> Result<Profile> {
        match self {
            Self::Impartial(c) => c.sample(m, n, rng),
            Self::Mallows(c) => c.sample(m, n, rng),
            Self::PlackettLuce(c) => c.sample(m, n, rng),
            Self::Urn(c) => c.sample(m, n, rng),
            Self::Conitzer(c) => c.sample(m, n, rng),
            Self::Walsh(c) => c.sample(m, n, rng),
            Self::Euclidean(c) => c.sample(m, n, rng),
            Self::LatentUtility(c) => c.sample(m, n, rng),
        }
    }
}
