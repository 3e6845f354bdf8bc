#!/usr/bin/env bash
# Runs every fuzz harness (or the ones named) under atheris for a bounded time each.
#   fuzz/run.sh [SECONDS_PER_HARNESS] [HARNESS...]      default: 60 s, all harnesses
# Environment: FUZZ_VENV (default .venv-fuzz, created with the project and atheris installed),
#              FUZZ_WORK (default ${TMPDIR:-/tmp}/domvia-fuzz: growing corpus, crash files, logs),
#              FUZZ_JOBS (default 1: harnesses run one after another; 2 runs two at a time).
# Exit status: 0 when no harness found a crash, 1 otherwise. Crash inputs land in $FUZZ_WORK/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-60}"
shift || true
VENV="${FUZZ_VENV:-.venv-fuzz}"
WORK="${FUZZ_WORK:-${TMPDIR:-/tmp}/domvia-fuzz}"
JOBS="${FUZZ_JOBS:-1}"

if ! "$VENV/bin/python" -c 'import atheris, domvia_e2ee' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e . atheris
fi
PY="$VENV/bin/python"
HARNESSES=("$@")
if [ ${#HARNESSES[@]} -eq 0 ]; then
    mapfile -t HARNESSES < <(PYTHONPATH=fuzz:. "$PY" -c 'import harnesses; print("\n".join(harnesses.HARNESSES))')
fi

# Seeds from the lead's vectors/ join the checked-in corpus in the working copy.
mkdir -p "$WORK/crashes"
PYTHONPATH=fuzz:. "$PY" - "$WORK" <<'PYEOF'
import hashlib, sys
from pathlib import Path
import smoke
for name, inputs in smoke.vector_seeds().items():
    folder = Path(sys.argv[1]) / "corpus" / name
    folder.mkdir(parents=True, exist_ok=True)
    for data in inputs:
        (folder / ("vector-" + hashlib.sha256(data).hexdigest()[:16])).write_bytes(data)
PYEOF

run_one() {
    local name="$1" log="$WORK/$1.log"
    mkdir -p "$WORK/corpus/$name"
    set +e
    "$PY" fuzz/fuzz_one.py "$name" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
        -max_len=8192 -dict=fuzz/domvia.dict -print_final_stats=1 \
        -artifact_prefix="$WORK/crashes/$name-" "$WORK/corpus/$name" "fuzz/corpus/$name" >"$log" 2>&1
    local status=$?
    set -e
    local runs eps cov
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
    printf '%-18s %s %12s executions %8s exec/s  cov %-5s %5s s\n' "$name" \
        "$([ $status -eq 0 ] && echo ok || echo CRASH)" "${runs:-?}" "${eps:-?}" "${cov:-?}" "$SECONDS_EACH"
    return $status
}

failed=0
running=0
for name in "${HARNESSES[@]}"; do
    run_one "$name" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait -n || failed=1
        running=$((running - 1))
    fi
done
while [ "$running" -gt 0 ]; do
    wait -n || failed=1
    running=$((running - 1))
done
[ "$failed" -eq 0 ] || echo "crash inputs: $WORK/crashes/ (logs: $WORK/*.log)"
exit "$failed"
