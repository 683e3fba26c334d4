#!/usr/bin/env bash
# Lab tests: the recorder under faults, with dnsperf traffic through the lab's hops. Netns
# churn, plain disk full and "verifies after SIGKILL" are tests/record/test_record_faults.sh
# (RECORD's); these add what it does not check:
#   ring     flight-recorder mode on a 4 MiB tmpfs that the traffic would overfill: the oldest
#            segments go, recording goes on to the end, exit 0, the capture verifies and stays
#            within --max-size.
#   sigkill  a kill loop: SIGKILL at random moments under load (KILLS rounds, 5), against
#            tcpdump's ground truth in the app pod: each capture verifies, has no gap, and holds
#            every packet older than 250 ms before the kill (dnsreel-record(1)'s bound).
#   idle     an idle recorder sleeps (few polls), and wakes for a lone query within the bound.
#   busy     with the node's CPUs busy, frames take the cheaper --busy-zstd-level and still
#            hold every packet tcpdump sees.
# Usage: test_faults.sh BINDIR ring|sigkill|idle|busy     (exit 77 = skipped)
set -uo pipefail
BIN=${1:?usage: test_faults.sh BINDIR CASE}
CASE=${2:?usage: test_faults.sh BINDIR ring|sigkill|idle|busy}
. "$(dirname "$0")/common.sh"
lab_require ip iptables unbound nsd dig dnsperf tcpdump tshark python3 "$BIN/dnsreel-record" \
	"$BIN/dnsreel-verify" "$BIN/dnsreel-replay" "$BIN/lab-compare"
lab_start drf
MNT=""
fault_cleanup() {
	if [[ -n $MNT ]]; then umount -l "$MNT" 2>/dev/null || true; fi
	lab_cleanup
}
trap fault_cleanup EXIT

wall_ns() { local t=${EPOCHREALTIME/./}; echo "${t}000"; } # bash builtin: no fork delay
queries() {
	printf '%s\n' "www.example.test A" "mail.example.test AAAA" "nosuch.example.test A" \
		"kube-dns.kube-system.svc.cluster.local A" >"$WORK/queries"
}
verify() { # verify DIR: dnsreel-verify passes and the capture reads
	"$BIN/dnsreel-verify" "$1" >"$WORK/verify.out" 2>&1 ||
		{ cat "$WORK/verify.out" >&2; fail "dnsreel-verify $1 failed"; }
	lab_count "$1"
}
lab_count() { # lab_count DIR: events in the lab's netns -> $EVENTS, $LAST_TS
	local args=() ns
	for ns in $LAB_NETNS; do args+=(-p "$(netns_inode "$ns"):${ns#"$LAB_ID"-}"); done
	"$BIN/lab-compare" --count -c "$1" "${args[@]}" >"$WORK/count.out" 2>&1 ||
		{ cat "$WORK/count.out" >&2; fail "capture $1 does not read"; }
	EVENTS=$(awk '/^total:/ { print $5 }' "$WORK/count.out")
	LAST_TS=$(awk '/^time:/ { print $5 }' "$WORK/count.out")
}

case $CASE in
ring)
	MNT=$WORK/small
	mkdir -p "$MNT"
	mount -t tmpfs -o size=4m tmpfs "$MNT" || skip "cannot mount a tmpfs"
	queries
	recorder_start "$MNT/cap.reel" --flush 200ms --max-size 2M --segment-size 256K \
		--netns "${LAB_NETNS// /,}"
	# Enough traffic to write several MiB: every query makes ~20 events across the hops.
	in_app dnsperf -s "$LAB_VIP" -d "$WORK/queries" -l 5 -Q 6000 -c 4
	kill -0 "$RECORDER_PID" 2>/dev/null ||
		{ cat "$WORK/record.err" >&2; fail "recorder died in ring mode"; }
	recorder_stop
	verify "$MNT/cap.reel"
	((EVENTS > 0)) || fail "ring capture empty"
	used=$(du -sk "$MNT/cap.reel" | cut -f1)
	((used <= 3 * 1024)) || fail "ring capture uses ${used} KiB (--max-size 2M)"
	grep -i "space" "$WORK/record.err" && fail "ring mode reported a full disk"
	echo "ring: $EVENTS events kept in $used KiB"
	;;
