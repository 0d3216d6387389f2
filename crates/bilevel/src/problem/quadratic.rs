//! The quadratic bilevel problem with closed-form y*(x), v* and ∇Φ (the "simulated" problem of
//! benchopt's bilevel benchmark, Dagréou et al. 2022, with rank-one per-sample matrices).

// The column kernels are `#[inline(always)]` on purpose: they must be inlined into the
// per-block loop that pulp compiles for AVX2, or they stay compiled for the baseline.
#![allow(clippy::inline_always)]

use lisse_core::{
    Error, PartialGradients, PartialHvps, Result, Sampler, StochasticPartialGradients,
    StochasticPartialHvps, TwoBlock, TwoBlockFiniteSum, TwoBlockFiniteSumHvp, check_batch,
    check_dim,
};

use nalgebra::{Cholesky, DMatrix, DMatrixView, DVector, Dyn};
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{BilevelProblem, ClosedForm, LowerConstants, LowerLevel, Scratch, UpperLevel};

/// How the per-sample matrices of a [`QuadraticLevel`] are stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Storage {
    /// Rank-one factors: O(d) memory and work per sample.
    #[default]
    Factored,
    /// Materialized per-sample matrices, O(d²) per sample: Cᵢ whole, the symmetric Aᵢ and Bᵢ as
    /// their upper triangle stored by columns (each column down to the end of its diagonal
    /// 8-row tile; 5,392 of 10,000 entries at d = 100). A dense peer that stores Aᵢ, Bᵢ whole
    /// holds and gathers about 1.85× as many bytes of them.
    Dense,
    /// [`Storage::Dense`] with the matrices in one anonymous memory map per kind, advised for
    /// transparent huge pages (2 MiB on x86-64 Linux, where the kernel's THP mode is `always`
    /// or `madvise`; elsewhere, or if the map fails, the same storage on the heap). The same
    /// results to the last bit; a SOBA iteration at dims 100/100, batch 64 is 1–13% faster on
    /// the project's 2-vCPU Xeon VM (fewer TLB misses and nested page walks while 8 samples'
    /// matrices stream at once, see `docs/performance.md`). The huge pages are a hint the
    /// kernel may decline; memory is then used as with [`Storage::Dense`].
    DenseHugePages,
}

/// One level h(x, y) = (1/n) Σᵢ hᵢ(x, y) of the quadratic problem, with
///
/// hᵢ(x, y) = ½ yᵀAᵢy + xᵀCᵢy + ½ xᵀBᵢx + aᵢᵀy + bᵢᵀx,
/// Aᵢ = αI + uᵢuᵢᵀ,  Cᵢ = pᵢqᵢᵀ (dx×dy),  Bᵢ = βI + rᵢrᵢᵀ,
///
/// so ∇ᵧhᵢ = Aᵢy + Cᵢᵀx + aᵢ, ∇ₓhᵢ = Bᵢx + Cᵢy + bᵢ, ∇²ᵧᵧhᵢ = Aᵢ, ∇²ₓᵧhᵢ = Cᵢ.
///
/// The stochastic oracles average `batch_size` terms drawn uniformly with replacement; the
/// exact oracles use the precomputed means Ā, C̄, B̄, ā, b̄.
#[derive(Debug, Clone)]
pub struct QuadraticLevel {
    alpha: f64,
    beta: f64,
    // Factors, one column per sample.
    u: DMatrix<f64>,
    p: DMatrix<f64>,
    q: DMatrix<f64>,
    r: DMatrix<f64>,
    a: DMatrix<f64>,
    b: DMatrix<f64>,
    dense: Option<DenseTerms>,
    storage: Storage,
    /// Per-block partial sums of the parallel dense passes (reused across calls).
    partials: Scratch<Vec<f64>>,
    // Means.
    a_mean: DMatrix<f64>,
    c_mean: DMatrix<f64>,
    b_mean: DMatrix<f64>,
    av: DVector<f64>,
    bv: DVector<f64>,
    batch_size: usize,
}

/// The materialized per-sample matrices, one [`Slab`] per kind. Cᵢ is stored whole
/// (column-major dx×dy). The symmetric Aᵢ and Bᵢ are stored as their upper triangle in packed
/// form (see [`pack`]), each column j down to the end of its diagonal [`LANES`]-row tile: every
/// product needs only those entries (see [`sym_col`]), and the dense kernels then read each
/// tile of columns as one contiguous run.
#[derive(Debug, Clone)]
struct DenseTerms {
    a: Slab,
    c: Slab,
    b: Slab,
}

/// n per-sample matrices of `len` entries each in one allocation, sample i's at i·len.
#[derive(Debug)]
struct Slab {
    len: usize,
    memory: Memory,
}

/// Where a [`Slab`] lives.
#[derive(Debug)]
enum Memory {
    Heap(Vec<f64>),
    /// An anonymous memory map advised for transparent huge pages (page-aligned, a whole
    /// number of f64: checked when it is made, see [`huge_page_map`]).
    Mapped(memmap2::MmapMut),
}

impl Slab {
    /// n matrices of `len` entries, sample i's written by `fill(i, ·)` (into zeros), in memory
    /// advised for huge pages if `huge_pages` and the map succeeds, else on the heap.
    fn new(
        n: usize,
        len: usize,
        huge_pages: bool,
        mut fill: impl FnMut(usize, &mut [f64]),
    ) -> Self {
        let entries = n * len;
        let mapped = if huge_pages {
            huge_page_map(entries)
        } else {
            None
        };
        let mut memory = mapped.map_or_else(|| Memory::Heap(vec![0.0; entries]), Memory::Mapped);
        let all = match &mut memory {
            Memory::Heap(v) => v.as_mut_slice(),
            Memory::Mapped(m) => bytemuck::cast_slice_mut(&mut m[..]),
        };
        for (i, m) in all.chunks_exact_mut(len.max(1)).enumerate() {
            fill(i, m);
        }
        Self { len, memory }
    }

    /// All entries, sample after sample.
    #[inline(always)]
    fn all(&self) -> &[f64] {
        match &self.memory {
            Memory::Heap(v) => v,
            Memory::Mapped(m) => bytemuck::cast_slice(&m[..]),
        }
    }

    /// Sample i's matrix.
    #[inline(always)]
    fn sample(&self, i: usize) -> &[f64] {
        &self.all()[i * self.len..][..self.len]
    }
}

impl Clone for Slab {
    /// A copy in the same kind of memory (on the heap if a new map fails).
    fn clone(&self) -> Self {
        let huge_pages = matches!(self.memory, Memory::Mapped(_));
        let n = self.all().len() / self.len.max(1);
        Self::new(n, self.len, huge_pages, |i, m| {
            m.copy_from_slice(self.sample(i));
        })
    }
}

/// A zeroed anonymous memory map of `entries` f64, advised (best effort) for transparent huge
/// pages before any page is touched; `None` if it cannot be made or viewed as f64.
fn huge_page_map(entries: usize) -> Option<memmap2::MmapMut> {
    let mut map = memmap2::MmapMut::map_anon(entries.checked_mul(8)?.max(8)).ok()?;
    #[cfg(target_os = "linux")]
    {
        // Only a hint: where the kernel declines, the map works with small pages.
        let _ = map.advise(memmap2::Advice::HugePage);
    }
    bytemuck::try_cast_slice_mut::<u8, f64>(&mut map[..]).ok()?;
    Some(map)
}

/// Packs the upper part of the symmetric dim×dim `m` into `out` (`packed_offset(dim, dim)`
/// entries): column j holds rows 0..end(j) where end(j) = min(8·(⌊j/8⌋ + 1), dim) (see
/// [`sym_rows`]), the upper triangle plus the part of each diagonal 8×8 tile below the
/// diagonal, 5,392 entries for dim = 100 against 10,000 whole.
fn pack(m: &DMatrix<f64>, out: &mut [f64]) {
    let dim = m.nrows();
    for j in 0..dim {
        let end = sym_rows(j, dim).1;
        out[packed_offset(j, dim)..][..end].copy_from_slice(head(m.as_slice(), dim, j, end));
    }
}

/// out += w · M·with for a [`pack`]ed symmetric M (dsymv on the packed upper part, column by
/// column as in [`sym_col`]).
fn packed_symv(packed: &[f64], with: &[f64], w: f64, out: &mut [f64]) {
    let dim = with.len();
    for j in 0..dim {
        let (lo, end) = sym_rows(j, dim);
        let col = &packed[packed_offset(j, dim)..][..end];
        for (o, &e) in out[..lo].iter_mut().zip(col) {
            *o += w * with[j] * e;
        }
        out[j] += w * col.iter().zip(with).map(|(e, x)| e * x).sum::<f64>();
    }
}

/// Offset of column j in a packed dim×dim matrix: the chunks of 8 columns before j's own
/// chunk q = ⌊j/8⌋ hold 8·8(q' + 1) entries each (q' < q), then r = j mod 8 columns of j's chunk
/// hold min(8(q + 1), dim) each.
fn packed_offset(j: usize, dim: usize) -> usize {
    let (q, r) = (j / LANES, j % LANES);
    LANES * LANES * q * (q + 1) / 2 + r * (LANES * (q + 1)).min(dim)
}

/// Samples per block of the parallel dense passes. The blocks (and so every rounding) are
/// fixed whatever the thread count, and the blocks' partial sums are added in block order, so
/// results are bit-identical on any number of threads. A batch of 64 is four blocks per level,
/// eight when the two levels' blocks share one pool (blocks of 8 balance finer but pay the
/// per-block products twice: 5–8% slower on the 2-vCPU Xeon, see `docs/performance.md`).
const DENSE_BLOCK: usize = 16;

