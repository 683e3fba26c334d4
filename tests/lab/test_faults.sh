#!/usr/bin/env bash
# Lab tests: the recorder under faults, with real traffic flowing through the lab.
#   netns    namespaces that appear and vanish while the recorder attaches (some within
#            milliseconds, some holding a process): the recorder survives, leaks no file
#            descriptors, exits 0, and the lab's traffic still matches tcpdump exactly.
#   enospc   the output on a 4 MiB tmpfs fills up: a clear error naming the lack of space, and
#            the capture up to that point opens and verifies.
#   ring     the same tmpfs with --max-size: oldest segments go, recording goes on to the end,
#            exit 0, the capture verifies.
#   sigkill  SIGKILL at a random moment under load: the capture opens and verifies, and its
#            newest event is at most the flush interval (+ the process join delay) old.
# Usage: test_faults.sh BINDIR netns|enospc|ring|sigkill     (exit 77 = skipped)
set -uo pipefail
BIN=${1:?usage: test_faults.sh BINDIR CASE}
CASE=${2:?usage: test_faults.sh BINDIR netns|enospc|ring|sigkill}
. "$(dirname "$0")/common.sh"
lab_require ip iptables unbound nsd dig dnsperf tcpdump python3 "$BIN/dnsreel-record" \
	"$BIN/dnsreel-verify" "$BIN/lab-compare"
lab_start drf
MNT=""
CHURN=()
fault_cleanup() {
	local n
	for n in "${CHURN[@]}"; do ip netns del "$n" 2>/dev/null || true; done
	if [[ -n $MNT ]]; then umount -l "$MNT" 2>/dev/null || true; fi
	lab_cleanup
}
trap fault_cleanup EXIT

boot_ns() { python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_BOOTTIME))'; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
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
netns)
	recorder_start "$WORK/cap.reel" --flush 200ms
	tcpdump_start
	base=$(nfds "$RECORDER_PID")
	for i in $(seq 40); do
		n=$LAB_ID-churn$i
		CHURN+=("$n")
		ip netns add "$n"
		if ((i % 2)); then
			ip netns del "$n" # gone before or while the recorder attaches
		else
			# one with a process and a link, gone a moment later
			ip -n "$n" link set lo up
			ip netns exec "$n" sleep 0.3 &
			(sleep 0.05 && ip netns del "$n") &
		fi
		((i % 8)) || in_app dig +tries=1 www.example.test
	done
	sleep 1 # scans notice the last ones are gone
	in_app dig nosuch.example.test
	sleep 0.3
	kill -0 "$RECORDER_PID" 2>/dev/null || fail "recorder died during netns churn"
	after=$(nfds "$RECORDER_PID")
	((after <= base + 2)) || fail "recorder fds grew from $base to $after over 40 vanished netns"
	tcpdump_stop
	recorder_stop
	# shellcheck disable=SC2046
	"$BIN/lab-compare" -c "$WORK/cap.reel" $(pcap_args) ||
		fail "lab traffic during netns churn differs from tcpdump"
	"$BIN/dnsreel-verify" "$WORK/cap.reel" >/dev/null || fail "capture does not verify"
	;;
enospc | ring)
	MNT=$WORK/small
	mkdir -p "$MNT"
	mount -t tmpfs -o size=4m tmpfs "$MNT" || skip "cannot mount a tmpfs"
	queries
	extra=()
	[[ $CASE == ring ]] && extra=(--max-size 2M --segment-size 256K)
	recorder_start "$MNT/cap.reel" --flush 200ms "${extra[@]}"
	# Enough traffic to write several MiB: every query makes ~20 events across the hops.
	in_app dnsperf -s "$LAB_VIP" -d "$WORK/queries" -l 5 -Q 6000 -c 4
	if [[ $CASE == enospc ]]; then
		for i in $(seq 50); do kill -0 "$RECORDER_PID" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$RECORDER_PID" 2>/dev/null; then kill -INT "$RECORDER_PID"; fi
		wait "$RECORDER_PID"
		rc=$?
		grep -qiE "no space|ENOSPC|disk full|space left" "$WORK/record.err" ||
			{ cat "$WORK/record.err" >&2; fail "no clear error about the full disk (exit $rc)"; }
		[[ $rc != 0 ]] || echo "note: recorder exited 0 after the disk filled" >&2
		verify "$MNT/cap.reel"
		((EVENTS > 0)) || fail "capture empty after ENOSPC"
		echo "ENOSPC: exit $rc, $EVENTS events kept: $(grep -iE 'space' "$WORK/record.err" | head -1)"
	else
		kill -0 "$RECORDER_PID" 2>/dev/null ||
			{ cat "$WORK/record.err" >&2; fail "recorder died in ring mode"; }
		recorder_stop
		verify "$MNT/cap.reel"
		((EVENTS > 0)) || fail "ring capture empty"
		used=$(du -sk "$MNT/cap.reel" | cut -f1)
		((used <= 3 * 1024)) || fail "ring capture uses ${used} KiB (--max-size 2M)"
		echo "ring: $EVENTS events kept in $used KiB"
	fi
	;;
sigkill)
	queries
	recorder_start "$WORK/cap.reel" --flush 200ms
	in_app_bg() { "$LAB_SH" exec app "$@" >/dev/null 2>&1 & }
	in_app_bg dnsperf -s "$LAB_VIP" -d "$WORK/queries" -l 4 -Q 3000 -c 4
	perf=$!
	LAB_PIDS+=($perf)
	sleep "$(python3 -c 'import random; print(round(random.uniform(0.8, 3.0), 2))')"
	kill -KILL "$RECORDER_PID"
	killed=$(boot_ns)
	wait "$RECORDER_PID" 2>/dev/null
	wait $perf
	"$BIN/dnsreel-verify" "$WORK/cap.reel" >"$WORK/verify.out" 2>&1 || {
		cat "$WORK/verify.out" >&2
		fail "capture does not verify after SIGKILL"
	}
	lab_count "$WORK/cap.reel"
	((EVENTS > 0)) || fail "no events survived SIGKILL"
	age_ms=$(((killed - LAST_TS) / 1000000))
	# flush 200 ms + join delay 20 ms + a scheduling margin on a shared 2-CPU machine
	((age_ms <= 600)) || fail "newest event ${age_ms} ms before the kill (flush 200 ms)"
	echo "sigkill: $EVENTS events kept, newest ${age_ms} ms before the kill"
	;;
*) fail "unknown case $CASE" ;;
esac
echo PASS
