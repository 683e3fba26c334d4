#!/usr/bin/env bash
# bench_clickhouse.sh BINDIR WORKDIR TOPSRCDIR: a synthetic multi-hop capture of EVENTS events
# (default 10 M) into a local ClickHouse (Debian's clickhouse-server, started here on loopback
# with its data in WORKDIR) three ways:
#   export       dnsreel export --no-flows --no-answers: the events table alone
#   csv pipe     dnsreel replay -o csv | clickhouse-client --query 'INSERT ... FORMAT CSVWithNames'
#                into a table of replay's CSV columns: what a user would do without export
#   export all   dnsreel export with answers and flows
# Wall time, events/s and the exporter's CPU (user + system of dnsreel; for the pipe, replay's,
# and the client's apart); then the same GROUP BY (events by pod and rcode) timed in ClickHouse
# and in dnsreel query, and bytes per event in ClickHouse against the capture.
# Environment: EVENTS (default 10000000), KEEP=1 keeps WORKDIR.
set -eu
bin=$1 work=$2 top=$3
n=${EVENTS:-10000000}
. "$top/tests/export/chserver.sh"
command -v clickhouse-client >/dev/null && [ -x "$CH_SERVER" ] || {
	echo "bench_clickhouse: clickhouse-server and clickhouse-client are needed (tests/deps.sh test)" >&2
	exit 1
}
rm -rf "$work"
mkdir -p "$work"
trap 'ch_stop' EXIT
[ "${KEEP:-0}" = 1 ] || trap 'ch_stop; rm -rf "$work"' EXIT
cap=$work/synth.reel
"$bin/dnsreel-synth" -o "$cap" -n "$n" --multi-hop --seed 42 >/dev/null
ch_start "$work/server"
client() { clickhouse-client --host 127.0.0.1 --port "$CH_TCP_PORT" "$@"; }

# timed FILE CMD...: wall seconds in $secs, CPU of CMD (user + system) in $cpu
timed() {
	local f=$1
	shift
	local t0 t1
	t0=$(date +%s.%N)
	/usr/bin/time -f '%U %S' -o "$f" "$@"
	t1=$(date +%s.%N)
	secs=$(echo "$t1 - $t0" | bc -l)
	cpu=$(awk '{print $1 + $2}' "$f")
}
row() { # label wall cpu [note]
	printf '%-38s %8.2f %10.0f %8.2f  %s\n' "$1" "$2" "$(echo "$n / $2" | bc -l)" "$3" "${4:-}"
}
printf 'events: %d (dnsreel-synth --multi-hop --seed 42), machine load: %s\n' "$n" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-38s %8s %10s %8s\n' run wall_s events/s cpu_s

timed "$work/t.export" "$bin/dnsreel-export" "$cap" --clickhouse "$CH_URL" --database rb --create \
	--no-flows --no-answers -q
e_secs=$secs e_cpu=$cpu
row "dnsreel export (events)" "$secs" "$cpu" "CPU of dnsreel-export"

# the pipe: replay's CSV header names the columns; every column a String (the cheapest to parse)
cols=$("$bin/dnsreel-replay" "$cap" -o csv 2>/dev/null | head -1 | tr '.' '_')
ddl=$(echo "$cols" | tr ',' '\n' | sed 's/.*/  & String/' | paste -sd, -)
ch "CREATE DATABASE csv" >/dev/null
ch "CREATE TABLE csv.events ($ddl) ENGINE = MergeTree ORDER BY (name, timestamp)" >/dev/null
t0=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$work/t.replay" "$bin/dnsreel-replay" "$cap" -o csv |
	/usr/bin/time -f '%U %S' -o "$work/t.client" clickhouse-client --host 127.0.0.1 \
		--port "$CH_TCP_PORT" --query 'INSERT INTO csv.events FORMAT CSVWithNames'
t1=$(date +%s.%N)
p_secs=$(echo "$t1 - $t0" | bc -l)
p_cpu=$(awk '{print $1 + $2}' "$work/t.replay")
c_cpu=$(awk '{print $1 + $2}' "$work/t.client")
row "replay -o csv | clickhouse-client" "$p_secs" "$p_cpu" "CPU of dnsreel-replay; clickhouse-client $c_cpu s"

timed "$work/t.all" "$bin/dnsreel-export" "$cap" --clickhouse "$CH_URL" --database full --create -q
a_secs=$secs
row "dnsreel export (events+answers+flows)" "$secs" "$cpu" "CPU of dnsreel-export"

rows() { ch "SELECT count() FROM $1"; }
echo "rows: export $(rows rb.events), csv pipe $(rows csv.events), full: events $(rows full.events), answers $(rows full.answers), flows $(rows full.flows)"
printf 'ratio: export is %.2fx as fast as the CSV pipe (wall), %.2fx less exporter CPU\n' \
	"$(echo "$p_secs / $e_secs" | bc -l)" "$(echo "$p_cpu / $e_cpu" | bc -l)"

# the same GROUP BY, warm (second run of each)
gb_ch="SELECT k8s_podname, rcode, count() FROM full.events GROUP BY k8s_podname, rcode FORMAT Null"
gb_q="SELECT k8s_podname, rcode, count(*) FROM dns GROUP BY 1, 2"
for i in 1 2; do
	t0=$(date +%s.%N)
	ch "$gb_ch" >/dev/null
	t1=$(date +%s.%N)
	"$bin/dnsreel-query" "$cap" "$gb_q" >/dev/null
	t2=$(date +%s.%N)
done
g_ch=$(echo "$t1 - $t0" | bc -l)
g_q=$(echo "$t2 - $t1" | bc -l)
printf 'GROUP BY pod, rcode over %d events: ClickHouse %.3f s, dnsreel query %.3f s (%.1fx)\n' \
	"$n" "$g_ch" "$g_q" "$(echo "$g_q / $g_ch" | bc -l)"

# bytes per event: the capture on disk against ClickHouse's parts (compressed, LZ4)
capb=$(du -sb "$cap" | cut -f1)
part() { ch "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = '$1' AND table = '$2'"; }
ev=$(part full events) an=$(part full answers) fl=$(part full flows) cs=$(part csv events)
printf 'bytes/event: capture %.1f; ClickHouse events %.1f, + answers %.1f, + flows %.1f (all %.1f); CSV pipe table %.1f\n' \
	"$(echo "$capb / $n" | bc -l)" "$(echo "$ev / $n" | bc -l)" "$(echo "$an / $n" | bc -l)" \
	"$(echo "$fl / $n" | bc -l)" "$(echo "($ev + $an + $fl) / $n" | bc -l)" "$(echo "$cs / $n" | bc -l)"
