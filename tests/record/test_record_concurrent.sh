#!/usr/bin/env bash
# Root test: 30 recorders started at once on one capture path. Exactly one records (exit 0,
# its capture verifies and holds the dig traffic); the 29 others exit 1 saying the capture is
# in use, and leave nothing behind (no second capture, no damage to the winner's).
# Usage: test_record_concurrent.sh BIN_DIR [VERIFY_TOOL]
set -u
BIN=$1
VERIFY=${2:-$BIN/dnsreel-verify}
. "$(dirname "$0")/common.sh"
CLI_INO=$(ino "$CLI")
N=30
pids=()
for i in $(seq $N); do
	"$BIN/dnsreel-record" -w "$WORK/one.reel" --netns "$CLI_INO" --flush 100ms -d 4 \
		>/dev/null 2>"$WORK/rec.$i.err" &
	pids+=($!)
done
sleep 2
ip netns exec "$CLI" dig @10.199.0.2 a.rec.test A +time=2 +tries=1 >/dev/null || fail "dig"
ok=0 busy=0
for i in $(seq $N); do
	wait "${pids[$((i - 1))]}"
	rc=$?
	if [ $rc -eq 0 ]; then
		ok=$((ok + 1))
	elif [ $rc -eq 1 ] && grep -q "one.reel is in use" "$WORK/rec.$i.err"; then
		busy=$((busy + 1))
	else
		fail "recorder $i: exit $rc: $(cat "$WORK/rec.$i.err")"
	fi
done
[ $ok -eq 1 ] && [ $busy -eq $((N - 1)) ] || fail "$ok recorded, $busy in use; want 1 and $((N - 1))"
n=$("$BIN/dnsreel-replay" "$WORK/one.reel" -o jsonl --fields name | grep -c '"a.rec.test."')
[ "$n" -ge 2 ] || fail "the winner's capture holds $n a.rec.test events, want >= 2"
left=$(ls "$WORK" | grep -v '^\(one.reel\|rec\..*\.err\|unbound.*\|ready\)$')
[ -z "$left" ] || fail "left behind: $left"
if [ -x "$VERIFY" ]; then
	"$VERIFY" "$WORK/one.reel" >"$WORK/verify.out" 2>&1 || fail "verify: $(cat "$WORK/verify.out")"
fi
echo "ok: $N concurrent starts: 1 recorded ($n events of the dig), $busy in use"
