#!/usr/bin/env bash
# Lab test: lab.sh builds the cluster, every hop answers (A, AAAA, NXDOMAIN, SERVFAIL, TCP,
# truncation, IPv6, cluster.local), no lab netns has a default route, the pod context is in
# place, and `down` (run twice) leaves no netns, cgroup, process or file behind; neither does
# an `up` that fails half-way.
set -uo pipefail
# shellcheck disable=SC2034 # common.sh wants it; this test runs no dnsreel tool
BIN=unused
. "$(dirname "$0")/common.sh"
lab_require ip iptables unbound nsd dig
lab_start dru

q() { "$LAB_SH" exec app dig +time=2 +tries=1 "$@"; }
q www.example.test | grep -q "status: NOERROR" || fail "A via the VIP"
q +short www.example.test AAAA | grep -qx "2001:db8::10" || fail "AAAA via the VIP"
q nosuch.example.test | grep -q "status: NXDOMAIN" || fail "NXDOMAIN"
q x.broken.test | grep -q "status: SERVFAIL" || fail "SERVFAIL"
q +short kube-dns.kube-system.svc.cluster.local | grep -qx "$LAB_VIP" || fail "cluster.local"
q +tcp +short www.example.test | grep -q 192.0.2.10 || fail "TCP"
q big.example.test TXT | grep -q "Truncated, retrying in TCP" || fail "truncation"
q +short @"$LAB_VIP6" www.example.test | grep -q 192.0.2.10 || fail "IPv6 VIP"
for ns in $LAB_NETNS; do
	[[ -z $(ip -n "$ns" route show default) && -z $(ip -n "$ns" -6 route show default) ]] ||
		fail "default route in $ns"
done
ip netns exec "$LAB_NS_NODE" iptables-save -t nat |
	grep -q -- '-d 10.96.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP"' ||
	fail "kube-proxy style rule missing"
grep -q "pod${LAB_DNS_POD_UID//-/_}.slice/cri-containerd-$LAB_DNS_CONTAINER_ID.scope" \
	"/proc/$(cat "$LAB_DIR/unbound.pid")/cgroup" || fail "unbound not in its pod cgroup"
[[ -d $LAB_POD_LOGS/${LAB_DNS_K8S_NS}_${LAB_DNS_POD}_$LAB_DNS_POD_UID/$LAB_DNS_CONTAINER ]] ||
	fail "pod logs dir"

"$LAB_SH" down || fail "down"
"$LAB_SH" down || fail "second down"
ip netns list | grep -q "^$LAB_ID-" && fail "netns left"
[[ -e $LAB_DIR ]] && fail "lab dir left"
[[ -e $LAB_CGROUP_DNS || -e $LAB_CGROUP_APP ]] && fail "cgroup left"
compgen -G "/etc/netns/$LAB_ID-*" >/dev/null && fail "/etc/netns left"

# A failed up (unbound refuses its config) cleans up after itself.
LAB_UNBOUND_THREADS=bad "$LAB_SH" up >/dev/null 2>&1 && fail "up with a broken unbound config succeeded"
ip netns list | grep -q "^$LAB_ID-" && fail "netns left after a failed up"
[[ -e $LAB_DIR || -e $LAB_CGROUP_DNS ]] && fail "files or cgroups left after a failed up"
echo PASS
