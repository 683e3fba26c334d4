#!/usr/bin/env bash
# bench/record: what recording costs a busy node, against tcpdump.
#
# dnsperf at full speed through the lab (app pod -> service VIP -> unbound -> nsd upstream) for
# BENCH_SECONDS (default 10) each, three ways in one run:
#   1. nothing recording (also once more at the end; qps are medians over all runs of a way, as
#      the load of a shared machine drifts)
#   2. tcpdump -i any -w FILE port 53 or port 5353 in every lab netns, tcpdump's defaults (what
#      users do today)
#   3. dnsreel-record recording every lab netns
# Prints qps of each as a ratio of the first, DNS packets per query seen by tcpdump and by
# dnsreel (their ratio is what dnsreel caught against tcpdump), losses on both sides, recorder
# CPU seconds per million events, and bytes/event of the capture against the tcpdump pcaps
# compressed with zstd -19 (pcaps larger than BENCH_ZSTD_SAMPLE_MB, default 64, are compressed
# on that many leading MB and scaled: level 19 runs at a few MB/s).
#
# Usage: sudo bench/record/bench_record.sh BINDIR [--append RESULTS.md]
# Env: BENCH_SECONDS, BENCH_ROUNDS (interleaved rounds of the three ways, medians; default 1),
#      BENCH_CLIENTS (dnsperf -c, default 8), BENCH_THREADS (dnsperf -T, 2),
#      BENCH_OUTSTANDING (dnsperf -q, 500), LAB_UNBOUND_THREADS (default 2 here),
#      BENCH_RECORD_ARGS (more dnsreel-record options, e.g. --no-proc, for experiments).
set -uo pipefail
BIN=${1:?usage: bench_record.sh BINDIR [--append FILE]}
APPEND=""
[[ ${2:-} == --append ]] && APPEND=${3:?--append needs a file}
# tcpdump as users run it (the lab tests use immediate mode and a big ring instead).
# shellcheck disable=SC2034 # read by common.sh
TCPDUMP_OPTS=""
. "$(dirname "$0")/../../tests/lab/common.sh"
lab_require ip iptables unbound nsd dnsperf tcpdump zstd /usr/bin/time "$BIN/dnsreel-record" \
	"$BIN/lab-compare"
SECS=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_CLIENTS:-8}
THREADS=${BENCH_THREADS:-2}
OUTST=${BENCH_OUTSTANDING:-500}
export LAB_UNBOUND_THREADS=${LAB_UNBOUND_THREADS:-2}
lab_start drbench

# Names the forwarder must send upstream (its cache is off), plus a few it answers itself.
for n in www mail alias txt ns1 sip nosuch; do
	echo "$n.example.test A"
	echo "$n.example.test AAAA"
done >"$WORK/queries"
echo "kube-dns.kube-system.svc.cluster.local A" >>"$WORK/queries"

run_dnsperf() { # run_dnsperf NAME: dnsperf output in $WORK/NAME.dnsperf
	"$LAB_SH" exec app dnsperf -s "$LAB_VIP" -d "$WORK/queries" -l "$SECS" -c "$CLIENTS" \
		-T "$THREADS" -q "$OUTST" >"$WORK/$1.dnsperf" 2>&1
}
qps_of() { awk '/Queries per second/ { printf "%.0f", $4 }' "$WORK/$1.dnsperf"; }
done_of() { awk '/Queries completed/ { print $3 }' "$WORK/$1.dnsperf"; }
lost_of() { awk '/Queries lost/ { print $3 }' "$WORK/$1.dnsperf"; }

echo "bench/record: dnsperf -c $CLIENTS -T $THREADS -q $OUTST for ${SECS}s through the lab, unbound $LAB_UNBOUND_THREADS threads, $(nproc) CPUs" >&2

