#!/usr/bin/env bash
# report_cli.sh BINDIR MKHOSTILE DATADIR: dnsreel-report on the lab capture and on a hostile one.
#  - usage errors exit 2; an existing FILE is refused without --force (exit 1, left as it was),
#    replaced with it; -o - writes the same page to stdout; a full disk exits 1 and leaves no
#    file; nothing named FILE.part* is ever left behind
#  - the page's counts equal dnsreel query's over the same capture (flows, outcomes, names,
#    pods, slowest and broken rows) and its findings dnsreel diagnose's
#  - the page names no URL and loads nothing; a capture's markup reaches it only as text
set -u
bin=$1 mkhostile=$2 data=$3
cap=$data/lab-basic.reel
fail=0
bad() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rep=$bin/dnsreel-report q=$bin/dnsreel-query

"$rep" "$cap" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] || bad "no -o exited $rc, want 2"
grep -q -- '-o FILE is required' "$tmp/err" || bad "no -o: $(cat "$tmp/err")"
"$rep" -o "$tmp/x.html" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || bad "no capture exited $rc, want 2"
"$rep" "$cap" -o "$tmp/x.html" --top 0 >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || bad "--top 0 exited $rc, want 2"
"$rep" "$tmp/none.reel" -o "$tmp/x.html" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] || bad "a missing capture exited $rc, want 1"
[ -e "$tmp/x.html" ] && bad "a failed run left $tmp/x.html"

page=$tmp/lab.html
"$rep" "$cap" -o "$page" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] || bad "report exited $rc: $(cat "$tmp/err")"
[ -s "$tmp/err" ] && bad "report wrote to stderr: $(cat "$tmp/err")"
[ -s "$page" ] || bad "no page written"
echo keep >"$tmp/keep.html"
"$rep" "$cap" -o "$tmp/keep.html" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] || bad "an existing FILE without --force exited $rc, want 1"
grep -q 'exists.*--force' "$tmp/err" || bad "existing FILE: $(cat "$tmp/err")"
[ "$(cat "$tmp/keep.html")" = keep ] || bad "an existing FILE was changed without --force"
"$rep" "$cap" -o "$tmp/keep.html" --force 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] || bad "--force exited $rc: $(cat "$tmp/err")"
grep -q '</html>' "$tmp/keep.html" || bad "--force did not replace FILE"
"$rep" "$cap" -o - >"$tmp/stdout.html" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] || bad "-o - exited $rc"
# the same page but for the time it was written
diff <(grep -v 'Written by' "$page") <(grep -v 'Written by' "$tmp/stdout.html") >/dev/null ||
	bad "-o - and -o FILE differ"
if [ -w /dev/full ]; then
	"$rep" "$cap" -o - >/dev/full 2>"$tmp/err"; rc=$?
	[ $rc -eq 1 ] || bad "-o - into a full disk exited $rc, want 1"
fi
ls "$tmp" | grep -q '\.part' && bad "a temporary file was left: $(ls "$tmp")"