/// Largest number of f64 entries the dense storage may hold (2 GiB).
const MAX_DENSE_ENTRIES: usize = 1 << 28;

impl QuadraticLevel {
    /// A level from its factors (one column per sample): `u` dy×n, `p` dx×n, `q` dy×n, `r` dx×n,
    /// `a` dy×n, `b` dx×n; Aᵢ = αI + uᵢuᵢᵀ and Bᵢ = βI + rᵢrᵢᵀ.
    ///
    /// # Errors
    /// Inconsistent shapes, no samples, a batch size of 0, non-finite entries, α or β < 0, or
    /// dense storage over 2 GiB.
    #[allow(clippy::too_many_arguments, clippy::too_many_lines)]
    pub fn new(
        alpha: f64,
        beta: f64,
        u: DMatrix<f64>,
        p: DMatrix<f64>,
        q: DMatrix<f64>,
        r: DMatrix<f64>,
        a: DMatrix<f64>,
        b: DMatrix<f64>,
        batch_size: usize,
        storage: Storage,
    ) -> Result<Self> {
        let (dy, n) = u.shape();
        let dx = p.nrows();
        for (name, m, rows) in [
            ("p", &p, dx),
            ("q", &q, dy),
            ("r", &r, dx),
            ("a", &a, dy),
            ("b", &b, dx),
        ] {
            check_dim(&format!("rows of {name}"), rows, m.nrows())?;
            check_dim(&format!("columns (samples) of {name}"), n, m.ncols())?;
        }
        if n == 0 || dx == 0 || dy == 0 {
            return Err(Error::invalid(
                "quadratic level (dx, dy, n)",
                format!("({dx}, {dy}, {n})"),
                "all at least 1",
            ));
        }
        if batch_size == 0 {
            return Err(Error::invalid("batch_size", 0, "at least 1"));
        }
        lisse_core::check_range("alpha", alpha, 0.0, f64::INFINITY)?;
        lisse_core::check_range("beta", beta, 0.0, f64::INFINITY)?;
        for (name, m) in [
            ("u", &u),
            ("p", &p),
            ("q", &q),
            ("r", &r),
            ("a", &a),
            ("b", &b),
        ] {
            lisse_core::check_finite(name, m.as_slice())?;
        }
        let nf = n as f64;
        let mut a_mean = &u * u.transpose() / nf;
        for i in 0..dy {
            a_mean[(i, i)] += alpha;
        }
        let c_mean = &p * q.transpose() / nf;
        let mut b_mean = &r * r.transpose() / nf;
        for i in 0..dx {
            b_mean[(i, i)] += beta;
        }
        let av = a.column_mean();
        let bv = b.column_mean();
        let dense = match storage {
            Storage::Factored => None,
            Storage::Dense | Storage::DenseHugePages => {
                let entries = n.saturating_mul(
                    (dy.saturating_mul(dy))
                        .saturating_add(dx.saturating_mul(dy))
                        .saturating_add(dx.saturating_mul(dx)),
                );
                if entries > MAX_DENSE_ENTRIES {
                    return Err(Error::invalid(
                        "dense storage (entries)",
                        entries,
                        format!("at most {MAX_DENSE_ENTRIES}; use Storage::Factored"),
                    ));
                }
                let huge = storage == Storage::DenseHugePages;
                let symmetric = |f: &DMatrix<f64>, ridge: f64, i: usize, out: &mut [f64]| {
                    let mut m = f.column(i) * f.column(i).transpose();
                    for k in 0..m.nrows() {
                        m[(k, k)] += ridge;
                    }
                    pack(&m, out);
                };
                Some(DenseTerms {
                    a: Slab::new(n, packed_offset(dy, dy), huge, |i, out| {
                        symmetric(&u, alpha, i, out);
                    }),
                    c: Slab::new(n, dx * dy, huge, |i, out| {
                        let ci = p.column(i) * q.column(i).transpose();
                        out.copy_from_slice(ci.as_slice());
                    }),
                    b: Slab::new(n, packed_offset(dx, dx), huge, |i, out| {
                        symmetric(&r, beta, i, out);
                    }),
                })
            }
        };
        Ok(Self {
            alpha,
            beta,
            u,
            p,
            q,
            r,
            a,
            b,
            dense,
            storage,
            partials: Scratch::default(),
            a_mean,
            c_mean,
            b_mean,
            av,
            bv,
            batch_size,
        })
    }

    /// The storage of the per-sample matrices.
    pub fn storage(&self) -> Storage {
        self.storage
    }

    /// The minibatch size of the stochastic oracles.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The same level with another minibatch size.
    ///
    /// # Errors
    /// A batch size of 0.
    pub fn with_batch_size(mut self, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::invalid("batch_size", 0, "at least 1"));
        }
        self.batch_size = batch_size;
        Ok(self)
    }

    /// Ā = (1/n) Σ Aᵢ (dy×dy).
    pub fn a_mean(&self) -> &DMatrix<f64> {
        &self.a_mean
    }

    /// C̄ = (1/n) Σ Cᵢ (dx×dy).
    pub fn c_mean(&self) -> &DMatrix<f64> {
        &self.c_mean
    }

    /// B̄ = (1/n) Σ Bᵢ (dx×dx).
    pub fn b_mean(&self) -> &DMatrix<f64> {
        &self.b_mean
    }

    /// ā (length dy).
    pub fn a_vec(&self) -> &DVector<f64> {
        &self.av
    }

    /// b̄ (length dx).
    pub fn b_vec(&self) -> &DVector<f64> {
        &self.bv
    }

    /// max over samples of ‖Aᵢ‖₂ = α + ‖uᵢ‖²: the smoothness in y of every stochastic ∇ᵧhᵢ.
    pub fn max_sample_smoothness_y(&self) -> f64 {
        self.alpha
            + self
                .u
                .column_iter()
                .map(|c| c.norm_squared())
                .fold(0.0, f64::max)
    }

    fn n(&self) -> usize {
        self.u.ncols()
    }

    fn check_xy(&self, x: &DVector<f64>, y: &DVector<f64>) -> Result<()> {
        check_dim("x", self.p.nrows(), x.len())?;
        check_dim("y", self.u.nrows(), y.len())
    }

    // ---- per-sample accumulation: out += w · (term i) ----

    /// Sample i's Cᵢ (dx×dy) in dense storage.
    fn c_view<'a>(&self, d: &'a DenseTerms, i: usize) -> DMatrixView<'a, f64> {
        DMatrixView::from_slice(d.c.sample(i), self.dim_x(), self.dim_y())
    }

    fn add_grad_y(
        &self,
        i: usize,
        x: &DVector<f64>,
        y: &DVector<f64>,
        w: f64,
        out: &mut DVector<f64>,
    ) {
        if let Some(d) = &self.dense {
            packed_symv(d.a.sample(i), y.as_slice(), w, out.as_mut_slice());
            out.gemv_tr(w, &self.c_view(d, i), x, 1.0);
        } else {
            let ui = self.u.column(i);
            let qi = self.q.column(i);
            out.axpy(w * self.alpha, y, 1.0);
            out.axpy(w * ui.dot(y), &ui, 1.0);
            out.axpy(w * self.p.column(i).dot(x), &qi, 1.0);
        }
        out.axpy(w, &self.a.column(i), 1.0);
    }

    fn add_grad_x(
        &self,
        i: usize,
        x: &DVector<f64>,
        y: &DVector<f64>,
        w: f64,
        out: &mut DVector<f64>,
    ) {
        if let Some(d) = &self.dense {
            packed_symv(d.b.sample(i), x.as_slice(), w, out.as_mut_slice());
            out.gemv(w, &self.c_view(d, i), y, 1.0);
        } else {
            let ri = self.r.column(i);
            out.axpy(w * self.beta, x, 1.0);
            out.axpy(w * ri.dot(x), &ri, 1.0);
            out.axpy(w * self.q.column(i).dot(y), &self.p.column(i), 1.0);
        }
        out.axpy(w, &self.b.column(i), 1.0);
    }

    fn add_hvp_yy(&self, i: usize, v: &DVector<f64>, w: f64, out: &mut DVector<f64>) {
        if let Some(d) = &self.dense {
            packed_symv(d.a.sample(i), v.as_slice(), w, out.as_mut_slice());
        } else {
            let ui = self.u.column(i);
            out.axpy(w * self.alpha, v, 1.0);
            out.axpy(w * ui.dot(v), &ui, 1.0);
        }
    }

    fn add_hvp_xy(&self, i: usize, v: &DVector<f64>, w: f64, out: &mut DVector<f64>) {
        if let Some(d) = &self.dense {
            out.gemv(w, &self.c_view(d, i), v, 1.0);
        } else {
            out.axpy(w * self.q.column(i).dot(v), &self.p.column(i), 1.0);
        }
    }

    fn value_term(&self, i: usize, x: &DVector<f64>, y: &DVector<f64>) -> f64 {
        let uy = self.u.column(i).dot(y);
        let rx = self.r.column(i).dot(x);
        0.5 * (self.alpha * y.norm_squared() + uy * uy)
            + self.p.column(i).dot(x) * self.q.column(i).dot(y)
            + 0.5 * (self.beta * x.norm_squared() + rx * rx)
            + self.a.column(i).dot(y)
            + self.b.column(i).dot(x)
    }
}

