#!/usr/bin/env bash
# SEA on the GPU (issue 6), run by scripts/gpu-check.sh with OUT (this part's folder), BIN, ROOT,
# SEABENCH, TESTS and MICROBENCH set; within 120 s on the H200:
#   1. the [gpu][sea] tests (stage-by-stage conformance with the CPU; failing on SKIP-GPU);   ≤ 45 s
#   2. the per-stage micro-benchmarks at T = 4k, 32k, 128k (and end to end at 256k, 512k);   ≤ 30 s
#   3. a short configs/h200/sea_long.toml sweep (T = 32k and 128k): SEA vs dense, dense_stream. ≤ 40 s
# Outputs: sea_tests.log, sea_stages.json (+ .log), sea_long.csv (+ .log), summary.txt.
set -uo pipefail
: "${OUT:?}" "${ROOT:?}" "${SEABENCH:?}" "${TESTS:?}" "${MICROBENCH:?}"
fail=0
note() { echo "50-sea-gpu: $*" | tee -a "$OUT/summary.txt"; }
: > "$OUT/summary.txt"
{
  echo "tests: $TESTS \"[gpu][sea]\" -r compact"
  echo "microbench: $MICROBENCH --benchmark_filter=<see 50-sea-gpu.sh> --benchmark_min_time=0.02 --benchmark_out_format=json"
  echo "sweep: $SEABENCH run $ROOT/configs/h200/sea_long.toml --device cuda --set 'sweep.seq_len=[32768,131072]'"
} > "$OUT/command.txt"

# --- 1. tests ---------------------------------------------------------------------------------
timeout 45 "$TESTS" "[gpu][sea]" -r compact > "$OUT/sea_tests.log" 2>&1
rc=$?
tail -n 3 "$OUT/sea_tests.log"
if grep -q "SKIP-GPU" "$OUT/sea_tests.log"; then
  note "FAIL: SEA GPU tests were skipped (SKIP-GPU)"; fail=1
elif [ $rc -ne 0 ] || ! grep -Eq "Passed all [0-9]+ test cases" "$OUT/sea_tests.log"; then
  note "FAIL: SEA GPU tests exited with $rc (124 = timed out); see sea_tests.log"; fail=1
else
  note "SEA GPU tests passed: $(grep -Eo 'Passed all [0-9]+ test cases with [0-9]+ assertions' "$OUT/sea_tests.log")"
fi

# --- 2. stage micro-benchmarks ------------------------------------------------------------------
filter='^sea_gpu/(.*/T:(4096|32768|131072)|end_to_end_fused/(performer_hist|pooled)/noncausal/k:64/T:(262144|524288))/'
timeout 30 "$MICROBENCH" --benchmark_filter="$filter" --benchmark_min_time=0.02 \
  --benchmark_out="$OUT/sea_stages.json" --benchmark_out_format=json > "$OUT/sea_stages.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
  note "FAIL: stage micro-benchmarks exited with $rc (124 = timed out); see sea_stages.log"; fail=1
elif [ ! -s "$OUT/sea_stages.json" ]; then
  note "FAIL: no stage micro-benchmark ran (they register only with a CUDA device); see sea_stages.log"; fail=1
else
  python3 - "$OUT/sea_stages.json" >> "$OUT/summary.txt" <<'PY' || fail=1
import json, sys
runs = json.load(open(sys.argv[1]))["benchmarks"]
bad = [r for r in runs if r.get("error_occurred")]
print(f"{'benchmark':<72} {'ms':>9} {'keys/q':>7}")
for r in runs:
    ms = r["real_time"] if r.get("time_unit") == "ms" else r["real_time"] / 1e6
    print(f"{r['name']:<72} {ms:>9.4f} {r.get('keys_per_query', 0):>7.1f}  {r.get('error_message', '')}")
print("stage benchmarks:", "FAILED" if bad or not runs else "passed", f"({len(runs)} runs, {len(bad)} errors)")
sys.exit(1 if bad or not runs else 0)
PY
fi

# --- 3. short sweep -----------------------------------------------------------------------------
timeout 40 "$SEABENCH" run "$ROOT/configs/h200/sea_long.toml" --device cuda -o "$OUT/sea_long.csv" --overwrite \
  --set 'sweep.seq_len=[32768,131072]' > "$OUT/sea_long.log" 2>&1
rc=$?
if [ $rc -ne 0 ] || [ ! -s "$OUT/sea_long.csv" ]; then
  note "FAIL: the sea_long sweep exited with $rc (124 = timed out); see sea_long.log"; fail=1
else
  python3 - "$OUT/sea_long.csv" >> "$OUT/summary.txt" <<'PY' || fail=1
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
ok = bool(rows)
def knobs(params):  # SEA's estimator and sparse implementation, from the resolved parameters
    kv = dict(x.split("=", 1) for x in params.split(";") if "=" in x)
    return "/".join(kv[k] for k in ("estimator", "sparse_impl") if k in kv)
print(f"{'variant':<13} {'knobs':<24} {'T':>7} {'status':<8} {'median_ms':>10} {'peak_mem_bytes':>14} {'rel_err':>9}")
for r in rows:
    print(f"{r['variant']:<13} {knobs(r.get('params', '')):<24} {r['seq_len']:>7} {r['status']:<8} "
          f"{r['latency_ms_median']:>10} {r['peak_mem_bytes']:>14} {r['rel_err']:>9}  {r['error'][:60]}")
    if r['device'] != 'cuda':
        print(f"  FAIL: ran on {r['device']}"); ok = False
    if r['variant'] == 'sea' and r['status'] != 'ok':
        print(f"  FAIL: sea T={r['seq_len']} {r['status']} {r['error']}"); ok = False
print("sea_long checks:", "passed" if ok else "FAILED")
sys.exit(0 if ok else 1)
PY
fi
exit $fail
