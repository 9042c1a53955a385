#!/usr/bin/env python3
# Summary numbers quoted in results/reference/cpu/README.md, from a results CSV (standard library only).
# Usage: scripts/analyze_sea_ablation.py RESULTS.csv
import csv, sys, collections, math
rows=list(csv.DictReader(open(sys.argv[1])))
ok=[r for r in rows if r['status']=='ok']
print("rows",len(rows),"statuses",collections.Counter(r['status'] for r in rows))
f=lambda r,c: float(r[c]) if r.get(c) not in (None,'') else float('nan')
def mean(xs): xs=[x for x in xs if not math.isnan(x)]; return sum(xs)/len(xs) if xs else float('nan')
groups=[('structured:local',None),('structured:heavy_hitter',None),('structured:mixed',None),('npy',None)]
for ds,_ in groups:
  print(f"\n== {ds} (mean over T / layers) == columns: mass_recall (keys_per_query) [sea_oracle_cell_mass]")
  sel=[r for r in ok if r['dataset'].startswith(ds)]
  for k in ['16','32','64','128']:
    parts=[]
    for v in ['oracle_topk','oracle_topk_grouped','window']:
      s=[r for r in sel if r['variant']==v and r['k']==k]
      parts.append(f"{v} {mean([f(r,'mass_recall') for r in s]):.3f} ({mean([f(r,'keys_per_query') for r in s]):.0f})")
    print(f"k={k}: "+"; ".join(parts))
    for est in ['oracle','pooled','performer_hist','performer']:
      line=[]
      for up in ['csr','nearest']:
        for K in ['64','128','256']:
          s=[r for r in sel if r['variant']=='sea' and r['k']==k and r['param_estimator']==est and r['param_upsample']==up and r['param_K']==K]
          line.append(f"{up}/K{K} {mean([f(r,'mass_recall') for r in s]):.3f} ({mean([f(r,'keys_per_query') for r in s]):.0f}) [{mean([f(r,'sea_oracle_cell_mass') for r in s]):.2f}]")
      print(f"   sea {est:15s} "+"  ".join(line))
# memory slope: SEA at T=1024 vs 4096 per (est, up, K, k)
print("\n== SEA peak memory ratio 4096/1024 (slope = log2(ratio)/2) ==")
byk=collections.defaultdict(dict)
for r in ok:
  if r['variant']=='sea' and r['dataset']=='structured:local':
    byk[(r['param_estimator'],r['param_upsample'],r['param_K'],r['k'])][r['seq_len']]=f(r,'peak_mem_bytes')
sl=collections.defaultdict(list)
for key,d in byk.items():
  if '1024' in d and '4096' in d: sl[(key[0],key[1])].append(math.log2(d['4096']/d['1024'])/2)
for key,v in sorted(sl.items()): print(key, f"{min(v):.2f}..{max(v):.2f}")
# stage sums vs own total
d=[abs((f(r,'sea_estimate_ms')+f(r,'sea_topk_ms')+f(r,'sea_mask_ms')+f(r,'sea_attend_ms')+f(r,'sea_mix_ms'))/f(r,'sea_total_ms')-1) for r in ok if r['variant']=='sea']
print("\nmax |sum(stages)/sea_total_ms - 1|:", max(d))
d2=[f(r,'sea_total_ms')/f(r,'latency_ms_median') for r in ok if r['variant']=='sea']
print("sea_total_ms / latency_ms_median: min %.3f max %.3f"%(min(d2),max(d2)))
d=[abs((f(r,'sea_estimate_ms')+f(r,'sea_topk_ms')+f(r,'sea_mask_ms')+f(r,'sea_attend_ms')+f(r,'sea_mix_ms'))/f(r,'sea_total_ms')-1) for r in ok if r['variant']=='sea']
print("rows with |sum(stage medians)/sea_total_ms - 1| > 10%%: %d of %d (> 5%%: %d)"%(sum(x>0.1 for x in d),len(d),sum(x>0.05 for x in d)))
s=sorted(int(r['samples']) for r in ok if r['variant']=='sea'); print("timed samples per SEA row: min %d, median %d"%(s[0],s[len(s)//2]))
