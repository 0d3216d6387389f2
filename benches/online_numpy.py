#!/usr/bin/env python3
"""Optimistic OMD in plain NumPy against lisse-online, on the same loss stream.

Usage: python3 benches/online_numpy.py [--rust-only-cached]

Creates its own virtualenv under target/online-numpy-venv (pip install numpy), times the
optimistic OGD round of Chen et al. (2023) with the convex-smooth adaptive step written
plainly in NumPy, runs `cargo bench -p lisse-benches --bench online` for the matching Rust
learner (`online_round/d=*/optimistic_omd`), reads criterion's estimates and prints the ratio.

Stream (shared with benches/online.rs): a pool of 8 gradients
g_k[i] = sin(0.37 i + 1.3 k) / sqrt(d/2), cycled; domain: the unit ball; G = 1, delta = 1.
Not run by CI.
"""
import glob
import json
import os

# One thread, like the Rust learner: a multithreaded BLAS inside np.dot would time the thread
# pool, not the algorithm (and collapses on a shared, oversubscribed machine).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "target", "online-numpy-venv")
DIMS = [10, 1000, 100_000]


def ensure_venv():
    py = os.path.join(VENV, "bin", "python")
    if sys.prefix == VENV:
        return
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([py, "-m", "pip", "install", "--quiet", "numpy"])
    os.execv(py, [py] + sys.argv)


def numpy_rounds_per_second(d, budget_s=3.0):
    import numpy as np

    i = np.arange(d, dtype=np.float64)
    pool = [np.sin(0.37 * i + 1.3 * k) / np.sqrt(d / 2.0) for k in range(8)]
    radius, diameter, g_bound, delta = 1.0, 2.0, 1.0, 1.0
    center = np.zeros(d)
    last = np.zeros(d)
    acc = 0.0

    def project(v):
        n = np.linalg.norm(v)
        if n > radius:
            v *= radius / n
        return v

    def round_(k):
        nonlocal center, last, acc
        eta = diameter / np.sqrt(delta + 4.0 * g_bound**2 + acc)
        hint = last  # M_t = g_{t-1}
        x = project(center - eta * hint)  # play
        g = pool[k % 8]  # observe g_t at x (the stream does not depend on x)
        center = project(center - eta * g)  # update from the same centre, same eta
        acc += float(np.dot(g - hint, g - hint))
        last = g
        return x

    for k in range(100):  # warm-up
        round_(k)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget_s:
        for _ in range(100):
            round_(n)
            n += 1
    return n / (time.perf_counter() - start)


def rust_rounds_per_second():
    subprocess.check_call(
        [
            "cargo", "bench", "-p", "lisse-benches", "--bench", "online", "--",
            "optimistic_omd", "--warm-up-time", "1", "--measurement-time", "3",
        ],
        cwd=ROOT,
    )
    out = {}
    for d in DIMS:
        pattern = os.path.join(
            ROOT, "target", "criterion", f"online_round_d={d}", "optimistic_omd", "new", "estimates.json"
        )
        files = glob.glob(pattern)
        if not files:
            raise SystemExit(f"criterion estimates not found: {pattern}")
        with open(files[0]) as f:
            ns = json.load(f)["mean"]["point_estimate"]
        out[d] = 1e9 / ns
    return out


def main():
    ensure_venv()
    import numpy as np

    print(f"NumPy {np.__version__}, Python {sys.version.split()[0]}")
    py = {d: numpy_rounds_per_second(d) for d in DIMS}
    rs = rust_rounds_per_second()
    print()
    print("| d | NumPy rounds/s | NumPy µs/round | lisse rounds/s | lisse µs/round | ratio |")
    print("|---|---|---|---|---|---|")
    for d in DIMS:
        print(
            f"| {d} | {py[d]:,.0f} | {1e6 / py[d]:.2f} | {rs[d]:,.0f} | {1e6 / rs[d]:.3f} | {rs[d] / py[d]:.1f}x |"
        )


if __name__ == "__main__":
    main()
