#!/usr/bin/env bash
# The one-call GPU check (issue 5; docs/gpu.md). Runs on the GPU machine from shipped binaries
# (scripts/package-gpu.sh builds them on a development machine: dist/bin, dist/configs,
# dist/scripts) or from a build tree (build/, or $BUILD_DIR):
#   1. the [gpu] tests, failing if any of them printed the SKIP-GPU marker (a skipped GPU test
#      must never pass as run);
#   2. configs/gpu_quick.toml with --device cuda, checking that dense reached `oom` rows while
#      dense_stream and the fitting dense cases ran.
#   3. every scripts/gpu-check.d/*.sh (one per GPU feature: kernels, baselines, SEA), each in its
#      own OUTDIR/<name>/ folder and time limit.
# Everything goes to OUTDIR: logs, the CSV, a status summary and the exact commands with the
# commit. Steps 1-2 are time-limited to 140 s and 200 s; GPU_CHECK_SKIP_BASE=1 skips them and
# GPU_CHECK_ONLY=REGEX picks parts of step 3, so a short device loan can be spent where needed.
# Usage: scripts/gpu-check.sh OUTDIR
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
OUT=$1
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

if [ -x "$ROOT/bin/seabench" ]; then  # dist/ layout
  SEABENCH="$ROOT/bin/seabench"
  TESTS="$ROOT/bin/seabench_tests"
else                                   # source tree with a build directory
  BUILD=${BUILD_DIR:-$ROOT/build}
  SEABENCH="$BUILD/bin/seabench"
  TESTS="$BUILD/seabench_tests"
fi
CONFIG="$ROOT/configs/gpu_quick.toml"
for f in "$SEABENCH" "$TESTS"; do
  [ -x "$f" ] || { echo "gpu-check: $f not found (run scripts/package-gpu.sh, or set BUILD_DIR)" >&2; exit 2; }
done
[ -f "$CONFIG" ] || { echo "gpu-check: $CONFIG not found" >&2; exit 2; }

fail=0
note() { echo "gpu-check: $*" | tee -a "$OUT/summary.txt"; }
: > "$OUT/summary.txt"
start=$(date +%s)

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(hostname)"
  if [ -f "$ROOT/BUILD_INFO" ]; then
    cat "$ROOT/BUILD_INFO"
  elif git -C "$ROOT" rev-parse HEAD > /dev/null 2>&1; then
    echo "commit: $(git -C "$ROOT" rev-parse HEAD)$(git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || echo ' (dirty)')"
  fi
  echo "seabench: $("$SEABENCH" --version 2>&1)"
  echo "tests: $TESTS \"[gpu]\" -r compact"
  echo "sweep: $SEABENCH run $CONFIG --device cuda -o $OUT/gpu_quick.csv --overwrite"
} > "$OUT/command.txt"
timeout 20 nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || echo "nvidia-smi unavailable" >> "$OUT/nvidia-smi.txt"

# --- 1. GPU tests ---------------------------------------------------------------------------
if [ -z "${GPU_CHECK_SKIP_BASE:-}" ]; then
timeout 140 "$TESTS" "[gpu]" -r compact > "$OUT/gpu_tests.log" 2>&1
rc=$?
tail -n 5 "$OUT/gpu_tests.log"
if grep -q "SKIP-GPU" "$OUT/gpu_tests.log"; then
  note "FAIL: GPU tests were skipped (SKIP-GPU in gpu_tests.log):"
  grep "SKIP-GPU" "$OUT/gpu_tests.log" | head -n 5 | tee -a "$OUT/summary.txt"
  fail=1
elif [ $rc -ne 0 ]; then
  note "FAIL: GPU tests exited with $rc (124 = timed out); see gpu_tests.log"
  fail=1
elif ! grep -Eq "Passed all [0-9]+ test cases" "$OUT/gpu_tests.log"; then
  note "FAIL: no 'Passed all N test cases' line in gpu_tests.log"
  fail=1
