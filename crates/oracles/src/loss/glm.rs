//! Shared kernels of the linear-prediction losses ℓᵢ(w) = φᵢ(xᵢᵀw) (least squares, binary
//! logistic), for which
//!
//! - ∇ℓᵢ(w) = φᵢ′(xᵢᵀw) xᵢ,
//! - ∇²ℓᵢ(w)·v = φᵢ″(xᵢᵀw) (xᵢᵀv) xᵢ.
//!
//! Each pass reads a sample column once: one or two dot products, then an axpy while the
//! column is still in L1, into a block partial sum (see [`blocked_sum`]).

use nalgebra::{DVector, DVectorViewMut};

use lisse_core::{Result, check_dim};

use super::{BATCH_BLOCK, Samples, Weights, block_columns, blocked_fill, blocked_sum, penalty};
use crate::data::Dataset;

/// A loss ℓᵢ(w) = φᵢ(xᵢᵀw) on the columns of a data set, with weights and an L2 strength.
pub(crate) trait Glm: Sync {
    /// The data set.
    fn dataset(&self) -> &Dataset;
    /// λ.
    fn lambda(&self) -> f64;
    /// φᵢ(t).
    fn phi(&self, i: usize, t: f64) -> f64;
    /// φᵢ′(t).
    fn dphi(&self, i: usize, t: f64) -> f64;
    /// φᵢ″(t).
    fn d2phi(&self, i: usize, t: f64) -> f64;
}

/// Columns per parallel block for a pass over `samples`.
fn block_len<M: Glm>(m: &M, samples: Samples<'_>) -> usize {
    match samples {
        Samples::All(_) => block_columns(m.dataset().n_features()),
        Samples::Batch(_) => BATCH_BLOCK,
    }
}

/// (1/|S|) Σ_{i∈S} sᵢ φᵢ(xᵢᵀw) + (λ/2)‖w‖².
pub(crate) fn mean_value<M: Glm>(
    m: &M,
    w: &DVector<f64>,
    samples: Samples<'_>,
    s: Weights<'_>,
) -> f64 {
    let x = m.dataset().features();
    let mut sum = [0.0];
    blocked_sum(
        samples.len(),
        block_len(m, samples),
        &mut sum,
        |range, acc| {
            samples.for_each_at(range, |p, i| {
                acc[0] += s.at(p, i) * m.phi(i, x.column(i).dot(w));
            });
        },
    );
    sum[0] / samples.len() as f64 + penalty(m.lambda(), w)
}

/// out ← (1/|S|) Σ_{i∈S} sᵢ φᵢ′(xᵢᵀw) xᵢ + λw.
pub(crate) fn mean_gradient<M: Glm>(
    m: &M,
    w: &DVector<f64>,
    samples: Samples<'_>,
    s: Weights<'_>,
    out: &mut DVector<f64>,
) {
    let x = m.dataset().features();
    let d = x.nrows();
    blocked_sum(
        samples.len(),
        block_len(m, samples),
        out.as_mut_slice(),
        |range, acc| {
            let mut g = DVectorViewMut::from_slice(acc, d);
            samples.for_each_at(range, |p, i| {
                let xi = x.column(i);
                g.axpy(s.at(p, i) * m.dphi(i, xi.dot(w)), &xi, 1.0);
            });
        },
    );
    out.axpy(m.lambda(), w, 1.0 / samples.len() as f64);
}

/// out ← (1/|S|) Σ_{i∈S} sᵢ φᵢ″(xᵢᵀw) (xᵢᵀv) xᵢ + λv.
pub(crate) fn mean_hvp<M: Glm>(
    m: &M,
    w: &DVector<f64>,
    v: &DVector<f64>,
    samples: Samples<'_>,
    s: Weights<'_>,
    out: &mut DVector<f64>,
) {
    let x = m.dataset().features();
    let d = x.nrows();
    blocked_sum(
        samples.len(),
        block_len(m, samples),
        out.as_mut_slice(),
        |range, acc| {
            let mut h = DVectorViewMut::from_slice(acc, d);
            samples.for_each_at(range, |p, i| {
                let xi = x.column(i);
                h.axpy(s.at(p, i) * m.d2phi(i, xi.dot(w)) * xi.dot(v), &xi, 1.0);
            });
        },
    );
    out.axpy(m.lambda(), v, 1.0 / samples.len() as f64);
}

