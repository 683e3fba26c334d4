#!/usr/bin/env bash
# report_browser.sh BINDIR MKHOSTILE DATADIR: the page as a browser renders it. Headless
# Chromium, in a network namespace of its own with only lo (unshare -n) and every host name
# mapped to nowhere, so nothing can leave even if the page asked:
#  - the lab capture's page, with a measuring script appended to a copy: every chart and
#    sequence diagram is laid out with a nonzero size, every series path and histogram bar is
#    drawn, the tables have the rows dnsreel query counts, and the sorting script sorts
#  - a screenshot of it is an image of real size; printed, it makes a PDF of real size
#  - the hostile capture's page, as it is: its markup stays text (no element it names exists,
#    the title is the page's, no script of its own ran)
# Skips (77) without chromium or without the right to make a network namespace.
set -u
bin=$1 mkhostile=$2 data=$3
cap=$data/lab-basic.reel
command -v chromium >/dev/null || { echo "SKIP: no chromium (apt-get install chromium)"; exit 77; }
unshare -n true 2>/dev/null || { echo "SKIP: cannot make a network namespace (needs root)"; exit 77; }
fail=0
bad() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
q=$bin/dnsreel-query

# chrome ARGS...: headless Chromium with no network and a throwaway profile
chrome() {
	unshare -n -- env HOME="$tmp" chromium --headless --no-sandbox --disable-gpu \
		--no-first-run --disable-extensions --disable-background-networking \
		--disable-component-update --disable-sync --metrics-recording-only \
		--host-resolver-rules="MAP * ~NOTFOUND" --user-data-dir="$tmp/profile" \
		--virtual-time-budget=5000 "$@" 2>"$tmp/chrome.err"
}

"$bin/dnsreel-report" "$cap" -o "$tmp/lab.html" || { echo "FAIL: report"; exit 1; }
# The measuring script: sizes and counts into a <pre id=measure> as JSON, after clicking the
# flows column of the top names table twice (ascending, then descending).
sed 's|</body>|<script>\
(function(){var r={};\
function box(e){var b=e.getBoundingClientRect();return [Math.round(b.width),Math.round(b.height)];}\
r.charts=[].map.call(document.querySelectorAll("svg.chart"),function(s){return {id:s.id,box:box(s),title:s.querySelector("title").textContent};});\
r.seqs=[].map.call(document.querySelectorAll("svg.seq"),function(s){return {id:s.id,box:box(s),lanes:s.querySelectorAll("g.lane").length,msgs:s.querySelectorAll("g.msg").length};});\
r.paths=[].map.call(document.querySelectorAll("path.series"),function(p){var b=p.getBBox();return {d:p.getAttribute("d").length,w:Math.round(b.width),h:b.height};});\
r.bars=[].filter.call(document.querySelectorAll("g.hist rect,g.bar rect"),function(e){var b=e.getBBox();return b.width>0\&\&b.height>0;}).length;\
r.rows={};[].forEach.call(document.querySelectorAll("table[id]"),function(t){r.rows[t.id]=t.tBodies[0].rows.length;});\
var th=document.querySelectorAll("#top-names th")[2];th.click();\
var asc=[].map.call(document.querySelectorAll("#top-names tbody tr"),function(tr){return +tr.cells[2].textContent;});th.click();\
var desc=[].map.call(document.querySelectorAll("#top-names tbody tr"),function(tr){return +tr.cells[2].textContent;});\
r.sorted_asc=asc;r.sorted_desc=desc;r.aria=th.getAttribute("aria-sort");\
r.title=document.title;\
var pre=document.createElement("pre");pre.id="measure";pre.textContent=JSON.stringify(r);document.body.appendChild(pre);})();\
</script></body>|' "$tmp/lab.html" >"$tmp/measure.html"
chrome --dump-dom "file://$tmp/measure.html" >"$tmp/dom.html"
sed -n 's|.*<pre id="measure">\(.*\)</pre>.*|\1|p' "$tmp/dom.html" | sed 's/&amp;/\&/g; s/&lt;/</g; s/&gt;/>/g; s/&quot;/"/g' >"$tmp/m.json"
if ! jq -e . "$tmp/m.json" >/dev/null 2>&1; then
	bad "the measuring script left nothing (chromium: $(tail -3 "$tmp/chrome.err"))"
	exit 1
fi
m() { jq -r "$1" "$tmp/m.json"; }
[ "$(m '.charts | length')" = 6 ] || bad "charts rendered: $(m '.charts | length'), want 6"
[ "$(m '[.charts[] | select(.box[0] < 300 or .box[1] < 40)] | length')" = 0 ] ||
	bad "a chart rendered too small: $(m '.charts')"