else
  note "GPU tests passed: $(grep -Eo 'Passed all [0-9]+ test cases with [0-9]+ assertions' "$OUT/gpu_tests.log")"
fi

# --- 2. the gpu_quick sweep -------------------------------------------------------------------
timeout 200 "$SEABENCH" run "$CONFIG" --device cuda -o "$OUT/gpu_quick.csv" --overwrite > "$OUT/gpu_quick.log" 2>&1
rc=$?
tail -n 3 "$OUT/gpu_quick.log"
if [ $rc -ne 0 ]; then
  note "FAIL: the gpu_quick sweep exited with $rc (124 = timed out); see gpu_quick.log"
  fail=1
fi
if [ -s "$OUT/gpu_quick.csv" ]; then
  python3 - "$OUT/gpu_quick.csv" >> "$OUT/summary.txt" <<'PY' || fail=1
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
ok = True
print(f"{'variant':<13} {'dtype':<5} {'T':>6} {'status':<8} {'median_ms':>10} {'peak_mem_bytes':>14} {'rel_err':>9}  error")
for r in rows:
    print(f"{r['variant']:<13} {r['dtype']:<5} {r['seq_len']:>6} {r['status']:<8} {r['latency_ms_median']:>10} "
          f"{r['peak_mem_bytes']:>14} {r['rel_err']:>9}  {r['error'][:80]}")
    if r['device'] != 'cuda':
        print(f"  FAIL: ran on {r['device']}"); ok = False
for r in rows:
    fits = r['variant'] == 'dense_stream' or int(r['seq_len']) <= 32768
    if fits and r['status'] != 'ok':
        print(f"  FAIL: {r['variant']} {r['dtype']} T={r['seq_len']} should run: {r['status']} {r['error']}"); ok = False
if not any(r['variant'] == 'dense' and r['status'] == 'oom' for r in rows):
    print("  FAIL: no oom row for dense"); ok = False
print("gpu_quick checks:", "passed" if ok else "FAILED")
sys.exit(0 if ok else 1)
PY
else
  note "FAIL: no gpu_quick.csv written"
  fail=1
fi

fi  # GPU_CHECK_SKIP_BASE

# --- 3. per-feature checks: every scripts/gpu-check.d/NN-name.sh, in order --------------------
# Each gets OUT (its own folder, $OUT/NN-name), BIN (the binaries' folder), ROOT, SEABENCH, TESTS and
# MICROBENCH, must finish within its time limit (GPU_CHECK_PART_LIMIT, default 120 s) and exit 0
# when its checks passed. GPU_CHECK_ONLY=NN-name runs just that one (a regular expression).
BIN=$(dirname "$SEABENCH")
MICROBENCH="$BIN/seabench_microbench"
for part in "$HERE"/gpu-check.d/*.sh; do
  [ -e "$part" ] || continue
  name=$(basename "$part" .sh)
  if [ -n "${GPU_CHECK_ONLY:-}" ] && ! [[ "$name" =~ ${GPU_CHECK_ONLY} ]]; then continue; fi
  mkdir -p "$OUT/$name"
  part_start=$(date +%s)
  OUT="$OUT/$name" BIN="$BIN" ROOT="$ROOT" SEABENCH="$SEABENCH" TESTS="$TESTS" MICROBENCH="$MICROBENCH" \
    timeout "${GPU_CHECK_PART_LIMIT:-120}" bash "$part" > "$OUT/$name/log.txt" 2>&1
  rc=$?
  tail -n 3 "$OUT/$name/log.txt"
  if [ $rc -ne 0 ]; then
    note "FAIL: $name exited with $rc (124 = timed out) after $(( $(date +%s) - part_start )) s; see $name/log.txt"
    fail=1
  else
    note "$name passed in $(( $(date +%s) - part_start )) s"
  fi
done

note "elapsed $(( $(date +%s) - start )) s; outputs in $OUT"
if [ $fail -ne 0 ]; then
  note "RESULT: FAILED"
  exit 1
fi
note "RESULT: passed"
