#!/bin/sh
# CLI tests for dnsreel-info and dnsreel-verify: --help, usage errors, exit codes, damage
# detection, reindex, JSON output, and every option named in the man page.
# Usage: test_cli.sh BINDIR CLIDIR
set -u
bin=$1
clidir=$2
. "$(dirname "$0")/../common/require.sh"
require python3 sqlite3 zstd
tmp=$(mktemp -d /tmp/dnsreel-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
expect_rc() { # expected-rc description command...
	want=$1; what=$2; shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" = "$want" ] || fail "$what: exit $rc, want $want ($(head -c 300 "$tmp/err"))"
}

for t in info verify; do
	expect_rc 0 "$t --help" "$bin/dnsreel-$t" --help
	grep -q "^Usage: dnsreel-$t" "$tmp/out" || fail "$t --help has no usage line"
	[ -s "$tmp/err" ] && fail "$t --help wrote to stderr"
	expect_rc 2 "$t without capture" "$bin/dnsreel-$t"
	grep -q "Try 'dnsreel-$t --help'" "$tmp/err" || fail "$t usage error text"
	expect_rc 2 "$t bad option" "$bin/dnsreel-$t" --no-such-option x
	expect_rc 0 "$t --version" "$bin/dnsreel-$t" --version
	grep -q zstd "$tmp/out" || fail "$t --version names zstd"
	# every long option of --help appears in the man page
	for o in $("$bin/dnsreel-$t" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "\*\*$o\*\*" "$clidir/dnsreel-$t.1.md" || fail "$t: $o missing from man page"
	done
done

expect_rc 0 synth "$bin/dnsreel-synth" -o "$tmp/a.reel" -n 20000 --multi-hop --block-events 1000
expect_rc 0 "info text" "$bin/dnsreel-info" "$tmp/a.reel"
grep -q "^events: *20000$" "$tmp/out" || fail "info events line: $(cat "$tmp/out")"
grep -q "^node: *node-1$" "$tmp/out" || fail "info node line"
grep -q "coredns-" "$tmp/out" || fail "info pods list"
grep -q "^bytes/event:" "$tmp/out" || fail "info bytes/event"
expect_rc 0 "info json" "$bin/dnsreel-info" -o json "$tmp/a.reel"
grep -q '"events":20000' "$tmp/out" || fail "info json events"
if command -v python3 >/dev/null; then
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" || fail "info json parses"
fi
expect_rc 2 "info bad format" "$bin/dnsreel-info" -o yaml "$tmp/a.reel"
expect_rc 1 "info not a capture" "$bin/dnsreel-info" "$tmp"
expect_rc 1 "info missing" "$bin/dnsreel-info" "$tmp/nope.reel"
expect_rc 0 "verify clean" "$bin/dnsreel-verify" "$tmp/a.reel"
# stdout: only the root hash (for the ticket); a problem would be a line of its own
[ "$(grep -c . "$tmp/out")" = 1 ] && grep -Eq "^$tmp/a.reel: root [0-9a-f]{64}\$" "$tmp/out" ||
	fail "verify clean prints exactly its root hash: $(cat "$tmp/out")"

# damage one byte in the middle of the segment: exit 1, a line naming file and offset
seg="$tmp/a.reel/seg/000001.zst"
size=$(stat -c %s "$seg")
printf '\377' | dd of="$seg" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
expect_rc 1 "verify damaged" "$bin/dnsreel-verify" "$tmp/a.reel"
grep -q "seg/000001.zst: offset [0-9]*:" "$tmp/out" || fail "verify names file+offset: $(cat "$tmp/out")"
expect_rc 0 "info on damaged capture" "$bin/dnsreel-info" "$tmp/a.reel"

# truncated segment (a torn last frame, the crash state): reindex moves the torn tail aside
# into damaged/, and then the capture verifies
expect_rc 0 synth2 "$bin/dnsreel-synth" -o "$tmp/b.reel" -n 5000 --block-events 500
seg="$tmp/b.reel/seg/000001.zst"
size=$(stat -c %s "$seg")
truncate -s $((size - 100)) "$seg"
expect_rc 1 "verify truncated" "$bin/dnsreel-verify" "$tmp/b.reel"
grep -q "truncated" "$tmp/out" || fail "truncation named: $(cat "$tmp/out")"
grep -q "index.sqlite" "$tmp/out" || fail "index mismatch reported"
expect_rc 0 "verify --reindex truncated" "$bin/dnsreel-verify" --reindex "$tmp/b.reel"
grep -q "repaired: torn last frame" "$tmp/out" || fail "repair named: $(cat "$tmp/out")"
torn=$(ls "$tmp/b.reel/damaged/")
kept=$(stat -c %s "$seg")
[ "$((kept + $(stat -c %s "$tmp/b.reel/damaged/$torn")))" = $((size - 100)) ] ||
	fail "torn tail not kept whole: $torn, segment $kept bytes"
expect_rc 0 "verify after reindex" "$bin/dnsreel-verify" "$tmp/b.reel"
grep -v ": root [0-9a-f]*$" "$tmp/out" && fail "problems after reindex: $(cat "$tmp/out")"
rm -f "$tmp/b.reel/index.sqlite"
expect_rc 0 "info without index" "$bin/dnsreel-info" "$tmp/b.reel"
grep -q "segments scanned" "$tmp/out" || fail "info says it scanned"

# a newer major version is refused with a clear message
expect_rc 0 synth3 "$bin/dnsreel-synth" -o "$tmp/c.reel" -n 100
if command -v sqlite3 >/dev/null; then
	sqlite3 "$tmp/c.reel/index.sqlite" "UPDATE capture_info SET value=9 WHERE key='format_major'"
	expect_rc 1 "info newer major" "$bin/dnsreel-info" "$tmp/c.reel"
	grep -q "format version 9" "$tmp/err" || fail "newer major message: $(cat "$tmp/err")"
	grep -q "upgrade" "$tmp/err" || fail "newer major says upgrade"
	expect_rc 1 "verify newer major" "$bin/dnsreel-verify" "$tmp/c.reel"
fi

# segments are plain zstd streams
if command -v zstd >/dev/null; then
	expect_rc 0 synth4 "$bin/dnsreel-synth" -o "$tmp/d.reel" -n 3000
	zstd -q -t "$tmp/d.reel"/seg/*.zst || fail "zstd -t on a segment"
	zstd -q -dc "$tmp/d.reel"/seg/000001.zst >/dev/null || fail "zstd -d on a segment"
fi

[ "$fails" = 0 ] && echo "cli: all checks passed"
[ "$fails" = 0 ]
