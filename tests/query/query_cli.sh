#!/bin/bash
# dnsreel-query end to end: answers against dnsreel-replay (counts by name, rcode, pod, netns),
# output formats, --stats and pushdown, several captures, reports, the interactive shell, the
# loadable extension in the stock sqlite3 shell, and crafted index files (an error, never an
# effect). Usage: query_cli.sh BINDIR EXT_SO SRCDIR TOPSRCDIR [PART]
# PART "tool" (the default): everything but the stock sqlite3 shell; "sqlite3": the extension
# and the crafted index files, which need the sqlite3 shell (exit 77, a skip, without it).
set -u
BIN=$1
EXT=$2
SRC=$3
TOP=$4
PART=${5:-tool}
Q=$BIN/dnsreel-query
R=$BIN/dnsreel-replay
SYNTH=$BIN/dnsreel-synth
T=$(mktemp -d /tmp/dnsreel-query-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
# A sanitizer build's extension needs the sanitizer runtimes loaded first in the stock shell.
SQLITE3_ENV=()
if [ -n "${DNSREEL_SQLITE3_PRELOAD:-}" ]; then
	SQLITE3_ENV=(env "LD_PRELOAD=$DNSREEL_SQLITE3_PRELOAD" ASAN_OPTIONS=detect_leaks=0)
	sqlite3() { "${SQLITE3_ENV[@]}" sqlite3 "$@"; }
fi
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}
# run EXPECTED_EXIT CMD... : stdout in $T/out, stderr in $T/err
run() {
	local want=$1
	shift
	"$@" >"$T/out" 2>"$T/err"
	local got=$?
	[ "$got" = "$want" ] || fail "exit $got (want $want): $* :: $(head -c 400 "$T/err")"
}

for b in "$Q" "$R" "$SYNTH"; do
	[ -x "$b" ] || {
		echo "missing $b" >&2
		exit 1
	}
done
if [ "$PART" = sqlite3 ] && ! command -v sqlite3 >/dev/null; then
	echo "SKIP: the sqlite3 shell is not installed (apt-get install sqlite3)" >&2
	exit 77
fi

if [ "$PART" = tool ]; then
# ---- usage -------------------------------------------------------------------------------
run 0 "$Q" --help
grep -q -- "--report" "$T/out" || fail "--help lists --report"
for opt in $(grep -o -- '--[a-z][a-z-]*' "$T/out" | sort -u); do
	grep -q -- "\\\\$opt\|$opt" "$SRC/../../query/dnsreel-query.1.md" ||
		fail "option $opt missing from the man page"
done
run 2 "$Q" --bogus
run 2 "$Q"
run 2 "$Q" -o xml "$T"
run 2 "$Q" --report nope "$T"
run 2 "$Q" --show-sql "$T"
run 0 "$Q" --report list
[ "$(wc -l <"$T/out")" -ge 6 ] || fail "--report list shows the six reports"
for r in nxdomain slowest unanswered searchpath upstream rcodes; do
	grep -q "^$r " "$T/out" || fail "report $r listed"
done
run 1 "$Q" "$T/does-not-exist.reel" "SELECT 1"
fi

# ---- captures ----------------------------------------------------------------------------
"$SYNTH" -o "$T/a.reel" -n 30000 --multi-hop --tcp --seed 11 --block-events 512 >/dev/null ||
	fail "synth a"
