#!/usr/bin/env bash
# bench/record: what recording costs a busy node, against tcpdump.
#
# dnsperf through the lab (app pod -> service VIP -> unbound -> nsd upstream), in interleaved
# rounds of these ways:
#   none         nothing recording (also once more at the end; qps are medians over all runs
#                of a way, as the load of a shared machine drifts)
#   tcpdump      tcpdump -i any -w FILE port 53 or port 5353 in every lab netns, tcpdump's
#                defaults (what users do today)
#   dnsreel-H    dnsreel-record --hook H --stats on every lab netns, for each H in BENCH_HOOKS
# Phase 1, full load (dnsperf as fast as it goes, BENCH_SECONDS each): qps kept as a ratio of
# none, DNS packets per query seen by tcpdump and by dnsreel, events lost in the pod netns
# against dnsperf's own count (the app netns must see every query sent and every response
# completed: that is ground truth without a tap adding cost), the recorder's own loss count,
# CPU per query of the lab's processes (dnsperf, unbound, nsd, plus ksoftirqd: where the
# kernel's per-packet work is charged, AF_PACKET clones and BPF runs included) and of the
# recorder, the forwarder's CPU per query, bytes/event against pcap+zstd -19, and the
# recorder's --stats breakdown (ns per BPF program run, ring wakeups/s, ring walk, process
# join, writer append, block encoding, zstd, write, index per event).
# Phase 2, a fixed load (dnsperf -Q BENCH_RATE, default 20000 qps, BENCH_RATE_SECONDS): CPU per
# second of each recorder (its process + what the lab's processes spend beyond none), and the
# forwarder's CPU per second with and without recording.
# Phase 3, other traffic (BENCH_NONDNS_SECONDS, default 5; 0 skips): UDP that is not DNS,
# as fast as one sender goes through the lab: packets/s kept and CPU per packet of each way.
# The recorder's process CPU per million events is also taken over the load alone (from
# /proc/PID/stat at dnsperf's start and end): the whole-process figure carries start-up
# (~0.15 s: BPF load, attach, the first /proc scan) and the last flush, whatever the run's length.
# Whole recorder cost = its process CPU + the extra CPU of the lab's processes over none (at a
# fixed rate the same queries cost that much more; at full load per query).
# That difference of two large numbers is mostly noise at a fixed load, so phases 1 and 2 also
# measure the cost directly (BENCH_PERF, default 1 when perf record works here; 0 skips):
# perf record -a -g -e cpu-clock, one sample per BENCH_PERF_PERIOD_NS (1000000) of CPU time,
# over each run's load, then every sample's stack is classified (bench/record/perf_cost.py):
#   tap/hook  a kernel frame of the capture path, in whatever context it ran (softirq under
#             dnsperf or unbound, ksoftirqd, a syscall): the packet socket's (tpacket_rcv,
#             packet_rcv, dev_queue_xmit_nit, which clones for the taps, with its filter
#             under them) for tcpdump and dnsreel's packet hook, the tc hook's
#             (sch_handle_ingress/egress, tcx_run, tcf_classify, cls_bpf, our bpf_prog_*)
#             and the process hooks' (bpf_trace_run*, our tracepoint programs) for dnsreel,
#             and ring-buffer wakeups (bpf_ringbuf_notify)
#   process   the recorder's own processes (comm tcpdump or dnsreel-record), user and kernel
# Phase 2 runs dnsreel-record without --stats: kernel.bpf_stats_enabled, which --stats turns
# on, adds two clock reads to every BPF program run (bench_bpf's "stats off" columns: ~85 ns
# a run on a kvm-clock VM), a cost users who do not ask for --stats never pay.
# BENCH_PERF_KEEP=DIR keeps each run's perf.data there (KEY.perf) for perf report.
# Whole cost (direct) = tap/hook + process, in CPU-s per second of load and per million events
# (DNS packets recorded), and dnsreel / tcpdump. The same classification of the run with
# nothing recording is shown as the false-positive floor (other packet sockets, say). What
# it cannot see: cache and TLB pressure a tap leaves behind in the stack's own frames (the
# extra-lab columns try that), tcpdump's last flush after the load stops, and with --hook tcx
# the dispatch (and --stats' clock reads) inlined into __netif_receive_skb_core and
# __dev_queue_xmit: there only our programs' frames and what they call count.
#
# Usage: sudo bench/record/bench_record.sh BINDIR [--append RESULTS.md]
# Env: BENCH_SECONDS (10), BENCH_ROUNDS (interleaved rounds, medians; 1), BENCH_HOOKS
#      ("packet tc"; H+recv adds --proc-recv, H+raw raw tracepoints for the process hooks), BENCH_RATE (20000; 0 skips phase 2), BENCH_RATE_SECONDS (BENCH_SECONDS),
#      BENCH_CLIENTS (dnsperf -c, 8), BENCH_THREADS (dnsperf -T, 2), BENCH_OUTSTANDING
#      (dnsperf -q, 500), LAB_UNBOUND_THREADS (2 here), BENCH_RECORD_ARGS (more dnsreel-record
#      options, e.g. --no-proc, for experiments).
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
RATE=${BENCH_RATE:-20000}
RSECS=${BENCH_RATE_SECONDS:-$SECS}
HOOKS=${BENCH_HOOKS:-packet tc}
CLIENTS=${BENCH_CLIENTS:-8}
THREADS=${BENCH_THREADS:-2}
OUTST=${BENCH_OUTSTANDING:-500}
ROUNDS=${BENCH_ROUNDS:-1}
TCK=$(getconf CLK_TCK)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
export LAB_UNBOUND_THREADS=${LAB_UNBOUND_THREADS:-2}
lab_start drbench

