#!/usr/bin/env bash
# bench_report.sh BENCH_FLOWS BINDIR WORKDIR: dnsreel-report on synthetic multi-hop captures
# (bench_flows gen: pod -> node -> DNAT -> forwarder -> SNAT -> upstream and back, 20000 client
# queries/s, search-path walks, A+AAAA, 1 in 300 dropped) of two sizes, beside what a user
# would run instead or first over the same capture:
#  - dnsreel-replay --flows -o jsonl --no-events (flow reconstruction, printed), the baseline
#    of the target (report <= 1.5x its time)
#  - dnsreel-diagnose -o json (the findings alone)
#  - dnsreel-report -o - into /dev/null (flows + diagnose + the page)
# Wall and CPU seconds and peak RSS per run, with the report's ratios to replay --flows; peak
# RSS must stay flat from the smaller size to the larger.
# Environment: SIZES="5000000 10000000", KEEP=1 keeps the captures.
set -eu
bench=$1 bin=$2 work=$3
sizes=${SIZES:-"5000000 10000000"}
mkdir -p "$work"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

# run NAME CMD...: wall s, CPU s (user + system) and peak RSS (KiB) via /usr/bin/time -v
run() {
	local name=$1
	shift
	/usr/bin/time -v -o "$work/time.$name" "$@" >/dev/null
	secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.$name")
	cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$work/time.$name")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.$name")
}
row() { # n label
	printf '%-10s %-44s %8.2f %8.2f %8.1f\n' "$1" "$2" "$secs" "$cpu" "$(echo "$rss / 1024" | bc -l)"
}
printf '%-10s %-44s %8s %8s %8s\n' events run wall_s cpu_s RSS_MiB
for n in $sizes; do
	cap=$work/synth-$n.reel
	[ -d "$cap" ] || "$bench" gen "$cap" "$n" 42 >/dev/null
	run flows-$n "$bin/dnsreel-replay" "$cap" --flows -o jsonl --no-events -w /dev/null
	f_secs=$secs f_cpu=$cpu f_rss=$rss
	row "$n" "dnsreel-replay --flows -o jsonl --no-events"
	# diagnose exits 3 when it finds something, which synthetic traffic always has
	run diag-$n sh -c '"$0" "$1" -o json >/dev/null; rc=$?; [ $rc -eq 3 ] || [ $rc -eq 0 ]' \
		"$bin/dnsreel-diagnose" "$cap"
	row "$n" "dnsreel-diagnose -o json"
	run report-$n sh -c '"$0" "$1" -o - >"$2"' "$bin/dnsreel-report" "$cap" "$work/report-$n.html"
	row "$n" "dnsreel-report -o - (page $(($(stat -c %s "$work/report-$n.html") / 1024)) KiB)"
	printf '%-10s %-44s wall %.2fx, cpu %.2fx, RSS %.2fx of replay --flows\n' "$n" "" \
		"$(echo "$secs / $f_secs" | bc -l)" "$(echo "$cpu / $f_cpu" | bc -l)" \
		"$(echo "$rss / $f_rss" | bc -l)"
	[ "${KEEP:-0}" = 1 ] || rm -rf "$cap"
done
