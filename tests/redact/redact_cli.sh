#!/usr/bin/env bash
# redact_cli.sh BINDIR SRCDIR: dnsreel-redact on the lab capture and on synthetic ones.
#  - nothing original survives in any byte of the output: every address (as text and as the
#    4/16 bytes packets carry), pod, namespace, node, netns, process, container and query-name
#    label of the input is searched for in the decompressed segments, the replay JSON, the
#    pcapng export, the raw index file and the file names: zero hits
#  - shapes kept: counts by rcode, qtype and proto, flows by outcome and rcode, hops per flow;
#    a /24 stays a /24 (common prefix lengths of every pair of addresses equal)
#  - one key, one mapping: two captures share the pseudonyms of what they share; another key
#    maps differently; a second run gives the same output
#  - tshark reads the pcapng export without errors or malformed packets (that every message
#    parses with dnswire is test_redact's); the index has no free pages; verify passes
#  - bad input, keys and options: exit 1 or 2 with a message, nothing left behind
set -u
bin=$1 src=$2
. "$src/../common/require.sh"
require python3 tshark sqlite3 zstd
lab=$src/../data/lab-basic.reel
tmp=$(mktemp -d /tmp/dnsreel-redact-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
R=$bin/dnsreel-redact
Q=$bin/dnsreel-query
P=$bin/dnsreel-replay
printf '%s\n' 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff >"$tmp/k1"
head -c 32 /dev/urandom >"$tmp/k2"

"$R" "$lab" -o "$tmp/out.reel" --key-file "$tmp/k1" --keep-suffix cluster.local. \
	2>"$tmp/err" || bad "redact of the lab capture failed: $(cat "$tmp/err")"
grep -q '327 events redacted' "$tmp/err" || bad "no summary: $(cat "$tmp/err")"

# ---- nothing original in any byte ------------------------------------------------------------
"$P" "$lab" -o json >"$tmp/in.json" || bad "replay of the input"
"$P" "$tmp/out.reel" -o json >"$tmp/out.json" || bad "replay -o json of the output"
"$P" "$tmp/out.reel" -o pcapng >"$tmp/out.pcapng" || bad "replay -o pcapng of the output"
"$P" "$lab" -o pcapng >"$tmp/in.pcapng" || bad "replay -o pcapng of the input"
zstd -dc "$tmp"/out.reel/seg/*.zst >"$tmp/out.segs" 2>/dev/null
for t in netns processes services; do
	sqlite3 -separator ' ' "$lab/index.sqlite" "SELECT * FROM $t"
done >"$tmp/in.ctx"
sqlite3 "$lab/index.sqlite" "SELECT value FROM capture_info WHERE key = 'node'" >>"$tmp/in.ctx"
capid=$(sqlite3 "$lab/index.sqlite" "SELECT value FROM capture_info WHERE key = 'capture_id'")
(cd "$tmp/out.reel" && find . -print) >"$tmp/out.names"
python3 - "$tmp" "$capid" <<'PY' || fail=1
import ipaddress, json, re, sys
tmp, capid = sys.argv[1], [sys.argv[2]]
needles = set()
addrs = set()
def addr(s):
    try:
        a = ipaddress.ip_address(s)
    except ValueError:
        return False
    addrs.add(a)
    return True
kept = {"cluster", "local", "arpa", "in-addr", "ip6"}
def name(n):
    for l in n.rstrip(".").split("."):
        if len(l) >= 4 and l.lower() not in kept and not l.isdigit():
            needles.add(l.lower())
for line in open(f"{tmp}/in.json"):
    line = line.strip().rstrip(",")
    if not line.startswith("{"):
        continue
    e = json.loads(line)
    for side in ("src", "dst"):
        addr(e[side]["addr"])
        k = e[side].get("k8s") or {}
        for v in (k.get("namespace"), k.get("name")):
            if v:
                needles.add(v.lower())
    for a in (e.get("addresses") or "").split(","):
        if a:
            addr(a)
    if e.get("name"):
        name(e["name"])
    for v in (e["k8s"].get("node"), e["k8s"].get("podName"), e["k8s"].get("namespace"),
              e["k8s"].get("containerName"), (e.get("proc") or {}).get("comm"),
              (e.get("runtime") or {}).get("containerId")):
        if v:
            needles.add(v.lower())
# context tables: every word of every text field (paths, command lines, ids, names)
for line in open(f"{tmp}/in.ctx", errors="replace"):
    for w in re.split(r"[ ,/|=_\"\n]+", line):
        if addr(w):
            continue
        if len(w) >= 5 and not w.isdigit() and not re.fullmatch(r"[0-9.e+-]+", w):
            needles.add(w.lower())
# what stays on purpose: the kernel version, the recorder's program name, structure words
for w in ("6.18.44-fc-v657", "dnsreel-record", "0.1.0", "kubepods.slice", "slice", "scope"):
    needles.discard(w)
# words of the output's own structure (JSON keys such as "nameserver") are not the input's
keys = set()
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            keys.add(k.lower())
            walk(v)
for line in open(f"{tmp}/out.json"):
    line = line.strip().rstrip(",")
    if line.startswith("{"):
        walk(json.loads(line))
for n in list(needles):
    if any(n in k for k in keys):
        print(f"note: not looking for {n!r}: part of a JSON key")
        needles.discard(n)
if len(needles) < 30 or len(addrs) < 8:
    print(f"FAIL: too few originals to look for ({len(needles)} words, {len(addrs)} addresses)")
    sys.exit(1)
files = {
    "decompressed segments": open(f"{tmp}/out.segs", "rb").read(),
    "replay json": open(f"{tmp}/out.json", "rb").read(),
    "pcapng export": open(f"{tmp}/out.pcapng", "rb").read(),
    "index.sqlite": open(f"{tmp}/out.reel/index.sqlite", "rb").read(),
    "file names": open(f"{tmp}/out.names", "rb").read(),
}
red = open(f"{tmp}/out.reel/REDACTED", "rb").read()
for c in capid:
    red = red.replace(c.encode(), b"")
files["REDACTED (but its input id)"] = red
bad = 0
for what, data in files.items():
    low = data.lower()
    for n in sorted(needles):
        if n.encode() in low:
            print(f"FAIL: {what} holds {n!r}")
            bad += 1
    for a in sorted(addrs, key=str):
        if str(a).encode() in low:
            print(f"FAIL: {what} holds {a}")
            bad += 1
        if what != "replay json" and a.packed in data:
            print(f"FAIL: {what} holds the bytes of {a}")
            bad += 1
print(f"looked for {len(needles)} words and {len(addrs)} addresses in {len(files)} places")
sys.exit(1 if bad else 0)
PY

# ---- shapes kept ---------------------------------------------------------------------------
for sql in "SELECT rcode, qtype, qr, count(*) FROM dns GROUP BY 1, 2, 3 ORDER BY 1, 2, 3" \
	"SELECT outcome, rcode, count(*), sum(hops) FROM flows GROUP BY 1, 2 ORDER BY 1, 2" \
	"SELECT count(*), count(DISTINCT name), count(DISTINCT src_addr), count(DISTINCT k8s_podname) FROM dns" \
	"SELECT count(*) FROM netns" "SELECT count(*) FROM processes"; do
	a=$("$Q" "$lab" "$sql" 2>&1) b=$("$Q" "$tmp/out.reel" "$sql" 2>&1)
	[ "$a" = "$b" ] || bad "'$sql' differs:
$a
--- redacted:
$b"
done
n=$("$Q" "$tmp/out.reel" "SELECT count(*) FROM flows WHERE outcome = 'answered'" | tail -1)
[ "${n// /}" -ge 10 ] 2>/dev/null || bad "only '$n' answered flows in the redacted capture"
# prefix structure: every pair of input addresses shares as many leading bits as its image
python3 - "$lab" "$tmp/out.reel" <<'PY' || fail=1
import ipaddress, sqlite3, sys
def ips(p):
    db = sqlite3.connect(f"file:{p}/index.sqlite?mode=ro&immutable=1", uri=True)
    out = {}
    for (netns, s) in db.execute("SELECT netns, ips FROM netns ORDER BY netns"):
        out[netns] = [ipaddress.ip_address(x) for x in s.split(",") if x]
    return out
a, b = ips(sys.argv[1]), ips(sys.argv[2])
pairs = [(x, y) for k in a for x, y in zip(a[k], b[k])]
def cpl(x, y):
    n = x.max_prefixlen
    d = int(x) ^ int(y)
    return n - d.bit_length()
bad = 0
for i, (x, mx) in enumerate(pairs):
    if x == mx:
        print(f"FAIL: {x} kept as it is"); bad += 1
    for (y, my) in pairs[i + 1:]:
        if x.version == y.version and cpl(x, y) != cpl(mx, my):
            print(f"FAIL: {x} {y} share {cpl(x, y)} bits, {mx} {my} {cpl(mx, my)}"); bad += 1
same24 = [(mx, my) for (x, mx) in pairs for (y, my) in pairs
          if x.version == 4 == y.version and x != y and cpl(x, y) >= 24]
if not same24 or any(cpl(p, q) < 24 for p, q in same24):
    print("FAIL: no /24 kept as a /24"); bad += 1
sys.exit(1 if bad else 0)
PY

# ---- one key, one mapping -------------------------------------------------------------------
"$R" "$lab" -o "$tmp/again.reel" --key-file "$tmp/k1" --keep-suffix cluster.local. -q ||
	bad "second run failed"
"$P" "$tmp/again.reel" -o json | cmp -s - "$tmp/out.json" || bad "a second run with the key differs"
"$R" "$lab" -o "$tmp/k2.reel" --key-file "$tmp/k2" --keep-suffix cluster.local. -q ||
	bad "run with another key failed"
"$P" "$tmp/k2.reel" -o json | cmp -s - "$tmp/out.json" && bad "another key gives the same output"
"$bin/dnsreel-synth" -o "$tmp/s1.reel" -n 3000 --multi-hop --tcp --seed 1 >/dev/null &&
	"$bin/dnsreel-synth" -o "$tmp/s2.reel" -n 3000 --multi-hop --tcp --seed 2 >/dev/null ||
	bad "synth"
for s in s1 s2; do
	"$R" "$tmp/$s.reel" -o "$tmp/$s.r.reel" --key-file "$tmp/k1" -q || bad "redact of $s"
done
# what the two captures (and the lab one) share maps alike: the forwarder pod's name and
# address, 10.244.0.2 (a web pod in the synthetic ones, the forwarder in the lab)
pod() { # capture netns -> "pod ips"
	sqlite3 "$1/index.sqlite" "SELECT k8s_podname || ' ' || ips FROM netns WHERE netns = $2"
}
ns_of() { sqlite3 "$1/index.sqlite" "SELECT netns FROM netns WHERE ips = '$2'"; }
n1=$(ns_of "$tmp/s1.reel" 10.244.255.10) n2=$(ns_of "$tmp/s2.reel" 10.244.255.10)
a=$(pod "$tmp/s1.reel" "$n1") b=$(pod "$tmp/s2.reel" "$n2")
ra=$(pod "$tmp/s1.r.reel" "$n1") rb=$(pod "$tmp/s2.r.reel" "$n2")
[ -n "$a" ] && [ "$a" = "$b" ] || bad "synthetic captures do not share the forwarder ('$a' '$b')"
[ -n "$ra" ] && [ "$ra" = "$rb" ] || bad "one key, two captures: the forwarder maps to '$ra' and '$rb'"
case $ra in *10.244.255.10* | *coredns*) bad "the forwarder kept its name or address: $ra" ;; esac
m1=$(sqlite3 "$tmp/out.reel/index.sqlite" "SELECT ips FROM netns WHERE netns = 4026532747" | cut -d, -f1)
m2=$(sqlite3 "$tmp/s1.r.reel/index.sqlite" "SELECT ips FROM netns WHERE netns = $(ns_of "$tmp/s1.reel" 10.244.0.2)")
[ -n "$m1" ] && [ "$m1" = "$m2" ] || bad "10.244.0.2 maps to '$m1' in one capture, '$m2' in another"
"$P" "$tmp/s1.r.reel" --flows -o jsonl >"$tmp/s1.flows" || bad "flows of a redacted synthetic capture"
# the output names its input's custody root, in REDACTED and in its own manifest
root=$("$bin/dnsreel-verify" "$tmp/s1.reel" 2>/dev/null | sed -n 's/^.*: root //p')
[ -n "$root" ] && grep -qx "input-root: $root" "$tmp/s1.r.reel/REDACTED" ||
	bad "REDACTED does not name the input's root '$root'"
[ "$(sqlite3 "$tmp/s1.r.reel/index.sqlite" "SELECT root_hash || ' ' || role FROM inputs")" = "$root redact" ] ||
	bad "the redacted capture's manifest does not list its input's root"
"$P" "$tmp/s1.reel" --flows -o jsonl >"$tmp/s1.in.flows"
[ "$(wc -l <"$tmp/s1.flows")" = "$(wc -l <"$tmp/s1.in.flows")" ] ||
	bad "flows: $(wc -l <"$tmp/s1.in.flows") before, $(wc -l <"$tmp/s1.flows") redacted"
for s in s1 s2; do
	a=$("$Q" "$tmp/$s.reel" "SELECT outcome, rcode, count(*) FROM flows GROUP BY 1, 2 ORDER BY 1, 2")
	b=$("$Q" "$tmp/$s.r.reel" "SELECT outcome, rcode, count(*) FROM flows GROUP BY 1, 2 ORDER BY 1, 2")
	[ "$a" = "$b" ] || bad "$s: flows by outcome differ: $a / $b"
	a=$("$Q" "$tmp/$s.reel" "SELECT proto, qr, count(*) FROM dns GROUP BY 1, 2 ORDER BY 1, 2")
	b=$("$Q" "$tmp/$s.r.reel" "SELECT proto, qr, count(*) FROM dns GROUP BY 1, 2 ORDER BY 1, 2")
	[ "$a" = "$b" ] || bad "$s: messages by proto differ (TCP rewritten wrong?): $a / $b"
done

# ---- readable: tshark, verify, no free pages --------------------------------------------------
for c in out s1.r; do
	f=$tmp/$c.pcapng
	[ -f "$f" ] || "$P" "$tmp/$c.reel" -o pcapng >"$f"
	tshark -r "$f" -V >"$tmp/$c.tshark" 2>"$tmp/$c.tserr"
	grep -v 'Running as user' "$tmp/$c.tserr" | grep . && bad "tshark complained about $c"
	n=$(grep -ciE 'malformed|exception occurred|\[expert info \(error' "$tmp/$c.tshark")
	[ "$n" = 0 ] || bad "tshark finds $n malformed or erroneous packets in $c: $(grep -iE -m3 'malformed|expert info \(error' "$tmp/$c.tshark")"
done
a=$(tshark -r "$tmp/in.pcapng" -T fields -e dns.id -e dns.flags.rcode -e dns.count.answers 2>/dev/null | md5sum)
b=$(tshark -r "$tmp/out.pcapng" -T fields -e dns.id -e dns.flags.rcode -e dns.count.answers 2>/dev/null | md5sum)
[ "$a" = "$b" ] || bad "tshark sees other ids, rcodes or answer counts after redaction"
"$bin/dnsreel-verify" "$tmp/out.reel" >/dev/null 2>&1 || bad "verify fails on the output"
[ "$(sqlite3 "$tmp/out.reel/index.sqlite" 'PRAGMA freelist_count')" = 0 ] || bad "free pages in the index"
[ "$(sqlite3 "$tmp/out.reel/index.sqlite" "SELECT value FROM counters WHERE name = 'redact.payloads_dropped'")" = 0 ] ||
	bad "payloads emptied in the lab capture"
grep -q "^input-sha256: [0-9a-f]\{64\}$" "$tmp/out.reel/REDACTED" || bad "REDACTED names no input hash"
grep -qx "input-root: none (recorded before custody)" "$tmp/out.reel/REDACTED" ||
	bad "REDACTED of a capture without a chain claims a root"
grep -q "^policy: .*keep-suffix=cluster.local." "$tmp/out.reel/REDACTED" || bad "REDACTED names no policy"
grep -q "^input-capture-id: 7c4728c2-4e87-4cab-8cf4-309ed5742d5a$" "$tmp/out.reel/REDACTED" ||
	bad "REDACTED names no input capture id"
[ "$(sqlite3 "$tmp/out.reel/index.sqlite" "SELECT value FROM capture_info WHERE key = 'recorder'")" = "dnsreel-redact 0.1.0" ] ||
	bad "the output does not say it was redacted"
id_out=$(sqlite3 "$tmp/out.reel/index.sqlite" "SELECT value FROM capture_info WHERE key = 'capture_id'")
[ "$id_out" != 7c4728c2-4e87-4cab-8cf4-309ed5742d5a ] && [ ${#id_out} = 36 ] ||
	bad "the output's capture id is '$id_out'"

# ---- --drop -------------------------------------------------------------------------------------
"$R" "$lab" -o "$tmp/drop.reel" --key-file "$tmp/k1" --drop proc,names,cmdline,answers -q ||
	bad "--drop run failed"
[ "$(sqlite3 "$tmp/drop.reel/index.sqlite" "SELECT count(*) FROM processes")" = 0 ] || bad "--drop proc kept processes"
[ "$(sqlite3 "$tmp/drop.reel/index.sqlite" "SELECT count(*) FROM netns WHERE k8s_podname != '' OR name != ''")" = 0 ] ||
	bad "--drop names kept names"
[ "$("$Q" "$tmp/drop.reel" "SELECT count(*) FROM dns WHERE pid IS NOT NULL OR num_answers > 0" | tail -1 | tr -d ' ')" = 0 ] ||
	bad "--drop proc,answers kept pids or answers"
a=$("$Q" "$lab" "SELECT rcode, count(*) FROM dns GROUP BY 1 ORDER BY 1")
b=$("$Q" "$tmp/drop.reel" "SELECT rcode, count(*) FROM dns GROUP BY 1 ORDER BY 1")
[ "$a" = "$b" ] || bad "--drop answers changed rcodes"

# ---- errors -------------------------------------------------------------------------------------
expect() { # rc what cmd...
	local want=$1 what=$2
	shift 2
	"$@" >"$tmp/o" 2>"$tmp/e"
	local rc=$?
	[ $rc = "$want" ] || bad "$what: exit $rc, want $want ($(head -2 "$tmp/e"))"
	[ -s "$tmp/e" ] || bad "$what: no message"
	[ -s "$tmp/o" ] && bad "$what: wrote to stdout"
}
expect 1 "existing output" "$R" "$lab" -o "$tmp/out.reel" --key-file "$tmp/k1"
expect 1 "missing key" "$R" "$lab" -o "$tmp/x.reel" --key-file "$tmp/nokey"
printf 'short\n' >"$tmp/kshort"
expect 1 "short key" "$R" "$lab" -o "$tmp/x.reel" --key-file "$tmp/kshort"
expect 2 "no key" "$R" "$lab" -o "$tmp/x.reel"
expect 2 "no output" "$R" "$lab" --key-file "$tmp/k1"
expect 2 "bad --drop" "$R" "$lab" -o "$tmp/x.reel" --key-file "$tmp/k1" --drop ips
expect 2 "bad --keep-suffix" "$R" "$lab" -o "$tmp/x.reel" --key-file "$tmp/k1" --keep-suffix a..b
expect 1 "not a capture" "$R" "$tmp" -o "$tmp/x.reel" --key-file "$tmp/k1"
cp -r "$lab" "$tmp/dmg.reel"
python3 -c "
import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=0x55; open(p,'wb').write(b)" \
	"$tmp/dmg.reel/seg/000001.zst"
expect 1 "damaged input" "$R" "$tmp/dmg.reel" -o "$tmp/x.reel" --key-file "$tmp/k1"
grep -q 'seg/000001.zst' "$tmp/e" || bad "damaged input: the message names no segment: $(cat "$tmp/e")"
[ -e "$tmp/x.reel" ] && bad "a failed run left its output"
ls -a "$tmp" | grep -q '\.part-' && bad "a failed run left its hidden directory"
expect 1 "keygen over a key" "$R" --keygen "$tmp/k1"
"$R" --keygen "$tmp/k3" 2>/dev/null || bad "keygen failed"
[ "$(stat -c %a "$tmp/k3")" = 600 ] && [ "$(wc -c <"$tmp/k3")" = 65 ] || bad "keygen: mode or size"
"$R" "$lab" -o "$tmp/k3.reel" --key-file "$tmp/k3" -q || bad "a --keygen key does not work"

[ $fail = 0 ] && echo "ok: redact"
exit $fail
