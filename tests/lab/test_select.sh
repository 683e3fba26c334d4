#!/usr/bin/env bash
# Lab test: record-time selection by pod. `-p` the second app pod and a pod that does not
# exist yet: the capture holds only their namespaces (the other app pod, the forwarder, the
# node and the upstream are never attached), the recorder starts although no late pod exists,
# and the late pod is recorded from the query it sends as it starts (held until it is named),
# while another late pod's is dropped and counted. --node-netns yes also attaches the node's own
# namespace.
# Usage: test_select.sh BINDIR     (exit 77 = skipped)
set -uo pipefail
BIN=${1:?usage: test_select.sh BINDIR}
. "$(dirname "$0")/common.sh"
lab_require ip iptables unbound nsd dig /usr/bin/python3 "$BIN/dnsreel-record" "$BIN/dnsreel-replay" \
	"$BIN/dnsreel-info"
export LAB_APP2=1
lab_start dse
trap 'pod_del "$LAB_ID-s"; pod_del "$LAB_ID-u"; lab_cleanup' EXIT
app2() { "$LAB_SH" exec app2 "$@" >>"$WORK/client.out" 2>&1; }

recorder_start "$WORK/cap.reel" --flush 200ms -p "$LAB_APP2_POD,late-s" --node-netns yes
in_app dig "a$LAB_ID.w.example.test"
app2 dig "b$LAB_ID.w.example.test"
# Both late pods ask at once: the chosen one's query is recorded (held until it is named, if
# it asked before that); the other one asks before anything can name it (no sandbox yet, and
# its client outside the pod's cgroup), so its query is held, then dropped and counted once
# its sandbox starts and names it.
read -r uid cid < <(pod_add s late-s 10.244.0.60)
pod_run s "$uid" "$cid" dig +tries=1 @"$LAB_VIP" "c$LAB_ID.w.example.test"
read -r uid_u cid_u < <(POD_NO_SANDBOX=1 pod_add u late-u 10.244.0.61)
ip netns exec "$LAB_ID-u" dig +tries=1 @"$LAB_VIP" "u$LAB_ID.w.example.test" >>"$WORK/client.out" 2>&1
(
	echo $BASHPID >"$(late_cg_parent)/kubepods-besteffort-pod${uid_u//-/_}.slice/cri-containerd-$cid_u.scope/cgroup.procs"
	exec ip netns exec "$LAB_ID-u" sleep infinity
) </dev/null >/dev/null 2>&1 &
LAB_PIDS+=($!)
sleep 0.5
recorder_stop
grep -q "no pod matches\|waiting" "$WORK/record.err" && fail "said it waits though a pod matched"

"$BIN/dnsreel-replay" "$WORK/cap.reel" -o jsonl >"$WORK/cap.jsonl" || fail "replay failed"
/usr/bin/python3 - "$WORK/cap.jsonl" <<PY || fail "selection by pod"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
app2, late = $(netns_inode "$LAB_NS_APP2"), $(netns_inode "$LAB_ID-s")
bad = []
seen = {}
for e in ev:
    ns = e["netns_id"] % 2**32
    seen.setdefault(ns, set()).add(e["name"])
    if ns not in (app2, late):
        bad.append(f"event of netns {e['netns_id']} ({e['k8s'].get('podName')}): {e['name']}")
if seen.get(app2) != {"b$LAB_ID.w.example.test."}:
    bad.append(f"app2 pod: {seen.get(app2)}")
if seen.get(late) != {"c$LAB_ID.w.example.test."}:
    bad.append(f"late pod: {seen.get(late)}")
for b in bad[:10]:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
# late-u's query and response, held while it was not named, are counted as not selected
n=$("$BIN/dnsreel-info" "$WORK/cap.reel" | awk '$1 == "events.not_selected_netns" { print $2 }')
[[ ${n:-0} -ge 2 ]] || fail "late-u's held events: events.not_selected_netns '${n:-}', want >= 2"
# --node-netns yes: the node's own namespace (the recorder's) is attached too: three in all
grep -q " 0 lost; 3 netns:" "$WORK/record.err" ||
	fail "--node-netns yes: not the two pods and the node attached: $(tail -4 "$WORK/record.err")"

# No pod matches: the recorder waits (not "attached to nothing") and records nothing else.
recorder_start "$WORK/none.reel" --flush 200ms -p no-such-pod
in_app dig "d$LAB_ID.w.example.test"
recorder_stop
grep -q "waiting" "$WORK/record.err" || fail "no matching pod: no word that it waits"
n=$("$BIN/dnsreel-replay" "$WORK/none.reel" -o jsonl | wc -l)
[[ $n == 0 ]] || fail "no matching pod: $n events recorded"
echo "PASS: -p records only the pods chosen, a late pod once named, --node-netns the node"
