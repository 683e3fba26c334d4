#!/bin/bash
# dnsreel-export into a real ClickHouse: one server (Debian's clickhouse-server 18.16) on
# 127.0.0.1 with a random free port, a temporary data directory and a minimal config, for all
# cases:
#  - the committed lab capture and a synthetic multi-hop capture (TCP included, several
#    frames): counts by pod/name/rcode, answers by type and flows by outcome/role/rcode equal
#    dnsreel-query's exactly; the reports in ClickHouse SQL give the query tool's numbers
#  - a re-export adds zero rows; a capture that grew (its prefix exported first) adds only
#    what is new
#  - an export killed (SIGKILL) after some batches and re-run gives the same totals (with two
#    INSERT streams, --streams 2)
#  - a server stopped mid-export: exit 1 naming the server and how to resume; after the
#    server is back, the re-run completes with the same totals
# Usage: clickhouse.sh BINDIR TOPSRCDIR
set -u
BIN=$1
TOP=$2
. "$TOP/tests/common/require.sh"
. "$TOP/tests/export/chserver.sh"
[ -x "$CH_SERVER" ] || {
	echo "SKIP: clickhouse-server is not installed (tests/deps.sh test installs it)"
	exit 77
}
require curl python3
E=$BIN/dnsreel-export
Q=$BIN/dnsreel-query
T=$(mktemp -d /tmp/dnsreel-export-ch-XXXXXX)
fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}
trap 'ch_stop; rm -rf "$T"' EXIT
ch_start "$T/server"
URL=$CH_URL
# q CAPTURE SQL: dnsreel-query's answer, CSV without header
q() { "$Q" -o csv --no-header "$1" "$2" 2>>"$T/query.err"; }
# chq SQL: ClickHouse's answer as CSV, quotes dropped (no value here holds a comma)
chq() { ch "$1 FORMAT CSV" | tr -d '"'; }
# same WHAT A B: A and B are equal and not empty
same() {
	if [ -z "$2" ]; then
		fail "$1: no rows"
	elif [ "$2" != "$3" ]; then
		fail "$1 differ:
  query:      $(echo "$2" | head -5)
  clickhouse: $(echo "$3" | head -5)
  (diff: $(diff <(echo "$2") <(echo "$3") | head -6 | tr '\n' ' '))"
	fi
}
# compare DB CAPTURE: the counts of both tools agree exactly
compare() {
	local db=$1 cap=$2
	same "$db: events by pod, name, rcode" \
		"$(q "$cap" "SELECT coalesce(k8s_podname, ''), coalesce(name, ''), coalesce(rcode, ''),
			count(*) FROM dns GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")" \
		"$(chq "SELECT k8s_podname, name, rcode, count() FROM $db.events
			GROUP BY k8s_podname, name, rcode ORDER BY k8s_podname, name, rcode")"
	same "$db: events by qr, qtype, proto, latency" \
		"$(q "$cap" "SELECT qr, coalesce(qtype, ''), proto, count(*), sum(latency_ns), sum(size)
			FROM dns GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")" \
		"$(chq "SELECT qr, qtype, proto, count(), sum(latency_ns), sum(size) FROM $db.events
			GROUP BY qr, qtype, proto ORDER BY toString(qr), qtype, toString(proto)")"
	same "$db: answers by section, type" \
		"$(q "$cap" "SELECT section, type, count(*), sum(ttl) FROM answers GROUP BY 1, 2 ORDER BY 1, 2")" \
		"$(chq "SELECT section, type, count(), sum(ttl) FROM $db.answers GROUP BY section, type
			ORDER BY toString(section), type")"
	same "$db: flows by outcome, role, rcode" \
		"$(q "$cap" "SELECT outcome, client_role, coalesce(rcode, ''), count(*), sum(retries),
			sum(upstreams), sum(hops) FROM flows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")" \
		"$(chq "SELECT outcome, client_role, rcode, count(), sum(retries), sum(upstreams), sum(hops)
			FROM $db.flows GROUP BY outcome, client_role, rcode
			ORDER BY toString(outcome), toString(client_role), rcode")"
	same "$db: flows by pod, name (latency, lost)" \
		"$(q "$cap" "SELECT coalesce(client_k8s_podname, ''), name, count(*),
			coalesce(sum(latency_ns), 0), count(lost_role), coalesce(max(slowest_ns), '')
			FROM flows GROUP BY 1, 2 ORDER BY 1, 2")" \
		"$(chq "SELECT client_k8s_podname, name, count(), ifNull(sum(latency_ns), 0),
			countIf(lost_role != ''), ifNull(toString(max(slowest_ns)), '')
			FROM $db.flows GROUP BY client_k8s_podname, name ORDER BY client_k8s_podname, name")"
}
# totals DB: events, answers, flows rows in ClickHouse
totals() { ch "SELECT (SELECT count() FROM $1.events), (SELECT count() FROM $1.answers),
	(SELECT count() FROM $1.flows) FORMAT CSV"; }
# want_totals CAPTURE: the same from dnsreel-query
want_totals() {
	q "$1" "SELECT (SELECT count(*) FROM dns), (SELECT count(*) FROM answers),
		(SELECT count(*) FROM flows)"
}

LAB=$TOP/tests/data/lab-basic.reel
SYN=$T/synth.reel
"$BIN/dnsreel-synth" -o "$SYN" -n 60000 --multi-hop --tcp --block-events 2000 --seed 7 ||
	fail "dnsreel-synth"

# ---- the lab capture and the synthetic one --------------------------------------------------
"$E" "$LAB" --clickhouse "$URL" --database lab --create 2>"$T/err" ||
	fail "export lab: $(cat "$T/err")"
compare lab "$LAB"
"$E" "$SYN" --clickhouse "$URL" --database syn --create --batch 7000 2>"$T/err" ||
	fail "export synth: $(cat "$T/err")"
compare syn "$SYN"
[ "$(totals syn)" = "$(want_totals "$SYN")" ] || fail "synth totals: $(totals syn) want $(want_totals "$SYN")"
msgs=$(q "$SYN" "SELECT count(*) FROM dns")
grep -q "exported $msgs events" "$T/err" || fail "synth summary ($msgs messages): $(cat "$T/err")"

# the reports: the query tool's numbers (its NULL is ClickHouse's '' or \N)
reports_empty=
for rep in nxdomain rcodes unanswered-pods searchpath slowest unanswered; do
	for db in lab syn; do
		cap=$LAB
		[ $db = syn ] && cap=$SYN
		want=$("$Q" --report "$rep" -o csv --no-header "$cap" 2>>"$T/query.err")
		got=$(ch "$("$E" --report "$rep" --sql clickhouse --database $db) FORMAT CSV" | tr -d '"' |
			sed 's/\\N//g')
		# rows that tie on the ORDER BY come in either order
		case $rep in unanswered | searchpath)
			want=$(echo "$want" | sort)
			got=$(echo "$got" | sort)
			;;
		esac
		if [ -z "$want$got" ]; then
			reports_empty="$reports_empty $rep($db)"
		else
			same "report $rep ($db)" "$want" "$got"
		fi
	done
