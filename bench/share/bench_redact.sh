#!/usr/bin/env bash
# bench_redact.sh REDACT SYNTH WORKDIR: events/s and peak RSS of dnsreel-redact on synthetic
# captures of two sizes (memory must stay flat), beside cat of the same bytes (segments and
# index into /dev/null: the I/O limit), with the ratio.
# (cpu_s is /usr/bin/time's user + system, 10 ms resolution: events/s_cpu of cat is a bound.)
# Environment: SIZES="1000000 5000000" (events), KEEP=1 keeps files.
set -eu
redact=$1 synth=$2 work=$3
sizes=${SIZES:-"1000000 5000000"}
mkdir -p "$work"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
printf '%064x\n' 42 >"$work/key"

# run NAME CMD...: wall seconds, CPU seconds and peak RSS (KiB) of CMD via /usr/bin/time -v
run() {
	local name=$1
	shift
	local t0 t1
	t0=$(date +%s%N)
	/usr/bin/time -v -o "$work/time.$name" "$@"
	t1=$(date +%s%N)
	# wall from the clock in ns: cat of a few MiB in the page cache takes milliseconds
	secs=$(echo "($t1 - $t0) / 1000000000" | bc -l)
	cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$work/time.$name")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.$name")
}
row() { # n label
	printf '%-10s %-34s %8.2f %8.2f %12.0f %12.0f %8.1f\n' "$1" "$2" "$secs" "$cpu" \
		"$(echo "$1 / $secs" | bc -l)" "$(echo "$1 / ($cpu + 0.005)" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-34s %8s %8s %12s %12s %8s\n' events run wall_s cpu_s events/s_wall events/s_cpu RSS_MiB
for n in $sizes; do
	cap=$work/synth-$n.reel
	[ -d "$cap" ] || "$synth" -o "$cap" -n "$n" --multi-hop --tcp --seed 42 >/dev/null
	bytes=$(du -cb "$cap"/index.sqlite "$cap"/seg/*.zst | tail -1 | cut -f1)
	run cat-$n sh -c 'cat "$@" >/dev/null' cat "$cap"/index.sqlite "$cap"/seg/*.zst
	c_secs=$secs c_cpu=$cpu
	row "$n" "cat (same $((bytes / 1024)) KiB)"
	rm -rf "$work/out-$n.reel"
	run redact-$n "$redact" "$cap" -o "$work/out-$n.reel" --key-file "$work/key" \
		--keep-suffix cluster.local. -q
	row "$n" "dnsreel redact"
	printf '%-10s ratio: redact takes %.0fx the wall time of cat (cat CPU %s s); output %s KiB\n' \
		"$n" "$(echo "$secs / $c_secs" | bc -l)" "$c_cpu" \
		"$(( $(du -cb "$work/out-$n.reel"/index.sqlite "$work/out-$n.reel"/seg/*.zst | tail -1 | cut -f1) / 1024 ))"
	rm -rf "$work/out-$n.reel"
done
