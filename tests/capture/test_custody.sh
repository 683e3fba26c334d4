#!/bin/sh
# Chain of custody, signatures and packs, through the tools: each tamper case (segment deleted,
# swapped, one byte altered, truncated, appended, a segment added, index edited) is named by
# verify with the segment and what happened; --expect right and wrong; sign and verify with the
# right key, another key and after a change; packed captures give byte-identical replay and
# query output to the directory; a cut pack opens with what is intact and says what was cut.
# Usage: test_custody.sh BINDIR LABCAPTURE
set -u
bin=$1
lab=$2
. "$(dirname "$0")/../common/require.sh"
require sqlite3 tar cmp
tmp=$(mktemp -d /tmp/dnsreel-custody-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
run() { # expected-rc description command...
	want=$1; what=$2; shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" = "$want" ] || fail "$what: exit $rc, want $want ($(head -c 400 "$tmp/err"))"
}
has() { # description fixed-text: in stdout or stderr of the last run
	grep -qF -- "$2" "$tmp/out" "$tmp/err" || fail "$1: no '$2' in: $(head -c 600 "$tmp/out")"
}

# 6 segments of 1000-event frames, from the capture writer itself
run 0 synth "$bin/dnsreel-synth" -o "$tmp/a.reel" -n 6000 --multi-hop --block-events 1000 \
	--segment-bytes 20000
nseg=$(ls "$tmp/a.reel/seg" | wc -l)
[ "$nseg" -ge 5 ] || fail "synth gave $nseg segments, want >= 5"
run 0 "verify clean" "$bin/dnsreel-verify" "$tmp/a.reel"
root=$(sed -n 's/^.*: root \([0-9a-f]\{64\}\)$/\1/p' "$tmp/out")
[ -n "$root" ] || fail "verify prints no root: $(cat "$tmp/out")"
has "chain noted" "chain of $nseg segments"
[ "$(sqlite3 "$tmp/a.reel/index.sqlite" "SELECT value FROM capture_info WHERE key='root_hash'")" = "$root" ] ||
	fail "index root differs from verify's"
[ "$(sqlite3 "$tmp/a.reel/index.sqlite" "SELECT count(*) FROM manifest")" = "$nseg" ] ||
	fail "manifest rows != segments"
sqlite3 "$tmp/a.reel/index.sqlite" "SELECT value FROM capture_info WHERE key='manifest'" \
	>"$tmp/manifest"
for k in "capture_id " "recorder dnsreel-synth" "node node-1" "kernel " "user " "host " \
	"start_wall_ns " "end_wall_ns " "segment seg/000001.zst " "chain_head "; do
	grep -q "^$k" "$tmp/manifest" || fail "manifest lacks '$k'"
done
run 0 "--expect right" "$bin/dnsreel-verify" --expect "$root" "$tmp/a.reel"
run 1 "--expect wrong" "$bin/dnsreel-verify" --expect "$(echo "$root" | tr 0-9a-f 1-9a-f0)" "$tmp/a.reel"
has "--expect wrong" "is not the expected"
run 2 "--expect not a hash" "$bin/dnsreel-verify" --expect xyz "$tmp/a.reel"

# tamper cases: each must exit 1 and name the segment and what happened
tamper() { # name expected-text shell-command (on $t)
	rm -rf "$tmp/t.reel"
	cp -R "$tmp/a.reel" "$tmp/t.reel"
	t=$tmp/t.reel
	eval "$3"
	run 1 "tamper $1" "$bin/dnsreel-verify" "$t"
	has "tamper $1" "$2"
	grep -q ": root $root\$" "$tmp/out" && fail "tamper $1: root unchanged"
}
tamper deleted "seg/000003.zst: custody: missing" 'rm "$t/seg/000003.zst"'
tamper swapped "seg/000002.zst: custody: reordered" \
	'mv "$t/seg/000002.zst" "$t/x"; mv "$t/seg/000003.zst" "$t/seg/000002.zst"; mv "$t/x" "$t/seg/000003.zst"'
tamper altered "seg/000002.zst: custody: altered: hash" \
	'printf "\001" | dd of="$t/seg/000002.zst" bs=1 seek=3000 conv=notrunc 2>/dev/null'
tamper truncated "seg/000004.zst: custody: truncated" 'truncate -s -7 "$t/seg/000004.zst"'
tamper appended "seg/000004.zst: custody: appended: 4 bytes after" 'printf abcd >>"$t/seg/000004.zst"'
tamper "segment added" "custody: appended: not in the manifest" \
	"cp \"\$t/seg/000002.zst\" \"\$t/seg/\$(printf %06d $((nseg + 1))).zst\""
# an edited index leaves the segments as they were: the root from them must not change
rm -rf "$tmp/t.reel"; cp -R "$tmp/a.reel" "$tmp/t.reel"
sqlite3 "$tmp/t.reel/index.sqlite" "UPDATE capture_info SET value = replace(value, 'node node-1', 'node node-9') WHERE key = 'manifest'"
run 1 "index manifest edited" "$bin/dnsreel-verify" "$tmp/t.reel"
has "index manifest edited" "index.sqlite: custody: index edited: its manifest says 'node node-9'"
grep -q ": root $root\$" "$tmp/out" || fail "index edit changed the segments' root"
rm -rf "$tmp/t.reel"; cp -R "$tmp/a.reel" "$tmp/t.reel"
sqlite3 "$tmp/t.reel/index.sqlite" "UPDATE capture_info SET value = 'mallory' WHERE key = 'custody_user'"
run 1 "index user edited" "$bin/dnsreel-verify" "$tmp/t.reel"
has "index user edited" "capture_info custody_user is 'mallory'"
grep -q ": root $root\$" "$tmp/out" || fail "index edit changed the segments' root"

# a capture from before custody: no chain, said so, still ok
run 0 "format 1.0" "$bin/dnsreel-verify" "$lab"
has "format 1.0" "no chain: recorded before custody"

# signatures
run 0 keygen "$bin/dnsreel-sign" --keygen "$tmp/k"
[ "$(stat -c %a "$tmp/k")" = 600 ] || fail "secret key mode $(stat -c %a "$tmp/k")"
run 1 "keygen never overwrites" "$bin/dnsreel-sign" --keygen "$tmp/k"
run 0 keygen2 "$bin/dnsreel-sign" --keygen "$tmp/other"
run 0 sign "$bin/dnsreel-sign" "$tmp/a.reel" --key "$tmp/k"
has sign "signed root $root"
run 0 "verify good key" "$bin/dnsreel-verify" --pubkey "$tmp/k.pub" "$tmp/a.reel"
has "verify good key" "signature good"
run 1 "verify other key" "$bin/dnsreel-verify" --pubkey "$tmp/other.pub" "$tmp/a.reel"
has "verify other key" "signed with another key"
run 1 "verify with a secret key file" "$bin/dnsreel-verify" --pubkey "$tmp/k" "$tmp/a.reel"
rm -rf "$tmp/t.reel"; cp -R "$tmp/a.reel" "$tmp/t.reel"
printf abcd >>"$tmp/t.reel/seg/000001.zst"
run 1 "verify altered since signing" "$bin/dnsreel-verify" --pubkey "$tmp/k.pub" "$tmp/t.reel"
has "verify altered since signing" "changed since signing"
rm -rf "$tmp/t.reel"; cp -R "$tmp/a.reel" "$tmp/t.reel"
sed -i 's/^signature \(.\)/signature 0\1/; s/^signature 0\(.\{128\}\).*/signature \1/' \
	"$tmp/t.reel/custody.sig"
sed -i 's/^signature ./signature f/' "$tmp/t.reel/custody.sig"
grep -q "^signature f" "$tmp/t.reel/custody.sig" || fail "signature not edited"
cmp -s "$tmp/t.reel/custody.sig" "$tmp/a.reel/custody.sig" &&
	sed -i 's/^signature f/signature 0/' "$tmp/t.reel/custody.sig"
run 1 "verify forged signature" "$bin/dnsreel-verify" --pubkey "$tmp/k.pub" "$tmp/t.reel"
has "verify forged signature" "does not verify"
rm "$tmp/t.reel/custody.sig"
run 1 "verify unsigned" "$bin/dnsreel-verify" --pubkey "$tmp/k.pub" "$tmp/t.reel"
has "verify unsigned" "not signed"
run 1 "sign format 1.0" "$bin/dnsreel-sign" "$lab" --key "$tmp/k"

# packs: the signed chained capture and the lab recording give the same output packed
for c in "$tmp/a.reel" "$lab"; do
	p=$tmp/$(basename "$c").tar
	run 0 "pack $c" "$bin/dnsreel-pack" "$c" -o "$p"
	tar tf "$p" >"$tmp/members" || fail "tar cannot list $p"
	tail -1 "$tmp/members" | grep -q "/index.sqlite$" || fail "index is not the last member"
	head -3 "$tmp/members" | grep -q "/seg/000001.zst$" || fail "segment 1 not first"
	"$bin/dnsreel-replay" "$c" -o json >"$tmp/dir.json" 2>/dev/null
	"$bin/dnsreel-replay" "$p" -o json >"$tmp/pack.json" 2>"$tmp/err" ||
		fail "replay of pack: $(cat "$tmp/err")"
	[ -s "$tmp/dir.json" ] && cmp -s "$tmp/dir.json" "$tmp/pack.json" ||
		fail "replay -o json of $p differs from the directory"
	q="SELECT k8s_podname, qtype, rcode, count(*) FROM dns GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
	"$bin/dnsreel-query" "$c" "$q" >"$tmp/dir.q" 2>/dev/null
	"$bin/dnsreel-query" "$p" "$q" >"$tmp/pack.q" 2>"$tmp/err" ||
		fail "query of pack: $(cat "$tmp/err")"
	[ "$(wc -l <"$tmp/dir.q")" -gt 2 ] && cmp -s "$tmp/dir.q" "$tmp/pack.q" ||
		fail "query GROUP BY of $p differs from the directory"
	run 0 "info pack" "$bin/dnsreel-info" "$p"
	run 0 "verify pack" "$bin/dnsreel-verify" "$p"
	rm -rf "$tmp/u.reel"
	run 0 "unpack $p" "$bin/dnsreel-unpack" "$p" -o "$tmp/u.reel"
	diff -r "$c" "$tmp/u.reel" >/dev/null || fail "unpack of $p differs from $c"
done
p=$tmp/a.reel.tar
run 0 "verify pack root and signature" "$bin/dnsreel-verify" --expect "$root" --pubkey "$tmp/k.pub" "$p"
has "pack root" ": root $root"
has "pack signature" "signature good"
run 1 "pack refuses a pack" "$bin/dnsreel-pack" "$p" -o "$tmp/x.tar"
run 1 "pack of a live capture" "$bin/dnsreel-pack" "$tmp/nope.reel" -o "$tmp/x.tar"
run 1 "reindex a pack" "$bin/dnsreel-verify" --reindex "$p"

# a pack cut in the third segment: the first two segments and part of the third are read,
# and every tool says where it was cut
off=$(tar tvf "$p" --block-number | awk '/seg\/000003.zst/ {print $2}' | tr -d :)
cut=$(((off + 1) * 512 + 3000))
head -c "$cut" "$p" >"$tmp/cut.tar"
run 1 "replay cut pack" "$bin/dnsreel-replay" "$tmp/cut.tar" -o json
has "replay cut pack" "pack cut at byte $cut: seg/000003.zst has 3000 of its"
n=$(grep -c . "$tmp/out")
"$bin/dnsreel-replay" "$tmp/a.reel" -o json 2>/dev/null >"$tmp/all.json"
first2=$(( $(sqlite3 "$tmp/a.reel/index.sqlite" "SELECT sum(events) FROM frames WHERE segment <= 2") ))
[ "$n" -ge "$first2" ] && [ "$n" -lt "$(grep -c . "$tmp/all.json")" ] ||
	fail "cut pack replayed $n events, want the first two segments' $first2 and fewer than all"
head -n "$first2" "$tmp/all.json" >"$tmp/want"
head -n "$first2" "$tmp/out" | cmp -s - "$tmp/want" || fail "cut pack: intact events differ"
run 1 "query cut pack" "$bin/dnsreel-query" "$tmp/cut.tar" "SELECT count(*) FROM dns"
has "query cut pack" "pack cut at byte $cut"
run 1 "verify cut pack" "$bin/dnsreel-verify" "$tmp/cut.tar"
has "verify cut pack" "pack cut at byte $cut"
rm -rf "$tmp/u.reel"
run 1 "unpack cut pack" "$bin/dnsreel-unpack" "$tmp/cut.tar" -o "$tmp/u.reel"
has "unpack cut pack" "unpacked what is intact"
cmp -s "$tmp/u.reel/seg/000002.zst" "$tmp/a.reel/seg/000002.zst" || fail "unpack cut: seg 2"
[ -e "$tmp/u.reel/index.sqlite" ] && fail "unpack cut: an index appeared"

echo "custody: $fails failures"
[ "$fails" = 0 ]
