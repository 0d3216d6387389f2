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

use std::cell::RefCell;
use std::sync::Arc;

use lisse_core::{
    Error, FiniteSum, FiniteSumHvp, PartialGradients, PartialHvps, Result,
    StochasticPartialGradients, StochasticPartialHvps, TwoBlock, check_dim, check_range,
};
use lisse_oracles::data::{Dataset, Standardizer, Targets, digits};
use lisse_oracles::loss::MultinomialLogistic;
use nalgebra::DVector;
use rand::seq::SliceRandom;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::{BilevelProblem, LowerConstants};

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

fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

fn sigmoid_derivative(t: f64) -> f64 {
    let s = sigmoid(t);
    s * (1.0 - s)
}

#[derive(Debug, Clone)]
struct Buffers {
    sigma: Vec<f64>,
    per_sample: DVector<f64>,
    all: Vec<usize>,
    batch: Vec<usize>,
}

/// The lower level g(λ, W) of hyper-cleaning.
#[derive(Clone)]
pub struct CleaningLower {
    loss: MultinomialLogistic,
    weighted: RefCell<MultinomialLogistic>,
    lambda: RefCell<Vec<f64>>,
    l2: f64,
    batch_size: usize,
    buffers: RefCell<Buffers>,
}

/// The upper level f(λ, W) = validation cross-entropy (independent of λ).
#[derive(Clone)]
pub struct CleaningUpper {
    loss: MultinomialLogistic,
    n_train: usize,
    batch_size: usize,
    batch: RefCell<Vec<usize>>,
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

use lisse_core::Dimension;

impl CleaningLower {
    fn check(&self, x: &DVector<f64>, y: &DVector<f64>) -> Result<()> {
        check_dim("lambda (x)", self.loss.n_terms(), x.len())?;
        check_dim("W (y)", self.loss.dim(), y.len())
    }

    /// Sets the weighted loss's sample weights to σ(λ) unless λ is the one set last.
    fn reweight(&self, x: &DVector<f64>) -> Result<()> {
        let mut cache = self.lambda.borrow_mut();
        if cache.as_slice() != x.as_slice() {
            cache.copy_from_slice(x.as_slice());
            let mut b = self.buffers.borrow_mut();
            for (s, &t) in b.sigma.iter_mut().zip(x.iter()) {
                *s = sigmoid(t);
            }
            self.weighted.borrow_mut().set_weights(&b.sigma)?;
        }
        Ok(())
    }

    /// out = (1/|B|) Σ σ(λᵢ)∇CEᵢ(W) + cW, by the loss's fused batch kernel with weights σ(λ).
    fn grad_y_on(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_dim("output buffer", self.loss.dim(), out.len())?;
        self.reweight(x)?;
        self.weighted.borrow().batch_gradient_into(y, batch, out)?;
        out.axpy(self.l2, y, 1.0);
        Ok(())
    }

    /// out = (1/|B|) Σ σ(λᵢ)∇²CEᵢ(W)·v + cv.
    fn hvp_yy_on(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_dim("v", self.loss.dim(), v.len())?;
        check_dim("output buffer", self.loss.dim(), out.len())?;
        self.reweight(x)?;
        self.weighted.borrow().batch_hvp_into(y, v, batch, out)?;
        out.axpy(self.l2, v, 1.0);
        Ok(())
    }

    /// outᵢ = (1/|B|) Σ_{positions of i in B} σ'(λᵢ)∇CEᵢ(W)ᵀv.
    fn hvp_xy_on(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_dim("v", self.loss.dim(), v.len())?;
        check_dim("output buffer", self.loss.n_terms(), out.len())?;
        let mut b = self.buffers.borrow_mut();
        if b.per_sample.len() != batch.len() {
            b.per_sample = DVector::zeros(batch.len());
        }
        self.loss
            .batch_sample_directional_derivatives_into(y, v, batch, &mut b.per_sample)?;
        out.fill(0.0);
        let w = 1.0 / batch.len() as f64;
        for (j, &i) in batch.iter().enumerate() {
            out[i] += w * sigmoid_derivative(x[i]) * b.per_sample[j];
        }
        Ok(())
    }