[ "$(m '.paths | length')" = 6 ] || bad "series paths: $(m '.paths | length'), want 6"
[ "$(m '[.paths[] | select(.d < 20 or .w < 100)] | length')" = 0 ] || bad "an empty series path: $(m '.paths')"
# the three series with flows in them have area
[ "$(m '[.paths[] | select(.h > 0)] | length')" -ge 3 ] || bad "series with area: $(m '.paths')"
[ "$(m '.bars')" -ge 20 ] || bad "drawn bars: $(m '.bars')"
flows=$("$q" "$cap" "SELECT count(*) FROM flows" | tail -1 | tr -d ' ')
answered=$("$q" "$cap" "SELECT count(*) FROM flows WHERE outcome='answered'" | tail -1 | tr -d ' ')
broken=$("$q" "$cap" "SELECT count(*) FROM flows WHERE outcome='unanswered' OR rcode!='Success'" | tail -1 | tr -d ' ')
names=$("$q" "$cap" "SELECT count(DISTINCT name) FROM flows" | tail -1 | tr -d ' ')
ws=$((answered < 10 ? answered : 10)) wb=$((broken < 10 ? broken : 10)) wn=$((names < 10 ? names : 10))
[ "$(m '.seqs | length')" = $((ws + wb)) ] || bad "sequence diagrams: $(m '.seqs | length'), want $((ws + wb))"
[ "$(m '[.seqs[] | select(.box[0] < 300 or .box[1] < 100 or .lanes < 2 or .msgs < 2)] | length')" = 0 ] ||
	bad "a sequence diagram without size, lanes or messages: $(m '.seqs')"
[ "$(m '.rows["slowest-table"]')" = $ws ] || bad "slowest rows $(m '.rows["slowest-table"]'), want $ws"
[ "$(m '.rows["broken-table"]')" = $wb ] || bad "broken rows $(m '.rows["broken-table"]'), want $wb"
[ "$(m '.rows["top-names"]')" = $wn ] || bad "top names rows $(m '.rows["top-names"]'), want $wn"
[ "$(m '.rows.outcomes')" = 6 ] || bad "outcome rows $(m '.rows.outcomes'), want 6"
[ "$(m '.sorted_asc | . == sort')" = true ] || bad "ascending sort: $(m '.sorted_asc')"
[ "$(m '.sorted_desc | . == (sort | reverse)')" = true ] || bad "descending sort: $(m '.sorted_desc')"
[ "$(m '.sorted_desc[0]')" = "$("$q" "$cap" "SELECT count(*) FROM flows GROUP BY name ORDER BY 1 DESC LIMIT 1" | tail -1 | tr -d ' ')" ] ||
	bad "sorted top name count $(m '.sorted_desc[0]')"
[ "$(m '.aria')" = descending ] || bad "aria-sort after two clicks: $(m '.aria')"
[ "$flows" -gt 0 ] || bad "the lab capture has no flows"

chrome --window-size=1100,3000 --screenshot="$tmp/shot.png" "file://$tmp/lab.html" >/dev/null
size=$(stat -c %s "$tmp/shot.png" 2>/dev/null || echo 0)
[ "$size" -gt 50000 ] || bad "screenshot $size bytes: nothing drawn?"
file "$tmp/shot.png" | grep -q 'PNG image data, 1100 x 3000' || bad "screenshot: $(file "$tmp/shot.png")"

# on paper: the print stylesheet lays it out into pages
chrome --no-pdf-header-footer --print-to-pdf="$tmp/page.pdf" "file://$tmp/lab.html" >/dev/null
size=$(stat -c %s "$tmp/page.pdf" 2>/dev/null || echo 0)
file "$tmp/page.pdf" | grep -q 'PDF document' && [ "$size" -gt 50000 ] ||
	bad "printed: $(file "$tmp/page.pdf"), $size bytes"
hits=$(grep -noE 'https?:|//|src=|href="[^#]|url\([^#]|@import|<link' "$tmp/lab.html" | head)
[ -z "$hits" ] || bad "external references in the page: $hits"

"$mkhostile" "$tmp/hostile.reel" && "$bin/dnsreel-report" "$tmp/hostile.reel" -o "$tmp/h.html" ||
	{ echo "FAIL: hostile report"; exit 1; }
chrome --dump-dom "file://$tmp/h.html" >"$tmp/hdom.html"
grep -q '</html>' "$tmp/hdom.html" || bad "hostile page: no DOM dumped"
grep -q '<title>DNS report: ' "$tmp/hdom.html" || bad "hostile page: the title changed: $(grep -o '<title>[^<]*' "$tmp/hdom.html")"
grep -qE '<img|<b id="?pwn|<i id="?pwn' "$tmp/hdom.html" && bad "hostile markup became elements"
[ "$(grep -o '<script' "$tmp/hdom.html" | wc -l)" = 1 ] || bad "hostile page: scripts in the DOM: $(grep -o '<script' "$tmp/hdom.html" | wc -l)"
grep -q 'document.title=.PWNED' "$tmp/hdom.html" || bad "hostile pod name not shown as text"
[ $fail = 0 ] && echo "ok: report_browser"
exit $fail
