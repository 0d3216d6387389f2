#!/usr/bin/env python3
"""Optimistic OMD in plain NumPy against lisse-online, on the same loss stream.

Usage: python3 benches/online_numpy.py [BUDGET_SECONDS]

Creates its own virtualenv under benches/.venv-online (pip install numpy), times the optimistic
OGD round of Chen et al. (2023) with the convex-smooth adaptive step written plainly in NumPy,
runs `cargo run --release -p lisse-benches --example online_timing` for the same round in
lisse-online (and a serial triad over vectors of the same length, in the same process), and
prints, for each d, both times, the lisse/NumPy ratio and the round time in triads.

Same work on both sides: a precomputed pool of 8 gradients
g_k[i] = sin(0.37 i + 1.3 k) / sqrt(d/2) is replayed round by round (neither side times the
generation of the stream); domain: the unit ball; G = 1, delta = 1; hint M_t = g_{t-1}.
Both sides time batches of max(1, 200000 // d) rounds for BUDGET_SECONDS (default 1.5) and
report the fastest batch (the one least disturbed on a shared machine) and the median batch.
Not run by CI.
"""
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
VENV = os.path.join(ROOT, "benches", ".venv-online")
DIMS = [10, 1000, 100_000]


def ensure_venv():
    py = os.path.join(VENV, "bin", "python")
    if sys.prefix == VENV:
        return
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([py, "-m", "pip", "install", "--quiet", "numpy"])
    os.execv(py, [py] + sys.argv)


def numpy_round_ns(d, budget_s):
    """(fastest, median) nanoseconds per round of plain-NumPy optimistic OGD."""
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
        r = g - hint
        acc += float(np.dot(r, r))
        last = g
        return x

    per_batch = max(1, 200_000 // d)
    k = 0
    for _ in range(per_batch):  # warm-up
        round_(k)
        k += 1
    batches = []
    start = time.perf_counter()
    while time.perf_counter() - start < budget_s or len(batches) < 5:
        t = time.perf_counter()
        for _ in range(per_batch):
            round_(k)
            k += 1
        batches.append((time.perf_counter() - t) * 1e9 / per_batch)
    batches.sort()
    return batches[0], batches[len(batches) // 2]


def rust_timings(budget_s):
    out = subprocess.run(
        [
            "cargo", "run", "--quiet", "--release", "-p", "lisse-benches",
            "--example", "online_timing", "--", str(budget_s),
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {row["d"]: row for row in rows}


def main():
    ensure_venv()
    import numpy as np

    budget_s = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5
    # Build first, so that compiling does not overlap the NumPy timings.
    subprocess.check_call(
        ["cargo", "build", "--quiet", "--release", "-p", "lisse-benches", "--example", "online_timing"],
        cwd=ROOT,
    )
    print(f"NumPy {np.__version__}, Python {sys.version.split()[0]}, load average {os.getloadavg()}")
    py = {d: numpy_round_ns(d, budget_s) for d in DIMS}
    rs = rust_timings(budget_s)
    print()
    print("| d | NumPy ns/round (min / median) | lisse ns/round (min / median) | lisse vs NumPy (min) "
          "| serial triad ns (min) | lisse round in triads |")
    print("|---|---|---|---|---|---|")
    for d in DIMS:
        r = rs[d]
        print(
            f"| {d:,} | {py[d][0]:,.0f} / {py[d][1]:,.0f} "
            f"| {r['round_ns_min']:,.1f} / {r['round_ns_median']:,.1f} "
            f"| **{py[d][0] / r['round_ns_min']:.1f}x** "
            f"| {r['triad_ns_min']:,.1f} | {r['round_ns_min'] / r['triad_ns_min']:.2f} |"
        )


if __name__ == "__main__":
    main()
