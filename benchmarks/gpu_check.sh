#!/usr/bin/env bash
# The GPU path in one short run (issue 7): autoencoder training samples/s on the GPU
# against 2 CPU threads, embedding items/s on each, and the linear-probe accuracy of a
# GPU-trained model against a CPU-trained one. A few minutes on one H200; on a machine
# without CUDA it runs the CPU side at a small size and says the GPU parts were skipped.
#
# Without .venv it makes one: torch first (TORCH_SPEC, default torch==2.13.0, which may
# resolve to a CPU-only build: on a GPU machine name a CUDA one, e.g.
# TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"), then
# the project. With .venv present, a TORCH_SPEC that is set is installed into it.
# Arguments go to benchmarks/gpu_check.py (--rows, --epochs, --cpu-threads).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
    # shellcheck disable=SC2086  # TORCH_SPEC may hold pip options as well
    .venv/bin/pip install --quiet ${TORCH_SPEC:-torch==2.13.0}
    .venv/bin/pip install --quiet -e .
elif [ -n "${TORCH_SPEC:-}" ]; then
    # shellcheck disable=SC2086
    .venv/bin/pip install --quiet $TORCH_SPEC
fi

.venv/bin/python -c 'import torch; print(f"torch {torch.__version__}, CUDA build {torch.version.cuda}, CUDA available {torch.cuda.is_available()}")'
exec .venv/bin/python -m benchmarks.gpu_check "$@"
