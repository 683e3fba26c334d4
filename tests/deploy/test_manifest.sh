#!/usr/bin/env bash
# deploy/daemonset.yaml is valid for the Kubernetes API (validate.py, python3-kubernetes's
# types), and the validator rejects each broken variant: an unknown field, a wrong type, a
# missing required field, and each property the recorder needs taken away.
# Usage: test_manifest.sh DEPLOYDIR     (exit 77 = skipped: no python3-kubernetes)
set -uo pipefail
D=${1:?usage: test_manifest.sh DEPLOYDIR}
/usr/bin/python3 -c 'import kubernetes.client, yaml' 2>/dev/null ||
	{ echo "SKIP: python3-kubernetes (Debian) not installed"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

out=$("$D/validate.py" "$D/daemonset.yaml") || fail "daemonset.yaml invalid"
[[ $out == *"3 objects valid"* ]] || fail "unexpected: $out"

# broken NAME SED-EXPR EXPECTED-MESSAGE: the edited manifest must fail with that message.
n=0
broken() {
	sed "$2" "$D/daemonset.yaml" >"$T/$1.yaml"
	cmp -s "$T/$1.yaml" "$D/daemonset.yaml" && fail "$1: the edit changed nothing"
	local rc=0
	"$D/validate.py" "$T/$1.yaml" 2>"$T/$1.err" >/dev/null || rc=$?
	[[ $rc == 1 ]] || fail "$1: validate.py exited $rc, want 1"
	grep -qF -- "$3" "$T/$1.err" || { cat "$T/$1.err" >&2; fail "$1: no '$3'"; }
	n=$((n + 1))
}
broken unknown-field 's/^      hostPID: true/      hostPid: true/' "spec.hostPid: no such field in V1PodSpec"
broken wrong-type 's/cpu: 100m/cpu: [1]/' "requests.cpu: expected str"
broken bool-type 's/readOnly: true/readOnly: "yes"/' "readOnly: expected bool"
broken no-container-name 's/^        - name: dnsreel$/        - tty: false/' \
	"containers[0].name: required in V1Container"
broken no-selector '/^  selector:/,/^  updateStrategy:/{/^  updateStrategy:/!d}' \
	"spec.selector: required in V1DaemonSetSpec"
broken host-pid 's/hostPID: true/hostPID: false/' "hostPID must be true"
broken host-net 's/hostNetwork: true/hostNetwork: false/' "hostNetwork must be true"
broken no-toleration 's/- operator: Exists/- operator: Equal/' "a toleration with operator Exists"
broken not-privileged 's/privileged: true/privileged: false/' "privileged, or capabilities"
broken host-rw '/mountPath: \/host$/{n;s/readOnly: true/readOnly: false/}' \
	"mounted read-only at /host"
broken no-locks 's|path: /run/dnsreel|path: /run/other|' "slot locks need the host's /run/dnsreel"
broken no-node-name 's/fieldPath: spec.nodeName/fieldPath: metadata.name/' "NODE_NAME must come"
broken no-max-size '/--max-size=2G/d' "args lack --max-size="
broken no-limits '/^            limits:/,/memory: 512Mi/d' "resources.limits.cpu missing"
broken bad-kind 's/^kind: DaemonSet/kind: Daemonset/' "unexpected apiVersion/kind"
echo "PASS: manifest valid, $n broken variants rejected"