impl TwoBlock for QuadraticLevel {
    fn dim_x(&self) -> usize {
        self.p.nrows()
    }
    fn dim_y(&self) -> usize {
        self.u.nrows()
    }
    /// The exact oracles use the means Ā, C̄, B̄ (precomputed), equivalent to a pass over the n
    /// terms; they count n points.
    fn full_batch_size_xy(&self) -> usize {
        self.n()
    }
}

impl PartialGradients for QuadraticLevel {
    fn grad_x_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check_xy(x, y)?;
        check_dim("output buffer", self.dim_x(), out.len())?;
        out.copy_from(&self.bv);
        out.gemv(1.0, &self.b_mean, x, 1.0);
        out.gemv(1.0, &self.c_mean, y, 1.0);
        Ok(())
    }
    fn grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check_xy(x, y)?;
        check_dim("output buffer", self.dim_y(), out.len())?;
        out.copy_from(&self.av);
        out.gemv(1.0, &self.a_mean, y, 1.0);
        out.gemv_tr(1.0, &self.c_mean, x, 1.0);
        Ok(())
    }
}

impl PartialHvps for QuadraticLevel {
    fn hvp_yy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check_xy(x, y)?;
        check_dim("v", self.dim_y(), v.len())?;
        check_dim("output buffer", self.dim_y(), out.len())?;
        out.gemv(1.0, &self.a_mean, v, 0.0);
        Ok(())
    }
    fn hvp_xy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check_xy(x, y)?;
        check_dim("v", self.dim_y(), v.len())?;
        check_dim("output buffer", self.dim_x(), out.len())?;
        out.gemv(1.0, &self.c_mean, v, 0.0);
        Ok(())
    }
}

impl TwoBlockFiniteSum for QuadraticLevel {
    fn n_terms_xy(&self) -> usize {
        self.n()
    }
    fn batch_value_xy(&self, x: &DVector<f64>, y: &DVector<f64>, batch: &[usize]) -> Result<f64> {
        self.check_xy(x, y)?;
        check_batch(batch, self.n())?;
        let s: f64 = batch.iter().map(|&i| self.value_term(i, x, y)).sum();
        Ok(s / batch.len() as f64)
    }
    fn batch_grad_x_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check_xy(x, y)?;
        check_batch(batch, self.n())?;
        check_dim("output buffer", self.dim_x(), out.len())?;
        out.fill(0.0);
        let w = 1.0 / batch.len() as f64;
        for &i in batch {
            self.add_grad_x(i, x, y, w, out);
        }
        Ok(())
    }
    fn batch_grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check_xy(x, y)?;
        check_batch(batch, self.n())?;
        check_dim("output buffer", self.dim_y(), out.len())?;
        out.fill(0.0);
        let w = 1.0 / batch.len() as f64;
        for &i in batch {
            self.add_grad_y(i, x, y, w, out);
        }
        Ok(())
    }
}

impl TwoBlockFiniteSumHvp for QuadraticLevel {
    fn batch_hvp_yy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check_xy(x, y)?;
        check_batch(batch, self.n())?;
        check_dim("v", self.dim_y(), v.len())?;
        check_dim("output buffer", self.dim_y(), out.len())?;
        out.fill(0.0);
        let w = 1.0 / batch.len() as f64;
        for &i in batch {
            self.add_hvp_yy(i, v, w, out);
        }
        Ok(())
    }
    fn batch_hvp_xy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check_xy(x, y)?;
        check_batch(batch, self.n())?;
        check_dim("v", self.dim_y(), v.len())?;
        check_dim("output buffer", self.dim_x(), out.len())?;
        out.fill(0.0);
        let w = 1.0 / batch.len() as f64;
        for &i in batch {
            self.add_hvp_xy(i, v, w, out);
        }
        Ok(())
    }
}

/// A sample is a minibatch of `batch_size` term indices drawn uniformly with replacement.
impl Sampler for QuadraticLevel {
    type Sample = Vec<usize>;
    fn empty_sample(&self) -> Vec<usize> {
        Vec::with_capacity(self.batch_size)
    }
    fn draw_into<R: Rng + ?Sized>(&self, rng: &mut R, sample: &mut Vec<usize>) -> Result<()> {
        let n = self.n();
        sample.clear();
        sample.extend((0..self.batch_size).map(|_| rng.random_range(0..n)));
        Ok(())
    }
    fn samples_per_draw(&self) -> usize {
        self.batch_size
    }
    fn points_read(&self, sample: &Vec<usize>) -> usize {
        sample.len()
    }
}

impl StochasticPartialGradients for QuadraticLevel {
    fn grad_x_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &Vec<usize>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.batch_grad_x_into(x, y, sample, out)
    }
    fn grad_y_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &Vec<usize>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.batch_grad_y_into(x, y, sample, out)
    }
}

impl StochasticPartialHvps for QuadraticLevel {
    fn hvp_yy_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        sample: &Vec<usize>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.batch_hvp_yy_into(x, y, v, sample, out)
    }
    fn hvp_xy_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        sample: &Vec<usize>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.batch_hvp_xy_into(x, y, v, sample, out)
    }
}

// ---- one-pass tile kernels for the dense per-sample matrices ----
//
// Every oracle of a batch is linear in the per-sample matrices, (1/b)Σᵢ Mᵢu = (1/b)(Σᵢ Mᵢ)u,
// so a block of samples is handled one tile of [`TILE`] columns at a time: the block's tiles
// of Aᵢ (and Cᵢ, Bᵢ) are summed element-wise into a small buffer that stays in L1, each
// sample's tile read once, and the products with y, v, x are then taken once per block from
// the summed tile (one dot-product fold per column and block instead of per column and
// sample). The memory stream is the only per-sample work: one vector add per 64 bytes read.
// The block's tiles are read [`STREAMS`] samples at a time, one [`SEGMENT`] of each in turn
// (see [`add_streams`]), so that several sequential streams are in flight at once and the
// hardware prefetchers carry them (no software prefetch: see [`STREAMS`]). The symmetric
// Aᵢ = αI + uᵢuᵢᵀ and Bᵢ = βI + rᵢrᵢᵀ (symmetric by construction, exactly: uⱼuₖ = uₖuⱼ in
// floating point) are read down to the end of each column's diagonal [`LANES`]-row tile only
// (see [`sym_col`]), so every column of a summed tile is whole chunks of lanes. Earlier forms,
// measured on the 2-vCPU Xeon: per-sample column products (dsymv-style) were bound by the
// per-column folds and tails; one matrix at a time was a single sequential stream the
// hardware prefetcher could not keep at bandwidth on its own; one sample's tile after another
// (each a short burst of its stream) needed a software prefetch of every sample's next tile
// and was then bound by the line-fill buffers those prefetches hold.

/// out += s · col.
#[inline(always)]
fn col_axpy(col: &[f64], s: f64, out: &mut [f64]) {
    for (o, &e) in out.iter_mut().zip(col) {
        *o += s * e;
    }
}

/// Independent partial sums of a dot product in [`col_dot_axpy`]: a sequential sum is one
/// dependency chain (one add latency per element, scalar code), `LANES` chains vectorize
/// (two AVX2 registers, or eight scalars on the baseline path).
const LANES: usize = 8;

/// Registers per chunk of [`LANES`] rows (2 for AVX2, 8 for scalar code).
const fn regs<S: pulp::Simd>() -> usize {
    LANES / S::F64_LANES
}

/// The [`LANES`] partial sums held in registers `acc[..regs]` (register r, lane l holds partial
/// sum r·L + l, the same whatever the register width L), added pairwise in a fixed order.
#[inline(always)]
fn fold<S: pulp::Simd>(acc: &[S::f64s; LANES]) -> f64 {
    let mut l = [0.0; LANES];
    let (dst, _) = S::as_mut_simd_f64s(&mut l);
    dst.copy_from_slice(&acc[..regs::<S>()]);
    ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
}

/// Returns colᵀ·with and adds s · col to out (the first `out.len()` ≤ `col.len()` rows of col),
/// reading col once.
///
/// The dot product is summed in `LANES` fixed lanes (lane l takes rows ≡ l mod `LANES` of the
/// full chunks), the lanes then added pairwise in a fixed order, then the remaining rows: the
/// rounding depends on the lengths only, never on the thread count or the SIMD width (`simd`:
/// the instruction set pulp dispatched to; no fused multiply-add).
#[inline(always)]
fn col_dot_axpy<S: pulp::Simd>(simd: S, col: &[f64], with: &[f64], s: f64, out: &mut [f64]) -> f64 {
    let (rows, axpy) = (col.len(), out.len());
    let body = rows / LANES * LANES;
    let both = body.min(axpy / LANES * LANES);
    let regs = regs::<S>();
    let sv = simd.splat_f64s(s);
    let mut lanes = [simd.splat_f64s(0.0); LANES];
    let (o, _) = S::as_mut_simd_f64s(&mut out[..both]);
    let (e, _) = S::as_simd_f64s(&col[..body]);
    let (xv, _) = S::as_simd_f64s(&with[..body]);
    let split = both / S::F64_LANES;
    for ((o, e), xv) in o
        .chunks_exact_mut(regs)
        .zip(e[..split].chunks_exact(regs))
        .zip(xv[..split].chunks_exact(regs))
    {
        for r in 0..regs {
            lanes[r] = simd.add_f64s(lanes[r], simd.mul_f64s(e[r], xv[r]));
            o[r] = simd.add_f64s(o[r], simd.mul_f64s(sv, e[r]));
        }
    }
    for (e, xv) in e[split..]
        .chunks_exact(regs)
        .zip(xv[split..].chunks_exact(regs))
    {
        for r in 0..regs {
            lanes[r] = simd.add_f64s(lanes[r], simd.mul_f64s(e[r], xv[r]));
        }
    }
    let mut acc = fold::<S>(&lanes);
    for (k, (&e, &xv)) in col.iter().zip(with).enumerate().take(rows).skip(body) {
        acc += e * xv;
        if k < axpy {
            out[k] += s * e;
        }
    }
    acc
}

