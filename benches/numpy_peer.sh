#!/usr/bin/env bash
# Runs the NumPy peer of the multinomial gradient (benches/numpy_peer.py) in a virtual
# environment it creates under target/numpy-venv (NumPy from PyPI, with its bundled OpenBLAS).
# Usage: benches/numpy_peer.sh            (BLAS uses all cores)
#        OPENBLAS_NUM_THREADS=1 benches/numpy_peer.sh
# Not run by CI. Compare with `cargo bench -p lisse-benches --bench oracles -- "roof|flops"`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/target/numpy-venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip numpy
fi
exec "$venv/bin/python" "$root/benches/numpy_peer.py"
