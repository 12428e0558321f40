import json, sys, collections
f = sys.argv[1]; window = float(sys.argv[2])*1e6
p = json.load(open(f))
nodes = {n['id']: n for n in p['nodes']}
parent = {}
for n in p['nodes']:
    for c in n.get('children', []): parent[c] = n['id']
ts = p['startTime']; times = []
for d in p['timeDeltas']:
    ts += d; times.append(ts)
end = p['endTime']
selfc = collections.Counter(); incl = collections.Counter()
def name(nid):
    cf = nodes[nid]['callFrame']; url = cf['url'].split('/')[-1] if cf['url'] else ''
    return f"{cf['functionName'] or '(anon)'} {url}:{cf['lineNumber']}"
busy = 0
for i, (s, d) in enumerate(zip(p['samples'], p['timeDeltas'][1:] + [0])):
    if times[i] < end - window: continue
    n = name(s)
    if n.startswith('(idle)'): continue
    busy += d
    selfc[n] += d
    seen = set(); x = s
    while x is not None:
        nm = name(x)
        if nm not in seen: incl[nm] += d; seen.add(nm)
        x = parent.get(x)
print(f"busy {busy/1000:.0f} ms in last {window/1e6:.0f} s")
print("-- self"); [print(f"  {t/1000:8.1f}  {k}") for k, t in selfc.most_common(int(sys.argv[3]) if len(sys.argv)>3 else 25)]
print("-- inclusive"); [print(f"  {t/1000:8.1f}  {k}") for k, t in incl.most_common(int(sys.argv[4]) if len(sys.argv)>4 else 45)]
