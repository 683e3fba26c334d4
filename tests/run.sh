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

step "build (RelWithDebInfo, recorder included)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

if [ $quick -eq 0 ]; then
	step "build with ASan/UBSan (no recorder)"
	cmake -S . -B build-asan -DDNSREEL_SANITIZE=ON -DDNSREEL_BPF=OFF >/dev/null
	cmake --build build-asan -j"$jobs"
	step "build libFuzzer targets (clang)"
	CC=clang cmake -S . -B build-fuzz -DDNSREEL_FUZZ=ON -DDNSREEL_FUZZ_SECONDS=45 >/dev/null
	cmake --build build-fuzz -j"$jobs"

	step "tests under ASan/UBSan: unit, cli"
	(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j"$jobs" -L 'unit|cli') || status=1
	step "fuzz smoke"
	(cd build-fuzz && ctest --output-on-failure -j"$jobs" -L fuzz) || status=1
fi

step "tests: unit, cli, fuzz regressions"
(cd build && ctest --output-on-failure -j"$jobs" -LE lab) || status=1
# Lab tests share the machine's CPUs and measure against tcpdump: one at a time.
step "tests: lab (network namespaces, eBPF, real servers and clients)"
(cd build && ctest --output-on-failure -j1 -L lab) || status=1
exit $status