done

# the lab capture has every flow answered; the synthetic one has every report
case $reports_empty in *"(syn)"*) fail "reports without rows on the synthetic capture:$reports_empty" ;; esac

# ---- re-export: nothing twice ----------------------------------------------------------------
before=$(totals syn)
"$E" "$SYN" --clickhouse "$URL" --database syn --batch 7000 2>"$T/err" ||
	fail "re-export: $(cat "$T/err")"
[ "$(totals syn)" = "$before" ] || fail "re-export added rows: $before -> $(totals syn)"
grep -q "exported 0 events, 0 answers, 0 flows (skipped as already there: 60000 events" "$T/err" ||
	fail "re-export summary: $(cat "$T/err")"

# ---- a capture that grew: its first segments, then all of it ----------------------------------
# The prefix is the same capture (same id, same frames) without its last segment, as a reader
# saw it while the recorder was still writing.
GROW=$T/grow.reel
"$BIN/dnsreel-synth" -o "$GROW" -n 20000 --multi-hop --block-events 1000 --segment-bytes 60000 \
	--seed 3 || fail "dnsreel-synth (grow)"
cp -a "$GROW" "$T/prefix.reel"
rm "$T/prefix.reel/seg/$(ls "$GROW/seg" | tail -1)"
"$BIN/dnsreel-verify" --reindex "$T/prefix.reel" >/dev/null 2>&1 || fail "reindex the prefix"
"$E" "$T/prefix.reel" --clickhouse "$URL" --database grow --create --batch 4000 2>"$T/err" ||
	fail "export the prefix: $(cat "$T/err")"
part=$(ch "SELECT count() FROM grow.events")
[ "$part" -gt 0 ] && [ "$part" -lt 20000 ] || fail "prefix: $part events"
"$E" "$GROW" --clickhouse "$URL" --database grow --batch 4000 2>"$T/err" ||
	fail "export the grown capture: $(cat "$T/err")"
