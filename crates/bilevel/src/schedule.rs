//! Schedules: the epochs of Epoch-SGD.
//!
//! Polynomially decaying steps c/(t+1)^e are lisse-core's
//! [`StepSize::Decaying`](lisse_core::solver::StepSize).

use lisse_core::{Error, Result, check_positive};
use serde::{Deserialize, Serialize};

/// The epochs of Epoch-SGD (Hazan & Kale, "Beyond the Regret Minimization Barrier", JMLR 2014,
/// Alg. 1, for a μ-strongly convex objective), as BO-REP's initialization refinement uses it:
/// epoch k = 1, 2, … runs T_k = T₁·2^{k−1} projected SGD steps with step α_k = α₁/2^{k−1} in
/// the ball of radius D_k = D₁/2^{(k−1)/2} around its start, and starts the next epoch at the
/// average of its iterates. Epoch k runs only if Σ_{i≤k} T_i ≤ budget, so the total never
/// exceeds the budget (T₁ = 5, budget 100: epochs of 5, 10, 20, 40, 75 steps in all).
///
/// ```
/// use lisse_bilevel::schedule::EpochSgd;
/// let s = EpochSgd::new(1.0, 5, 1.0, 100)?;
/// let lengths: Vec<usize> = s.epochs().map(|e| e.length).collect();
/// assert_eq!(lengths, [5, 10, 20, 40]);
/// assert_eq!(s.total_steps(), 75);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochSgd {
    /// α₁ > 0.
    pub step: f64,
    /// T₁ ≥ 1.
    pub first_epoch: usize,
    /// D₁ > 0.
    pub radius: f64,
    /// Most SGD steps in all epochs together.
    pub budget: usize,
}

/// One epoch of [`EpochSgd`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Epoch {
    /// k (from 1).
    pub index: usize,
    /// T_k.
    pub length: usize,
    /// α_k.
    pub step: f64,
    /// D_k.
    pub radius: f64,
}

impl EpochSgd {
    /// Validates α₁ > 0, T₁ ≥ 1, D₁ > 0.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the bad field.
    pub fn new(step: f64, first_epoch: usize, radius: f64, budget: usize) -> Result<Self> {
        let s = Self {
            step,
            first_epoch,
            radius,
            budget,
        };
        s.validate()?;
        Ok(s)
    }

    /// Checks the fields (for values built by hand or deserialized).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the bad field.
    pub fn validate(&self) -> Result<()> {
        check_positive("Epoch-SGD step alpha_1", self.step)?;
        check_positive("Epoch-SGD radius D_1", self.radius)?;
        if self.first_epoch == 0 {
            return Err(Error::invalid(
                "Epoch-SGD first epoch length T_1",
                0,
                "at least 1",
            ));
        }
        Ok(())
    }

    /// The epochs that fit in the budget, in order.
    pub fn epochs(&self) -> impl Iterator<Item = Epoch> + '_ {
        let mut used = 0usize;
        (1..=63usize).map_while(move |k| {
            let length = self
                .first_epoch
                .checked_mul(1usize.checked_shl(k as u32 - 1)?)?;
            let end = used.checked_add(length)?;
            if end > self.budget {
                return None;
            }
            used = end;
            let halvings = (k - 1) as i32;
            Some(Epoch {
                index: k,
                length,
                step: self.step * 0.5f64.powi(halvings),
                radius: self.radius * 0.5f64.powf(f64::from(halvings) / 2.0),
            })
        })
    }

    /// Σ T_k over the epochs that run (≤ budget).
    pub fn total_steps(&self) -> usize {
        self.epochs().map(|e| e.length).sum()
    }
}