"$SYNTH" -o "$T/b.reel" -n 12000 --seed 12 --block-events 512 >/dev/null || fail "synth b"
caps=("$T/a.reel" "$T/b.reel")
for d in "$TOP"/tests/data/*.reel; do
	[ -f "$d/index.sqlite" ] && caps+=("$d")
done
A=$T/a.reel
na=$("$Q" -o csv --no-header "$A" "SELECT count(*) FROM dns")
nb=$("$Q" -o csv --no-header "$T/b.reel" "SELECT count(*) FROM dns")
# Events (packets) differ from dns rows (messages) where TCP carries several per message.
ne=$("$Q" -o csv --no-header "$A" "SELECT value FROM capture_info WHERE key = 'events'")
[ -n "$na" ] && [ -n "$nb" ] && [ -n "$ne" ] || fail "counts of the captures: '$na' '$nb' '$ne'"

if [ "$PART" = tool ]; then
# ---- against replay ----------------------------------------------------------------------
# Counts per value of a field, as "value,count" lines sorted, from replay's CSV.
replay_counts() { # CAPTURE FIELD
	"$R" "$1" -o csv --no-header --fields "$2" | sort | uniq -c |
		awk '{c=$1; $1=""; sub(/^ /, ""); print $0 "," c}' | sort
}
query_counts() { # CAPTURE COLUMN
	"$Q" -o csv --no-header "$1" "SELECT $2, count(*) FROM dns GROUP BY $2" |
		sed 's/^"\(.*\)"\(,[0-9]*\)$/\1\2/' | sort
}
for c in "${caps[@]}"; do
	for f in name:name rcode:rcode k8s.podname:k8s_podname netns_id:netns_id qr:qr \
		k8s.namespace:k8s_namespace qtype:qtype; do
		rf=${f%%:*}
		qf=${f##*:}
		replay_counts "$c" "$rf" >"$T/r.txt"
		query_counts "$c" "$qf" >"$T/q.txt"
		[ -s "$T/r.txt" ] || fail "replay gave nothing for $rf on $c"
		cmp -s "$T/r.txt" "$T/q.txt" ||
			fail "counts by $qf differ from replay on $c: $(diff "$T/r.txt" "$T/q.txt" | head -5)"
	done
	rn=$("$R" "$c" -o csv --no-header --fields id | wc -l)
	qn=$("$Q" -o csv --no-header "$c" "SELECT count(*) FROM dns")
	[ "$rn" = "$qn" ] || fail "event count $qn != replay $rn on $c"
done

# ---- output formats ----------------------------------------------------------------------
run 0 "$Q" -o csv "$A" "SELECT name, count(*) AS n FROM dns GROUP BY name ORDER BY n DESC LIMIT 3"
[ "$(head -1 "$T/out")" = "name,n" ] || fail "csv header: $(head -1 "$T/out")"
[ "$(wc -l <"$T/out")" = 4 ] || fail "csv rows"
run 0 "$Q" -o json "$A" "SELECT name, count(*) AS n, NULL AS z, 1.5 AS f FROM dns GROUP BY name LIMIT 4"
python3 - "$T/out" <<'EOF' || fail "json output"
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) == 4, d
assert all(isinstance(r["n"], int) and r["z"] is None and r["f"] == 1.5 for r in d), d
assert all(isinstance(r["name"], str) for r in d), d
EOF
run 0 "$Q" -o json "$A" "SELECT 1 WHERE 0"
[ "$(cat "$T/out")" = "[]" ] || fail "empty json is []"
run 0 "$Q" "$A" "SELECT 'x' AS short, 12345 AS number UNION ALL SELECT 'longer text', 7"
printf 'short        number\nx             12345\nlonger text       7\n' | cmp -s - "$T/out" ||
	fail "table alignment: $(cat "$T/out")"
run 1 "$Q" "$A" "SELECT nosuchcolumn FROM dns"
grep -q "nosuchcolumn" "$T/err" || fail "sql error named"

# ---- pushdown and --stats ----------------------------------------------------------------
name=$("$Q" -o csv --no-header "$A" "SELECT name FROM dns WHERE qr = 'Q' GROUP BY name ORDER BY count(*) LIMIT 1")
run 0 "$Q" --stats -o csv "$A" "SELECT event_id, time, src, rcode FROM dns WHERE name = '$name' ORDER BY event_id"
cp "$T/out" "$T/push.csv"
with=$(sed -n 's/.*frames read \([0-9]*\) of \([0-9]*\).*/\1 \2/p' "$T/err")
run 0 "$Q" --stats -o csv "$A" "SELECT event_id, time, src, rcode FROM dns WHERE +name = '$name' ORDER BY event_id"
cmp -s "$T/out" "$T/push.csv" || fail "pushdown changes the answer"
without=$(sed -n 's/.*frames read \([0-9]*\) of \([0-9]*\).*/\1 \2/p' "$T/err")
set -- $with
w=$1
set -- $without
wo=$1
tot=$2
[ "$wo" = "$tot" ] && [ "$w" -lt "$wo" ] || fail "frames read with pushdown $w, without $wo of $tot"
run 0 "$Q" --no-pushdown --stats -o csv "$A" "SELECT event_id, time, src, rcode FROM dns WHERE name = '$name' ORDER BY event_id"
cmp -s "$T/out" "$T/push.csv" || fail "--no-pushdown changes the answer"