/// [`col_dot_axpy`] for two vectors in one pass over col: returns (colᵀ·with₁, colᵀ·with₂)
/// and adds s₁·col to out₁ and s₂·col to out₂ (both `out₁.len()` rows), with the same lanes
/// and order of additions as two [`col_dot_axpy`] calls (so the same rounding).
#[inline(always)]
fn col_dot_axpy2<S: pulp::Simd>(
    simd: S,
    col: &[f64],
    (with1, s1, out1): (&[f64], f64, &mut [f64]),
    (with2, s2, out2): (&[f64], f64, &mut [f64]),
) -> (f64, f64) {
    let (rows, axpy) = (col.len(), out1.len());
    let body = rows / LANES * LANES;
    let both = body.min(axpy / LANES * LANES);
    let regs = regs::<S>();
    let (sv1, sv2) = (simd.splat_f64s(s1), simd.splat_f64s(s2));
    let (mut lanes1, mut lanes2) = ([simd.splat_f64s(0.0); LANES], [simd.splat_f64s(0.0); LANES]);
    let (o1, _) = S::as_mut_simd_f64s(&mut out1[..both]);
    let (o2, _) = S::as_mut_simd_f64s(&mut out2[..both]);
    let (e, _) = S::as_simd_f64s(&col[..body]);
    let (x1, _) = S::as_simd_f64s(&with1[..body]);
    let (x2, _) = S::as_simd_f64s(&with2[..body]);
    let split = both / S::F64_LANES;
    for ((((o1, o2), e), x1), x2) in o1
        .chunks_exact_mut(regs)
        .zip(o2.chunks_exact_mut(regs))
        .zip(e[..split].chunks_exact(regs))
        .zip(x1[..split].chunks_exact(regs))
        .zip(x2[..split].chunks_exact(regs))
    {
        for r in 0..regs {
            lanes1[r] = simd.add_f64s(lanes1[r], simd.mul_f64s(e[r], x1[r]));
            lanes2[r] = simd.add_f64s(lanes2[r], simd.mul_f64s(e[r], x2[r]));
            o1[r] = simd.add_f64s(o1[r], simd.mul_f64s(sv1, e[r]));
            o2[r] = simd.add_f64s(o2[r], simd.mul_f64s(sv2, e[r]));
        }
    }
    for ((e, x1), x2) in e[split..]
        .chunks_exact(regs)
        .zip(x1[split..].chunks_exact(regs))
        .zip(x2[split..].chunks_exact(regs))
    {
        for r in 0..regs {
            lanes1[r] = simd.add_f64s(lanes1[r], simd.mul_f64s(e[r], x1[r]));
            lanes2[r] = simd.add_f64s(lanes2[r], simd.mul_f64s(e[r], x2[r]));
        }
    }
    let (mut acc1, mut acc2) = (fold::<S>(&lanes1), fold::<S>(&lanes2));
    for k in body..rows {
        let e = col[k];
        acc1 += e * with1[k];
        acc2 += e * with2[k];
        if k < axpy {
            out1[k] += s1 * e;
            out2[k] += s2 * e;
        }
    }
    (acc1, acc2)
}

/// Rows of column j of a symmetric matrix read by [`sym_col`]: the full [`LANES`]-row chunks
/// above j's chunk (`lo`, a multiple of [`LANES`]) and then j's own chunk (to `end`).
#[inline(always)]
fn sym_rows(j: usize, dim: usize) -> (usize, usize) {
    let lo = j / LANES * LANES;
    (lo, (lo + LANES).min(dim))
}

/// Column j of a **symmetric** matrix M (`col`, down to the end of j's [`LANES`]-row chunk,
/// see [`sym_rows`]): out[..lo] += w·withⱼ·M[..lo, j] and out[j] += w·M[..end, j]ᵀwith[..end].
/// Summed over j this is out += w·M·with: an entry in a chunk above j's is column j's (its
/// mirror in row j left of the diagonal is never read), one in j's own diagonal
/// [`LANES`]×[`LANES`] tile is read from column j alone. This reads the upper triangle plus
/// the diagonal tiles, as BLAS `dsymv` reads the upper triangle, with no scalar remainder rows.
#[inline(always)]
fn sym_col<S: pulp::Simd>(simd: S, col: &[f64], j: usize, with: &[f64], w: f64, out: &mut [f64]) {
    let lo = j / LANES * LANES;
    let dot = col_dot_axpy(simd, col, with, w * with[j], &mut out[..lo]);
    out[j] += w * dot;
}

/// [`sym_col`] for two vectors in one pass over the column.
#[inline(always)]
fn sym_col2<S: pulp::Simd>(
    simd: S,
    col: &[f64],
    j: usize,
    w: f64,
    (with1, out1): (&[f64], &mut [f64]),
    (with2, out2): (&[f64], &mut [f64]),
) {
    let lo = j / LANES * LANES;
    let (d1, d2) = col_dot_axpy2(
        simd,
        col,
        (with1, w * with1[j], &mut out1[..lo]),
        (with2, w * with2[j], &mut out2[..lo]),
    );
    out1[j] += w * d1;
    out2[j] += w * d2;
}

/// Columns per tile of the dense kernels' tile sums: 8 columns of 100 rows are 6.4 KB per
/// sample and matrix, so a block's tile sums stay in L1 (measured on the 2-vCPU Xeon, 100/100,
/// with the earlier one-sample-at-a-time sums and prefetch: 16 and 32 columns were 5–20%
/// slower; summing two or four tiles' columns at once with the streamed sums: no better).
const TILE: usize = LANES;

/// A tile of columns j0..j0 + cols of a column-major matrix with `rows` rows: whole columns,
/// or, for a symmetric matrix, each column j down to the end of its diagonal [`LANES`]-row
/// tile (see [`sym_rows`]).
#[derive(Clone, Copy)]
struct Tile {
    rows: usize,
    symmetric: bool,
    j0: usize,
    cols: usize,
}

impl Tile {
    /// The tile of columns j0..min(j0 + [`TILE`], dim) of a packed dim×dim matrix, j0 a
    /// multiple of [`TILE`]; `None` past the end.
    fn symmetric(dim: usize, j0: usize) -> Option<Self> {
        (j0 < dim).then(|| Self {
            rows: dim,
            symmetric: true,
            j0,
            cols: TILE.min(dim - j0),
        })
    }

    /// The tile of whole columns j0..min(j0 + [`TILE`], ncols) of a rows×ncols matrix.
    fn full(rows: usize, ncols: usize, j0: usize) -> Option<Self> {
        (j0 < ncols).then(|| Self {
            rows,
            symmetric: false,
            j0,
            cols: TILE.min(ncols - j0),
        })
    }

    /// Rows stored of each of the tile's columns (the same for all: a [`TILE`] = [`LANES`]
    /// tile of a packed matrix lies in one chunk of 8 columns).
    #[inline(always)]
    fn len(self) -> usize {
        if self.symmetric {
            sym_rows(self.j0, self.rows).1
        } else {
            self.rows
        }
    }

    /// The tile's entries of `m` (column-major whole, or packed), one contiguous run,
    /// column by column with leading dimension [`Tile::len`].
    #[inline(always)]
    fn region(self, m: &[f64]) -> &[f64] {
        let start = if self.symmetric {
            packed_offset(self.j0, self.rows)
        } else {
            self.j0 * self.rows
        };
        &m[start..][..self.cols * self.len()]
    }
}

/// sum = Σ over `samples` (in their order, duplicates included) of `tile` of the matrices
/// `mats`, stored in `sum` as [`Tile::region`] lays it out. Element-wise sums in sample order,
/// so the rounding is the same for any SIMD width, any tile width, any [`STREAMS`] and any
/// [`SEGMENT`]. Each sample's tile is read once, as one contiguous run; up to [`STREAMS`]
/// samples' tiles are read together, a [`SEGMENT`] of each in turn (see [`add_streams`]).
#[inline(always)]
fn sum_tiles<S: pulp::Simd>(simd: S, mats: &Slab, samples: &[usize], tile: Tile, sum: &mut [f64]) {
    let sum = &mut sum[..tile.cols * tile.len()];
    if samples.is_empty() {
        sum.fill(0.0);
        return;
    }
    for (pass, chunk) in samples.chunks(STREAMS).enumerate() {
        let mut regions: [&[f64]; STREAMS] = [&[]; STREAMS];
        for (region, &i) in regions.iter_mut().zip(chunk) {
            *region = tile.region(mats.sample(i));
        }
        add_streams(simd, sum, &regions[..chunk.len()], pass == 0);
    }
}

