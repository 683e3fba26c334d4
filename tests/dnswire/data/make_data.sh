#!/bin/sh
# Regenerates the real DNS messages in this folder: runs nsd on 127.0.0.1 only (a private zone,
# no recursion, nothing leaves loopback), sends queries with gen_msgs.py and saves each query and
# response as raw bytes. Usage: sh make_data.sh [OUTDIR]  (needs nsd and python3)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
port=${PORT:-53531}
cat > "$tmp/example.test.zone" <<ZONE
\$ORIGIN example.test.
\$TTL 300
@       IN SOA ns1.example.test. hostmaster.example.test. 2026112601 3600 600 86400 60
@       IN NS  ns1
@       IN NS  ns2
ns1     IN A   192.0.2.53
ns2     IN AAAA 2001:db8::53
www     IN A   192.0.2.10
www     IN A   192.0.2.11
www     IN AAAA 2001:db8::10
alias   IN CNAME www
chain   IN CNAME alias
@       IN MX  10 mail
@       IN MX  20 mail2.example.test.
mail    IN A   192.0.2.25
txt     IN TXT "v=spf1 -all" "second \"quoted\" string"
_dns._udp IN SRV 0 5 53 ns1
_sip._tcp IN SRV 10 60 5060 www
1.2.0.192.in-addr.arpa.example.test. IN PTR www
big     IN TXT "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
loc     IN TYPE65534 \# 4 deadbeef
hinfo   IN HINFO "x86" "linux"
ZONE
cat > "$tmp/nsd.conf" <<CONF
server:
    ip-address: 127.0.0.1@$port
    port: $port
    username: ""
    chroot: ""
    zonesdir: "$tmp"
    database: ""
    zonelistfile: "$tmp/zone.list"
    xfrdfile: "$tmp/xfrd.state"
    xfrdir: "$tmp"
    pidfile: "$tmp/nsd.pid"
    logfile: "$tmp/nsd.log"
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: example.test
    zonefile: example.test.zone
CONF
nsd -d -c "$tmp/nsd.conf" &
pid=$!
sleep 1
python3 "$here/gen_msgs.py" 127.0.0.1 "$port" "$out"
