#!/usr/bin/env bash
# install.sh BUILDDIR DATADIR: `cmake --install` puts the tools, the SQLite extension, the man
# pages and the completion where the man pages say, and they work from there; `cpack -G DEB`
# makes a package holding the same files with its library dependencies.
set -u
build=$1 data=$2
. "$(dirname "$0")/../common/require.sh"
require cmake cpack dpkg-deb sqlite3 man
tmp=$(mktemp -d /tmp/dnsreel-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

cmake --install "$build" --prefix "$tmp/usr" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; exit 1; }
for f in bin/dnsreel bin/dnsreel-replay bin/dnsreel-query bin/dnsreel-info bin/dnsreel-verify \
	lib/dnsreel/libdnsreel.so share/man/man1/dnsreel.1 share/man/man1/dnsreel-replay.1 \
	share/man/man1/dnsreel-query.1 share/bash-completion/completions/dnsreel; do
	[ -e "$tmp/usr/$f" ] || bad "not installed: $f"
done
# the front command runs the installed tool beside it
n=$(PATH=/usr/bin:/bin "$tmp/usr/bin/dnsreel" replay "$data/lab-basic.reel" --no-header | wc -l)
[ "$n" -gt 0 ] || bad "installed dnsreel replay printed nothing"
# man finds the pages
MANPATH=$tmp/usr/share/man man -w dnsreel-replay >/dev/null 2>&1 || bad "man -w dnsreel-replay"
# the extension loads from its installed path, as dnsreel-query(1) says
got=$(sqlite3 "$data/lab-basic.reel/index.sqlite" ".load $tmp/usr/lib/dnsreel/libdnsreel" \
	'SELECT count(*) FROM dns' 2>&1)
[ "${got:-0}" -gt 0 ] 2>/dev/null || bad "extension from lib/dnsreel: $got"

(cd "$build" && cpack -G DEB -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log"; exit 1; }
deb=$(ls "$tmp"/pkg/dnsreel_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || bad "cpack made no .deb: $(tail -3 "$tmp/cpack.log")"
if [ -n "$deb" ]; then
	dpkg-deb -c "$deb" >"$tmp/list"
	for f in ./usr/bin/dnsreel ./usr/bin/dnsreel-replay ./usr/lib/dnsreel/libdnsreel.so \
		./usr/share/man/man1/dnsreel-replay.1 ./usr/share/bash-completion/completions/dnsreel; do
		grep -q " $f\$" "$tmp/list" || bad "package lacks $f"
	done
	dpkg-deb -f "$deb" Depends | grep -q 'libzstd1' || bad "package Depends lacks libzstd1: $(dpkg-deb -f "$deb" Depends)"
	dpkg-deb -f "$deb" Depends | grep -q 'libsqlite3' || bad "package Depends lacks libsqlite3"
	# dnsreel-export, where built, brings libcurl into the package's dependencies
	if [ -x "$build/bin/dnsreel-export" ]; then
		grep -q " ./usr/bin/dnsreel-export\$" "$tmp/list" || bad "package lacks dnsreel-export"
		dpkg-deb -f "$deb" Depends | grep -q 'libcurl4' || bad "package Depends lacks libcurl4"
	fi
fi
[ $fail = 0 ] && echo "ok: install and package"
exit $fail
