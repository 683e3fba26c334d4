#!/usr/bin/env bash
# bench/k8s: the recorder on a node with many pods. BENCH_PODS (default 200) pod netns, each
# with a sandbox process in a containerd-named cgroup and a kubelet pod-logs folder, then:
#   start-up   launch to ready (every netns attached), dnsreel-record against the alternative
#              a user has today: one tcpdump per netns (ip netns exec ... tcpdump), to listening
#   RSS        dnsreel-record's VmRSS/VmHWM against the sum of the tcpdumps' VmRSS
#   idle CPU   recorder CPU over BENCH_IDLE seconds (default 10) with no traffic, its own (ns,
#              from schedstat) and that of the children it waited for (kube-proxy rule dumps,
#              clock ticks), and its wakeups per second (voluntary context switches)
#   attach     BENCH_NEW (default 50) netns created one by one while recording: time from the
#              netns existing to the recorder's "attached netns INODE" log line (p50/p99/max)
#   burst      then BENCH_BURST (default 40) netns created at once, as a node starting a
#              deployment: the same latency for each
# Targets (issue 13): start-up < 1 s, attach p99 < 50 ms, idle CPU < 0.5% of a core, RSS < 64 MiB.
# BENCH_HOOK (tc, tcx or packet) passes --hook; the recorder's default otherwise.
# Usage: sudo bench/k8s/bench_pods.sh BINDIR [--append RESULTS.md]
set -uo pipefail
BIN=${1:?usage: bench_pods.sh BINDIR [--append FILE]}
APPEND=""
[[ ${2:-} == --append ]] && APPEND=${3:?--append needs a file}
. "$(dirname "$0")/../../tests/lab/common.sh"
lab_require ip tcpdump "$BIN/dnsreel-record"
PODS=${BENCH_PODS:-200}
NEW=${BENCH_NEW:-50}
IDLE=${BENCH_IDLE:-10}
BURST=${BENCH_BURST:-40}
HOOK_ARGS=()
[[ -n ${BENCH_HOOK:-} ]] && HOOK_ARGS=(--hook "$BENCH_HOOK")
ID=bk$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dnsreel-benchk8s.XXXXXX")
CG=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)/kubepods.slice/kubepods-besteffort.slice
NS_LIST=()
bench_cleanup() {
	exec 2>/dev/null # no "Killed" job notices
	local p ns
	for p in "${LAB_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	for ns in "${NS_LIST[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
	done
	sleep 0.2
	for ns in "${NS_LIST[@]}"; do ip netns del "$ns" 2>/dev/null; done
	for p in "$CG"/kubepods-besteffort-pod"$(printf %08x $$)"_*.slice; do
		[[ -d $p ]] || continue
		rmdir "$p"/*.scope "$p" 2>/dev/null
	done
	[[ -n ${BENCH_KEEP_LOG:-} ]] && cp "$WORK/rec.log" "$WORK/burst" "$BENCH_KEEP_LOG"/
	rm -rf "$WORK"
}
trap bench_cleanup EXIT
trap 'exit 1' INT TERM HUP

# pod N: a netns with lo up, a sandbox process in its cgroup, a pod-logs folder.
pod() {
	local n=$1 ns=$ID-p$1 uid cid cg
	uid=$(printf '%08x-0000-4000-a000-%012d' "$$" "$n")
	cid=$(printf '%s%s' "$uid" "$n" | sha256sum | cut -c1-64)
	cg=$CG/kubepods-besteffort-pod${uid//-/_}.slice/cri-containerd-$cid.scope
	# While recording: the time just before the netns is made (before lo, cgroup, sandbox),
	# for the attach latency; taken after, a fast attach could be logged before it.
	local t
	now_us t
	ip netns add "$ns" || return 1
	if [[ -n ${CREATED:-} ]]; then
		printf '%s %s\n' "$t" "$(stat -L -c %i "/run/netns/$ns")" >>"$CREATED"
	fi
	NS_LIST+=("$ns")
	ip -n "$ns" link set lo up
	mkdir -p "$cg" "$WORK/pods/bench_pod-${n}_$uid/app"
	(
		echo $BASHPID >"$cg/cgroup.procs"
		exec ip netns exec "$ns" sleep infinity
	) </dev/null >/dev/null 2>&1 &
	LAB_PIDS+=($!)
}
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# CPU ns of all the process's threads (schedstat: the clock ticks of stat are 10 ms, a tenth
# of the target over 10 s) and its context switches (voluntary: its wakeups from sleep).
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%d", s }'; }
wakeups() { cat /proc/"$1"/task/*/status | awk '/^voluntary_ctxt_switches/ { s += $2 } END { print s + 0 }'; }
child_ticks() { awk '{ print $16 + $17 }' "/proc/$1/stat"; }
# Resident KiB of the BPF ring buffer's mapping (anon_inode:bpf-map) in /proc/PID/smaps.
ring_kb() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { m = ($6 ~ /bpf-map/) } m && /^Rss:/ { s += $2 } END { print s + 0 }' "/proc/$1/smaps"
}
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }
# Microseconds, no fork: the log reader and the netns creation stamp with these.
now_us() { printf -v "$1" '%s' "${EPOCHREALTIME/./}"; }

echo "bench/k8s: $PODS pod netns, $NEW created while recording, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)" >&2
for i in $(seq "$PODS"); do pod "$i" || fail "pod $i"; done
sleep 0.5

# --- tcpdump per netns: the alternative
t0=$(now_ms)
td=()
for i in $(seq "$PODS"); do
	ip netns exec "$ID-p$i" tcpdump -i any -n -w /dev/null port 53 2>"$WORK/td$i.err" &
	td+=($!)
	LAB_PIDS+=($!)