/// out[p] ← φᵢ(xᵢᵀw) for the sample i at each position p of `samples` (unweighted, no L2).
pub(crate) fn sample_values<M: Glm>(
    m: &M,
    w: &DVector<f64>,
    samples: Samples<'_>,
    out: &mut [f64],
) {
    let x = m.dataset().features();
    blocked_fill(block_len(m, samples), out, |range, out| {
        let mut p = 0;
        samples.for_each(range, |i| {
            out[p] = m.phi(i, x.column(i).dot(w));
            p += 1;
        });
    });
}

/// out[p] ← ∇ℓᵢ(w)ᵀv = φᵢ′(xᵢᵀw) (xᵢᵀv) for the sample i at each position p of `samples`
/// (unweighted, no L2).
pub(crate) fn sample_directional<M: Glm>(
    m: &M,
    w: &DVector<f64>,
    v: &DVector<f64>,
    samples: Samples<'_>,
    out: &mut [f64],
) {
    let x = m.dataset().features();
    blocked_fill(block_len(m, samples), out, |range, out| {
        let mut p = 0;
        samples.for_each(range, |i| {
            let xi = x.column(i);
            out[p] = m.dphi(i, xi.dot(w)) * xi.dot(v);
            p += 1;
        });
    });
}

impl<M: Glm> super::WeightedKernels for M {
    fn n_samples_k(&self) -> usize {
        self.dataset().n_samples()
    }
    fn check_point(&self, w: &DVector<f64>, v: Option<&DVector<f64>>) -> Result<()> {
        check_lengths(self, w, v, None)
    }
    fn kernel_value(&self, w: &DVector<f64>, samples: Samples<'_>, s: Weights<'_>) -> Result<f64> {
        Ok(mean_value(self, w, samples, s))
    }
    fn kernel_gradient(
        &self,
        w: &DVector<f64>,
        samples: Samples<'_>,
        s: Weights<'_>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        mean_gradient(self, w, samples, s, out);
        Ok(())
    }
    fn kernel_hvp(
        &self,
        w: &DVector<f64>,
        v: &DVector<f64>,
        samples: Samples<'_>,
        s: Weights<'_>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        mean_hvp(self, w, v, samples, s, out);
        Ok(())
    }
}

/// Checks the point (and direction, and output buffer) lengths against d.
pub(crate) fn check_lengths<M: Glm>(
    m: &M,
    w: &DVector<f64>,
    v: Option<&DVector<f64>>,
    out: Option<&DVector<f64>>,
) -> Result<()> {
    let d = m.dataset().n_features();
    check_dim("w", d, w.len())?;
    if let Some(v) = v {
        check_dim("v", d, v.len())?;
    }
    if let Some(out) = out {
        check_dim("output buffer", d, out.len())?;
    }
    Ok(())
}

