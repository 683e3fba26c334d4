#!/bin/bash
# bench-query: dnsreel-query on a capture of EVENTS synthetic events (default 10 million),
# a full-scan aggregate and a selective query (one name, one pod, one minute), beside the same
# rows loaded into a plain SQLite table and beside tshark with a display filter on the pcapng
# export. Prints wall and CPU seconds, frames read, and ratios. Not a test.
# Usage: bench_query.sh BINDIR WORKDIR [EVENTS]   (TSHARK=0 skips tshark)
set -u
BIN=$1
WORK=$2
EVENTS=${3:-10000000}
Q=$BIN/dnsreel-query
R=$BIN/dnsreel-replay
SYNTH=$BIN/dnsreel-synth
mkdir -p "$WORK"
CAP=$WORK/q$EVENTS.reel
# 1000 client queries/s: 10 M events span ~80 minutes, so one minute is ~1% of the capture.
QPS=${QPS:-1000}

# time_cmd OUTFILE CMD...: sets W (wall s) and C (cpu s = user + sys); stdout to OUTFILE.
time_cmd() {
	local out=$1
	shift
	/usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" "$@" >"$out" 2>"$WORK/stderr.txt"
	local rc=$?
	read -r W U S M <"$WORK/time.txt"
	C=$(echo "$U + $S" | bc)
	return $rc
}
best() { # N CMD... : best (lowest wall) of N runs; sets BW BC
	local n=$1
	shift
	BW=999999
	BC=0
	for _ in $(seq "$n"); do
		time_cmd "$WORK/out.txt" "$@" || {
			echo "failed: $* :: $(head -c 300 "$WORK/stderr.txt")" >&2
			return 1
		}
		if [ "$(echo "$W < $BW" | bc)" = 1 ]; then
			BW=$W
			BC=$C
			cp "$WORK/stderr.txt" "$WORK/best_stderr.txt" # --stats of the best run
		fi
	done
}
ratio() { echo "scale=1; $1 / $2" | bc 2>/dev/null || echo "?"; }

# Reuse a capture from an earlier run only if this build reads it (the plain table and the
# pcapng export are derived from it and go with it).
if ! "$Q" -o csv --no-header "$CAP" "SELECT value FROM capture_info WHERE key = 'events'" \
	2>/dev/null | grep -qx "$EVENTS" ||
	! "$Q" "$CAP" "SELECT 1 FROM dns LIMIT 1" >/dev/null 2>&1; then
	rm -rf "$CAP" "$WORK/plain$EVENTS.sqlite" "$WORK/plain$EVENTS.sqlite.loadtime" \
		"$WORK/q$EVENTS.pcapng"
	echo "writing $CAP ($EVENTS events, $QPS queries/s)..." >&2
	"$SYNTH" -o "$CAP" -n "$EVENTS" --qps "$QPS" --seed 5 >/dev/null || exit 1
fi
capbytes=$(du -sb "$CAP" | cut -f1)
frames=$("$Q" -o csv --no-header "$CAP" "SELECT count(*) FROM frames")

# The selective query: the busiest pod, a name it asks, the minute in the middle.
P=$("$Q" -o csv --no-header "$CAP" "SELECT k8s_podname FROM pods ORDER BY k8s_podname LIMIT 1")
read -r T0 T1 <<<"$("$Q" -o csv --no-header "$CAP" "SELECT value FROM capture_info WHERE key IN ('first_timestamp', 'last_timestamp') ORDER BY key" | tr '\n' ' ')"
MID=$(((T0 + T1) / 2))
W0=$((MID - MID % 60000000000))
W1=$((W0 + 60000000000 - 1))
N=$("$Q" -o csv --no-header "$CAP" "SELECT name FROM dns WHERE k8s_podname = '$P' AND timestamp BETWEEN $W0 AND $W1 AND qr = 'Q' GROUP BY name ORDER BY count(*) DESC LIMIT 1")
FULL="SELECT name, count(*) FROM dns GROUP BY name ORDER BY 2 DESC LIMIT 20"
SEL="SELECT time, src, dst, qtype, rcode, latency_ns FROM dns WHERE name = '$N' AND k8s_podname = '$P' AND timestamp BETWEEN $W0 AND $W1"

echo "## bench/query"
echo
echo "capture: $EVENTS events ($QPS client queries/s), $frames frames, $((capbytes / 1048576)) MiB; $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) at start"
echo "full:      $FULL"
echo "selective: $SEL"
echo

best 3 "$Q" --stats "$CAP" "$FULL" || exit 1
qfw=$BW qfc=$BC
fullstats=$(grep -o 'frames read.*' "$WORK/best_stderr.txt")
cp "$WORK/out.txt" "$WORK/full.dnsreel"
best 5 "$Q" --stats "$CAP" "$SEL" || exit 1
qsw=$BW qsc=$BC
selstats=$(grep -o 'frames read.*' "$WORK/best_stderr.txt")
selms=$(echo "$selstats" | sed -n 's/.*, \([0-9.]*\) ms$/\1/p')
selpct=$(echo "$selstats" | sed -n 's/.*(\([0-9.]*\)%).*/\1/p')
selrows=$(($(wc -l <"$WORK/out.txt") - 1))
best 3 "$Q" --stats --no-pushdown "$CAP" "$SEL" || exit 1
qnw=$BW qnc=$BC
nopushstats=$(grep -o 'frames read.*' "$WORK/best_stderr.txt")