# Every table row the page has, by table id: the rows of <tbody> between <table id=X> and its end.
rows() { awk -v id="$2" '$0 ~ "<table id=\"" id "\">" {t = 1} t && /<tr><td/ {n++} t && /<\/table>/ {t = 0} END {print n + 0}' "$1"; }
cell() { # page table-id row-label: the first number cell of the row whose first cell is label
	awk -v id="$2" -v lab="$3" '$0 ~ "<table id=\"" id "\">" {t = 1} t && /<\/table>/ {t = 0}
		t && index($0, "<tr><td>" lab "</td>") {match($0, /<td class="n"[^>]*>[0-9]+/); s = substr($0, RSTART, RLENGTH); sub(/.*>/, "", s); print s; exit}' "$1"
}
flows=$("$q" "$cap" "SELECT count(*) FROM flows" | tail -1 | tr -d ' ')
grep -q "id=\"sum-flows\">$flows " "$page" || bad "summary flows: want $flows: $(grep -o 'id="sum-flows">[^<]*' "$page")"
events=$("$bin/dnsreel-info" -o json "$cap" | jq .events)
grep -q "id=\"sum-events\">$events<" "$page" || bad "summary events: want $events"
for pair in "Success|outcome='answered' AND rcode='Success'" \
	"NameError (NXDOMAIN)|rcode='NameError'" "ServerFailure|rcode='ServerFailure'" \
	"unanswered|outcome='unanswered'"; do
	lab=${pair%%|*} where=${pair#*|}
	want=$("$q" "$cap" "SELECT count(*) FROM flows WHERE $where" | tail -1 | tr -d ' ')
	got=$(cell "$page" outcomes "$lab")
	[ "$got" = "$want" ] || bad "outcome $lab: page $got, query $want"
done
names=$("$q" "$cap" "SELECT count(DISTINCT name) FROM flows" | tail -1 | tr -d ' ')
[ "$(rows "$page" top-names)" = "$((names < 10 ? names : 10))" ] ||
	bad "top names rows $(rows "$page" top-names), want min($names, 10)"
top=$("$q" "$cap" "SELECT name || ' ' || count(*) FROM flows GROUP BY name ORDER BY count(*) DESC, name LIMIT 1" | tail -1 | sed 's/ *$//')
grep -q "<td>${top% *}</td><td class=\"n\">${top##* }</td>" "$page" || bad "top name '$top' not in the table"
pods=$("$q" "$cap" "SELECT count(DISTINCT client_k8s_namespace || '/' || client_k8s_podname) FROM flows" | tail -1 | tr -d ' ')
[ "$(rows "$page" top-pods)" = "$pods" ] || bad "top pods rows $(rows "$page" top-pods), want $pods"
answered=$("$q" "$cap" "SELECT count(*) FROM flows WHERE outcome='answered'" | tail -1 | tr -d ' ')
broken=$("$q" "$cap" "SELECT count(*) FROM flows WHERE outcome='unanswered' OR rcode!='Success'" | tail -1 | tr -d ' ')
ws=$((answered < 10 ? answered : 10)) wb=$((broken < 10 ? broken : 10))
[ "$(rows "$page" slowest-table)" = "$ws" ] || bad "slowest rows $(rows "$page" slowest-table), want $ws"
[ "$(rows "$page" broken-table)" = "$wb" ] || bad "broken rows $(rows "$page" broken-table), want $wb"
[ "$(grep -c '<svg class="seq"' "$page")" = "$((ws + wb))" ] || bad "sequence diagrams: $(grep -c '<svg class="seq"' "$page"), want $((ws + wb))"
slowest=$("$q" "$cap" "SELECT flow_id FROM flows WHERE outcome='answered' ORDER BY latency_ns DESC LIMIT 1" | tail -1 | tr -d ' ')
grep -q "id=\"slowest-$slowest\"" "$page" || bad "the slowest flow $slowest is not drawn"
nfind=$("$bin/dnsreel-diagnose" -o json "$cap" | jq '.findings | length')
[ "$(rows "$page" findings-table)" = "$nfind" ] || bad "findings rows $(rows "$page" findings-table), want $nfind (diagnose)"
for id in $("$bin/dnsreel-diagnose" -o json "$cap" | jq -r '.findings[].id'); do
	grep -q "<code>$id</code>" "$page" || bad "finding $id not in the page"
done
[ "$(grep -c '<svg class="chart"' "$page")" = 6 ] || bad "charts: $(grep -c '<svg class="chart"' "$page"), want 6"

# Selection as replay --flows takes it: the page counts the flows replay prints
for sel in "-F rcode!=Success" "-F outcome==answered -F qtype==A" "-n kube-system" "-F name~^mail\\."; do
	# shellcheck disable=SC2086
	want=$("$bin/dnsreel-replay" "$cap" --flows -o csv --no-header $sel | wc -l)
	# shellcheck disable=SC2086
	"$rep" "$cap" $sel -o "$tmp/sel.html" --force 2>"$tmp/err" || bad "report $sel: $(cat "$tmp/err")"
	grep -q "id=\"sum-flows\">$want " "$tmp/sel.html" ||
		bad "report $sel: $(grep -o 'id="sum-flows">[^<]*' "$tmp/sel.html"), replay --flows printed $want"
done

# Nothing external: no URL, no protocol-relative reference, no fetching attribute.
external() {
	grep -noE 'https?:|//|src=|href="[^#]|url\([^#]|@import|<link|<iframe|<object|<embed' "$1" | head
}
hits=$(external "$page")
[ -z "$hits" ] || bad "external references in the page:
$hits"

"$mkhostile" "$tmp/hostile.reel" || bad "mkhostile failed"
"$rep" "$tmp/hostile.reel" -o "$tmp/hostile.html" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] || bad "hostile report exited $rc: $(cat "$tmp/err")"
h=$tmp/hostile.html
[ "$(grep -c '<script>' "$h")" = 1 ] || bad "hostile: more than the page's own script"
grep -qiE '<img|<b id|<i id|onerror="' "$h" && bad "hostile markup reached the page: $(grep -oiE '.{20}(<img|<b id|<i id|onerror=").{20}' "$h" | head -3)"
grep -q '&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;' "$h" || bad "hostile pod name not shown as text"
grep -q '&lt;img/src/onerror=document\[&#39;title&#39;\]=&#39;N&#39;&gt;.evil.test.' "$h" ||
	bad "hostile name not shown as text"
