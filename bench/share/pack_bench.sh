#!/usr/bin/env bash
# pack_bench.sh BINDIR WORKDIR: wall/CPU seconds, events/s and peak RSS of dnsreel pack and
# unpack on a synthetic capture, beside tar cf / tar xf of the same files (what a user would
# otherwise attach to a ticket: the I/O limit), and of verify and replay -o jsonl reading the
# pack in place beside the directory. Page cache warm (each input read once before).
# Environment: EVENTS (default 5000000), REPS (runs of each pack/tar command, default 10),
# VREPS (of each verify/replay, default 2), KEEP=1 keeps files.
set -eu
bin=$1 work=$2
n=${EVENTS:-5000000}
mkdir -p "$work"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

reps=${REPS:-10}
run() { # NAME CLEAN CMD...: CMD run $reps times (after CLEAN each time, a shell command, in
	# the same timing for every alternative); sets secs, cpu (user+sys) per run, rss (KiB)
	local name=$1 clean=$2
	shift 2
	/usr/bin/time -v -o "$work/time.$name" bash -c \
		'r=$1 c=$2; shift 2; for ((i = 0; i < r; i++)); do eval "$c"; "$@" || exit 1; done' \
		_ "$reps" "$clean" "$@" >/dev/null 2>"$work/err.$name" ||
		{ echo "$name failed: $(head -c 300 "$work/err.$name")" >&2; exit 1; }
	secs=$(awk -F': ' -v r="$reps" '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s / r}' "$work/time.$name")
	cpu=$(awk -F': ' -v r="$reps" '/User time|System time/ {s+=$2} END {print s / r}' "$work/time.$name")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.$name")
	eval "secs_$name=$secs cpu_$name=$cpu rss_$name=$rss"
}
row() { # label
	printf '%-34s %8.2f %8.2f %14.0f %9.1f\n' "$1" "$secs" "$cpu" \
		"$(echo "$n / ($secs + 0.0001)" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}
ratio() { # label a b: a/b of wall and CPU seconds and of RSS
	local sa=secs_$2 sb=secs_$3 ca=cpu_$2 cb=cpu_$3 ra=rss_$2 rb=rss_$3
	printf '  %-32s wall %.2fx  cpu %.2fx  rss %.2fx\n' "$1" \
		"$(echo "${!sa} / (${!sb} + 0.0001)" | bc -l)" \
		"$(echo "${!ca} / (${!cb} + 0.0001)" | bc -l)" "$(echo "${!ra} / ${!rb}" | bc -l)"
}

cap=$work/synth-$n.reel
[ -d "$cap" ] || "$bin/dnsreel-synth" -o "$cap" -n "$n" --multi-hop --seed 42 \
	--segment-bytes 4194304 >/dev/null
bytes=$(du -sb "$cap" | cut -f1)
cat "$cap"/seg/* "$cap/index.sqlite" >/dev/null
echo "capture: $n events, $(ls "$cap/seg" | wc -l) segments, $bytes bytes"
printf '%-34s %8s %8s %14s %9s\n' run wall_s cpu_s events/s_wall RSS_MiB
export work
run pack 'rm -f "$work/d.tar"' "$bin/dnsreel-pack" "$cap" -o "$work/d.tar"
row "dnsreel pack"
run tarcf 'rm -f "$work/t.tar"' tar cf "$work/t.tar" -C "$work" "$(basename "$cap")"
row "tar cf (same files)"
run unpack 'rm -rf "$work/u1.reel"' "$bin/dnsreel-unpack" "$work/d.tar" -o "$work/u1.reel"
row "dnsreel unpack"
run tarxf 'rm -rf "$work/u2"; mkdir "$work/u2"' tar xf "$work/t.tar" -C "$work/u2"
row "tar xf (same files)"
diff -r "$cap" "$work/u1.reel" >/dev/null || { echo "unpack differs from the capture" >&2; exit 1; }
reps=${VREPS:-2}
run vdir : "$bin/dnsreel-verify" "$cap"
row "verify (directory)"
run vpack : "$bin/dnsreel-verify" "$work/d.tar"
row "verify (pack, in place)"
run rdir : "$bin/dnsreel-replay" "$cap" -o jsonl -w /dev/null
row "replay -o jsonl (directory)"
run rpack : "$bin/dnsreel-replay" "$work/d.tar" -o jsonl -w /dev/null
row "replay -o jsonl (pack, in place)"
echo "pack $(stat -c %s "$work/d.tar") bytes, tar $(stat -c %s "$work/t.tar") bytes"
echo "ratios (dnsreel / alternative):"
ratio "pack / tar cf" pack tarcf
ratio "unpack / tar xf" unpack tarxf
ratio "verify pack / verify dir" vpack vdir
ratio "replay pack / replay dir" rpack rdir
