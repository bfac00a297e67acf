#!/bin/bash
# arm64 UEFI clients: qemu-system-aarch64 -M virt (TCG) with Debian's AAVMF
# boots the ISO as a CD, the USB stick, and build/arm64/ipxe.efi by UEFI PXE
# (virtio-net, empty ROM: AAVMF's own driver and PXE), and each one sanboots
# an iSCSI disk with CHAP whose ESP holds the arm64 marker payload
# (\EFI\BOOT\BOOTAA64.EFI = $O/test/payload/aa64/marker.efi).  Every medium
# runs against tgtd and against wupan-target; both targets run at once.
#
# The guests sit on taps of a bridge in a network namespace of our own
# (wupan-aa64-PID), where dnsmasq runs with build/dnsmasq.conf itself, so
# its client-arch 11 rule hands AAVMF's PXE arm64/ipxe.efi and its iPXE rule
# hands iPXE boot.ipxe; wupan-tftpd serves build/tftp plus the per-host files.
#
# A case passes when the console shows the boot script's banner with the
# guest's initiator IQN, its per-host settings applied, and
# "WUPAN-AA64-BOOT-OK tag=CASE", and QEMU then exits 0 (the payload powers
# the machine off through ResetSystem).
#
# Environment:
#   O                    build directory (default build)
#   WUPAN_ARM64_CASES    extended regex: run only the cases (TARGET-MEDIUM,
#                        e.g. tgtd-usb) whose name matches
#   WUPAN_ARM64_JOBS     guests at once (default 3: two cores are busy only
#                        two thirds of the time with 2)
#   WUPAN_ARM64_TIMEOUT  seconds a guest may take (default 180; ~20 s seen)
#   WUPAN_ARM64_HANG_SECS  seconds of silence after iPXE's autoexec.ipxe
#                        lookup that count as a hang (default 60; see ipxe_hung)
# Ports 37260-37279 (tgtd 37260, wupan-target 37261), tgtd control port 61.
# Logs stay in $O/qemu-arm64/CASE/, those of dnsmasq and wupan-tftpd in
# $O/qemu-arm64/.
set -u -o pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
O=${O:-build}
mkdir -p "$O"
O=$(cd "$O" && pwd)
export O
JOBS=${WUPAN_ARM64_JOBS:-3}
FILTER=${WUPAN_ARM64_CASES:-}
AAVMF=/usr/share/AAVMF
BASE_IQN=iqn.2026-01.org.wupan.client
TEST_IQN=iqn.2026-01.org.wupan.test-aa64
TIMEOUT=${WUPAN_ARM64_TIMEOUT:-180}
HANG_SECS=${WUPAN_ARM64_HANG_SECS:-60}
TGTD_PORT=37260 TGTD_CTL=61 WUPAN_PORT=37261
# The namespace's bridge: dnsmasq, wupan-tftpd and both targets listen here.
SERVER=192.168.78.1
WORK=$O/qemu-arm64
NS=wupan-aa64-$$

. tests/qemu/target.sh

fail_setup() {
	echo "arm64: $*"
	echo "0 passed, 1 failed"
	exit 1
}

for f in "$O/boot.ipxe" "$O/ipxe.iso" "$O/ipxe.usb" "$O/arm64/ipxe.efi" "$O/tftp/arm64/ipxe.efi" \
	"$O/test/payload/aa64/marker.efi"; do
	[ -e "$f" ] || fail_setup "$f missing: run make (and make test-payloads) first"
done
for f in "$AAVMF/AAVMF_CODE.fd" "$AAVMF/AAVMF_VARS.fd"; do
	[ -e "$f" ] || fail_setup "$f missing (Debian package qemu-efi-aarch64)"
done
command -v qemu-system-aarch64 >/dev/null || fail_setup "qemu-system-aarch64 missing (Debian package qemu-system-arm)"
for f in "$O/bin/wupan-target" "$O/bin/wupan-tftpd" "$O/dnsmasq.conf"; do
	[ -e "$f" ] || fail_setup "$f missing: run make first"
done
command -v dnsmasq >/dev/null || fail_setup "dnsmasq missing (Debian package dnsmasq-base)"

