//! Data hyper-cleaning (Franceschi et al., "Forward and Reverse Gradient-Based Hyperparameter
//! Optimization", ICML 2017, §5.1; the set-up of StocBiO and benchopt) on the embedded digits.
//!
//! Training labels are corrupted once per sample with probability p (replaced by a uniformly
//! drawn *different* class). The upper variable λ ∈ ℝⁿ weighs each training sample by σ(λᵢ);
//! the lower level trains a multinomial logistic model W ∈ ℝ^{d×K} on the weighted noisy data,
//! and the upper level scores W on clean validation data:
//!
//! g(λ, W) = (1/n) Σᵢ σ(λᵢ) CEᵢ(W) + (c/2)‖W‖²,   f(λ, W) = (1/m) Σⱼ CEⱼ^{val}(W).
//!
//! g(λ, ·) is c-strongly convex. Its derivatives come from lisse-oracles' multinomial loss:
//! ∇_W g from per-sample gradients, ∇²_{WW}g·V from per-sample HVPs,
//! ∂g/∂λᵢ = σ'(λᵢ)CEᵢ(W)/n from the per-sample losses, and
//! (∇²_{λW}g·V)ᵢ = σ'(λᵢ)∇CEᵢ(W)ᵀV/n from the per-sample directional derivatives. Minibatch
//! versions average over the drawn indices instead of n. The squared L2 term is the one public
//! code gets wrong (BO-REP's code uses ‖W‖, which is not strongly convex).

use std::sync::Arc;

use lisse_core::{
    Dimension, Error, FiniteSum, PartialGradients, PartialHvps, Result, Sampler,
    StochasticPartialGradients, StochasticPartialHvps, TwoBlock, check_dim, check_range,
};
use lisse_oracles::data::{Dataset, Standardizer, Targets, digits};
use lisse_oracles::loss::MultinomialLogistic;
use nalgebra::DVector;
use rand::seq::SliceRandom;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::{BilevelProblem, LowerConstants, Scratch};

mod kernel;

/// Parameters of a [`HyperCleaning`] instance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HyperCleaningSpec {
    /// Training samples n (the set-up: 1000).
    pub n_train: usize,
    /// Clean validation samples m (300).
    pub n_validation: usize,
    /// Probability p that a training label is corrupted.
    pub corruption: f64,
    /// c > 0, the squared L2 weight of the lower level (its strong convexity).
    pub l2: f64,
    /// Minibatch size of the stochastic oracles.
    pub batch_size: usize,
}

impl Default for HyperCleaningSpec {
    /// Train 1000 / validation 300 / test 497 (the rest of the 1797 digits), p = 0.3,
    /// c = 0.01, batches of 64.
    fn default() -> Self {
        Self {
            n_train: 1000,
            n_validation: 300,
            corruption: 0.3,
            l2: 0.01,
            batch_size: 64,
        }
    }
}

/// e^{−|t|}, the one exponential σ(t) and σ'(t) need. Below −746 e^{−|t|} rounds to 0, which
/// is returned without calling libm: its out-of-range path (taken for |t| > 512 and raising
/// the underflow flag) cost a quarter of a SOBA iteration once the weights λ had saturated.
fn exp_neg_abs(t: f64) -> f64 {
    let a = t.abs();
    if a < 746.0 { (-a).exp() } else { 0.0 }
}

/// σ(t) = 1/(1 + e^{−t}), evaluated without overflow.
fn sigmoid(t: f64) -> f64 {
    let e = exp_neg_abs(t);
    if t >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}

/// σ'(t) = σ(t)(1 − σ(t)) = e^{−|t|}/(1 + e^{−|t|})² (σ' is even), without the cancellation
/// of 1 − σ(t) for large |t|.
fn sigmoid_derivative(t: f64) -> f64 {
    let e = exp_neg_abs(t);
    let d = 1.0 + e;
    e / (d * d)
}

