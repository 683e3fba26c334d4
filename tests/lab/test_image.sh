#!/usr/bin/env bash
# Lab test: the container image, run the way deploy/daemonset.yaml runs it (privileged, host PID,
# host network, host / read-only at /host, captures on a host folder, NODE_NAME in the
# environment), records the same capture as the bare recorder running beside it: replay of both
# as JSON lines is identical (every field but the time stamps: netns, pod context, process, service names, bytes),
# and both saw the lab's pods and service by name.
# Usage: test_image.sh BINDIR     (exit 77 = skipped)
set -uo pipefail
BIN=${1:?usage: test_image.sh BINDIR}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/common.sh"
lab_require ip iptables unbound nsd dig podman runc /usr/bin/python3 "$BIN/dnsreel-record" "$BIN/dnsreel-replay"

# podman's defaults fail where this runs inside another container (RLIMIT_NOFILE above the hard
# limit; crun refuses hybrid cgroup hierarchies): no default ulimits, and runc.
IMG=dnsreel:labtest$$
CTR=dnsreel-lab$$
PODMAN_CONF=$(mktemp "${TMPDIR:-/tmp}/dnsreel-podman.XXXXXX")
printf '[containers]\ndefault_ulimits = []\n' >"$PODMAN_CONF"
export CONTAINERS_CONF=$PODMAN_CONF
pm() { podman --runtime runc "$@"; }
image_cleanup() {
	pm rm -f -t 0 "$CTR" >/dev/null 2>&1 || true
	pm rmi -f "$IMG" >/dev/null 2>&1 || true
	rm -f "$PODMAN_CONF"
	lab_cleanup
}

"$SRC/deploy/build-image.sh" "$BIN" "$IMG" >/dev/null || fail "image build failed"
lab_start dimg
trap image_cleanup EXIT
mkdir -p "$WORK/node"

