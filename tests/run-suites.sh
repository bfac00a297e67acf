#!/bin/bash
# Runs a list of suites and sums their closing "N passed, N failed[, N skipped]"
# lines into one.  Usage: run-suites.sh check|test 'CMD [ARGS]'...
# In check mode each suite's output goes to a log and only its tail is shown;
# in test mode it is shown as it runs.  A suite that exits non-zero without
# reporting a failure counts as one failure.
set -u -o pipefail
mode=$1
shift
tp=0 tf=0 ts=0
bad=""
log_dir=${O:-build}/logs/$mode
# The suites' fixed ports stay out of the kernel's picks while they run.
. "$(dirname "${BASH_SOURCE[0]}")/ports.sh"
mkdir -p "$log_dir"
# CPU seconds the suites' processes used (user and system, of the children this
# shell waited for), so a slow suite shows whether it computes or waits.
CLK_TCK=$(getconf CLK_TCK)
children_cpu() {
	local st
	read -r -a st </proc/$$/stat
	echo $((st[15] + st[16]))
}
for suite in "$@"; do
	# Log names from the path: tests/qemu/run.sh -> qemu-run.sh.
	name=${suite%% *}
	name=${name#tests/}
	name=${name#"${O:-build}"/asan/}
	name=${name//\//-}
	log=$log_dir/$name.log
	echo "== $suite"
	start=$(date +%s)
	cpu0=$(children_cpu)
	if [ "$mode" = check ]; then
		$suite >"$log" 2>&1
		rc=$?
		tail -n 2 "$log" | sed 's/^/   /'
	else
		bash $suite 2>&1 | tee "$log"
		rc=$?
	fi
	line=$(grep -E '^([A-Za-z0-9_-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	p=$(sed -n 's/^\([A-Za-z0-9_-]*: \)\{0,1\}\([0-9][0-9]*\) passed.*/\2/p' <<<"$line")
	f=$(sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p' <<<"$line")
	s=$(sed -n 's/.* \([0-9][0-9]*\) skipped.*/\1/p' <<<"$line")
	p=${p:-0} f=${f:-0} s=${s:-0}
	echo "   ($(( $(date +%s) - start )) s, cpu $(( ($(children_cpu) - cpu0) / CLK_TCK )) s, log: $log)"
	if [ -z "$line" ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
		f=$((f + 1))
		echo "   suite failed (exit $rc) without a failure count"
	fi
	[ "$f" -eq 0 ] || bad="$bad $name"
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
done
[ -z "$bad" ] || echo "failing suites:$bad"
echo "$mode: $tp passed, $tf failed, $ts skipped"
[ "$tf" -eq 0 ]
