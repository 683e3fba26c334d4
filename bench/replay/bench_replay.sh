#!/usr/bin/env bash
# bench_replay.sh REPLAY SYNTH WORKDIR: events/s and peak RSS of dnsreel-replay to -o jsonl and
# -o columns (into /dev/null) on synthetic captures of two sizes (memory must stay flat), and
# tshark -T fields reading the pcapng export of the same events, with the ratio.
# Environment: SIZES="1000000 5000000" (events), TSHARK=1 (0 skips tshark), KEEP=1 keeps files.
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
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.$name")
}

printf '%-10s %-26s %10s %14s %10s\n' events run seconds events/s peakRSS_MiB
for n in $sizes; do
	cap=$work/synth-$n.reel
	[ -d "$cap" ] || "$synth" -o "$cap" -n "$n" --multi-hop --seed 42 >/dev/null
	run jsonl-$n "$replay" "$cap" -o jsonl -w /dev/null
	j_secs=$secs
	printf '%-10s %-26s %10.2f %14.0f %10.1f\n' "$n" "replay -o jsonl" "$secs" \
		"$(echo "$n / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
	run columns-$n "$replay" "$cap" -o columns -w /dev/null
	printf '%-10s %-26s %10.2f %14.0f %10.1f\n' "$n" "replay -o columns" "$secs" \
		"$(echo "$n / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
	fields="timestamp,src,dst,id,qr,qtype,name,rcode,addresses"
	run csv-$n "$replay" "$cap" -o csv --fields $fields -w /dev/null
	c_secs=$secs
	printf '%-10s %-26s %10.2f %14.0f %10.1f\n' "$n" "replay -o csv --fields" "$secs" \
		"$(echo "$n / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
	if [ "${TSHARK:-1}" = 1 ] && command -v tshark >/dev/null; then
		run pcapng-$n "$replay" "$cap" -o pcapng -w "$work/x.pcapng"
		printf '%-10s %-26s %10.2f %14.0f %10.1f\n' "$n" "replay -o pcapng (export)" "$secs" \
			"$(echo "$n / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
		run tshark-$n tshark -r "$work/x.pcapng" -n -T fields -e frame.time_epoch -e ip.src \
			-e udp.srcport -e ip.dst -e udp.dstport -e dns.id -e dns.flags.response \
			-e dns.qry.type -e dns.qry.name -e dns.flags.rcode -e dns.a >/dev/null
		t_secs=$secs
		printf '%-10s %-26s %10.2f %14.0f %10.1f\n' "$n" "tshark -r pcapng -T fields" "$secs" \
			"$(echo "$n / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
		printf '%-10s ratio: replay -o jsonl is %.1fx, -o csv --fields %.1fx the speed of tshark -T fields\n' \
			"$n" "$(echo "$t_secs / $j_secs" | bc -l)" "$(echo "$t_secs / $c_secs" | bc -l)"
		rm -f "$work/x.pcapng"
	fi
done
