#!/usr/bin/env bash
# diagnose_cli.sh DIAGNOSE SRCDIR: dnsreel-diagnose on the lab capture tests/data/lab-basic.reel.
#  - golden: text and json diffed against golden/lab-basic.diagnose.{txt,json}
#    (UPDATE_GOLDEN=1 rewrites them; review the diff against tests/data/README.md)
#  - truth: what tests/data/README.md lists, asserted on the json: x.broken.test SERVFAIL from
#    the upstream after several tries, one ndots:5 walk of three NXDOMAIN, one truncated answer
#    retried over TCP, and nothing else
#  - selection (-p, -F, --since) narrows the findings; exit 0 without findings, 3 with, 2 usage
set -u
diag=$(realpath "$1") src=$(realpath "$2")
. "$src/../common/require.sh"
require python3
golden=$src/golden
# relative, as a user types it: the replay lines in the golden files name it so
cd "$src/../data" || exit 1
cap=lab-basic.reel
tmp=$(mktemp -d /tmp/dnsreel-diagnose-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

check_golden() { # name args...
	local name=$1
	shift
	"$diag" "$cap" "$@" >"$tmp/$name" 2>"$tmp/$name.err"
	local rc=$?
	[ $rc -eq 3 ] || { bad "$name: exit $rc, want 3: $(head -3 "$tmp/$name.err")"; return; }
	if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
		cp "$tmp/$name" "$golden/$name"
	elif ! diff -u "$golden/$name" "$tmp/$name" >"$tmp/$name.diff"; then
		bad "$name differs from golden/$name:"
		head -20 "$tmp/$name.diff"
	fi
}
check_golden lab-basic.diagnose.txt
check_golden lab-basic.diagnose.json -o json

python3 - "$tmp/lab-basic.diagnose.json" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
got = sorted((f["id"], f["subject"], f["count"]) for f in d["findings"])
want = sorted([("upstream-servfail", "10.254.0.2:53", 5), ("search-path", "default/dnsclient", 1),
               ("truncation", "", 1)])
ok = True
def check(cond, what):
    global ok
    if not cond:
        print("FAIL:", what); ok = False
check(got == want, f"findings {got}, want {want}")
f = {x["id"]: x for x in d["findings"]}
sp = f.get("search-path", {}).get("numbers", {})
check(sp.get("nxdomain_before_answer") == 3, f"search-path: {sp}")
tc = f.get("truncation", {}).get("numbers", {})
check(tc.get("tcp_retries") == 1 and tc.get("tcp_size_max", 0) > 2000, f"truncation: {tc}")
sf = f.get("upstream-servfail", {})
check(sf.get("numbers", {}).get("client_flows_failed") == 1 and sf.get("pods") == ["default/dnsclient"],
      f"servfail: {sf}")
check(d["schema"] == 1 and d["unanswered"] == 0, "schema / unanswered")
sys.exit(0 if ok else 1)
PY

# the replay line of a finding shows its flow
line=$(python3 -c 'import json,sys; print([f["replay"] for f in json.load(sys.stdin)["findings"] if f["id"]=="upstream-servfail"][0])' <"$tmp/lab-basic.diagnose.json")
replay=$(dirname "$diag")/dnsreel-replay
set -- $line
shift 2
"$replay" "$@" -o jsonl | python3 -c '
import json, sys
fl = [json.loads(l) for l in sys.stdin]
assert len(fl) == 1 and fl[0]["name"] == "x.broken.test." and fl[0]["rcode"] == "ServerFailure", fl
' || bad "the servfail replay line does not show the x.broken.test. flow: $line"

# selection: a filter that leaves only clean flows gives no findings and exit 0
"$diag" "$cap" -F name==www.example.test. >"$tmp/clean" 2>&1
rc=$?
[ $rc -eq 0 ] || bad "-F name==www.example.test.: exit $rc, want 0: $(cat "$tmp/clean")"
grep -q '^no findings in ' "$tmp/clean" || bad "clean: no 'no findings' line: $(cat "$tmp/clean")"
"$diag" "$cap" -F rcode==ServerFailure -o json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [f["id"] for f in d["findings"]] == ["upstream-servfail"], d' || bad "-F rcode==ServerFailure"
"$diag" "$cap" -p nosuchpod >/dev/null
[ $? -eq 0 ] || bad "-p nosuchpod: want exit 0"
"$diag" "$cap" --since 2030-01-01T00:00:00Z >/dev/null
[ $? -eq 0 ] || bad "--since after the capture: want exit 0"
"$diag" "$cap" -w "$tmp/w.json" -o json >/dev/null
[ $? -eq 3 ] && cmp -s "$tmp/w.json" "$tmp/lab-basic.diagnose.json" || bad "-w FILE differs from stdout"

# the recorder's own losses (a copy whose counters say it lost events) are a finding of their
# own, and the unanswered count stays as it was
if command -v sqlite3 >/dev/null; then
	cp -r "$cap" "$tmp/lossy.reel"
	sqlite3 "$tmp/lossy.reel/index.sqlite" \
		"UPDATE counters SET value = 7 WHERE name = 'lost.proc.cpu0';
		 INSERT OR REPLACE INTO counters VALUES ('lost.ringbuf.cpu1', 5)"
	"$diag" "$tmp/lossy.reel" -o json | python3 -c '
import json, sys
d = json.load(sys.stdin)
f = [x for x in d["findings"] if x["id"] == "recorder-loss"]
# lost.proc.* are process records, not packets: listed, not counted
assert len(f) == 1 and f[0]["count"] == 5 and f[0]["subject"].endswith("lossy.reel"), f
n = f[0]["numbers"]
assert n["events_lost"] == 5 and n["lost.proc.cpu0"] == 7 and n["lost.ringbuf.cpu1"] == 5, n
assert len(d["findings"]) == 4, d["findings"]' || bad "recorder-loss from the capture counters"
fi

# usage errors exit 2; a missing capture exits 1 naming it
for args in "" "$cap -o yaml" "$cap --examples 0" "$cap --race-gap x" "$cap -F nosuch==1" \
	"$cap --since 2030-01-01T00:00:00Z --until 2029-01-01T00:00:00Z"; do
	# shellcheck disable=SC2086
	"$diag" $args >/dev/null 2>"$tmp/u.err"
	rc=$?
	[ $rc -eq 2 ] || bad "'$args': exit $rc, want 2"
	grep -q "^dnsreel-diagnose: " "$tmp/u.err" || bad "'$args': no message: $(cat "$tmp/u.err")"
done
"$diag" "$tmp/nonexistent.reel" >/dev/null 2>"$tmp/m.err"
rc=$?
[ $rc -eq 1 ] || bad "missing capture: exit $rc, want 1"
grep -q "nonexistent.reel" "$tmp/m.err" || bad "missing capture: message does not name it"

[ $fail = 0 ] && echo "ok: diagnose cli"
exit $fail
