import json, sys, collections
for f in sys.argv[1:]:
    p = json.load(open(f))
    nodes = {n['id']: n for n in p['nodes']}
    dt = collections.Counter()
    samples = p['samples']; deltas = p['timeDeltas']
    for s, d in zip(samples, deltas):
        dt[s] += d
    self_t = collections.Counter()
    for nid, t in dt.items():
        cf = nodes[nid]['callFrame']
        url = cf['url'].split('/')[-1] if cf['url'] else ''
        self_t[f"{cf['functionName'] or '(anon)'} {url}:{cf['lineNumber']}"] += t
    total = sum(dt.values())
    idle = sum(t for k, t in self_t.items() if k.startswith('(idle)'))
    print(f"== {f.split('/')[-1]} total {total/1000:.0f} ms, busy {(total-idle)/1000:.0f} ms")
    for k, t in self_t.most_common(22):
        print(f"  {t/1000:8.1f} ms  {k}")