recorder_start "$WORK/bare.reel" --flush 200ms
# As the DaemonSet's container: its args from deploy/daemonset.yaml, plus the lab's pod-logs
# folder seen through /host; the mounts and privileges the manifest gives (HostToContainer is
# rslave).
mapfile -t DS_ARGS < <(/usr/bin/python3 -c '
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "DaemonSet":
        print("\n".join(d["spec"]["template"]["spec"]["containers"][0]["args"]))
' "$SRC/deploy/daemonset.yaml")
[[ ${DS_ARGS[0]:-} == record ]] || fail "no record args in deploy/daemonset.yaml"
mkdir -p /run/dnsreel # the tc hook's slot locks, shared as the DaemonSet shares the node's
pm run -d --name "$CTR" --privileged --pid=host --network=host --read-only \
	-v /:/host:ro,rslave -v "$WORK/node":/var/lib/dnsreel -v /run/dnsreel:/run/dnsreel \
	-e NODE_NAME="$LAB_NODE_NAME" \
	"$IMG" "${DS_ARGS[@]}" --pod-logs "/host$LAB_POD_LOGS" --flush 200ms \
	--ready-file /var/lib/dnsreel/ready >/dev/null ||
	fail "podman run failed"
for _ in $(seq 200); do
	[[ -e $WORK/node/ready ]] && break
	[[ $(pm inspect -f '{{.State.Running}}' "$CTR" 2>/dev/null) == true ]] || break
	sleep 0.05
done
[[ -e $WORK/node/ready ]] || {
	pm logs "$CTR" >&2
	fail "the recorder in the container did not become ready"
}

in_app dig www.example.test
in_app dig www.example.test AAAA
in_app dig nosuch.example.test
in_app dig +tcp +short example.test MX
in_app dig @"$LAB_VIP6" www.example.test AAAA
sleep 0.3

pm stop -t 10 "$CTR" >/dev/null || fail "podman stop failed"
rc=$(pm inspect -f '{{.State.ExitCode}}' "$CTR")
pm logs "$CTR" >"$WORK/image.err" 2>&1
[[ $rc == 0 ]] || {
	cat "$WORK/image.err" >&2
	fail "the recorder in the container exited $rc on SIGTERM"
}
recorder_stop

"$BIN/dnsreel-replay" "$WORK/bare.reel" -o jsonl >"$WORK/bare.jsonl" || fail "replay of bare"
"$BIN/dnsreel-replay" "$WORK/node/node.reel" -o jsonl >"$WORK/image.jsonl" ||
	fail "replay of the image's capture"
n=$(wc -l <"$WORK/bare.jsonl")
# 5 digs through the VIP (the v6 one too): pod -> node -> dns pod -> upstream, each hop twice.
((n >= 40)) || fail "bare recorder: only $n events"
# Equal in every field but the time stamps: each recorder's socket filter stamps the packet as
# it runs, a few microseconds apart; those must agree within 5 ms, in the same order.
python3 - "$WORK/bare.jsonl" "$WORK/image.jsonl" <<'PY' || fail "the image's capture differs from the bare recorder's"
import json, sys
a, b = ([json.loads(l) for l in open(f)] for f in sys.argv[1:3])
if len(a) != len(b):
    sys.exit(f"{len(a)} events bare, {len(b)} in the image's capture")
for i, (x, y) in enumerate(zip(a, b)):
    dt = abs(x["timestamp_raw"] - y["timestamp_raw"])
    if dt > 5_000_000:
        sys.exit(f"event {i}: time stamps {dt} ns apart")
    for r in (x, y):
        for k in ("timestamp", "timestamp_raw", "latency_ns_raw"):
            r.pop(k)
    if x != y:
        sys.exit(f"event {i} differs:\n  bare  {json.dumps(x)}\n  image {json.dumps(y)}")
PY
# Named context, not only equal: the app pod and the service in the image's capture.
app_ns=$(netns_inode "$LAB_NS_APP")
# Every event in the app pod's netns carries its pod, namespace and container.
na=$(grep -c "\"netns_id\":$app_ns," "$WORK/image.jsonl")
nn=$(grep "\"netns_id\":$app_ns," "$WORK/image.jsonl" | grep -c "\"namespace\":\"$LAB_APP_K8S_NS\",\"podName\":\"$LAB_APP_POD\",\"containerName\":\"$LAB_APP_CONTAINER\"")
((na == 10 && nn == na)) || fail "app pod netns: $na events, $nn of them named $LAB_APP_POD"
grep -q "\"podName\":\"$LAB_DNS_POD\",\"containerName\":\"$LAB_DNS_CONTAINER\"" "$WORK/image.jsonl" || fail "dns pod not named"
grep -q "\"node\":\"$LAB_NODE_NAME\"" "$WORK/image.jsonl" || fail "node name not from NODE_NAME"
grep -q "\"addr\":\"$LAB_VIP\",\"port\":53,\"proto\":\"UDP\",\"version\":4,\"k8s\":{\"kind\":\"svc\",\"namespace\":\"kube-system\",\"name\":\"kube-dns\"}" \
	"$WORK/image.jsonl" || fail "service VIP not named"
# The other tools in the image work on the capture (their libraries are all there): replay as
# the bare replay does, query counts the same events, info and verify pass.
inimg() { pm run --rm --read-only -v "$WORK/node":/var/lib/dnsreel:ro "$IMG" "$@"; }
inimg replay /var/lib/dnsreel/node.reel -o jsonl | cmp -s - "$WORK/image.jsonl" ||
	fail "replay in the image differs from replay outside"
q=$(inimg query -o csv /var/lib/dnsreel/node.reel "SELECT count(*) FROM dns" | tail -1)
[[ $q == "$n" ]] || fail "query in the image counts $q events, want $n"
inimg info /var/lib/dnsreel/node.reel >/dev/null || fail "info in the image failed"
inimg verify /var/lib/dnsreel/node.reel >/dev/null 2>&1 || fail "verify in the image failed"
# Fetched as `kubectl cp` does (tar in the container), the capture is intact and the same.
mkdir -p "$WORK/fetched"
pm run --rm --read-only -v "$WORK/node":/var/lib/dnsreel:ro --entrypoint /usr/bin/tar "$IMG" \
	cf - -C /var/lib/dnsreel node.reel | tar xf - -C "$WORK/fetched" || fail "tar out of the image"
"$BIN/dnsreel-verify" "$WORK/fetched/node.reel" >/dev/null || fail "fetched capture fails verify"
"$BIN/dnsreel-replay" "$WORK/fetched/node.reel" -o jsonl | cmp -s - "$WORK/image.jsonl" ||
	fail "fetched capture replays differently"
echo "PASS: $n events, image and bare recorder equal"
