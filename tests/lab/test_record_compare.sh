#!/usr/bin/env bash
# Lab test: the recorder against tcpdump. Records every netns while dig, kdig and dnsperf run
# in the app pod, with tcpdump -i any in each lab netns at the same time, then lab-compare
# checks that every DNS packet tcpdump saw is in the capture (same bytes, netns, direction,
# interface, endpoints) and nothing else is, that the clients' queries and responses carry
# their pid and comm (and unbound's, and nsd's), that the pods' netns carry their k8s context
# and the VIP its service name, and that NXDOMAIN, SERVFAIL, AAAA, TCP, IPv6 and a truncated
# UDP answer retried over TCP all happened.
# HOOK (tc, tcx or packet) records with --hook HOOK; without it the recorder's default hook.
# HOOK+recv also hooks receives (--proc-recv): the process context then comes from both.
# COMPARE_RECORD_ARGS: more recorder options (a small --ringbuf-size wraps the ring often).
# Usage: test_record_compare.sh BINDIR [HOOK[+recv]]     (exit 77 = skipped)
set -uo pipefail
BIN=${1:?usage: test_record_compare.sh BINDIR [HOOK[+recv]]}
HOOK=${2:-}
HOOK=${HOOK%+recv}
RECV=()
[[ ${2:-} == *+recv ]] && RECV=(--proc-recv)
. "$(dirname "$0")/common.sh"
lab_require ip iptables unbound nsd dig kdig dnsperf tcpdump "$BIN/dnsreel-record" \
	"$BIN/lab-compare"
lab_start drc

# One recording with tcpdump alongside. tcpdump is the reference: if it says it dropped
# packets (a loaded machine), the comparison would blame the recorder, so run again once.
scenario() {
	rm -rf "$WORK/cap.reel" "$WORK"/*.pcap "$WORK/client.out"
	CLIENT_PIDS=()
	# shellcheck disable=SC2086
	recorder_start "$WORK/cap.reel" --flush 200ms ${HOOK:+--hook "$HOOK"} "${RECV[@]}" \
		${COMPARE_RECORD_ARGS:-}
	tcpdump_start

	in_app dig www.example.test                       # A, pod -> VIP -> unbound -> nsd
	in_app dig www.example.test AAAA                  # AAAA
	in_app dig alias.example.test                     # CNAME chain
	in_app dig nosuch.example.test                    # NXDOMAIN from upstream
	in_app dig x.broken.test                          # SERVFAIL (upstream error)
	in_app dig +search web                            # ndots search list, cluster.local
	in_app dig SRV _http._tcp.web.default.svc.cluster.local
	in_app dig nope.default.svc.cluster.local         # NXDOMAIN from the forwarder itself
	in_app dig +tcp +short example.test MX            # TCP
	in_app kdig +tcp @"$LAB_VIP" _sip._udp.example.test SRV
	in_app dig big.example.test TXT                   # truncated over UDP, retried over TCP
	in_app dig @"$LAB_VIP6" www.example.test AAAA      # IPv6 through the v6 service VIP
	in_app dig -6 @"$LAB_DNS_IP6" txt.example.test TXT # IPv6 straight to the forwarder pod
	printf '%s\n' "www.example.test A" "mail.example.test A" "nosuch.example.test A" \
		"kube-dns.kube-system.svc.cluster.local A" "www.example.test AAAA" >"$WORK/queries"
	in_app dnsperf -s "$LAB_VIP" -d "$WORK/queries" -l 2 -Q 200 -c 2

	sleep 0.3 # the last responses reach every tap
	tcpdump_stop
	recorder_stop
}
scenario
if [[ $TCPDUMP_DROPPED == 1 ]]; then
	echo "note: tcpdump dropped packets; recording again" >&2
	scenario
	[[ $TCPDUMP_DROPPED == 0 ]] || fail "tcpdump (the reference) dropped packets twice: machine too busy"
fi

grep -q "status: NXDOMAIN" "$WORK/client.out" || fail "no NXDOMAIN answer in the lab"
grep -q "status: SERVFAIL" "$WORK/client.out" || fail "no SERVFAIL answer in the lab"
grep -q "Truncated, retrying in TCP" "$WORK/client.out" || fail "dig did not retry over TCP"

procs=()
for pc in "${CLIENT_PIDS[@]}"; do procs+=(-P "$(netns_inode "$LAB_NS_APP"):$pc"); done
procs+=(-P "$(netns_inode "$LAB_NS_DNS"):$(cat "$LAB_DIR/unbound.pid"):unbound")
procs+=(-P "$(netns_inode "$LAB_NS_UP"):0:nsd*")

# Pod context from the lab's cgroups + pod-logs folder, the VIP's name from kube-proxy rules.
ctx=(--pod "$(netns_inode "$LAB_NS_APP")=$LAB_APP_K8S_NS/$LAB_APP_POD/$LAB_APP_CONTAINER/$LAB_APP_POD_UID"
	--pod "$(netns_inode "$LAB_NS_DNS")=$LAB_DNS_K8S_NS/$LAB_DNS_POD/$LAB_DNS_CONTAINER/$LAB_DNS_POD_UID"
	--service "$LAB_VIP:53=kube-system/kube-dns")

# shellcheck disable=SC2046
"$BIN/lab-compare" -c "$WORK/cap.reel" $(pcap_args) "${procs[@]}" "${ctx[@]}" \
	--require nxdomain,servfail,aaaa,tcp,ipv6,tc || {
	echo "--- recorder stderr" >&2
	tail -20 "$WORK/record.err" >&2
	fail "capture and tcpdump differ"
}
echo "PASS"
