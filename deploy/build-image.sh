#!/usr/bin/env bash
# Builds the dnsreel image offline: a root filesystem made of the built tools (dnsreel, record,
# replay, query, info, verify), the Debian libraries they link (found with ldd) and
# iptables-save/ip6tables-save with their xtables extensions, tar (for kubectl cp), then `podman build` (or docker)
# on deploy/Containerfile, FROM scratch.
# Usage: deploy/build-image.sh BINDIR [IMAGE]    (IMAGE: dnsreel:VERSION)
#   DNSREEL_ENGINE=podman|docker   the builder (podman if present, else docker)
#   DNSREEL_ROOTFS_ONLY=DIR        only assemble the root filesystem into DIR
set -euo pipefail
BIN=${1:?usage: build-image.sh BINDIR [IMAGE]}
here=$(cd "$(dirname "$0")" && pwd)
die() {
	echo "build-image: $*" >&2
	exit 1
}
[[ -x $BIN/dnsreel-record ]] || die "no $BIN/dnsreel-record: build first (cmake --build build)"
version=$("$BIN/dnsreel" --version 2>/dev/null | awk '{ print $2; exit }')
IMAGE=${2:-dnsreel:${version:-dev}}
engine=${DNSREEL_ENGINE:-}
if [[ -z $engine && -z ${DNSREEL_ROOTFS_ONLY:-} ]]; then
	if command -v podman >/dev/null; then engine=podman; elif command -v docker >/dev/null; then
		engine=docker
	else die "neither podman nor docker installed (apt-get install podman)"; fi
fi

ctx=$(mktemp -d "${TMPDIR:-/tmp}/dnsreel-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
root=${DNSREEL_ROOTFS_ONLY:-$ctx/rootfs}
mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/{tmp,captures,host,etc}
chmod 1777 "$root/tmp"
# Debian 12 is merged-/usr: /lib, /bin, /sbin, /lib64 are links into /usr.
for d in bin sbin lib lib64; do ln -sfn "usr/$d" "$root/$d"; done

# put FILE [DEST]: FILE (links followed) at DEST (default: its own path, /lib... -> /usr/lib...)
put() {
	local src=$1 dst=${2:-$1}
	[[ $dst == /usr/* ]] || dst=/usr$dst
	mkdir -p "$root$(dirname "$dst")"
	cp -L "$src" "$root$dst"
}
# libs FILE...: every shared library FILE needs, and the dynamic loader.
libs() {
	local f l
	for f in "$@"; do
		while read -r l; do
			[[ -n $l ]] && put "$l"
		done < <(ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
	done
}

tools=(dnsreel dnsreel-record dnsreel-replay dnsreel-query dnsreel-info dnsreel-verify)
for t in "${tools[@]}"; do
	put "$BIN/$t" "/usr/bin/$t"
	libs "$BIN/$t"
done
# The sqlite3 extension, if the build made one (query's tables from the stock shell).
lib=$(dirname "$BIN")/lib/libdnsreel.so
[[ -e $lib ]] && put "$lib" /usr/lib/libdnsreel.so && libs "$lib"

# iptables-save for kube-proxy's rules: the same backend (nft or legacy) as on this machine.
ipt=$(command -v iptables-save) || die "iptables-save missing (apt-get install iptables)"
multi=$(readlink -f "$ipt")
put "$multi" "/usr/sbin/$(basename "$multi")"
libs "$multi"
for n in iptables-save ip6tables-save; do ln -sfn "$(basename "$multi")" "$root/usr/sbin/$n"; done
xt=$(dirname "$(readlink -f "$(ldd "$multi" | awk '/libxtables/ { print $3 }')")")/xtables
if [[ -d $xt ]]; then
	mkdir -p "$root/usr${xt#/usr}"
	cp -L "$xt"/*.so "$root/usr${xt#/usr}/"
	for f in "$xt"/*.so; do libs "$f"; done
fi
# tar: what `kubectl cp` runs in the container to fetch a capture.
put "$(command -v tar)" /usr/bin/tar
libs "$(command -v tar)"
[[ -e /etc/ethertypes ]] && cp /etc/ethertypes "$root/etc/"
printf 'root:x:0:0:root:/:/usr/bin/dnsreel\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"

[[ -n ${DNSREEL_ROOTFS_ONLY:-} ]] && exit 0
cp "$here/Containerfile" "$ctx/Containerfile"
"$engine" build -q -f "$ctx/Containerfile" -t "$IMAGE" "$ctx" >/dev/null ||
	die "$engine build failed"
echo "$IMAGE"
