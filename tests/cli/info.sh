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
# write errors are never silent
if [ -w /dev/full ]; then
	"$bin/dnsreel-info" "$data/lab-basic.reel" >/dev/full 2>"$tmp/err"
	[ $? = 1 ] && grep -q 'writing standard output: No space left' "$tmp/err" ||
		bad "info into a full disk: $(cat "$tmp/err")"
	"$bin/dnsreel-info" -o json "$data/lab-basic.reel" >/dev/full 2>/dev/null && bad "info -o json into a full disk exited 0"
	cp -r "$data/lab-basic.reel" "$tmp/bad.reel"
	printf 'XXXXXXXX' | dd of="$tmp/bad.reel/seg/000001.zst" bs=1 seek=9000 conv=notrunc 2>/dev/null
	"$bin/dnsreel-verify" "$tmp/bad.reel" >/dev/full 2>"$tmp/err"
	[ $? = 1 ] && grep -q 'writing standard output' "$tmp/err" || bad "verify into a full disk: $(cat "$tmp/err")"
fi
[ $fail = 0 ] && echo "ok: info netns table, write errors"
exit $fail
