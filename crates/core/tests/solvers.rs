//! Reference solvers: projected GD reaches the constrained optimum, SGD averages out noise,
//! bad configurations are typed errors.

use lisse_core::domain::{L2Ball, Simplex};
use lisse_core::solver::{GradientDescent, Sgd, StepSize};
use lisse_core::{
    Dimension, Error, Executor, Gradient, Result, RngStreams, Sampler, Solver, StochasticGradient,
    StopReason, Stopping, check_dim,
};
use nalgebra::{DVector, dvector};
use rand::{Rng, RngExt};

/// f(x) = ½‖x − c‖², and its noisy gradient c-centred with uniform noise in [−1, 1].
struct Shifted(DVector<f64>);
impl Dimension for Shifted {
    fn dim(&self) -> usize {
        self.0.len()
    }
    fn full_batch_size(&self) -> usize {
        0
    }
}
impl Gradient for Shifted {
    fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        check_dim("x", self.dim(), x.len())?;
        out.copy_from(&(x - &self.0));
        Ok(())
    }
}
impl Sampler for Shifted {
    type Sample = DVector<f64>;
    fn empty_sample(&self) -> DVector<f64> {
        DVector::zeros(self.dim())
    }
    fn draw_into<R: Rng + ?Sized>(&self, rng: &mut R, s: &mut DVector<f64>) -> Result<()> {
        s.iter_mut().for_each(|o| *o = rng.random_range(-1.0..1.0));
        Ok(())
    }
    fn samples_per_draw(&self) -> usize {
        1
    }
    fn points_read(&self, _s: &DVector<f64>) -> usize {
        1
    }
}
impl StochasticGradient for Shifted {
    fn gradient_at_into(
        &self,
        x: &DVector<f64>,
        s: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.gradient_into(x, out)?;
        *out += s;
        Ok(())
    }
}

#[test]
fn projected_gd_finds_the_projection_of_the_center() {
    // min ½‖x − c‖² over the unit ball is c/‖c‖ when ‖c‖ > 1.
    let c = dvector![3.0, 4.0];
    let mut gd = GradientDescent::projected(
        Shifted(c.clone()),
        L2Ball::centered(2, 1.0).unwrap(),
        dvector![0.0, 0.0],
        StepSize::Constant(0.5),
    )
    .unwrap();
    let r = Executor::new(Stopping::new().tolerance(1e-12).max_iters(500))
        .run(&mut gd, &mut RngStreams::new(0).stream(0))
        .unwrap();
    assert_eq!(r.stop_reason, StopReason::Tolerance);
    assert!((r.final_point - dvector![0.6, 0.8]).norm() < 1e-12);
}

#[test]
fn projected_gd_on_the_simplex() {
    // min ½‖x − c‖² over the simplex is the Euclidean projection of c.
    let c = dvector![0.9, 0.5, -0.2];
    let mut gd = GradientDescent::projected(
        Shifted(c),
        Simplex::probability(3).unwrap(),
        dvector![1.0, 1.0, 1.0],
        StepSize::Constant(1.0),
    )
    .unwrap();
    Executor::new(Stopping::new().max_iters(5))
        .run(&mut gd, &mut RngStreams::new(0).stream(0))
        .unwrap();
    // θ = (0.9 + 0.5 − 1)/2 = 0.2 → (0.7, 0.3, 0).
    assert!((gd.iterate() - dvector![0.7, 0.3, 0.0]).amax() < 1e-14);
}

#[test]
fn sgd_average_converges_at_the_noise_rate() {
    // With η_t = 1/(t+1) on ½‖x − c‖², x_t is exactly the running mean of c + noise; the
    // Polyak average is even closer. After T steps the error is O(1/√T) per coordinate.
    let c = dvector![1.0, -2.0, 0.5];
    let mut sgd = Sgd::new(
        Shifted(c.clone()),
        DVector::zeros(3),
        StepSize::Decaying {
            eta0: 1.0,
            power: 1.0,
        },
    )
    .unwrap();
    let r = Executor::new(Stopping::new().max_iters(20_000))
        .record_every(0)
        .run(&mut sgd, &mut RngStreams::new(4).stream(0))
        .unwrap();
    // Var of uniform[−1,1] is 1/3, so the sd of the mean of T draws is √(1/(3T)) ≈ 0.004.
    assert!((r.final_point - &c).amax() < 5.0 * (1.0 / (3.0 * 20_000.0f64)).sqrt());
    assert!((sgd.average() - &c).amax() < 0.05);
    assert_eq!(r.counts.calls.gradients, 20_000);
    // `average()` is the mean of the iterates x₁..x_t, not the last iterate: track the
    // iterates step by step and compare.
    let mut sgd = Sgd::new(
        Shifted(c.clone()),
        DVector::zeros(3),
        StepSize::Constant(0.5),
    )
    .unwrap();
    let mut rng = RngStreams::new(9).stream(0);
    let mut sum = DVector::zeros(3);
    for t in 1..=50u32 {
        sgd.step(&mut rng).unwrap();
        sum += sgd.iterate();
        let mean = &sum / f64::from(t);
        assert!((sgd.average() - &mean).amax() < 1e-12, "t = {t}");
    }
    assert!(
        (sgd.average() - sgd.iterate()).amax() > 1e-3,
        "the average is not the last iterate"
    );
}

#[test]
fn bad_configurations_are_errors() {
    let f = || Shifted(dvector![0.0, 0.0]);
    assert!(matches!(
        GradientDescent::new(f(), dvector![0.0], StepSize::Constant(0.1)),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        GradientDescent::new(f(), dvector![f64::NAN, 0.0], StepSize::Constant(0.1)),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        Sgd::new(f(), dvector![0.0, 0.0], StepSize::Constant(-0.1)),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        Sgd::new(
            f(),
            dvector![0.0, 0.0],
            StepSize::Decaying {
                eta0: 1.0,
                power: f64::NAN
            }
        ),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        Sgd::projected(
            f(),
            L2Ball::centered(3, 1.0).unwrap(),
            dvector![0.0, 0.0],
            StepSize::Constant(0.1)
        ),
        Err(Error::DimensionMismatch { .. })
    ));
}
