#!/bin/bash
# ab-query: two builds of dnsreel-query (e.g. main and a branch) on the same capture, runs
# interleaved so both see the same machine load: the full-scan and selective queries of
# bench_query.sh, N rounds. Prints min and median of the in-process time (--stats) and of
# user+sys CPU per build and query, and the ratios B/A. Not a test.
# Usage: ab_query.sh BINDIR_A BINDIR_B CAPTURE [N]   (CAPTURE: bench_query.sh's q10000000.reel)
set -u
A=$1
B=$2
CAP=$3
N=${4:-7}
Q() { "$1/dnsreel-query" -o csv --no-header "$CAP" "$2"; }
P=$(Q "$A" "SELECT k8s_podname FROM pods ORDER BY k8s_podname LIMIT 1")
read -r T0 T1 <<<"$(Q "$A" "SELECT value FROM capture_info WHERE key IN ('first_timestamp', 'last_timestamp') ORDER BY key" | tr '\n' ' ')"
MID=$(((T0 + T1) / 2))
W0=$((MID - MID % 60000000000))
W1=$((W0 + 60000000000 - 1))
NM=$(Q "$A" "SELECT name FROM dns WHERE k8s_podname = '$P' AND timestamp BETWEEN $W0 AND $W1 AND qr = 'Q' GROUP BY name ORDER BY count(*) DESC LIMIT 1")
FULL="SELECT name, count(*) FROM dns GROUP BY name ORDER BY 2 DESC LIMIT 20"
SEL="SELECT time, src, dst, qtype, rcode, latency_ns FROM dns WHERE name = '$NM' AND k8s_podname = '$P' AND timestamp BETWEEN $W0 AND $W1"
T=$(mktemp -d /tmp/ab-query-XXXXXX)
trap 'rm -rf "$T"' EXIT
echo "A: $A"
echo "B: $B"
echo "$N rounds; $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) at start"
for _ in $(seq "$N"); do
	for side in A B; do
		[ $side = A ] && bin=$A || bin=$B
		for q in full selective; do
			[ $q = full ] && sql=$FULL || sql=$SEL
			/usr/bin/time -f "%U %S" -o "$T/time" "$bin/dnsreel-query" --stats "$CAP" "$sql" \
				>/dev/null 2>"$T/err" || {
				echo "failed: $bin $q :: $(head -c 300 "$T/err")" >&2
				exit 1
			}
			ms=$(sed -n 's/.*, \([0-9.]*\) ms$/\1/p' "$T/err")
			echo "$ms $(awk '{print $1 + $2}' "$T/time")" >>"$T/$side-$q"
		done
	done
done
echo "load average $(cut -d' ' -f1 /proc/loadavg) at end"
# stat FILE COLUMN: "min median" of a column
stat() { cut -d' ' -f"$2" "$1" | sort -n | awk '{v[NR] = $1} END {print v[1], v[int((NR + 1) / 2)]}'; }
echo "| query | build | in-process ms min / median | cpu s min / median |"
echo "|---|---|---|---|"
for q in full selective; do
	for side in A B; do
		read -r m1 m2 <<<"$(stat "$T/$side-$q" 1)"
		read -r c1 c2 <<<"$(stat "$T/$side-$q" 2)"
		echo "| $q | $side | $m1 / $m2 | $c1 / $c2 |"
	done
	read -r a1 a2 <<<"$(stat "$T/A-$q" 1)"
	read -r b1 b2 <<<"$(stat "$T/B-$q" 1)"
	echo "- $q: B/A in-process time, min $(echo "scale=2; $b1 / $a1" | bc)x, median $(echo "scale=2; $b2 / $a2" | bc)x" >>"$T/ratios"
done
echo
cat "$T/ratios"
