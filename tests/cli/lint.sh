#!/usr/bin/env bash
# lint.sh SRCDIR: the conventions of the source tree that a compiler does not check.
#  - error codes: enum dnsreel_error values are negative already; `-DNSREEL_E_x` is a bug
#  - C11: no GNU `?:` with an empty middle
#  - no source file over 1,200 lines; comments about the code, not the tracker
#  - each library folder has one public header (others end in _int.h or _priv.h)
#  - arrows one way: a library links only libraries beneath it
set -u
src=$1
cd "$src" || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
mapfile -t cfiles < <(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')

hits=$(grep -nE -- '-DNSREEL_E_[A-Z]' "${cfiles[@]}" /dev/null)
[ -z "$hits" ] || bad "negated error codes (the enum is negative already):
$hits"
hits=$(grep -nE '\?:' "${cfiles[@]}" /dev/null | grep -vE '"[^"]*\?:[^"]*"')
[ -z "$hits" ] || bad "GNU ?: (not C11):
$hits"
for f in "${cfiles[@]}"; do
	n=$(wc -l <"$f")
	[ "$n" -le 1200 ] || bad "$f has $n lines (split it by concern)"
done
hits=$(grep -niE 'next issue|added by|later issue' "${cfiles[@]}" /dev/null)
[ -z "$hits" ] || bad "comments about the tracker, not the code:
$hits"

# libraries, lowest first; each may link only those before it
libs=(common dnswire capture view pcapng flows dnstap)
for i in "${!libs[@]}"; do
	d=${libs[$i]}
	[ -d "$d" ] || continue
	pub=$(find "$d" -maxdepth 1 -name '*.h' ! -name '*_int.h' ! -name '*_priv.h' | wc -l)
	[ "$pub" -eq 1 ] || bad "$d/ has $pub public headers, want one: $(find "$d" -maxdepth 1 -name '*.h' ! -name '*_int.h' ! -name '*_priv.h' | tr '\n' ' ')"
	for j in "${!libs[@]}"; do
		[ "$j" -ge "$i" ] || continue
		[ "$j" -eq "$i" ] && continue
		grep -qE "target_link_libraries\([^)]*dnsreel_${libs[$j]}\b" "$d/CMakeLists.txt" &&
			bad "$d/ links dnsreel_${libs[$j]}, which sits above it"
	done
done
# tools share libraries, never each other: no tool folder links another tool's library
for d in record replay query cli; do
	for o in record replay query; do
		[ "$d" = "$o" ] && continue
		grep -qE "target_link_libraries\([^)]*dnsreel_(${o}|${o}er)\b" "$d/CMakeLists.txt" 2>/dev/null &&
			bad "$d/ links the $o tool's library"
	done
done
[ $fail = 0 ] && echo "ok: lint"
exit $fail