# Prints the QEMU command line of a case, one argument per line.
qemu_args() {
	local medium=$1 mac=$2 dir=$3 tap=$4
	local nic="virtio-net-pci,netdev=n0,mac=$mac,romfile="
	printf '%s\n' qemu-system-aarch64 -M virt -cpu cortex-a57 -m 512 -accel tcg \
		-display none -monitor none -no-reboot -serial "file:$dir/serial.log" \
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$AAVMF/AAVMF_CODE.fd" \
		-drive "if=pflash,format=raw,unit=1,file=$dir/vars.fd"
	case $medium in
	iso-cd)
		printf '%s\n' -drive "file=$O/ipxe.iso,media=cdrom,if=none,id=cd0,readonly=on" \
			-device virtio-scsi-pci -device scsi-cd,drive=cd0,bootindex=0 ;;
	usb)
		printf '%s\n' -drive "if=none,id=u0,format=raw,file=$O/ipxe.usb,readonly=on" \
			-device qemu-xhci -device usb-storage,drive=u0,bootindex=0 ;;
	pxe) nic="$nic,bootindex=0" ;;
	*) echo "unknown medium $medium" >&2; return 1 ;;
	esac
	printf '%s\n' -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" -device "$nic"
}

# Prepares a case: disk, per-host file in the shared TFTP root; appends its
# target line to the target kind's spec.  Sets c_mac and c_iqn_init.
prepare_case() {
	local idx=$1 name=$2 kind=$3 port=$4 dir=$5
	local machyp iqn=$TEST_IQN:$name user=u-$name secret=aa64-$idx-secret
	c_mac=$(printf '52:54:00:78:00:%02x' "$idx")
	machyp=${c_mac//:/-}
	c_iqn_init=$BASE_IQN:$machyp
	rm -rf "$dir"
	mkdir -p "$dir"
	cp --sparse=always "$AAVMF/AAVMF_VARS.fd" "$dir/vars.fd"
	sh tests/qemu/mkdisk.sh aa64 "$name" "$dir/disk.img" || return 1
	echo "$iqn $dir/disk.img $c_iqn_init $user $secret - -" >>"$WORK/$kind.spec"
	{
		echo "#!ipxe"
		echo "set iscsi-port $port"
		echo "set iscsi-lun $(target_lun "$kind")"
		echo "set iscsi-target $iqn"
		echo "set menu-timeout 0"
		echo "set username $user"
		echo "set password $secret"
	} >"$WORK/tftp-root/hosts/$machyp.ipxe"
}

# True when the guest's firmware has hung where Debian's arm64 ipxe.efi once
# did under AAVMF in TCG (1 run in 7): its autoexec.ipxe lookup is the last
# thing on the console, no iPXE banner follows, and the console has been
# silent for HANG_SECS.  It happens before our script runs, so the case is
# booted once more; a second hang fails it.
ipxe_hung() { # DIR
	local log=$1/serial.log
	[ $(($(date +%s) - $(stat -c %Y "$log"))) -ge "$HANG_SECS" ] || return 1
	grep -qa 'Open Source Network Boot Firmware' "$log" && return 1
	[[ $(tr -d '\r' <"$log" | grep -a . | tail -n 1) == *autoexec.ipxe*Not\ found* ]]
}

# Runs one prepared case; writes "RESULT SECONDS DETAIL" to $dir/result.
run_case() {
	local name=$1 medium=$2 mac=$3 iqn_init=$4 dir=$5 tap=$6
	local t0 start qpid status="" result="" detail="" rerun=""
	local marker="WUPAN-AA64-BOOT-OK tag=$name"
	local header="wupan: site wupan initiator $iqn_init root iscsi:$SERVER::"
	local -a args
	mapfile -t args < <(qemu_args "$medium" "$mac" "$dir" "$tap")
	printf '%q ' "${args[@]}" >"$dir/qemu.cmd"
	trap 'kill -TERM $qpid 2>/dev/null; exit 1' TERM
	t0=$(date +%s)
	while :; do
		: >"$dir/serial.log"
		start=$(date +%s) result=""
		ip netns exec "$NS" "${args[@]}" </dev/null >"$dir/qemu.out" 2>&1 &
		qpid=$!
		while kill -0 "$qpid" 2>/dev/null; do
			if [ $(($(date +%s) - start)) -ge "$TIMEOUT" ]; then
				result=TIMEOUT
			elif ipxe_hung "$dir"; then
				result=HUNG
			fi
			if [ -n "$result" ]; then
				kill -TERM "$qpid" 2>/dev/null
				break
			fi
			sleep 0.5
		done
		wait "$qpid"
		status=$?
		# Once: rerun is set for the second boot.
		[ "$result" = HUNG ] && [ -z "$rerun" ] || break
		# Keep the hung boot's console and start from fresh UEFI variables.
		mv "$dir/serial.log" "$dir/serial.hung.log"
		cp --sparse=always "$AAVMF/AAVMF_VARS.fd" "$dir/vars.fd"
		rerun="booted twice: iPXE hung before its banner the first time (serial.hung.log)"
	done
	local secs=$(($(date +%s) - t0))
	tr -d '\r' <"$dir/serial.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' >"$dir/console.txt"
	tr -d '\n' <"$dir/console.txt" >"$dir/console.flat"
	if [ "$result" = HUNG ]; then
		result=FAIL rerun="" detail="iPXE hung before its banner twice (no output for ${HANG_SECS}s after its autoexec.ipxe lookup; first boot: serial.hung.log)"
	elif [ -n "$result" ]; then
		detail="no decision after ${TIMEOUT}s; last line: $(grep -a . "$dir/console.txt" | tail -n 1 | cut -c1-100)"
	elif ! grep -qaF "$header" "$dir/console.flat"; then
		result=FAIL detail="no banner line '$header...' (qemu status $status)"
	elif ! grep -qaF "wupan: per-host settings applied" "$dir/console.txt"; then
		result=FAIL detail="per-host file not applied"
	elif ! grep -qaF "$marker" "$dir/console.txt"; then
		result=FAIL detail="marker '$marker' not seen (qemu status $status)"
	elif [ "$status" -ne 0 ]; then
		result=FAIL detail="marker seen but qemu status $status, want 0 (power-off)"
	elif [ "$medium" = pxe ] &&
		! grep -qaE 'bootfile[- ]name:? +arm64/ipxe\.efi$' "$WORK/dnsmasq.log"; then
		result=FAIL detail="dnsmasq never offered arm64/ipxe.efi (see $WORK/dnsmasq.log)"
	else
		result=PASS
	fi
	[ -n "$rerun" ] && detail=${detail:+$detail; }$rerun
	echo "$result $secs $detail" >"$dir/result"
}

# --- the cases --------------------------------------------------------------

cases=()
for kind in tgtd wupan; do
	for medium in iso-cd usb pxe; do
		[ -n "$FILTER" ] && ! [[ $kind-$medium =~ $FILTER ]] && continue
		cases+=("$kind|$medium")
	done
done
[ "${#cases[@]}" -gt 0 ] || fail_setup "no case matches '$FILTER'"

rm -rf "$WORK"
mkdir -p "$WORK/tftp-root"
cp -r "$O/tftp/." "$WORK/tftp-root/"
: >"$WORK/tgtd.spec"
: >"$WORK/wupan.spec"
idx=0
for c in "${cases[@]}"; do
	IFS='|' read -r kind medium <<<"$c"
	idx=$((idx + 1))
	name=$kind-$medium port=$TGTD_PORT
	[ "$kind" = wupan ] && port=$WUPAN_PORT
	if ! prepare_case "$idx" "$name" "$kind" "$port" "$WORK/$name" >"$WORK/$name.prep.log" 2>&1; then
		mkdir -p "$WORK/$name"
		echo "FAIL 0 preparation failed: $(tail -n 1 "$WORK/$name.prep.log")" >"$WORK/$name/result"
		continue
	fi
	printf '%s\n' "$c_mac" "$c_iqn_init" "wa$idx" >"$WORK/$name/case.env"
done

# The network: a bridge in our namespace, a tap per guest, dnsmasq with the
# built snippet (DHCP only: the range and the rest come from here) and
# wupan-tftpd.
net_pids=()
net_up() {
	local c kind medium tap
	ip netns add "$NS" || return 1
	target_exec=(ip netns exec "$NS")
	target_addr=$SERVER
	ip -n "$NS" link set lo up &&
		ip -n "$NS" link add br0 type bridge &&
		ip -n "$NS" addr add "$SERVER/24" dev br0 &&
		ip -n "$NS" link set br0 up || return 1
	for c in "${cases[@]}"; do
		IFS='|' read -r kind medium <<<"$c"
		[ -e "$WORK/$kind-$medium/case.env" ] || continue
		tap=$(sed -n 3p "$WORK/$kind-$medium/case.env")
		ip -n "$NS" tuntap add dev "$tap" mode tap &&
			ip -n "$NS" link set "$tap" master br0 up || return 1
	done
	ip netns exec "$NS" dnsmasq --keep-in-foreground --conf-file="$O/dnsmasq.conf" --port=0 \
		--interface=br0 --bind-interfaces --user=root --group=root --pid-file= \
		--dhcp-range=192.168.78.100,192.168.78.199,255.255.255.0,1h \
		--dhcp-leasefile="$WORK/dnsmasq.leases" --log-dhcp --log-facility="$WORK/dnsmasq.log" &
	net_pids+=($!)
	ip netns exec "$NS" "$O/bin/wupan-tftpd" --root "$WORK/tftp-root" --listen "$SERVER:69" -v \
		>"$WORK/wupan-tftpd.log" 2>&1 &
	net_pids+=($!)
	sleep 1
	for c in "${net_pids[@]}"; do
		kill -0 "$c" 2>/dev/null || { echo "dnsmasq or wupan-tftpd did not start (see $WORK/)"; return 1; }
	done
}
net_down() {
	local p
	for p in "${net_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	net_pids=()
	ip netns delete "$NS" 2>/dev/null
	target_exec=()
}

# Both targets at once: target.sh keeps one target's state, so each one's is
# saved after its start and put back for its stop.
tgtd_state=() wupan_state=() pids=()
stop_saved() { # PID KIND CTL, as saved
	[ -n "${1:-}" ] || return 0
	target_pid=$1 target_kind=$2 target_ctl=$3
	target_stop
}
stop_targets() {
	stop_saved "${tgtd_state[@]}"
	stop_saved "${wupan_state[@]}"
	tgtd_state=() wupan_state=()
}
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	stop_targets
	net_down
}
trap 'cleanup; exit 1' INT TERM
net_up >"$WORK/net.log" 2>&1 || { net_down; fail_setup "network namespace: $(tail -n 1 "$WORK/net.log")"; }
for kind in tgtd wupan; do
	[ -s "$WORK/$kind.spec" ] || continue
	port=$TGTD_PORT
	[ "$kind" = wupan ] && port=$WUPAN_PORT
	if ! target_start "$kind" "$port" "$TGTD_CTL" "$WORK" "$WORK/$kind.spec" >"$WORK/$kind.start.log" 2>&1; then
		target_stop
		stop_targets
		net_down
		fail_setup "could not start the $kind target: $(tail -n 1 "$WORK/$kind.start.log")"
	fi
	if [ "$kind" = tgtd ]; then
		tgtd_state=("$target_pid" "$target_kind" "$target_ctl")
	else
		wupan_state=("$target_pid" "$target_kind" "$target_ctl")
	fi
	target_pid=""
