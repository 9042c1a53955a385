#!/usr/bin/env bash
# GPU check of issue 8's kernel baselines and vendor reference (run by scripts/gpu-check.sh with OUT,
# ROOT, SEABENCH and TESTS set; about a minute on the H200):
#   1. the [gpu] tests of performer / linear / cosformer on CUDA and of dense_cudnn (fail on SKIP-GPU);
#   2. configs/gpu_kernel_baselines.toml on cuda: every kernel-method row `ok`, every dense_cudnn row
#      `ok`, and dense_cudnn's TFLOP/s next to PyTorch's cuDNN backend (measurement.md §8) in
#      OUT/cudnn_vs_anchors.txt.
set -uo pipefail
: "${OUT:?}" "${ROOT:?}" "${SEABENCH:?}" "${TESTS:?}"
fail=0

timeout 40 "$TESTS" "[gpu][kernel_methods],[gpu][dense_cudnn]" -r compact > "$OUT/tests.log" 2>&1
rc=$?
tail -n 3 "$OUT/tests.log"
if grep -q "SKIP-GPU" "$OUT/tests.log"; then
  echo "FAIL: GPU tests were skipped (SKIP-GPU)"; fail=1
elif [ $rc -ne 0 ] || ! grep -Eq "Passed all [0-9]+ test cases" "$OUT/tests.log"; then
  echo "FAIL: kernel-baseline GPU tests exited with $rc (124 = timed out); see tests.log"; fail=1
else
  echo "kernel-baseline GPU tests: $(grep -Eo 'Passed all [0-9]+ test cases with [0-9]+ assertions' "$OUT/tests.log")"
fi

CSV="$OUT/gpu_kernel_baselines.csv"
echo "$SEABENCH run $ROOT/configs/gpu_kernel_baselines.toml --device cuda -o $CSV --overwrite" > "$OUT/command.txt"
timeout 45 "$SEABENCH" run "$ROOT/configs/gpu_kernel_baselines.toml" --device cuda -o "$CSV" --overwrite \
  > "$OUT/sweep.log" 2>&1
rc=$?
tail -n 2 "$OUT/sweep.log"
[ $rc -eq 0 ] || { echo "FAIL: the sweep exited with $rc (124 = timed out); see sweep.log"; fail=1; }
if [ -s "$CSV" ]; then
  python3 - "$CSV" "$OUT/cudnn_vs_anchors.txt" <<'PY' || fail=1
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
ok = True
# measurement.md §8: PyTorch's cuDNN backend on this H200, (B, H, T, d, dtype, causal) -> TFLOP/s
anchors = {(1, 1, 16384, 128, "fp16", "false"): 575, (1, 1, 32768, 128, "fp16", "false"): 641,
           (1, 16, 16384, 128, "bf16", "false"): 605, (1, 16, 16384, 128, "bf16", "true"): 569,
           (1, 12, 2048, 64, "fp16", "true"): 134, (1, 12, 8192, 64, "fp16", "true"): 355}
lines = [f"{'variant':<11} {'dtype':<5} {'causal':<6} {'B':>2} {'H':>3} {'T':>6} {'d':>4} {'status':<11} "
         f"{'median_ms':>10} {'TFLOP/s':>8} {'anchor':>7} {'ratio':>6} {'peak_mem':>12} {'rel_err':>9}"]
for r in rows:
    if r["device"] != "cuda":
        lines.append(f"FAIL: {r['variant']} ran on {r['device']}"); ok = False
    tflops, anchor, ratio = "", "", ""
    if r["status"] == "ok" and r["latency_ms_median"]:
        t = float(r["flops_dense_equiv"]) / (float(r["latency_ms_median"]) * 1e-3) / 1e12
        tflops = f"{t:.1f}"
        key = (int(r["batch"]), int(r["heads"]), int(r["seq_len"]), int(r["head_dim"]), r["dtype"], r["causal"].lower())
        if r["variant"] == "dense_cudnn" and key in anchors:
            anchor, ratio = str(anchors[key]), f"{t / anchors[key]:.2f}"
    lines.append(f"{r['variant']:<11} {r['dtype']:<5} {r['causal']:<6} {r['batch']:>2} {r['heads']:>3} {r['seq_len']:>6} "
                 f"{r['head_dim']:>4} {r['status']:<11} {r['latency_ms_median']:>10} {tflops:>8} {anchor:>7} "
                 f"{ratio:>6} {r['peak_mem_bytes']:>12} {r['rel_err']:>9}  {r['error'][:100]}")
    if r["status"] != "ok":
        lines.append(f"  FAIL: {r['variant']} {r['dtype']} causal={r['causal']} T={r['seq_len']}: {r['status']}")
        ok = False
for v in ("dense_cudnn", "performer", "linear", "cosformer"):
    if not any(r["variant"] == v for r in rows):
        lines.append(f"  FAIL: no {v} rows"); ok = False
lines.append("gpu_kernel_baselines checks: " + ("passed" if ok else "FAILED"))
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
sys.exit(0 if ok else 1)
PY
else
  echo "FAIL: no $CSV"; fail=1
fi
exit $fail