# Names the forwarder must send upstream (its cache is off), plus a few it answers itself.
for n in www mail alias txt ns1 sip nosuch; do
	echo "$n.example.test A"
	echo "$n.example.test AAAA"
done >"$WORK/queries"
echo "kube-dns.kube-system.svc.cluster.local A" >>"$WORK/queries"

echo "bench/record: dnsperf -c $CLIENTS -T $THREADS -q $OUTST for ${SECS}s through the lab, unbound $LAB_UNBOUND_THREADS threads, $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

declare -A M # M[way,round,key]: every measurement

# CPU seconds (utime + stime, all threads) of these processes so far.
cpu_of() {
	local p t=0 v
	for p in "$@"; do
		v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) && t=$((t + v))
	done
	awk -v t="$t" -v k="$TCK" 'BEGIN { printf "%.3f", t / k }'
}
fwd_pids() { ip netns pids "$LAB_NS_DNS"; }
up_pids() { ip netns pids "$LAB_NS_UP"; }
ksoftirqd_pids() { pgrep '^ksoftirqd/'; }
softirq_s() { awk -v k="$TCK" '/^cpu / { printf "%.3f", $8 / k }' /proc/stat; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }

# lab_begin / lab_end KEY: CPU of the forwarder, upstream and ksoftirqd over a run, and the
# machine's softirq time (all of the machine: other work shows there too).
# shellcheck disable=SC2046 # pid lists split on purpose
lab_begin() {
	F0=$(cpu_of $(fwd_pids)) U0=$(cpu_of $(up_pids)) K0=$(cpu_of $(ksoftirqd_pids))
	S0=$(softirq_s)
}
# shellcheck disable=SC2046
lab_end() {
	M[$1,fwd]=$(sub "$(cpu_of $(fwd_pids))" "$F0")
	M[$1,up]=$(sub "$(cpu_of $(up_pids))" "$U0")
	M[$1,ksoftirqd]=$(sub "$(cpu_of $(ksoftirqd_pids))" "$K0")
	M[$1,softirq]=$(sub "$(softirq_s)" "$S0")
}

