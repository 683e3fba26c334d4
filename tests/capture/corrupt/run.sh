#!/bin/sh
# Replays the damaged-capture corpus: every case folder holds setup.sh, which damages a copy of
# the committed lab capture (tests/data/lab-basic.reel) the way a crash, a bad copy or an
# attacker would, and expect, one line per tool run:
#   TOOL EXIT TEXT
# TOOL is info, verify, reindex (verify --reindex), replay[:ARGS] or query (SELECT count(*) FROM
# dns), or absent (TEXT names a file that must not exist in the capture);
# the tool runs on the damaged copy (after the runs of the lines above it) and must exit with
# EXIT and print TEXT (a fixed string, "-" for nothing to check) on stdout or stderr. A tool
# that takes longer than 20 s counts as hanging. Usage: run.sh BINDIR CORPUSDIR BASECAPTURE
set -u
bin=$1
corpus=$2
base=$3
tmp=$(mktemp -d /tmp/dnsreel-corrupt-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
cases=0
for c in "$corpus"/*/; do
	c=${c%/}
	name=$(basename "$c")
	[ -f "$c/expect" ] || continue
	cases=$((cases + 1))
	rm -rf "$tmp/c.reel"
	cp -R "$base" "$tmp/c.reel"
	if ! (cd "$tmp" && BIN="$bin" HERE="$corpus" sh "$c/setup.sh" c.reel) \
		>"$tmp/setup.log" 2>&1; then
		echo "FAIL: $name: setup.sh failed: $(head -c 400 "$tmp/setup.log")" >&2
		fails=$((fails + 1))
		continue
	fi
	while read -r tool want text; do
		case $tool in '' | '#'*) continue ;; esac
		# TOOL:A,B passes the extra arguments A B (replay:-F,name==x.)
		args=
		case $tool in *:*) args=$(echo "${tool#*:}" | tr , ' ') ;; esac
		tool=${tool%%:*}
		case $tool in
		absent) # the file TEXT must not exist in the capture (readers write nothing)
			[ -e "$tmp/c.reel/$text" ] && {
				echo "FAIL: $name: readers created $text in the capture" >&2
				fails=$((fails + 1))
			}
			continue
			;;
		info) set -- "$bin/dnsreel-info" "$tmp/c.reel" ;;
		verify) set -- "$bin/dnsreel-verify" "$tmp/c.reel" ;;
		reindex) set -- "$bin/dnsreel-verify" --reindex "$tmp/c.reel" ;;
		# shellcheck disable=SC2086
		replay) set -- "$bin/dnsreel-replay" $args "$tmp/c.reel" ;;
		query) set -- "$bin/dnsreel-query" "$tmp/c.reel" "SELECT count(*) FROM dns" ;;
		*)
			echo "FAIL: $name: unknown tool '$tool' in expect" >&2
			fails=$((fails + 1))
			continue
			;;
		esac
		timeout 20 "$@" >"$tmp/out" 2>&1 </dev/null
		rc=$?
		if [ "$rc" = 124 ]; then
			echo "FAIL: $name: $tool hangs (killed after 20 s)" >&2
			fails=$((fails + 1))
		elif [ "$rc" != "$want" ]; then
			echo "FAIL: $name: $tool exit $rc, want $want: $(head -c 600 "$tmp/out")" >&2
			fails=$((fails + 1))
		elif [ "$text" != "-" ] && ! grep -qF -- "$text" "$tmp/out"; then
			echo "FAIL: $name: $tool output lacks '$text': $(head -c 600 "$tmp/out")" >&2
			fails=$((fails + 1))
		fi
	done <"$c/expect"
done
[ "$cases" -gt 0 ] || { echo "FAIL: no cases under $corpus" >&2; exit 1; }
echo "corrupt corpus: $cases cases, $fails failures"
[ "$fails" = 0 ]