grep -q '&lt;b id=pwn-node&gt;' "$h" || bad "hostile node name not shown as text"
[ "$(rows "$h" broken-table)" = 1 ] || bad "hostile: broken rows $(rows "$h" broken-table), want 1"
[ "$(grep -c '<svg class="seq"' "$h")" = 2 ] || bad "hostile: sequence diagrams $(grep -c '<svg class="seq"' "$h"), want 2"

# A larger synthetic capture: its flows counted as query counts them, and the progress line on a
# terminal only (-q silences it)
"$bin/dnsreel-synth" -o "$tmp/synth.reel" -n 30000 --multi-hop >/dev/null || bad "dnsreel-synth failed"
"$rep" "$tmp/synth.reel" -o "$tmp/synth.html" 2>"$tmp/notty.err" || bad "synthetic report failed"
[ -s "$tmp/notty.err" ] && bad "stderr that is no terminal got: $(head -c 200 "$tmp/notty.err")"
sf=$("$q" "$tmp/synth.reel" "SELECT count(*) FROM flows" | tail -1 | tr -d ' ')
grep -q "id=\"sum-flows\">$sf " "$tmp/synth.html" || bad "synthetic flows: want $sf: $(grep -o 'id="sum-flows">[^<]*' "$tmp/synth.html")"
su=$("$q" "$tmp/synth.reel" "SELECT count(*) FROM flows WHERE outcome='unanswered'" | tail -1 | tr -d ' ')
[ "$(cell "$tmp/synth.html" outcomes unanswered)" = "$su" ] || bad "synthetic unanswered: page $(cell "$tmp/synth.html" outcomes unanswered), query $su"
# every finding a row, the 12 most severe also a block, the rest said to be in the table
sn=$("$bin/dnsreel-diagnose" -o json "$tmp/synth.reel" | jq '.findings | length')
[ "$(rows "$tmp/synth.html" findings-table)" = "$sn" ] || bad "synthetic findings rows $(rows "$tmp/synth.html" findings-table), want $sn"
[ "$(grep -c '<article class="finding' "$tmp/synth.html")" = "$((sn < 12 ? sn : 12))" ] ||
	bad "synthetic finding blocks $(grep -c '<article class="finding' "$tmp/synth.html"), want min($sn, 12)"
if [ "$sn" -gt 12 ]; then
	grep -q "<p id=\"more-findings\">$((sn - 12)) more findings" "$tmp/synth.html" || bad "no note of the findings left to the table"
fi
if command -v script >/dev/null; then
	DNSREEL_PROGRESS_DELAY=0 script -qec "'$rep' '$tmp/synth.reel' -o - >/dev/null" "$tmp/tty.txt" >/dev/null
	grep -aq 'report: events [0-9]*/[0-9]*, flows [0-9]*' "$tmp/tty.txt" ||
		bad "no progress line on a terminal: $(tr '\r' '\n' <"$tmp/tty.txt" | head -3)"
	DNSREEL_PROGRESS_DELAY=0 script -qec "'$rep' -q '$tmp/synth.reel' -o - >/dev/null" "$tmp/tty.txt" >/dev/null
	grep -aq 'report: events' "$tmp/tty.txt" && bad "-q still shows progress"
else
	bad "script (util-linux) missing: cannot test progress on a terminal"
fi
[ $fail = 0 ] && echo "ok: report_cli"
exit $fail