/// The lower level g(λ, W) of hyper-cleaning. A sample is a minibatch of training indices
/// drawn uniformly with replacement.
#[derive(Clone)]
pub struct CleaningLower {
    loss: MultinomialLogistic,
    l2: f64,
    batch_size: usize,
    /// σ(λᵢ) (or σ'(λᵢ)) per position of the evaluated samples.
    weights: Scratch<Vec<f64>>,
    /// Per-sample losses or directional derivatives of the evaluated samples.
    per_sample: Scratch<DVector<f64>>,
    /// The training features as the fused SOBA kernel reads them
    /// ([`LowerLevel::directions_at_into`]).
    padded: Arc<kernel::PaddedFeatures>,
    /// Scratch of the fused SOBA kernel.
    kernel: Scratch<kernel::Buffers>,
}

/// The upper level f(λ, W) = validation cross-entropy (independent of λ). A sample is a
/// minibatch of validation indices.
#[derive(Clone)]
pub struct CleaningUpper {
    loss: MultinomialLogistic,
    n_train: usize,
    batch_size: usize,
    /// The validation features as the fused kernel reads them ([`UpperLevel::grads_at_into`]).
    padded: Arc<kernel::PaddedFeatures>,
    /// Scratch of the fused kernel.
    kernel: Scratch<kernel::Buffers>,
}

impl std::fmt::Debug for CleaningLower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CleaningLower")
            .field("n", &self.loss.n_terms())
            .field("dim", &self.loss.dim())
            .field("l2", &self.l2)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CleaningUpper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CleaningUpper")
            .field("m", &self.loss.n_terms())
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

/// The samples of an evaluation: all n, or a drawn batch.
#[derive(Clone, Copy)]
enum Which<'a> {
    All,
    Batch(&'a [usize]),
}

impl CleaningLower {
    fn check(&self, x: &DVector<f64>, y: &DVector<f64>) -> Result<()> {
        check_dim("lambda (x)", self.loss.n_terms(), x.len())?;
        check_dim("W (y)", self.loss.dim(), y.len())
    }

    fn len(&self, which: Which<'_>) -> usize {
        match which {
            Which::All => self.loss.n_terms(),
            Which::Batch(b) => b.len(),
        }
    }

    /// Fills the weight buffer with `f(λᵢ)` for the samples of `which`, in order.
    fn fill_weights(&self, x: &DVector<f64>, which: Which<'_>, f: fn(f64) -> f64) {
        let mut w = self.weights.lock();
        w.clear();
        match which {
            Which::All => w.extend(x.iter().map(|&t| f(t))),
            Which::Batch(b) => w.extend(b.iter().map(|&i| f(x[i]))),
        }
    }

    /// out = mean over `which` of σ(λᵢ)∇CEᵢ(W), plus cW (the loss's weighted kernels).
    fn grad_y_on(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        which: Which<'_>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(x, y)?;
        self.fill_weights(x, which, sigmoid);
        let w = self.weights.lock();
        match which {
            Which::All => self.loss.weighted_gradient_into(y, &w, out)?,
            Which::Batch(b) => self.loss.weighted_batch_gradient_into(y, b, &w, out)?,
        }
        out.axpy(self.l2, y, 1.0);
        Ok(())
    }

    /// out = mean over `which` of σ(λᵢ)∇²CEᵢ(W)·v, plus cv.
    fn hvp_yy_on(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        which: Which<'_>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(x, y)?;
        self.fill_weights(x, which, sigmoid);
        let w = self.weights.lock();
        match which {
            Which::All => self.loss.weighted_hvp_into(y, v, &w, out)?,
            Which::Batch(b) => self.loss.weighted_batch_hvp_into(y, v, b, &w, out)?,
        }
        out.axpy(self.l2, v, 1.0);
        Ok(())
    }

    /// Scatters (1/|S|) σ'(λᵢ)·sᵢ into outᵢ for each sample i of `which` (repeats add), where
    /// sᵢ is the per-sample quantity in the buffer.
    fn scatter(&self, x: &DVector<f64>, which: Which<'_>, out: &mut DVector<f64>) {
        let per = self.per_sample.lock();
        let w = 1.0 / self.len(which) as f64;
        out.as_mut_slice().fill(0.0);
        match which {
            Which::All => {
                for (i, &v) in per.iter().enumerate() {
                    out[i] = w * sigmoid_derivative(x[i]) * v;
                }
            }
            Which::Batch(b) => {
                for (j, &i) in b.iter().enumerate() {
                    out[i] += w * sigmoid_derivative(x[i]) * per[j];
                }
            }
        }
    }

