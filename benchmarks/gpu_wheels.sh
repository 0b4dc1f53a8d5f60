#!/usr/bin/env bash
# Everything benchmarks/gpu_check.sh needs on the device machine that its image lacks, into the
# git-ignored benchmarks/wheels/ (carry it: run's carry ["benchmarks/wheels"]):
#   - wheels (py3.12 manylinux, --no-deps, at the versions installed here) of
#       TRAIN: TRL and datasets with datasets' pure-Python needs (benchmarks/gpu_train.py), and
#       KINDLING: Kindling's own wheel and what it imports on the paper-arms path (store, rl, the
#       judge's LLM client)
#       and the image has not (its list: .library/device/KINDS.md, "Python packages already there";
#       found by running gpu_paper_arms.py --smoke with only those packages and these wheels);
#   - paper_data/: the first ROWS rows of every file of the paper's data (DATA), since ../shared
#     does not travel (upstream ships no license: never commit it).
# It prints the wheels' size, the data's, and the total with the tracked tree (limit: 64 MiB a call).
#
#   benchmarks/gpu_wheels.sh                 # -> benchmarks/wheels/
#   KINDLING=0 benchmarks/gpu_wheels.sh      # gpu_train.py's wheels only (no paper arms)
#   PY=3.11 DATA=/path/to/igniting ROWS=200 benchmarks/gpu_wheels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
PY=${PY:-3.12}
DEST=${DEST:-benchmarks/wheels}
DATA=${DATA:-../shared/data/igniting}
ROWS=${ROWS:-400}
TRAIN="trl datasets dill multiprocess"
KINDLING_PKGS="pydantic pydantic_core annotated-types typing-inspection typing_extensions sqlalchemy alembic mako
  langgraph langgraph-checkpoint langgraph-prebuilt langgraph-sdk langchain-core langchain-protocol langsmith
  langchain-openai openai jiter httpx2 httpcore2 truststore sniffio distro requests-toolbelt jsonpatch jsonpointer
  orjson ormsgpack uuid_utils websockets tenacity aiolimiter json_repair"
NAMES="$TRAIN"
if [ "${KINDLING:-1}" != 0 ]; then NAMES="$NAMES $KINDLING_PKGS"; fi
PKGS=""
for name in $NAMES; do
    PKGS="$PKGS $name==$("$PYTHON" -c "import importlib.metadata as m; print(m.version('$name'))")"
done
mkdir -p "$DEST"
rm -f "$DEST"/*.whl  # one version of each: two stop the install
# shellcheck disable=SC2086
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version "$PY" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any -d "$DEST" $PKGS ${EXTRA:-}
if [ "${KINDLING:-1}" != 0 ]; then
    # Kindling itself: the checkout's folders install as kindling.agents, kindling.rl, ... only
    # through the package (setup.py's package_dir), so the device machine gets its wheel too
    "$PYTHON" -m pip wheel -q --no-deps --no-build-isolation -w "$DEST" .
    "$PYTHON" -m benchmarks.gpu.paper_subset "$DATA" "$DEST/paper_data" --rows "$ROWS"
fi
ls -l "$DEST"
wheels=$(cat "$DEST"/*.whl | wc -c)
all=$(du -sb "$DEST" | cut -f1)
tree=$(git ls-files -z | xargs -0 cat | wc -c)
echo "wheels: $(ls "$DEST"/*.whl | wc -l) files, $((wheels / 1024)) KiB; $DEST in all $((all / 1024)) KiB"
echo "with the tracked tree ($((tree / 1024)) KiB): $(((all + tree) / 1048576)) MiB of the 64 MiB a call may carry"