/// Samples' tiles read together by [`sum_tiles`]. Each tile continues its sample's stream
/// (the next tile of a matrix follows the last in memory), and reading eight of them at once
/// keeps eight streams in flight, which the hardware prefetchers follow on their own; on the
/// 2-vCPU Xeon of `docs/performance.md` (dims 100/100, batch 64) this took 15–20% off a SOBA
/// iteration against reading one sample's tile after another with a software prefetch of each
/// sample's next tile (a prefetch holds one of the core's 16 line-fill buffers until its line
/// arrives, which capped those kernels at about 16 lines in flight per core). With the streams
/// read together, hinting the next tiles (every line, or the first line of each 4 KiB page)
/// was no faster than no hint; 4 or 16 streams were within the noise of 8.
const STREAMS: usize = 8;

/// Entries of each stream read in turn by [`add_streams`] (512 bytes, 8 cache lines).
const SEGMENT: usize = 64;

/// sum = ((sum + r₀) + r₁) + … element-wise (sum = (r₀ + r₁) + … if `first`), reading the
/// `regions` (each `sum.len()` long) together: one [`SEGMENT`] of each in turn, so their
/// cache misses are in flight at once. The same additions in the same order as adding the
/// regions one after another.
#[inline(always)]
fn add_streams<S: pulp::Simd>(simd: S, sum: &mut [f64], regions: &[&[f64]], first: bool) {
    for (segment, out) in sum.chunks_mut(SEGMENT).enumerate() {
        let start = segment * SEGMENT;
        for (k, region) in regions.iter().enumerate() {
            let e = &region[start..start + out.len()];
            if first && k == 0 {
                copy_into(simd, out, e);
            } else {
                add_into(simd, out, e);
            }
        }
    }
}

/// acc = e, element-wise (a plain vector loop: no `memcpy` call per [`SEGMENT`]).
#[inline(always)]
fn copy_into<S: pulp::Simd>(_simd: S, acc: &mut [f64], e: &[f64]) {
    let (acc, acc_tail) = S::as_mut_simd_f64s(acc);
    let (e, e_tail) = S::as_simd_f64s(e);
    for (a, &e) in acc.iter_mut().zip(e) {
        *a = e;
    }
    for (a, &e) in acc_tail.iter_mut().zip(e_tail) {
        *a = e;
    }
}

/// acc += e, element-wise.
#[inline(always)]
fn add_into<S: pulp::Simd>(simd: S, acc: &mut [f64], e: &[f64]) {
    let (acc, acc_tail) = S::as_mut_simd_f64s(acc);
    let (e, e_tail) = S::as_simd_f64s(e);
    for (a, &e) in acc.iter_mut().zip(e) {
        *a = simd.add_f64s(*a, e);
    }
    for (a, &e) in acc_tail.iter_mut().zip(e_tail) {
        *a += e;
    }
}

/// The first `len` entries of column j of a column-major matrix with `rows` rows.
#[inline(always)]
fn head(m: &[f64], rows: usize, j: usize, len: usize) -> &[f64] {
    &m[j * rows..j * rows + len]
}

/// One block of samples of [`QuadraticLevel::dense_directions`] into its partial sums
/// (∇ᵧG, HVP, cross; then the block's tile sums of Aᵢ and Cᵢ as scratch), a
/// [`pulp::WithSimd`] operation that `pulp::Arch::dispatch` runs compiled for AVX-512 (the
/// workspace's `x86-v4` feature of pulp), AVX2 or the baseline. The arithmetic is the same
/// plain Rust on every path (element-wise tile sums, the [`LANES`] fixed lanes of the dot
/// products, no `mul_add`: Rust never contracts to FMA), so every path gives the same bits.
struct DirectionsBlock<'a> {
    d: &'a DenseTerms,
    a_vecs: &'a [f64],
    dims: (usize, usize),
    w: f64,
    xyv: (&'a [f64], &'a [f64], &'a [f64]),
    samples: &'a [usize],
    part: &'a mut [f64],
}

impl pulp::WithSimd for DirectionsBlock<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let Self {
            d,
            a_vecs,
            dims: (dx, dy),
            w,
            xyv: (xs, ys, vs),
            samples,
            part,
        } = self;
        let (g, rest) = part.split_at_mut(dy);
        let (h, rest) = rest.split_at_mut(dy);
        let (c, rest) = rest.split_at_mut(dx);
        let (sum_a, sum_c) = rest.split_at_mut(TILE * dy);
        for j0 in (0..dy).step_by(TILE) {
            // ΣAᵢ over columns j0..j0 + TILE (each down to its diagonal tile) and ΣCᵢ over the
            // same columns, each sample's tile read once.
            let (Some(ta), Some(tc)) = (Tile::symmetric(dy, j0), Tile::full(dx, dy, j0)) else {
                break;
            };
            sum_tiles(simd, &d.a, samples, ta, sum_a);
            sum_tiles(simd, &d.c, samples, tc, sum_c);
            let columns = sum_a.chunks_exact(ta.len()).zip(sum_c.chunks_exact(dx));
            for (j, (ca, cc)) in (j0..j0 + ta.cols).zip(columns) {
                // (ΣAᵢ)y and (ΣAᵢ)v from column j of the symmetric ΣAᵢ; ((ΣCᵢ)ᵀx)ⱼ and (ΣCᵢ)v.
                sym_col2(simd, ca, j, w, (ys, &mut *g), (vs, &mut *h));
                let dot = col_dot_axpy(simd, cc, xs, w * vs[j], &mut *c);
                g[j] += w * dot;
            }
        }
        for &i in samples {
            col_axpy(&a_vecs[i * dy..(i + 1) * dy], w, g);
        }
    }
}

/// One block of samples of [`QuadraticLevel::dense_grads`] into its partial sums (∇ₓF, ∇ᵧF;
/// then the block's tile sums of Bᵢ, Cᵢ and Aᵢ as scratch), dispatched like
/// [`DirectionsBlock`].
struct GradsBlock<'a> {
    d: &'a DenseTerms,
    a_vecs: &'a [f64],
    b_vecs: &'a [f64],
    dims: (usize, usize),
    w: f64,
    xy: (&'a [f64], &'a [f64]),
    samples: &'a [usize],
    part: &'a mut [f64],
}

impl pulp::WithSimd for GradsBlock<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let Self {
            d,
            a_vecs,
            b_vecs,
            dims: (dx, dy),
            w,
            xy: (xs, ys),
            samples,
            part,
        } = self;
        let (px, rest) = part.split_at_mut(dx);
        let (py, rest) = rest.split_at_mut(dy);
        let (sum_b, rest) = rest.split_at_mut(TILE * dx);
        let (sum_c, sum_a) = rest.split_at_mut(TILE * dx);
        for j0 in (0..dx.max(dy)).step_by(TILE) {
            if let Some(tb) = Tile::symmetric(dx, j0) {
                // ΣBᵢ over columns j0..j0 + TILE, each down to its diagonal tile: (ΣBᵢ)x.
                sum_tiles(simd, &d.b, samples, tb, sum_b);
                for (j, cb) in (j0..j0 + tb.cols).zip(sum_b.chunks_exact(tb.len())) {
                    sym_col(simd, cb, j, xs, w, px);
                }
            }
            if let (Some(tc), Some(ta)) = (Tile::full(dx, dy, j0), Tile::symmetric(dy, j0)) {
                // ΣCᵢ over columns j0..j0 + TILE: ((ΣCᵢ)ᵀx)ⱼ and (ΣCᵢ)y; ΣAᵢ (symmetric, each
                // column down to its diagonal tile): (ΣAᵢ)y.
                sum_tiles(simd, &d.c, samples, tc, sum_c);
                sum_tiles(simd, &d.a, samples, ta, sum_a);
                let columns = sum_a.chunks_exact(ta.len()).zip(sum_c.chunks_exact(dx));
                for (j, (ca, cc)) in (j0..j0 + ta.cols).zip(columns) {
                    let dot = col_dot_axpy(simd, cc, xs, w * ys[j], px);
                    py[j] += w * dot;
                    sym_col(simd, ca, j, ys, w, py);
                }
            }
        }
        for &i in samples {
            col_axpy(&b_vecs[i * dx..(i + 1) * dx], w, px);
            col_axpy(&a_vecs[i * dy..(i + 1) * dy], w, py);
        }
    }
}

impl QuadraticLevel {
    /// Runs `block` on fixed blocks of [`DENSE_BLOCK`] samples in parallel, each into its own
    /// zeroed `stride`-long slice of partial sums, then adds the slices in block order into
    /// `outs` (zeroed first; their lengths sum to at most `stride`, the rest of each slice is
    /// the block's scratch).
    fn blocked_sum<K>(&self, batch: &[usize], stride: usize, outs: &mut [&mut [f64]], block: K)
    where
        K: Fn(&[usize], &mut [f64]) + Sync,
    {
        let mut guard = self.partials.lock();
        let n_blocks = batch.len().div_ceil(DENSE_BLOCK);
        guard.clear();
        guard.resize(n_blocks * stride, 0.0);
        guard
            .par_chunks_mut(stride)
            .zip(batch.par_chunks(DENSE_BLOCK))
            .for_each(|(part, samples)| block(samples, part));
        for out in outs.iter_mut() {
            out.fill(0.0);
        }
        for part in guard.chunks_exact(stride) {
            let mut rest = part;
            for out in outs.iter_mut() {
                let (head, tail) = rest.split_at(out.len());
                for (o, &p) in out.iter_mut().zip(head) {
                    *o += p;
                }
                rest = tail;
            }
        }
    }

