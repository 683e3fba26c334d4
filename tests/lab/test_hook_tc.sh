#!/usr/bin/env bash
# Lab test: the tc hook (HOOK tc: classic bpf filters, or tcx: BPF links) keeps up with
# interfaces and leaves nothing behind. While recording
# every netns with --hook HOOK and tcpdump -i any in each lab netns, three times over: a veth
# pair is created between the node and the app pod (a new interface in the pod netns and a new
# port of the node's bridge), brought up and used at once by dig (its first packets are the
# DNS query), then deleted. lab-compare then checks the capture equals tcpdump packet for
# packet, so the new interfaces were covered from their first packet; the capture must hold
# events on each new interface. The recorder's filters or links are counted while it runs (two
# per interface, back to the same count after each delete), and after it stops none of its
# programs, filters or links remain and no lab netns has a clsact qdisc.
# With classic filters, which outlive their process, also: a recorder killed with SIGKILL
# leaves its filters, and the next recorder replaces them (none of the dead one's remain,
# its own are there once); a second recorder at the same time has filters of its own and
# takes them away when it stops, leaving the first one's.
# Usage: test_hook_tc.sh BINDIR [tc|tcx]     (exit 77 = skipped)
set -uo pipefail
BIN=${1:?usage: test_hook_tc.sh BINDIR [tc|tcx]}
HOOK=${2:-tc}
. "$(dirname "$0")/common.sh"
lab_require ip iptables unbound nsd dig tcpdump bpftool python3 "$BIN/dnsreel-record" \
	"$BIN/lab-compare"
lab_start dtc

