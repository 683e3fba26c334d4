#!/usr/bin/env bash
# bench_flush.sh BINDIR [INTERVAL...]: what the --flush interval costs on disk where frames are
# cut by time rather than by size (each frame is compressed on its own). For each fixed dnsperf
# rate (BENCH_RATES, default "20 200 2000" qps, 10 s each) and each interval (default 200ms
# 150ms), records the lab's netns and prints events, segment and index bytes, and bytes/event.
# Not a test: root only.
set -uo pipefail
BIN=${1:?usage: bench_flush.sh BINDIR [INTERVAL...]}
shift
INTERVALS=("$@")
((${#INTERVALS[@]})) || INTERVALS=(200ms 150ms)
. "$(dirname "$0")/../../tests/lab/common.sh"
lab_require dnsperf python3 "$BIN/dnsreel-record" "$BIN/dnsreel-info"
lab_start fc
printf '%s\n' "www.example.test A" "mail.example.test AAAA" "nosuch.example.test A" \
	"txt.example.test TXT" >"$WORK/q"
printf '%6s %8s %8s %10s %10s %8s %8s\n' qps flush events seg_bytes idx_bytes seg/ev all/ev
for rate in ${BENCH_RATES:-20 200 2000}; do
	for fl in "${INTERVALS[@]}"; do
		c=$WORK/c-$rate-$fl.reel
		recorder_start "$c" --flush "$fl" --netns "${LAB_NETNS// /,}"
		"$LAB_SH" exec app dnsperf -s "$LAB_VIP" -d "$WORK/q" -l 10 -Q "$rate" -c 2 \
			>/dev/null 2>&1
		recorder_stop
		ev=$("$BIN/dnsreel-info" "$c" | awk '/^events:/ { print $2; exit }')
		seg=$(du -cb "$c"/seg/* | tail -1 | cut -f1)
		idx=$(stat -c %s "$c/index.sqlite")
		python3 -c "import sys; r, f, e, s, i = sys.argv[1:]; e = max(1, int(e)); \
print('%6s %8s %8d %10s %10s %8.2f %8.2f' % (r, f, e, s, i, int(s) / e, (int(s) + int(i)) / e))" \
			"$rate" "$fl" "$ev" "$seg" "$idx"
	done
done