grep -q "skipped as already there: $part events" "$T/err" || fail "grown: $(cat "$T/err")"
want=$(q "$GROW" "SELECT (SELECT count(*) FROM dns), (SELECT count(*) FROM answers)")
got=$(ch "SELECT (SELECT count() FROM grow.events), (SELECT count() FROM grow.answers) FORMAT CSV")
[ "$got" = "$want" ] || fail "grown capture: events, answers $got, want $want"
same "grown: events by pod, name, rcode" \
	"$(q "$GROW" "SELECT coalesce(k8s_podname, ''), coalesce(name, ''), coalesce(rcode, ''),
		count(*), sum(latency_ns) FROM dns GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")" \
	"$(chq "SELECT k8s_podname, name, rcode, count(), sum(latency_ns) FROM grow.events
		GROUP BY k8s_podname, name, rcode ORDER BY k8s_podname, name, rcode")"
# flows at the prefix's end were exported as they stood: no flow twice, none missing
got=$(ch "SELECT count(), uniqExact(flow_id) FROM grow.flows FORMAT CSV")
want=$(q "$GROW" "SELECT count(*), count(DISTINCT flow_id) FROM flows")
[ "$got" = "$want" ] || fail "grown capture: flows, distinct $got, want $want"

# progress on a terminal (script(1) gives the export one), never when stderr is a file
if command -v script >/dev/null; then
	DNSREEL_PROGRESS_DELAY=0 script -qec "'$E' '$SYN' --clickhouse '$URL' --database syn" \
		/dev/null >"$T/tty" 2>&1
	grep -q "events [0-9]*/[0-9]*  batches 0  rows sent 0" "$T/tty" ||
		fail "no progress line on a terminal: $(head -c 300 "$T/tty")"
	grep -q "batches" "$T/err" && fail "progress line in a file: $(cat "$T/err")"
fi

# ---- SIGKILL half-way, then resume -------------------------------------------------------------
# wait_commits DB N: until the export state of DB has N commits (false after 30 s)
wait_commits() {
	for _ in $(seq 1 600); do
		n=$(ch "SELECT countIf(kind = 'commit') FROM $1.exports" 2>/dev/null)
		[ -n "$n" ] && [ "$n" -ge "$2" ] 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
"$E" "$SYN" --clickhouse "$URL" --database killed --create --batch 2000 --streams 2 2>"$T/err.kill" &
epid=$!
wait_commits killed 0 || true
if wait_commits killed 3; then
	kill -9 $epid
	wait $epid 2>/dev/null
	mid=$(ch "SELECT count() FROM killed.events")
	[ "$mid" -gt 0 ] && [ "$mid" -lt 60000 ] || fail "kill half-way: $mid events at the kill"
	"$E" "$SYN" --clickhouse "$URL" --database killed --batch 2000 --streams 2 2>"$T/err" ||
		fail "resume after SIGKILL: $(cat "$T/err")"
	[ "$(totals killed)" = "$(want_totals "$SYN")" ] ||
		fail "after SIGKILL and resume: $(totals killed), want $(want_totals "$SYN")"
	compare killed "$SYN"
else
	wait $epid
	fail "the export did not reach 3 batches to be killed after: $(cat "$T/err.kill")"
fi

# ---- the server stopped mid-export -------------------------------------------------------------
"$E" "$SYN" --clickhouse "$URL" --database stopped --create --batch 1000 2>"$T/err.stop" &
epid=$!
if wait_commits stopped 3; then
	ch_stop KILL
	wait $epid
	rc=$?
	[ $rc = 1 ] || fail "server stopped: exit $rc, want 1"
	grep -q "ClickHouse is unreachable: [0-9]* batch(es) with [0-9]* events committed by this run; batch [0-9]* is not: run the same command again" "$T/err.stop" ||
		fail "server stopped: message: $(cat "$T/err.stop")"
	ch_start "$T/server"
	"$E" "$SYN" --clickhouse "$URL" --database stopped --batch 1000 2>"$T/err" ||
		fail "resume after the server came back: $(cat "$T/err")"
	[ "$(totals stopped)" = "$(want_totals "$SYN")" ] ||
		fail "after the server came back: $(totals stopped), want $(want_totals "$SYN")"
else
	wait $epid
	fail "the export did not reach 3 batches before the server was to stop: $(cat "$T/err.stop")"
fi

# refused: a database that does not exist, without --create
"$E" "$LAB" --clickhouse "$URL" --database nosuch 2>"$T/err"
rc=$?
[ $rc = 1 ] && grep -q "HTTP [0-9]*: Code: 81" "$T/err" ||
	fail "missing database: exit $rc: $(cat "$T/err")"
# nothing listening: the port of a server that is not there
"$E" "$LAB" --clickhouse "http://127.0.0.1:$(ch_free_port)/" 2>"$T/err"
rc=$?
[ $rc = 1 ] && grep -q "Couldn't connect" "$T/err" || fail "no server: exit $rc: $(cat "$T/err")"

[ $fails = 0 ] && echo PASS
exit $((fails > 0))
