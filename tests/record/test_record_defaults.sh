#!/usr/bin/env bash
# Every default the record man page and --help document is the one the code uses: rec_defaults
# prints the libraries' constants; each documented "(default X)" in dnsreel-record.1.md and
# "(X)" in --help must equal them, and every option documenting a default is checked (text
# defaults that are no constant are listed apart).
set -u
REC=$1 DEFAULTS=$2 MAN=$3
fail=0
help=$("$REC" --help) || { echo "FAIL: --help"; exit 1; }
declare -A want
while read -r opt val; do want[$opt]=$val; done < <("$DEFAULTS")
[ ${#want[@]} -ge 7 ] || { echo "FAIL: rec_defaults printed ${#want[@]} defaults"; exit 1; }
# The man page's option paragraphs: "**--opt** ..." up to the next option line.
man_par() {
	awk -v o="**--$1**" '/^# / { opts = ($0 == "# OPTIONS") }
		opts && (index($0, o) == 1 || index($0, ", " o)) { p = 1; print; next }
		p && /^\*\*-/ { exit } p { print }' "$MAN"
}
for opt in "${!want[@]}"; do
	par=$(man_par "$opt")
	[ -n "$par" ] || { echo "FAIL: man page has no --$opt"; fail=1; continue; }
	got=$(grep -o 'default `\?[^`):]*' <<<"$par" | head -1 | sed 's/default `\?//')
	[ "$got" = "${want[$opt]}" ] ||
		{ echo "FAIL: man page: --$opt default '$got', code uses '${want[$opt]}'"; fail=1; }
	line=$(grep -E -- "--$opt[= ]" <<<"$help" | head -1)
	hgot=$(grep -o '([^):]*' <<<"$line" | tail -1 | tr -d '(')
	[ "$hgot" = "${want[$opt]}" ] ||
		{ echo "FAIL: --help: --$opt default '$hgot', code uses '${want[$opt]}'"; fail=1; }
done
# Every documented default is checked above or is a text default named here.
text_defaults=" write host-root pod-logs node output "
while read -r opt; do
	[ -n "${want[$opt]+x}" ] && continue
	[[ $text_defaults == *" $opt "* ]] && continue
	echo "FAIL: man page documents a default for --$opt that no test compares"
	fail=1
done < <(awk '/^# / { opts = ($0 == "# OPTIONS") } opts && /^\*\*-/ { o = $0; sub(/.*\*\*--/, "", o); sub(/\*\*.*/, "", o) }
	/\(default|Default:/ && o != "" { print o; o = "" }' "$MAN" | sort -u)
[ $fail -eq 0 ] && echo "ok: ${#want[@]} documented defaults match the code"
exit $fail
