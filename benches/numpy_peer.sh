#!/usr/bin/env bash
# The multinomial full-batch gradient against NumPy + OpenBLAS and the compute roof, in ONE run
# (issue #5 goals: >= 50% of the same run's square-gemm rate, >= 3x NumPy): NumPy, then the
# criterion filter "compute_roof|multinomial_full_flops|naive" of benches/oracles.rs, then NumPy
# again, on the same shape (200,000 x 100, K = 10); prints both ratios (benches/numpy_peer.py).
#
# Usage: benches/numpy_peer.sh
#        MEASURE_LOCK=/path/to/lockfile benches/numpy_peer.sh   (shared machine: builds first,
#            then holds `flock` on the file only while measuring)
#        OPENBLAS_NUM_THREADS=1 RAYON_NUM_THREADS=1 benches/numpy_peer.sh   (one thread each)
#        benches/numpy_peer.sh --numpy-only
#        benches/numpy_peer.sh --small-pages   (criterion without huge pages; NumPy has them)
# Creates its virtual environment under benches/.venv-numpy-peer (pip install numpy, with its
# bundled OpenBLAS). Not run by CI.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
venv="$root/benches/.venv-numpy-peer"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip numpy
fi
if [ -z "${NUMPY_PEER_MEASURING:-}" ]; then
    # Build outside the lock: a build would hold it for minutes.
    cargo bench -p lisse-benches --bench oracles --no-run --quiet
    if [ -n "${MEASURE_LOCK:-}" ]; then
        exec env NUMPY_PEER_MEASURING=1 flock "$MEASURE_LOCK" "$0" "$@"
    fi
fi
exec "$venv/bin/python" "$root/benches/numpy_peer.py" "$@"
