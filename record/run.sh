#!/usr/bin/env bash
# Installs what is missing, builds dnsreel, and records DNS on this machine: every network
# namespace, shown live as trace_dns shows it, into a capture in the current directory.
# Installs the tools under /usr/local (so `dnsreel` is on PATH, as the recorder's closing hint
# assumes). Stop with Ctrl-C; the recorder then says how to replay the capture.
# Usage, as root: record/run.sh [dnsreel-record options]   (e.g. -w incident.reel --duration 5m)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/tests/deps.sh" build
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$top/build" -j"$(nproc)" >/dev/null
cmake --install "$top/build" --prefix /usr/local >/dev/null
exec "$top/build/bin/dnsreel" record --live "$@"
