#!/bin/bash
# Conformance: libiscsi's iscsi-test-cu (family ALL, destructive tests on)
# against wupan-target and tgtd in the same run, on loopback.
#  - every test in conformance/wupan.pass must still pass (no regression);
#  - every test tgtd passes now must pass on wupan-target too, unless it is
#    listed with a reason in conformance/known-gaps.
# UPDATE=1 rewrites conformance/{wupan,tgtd}.pass from this run.
# Ports 23260 (wupan) and 23270 (tgtd -C 11).
set -u
cd "$(dirname "$0")/../.."
. tests/target/lib.sh
trap t_cleanup EXIT
t_lock conformance || exit 1

dir=tests/target/conformance
work=$O/target-tests/conformance
IQN=iqn.2025-01.org.wupan:conformance
rm -rf "$work"
mkdir -p "$work"
truncate -s 64M "$work/wupan.img" "$work/tgtd.img"

if ! command -v iscsi-test-cu >/dev/null; then
	t_fail setup "iscsi-test-cu missing (Debian libiscsi-bin)"
	t_done
	exit 1
fi
if ! wt_start "$work/wupan.log" --listen 127.0.0.1:23260 --target "$IQN" \
	--lun "$work/wupan.img"; then
	t_fail setup "wupan-target did not start: $(tail -n 3 "$work/wupan.log")"
	t_done
	exit 1
fi
wpid=$WT_PID
have_tgtd=0
if command -v tgtd >/dev/null &&
	tgtd_start 11 23270 "$IQN" "$work/tgtd.img" "$work/tgtd-daemon.log"; then
	have_tgtd=1
	tpid=$TGTD_PID
fi

# Both runs at once: they share nothing but the CPU.
timeout 240 iscsi-test-cu --dataloss -t ALL \
	"iscsi://127.0.0.1:23260/$IQN/0" >"$work/wupan.out" 2>&1 &
w_job=$!
if [ $have_tgtd = 1 ]; then
	timeout 240 iscsi-test-cu --dataloss -t ALL \
		"iscsi://127.0.0.1:23270/$IQN/1" >"$work/tgtd.out" 2>&1 &
	t_job=$!
	wait $t_job
fi
wait $w_job
if ! kill -0 "$wpid" 2>/dev/null; then
	t_fail crash "wupan-target died during the suite"
fi
wt_stop "$wpid" || t_fail exit "wupan-target exit status $? on SIGTERM"
[ $have_tgtd = 1 ] && tgtd_stop 11 "$tpid"

bash tests/target/cu-results.sh <"$work/wupan.out" | sort -k2 >"$work/wupan.res"
awk '$1 == "pass" {print $2}' "$work/wupan.res" >"$work/wupan.pass"
if [ $have_tgtd = 1 ]; then
	bash tests/target/cu-results.sh <"$work/tgtd.out" | sort -k2 >"$work/tgtd.res"
	awk '$1 == "pass" {print $2}' "$work/tgtd.res" >"$work/tgtd.pass"
else
	t_skip tgtd "tgtd not available (Debian tgt): comparison skipped"
	: >"$work/tgtd.pass"
fi
echo "wupan-target: $(wc -l <"$work/wupan.pass") passed," \
	"$(grep -c '^fail' "$work/wupan.res") failed," \
	"$(grep -c '^skip' "$work/wupan.res") skipped of $(wc -l <"$work/wupan.res")"
[ $have_tgtd = 1 ] && echo "tgtd:         $(wc -l <"$work/tgtd.pass") passed," \
	"$(grep -c '^fail' "$work/tgtd.res") failed," \
	"$(grep -c '^skip' "$work/tgtd.res") skipped of $(wc -l <"$work/tgtd.res")"

if [ "${UPDATE:-0}" = 1 ]; then
	cp "$work/wupan.pass" "$dir/wupan.pass"
	[ $have_tgtd = 1 ] && cp "$work/tgtd.pass" "$dir/tgtd.pass"
	echo "updated $dir/wupan.pass and $dir/tgtd.pass"
fi

gaps=$(grep -v '^#' "$dir/known-gaps" 2>/dev/null | awk '{print $1}')
while read -r name; do
	if grep -qx "$name" "$work/wupan.pass"; then
		t_ok "$name"
	elif grep -qx "$name" <<<"$gaps"; then
		t_skip "$name" "known gap: $(grep "^$name " "$dir/known-gaps" | cut -d' ' -f2-)"
	elif grep -qx "$name" "$dir/wupan.pass"; then
		t_fail "$name" "regressed (in $dir/wupan.pass); see $work/wupan.out"
	else
		t_fail "$name" "tgtd passes it, wupan-target does not; see $work/wupan.out"
	fi
done < <(sort -u "$dir/wupan.pass" "$work/tgtd.pass")
t_done
