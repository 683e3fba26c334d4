#!/usr/bin/env bash
# Root test: libbpf's messages reach stderr only through the recorder's log levels. Without -v
# a recording prints no libbpf line; with -vvv libbpf's debug messages (object loading, map
# reuse) come out as "dnsreel-record: libbpf: ..." lines beside the recorder's own attach
# lines. In both runs dig's query and answer are recorded (the capture verifies).
# Usage: test_record_log.sh BIN_DIR REC_VERIFY (tests/record/rec_verify.c)
set -u
BIN=$1
VERIFY=${2:?usage: test_record_log.sh BIN_DIR REC_VERIFY}
. "$(dirname "$0")/common.sh"

CLI_INO=$(ino "$CLI")

record_once() { # record_once NAME ARGS...: one dig recorded into $WORK/NAME.reel
	local name=$1
	shift
	recorder_start -w "$WORK/$name.reel" --netns "$CLI_INO" --flush 200ms "$@"
	ip netns exec "$CLI" dig @10.199.0.2 a.rec.test A +time=2 +tries=1 >/dev/null ||
		fail "$name: dig"
	sleep 0.5
	kill -INT "$REC"
	wait "$REC"
	local rc=$?
	REC=
	[ $rc -eq 0 ] || fail "$name: recorder exited $rc"
	cp "$WORK/rec.err" "$WORK/$name.err"
	local n
	n=$("$VERIFY" "$WORK/$name.reel" "$CLI_INO" 2>"$WORK/$name.verify") ||
		fail "$name: capture does not verify: $(cat "$WORK/$name.verify")"
	[ "$n" -ge 2 ] || fail "$name: $n events of the client netns, want dig's query and answer"
}

record_once quiet
if grep -q "libbpf" "$WORK/quiet.err"; then
	sed 's/^/  quiet: /' "$WORK/quiet.err"
	fail "libbpf lines on stderr without -v"
fi

record_once debug -vvv
n=$(grep -c '^dnsreel-record: libbpf: ' "$WORK/debug.err")
[ "$n" -ge 5 ] || {
	sed 's/^/  debug: /' "$WORK/debug.err" | head -40
	fail "-vvv: $n libbpf lines on stderr, want libbpf's debug messages"
}
grep -q "^dnsreel-record: attached netns $CLI_INO" "$WORK/debug.err" ||
	fail "-vvv: no attach line for netns $CLI_INO"
echo "ok: libbpf messages: none without -v, $n with -vvv"
