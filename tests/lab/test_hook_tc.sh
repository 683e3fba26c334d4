#!/usr/bin/env bash
# Lab test: the tc hook keeps up with interfaces and leaves nothing behind. While recording
# every netns with --hook tc and tcpdump -i any in each lab netns, three times over: a veth
# pair is created between the node and the app pod (a new interface in the pod netns and a new
# port of the node's bridge), brought up and used at once by dig (its first packets are the
# DNS query), then deleted. lab-compare then checks the capture equals tcpdump packet for
# packet, so the new interfaces were covered from their first packet; the capture must hold
# events on each new interface. The recorder's tcx links are counted while it runs (two per
# interface, back to the same count after each delete), and after it stops none of its
# programs or links remain and no lab netns has a clsact qdisc.
# Usage: test_hook_tc.sh BINDIR     (exit 77 = skipped)
set -uo pipefail
BIN=${1:?usage: test_hook_tc.sh BINDIR}
. "$(dirname "$0")/common.sh"
lab_require ip iptables unbound nsd dig tcpdump bpftool python3 "$BIN/dnsreel-record" \
	"$BIN/lab-compare"
lab_start dtc

# The recorder's programs (prog_id of its BPF fds) and the tcx links running them.
rec_prog_ids() { awk '/^prog_id:/ { print $2 }' /proc/"$RECORDER_PID"/fdinfo/* 2>/dev/null | sort -u; }
links_of() { # links_of IDS...: tcx links whose program is one of IDS
	bpftool -j link show | python3 -c '
import json, sys
ids = {int(i) for i in sys.argv[1:]}
# bpftool before 7.3 names the tcx link type by its number, 11
print(sum(1 for l in json.load(sys.stdin)
          if l.get("prog_id") in ids and l.get("type") in ("tcx", 11)))' "$@"
}

rm -rf "$WORK/cap.reel" "$WORK"/*.pcap
recorder_start "$WORK/cap.reel" --hook tc --netns "${LAB_NETNS// /,}" --flush 200ms
tcpdump_start
ids=$(rec_prog_ids)
[[ -n $ids ]] || fail "no BPF programs held by the recorder"
# shellcheck disable=SC2086
base=$(links_of $ids)
# Every interface of the lab netns: lo in each, eth0 in the pods and upstream, cbr0, vup and
# the pods' bridge ports in the node: 2 links each.
nif=0
for ns in $LAB_NETNS; do nif=$((nif + $(ip -n "$ns" -o link show | wc -l))); done
[[ $base == $((2 * nif)) ]] || fail "$base tcx links for $nif interfaces (want $((2 * nif)))"

for i in 1 2 3; do
	# Created, up and used in one go: the first DNS packet follows within milliseconds.
	ip -n "$LAB_NS_NODE" link add tst$i type veth peer name eth$i netns "$LAB_NS_APP" &&
		ip -n "$LAB_NS_NODE" link set tst$i master cbr0 up &&
		ip -n "$LAB_NS_NODE" addr add 10.245.$i.1/24 dev cbr0 &&
		ip -n "$LAB_NS_APP" addr add 10.245.$i.10/24 dev eth$i &&
		ip -n "$LAB_NS_APP" link set eth$i up &&
		ip netns exec "$LAB_NS_APP" dig +tries=2 +timeout=1 @10.245.$i.1 www.example.test \
			>>"$WORK/client.out" 2>&1
	# shellcheck disable=SC2086
	now=$(links_of $ids)
	[[ $now == $((base + 4)) ]] || fail "round $i: $now tcx links with tst$i/eth$i (want $((base + 4)))"
	ip -n "$LAB_NS_NODE" link del tst$i
	ip -n "$LAB_NS_NODE" addr del 10.245.$i.1/24 dev cbr0
	sleep 0.2
	# shellcheck disable=SC2086
	now=$(links_of $ids)
	[[ $now == "$base" ]] || fail "round $i: $now tcx links after deleting tst$i (want $base)"
done
# The lab's own traffic still recorded after the churn.
ip netns exec "$LAB_NS_APP" dig www.example.test >>"$WORK/client.out" 2>&1
sleep 0.3
tcpdump_stop
recorder_stop

# Nothing left: no program of the recorder, no link running one, no clsact qdisc.
# The kernel frees a released program from a work queue: give it a moment.
for id in $ids; do
	for _ in $(seq 50); do
		bpftool prog show id "$id" >/dev/null 2>&1 || break
		sleep 0.1
	done
	bpftool prog show id "$id" >/dev/null 2>&1 && fail "BPF program $id still loaded after exit"
done
# shellcheck disable=SC2086
left=$(links_of $ids)
[[ $left == 0 ]] || fail "$left tcx links left after exit"
for ns in $LAB_NETNS; do
	tc -n "$ns" qdisc show | grep -q clsact && fail "a clsact qdisc left in $ns"
done

# shellcheck disable=SC2046
"$BIN/lab-compare" -c "$WORK/cap.reel" $(pcap_args) >"$WORK/compare.out" 2>&1 || {
	cat "$WORK/compare.out" >&2
	tail -20 "$WORK/record.err" >&2
	fail "capture and tcpdump differ"
}
# The new interfaces' packets are in there: each of the 3 queries at least once leaving the
# pod (eth1..3) and twice in the node (tst1..3, cbr0).
"$BIN/dnsreel-replay" -o csv --no-header --fields netns_id -F 'dst.addr~^10\.245\.' \
	"$WORK/cap.reel" >"$WORK/new.csv" || fail "replay failed"
app=$(grep -c "^$(netns_inode "$LAB_NS_APP")\$" "$WORK/new.csv")
node=$(grep -c "^$(netns_inode "$LAB_NS_NODE")\$" "$WORK/new.csv")
echo "queries on the added interfaces: $app events in the app pod, $node in the node"
((app >= 3 && node >= 6)) || fail "too few events on the interfaces added while recording"
echo "PASS"