/// Implements `Dimension`, `Objective`, `Gradient`, `Hvp`, `FiniteSum` and `FiniteSumHvp` for a
/// [`Glm`] type by delegating to the kernels above.
macro_rules! impl_glm_oracles {
    ($ty:ident) => {
        impl lisse_core::Dimension for $ty {
            fn dim(&self) -> usize {
                self.data.n_features()
            }
            /// A full-batch call reads all n samples.
            fn full_batch_size(&self) -> usize {
                self.data.n_samples()
            }
        }

        impl lisse_core::Objective for $ty {
            fn value(&self, w: &nalgebra::DVector<f64>) -> lisse_core::Result<f64> {
                glm::check_lengths(self, w, None, None)?;
                Ok(glm::mean_value(
                    self,
                    w,
                    Samples::All(self.data.n_samples()),
                    $crate::loss::Weights::Stored(&self.weights),
                ))
            }
        }

        impl lisse_core::Gradient for $ty {
            fn gradient_into(
                &self,
                w: &nalgebra::DVector<f64>,
                out: &mut nalgebra::DVector<f64>,
            ) -> lisse_core::Result<()> {
                glm::check_lengths(self, w, None, Some(out))?;
                glm::mean_gradient(
                    self,
                    w,
                    Samples::All(self.data.n_samples()),
                    $crate::loss::Weights::Stored(&self.weights),
                    out,
                );
                Ok(())
            }
        }

        impl lisse_core::Hvp for $ty {
            fn hvp_into(
                &self,
                w: &nalgebra::DVector<f64>,
                v: &nalgebra::DVector<f64>,
                out: &mut nalgebra::DVector<f64>,
            ) -> lisse_core::Result<()> {
                glm::check_lengths(self, w, Some(v), Some(out))?;
                glm::mean_hvp(
                    self,
                    w,
                    v,
                    Samples::All(self.data.n_samples()),
                    $crate::loss::Weights::Stored(&self.weights),
                    out,
                );
                Ok(())
            }
        }

        impl lisse_core::FiniteSum for $ty {
            fn n_terms(&self) -> usize {
                self.data.n_samples()
            }

            fn term_value(&self, w: &nalgebra::DVector<f64>, i: usize) -> lisse_core::Result<f64> {
                glm::check_lengths(self, w, None, None)?;
                check_term(i, self.data.n_samples())?;
                Ok(glm::mean_value(
                    self,
                    w,
                    Samples::Batch(&[i]),
                    $crate::loss::Weights::Stored(&self.weights),
                ))
            }

            fn term_gradient_into(
                &self,
                w: &nalgebra::DVector<f64>,
                i: usize,
                out: &mut nalgebra::DVector<f64>,
            ) -> lisse_core::Result<()> {
                glm::check_lengths(self, w, None, Some(out))?;
                check_term(i, self.data.n_samples())?;
                glm::mean_gradient(
                    self,
                    w,
                    Samples::Batch(&[i]),
                    $crate::loss::Weights::Stored(&self.weights),
                    out,
                );
                Ok(())
            }

            fn batch_value(
                &self,
                w: &nalgebra::DVector<f64>,
                batch: &[usize],
            ) -> lisse_core::Result<f64> {
                glm::check_lengths(self, w, None, None)?;
                lisse_core::check_batch(batch, self.data.n_samples())?;
                Ok(glm::mean_value(
                    self,
                    w,
                    Samples::Batch(batch),
                    $crate::loss::Weights::Stored(&self.weights),
                ))
            }

            fn batch_gradient_into(
                &self,
                w: &nalgebra::DVector<f64>,
                batch: &[usize],
                out: &mut nalgebra::DVector<f64>,
            ) -> lisse_core::Result<()> {
                glm::check_lengths(self, w, None, Some(out))?;
                lisse_core::check_batch(batch, self.data.n_samples())?;
                glm::mean_gradient(
                    self,
                    w,
                    Samples::Batch(batch),
                    $crate::loss::Weights::Stored(&self.weights),
                    out,
                );
                Ok(())
            }
        }

        impl lisse_core::FiniteSumHvp for $ty {
            fn term_hvp_into(
                &self,
                w: &nalgebra::DVector<f64>,
                v: &nalgebra::DVector<f64>,
                i: usize,
                out: &mut nalgebra::DVector<f64>,
            ) -> lisse_core::Result<()> {
                glm::check_lengths(self, w, Some(v), Some(out))?;
                check_term(i, self.data.n_samples())?;
                glm::mean_hvp(
                    self,
                    w,
                    v,
                    Samples::Batch(&[i]),
                    $crate::loss::Weights::Stored(&self.weights),
                    out,
                );
                Ok(())
            }

            fn batch_hvp_into(
                &self,
                w: &nalgebra::DVector<f64>,
                v: &nalgebra::DVector<f64>,
                batch: &[usize],
                out: &mut nalgebra::DVector<f64>,
            ) -> lisse_core::Result<()> {
                glm::check_lengths(self, w, Some(v), Some(out))?;
                lisse_core::check_batch(batch, self.data.n_samples())?;
                glm::mean_hvp(
                    self,
                    w,
                    v,
                    Samples::Batch(batch),
                    $crate::loss::Weights::Stored(&self.weights),
                    out,
                );
                Ok(())
            }
        }
    };
}

pub(crate) use impl_glm_oracles;