# ---- several captures --------------------------------------------------------------------
run 0 "$Q" -o csv --no-header "$T/a.reel" "$T/b.reel" "SELECT count(*), count(DISTINCT capture) FROM dns"
[ "$(cat "$T/out")" = "$((na + nb)),2" ] || fail "two captures: $(cat "$T/out") (want $((na + nb)),2)"

# ---- damaged captures: the intact frames answer, as replay's do; exit 1 at the end -------
D=$T/cut.reel
cp -r "$T/b.reel" "$D"
lastseg=$(ls "$D"/seg/*.zst | tail -1)
segno=$((10#$(basename "$lastseg" .zst)))
cut=$("$Q" -o csv --no-header "$D" "SELECT offset + length / 2 FROM frames WHERE segment = $segno ORDER BY offset DESC LIMIT 1 OFFSET 1")
truncate -s "$cut" "$lastseg"
"$R" "$D" -o csv --no-header --fields id >"$T/r.txt" 2>"$T/r.err"
[ $? = 1 ] || fail "replay of a cut segment exits 1"
rbad=$(grep -c "damaged: .*offset" "$T/r.err")
[ "$rbad" -ge 2 ] || fail "replay names the cut frames: $(cat "$T/r.err")"
run 1 "$Q" -o csv --no-header "$D" "SELECT count(*) FROM dns"
[ "$(cat "$T/out")" = "$(wc -l <"$T/r.txt")" ] ||
	fail "damaged capture: query counts $(cat "$T/out"), replay $(wc -l <"$T/r.txt")"
[ "$(grep -c "^dnsreel-query: damaged: $lastseg: offset [0-9]*: " "$T/err")" = "$rbad" ] ||
	fail "each bad frame named with its segment and offset: $(cat "$T/err")"
grep -q "verify --reindex $D" "$T/err" || fail "damage message suggests verify --reindex: $(cat "$T/err")"
grep -q "dnsreel-query: dnsreel:" "$T/err" && fail "one error prefix: $(cat "$T/err")"
run 1 "$Q" -o csv --no-header "$D" "SELECT count(*) FROM dns; SELECT count(DISTINCT name) FROM dns GROUP BY qr"
[ "$(grep -c "damaged: .*offset" "$T/err")" = "$rbad" ] || fail "a bad frame is named once: $(cat "$T/err")"
[ "$(wc -l <"$T/out")" = 3 ] || fail "both statements answer on a damaged capture: $(cat "$T/out")"
run 1 "$Q" -o csv --no-header "$D" "SELECT count(*) FROM dns d JOIN answers a USING (event_id)"
[ "$(cat "$T/out")" -gt 0 ] || fail "a join on a damaged capture answers: $(cat "$T/out")"
# A capture a table opens itself (CREATE VIRTUAL TABLE): its damage fails the statement.
run 1 "$Q" "$A" "CREATE VIRTUAL TABLE temp.c USING dns('$D'); SELECT count(*) FROM temp.c"
grep -q "damaged frame(s) skipped.*verify --reindex $D" "$T/err" ||
	fail "a table's own capture hides its damage: $(cat "$T/err")"
# A zero-byte, garbage or missing index: the segments are scanned, the problem named, exit 1.
for how in empty missing; do
	D=$T/idx-$how.reel
	cp -r "$T/b.reel" "$D"
	case $how in
	empty) : >"$D/index.sqlite" ;;
	missing) rm "$D/index.sqlite" ;;
	esac
	run 1 "$Q" -o csv --no-header "$D" "SELECT count(*) FROM dns"
	[ "$(cat "$T/out")" = "$nb" ] || fail "index $how: count $(cat "$T/out") (want $nb)"
	grep -q "damaged: $D.*index.sqlite" "$T/err" || fail "index $how named: $(cat "$T/err")"
	grep -q "verify --reindex $D" "$T/err" || fail "index $how: repair suggested"
	run 1 "$Q" -o csv --no-header "$D" "SELECT count(*) FROM answers"
done

# ---- read-only evidence: nothing written beside the capture, read-only media opens --------
ls -a "$A" "$A/seg" >"$T/before"
run 0 "$Q" -o csv --no-header "$A" "SELECT count(*) FROM dns"
ls -a "$A" "$A/seg" | cmp -s - "$T/before" || fail "query wrote beside the capture: $(ls -a "$A")"
mkdir "$T/ro"
cp -r "$T/b.reel" "$T/ro/"
if [ "$(id -u)" = 0 ]; then
	# root writes through permission bits: a read-only bind mount in a mount namespace of its own
	unshare -m --propagation private sh -c "mount --bind -o ro '$T/ro' '$T/ro' &&
		! touch '$T/ro/x' 2>/dev/null &&
		'$Q' -o csv --no-header '$T/ro/b.reel' 'SELECT count(*) FROM dns'" >"$T/out" 2>"$T/err"
else
	chmod -R a-w "$T/ro"
	"$Q" -o csv --no-header "$T/ro/b.reel" "SELECT count(*) FROM dns" >"$T/out" 2>"$T/err"
	chmod -R u+w "$T/ro"
fi
[ "$(cat "$T/out")" = "$nb" ] || fail "capture on read-only media: $(cat "$T/out" "$T/err")"

# ---- progress: on a terminal only, with rate and time left; -q silences it -----------------
if command -v script >/dev/null; then
	for what in "'$A' 'SELECT count(*) FROM dns'" "'$A' 'SELECT name, count(*) FROM dns GROUP BY name'" \
		"--report slowest '$A'" "'$A' 'SELECT count(*) FROM flows'"; do
		DNSREEL_PROGRESS_DELAY=0 script -qec "'$Q' $what >/dev/null" "$T/tty.txt" >/dev/null
		grep -aq 'frames [0-9]*/[0-9]* .*%, .* frames/s' "$T/tty.txt" ||
			fail "no progress line on a terminal ($what): $(tr '\r' '\n' <"$T/tty.txt" | head -3)"
		DNSREEL_PROGRESS_DELAY=0 script -qec "'$Q' -q $what >/dev/null" "$T/tty.txt" >/dev/null
		grep -aq 'frames/s' "$T/tty.txt" && fail "-q still shows progress ($what)"
	done
	DNSREEL_PROGRESS_DELAY=0 "$Q" "$A" "SELECT count(*) FROM dns" >/dev/null 2>"$T/notty.err"
	[ -s "$T/notty.err" ] && fail "progress on stderr that is no terminal: $(head -c 200 "$T/notty.err")"
else
	fail "script (util-linux) missing: cannot test progress on a terminal"
fi

# ---- write errors are never silent --------------------------------------------------------
if [ -w /dev/full ]; then
	for o in table csv json; do
		"$Q" -o "$o" "$A" "SELECT name, count(*) FROM dns GROUP BY name" >/dev/full 2>"$T/err"
		rc=$?
		[ $rc = 1 ] && grep -q "standard output" "$T/err" ||
			fail "-o $o to /dev/full: exit $rc, $(cat "$T/err")"
	done
	"$Q" --report rcodes "$A" >/dev/full 2>"$T/err" || rc=$?
	[ "${rc:-0}" = 1 ] && grep -q "standard output" "$T/err" || fail "report to /dev/full: $(cat "$T/err")"
	rc=0
	"$Q" --report nxdomain --show-sql >/dev/full 2>"$T/err" || rc=$?
	[ $rc = 1 ] || fail "--show-sql to /dev/full exits 1"
	rc=0
	"$Q" --report list >/dev/full 2>"$T/err" || rc=$?
	[ $rc = 1 ] || fail "--report list to /dev/full exits 1"
else
	fail "/dev/full missing: cannot test write errors"
fi

# ---- reports -----------------------------------------------------------------------------
for r in nxdomain slowest unanswered searchpath upstream rcodes; do
	run 0 "$Q" -o csv --report "$r" "$A"
	cp "$T/out" "$T/rep.csv"
	[ "$(wc -l <"$T/rep.csv")" -ge 2 ] || fail "report $r has no rows"
	run 0 "$Q" --report "$r" --show-sql
	grep -q "^SELECT\|^WITH" "$T/out" || fail "report $r SQL"
	run 0 "$Q" -o csv "$A" -- "$(cat "$T/out")"
	cmp -s "$T/out" "$T/rep.csv" || fail "report $r differs when run from its printed SQL"
done

# ---- interactive shell (from a pipe) -----------------------------------------------------
printf 'SELECT count(*)\n  FROM dns;\n.mode csv\nSELECT 40 + 2 AS x;\n.tables\n.quit\n' |
	"$Q" "$A" >"$T/out" 2>"$T/err" || fail "shell exit"
grep -q "^ *$na\$" "$T/out" || fail "shell statement over two lines"
grep -q "^42$" "$T/out" || fail "shell .mode csv"
grep -q "answers" "$T/out" || fail "shell .tables"
fi

if [ "$PART" = sqlite3 ]; then
# ---- the loadable extension in the stock sqlite3 shell -----------------------------------
extbase=${EXT%.so}
out=$(sqlite3 "$A/index.sqlite" ".load $extbase" "SELECT count(*) FROM dns" 2>&1)
[ "$out" = "$na" ] || fail "extension count: $out (want $na)"
sqlite3 -csv "$A/index.sqlite" ".load $extbase" \
	"SELECT name, count(*) FROM dns GROUP BY name ORDER BY 1" >"$T/ext.csv" 2>&1
"$Q" -o csv --no-header "$A" "SELECT name, count(*) FROM dns GROUP BY name ORDER BY 1" >"$T/tool.csv"
cmp -s "$T/ext.csv" "$T/tool.csv" || fail "extension and tool disagree"
out=$(sqlite3 "$A/index.sqlite" ".load $extbase" \
	"SELECT (SELECT count(*) FROM answers) > 0, (SELECT count(*) FROM pods) > 0, (SELECT sum(events) FROM frames) = $ne" 2>&1)
[ "$out" = "1|1|1" ] || fail "extension answers/pods/index tables: $out"
out=$(sqlite3 :memory: ".load $extbase" \
	"CREATE VIRTUAL TABLE temp.b USING dns('$T/b.reel')" "SELECT count(*) FROM temp.b" 2>&1)
[ "$out" = "$nb" ] || fail "extension with a named capture: $out"
out=$(sqlite3 :memory: ".load $extbase" "SELECT count(*) FROM dns" 2>&1)
echo "$out" | grep -q "not a capture index" || fail "extension without a capture: $out"

# A damaged frame: the good rows come out, then the statement fails naming the damage.
D=$T/cut.reel
rm -rf "$D"
cp -r "$T/b.reel" "$D"
lastseg=$(ls "$D"/seg/*.zst | tail -1)
truncate -s $(($(stat -c %s "$lastseg") - 100)) "$lastseg"
"$R" "$D" -o csv --no-header --fields id 2>/dev/null | wc -l >"$T/rn"
sqlite3 "$D/index.sqlite" ".load $extbase" "SELECT event_id FROM dns" >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] || fail "extension on a damaged capture: exit $rc"
[ "$(wc -l <"$T/out")" = "$(cat "$T/rn")" ] || fail "extension rows on a damaged capture: $(wc -l <"$T/out") (replay $(cat "$T/rn"))"
grep -q "damaged frame(s) skipped.*$lastseg: offset [0-9]*.*verify --reindex $D" "$T/err" ||
	fail "extension names the damage: $(cat "$T/err")"
# Reading leaves the capture as it was: no side files.
ls -a "$A" >"$T/before"
sqlite3 "$A/index.sqlite" ".load $extbase" "SELECT count(*) FROM dns" >/dev/null 2>&1
ls -a "$A" | cmp -s - "$T/before" || fail "the extension wrote beside the index: $(ls -a "$A")"

# A FIFO as a segment or as the index blocks no reader: refused as not a regular file.
d=$T/fifoseg.reel
cp -r "$T/b.reel" "$d"
seg1=$(ls "$d"/seg/*.zst | head -1)
rm "$seg1"
mkfifo "$seg1"
timeout 20 "${SQLITE3_ENV[@]}" sqlite3 "$d/index.sqlite" ".load $extbase" "SELECT count(*) FROM dns" >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] && grep -q "$seg1: offset 0: not a regular file" "$T/err" ||
	fail "extension on a FIFO segment: exit $rc, $(cat "$T/err")"
timeout 20 "$Q" "$d" "SELECT count(*) FROM dns" >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] && [ "$(grep -c "not a regular file" "$T/err")" = 1 ] ||
	fail "tool on a FIFO segment: exit $rc, $(cat "$T/err")"
d=$T/fifoidx.reel
cp -r "$T/b.reel" "$d"
rm "$d/index.sqlite"
mkfifo "$d/index.sqlite"
timeout 20 "$Q" -o csv --no-header "$d" "SELECT count(*) FROM dns" >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] && [ "$(cat "$T/out")" = "$nb" ] && grep -q "index.sqlite: not a regular file" "$T/err" ||
	fail "tool on a FIFO index: exit $rc, $(cat "$T/out" "$T/err")"
# An index left in WAL mode (a live capture copied): readers create no -shm/-wal beside it.
d=$T/wal.reel
cp -r "$T/b.reel" "$d"
sqlite3 "$d/index.sqlite" "PRAGMA journal_mode=WAL" >/dev/null
ls -a "$d" >"$T/before"
"$Q" "$d" "SELECT count(*) FROM dns" >/dev/null 2>&1
"${SQLITE3_ENV[@]}" sqlite3 "file:$d/index.sqlite?immutable=1" ".load $extbase" "SELECT count(*) FROM dns" >"$T/out" 2>&1
[ "$(cat "$T/out")" = "$nb" ] || fail "extension on an immutable WAL-mode index: $(cat "$T/out")"
ls -a "$d" | cmp -s - "$T/before" || fail "readers wrote beside a WAL-mode index: $(ls -a "$d")"

# A table or view of the file named as one of the extension's would silently replace it.
for kind in "CREATE TABLE dns(name TEXT)" "CREATE VIEW Answers AS SELECT 1 AS name" \
	"CREATE TABLE pods(x)"; do
	d=$T/shadow.reel
	rm -rf "$d"
	cp -r "$T/b.reel" "$d"
	sqlite3 "$d/index.sqlite" "$kind"
	tname=$(echo "$kind" | awk '{print $3}' | sed 's/(.*//')
	sqlite3 "$d/index.sqlite" ".load $extbase" "SELECT count(*) FROM $tname" >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc = 1 ] || fail "$kind: extension exit $rc"
	grep -qi "named $tname, which would replace the extension's table" "$T/err" ||
		fail "$kind: not refused loudly: $(cat "$T/out" "$T/err")"
done
# A virtual table in the file's schema naming a capture path (another capture, a FIFO) is not
# instantiated from the file; the user's own in temp still is.
d=$T/vpath.reel
cp -r "$T/b.reel" "$d"
mkfifo "$T/fifo.reel"
for target in "$A" "$T/fifo.reel"; do
	sqlite3 "$d/index.sqlite" "PRAGMA writable_schema=ON" "DELETE FROM sqlite_schema WHERE name = 'other'" \
		"INSERT INTO sqlite_schema VALUES('table', 'other', 'other', 0, 'CREATE VIRTUAL TABLE other USING dns(''$target'')')"
	timeout 20 "${SQLITE3_ENV[@]}" sqlite3 "$d/index.sqlite" ".load $extbase" "SELECT count(*) FROM other" >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc = 1 ] || fail "schema table naming $target: exit $rc, $(cat "$T/out")"
	grep -q "refusing capture paths stored in a database file" "$T/err" ||
		fail "schema table naming $target: $(cat "$T/err")"
	out=$(timeout 20 "${SQLITE3_ENV[@]}" sqlite3 "$d/index.sqlite" ".load $extbase" "SELECT count(*) FROM dns" 2>&1)
	[ "$out" = "$nb" ] || fail "the file's own capture next to a refused table: $out"
