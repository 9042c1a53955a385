#!/usr/bin/env python3
# Summary numbers quoted in results/reference/cpu/README.md, from a results CSV (standard library only).
# Usage: scripts/analyze_baselines.py RESULTS.csv
import csv, math, sys, collections
rows=list(csv.DictReader(open(sys.argv[1])))
def f(r,c):
    try: return float(r[c])
    except: return None
ok=[r for r in rows if r['status']=='ok']
print("rows",len(rows),"ok",len(ok), "statuses", collections.Counter(r['status'] for r in rows))
# (a) oracle_topk vs window mass_recall, k=64
print("\n(a) mass_recall at k=64 (mean over T), oracle_topk vs window vs sinkhorn vs reformer vs bigbird")
for ds in ['structured:local','structured:heavy_hitter','structured:mixed']:
  for causal in ['false','true']:
    out=[]
    for v in ['oracle_topk','oracle_topk_grouped','window','sinkhorn','reformer']:
      xs=[f(r,'mass_recall') for r in ok if r['variant']==v and r['dataset']==ds and r['causal']==causal and r['k']=='64']
      kq=[f(r,'keys_per_query') for r in ok if r['variant']==v and r['dataset']==ds and r['causal']==causal and r['k']=='64']
      out.append(f"{v}={sum(xs)/len(xs):.3f}(kpq {sum(kq)/len(kq):.0f})" if xs else f"{v}=-")
    print(ds,causal," ".join(out))
# real data
print("\n(a') real tensors, causal, k=64, per layer: oracle_topk / window mass_recall (T=2048)")
for L in range(4):
    ds=f"npy:brown_lm_qkv.npy:layer={L}"
    o=[f(r,'mass_recall') for r in ok if r['variant']=='oracle_topk' and r['dataset']==ds and r['k']=='64' and r['seq_len']=='2048']
    w=[f(r,'mass_recall') for r in ok if r['variant']=='window' and r['dataset']==ds and r['k']=='64' and r['seq_len']=='2048']
    print(L, o, w)
# (b) performer rel_err vs nbf
print("\n(b) performer rel_err by nbf (mean over T, datasets), features")
for causal in ['false','true']:
  for nbf in ['1','2','4','8']:
    xs=[f(r,'rel_err') for r in ok if r['variant']=='performer' and r['param_nbf']==nbf and r['causal']==causal and r['dataset'].startswith('structured')]
    feat=set(r.get('performer_features') for r in ok if r['variant']=='performer' and r['param_nbf']==nbf)
    print(causal,nbf,f"{sum(xs)/len(xs):.3f}", feat)
# (c) reformer vs k
print("\n(c) reformer rel_err / mass_recall / keys_per_query by k (structured, mean)")
for causal in ['false','true']:
  for k in ['32','64','128']:
    sel=[r for r in ok if r['variant']=='reformer' and r['k']==k and r['causal']==causal and r['dataset'].startswith('structured')]
    print(causal,k, *(f"{c}={sum(f(r,c) for r in sel)/len(sel):.3f}" for c in ['rel_err','mass_recall','keys_per_query']))
# (d) memory slope & analytic agreement
print("\n(d) log-log slope of peak_mem vs T (structured, per variant/params/k/causal; mean of slopes), max |peak/analytic-1|")
groups=collections.defaultdict(list)
for r in ok:
    if not r['dataset'].startswith('structured:local'): continue
    if r.get('bigbird_full_fallback')=='1': continue
    groups[(r['variant'],r['params'],r['k'],r['causal'])].append((f(r,'seq_len'),f(r,'peak_mem_bytes')))
slopes=collections.defaultdict(list)
for key,pts in groups.items():
    if len(pts)<2: continue
    xs=[math.log(p[0]) for p in pts]; ys=[math.log(p[1]) for p in pts]
    mx=sum(xs)/len(xs); my=sum(ys)/len(ys)
    s=sum((a-mx)*(b-my) for a,b in zip(xs,ys))/sum((a-mx)**2 for a in xs)
    slopes[key[0]].append(s)
for v,s in sorted(slopes.items()):
    dev=max(abs(f(r,'peak_mem_bytes')/f(r,'analytic_mem_bytes')-1) for r in ok if r['variant']==v)
    print(f"{v:22s} slope {min(s):.2f}..{max(s):.2f}  max|peak/analytic-1| {dev:.3f}")
print("\nmax rel_err dense/dense_stream:", max(f(r,'rel_err') for r in ok if r['variant'] in ('dense','dense_stream')))