    /// SOBA's lower directions on dense storage: one pass over the columns of Aᵢ and Cᵢ
    /// together gives Aᵢy and Aᵢv (the upper triangle of the symmetric Aᵢ, read once) and Cᵢᵀx
    /// and Cᵢv (each column of Cᵢ read once).
    #[allow(clippy::too_many_arguments)]
    fn dense_directions(
        &self,
        d: &DenseTerms,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        grad_y: &mut DVector<f64>,
        hvp: &mut DVector<f64>,
        cross: &mut DVector<f64>,
    ) {
        let (dx, dy) = (self.dim_x(), self.dim_y());
        let w = 1.0 / batch.len() as f64;
        let (xs, ys, vs) = (x.as_slice(), y.as_slice(), v.as_slice());
        let a_vecs = self.a.as_slice();
        let block = |samples: &[usize], part: &mut [f64]| {
            pulp::Arch::new().dispatch(DirectionsBlock {
                d,
                a_vecs,
                dims: (dx, dy),
                w,
                xyv: (xs, ys, vs),
                samples,
                part,
            });
        };
        self.blocked_sum(
            batch,
            // Outputs (∇ᵧG, HVP, cross), then the block's tile sums of Aᵢ and Cᵢ.
            2 * dy + dx + TILE * (dy + dx),
            &mut [
                grad_y.as_mut_slice(),
                hvp.as_mut_slice(),
                cross.as_mut_slice(),
            ],
            block,
        );
    }

    /// ∇ₓF and ∇ᵧF on dense storage: one pass over the columns of Bᵢ, Cᵢ and Aᵢ together
    /// (Bᵢx; Cᵢy and Cᵢᵀx; Aᵢy), each column of Cᵢ and the upper triangles of the symmetric
    /// Bᵢ and Aᵢ read once.
    fn dense_grads(
        &self,
        d: &DenseTerms,
        x: &DVector<f64>,
        y: &DVector<f64>,
        batch: &[usize],
        gx: &mut DVector<f64>,
        gy: &mut DVector<f64>,
    ) {
        let (dx, dy) = (self.dim_x(), self.dim_y());
        let w = 1.0 / batch.len() as f64;
        let (xs, ys) = (x.as_slice(), y.as_slice());
        let (a_vecs, b_vecs) = (self.a.as_slice(), self.b.as_slice());
        let block = |samples: &[usize], part: &mut [f64]| {
            pulp::Arch::new().dispatch(GradsBlock {
                d,
                a_vecs,
                b_vecs,
                dims: (dx, dy),
                w,
                xy: (xs, ys),
                samples,
                part,
            });
        };
        self.blocked_sum(
            batch,
            // Outputs (∇ₓF, ∇ᵧF), then the block's tile sums of Bᵢ, Cᵢ and Aᵢ.
            dx + dy + TILE * (2 * dx + dy),
            &mut [gx.as_mut_slice(), gy.as_mut_slice()],
            block,
        );
    }
}

/// Dense storage: ∇ₓF and ∇ᵧF in one pass over the batch's matrices (Cᵢ read once for both).
impl UpperLevel for QuadraticLevel {
    fn grads_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &Vec<usize>,
        gx: &mut DVector<f64>,
        gy: &mut DVector<f64>,
    ) -> Result<()> {
        let Some(d) = &self.dense else {
            self.batch_grad_x_into(x, y, sample, gx)?;
            return self.batch_grad_y_into(x, y, sample, gy);
        };
        self.check_xy(x, y)?;
        check_batch(sample, self.n())?;
        check_dim("output buffer (∇ₓ)", self.dim_x(), gx.len())?;
        check_dim("output buffer (∇ᵧ)", self.dim_y(), gy.len())?;
        self.dense_grads(d, x, y, sample, gx, gy);
        Ok(())
    }
}

/// Dense storage: ∇ᵧG, ∇²ᵧᵧG·v and ∇²ₓᵧG·v in one pass over the batch's Aᵢ and Cᵢ (each read
/// once instead of twice).
impl LowerLevel for QuadraticLevel {
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
        let Some(d) = &self.dense else {
            self.batch_grad_y_into(x, y, sample, grad_y)?;
            self.batch_hvp_yy_into(x, y, v, sample, hvp)?;
            return self.batch_hvp_xy_into(x, y, v, sample, cross);
        };
        self.check_xy(x, y)?;
        check_batch(sample, self.n())?;
        check_dim("v", self.dim_y(), v.len())?;
        check_dim("output buffer (∇ᵧ)", self.dim_y(), grad_y.len())?;
        check_dim("output buffer (HVP)", self.dim_y(), hvp.len())?;
        check_dim("output buffer (cross)", self.dim_x(), cross.len())?;
        self.dense_directions(d, x, y, v, sample, grad_y, hvp, cross);
        Ok(())
    }
}

/// Parameters of a random [`QuadraticBilevel`] instance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QuadraticSpec {
    /// Length of x.
    pub dim_x: usize,
    /// Length of y.
    pub dim_y: usize,
    /// Samples of the lower level.
    pub n_lower: usize,
    /// Samples of the upper level.
    pub n_upper: usize,
    /// μ: every Aᵢ of g is μI + uᵢuᵢᵀ.
    pub mu: f64,
    /// E‖uᵢ‖² of g (the spread of the lower Hessian above μ).
    pub spread: f64,
    /// Scale of the cross terms Cᵢ of g.
    pub cross: f64,
    /// Smallest eigenvalue of ∇²Φ the generator enforces (a ridge on x in f).
    pub phi_curvature: f64,
    /// Minibatch size of every stochastic oracle.
    pub batch_size: usize,
    /// Per-sample matrix storage.
    pub storage: Storage,
}

impl Default for QuadraticSpec {
    /// benchopt's simulated defaults scaled down: dims 10/10, 256 samples per level,
    /// μ = 0.1, spread 1, cross 0.1·√dx... (see field docs), batch 16, factored.
    fn default() -> Self {
        Self {
            dim_x: 10,
            dim_y: 10,
            n_lower: 256,
            n_upper: 256,
            mu: 0.1,
            spread: 1.0,
            cross: 0.5,
            phi_curvature: 0.1,
            batch_size: 16,
            storage: Storage::Factored,
        }
    }
}

/// The quadratic bilevel problem: f and g are [`QuadraticLevel`]s, so
///
/// y*(x) = −Ā⁻¹(ā + C̄ᵀx),  z* = Ā⁻¹∇ᵧf(x, y*),  ∇Φ(x) = ∇ₓf(x, y*) − C̄ z*,
///
/// with Ā, C̄, ā the lower level's means (benchopt's `datasets/simulated.py`, written with
/// z* = −v*). Φ is quadratic; the generator puts a ridge on x in f so that ∇²Φ ⪰ `phi_curvature`·I.
#[derive(Debug, Clone)]
pub struct QuadraticBilevel {
    upper: QuadraticLevel,
    lower: QuadraticLevel,
    chol: Cholesky<f64, Dyn>,
    constants: LowerConstants,
}

fn gaussian<R: Rng + ?Sized>(rows: usize, cols: usize, scale: f64, rng: &mut R) -> DMatrix<f64> {
    DMatrix::from_fn(rows, cols, |_, _| {
        scale * rng.sample::<f64, _>(StandardNormal)
    })
}

impl QuadraticBilevel {
    /// Pairs two levels; g's Ā must be positive definite with α ≥ μ > 0.
    ///
    /// # Errors
    /// Mismatched dimensions, or a lower level with α = 0 (not strongly convex).
    pub fn new(upper: QuadraticLevel, lower: QuadraticLevel) -> Result<Self> {
        check_dim("dim_x of the lower level", upper.dim_x(), lower.dim_x())?;
        check_dim("dim_y of the lower level", upper.dim_y(), lower.dim_y())?;
        let constants = LowerConstants::new(lower.alpha, lower.max_sample_smoothness_y())?;
        let chol = lower.a_mean.clone().cholesky().ok_or_else(|| {
            Error::invalid(
                "lower Ā",
                "not positive definite",
                "positive definite (α > 0)",
            )
        })?;
        Ok(Self {
            upper,
            lower,
            chol,
            constants,
        })
    }

