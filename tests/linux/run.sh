#!/bin/bash
# Diskless Linux end to end: wupan's firmware boots the Debian image of
# `make diskless-image` ($O/linux) from an iSCSI disk under SeaBIOS and OVMF
# (TCG), and Linux finds its root through the iBFT the firmware published.
# Cases are listed in tests/linux/cases; each gets its own copy of the disk,
# its own target (tgtd or wupan-target) and its own TFTP directory with a
# per-host file that points the client at that target.
#
# Environment:
#   O                   build directory (default build)
#   WUPAN_LINUX_TARGETS target kinds to run: "tgtd wupan" (default: both; the
#                       wupan cases are skipped when $O/bin/wupan-target is
#                       missing)
#   WUPAN_LINUX_CASES   extended regex: run only the cases whose name matches
#   WUPAN_LINUX_FULL    1: also the full tier (cases beyond the time budget of
#                       make test, see tests/linux/cases)
#   WUPAN_LINUX_JOBS    guests at once, 1 to 9 (default 3: with 2, two cores
#                       wait a fifth of the time, on DHCP, hints and a target
#                       that comes back)
#
# Ports 35260-35299 on loopback (or inside the network namespaces
# wupan-linux-*), tgtd control ports 41-49 (one per guest slot).
# Logs stay in $O/linux-tests/CASE/.
set -u -o pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
O=${O:-build}
mkdir -p "$O"
O=$(cd "$O" && pwd)
export O
LX=$O/linux
WORK=$O/linux-tests
FILTER=${WUPAN_LINUX_CASES:-}
KINDS=${WUPAN_LINUX_TARGETS:-tgtd wupan}
IPXE_ROMS=$(ls -d "$O"/ipxe/*/root/usr/share/qemu 2>/dev/null | head -n 1)
BASE_IQN=iqn.2026-01.org.wupan.client
TEST_IQN=iqn.2026-01.org.wupan.linux
PORT_BASE=35260
BIOS_TIMEOUT=150
UEFI_TIMEOUT=240
# The menu must stay put this long after a failure hint.
HINT_SETTLE=4

. tests/linux/lib.sh

fail_setup() {
	echo "linux: $*"
	echo "0 passed, 1 failed"
	exit 1
}

for f in "$O/boot.ipxe" "$O/ipxe.lkrn" "$O/ipxe.efi" "$O/tftp/boot.ipxe" "$O/dnsmasq.conf" \
	"$O/dnsmasq-proxy.conf" "$LX/vmlinuz" "$LX/initrd.img" "$LX/bios.img" "$LX/uefi.img" \
	"$LX/install-bios.cpio" "$LX/install-uefi.cpio"; do
	[ -e "$f" ] || fail_setup "$f missing: run make and make diskless-image first"
done
[ -n "$IPXE_ROMS" ] || fail_setup "pinned ipxe-qemu ROMs missing: run make ipxe"
for tool in qemu-system-x86_64 tgtd tgtadm debugfs dnsmasq ip md5sum; do
	command -v $tool >/dev/null || fail_setup "$tool missing"
done

rm -rf "$WORK"
mkdir -p "$WORK"
printf '\370\003' >"$WORK/sercon.bin"

# --- the cases --------------------------------------------------------------

cases=()
while read -r name fw profile rest; do
	case $name in '' | '#'*) continue ;; esac
	tier=${rest##* }
	expect=$(echo "${rest% *}" | sed 's/ *$//')
	cases+=("$name|$fw|$profile|$expect|$tier")
done <tests/linux/cases

# Runs one case: CASE-NAME KIND FW PROFILE EXPECT IDX SLOT.  Writes
# "RESULT SECONDS DETAIL" to $dir/result, with the boot times in DETAIL.
run_case() {
	local name=$1 kind=$2 fw=$3 profile=$4 expect=$5 idx=$6 slot=$7
	local dir=$WORK/$kind-$name
	local port=$((PORT_BASE + idx)) ctl=$((41 + slot))
	local start rc
	mkdir -p "$dir"
	trap 'lx_cleanup >>"$dir/case.log" 2>&1; exit 1' INT TERM
	start=$(date +%s)
	case_main "$name" "$kind" "$fw" "$profile" "$expect" "$port" "$ctl" "$dir" >"$dir/case.log" 2>&1
	rc=$?
	lx_cleanup >>"$dir/case.log" 2>&1
	local secs=$(($(date +%s) - start))
	local detail
	detail=$(tail -n 1 "$dir/case.log")
	if [ $rc -eq 0 ]; then
		echo "PASS $secs $detail" >"$dir/result"
	elif [ $rc -eq 77 ]; then
		echo "SKIP $secs $detail" >"$dir/result"
	else
		echo "FAIL $secs $detail" >"$dir/result"
	fi
}

passed=0 failed=0 skipped=0
idx=0
JOBS=${WUPAN_LINUX_JOBS:-3}
[[ $JOBS =~ ^[1-9]$ ]] || fail_setup "WUPAN_LINUX_JOBS must be 1 to 9, not '$JOBS'"
slots=$(seq 0 $((JOBS - 1)))
slot_pid=()
for s in $slots; do slot_pid[s]=""; done
# Interrupted: each running case stops its own guest, target and namespaces.
abort() {
	local s
	for s in $slots; do
		[ -n "${slot_pid[$s]}" ] && kill -TERM "${slot_pid[$s]}" 2>/dev/null
	done
	for s in $slots; do
		[ -n "${slot_pid[$s]}" ] && wait "${slot_pid[$s]}" 2>/dev/null
	done
	echo "linux: interrupted"
	echo "$passed passed, $((failed + 1)) failed, $skipped skipped"
	exit 1
}
trap abort INT TERM
skip() {
	echo "SKIP   $1: $2"
	skipped=$((skipped + 1))
}
for kind in $KINDS; do
	for c in "${cases[@]}"; do
		IFS='|' read -r name fw profile expect tier <<<"$c"
		[ -n "$FILTER" ] && ! [[ $name =~ $FILTER ]] && continue
		# profile@KIND: this target kind only.
		case $profile in *@*) [ "$kind" = "${profile#*@}" ] || continue ;; esac
		profile=${profile%@*}
		if [ "$kind" = wupan ] && [ ! -x "$O/bin/wupan-target" ]; then
			skip "$kind-$name" "$O/bin/wupan-target not built (make)"
			continue
		fi
		if [ "$tier" = full ] && [ "${WUPAN_LINUX_FULL:-0}" != 1 ]; then
			skip "$kind-$name" "full tier, beyond make test's time budget (WUPAN_LINUX_FULL=1 runs it)"
			continue
		fi
		idx=$((idx + 1))
		[ $idx -lt 40 ] || fail_setup "more than 39 cases: no ports left in $PORT_BASE-35299"
		# JOBS guests at a time, each in a slot with its own tgtd control port.
		while :; do
			free=""
			for s in $slots; do
				if [ -z "${slot_pid[$s]}" ] || ! kill -0 "${slot_pid[$s]}" 2>/dev/null; then
					free=$s
					break
				fi
			done
			[ -n "$free" ] && break
			sleep 0.3
		done
		[ -n "${slot_pid[$free]}" ] && wait "${slot_pid[$free]}"
		echo "linux: start $kind $name ($fw, $profile, $expect)"
		run_case "$name" "$kind" "$fw" "$profile" "$expect" "$idx" "$free" &
		slot_pid[$free]=$!
		echo "$kind-$name" >>"$WORK/order"
	done
done
for s in $slots; do
	[ -n "${slot_pid[$s]}" ] && wait "${slot_pid[$s]}"
done

if [ -f "$WORK/order" ]; then
	while read -r cdir; do
		read -r result secs detail <"$WORK/$cdir/result"
		printf '%-6s %-28s %4ss  %s\n' "$result" "$cdir" "$secs" "$detail"
		case $result in
		PASS) passed=$((passed + 1)) ;;
		SKIP) skipped=$((skipped + 1)) ;;
		*)
			failed=$((failed + 1))
			echo "       logs: $WORK/$cdir/ (case.log, *.console)"
			;;
		esac
	done <"$WORK/order"
fi
echo "linux: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