idle)
	# An idle recorder sleeps until the next packet wakes it (the packet programs do, once it
	# said it sleeps): 3 s without traffic take a few polls (housekeeping, about one a
	# second), not one every 10 ms; and a lone query after an idle spell is on disk within
	# the kill bound: SIGKILL 300 ms after its answer keeps both of the app pod's packets.
	recorder_start "$WORK/idle.reel" --netns "${LAB_NETNS// /,}" --stats
	sleep 3
	recorder_stop
	polls=$(awk '$3 == "polls" { print $4 }' "$WORK/record.err")
	asleep=$(awk '$3 == "polls.asleep" { print $4 }' "$WORK/record.err")
	[[ -n $polls && -n $asleep ]] || { cat "$WORK/record.err" >&2; fail "no polls in --stats"; }
	echo "idle: $polls polls in 3 s, $asleep asleep"
	((polls <= 30)) || fail "idle recorder polled $polls times in 3 s (more than 10 a second)"
	((asleep >= 2)) || fail "idle recorder slept $asleep times in 3 s"
	for r in 1 2 3; do
		recorder_start "$WORK/wake$r.reel" --netns "${LAB_NETNS// /,}"
		sleep 1.5
		in_app dig +tries=1 +time=2 @"$LAB_VIP" "idle$r$LAB_ID.example.test" A
		sleep 0.3
		kill -KILL "$RECORDER_PID"
		wait "$RECORDER_PID" 2>/dev/null
		"$BIN/dnsreel-verify" --reindex "$WORK/wake$r.reel" >"$WORK/verify.out" 2>&1 ||
			{ cat "$WORK/verify.out" >&2; fail "round $r: verify --reindex after SIGKILL"; }
		n=$("$BIN/dnsreel-replay" "$WORK/wake$r.reel" -F "netns_id==$(netns_inode "$LAB_NS_APP")" \
			-o jsonl 2>/dev/null | grep -c "idle$r$LAB_ID")
		echo "idle round $r: $n of the app pod's 2 packets kept after SIGKILL"
		((n == 2)) || fail "round $r: $n of 2 packets of a query after idle kept (kill bound)"
	done
	;;
sigkill)
	# KILLS rounds in one lab. Each: ground truth (tcpdump in immediate mode in the app pod,
	# stopped cleanly), dnsreel-record on every lab netns and, beside it, the plain
	# `tcpdump -w` a user would run; dnsperf through the lab; SIGKILL to both at a random
	# moment. For the app pod's packets, per recorder:
	#   gap      ground-truth packets older than the newest kept one that are absent
	#   lost250  ground-truth packets older than the kill - 250 ms that are absent
	# dnsreel must have neither (the bound of dnsreel-record(1)); tcpdump's are printed.
	queries
	APP_INO=$(netns_inode "$LAB_NS_APP")
	printf '%-5s %-8s %9s %5s %7s %7s %7s\n' round tool window_ms gap lost250 kept truth
	for r in $(seq 1 "${KILLS:-5}"); do
		ip netns exec "$LAB_NS_APP" tcpdump -i any -n -Z root -s 0 -B 32768 -U --immediate-mode \
			-w "$WORK/truth$r.pcap" port 53 2>"$WORK/truth.err" &
		truth=$!
		ip netns exec "$LAB_NS_APP" tcpdump -i any -n -Z root -w "$WORK/td$r.pcap" port 53 \
			2>"$WORK/td.err" &
		td=$!
		LAB_PIDS+=("$truth" "$td")
		for i in $(seq 100); do
			grep -q "listening on" "$WORK/truth.err" 2>/dev/null &&
				grep -q "listening on" "$WORK/td.err" 2>/dev/null && break
			sleep 0.05
		done
		recorder_start "$WORK/k$r.reel" --netns "${LAB_NETNS// /,}" ${SIGKILL_ARGS:-}
		"$LAB_SH" exec app dnsperf -s "$LAB_VIP" -d "$WORK/queries" -l 4 -Q 3000 -c 4 \
			>/dev/null 2>&1 &
		perf=$!
		LAB_PIDS+=("$perf")
		sleep "$(python3 -c 'import random; print(round(random.uniform(0.3, 3.0), 2))')"
		kill -KILL "$RECORDER_PID" "$td"
		killed=${EPOCHREALTIME/./}000 # a builtin: no fork between the kill and the stamp
		wait "$RECORDER_PID" "$td" 2>/dev/null
		wait "$perf"
		kill -INT "$truth"
		wait "$truth"
		# the crash state (a frame written, not yet indexed; a torn tail) is what --reindex
		# repairs; it must find nothing damaged, and the capture then verifies
		"$BIN/dnsreel-verify" --reindex "$WORK/k$r.reel" >"$WORK/verify.out" 2>&1 || {
			cat "$WORK/verify.out" >&2
			fail "round $r: verify --reindex after SIGKILL found damage"
		}
		"$BIN/dnsreel-verify" "$WORK/k$r.reel" >"$WORK/verify.out" 2>&1 || {
			cat "$WORK/verify.out" >&2
			fail "round $r: capture does not verify after SIGKILL"
		}
		"$BIN/dnsreel-replay" "$WORK/k$r.reel" -F "netns_id==$APP_INO" -o jsonl 2>/dev/null |
			python3 -c 'import sys, json; [print(json.loads(l)["timestamp_raw"]) for l in sys.stdin]' \
				>"$WORK/k$r.ts"
		tshark -r "$WORK/truth$r.pcap" -T fields -e frame.time_epoch 2>/dev/null >"$WORK/truth$r.ts"
		tshark -r "$WORK/td$r.pcap" -T fields -e frame.time_epoch 2>/dev/null >"$WORK/td$r.ts"
		python3 - "$killed" "$WORK/truth$r.ts" "$WORK/k$r.ts" "$WORK/td$r.ts" "$r" \
			>>"$WORK/kills.out" <<'PY' || fail "round $r: cannot compare with the ground truth"
