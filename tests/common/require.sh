# Sourced by test scripts: require TOOL... exits 77 (ctest's SKIP_RETURN_CODE) naming what is
# missing, so a test without its tools is reported as skipped, never as passed.
require() {
	missing=
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	if [ -n "$missing" ]; then
		echo "SKIP: missing tool(s):$missing (tests/deps.sh test installs them)"
		exit 77
	fi
}
