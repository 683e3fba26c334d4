#!/usr/bin/env bash
# Records the golden captures under tests/data/ in the lab (root). Each is a handful of DNS
# transactions run one after another from the app pod, recorded in every lab netns, so the
# REPLAY and QUERY golden tests have real multi-hop traffic with pod and process context:
#
#   lab-basic.pcap/ tcpdump -i any in each netns during the same run (node, app, dns, up)
#   lab-basic.txt   the transactions in order with dig's output, netns inodes, counts
#   lab-basic.reel  A, AAAA, CNAME, MX, SRV and TXT through the service VIP (pod -> VIP ->
#                   unbound -> nsd); NXDOMAIN from the upstream and from cluster.local; a
#                   SERVFAIL from the upstream; the ndots:5 search list walking to NXDOMAIN;
#                   TCP (dig +tcp, kdig +tcp); a truncated UDP answer retried over TCP; IPv6
#                   through the v6 VIP.
#
# Only the lab's namespaces are recorded (--netns), so the files hold just what the
# transactions below produced, not the host's or other labs' traffic.
#
# Usage: sudo tests/lab/make-golden.sh BINDIR [OUTDIR]   (OUTDIR default: tests/data)
set -uo pipefail
BIN=${1:?usage: make-golden.sh BINDIR [OUTDIR]}
here=$(cd "$(dirname "$0")" && pwd)
OUT=${2:-$here/../data}
. "$here/common.sh"
lab_require ip iptables unbound nsd dig kdig "$BIN/dnsreel-record" "$BIN/lab-compare"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
lab_start drg

recorder_start "$WORK/raw.reel" --flush 200ms --netns "${LAB_NETNS// /,}"
tcpdump_start
: >"$WORK/client.out"
step() { # step TEXT CMD...: one transaction, logged with its answer
	printf '\n### %s\n$ %s\n' "$1" "${*:2}" >>"$WORK/client.out"
	in_app "${@:2}"
	sleep 0.1 # keeps transactions apart in time, as separate incidents would be
}
step "A via the service VIP, forwarded upstream" dig www.example.test
step "AAAA" dig www.example.test AAAA
step "CNAME chain" dig alias.example.test
step "MX" dig example.test MX
step "SRV answered by the forwarder (cluster.local)" dig SRV _http._tcp.web.default.svc.cluster.local
step "NXDOMAIN from the upstream" dig nosuch.example.test
step "NXDOMAIN from cluster.local" dig nope.default.svc.cluster.local
step "SERVFAIL: the upstream's zone is broken" dig x.broken.test
step "ndots:5 search list: three cluster.local NXDOMAINs, then the upstream" dig +search mail.example.test
step "TCP" dig +tcp txt.example.test TXT
step "kdig over TCP" kdig +tcp @"$LAB_VIP" _sip._udp.example.test SRV
step "truncated over UDP, retried over TCP" dig big.example.test TXT
step "IPv6 through the v6 service VIP" dig @"$LAB_VIP6" www.example.test AAAA
sleep 0.3
tcpdump_stop
recorder_stop
# The golden capture must hold exactly what tcpdump saw, with the clients' process context.
procs=()
for pc in "${CLIENT_PIDS[@]}"; do procs+=(-P "$(netns_inode "$LAB_NS_APP"):$pc"); done
# shellcheck disable=SC2046
"$BIN/lab-compare" -c "$WORK/raw.reel" $(pcap_args) "${procs[@]}" \
	--require nxdomain,servfail,aaaa,tcp,ipv6,tc --no-loss >"$WORK/compare.out" ||
	{ cat "$WORK/compare.out"; fail "capture and tcpdump differ"; }
cat "$WORK/compare.out"

rm -rf "$OUT/lab-basic.reel" "$OUT/lab-basic.pcap"
cp -a "$WORK/raw.reel" "$OUT/lab-basic.reel" || fail "copy failed"
# tcpdump's view of the same run, one pcap per netns (LINUX_SLL2), for tests that compare.
mkdir -p "$OUT/lab-basic.pcap"
for ns in $LAB_NETNS; do cp "$WORK/$ns.pcap" "$OUT/lab-basic.pcap/${ns#"$LAB_ID"-}.pcap"; done
{
	echo "# lab-basic.reel: transactions in order (made by tests/lab/make-golden.sh)"
	echo "# lab $LAB_ID, node $LAB_NODE_NAME, recorded $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	for ns in $LAB_NETNS; do echo "# netns ${ns#"$LAB_ID"-} = $(netns_inode "$ns")"; done
	echo "# app pod $LAB_APP_K8S_NS/$LAB_APP_POD ($LAB_APP_IP, $LAB_APP_IP6)," \
		"forwarder $LAB_DNS_K8S_NS/$LAB_DNS_POD ($LAB_DNS_IP, $LAB_DNS_IP6)," \
		"VIP $LAB_VIP / $LAB_VIP6, upstream $LAB_UP_IP / $LAB_UP_IP6"
	echo "# lab-compare against tcpdump (lab-basic.pcap/), at the end of this file"
	grep -v '^;; WHEN:' "$WORK/client.out"
} >"$OUT/lab-basic.txt"
sed 's/^/# /' "$WORK/compare.out" >>"$OUT/lab-basic.txt"
echo "wrote $OUT/lab-basic.reel and $OUT/lab-basic.txt"
