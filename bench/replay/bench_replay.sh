#!/usr/bin/env bash
# bench_replay.sh REPLAY SYNTH WORKDIR: events/s and peak RSS of dnsreel-replay to -o jsonl and
# -o columns (into /dev/null) on synthetic captures of two sizes (memory must stay flat), and
# tshark -T fields reading the pcapng export of the same events, with the ratio.
# Environment: SIZES="1000000 5000000" (events), TSHARK_SIZES (sizes that also run tshark,
# default: all; "" skips it), KEEP=1 keeps files.
set -eu
replay=$1 synth=$2 work=$3
sizes=${SIZES:-"1000000 5000000"}
mkdir -p "$work"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

# run NAME CMD...: wall seconds and peak RSS (KiB) of CMD via /usr/bin/time -v
run() {
	local name=$1
	shift
	/usr/bin/time -v -o "$work/time.$name" "$@"
	secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.$name")
	# CPU seconds (user + system): the machine is shared, so wall time also counts waiting
	cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$work/time.$name")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.$name")
}

row() { # n label
	printf '%-10s %-27s %8.2f %8.2f %12.0f %12.0f %8.1f\n' "$1" "$2" "$secs" "$cpu" \
		"$(echo "$1 / $secs" | bc -l)" "$(echo "$1 / $cpu" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}
printf '%-10s %-27s %8s %8s %12s %12s %8s\n' events run wall_s cpu_s events/s_wall events/s_cpu RSS_MiB
for n in $sizes; do
	cap=$work/synth-$n.reel
	[ -d "$cap" ] || "$synth" -o "$cap" -n "$n" --multi-hop --seed 42 >/dev/null
	run jsonl-$n "$replay" "$cap" -o jsonl -w /dev/null
	j_secs=$secs j_cpu=$cpu
	row "$n" "replay -o jsonl"
	run columns-$n "$replay" "$cap" -o columns -w /dev/null
	row "$n" "replay -o columns"
	fields="timestamp,src,dst,id,qr,qtype,name,rcode,addresses"
	run csv-$n "$replay" "$cap" -o csv --fields $fields -w /dev/null
	c_secs=$secs c_cpu=$cpu
	row "$n" "replay -o csv --fields"
	if [[ " ${TSHARK_SIZES-$sizes} " == *" $n "* ]] && command -v tshark >/dev/null; then
		run pcapng-$n "$replay" "$cap" -o pcapng -w "$work/x.pcapng"
		row "$n" "replay -o pcapng (export)"
		run tshark-$n tshark -r "$work/x.pcapng" -n -T fields -e frame.time_epoch -e ip.src \
			-e udp.srcport -e ip.dst -e udp.dstport -e dns.id -e dns.flags.response \
			-e dns.qry.type -e dns.qry.name -e dns.flags.rcode -e dns.a >/dev/null
		t_secs=$secs t_cpu=$cpu
		row "$n" "tshark -r pcapng -T fields"
		printf '%-10s ratio (CPU time): replay -o jsonl is %.1fx, -o csv --fields %.1fx as fast as tshark -T fields; (wall: %.1fx, %.1fx)\n' \
			"$n" "$(echo "$t_cpu / $j_cpu" | bc -l)" "$(echo "$t_cpu / $c_cpu" | bc -l)" \
			"$(echo "$t_secs / $j_secs" | bc -l)" "$(echo "$t_secs / $c_secs" | bc -l)"
		rm -f "$work/x.pcapng"
	fi
done