# The recorder's programs (prog_id of its BPF fds) and the filters or links running them.
rec_prog_ids() { awk '/^prog_id:/ { print $2 }' /proc/"${1:-$RECORDER_PID}"/fdinfo/* 2>/dev/null | sort -u; }
filters_of() { # filters_of IDS...: classic tc filters in the lab netns running one of IDS
	local ns
	for ns in $LAB_NETNS; do ip netns exec "$ns" bpftool -j net show; done | python3 -c '
import json, sys
ids = {int(i) for i in sys.argv[1:]}
n = 0
for line in sys.stdin:
    for part in json.loads(line):
        n += sum(1 for f in part.get("tc", []) if f.get("id") in ids)
print(n)' "$@"
}
tcx_links_of() { # tcx_links_of IDS...: tcx links whose program is one of IDS
	bpftool -j link show | python3 -c '
import json, sys
ids = {int(i) for i in sys.argv[1:]}
# bpftool before 7.3 names the tcx link type by its number, 11
print(sum(1 for l in json.load(sys.stdin)
          if l.get("prog_id") in ids and l.get("type") in ("tcx", 11)))' "$@"
}
links_of() { if [[ $HOOK == tcx ]]; then tcx_links_of "$@"; else filters_of "$@"; fi; }

rm -rf "$WORK/cap.reel" "$WORK"/*.pcap
recorder_start "$WORK/cap.reel" --hook "$HOOK" --netns "${LAB_NETNS// /,}" --flush 200ms
tcpdump_start
ids=$(rec_prog_ids)
[[ -n $ids ]] || fail "no BPF programs held by the recorder"
# shellcheck disable=SC2086
base=$(links_of $ids)
# Every interface of the lab netns: lo in each, eth0 in the pods and upstream, cbr0, vup and
# the pods' bridge ports in the node: 2 links each.
nif=0
for ns in $LAB_NETNS; do nif=$((nif + $(ip -n "$ns" -o link show | wc -l))); done
[[ $base == $((2 * nif)) ]] || fail "$base $HOOK attachments for $nif interfaces (want $((2 * nif)))"

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
	[[ $now == $((base + 4)) ]] || fail "round $i: $now $HOOK attachments with tst$i/eth$i (want $((base + 4)))"
	ip -n "$LAB_NS_NODE" link del tst$i
	ip -n "$LAB_NS_NODE" addr del 10.245.$i.1/24 dev cbr0
	sleep 0.2
	# shellcheck disable=SC2086
	now=$(links_of $ids)
	[[ $now == "$base" ]] || fail "round $i: $now $HOOK attachments after deleting tst$i (want $base)"
done
# The lab's own traffic still recorded after the churn.
ip netns exec "$LAB_NS_APP" dig www.example.test >>"$WORK/client.out" 2>&1
sleep 0.3
tcpdump_stop
recorder_stop

# Nothing left: no program of the recorder, no filter or link running one, no clsact qdisc.
# The kernel frees a released program from a work queue: give it a moment.
nothing_left() { # nothing_left WHEN IDS...
	local when=$1 id
	shift
	for id in "$@"; do
		for _ in $(seq 50); do
			bpftool prog show id "$id" >/dev/null 2>&1 || break
			sleep 0.1
		done
		bpftool prog show id "$id" >/dev/null 2>&1 && fail "BPF program $id still loaded $when"
	done
	local left
	left=$(links_of "$@")
	[[ $left == 0 ]] || fail "$left $HOOK attachments left $when"
	for ns in $LAB_NETNS; do
		tc -n "$ns" qdisc show | grep -q clsact && fail "a clsact qdisc left in $ns $when"
	done
}
# shellcheck disable=SC2086
nothing_left "after exit" $ids

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
[[ $HOOK == tc ]] || { echo "PASS"; exit 0; }

# Classic filters after a SIGKILL: left behind, then replaced by the next recorder.
recorder_start "$WORK/dead.reel" --hook tc --netns "${LAB_NETNS// /,}"
dead=$(rec_prog_ids)
kill -KILL "$RECORDER_PID"
wait "$RECORDER_PID" 2>/dev/null
# shellcheck disable=SC2086
now=$(filters_of $dead)
[[ $now == "$base" ]] || fail "$now filters left by the killed recorder (want $base: they stay)"
recorder_start "$WORK/next.reel" --hook tc --netns "${LAB_NETNS// /,}"
next_pid=$RECORDER_PID
ids=$(rec_prog_ids)
# shellcheck disable=SC2086
now=$(filters_of $dead)
[[ $now == 0 ]] || fail "$now filters of the killed recorder left after the next one started"
# shellcheck disable=SC2086
now=$(filters_of $ids)
[[ $now == "$base" ]] || fail "$now filters of the next recorder (want $base)"
# A second recorder beside it: filters of its own, gone with it, the first one's kept.
recorder_start "$WORK/second.reel" --hook tc --netns "${LAB_NETNS// /,}"
second=$(rec_prog_ids)
# shellcheck disable=SC2086
now=$(filters_of $second)
[[ $now == "$base" ]] || fail "$now filters of a second recorder at once (want $base)"
ip netns exec "$LAB_NS_APP" dig www.example.test >>"$WORK/client.out" 2>&1
sleep 0.3
recorder_stop
# shellcheck disable=SC2086
now=$(filters_of $second)
[[ $now == 0 ]] || fail "$now filters of the second recorder left after it stopped"
# shellcheck disable=SC2086
now=$(filters_of $ids)
[[ $now == "$base" ]] || fail "$now filters of the first recorder after the second stopped (want $base)"
"$BIN/dnsreel-replay" -o csv --no-header --fields qr "$WORK/second.reel" >"$WORK/second.csv" ||
	fail "replay of the second recorder's capture failed"
[[ -s $WORK/second.csv ]] || fail "the second recorder recorded nothing"
RECORDER_PID=$next_pid
ip netns exec "$LAB_NS_APP" dig www.example.test >>"$WORK/client.out" 2>&1
sleep 0.3
recorder_stop
# shellcheck disable=SC2086
nothing_left "after the last recorder" $ids $dead $second
for f in "$WORK/next.reel" "$WORK/second.reel"; do
	"$BIN/dnsreel-replay" -o csv --no-header --fields qr -F 'qr==Q' "$f" >"$WORK/q.csv" ||
		fail "replay of $f failed"
	[[ $(wc -l <"$WORK/q.csv") -ge 2 ]] || fail "$f: the last query missing"
done
echo "PASS"