done
for i in $(seq "$PODS"); do
	until grep -q "listening on" "$WORK/td$i.err" 2>/dev/null; do sleep 0.01; done
done
t_td=$(($(now_ms) - t0))
rss_td=0
for p in "${td[@]}"; do
	c=$(pgrep -P "$p" tcpdump || echo "$p")
	rss_td=$((rss_td + $(rss_kb "$c")))
done
kill -INT "${td[@]}" 2>/dev/null
wait "${td[@]}" 2>/dev/null

# --- dnsreel-record
t0=$(now_ms)
"$BIN/dnsreel-record" -w "$WORK/cap.reel" --pod-logs "$WORK/pods" --ready-file "$WORK/ready" -v "${HOOK_ARGS[@]}" \
	2> >(while IFS= read -r l; do printf '%s %s\n' "${EPOCHREALTIME/./}" "$l"; done >"$WORK/rec.log") &
REC=$!
LAB_PIDS+=("$REC")
until [[ -e $WORK/ready ]]; do
	kill -0 $REC 2>/dev/null || { cat "$WORK/rec.log" >&2; fail "recorder exited"; }
	sleep 0.005
done
t_rec=$(($(now_ms) - t0))
t_ready=$(($(now_ms) * 1000))

sleep 1 # past the start-up's kube-proxy rule dumps
c0=$(cpu_ns $REC) k0=$(child_ticks $REC) w0=$(wakeups $REC)
sleep "$IDLE"
c1=$(cpu_ns $REC) k1=$(child_ticks $REC) w1=$(wakeups $REC)
hz=$(getconf CLK_TCK)
idle_pct=$(awk -v d=$((c1 - c0)) -v s="$IDLE" 'BEGIN { printf "%.3f", 100 * d / 1e9 / s }')
idle_wake=$(awk -v d=$((w1 - w0)) -v s="$IDLE" 'BEGIN { printf "%.1f", d / s }')
idle_child=$(awk -v d=$((k1 - k0)) -v hz="$hz" -v s="$IDLE" 'BEGIN { printf "%.2f", 100 * d / hz / s }')

# Churn: netns created one by one, 100 ms apart; latency to the recorder's attach line.
CREATED=$WORK/created
: >"$CREATED"
for i in $(seq $((PODS + 1)) $((PODS + NEW))); do
	pod "$i"
	sleep 0.1
done
sleep 1
# Burst: all at once, each pod made in a subshell of its own.
CREATED=$WORK/burst
: >"$CREATED"
adds=()
for i in $(seq $((PODS + NEW + 1)) $((PODS + NEW + BURST))); do
	NS_LIST+=("$ID-p$i")
	pod "$i" &
	adds+=($!)
done
wait "${adds[@]}"
sleep 1
rss=$(rss_kb $REC)
ring=$(ring_kb $REC)
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$REC/status")
kill -INT $REC
wait $REC 2>/dev/null
sleep 0.2
# latencies CREATED-FILE: ms from each netns's creation to its attach line, sorted.
latencies() {
	awk 'NR == FNR { c[$2] = $1; next }
	/attached netns/ { for (i = 1; i <= NF; i++) if ($i == "netns") { ino = $(i + 1); break }
		if (ino in c && $1 >= c[ino]) { printf "%.1f\n", ($1 - c[ino]) / 1000; delete c[ino] } }' \
		"$1" "$WORK/rec.log" | sort -n
}
lat=$(latencies "$WORK/created")
blat=$(latencies "$WORK/burst")
attached=$(awk -v t="$t_ready" '/attached netns/ && $1 <= t' "$WORK/rec.log" | wc -l)
nlat=$(wc -l <<<"$lat")
nblat=$(grep -c . <<<"$blat")
pct() { awk -v p="$1" '{ a[NR] = $1 } END { i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; print a[i] }'; }

out=$(cat <<EOT
### bench/k8s $(date -u +%Y-%m-%dT%H:%MZ) ($PODS pod netns, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))
\`sudo bench/k8s/bench_pods.sh build/bin\` (BENCH_PODS=$PODS BENCH_NEW=$NEW BENCH_BURST=$BURST BENCH_IDLE=$IDLE BENCH_HOOK=${BENCH_HOOK:-})

| | dnsreel-record | one tcpdump per netns | ratio |
|---|---|---|---|
| start-up to all $PODS netns listening | $t_rec ms ($attached attached) | $t_td ms | $(awk -v a="$t_rec" -v b="$t_td" 'BEGIN { printf "%.2f", a / b }') |
| resident memory | $((rss / 1024)) MiB (peak $((hwm / 1024)) MiB; ring buffer mapping $((ring / 1024)) MiB) | $((rss_td / 1024)) MiB | $(awk -v a="$rss" -v b="$rss_td" 'BEGIN { printf "%.2f", a / b }') |
| idle CPU over ${IDLE} s | ${idle_pct}% of a core (+ ${idle_child}% in rule-dump children), ${idle_wake} wakeups/s | | |
| netns created -> attached ($nlat of $NEW) | p50 $(pct 50 <<<"$lat") ms, p99 $(pct 99 <<<"$lat") ms, max $(pct 100 <<<"$lat") ms | | |
| $BURST netns created at once -> attached ($nblat of $BURST) | p50 $(pct 50 <<<"$blat") ms, p99 $(pct 99 <<<"$blat") ms, max $(pct 100 <<<"$blat") ms | | |
EOT
)
echo "$out"
if [[ -n $APPEND ]]; then printf '\n%s\n' "$out" >>"$APPEND"; fi
