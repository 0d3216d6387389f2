//! Every solver reduces ‖∇Φ‖ on random quadratic bilevel problems within a stated oracle
//! budget; typed errors for bad parameters.

use lisse_bilevel::hypergradient::{ConjugateGradient, LinearSystem, RandomizedNeumann};
use lisse_bilevel::problem::{ClosedForm, QuadraticBilevel, QuadraticSpec};
use lisse_bilevel::schedule::EpochSgd;
use lisse_bilevel::solver::{
    Amigo, AmigoConfig, BoRep, BoRepConfig, HypergradientSgd, HypergradientSgdConfig, MaSoba,
    MaSobaConfig, Soba, SobaConfig, StocBio, StocBioConfig, Ttsa, TtsaConfig,
};
use lisse_core::solver::StepSize;
use lisse_core::{CountKind, Executor, RngStreams, Stopping};
use lisse_testkit::seed;
use nalgebra::DVector;
use proptest::prelude::*;

/// Oracle calls (all kinds) each solver may use.
const BUDGET: u64 = 50_000;

/// Every solver must bring ‖∇Φ‖ below this fraction of its starting value.
const REDUCTION: f64 = 0.5;

fn quadratic(seed: u64, dx: usize, dy: usize) -> QuadraticBilevel {
    let spec = QuadraticSpec {
        dim_x: dx,
        dim_y: dy,
        n_lower: 64,
        n_upper: 64,
        mu: 0.3,
        batch_size: 32,
        phi_curvature: 0.3,
        ..QuadraticSpec::default()
    };
    QuadraticBilevel::random(&spec, &mut RngStreams::new(seed).stream(0)).unwrap()
}

type Run<'a> = Box<dyn FnMut(u64) -> DVector<f64> + 'a>;

/// The solvers with steps set from the problem's constants: lower and z steps 0.5/C_g, SGD-type
/// x-steps c/L_Φ, normalized step lengths η = 0.02 (x₀ is 5 away from x*).
#[allow(clippy::too_many_lines)] // one entry per solver
fn solvers<'a>(quad: &'a QuadraticBilevel, x0: &DVector<f64>) -> Vec<(String, Run<'a>)> {
    let dy = quad.lower().a_mean().nrows();
    let inner = 0.5 / quad.constants().smoothness;
    let l_phi = quad.phi_hessian().symmetric_eigenvalues().max();
    let outer = 0.5 / l_phi;
    // Decaying steps c/(t+1)^{1/2} (benchopt's form) remove the noise floor of constant steps.
    let decaying = |c: f64| StepSize::Decaying {
        eta0: c,
        power: 0.5,
    };
    let eta = 0.02;
    // Neumann terms Q = ⌈κ ln 100⌉, so the bias factor (1 − μ/C_g)^Q is below 1%.
    let q = (quad.constants().condition_number() * 100f64.ln()).ceil() as usize;
    let y0 = DVector::zeros(dy);
    let x0 = x0.clone();
    let mut out: Vec<(String, Run<'a>)> = Vec::new();
    macro_rules! add {
        ($name:expr, $make:expr) => {{
            let x0 = x0.clone();
            let y0 = y0.clone();
            out.push((
                $name.to_owned(),
                Box::new(move |seed: u64| {
                    let mut solver = $make(quad.problem().unwrap(), x0.clone(), y0.clone());
                    Executor::new(Stopping::new().budget(CountKind::TotalCalls, BUDGET))
                        .record_every(0)
                        .run(&mut solver, &mut RngStreams::new(seed).stream(1))
                        .unwrap()
                        .final_point
                }),
            ));
        }};
    }
    let init = EpochSgd::new(inner, 5, 2.0, 200).unwrap();
    add!("bo-rep (paper)", |p, x, y| BoRep::new(
        p,
        RandomizedNeumann::new(q).unwrap(),
        BoRepConfig {
            beta: 0.9,
            ..BoRepConfig::paper(eta, inner, 1.0, init)
        },
        x,
        y
    )
    .unwrap());
    add!("bo-rep (public code)", |p, x, y| BoRep::new(
        p,
        LinearSystem::new(StepSize::Constant(inner)).unwrap(),
        BoRepConfig {
            beta: 0.5,
            ..BoRepConfig::public_code(eta, inner)
        },
        x,
        y
    )
    .unwrap());
    add!("stocbio", |p, x, y| StocBio::new(
        p,
        StocBioConfig {
            neumann_steps: q,
            inner_step: decaying(inner),
            outer_step: decaying(outer),
            ..StocBioConfig::new(inner, outer)
        },
        x,
        y
    )
    .unwrap());
    add!("ttsa", |p, x, y| Ttsa::new(
        p,
        TtsaConfig {
            neumann_terms: q,
            ..TtsaConfig::new(inner, 2.0 * outer)
        },
        x,
        y
    )
    .unwrap());
    add!("soba", |p, x, y| Soba::new(
        p,
        SobaConfig::new(inner, 2.0 * outer),
        x,
        y
    )
    .unwrap());
    add!("ma-soba", |p, x, y| MaSoba::new(
        p,
        MaSobaConfig::new(inner, outer),
        x,
        y
    )
    .unwrap());
    add!("amigo", |p, x, y| Amigo::new(
        p,
        AmigoConfig {
            inner_step: decaying(inner),
            linear_step: decaying(inner),
            outer_step: decaying(outer),
            ..AmigoConfig::new(inner, outer)
        },
        x,
        y
    )
    .unwrap());
    add!("sgd", |p, x, y| HypergradientSgd::new(
        p,
        LinearSystem::new(StepSize::Constant(inner)).unwrap(),
        HypergradientSgdConfig {
            inner_step: decaying(inner),
            outer_step: decaying(outer),
            ..HypergradientSgdConfig::sgd(inner, outer)
        },
        x,
        y
    )
    .unwrap());
    add!("normalized-sgd", |p, x, y| HypergradientSgd::new(
        p,
        ConjugateGradient::new(20, 1e-6).unwrap(),
        HypergradientSgdConfig::normalized(inner, eta, 0.5),
        x,
        y
    )
    .unwrap());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn every_solver_reduces_the_hypergradient(s in seed(), dx in 2usize..6, dy in 2usize..6) {
        let quad = quadratic(s, dx, dy);
        // Start 5 away from x* = −(∇²Φ)⁻¹∇Φ(0) along the direction of largest curvature.
        let hess = quad.phi_hessian();
        let x_star = -hess.clone().cholesky().unwrap().solve(&quad.hypergradient(&DVector::zeros(dx)).unwrap());
        let eig = hess.symmetric_eigen();
        let top = eig.eigenvalues.imax();
        let x0 = &x_star + eig.eigenvectors.column(top) * 5.0;
        let g0 = quad.hypergradient(&x0).unwrap().norm();
        for (name, mut run) in solvers(&quad, &x0) {
            let x = run(s);
            let g = quad.hypergradient(&x).unwrap().norm();
            prop_assert!(g <= REDUCTION * g0, "{name}: ‖∇Φ‖ {g0} -> {g}");
        }
    }
}
