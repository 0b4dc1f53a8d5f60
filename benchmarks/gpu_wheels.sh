#!/usr/bin/env bash
# Wheels for benchmarks/gpu_train.py on a CUDA machine that has PyTorch, transformers, accelerate and
# peft (and pandas, pyarrow, xxhash, as the GPU image does) but neither TRL nor datasets: TRL and
# datasets at the versions installed here, plus datasets' pure-Python needs dill and multiprocess
# (about 2 MB in all). pyarrow (~40 MB) and pandas are left out; add them when the target lacks them:
#   EXTRA="pyarrow==26.0.1 pandas==3.1.1" benchmarks/gpu_wheels.sh
#
#   benchmarks/gpu_wheels.sh            # -> benchmarks/wheels/ (keep it out of git; carry it along)
#   PY=3.11 benchmarks/gpu_wheels.sh    # the target's Python version (default 3.12, the GPU image's)
#
# On the GPU machine gpu_train.py installs them itself (offline) when trl is missing:
#   python3 benchmarks/gpu_train.py --wheels benchmarks/wheels
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
PY=${PY:-3.12}
DEST=${DEST:-benchmarks/wheels}
ver() { "$PYTHON" -c "import importlib.metadata as m; print(m.version('$1'))"; }
PKGS="trl==$(ver trl) datasets==$(ver datasets) dill==$(ver dill) multiprocess==$(ver multiprocess) ${EXTRA:-}"
mkdir -p "$DEST"
# shellcheck disable=SC2086
"$PYTHON" -m pip download --no-deps --only-binary=:all: --python-version "$PY" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d "$DEST" $PKGS
ls -l "$DEST"
du -sh "$DEST"
