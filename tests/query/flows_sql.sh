#!/bin/bash
# The flows and flow_events tables (and the reports built on them) on the committed lab
# capture tests/data/lab-basic.reel, against its known transactions (tests/data/README.md):
# 17 client flows and one of unbound's own (the CNAME target www.example.test A it chased for
# alias.example.test), every event in exactly one flow, pushdown that changes nothing but
# the work, the extension in the stock sqlite3 shell.
# Usage: flows_sql.sh BINDIR EXT_SO TOPSRCDIR [PART]   PART: tool (default) or sqlite3 (77
# without the shell)
set -u
BIN=$1
EXT=$2
TOP=$3
PART=${4:-tool}
Q=$BIN/dnsreel-query
CAP=$TOP/tests/data/lab-basic.reel
T=$(mktemp -d /tmp/dnsreel-flows-sql-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}
# sql QUERY: the answer as CSV without header
sql() { "$Q" -o csv --no-header "$CAP" "$1" 2>"$T/err" || fail "query failed: $1: $(cat "$T/err")"; }
# is QUERY EXPECTED
is() {
	local got
	got=$(sql "$1")
	[ "$got" = "$2" ] || fail "$1
  got:  $(echo "$got" | head -20)
  want: $2"
}

if [ "$PART" = sqlite3 ]; then
	command -v sqlite3 >/dev/null || {
		echo "SKIP: the sqlite3 shell is not installed (apt-get install sqlite3)"
		exit 77
	}
	# a sanitizer build's extension needs the sanitizer runtimes loaded first in the shell
	if [ -n "${DNSREEL_SQLITE3_PRELOAD:-}" ]; then
		sqlite3() { env "LD_PRELOAD=$DNSREEL_SQLITE3_PRELOAD" ASAN_OPTIONS=detect_leaks=0 sqlite3 "$@"; }
	fi
	got=$(sqlite3 "$CAP/index.sqlite" ".load ${EXT%.so}" \
		"SELECT count(*), sum(client_role = 'forwarder') FROM flows" \
		"SELECT count(*), count(DISTINCT event_id) FROM flow_events" 2>&1)
	[ "$got" = "18|1
327|327" ] || fail "extension: $got"
	got=$(sqlite3 :memory: ".load ${EXT%.so}" \
		"CREATE VIRTUAL TABLE temp.f USING flows('$CAP')" "SELECT count(*) FROM temp.f" 2>&1)
	[ "$got" = "18" ] || fail "extension, a named capture: $got"
	[ $fails = 0 ] && echo PASS
	exit $((fails > 0))
fi

# ---- flows: one row per flow ---------------------------------------------------------------
is "SELECT count(*), sum(outcome = 'answered'), sum(client_role = 'client'),
	count(DISTINCT flow_id), count(DISTINCT lookup_id) FROM flows" "18,18,17,18,14"
# In client-query order, as replay --flows prints them (numbers: tests/data/README.md).
is "SELECT name, qtype, rcode, coalesce(rcode_origin, '-'), upstreams, client_role FROM flows" \
	"www.example.test.,A,Success,-,1,client
www.example.test.,AAAA,Success,-,1,client
alias.example.test.,A,Success,-,1,client
www.example.test.,A,Success,-,0,forwarder
example.test.,MX,Success,-,1,client
_http._tcp.web.default.svc.cluster.local.,SRV,Success,-,0,client
nosuch.example.test.,A,NameError,upstream,1,client
nope.default.svc.cluster.local.,A,NameError,forwarder,0,client
x.broken.test.,A,ServerFailure,upstream,5,client
mail.example.test.default.svc.cluster.local.,A,NameError,forwarder,0,client
mail.example.test.svc.cluster.local.,A,NameError,forwarder,0,client
mail.example.test.cluster.local.,A,NameError,forwarder,0,client
mail.example.test.,A,Success,-,1,client
txt.example.test.,TXT,Success,-,1,client
_sip._udp.example.test.,SRV,Success,-,1,client
big.example.test.,TXT,Success,-,2,client
big.example.test.,TXT,Success,-,2,client
www.example.test.,AAAA,Success,-,1,client"
# The client: the app pod, dig or kdig, through the VIP (v4 or v6); unbound for its own flow.
is "SELECT client_k8s_namespace, client_k8s_podname, client_addr, server, count(*) FROM flows
	GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC, 4" \
	"default,dnsclient,10.244.0.10,s/kube-system/kube-dns:53,16
kube-system,coredns-5d78c9869d-91517,10.244.0.2,10.254.0.2:53,1
default,dnsclient,fd00:244::10,[fd00:96::a]:53,1"
is "SELECT DISTINCT client_comm FROM flows ORDER BY 1" "isc-net-0000
kdig
unbound"
# One lookup: dig +search walks three search domains then the name; big.example.test is a
# truncated UDP answer then TCP.
is "SELECT count(DISTINCT lookup_id), count(*), min(lookup_id = flow_id) FROM flows
	WHERE name LIKE 'mail.example.test.%'" "1,4,0"
is "SELECT count(*) FROM flows WHERE lookup_id = (SELECT flow_id FROM flows
	WHERE name = 'mail.example.test.default.svc.cluster.local.')" "4"
