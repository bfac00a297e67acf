# The common start of a bash test suite: the tree's top as the working
# directory, $O absolute, a scratch directory $W, and the pass/fail counters
# with their closing line.  Sourced: `. tests/suite.sh NAME`.
set -u -o pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP" || exit 1
. tests/ports.sh
O=${O:-build}
mkdir -p "$O"
O=$(cd "$O" && pwd)
W=$O/$1
# Scratch makes are makes of their own, not sub-makes of a make test.
unset MAKEFLAGS MFLAGS MAKELEVEL
rm -rf "$W"
mkdir -p "$W"
passed=0 failed=0 skipped=0

ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
skip() { skipped=$((skipped + 1)); echo "skip $1"; }
# expect NAME COMMAND...: one case, passed when COMMAND succeeds.
expect() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
# need HINT PATH|COMMAND...: ends the suite with one failure (and its closing
# line) at the first path that does not exist or command not in PATH.
need() {
	local hint=$1 x
	shift
	for x in "$@"; do
		case $x in
		*/*) [ -e "$x" ] && continue ;;
		*) command -v "$x" >/dev/null && continue ;;
		esac
		bad setup "$x missing${hint:+: $hint}"
		suite_end
		exit 1
	done
}
# suite_end: the closing line; the suite's exit status.
suite_end() {
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}
