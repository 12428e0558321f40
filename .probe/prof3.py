import json, sys, collections
f = sys.argv[1]; pat = sys.argv[2]
p = json.load(open(f))
nodes = {n['id']: n for n in p['nodes']}
parent = {}
for n in p['nodes']:
    for c in n.get('children', []): parent[c] = n['id']
ts = p['startTime']; times = []
for d in p['timeDeltas']:
    ts += d; times.append(ts)
busy = collections.Counter(); hit = collections.Counter()
for i, (s, d) in enumerate(zip(p['samples'], p['timeDeltas'][1:] + [0])):
    sec = int((times[i] - p['startTime']) / 1e6)
    if nodes[s]['callFrame']['functionName'] == '(idle)': continue
    busy[sec] += d
    x = s
    while x is not None:
        if pat in nodes[x]['callFrame']['functionName']: hit[sec] += d; break
        x = parent.get(x)
for sec in sorted(busy): print(sec, int(busy[sec]/1000), int(hit[sec]/1000))
