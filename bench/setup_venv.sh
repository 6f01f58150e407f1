#!/usr/bin/env bash
# Creates bench/.venv with the peer frameworks for the training benchmark.
# Idempotent: if the pinned versions are already importable it does nothing.
# Not used by CI: the download is large (torch from PyPI brings CUDA wheels).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"

# Pinned so that numbers from different days compare like with like.
TORCH_VERSION="2.15.0"
JAX_VERSION="0.10.2"
OPTAX_VERSION="0.2.8"
NUMPY_VERSION="2.4.6"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" - <<PY 2>/dev/null
import importlib.metadata as m
want = {"torch": "$TORCH_VERSION", "jax": "$JAX_VERSION", "optax": "$OPTAX_VERSION", "numpy": "$NUMPY_VERSION"}
bad = [k for k, v in want.items() if m.version(k).split("+")[0] != v]
raise SystemExit(1 if bad else 0)
PY
then
    echo "setup_venv: $venv already has torch $TORCH_VERSION, jax $JAX_VERSION, optax $OPTAX_VERSION, numpy $NUMPY_VERSION" >&2
    exit 0
fi

python3 -m venv "$venv"
pip="$venv/bin/pip"
"$pip" install --quiet --upgrade pip

# A CPU-only torch wheel is ~200 MB instead of ~3 GB, so try its index first;
# on machines that only reach PyPI this fails quickly and we take the default
# wheel (CUDA libraries are downloaded but never loaded on this CPU machine).
if ! timeout 60 "$pip" install --quiet --index-url https://download.pytorch.org/whl/cpu \
        "torch==$TORCH_VERSION" 2>/dev/null; then
    echo "setup_venv: CPU-only torch index not reachable; installing the default PyPI wheel (~3 GB)" >&2
    "$pip" install --quiet "torch==$TORCH_VERSION"
fi
"$pip" install --quiet "jax[cpu]==$JAX_VERSION" "optax==$OPTAX_VERSION" "numpy==$NUMPY_VERSION"
"$venv/bin/python" -c 'import torch, jax, optax, numpy; print("setup_venv: torch", torch.__version__, "jax", jax.__version__, "optax", optax.__version__, "numpy", numpy.__version__)'
