#!/usr/bin/env python3
"""Markdown table of `seabench model-eval` results in the SEA paper's OPT table layout.

    scripts/opt_ppl_table.py RESULTS.csv [-o OUT.md]

One row per (method, k): method (variant and the parameters that distinguish it), k, nll (nats per
token), ppl, median forward latency per window (ms), tracked peak memory of one forward (MiB),
and the ratio of each to the dense row. Rows that did not finish show their status. Standard library only.
"""
import argparse
import csv
import sys

# Parameters that name a method (the rest are implementation knobs shown only if they vary).
NAMING = {"sea": ["estimator", "weights", "K", "output"], "performer": ["kernel"], "window": ["global_tokens"]}


def method_name(row, varying):
    name = row["variant"]
    keys = NAMING.get(name, []) + [k for k in sorted(varying.get(name, [])) if k not in NAMING.get(name, [])]
    parts = []
    for key in keys:
        value = row.get("param_" + key, "")
        if value != "" and not (key == "global_tokens" and value == "0"):
            parts.append(f"{key}={value}")
    return name + (f" ({', '.join(parts)})" if parts else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("-o", "--output")
    args = ap.parse_args()
    with open(args.results, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{args.results}: no rows")
    # Which parameters take more than one value per variant in this file.
    values = {}
    for r in rows:
        for key, value in r.items():
            if key.startswith("param_") and value != "":
                values.setdefault(r["variant"], {}).setdefault(key[6:], set()).add(value)
    varying = {v: [k for k, s in params.items() if len(s) > 1] for v, params in values.items()}
    dense = next((r for r in rows if r["variant"] == "dense" and r["status"] == "ok"), None)
    first = rows[0]
    out = []
    out.append(f"Model `{first.get('model', '?')}`, text `{first['dataset']}`, window T = {first['seq_len']}, "
               f"{first.get('windows', '?')} windows ({first.get('tokens_evaluated', '?')} predictions), "
               f"variant in layers: {first.get('model_layers', '?')}; {first.get('threads', '?')} threads on "
               f"{first.get('cpu_model', '?')}; commit {first.get('git_sha', '?')}.")
    out.append("")
    out.append("| method | k | nll (nats/token) | ppl | Δppl vs dense | latency / window (ms) | peak memory (MiB) | status |")
    out.append("|---|---|---|---|---|---|---|---|")
    for r in rows:
        ok = r["status"] == "ok"
        k = r["k"] if r["k"] != "" else "–"
        if ok:
            nll, ppl = float(r["nll"]), float(r["ppl"])
            delta = f"{ppl - float(dense['ppl']):+.3f}" if dense else ""
            lat = f"{float(r['latency_ms_median']):.0f}"
            mem = f"{float(r['peak_mem_bytes']) / 2**20:.1f}"
            out.append(f"| {method_name(r, varying)} | {k} | {nll:.4f} | {ppl:.3f} | {delta} | {lat} | {mem} | ok |")
        else:
            out.append(f"| {method_name(r, varying)} | {k} | | | | | | {r['status']}: {r.get('error', '')[:80]} |")
    # The paper's compact layout (Model | Vanilla | SEA k=64 | Reformer | Performer): perplexity only,
    # each method at k = 64 where it has a k, SEA with its best training-free estimator at that k.
    def pick(pred):
        ok = [r for r in rows if r["status"] == "ok" and pred(r)]
        return min(ok, key=lambda r: float(r["ppl"])) if ok else None
    cells = [("Vanilla (dense)", pick(lambda r: r["variant"] == "dense")),
             ("SEA k=64", pick(lambda r: r["variant"] == "sea" and r["k"] == "64")),
             ("Reformer k=64", pick(lambda r: r["variant"] == "reformer" and r["k"] == "64")),
             ("Performer", pick(lambda r: r["variant"] == "performer"))]
    out.append("")
    out.append("Paper layout (perplexity; best training-free setting of each method):")
    out.append("")
    out.append("| Model | " + " | ".join(name for name, _ in cells) + " |")
    out.append("|---" * (len(cells) + 1) + "|")
    out.append(f"| {first.get('model', '?')} | " +
               " | ".join(f"{float(r['ppl']):.3f}" + (f" {method_name(r, varying).split(' ', 1)[1]}"
                                                      if r['variant'] in ('sea', 'performer') and ' ' in method_name(r, varying) else "")
                          if r else "–" for _, r in cells) + " |")
    text = "\n".join(out) + "\n"
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