    fn resize_per_sample(&self, len: usize) {
        let mut per = self.per_sample.lock();
        if per.len() != len {
            *per = DVector::zeros(len);
        }
    }

    /// (∇²ₓᵧg·v)ᵢ = mean over `which` of σ'(λᵢ)∇CEᵢ(W)ᵀv (per-sample directional derivatives).
    fn hvp_xy_on(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        which: Which<'_>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(x, y)?;
        check_dim("v", self.loss.dim(), v.len())?;
        check_dim("output buffer", self.loss.n_terms(), out.len())?;
        self.resize_per_sample(self.len(which));
        {
            let mut per = self.per_sample.lock();
            match which {
                Which::All => self
                    .loss
                    .sample_directional_derivatives_into(y, v, &mut per)?,
                Which::Batch(b) => self
                    .loss
                    .batch_sample_directional_derivatives_into(y, v, b, &mut per)?,
            }
        }
        self.scatter(x, which, out);
        Ok(())
    }

    /// (∇ₓg)ᵢ = mean over `which` of σ'(λᵢ)CEᵢ(W) (per-sample losses).
    fn grad_x_on(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        which: Which<'_>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(x, y)?;
        check_dim("output buffer", self.loss.n_terms(), out.len())?;
        self.resize_per_sample(self.len(which));
        {
            let mut per = self.per_sample.lock();
            match which {
                Which::All => self.loss.sample_losses_into(y, &mut per)?,
                Which::Batch(b) => self.loss.batch_sample_losses_into(y, b, &mut per)?,
            }
        }
        self.scatter(x, which, out);
        Ok(())
    }
}

impl TwoBlock for CleaningLower {
    fn dim_x(&self) -> usize {
        self.loss.n_terms()
    }
    fn dim_y(&self) -> usize {
        self.loss.dim()
    }
    fn full_batch_size_xy(&self) -> usize {
        self.loss.n_terms()
    }
}

impl PartialGradients for CleaningLower {
    fn grad_x_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.grad_x_on(x, y, Which::All, out)
    }
    fn grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.grad_y_on(x, y, Which::All, out)
    }
}

impl PartialHvps for CleaningLower {
    fn hvp_yy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.hvp_yy_on(x, y, v, Which::All, out)
    }
    fn hvp_xy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.hvp_xy_on(x, y, v, Which::All, out)
    }
}

fn draw_batch<R: Rng + ?Sized>(rng: &mut R, n: usize, b: usize, out: &mut Vec<usize>) {
    out.clear();
    out.extend((0..b).map(|_| rng.random_range(0..n)));
}

impl Sampler for CleaningLower {
    type Sample = Vec<usize>;
    fn empty_sample(&self) -> Vec<usize> {
        Vec::with_capacity(self.batch_size)
    }
    fn draw_into<R: Rng + ?Sized>(&self, rng: &mut R, sample: &mut Vec<usize>) -> Result<()> {
        draw_batch(rng, self.loss.n_terms(), self.batch_size, sample);
        Ok(())
    }
    fn samples_per_draw(&self) -> usize {
        self.batch_size
    }
    fn points_read(&self, sample: &Vec<usize>) -> usize {
        sample.len()
    }
}

impl StochasticPartialGradients for CleaningLower {
    fn grad_x_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &Vec<usize>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        lisse_core::check_batch(sample, self.loss.n_terms())?;
        self.grad_x_on(x, y, Which::Batch(sample), out)
    }
    fn grad_y_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &Vec<usize>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.grad_y_on(x, y, Which::Batch(sample), out)
    }
}

impl StochasticPartialHvps for CleaningLower {
    fn hvp_yy_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        sample: &Vec<usize>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.hvp_yy_on(x, y, v, Which::Batch(sample), out)
    }
    fn hvp_xy_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        sample: &Vec<usize>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        lisse_core::check_batch(sample, self.loss.n_terms())?;
        self.hvp_xy_on(x, y, v, Which::Batch(sample), out)
    }
}

