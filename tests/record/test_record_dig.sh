#!/usr/bin/env bash
# Root test: dnsreel-record records dig (UDP and TCP, A and AAAA over IPv4 and IPv6) against an
# unbound in a network namespace this test creates (never the machine's resolver). Checks:
# events exist in both namespaces; dig's query AND the response dig receives carry dig's
# pid and comm; the capture verifies; only the namespaces asked for (--netns) are recorded.
# Usage: test_record_dig.sh BIN_DIR [VERIFY_TOOL]
set -u
BIN=$1
VERIFY=${2:-$BIN/dnsreel-verify}
. "$(dirname "$0")/common.sh"

CLI_INO=$(ino "$CLI") SRV_INO=$(ino "$SRV")

"$BIN/dnsreel-record" -w "$WORK/t.reel" --netns "$CLI_INO,$SRV" --ready-file "$WORK/ready" \
	--live -o jsonl --fields netns_id,pkt_type,qr,name,qtype,comm,pid,proto,src,dst \
	--flush 200ms ${REC_EXTRA:-} >"$WORK/live.jsonl" 2>"$WORK/rec.err" &
REC=$!
for _ in $(seq 100); do
	[ -e "$WORK/ready" ] && break
	kill -0 $REC 2>/dev/null || fail "recorder exited early"
	sleep 0.05
done
[ -e "$WORK/ready" ] || fail "recorder not ready after 5 s"

# dig's pid: the shell execs dig, so $$ of that shell is dig's pid.
run_dig() {
	ip netns exec "$CLI" sh -c 'echo $$ >"$0"; exec dig "$@" +time=2 +tries=1 >/dev/null' \
		"$WORK/dig.pid.$1" "${@:2}"
}
run_dig 1 @10.199.0.2 a.rec.test A || fail "dig 1"
run_dig 2 @10.199.0.2 a.rec.test AAAA +tcp || fail "dig 2 (tcp)"
run_dig 3 @fd00:199::2 a.rec.test AAAA || fail "dig 3 (ipv6)"
run_dig 4 @10.199.0.2 nx.rec.test A || fail "dig 4"
sleep 0.5
kill -INT $REC
wait $REC
rc=$?
REC=
[ $rc -eq 0 ] || fail "recorder exited $rc after SIGINT"

check_dig() { # N NAME QTYPE PROTO
	local pid
	pid=$(cat "$WORK/dig.pid.$1")
	for qr in Q R; do
		grep "\"name\":\"$2\"" "$WORK/live.jsonl" | grep "\"qtype\":\"$3\"" |
			grep "\"qr\":\"$qr\"" | grep "\"netns_id\":\"\?$CLI_INO" |
			grep "\"pid\":\"\?$pid\"\?[,}]" | grep -q '"comm":"\(dig\|isc-[a-z0-9-]*\)"' ||
			fail "dig $1 ($2 $3 $4): no $qr event in the client netns with dig's pid $pid"
	done
}
check_dig 1 a.rec.test. A udp
check_dig 2 a.rec.test. AAAA tcp
check_dig 3 a.rec.test. AAAA udp
check_dig 4 nx.rec.test. A udp
grep "\"netns_id\":\"\?$SRV_INO" "$WORK/live.jsonl" | grep -q '"comm":"unbound"' ||
	fail "no server-side event with unbound's comm"
# unbound listens on one socket per address: the IPv6 query and its answer find the v6 one.
n6=$(grep "\"netns_id\":\"\?$SRV_INO" "$WORK/live.jsonl" | grep 'fd00:199' |
	grep -c '"comm":"unbound"')
[ "$n6" -ge 2 ] || fail "server side over IPv6: $n6 events with unbound's comm, want 2"
n=$(wc -l <"$WORK/live.jsonl")
[ "$n" -ge 16 ] || fail "only $n live events (want >= 16: 4 transactions x 2 netns x Q/R)"
# Only the two namespaces asked for.
other=$(grep -v "\"netns_id\":\"\?\($CLI_INO\|$SRV_INO\)" "$WORK/live.jsonl" | head -3)
[ -z "$other" ] || fail "events from a netns not asked for: $other"
grep -q "events in" "$WORK/rec.err" || fail "no exit summary"
if [ -x "$VERIFY" ]; then
	"$VERIFY" "$WORK/t.reel" >"$WORK/verify.out" 2>&1 ||
		fail "verify: $(cat "$WORK/verify.out")"
fi
echo "ok: recorded dig with pid/comm in both directions ($n events)"
