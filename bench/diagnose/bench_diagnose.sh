#!/usr/bin/env bash
# bench_diagnose.sh DIAGNOSE REPLAY SYNTH BENCH_FLOWS WORKDIR: dnsreel-diagnose on synthetic
# multi-hop captures (dnsreel-synth --multi-hop --seed 42: 20000 client queries/s, pod -> node ->
# DNAT -> forwarder -> SNAT -> upstream and back, search-path walks, A+AAAA, 1 in 300 dropped) of
# several sizes, beside what a user runs today for the same question over the same capture:
#  - bench_flows run: merge + decode + flow reconstruction, nothing printed (the floor)
#  - dnsreel-replay --flows -o jsonl --no-events into /dev/null (flows to sift by hand)
#  - dnsreel-diagnose -o json into /dev/null
# wall s, CPU s (user + system) and peak RSS of each, and the CPU ratios diagnose / replay
# --flows and diagnose / bench_flows run. Target: <= 1.5x flow reconstruction, RSS flat in size.
# Environment: SIZES="2000000 10000000", KEEP=1 keeps the captures.
set -eu
diag=$1 replay=$2 synth=$3 bflows=$4 work=$5
sizes=${SIZES:-"2000000 10000000"}
mkdir -p "$work"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

run() { # NAME CMD...: secs, cpu, rss (KiB) via /usr/bin/time -v
	local name=$1 rc=0
	shift
	/usr/bin/time -v -o "$work/time.$name" "$@" >"$work/out.$name" || rc=$?
	# diagnose exits 3 when it has findings
	[ $rc = 0 ] || [ $rc = 3 ] || { echo "bench_diagnose: $name exited $rc" >&2; exit 1; }
	secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.$name")
	cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$work/time.$name")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.$name")
}
row() { # n label
	printf '%-10s %-44s %8.2f %8.2f %12.0f %8.1f\n' "$1" "$2" "$secs" "$cpu" \
		"$(echo "$1 / $cpu" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}
printf '%-10s %-44s %8s %8s %12s %8s\n' events run wall_s cpu_s events/s_cpu RSS_MiB
for n in $sizes; do
	cap=$work/synth-$n.reel
	[ -d "$cap" ] || "$synth" -o "$cap" -n "$n" --multi-hop --seed 42 >/dev/null
	run flows-$n "$bflows" run "$cap"
	f_cpu=$cpu
	row "$n" "merge+decode+flows (bench_flows run)"
	run replay-$n "$replay" "$cap" --flows -o jsonl --no-events -w /dev/null
	r_cpu=$cpu
	row "$n" "dnsreel-replay --flows -o jsonl --no-events"
	run diag-$n "$diag" "$cap" -o json -w /dev/null
	row "$n" "dnsreel-diagnose -o json"
	printf '%-10s cpu ratio diagnose / replay --flows = %.2f, diagnose / flows = %.2f\n' "$n" \
		"$(echo "$cpu / $r_cpu" | bc -l)" "$(echo "$cpu / $f_cpu" | bc -l)"
	"$diag" "$cap" -o json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("%-10s findings: %s" % (sys.argv[1], ", ".join("%s %s %d" % (f["id"], f["subject"], f["count"]) for f in d["findings"])[:400]))' "$n" || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$cap"
done