is "SELECT count(DISTINCT lookup_id), count(*) FROM flows WHERE name = 'big.example.test.'" "1,2"
# Latency at the client is the client's own response minus its query (dns.latency_ns of the
# response the client received); upstream latency the forwarder's for the try it used.
is "SELECT count(*) FROM flows f WHERE f.client_role = 'client' AND f.latency_ns = (
	SELECT d.latency_ns FROM flow_events e JOIN dns d USING (event_id)
	WHERE e.flow_id = f.flow_id AND d.netns_id = f.client_netns_id AND d.qr = 'R'
	ORDER BY d.timestamp DESC LIMIT 1)" "17"
is "SELECT upstream_server, upstream_rcode, upstream_latency_ns > 0 FROM flows
	WHERE name = 'nosuch.example.test.'" "10.254.0.2:53,NameError,1"
is "SELECT hops, outcome, lost_direction IS NULL, retries FROM flows
	WHERE name = 'nope.default.svc.cluster.local.'" "4,answered,1,0"

# ---- flow_events: every event of the capture in exactly one flow ---------------------------
is "SELECT (SELECT count(*) FROM dns), count(*), count(DISTINCT event_id),
	(SELECT count(*) FROM flow_events JOIN dns USING (event_id)) FROM flow_events" \
	"327,327,327,327"
is "SELECT count(*) FROM flow_events e JOIN dns d USING (event_id)
	WHERE d.netns_id != e.netns_id OR d.timestamp != e.timestamp OR d.capture != e.capture" "0"
# x.broken.test: the client's 8 sightings and unbound's 5 tries of 10 sightings each.
is "SELECT count(*), count(DISTINCT d.id), sum(e.role = 'upstream') FROM flows f
	JOIN flow_events e USING (flow_id) JOIN dns d USING (event_id)
	WHERE f.name = 'x.broken.test.'" "58,6,10"
is "SELECT e.role, count(*) FROM flows f JOIN flow_events e USING (flow_id)
	WHERE f.name = '_http._tcp.web.default.svc.cluster.local.' GROUP BY 1 ORDER BY 1" \
	"client,2
forwarder,2
node,4"

# ---- pushdown: same answers, less work -------------------------------------------------------
sql "SELECT flow_id, lookup_id, name FROM flows" >"$T/all"
t0=1795683049940090828 # the first flow of the search walk
t1=1795683050506844381 # the TCP flow of big.example.test
is "SELECT flow_id, lookup_id, name FROM flows WHERE timestamp >= $t0 AND timestamp <= $t1" \
	"$(sed -n '10,17p' "$T/all")"
is "SELECT count(*) FROM flows WHERE timestamp > $t0 AND timestamp < $t1" "6"
is "SELECT count(*) FROM flows WHERE timestamp = $t1" "1"
is "SELECT flow_id, lookup_id, name FROM flows WHERE name = 'x.broken.test.'" \
	"$(grep ',x.broken.test.$' "$T/all")"
