#!/usr/bin/env bash
# bench_kill.sh BINDIR [ROUNDS]: what a recorder killed by SIGKILL (as the OOM killer does)
# loses, against ground truth: the kill loop of tests/lab/test_faults.sh (case sigkill) with
# ROUNDS kills (default 10), dnsreel-record with its defaults beside a plain `tcpdump -w` in
# the app pod, a third tcpdump (immediate mode, stopped cleanly) as the ground truth. Per round
# and recorder, for the app pod's packets:
#   window_ms = the kill - the newest packet kept
#   gap       = ground-truth packets older than the newest kept one that are absent (0)
#   lost250   = ground-truth packets older than the kill - 250 ms that are absent (the bound: 0)
# then min / median / max of the windows. Not a test: root only, timing-dependent; the test
# (lab_fault_sigkill, 5 kills) fails on a gap or a loss past 250 ms.
set -uo pipefail
BIN=${1:?usage: bench_kill.sh BINDIR [ROUNDS]}
ROUNDS=${2:-10}
HERE=$(cd "$(dirname "$0")/../../tests/lab" && pwd)
echo "bench_kill: $ROUNDS kills, 2000-3000 qps through the lab, load: $(cut -d' ' -f1-3 /proc/loadavg)"
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
KILLS=$ROUNDS bash "$HERE/test_faults.sh" "$BIN" sigkill | tee "$OUT"
python3 - "$OUT" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1]) if l.split() and l.split()[0].isdigit()]
for tool in ("dnsreel", "tcpdump"):
    r = [x for x in rows if x[1] == tool]
    if not r:
        continue
    w = sorted(float(x[2]) for x in r)
    print("%-8s windows ms: min %.1f median %.1f max %.1f; gaps %d; lost past 250 ms %d" %
          (tool, w[0], statistics.median(w), w[-1], sum(int(x[3]) for x in r),
           sum(int(x[4]) for x in r)))
PY