# The same rows in a plain SQLite table (no index), queried by the stock sqlite3.
DB=$WORK/plain$EVENTS.sqlite
if [ ! -s "$DB" ]; then
	echo "loading the plain table..." >&2
	rm -f "$DB"
	t0=$(date +%s.%N)
	"$Q" -o csv --no-header "$CAP" "SELECT timestamp, time, k8s_podname, src, dst, qtype, rcode, latency_ns, name FROM dns" >"$WORK/rows.csv"
	sqlite3 "$DB" "CREATE TABLE dns(timestamp INTEGER, time TEXT, k8s_podname TEXT, src TEXT, dst TEXT, qtype TEXT, rcode TEXT, latency_ns INTEGER, name TEXT)" ".mode csv" ".import $WORK/rows.csv dns"
	rm -f "$WORK/rows.csv"
	t1=$(date +%s.%N)
	echo "$(echo "$t1 - $t0" | bc)" >"$DB.loadtime"
fi
dbbytes=$(stat -c %s "$DB")
best 3 sqlite3 "$DB" "$FULL" || exit 1
pfw=$BW pfc=$BC
best 3 sqlite3 "$DB" "$SEL" || exit 1
psw=$BW psc=$BC

echo "| query | dnsreel-query wall / cpu s | plain SQLite table wall / cpu s | tshark wall / cpu s |"
echo "|---|---|---|---|"
tshark_full="not run" tshark_sel="not run"
if [ "${TSHARK:-1}" != 0 ] && command -v tshark >/dev/null; then
	PCAP=$WORK/q$EVENTS.pcapng
	if [ ! -s "$PCAP" ]; then
		echo "exporting pcapng..." >&2
		"$R" "$CAP" -o pcapng -w "$PCAP" || {
			echo "dnsreel-replay -o pcapng failed" >&2
			rm -f "$PCAP"
		}
	fi
	if [ -s "$PCAP" ]; then
		s0=$(echo "$W0 / 1000000000" | bc)
		s1=$(echo "($W1 + 1) / 1000000000" | bc)
		# tshark shows names without the trailing dot; the pod rides in the packet comment.
		tn=${N%.}
		time_cmd "$WORK/tshark_sel.txt" tshark -r "$PCAP" -Y "dns.qry.name == \"$tn\" && frame.time_epoch >= $s0 && frame.time_epoch < $s1 && frame.comment contains \"/$P \"" &&
			tshark_sel="$W / $C"
		tsw=$W
		tsrows=$(wc -l <"$WORK/tshark_sel.txt")
		time_cmd "$WORK/tshark_full.txt" sh -c "tshark -r '$PCAP' -T fields -e dns.qry.name | sort | uniq -c | sort -rn | head -20" &&
			tshark_full="$W / $C"
		tfw=$W
	fi
fi
echo "| full scan aggregate | $qfw / $qfc | $pfw / $pfc | $tshark_full |"
echo "| selective (name, pod, 1 min) | $qsw / $qsc (in-process ${selms} ms) | $psw / $psc | $tshark_sel |"
echo "| selective without pushdown | $qnw / $qnc | | |"
echo
echo "- full scan: $fullstats"
echo "- selective: $selstats; $selrows rows"
echo "- selective, --no-pushdown: $nopushstats"
echo "- ratios (wall): full scan plain-SQLite/dnsreel $(ratio "$pfw" "$qfw")x; selective plain-SQLite/dnsreel $(ratio "$psw" "$qsw")x"
if [ "$tshark_full" != "not run" ]; then
	echo "- ratios (wall): full scan tshark/dnsreel $(ratio "$tfw" "$qfw")x; selective tshark/dnsreel $(ratio "$tsw" "$qsw")x (tshark selective rows: $tsrows)"
else
	echo "- tshark: not run (TSHARK=0, tshark missing, or the pcapng export failed)"
fi
echo "- sizes: capture $((capbytes / 1048576)) MiB; plain SQLite table of 9 columns $((dbbytes / 1048576)) MiB (loaded in $(cat "$DB.loadtime") s)"
echo "- targets: full scan < 2 s wall: $([ "$(echo "$qfw < 2" | bc)" = 1 ] && echo met || echo "NOT met"); selective < 50 ms in-process: $([ "$(echo "$selms < 50" | bc)" = 1 ] && echo met || echo "NOT met"), < 5% of frames: $([ "$(echo "$selpct < 5" | bc)" = 1 ] && echo met || echo "NOT met")"
diff <(tail -n +2 "$WORK/full.dnsreel" | awk '{print $1, $2}') \
	<(sqlite3 "$DB" "$FULL" | tr '|' ' ') >/dev/null &&
	echo "- the full-scan answer is identical to the plain table's" ||
	echo "- WARNING: full-scan answers differ from the plain table's"
