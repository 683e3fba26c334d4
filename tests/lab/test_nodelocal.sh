#!/usr/bin/env bash
# Lab test: NodeLocal DNSCache. The lab with LAB_NODELOCAL=1: a caching forwarder in the node
# netns on 169.254.20.10 and on the kube-dns VIP (NOTRACK: kube-proxy's DNAT does not touch
# them) asking CoreDNS over TCP through the kube-dns-upstream service. Checks the names
# (s/kube-system/node-local-dns, s/kube-system/kube-dns-upstream) and that each lookup is one
# flow pod -> node cache (forwarder, node netns) -> CoreDNS (over TCP, a new ID) -> upstream.
# Usage: test_nodelocal.sh BINDIR     (exit 77 = skipped)
set -uo pipefail
BIN=${1:?usage: test_nodelocal.sh BINDIR}
. "$(dirname "$0")/common.sh"
lab_require ip iptables unbound nsd dig /usr/bin/python3 "$BIN/dnsreel-record" "$BIN/dnsreel-replay" \
	"$BIN/dnsreel-query"
export LAB_NODELOCAL=1
lab_start dnl
[[ $LAB_NODELOCAL == 1 ]] || fail "lab.sh did not make the node cache"

recorder_start "$WORK/cap.reel" --flush 200ms
in_app dig www.example.test
in_app dig @"$LAB_NODELOCAL_IP" nl1.w.example.test
in_app dig @"$LAB_NODELOCAL_IP" nosuch.example.test
sleep 0.3
recorder_stop

"$BIN/dnsreel-replay" "$WORK/cap.reel" -o jsonl >"$WORK/cap.jsonl" || fail "replay failed"
"$BIN/dnsreel-replay" "$WORK/cap.reel" --flows -o jsonl >"$WORK/flows.jsonl" ||
	fail "replay --flows failed"
svcs=$("$BIN/dnsreel-query" "$WORK/cap.reel" -o csv \
	"SELECT addr, port, proto, k8s_namespace, name FROM services ORDER BY addr, proto") ||
	fail "query services failed"
for want in "$LAB_NODELOCAL_IP,53,0,kube-system,node-local-dns" \
	"$LAB_UPSTREAM_VIP,53,6,kube-system,kube-dns-upstream" \
	"$LAB_UPSTREAM_VIP,53,17,kube-system,kube-dns-upstream"; do
	grep -qxF "$want" <<<"$svcs" || { echo "$svcs" >&2; fail "services: no $want"; }
done
/usr/bin/python3 - "$WORK/cap.jsonl" "$WORK/flows.jsonl" <<PY || fail "NodeLocal DNSCache"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
flows = [json.loads(l) for l in open(sys.argv[2])]
node, app, dns, up = ($(netns_inode "$LAB_NS_NODE"), $(netns_inode "$LAB_NS_APP"),
                      $(netns_inode "$LAB_NS_DNS"), $(netns_inode "$LAB_NS_UP"))
bad = []
def k8s(e, side):
    return e[side].get("k8s")
# Names: the app's queries go to the VIP (kube-dns) or to the cache's own address.
want_dst = {"$LAB_VIP": "kube-dns", "$LAB_NODELOCAL_IP": "node-local-dns"}
seen = set()
for e in ev:
    if e["netns_id"] != app or e["qr"] != "Q":
        continue
    a = e["dst"]["addr"]
    got = k8s(e, "dst")
    if a in want_dst:
        seen.add(a)
        if got != {"kind": "svc", "namespace": "kube-system", "name": want_dst[a]}:
            bad.append(f"app query to {a}: dst.k8s {got}")
    else:
        bad.append(f"app query to {a}")
if seen != set(want_dst):
    bad.append(f"app queries went to {sorted(seen)}")
# The cache's queries leave the node netns over TCP, from the node's address to the CoreDNS pod
# (kube-dns-upstream's DNAT happens in OUTPUT, before the tap sees them), each with a new ID.
cache_q = {e["id"] for e in ev if e["netns_id"] == node and e["qr"] == "Q"
           and e["pkt_type"] == "OUTGOING" and e["src"]["addr"] == "$LAB_BR_IP"
           and e["dst"]["addr"] == "$LAB_DNS_IP" and e["src"]["proto"] == "TCP"}
if len(cache_q) != 3:
    bad.append(f"{len(cache_q)} TCP queries from the node cache to CoreDNS, want 3")
# Flows: one per lookup, client the app pod, the node cache the forwarder, its TCP try to
# CoreDNS and CoreDNS's try to the upstream both serving it.
want = {"www.example.test.": "Success", "nl1.w.example.test.": "Success",
        "nosuch.example.test.": "NameError"}
by = {}
for f in flows:
    if f["name"] in want:
        by.setdefault(f["name"], []).append(f)
for name, rc in want.items():
    fs = by.get(name, [])
    if len(fs) != 1:
        bad.append(f"{name}: {len(fs)} flows, want 1")
        continue
    f = fs[0]
    roles = {(h["role"], h["netns_id"]) for h in f["hops"]}
    if f["client"]["netns_id"] != app or f["outcome"] != "answered" or f["rcode"] != rc:
        bad.append(f"{name}: client {f['client']['netns_id']} {f['outcome']} {f['rcode']}")
    if ("forwarder", node) not in roles:
        bad.append(f"{name}: no forwarder hop in the node netns: {sorted(roles)}")
    ups = f["upstream"]
    if len(ups) != 2:
        bad.append(f"{name}: {len(ups)} upstream tries, want 2 (cache->CoreDNS, CoreDNS->nsd)")
        continue
    u0, u1 = ups
    if not u0["server"].startswith("p/$LAB_DNS_K8S_NS/$LAB_DNS_POD:53") or u0["id"] not in cache_q:
        bad.append(f"{name}: first try {u0}, want the node cache's TCP query to CoreDNS")
    if u1["server"] != "$LAB_UP_IP:53" or not u1["used"]:
        bad.append(f"{name}: second try {u1}, want CoreDNS's query to the upstream")
    if u0["id"] == f["hops"][0]["id"]:
        bad.append(f"{name}: the cache kept the client's ID")
    if not any(h["role"] == "forwarder" and h["netns_id"] == node and h["transaction"] == 1
               for h in f["hops"]):
        bad.append(f"{name}: the cache's try is not a hop of the node netns")
for b in bad[:20]:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
echo "PASS: NodeLocal DNSCache named and followed pod -> node cache -> CoreDNS (TCP) -> upstream"