done

echo "== arm64 UEFI in QEMU (${#cases[@]} cases, $JOBS at a time)"
running() {
	local p n=0
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null && n=$((n + 1))
	done
	echo "$n"
}
for c in "${cases[@]}"; do
	IFS='|' read -r kind medium <<<"$c"
	name=$kind-$medium
	[ -e "$WORK/$name/result" ] && continue
	{ read -r mac; read -r iqn_init; read -r tap; } <"$WORK/$name/case.env"
	while [ "$(running)" -ge "$JOBS" ]; do
		sleep 0.2
	done
	run_case "$name" "$medium" "$mac" "$iqn_init" "$WORK/$name" "$tap" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p"
done
pids=()
stop_targets
net_down

passed=0 failed=0
for c in "${cases[@]}"; do
	IFS='|' read -r kind medium <<<"$c"
	name=$kind-$medium
	read -r result secs detail <"$WORK/$name/result"
	printf '%-6s %-14s %4ss  %s\n' "$result" "$name" "$secs" "$detail"
	if [ "$result" = PASS ]; then
		passed=$((passed + 1))
		rm -f "$WORK/$name/disk.img" "$WORK/$name/vars.fd"
	else
		failed=$((failed + 1))
		echo "       logs: $WORK/$name/ (console.txt, qemu.cmd)"
	fi
done
echo "arm64: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
