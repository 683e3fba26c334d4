#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is missing, builds three
# ways and runs every test. Needs root for the lab (network namespaces, eBPF); without root the
# lab tests are skipped and say why.
#   1. normal build (with the recorder): every ctest label (unit, cli, lab, fuzz regressions)
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build: unit and cli tests
#   3. libFuzzer build (clang): each fuzz target for a short smoke run
# Usage: tests/run.sh [--quick]   (--quick: step 1 only)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
quick=0
[ "${1:-}" = --quick ] && quick=1

bash tests/deps.sh test

if [ "$(id -u)" -eq 0 ] && ! mountpoint -q /sys/kernel/tracing 2>/dev/null; then
	mount -t tracefs nodev /sys/kernel/tracing || echo "run: could not mount tracefs" >&2
fi

status=0
step() { printf '\n=== %s ===\n' "$*"; }
# ctest_run DIR ARGS...: runs ctest, keeps its counts for the closing line.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
ctest_run() {
	local dir=$1
	shift
	local log
	log=$logs/$(date +%s%N).log
	(cd "$dir" && ctest --output-on-failure "$@") 2>&1 | tee "$log"
	return "${PIPESTATUS[0]}"
}

step "build (RelWithDebInfo, recorder included)"
# -j16 on purpose: a fresh tree built with far more jobs than cores shows any missing
# dependency between generated files (vmlinux.h, skeletons) as a failure, not as luck.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j16

if [ $quick -eq 0 ]; then
	step "build with ASan/UBSan (no recorder)"
	cmake -S . -B build-asan -DDNSREEL_SANITIZE=ON -DDNSREEL_BPF=OFF >/dev/null
	cmake --build build-asan -j"$jobs"
	step "build libFuzzer targets (clang)"
	CC=clang cmake -S . -B build-fuzz -DDNSREEL_FUZZ=ON -DDNSREEL_FUZZ_SECONDS=45 >/dev/null
	cmake --build build-fuzz -j"$jobs"

	step "tests under ASan/UBSan: unit, cli"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest_run build-asan -j"$jobs" -L 'unit|cli' || status=1
	step "fuzz smoke"
	ctest_run build-fuzz -j"$jobs" -L fuzz || status=1
fi

step "tests: unit, cli, fuzz regressions"
ctest_run build -j"$jobs" -LE lab || status=1
# Lab tests share the machine's CPUs and measure against tcpdump: one at a time.
step "tests: lab (network namespaces, eBPF, real servers and clients)"
ctest_run build -j1 -L lab || status=1

# One closing line over all runs: "N tests failed out of M" from each ctest summary.
read -r failed total < <(cat "$logs"/*.log |
	sed -n 's/.* \([0-9][0-9]*\) tests failed out of \([0-9][0-9]*\).*/\1 \2/p' |
	awk '{f += $1; t += $2} END {print f + 0, t + 0}')
echo
echo "total: $((total - failed)) passed, $failed failed"
exit $status