impl CleaningUpper {
    fn check(&self, x: &DVector<f64>, y: &DVector<f64>) -> Result<()> {
        check_dim("lambda (x)", self.n_train, x.len())?;
        check_dim("W (y)", self.loss.dim(), y.len())
    }
}

impl TwoBlock for CleaningUpper {
    fn dim_x(&self) -> usize {
        self.n_train
    }
    fn dim_y(&self) -> usize {
        self.loss.dim()
    }
    fn full_batch_size_xy(&self) -> usize {
        self.loss.n_terms()
    }
}

impl PartialGradients for CleaningUpper {
    fn grad_x_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(x, y)?;
        check_dim("output buffer", self.n_train, out.len())?;
        out.as_mut_slice().fill(0.0);
        Ok(())
    }
    fn grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(x, y)?;
        lisse_core::Gradient::gradient_into(&self.loss, y, out)
    }
}

impl Sampler for CleaningUpper {
    type Sample = Vec<usize>;
    fn empty_sample(&self) -> Vec<usize> {
        Vec::with_capacity(self.batch_size)
    }
    fn draw_into<R: Rng + ?Sized>(&self, rng: &mut R, sample: &mut Vec<usize>) -> Result<()> {
        draw_batch(rng, self.loss.n_terms(), self.batch_size, sample);
        Ok(())
    }
    fn samples_per_draw(&self) -> usize {
        self.batch_size
    }
    fn points_read(&self, sample: &Vec<usize>) -> usize {
        sample.len()
    }
}

impl StochasticPartialGradients for CleaningUpper {
    fn grad_x_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        _sample: &Vec<usize>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.grad_x_into(x, y, out)
    }
    fn grad_y_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &Vec<usize>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(x, y)?;
        self.loss.batch_gradient_into(y, sample, out)
    }
}

/// Data hyper-cleaning on the embedded digits (see the module docs).
#[derive(Debug, Clone)]
pub struct HyperCleaning {
    lower: CleaningLower,
    upper: CleaningUpper,
    train: Arc<Dataset>,
    test: Dataset,
    corrupted: Vec<bool>,
    constants: LowerConstants,
    n_classes: usize,
}

impl HyperCleaning {
    /// Splits the digits at random into train / validation / test (the rest), standardizes
    /// with the training statistics, appends an intercept, and corrupts each training label
    /// with probability `corruption`.
    ///
    /// # Errors
    /// `corruption` outside [0, 1], `l2` ≤ 0 (the lower level would not be strongly convex), a
    /// batch size of 0, or split sizes that leave no test data.
    pub fn digits<R: Rng + ?Sized>(spec: &HyperCleaningSpec, rng: &mut R) -> Result<Self> {
        check_range("corruption", spec.corruption, 0.0, 1.0)?;
        LowerConstants::new(spec.l2, spec.l2)?;
        if spec.batch_size == 0 {
            return Err(Error::invalid("batch_size", 0, "at least 1"));
        }
        let data = digits();
        let total = data.n_samples();
        if spec.n_train == 0 || spec.n_validation == 0 || spec.n_train + spec.n_validation >= total
        {
            return Err(Error::invalid(
                "n_train + n_validation",
                spec.n_train + spec.n_validation,
                format!("positive parts leaving test data: below {total}"),
            ));
        }
        let mut order: Vec<usize> = (0..total).collect();
        order.shuffle(rng);
        let (tr, rest) = order.split_at(spec.n_train);
        let (va, te) = rest.split_at(spec.n_validation);
        let train = data.subset(tr)?;
        let scaler = Standardizer::fit(&train);
        let prepare =
            |d: Dataset| -> Result<Dataset> { Ok(scaler.transform(&d)?.with_intercept()) };
        let train = prepare(train)?;
        let validation = prepare(data.subset(va)?)?;
        let test = prepare(data.subset(te)?)?;
        let n_classes = 10;
        let mut labels = train.labels().map(<[usize]>::to_vec).unwrap_or_default();
        let mut corrupted = vec![false; labels.len()];
        for (l, c) in labels.iter_mut().zip(corrupted.iter_mut()) {
            if rng.random::<f64>() < spec.corruption {
                let shift = rng.random_range(1..n_classes);
                *l = (*l + shift) % n_classes;
                *c = true;
            }
        }
        let (features, _) = train.into_parts();
        let train = Arc::new(Dataset::new(
            features,
            Targets::Classes { labels, n_classes },
        )?);
        let lower_loss = MultinomialLogistic::new(Arc::clone(&train))?;
        let n = train.n_samples();
        let max_sq = (0..n)
            .map(|i| train.features().column(i).norm_squared())
            .fold(0.0, f64::max);
        // ‖∇²CEᵢ‖ ≤ ‖xᵢ‖²/2 (the softmax Jacobian has norm ≤ 1/2), σ ≤ 1.
        let constants = LowerConstants::new(spec.l2, spec.l2 + 0.5 * max_sq)?;
        let lower = CleaningLower {
            loss: lower_loss,
            l2: spec.l2,
            batch_size: spec.batch_size,
            weights: Scratch::new(Vec::with_capacity(n)),
            per_sample: Scratch::new(DVector::zeros(spec.batch_size)),
            padded: Arc::new(padded_features(&train)),
            kernel: Scratch::new(kernel::Buffers::default()),
        };
        let upper = CleaningUpper {
            padded: Arc::new(padded_features(&validation)),
            loss: MultinomialLogistic::new(validation)?,
            n_train: n,
            batch_size: spec.batch_size,
            kernel: Scratch::new(kernel::Buffers::default()),
        };
        Ok(Self {
            lower,
            upper,
            train,
            test,
            corrupted,
            constants,
            n_classes,
        })
    }

