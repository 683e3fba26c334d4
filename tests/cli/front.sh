#!/usr/bin/env bash
# front.sh DNSREEL: the front command runs dnsreel-VERB beside it and refuses unknown verbs.
set -u
front=$1
dir=$(dirname "$front")
fail=0
"$front" --help | grep -q 'replay' || { echo "FAIL: --help lists no verbs"; fail=1; }
"$front" no-such-verb 2>/dev/null; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: unknown verb exited $rc, want 2"; fail=1; }
"$front" 2>/dev/null; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: no verb exited $rc, want 2"; fail=1; }
"$front" ../x 2>/dev/null; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: a path as verb exited $rc, want 2"; fail=1; }
for verb in info verify replay query record report merge redact; do
	[ -x "$dir/dnsreel-$verb" ] || continue
	a=$("$front" "$verb" --help) b=$("$dir/dnsreel-$verb" --help)
	[ "$a" = "$b" ] || { echo "FAIL: dnsreel $verb --help differs from dnsreel-$verb --help"; fail=1; }
	c=$("$front" help "$verb")
	[ "$c" = "$b" ] || { echo "FAIL: dnsreel help $verb differs"; fail=1; }
done
[ $fail -eq 0 ] && echo "ok: front command"
exit $fail
