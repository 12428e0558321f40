#!/bin/sh
# Runs a Python script of this project with an interpreter that has torch and onnx (Debian's
# python3-torch and python3-onnx live in /usr/bin/python3, which a pyenv python3 on PATH hides),
# niced and on TORCH_THREADS threads (default 1), from the repository root.
#   sh scripts/train-diffusion/python.sh scripts/train-diffusion/train.py [--steps N ...]
set -e
cd "$(dirname "$0")/../.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c "import torch, onnx, numpy" 2>/dev/null; then PY=$candidate; break; fi
  done
fi
if [ -z "$PY" ]; then
  echo "needs python3 with torch, onnx and numpy (Debian: apt-get install python3-torch python3-onnx)" >&2
  exit 1
fi
export TORCH_THREADS=${TORCH_THREADS:-1}
export OMP_NUM_THREADS=$TORCH_THREADS
exec nice -n 10 "$PY" "$@"
