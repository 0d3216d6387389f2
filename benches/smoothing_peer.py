#!/usr/bin/env python3
"""CERTIFY (Cohen et al. 2019) in NumPy + SciPy against lisse-smoothing, on the same model.

Builds its own virtualenv (benches/.venv-smoothing-peer, numpy + scipy via pip), runs the Rust
example `smoothing_peer` (which writes the softmax layer, the inputs, and its certificates and
per-image times), then certifies the same inputs with the textbook NumPy implementation:
n0 = 100 selection samples, n = 100,000 estimation samples in batches of 10,000, sigma = 0.5,
one-sided alpha = 0.001 (scipy.stats.beta.ppf(alpha, k, n - k + 1), the bound statsmodels'
proportion_confint(alpha=2*alpha, method="beta") gives). Prints per-image times, the time
ratio, and whether the certificates agree:
  - same certified class for every image;
  - radii within Monte-Carlo noise (different random streams, same sample counts);
  - exactly: SciPy's Clopper-Pearson bound of the Rust counts equals Rust's p_A lower bound to
    1e-12 relative, and Rust's is never above it.

Usage: python3 benches/smoothing_peer.py [IMAGES]    (not run by CI)
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.path.join(HERE, ".venv-smoothing-peer")


def ensure_venv():
    py = os.path.join(VENV, "bin", "python")
    if sys.executable != py:
        if not os.path.exists(py):
            subprocess.check_call([sys.executable, "-m", "venv", VENV])
            subprocess.check_call([py, "-m", "pip", "install", "-q", "numpy", "scipy"])
        os.execv(py, [py] + sys.argv)


def main():
    ensure_venv()
    import numpy as np
    from scipy.stats import beta, norm

    images = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    out = os.path.join(ROOT, "target", "smoothing-peer")
    subprocess.check_call(["cargo", "run", "--release", "-q", "-p", "lisse-benches",
                           "--example", "smoothing_peer", "--", out, str(images)], cwd=ROOT)
    rows = [l.split() for l in open(os.path.join(out, "model.txt")) if l.strip()]
    k, d = map(int, rows[0])
    wb = np.array([[float(v) for v in r] for r in rows[1:]])
    W, b = wb[:, :d], wb[:, d]
    X = np.loadtxt(os.path.join(out, "inputs.txt")).reshape(-1, d)
    rust = json.load(open(os.path.join(out, "rust.json")))

    sigma, n0, n, alpha, batch = 0.5, 100, 100_000, 1e-3, 10_000
    rng = np.random.default_rng(2024)

    def counts(x, num):
        c = np.zeros(k, dtype=np.int64)
        left = num
        while left > 0:
            m = min(batch, left)
            noisy = x + sigma * rng.standard_normal((m, d))
            c += np.bincount(np.argmax(noisy @ W.T + b, axis=1), minlength=k)
            left -= m
        return c

    def certify(x):
        c_a = int(np.argmax(counts(x, n0)))
        n_a = int(counts(x, n)[c_a])
        p_l = beta.ppf(alpha, n_a, n - n_a + 1) if n_a > 0 else 0.0
        if p_l < 0.5:
            return None, 0.0
        return c_a, sigma * norm.ppf(p_l)

    np_times, agree_class, max_dr, worst_rel = [], True, 0.0, 0.0
    for i, x in enumerate(X):
        t = time.perf_counter()
        cls, radius = certify(x)
        np_times.append(time.perf_counter() - t)
        r = rust[i]
        agree_class &= (cls == r["class"])
        max_dr = max(max_dr, abs(radius - r["radius"]))
        ka = r["count_a"]
        ref = beta.ppf(alpha, ka, n - ka + 1) if ka > 0 else 0.0
        if ref > 0:
            worst_rel = max(worst_rel, abs(r["p_a_lower"] - ref) / ref)
            if r["p_a_lower"] > ref * (1 + 1e-15):
                print(f"image {i}: Rust bound {r['p_a_lower']} above SciPy's {ref}")
        print(f"image {i}: numpy {np_times[-1] * 1e3:8.1f} ms  class {cls} r {radius:.4f} | "
              f"rust {r['seconds'] * 1e3:7.1f} ms  class {r['class']} r {r['radius']:.4f}")
    t_np = sum(np_times) / len(np_times)
    t_rs = sum(r["seconds"] for r in rust) / len(rust)
    print(f"\nper image: NumPy+SciPy {t_np * 1e3:.1f} ms, lisse-smoothing {t_rs * 1e3:.1f} ms, "
          f"ratio {t_np / t_rs:.1f}x")
    print(f"classes agree: {agree_class}; max |radius difference| {max_dr:.4f} (Monte-Carlo noise); "
          f"Clopper-Pearson bound of the Rust counts vs SciPy: max relative difference {worst_rel:.2e}")


if __name__ == "__main__":
    main()
