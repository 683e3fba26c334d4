#!/usr/bin/env bash
# Lab test: pod context on one node layout (LAB_LAYOUT: containerd = containerd, systemd driver,
# cgroup v2, BestEffort; docker = cri-dockerd, systemd driver, cgroup v2, Guaranteed;
# crio-v1 = CRI-O, cgroupfs driver, cgroup v1, Burstable). The pods' processes sit in cgroups
# named as that runtime names them. Every event in each pod netns carries node, namespace, pod,
# container and the container ID; src/dst render as p/NS/POD:PORT and s/NS/SVC:PORT in columns
# and as src.k8s.kind "pod"/"svc" in JSON (docker: services from --services FILE, no iptables).
# LAB_PROXY=nftables: kube-proxy in nftables mode, the services named from its maps alone.
# Usage: test_layout.sh BINDIR LAYOUT     (exit 77 = skipped)
set -uo pipefail
BIN=${1:?usage: test_layout.sh BINDIR LAYOUT}
export LAB_LAYOUT=${2:?usage: test_layout.sh BINDIR LAYOUT}
. "$(dirname "$0")/common.sh"
lab_require ip iptables unbound nsd dig /usr/bin/python3 "$BIN/dnsreel-record" "$BIN/dnsreel-replay"
if [[ $LAB_LAYOUT == crio-v1 ]] &&
	! awk '$3 == "cgroup" && $4 ~ /(^|,)pids(,|$)/ { f = 1 } END { exit !f }' /proc/mounts; then
	skip "layout crio-v1 needs a cgroup v1 pids hierarchy (hybrid or legacy cgroups)"
fi
[[ ${LAB_PROXY:-iptables} != nftables ]] || lab_require nft
lab_start dly
[[ $LAB_LAYOUT == "${2}" ]] || fail "lab up as $LAB_LAYOUT, not $2"

# The docker layout names its services from a --services file instead of kube-proxy's rules
# (a node whose proxy is not kube-proxy): the same names must come out.
svc_args=()
if [[ $LAB_LAYOUT == docker ]]; then
	printf '# services of another proxy\n%s:53=kube-system/kube-dns\n[%s]:53=kube-system/kube-dns\n' \
		"$LAB_VIP" "$LAB_VIP6" >"$WORK/services"
	svc_args=(--no-iptables --services "$WORK/services")
fi
recorder_start "$WORK/cap.reel" --flush 200ms "${svc_args[@]}"
in_app dig www.example.test
in_app dig +tcp nosuch.example.test
in_app dig @"$LAB_VIP6" www.example.test AAAA
sleep 0.3
recorder_stop

"$BIN/dnsreel-replay" "$WORK/cap.reel" -o jsonl >"$WORK/cap.jsonl" || fail "replay failed"
/usr/bin/python3 - "$WORK/cap.jsonl" <<PY || fail "context on layout $LAB_LAYOUT"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
pods = {
    $(netns_inode "$LAB_NS_APP"): ("$LAB_APP_K8S_NS", "$LAB_APP_POD", "$LAB_APP_CONTAINER",
                                   "$LAB_APP_CONTAINER_ID"),
    $(netns_inode "$LAB_NS_DNS"): ("$LAB_DNS_K8S_NS", "$LAB_DNS_POD", "$LAB_DNS_CONTAINER",
                                   "$LAB_DNS_CONTAINER_ID"),
}
bad = []
count = {k: 0 for k in pods}
for e in ev:
    if e["k8s"]["node"] != "$LAB_NODE_NAME":
        bad.append(f"node {e['k8s']['node']}")
    want = pods.get(e["netns_id"])
    if not want:
        continue
    count[e["netns_id"]] += 1
    got = (e["k8s"]["namespace"], e["k8s"]["podName"], e["k8s"]["containerName"],
           e["runtime"]["containerId"])
    if got != want:
        bad.append(f"netns {e['netns_id']}: {got}, want {want}")
# 3 lookups: the app sees 3 queries and 3 responses, the dns pod 3+3 from the app and 3+3
# upstream.
if list(count.values()) != [6, 12]:
    bad.append(f"events per pod netns {list(count.values())}, want [6, 12]")
app = [e for e in ev if e["netns_id"] in pods and e["k8s"]["podName"] == "$LAB_APP_POD"
       and e["qr"] == "Q"]
for e in app:
    s, d = e["src"].get("k8s"), e["dst"].get("k8s")
    if s != {"kind": "pod", "namespace": "$LAB_APP_K8S_NS", "name": "$LAB_APP_POD"}:
        bad.append(f"app query src.k8s {s}")
    if d != {"kind": "svc", "namespace": "kube-system", "name": "kube-dns"}:
        bad.append(f"app query dst.k8s {d}")
for b in bad[:10]:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
cols=$("$BIN/dnsreel-replay" "$WORK/cap.reel" -p "$LAB_APP_POD" -F qr==Q --fields src,dst)
n=$(grep -cE "^p/$LAB_APP_K8S_NS/$LAB_APP_POD:[0-9]+ +s/kube-system/kube-dns:53$" <<<"$cols")
[[ $n == 3 ]] || {
	echo "$cols" >&2
	fail "columns: $n of 3 app queries as p/$LAB_APP_K8S_NS/$LAB_APP_POD:PORT s/kube-system/kube-dns:53"
}
echo "PASS: layout $LAB_LAYOUT (kube-proxy ${LAB_PROXY:-iptables}), every pod event named"
