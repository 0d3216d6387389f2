//! The multiplicative utility bias.

use lisse_core::{Error, Result};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::culture::LatentUtility;
use crate::{Groups, Profile};

/// The multiplicative (implicit) utility bias of Kleinberg and Raghavan (2018) and Celis,
/// Mehrotra and Vishnoi (2020): an evaluator perceives the utility of every item of a
/// disadvantaged group as θ times its latent value, θ ∈ (0, 1].
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_subset::bias::UtilityBias;
/// use lisse_subset::culture::LatentUtility;
/// use lisse_subset::Groups;
/// let model = LatentUtility::new(vec![1.0, 0.9, 0.8, 0.7], 0.0)?;
/// let groups = Groups::partition(&[0, 1, 0, 1])?;
/// let (latent, biased) = UtilityBias::new(0.5)?
///     .sample_pair(&model, 4, 1, &groups, 1, &mut RngStreams::new(1).stream(0))?;
/// assert_eq!(latent.order(0), &[0, 1, 2, 3]);
/// assert_eq!(biased.order(0), &[0, 2, 1, 3]); // group 1 halved
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UtilityBias {
    theta: f64,
}

impl UtilityBias {
    /// The bias with factor θ ∈ (0, 1] (θ = 1: no bias).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for θ outside (0, 1].
    pub fn new(theta: f64) -> Result<Self> {
        if !(theta > 0.0 && theta <= 1.0) {
            return Err(Error::invalid("theta", theta, "in (0, 1]"));
        }
        Ok(Self { theta })
    }

    /// θ.
    pub fn theta(&self) -> f64 {
        self.theta
    }

    /// Draws a latent profile from `model` and the profile the biased evaluators report,
    /// with the noise shared and the items of group `disadvantaged` scaled by θ.
    ///
    /// # Errors
    /// As [`crate::culture::Culture::sample`], plus [`Error::DimensionMismatch`] for groups
    /// of another m and [`Error::InvalidParameter`] for an unknown group.
    pub fn sample_pair<R: Rng + ?Sized>(
        &self,
        model: &LatentUtility,
        m: usize,
        n: usize,
        groups: &Groups,
        disadvantaged: usize,
        rng: &mut R,
    ) -> Result<(Profile, Profile)> {
        lisse_core::check_dim("groups (items)", m, groups.m())?;
        if disadvantaged >= groups.len() {
            return Err(Error::invalid(
                "disadvantaged",
                disadvantaged,
                format!("a group index below {}", groups.len()),
            ));
        }
        let mut factor = vec![1.0; m];
        for &c in groups.members(disadvantaged) {
            factor[c as usize] = self.theta;
        }
        let (latent, biased) = model.sample_with_factors(m, n, Some(&factor), rng)?;
        let biased = biased.ok_or_else(|| Error::infeasible("internal: no biased profile"))?;
        Ok((latent, biased))
    }
}
