#!/usr/bin/env bash
# Installs the Debian 12 packages dnsreel builds and tests with, only those missing.
# Usage: tests/deps.sh [build|test]   (build: what the recorder needs; test: everything)
set -euo pipefail
want=(cmake make gcc pkg-config clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
      libzstd-dev libsqlite3-dev libpcre2-dev libedit-dev zstd sqlite3 pandoc iproute2 dpkg-dev file
      man-db libnftables-dev libjansson-dev libsodium-dev libssl-dev
      libcurl4-openssl-dev)
# dnstap in and out: dnstap.proto compiled at build time, Frame Streams framing
want+=(protobuf-c-compiler libprotobuf-c-dev libfstrm-dev)
if [ "${1:-test}" = test ]; then
	want+=(libclang-rt-14-dev iptables tcpdump tshark dnsutils knot-dnsutils dnsperf unbound
	       nsd conntrack procps psmisc python3 podman runc python3-kubernetes nftables jq
	       chromium clickhouse-server clickhouse-client)
	want+=(dnstap-ldns fstrm-bin)
fi
missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root (sudo) to install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packaged servers start themselves on install; the lab runs its own copies.
for s in unbound nsd clickhouse-server; do
	systemctl disable --now "$s" >/dev/null 2>&1 || true
done
