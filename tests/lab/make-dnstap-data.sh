#!/usr/bin/env bash
# make-dnstap-data.sh: writes tests/data/unbound-dnstap.fstrm, the lab's unbound's own dnstap
# log (client and forwarder messages) as fstrm_capture receives it from unbound's socket:
# A, AAAA over TCP, IPv6, a cluster.local answer and an NXDOMAIN. Root; run under
# flock /tmp/dnsreel-lab.lock like the lab tests.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
out=$HERE/../data/unbound-dnstap.fstrm
export LAB_ID=dtg$$
export LAB_DNSTAP_SOCKET=${TMPDIR:-/tmp}/dnsreel-tapgen.$$.sock
fstrm_capture -t protobuf:dnstap.Dnstap -u "$LAB_DNSTAP_SOCKET" -w "$out.part" &
fc=$!
trap '"$HERE/lab.sh" down >/dev/null 2>&1 || true; kill $fc 2>/dev/null || true' EXIT
sleep 0.3
eval "$("$HERE/lab.sh" up)"
for _ in $(seq 50); do
	ss -xnH state established | grep -qF "$LAB_DNSTAP_SOCKET" && break
	sleep 0.1
done
app() { "$HERE/lab.sh" exec app dig +short +tries=1 +time=2 "$@"; }
app dt1.w.example.test
app kube-dns.kube-system.svc.cluster.local
app nxd.example.test
app +tcp dt2.w.example.test AAAA
app @fd00:96::a dt3.w.example.test
sleep 1.5 # unbound's dnstap thread sends in batches
"$HERE/lab.sh" down
kill -INT $fc
wait $fc
mv "$out.part" "$out"
echo "wrote $out"
