#!/usr/bin/env bash
# Root test: hand-made malformed packets on port 53 (truncated UDP/TCP headers, lengths that
# lie, IP options, non-DNS bytes, IPv6 extension headers, a chain too deep to walk, an
# oversize message cut at the snap length, IP fragments, DNS over TCP split in two segments)
# reach the kernel filter and the user-space parser. Nothing crashes or fails to load; each is
# recorded or counted as this script expects.
# Usage: test_record_malformed.sh BIN_DIR   (uses BIN_DIR/rec_probe)
set -u
BIN=$1
ID_PREFIX=drm
. "$(dirname "$0")/common.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
ip -n "$CLI" link set "$ID-c" mtu 9000
ip -n "$SRV" link set "$ID-s" mtu 9000

"$BIN/rec_probe" 30 --netns "$(ino "$CLI")" --snaplen 512 --ready "$WORK/ready" \
	>"$WORK/ev.txt" 2>"$WORK/rec.err" &
REC=$!
for _ in $(seq 100); do [ -e "$WORK/ready" ] && break; sleep 0.05; done
[ -e "$WORK/ready" ] || fail "rec_probe not ready"
ip netns exec "$CLI" python3 "$(dirname "$0")/badpkt.py" "$ID-c" >"$WORK/sent.txt" ||
	fail "badpkt.py"
sleep 0.3
kill -INT $REC
wait $REC
REC=
grep -q "lost=0" "$WORK/rec.err" || fail "losses: $(grep lost= "$WORK/rec.err")"
counter() { awk -v n="$1" '$1 == "counter" && $2 == n { print $3 }' "$WORK/rec.err"; }
# event lines: netns pkt_type proto src sport dst dport flags pid comm orig_len cap_len
ev() { awk -v p="$1" '$5 == p || $7 == p' "$WORK/ev.txt"; }
has() { [ -n "$(ev "$1")" ] || fail "$2: no event for port $1"; }
has 40001 "good ipv4"
has 40002 "udp length lies"
has 40003 "ip total length lies"
has 40005 "non-DNS bytes"
has 40006 "ip options"
has 40009 "tcp split"
has 40012 "ipv6 extension headers"
has 40014 "ipv6 payload length lies"
[ "$(ev 40009 | wc -l)" -eq 2 ] || fail "tcp split: want 2 segments"
[ -z "$(ev 40015)" ] || fail "port 80 recorded"
[ -z "$(ev 40013)" ] || fail "ipv6 chain of 7 ext headers recorded"
read -r _ _ _ _ _ _ _ flags _ _ olen clen <<<"$(ev 40010)"
[ "$olen" = 3000 ] && [ "$clen" = 512 ] || fail "oversize: orig $olen cap $clen, want 3000/512"
[ $((flags & 2)) -ne 0 ] || fail "oversize: no TRUNCATED flag ($flags)"
[ -n "$(ev 40011)" ] || fail "first fragment not recorded"
[ "$(counter kernel.frag_later)" -ge 1 ] || fail "later fragment not recorded"
[ "$(counter kernel.malformed)" -ge 2 ] || fail "kernel.malformed $(counter kernel.malformed), want >= 2"
[ "$(counter events.malformed)" -ge 2 ] || fail "events.malformed $(counter events.malformed), want >= 2"
[ "$(counter events.length_mismatch)" -ge 3 ] ||
	fail "events.length_mismatch $(counter events.length_mismatch), want >= 3"
[ "$(counter kernel.ipv6_deep)" -ge 1 ] || fail "kernel.ipv6_deep not counted"
echo "ok: malformed packets recorded or counted ($(wc -l <"$WORK/ev.txt") events)"
