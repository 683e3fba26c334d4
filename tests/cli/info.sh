#!/usr/bin/env bash
# info.sh BINDIR DATADIR: dnsreel info's netns table says what each row is (host, pod, or a
# plain netns by its name), so a netns name is never read as a pod name.
set -u
bin=$1 data=$2
tmp=$(mktemp -d /tmp/dnsreel-info.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
out=$("$bin/dnsreel-info" "$data/lab-basic.reel") || bad "info exited $?"
grep -qE '^  NETNS +KIND +NAMESPACE +NAME +CONTAINER +IPS$' <<<"$out" || bad "header: $out"
grep -qE '^  4026532678 +pod +default +dnsclient +client ' <<<"$out" || bad "pod row"
grep -qE '^  4026532609 +netns +- +drg12220-node +- ' <<<"$out" || bad "plain netns row"
"$bin/dnsreel-synth" -o "$tmp/s.reel" -n 100 >/dev/null || exit 1
grep -qE '^  [0-9]+ +host ' <<<"$("$bin/dnsreel-info" "$tmp/s.reel")" || bad "host netns not marked"
[ $fail = 0 ] && echo "ok: info netns table"
exit $fail
