#!/usr/bin/env bash
# completion.sh BINDIR SCRIPT: the bash completion script completes verbs, options from each
# tool's --help, field names after -F and --fields (also after a comma), report names after
# --report and output formats after -o.
set -u
bin=$1 script=$2
fail=0
# shellcheck disable=SC1090
. "$script"
# comp WORD...: completes the last word of "WORD..." as bash would; prints the candidates.
comp() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_dnsreel
	printf '%s\n' "${COMPREPLY[@]}"
}
want() { # description expected-candidate WORD...
	local what=$1 exp=$2
	shift 2
	comp "$@" | grep -qxF -- "$exp" || {
		echo "FAIL: $what: '$exp' not offered for '$*' (got: $(comp "$@" | tr '\n' ' '))"
		fail=1
	}
}
want "verb" replay "$bin/dnsreel" re
want "verb" query "$bin/dnsreel" q
want "replay option" --fields "$bin/dnsreel" replay --fi
# the recorder is not built without eBPF (-DDNSREEL_BPF=OFF)
[ -x "$bin/dnsreel-record" ] && want "record option" --max-size "$bin/dnsreel" record --max-s
want "verb" diagnose "$bin/dnsreel" diag
want "diagnose option" --race-gap "$bin/dnsreel" diagnose --race-g
want "tool option" --reindex "$bin/dnsreel-verify" --re
want "report option" --keep "$bin/dnsreel" report --ke
want "redact option" --keep-suffix "$bin/dnsreel" redact x.reel --keep
want "-F field" k8s.podname "$bin/dnsreel" replay x.reel -F k8s.p
want "--fields after comma" name,latency_ns "$bin/dnsreel-replay" x.reel --fields name,lat
want "report" nxdomain "$bin/dnsreel" query --report nx
want "output format" jsonl "$bin/dnsreel" replay x.reel -o js
[ "$(comp "$bin/dnsreel" replay x.reel -F zzz | grep -c .)" = 0 ] ||
	{ echo "FAIL: an unknown field prefix offered something"; fail=1; }
[ $fail = 0 ] && echo "ok: completion"
exit $fail
