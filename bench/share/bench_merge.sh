#!/usr/bin/env bash
# bench_merge.sh MERGE SYNTH WORKDIR: events/s and peak RSS of dnsreel merge of two synthetic
# node captures of N events each, beside cat of the same files into one file and cp -r of the
# two directories (each followed by sync of what it wrote, as merge fsyncs), with ratios.
# Inputs are read from the page cache in every run (written just before, or read once first).
# Environment: SIZES="1000000 5000000" (events per input), KEEP=1 keeps files.
set -eu
merge=$1 synth=$2 work=$3
sizes=${SIZES:-"1000000 5000000"}
mkdir -p "$work"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

# run NAME CMD...: wall seconds, CPU seconds and peak RSS (KiB) of CMD via /usr/bin/time -v
run() {
	local name=$1
	shift
	/usr/bin/time -v -o "$work/time.$name" "$@"
	secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.$name")
	cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$work/time.$name")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.$name")
}
row() { # events label
	printf '%-10s %-34s %8.2f %8.2f %14.0f %8.1f\n' "$1" "$2" "$secs" "$cpu" \
		"$(echo "$1 / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}
printf '%-10s %-34s %8s %8s %14s %8s\n' events run wall_s cpu_s events/s_wall RSS_MiB
for n in $sizes; do
	a=$work/a-$n.reel b=$work/b-$n.reel
	[ -d "$a" ] || "$synth" -o "$a" -n "$n" --multi-hop --seed 1 >/dev/null
	[ -d "$b" ] || "$synth" -o "$b" -n "$n" --multi-hop --seed 2 >/dev/null
	total=$((2 * n))
	mib=$(du -sm "$a" "$b" | awk '{s+=$1} END {print s}')
	cat "$a"/seg/* "$a"/index.sqlite "$b"/seg/* "$b"/index.sqlite >/dev/null # warm the cache
	rm -rf "$work/m.reel" "$work/cat.out" "$work/cp"
	run merge-$n "$merge" -q "$a" "$b" -o "$work/m.reel"
	m_secs=$secs m_rss=$rss
	row "$total" "dnsreel merge ($mib MiB)"
	run cat-$n sh -c 'cat "$1"/seg/* "$1"/index.sqlite "$2"/seg/* "$2"/index.sqlite >"$3" &&
		sync -f "$3"' sh "$a" "$b" "$work/cat.out"
	c_secs=$secs
	row "$total" "cat of the same bytes + sync"
	mkdir "$work/cp"
	run cp-$n sh -c 'cp -r "$1" "$2" "$3"/ && sync -f "$3"' sh "$a" "$b" "$work/cp"
	p_secs=$secs
	row "$total" "cp -r of both + sync"
	printf '%-10s merge takes %.2fx the time of cat, %.2fx that of cp -r; peak RSS %.1f MiB\n' \
		"$total" "$(echo "$m_secs / $c_secs" | bc -l)" "$(echo "$m_secs / $p_secs" | bc -l)" \
		"$(echo "$m_rss / 1024" | bc -l)"
	rm -rf "$work/m.reel" "$work/cat.out" "$work/cp"
done