    /// A random instance.
    ///
    /// # Errors
    /// Dimensions or sample counts of 0, μ ≤ 0, negative scales, or dense storage over 2 GiB.
    pub fn random<R: Rng + ?Sized>(spec: &QuadraticSpec, rng: &mut R) -> Result<Self> {
        let QuadraticSpec {
            dim_x: dx,
            dim_y: dy,
            n_lower: n,
            n_upper: m,
            mu,
            spread,
            cross,
            phi_curvature,
            batch_size,
            storage,
        } = *spec;
        LowerConstants::new(mu, mu)?;
        lisse_core::check_range("spread", spread, 0.0, f64::INFINITY)?;
        lisse_core::check_range("cross", cross, 0.0, f64::INFINITY)?;
        lisse_core::check_range("phi_curvature", phi_curvature, 0.0, f64::INFINITY)?;
        if dx == 0 || dy == 0 || n == 0 || m == 0 {
            return Err(Error::invalid(
                "quadratic spec (dim_x, dim_y, n_lower, n_upper)",
                format!("({dx}, {dy}, {n}, {m})"),
                "all at least 1",
            ));
        }
        let sy = (spread / dy as f64).sqrt();
        let sx = 1.0 / (dx as f64).sqrt();
        // Every per-sample quantity is a shared mean plus sample noise, so the means (which
        // decide y*, z* and ∇Φ) are O(1) and the stochastic oracles have O(1) variance.
        // Cross terms Cᵢ = pᵢqᵢᵀ with pᵢ = W qᵢ (+ noise): C̄ ≈ W·E[qqᵀ] = W.
        let coupled = |scale: f64, cols: usize, rng: &mut R| {
            let w = gaussian(dx, dy, scale / (dy as f64).sqrt(), rng);
            let q = gaussian(dy, cols, 1.0, rng);
            let p = &w * &q + gaussian(dx, cols, 0.1 * sx, rng);
            (p, q)
        };
        let shifted = |rows: usize, cols: usize, rng: &mut R| {
            let center = gaussian(rows, 1, 1.0, rng);
            let mut v = gaussian(rows, cols, 0.5, rng);
            for mut c in v.column_iter_mut() {
                c += &center;
            }
            v
        };
        // Lower level g.
        let g_u = gaussian(dy, n, sy, rng);
        let (g_p, g_q) = coupled(cross, n, rng);
        let g_a = shifted(dy, n, rng);
        let g_r = DMatrix::zeros(dx, n);
        let g_b = shifted(dx, n, rng);
        // Upper level f (ridge β on x chosen below).
        let f_u = gaussian(dy, m, sy, rng);
        let (f_p, f_q) = coupled(1.0, m, rng);
        let f_r = gaussian(dx, m, sx, rng);
        let f_a = shifted(dy, m, rng);
        let f_b = shifted(dx, m, rng);
        let lower =
            QuadraticLevel::new(mu, 0.0, g_u, g_p, g_q, g_r, g_a, g_b, batch_size, storage)?;
        let probe = QuadraticLevel::new(
            0.0,
            0.0,
            f_u.clone(),
            f_p.clone(),
            f_q.clone(),
            f_r.clone(),
            f_a.clone(),
            f_b.clone(),
            batch_size,
            Storage::Factored,
        )?;
        let probe = Self::new(probe, lower.clone())?;
        let lam_min = probe.phi_hessian().symmetric_eigenvalues().min();
        let beta = (phi_curvature - lam_min).max(0.0);
        let upper =
            QuadraticLevel::new(0.0, beta, f_u, f_p, f_q, f_r, f_a, f_b, batch_size, storage)?;
        Self::new(upper, lower)
    }

    /// The upper level f.
    pub fn upper(&self) -> &QuadraticLevel {
        &self.upper
    }

    /// The lower level g.
    pub fn lower(&self) -> &QuadraticLevel {
        &self.lower
    }

    /// μ = α of g, and C_g = maxᵢ ‖Aᵢ‖.
    pub fn constants(&self) -> LowerConstants {
        self.constants
    }

    /// The counted [`BilevelProblem`] on copies of both levels.
    ///
    /// # Errors
    /// None in practice (the levels were validated); kept for symmetry with other problems.
    pub fn problem(&self) -> Result<BilevelProblem<QuadraticLevel, QuadraticLevel>> {
        BilevelProblem::new(self.upper.clone(), self.lower.clone(), self.constants)
    }

    /// Y = ∂y*/∂x = −Ā⁻¹C̄ᵀ (dy×dx).
    fn jacobian(&self) -> DMatrix<f64> {
        -self.chol.solve(&self.lower.c_mean.transpose())
    }

    /// ∇²Φ = B̄_f + C̄_f Y + Yᵀ C̄_fᵀ + Yᵀ Ā_f Y, constant in x.
    pub fn phi_hessian(&self) -> DMatrix<f64> {
        let y = self.jacobian();
        let cy = &self.upper.c_mean * &y;
        let h = &self.upper.b_mean + &cy + cy.transpose() + y.transpose() * &self.upper.a_mean * &y;
        (&h + h.transpose()) * 0.5
    }

    /// z* = Ā⁻¹∇ᵧf(x, y*(x)) (= −v* in benchopt's sign).
    ///
    /// # Errors
    /// A wrong length of `x`.
    pub fn linear_system_solution(&self, x: &DVector<f64>) -> Result<DVector<f64>> {
        let ys = self.lower_solution(x)?;
        let mut gy = DVector::zeros(self.upper.dim_y());
        self.upper.grad_y_into(x, &ys, &mut gy)?;
        Ok(self.chol.solve(&gy))
    }
}

impl ClosedForm for QuadraticBilevel {
    fn lower_solution(&self, x: &DVector<f64>) -> Result<DVector<f64>> {
        check_dim("x", self.lower.dim_x(), x.len())?;
        let mut rhs = self.lower.av.clone();
        rhs.gemv_tr(1.0, &self.lower.c_mean, x, 1.0);
        Ok(-self.chol.solve(&rhs))
    }

    fn hypergradient(&self, x: &DVector<f64>) -> Result<DVector<f64>> {
        let ys = self.lower_solution(x)?;
        let mut gx = DVector::zeros(self.upper.dim_x());
        let mut gy = DVector::zeros(self.upper.dim_y());
        self.upper.grad_x_into(x, &ys, &mut gx)?;
        self.upper.grad_y_into(x, &ys, &mut gy)?;
        let z = self.chol.solve(&gy);
        gx.gemv(-1.0, &self.lower.c_mean, &z, 1.0);
        Ok(gx)
    }
}

#[cfg(test)]
mod simd_tests {
    use super::{DirectionsBlock, GradsBlock, QuadraticLevel, Storage, gaussian};
    use crate::problem::{LowerLevel, UpperLevel};
    use lisse_core::{RngStreams, TwoBlockFiniteSum, TwoBlockFiniteSumHvp};
    use nalgebra::{DMatrix, DVector};
    use proptest::prelude::*;
    use pulp::WithSimd;

    /// A dense level whose dimensions leave tails after the 8 fixed lanes.
    fn level(dx: usize, dy: usize, n: usize) -> QuadraticLevel {
        let m = |rows: usize, seed: f64| {
            DMatrix::from_fn(rows, n, |i, j| {
                ((i * 7 + j * 13) as f64 * 0.37 + seed).sin()
            })
        };
        let (u, p, q, r) = (m(dy, 0.1), m(dx, 0.2), m(dy, 0.3), m(dx, 0.4));
        let (a, b) = (m(dy, 0.5), m(dx, 0.6));
        QuadraticLevel::new(0.3, 0.7, u, p, q, r, a, b, 4, Storage::Dense).unwrap()
    }

    /// The outputs (`$outputs` leading entries of the `$len` partial sums) of the kernel
    /// `$kernel` (built on the buffer `$part`) on every instruction set this CPU has: the
    /// baseline (pulp's scalar path) first, then pulp's own dispatch, AVX2 and AVX-512.
    macro_rules! on_every_path {
        ($len:expr, $outputs:expr, |$part:ident| $kernel:expr $(,)?) => {{
            let mut runs: Vec<(&str, Vec<u64>)> = Vec::new();
            let mut record = |name, part: Vec<f64>| {
                runs.push((name, part[..$outputs].iter().map(|e| e.to_bits()).collect()));
            };
            let mut buf = vec![0.0; $len];
            {
                let $part = &mut buf[..];
                $kernel.with_simd(pulp::Scalar);
            }
            record("baseline", buf);
            let mut buf = vec![0.0; $len];
            {
                let $part = &mut buf[..];
                pulp::Arch::new().dispatch($kernel);
            }
            record("pulp dispatch", buf);
            #[cfg(target_arch = "x86_64")]
            {
                if let Some(simd) = pulp::x86::V3::try_new() {
                    let mut buf = vec![0.0; $len];
                    {
                        let $part = &mut buf[..];
                        pulp::Simd::vectorize(simd, $kernel);
                    }
                    record("AVX2", buf);
                }
                if let Some(simd) = pulp::x86::V4::try_new() {
                    let mut buf = vec![0.0; $len];
                    {
                        let $part = &mut buf[..];
                        pulp::Simd::vectorize(simd, $kernel);
                    }
                    record("AVX-512", buf);
                }
            }
            runs
        }};
    }

    /// The per-block kernels give the same bits compiled for the baseline (pulp's scalar
    /// path), for AVX2 and for AVX-512 (where the CPU has them): the tile sums are element-wise
    /// and the dot products use the same 8 fixed lanes on every path, with no FMA. Blocks of 5
    /// and of 11 samples (one pass of the streamed tile sums, and two: 8 streams, then 3).
    #[test]
    fn dense_blocks_are_bit_identical_on_every_instruction_set() {
        for samples in [&[3, 0, 5, 5, 1][..], &[3, 0, 5, 5, 1, 2, 4, 0, 1, 5, 3][..]] {
            dense_block_bits_agree(samples);
        }
    }

