#!/usr/bin/env bash
# Lab test: two "nodes" merged give the flows of one recorder seeing both.
#
# Three recorders run at once on the lab: "one" sees every netns (as one node), "a"
# (--node node-a) only the app pod and the node netns, "b" (--node node-b) only the forwarder
# (CoreDNS role) and the upstream. A pod of node A asking the forwarder recorded by node B is a
# flow crossing the two captures (client and DNAT hops on A, forwarder and upstream on B, the
# forwarder's upstream query back through A's node netns). Checks:
#  - merge a b and merge b a give the same parts and the same replay, byte for byte;
#  - the merged capture's flows equal those of replaying a and b together (flow ids too), and
#    those of the one recorder in everything but ids and times (name, type, client, outcome,
#    rcode and where it came from, retries, every hop's role/netns/interface/packet type/id,
#    upstream tries);
#  - merging a with itself keeps it once (a warning says so);
#  - the manifest records each input's root hash as verify computes it;
#  - info, verify and query on the merged capture: per node counts equal each input's.
#
# Usage: test_merge.sh BINDIR     (exit 77 = skipped)
set -uo pipefail
BIN=${1:?usage: test_merge.sh BINDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
lab_require ip iptables unbound nsd dig python3 "$BIN/dnsreel-record" "$BIN/dnsreel-replay" \
	"$BIN/dnsreel-query" "$BIN/dnsreel-merge"
lab_start drm

app() { "$LAB_SH" exec app "$@" >>"$WORK/client.out" 2>&1; }

# rec NAME ARGS...: a recorder writing $WORK/NAME.reel, ready once every netns is attached
rec_pids=()
rec() {
	local name=$1 i
	shift
	"$BIN/dnsreel-record" -w "$WORK/$name.reel" --pod-logs "$LAB_POD_LOGS" --flush 200ms \
		--ready-file "$WORK/$name.ready" "$@" 2>"$WORK/$name.err" &
	rec_pids+=($!)
	LAB_PIDS+=($!)
	for i in $(seq 200); do
		[[ -e $WORK/$name.ready ]] && return 0
		kill -0 $! 2>/dev/null || break
		sleep 0.05
	done
	cat "$WORK/$name.err" >&2
	fail "recorder $name did not become ready"
}
rec one --node "$LAB_NODE_NAME" --netns "${LAB_NETNS// /,}"
rec a --node node-a --netns "$LAB_NS_APP,$LAB_NS_NODE"
rec b --node node-b --netns "$LAB_NS_DNS,$LAB_NS_UP"

D=(dig +tries=1 +time=2)
app "${D[@]}" m1.w.example.test
app "${D[@]}" m2.w.example.test AAAA
app "${D[@]}" kubernetes.default.svc.cluster.local
app "${D[@]}" nxm.example.test
app "${D[@]}" nxm2.default.svc.cluster.local
app "${D[@]}" sfm.broken.test
app "${D[@]}" +tcp tcpm.w.example.test
for i in 1 2 3 4 5; do app "${D[@]}" "many$i.w.example.test"; done

sleep 0.3 # the last responses reach every tap
for p in "${rec_pids[@]}"; do kill -INT "$p"; done
for p in "${rec_pids[@]}"; do wait "$p" || fail "a recorder exited $?"; done
grep -q "status: NXDOMAIN" "$WORK/client.out" || fail "no NXDOMAIN answer"

M=$BIN/dnsreel-merge R=$BIN/dnsreel-replay
$M "$WORK/a.reel" "$WORK/b.reel" -o "$WORK/ab.reel" 2>"$WORK/merge.err" ||
	fail "merge a b: $(cat "$WORK/merge.err")"
$M "$WORK/b.reel" "$WORK/a.reel" -o "$WORK/ba.reel" 2>>"$WORK/merge.err" || fail "merge b a"
for m in ab ba; do
	[[ $(ls "$WORK/$m.reel/parts") == "001-node-a.reel
002-node-b.reel" ]] || fail "$m: parts $(ls "$WORK/$m.reel/parts")"
done
cmp -s "$WORK/a.reel/seg/000001.zst" "$WORK/ab.reel/parts/001-node-a.reel/seg/000001.zst" ||
	fail "part 1 is not a byte copy of a"

# order independence: the same replay (capture paths aside)
for m in ab ba; do
	$R "$WORK/$m.reel" -o jsonl | sed "s|$WORK/$m.reel|MERGED|g" >"$WORK/$m.events" ||
		fail "replay $m"
	$R "$WORK/$m.reel" --flows -o jsonl --no-events >"$WORK/$m.flows" || fail "replay --flows $m"
done
cmp -s "$WORK/ab.events" "$WORK/ba.events" || fail "merge a b and merge b a replay differently"
cmp -s "$WORK/ab.flows" "$WORK/ba.flows" || fail "merge a b and merge b a give other flows"
n_ab=$(wc -l <"$WORK/ab.events")
n_a=$($R "$WORK/a.reel" -o jsonl | wc -l) n_b=$($R "$WORK/b.reel" -o jsonl | wc -l)
[[ $n_ab -gt 0 && $n_ab == $((n_a + n_b)) ]] || fail "merged events $n_ab != $n_a + $n_b"

$R "$WORK/a.reel" "$WORK/b.reel" --flows -o jsonl --no-events >"$WORK/a+b.flows" ||
	fail "replay a b --flows"
$R "$WORK/one.reel" --flows -o jsonl --no-events >"$WORK/one.flows" || fail "replay one --flows"

# flows: merged = a and b replayed together (ids included), and = one recorder (shape)
python3 - "$WORK/ab.flows" "$WORK/a+b.flows" "$WORK/one.flows" <<'EOF' || fail "flows differ"
import json, sys
def load(p):
    return [json.loads(l) for l in open(p)]
ab, apb, one = (load(p) for p in sys.argv[1:4])
if [f["flow_id"] for f in ab] != [f["flow_id"] for f in apb]:
    sys.exit("merged flow ids differ from replaying both captures together")
def shape(f):
    c = f["client"]
    hops = tuple((h["role"], h["netns_id"], h["ifindex"], h["pkt_type"], h["direction"],
                  h["id"], h["transaction"]) for h in f["hops"])
    ups = tuple((u["id"], u["server"], u["rcode"], u["answered"], u["used"])
                for u in f.get("upstream") or [])
    return (f["name"], f["qtype"], c.get("addr"), c.get("port"), c.get("netns_id"),
            c.get("role"), f["outcome"], f["rcode"], f["rcode_origin"], f["retries"],
            json.dumps(f["lost"], sort_keys=True), hops, ups)
sa, so = sorted(map(shape, ab)), sorted(map(shape, one))
cross = [s for s in sa if {h[0] for h in s[11]} >= {"client", "forwarder"}]
if len(cross) < 8:
    sys.exit("only %d flows cross the two nodes (client and forwarder hops)" % len(cross))
if sa != so:
    for x in sorted(set(sa) ^ set(so))[:6]:
        print("merged" if x in sa else "one   ", x, file=sys.stderr)
    sys.exit("merged flows (%d) differ from one recorder's (%d)" % (len(sa), len(so)))
print("flows: %d, %d crossing nodes, equal to one recorder's" % (len(sa), len(cross)))
EOF

# the same capture twice: kept once, said so
$M "$WORK/a.reel" "$WORK/a.reel" -o "$WORK/aa.reel" 2>"$WORK/aa.err" || fail "merge a a"
grep -q "the same capture as" "$WORK/aa.err" || fail "merge a a: no duplicate warning"
[[ $(ls "$WORK/aa.reel/parts" | wc -l) == 1 ]] || fail "merge a a: not one part"
[[ $($R "$WORK/aa.reel" -o jsonl | wc -l) == "$n_a" ]] || fail "merge a a doubled events"
# merging the merged capture with one of its inputs adds nothing
$M "$WORK/ab.reel" "$WORK/b.reel" -o "$WORK/abb.reel" 2>/dev/null || fail "merge ab b"
[[ $($R "$WORK/abb.reel" -o jsonl | wc -l) == "$n_ab" ]] || fail "merge ab b doubled events"
# an existing output is never touched
$M "$WORK/a.reel" -o "$WORK/ab.reel" 2>/dev/null && fail "merge over an existing capture"

# custody: each part's root hash recorded as verify computes it for the input
for x in a b; do
	root=$("$BIN/dnsreel-verify" "$WORK/$x.reel" 2>/dev/null | awk '/: root / {print $NF}')
	[[ -n $root ]] || fail "verify $x printed no root hash"
	"$BIN/dnsreel-info" -o json "$WORK/ab.reel" | grep -q "\"root_hash\":\"$root\"" ||
		fail "the merged capture does not record $x's root $root"
done

# info, verify, query on the merged capture
info=$("$BIN/dnsreel-info" "$WORK/ab.reel") || fail "info ab"
grep -qE '^capture: .*\(merged, 2 parts\)' <<<"$info" || fail "info: not shown as merged"
grep -qE '^  1 +node-a ' <<<"$info" && grep -qE '^  2 +node-b ' <<<"$info" ||
	fail "info: inputs not listed: $info"
"$BIN/dnsreel-verify" "$WORK/ab.reel" >"$WORK/verify.out" 2>&1 ||
	fail "verify ab: $(cat "$WORK/verify.out")"
got=$("$BIN/dnsreel-query" -o csv --no-header "$WORK/ab.reel" \
	"SELECT k8s_node, count(*) FROM dns GROUP BY 1 ORDER BY 1") || fail "query ab"
[[ $got == "node-a,$n_a
node-b,$n_b" ]] || fail "query per node: $got (want node-a $n_a, node-b $n_b)"
got=$("$BIN/dnsreel-query" -o csv --no-header "$WORK/ab.reel" "SELECT count(*) FROM flows") &&
	want=$("$BIN/dnsreel-query" -o csv --no-header "$WORK/one.reel" "SELECT count(*) FROM flows") ||
	fail "query flows"
[[ $got == "$want" ]] || fail "flows table: merged $got, one recorder $want"
echo "PASS"
