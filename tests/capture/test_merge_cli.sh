#!/usr/bin/env bash
# test_merge_cli.sh BINDIR [enospc]: dnsreel-merge from the command line: exit codes (0 merged,
# 1 failed with nothing written, 2 usage), the message naming the bad input, warnings on stderr
# and in info. With "enospc" (root: a 1 MiB tmpfs): a merge into a full disk fails with the
# error, leaves nothing on it and the inputs as they were.
set -u
bin=$1 mode=${2:-}
tmp=$(mktemp -d /tmp/dnsreel-merge-cli.XXXXXX)
mnt=""
cleanup() {
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
M=$bin/dnsreel-merge
"$bin/dnsreel-synth" -o "$tmp/a.reel" -n 3000 --seed 1 >/dev/null || exit 1
"$bin/dnsreel-synth" -o "$tmp/b.reel" -n 2000 --seed 2 >/dev/null || exit 1
sum() { find "$tmp/a.reel" "$tmp/b.reel" -type f -exec sha256sum {} + | sort; }
before=$(sum)

if [ "$mode" = enospc ]; then
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mounts a small tmpfs)"; exit 77; }
	mnt=$tmp/full
	mkdir "$mnt" && mount -t tmpfs -o size=64k tmpfs "$mnt" || { echo "SKIP: cannot mount tmpfs"; exit 77; }
	"$M" "$tmp/a.reel" "$tmp/b.reel" -o "$mnt/m.reel" 2>"$tmp/err"; rc=$?
	[ $rc = 1 ] || bad "merge into a full disk exited $rc, want 1"
	grep -q "No space left on device" "$tmp/err" || bad "no ENOSPC message: $(cat "$tmp/err")"
	grep -q "nothing was written" "$tmp/err" || bad "does not say nothing was written"
	[ -z "$(ls -A "$mnt")" ] || bad "left behind on the full disk: $(ls -A "$mnt")"
	[ "$(sum)" = "$before" ] || bad "inputs changed"
	[ $fail = 0 ] && echo "ok: merge into a full disk"
	exit $fail
fi

"$M" "$tmp/a.reel" "$tmp/b.reel" -o "$tmp/m.reel" 2>"$tmp/err" || bad "merge exited $?: $(cat "$tmp/err")"
grep -q "m.reel: 2 parts from 2 inputs" "$tmp/err" || bad "summary: $(cat "$tmp/err")"
"$bin/dnsreel-replay" "$tmp/m.reel" -o jsonl | wc -l | grep -qx 5000 || bad "replay of the merged capture"
[ "$(sum)" = "$before" ] || bad "inputs changed"

# a packed input merges as its directory does, and nothing unpacked is left beside the output
"$bin/dnsreel-pack" "$tmp/b.reel" -o "$tmp/b.reel.tar" >/dev/null 2>&1 || bad "pack b"
"$M" "$tmp/a.reel" "$tmp/b.reel.tar" -o "$tmp/mp.reel" 2>"$tmp/err" ||
	bad "merge with a packed input exited $?: $(cat "$tmp/err")"
cmp -s <("$bin/dnsreel-replay" "$tmp/m.reel" -o jsonl) <("$bin/dnsreel-replay" "$tmp/mp.reel" -o jsonl) ||
	bad "a packed input merges otherwise than its directory"
ls -A "$tmp" | grep -q unpack && bad "unpacked input left behind: $(ls -A "$tmp")"
head -c 20000 "$tmp/b.reel.tar" >"$tmp/cut.reel.tar"
"$M" "$tmp/a.reel" "$tmp/cut.reel.tar" -o "$tmp/mc.reel" 2>"$tmp/err" ||
	bad "merge with a cut pack exited $?: $(cat "$tmp/err")"
grep -q "cut.reel.tar: .*cut" "$tmp/err" || bad "a cut pack merged without a warning: $(cat "$tmp/err")"

"$M" "$tmp/a.reel" 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q "no output given" "$tmp/err" || bad "no -o: exit $rc $(cat "$tmp/err")"
"$M" -o "$tmp/x.reel" 2>"$tmp/err"; rc=$?
[ $rc = 2 ] || bad "no input: exit $rc"
"$M" "$tmp/a.reel" -o "$tmp/x.reel" --slack nonsense 2>/dev/null; rc=$?
[ $rc = 2 ] || bad "bad --slack: exit $rc"
"$M" "$tmp/a.reel" -o "$tmp/m.reel" 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "m.reel: exists" "$tmp/err" || bad "existing output: exit $rc $(cat "$tmp/err")"
"$M" "$tmp/a.reel" /etc -o "$tmp/x.reel" 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "^dnsreel-merge: /etc: not a capture" "$tmp/err" || bad "not a capture: exit $rc $(cat "$tmp/err")"
[ -e "$tmp/x.reel" ] && bad "a failed merge left its output"
ls -A "$tmp" | grep -q merge- && bad "a failed merge left its temporary directory"

# a duplicate: a warning on stderr and in info
"$M" "$tmp/a.reel" "$tmp/a.reel" -o "$tmp/aa.reel" 2>"$tmp/err" || bad "merge a a"
grep -q "^dnsreel-merge: warning: .*the same capture as" "$tmp/err" || bad "no duplicate warning: $(cat "$tmp/err")"
"$bin/dnsreel-info" "$tmp/aa.reel" | grep -qE "^warnings: +1$" || bad "info shows no warning"
"$bin/dnsreel-info" -o json "$tmp/aa.reel" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["kind"] == "merged" and len(d["inputs"]) == 1 and len(d["parts"]) == 1, d
assert d["parts"][0]["events"] == 3000 and "the same capture as" in d["warnings"][0], d
' || bad "info -o json of a merged capture"
[ $fail = 0 ] && echo "ok: dnsreel-merge command line"
exit $fail