# run_dnsperf KEY [DNSPERF ARGS]: dnsperf in the app pod, its output and CPU under KEY.
run_dnsperf() {
	local key=$1 f=$WORK/${1//,/_}
	shift
	lab_begin
	"$LAB_SH" exec app /usr/bin/time -f "%U %S" -o "$f.time" dnsperf -s "$LAB_VIP" \
		-d "$WORK/queries" -c "$CLIENTS" -T "$THREADS" -q "$OUTST" "$@" >"$f.dnsperf" 2>&1
	lab_end "$key"
	M[$key,qps]=$(awk '/Queries per second/ { printf "%.0f", $4 }' "$f.dnsperf")
	M[$key,sent]=$(awk '/Queries sent/ { print $3 }' "$f.dnsperf")
	M[$key,done]=$(awk '/Queries completed/ { print $3 }' "$f.dnsperf")
	M[$key,dlost]=$(awk '/Queries lost/ { print $3 }' "$f.dnsperf")
	M[$key,client]=$(awk '{ printf "%.3f", $1 + $2 }' "$f.time")
	M[$key,runtime]=$(awk '/Run time \(s\)/ { print $4 }' "$f.dnsperf")
}

# run_nondns KEY: phase 3's load instead of dnsperf: UDP datagrams of 100 bytes to port 9999
# (not recorded) from the app pod to the upstream netns (4 hops: pod eth0, its bridge port,
# the node's uplink, upstream eth0), as fast as one sender goes for NONDNS_SECS, drained by a
# receiver there. Every recorder sees each packet and keeps none: what that costs is what a
# hook costs a node's other traffic. Bounded by time; only to the lab's own addresses.
NONDNS_SECS=${BENCH_NONDNS_SECONDS:-5}
run_nondns() {
	local key=$1 f=$WORK/${1//,/_}
	lab_begin
	ip netns exec "$LAB_NS_UP" /usr/bin/time -f "%U %S" -o "$f.rtime" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind((sys.argv[1], 9999))
s.settimeout(float(sys.argv[2]) + 5)
n = 0
try:
    s.recv(2048)
    n = 1
    s.settimeout(1)
    while True:
        s.recv(2048)
        n += 1
except OSError:
    pass
print(n)' "$LAB_UP_IP" "$NONDNS_SECS" >"$f.recv" &
	local rpid=$!
	sleep 0.3
	"$LAB_SH" exec app /usr/bin/time -f "%U %S" -o "$f.time" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
d, b, n = (sys.argv[1], 9999), b"x" * 100, 0
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    for _ in range(1000):
        try:
            s.sendto(b, d)
        except OSError:
            pass
    n += 1000
print(n)' "$LAB_UP_IP" "$NONDNS_SECS" >"$f.sent" 2>&1
	wait $rpid
	lab_end "$key"
	M[$key,sent]=$(cat "$f.sent") M[$key,recv]=$(cat "$f.recv")
	M[$key,client]=$(awk '{ printf "%.3f", $1 + $2 }' "$f.time")
	M[$key,up]=$(awk '{ printf "%.3f", $1 + $2 }' "$f.rtime")
	M[$key,done]=${M[$key,sent]} M[$key,qps]=$((M[$key,sent] / NONDNS_SECS))
	M[$key,fwd]=0
}

tcpdump_way() { # tcpdump_way KEY DNSPERF-ARGS...: tcpdump in every lab netns during dnsperf
	local key=$1 ns c d
	shift
	rm -f "$WORK"/*.pcap
	tcpdump_start
	local t0
	t0=$(cpu_of "${TCPDUMP_PIDS[@]}")
	run_load "$key" "$@"
	sleep 1.5 # tcpdump's 1 s buffer timeout hands over the last packets
	M[$key,rec]=$(sub "$(cpu_of "${TCPDUMP_PIDS[@]}")" "$t0")
	tcpdump_stop
	local pkts=0 drop=0 bytes=0
	for ns in $LAB_NETNS; do
		c=$(awk '/packets captured/ { print $1 }' "$WORK/$ns.tcpdump.err")
		d=$(awk '/packets dropped by kernel/ { print $1 }' "$WORK/$ns.tcpdump.err")
		pkts=$((pkts + ${c:-0}))
		drop=$((drop + ${d:-0}))
		bytes=$((bytes + $(stat -c %s "$WORK/$ns.pcap")))
	done
	M[$key,events]=$pkts M[$key,lost]=$drop M[$key,bytes]=$bytes
	echo "  $key: ${M[$key,qps]} qps, $pkts packets, $drop dropped" >&2
}

dnsreel_way() { # dnsreel_way KEY HOOK DNSPERF-ARGS...: dnsreel-record on every lab netns
	local key=$1 hook=${2%%+*} extra=() envs=()
	# HOOK+recv: with the receive hook too (--proc-recv); HOOK+raw: raw tracepoints for the
	# process hooks instead of BTF ones.
	[[ $2 == *+recv* ]] && extra+=(--proc-recv)
	[[ $2 == *+raw* ]] && envs+=(DNSREEL_PROC_HOOK=raw)
	# --stats for the breakdown, except at the fixed load: its run-time statistics cost
	# every BPF program run two clock reads (see the header).
	[[ $key == *,rate* ]] || extra+=(--stats)
	shift 2
	rm -rf "$WORK/bench.reel" "$WORK/ready"
	local t0
	t0=$(date +%s.%N)
	# Every lab netns, as tcpdump (other labs on this machine are not this benchmark's).
	# shellcheck disable=SC2086
	env "${envs[@]}" /usr/bin/time -f "%U %S" -o "$WORK/record.time" "$BIN/dnsreel-record" \
		-w "$WORK/bench.reel" --netns "${LAB_NETNS// /,}" --pod-logs "$LAB_POD_LOGS" \
		--node "$LAB_NODE_NAME" --ready-file "$WORK/ready" --hook "$hook" \
		"${extra[@]}" ${BENCH_RECORD_ARGS:-} 2>"$WORK/record.err" &
	TIME_PID=$!
	LAB_PIDS+=($!)
	for _ in $(seq 200); do
		[[ -e $WORK/ready ]] && break
		sleep 0.05
	done
	[[ -e $WORK/ready ]] || { cat "$WORK/record.err" >&2; fail "recorder not ready"; }
	# time(1) ignores SIGINT while it waits: signal the recorder, its only child.
	read -r RECORDER_PID <"/proc/$TIME_PID/task/$TIME_PID/children"
	LAB_PIDS+=("$RECORDER_PID")
	local w0
	w0=$(cpu_of "$RECORDER_PID")
	run_load "$key" "$@"
	M[$key,rec_win]=$(sub "$(cpu_of "$RECORDER_PID")" "$w0")
	sleep 0.5
	kill -INT "$RECORDER_PID"
	wait $TIME_PID || { cat "$WORK/record.err" >&2; fail "recorder failed"; }
	M[$key,dur]=$(sub "$(date +%s.%N)" "$t0")
	M[$key,rec]=$(awk '{ printf "%.3f", $1 + $2 }' "$WORK/record.time")
	M[$key,rec_u]=$(awk '{ print $1 }' "$WORK/record.time")
	M[$key,rec_s]=$(awk '{ print $2 }' "$WORK/record.time")
	local args=() ns
	for ns in $LAB_NETNS; do args+=(-p "$(netns_inode "$ns"):${ns#"$LAB_ID"-}"); done
	"$BIN/lab-compare" --count -c "$WORK/bench.reel" "${args[@]}" >"$WORK/count.out" 2>&1 || true
	M[$key,events]=$(awk '/^total:/ { print $5 }' "$WORK/count.out")
	M[$key,ev_all]=$(awk '/^capture:/ { print $2 }' "$WORK/count.out")
	M[$key,lost]=$(awk '/^capture:/ { print $NF }' "$WORK/count.out")
	M[$key,app]=$(awk '$1 == "netns" && $2 == "app" { print $(NF - 1) }' "$WORK/count.out")
	M[$key,bytes]=$(du -sb "$WORK/bench.reel" | cut -f1)
	# --stats lines: "dnsreel-record: stats: NAME VALUE"
	while read -r name value; do
		M[$key,st.$name]=$value
	done < <(awk '$2 == "stats:" && NF == 4 { print $3, $4 }' "$WORK/record.err")
	echo "  $key: ${M[$key,qps]} qps, ${M[$key,events]} events in the lab, lost ${M[$key,lost]}, app netns ${M[$key,app]} events for $((M[$key,sent] + M[$key,done])) sent+completed" >&2
}

# perf record over phases 1 and 2 (see the header); kept per run in $WORK/KEY.perf and
# classified after the last run, so the classification's CPU does not land in any run.
PERF=${BENCH_PERF:-1}
PERF_PERIOD=${BENCH_PERF_PERIOD_NS:-1000000}
if ((PERF)); then
	if ! perf record -q -e cpu-clock -c "$PERF_PERIOD" -a -g -o "$WORK/probe.perf" -- \
		sleep 0.1 >/dev/null 2>&1; then
		echo "bench/record: perf record does not work here: no direct cost measure" >&2
		PERF=0
	fi
	rm -f "$WORK/probe.perf"
fi
perf_begin() { # perf_begin KEY: system-wide sampling until perf_end
	PERF_PID=""
	((PERF)) || return 0
	perf record -q -e cpu-clock -c "$PERF_PERIOD" -a -g -m 1024 -o "$WORK/${1//,/_}.perf" \
		>/dev/null 2>"$WORK/${1//,/_}.perf.err" &
	PERF_PID=$!
	LAB_PIDS+=("$PERF_PID")
	# perf writes its header once it samples every CPU: start the load after that.
	for _ in $(seq 100); do
		[[ -s $WORK/${1//,/_}.perf ]] && break
		sleep 0.02
	done
	sleep 0.2
}
perf_end() {
	[[ -n $PERF_PID ]] || return 0
	kill -INT "$PERF_PID" 2>/dev/null
	wait "$PERF_PID" 2>/dev/null
	PERF_PID=""
}

run_load() { # run_load KEY ARGS...: dnsperf with ARGS, or phase 3's load when ARGS is nondns
	if [[ ${2:-} == nondns ]]; then
		run_nondns "$1"
	else
		perf_begin "$1"
		run_dnsperf "$@"
		perf_end
	fi
}

WAYS=(none tcpdump)
for h in $HOOKS; do WAYS+=("dnsreel-$h"); done
run_way() { # run_way WAY KEY DNSPERF-ARGS...
	local way=$1 key=$2
	shift 2
	case $way in
	none)
		run_load "$key" "$@"
		echo "  $key: ${M[$key,qps]} qps" >&2
		;;
	tcpdump) tcpdump_way "$key" "$@" ;;
	dnsreel-*) dnsreel_way "$key" "${way#dnsreel-}" "$@" ;;
	esac
}

# Warm-up, then ROUNDS rounds of every way, then nothing recording once more: on a shared
# machine the load drifts, and medians over interleaved runs keep the ratios honest.
"$LAB_SH" exec app dnsperf -s "$LAB_VIP" -d "$WORK/queries" -l 1 -c "$CLIENTS" >/dev/null 2>&1
for r in $(seq "$ROUNDS"); do
	for w in "${WAYS[@]}"; do run_way "$w" "$w,$r" -l "$SECS"; done
done
run_way none "none,$((ROUNDS + 1))" -l "$SECS"
# pcap + zstd -19 (last full-load tcpdump round), on a leading sample when big: level 19 runs at a few
# MB/s.
sample=$((${BENCH_ZSTD_SAMPLE_MB:-64} * 1024 * 1024))
zst_bytes=0
for ns in $LAB_NETNS; do
	f=$WORK/$ns.pcap
	sz=$(stat -c %s "$f" 2>/dev/null || echo 0)
	if ((sz > 0)); then
		n=$sz
		((n > sample)) && n=$sample
		z=$(head -c "$n" "$f" | zstd -19 -T0 -q -c | wc -c)
		zst_bytes=$((zst_bytes + z * sz / n))
	fi
	rm -f "$f"
done

if ((RATE > 0)); then
	echo "  fixed load: $RATE qps for ${RSECS}s" >&2
	for r in $(seq "$ROUNDS"); do
		for w in "${WAYS[@]}"; do run_way "$w" "$w,rate$r" -l "$RSECS" -Q "$RATE"; done
	done
fi
if ((NONDNS_SECS > 0)); then
	echo "  other traffic: UDP to port 9999 for ${NONDNS_SECS}s" >&2
	for r in $(seq "$ROUNDS"); do
		for w in "${WAYS[@]}"; do run_way "$w" "$w,nondns$r" nondns; done
	done
fi

# The direct measure: each run's samples classified, as pf.tap / pf.proc / pf.all (samples)
# and pf.period (ns of CPU per sample).
if ((PERF)); then
	echo "  classifying perf samples" >&2
	for f in "$WORK"/*.perf; do
		[[ -e $f ]] || continue
		key=$(basename "$f" .perf)
		key=${key/_/,}
		while read -r name value; do
			M[$key,pf.$name]=$value
		done < <(perf script -i "$f" -F comm,ip,sym 2>/dev/null |
			python3 "$(dirname "$0")/perf_cost.py" --period "$PERF_PERIOD")
		if [[ -n ${BENCH_PERF_KEEP:-} ]]; then
			mkdir -p "$BENCH_PERF_KEEP" && mv "$f" "$BENCH_PERF_KEEP/"
		else
			rm -f "$f"
		fi
	done
fi

# Everything measured, one "way round key value" a line, for the report below.
for k in "${!M[@]}"; do
	IFS=, read -r w rd key <<<"$k"
	echo "$w $rd $key ${M[$k]}"
done | sort >"$WORK/measured"
cp "$WORK/measured" "${BENCH_KEEP:-/dev/null}" 2>/dev/null || true

report=$(
	python3 - "$WORK/measured" "$ROUNDS" "$zst_bytes" "${WAYS[*]}" "$RATE" <<'PY'
import sys, statistics as st
path, rounds, zst, ways, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(), int(sys.argv[5])
M = {}
for line in open(path):
    w, r, k, v = line.split(None, 3)
    try:
        v = float(v)
    except ValueError:
        continue
    M.setdefault(w, {}).setdefault(r, {})[k] = v
def runs(w, phase):
    rs = M.get(w, {})
    def ph(r):
        return "rate" if r.startswith("rate") else "nondns" if r.startswith("nondns") else "full"
    return [rs[r] for r in sorted(rs) if ph(r) == phase]
def med(xs):
    xs = [x for x in xs if x is not None]
    return st.median(xs) if xs else float("nan")
def spread(xs):
    return f"{min(xs):.0f}–{max(xs):.0f}" if xs else "-"
def lab(d):  # CPU of the lab's processes over a run (dnsperf, unbound, nsd, ksoftirqd)
    return d.get("client", 0) + d.get("fwd", 0) + d.get("up", 0) + d.get("ksoftirqd", 0)
out = []
P = out.append
# --- full load
q0 = med([d["qps"] for d in runs("none", "full")])
lab0 = med([lab(d) / d["done"] for d in runs("none", "full") if d.get("done")])
P("Full load (dnsperf as fast as it goes):\n")
P("| way | qps: median (each run) | ratio | events (DNS packets) | per query | lost: own count | lost in the pod netns vs dnsperf | lab CPU µs/query | recorder process CPU µs/query | whole cost µs/query | whole cost CPU-s per M events | forwarder CPU µs/query | bytes/event |")
P("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
cost = {}
for w in ways:
    rs = runs(w, "full")
    if not rs:
        continue
    qs = [d["qps"] for d in rs]
    q = med(qs)
    last = rs[-1] if w != "none" else rs[0]
    labq = med([lab(d) / d["done"] * 1e6 for d in rs if d.get("done")])
    recq = med([d.get("rec", 0) / d["done"] * 1e6 for d in rs if d.get("done")])
    whole = med([(lab(d) / d["done"] - lab0 + d.get("rec", 0) / d["done"]) * 1e6 for d in rs if d.get("done")])
    fwdq = med([d.get("fwd", 0) / d["done"] * 1e6 for d in rs if d.get("done")])
    if w == "none":
        P(f"| none | {q:.0f} ({' '.join(f'{x:.0f}' for x in qs)}) | 1.00 | - | - | - | - | {labq:.1f} | - | - | - | {fwdq:.1f} | - |")
        continue
    ev = last.get("events", 0)
    perq = ev / last["done"] if last.get("done") else 0
    lost = sum(d.get("lost", 0) for d in rs)
    if w.startswith("dnsreel"):
        podlost = sum(max(0, d.get("sent", 0) + d.get("done", 0) - d.get("app", 0)) for d in rs)
        bpe = last.get("bytes", 0) / last.get("ev_all", 1)
        podlost = f"{podlost:.0f}"
    else:
        podlost = "-"
        bpe = last.get("bytes", 0) / ev if ev else 0
    perm = med([(lab(d) / d["done"] - lab0 + d.get("rec", 0) / d["done"]) * d["done"] / d["events"] * 1e6 for d in rs if d.get("done") and d.get("events")])
    cost[w] = whole
    P(f"| {w} | {q:.0f} ({' '.join(f'{x:.0f}' for x in qs)}) | {q / q0:.2f} | {ev:.0f} | {perq:.2f} | {lost:.0f} | {podlost} | {labq:.1f} | {recq:.1f} | {whole:.1f} | {perm:.2f} | {fwdq:.1f} | {bpe:.1f} |")
P("")
tdlast = runs("tcpdump", "full")
if tdlast and tdlast[-1].get("events"):
    P(f"- pcap+zstd -19 (last tcpdump run): {zst / tdlast[-1]['events']:.1f} bytes/packet")
for w in ways:
    if w.startswith("dnsreel") and "tcpdump" in cost and cost["tcpdump"] > 0:
        P(f"- whole cost {w} / tcpdump (per query, full load): {cost[w] / cost['tcpdump']:.2f}")
# --- breakdown from --stats (last full-load run of each hook)
P("\nBreakdown (--stats, last full-load run of each hook; per event unless said):\n")
P("| way | BPF programs: ns/run, runs/query | BPF ns/query | ring wakeups/s | ring walk | process join | writer append | block encoding | zstd | write+sync | index | recorder user / sys s |")
P("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for w in ways:
    if not w.startswith("dnsreel"):
        continue
    rs = runs(w, "full")
    if not rs:
        continue
    d = rs[-1]
    ev = d.get("st.writer.events", 0) or 1
    progs = sorted({k[7:-8] for k in d if k.startswith("st.bpf.") and k.endswith(".run_cnt")})
    pt = []
    bpf_ns = sum(d.get(f"st.bpf.{p}.run_ns", 0) for p in progs)
    for p in progs:
        c = d.get(f"st.bpf.{p}.run_cnt", 0)
        ns = d.get(f"st.bpf.{p}.run_ns", 0)
        pt.append(f"{p} {ns / c if c else 0:.0f} ns × {c / d['done'] if d.get('done') else 0:.1f}")
    walk = d.get("st.time.consume_ns", 0) - d.get("st.time.join_ns", 0) - d.get("st.time.sink_ns", 0)
    P(f"| {w} | {'; '.join(pt)} | {bpf_ns / d['done'] if d.get('done') else 0:.0f} | {d.get('st.ring.wakeups', 0) / (d.get('dur') or 1):.1f} | {walk / ev:.0f} ns | {d.get('st.time.join_ns', 0) / ev:.0f} ns | {d.get('st.time.sink_ns', 0) / ev:.0f} ns | {d.get('st.writer.encode_ns', 0) / ev:.0f} ns | {d.get('st.writer.zstd_ns', 0) / ev:.0f} ns | {d.get('st.writer.write_ns', 0) / ev:.0f} ns | {d.get('st.writer.index_ns', 0) / ev:.0f} ns | {d.get('rec_u', 0):.2f} / {d.get('rec_s', 0):.2f} |")
# --- the recorder process per million events: whole process (start-up, the /proc scans, the
# last flush and close included) and over the load only (its CPU from dnsperf's start to end)
P("\nRecorder process CPU per million events recorded (user + system, medians over rounds; the load window excludes start-up and the final flush):\n")
P("| way | phase | whole process CPU-s per M events | over the load CPU-s per M events | frames at the busy zstd level |")
P("|---|---|---:|---:|---|")
for w in ways:
    if not w.startswith("dnsreel"):
        continue
    for phase in ("full", "rate"):
        rs = [d for d in runs(w, phase) if d.get("ev_all")]
        if not rs:
            continue
        whole = med([d.get("rec", 0) / d["ev_all"] * 1e6 for d in rs])
        win = med([d.get("rec_win", 0) / d["ev_all"] * 1e6 for d in rs])
        fb = rs[-1].get("st.writer.frames_busy_level")
        fr = rs[-1].get("st.writer.frames")
        busy = f"{fb:.0f} of {fr:.0f} (last run)" if fb is not None and fr else "- (no --stats)"
        P(f"| {w} | {phase} | {whole:.3f} | {win:.3f} | {busy} |")
# --- fixed rate
if rate > 0 and runs("none", "rate"):
    rs0 = runs("none", "rate")
    labs0 = med([lab(d) / d["done"] * d["qps"] for d in rs0 if d.get("done")])
    fwd0 = med([d["fwd"] / d["done"] * d["qps"] for d in rs0 if d.get("done")])
    P(f"\nFixed load ({rate} qps asked), CPU seconds per second:\n")
    P("| way | qps | recorder process | lab processes | extra lab over none | whole recorder cost | forwarder (unbound) | machine softirq |")
    P("|---|---:|---:|---:|---:|---:|---:|---:|")
    rc = {}
    for w in ways:
        rs = runs(w, "rate")
        if not rs:
            continue
        # CPU per second of traffic: per query times the qps reached
        def per_s(f):
            return med([f(d) / d["done"] * d["qps"] for d in rs if d.get("done")])
        recs = per_s(lambda d: d.get("rec", 0))
        labs = per_s(lab)
        extra = labs - labs0
        fwd = per_s(lambda d: d.get("fwd", 0))
        sirq = per_s(lambda d: d.get("softirq", 0))
        q = med([d["qps"] for d in rs])
        if w == "none":
            P(f"| none | {q:.0f} | - | {labs:.3f} | - | - | {fwd:.3f} | {sirq:.3f} |")
            continue
        rc[w] = recs + extra
        P(f"| {w} | {q:.0f} | {recs:.3f} | {labs:.3f} | {extra:+.3f} | {recs + extra:.3f} | {fwd:.3f} ({(fwd / fwd0 - 1) * 100:+.0f}%) | {sirq:.3f} |")
    for w in rc:
        if w.startswith("dnsreel") and rc.get("tcpdump", 0) > 0:
            P(f"- whole cost {w} / tcpdump at {rate} qps: {rc[w] / rc['tcpdump']:.2f}")
# --- the direct measure (perf samples classified by stack), both phases
def direct(d):  # CPU-s of tap/hook frames and of the recorder's processes over the load
    per = d.get("pf.period", 0) / 1e9
    return d.get("pf.tap", 0) * per, d.get("pf.proc", 0) * per
for phase, title in (("full", "full load"), ("rate", f"fixed load ({rate} qps asked)")):
    if not any(d.get("pf.all") for w in ways for d in runs(w, phase)):
        continue
    P(f"\nDirect cost, {title}: perf samples over each run's load, classified by stack (medians over rounds):\n")
    P("| way | samples | tap/hook CPU-s/s | recorder process CPU-s/s | whole cost CPU-s/s | events | whole cost CPU-s per M events | µs per query | perf's own CPU-s/s |")
    P("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    dc = {}
    for w in ways:
        rs = [d for d in runs(w, phase) if d.get("pf.all") and d.get("runtime")]
        if not rs:
            continue
        def m(f):
            return med([f(d) for d in rs])
        tap = m(lambda d: direct(d)[0] / d["runtime"])
        proc = m(lambda d: direct(d)[1] / d["runtime"])
        whole = m(lambda d: sum(direct(d)) / d["runtime"])
        perf_s = m(lambda d: d.get("pf.perf", 0) * d["pf.period"] / 1e9 / d["runtime"])
        nsamp = m(lambda d: d["pf.all"])
        if w == "none":
            P(f"| none (false-positive floor) | {nsamp:.0f} | {tap:.4f} | {proc:.4f} | {whole:.4f} | - | - | - | {perf_s:.4f} |")
            continue
        ev = m(lambda d: d.get("events", 0))
        perm = m(lambda d: sum(direct(d)) / d["events"] * 1e6 if d.get("events") else float("nan"))
        perq = m(lambda d: sum(direct(d)) / d["done"] * 1e6 if d.get("done") else float("nan"))
        dc[w] = (whole, perm)
        P(f"| {w} | {nsamp:.0f} | {tap:.4f} | {proc:.4f} | {whole:.4f} | {ev:.0f} | {perm:.3f} | {perq:.2f} | {perf_s:.4f} |")
    for w in dc:
        d = [d for d in runs(w, phase) if d.get("pf.all")][-1]
        at = sorted(((v, k[6:]) for k, v in d.items() if k.startswith("pf.at.")), reverse=True)
        tot = sum(v for v, _ in at) or 1
        P(f"- {w}, tap/hook samples by the frame they entered through (last run): " + ", ".join(f"{k} {v / tot * 100:.0f}%" for v, k in at[:6]))
    for w in dc:
        if w.startswith("dnsreel") and dc.get("tcpdump", (0, 0))[0] > 0:
            t = dc["tcpdump"]
            P(f"- direct whole cost {w} / tcpdump, {title}: {dc[w][0] / t[0]:.2f} per second, {dc[w][1] / t[1]:.2f} per event")
# --- other traffic
if runs("none", "nondns"):
    rs0 = runs("none", "nondns")
    c0 = med([lab(d) / d["sent"] * 1e9 for d in rs0 if d.get("sent")])
    P("\nOther traffic (UDP, not DNS: one sender as fast as it goes through 4 hops), per packet sent:\n")
    # The recorder's own process does nothing for these packets: its CPU here is its start
    # (BPF loads, netns scans), shown apart and left out of the per-packet cost.
    P("| way | packets/s: median (each run) | ratio | received | lab CPU ns/packet | extra lab ns/packet over none | recorder process CPU s (start-up, scans) |")
    P("|---|---:|---:|---:|---:|---:|---:|")
    p0 = med([d["qps"] for d in rs0])
    nc = {}
    for w in ways:
        rs = runs(w, "nondns")
        if not rs:
            continue
        ps = [d["qps"] for d in rs]
        labp = med([lab(d) / d["sent"] * 1e9 for d in rs if d.get("sent")])
        recp = med([d.get("rec", 0) / d["sent"] * 1e9 for d in rs if d.get("sent")])
        whole = med([lab(d) / d["sent"] * 1e9 - c0 for d in rs if d.get("sent")])
        recp = med([d.get("rec", 0) for d in rs])
        rcv = med([d.get("recv", 0) / d["sent"] for d in rs if d.get("sent")])
        if w != "none":
            nc[w] = whole
        P(f"| {w} | {med(ps):.0f} ({' '.join(f'{x:.0f}' for x in ps)}) | {med(ps) / p0:.2f} | {rcv:.2f} | {labp:.0f} | {'-' if w == 'none' else f'{whole:+.0f}'} | {'-' if w == 'none' else f'{recp:.2f}'} |")
    for w in nc:
        if w.startswith("dnsreel") and nc.get("tcpdump", 0) > 0:
            P(f"- extra lab CPU per packet {w} / tcpdump on other traffic: {nc[w] / nc['tcpdump']:.2f}")
print("\n".join(out))
PY
)
echo
echo "$report"
if [[ -n $APPEND ]]; then
	{
		printf '\n### %s, %s s each, %s CPUs, kernel %s, load before %s\n\n' \
			"$(date -u +%Y-%m-%dT%H:%MZ)" "$SECS" "$(nproc)" "$(uname -r)" "$LOAD0"
		printf 'Command: `BENCH_SECONDS=%s BENCH_ROUNDS=%s BENCH_HOOKS="%s" BENCH_RATE=%s%s flock /tmp/dnsreel-lab.lock bash bench/record/bench_record.sh %s --append %s`' \
			"$SECS" "$ROUNDS" "$HOOKS" "$RATE" \
			"${BENCH_RECORD_ARGS:+ BENCH_RECORD_ARGS=\"$BENCH_RECORD_ARGS\"}" "$BIN" "$APPEND"
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
