#!/usr/bin/env bash
# dnsreel-record usage errors exit 2 with a message naming the option, before any privilege
# check or BPF work (so this runs without root); -o is only an output format; --help lists every option section; as root,
# an unprivileged run (setpriv) names the missing capabilities and exits 1.
set -u
REC=$1
fail=0
expect2() { # ARGS... : exit 2 and stderr mentions the first option
	"$REC" "$@" >/dev/null 2>"$err"
	rc=$?
	if [ $rc -ne 2 ]; then
		echo "FAIL: $* exited $rc, want 2"
		fail=1
	elif ! grep -q -- "${1%%=*}" "$err"; then
		echo "FAIL: $*: stderr does not name ${1%%=*}: $(cat "$err")"
		fail=1
	fi
}
err=$(mktemp)
trap 'rm -f "$err"' EXIT
expect2 --ports 0
expect2 --ports 53,abc
expect2 --snaplen 5
expect2 --service 10.0.0.1:53
expect2 --service bogus=ns/name
svcf=$(mktemp)
printf '# comment\n10.96.0.10:53=kube-system/kube-dns\n\n10.0.0.1:53\n' >"$svcf"
expect2 --services "$svcf"
grep -q "$svcf:4" "$err" || { echo "FAIL: --services: bad line not named as FILE:4: $(cat "$err")"; fail=1; }
rm -f "$svcf"
"$REC" --services /nonexistent/dnsreel-services -w /nonexistent/x.reel >/dev/null 2>"$err"
rc=$?
if [ $rc -ne 1 ] || ! grep -q "cannot read --services /nonexistent/dnsreel-services" "$err"; then
	echo "FAIL: unreadable --services exited $rc, want 1 naming the file: $(cat "$err")"
	fail=1
fi
expect2 --flush 0
expect2 --duration xyz
expect2 --max-size -1
expect2 --ringbuf-size 3M
expect2 --zstd-level 99
expect2 -F 'nosuchfield==1'
expect2 --scan-interval 0
expect2 --select 'nosuchfield==1'
# -o is the live output format, never a capture directory (that is -w).
expect2 -o yaml --live
expect2 -o incident.reel
grep -q -- "-w DIR" "$err" || { echo "FAIL: -o DIR does not point to -w: $(cat "$err")"; fail=1; }
# The live view's options without --live: usage errors, not silent record-time filters
# (-n/-p/-c choose the pods recorded: lab_select).
expect2 -F rcode==NameError
expect2 --node-netns yes
expect2 --node-netns maybe -p web
expect2 --no-resolve
expect2 -o json
# Every replay output format and --no-resolve are accepted with --live: the run gets as far
# as the next bad option.
for f in columns json jsonl jsonpretty jsonarray csv; do
	"$REC" --live -o $f --no-resolve --ports 0 >/dev/null 2>"$err"
	rc=$?
	[ $rc -eq 2 ] && grep -q -- --ports "$err" ||
		{ echo "FAIL: --live -o $f --no-resolve refused: $rc $(cat "$err")"; fail=1; }
done
"$REC" extra-operand >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: stray operand not a usage error"; fail=1; }
out=$("$REC" --help)
for s in Output "What to record" "Live view" Context Operation; do
	grep -q "^$s" <<<"$out" || { echo "FAIL: --help has no section $s"; fail=1; }
done
# Without privileges: names the missing capabilities, exit 1, nothing created.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	d=$(mktemp -d)
	chmod 777 "$d"
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$REC" -w "$d/x.reel" -d 1 >/dev/null 2>"$err"
	rc=$?
	[ $rc -eq 1 ] || { echo "FAIL: unprivileged run exited $rc, want 1"; fail=1; }
	grep -q "CAP_NET_RAW" "$err" || { echo "FAIL: no missing capability named: $(cat "$err")"; fail=1; }
	[ -e "$d/x.reel" ] && { echo "FAIL: unprivileged run created the capture"; fail=1; }
	rm -rf "$d"
fi
[ $fail -eq 0 ] && echo "ok: dnsreel-record usage errors"
exit $fail