/// Implements the public per-sample methods (`sample_losses_into`,
/// `sample_directional_derivatives_into` and their minibatch versions) for a [`Glm`] type.
/// `loss` and `derivative` are the formulas of ℓᵢ(w) and ∇ℓᵢ(w)ᵀv for the docs.
macro_rules! impl_glm_sample_methods {
    ($ty:ident, loss = $loss:literal, derivative = $derivative:literal $(,)?) => {
        impl $ty {
            #[doc = concat!(
                "The per-sample losses outᵢ = ℓᵢ(w) = ", $loss, " of all n samples, written ",
                "into `out` (length n).\n\n",
                "**Unweighted and without the L2 term**: the weights sᵢ and λ do not enter (with ",
                "unit weights and λ = 0 these are the terms fᵢ(w)). Parallel over blocks of ",
                "samples, each writing its own slice of `out`, so the result does not depend on ",
                "the thread count.\n\n",
                "# Errors\n",
                "[`Error::DimensionMismatch`](lisse_core::Error::DimensionMismatch) when `w` does ",
                "not have length d or `out` length n."
            )]
            pub fn sample_losses_into(
                &self,
                w: &nalgebra::DVector<f64>,
                out: &mut nalgebra::DVector<f64>,
            ) -> lisse_core::Result<()> {
                let samples = Samples::All(self.data.n_samples());
                glm::check_lengths(self, w, None, None)?;
                $crate::loss::check_sample_out(samples, out)?;
                glm::sample_values(self, w, samples, out.as_mut_slice());
                Ok(())
            }

            #[doc = concat!(
                "The per-sample directional derivatives outᵢ = ∇ℓᵢ(w)ᵀv = ", $derivative,
                " of all n samples, written into `out` (length n).\n\n",
                "**Unweighted and without the L2 term**: the weights sᵢ and λ do not enter. ",
                "Parallel over blocks of samples, each writing its own slice of `out`, so the ",
                "result does not depend on the thread count.\n\n",
                "# Errors\n",
                "[`Error::DimensionMismatch`](lisse_core::Error::DimensionMismatch) when `w` or ",
                "`v` does not have length d or `out` length n."
            )]
            pub fn sample_directional_derivatives_into(
                &self,
                w: &nalgebra::DVector<f64>,
                v: &nalgebra::DVector<f64>,
                out: &mut nalgebra::DVector<f64>,
            ) -> lisse_core::Result<()> {
                let samples = Samples::All(self.data.n_samples());
                glm::check_lengths(self, w, Some(v), None)?;
                $crate::loss::check_sample_out(samples, out)?;
                glm::sample_directional(self, w, v, samples, out.as_mut_slice());
                Ok(())
            }

            #[doc = concat!(
                "The per-sample losses of a minibatch: outⱼ = ℓ_{iⱼ}(w) for the j-th index iⱼ of ",
                "`batch`, with ℓᵢ(w) = ", $loss, " (repeated indices give repeated entries); ",
                "`out` has length |batch|.\n\n",
                "Unweighted and without the L2 term, like ",
                "[`sample_losses_into`](Self::sample_losses_into), whose entries at the batch ",
                "indices these are.\n\n",
                "# Errors\n",
                "[`Error::DimensionMismatch`](lisse_core::Error::DimensionMismatch) when `w` does ",
                "not have length d or `out` length |batch|; ",
                "[`Error::InvalidParameter`](lisse_core::Error::InvalidParameter) when `batch` is ",
                "empty or holds an index ≥ n."
            )]
            pub fn batch_sample_losses_into(
                &self,
                w: &nalgebra::DVector<f64>,
                batch: &[usize],
                out: &mut nalgebra::DVector<f64>,
            ) -> lisse_core::Result<()> {
                glm::check_lengths(self, w, None, None)?;
                lisse_core::check_batch(batch, self.data.n_samples())?;
                let samples = Samples::Batch(batch);
                $crate::loss::check_sample_out(samples, out)?;
                glm::sample_values(self, w, samples, out.as_mut_slice());
                Ok(())
            }

            #[doc = concat!(
                "The per-sample directional derivatives of a minibatch: ",
                "outⱼ = ∇ℓ_{iⱼ}(w)ᵀv for the j-th index iⱼ of `batch`, with ∇ℓᵢ(w)ᵀv = ",
                $derivative, " (repeated indices give repeated entries); `out` has length ",
                "|batch|.\n\n",
                "Unweighted and without the L2 term, like ",
                "[`sample_directional_derivatives_into`](Self::sample_directional_derivatives_into), ",
                "whose entries at the batch indices these are.\n\n",
                "# Errors\n",
                "[`Error::DimensionMismatch`](lisse_core::Error::DimensionMismatch) when `w` or ",
                "`v` does not have length d or `out` length |batch|; ",
                "[`Error::InvalidParameter`](lisse_core::Error::InvalidParameter) when `batch` is ",
                "empty or holds an index ≥ n."
            )]
            pub fn batch_sample_directional_derivatives_into(
                &self,
                w: &nalgebra::DVector<f64>,
                v: &nalgebra::DVector<f64>,
                batch: &[usize],
                out: &mut nalgebra::DVector<f64>,
            ) -> lisse_core::Result<()> {
                glm::check_lengths(self, w, Some(v), None)?;
                lisse_core::check_batch(batch, self.data.n_samples())?;
                let samples = Samples::Batch(batch);
                $crate::loss::check_sample_out(samples, out)?;
                glm::sample_directional(self, w, v, samples, out.as_mut_slice());
                Ok(())
            }
        }
    };
}

pub(crate) use impl_glm_sample_methods;
