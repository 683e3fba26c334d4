#!/usr/bin/env bash
# Lab test: unbound's own dnstap stream recorded beside the wire. The lab's unbound reports its
# client and forwarder messages to `dnsreel-record --dnstap-socket`; then, for the queries run
# here, each dnstap message must line up with the wire event of the same message at the
# forwarder pod (same DNS id, name, client endpoint, times within bounds, the pod's netns):
#   - a CLIENT_QUERY for each query unbound received, a CLIENT_RESPONSE for each it sent back
#   - a FORWARDER_QUERY for each query it sent to nsd, a FORWARDER_RESPONSE for each answer
#   - the flows are the same with and without the dnstap events
# Usage: test_dnstap.sh BINDIR     (exit 77 = skipped)
set -uo pipefail
BIN=${1:?usage: test_dnstap.sh BINDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
lab_require ip iptables unbound nsd dig python3 "$BIN/dnsreel-record" "$BIN/dnsreel-query" \
	"$BIN/dnsreel-replay"
unbound -V 2>/dev/null | grep -q -- --enable-dnstap || skip "this unbound is built without dnstap"
lab_start drt
sock=$WORK/tap.sock

app() { "$LAB_SH" exec app "$@" >>"$WORK/client.out" 2>&1; }
recorder_start "$WORK/cap.reel" --flush 200ms --netns "${LAB_NETNS// /,}" \
	--dnstap-socket "$sock"
# unbound connects to its dnstap socket when it starts: restarted now that the socket is there
LAB_DNSTAP_SOCKET=$sock "$LAB_SH" restart-dns || fail "restarting unbound with dnstap"
sleep 0.3 # its first messages (restart-dns's own query) open the connection

D=(dig +tries=1 +time=2)
app "${D[@]}" tap1.w.example.test
app "${D[@]}" tap2.w.example.test AAAA
app "${D[@]}" tapnx.example.test
app "${D[@]}" tapsvc.default.svc.cluster.local
app "${D[@]}" kube-dns.kube-system.svc.cluster.local
app "${D[@]}" +tcp tap3.w.example.test
app "${D[@]}" @"$LAB_VIP6" tap4.w.example.test
sleep 1.5 # unbound's dnstap thread sends in batches; the last responses reach every tap
recorder_stop
grep -q 'dnstap .*: [1-9][0-9]* messages from 1 connection(s), 0 damaged, 0 dropped' \
	"$WORK/record.err" || { cat "$WORK/record.err" >&2; fail "recorder's dnstap summary"; }

"$BIN/dnsreel-query" -o csv "$WORK/cap.reel" \
	"SELECT timestamp, observation, dnstap_type, dnstap_identity, netns_id, pkt_type, proto,
	        src_addr, src_port, dst_addr, dst_port, id, qr, name
	 FROM dns WHERE name LIKE 'tap%' OR name LIKE 'kube-dns.%' ORDER BY timestamp" \
	>"$WORK/rows.csv" || fail "query"
python3 - "$WORK/rows.csv" "$(netns_inode "$LAB_NS_DNS")" "$LAB_DNS_IP" "$LAB_DNS_IP6" \
	"$LAB_UP_IP" <<'PY' || fail "dnstap messages do not line up with the wire"
import csv, sys
rows, dns_ns, dns_ip, dns_ip6, up_ip = list(csv.DictReader(open(sys.argv[1]))), \
    int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
tap = [r for r in rows if r["observation"] == "dnstap"]
wire = [r for r in rows if r["observation"] == "wire" and int(r["netns_id"]) == dns_ns]
bad = []
names = {"tap1.w.example.test.", "tap2.w.example.test.", "tapnx.example.test.",
         "tapsvc.default.svc.cluster.local.", "tap3.w.example.test.", "tap4.w.example.test."}
for r in tap:
    if r["pkt_type"] != "DNSTAP" or r["dnstap_identity"] != "lab-unbound":
        bad.append("not a DNSTAP event of lab-unbound: %s" % r)
    if int(r["netns_id"]) != dns_ns:
        bad.append("dnstap event outside the forwarder's netns: %s" % r)
# each kind of wire event at the forwarder and the dnstap type that reports it
def kind(r):
    to_server = r["dst_addr"] in (dns_ip, dns_ip6) and r["dst_port"] == "53"
    from_server = r["src_addr"] in (dns_ip, dns_ip6) and r["src_port"] == "53"
    if r["qr"] == "Q" and to_server and r["pkt_type"] == "HOST":
        return "CLIENT_QUERY"
    if r["qr"] == "R" and from_server and r["pkt_type"] == "OUTGOING":
        return "CLIENT_RESPONSE"
    if r["qr"] == "Q" and r["dst_addr"] == up_ip and r["pkt_type"] == "OUTGOING":
        return "FORWARDER_QUERY"
    if r["qr"] == "R" and r["src_addr"] == up_ip and r["pkt_type"] == "HOST":
        return "FORWARDER_RESPONSE"
    return None
# the endpoint unbound names for each type: the client side for CLIENT_*, upstream's for FORWARDER_*
def key(r, t):
    if t.startswith("CLIENT"):
        peer = (r["src_addr"], r["src_port"]) if t == "CLIENT_QUERY" else (r["dst_addr"], r["dst_port"])
    else:
        peer = (r["dst_addr"], r["dst_port"]) if t == "FORWARDER_QUERY" else (r["src_addr"], r["src_port"])
    return (t, r["id"], r["name"].lower(), peer, r["proto"])
used = set()
counts = {}
for w in wire:
    t = kind(w)
    if not t or w["name"].lower() not in names | {"kube-dns.kube-system.svc.cluster.local."}:
        continue
    counts[t] = counts.get(t, 0) + 1
    k = key(w, t)
    tw = int(w["timestamp"])
    cands = [i for i, r in enumerate(tap) if i not in used and r["dnstap_type"] == t
             and key(r, t) == k]
    # unbound stamps a received message after the kernel saw it, a sent one before
    ok = [i for i in cands if -5_000_000 <= int(tap[i]["timestamp"]) - tw <= 50_000_000] \
        if t in ("CLIENT_QUERY", "FORWARDER_RESPONSE") else \
        [i for i in cands if -50_000_000 <= int(tap[i]["timestamp"]) - tw <= 5_000_000]
    if not ok:
        bad.append("no %s for the wire event %s (candidates: %s)" %
                   (t, w, [tap[i] for i in cands]))
        continue
    used.add(min(ok, key=lambda i: abs(int(tap[i]["timestamp"]) - tw)))
left = [r for i, r in enumerate(tap) if i not in used and r["name"].lower() in names]
for r in left:
    bad.append("dnstap message with no wire event: %s" % r)
want = {"CLIENT_QUERY": 7, "CLIENT_RESPONSE": 7, "FORWARDER_QUERY": 5, "FORWARDER_RESPONSE": 5}
got = {t: counts.get(t, 0) for t in want}
if got != want:
    bad.append("wire events at the forwarder: %s, want %s" % (got, want))
for b in bad[:20]:
    print("FAIL:", b)
print("matched %d dnstap messages to wire events: %s" % (len(used), got))
sys.exit(1 if bad else 0)
PY

# the server's reports are no hops: the flows are those of the wire alone
"$BIN/dnsreel-replay" "$WORK/cap.reel" --flows -o csv >"$WORK/flows.all" || fail "--flows"
"$BIN/dnsreel-replay" "$WORK/cap.reel" --flows -o csv -F pkt_type!=DNSTAP >"$WORK/flows.wire" ||
	fail "--flows -F pkt_type!=DNSTAP"
cmp -s "$WORK/flows.all" "$WORK/flows.wire" || fail "dnstap events changed the flows"
[[ $(grep -c 'tap1.w.example.test' "$WORK/flows.all") == 1 ]] || fail "tap1: not one flow"
echo "ok: dnstap lab"