    fn dense_block_bits_agree(samples: &[usize]) {
        for (dx, dy) in [(13, 11), (24, 17), (5, 30), (100, 100)] {
            let lvl = level(dx, dy, 6);
            let d = lvl.dense.as_ref().unwrap();
            let vec = |len: usize, s: f64| (0..len).map(|i| (i as f64 * 0.91 + s).cos()).collect();
            let (xs, ys, vs): (Vec<f64>, Vec<f64>, Vec<f64>) =
                (vec(dx, 1.0), vec(dy, 2.0), vec(dy, 3.0));
            let w = 1.0 / samples.len() as f64;
            let runs = on_every_path!(2 * dy + dx + super::TILE * (dy + dx), 2 * dy + dx, |part| {
                DirectionsBlock {
                    d,
                    a_vecs: lvl.a.as_slice(),
                    dims: (dx, dy),
                    w,
                    xyv: (&xs, &ys, &vs),
                    samples,
                    part,
                }
            },);
            assert!(runs[0].1.iter().any(|&e| f64::from_bits(e) != 0.0));
            for (name, bits) in &runs[1..] {
                assert_eq!(&runs[0].1, bits, "directions, {name}, dx = {dx}, dy = {dy}");
            }
            let runs = on_every_path!(dx + dy + super::TILE * (2 * dx + dy), dx + dy, |part| {
                GradsBlock {
                    d,
                    a_vecs: lvl.a.as_slice(),
                    b_vecs: lvl.b.as_slice(),
                    dims: (dx, dy),
                    w,
                    xy: (&xs, &ys),
                    samples,
                    part,
                }
            },);
            assert!(runs[0].1.iter().any(|&e| f64::from_bits(e) != 0.0));
            for (name, bits) in &runs[1..] {
                assert_eq!(&runs[0].1, bits, "grads, {name}, dx = {dx}, dy = {dy}");
            }
        }
    }

    /// `Storage::DenseHugePages` holds the same matrices as `Storage::Dense`, in anonymous
    /// memory maps (advised for huge pages) instead of the heap, so every oracle gives the same
    /// bits, for a clone too.
    #[test]
    fn huge_page_storage_gives_the_same_bits_as_dense() {
        use super::{Memory, QuadraticBilevel, QuadraticSpec};
        for (dx, dy, batch_size) in [(100, 100, 64), (13, 11, 5), (8, 30, 17)] {
            let quad = |storage| {
                let spec = QuadraticSpec {
                    dim_x: dx,
                    dim_y: dy,
                    n_lower: 40,
                    n_upper: 40,
                    batch_size,
                    storage,
                    ..QuadraticSpec::default()
                };
                QuadraticBilevel::random(&spec, &mut RngStreams::new(3).stream(0)).unwrap()
            };
            let (plain, huge) = (quad(Storage::Dense), quad(Storage::DenseHugePages));
            let cloned = huge.clone();
            assert_eq!(huge.lower().storage(), Storage::DenseHugePages);
            assert_eq!(cloned.upper().storage(), Storage::DenseHugePages);
            #[cfg(unix)]
            for q in [&huge, &cloned] {
                let d = q.upper().dense.as_ref().unwrap();
                assert!(
                    matches!(d.c.memory, Memory::Mapped(_)),
                    "not in a memory map"
                );
            }
            let x = DVector::from_fn(dx, |i, _| (i as f64 * 0.7).sin());
            let y = DVector::from_fn(dy, |i, _| (i as f64 * 0.3).cos());
            let v = DVector::from_fn(dy, |i, _| (i as f64 * 1.1).sin());
            let batch: Vec<usize> = (0..batch_size).map(|k| (k * 17 + 3) % 40).collect();
            let bits = |q: &QuadraticBilevel| -> Vec<u64> {
                let (l, u) = (q.lower(), q.upper());
                let (mut g, mut h, mut c) =
                    (DVector::zeros(dy), DVector::zeros(dy), DVector::zeros(dx));
                LowerLevel::directions_at_into(l, &x, &y, &v, &batch, &mut g, &mut h, &mut c)
                    .unwrap();
                let (mut gx, mut gy) = (DVector::zeros(dx), DVector::zeros(dy));
                UpperLevel::grads_at_into(u, &x, &y, &batch, &mut gx, &mut gy).unwrap();
                let (mut sx, mut sy) = (DVector::zeros(dx), DVector::zeros(dy));
                let (mut sh, mut sc) = (DVector::zeros(dy), DVector::zeros(dx));
                l.batch_grad_x_into(&x, &y, &batch, &mut sx).unwrap();
                l.batch_grad_y_into(&x, &y, &batch, &mut sy).unwrap();
                l.batch_hvp_yy_into(&x, &y, &v, &batch, &mut sh).unwrap();
                l.batch_hvp_xy_into(&x, &y, &v, &batch, &mut sc).unwrap();
                [g, h, c, gx, gy, sx, sy, sh, sc]
                    .iter()
                    .flat_map(|o| o.iter().map(|e| e.to_bits()).collect::<Vec<_>>())
                    .collect()
            };
            let reference = bits(&plain);
            assert!(reference.iter().any(|&b| f64::from_bits(b) != 0.0));
            assert_eq!(reference, bits(&huge), "dx = {dx}, dy = {dy}");
            assert_eq!(reference, bits(&cloned), "clone, dx = {dx}, dy = {dy}");
        }
    }

    proptest! {
        /// The fused dense oracles (block tile sums of the batch's matrices, then one product
        /// per block), and the single oracles on the packed Aᵢ, Bᵢ, equal the plain per-sample
        /// formulas (matrices built from their factors)
        /// ∇ᵧh = (1/b)Σ(Aᵢy + Cᵢᵀx + aᵢ), Hv = (1/b)ΣAᵢv, cross = (1/b)ΣCᵢv,
        /// ∇ₓh = (1/b)Σ(Bᵢx + Cᵢy + bᵢ), on random instances whose dimensions are mostly not
        /// multiples of the 8 lanes, with batches over several blocks of 8 and repeated
        /// samples. Only the order of additions differs (sums over ≤ 40 samples and ≤ 40 rows of
        /// O(1) terms), so 1e-12 relative to max(1, ‖plain‖) is hundreds of roundings.
        #[test]
        fn fused_dense_oracles_equal_the_plain_formula(
            seed in 0u64..1_000_000,
            dx in 1usize..41,
            dy in 1usize..41,
            n in 1usize..12,
            batch_len in 1usize..41,
        ) {
            let mut rng = RngStreams::new(seed).stream(0);
            let f = |rows: usize, rng: &mut _| gaussian(rows, n, 1.0, rng);
            let (u, p, q, r) = (f(dy, &mut rng), f(dx, &mut rng), f(dy, &mut rng), f(dx, &mut rng));
            let (a, b) = (f(dy, &mut rng), f(dx, &mut rng));
            let lvl = QuadraticLevel::new(0.5, 0.25, u, p, q, r, a, b, 4, Storage::Dense).unwrap();
            let x = gaussian(dx, 1, 1.0, &mut rng).column(0).into_owned();
            let y = gaussian(dy, 1, 1.0, &mut rng).column(0).into_owned();
            let v = gaussian(dy, 1, 1.0, &mut rng).column(0).into_owned();
            let batch: Vec<usize> = (0..batch_len).map(|k| (k * 7 + seed as usize) % n).collect();
            let wt = 1.0 / batch_len as f64;
            let (mut g, mut h, mut c) = (DVector::zeros(dy), DVector::zeros(dy), DVector::zeros(dx));
            let (mut gx, mut gy) = (DVector::zeros(dx), DVector::zeros(dy));
            for &i in &batch {
                // The per-sample matrices from their definition (factors), not from storage.
                let ai = DMatrix::identity(dy, dy) * 0.5 + lvl.u.column(i) * lvl.u.column(i).transpose();
                let ci = lvl.p.column(i) * lvl.q.column(i).transpose();
                let bi = DMatrix::identity(dx, dx) * 0.25 + lvl.r.column(i) * lvl.r.column(i).transpose();
                let (ai, ci, bi) = (&ai, &ci, &bi);
                let gi = ai * &y + ci.transpose() * &x + lvl.a.column(i);
                g += &gi * wt;
                h += ai * &v * wt;
                c += ci * &v * wt;
                gx += (bi * &x + ci * &y + lvl.b.column(i)) * wt;
                gy += gi * wt;
            }
            let (mut g2, mut h2, mut c2) = (DVector::zeros(dy), DVector::zeros(dy), DVector::zeros(dx));
            LowerLevel::directions_at_into(&lvl, &x, &y, &v, &batch, &mut g2, &mut h2, &mut c2).unwrap();
            let (mut gx2, mut gy2) = (DVector::from_element(dx, 7.0), DVector::from_element(dy, 7.0));
            UpperLevel::grads_at_into(&lvl, &x, &y, &batch, &mut gx2, &mut gy2).unwrap();
            // The single oracles (packed symv per sample) too.
            let (mut g3, mut h3, mut gx3) = (DVector::zeros(dy), DVector::zeros(dy), DVector::zeros(dx));
            lvl.batch_grad_y_into(&x, &y, &batch, &mut g3).unwrap();
            lvl.batch_hvp_yy_into(&x, &y, &v, &batch, &mut h3).unwrap();
            lvl.batch_grad_x_into(&x, &y, &batch, &mut gx3).unwrap();
            let d = lvl.dense.as_ref().unwrap();
            prop_assert_eq!(d.a.sample(0).len(), super::packed_offset(dy, dy));
            prop_assert_eq!(d.b.sample(0).len(), super::packed_offset(dx, dx));
            for (name, plain, fused) in [
                ("grad_y", &g, &g2), ("hvp", &h, &h2), ("cross", &c, &c2),
                ("grad_x (f)", &gx, &gx2), ("grad_y (f)", &gy, &gy2),
                ("single grad_y", &g, &g3), ("single hvp", &h, &h3), ("single grad_x", &gx, &gx3),
            ] {
                prop_assert!(
                    (plain - fused).norm() <= 1e-12 * plain.norm().max(1.0),
                    "{name}: plain {plain} fused {fused}"
                );
            }
        }
    }
}