done

# ---- crafted index files -----------------------------------------------------------------
# evil.so leaves a marker when loaded: any path that runs load_extension() would show.
marker=$T/pwned
evil=""
if command -v cc >/dev/null; then
	printf '#include <stdio.h>\n__attribute__((constructor)) static void f(void) { FILE *x = fopen("%s", "w"); if (x) fclose(x); }\nint sqlite3_extension_init(void) { return 0; }\n' \
		"$marker" >"$T/evil.c"
	cc -shared -fPIC -o "$T/evil.so" "$T/evil.c" 2>/dev/null && evil=$T/evil.so
fi
craft() { # NAME SQL...
	local d=$T/$1.reel
	shift
	cp -r "$T/b.reel" "$d"
	for s in "$@"; do
		sqlite3 "$d/index.sqlite" "$s" || fail "crafting: $s"
	done
	echo "$d"
}
# The reader may refuse a crafted index (exit 1 with a message) or rebuild the catalog from the
# segments (the same answer as the clean capture); anything else is a failure.
orig=$("$Q" -o csv "$T/b.reel" "SELECT count(*), count(DISTINCT name) FROM dns")
check_crafted() { # DIR WHAT
	"$Q" -o csv "$1" "SELECT count(*), count(DISTINCT name) FROM dns" >"$T/out" 2>"$T/err"
	local rc=$?
	[ $rc -le 1 ] || fail "$2: exit $rc (crash?)"
	[ $rc = 1 ] || [ "$(cat "$T/out")" = "$orig" ] || fail "$2: wrong answer $(cat "$T/out")"
	[ $rc = 0 ] || [ -s "$T/err" ] || fail "$2: failed without a message"
	[ ! -e "$marker" ] || fail "$2: crafted SQL ran (load_extension)"
	rm -f "$marker"
	timeout 20 "${SQLITE3_ENV[@]}" sqlite3 "$1/index.sqlite" ".load ${EXT%.so}" "SELECT count(*) FROM dns" \
		>/dev/null 2>&1
	rc=$?
	[ $rc -lt 128 ] || fail "$2: extension exit $rc (crash?)"
	[ ! -e "$marker" ] || fail "$2: crafted SQL ran through the extension"
	rm -f "$marker"
}
lx=${evil:-/nonexistent/evil.so}
d=$(craft trig "CREATE TABLE t(x)" \
	"CREATE TRIGGER tr1 AFTER INSERT ON frames BEGIN SELECT load_extension('$lx'); END" \
	"CREATE TRIGGER tr2 BEFORE DELETE ON netns BEGIN SELECT load_extension('$lx'); END" \
	"CREATE TRIGGER tr3 AFTER UPDATE ON capture_info BEGIN INSERT INTO t VALUES (1); END")
