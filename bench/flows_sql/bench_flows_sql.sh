#!/bin/bash
# bench-flows-sql: the flows table of dnsreel-query on a synthetic multi-hop capture of EVENTS
# events (default 1 million), beside dnsreel replay --flows -o jsonl (the flows a user would
# otherwise count or filter with jq): all flows counted, one second of flows (time pushdown),
# one name, and the slowest-lookups report. Prints wall and CPU seconds, peak RSS and ratios
# (replay / query: above 1 means the table is faster). Not a test.
# Usage: bench_flows_sql.sh BINDIR WORKDIR [EVENTS]
set -u
BIN=$1
WORK=$2
EVENTS=${3:-1000000}
Q=$BIN/dnsreel-query
R=$BIN/dnsreel-replay
SYNTH=$BIN/dnsreel-synth
mkdir -p "$WORK"
CAP=$WORK/f$EVENTS.reel

# run NAME CMD...: wall, CPU (user + sys) and peak RSS of CMD, stdout kept in $WORK/NAME.out
run() {
	local name=$1
	shift
	/usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" "$@" >"$WORK/$name.out" 2>"$WORK/err.txt" || {
		echo "failed: $* :: $(head -c 300 "$WORK/err.txt")" >&2
		exit 1
	}
	read -r W U S M <"$WORK/time.txt"
	C=$(echo "$U + $S" | bc)
	printf '%-28s wall %6.2f s  cpu %6.2f s  rss %7d KiB  %s\n' "$name" "$W" "$C" "$M" \
		"$(head -c 60 "$WORK/$name.out" | tr '\n' ' ')"
	eval "W_$name=$W"
}
ratio() { echo "scale=2; $1 / $2" | bc 2>/dev/null || echo "?"; }

if ! "$Q" -o csv --no-header "$CAP" "SELECT value FROM capture_info WHERE key = 'events'" \
	2>/dev/null | grep -qx "$EVENTS"; then
	rm -rf "$CAP"
	echo "writing $CAP ($EVENTS events, multi-hop)..." >&2
	# 1000 client queries/s: a million multi-hop events span about a minute
	"$SYNTH" -o "$CAP" -n "$EVENTS" --multi-hop --tcp --seed 42 --qps 1000 >/dev/null || exit 1
fi
read -r t0 t1 < <("$Q" -o csv --no-header "$CAP" "SELECT min(timestamp), max(timestamp) FROM dns" | tr , ' ')
lo=$(((t0 + t1) / 2)) # one second in the middle
hi=$((lo + 999999999))
name=$("$Q" -o csv --no-header "$CAP" \
	"SELECT name FROM dns WHERE timestamp < $((t0 + 1000000000)) AND qr = 'Q' LIMIT 1")
echo "capture: $EVENTS events over $(((t1 - t0) / 1000000000)) s; one second from $lo ns; name: $name"

run replay_all "$R" "$CAP" --flows -o jsonl --no-events
run query_all "$Q" -o csv --no-header "$CAP" "SELECT count(*) FROM flows"
run replay_second "$R" "$CAP" --flows -o jsonl --no-events --since "$lo" --until "$hi"
run query_second "$Q" -o csv --no-header "$CAP" \
	"SELECT count(*) FROM flows WHERE timestamp BETWEEN $lo AND $hi"
run replay_name "$R" "$CAP" --flows -o jsonl --no-events -F "name==$name"
run query_name "$Q" -o csv --no-header "$CAP" "SELECT count(*) FROM flows WHERE name = '$name'"
run query_slowest "$Q" -o csv --no-header --report slowest "$CAP"

# The same answers both ways (replay shows a flow when any of its events is in the window or
# has the name; the table keeps flows whose client query is in it, or whose name is it).
n_all=$(wc -l <"$WORK/replay_all.out")
[ "$n_all" = "$(cat "$WORK/query_all.out")" ] ||
	echo "MISMATCH: replay $n_all flows, query $(cat "$WORK/query_all.out")"
echo "flows: all $n_all; one second: replay $(wc -l <"$WORK/replay_second.out"), query $(cat "$WORK/query_second.out"); one name: replay $(wc -l <"$WORK/replay_name.out"), query $(cat "$WORK/query_name.out")"
echo "ratios replay/query (wall): all $(ratio "$W_replay_all" "$W_query_all"), one second $(ratio "$W_replay_second" "$W_query_second"), one name $(ratio "$W_replay_name" "$W_query_name")"