    /// The counted [`BilevelProblem`] (x = λ ∈ ℝⁿ, y = W ∈ ℝ^{d·K}).
    ///
    /// # Errors
    /// None in practice.
    pub fn problem(&self) -> Result<BilevelProblem<CleaningUpper, CleaningLower>> {
        BilevelProblem::new(self.upper.clone(), self.lower.clone(), self.constants)
    }

    /// μ = c and C_g = c + maxᵢ‖xᵢ‖²/2.
    pub fn constants(&self) -> LowerConstants {
        self.constants
    }

    /// n (= dim x).
    pub fn n_train(&self) -> usize {
        self.train.n_samples()
    }

    /// d·K (= dim y).
    pub fn dim_model(&self) -> usize {
        self.lower.loss.dim()
    }

    /// Which training labels were corrupted.
    pub fn corrupted(&self) -> &[bool] {
        &self.corrupted
    }

    /// Test accuracy of the model W.
    ///
    /// # Errors
    /// A wrong length of `w`.
    pub fn test_accuracy(&self, w: &DVector<f64>) -> Result<f64> {
        self.lower.loss.accuracy(w, &self.test)
    }

    /// F1 score of flagging sample i as corrupted when σ(λᵢ) < 1/2, against the true
    /// corruption (0 when nothing is flagged or nothing is corrupted).
    ///
    /// # Errors
    /// A wrong length of `lambda`.
    pub fn detection_f1(&self, lambda: &DVector<f64>) -> Result<f64> {
        check_dim("lambda", self.corrupted.len(), lambda.len())?;
        let (mut tp, mut fp, mut fneg) = (0.0, 0.0, 0.0);
        for (&l, &c) in lambda.iter().zip(&self.corrupted) {
            let flagged = l < 0.0;
            match (flagged, c) {
                (true, true) => tp += 1.0,
                (true, false) => fp += 1.0,
                (false, true) => fneg += 1.0,
                (false, false) => {}
            }
        }
        Ok(if tp == 0.0 {
            0.0
        } else {
            2.0 * tp / (2.0 * tp + fp + fneg)
        })
    }

