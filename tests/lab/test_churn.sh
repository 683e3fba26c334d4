#!/usr/bin/env bash
# Lab test: pods come and go while recording. Pod A (default/late-a) is created after the
# recorder started and asks at once; it is deleted; pod B (default/late-b) is created with A's
# IP and asks; then pod C with A's name (default/late-a) but a new UID. The kernel usually gives
# B and C the netns inode A had. After the recording: every event of each pod's netns carries
# its own pod and netns id (A's after A is gone; a reused inode gets an id of its own), the
# node's copies of A's and B's queries name the source by who had the IP at that time, the
# query each pod sends as it starts is named, and the pods table has a record per pod UID (two
# for late-a). Pod D (default/late-d) has no sandbox and its client is gone before the recorder
# reads its process record: named from the process's cgroup id.
# Usage: test_churn.sh BINDIR     (exit 77 = skipped)
set -uo pipefail
BIN=${1:?usage: test_churn.sh BINDIR}
. "$(dirname "$0")/common.sh"
lab_require ip iptables unbound nsd dig /usr/bin/python3 "$BIN/dnsreel-record" \
	"$BIN/dnsreel-replay" "$BIN/dnsreel-query"
lab_start dch
churn_cleanup() {
	local t
	for t in a b c d; do pod_del "$LAB_ID-$t"; done
	lab_cleanup
}
trap churn_cleanup EXIT


# A pod outlives its query by a little more than the recorder's once-a-second context scan (a
# Kubernetes pod takes seconds to be deleted); names must still reach the query sent at once.
POD_LIFE=1.5
recorder_start "$WORK/cap.reel" --flush 200ms ${CHURN_RECORD_ARGS:-}
ip=10.244.0.50
read -r uid_a cid_a < <(pod_add a late-a $ip)
ino_a=$(netns_inode "$LAB_ID-a")
pod_run a "$uid_a" "$cid_a" dig +tries=1 @"$LAB_VIP" "a$LAB_ID.w.example.test"
sleep "$POD_LIFE"
pod_del "$LAB_ID-a"
sleep 0.3
read -r uid_b cid_b < <(pod_add b late-b $ip)
ino_b=$(netns_inode "$LAB_ID-b")
pod_run b "$uid_b" "$cid_b" dig +tries=1 @"$LAB_VIP" "b$LAB_ID.w.example.test"
sleep "$POD_LIFE"
pod_del "$LAB_ID-b"
sleep 0.3
read -r uid_c cid_c < <(pod_add c late-a 10.244.0.51)
ino_c=$(netns_inode "$LAB_ID-c")
pod_run c "$uid_c" "$cid_c" dig +tries=1 @"$LAB_VIP" "c$LAB_ID.w.example.test"
sleep "$POD_LIFE"
# Pod D has no process left by the time the recorder reads its client's process record: no
# sandbox, and the client has exited while the recorder was stopped. Its cgroup is still
# there, and the cgroup id in the process record names the pod.
read -r uid_d cid_d < <(POD_NO_SANDBOX=1 pod_add d late-d 10.244.0.52)
ino_d=$(netns_inode "$LAB_ID-d")
sleep 0.5 # attached through inotify, with no process to name it
kill -STOP "$RECORDER_PID"
pod_run d "$uid_d" "$cid_d" dig +tries=1 @"$LAB_VIP" "d$LAB_ID.w.example.test"
kill -CONT "$RECORDER_PID"
sleep 0.5
recorder_stop

"$BIN/dnsreel-replay" "$WORK/cap.reel" -o jsonl >"$WORK/cap.jsonl" || fail "replay failed"
/usr/bin/python3 - "$WORK/cap.jsonl" <<PY || fail "churn attributed wrong"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
# The kernel hands a freed netns inode to the next namespace: a namespace reusing the inode of
# one that ended while recording gets the id inode + n x 2^32, n counting the namespaces with
# that inode before it (other namespaces of the machine may have had it too).
bad = []
ids = {}
for ino, pod, cid, qname in (($ino_a, "late-a", "$cid_a", "a$LAB_ID.w.example.test."),
                             ($ino_b, "late-b", "$cid_b", "b$LAB_ID.w.example.test."),
                             ($ino_c, "late-a", "$cid_c", "c$LAB_ID.w.example.test."),
                             ($ino_d, "late-d", "$cid_d", "d$LAB_ID.w.example.test.")):
    mine = [e for e in ev if e["netns_id"] % 2**32 == ino and e["name"] == qname]
    if len(mine) != 2:
        bad.append(f"{pod} netns {ino}: {len(mine)} events of {qname}, want query and response")
        continue
    nid = {e["netns_id"] for e in mine}
    if len(nid) != 1:
        bad.append(f"{pod}: events under netns ids {sorted(nid)}")
    nid = min(nid)
    if ino in ids and nid <= ids[ino]:
        bad.append(f"{pod}: netns id {nid} does not follow {ids[ino]} of the inode's last user")
    ids[ino] = nid
    if any(e["netns_id"] == nid and e["name"] != qname for e in ev):
        bad.append(f"{pod}: netns id {nid} also holds another pod's events")
    for e in mine:
        got = (e["k8s"]["namespace"], e["k8s"]["podName"], e["runtime"]["containerId"], e["name"])
        if got != ("default", pod, cid, qname):
            bad.append(f"netns {nid}: {got}, want {('default', pod, cid, qname)}"
                       f" (proc {e.get('proc')})")
# The node netns's copies: the IP 10.244.0.50 was late-a, then late-b.
node = "$(netns_inode "$LAB_NS_NODE")"
for qname, pod in (("a$LAB_ID.w.example.test.", "late-a"), ("b$LAB_ID.w.example.test.", "late-b")):
    cp = [e for e in ev if str(e["netns_id"]) == node and e["name"] == qname and e["qr"] == "Q"
          and e["src"]["addr"] == "$ip"]
    if not cp:
        bad.append(f"no node copy of {qname} from $ip")
    for e in cp:
        if e["src"].get("k8s") != {"kind": "pod", "namespace": "default", "name": pod}:
            bad.append(f"node copy of {qname}: src.k8s {e['src'].get('k8s')}, want pod {pod}")
for b in bad[:12]:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
n=$("$BIN/dnsreel-query" -o csv "$WORK/cap.reel" \
	"SELECT count(DISTINCT k8s_pod_uid) FROM pods WHERE k8s_podname = 'late-a'" | tail -1)
[[ $n == 2 ]] || fail "pods table: $n records for late-a, want 2 (one per UID)"
echo "PASS: created, deleted, IP reused and recreated pods named"