    /// outᵢ = (1/|B|) Σ_{positions of i in B} σ'(λᵢ)CEᵢ(W).
    fn grad_x_on(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_dim("output buffer", self.loss.n_terms(), out.len())?;
        let mut b = self.buffers.borrow_mut();
        if b.per_sample.len() != batch.len() {
            b.per_sample = DVector::zeros(batch.len());
        }
        self.loss
            .batch_sample_losses_into(y, batch, &mut b.per_sample)?;
        out.fill(0.0);
        let w = 1.0 / batch.len() as f64;
        for (j, &i) in batch.iter().enumerate() {
            out[i] += w * sigmoid_derivative(x[i]) * b.per_sample[j];
        }
        Ok(())
    }

    fn with_all<T>(&self, f: impl FnOnce(&[usize]) -> Result<T>) -> Result<T> {
        let all = std::mem::take(&mut self.buffers.borrow_mut().all);
        let r = f(&all);
        self.buffers.borrow_mut().all = all;
        r
    }

    fn with_batch<R: Rng + ?Sized, T>(
        &self,
        rng: &mut R,
        f: impl FnOnce(&[usize]) -> Result<T>,
    ) -> Result<T> {
        let n = self.loss.n_terms();
        let mut batch = std::mem::take(&mut self.buffers.borrow_mut().batch);
        batch.clear();
        batch.extend((0..self.batch_size).map(|_| rng.random_range(0..n)));
        let r = f(&batch);
        self.buffers.borrow_mut().batch = batch;
        r
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
        self.check(x, y)?;
        self.with_all(|all| self.grad_x_on(x, y, all, out))
    }
    fn grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(x, y)?;
        self.with_all(|all| self.grad_y_on(x, y, all, out))
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
        self.check(x, y)?;
        self.with_all(|all| self.hvp_yy_on(x, y, v, all, out))
    }
    fn hvp_xy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(x, y)?;
        self.with_all(|all| self.hvp_xy_on(x, y, v, all, out))
    }
}

impl StochasticPartialGradients for CleaningLower {
    fn stochastic_grad_x_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(x, y)?;
        self.with_batch(rng, |b| self.grad_x_on(x, y, b, out))
    }
    fn stochastic_grad_y_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(x, y)?;
        self.with_batch(rng, |b| self.grad_y_on(x, y, b, out))
    }
    fn samples_per_call(&self) -> usize {
        self.batch_size
    }
}

impl StochasticPartialHvps for CleaningLower {
    fn stochastic_hvp_yy_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(x, y)?;
        self.with_batch(rng, |b| self.hvp_yy_on(x, y, v, b, out))
    }
    fn stochastic_hvp_xy_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(x, y)?;
        self.with_batch(rng, |b| self.hvp_xy_on(x, y, v, b, out))
    }
    fn samples_per_call(&self) -> usize {
        self.batch_size
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
        out.fill(0.0);
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

impl StochasticPartialGradients for CleaningUpper {
    fn stochastic_grad_x_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        _rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.grad_x_into(x, y, out)
    }
    fn stochastic_grad_y_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(x, y)?;
        let m = self.loss.n_terms();
        let mut batch = self.batch.borrow_mut();
        batch.clear();
        batch.extend((0..self.batch_size).map(|_| rng.random_range(0..m)));
        self.loss.batch_gradient_into(y, &batch, out)
    }
    fn samples_per_call(&self) -> usize {
        self.batch_size
    }
    fn samples_per_grads_call(&self) -> usize {
        self.batch_size
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
            .map(|i| train.sample(i).norm_squared())
            .fold(0.0, f64::max);
        // ‖∇²CEᵢ‖ ≤ ‖xᵢ‖²/2 (the softmax Jacobian has norm ≤ 1/2), σ ≤ 1.
        let constants = LowerConstants::new(spec.l2, spec.l2 + 0.5 * max_sq)?;
        let lower = CleaningLower {
            weighted: RefCell::new(lower_loss.clone()),
            // NaN never equals a λ, so the first call sets the weights.
            lambda: RefCell::new(vec![f64::NAN; n]),
            loss: lower_loss,
            l2: spec.l2,
            batch_size: spec.batch_size,
            buffers: RefCell::new(Buffers {
                sigma: vec![0.5; n],
                per_sample: DVector::zeros(spec.batch_size),
                all: (0..n).collect(),
                batch: Vec::with_capacity(spec.batch_size),
            }),
        };
        let upper = CleaningUpper {
            loss: MultinomialLogistic::new(validation)?,
            n_train: n,
            batch_size: spec.batch_size,
            batch: RefCell::new(Vec::with_capacity(spec.batch_size)),
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
