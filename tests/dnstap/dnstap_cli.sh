#!/usr/bin/env bash
# dnstap_cli.sh BINDIR SRCDIR: dnstap out and in, read by dnstap-ldns as ground truth.
#  - replay -o dnstap of a lab capture: dnstap-ldns reads the same messages as replay -o json
#    shows (count, type from the flows, addresses, ports, id, qname, time)
#  - import of that export round-trips: every message a DNSTAP event, exported again the same
#  - import of unbound's own dnstap log (recorded in the lab with fstrm_capture)
#  - damaged files: the error names the offset, exit 1; usage errors exit 2
set -u
bin=$1 src=$2
. "$src/../common/require.sh"
require dnstap-ldns python3
data=$src/../data
tmp=$(mktemp -d /tmp/dnsreel-dnstap-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
check=$src/tapcheck.py
cap=$data/lab-basic.reel

# ---- export ---------------------------------------------------------------------------------
"$bin/dnsreel" replay "$cap" -o dnstap -w "$tmp/x.fstrm" || bad "replay -o dnstap exited $?"
dnstap-ldns -y -r "$tmp/x.fstrm" >"$tmp/x.yaml" || bad "dnstap-ldns could not read the export"
"$bin/dnsreel" replay "$cap" -o json >"$tmp/x.json"
"$bin/dnsreel" replay "$cap" --flows -o json >"$tmp/xf.json"
out=$(python3 "$check" "$tmp/x.yaml" "$tmp/x.json" "$tmp/xf.json") || bad "export: $out"
want="same 327 messages: CLIENT_QUERY 74, CLIENT_RESPONSE 73, FORWARDER_QUERY 90, FORWARDER_RESPONSE 90"
[ "$out" = "$want" ] || bad "export: got '$out', want '$want'"
grep -q '^identity: "lab-node-drg12220"$' "$tmp/x.yaml" || bad "export: no node identity"
grep -q '^version: "dnsreel ' "$tmp/x.yaml" || bad "export: no version"
# a pipe works too; a filter keeps the matching events, typed from whole flows
"$bin/dnsreel" replay "$cap" -o dnstap -F name==www.example.test. -F qr==Q | cat >"$tmp/f.fstrm"
n=$(dnstap-ldns -r "$tmp/f.fstrm" | grep -c 'www.example.test.')
want=$("$bin/dnsreel" replay "$cap" -o json -F name==www.example.test. -F qr==Q | wc -l)
[ "$n" = "$want" ] && [ "$n" -gt 0 ] || bad "filtered export: $n messages, want $want"
dnstap-ldns -r "$tmp/f.fstrm" | grep -qE ' (CR|FR) ' && bad "filtered export holds responses"

# ---- import round trip ----------------------------------------------------------------------
"$bin/dnsreel" import --dnstap "$tmp/x.fstrm" -o "$tmp/i.reel" -q || bad "import exited $?"
"$bin/dnsreel" verify -q "$tmp/i.reel" >/dev/null || bad "imported capture does not verify"
got=$("$bin/dnsreel" query "$tmp/i.reel" -o csv --no-header \
	"SELECT observation, pkt_type, dnstap_type, count(*) FROM dns GROUP BY 1, 2, 3 ORDER BY 3" 2>&1)
want="dnstap,DNSTAP,CLIENT_QUERY,74
dnstap,DNSTAP,CLIENT_RESPONSE,73
dnstap,DNSTAP,FORWARDER_QUERY,90
dnstap,DNSTAP,FORWARDER_RESPONSE,90"
[ "$got" = "$want" ] || bad "imported capture: got
$got
want
$want"
"$bin/dnsreel" replay "$tmp/i.reel" -o dnstap -w "$tmp/y.fstrm" || bad "re-export exited $?"
dnstap-ldns -r "$tmp/x.fstrm" | sort >"$tmp/x.txt"
dnstap-ldns -r "$tmp/y.fstrm" | sort >"$tmp/y.txt"
cmp -s "$tmp/x.txt" "$tmp/y.txt" || { bad "re-export differs:"; diff "$tmp/x.txt" "$tmp/y.txt" | head -5; }
# the server's reports are no hops: no flows from them
n=$("$bin/dnsreel" replay "$tmp/i.reel" --flows -o json | wc -l)
[ "$n" = 0 ] || bad "dnstap events made $n flows"
# merged with the wire capture, flows are those of the wire alone
n1=$("$bin/dnsreel" replay "$cap" --flows -o csv | wc -l)
n2=$("$bin/dnsreel" replay "$cap" "$tmp/i.reel" --flows -o csv | wc -l)
[ "$n1" = "$n2" ] || bad "merged with dnstap events: $n2 flow rows, want $n1"

# ---- unbound's own log ----------------------------------------------------------------------
if [ -f "$data/unbound-dnstap.fstrm" ]; then
	"$bin/dnsreel" import --dnstap "$data/unbound-dnstap.fstrm" -o "$tmp/u.reel" -q ||
		bad "import of unbound's log exited $?"
	dnstap-ldns -r "$data/unbound-dnstap.fstrm" | sort >"$tmp/u1.txt"
	"$bin/dnsreel" replay "$tmp/u.reel" -o dnstap -w "$tmp/u.fstrm"
	dnstap-ldns -r "$tmp/u.fstrm" | sort >"$tmp/u2.txt"
	[ -s "$tmp/u1.txt" ] || bad "unbound's log reads empty"
	cmp -s "$tmp/u1.txt" "$tmp/u2.txt" ||
		{ bad "unbound's log does not round-trip:"; diff "$tmp/u1.txt" "$tmp/u2.txt" | head -5; }
	got=$("$bin/dnsreel" query "$tmp/u.reel" -o csv --no-header \
		"SELECT count(*) FROM dns WHERE dnstap_identity = 'lab-unbound'")
	[ "$got" = "$(wc -l <"$tmp/u1.txt")" ] || bad "unbound identity on $got events"
else
	bad "tests/data/unbound-dnstap.fstrm is missing"
fi

# ---- damaged files --------------------------------------------------------------------------
while IFS=$'\t' read -r f msg; do
	case $f in '#'* | '') continue ;; esac
	rm -rf "$tmp/c.reel"
	"$bin/dnsreel" import --dnstap "$src/corrupt/$f" -o "$tmp/c.reel" 2>"$tmp/c.err"
	rc=$?
	[ $rc = 1 ] || bad "$f: exit $rc, want 1"
	grep -qF -- "$msg" "$tmp/c.err" || bad "$f: stderr lacks '$msg': $(cat "$tmp/c.err")"
done <"$src/corrupt/expected.txt"

# ---- usage ----------------------------------------------------------------------------------
"$bin/dnsreel" import --dnstap "$tmp/x.fstrm" 2>/dev/null
[ $? = 2 ] || bad "import without -o: want exit 2"
"$bin/dnsreel" import --dnstap "$tmp/none.fstrm" -o "$tmp/n.reel" 2>"$tmp/e"
[ $? = 1 ] && grep -q 'none.fstrm' "$tmp/e" || bad "missing input: want exit 1 naming it"
"$bin/dnsreel" replay "$cap" -o dnstap --whole-flows -w "$tmp/z" 2>/dev/null
[ $? = 2 ] || bad "-o dnstap --whole-flows: want exit 2"

[ $fail = 0 ] && echo "ok: dnstap cli"
exit $fail
