#!/usr/bin/env bash
# conventions.sh TOOL MANPAGE.md: --help on stdout with exit 0; an unknown option gives exit 2,
# nothing on stdout and a usage hint on stderr; every --long option of --help is in the page.
set -u
tool=$1 page=$2
fail=0
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

"$tool" --help >"$out" 2>"$err"; rc=$?
[ $rc -eq 0 ] || { echo "FAIL: $tool --help exited $rc"; fail=1; }
grep -q '^Usage: ' "$out" || { echo "FAIL: --help has no Usage line on stdout"; fail=1; }
[ -s "$err" ] && { echo "FAIL: --help wrote to stderr:"; cat "$err"; fail=1; }

"$tool" --no-such-option-xyz >"$out" 2>"$err"; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: unknown option exited $rc, want 2"; fail=1; }
[ -s "$out" ] && { echo "FAIL: unknown option wrote to stdout"; fail=1; }
grep -qi 'usage\|--help' "$err" || { echo "FAIL: unknown option: no usage hint on stderr"; fail=1; }

[ -f "$page" ] || { echo "FAIL: man page $page missing"; exit 1; }
"$tool" --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u | while read -r opt; do
	grep -qF -- "$opt" "$page" || { echo "FAIL: $opt is in --help but not in $page"; exit 1; }
done || fail=1
[ $fail -eq 0 ] && echo "ok: $(basename "$tool") follows the CLI conventions"
exit $fail
