#!/usr/bin/env bash
# GPU check of issue 8's sparse baselines on CUDA (run by scripts/gpu-check.sh with OUT, ROOT, SEABENCH
# and TESTS set; about a minute on the H200, every step under its own time limit):
#   1. the [gpu][sparse_cuda] tests: window, bigbird, sinkhorn, reformer, scatterbrain, oracle_topk and
#      oracle_topk_grouped on CUDA against their CPU variants (fp32 output within 1e-4 and the same
#      support, fp16/bf16 on the rounded inputs, the causal canary); fails on SKIP-GPU;
#   2. configs/gpu_sparse_baselines.toml on cuda: every row ran on cuda and is `ok` with rel_err
#      filled; a latency / memory table in OUT/summary.txt.
set -uo pipefail
: "${OUT:?}" "${ROOT:?}" "${SEABENCH:?}" "${TESTS:?}"
fail=0

timeout 50 "$TESTS" "[gpu][sparse_cuda]" -r compact > "$OUT/tests.log" 2>&1
rc=$?
tail -n 3 "$OUT/tests.log"
if grep -q "SKIP-GPU" "$OUT/tests.log"; then
  echo "FAIL: GPU tests were skipped (SKIP-GPU)"; fail=1
elif [ $rc -ne 0 ] || ! grep -Eq "Passed all [0-9]+ test cases" "$OUT/tests.log"; then
  echo "FAIL: sparse-baseline GPU tests exited with $rc (124 = timed out); see tests.log"; fail=1
else
  echo "sparse-baseline GPU tests: $(grep -Eo 'Passed all [0-9]+ test cases with [0-9]+ assertions' "$OUT/tests.log")"
fi

CSV="$OUT/gpu_sparse_baselines.csv"
echo "$SEABENCH run $ROOT/configs/gpu_sparse_baselines.toml --device cuda -o $CSV --overwrite" > "$OUT/command.txt"
timeout 75 "$SEABENCH" run "$ROOT/configs/gpu_sparse_baselines.toml" --device cuda -o "$CSV" --overwrite \
  > "$OUT/sweep.log" 2>&1
rc=$?
tail -n 2 "$OUT/sweep.log"
[ $rc -eq 0 ] || { echo "FAIL: the sweep exited with $rc (124 = timed out); see sweep.log"; fail=1; }
if [ -s "$CSV" ]; then
  python3 - "$CSV" "$OUT/summary.txt" <<'PY' || fail=1
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
ok = True
lines = [f"{'variant':<20} {'dtype':<5} {'causal':<6} {'H':>2} {'T':>6} {'k':>4} {'status':<11} {'median_ms':>10} "
         f"{'peak_mem':>12} {'rel_err':>9} {'keys/q':>8}"]
for r in rows:
    if r["device"] != "cuda":
        lines.append(f"FAIL: {r['variant']} ran on {r['device']}"); ok = False
    lines.append(f"{r['variant']:<20} {r['dtype']:<5} {r['causal']:<6} {r['heads']:>2} {r['seq_len']:>6} "
                 f"{r.get('k', ''):>4} {r['status']:<11} {r['latency_ms_median']:>10} {r['peak_mem_bytes']:>12} "
                 f"{r['rel_err']:>9} {r.get('keys_per_query', ''):>8}  {r['error'][:100]}")
    if r["status"] != "ok":
        lines.append(f"  FAIL: {r['variant']} {r['dtype']} causal={r['causal']} T={r['seq_len']}: {r['status']}")
        ok = False
    elif not r["rel_err"]:
        lines.append(f"  FAIL: {r['variant']} {r['dtype']} causal={r['causal']}: no rel_err"); ok = False
for v in ("window", "bigbird", "sinkhorn", "reformer", "scatterbrain", "oracle_topk", "oracle_topk_grouped"):
    if not any(r["variant"] == v for r in rows):
        lines.append(f"  FAIL: no {v} rows"); ok = False
lines.append("gpu_sparse_baselines checks: " + ("passed" if ok else "FAILED"))
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
sys.exit(0 if ok else 1)
PY
else
  echo "FAIL: no $CSV"; fail=1
fi
exit $fail
