#!/usr/bin/env bash
# bench_flows.sh BENCH REPLAY WORKDIR: flow reconstruction on synthetic multi-hop captures
# (dnsreel-synth --multi-hop: pod -> node -> DNAT -> forwarder -> SNAT -> upstream and back, 20000
# client queries/s, search-path walks, A+AAAA, 1 in 300 dropped) of several sizes:
#  - CPU s and events/s of merge + decode alone (base), of merge + decode + flows (run), and the
#    flows share of it; peak RSS (must stay flat once the capture is longer than the 10 s window)
#  - dnsreel-replay -o jsonl (the events a user matches by hand today) and dnsreel-replay --flows
#    -o jsonl --no-events over the same capture, into /dev/null, with the ratio
#  - precision and recall of flows and lookups against the generator's truth (eval)
# Environment: SIZES="1000000 5000000 10000000", EVAL_SIZES (default: all), KEEP=1 keeps files.
set -eu
bench=$1 replay=$2 work=$3
sizes=${SIZES:-"1000000 5000000 10000000"}
eval_sizes=${EVAL_SIZES-$sizes}
mkdir -p "$work"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

# run NAME CMD...: wall s, CPU s (user + system) and peak RSS (KiB) via /usr/bin/time -v
run() {
	local name=$1
	shift
	/usr/bin/time -v -o "$work/time.$name" "$@" >"$work/out.$name"
	secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.$name")
	cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$work/time.$name")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.$name")
}
row() { # n label
	printf '%-10s %-36s %8.2f %8.2f %12.0f %8.1f\n' "$1" "$2" "$secs" "$cpu" \
		"$(echo "$1 / $cpu" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}
printf '%-10s %-36s %8s %8s %12s %8s\n' events run wall_s cpu_s events/s_cpu RSS_MiB
for n in $sizes; do
	cap=$work/synth-$n.reel
	[ -d "$cap" ] || "$bench" gen "$cap" "$n" 42
	run base-$n "$bench" base "$cap"
	b_cpu=$cpu
	row "$n" "merge+decode (bench_flows base)"
	run run-$n "$bench" run "$cap"
	r_cpu=$cpu
	row "$n" "merge+decode+flows (bench_flows run)"
	printf '%-10s %-36s %8s %8.2f %12.0f %8s   (%s)\n' "$n" "flows alone (run - base)" - \
		"$(echo "$r_cpu - $b_cpu" | bc -l)" "$(echo "$n / ($r_cpu - $b_cpu)" | bc -l)" - \
		"$(cut -d' ' -f3-8 "$work/out.run-$n")"
	run jsonl-$n "$replay" "$cap" -o jsonl -w /dev/null
	j_cpu=$cpu
	row "$n" "dnsreel-replay -o jsonl"
	run fjsonl-$n "$replay" "$cap" --flows -o jsonl --no-events -w /dev/null
	row "$n" "dnsreel-replay --flows -o jsonl --no-events"
	printf '%-10s %-36s cpu ratio --flows / -o jsonl = %.2f\n' "$n" "" "$(echo "$cpu / $j_cpu" | bc -l)"
	case " $eval_sizes " in
	*" $n "*)
		"$bench" eval "$cap" "$n" 42 | sed "s/^/$n  eval: /" ;;
	esac
	[ "${KEEP:-0}" = 1 ] || rm -rf "$cap"
done
