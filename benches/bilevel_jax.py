#!/usr/bin/env python3
"""JAX peer of `benches/bilevel.rs`: SOBA written in JAX with benchopt's SOBA set-up, one
jitted `lax.scan` over the iterations, on the same problems stored the same way:

1. the dense quadratic bilevel problem (dims 100/100, 1,024 samples per level, per-sample
   matrices stored dense, batches of 64), float64;
2. data hyper-cleaning on the digits (train 1,000 / validation 300 / test 497, p = 0.3,
   c = 0.01, batches of 64, 5,000 iterations), float64, reporting test accuracy and the F1 of
   detecting corrupted labels;

and jaxopt's implicit differentiation (`custom_root` + `solve_cg`) for the exact hypergradient
of the quadratic. It prints the time per iteration and, when `cargo bench -p lisse-benches
--bench bilevel` has been run (criterion's estimates under target/criterion/), the ratio
peer time / lisse time.

Usage (one command, both sides back to back, prints the ratios and the triad fraction):

    cargo bench -p lisse-benches --bench bilevel -- "bilevel_triad|soba_iteration" --warm-up-time 1 --measurement-time 3 && python3 benches/bilevel_jax.py

(on a shared machine, wrapped in `flock /work/flags/measure.lock sh -c '...'`), or `python3 benches/bilevel_jax.py` alone after a bench run (creates target/jax-venv with pip on first use; not
run by CI). The random instances are drawn with NumPy, so the numbers differ from the Rust
instances; shapes, storage, step sizes and iteration counts are the same.
"""

import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "target" / "jax-venv"


def ensure_venv():
    """Re-executes this script inside a virtual environment with jax and jaxopt."""
    if os.environ.get("LISSE_JAX_VENV") == "1":
        return
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV} and installing jax, jaxopt, numpy with pip ...", flush=True)
        venv.create(VENV, with_pip=True)
        subprocess.check_call(
            [str(python), "-m", "pip", "install", "--quiet", "jax", "jaxopt", "numpy"]
        )
    env = dict(os.environ, LISSE_JAX_VENV="1", JAX_ENABLE_X64="1", JAX_PLATFORMS="cpu")
    os.execve(str(python), [str(python), __file__, *sys.argv[1:]], env)


def same_run(group, name):
    """lisse_time of a benchmark measured in the same run as the dense quadratic (its estimates
    at most ten minutes apart), else None."""
    path = ROOT / "target" / "criterion" / group / name / "new" / "estimates.json"
    ref = ROOT / "target" / "criterion" / "bilevel_quadratic_dense" / "soba_iteration" / "new"
    ref = ref / "estimates.json"
    if not path.exists() or not ref.exists():
        return None
    if abs(path.stat().st_mtime - ref.stat().st_mtime) > 600:
        return None
    return lisse_time(group, name)


def recent(group, name):
    """lisse_time of a benchmark measured in the last ten minutes, else None (with a note): a
    filter that skipped it leaves an older estimate behind."""
    path = ROOT / "target" / "criterion" / group / name / "new" / "estimates.json"
    if path.exists() and time.time() - path.stat().st_mtime > 600:
        print(f"  ({group}/{name}: the last criterion estimate is older than ten minutes; "
              "rerun the bench with it in the filter)")
        return None
    return lisse_time(group, name)


def lisse_time(group, name):
    """Mean time (s) of a criterion benchmark of the same run set-up, or None."""
    path = ROOT / "target" / "criterion" / group / name / "new" / "estimates.json"
    if not path.exists():
        return None
    with open(path) as f:
        return json.load(f)["mean"]["point_estimate"] * 1e-9


def timed(fn, *args, repeat=3):
    """Best wall time of `fn(*args)` after one warm-up (compilation) call."""
    out = fn(*args)
    jax.block_until_ready(out)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args)
        jax.block_until_ready(out)
        best = min(best, time.perf_counter() - t)
    return best, out


def dense_quadratic(rng, dx=100, dy=100, n=1024, mu=0.1):
    """Per-sample matrices of g (A, C) and f (A_f, C_f, B_f), dense, as `Storage::Dense`."""
    def level(alpha, beta):
        u = rng.normal(size=(n, dy)) / np.sqrt(dy)
        w = rng.normal(size=(dx, dy)) / np.sqrt(dy)
        q = rng.normal(size=(n, dy))
        p = q @ w.T + 0.1 * rng.normal(size=(n, dx)) / np.sqrt(dx)
        r = rng.normal(size=(n, dx)) / np.sqrt(dx)
        a = np.einsum("ni,nj->nij", u, u) + alpha * np.eye(dy)
        c = np.einsum("ni,nj->nij", p, q)
        b = np.einsum("ni,nj->nij", r, r) + beta * np.eye(dx)
        av = rng.normal(size=(n, dy)) * 0.5 + rng.normal(size=dy)
        bv = rng.normal(size=(n, dx)) * 0.5 + rng.normal(size=dx)
        return dict(A=a, C=c, B=b, a=av, b=bv)

    return level(mu, 0.0), level(0.0, 0.5)