check_crafted "$d" "triggers"
[ "$(sqlite3 "$d/index.sqlite" "SELECT count(*) FROM t")" = 0 ] || fail "a trigger fired"
d=$(craft view "ALTER TABLE netns RENAME TO netns_real" \
	"CREATE VIEW netns AS SELECT *, load_extension('$lx') AS x FROM netns_real")
check_crafted "$d" "view calling load_extension"
d=$(craft view2 "ALTER TABLE frames RENAME TO frames_real" \
	"CREATE VIEW frames AS SELECT * FROM frames_real WHERE load_extension('$lx') IS NULL")
check_crafted "$d" "frames view"
d=$(craft schema "DROP TABLE frames" "CREATE TABLE frames(x)")
check_crafted "$d" "wrong schema"
d=$(craft huge "UPDATE frames SET length = 9223372036854775807, events = -1")
check_crafted "$d" "huge frame values"
d=$(craft huge1 "UPDATE frames SET offset = offset + 9000000000000000000, first_ts = -9223372036854775808")
check_crafted "$d" "huge frame values"
d=$(craft huge2 "UPDATE frames SET netns_count = 2000000000, name_bloom_bits = 4294967295")
check_crafted "$d" "huge bloom and netns counts"
d=$(craft huge3 "UPDATE netns SET k8s_podname = hex(randomblob(500000)), ips = hex(zeroblob(300000))" \
	"UPDATE capture_info SET value = hex(zeroblob(1000000))")
