# shellcheck shell=bash disable=SC2034
# Shared by the lab tests and benchmarks: skip rules, the lab's lifetime, tcpdump per netns,
# the recorder. Source it after setting BIN (the build's bin/ directory).
# Every process started here is remembered and stopped by lab_cleanup, which the EXIT trap runs.

LAB_SH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lab.sh
LAB_PIDS=()
WORK=""

skip() {
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# lab_require TOOL...: skip (77) unless root and every tool is here.
lab_require() {
	[[ $(id -u) == 0 ]] || skip "needs root (network namespaces, iptables, eBPF)"
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || [[ -x $t ]] || skip "missing tool: $t"
	done
	[[ -n $(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts) ]] || skip "no cgroup2 mounted"
}

lab_cleanup() {
	local p
	for p in "${LAB_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	if [[ -n ${LAB_ID:-} ]]; then "$LAB_SH" down || true; fi
	if [[ -n $WORK && -z ${LAB_KEEP_WORK:-} ]]; then rm -rf "$WORK"; fi
	if [[ -n $WORK && -n ${LAB_KEEP_WORK:-} ]]; then echo "work dir kept: $WORK" >&2; fi
}

# lab_start PREFIX: a fresh lab (unique id), WORK dir, cleanup on every exit.
lab_start() {
	export LAB_ID=${1}$$
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/dnsreel-labtest.XXXXXX")
	trap lab_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	local envs
	envs=$("$LAB_SH" up) || fail "lab up failed"
	eval "$envs"
}

netns_inode() { stat -L -c %i "/run/netns/$1"; }

# tcpdump_start: one tcpdump -i any per lab netns, writing $WORK/NETNS.pcap; waits until each
# listens. TCPDUMP_PIDS holds them in LAB_NETNS order.
# Tests want every packet: immediate mode (TPACKET_V2, no block timeout losing the tail at
# SIGINT) has fixed-size ring slots of the snap length, so a modest snap length (the lab's
# largest DNS packet is ~2.5 KB; lab-compare fails on a cut packet) and a 32 MiB ring give
# thousands of slots instead of the 8 that -s 0 with the default 2 MiB would.
TCPDUMP_OPTS=${TCPDUMP_OPTS--s 16384 -B 32768 -U --immediate-mode}
TCPDUMP_PIDS=()
tcpdump_start() {
	local ns i
	TCPDUMP_PIDS=()
	for ns in $LAB_NETNS; do
		# shellcheck disable=SC2086
		ip netns exec "$ns" tcpdump -i any -n -Z root $TCPDUMP_OPTS -w "$WORK/$ns.pcap" \
			"${TCPDUMP_FILTER:-port 53 or port 5353}" 2>"$WORK/$ns.tcpdump.err" &
		TCPDUMP_PIDS+=($!)
		LAB_PIDS+=($!)
	done
	for ns in $LAB_NETNS; do
		for i in $(seq 100); do
			grep -q "listening on" "$WORK/$ns.tcpdump.err" 2>/dev/null && break
			sleep 0.05
		done
		grep -q "listening on" "$WORK/$ns.tcpdump.err" || fail "tcpdump in $ns did not start"
	done
}

tcpdump_stop() {
	local p
	for p in "${TCPDUMP_PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${TCPDUMP_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	local ns
	TCPDUMP_DROPPED=0
	for ns in $LAB_NETNS; do
		if grep -E '^[1-9][0-9]* packets? dropped by kernel' "$WORK/$ns.tcpdump.err"; then
			echo "warning: tcpdump in $ns dropped packets" >&2
			TCPDUMP_DROPPED=1
		fi
	done
}

# pcap_args: -p INODE:NAME:FILE for lab-compare, one per lab netns.
pcap_args() {
	local ns
	for ns in $LAB_NETNS; do
		printf -- '-p %s:%s:%s ' "$(netns_inode "$ns")" "${ns#"$LAB_ID"-}" "$WORK/$ns.pcap"
	done
}

# recorder_start DIR [ARGS...]: dnsreel-record into DIR, waits for its ready file (10 s).
RECORDER_PID=""
recorder_start() {
	local out=$1
	shift
	rm -f "$WORK/ready"
	"$BIN/dnsreel-record" -w "$out" --pod-logs "$LAB_POD_LOGS" --node "$LAB_NODE_NAME" \
		--ready-file "$WORK/ready" "$@" 2>"$WORK/record.err" &
	RECORDER_PID=$!
	LAB_PIDS+=($!)
	local i
	for i in $(seq 200); do
		[[ -e $WORK/ready ]] && return 0
		kill -0 $RECORDER_PID 2>/dev/null || break
		sleep 0.05
	done
	cat "$WORK/record.err" >&2
	fail "recorder did not become ready"
}

recorder_stop() {
	local rc=0
	kill -INT "$RECORDER_PID" 2>/dev/null || true
	wait "$RECORDER_PID" || rc=$?
	if [[ $rc != 0 ]]; then
		cat "$WORK/record.err" >&2
		fail "recorder exited $rc after SIGINT"
	fi
}

# in_app CMD...: runs CMD in the app pod (netns + container cgroup) and waits; the pid it ran
# with is appended to CLIENT_PIDS as PID:COMM (the exec chain keeps the pid).
CLIENT_PIDS=()
in_app() {
	local out=$WORK/client.out
	"$LAB_SH" exec app "$@" >>"$out" 2>&1 &
	local pid=$!
	local comm=$1
	# BIND 9.18's dig sends and receives on its isc-net-NNNN threads; the kernel (and
	# trace_dns) report the thread's name.
	[[ $comm == dig ]] && comm='dig|isc-*'
	CLIENT_PIDS+=("$pid:$comm")
	wait $pid || echo "note: '$*' exited $?" >>"$out"
}

# Pods made while a test records (after lab_start): a netns on the lab bridge, a kubelet
# pod-logs folder and a containerd-named cgroup in the app pod's QoS slice.
late_cg_parent() { dirname "$(dirname "$LAB_CGROUP_APP")"; }
# pod_add TAG POD IP: netns $LAB_ID-TAG on the lab bridge, a kubelet pod-logs folder and a
# containerd cgroup for pod default/POD with a fresh UID; prints "UID CID".
pod_add() {
	local tag=$1 pod=$2 ip=$3 ns=$LAB_ID-$1 uid cid
	uid=$(printf '%s' "$LAB_ID-$tag-$RANDOM" | md5sum | sed -E 's/^(.{8})(.{4}).(.{3}).(.{3})(.{12}).*/\1-\2-4\3-a\4-\5/')
	cid=$(printf '%s' "$uid" | sha256sum | cut -c1-64)
	mkdir -p "$LAB_POD_LOGS/default_${pod}_$uid/app" "$(late_cg_parent)/kubepods-besteffort-pod${uid//-/_}.slice/cri-containerd-$cid.scope"
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip -n "$LAB_NS_NODE" link add "v-$tag" type veth peer name eth0 netns "$ns"
	ip -n "$LAB_NS_NODE" link set "v-$tag" master cbr0 up
	ip -n "$ns" addr add "$ip/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add 10.96.0.0/12 via "$LAB_BR_IP"
	# The pod's sandbox ("pause"), in its cgroup, holds it as kubelet's does (not with
	# POD_NO_SANDBOX set: a pod whose processes are all gone).
	local cg=$(late_cg_parent)/kubepods-besteffort-pod${uid//-/_}.slice/cri-containerd-$cid.scope
	if [[ -z ${POD_NO_SANDBOX:-} ]]; then
		(
			echo $BASHPID >"$cg/cgroup.procs"
			exec ip netns exec "$ns" sleep infinity
		) </dev/null >/dev/null 2>&1 &
	fi
	echo "$uid $cid"
}
# pod_run TAG UID CID CMD...: CMD in the pod's netns and container cgroup.
pod_run() {
	local ns=$LAB_ID-$1 cg=$(late_cg_parent)/kubepods-besteffort-pod${2//-/_}.slice/cri-containerd-$3.scope
	shift 3
	(
		echo $BASHPID >"$cg/cgroup.procs"
		exec ip netns exec "$ns" "$@"
	) >>"$WORK/client.out" 2>&1
}
pod_del() {
	local ns=$1 pids
	# not the recorder: it enters a pod's netns for a moment when its addresses change
	pids=$(ip netns pids "$ns" 2>/dev/null | grep -vx "${RECORDER_PID:-0}")
	# shellcheck disable=SC2086
	[[ -z $pids ]] || kill -9 $pids 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	local d
	for d in "$(late_cg_parent)"/kubepods-besteffort-pod*.slice; do
		[[ -d $d ]] || continue
		rmdir "$d"/cri-containerd-*.scope "$d" 2>/dev/null
	done
}
