#!/usr/bin/env bash
# bench_kill.sh BINDIR [ROUNDS]: what a recorder killed by SIGKILL (as the OOM killer does)
# loses, against ground truth. In the lab, under dnsperf load, each round records every netns
# with dnsreel-record (its default flush) and, as the alternative a user would run, a plain
# `tcpdump -w` in the app pod; a third tcpdump (immediate mode, stopped cleanly) is the ground
# truth. At a random moment K both recorders get SIGKILL. Per round, for the app pod's packets:
#   window  = K - the newest packet each kept, in ms
#   missing = ground-truth packets older than the newest kept one that are absent (gaps: 0)
#   lost250 = ground-truth packets older than K - 250 ms that are absent (the bound: 0)
# Not a test: root only, timing-dependent; the 250 ms target is dnsreel-record(1)'s bound.
set -uo pipefail
BIN=${1:?usage: bench_kill.sh BINDIR [ROUNDS]}
ROUNDS=${2:-10}
HERE=$(cd "$(dirname "$0")/../../tests/lab" && pwd)
# shellcheck source=../../tests/lab/common.sh
. "$HERE/common.sh"
lab_require ip iptables unbound nsd dnsperf tcpdump tshark python3 "$BIN/dnsreel-record" \
	"$BIN/dnsreel-replay" "$BIN/dnsreel-verify"
lab_start bk
APP_INO=$(netns_inode "$LAB_NS_APP")
for i in $(seq 1 400); do echo "k$i.example.test A"; done >"$WORK/queries"
wall_ns() { local t=${EPOCHREALTIME/./}; echo "${t}000"; } # bash builtin: no fork delay

printf '%-6s %-10s %10s %8s %8s %10s %8s\n' round recorder window_ms missing lost250 \
	kept truth
for r in $(seq 1 "$ROUNDS"); do
	ip netns exec "$LAB_NS_APP" tcpdump -i any -n -Z root -s 16384 -B 32768 -U --immediate-mode \
		-w "$WORK/truth$r.pcap" port 53 2>"$WORK/truth.err" &
	truth=$!
	ip netns exec "$LAB_NS_APP" tcpdump -i any -n -Z root -w "$WORK/td$r.pcap" port 53 \
		2>"$WORK/td.err" &
	td=$!
	for i in $(seq 100); do
		grep -q "listening on" "$WORK/truth.err" 2>/dev/null &&
			grep -q "listening on" "$WORK/td.err" 2>/dev/null && break
		sleep 0.05
	done
	recorder_start "$WORK/k$r.reel" --netns "${LAB_NETNS// /,}"
	"$LAB_SH" exec app dnsperf -s "$LAB_VIP" -d "$WORK/queries" -l 4 -Q 2000 -c 4 \
		>/dev/null 2>&1 &
	perf=$!
	sleep "$(python3 -c 'import random; print(round(random.uniform(0.6, 3.0), 2))')"
	kill -KILL "$RECORDER_PID" "$td"
	K=${EPOCHREALTIME/./}000
	wait "$RECORDER_PID" "$td" 2>/dev/null
	wait "$perf"
	kill -INT "$truth"
	wait "$truth"
	"$BIN/dnsreel-verify" --reindex "$WORK/k$r.reel" >/dev/null 2>&1 ||
		echo "round $r: verify --reindex found damage" >&2
	"$BIN/dnsreel-replay" "$WORK/k$r.reel" -F "netns_id==$APP_INO" -o jsonl 2>/dev/null |
		python3 -c 'import sys, json; [print(json.loads(l)["timestamp_raw"]) for l in sys.stdin]' \
			>"$WORK/k$r.ts"
	tshark -r "$WORK/truth$r.pcap" -T fields -e frame.time_epoch 2>/dev/null >"$WORK/truth$r.ts"
	tshark -r "$WORK/td$r.pcap" -T fields -e frame.time_epoch 2>/dev/null >"$WORK/td$r.ts"
	python3 - "$K" "$WORK/truth$r.ts" "$WORK/k$r.ts" "$WORK/td$r.ts" "$r" <<'PY'
import sys
from decimal import Decimal
K = int(sys.argv[1])
def ns(s):
    s = s.strip()
    return int(Decimal(s) * 1000000000) if "." in s else int(s)
truth = sorted(ns(l) for l in open(sys.argv[2]) if l.strip())
for name, path in (("dnsreel", sys.argv[3]), ("tcpdump", sys.argv[4])):
    kept = sorted(ns(l) for l in open(path) if l.strip())
    newest = kept[-1] if kept else 0
    # a kept packet matches a ground-truth one within 1 ms (two taps stamp separately)
    def count(limit, xs):
        return sum(1 for x in xs if x < limit)
    missing = max(0, count(newest - 1000000, truth) - count(newest - 1000000, kept))
    lost250 = max(0, count(K - 250000000, truth) - count(K - 250000000, kept))
    window = (K - newest) / 1e6 if kept else float("inf")
    print("%-6s %-10s %10.1f %8d %8d %10d %8d" % (sys.argv[5], name, window, missing, lost250,
                                                 len(kept), len(truth)))
PY
done