check_crafted "$d" "huge strings"
d=$(craft version "UPDATE capture_info SET value = '99.0' WHERE key LIKE 'format%'")
check_crafted "$d" "newer major version"
d=$T/garbage.reel
cp -r "$T/b.reel" "$d"
head -c 8192 /dev/urandom >"$d/index.sqlite"
check_crafted "$d" "garbage index"
# The tool's own connection refuses ATTACH (no other file is opened behind the user's back).
run 1 "$Q" "$A" "ATTACH '$d/index.sqlite' AS x"
fi

if [ "$PART" = tool ]; then
# The flows table and the reports built on it read a damaged capture as replay does: the good
# frames answer, each bad one is named, exit 1.
cut=$T/flowcut.reel
cp -r "$SRC/../data/lab-basic.reel" "$cut"
truncate -s 12500 "$cut/seg/000001.zst"
run 1 "$Q" "$cut" "SELECT count(*) FROM flows"
grep -q 'damaged: .*seg/000001.zst: offset' "$T/err" || fail "flows on a cut capture: damage not named"
grep -q '^ *1[0-9]$' "$T/out" || fail "flows on a cut capture: $(cat "$T/out")"
run 1 "$Q" --report nxdomain "$cut"
grep -q 'verify --reindex' "$T/err" || fail "report on a cut capture: no repair hint"
fi

if [ "$fails" -gt 0 ]; then
	echo "$fails failure(s)" >&2
	exit 1
fi
echo "query_cli $PART: ok"
