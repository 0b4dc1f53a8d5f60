#!/usr/bin/env bash
# The GPU check in one device call: benchmarks/gpu_train.py (every phase), then
# benchmarks/gpu_paper_arms.py (configs/paper.yaml's GRPO arms at small scale), each under its own
# timeout so the whole stays under about 8 minutes. Prepare here first (pip must reach PyPI):
#   benchmarks/gpu_wheels.sh                       # wheels + paper-data subset -> benchmarks/wheels/
# then, on the device machine (run's carry ["benchmarks/wheels"], timeout_s 540):
#   bash benchmarks/gpu_check.sh
# Writes $OUT/gpu_check.log, $OUT/gpu_train.json and $OUT/gpu_paper_arms.json (OUT defaults to
# /tmp/gpu_check). Exit status: 0 when both parts succeeded, else the first failing part's.
# Each part's table ends with the measured peak memory beside the memory estimator's figure per
# phase or arm (benchmarks/gpu/estimate.py); the dry run prints "no GPU: not measured" there.
# A CPU dry run of the script itself (no wheels installed, tiny models):
#   SMOKE=1 INSTALL=0 PYTHON=.venv/bin/python DATA=../shared/data/igniting bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
OUT=${OUT:-/tmp/gpu_check}
DATA=${DATA:-benchmarks/wheels/paper_data}
TRAIN_TIMEOUT=${TRAIN_TIMEOUT:-270}
ARMS_TIMEOUT=${ARMS_TIMEOUT:-200}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 USE_HUB_KERNELS=0  # no network there
SMOKE_FLAG=()
if [ "${SMOKE:-0}" != 0 ]; then SMOKE_FLAG=(--smoke); fi

main() {
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
    if [ "${INSTALL:-1}" != 0 ]; then
        "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site benchmarks/wheels/*.whl || { echo "wheel install failed"; return 3; }
        export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    fi
    "$PYTHON" - <<'EOF'
import importlib.metadata as m, platform
names = ("torch", "transformers", "accelerate", "peft", "trl", "datasets", "huggingface_hub", "tokenizers",
         "pyarrow", "fsspec", "typing_extensions", "pydantic", "sqlalchemy", "langchain-core", "vllm")
found = []
for n in names:
    try:
        found.append(f"{n} {m.version(n)}")
    except m.PackageNotFoundError:
        found.append(f"{n} -")
print("python", platform.python_version(), "|", ", ".join(found), flush=True)
EOF
    local rc=0 part_rc
    echo "== gpu_train.py (timeout ${TRAIN_TIMEOUT}s)"
    timeout "$TRAIN_TIMEOUT" "$PYTHON" benchmarks/gpu_train.py "${SMOKE_FLAG[@]}" --out "$OUT/gpu_train.json"
    part_rc=$?
    echo "gpu_train.py exit $part_rc"
    [ $rc = 0 ] && rc=$part_rc
    echo "== gpu_paper_arms.py (timeout ${ARMS_TIMEOUT}s)"
    timeout "$ARMS_TIMEOUT" "$PYTHON" benchmarks/gpu_paper_arms.py "${SMOKE_FLAG[@]}" --data "$DATA" \
        --out "$OUT/gpu_paper_arms.json"
    part_rc=$?
    echo "gpu_paper_arms.py exit $part_rc"
    [ $rc = 0 ] && rc=$part_rc
    date -u
    return $rc
}

main 2>&1 | tee "$OUT/gpu_check.log"
exit "${PIPESTATUS[0]}"
