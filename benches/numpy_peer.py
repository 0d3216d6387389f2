"""NumPy peer of the lisse multinomial full-batch gradient, on the data shape of
benches/oracles.rs (200,000 samples x 100 features, K = 10, float64), beside NumPy's own
square dgemm (2000^3) as the compute roof, measured in the same run.

Run through benches/numpy_peer.sh, which creates the virtual environment.
The data are standard normal with random labels: the gradient's cost does not depend on the
values. Timings are the best of `REPS` runs after one warm-up.
"""

import os
import time

import numpy as np

D, N, K, GEMM_N, REPS = 100, 200_000, 10, 2000, 5


def gradient(x, labels, w, l2):
    """G = X (P - Y)^T / n + l2 W with P = softmax(W^T X), column-major samples as in lisse.

    x is d x n, w is d x K; the textbook vectorized form.
    """
    z = w.T @ x  # K x n
    z -= z.max(axis=0, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=0, keepdims=True)
    z[labels, np.arange(x.shape[1])] -= 1.0
    return x @ z.T / x.shape[1] + l2 * w


def best(f):
    f()
    times = []
    for _ in range(REPS):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    rng = np.random.default_rng(7)
    # Fortran order: each sample a contiguous column, as in lisse.
    x = np.asfortranarray(rng.standard_normal((D, N)))
    labels = rng.integers(0, K, N)
    w = 0.1 * rng.standard_normal((D, K))
    a = rng.standard_normal((GEMM_N, GEMM_N))
    b = rng.standard_normal((GEMM_N, GEMM_N))
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    t_grad = best(lambda: gradient(x, labels, w, 1e-4))
    t_gemm = best(lambda: a @ b)
    flops_grad = 4 * D * K * N
    flops_gemm = 2 * GEMM_N**3
    print(f"numpy {np.__version__}, BLAS threads: {threads}")
    np.show_config() if os.environ.get("SHOW_CONFIG") else None
    print(f"numpy multinomial gradient: {t_grad * 1e3:.1f} ms = {flops_grad / t_grad / 1e9:.1f} GFLOP/s")
    print(f"numpy square dgemm {GEMM_N}^3: {t_gemm * 1e3:.1f} ms = {flops_gemm / t_gemm / 1e9:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
