#!/bin/bash
# iPXE against wupan-target in QEMU (BIOS, user networking): sanboot of a
# disk whose MBR writes itself to sector 1 through INT 13h (iPXE's R2T and
# 512-byte Data-Out path), prints a marker and ends QEMU through
# isa-debug-exit (the last characters before it may be lost, so the
# marker is matched short).  Cases: no auth, CHAP, mutual CHAP, wrong secret,
# initiator not allowed.  Ports 23295-23299.  The full BIOS/UEFI matrix is
# tests/qemu's; this is the target's own smoke check.
set -u
cd "$(dirname "$0")/../.."
. tests/target/lib.sh
trap t_cleanup EXIT
t_lock ipxe || exit 1

work=$O/target-tests/ipxe
lkrn=$(ls "$O"/ipxe/*/root/usr/lib/ipxe/ipxe.lkrn 2>/dev/null | head -n 1)
IQN=iqn.2025-01.org.wupan:ipxe-smoke
rm -rf "$work"
mkdir -p "$work"
if [ -z "$lkrn" ] || ! command -v qemu-system-x86_64 >/dev/null; then
	t_skip all "no ipxe.lkrn under $O/ipxe (make ipxe) or no QEMU"
	t_done
	exit 0
fi
printf '\xf8\x03' >"$work/sercon.bin"

# The MBR: INT 13h write of itself to sector 2 (LBA 1), a message through
# INT 10h (mirrored to serial by SeaBIOS), then out 0xf4 = 0x21.
mbr() {
	printf '\x31\xc0\x8e\xc0\x8e\xd8\xbb\x00\x7c\xb8\x01\x03\xb9\x02\x00'
	printf '\xba\x80\x00\xcd\x13\xbe\x27\x7c\xac\x08\xc0\x74\x06\xb4\x0e'
	printf '\xcd\x10\xeb\xf5\xb0\x21\xe6\xf4\xf4'
	printf 'WUPAN-MBR-BOOTED\r\n\0'
}

# run_case NAME PORT EXPECT SCRIPT-SETTINGS TARGET-ARGS...
run_case() {
	local name=$1 port=$2 expect=$3 settings=$4
	shift 4
	local img=$work/$name.img rc
	truncate -s 16M "$img"
	mbr | dd of="$img" conv=notrunc status=none
	printf '\x55\xaa' | dd of="$img" bs=1 seek=510 conv=notrunc status=none
	cat >"$work/$name.ipxe" <<SCRIPT
#!ipxe
dhcp
$settings
sanboot iscsi:10.0.2.2::$port:0:$IQN || echo SANBOOT-FAILED \${errno}
poweroff
SCRIPT
	if ! wt_start "$work/$name.log" --listen 127.0.0.1:$port --target "$IQN" \
		--lun "$img" "$@"; then
		t_fail "$name" "target did not start"
		return
	fi
	local pid=$WT_PID
	timeout 60 qemu-system-x86_64 -accel tcg -m 256 -display none \
		-serial stdio -monitor none -no-reboot -kernel "$lkrn" \
		-initrd "$work/$name.ipxe" \
		-fw_cfg name=etc/sercon-port,file="$work/sercon.bin" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-netdev user,id=n0 -device e1000,netdev=n0,romfile= \
		>"$work/$name.serial" 2>&1
	rc=$?
	wt_stop "$pid"
	if [ $rc = 124 ]; then
		t_fail "$name" "timeout; serial log $work/$name.serial"
		return
	fi
	case $expect in
	boot)
		if [ $rc = 67 ] && grep -aq WUPAN-MBR-BOOT "$work/$name.serial" &&
			cmp -s -n 512 "$img" <(dd if="$img" bs=512 skip=1 count=1 status=none); then
			t_ok "$name: booted, MBR read and written back"
		else
			t_fail "$name" "exit $rc; serial log $work/$name.serial"
		fi
		;;
	refuse)
		if grep -aq SANBOOT-FAILED "$work/$name.serial" &&
			! grep -aq WUPAN-MBR-BOOT "$work/$name.serial"; then
			t_ok "$name: refused ($(grep -a -o 'SANBOOT-FAILED.*' "$work/$name.serial" | head -n 1 | tr -d '\r'))"
		else
			t_fail "$name" "exit $rc; serial log $work/$name.serial"
		fi
		;;
	esac
}

run_case none 23295 boot ""
run_case chap 23296 boot "set username user1
set password Secret-1234567" --chap user1:Secret-1234567
run_case mutual 23297 boot "set username user1
set password Secret-1234567
set reverse-username target1
set reverse-password Target-7654321" --chap user1:Secret-1234567 \
	--mutual-chap target1:Target-7654321
run_case wrong-secret 23298 refuse "set username user1
set password Wrong-Secret-1" --chap user1:Secret-1234567
run_case not-allowed 23299 refuse "set initiator-iqn iqn.2025-01.org.wupan:stranger" \
	--allow "iqn.2025-01.org.wupan:pc*"
t_done
