#!/bin/sh
# The tree's C files against .clang-format.  Usage:
#   check-format.sh [--fix] [FILE...]
# With no FILE: every .c and .h file under src, efi, tests and bench.
# Prints one "ok"/"FAIL" line per file (FAIL with the first differing line),
# then "N passed, N failed"; exits 1 if a file differs.  --fix rewrites the
# files in place instead.  Needs clang-format 14 (Debian's clang-format):
# other versions lay some constructs out differently, so the version is
# checked rather than trusted.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
fix=0
[ "${1:-}" = --fix ] && { fix=1; shift; }
cf=${CLANG_FORMAT:-}
if [ -z "$cf" ]; then
	for c in clang-format-14 clang-format; do
		command -v "$c" >/dev/null 2>&1 && { cf=$c; break; }
	done
fi
if [ -z "$cf" ]; then
	echo "check-format: clang-format not found (apt-get install clang-format)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
case $("$cf" --version) in
*" version 14."*) ;;
*)
	echo "check-format: $cf is not clang-format 14: $("$cf" --version)" >&2
	echo "0 passed, 1 failed"
	exit 1
	;;
esac
cd "$top" || exit 1
if [ $# -eq 0 ]; then
	set -- $(find src efi tests bench -name '*.[ch]' -not -path '*/corpus/*' | LC_ALL=C sort)
fi
passed=0 failed=0
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT
for f in "$@"; do
	if [ $fix -eq 1 ]; then
		"$cf" --style="file:$top/.clang-format" -i "$f" || failed=$((failed + 1))
		continue
	fi
	"$cf" --style="file:$top/.clang-format" --assume-filename="$f" <"$f" >"$tmp" || {
		echo "FAIL $f: clang-format failed"
		failed=$((failed + 1))
		continue
	}
	if cmp -s "$f" "$tmp"; then
		passed=$((passed + 1))
	else
		line=$(diff "$f" "$tmp" | sed -n '1s/^\([0-9]*\).*/\1/p')
		echo "FAIL $f:$line: not in the tree's style (make format rewrites it)"
		failed=$((failed + 1))
	fi
done
[ $fix -eq 1 ] && { echo "formatted $# files, $failed failed"; [ $failed -eq 0 ]; exit; }
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
