#!/usr/bin/env bash
# flows_cli.sh REPLAY SRCDIR: dnsreel-replay --flows on the lab capture tests/data/lab-basic.reel.
#  - golden: every flow output format diffed against golden/lab-basic.flows.*.out
#    (UPDATE_GOLDEN=1 rewrites them; review the diff against tests/data/README.md)
#  - truth: the transactions tests/data/README.md and lab-basic.txt list, asserted field by
#    field on the jsonl output (independent of the golden files)
#  - filters select whole flows; --flow-id finds the same flow again; usage errors exit 2
set -u
replay=$1 src=$2
. "$src/../common/require.sh"
require python3
golden=$src/golden
cap=$src/../data/lab-basic.reel
tmp=$(mktemp -d /tmp/dnsreel-flows-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

check_golden() { # name args...
	local name=$1
	shift
	"$replay" "$cap" --flows "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	local rc=$?
	[ $rc -eq 0 ] || { bad "$name: exit $rc: $(head -3 "$tmp/$name.err")"; return; }
	if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
		cp "$tmp/$name.out" "$golden/$name.out"
	elif ! diff -u "$golden/$name.out" "$tmp/$name.out" >"$tmp/$name.diff"; then
		bad "$name differs from golden/$name.out:"
		head -20 "$tmp/$name.diff"
	fi
}
mkdir -p "$golden"
check_golden lab-basic.flows.tree
check_golden lab-basic.flows.jsonl -o jsonl
check_golden lab-basic.flows.jsonarray -o jsonarray --no-events
check_golden lab-basic.flows.csv -o csv
check_golden lab-basic.flows.mermaid -o mermaid

# json is jsonl by another name (as replay's events); jsonpretty the same objects indented
"$replay" "$cap" --flows -o json >"$tmp/j.out" && cmp -s "$tmp/j.out" "$tmp/lab-basic.flows.jsonl.out" ||
	bad "-o json differs from -o jsonl"
"$replay" "$cap" --flows -o jsonpretty --no-events | python3 -c '
import json, sys
text = sys.stdin.read()
dec, objs, i = json.JSONDecoder(), [], 0
while i < len(text):
    if text[i].isspace():
        i += 1
        continue
    o, i = dec.raw_decode(text, i)
    objs.append(o)
arr = json.load(open(sys.argv[1]))
sys.exit(0 if objs == arr and text.startswith("{\n  \"flow_id\": ") else 1)' "$tmp/lab-basic.flows.jsonarray.out" ||
	bad "-o jsonpretty is not the jsonarray objects indented"

# ---- truth ----------------------------------------------------------------------------------
"$replay" "$cap" --flows -o jsonl >"$tmp/all.jsonl" || bad "jsonl exit $?"
"$replay" "$cap" -o jsonl >"$tmp/events.jsonl" || bad "events exit $?"
python3 - "$tmp/all.jsonl" "$tmp/events.jsonl" <<'EOF' || fail=1
import json, sys
flows = [json.loads(l) for l in open(sys.argv[1])]
events = [json.loads(l) for l in open(sys.argv[2])]
bad = 0
def check(cond, what):
    global bad
    if not cond:
        print("FAIL:", what)
        bad = 1
APP, NODE, DNS, UP = 4026532678, 4026532609, 4026532747, 4026532816
def find(name, qtype, role="client", server=None):
    r = [f for f in flows if f["name"] == name and f["qtype"] == qtype
         and f["client"]["role"] == role and (server is None or f["server"] == server)]
    return r
# 13 dig/kdig runs: 17 client flows (the +search walk is 4, big.example.test UDP then TCP is
# 2) and unbound's own CNAME chase (www.example.test A for alias.example.test).
check(len(flows) == 18, "18 flows, got %d" % len(flows))
clients = [f for f in flows if f["client"]["role"] == "client"]
check(len(clients) == 17, "17 client flows")
check(all(f["client"]["netns_id"] == APP and f["client"]["k8s"]["podName"] == "dnsclient"
          for f in clients), "every client flow starts in the app pod")
check(all(f["outcome"] == "answered" and f["lost"] is None and f["retries"] == 0
          for f in flows), "every flow answered, no retries")
# every event in exactly one flow, and the flow's events are the capture's
keys = [(e["timestamp_raw"], e["netns_id"], e["id"], e["qr"], e["pkt_type"]) for e in events]
fkeys = [(e["timestamp_raw"], e["netns_id"], e["id"], e["qr"], e["pkt_type"])
         for f in flows for e in f["events"]]
check(len(fkeys) == 327 and sorted(fkeys) == sorted(keys), "327 events, each in one flow")
byk = {k: e for k, e in zip(keys, events)}
check(all(e == byk.get((e["timestamp_raw"], e["netns_id"], e["id"], e["qr"], e["pkt_type"]))
          for f in flows for e in f["events"]), "flow events are replay's -o jsonl events")
for f in flows:
    ts = [e["timestamp_raw"] for e in f["events"]]
    check(ts == sorted(ts), "events in time order in %s" % f["flow_id"])
    check(len(f["flow_id"]) == 16, "flow_id 16 hex")

# 1. www.example.test A: client id 0e14 through DNAT, upstream id a418 (lab-basic.txt)
f = find("www.example.test.", "A", server="s/kube-system/kube-dns:53")
check(len(f) == 1, "one www A client flow")
f = f[0]
check(f["server"] == "s/kube-system/kube-dns:53", "server is the VIP")
check([e["id"] for e in f["events"]].count("0e14") == 8, "0e14 at 8 points")
check([u["id"] for u in f["upstream"]] == ["a418"], "upstream a418")
check(f["upstream"][0]["used"] and f["upstream"][0]["server"] == "10.254.0.2:53", "a418 used")
check([h["role"] for h in f["hops"]] == ["client", "node", "node", "forwarder", "forwarder",
      "node", "node", "node", "upstream"], "www A hop roles")
check([(h["netns_id"], h["pkt_type"]) for h in f["hops"][:4]] ==
      [(APP, "OUTGOING"), (NODE, "HOST"), (NODE, "OUTGOING"), (DNS, "HOST")], "www A hops")
check(f["latency_ns"] == 1795683048229315678 - 1795683048228390935, "www A client latency")
check(f["rcode"] == "Success" and f["rcode_origin"] is None, "www A Success")
# 3. alias.example.test: unbound's chase of the CNAME target is a flow of unbound's own
chase = find("www.example.test.", "A", role="forwarder")
check(len(chase) == 1 and chase[0]["client"]["netns_id"] == DNS and
      chase[0]["upstream"] == [] and chase[0]["hops"][-1]["role"] == "upstream",
      "CNAME chase: the forwarder's own flow")
# 5. cluster name answered by the forwarder: no upstream
f = find("_http._tcp.web.default.svc.cluster.local.", "SRV")[0]
check(f["upstream"] == [] and len(f["hops"]) == 4 and f["hops"][-1]["role"] == "forwarder",
      "cluster SRV answered by the forwarder")
# 6./7. NXDOMAIN from the upstream, NXDOMAIN from the forwarder
f = find("nosuch.example.test.", "A")[0]
check(f["rcode"] == "NameError" and f["rcode_origin"] == "upstream", "nosuch: upstream")
f = find("nope.default.svc.cluster.local.", "A")[0]
check(f["rcode"] == "NameError" and f["rcode_origin"] == "forwarder" and f["upstream"] == [],
      "nope: forwarder")
# 8. x.broken.test: every one of unbound's tries, in order, the last one used
f = find("x.broken.test.", "A")[0]
check([u["id"] for u in f["upstream"]] == ["528e", "aa34", "f9a6", "d5db", "2a4a"],
      "x.broken.test tries in order")
check(all(u["rcode"] == "ServerFailure" and u["answered"] for u in f["upstream"]), "all SERVFAIL")
check([u["used"] for u in f["upstream"]] == [False] * 4 + [True], "last try used")
check(f["rcode"] == "ServerFailure" and f["rcode_origin"] == "upstream", "SERVFAIL from upstream")
check(len(f["events"]) == 58, "x.broken.test: 58 events")
# 9. dig +search mail.example.test: one lookup of 4 flows, the walk in order
walk = [f for f in flows if f["name"].startswith("mail.example.test.")]
check([f["name"] for f in walk] == ["mail.example.test.default.svc.cluster.local.",
      "mail.example.test.svc.cluster.local.", "mail.example.test.cluster.local.",
      "mail.example.test."], "search walk")
check(len({f["lookup_id"] for f in walk}) == 1 and walk[0]["lookup_id"] == walk[0]["flow_id"],
      "search walk is one lookup")
check([f["rcode"] for f in walk] == ["NameError"] * 3 + ["Success"], "walk rcodes")
others = [f for f in flows if not f["name"].startswith("mail.example.test.")
          and not f["name"].startswith("big.")]
check(all(f["lookup_id"] == f["flow_id"] for f in others), "every other dig is its own lookup")
# 10./11. TCP
for name, qt in (("txt.example.test.", "TXT"), ("_sip._udp.example.test.", "SRV")):
    f = find(name, qt)[0]
    check(f["events"][0]["src"]["proto"] == "TCP" and len(f["upstream"]) == 1, name + " TCP")
# 12. big.example.test: UDP truncated, then TCP; one lookup; unbound tries UDP then TCP
big = find("big.example.test.", "TXT")
check(len(big) == 2 and big[0]["tc"] and not big[1]["tc"], "big: TC then TCP")
check(big[0]["lookup_id"] == big[1]["lookup_id"], "big: one lookup")
for f in big:
    check([u["tc"] for u in f["upstream"]] == [True, False] and
          [u["used"] for u in f["upstream"]] == [False, True], "big: TCP answer used")
# 13. IPv6 through the v6 VIP
f = find("www.example.test.", "AAAA", server="[fd00:96::a]:53")
check(len(f) == 1 and f[0]["client"]["addr"] == "fd00:244::10", "v6 flow")
sys.exit(bad)
EOF

# ---- filters select whole flows --------------------------------------------------------------
count() { "$replay" "$cap" --flows -o jsonl --no-events "$@" | grep -c . ; }
n=$(count -F outcome==unanswered); [ "$n" = 0 ] || bad "outcome==unanswered: $n flows, want 0"
n=$(count -F outcome==answered); [ "$n" = 18 ] || bad "outcome==answered: $n, want 18"
n=$(count -F rcode!=Success); [ "$n" = 6 ] || bad "rcode!=Success: $n, want 6"
n=$(count -F rcode==NameError -F rcode_origin==forwarder); [ "$n" = 4 ] || bad "NXDOMAIN by forwarder: $n, want 4"
n=$(count -F upstreams\>1); [ "$n" = 3 ] || bad "upstreams>1: $n, want 3"
n=$(count -n default); [ "$n" = 17 ] || bad "-n default: $n, want 17"
n=$(count -p dnsclient -F name==x.broken.test.); [ "$n" = 1 ] || bad "-p -F name: $n, want 1"
# an event filter on an upstream packet shows the whole client flow, all its events
"$replay" "$cap" --flows -o jsonl -F id==2a4a >"$tmp/one.jsonl"
python3 -c "
import json,sys
f=[json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if len(f)==1 and f[0]['name']=='x.broken.test.' and len(f[0]['events'])==58 else 1)" \
	"$tmp/one.jsonl" || bad "-F id==2a4a: not the whole x.broken.test flow"
n=$(count --since 2026-11-26T08:50:50.5Z); [ "$n" = 3 ] || bad "--since: $n, want 3"
# a time window skips frames far from it, and the flows it keeps are whole: the same as without it
"$replay" "$cap" --flows -o jsonl --since 2026-11-26T08:50:50.5Z --until 2026-11-26T08:50:50.51Z >"$tmp/win.jsonl"
python3 - "$tmp/win.jsonl" "$tmp/all.jsonl" <<'PY' || bad "--since/--until: flows not the same as unfiltered"
import json, sys
win = [json.loads(l) for l in open(sys.argv[1])]
allf = {f["flow_id"]: f for f in map(json.loads, open(sys.argv[2]))}
sys.exit(0 if [f["name"] for f in win] == ["big.example.test.", "big.example.test."] and
         all(f == allf[f["flow_id"]] for f in win) else 1)
PY
# --flow-id / --lookup-id find the same flows on a filtered run
id=$(head -1 "$tmp/all.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["flow_id"])')
n=$(count --flow-id "$id" -F qr==R); [ "$n" = 1 ] || bad "--flow-id $id: $n"
lk=$(grep '"mail.example.test."' "$tmp/all.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["lookup_id"])')
n=$(count --lookup-id "$lk"); [ "$n" = 4 ] || bad "--lookup-id $lk: $n, want 4"
# a small window splits nothing in this capture: every exchange is under 10 ms
n=$(count --flow-window 50ms); [ "$n" = 18 ] || bad "--flow-window 50ms: $n, want 18"

# --follow: once the merge is idle, flows whose window has passed on the clock print at once
"$replay" "$cap" --flows --follow -o jsonl --no-events -w "$tmp/follow.jsonl" &
pid=$!
for _ in $(seq 50); do
	[ "$(grep -c . "$tmp/follow.jsonl" 2>/dev/null)" = 18 ] && break
	sleep 0.1
done
n=$(grep -c . "$tmp/follow.jsonl" 2>/dev/null)
kill -INT $pid
wait $pid
rc=$?
[ "$n" = 18 ] || bad "--follow: $n flows printed while following, want 18"
[ $rc = 0 ] || bad "--follow: exit $rc after SIGINT"
[ "$(grep -c . "$tmp/follow.jsonl")" = 18 ] || bad "--follow: flows printed twice or lost at exit"

# ---- usage ----------------------------------------------------------------------------------
usage() { "$replay" "$@" >/dev/null 2>"$tmp/u.err"; local rc=$?; [ $rc = 2 ] || bad "$*: exit $rc, want 2"; }
usage "$cap" --flow-id abc
usage "$cap" --flows -o pcapng
usage "$cap" --flows --fields name
usage "$cap" --flows --flow-window x
usage "$cap" --flows -F retries\>x
usage "$cap" -F outcome==unanswered

exit $fail