tcpdump_way() { # tcpdump_way NAME: tcpdump in every lab netns during dnsperf
	rm -f "$WORK"/*.pcap
	tcpdump_start
	run_dnsperf "$1"
	sleep 1.5 # tcpdump's 1 s buffer timeout hands over the last packets
	tcpdump_stop
	tcp_pkts=0 tcp_drop=0 pcap_bytes=0
	local ns c d
	for ns in $LAB_NETNS; do
		c=$(awk '/packets captured/ { print $1 }' "$WORK/$ns.tcpdump.err")
		d=$(awk '/packets dropped by kernel/ { print $1 }' "$WORK/$ns.tcpdump.err")
		tcp_pkts=$((tcp_pkts + ${c:-0}))
		tcp_drop=$((tcp_drop + ${d:-0}))
		pcap_bytes=$((pcap_bytes + $(stat -c %s "$WORK/$ns.pcap")))
	done
	echo "  tcpdump: $(qps_of "$1") qps, $tcp_pkts packets, $tcp_drop dropped" >&2
}

dnsreel_way() { # dnsreel_way NAME: dnsreel-record on every lab netns during dnsperf
	rm -rf "$WORK/bench.reel" "$WORK/ready"
	# Every lab netns, as tcpdump (other labs on this machine are not this benchmark's).
	/usr/bin/time -f "%U %S" -o "$WORK/record.time" "$BIN/dnsreel-record" \
		-w "$WORK/bench.reel" --netns "${LAB_NETNS// /,}" --pod-logs "$LAB_POD_LOGS" \
		--node "$LAB_NODE_NAME" --ready-file "$WORK/ready" ${BENCH_RECORD_ARGS:-} \
		2>"$WORK/record.err" &
	TIME_PID=$!
	LAB_PIDS+=($!)
	for _ in $(seq 200); do
		[[ -e $WORK/ready ]] && break
		sleep 0.05
	done
	[[ -e $WORK/ready ]] || { cat "$WORK/record.err" >&2; fail "recorder not ready"; }
	# time(1) ignores SIGINT while it waits: signal the recorder, its only child.
	RECORDER_PID=$(cat "/proc/$TIME_PID/task/$TIME_PID/children")
	LAB_PIDS+=("$RECORDER_PID")
	run_dnsperf "$1"
	sleep 0.5
	kill -INT $RECORDER_PID
	wait $TIME_PID || { cat "$WORK/record.err" >&2; fail "recorder failed"; }
	read -r cpu_u cpu_s <"$WORK/record.time"
	local args=() ns
	for ns in $LAB_NETNS; do args+=(-p "$(netns_inode "$ns"):${ns#"$LAB_ID"-}"); done
	"$BIN/lab-compare" --count -c "$WORK/bench.reel" "${args[@]}" >"$WORK/count.out" 2>&1 || true
	ev_lab=$(awk '/^total:/ { print $5 }' "$WORK/count.out")
	ev_all=$(awk '/^capture:/ { print $2 }' "$WORK/count.out")
	ev_lost=$(awk '/^capture:/ { print $NF }' "$WORK/count.out")
	cap_bytes=$(du -sb "$WORK/bench.reel" | cut -f1)
	echo "  dnsreel: $(qps_of "$1") qps, $ev_lab events in the lab, lost $ev_lost" >&2
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# Warm-up, then ROUNDS rounds of the three ways, then nothing recording once more: on a shared
# machine the load drifts, and medians over interleaved runs keep the ratios honest.
ROUNDS=${BENCH_ROUNDS:-1}
"$LAB_SH" exec app dnsperf -s "$LAB_VIP" -d "$WORK/queries" -l 1 -c "$CLIENTS" >/dev/null 2>&1
Q_NONE=() Q_TCP=() Q_REEL=()
lost_total=0
for r in $(seq "$ROUNDS"); do
	run_dnsperf none$r
	echo "  none:    $(qps_of none$r) qps" >&2
	Q_NONE+=("$(qps_of none$r)")
	tcpdump_way tcpdump$r
	Q_TCP+=("$(qps_of tcpdump$r)")
	dnsreel_way dnsreel$r
	Q_REEL+=("$(qps_of dnsreel$r)")
	lost_total=$((lost_total + ${ev_lost:-0}))
done
run_dnsperf none_last
echo "  none:    $(qps_of none_last) qps (last)" >&2
Q_NONE+=("$(qps_of none_last)")

# pcap + zstd -19 (last tcpdump round), on a leading sample when big.
sample=$((${BENCH_ZSTD_SAMPLE_MB:-64} * 1024 * 1024))
zst_bytes=0
for ns in $LAB_NETNS; do
	f=$WORK/$ns.pcap
	sz=$(stat -c %s "$f")
	if ((sz > 0)); then
		n=$sz
		((n > sample)) && n=$sample
		z=$(head -c "$n" "$f" | zstd -19 -T0 -q -c | wc -c)
		zst_bytes=$((zst_bytes + z * sz / n))
	fi
	rm -f "$f"
done

q0=$(median "${Q_NONE[@]}") q1=$(median "${Q_TCP[@]}") q2=$(median "${Q_REEL[@]}")
d1=$(done_of tcpdump$ROUNDS) d2=$(done_of dnsreel$ROUNDS)
ev_lost=$lost_total
report=$(
	awk -v q0="$q0" -v q1="$q1" -v q2="$q2" -v d1="$d1" -v d2="$d2" -v tp="$tcp_pkts" \
		-v td="$tcp_drop" -v ev="$ev_lab" -v eva="$ev_all" -v lost="$ev_lost" -v cu="$cpu_u" -v cs="$cpu_s" \
		-v pb="$pcap_bytes" -v zb="$zst_bytes" -v cb="$cap_bytes" -v secs="$SECS" \
		-v qn="${Q_NONE[*]}" -v qt="${Q_TCP[*]}" -v qr="${Q_REEL[*]}" \
		-v dl0="$(lost_of none1)" -v dl1="$(lost_of tcpdump$ROUNDS)" -v dl2="$(lost_of dnsreel$ROUNDS)" 'BEGIN {
	printf "| run | qps: median (each run) | ratio | DNS packets | per query | lost | dnsperf lost |\n"
	printf "|---|---:|---:|---:|---:|---:|---:|\n"
	printf "| nothing recording | %d (%s) | 1.00 | - | - | - | %s |\n", q0, qn, dl0
	printf "| tcpdump, every lab netns | %d (%s) | %.2f | %d | %.2f | %d dropped | %s |\n", q1, qt, q1/q0, tp, tp/d1, td, dl1
	printf "| dnsreel, every lab netns | %d (%s) | %.2f | %d | %.2f | %d | %s |\n", q2, qr, q2/q0, ev, ev/d2, lost, dl2
	printf "\n"
	printf "- events per query against tcpdump packets per query: %.3f\n", (ev/d2)/(tp/d1)
	printf "- recorder CPU: %.2f s user + %.2f s sys = %.2f s per million events\n", cu, cs, (cu+cs)/(eva/1e6)
	printf "- bytes/event: dnsreel %.1f (capture %d B), tcpdump pcap %.1f, pcap+zstd -19 %.1f; dnsreel/pcap+zstd-19 = %.2f\n", cb/eva, cb, pb/tp, zb/tp, (cb/eva)/(zb/tp)
	}'
)
echo
echo "$report"
if [[ -n $APPEND ]]; then
	{
		printf '\n### %s, %s s each, %s CPUs, kernel %s\n\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$SECS" \
			"$(nproc)" "$(uname -r)"
		printf 'Command: `BENCH_SECONDS=%s BENCH_ROUNDS=%s%s bash bench/record/bench_record.sh %s --append %s`' \
			"$SECS" "$ROUNDS" "${BENCH_RECORD_ARGS:+ BENCH_RECORD_ARGS=\"$BENCH_RECORD_ARGS\"}" \
			"$BIN" "$APPEND"
		printf ' (dnsperf -c %s -T %s -q %s, unbound %s threads, %s rounds, recorder options: %s)\n\n' \
			"$CLIENTS" "$THREADS" "$OUTST" "$LAB_UNBOUND_THREADS" "$ROUNDS" "${BENCH_RECORD_ARGS:-none}"
		echo "$report"
	} >"$WORK/section.md"
	# Into our own section: at its end, before the next "## " heading (others' parts).
	python3 - "$APPEND" "$WORK/section.md" <<'PY'
import sys, os
path, sec = sys.argv[1], open(sys.argv[2]).read()
lines = open(path).read().splitlines(keepends=True) if os.path.exists(path) else ["# Benchmark results\n"]
try:
    start = next(i for i, l in enumerate(lines) if l.rstrip() == "## bench/record")
except StopIteration:
    lines += ["\n", "## bench/record\n"]
    start = len(lines) - 1
end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
if end > 0 and not lines[end - 1].endswith("\n"):
    lines[end - 1] += "\n"
lines[end:end] = [sec if sec.endswith("\n") else sec + "\n"] + (["\n"] if end < len(lines) else [])
open(path, "w").write("".join(lines))
PY
	echo "appended to $APPEND" >&2
fi