    /// K.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Minimizes g(λ, ·) by Newton's method with conjugate-gradient inner solves on exact
    /// (full-batch, uncounted) HVPs, from `w0`: `newton_steps` steps of at most 50 CG
    /// iterations each. Used for the noisy-label baseline (λ constant) and for y*(λ) in
    /// metrics; g(λ, ·) is c-strongly convex, so a few steps reach rounding accuracy.
    ///
    /// # Errors
    /// Wrong lengths.
    pub fn fit_lower(
        &self,
        lambda: &DVector<f64>,
        w0: &DVector<f64>,
        newton_steps: usize,
    ) -> Result<DVector<f64>> {
        let g = &self.lower;
        g.check(lambda, w0)?;
        let d = g.dim_y();
        let mut w = w0.clone();
        let (mut grad, mut z, mut r, mut p, mut hp) = (
            DVector::zeros(d),
            DVector::zeros(d),
            DVector::zeros(d),
            DVector::zeros(d),
            DVector::zeros(d),
        );
        for _ in 0..newton_steps {
            g.grad_y_into(lambda, &w, &mut grad)?;
            let gnorm = grad.norm();
            if gnorm <= 1e-12 {
                break;
            }
            // CG on H z = grad.
            z.fill(0.0);
            r.copy_from(&grad);
            p.copy_from(&grad);
            let mut rr = r.norm_squared();
            for _ in 0..50 {
                g.hvp_yy_into(lambda, &w, &p, &mut hp)?;
                let alpha = rr / p.dot(&hp);
                z.axpy(alpha, &p, 1.0);
                r.axpy(-alpha, &hp, 1.0);
                let rr_new = r.norm_squared();
                if rr_new.sqrt() <= 1e-10 * gnorm {
                    break;
                }
                p.axpy(1.0, &r, rr_new / rr);
                rr = rr_new;
            }
            // Backtracking (Armijo) on g along the Newton direction −z.
            let g0 = self.lower_value(lambda, &w)?;
            let slope = grad.dot(&z);
            let mut t = 1.0;
            loop {
                p.copy_from(&w);
                p.axpy(-t, &z, 1.0);
                if self.lower_value(lambda, &p)? <= g0 - 1e-4 * t * slope || t < 1e-10 {
                    break;
                }
                t *= 0.5;
            }
            w.copy_from(&p);
        }
        Ok(w)
    }

    /// g(λ, W) = (1/n) Σᵢ σ(λᵢ)CEᵢ(W) + (c/2)‖W‖² (uncounted).
    ///
    /// # Errors
    /// Wrong lengths.
    pub fn lower_value(&self, lambda: &DVector<f64>, w: &DVector<f64>) -> Result<f64> {
        let g = &self.lower;
        g.check(lambda, w)?;
        let mut losses = DVector::zeros(g.dim_x());
        g.loss.sample_losses_into(w, &mut losses)?;
        let data: f64 = losses
            .iter()
            .zip(lambda.iter())
            .map(|(l, &t)| sigmoid(t) * l)
            .sum();
        Ok(data / g.dim_x() as f64 + 0.5 * g.l2 * w.norm_squared())
    }
}

/// ∇ₓF = 0 and ∇ᵧF from one pass of the fused kernel over the validation batch (the same
/// sums as lisse-oracles' minibatch gradient, read in place; equal up to rounding).
impl super::UpperLevel for CleaningUpper {
    fn grads_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &Vec<usize>,
        gx: &mut DVector<f64>,
        gy: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(x, y)?;
        check_dim("output buffer (grad_x)", self.n_train, gx.len())?;
        check_dim("output buffer (grad_y)", self.loss.dim(), gy.len())?;
        lisse_core::check_batch(sample, self.loss.n_terms())?;
        lisse_core::check_finite("W (y)", y.as_slice())?;
        // ∇ₓF = 0. Written only when not zero already: SOBA evaluates this level on another
        // thread than the one that reads gx, and rewriting the same zeros would move every
        // line of gx between the two cores' caches on each iteration (≈ 0.6 µs of ~12).
        if gx.iter().any(|&v| v != 0.0) {
            gx.fill(0.0);
        }
        kernel::fused_sums(
            kernel_data(&self.padded, self.loss.data(), self.loss.n_classes()),
            y.as_slice(),
            None,
            sample,
            kernel::SampleWeights::Unit,
            &mut self.kernel.lock(),
            kernel::Outputs {
                gradient: gy.as_mut_slice(),
                hvp: &mut [],
                directional: &mut [],
            },
        );
        crate::elementwise::axpy(gy, self.loss.l2(), y, 1.0 / sample.len() as f64);
        finite_output("gradient", gy.as_slice())
    }

    /// The pass checks ∇ᵧF (∇ₓF is 0).
    fn checks_finite_outputs(&self) -> bool {
        true
    }
}