is "SELECT count(*) FROM flows WHERE name = 'X.BROKEN.TEST.'" "0"
is "SELECT count(*) FROM flows WHERE name = NULL" "0"
fid=$(grep ',x.broken.test.$' "$T/all" | cut -d, -f1)
is "SELECT count(*) FROM flow_events WHERE flow_id = '$fid'" "58"
# ---- reports: per lookup, hand-counted from tests/data/README.md -----------------------------
# report NAME [CAPTURES...]: CSV without header
report() {
	local r=$1
	shift
	"$Q" -o csv --no-header --report "$r" "${@:-$CAP}" 2>"$T/err" || fail "report $r: $(cat "$T/err")"
}
# Five NXDOMAIN flows, each once (not once per hop), the pod's own: three of the search walk
# and nope.default.svc from the forwarder, nosuch.example.test from the upstream.
[ "$(report nxdomain)" = "default,dnsclient,mail.example.test.cluster.local.,1,1,forwarder
default,dnsclient,mail.example.test.default.svc.cluster.local.,1,1,forwarder
default,dnsclient,mail.example.test.svc.cluster.local.,1,1,forwarder
default,dnsclient,nope.default.svc.cluster.local.,1,1,forwarder
default,dnsclient,nosuch.example.test.,1,1,upstream" ] || fail "report nxdomain: $(report nxdomain)"
# 13 lookups of the pod (17 flows: the search walk is one, big.example.test UDP+TCP one);
# the slowest is x.broken.test (5 upstream tries), then big.example.test, then the walk.
report slowest >"$T/slowest"
[ "$(wc -l <"$T/slowest")" = 13 ] || fail "report slowest: $(wc -l <"$T/slowest") lookups, want 13"
[ "$(cut -d, -f5,7,8,9 "$T/slowest" | head -3)" = "x.broken.test.,1,0,3.641
big.example.test.,2,0,2.815
mail.example.test.default.svc.cluster.local.,4,0,2.198" ] ||
	fail "report slowest: $(head -3 "$T/slowest")"
# The lookup time of the walk: its first query to its last answer at the client.
want=$(sql "SELECT round((max(timestamp + latency_ns) - min(timestamp)) / 1e6, 3) FROM flows
	WHERE name LIKE 'mail.example.test.%'")
[ "$want" = "2.198" ] || fail "search walk lookup time $want"
[ -z "$(report unanswered)" ] || fail "report unanswered: lab-basic has none: $(report unanswered)"
[ -z "$(report unanswered-pods)" ] || fail "report unanswered-pods: $(report unanswered-pods)"
[ "$(report searchpath)" = "default,dnsclient,1,1,3" ] || fail "report searchpath: $(report searchpath)"
# unbound asked nsd 19 times (README: 1 + 1 + 2 for alias and its CNAME target + 1 + 1 + 5
# for x.broken.test + 1 + 1 + 1 + 4 for big.example.test's UDP and TCP questions, each
# truncated then TCP + 1) for 12 client flows; NXDOMAIN once, SERVFAIL on every broken try.
report upstream | cut -d, -f1-7 >"$T/up"
[ "$(cat "$T/up")" = "kube-system/coredns-5d78c9869d-91517,10.254.0.2:53,12,19,19,1,5" ] ||
	fail "report upstream: $(cat "$T/up")"
is "SELECT count(DISTINCT id || ':' || src_port) FROM dns WHERE netns_id = 4026532747
	AND qr = 'Q' AND pkt_type = 'OUTGOING'" "19"
[ "$(report rcodes)" = "2026-11-26T08:50:00Z,17,13,11,5,1,0,0,0" ] ||
	fail "report rcodes: $(report rcodes)"
# Several captures: a capture column first, in the report and in the SQL it prints.
[ "$(report rcodes "$CAP" "$CAP" | cut -d, -f1)" = "$CAP" ] || fail "rcodes with two captures"
"$Q" --report rcodes --show-sql "$CAP" "$CAP" | grep -q "^SELECT capture, strftime" ||
	fail "--show-sql for two captures has no capture column"
"$Q" --report rcodes --show-sql | grep -q "^SELECT strftime" ||
	fail "--show-sql for one capture has a capture column"

[ $fails = 0 ] && echo PASS
exit $((fails > 0))
