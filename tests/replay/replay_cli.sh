#!/usr/bin/env bash
# replay_cli.sh REPLAY SYNTH SRCDIR: dnsreel-replay as a user runs it.
#  - golden: a deterministic synthetic capture rendered in every format, diffed against
#    golden/*.out (UPDATE_GOLDEN=1 rewrites them); lab captures under tests/data/*.reel too,
#    against golden/<name>.<render>.out. When the field table (widths), the synthetic traffic
#    or a lab capture changes on purpose, rerun with UPDATE_GOLDEN=1 and review the diff.
#  - pcapng export read back by tshark: same count of DNS messages, same ids, names, times
#  - damaged captures: good frames printed, the damage named, exit 1
#  - usage errors exit 2, a missing capture exits 1, --help exits 0
set -u
replay=$1 synth=$2 src=$3
. "$src/../common/require.sh"
require python3 tshark capinfos sqlite3
golden=$src/golden
data=$src/../data
tmp=$(mktemp -d /tmp/dnsreel-replay-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

"$synth" -o "$tmp/g.reel" -n 400 --multi-hop --tcp --seed 3 --block-events 50 \
	--segment-bytes 8192 >/dev/null || { echo "FAIL: synth"; exit 1; }
"$synth" -o "$tmp/h.reel" -n 200 --seed 4 --block-events 50 >/dev/null || exit 1

# ---- golden ---------------------------------------------------------------------------------
check_golden() { # name args...
	local name=$1
	shift
	"$replay" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	local rc=$?
	[ $rc -eq 0 ] || { bad "$name: exit $rc: $(head -3 "$tmp/$name.err")"; return; }
	if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
		cp "$tmp/$name.out" "$golden/$name.out"
	elif ! diff -u "$golden/$name.out" "$tmp/$name.out" >"$tmp/$name.diff"; then
		bad "$name differs from golden/$name.out:"
		head -20 "$tmp/$name.diff"
	fi
}
mkdir -p "$golden"
check_golden columns "$tmp/g.reel"
check_golden wide "$tmp/g.reel" --wide
check_golden fields "$tmp/g.reel" --fields TIMESTAMP,k8s.podName,id,pkt_type,src,dst,qr,name,rcode,latency_ns
check_golden jsonarray "$tmp/g.reel" -o jsonarray
check_golden jsonl "$tmp/g.reel" -o jsonl
# -o json streams an object per line as ig does: the jsonl golden, byte for byte
check_golden jsonl "$tmp/g.reel" -o json
check_golden jsonl_fields "$tmp/g.reel" -o jsonl --fields timestamp,name,num_answers,rd
check_golden csv "$tmp/g.reel" -o csv
check_golden nxdomain "$tmp/g.reel" -F rcode==NameError -F 'name~svc' --no-header
check_golden two "$tmp/g.reel" "$tmp/h.reel" --fields timestamp,k8s.node,id,qr,name
check_golden pods "$tmp/g.reel" -n ns-2,kube-system -c coredns,auth --fields k8s.namespace,k8s.podname,k8s.containername,qr,name
check_golden window "$tmp/g.reel" --since 2026-05-28T20:26:40.0012Z --until 2026-05-28T22:26:40.0018+02:00 --fields timestamp,id,qr,name

# golden tests on the lab's real captures (tests/data/*.reel), when the lab has committed some;
# expected output lives here as golden/lab-<name>.<render>.out
for cap in "$data"/*.reel; do
	[ -d "$cap" ] || continue
	name=$(basename "$cap" .reel)
	check_golden "$name.columns" "$cap"
	check_golden "$name.wide" "$cap" --wide --fields timestamp,k8s.namespace,k8s.podname,netns_id,pkt_type,proto,src,dst,comm,pid,id,qr,qtype,name,rcode,num_answers,addresses,latency_ns,tc
	check_golden "$name.jsonl" "$cap" -o jsonl
done

# --no-resolve prints endpoints as the trace_dns docs do; a cut endpoint keeps its port
nr=$("$replay" "$data/lab-basic.reel" --no-resolve --fields src,dst -F qr==Q -F netns_id==4026532678)
grep -q '^10\.244\.0\.10:[0-9]* *10\.96\.0\.10:53$' <<<"$nr" || bad "--no-resolve: $(head -2 <<<"$nr")"
grep -q '[ps]/' <<<"$nr" && bad "--no-resolve still names pods or services"
cut=$("$replay" "$data/lab-basic.reel" --fields dst -F 'dst~coredns' | sed -n 2p)
[[ $cut == *…*:53 ]] || bad "a cut endpoint lost its port: $cut"

# --whole-flows: -p keeps the node's and forwarder's rows of the pod's lookups, as the trace_dns
# docs use them to explain DNAT (pod, node twice, CoreDNS, upstream try, and back: 18 events)
wf=$("$replay" "$data/lab-basic.reel" -p dnsclient -F name==www.example.test. -F qtype==A \
	--whole-flows --no-header --fields id,pkt_type,netns_id,qr)
[ "$(grep -c . <<<"$wf")" = 18 ] || bad "--whole-flows: $(grep -c . <<<"$wf") events, want 18"
[ "$(grep -c ' 4026532609 ' <<<"$wf")" = 10 ] || bad "--whole-flows: the node's rows are not all there"
[ "$(awk '{print $1}' <<<"$wf" | sort -u | tr '\n' ' ')" = "0e14 a418 " ] ||
	bad "--whole-flows: ids $(awk '{print $1}' <<<"$wf" | sort -u | tr '\n' ' ')"
[ "$("$replay" "$data/lab-basic.reel" -p dnsclient -F name==www.example.test. -F qtype==A --no-header | grep -c .)" = 2 ] ||
	bad "without --whole-flows -p keeps only the pod's own rows"

# JSON parses and has trace_dns's layout
if command -v python3 >/dev/null; then
	"$replay" "$tmp/g.reel" -o jsonpretty >"$tmp/jsonpretty.out" || bad "-o jsonpretty"
	python3 - "$tmp/jsonarray.out" "$tmp/jsonl.out" "$tmp/jsonpretty.out" <<'EOF' || bad "json layout"
import json, sys
arr = json.load(open(sys.argv[1]))
lines = [json.loads(l) for l in open(sys.argv[2])]
assert arr == lines, "jsonarray and jsonl disagree"
text, dec, pretty, i = open(sys.argv[3]).read(), json.JSONDecoder(), [], 0
while i < len(text):
    if text[i].isspace():
        i += 1
        continue
    obj, i = dec.raw_decode(text, i)
    pretty.append(obj)
assert pretty == lines, "jsonpretty and jsonl disagree"
assert text.startswith('{\n  "timestamp": '), "jsonpretty is not indented"
for o in arr:
    for k in ("timestamp", "timestamp_raw", "netns_id", "pkt_type", "id", "qr", "qr_raw",
              "qtype", "qtype_raw", "name", "rcode", "rcode_raw", "addresses", "num_answers",
              "latency_ns_raw", "tc", "rd", "ra"):
        assert k in o, k
    for e in ("src", "dst"):
        assert set(("addr", "port", "proto", "version")) <= set(o[e]), o[e]
        assert o[e]["proto"] in ("UDP", "TCP")
    assert set(o["nameserver"]) == {"addr", "version"}
    assert set(o["proc"]) == {"comm", "pid", "tid", "creds"} and set(o["proc"]["creds"]) == {"uid", "gid"}
    assert set(o["k8s"]) == {"node", "namespace", "podName", "containerName"}
    assert set(o["runtime"]) == {"containerName", "containerId"}
    assert o["timestamp"].endswith("Z") and len(o["timestamp"]) == 30
    assert (o["qr"] == "R") == (o["qr_raw"] == 1)
assert any("k8s" in o["src"] for o in arr), "no pod/service endpoint known"
ts = [o["timestamp_raw"] for o in arr]
assert ts == sorted(ts), "not sorted"
EOF
fi

# ---- pcapng through tshark ------------------------------------------------------------------
# "timestamp_raw id name" of each -o jsonl line (fixed layout: the last "name" is the question's)
want_lines() {
	sed -E 's/.*"timestamp_raw":([0-9]+),.*"id":"([0-9a-f]{4})",.*"name":"([^"]*)",.*/\1 \2 \3/'
}
# tshark prints one line per frame, "epoch id[,id...] name[,name...]" (a TCP segment may carry
# several messages): one "ns id name." line per message. Epochs have 9 decimals (if_tsresol 9).
got_lines() {
	awk 'NF >= 3 { n = split($2, ids, ","); split($3, names, ","); sub(/\./, "", $1);
		for (i = 1; i <= n; i++) { id = ids[i]; sub(/^0x/, "", id); print $1, id, names[i] "." } }'
}
if command -v tshark >/dev/null; then
	# Unfiltered: the original packets (TCP segments split, coalesced, out of order) of a
	# capture seen at one hop. Filtered: the matching messages, of a capture seen at every
	# hop (UDP: tshark 4.0 would take copies of one TCP stream at several hops for
	# retransmissions, whatever we write), and of the TCP capture (one segment per message).
	"$synth" -o "$tmp/u.reel" -n 3000 --tcp --seed 8 --block-events 100 >/dev/null || exit 1
	"$synth" -o "$tmp/m.reel" -n 3000 --multi-hop --seed 9 --block-events 100 >/dev/null || exit 1
	for variant in all filtered tcpmsg; do
		args=()
		case $variant in
		all) cap=$tmp/u.reel ;;
		filtered) cap=$tmp/m.reel args=(-F 'qtype!=TXT') ;;
		tcpmsg) cap=$tmp/u.reel args=(-F 'qtype!=SRV') ;;
		esac
		"$replay" "$cap" "${args[@]}" -o pcapng -w "$tmp/$variant.pcapng" ||
			bad "pcapng $variant export exit $?"
		"$replay" "$cap" "${args[@]}" -o jsonl | want_lines >"$tmp/$variant.want"
		tshark -r "$tmp/$variant.pcapng" -o tcp.reassemble_out_of_order:TRUE -Y dns \
			-T fields -E separator=' ' -e frame.time_epoch -e dns.id -e dns.qry.name \
			2>"$tmp/tshark.err" >"$tmp/$variant.tshark" || bad "tshark $variant: $(head -3 "$tmp/tshark.err")"
		got_lines <"$tmp/$variant.tshark" >"$tmp/$variant.got"
		sort "$tmp/$variant.want" >"$tmp/$variant.want.s"
		sort "$tmp/$variant.got" >"$tmp/$variant.got.s"
		n_want=$(wc -l <"$tmp/$variant.want.s") n_got=$(wc -l <"$tmp/$variant.got.s")
		[ "$n_want" -gt 100 ] || bad "pcapng $variant: only $n_want messages"
		extra=$(comm -13 "$tmp/$variant.want.s" "$tmp/$variant.got.s" | wc -l)
		missing=$(comm -23 "$tmp/$variant.want.s" "$tmp/$variant.got.s" | wc -l)
		# The original segments (variant all) keep the synthetic reordering: tshark does not
		# dissect a segment whose sequence lies before the first one it saw of a stream caught
		# midway (no SYN), which the decoder does reassemble. Allow those few, nothing else.
		allowed=0
		[ $variant = all ] && allowed=$((n_want / 100))
		if [ "$extra" -ne 0 ] || [ "$missing" -gt "$allowed" ]; then
			bad "pcapng $variant: tshark sees $n_got messages, replay $n_want ($extra unknown to replay, $missing not seen by tshark); first differences:"
			diff "$tmp/$variant.want.s" "$tmp/$variant.got.s" | head -10
		elif [ "$missing" -gt 0 ]; then
			echo "note: pcapng $variant: $missing of $n_want messages in segments tshark calls out of order before the stream start"
		fi
		# every packet decodes as DNS with good checksums, and comments carry the context
		total=$(tshark -r "$tmp/$variant.pcapng" 2>/dev/null | wc -l)
		dns=$(tshark -r "$tmp/$variant.pcapng" -Y 'dns || tcp.len>0' 2>/dev/null | wc -l)
		[ "$total" -gt 0 ] || bad "pcapng $variant: no packets"
		[ "$total" = "$dns" ] || bad "pcapng $variant: $total packets, $dns DNS"
		badsum=$(tshark -r "$tmp/$variant.pcapng" -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE \
			-o ip.check_checksum:TRUE -Y 'ip.checksum.status==0 || udp.checksum.status==0 || tcp.checksum.status==0' 2>/dev/null | wc -l)
		[ "$badsum" = 0 ] || bad "pcapng $variant: $badsum packets with bad checksums"
		# one interface per (netns, ifindex), named after its pod or netns
		nif=$(tshark -r "$tmp/$variant.pcapng" -T fields -e frame.interface_id 2>/dev/null | sort -u | wc -l)
		nns=$("$replay" "$cap" "${args[@]}" --fields netns_id,ifindex --no-header | sort -u | wc -l)
		[ "$nif" = "$nns" ] || bad "pcapng $variant: $nif interfaces for $nns (netns, ifindex) pairs"
		tshark -r "$tmp/$variant.pcapng" -T fields -e frame.interface_name -e frame.interface_description \
			2>/dev/null | grep -q '/.*:if[0-9]*	k8s.node=.* k8s.namespace=.* k8s.podname=.* netns=[0-9]*' ||
			bad "pcapng $variant: interface names/descriptions"
		tshark -r "$tmp/$variant.pcapng" -T fields -e frame.comment -c 50 2>/dev/null |
			grep -q 'pod=.* comm=.* pid=[0-9]* .*pkt_type=' || bad "pcapng $variant: no context comments"
	done
	# the lab's real traffic, every hop: UDP (see above for TCP at several hops)
	for cap in "$data"/*.reel; do
		[ -d "$cap" ] || continue
		"$replay" "$cap" -F proto==UDP -o pcapng -w "$tmp/lab.pcapng" || bad "lab pcapng exit $?"
		"$replay" "$cap" -F proto==UDP -o jsonl | want_lines | sort >"$tmp/lab.want"
		tshark -r "$tmp/lab.pcapng" -Y dns -T fields -E separator=' ' -e frame.time_epoch \
			-e dns.id -e dns.qry.name 2>/dev/null | got_lines | sort >"$tmp/lab.got"
		badsum=$(tshark -r "$tmp/lab.pcapng" -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE \
			-Y 'ip.checksum.status==0 || udp.checksum.status==0' 2>/dev/null | wc -l)
		[ "$badsum" = 0 ] || bad "lab pcapng: $badsum packets with bad checksums"
		[ "$(tshark -r "$tmp/lab.pcapng" -Y ipv6 2>/dev/null | wc -l)" -gt 0 ] ||
			echo "note: lab pcapng: no IPv6 packets to check"
		cmp -s "$tmp/lab.want" "$tmp/lab.got" || {
			bad "lab pcapng: tshark $(wc -l <"$tmp/lab.got") messages, replay $(wc -l <"$tmp/lab.want")"
			diff "$tmp/lab.want" "$tmp/lab.got" | head -5
		}
	done
	# every hop of the lab's TCP too, read as the man page says (sequence analysis off): each
	# copy of a segment at each observation point dissects as DNS
	for cap in "$data"/*.reel; do
		[ -d "$cap" ] || continue
		"$replay" "$cap" -o pcapng -w "$tmp/labtcp.pcapng" || bad "lab pcapng (tcp) exit $?"
		"$replay" "$cap" -o jsonl | want_lines | sort >"$tmp/labtcp.want"
		tshark -r "$tmp/labtcp.pcapng" -o tcp.analyze_sequence_numbers:FALSE -Y dns -T fields \
			-E separator=' ' -e frame.time_epoch -e dns.id -e dns.qry.name 2>/dev/null |
			got_lines | sort >"$tmp/labtcp.got"
		grep -q . "$tmp/labtcp.want" || bad "lab capture without messages"
		cmp -s "$tmp/labtcp.want" "$tmp/labtcp.got" || {
			bad "lab pcapng with TCP at every hop: tshark $(wc -l <"$tmp/labtcp.got") messages, replay $(wc -l <"$tmp/labtcp.want")"
			diff "$tmp/labtcp.want" "$tmp/labtcp.got" | head -5
		}
	done
	capinfos "$tmp/all.pcapng" 2>/dev/null | grep -q 'LINUX_SLL2\|Linux cooked-mode capture v2' ||
		bad "pcapng: link type is not LINUX_SLL2"
else
	echo "skip: tshark not installed"
fi

# an export cut short (the file size limit stands in for a full disk) is removed, not left to
# pass for a whole one; a device (/dev/full) is never removed
(
	ulimit -f 16
	trap '' XFSZ
	exec "$replay" "$data/lab-basic.reel" -o pcapng -w "$tmp/cut.pcapng"
) 2>"$tmp/cutw.err"
rc=$?
[ $rc = 1 ] || bad "export into a full file: exit $rc, want 1"
[ -e "$tmp/cut.pcapng" ] && bad "a partial export was left behind"
grep -q 'removed the partial output' "$tmp/cutw.err" || bad "partial export: $(cat "$tmp/cutw.err")"

# ---- progress: on a terminal only, with rate and time left; -q silences it -----------------
if command -v script >/dev/null; then
	"$synth" -o "$tmp/p.reel" -n 100000 --multi-hop --block-events 1000 >/dev/null || exit 1
	DNSREEL_PROGRESS_DELAY=0 script -qec "'$replay' '$tmp/p.reel' >/dev/null" "$tmp/tty.txt" >/dev/null
	tr '\r' '\n' <"$tmp/tty.txt" | grep -aqE 'events [0-9]+/100000 +[0-9]+%, [0-9.]+[kM]? events/s' ||
		bad "no progress line on a terminal: $(tr '\r' '\n' <"$tmp/tty.txt" | head -3)"
	DNSREEL_PROGRESS_DELAY=0 script -qec "'$replay' -q '$tmp/p.reel' >/dev/null" "$tmp/tty.txt" >/dev/null
	grep -aq 'events/s' "$tmp/tty.txt" && bad "-q still shows progress"
	DNSREEL_PROGRESS_DELAY=0 "$replay" "$tmp/p.reel" >/dev/null 2>"$tmp/notty.err"
	[ -s "$tmp/notty.err" ] && bad "progress on stderr that is no terminal: $(head -c 200 "$tmp/notty.err")"
else
	bad "script (util-linux) missing: cannot test progress on a terminal"
fi

# ---- damaged captures -----------------------------------------------------------------------
full=$("$replay" "$tmp/h.reel" --no-header | wc -l)
# Frames sit after the context records at the start of a segment: aim at the frames the
# index lists (segment, offset, length), flipping bytes inside the second and cutting the last.
frames() { sqlite3 -separator ' ' "$1/index.sqlite" "SELECT segment, offset, length FROM frames ORDER BY segment, offset"; }
cp -r "$tmp/h.reel" "$tmp/flip.reel"
read -r fseg foff flen < <(frames "$tmp/flip.reel" | sed -n 2p)
seg=$(printf '%s/flip.reel/seg/%06d.zst' "$tmp" "$fseg")
printf '\xde\xad\xbe\xef\xde\xad\xbe\xef' | dd of="$seg" bs=1 seek=$((foff + flen / 2)) conv=notrunc 2>/dev/null
"$replay" "$tmp/flip.reel" --no-header >"$tmp/flip.out" 2>"$tmp/flip.err"
rc=$?
got=$(wc -l <"$tmp/flip.out")
[ $rc -eq 1 ] || bad "flipped bytes: exit $rc, want 1"
grep -q "seg/$(printf %06d "$fseg").zst.*offset $foff" "$tmp/flip.err" ||
	bad "flipped bytes: damage not named (segment $fseg offset $foff): $(cat "$tmp/flip.err")"
[ "$got" -gt 0 ] && [ "$got" -lt "$full" ] || bad "flipped bytes: $got of $full lines"

cp -r "$tmp/h.reel" "$tmp/cut.reel"
read -r fseg foff flen < <(frames "$tmp/cut.reel" | tail -1)
seg=$(printf '%s/cut.reel/seg/%06d.zst' "$tmp" "$fseg")
truncate -s $((foff + flen / 2)) "$seg"
"$replay" "$tmp/cut.reel" --no-header >"$tmp/cut.out" 2>"$tmp/cut.err"
rc=$?
got=$(wc -l <"$tmp/cut.out")
[ $rc -eq 1 ] || bad "cut segment: exit $rc, want 1"
grep -q "seg/$(printf %06d "$fseg").zst.*offset" "$tmp/cut.err" || bad "cut segment: damage not named: $(cat "$tmp/cut.err")"
[ "$got" -gt 0 ] && [ "$got" -lt "$full" ] || bad "cut segment: $got of $full lines"

# the index lost (recorder killed before writing it): replay from the segments
cp -r "$tmp/h.reel" "$tmp/noidx.reel"
rm -f "$tmp/noidx.reel/index.sqlite"*
got=$("$replay" "$tmp/noidx.reel" --no-header 2>"$tmp/noidx.err" | wc -l)
[ "$got" = "$full" ] || bad "no index: $got of $full lines ($(head -2 "$tmp/noidx.err"))"

# a newer format is refused clearly
cp -r "$tmp/h.reel" "$tmp/new.reel"
if command -v sqlite3 >/dev/null && sqlite3 "$tmp/new.reel/index.sqlite" \
	"UPDATE capture_info SET value=99 WHERE key='format_major'" 2>/dev/null; then
	"$replay" "$tmp/new.reel" >/dev/null 2>"$tmp/new.err"
	rc=$?
	[ $rc -eq 1 ] || bad "newer format: exit $rc, want 1"
	grep -qiE 'newer|upgrade' "$tmp/new.err" || bad "newer format: unclear message: $(cat "$tmp/new.err")"
fi

# ---- usage ----------------------------------------------------------------------------------
expect() { # rc args...
	local want=$1
	shift
	"$replay" "$@" >"$tmp/u.out" 2>"$tmp/u.err"
	local rc=$?
	[ $rc -eq "$want" ] || bad "'$*': exit $rc, want $want ($(head -1 "$tmp/u.err"))"
	if [ "$want" = 2 ]; then
		[ -s "$tmp/u.out" ] && bad "'$*': usage error wrote to stdout"
		grep -q -- '--help' "$tmp/u.err" || bad "'$*': no usage hint"
	fi
}
expect 0 --help
expect 2
expect 2 "$tmp/h.reel" -F 'nosuchfield==1'
expect 2 "$tmp/h.reel" -F 'name'
expect 2 "$tmp/h.reel" --fields name,bogus
expect 2 "$tmp/h.reel" -o xml
expect 2 "$tmp/h.reel" --since yesterday-ish
# past int64 ns (+-292 years) and inverted windows are refused, not wrapped or emptied
expect 2 "$tmp/h.reel" --since 2263-01-01T00:00:00Z
expect 2 "$tmp/h.reel" --until 1600-01-01
expect 2 "$tmp/h.reel" --since 2026-05-28T22:00:00Z --until 2026-05-28T21:00:00Z
expect 2 "$tmp/h.reel" -F 'latency_ns>1e99'
expect 2 "$tmp/h.reel" --bogus
expect 1 "$tmp/does-not-exist.reel"
"$replay" --help | grep -q '^Usage: dnsreel-replay' || bad "--help usage line"

# --stats on stderr only; nothing matched gives an empty JSON array; a full disk is a failure
"$replay" "$tmp/h.reel" --stats -F name==no.such.name. -o jsonarray >"$tmp/s.out" 2>"$tmp/s.err" ||
	bad "--stats run failed"
grep -q '^frames read [0-9]*/[0-9]* (pruned [0-9]*, damaged 0), events' "$tmp/s.err" ||
	bad "--stats line: $(cat "$tmp/s.err")"
[ "$(cat "$tmp/s.out")" = "[]" ] || bad "empty json: $(head -c 100 "$tmp/s.out")"
if [ -w /dev/full ]; then
	"$replay" "$tmp/h.reel" -o jsonl -w /dev/full 2>"$tmp/full.err"
	rc=$?
	[ $rc -eq 1 ] || bad "-w /dev/full: exit $rc, want 1"
	grep -qi 'space' "$tmp/full.err" || bad "-w /dev/full: $(cat "$tmp/full.err")"
fi

[ $fail -eq 0 ] && echo "ok: dnsreel-replay cli tests"
exit $fail