import sys
from decimal import Decimal
K = int(sys.argv[1])
def ns(s):
    s = s.strip()
    return int(Decimal(s) * 1000000000) if "." in s else int(s)
truth = sorted(ns(l) for l in open(sys.argv[2]) if l.strip())
if not truth:
    sys.exit("no ground truth")
for name, path in (("dnsreel", sys.argv[3]), ("tcpdump", sys.argv[4])):
    kept = sorted(ns(l) for l in open(path) if l.strip())
    newest = kept[-1] if kept else 0
    # two taps stamp one packet apart by microseconds: a kept packet counts up to 1 ms later
    def absent(limit):
        return max(0, sum(1 for x in truth if x < limit) -
                   sum(1 for x in kept if x < limit + 1000000))
    gap = absent(newest - 1000000) if kept else 0
    lost250 = absent(K - 250000000)
    window = (K - newest) / 1e6 if kept else float("inf")
    print("%-5s %-8s %9.1f %5d %7d %7d %7d" % (sys.argv[5], name, window, gap, lost250,
                                              len(kept), len(truth)))
PY
		tail -2 "$WORK/kills.out"
	done
	bad=$(awk '$2 == "dnsreel" && ($4 != 0 || $5 != 0)' "$WORK/kills.out")
	[[ -z $bad ]] || fail "a SIGKILL lost more than the last 250 ms or left a gap: $bad"
	;;
busy)
	# The node's CPUs busy (two spinning shells, bounded by time): frames are compressed at
	# --busy-zstd-level (1) and still hold every packet tcpdump sees in every lab netns; with
	# --busy-zstd-level 0 every frame keeps --zstd-level.
	queries
	for lvl in 1 0; do
		for _ in 1 2; do
			timeout 8 bash -c 'while :; do :; done' &
			LAB_PIDS+=($!)
		done
		sleep 1.2 # the recorder's first look at /proc/stat then sees a busy second
		tcpdump_start
		recorder_start "$WORK/busy$lvl.reel" --netns "${LAB_NETNS// /,}" --stats \
			--busy-zstd-level "$lvl"
		"$LAB_SH" exec app dnsperf -s "$LAB_VIP" -d "$WORK/queries" -l 4 -Q 1000 -c 2 \
			>"$WORK/dnsperf.out" 2>&1
		sleep 0.5
		recorder_stop
		tcpdump_stop
		wait
		frames=$(awk '$3 == "writer.frames" { print $4 }' "$WORK/record.err")
		busy=$(awk '$3 == "writer.frames_busy_level" { print $4 }' "$WORK/record.err")
		echo "busy, --busy-zstd-level $lvl: $busy of $frames frames at the busy level"
		[[ -n $frames && -n $busy ]] || { cat "$WORK/record.err" >&2; fail "no frame counts"; }
		if ((lvl)); then
			((busy >= 5 && busy < frames)) ||
				fail "$busy of $frames frames at the busy level (a busy node from the second look on)"
		else
			((busy == 0)) || fail "$busy frames at a busy level with --busy-zstd-level 0"
		fi
		"$BIN/dnsreel-verify" "$WORK/busy$lvl.reel" >"$WORK/verify.out" 2>&1 ||
			{ cat "$WORK/verify.out" >&2; fail "busy capture does not verify"; }
		# shellcheck disable=SC2046
		"$BIN/lab-compare" -c "$WORK/busy$lvl.reel" $(pcap_args) >"$WORK/compare.out" 2>&1 || {
			tail -20 "$WORK/compare.out" >&2
			fail "busy capture (--busy-zstd-level $lvl) and tcpdump differ"
		}
	done
	;;
*) fail "unknown case $CASE" ;;
esac
echo PASS
