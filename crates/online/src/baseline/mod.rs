//! Baselines: the classic learners optimistic OMD is compared with, the optimistic FTRL of
//! Sachs et al. (2022), and a two-layer ensemble for dynamic regret.
//!
//! | learner | update | guarantee (function) |
//! |---|---|---|
//! | [`Ogd`] | x_{t+1} = Π(x_t − η_t g_t), η_t = D/(G√t) or 1/(λt) | [`ogd_bound`], [`ogd_strongly_convex_bound`] |
//! | [`AdaGradNorm`] | η_t = D/√(2Σ_{s≤t}‖g_s‖²) | [`adagrad_norm_bound`] |
//! | [`Ons`] | Hazan's online Newton step | [`ons_bound`] |
//! | [`Hedge`] | exponential weights, log domain | [`hedge_bound`] |
//! | [`OptimisticFtrl`] | Sachs et al. eq. (2) with the AdaFTRL step | [`optimistic_ftrl_bound`] |
//! | [`Ensemble`] | optimistic OGD pool + optimistic Hedge meta learner | dynamic regret, [`Ensemble::meta_regret_bound`] |

mod adagrad_norm;
mod ensemble;
mod hedge;
mod ogd;
mod ons;
mod optimistic_ftrl;

pub use adagrad_norm::{AdaGradNorm, adagrad_norm_bound};
pub use ensemble::{Ensemble, EnsembleConfig};
pub use hedge::{Hedge, hedge_bound};
pub use ogd::{Ogd, OgdStep, ogd_bound, ogd_strongly_convex_bound};
pub use ons::{Ons, ons_bound};
pub use optimistic_ftrl::{OptimisticFtrl, optimistic_ftrl_bound};
