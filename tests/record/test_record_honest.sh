#!/usr/bin/env bash
# Root test: the recorder records what it says it does. --live -F filters only what is
# printed (the capture holds every message; the summary's total is the sum of its per-netns
# counts); --select limits the capture and says so (events.not_selected in info and the
# summary); a --netns selection that matches nothing, or a --host-root without /proc, is an
# error (exit 1) naming it, not "0 events, 0 lost"; the status line shows on a terminal only.
# Usage: test_record_honest.sh BIN_DIR
set -u
BIN=$1
. "$(dirname "$0")/common.sh"
CLI_INO=$(ino "$CLI")

digs() {
	ip netns exec "$CLI" dig @10.199.0.2 a.rec.test A +time=2 +tries=1 >/dev/null || fail "dig a"
	ip netns exec "$CLI" dig @10.199.0.2 nx.rec.test A +time=2 +tries=1 >/dev/null || fail "dig nx"
	sleep 0.5
}
stop() {
	kill -INT $REC
	wait $REC
	rc=$?
	REC=
	[ $rc -eq 0 ] || fail "recorder exited $rc after SIGINT"
}
replay_names() { "$BIN/dnsreel-replay" "$1" -o jsonl --fields name,rcode,proto 2>/dev/null; }

# 1. --live -F: the view is filtered, the capture is not.
recorder_start -w "$WORK/all.reel" --netns "$CLI_INO,$SRV" --flush 100ms \
	--live -o jsonl --fields name,rcode -F rcode==NameError
digs
stop
nlive=$(wc -l <"$WORK/rec.out")
[ "$nlive" -ge 2 ] || fail "live view: $nlive lines, want the NXDOMAIN answers (>= 2)"
grep -v '"rcode":"NameError"' "$WORK/rec.out" | grep -q . &&
	fail "live view printed other than NameError: $(grep -v NameError "$WORK/rec.out" | head -2)"
nall=$(replay_names "$WORK/all.reel" | grep -c '"name":"a.rec.test."')
[ "$nall" -ge 4 ] || fail "-F changed the capture: $nall a.rec.test events recorded, want >= 4"
total=$(sed -n 's/^dnsreel-record: \([0-9]*\) events in.*/\1/p' "$WORK/rec.err")
sum=$(awk '$1 == "netns" { s += $(NF-1) } END { print s + 0 }' "$WORK/rec.err")
[ -n "$total" ] && [ "$total" -eq "$sum" ] ||
	fail "summary: $total events beside per-netns counts adding up to $sum"

# 2. --select: the capture is limited, and says so.
recorder_start -w "$WORK/sel.reel" --netns "$CLI_INO,$SRV" --flush 100ms \
	--select rcode==NameError
digs
stop
replay_names "$WORK/sel.reel" | grep '"proto":"UDP"' | grep -q '"name":"a.rec.test."' &&
	fail "--select: a.rec.test recorded over UDP"
replay_names "$WORK/sel.reel" | grep -q '"rcode":"NameError"' || fail "--select: no NXDOMAIN kept"
ns=$("$BIN/dnsreel-info" "$WORK/sel.reel" | awk '$1 == "events.not_selected" { print $2 }')
[ -n "$ns" ] && [ "$ns" -ge 4 ] || fail "info: events.not_selected '$ns', want >= 4"
grep -q "$ns not selected by --select" "$WORK/rec.err" ||
	fail "summary does not say $ns not selected: $(head -1 "$WORK/rec.err")"

# 3. Selections that find nothing: exit 1, named.
"$BIN/dnsreel-record" -w "$WORK/none.reel" --netns "$CLI_INO,1,abc" -d 1 \
	>/dev/null 2>"$WORK/rec.err"
rc=$?
[ $rc -eq 1 ] || fail "--netns with unknown 1,abc exited $rc, want 1"
grep -q -- "--netns: no network namespace 1,abc" "$WORK/rec.err" ||
	fail "--netns 1,abc not named: $(cat "$WORK/rec.err")"
mkdir -p "$WORK/emptyroot"
"$BIN/dnsreel-record" -w "$WORK/none2.reel" --host-root "$WORK/emptyroot" -d 1 \
	>/dev/null 2>"$WORK/rec.err"
rc=$?
[ $rc -eq 1 ] || fail "--host-root without proc exited $rc, want 1"
grep -q "attached to no network namespace" "$WORK/rec.err" ||
	fail "--host-root without proc: $(cat "$WORK/rec.err")"
# 4. A status line on a terminal only (script(1) gives one), not with -q, not when stderr is
# a file, not when --live prints on that same terminal.
command -v script >/dev/null || fail "script (util-linux) missing: cannot test the status line"
R="$BIN/dnsreel-record --netns $CLI_INO -d 1500ms"
DNSREEL_PROGRESS_DELAY=0 script -qec "$R -w '$WORK/tty1.reel' >/dev/null" "$WORK/tty.txt" >/dev/null
tr '\r' '\n' <"$WORK/tty.txt" | grep -aqE 'recording: 1 netns, [0-9]+ events, [0-9.]+ MiB, 0 lost, [0-9]+ events/s' ||
	fail "no status line on a terminal: $(tr '\r' '\n' <"$WORK/tty.txt" | head -3)"
DNSREEL_PROGRESS_DELAY=0 script -qec "$R -q -w '$WORK/tty2.reel' >/dev/null" "$WORK/tty.txt" >/dev/null
grep -aq 'recording:' "$WORK/tty.txt" && fail "-q still shows the status line"
DNSREEL_PROGRESS_DELAY=0 script -qec "$R --live -w '$WORK/tty3.reel'" "$WORK/tty.txt" >/dev/null
grep -aq 'recording:' "$WORK/tty.txt" && fail "status line mixed into --live on the same terminal"
DNSREEL_PROGRESS_DELAY=0 $R -w "$WORK/tty4.reel" >/dev/null 2>"$WORK/notty.err"
grep -aq 'recording:' "$WORK/notty.err" && fail "status line on stderr that is no terminal"
echo "ok: -F filters the view only ($nlive live, $nall a.rec.test recorded), --select" \
	"counted ($ns), unknown selections exit 1"
