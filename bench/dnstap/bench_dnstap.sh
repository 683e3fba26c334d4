#!/usr/bin/env bash
# bench_dnstap.sh REPLAY SYNTH WORKDIR: events/s of dnsreel-replay -o dnstap (flow
# reconstruction for the message types, protobuf-c packing, Frame Streams framing) beside
# -o json and --flows -o json on the same synthetic capture, and dnstap-ldns reading the export
# (what a dnstap consumer spends on the same messages), with the ratios.
# Environment: SIZES="1000000" (events), KEEP=1 keeps files.
set -eu
replay=$1 synth=$2 work=$3
sizes=${SIZES:-"1000000"}
mkdir -p "$work"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

run() { # NAME CMD...: wall and CPU seconds, peak RSS (KiB)
	local name=$1
	shift
	/usr/bin/time -v -o "$work/time.$name" "$@"
	secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.$name")
	cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$work/time.$name")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.$name")
}
row() { # n label
	printf '%-10s %-30s %8.2f %8.2f %12.0f %12.0f %8.1f\n' "$1" "$2" "$secs" "$cpu" \
		"$(echo "$1 / $secs" | bc -l)" "$(echo "$1 / $cpu" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}
printf '%-10s %-30s %8s %8s %12s %12s %8s\n' events run wall_s cpu_s events/s_wall events/s_cpu RSS_MiB
for n in $sizes; do
	cap=$work/synth-$n.reel
	[ -d "$cap" ] || "$synth" -o "$cap" -n "$n" --multi-hop --seed 42 >/dev/null
	run json-$n "$replay" "$cap" -o json -w /dev/null
	j_cpu=$cpu
	row "$n" "replay -o json"
	run flows-$n "$replay" "$cap" --flows -o json -w /dev/null
	f_cpu=$cpu
	row "$n" "replay --flows -o json"
	run dnstap-$n "$replay" "$cap" -o dnstap -w "$work/x.fstrm"
	d_cpu=$cpu
	row "$n" "replay -o dnstap"
	bytes=$(stat -c %s "$work/x.fstrm")
	if command -v dnstap-ldns >/dev/null; then
		run ldns-$n sh -c "dnstap-ldns -r '$work/x.fstrm' >/dev/null"
		l_cpu=$cpu
		row "$n" "dnstap-ldns -r (reading it)"
		msgs=$(dnstap-ldns -r "$work/x.fstrm" | wc -l)
	else
		l_cpu=0 msgs=?
	fi
	printf '%-10s dnstap file %d bytes (%.1f bytes/message), %s messages\n' "$n" "$bytes" \
		"$(echo "$bytes / $n" | bc -l)" "$msgs"
	printf '%-10s ratio (CPU time): -o dnstap takes %.2fx the CPU of -o json, %.2fx of --flows -o json; dnstap-ldns takes %.1fx the CPU of writing it\n' \
		"$n" "$(echo "$d_cpu / $j_cpu" | bc -l)" "$(echo "$d_cpu / $f_cpu" | bc -l)" \
		"$(echo "$l_cpu / $d_cpu" | bc -l)"
done
