#!/usr/bin/env bash
# Lab test: dnsreel-diagnose names each failure mode the lab can reproduce, with exact finding
# ids and counts, and nothing on clean traffic. One lab; one short recording per scenario:
#
#   clean      A, AAAA, MX of external names (FQDN), a cluster name, getaddrinfo's A+AAAA pair
#              of an absolute name: no findings
#   race       getaddrinfo (getent ahosts) of an absolute name: glibc sends A and AAAA together
#              from one socket; the AAAA's first copy is dropped on the node after DNAT
#              (iptables FORWARD, first packet only) and glibc resends after its 5 s timeout:
#              conntrack-race, 2 pairs (two lookups at once)
#   search     getent ahosts with ndots:5: three search domains x A/AAAA NXDOMAIN, then the
#              name: search-path, 2 walks of 6 NXDOMAIN each
#   upstream   broken.test (nsd SERVFAIL) and a zone nsd does not serve (nsd REFUSED; unbound
#              gives the client SERVFAIL): upstream-servfail and upstream-refused, each
#              naming both failed client queries (the server's count)
#   forwarder  names under a zone unbound itself refuses (local-zone refuse): forwarder-refused 3
#   tc         big.example.test TXT (2.3 KB): truncated over UDP, dig retries over TCP:
#              truncation 1, tcp_retries 1
#   lost       a query dropped on the node: unanswered/node 1
#   timeout    the forwarder's upstream queries for one name dropped on the node (last: unbound
#              may then hold the upstream for down): unanswered/upstream 1 and upstream-timeout
#
# Usage: test_diagnose.sh BINDIR     (exit 77 = skipped)
set -uo pipefail
BIN=${1:?usage: test_diagnose.sh BINDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
lab_require ip iptables unbound nsd dig getent python3 "$BIN/dnsreel-record" \
	"$BIN/dnsreel-diagnose"
export LAB_UNBOUND_EXTRA='local-zone: "busy.w.example.test." refuse'
lab_start drg

nodeipt() { ip netns exec "$LAB_NS_NODE" iptables "$@"; }
app() { "$LAB_SH" exec app "$@" >>"$WORK/client.out" 2>&1; }
# After DNAT the FORWARD chain sees the forwarder pod's address. Only the first AAAA query of
# each race name (its type bytes follow the name's last label, "test"): the resend gets through.
for n in race1 race2; do
	nodeipt -I FORWARD -p udp -s "$LAB_APP_IP" -d "$LAB_DNS_IP" --dport 53 \
		-m string --string $n --algo bm \
		-m string --hex-string '|0474657374 00 001c 0001|' --algo bm \
		-m statistic --mode nth --every 1000 --packet 0 -j DROP || fail "iptables $n"
done
nodeipt -I FORWARD -p udp -s "$LAB_APP_IP" -d "$LAB_DNS_IP" --dport 53 \
	-m string --string dropq1 --algo bm -j DROP || fail "iptables dropq1"
nodeipt -I FORWARD -d "$LAB_UP_IP" -m string --string upto1 --algo bm -j DROP ||
	fail "iptables upto1"

D=(dig +tries=1 +time=2)
scenario() { # NAME: record while the commands of scenario_NAME run
	recorder_start "$WORK/$1.reel" --flush 200ms --netns "${LAB_NETNS// /,}"
	"scenario_$1"
	sleep 0.3 # the last responses reach every tap
	recorder_stop
}
scenario_clean() {
	app "${D[@]}" www.example.test.
	app "${D[@]}" www.example.test. AAAA
	app "${D[@]}" example.test. MX
	app "${D[@]}" web.default.svc.cluster.local.
	app getent ahosts clean1.w.example.test.
}
scenario_race() {
	app getent ahosts race1.w.example.test. &
	local p=$!
	app getent ahosts race2.w.example.test.
	wait $p
}
scenario_search() {
	app getent ahosts srch1.w.example.test
	app getent ahosts srch2.w.example.test
}
scenario_upstream() {
	app "${D[@]}" sf1.broken.test.
	app "${D[@]}" x.notserved.test.
}
scenario_forwarder() {
	local i
	for i in 1 2 3; do app "${D[@]}" q$i.busy.w.example.test.; done
}
scenario_tc() {
	app dig +time=2 big.example.test. TXT
}
scenario_lost() {
	app dig +tries=1 +time=1 dropq1.w.example.test.
}
scenario_timeout() {
	app dig +tries=1 +time=2 upto1.w.example.test.
}
t0=$(date +%s.%N)
for s in clean race search upstream forwarder tc lost timeout; do scenario $s; done

[[ $(grep -c "^2001:db8::77 *STREAM race[12].w.example.test" "$WORK/client.out") == 2 ]] ||
	fail "race: getent did not resolve both names"
grep -q "status: REFUSED" "$WORK/client.out" || fail "forwarder: no REFUSED answer"
grep -q "status: SERVFAIL" "$WORK/client.out" || fail "upstream: no SERVFAIL answer"
grep -q "Truncated, retrying in TCP mode" "$WORK/client.out" || fail "tc: dig did not retry over TCP"

# expect NAME 'ID SUBJECT COUNT'...: exactly these findings (count '+' = at least one)
rc_all=0
expect() {
	local name=$1
	shift
	"$BIN/dnsreel-diagnose" "$WORK/$name.reel" -o json >"$WORK/$name.json" 2>"$WORK/$name.err"
	local rc=$?
	python3 - "$WORK/$name.json" "$rc" "$@" <<'PY' || {
import json, sys
d = json.load(open(sys.argv[1]))
rc = int(sys.argv[2])
got = sorted((f["id"], f["subject"], f["count"]) for f in d["findings"])
want = [tuple(w.split(" ")) for w in sys.argv[3:]]
ok = len(got) == len(want)
for (gi, gs, gc), (wi, ws, wc) in zip(got, sorted(want)):
    ok &= gi == wi and (gs == ws or ws == "*") and (str(gc) == wc or (wc == "+" and gc > 0))
ok &= rc == (3 if want else 0)
if not ok:
    print("got (exit %d):" % rc, got, "\nwant:", sorted(want))
sys.exit(0 if ok else 1)
PY
		echo "FAIL: $name: findings differ (capture kept with LAB_KEEP_WORK=1)" >&2
		"$BIN/dnsreel-diagnose" "$WORK/$name.reel" >&2
		rc_all=1
	}
}
num() { # NAME ID KEY: a number of the finding
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print([f for f in d["findings"] if f["id"] == sys.argv[2]][0]["numbers"][sys.argv[3]])' \
		"$WORK/$1.json" "$2" "$3"
}
want_num() { # NAME ID KEY VALUE
	local got
	got=$(num "$1" "$2" "$3") || got="(none)"
	[[ $got == "$4" ]] || { echo "FAIL: $1: $2 $3 = $got, want $4" >&2; rc_all=1; }
}
expect clean
expect race "conntrack-race  2"
want_num race conntrack-race never_answered 0
expect search "search-path default/dnsclient 2"
want_num search search-path nxdomain_before_answer 12
want_num search search-path walk_lookups 2
expect upstream "upstream-servfail $LAB_UP_IP:53 +" "upstream-refused $LAB_UP_IP:53 +"
want_num upstream upstream-servfail client_flows_failed 2 # both failed with the server tried
want_num upstream upstream-refused client_flows_failed 2
expect forwarder "forwarder-refused * 3"
want_num forwarder forwarder-refused flows 3
expect tc "truncation  1"
want_num tc truncation tcp_retries 1
expect lost "unanswered node 1"
expect timeout "unanswered upstream 1" "upstream-timeout $LAB_UP_IP:53 +"
echo "scenarios and diagnosis: $(echo "$(date +%s.%N) - $t0" | bc) s"
[[ $rc_all == 0 ]] || exit 1
echo "PASS"