def soba_quadratic(g, f, iters, batch, rho0, gamma0, key):
    """benchopt's SOBA: directions at (x, y, v) on one batch per level, steps c/(t+1)^(1/2)."""
    n = g["A"].shape[0]
    dx, dy = g["C"].shape[1], g["C"].shape[2]

    def step(state, t):
        x, y, v, key = state
        key, kg, kf = jax.random.split(key, 3)
        ig = jax.random.randint(kg, (batch,), 0, n)
        jf = jax.random.randint(kf, (batch,), 0, n)
        ag, cg = g["A"][ig], g["C"][ig]
        d_y = jnp.mean(ag @ y + jnp.einsum("bij,i->bj", cg, x) + g["a"][ig], axis=0)
        af, cf, bf = f["A"][jf], f["C"][jf], f["B"][jf]
        gy_f = jnp.mean(af @ y + jnp.einsum("bij,i->bj", cf, x) + f["a"][jf], axis=0)
        gx_f = jnp.mean(bf @ x + cf @ y + f["b"][jf], axis=0)
        d_v = jnp.mean(ag @ v, axis=0) + gy_f
        d_x = jnp.mean(cg @ v, axis=0) + gx_f
        rho = rho0 / jnp.sqrt(t + 1.0)
        gamma = gamma0 / jnp.sqrt(t + 1.0)
        return (x - gamma * d_x, y - rho * d_y, v - rho * d_v, key), None

    @jax.jit
    def run(x0, key):
        init = (x0, jnp.zeros(dy), jnp.zeros(dy), key)
        (x, y, v, _), _ = jax.lax.scan(step, init, jnp.arange(iters, dtype=jnp.float64))
        return x

    g = {k: jnp.asarray(v) for k, v in g.items()}
    f = {k: jnp.asarray(v) for k, v in f.items()}
    return timed(run, -2.0 * jnp.ones(dx), key)


def exact_hypergradient_jaxopt(g, f, x):
    """∇Φ(x) by jaxopt's implicit differentiation of y*(x) = argmin_y g(x, y) (solve_cg)."""
    a_bar, c_bar, av = g["A"].mean(0), g["C"].mean(0), g["a"].mean(0)
    af, cf, bf = f["A"].mean(0), f["C"].mean(0), f["B"].mean(0)
    fa, fb = f["a"].mean(0), f["b"].mean(0)

    def optimality(y, x):
        return a_bar @ y + c_bar.T @ x + av

    @jaxopt.implicit_diff.custom_root(optimality, solve=jaxopt.linear_solve.solve_cg)
    def lower(y_init, x):
        return jnp.linalg.solve(a_bar, -(c_bar.T @ x + av))

    def phi(x):
        y = lower(None, x)
        return 0.5 * y @ af @ y + x @ cf @ y + 0.5 * x @ bf @ x + fa @ y + fb @ x

    grad = jax.jit(jax.grad(phi))
    return timed(grad, x)


def hyper_cleaning_data(rng, n_train=1000, n_val=300, p=0.3):
    raw = np.loadtxt(ROOT / "crates" / "oracles" / "data" / "digits.csv", delimiter=",")
    x, labels = raw[:, :-1], raw[:, -1].astype(int)
    order = rng.permutation(len(labels))
    tr, va, te = order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
    mean, std = x[tr].mean(0), x[tr].std(0)
    std[std == 0] = 1.0
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    y_train = labels[tr].copy()
    corrupted = rng.random(n_train) < p
    shift = rng.integers(1, 10, size=n_train)
    y_train[corrupted] = (y_train[corrupted] + shift[corrupted]) % 10
    return (z[tr], y_train, corrupted), (z[va], labels[va]), (z[te], labels[te])


def soba_hyper_cleaning(train, val, iters, batch, rho0, gamma0, c, key):
    (xt, yt, _), (xv, yv) = train, val
    n, d = xt.shape
    k = 10
    xt, xv = jnp.asarray(xt), jnp.asarray(xv)
    yt1, yv1 = jax.nn.one_hot(yt, k), jax.nn.one_hot(yv, k)

    def inner_loss(w, lam, idx):
        logits = xt[idx] @ w
        ce = -jnp.sum(yt1[idx] * jax.nn.log_softmax(logits), axis=1)
        return jnp.mean(jax.nn.sigmoid(lam[idx]) * ce) + 0.5 * c * jnp.sum(w * w)

    def outer_loss(w, idx):
        logits = xv[idx] @ w
        return -jnp.mean(jnp.sum(yv1[idx] * jax.nn.log_softmax(logits), axis=1))

    def step(state, t):
        lam, w, v, key = state
        key, kg, kf = jax.random.split(key, 3)
        ig = jax.random.randint(kg, (batch,), 0, n)
        jf = jax.random.randint(kf, (batch,), 0, xv.shape[0])
        g_w = jax.grad(inner_loss)(w, lam, ig)
        hvp = jax.jvp(lambda ww: jax.grad(inner_loss)(ww, lam, ig), (w,), (v,))[1]
        cross = jax.grad(lambda ll: jnp.vdot(jax.grad(inner_loss)(w, ll, ig), v))(lam)
        gf = jax.grad(outer_loss)(w, jf)
        rho = rho0 / jnp.sqrt(t + 1.0)
        gamma = gamma0 / jnp.sqrt(t + 1.0)
        # benchopt's sign: v ≈ −H⁻¹∇f, D_v = Hv + ∇f, D_λ = cross·v (∇_λ f = 0).
        return (lam - gamma * cross, w - rho * g_w, v - rho * (hvp + gf), key), None

    @jax.jit
    def run(key):
        init = (jnp.zeros(n), jnp.zeros((d, k)), jnp.zeros((d, k)), key)
        (lam, w, _, _), _ = jax.lax.scan(step, init, jnp.arange(iters, dtype=jnp.float64))
        return lam, w

    return timed(run, key, repeat=1)