/// The features of a data set as the kernel reads them.
fn padded_features(data: &Dataset) -> kernel::PaddedFeatures {
    kernel::PaddedFeatures::new(data.features().as_slice(), data.n_features())
}

/// The kernel's view of a data set (its features from `padded`).
fn kernel_data<'a>(
    padded: &'a kernel::PaddedFeatures,
    data: &'a Dataset,
    n_classes: usize,
) -> kernel::Data<'a> {
    padded.data(n_classes, data.labels().unwrap_or(&[]))
}

/// A non-finite output although the inputs were finite: the logits Wᵀx overflowed. (The
/// message is formatted only on failure.)
fn finite_output(what: &str, values: &[f64]) -> Result<()> {
    if lisse_core::all_finite(values) {
        return Ok(());
    }
    lisse_core::check_finite(
        &format!(
            "multinomial {what} (the logits Wᵀx overflow: the weights are too large; lower \
             the step size or rescale the features)"
        ),
        values,
    )
}

/// SOBA's three lower quantities from one pass of the fused kernel over the batch (see
/// `hyper_cleaning/kernel.rs`): σ(λᵢ) and σ'(λᵢ) from one exponential per index, the logits
/// Wᵀxₛ and Vᵀxₛ, one softmax, then ∇_W g and ∇²_{WW}g·V together and the per-sample
/// ∇CEᵢᵀV that the cross product scatters, each sample's features read in place. Equal to
/// the three single oracles up to rounding.
impl super::LowerLevel for CleaningLower {
    fn directions_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        sample: &Vec<usize>,
        grad_y: &mut DVector<f64>,
        hvp: &mut DVector<f64>,
        cross: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(x, y)?;
        check_dim("v", self.loss.dim(), v.len())?;
        check_dim("output buffer (grad_y)", self.loss.dim(), grad_y.len())?;
        check_dim("output buffer (hvp)", self.loss.dim(), hvp.len())?;
        check_dim("output buffer (cross)", self.loss.n_terms(), cross.len())?;
        lisse_core::check_batch(sample, self.loss.n_terms())?;
        lisse_core::check_finite("W (y)", y.as_slice())?;
        lisse_core::check_finite("v", v.as_slice())?;
        self.resize_per_sample(sample.len());
        let mut per = self.per_sample.lock();
        let mut buffers = self.kernel.lock();
        kernel::fused_sums(
            kernel_data(&self.padded, self.loss.data(), self.loss.n_classes()),
            y.as_slice(),
            Some(v.as_slice()),
            sample,
            kernel::SampleWeights::Sigmoid(x.as_slice()),
            &mut buffers,
            kernel::Outputs {
                gradient: grad_y.as_mut_slice(),
                hvp: hvp.as_mut_slice(),
                directional: per.as_mut_slice(),
            },
        );
        let w = 1.0 / sample.len() as f64;
        crate::elementwise::axpy(grad_y, self.l2, y, w);
        crate::elementwise::axpy(hvp, self.l2, v, w);
        // σ'(λᵢ) first: a NaN weight λᵢ turns every output into NaN, and is named as such.
        let derivatives = &buffers.derivatives()[..sample.len()];
        lisse_core::check_finite("σ'(λᵢ) of the batch (lambda, x)", derivatives)?;
        finite_output("gradient", grad_y.as_slice())?;
        finite_output("Hessian-vector product", hvp.as_slice())?;
        finite_output("directional derivative", per.as_slice())?;
        cross.as_mut_slice().fill(0.0);
        for ((&i, &ds), &dd) in sample.iter().zip(derivatives).zip(per.iter()) {
            cross[i] += w * ds * dd;
        }
        Ok(())
    }

    /// The pass checks ∇ᵧG, ∇²ᵧᵧG·v, the per-sample ∇CEᵢᵀv and σ'(λᵢ). These cover the
    /// cross product: each of its entries sums at most B terms w·σ'(λᵢ)·∇CEᵢᵀv with w = 1/B
    /// and 0 ≤ σ' ≤ 1/4, so it is finite, and at most max|∇CEᵢᵀv|/4 in magnitude, when they
    /// are.
    fn checks_finite_outputs(&self) -> bool {
        true
    }
}
