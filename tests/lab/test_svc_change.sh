#!/usr/bin/env bash
# Lab test: a service kube-proxy adds while recording is named from its first queries,
# because the recorder dumps the node's rules when nf_tables reports the change (not on a
# 10 s round, and not by polling). One second into the recording a service default/late-dns
# (VIP 10.96.0.77, DNAT to the DNS pod) is added as kube-proxy would in the lab's mode
# (LAB_PROXY: iptables rules with their comments, or an element of the nftables service-ips
# map); 2.5 s later (the dumps of one netns are at most one per 2 s) the app pod asks that
# VIP once and the recorder stops. Its query must render dst s/default/late-dns:53: the 10 s
# round of dumps is not due before the recording ends.
# Usage: test_svc_change.sh BINDIR     (exit 77 = skipped)
set -uo pipefail
BIN=${1:?usage: test_svc_change.sh BINDIR}
. "$(dirname "$0")/common.sh"
lab_require ip iptables unbound nsd dig /usr/bin/python3 "$BIN/dnsreel-record" \
	"$BIN/dnsreel-replay"
[[ ${LAB_PROXY:-iptables} != nftables ]] || lab_require nft
lab_start dsv
NEW_VIP=10.96.0.77

recorder_start "$WORK/cap.reel" --netns "${LAB_NETNS// /,}"
sleep 1
node() { ip netns exec "$LAB_NS_NODE" "$@"; }
case ${LAB_PROXY:-iptables} in
iptables)
	svc=KUBE-SVC-LATEDNSAAAAAAAAA sep=KUBE-SEP-LATEDNSAAAAAAAAA
	node iptables -t nat -N $svc
	node iptables -t nat -N $sep
	node iptables -t nat -A $sep -p udp -m comment --comment "default/late-dns:dns" -m udp \
		-j DNAT --to-destination "$LAB_DNS_IP:53"
	node iptables -t nat -A $svc -m comment --comment "default/late-dns:dns -> $LAB_DNS_IP:53" \
		-j $sep
	node iptables -t nat -I KUBE-SERVICES -d $NEW_VIP/32 -p udp -m comment \
		--comment "default/late-dns:dns cluster IP" -m udp --dport 53 -j $svc ||
		fail "cannot add the iptables service"
	;;
nftables)
	node nft -f - <<EOF || fail "cannot add the nftables service"
add chain ip kube-proxy endpoint-LATEDNS0-default/late-dns/udp/dns { meta l4proto udp dnat to $LAB_DNS_IP:53; }
add chain ip kube-proxy service-LATEDNS0-default/late-dns/udp/dns { goto endpoint-LATEDNS0-default/late-dns/udp/dns; }
add element ip kube-proxy service-ips { $NEW_VIP . udp . 53 comment "default/late-dns:dns" : goto service-LATEDNS0-default/late-dns/udp/dns }
EOF
	;;
*) fail "unknown LAB_PROXY $LAB_PROXY" ;;
esac
sleep 2.5
in_app dig +tries=1 +time=2 @"$NEW_VIP" "svc$LAB_ID.example.test" A
grep -q "status: NXDOMAIN" "$WORK/client.out" || {
	cat "$WORK/client.out" >&2
	fail "no answer through the new service VIP $NEW_VIP"
}
recorder_stop

"$BIN/dnsreel-replay" "$WORK/cap.reel" -o jsonl 2>"$WORK/replay.err" >"$WORK/ev.jsonl" ||
	{ cat "$WORK/replay.err" >&2; fail "replay failed"; }
python3 - "$WORK/ev.jsonl" "$(netns_inode "$LAB_NS_APP")" "$NEW_VIP" "svc$LAB_ID.example.test." <<'PY' ||
import json, sys
path, app, vip, qname = sys.argv[1:]
ev = [json.loads(l) for l in open(path)]
q = [e for e in ev if str(e["netns_id"]) == app and e.get("name") == qname and e["qr"] == "Q"]
if not q:
    sys.exit(f"no query for {qname} in the app pod")
bad = 0
for e in q:
    k = e["dst"].get("k8s")
    want = {"kind": "svc", "namespace": "default", "name": "late-dns"}
    if e["dst"]["addr"] != vip or k != want:
        print(f"query to {e['dst']['addr']}: dst.k8s {k}, want {want}", file=sys.stderr)
        bad += 1
print(f"{len(q)} queries to the new service, {len(q) - bad} named")
sys.exit(1 if bad else 0)
PY
	fail "the service added while recording is not named on its first query"
echo "PASS: a service added while recording (kube-proxy ${LAB_PROXY:-iptables}) named from its first query"
