#!/bin/bash
# Turns iscsi-test-cu's verbose output (stdin) into "STATUS NAME" lines,
# STATUS one of pass, fail, skip; NAME is Suite.Test.
awk '
function flush() {
	if (name == "") return
	if (seg ~ /FAILED/) st = "fail"
	else if (first ~ /^passed/) st = "pass"
	else if (seg ~ /\[SKIPPED\]/) st = "skip"
	else st = "pass"
	print st, name
	name = ""
}
/^Suite: / { flush(); suite = $2; next }
/^  Test: / {
	flush()
	line = $0
	sub(/^  Test: /, "", line)
	i = index(line, " ...")
	name = suite "." substr(line, 1, i - 1)
	first = substr(line, i + 4)
	seg = first
	next
}
/^Run Summary/ { flush(); exit }
{ if (name != "") seg = seg "\n" $0 }
END { flush() }
'
