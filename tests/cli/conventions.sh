#!/usr/bin/env bash
# conventions.sh TOOL MANPAGE.md ROFF: --help on stdout with exit 0; --version names the git
# commit; an unknown option gives exit 2, nothing on stdout and a usage hint on stderr; every
# --long option of --help is in the page, and the roff page built from it renders each option
# with two hyphens (not as an en dash, which pasted into a shell is no option at all).
set -u
tool=$1 page=$2 roff=$3
fail=0
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

"$tool" --help >"$out" 2>"$err"; rc=$?
[ $rc -eq 0 ] || { echo "FAIL: $tool --help exited $rc"; fail=1; }
grep -q '^Usage: ' "$out" || { echo "FAIL: --help has no Usage line on stdout"; fail=1; }
[ -s "$err" ] && { echo "FAIL: --help wrote to stderr:"; cat "$err"; fail=1; }

if [ -w /dev/full ]; then
	"$tool" --help >/dev/full 2>"$err"; rc=$?
	[ $rc -eq 1 ] || { echo "FAIL: --help into a full disk exited $rc, want 1"; fail=1; }
	grep -q 'writing standard output' "$err" || { echo "FAIL: --help into a full disk: no error"; fail=1; }
fi

"$tool" --version >"$out" 2>"$err"; rc=$?
[ $rc -eq 0 ] || { echo "FAIL: $tool --version exited $rc"; fail=1; }
grep -qE '^[a-z-]+ [0-9]+\.[0-9]+\.[0-9]+ \(git [0-9a-f]' "$out" ||
	{ echo "FAIL: --version does not name the version and git commit: $(cat "$out")"; fail=1; }

"$tool" --no-such-option-xyz >"$out" 2>"$err"; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: unknown option exited $rc, want 2"; fail=1; }
[ -s "$out" ] && { echo "FAIL: unknown option wrote to stdout"; fail=1; }
grep -qi 'usage\|--help' "$err" || { echo "FAIL: unknown option: no usage hint on stderr"; fail=1; }

[ -f "$page" ] || { echo "FAIL: man page $page missing"; exit 1; }
"$tool" --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u | while read -r opt; do
	grep -qF -- "$opt" "$page" || { echo "FAIL: $opt is in --help but not in $page"; exit 1; }
done || fail=1
if [ ! -f "$roff" ]; then
	echo "FAIL: man page $roff was not built (pandoc missing?)"
	fail=1
elif grep -nE '\\\[(en|em)\][a-z]' "$roff"; then
	echo "FAIL: $roff renders options with a dash glyph instead of two hyphens (lines above)"
	fail=1
elif command -v man >/dev/null &&
	LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$roff" 2>/dev/null | grep -nP '[\x{2010}-\x{2015}\x{2212}][a-z]'; then
	echo "FAIL: man renders an option of $roff with a non-ASCII dash (lines above)"
	fail=1
fi
[ $fail -eq 0 ] && echo "ok: $(basename "$tool") follows the CLI conventions"
exit $fail