def f1(flagged, corrupted):
    tp = np.sum(flagged & corrupted)
    fp = np.sum(flagged & ~corrupted)
    fn = np.sum(~flagged & corrupted)
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def main():
    rng = np.random.default_rng(2442)
    key = jax.random.PRNGKey(0)
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, float64")

    g, f = dense_quadratic(rng)
    iters = 200
    t, _ = soba_quadratic(g, f, iters, 64, 0.1, 0.01, key)
    peer = t / iters
    mine = lisse_time("bilevel_quadratic_dense", "soba_iteration")
    print(f"dense quadratic SOBA: {peer * 1e3:.3f} ms/iteration (peer)", end="")
    print(f", lisse {mine * 1e3:.3f} ms, peer/lisse = {peer / mine:.2f}" if mine else "")
    # Bytes one fused SOBA iteration must read (as in benches/bilevel.rs: each per-sample
    # matrix once, the upper triangle t(d) = d(d+1)/2 of the symmetric A, B):
    # 8·b·(t(dy) + dx·dy) for g plus 8·b·(t(dx) + t(dy) + dx·dy) for f; the triad moves
    # 24 bytes per element of its 20,000,000-element arrays.
    tri = 100 * 101 // 2
    soba_bytes = 8 * 64 * (tri + 100 * 100 + tri + tri + 100 * 100)
    triad = lisse_time("bilevel_triad", "stream_triad")
    triad_huge = same_run("bilevel_triad", "stream_triad_huge_pages")
    if mine and triad:
        # The dense group stores the matrices on transparent huge pages (Storage::DenseHugePages);
        # the reference triad is plain heap memory (4 KiB pages), the other triad huge pages too.
        lisse_bw, triad_bw = soba_bytes / mine, 24 * 20_000_000 / triad
        print(f"  lisse reads {lisse_bw / 2**30:.2f} GiB/s = {100 * lisse_bw / triad_bw:.0f}% of "
              f"the same run's triad ({triad_bw / 2**30:.2f} GiB/s)", end="")
        if triad_huge:
            huge_bw = 24 * 20_000_000 / triad_huge
            print(f", {100 * lisse_bw / huge_bw:.0f}% of its triad on huge pages "
                  f"({huge_bw / 2**30:.2f} GiB/s)", end="")
        print()
    small = same_run("bilevel_quadratic_dense_small_pages", "soba_iteration")
    if small and triad:
        small_bw = soba_bytes / small
        print(f"  Storage::Dense (heap, 4 KiB pages): {small * 1e3:.3f} ms, "
              f"{100 * small_bw / (24 * 20_000_000 / triad):.0f}% of the triad")

    tg, grad = exact_hypergradient_jaxopt(g, f, -2.0 * jnp.ones(100))
    print(f"jaxopt implicit-diff hypergradient (solve_cg): {tg * 1e3:.3f} ms, ‖∇Φ‖ = "
          f"{float(jnp.linalg.norm(grad)):.4e}")

    train, val, test = hyper_cleaning_data(rng)
    iters = 5000
    t, (lam, w) = soba_hyper_cleaning(train, val, iters, 64, 1.0, 1000.0, 0.01, key)
    peer = t / iters
    acc = float(np.mean(np.argmax(test[0] @ np.asarray(w), axis=1) == test[1]))
    score = f1(np.asarray(lam) < 0, train[2])
    mine = recent("bilevel_hyper_cleaning", "soba_iteration")
    print(f"hyper-cleaning SOBA ({iters} iterations): {peer * 1e6:.1f} µs/iteration (peer, one "
          f"scan), test accuracy {acc:.4f}, F1 {score:.3f}", end="")
    print(f"; lisse {mine * 1e6:.1f} µs, peer/lisse = {peer / mine:.2f}" if mine else "")


if __name__ == "__main__":
    ensure_venv()
    import jax
    import jax.numpy as jnp
    import jaxopt
    import numpy as np

    main()
