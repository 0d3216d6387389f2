//! A latent-utility model with noise.

use lisse_core::{Error, Result};
use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::{Culture, check_n};
use crate::Profile;

/// Latent utilities with multiplicative log-normal noise: item c has utility u_c > 0, and
/// ranking v orders the items by decreasing x_vc = u_c · exp(σ ε_vc − σ²/2), ε_vc i.i.d.
/// standard normal (so E(x_vc) = u_c); ties by item id. This is Thurstone's model on the log
/// scale; the noise keeps every x positive, so the multiplicative utility bias θ of
/// [`crate::bias::UtilityBias`] always lowers a disadvantaged item.
///
/// Utilities are either fixed, or drawn afresh per profile as u_c ~ U(0, 1].
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_subset::culture::{Culture, LatentUtility};
/// let model = LatentUtility::new(vec![4.0, 2.0, 1.0], 0.01)?;
/// let p = model.sample(3, 5, &mut RngStreams::new(8).stream(0))?;
/// assert!(p.orders().all(|o| o == [0, 1, 2])); // little noise: the utility order
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatentUtility {
    utilities: Option<Vec<f64>>,
    sigma: f64,
}

impl LatentUtility {
    /// Fixed utilities (each finite and > 0) and noise level σ ≥ 0.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] / [`Error::NonFinite`] for bad utilities or σ.
    pub fn new(utilities: Vec<f64>, sigma: f64) -> Result<Self> {
        lisse_core::check_finite("utilities", &utilities)?;
        if let Some(i) = utilities.iter().position(|&u| u <= 0.0) {
            return Err(Error::invalid(
                format!("utilities[{i}]"),
                utilities[i],
                "a finite number > 0",
            ));
        }
        lisse_core::check_range("sigma", sigma, 0.0, 100.0)?;
        Ok(Self {
            utilities: Some(utilities),
            sigma,
        })
    }

    /// Utilities drawn afresh per profile as U(0, 1], noise level σ ≥ 0.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for σ outside [0, 100].
    pub fn random(sigma: f64) -> Result<Self> {
        lisse_core::check_range("sigma", sigma, 0.0, 100.0)?;
        Ok(Self {
            utilities: None,
            sigma,
        })
    }

    /// The noise level σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The fixed utilities, if any.
    pub fn utilities(&self) -> Option<&[f64]> {
        self.utilities.as_deref()
    }

    /// Draws the profile of n rankings and, in the same pass, the profile a biased evaluator
    /// would report: item c's noisy utility is multiplied by `factor[c]` (1 for unbiased
    /// items). Both profiles share the noise, so they differ only through the bias.
    pub(crate) fn sample_with_factors<R: Rng + ?Sized>(
        &self,
        m: usize,
        n: usize,
        factor: Option<&[f64]>,
        rng: &mut R,
    ) -> Result<(Profile, Option<Profile>)> {
        check_n(m, n)?;
        let utilities: Vec<f64> = match &self.utilities {
            Some(u) => {
                lisse_core::check_dim("utilities", u.len(), m)?;
                u.clone()
            }
            None => (0..m).map(|_| 1.0 - rng.random::<f64>()).collect(),
        };
        let shift = -0.5 * self.sigma * self.sigma;
        let mut keys: Vec<(f64, u32)> = vec![(0.0, 0); m];
        let mut biased_keys = keys.clone();
        let mut orders = vec![0u32; n * m];
        let mut biased = factor.map(|_| vec![0u32; n * m]);
        for v in 0..n {
            for c in 0..m {
                let e: f64 = StandardNormal.sample(rng);
                let x = utilities[c] * (self.sigma * e + shift).exp();
                keys[c] = (x, c as u32);
                if let Some(f) = factor {
                    biased_keys[c] = (x * f[c], c as u32);
                }
            }
            let sort = |k: &mut Vec<(f64, u32)>, out: &mut [u32]| {
                k.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                for (x, k) in out.iter_mut().zip(k.iter()) {
                    *x = k.1;
                }
            };
            sort(&mut keys, &mut orders[v * m..(v + 1) * m]);
            if let Some(b) = biased.as_mut() {
                sort(&mut biased_keys, &mut b[v * m..(v + 1) * m]);
            }
        }
        let latent = Profile::from_flat(m, orders, vec![1; n])?;
        let biased = biased
            .map(|b| Profile::from_flat(m, b, vec![1; n]))
            .transpose()?;
        Ok((latent, biased))
    }
}

impl Culture for LatentUtility {
    fn sample<R: Rng + ?Sized>(&self, m: usize, n: usize, rng: &mut R) -> Result<Profile> {
        Ok(self.sample_with_factors(m, n, None, rng)?.0)
    }
}
