#!/usr/bin/env bash
# Lab test: flows ground truth. Records the lab (two app pods) while each scenario below runs
# under a name of its own, then checks `dnsreel-replay --flows -o jsonl` against what is known
# of each scenario (flows_check.py): exact membership of every event, order, outcome, where a
# lost message was last seen, upstream tries, retries and lookups.
#
#   ext1.w.example.test      external name: client ID + a new upstream ID in one flow
#   flowsvc.default.svc...   cluster name answered by the forwarder (no upstream)
#   nxd1.example.test        NXDOMAIN from the upstream; nxd2.default.svc... from the forwarder
#   sf1.broken.test          SERVFAIL after unbound tried the upstream several times
#   same1.w.example.test     both pods ask the same name at once
#   same2.w.example.test     both pods, same DNS ID and source port (python, bound socket)
#   dropq1.w.example.test    query dropped on the node (iptables FORWARD): lost on the node
#   droprsp1.w.example.test  response dropped on the node on its way back
#   rtry1.w.example.test     first query dropped, the same message resent after 1 s: retries 1
#   rtry2.w.example.test     first query dropped, retried with a new ID on the same socket:
#                            two flows, one lookup
#   srch1.w.example.test     getaddrinfo (getent ahosts) with ndots:5: 4 names x A/AAAA, one lookup
#   tcp1.w.example.test      DNS over TCP
#   . NS                     from the forwarder's netns to the upstream: no client
#   loadNNN.w.example.test   a dnsperf burst of N unique names: N answered flows
#
# Usage: test_flows.sh BINDIR     (exit 77 = skipped)
set -uo pipefail
BIN=${1:?usage: test_flows.sh BINDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
lab_require ip iptables unbound nsd dig dnsperf getent python3 "$BIN/dnsreel-record" \
	"$BIN/dnsreel-replay" "$BIN/dnsreel-query"
export LAB_APP2=1
lab_start drf
[[ -n $LAB_NS_APP2 ]] || fail "lab.sh did not make the second app pod"

LOAD_N=${LOAD_N:-200}
nodeipt() { ip netns exec "$LAB_NS_NODE" iptables "$@"; }
app() { "$LAB_SH" exec app "$@" >>"$WORK/client.out" 2>&1; }
app2() { "$LAB_SH" exec app2 "$@" >>"$WORK/client.out" 2>&1; }
DNSQ=$HERE/dnsq.py

# Drops on the node, between the pods and the forwarder, matched by the scenario's name.
# After DNAT the FORWARD chain sees the forwarder pod's address; the response back to the app
# pod is bridged (br_netfilter) and still carries it as source.
nodeipt -I FORWARD -p udp -s "$LAB_APP_IP" -d "$LAB_DNS_IP" --dport 53 \
	-m string --string dropq1 --algo bm -j DROP
nodeipt -I FORWARD -p udp -s "$LAB_DNS_IP" -d "$LAB_APP_IP" --sport 53 \
	-m string --string droprsp1 --algo bm -j DROP
for n in rtry1 rtry2; do # only the first query of each
	nodeipt -I FORWARD -p udp -s "$LAB_APP_IP" -d "$LAB_DNS_IP" --dport 53 \
		-m string --string $n --algo bm -m statistic --mode nth --every 1000 --packet 0 -j DROP
done

for i in $(seq -w 1 "$LOAD_N"); do echo "load$i.w.example.test A"; done >"$WORK/load.txt"

recorder_start "$WORK/cap.reel" --flush 200ms --netns "${LAB_NETNS// /,}"

D=(dig +tries=1 +time=2)
app "${D[@]}" ext1.w.example.test
app "${D[@]}" flowsvc.default.svc.cluster.local
app "${D[@]}" nxd1.example.test
app "${D[@]}" nxd2.default.svc.cluster.local
app "${D[@]}" sf1.broken.test
# Both pods at once (wait on these two only: the recorder is a background job too).
app "${D[@]}" same1.w.example.test &
p1=$!
app2 "${D[@]}" same1.w.example.test &
wait $p1 $!
# Resends of the same message are allowed: under load the lab's unbound sometimes leaves one of
# two identical concurrent queries unanswered (1 run in ~7); the resend is a retry of the same
# flow, which the checks accept, and both clients must still end with their answer.
app python3 "$DNSQ" "$LAB_VIP" same2.w.example.test --id 0x5151 --sport 40053 --timeout 2 --tries 3 &
p1=$!
app2 python3 "$DNSQ" "$LAB_VIP" same2.w.example.test --id 0x5151 --sport 40053 --timeout 2 --tries 3 &
wait $p1 $!
app dig +tries=1 +time=1 dropq1.w.example.test
app dig +tries=1 +time=1 droprsp1.w.example.test
app python3 "$DNSQ" "$LAB_VIP" rtry1.w.example.test --id 0x6161 --sport 40054 --tries 2
app python3 "$DNSQ" "$LAB_VIP" rtry2.w.example.test --id 0x7171 --sport 40055 --tries 2 --new-id
app getent ahosts srch1.w.example.test
app "${D[@]}" +tcp tcp1.w.example.test
"$LAB_SH" exec dns dig +tries=1 +time=2 @"$LAB_UP_IP" . NS >>"$WORK/client.out" 2>&1
app dnsperf -s "$LAB_VIP" -d "$WORK/load.txt" -n 1 -c 1 -Q 500 -t 3

sleep 0.3 # the last responses reach every tap
recorder_stop

grep -q "status: NXDOMAIN" "$WORK/client.out" || fail "no NXDOMAIN answer"
grep -q "status: SERVFAIL" "$WORK/client.out" || fail "no SERVFAIL answer"
grep -q "Queries completed: *$LOAD_N " "$WORK/client.out" || {
	cat "$WORK/client.out" >&2
	fail "dnsperf did not complete all $LOAD_N queries"
}
[[ $(grep -c "^rcode 0 id 5151 tries [123]" "$WORK/client.out") == 2 ]] || {
	grep -E "^(rcode .* id 5151|timeout)" "$WORK/client.out" >&2
	fail "the two same-ID clients did not both get their answer"
}
grep -q "^rcode 0 id 6161 tries 2" "$WORK/client.out" || fail "rtry1: no answer to the resend"
grep -q "^rcode 0 id 7172 tries 2" "$WORK/client.out" || fail "rtry2: no answer to the new ID"

inode() { netns_inode "$1"; }
cat >"$WORK/truth.json" <<EOF
{"netns": {"app": $(inode "$LAB_NS_APP"), "app2": $(inode "$LAB_NS_APP2"),
  "node": $(inode "$LAB_NS_NODE"), "dns": $(inode "$LAB_NS_DNS"), "up": $(inode "$LAB_NS_UP")},
 "app_ip": "$LAB_APP_IP", "app2_ip": "$LAB_APP2_IP", "dns_ip": "$LAB_DNS_IP",
 "up_ip": "$LAB_UP_IP", "load_n": $LOAD_N}
EOF

"$BIN/dnsreel-replay" "$WORK/cap.reel" -o jsonl >"$WORK/events.jsonl" || fail "replay -o jsonl"
# What the recording itself must show before any flow is built (the scenarios happened).
python3 "$HERE/flows_check.py" --recording-only "$WORK/truth.json" "$WORK/events.jsonl" ||
	fail "the recording does not show the scenarios"

"$BIN/dnsreel-replay" --help | grep -q -- '--flows' ||
	skip "dnsreel-replay has no --flows yet (the recording checks passed)"
"$BIN/dnsreel-replay" "$WORK/cap.reel" --flows -o jsonl >"$WORK/flows.jsonl" ||
	fail "replay --flows -o jsonl"
python3 "$HERE/flows_check.py" "$WORK/truth.json" "$WORK/events.jsonl" "$WORK/flows.jsonl" || {
	echo "capture kept: LAB_KEEP_WORK=1 to inspect $WORK" >&2
	fail "flows differ from the ground truth"
}

# The same flows in SQL, and the per-pod report of the losses: the dropped query (dropq1) and
# the first query of rtry2 were last seen on the node; dropq1's lookup got no answer at all,
# rtry2's did (its retry). The dropped response (droprsp1) was last seen on the node too.
{
	python3 -c 'import json, sys
print("\n".join(sorted(json.loads(l)["flow_id"] for l in open(sys.argv[1]))))' \
		"$WORK/flows.jsonl" >"$WORK/ids.replay"
	"$BIN/dnsreel-query" -o csv --no-header "$WORK/cap.reel" \
		"SELECT flow_id FROM flows ORDER BY 1" >"$WORK/ids.sql" || fail "query flows"
	cmp -s "$WORK/ids.replay" "$WORK/ids.sql" || fail "the flows table and replay --flows differ"
	got=$("$BIN/dnsreel-query" -o csv --no-header --report unanswered-pods "$WORK/cap.reel") ||
		fail "report unanswered-pods"
	[[ $got == "default,dnsclient,query,node,2,2,1,2
default,dnsclient,response,node,1,1,1,1" ]] || fail "report unanswered-pods: $got"
}
echo "PASS"
