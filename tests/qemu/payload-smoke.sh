#!/bin/bash
# Proves the QEMU test payloads and test disks (mk/payload.mk,
# tests/qemu/mkdisk.sh): each disk booted directly, and each install payload
# run by Debian's iPXE after `sanhook` of the disk on a real iSCSI target
# (tgtd on 127.0.0.1:34300, control port 31).  Also checks that mkdisk.sh is
# reproducible, and that the install payloads report a missing disk.
# Needs: make ipxe efi-stub test-payloads.  Ends with "N passed, N failed, N skipped".
# Usage: tests/qemu/payload-smoke.sh [CASE...]   (default: all)
set -u -o pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/ports.sh
O=${O:-build}
export O
PAYLOAD=$O/test/payload
WORK=$O/test/smoke/payload
PORT=34300
CTL=31
IQN_BASE=iqn.2026-11.org.wupan.smoke
# The pinned iPXE that `make ipxe` unpacks (IPXE_VERSION as in the Makefile),
# or IPXE_BIN=DIR.
IPXE_VERSION=${IPXE_VERSION:-$(sed -n 's/^IPXE_VERSION ?= *//p' Makefile)}
IPXE_BIN=${IPXE_BIN:-$O/ipxe/$IPXE_VERSION/root/usr/lib/ipxe}
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
# shellcheck disable=SC2054 # commas belong to QEMU options
QEMU=(qemu-system-x86_64 -accel tcg -m 512 -display none -serial stdio
	-monitor none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04)
passed=0 failed=0 skipped=0
TGTD_PID=

rm -rf "$WORK"
mkdir -p "$WORK"

# run_case NAME MARKER STATUS TIMEOUT QEMU-ARGS...: boots, checks the serial
# log for MARKER and QEMU's exit status; a timeout is reported apart.
run_case() {
	local name=$1 marker=$2 want=$3 secs=$4 log rc
	shift 4
	log=$WORK/$name.log
	timeout "$secs" "${QEMU[@]}" "$@" </dev/null >"$log" 2>&1
	rc=$?
	if [ "$rc" -eq 124 ]; then
		echo "FAIL $name: timeout after ${secs}s (log: $log)"
		failed=$((failed + 1))
	elif ! tr -d '\r' <"$log" | grep -aq -- "$marker"; then
		echo "FAIL $name: no '$marker' on serial, exit $rc (log: $log)"
		failed=$((failed + 1))
	elif [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: exit $rc, want $want (log: $log)"
		failed=$((failed + 1))
	else
		echo "ok   $name: '$marker', exit $rc"
		passed=$((passed + 1))
	fi
}

skip() {
	echo "skip $1: $2"
	skipped=$((skipped + 1))
}

ovmf_args() {
	cp "$OVMF_VARS" "$WORK/$1.vars"
	echo "-machine q35 -drive if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" \
		"-drive if=pflash,format=raw,unit=1,file=$WORK/$1.vars"
}

start_tgtd() {
	tgtd -f -C $CTL --iscsi portal=127.0.0.1:$PORT >"$WORK/tgtd.log" 2>&1 &
	TGTD_PID=$!
	for _ in $(seq 50); do
		tgtadm -C $CTL --mode system --op show >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "tgtd did not start (log: $WORK/tgtd.log)"
	return 1
}

# add_target TID IQN FILE: LUN 1 (LUN 0 is tgtd's controller).
add_target() {
	tgtadm -C $CTL --lld iscsi --mode target --op new --tid "$1" --targetname "$2" &&
		tgtadm -C $CTL --lld iscsi --mode logicalunit --op new --tid "$1" --lun 1 --backing-store "$3" &&
		tgtadm -C $CTL --lld iscsi --mode target --op bind --tid "$1" --initiator-address ALL
}

# tgtd ignores SIGTERM: delete its targets and itself, then SIGKILL the PID
# we started if it still lives.
stop_tgtd() {
	[ -n "$TGTD_PID" ] || return 0
	for tid in 1 2; do
		tgtadm -C $CTL --lld iscsi --mode target --op delete --force --tid $tid >/dev/null 2>&1
	done
	tgtadm -C $CTL --mode system --op delete >/dev/null 2>&1
	for _ in $(seq 20); do
		kill -0 "$TGTD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$TGTD_PID" 2>/dev/null && kill -KILL "$TGTD_PID"
	wait "$TGTD_PID" 2>/dev/null
	TGTD_PID=
}
trap stop_tgtd EXIT

want() {
	local c
	for c in $CASES; do [ "$c" = "$1" ] && return 0; done
	return 1
}
CASES="$*"
[ -n "$CASES" ] || CASES="reproducible bios-disk uefi-disk bios-install uefi-install
	bios-install-fail uefi-install-fail"

missing=""
for f in mbr.bin install.pxe marker.efi install.efi; do
	[ -f "$PAYLOAD/$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
	for c in $CASES; do skip "$c" "no$missing in $PAYLOAD (make test-payloads)"; done
	echo "$passed passed, $failed failed, $skipped skipped"
	exit 0
fi

sh tests/qemu/mkdisk.sh bios SMOKE-BIOS "$WORK/bios.img" || exit 1
sh tests/qemu/mkdisk.sh uefi SMOKE-UEFI "$WORK/uefi.img" || exit 1

if want reproducible; then
	# mkfs.vfat and mtools stamp the clock unless SOURCE_DATE_EPOCH pins it.
	sleep 1.1
	bad=""
	sh tests/qemu/mkdisk.sh bios SMOKE-BIOS "$WORK/bios-again.img" &&
		cmp -s "$WORK/bios.img" "$WORK/bios-again.img" || bad="$bad bios"
	sh tests/qemu/mkdisk.sh uefi SMOKE-UEFI "$WORK/uefi-again.img" &&
		cmp -s "$WORK/uefi.img" "$WORK/uefi-again.img" || bad="$bad uefi"
	if [ -z "$bad" ]; then
		echo "ok   reproducible: mkdisk.sh bios and uefi give the same bytes twice"
		passed=$((passed + 1))
	else
		echo "FAIL reproducible: mkdisk.sh output differs:$bad"
		failed=$((failed + 1))
	fi
fi

if want bios-disk; then
	run_case bios-disk "WUPAN-BIOS-BOOT-OK tag=SMOKE-BIOS drive=80" 33 60 \
		-drive file="$WORK/bios.img",format=raw -net none
fi
if want uefi-disk; then
	# shellcheck disable=SC2046
	run_case uefi-disk "WUPAN-UEFI-BOOT-OK tag=SMOKE-UEFI" 33 120 \
		$(ovmf_args uefi-disk) -drive file="$WORK/uefi.img",format=raw -net none
fi

# Should fail: install.efi with no \wupan-tag.txt anywhere (only its own ESP).
if want uefi-install-fail; then
	mkdir -p "$WORK/fail.esp/EFI/BOOT"
	cp "$PAYLOAD/install.efi" "$WORK/fail.esp/EFI/BOOT/BOOTX64.EFI"
	# shellcheck disable=SC2046
	run_case uefi-install-fail "WUPAN-UEFI-INSTALL-FAIL" 37 120 \
		$(ovmf_args uefi-install-fail) \
		-drive file=fat:rw:"$WORK/fail.esp",format=raw -net none
fi

# Should fail: install.pxe when no disk answers as drive 0x80 (no sanhook).
if want bios-install-fail; then
	if [ -z "$IPXE_BIN" ] || [ ! -f "$IPXE_BIN/ipxe.lkrn" ]; then
		skip bios-install-fail "no iPXE binaries (make ipxe, or IPXE_BIN=DIR)"
	else
		mkdir -p "$WORK/tftp-fail"
		cp "$PAYLOAD/install.pxe" "$WORK/tftp-fail/"
		printf '#!ipxe\ndhcp\nchain tftp://10.0.2.2/install.pxe\n' >"$WORK/fail.ipxe"
		run_case bios-install-fail "WUPAN-BIOS-INSTALL-FAIL" 37 90 \
			-kernel "$IPXE_BIN/ipxe.lkrn" -initrd "$WORK/fail.ipxe" \
			-netdev user,id=n0,tftp="$WORK/tftp-fail" \
			-device e1000,netdev=n0,romfile=
	fi
fi

need_ipxe=""
want bios-install && need_ipxe=1
want uefi-install && need_ipxe=1
if [ -n "$need_ipxe" ]; then
	if [ -z "$IPXE_BIN" ] || [ ! -f "$IPXE_BIN/ipxe.lkrn" ]; then
		for c in bios-install uefi-install; do
			want $c && skip $c "no iPXE binaries (make ipxe, or IPXE_BIN=DIR)"
		done
		need_ipxe=""
	elif ! command -v tgtd >/dev/null; then
		for c in bios-install uefi-install; do
			want $c && skip $c "no tgtd (Debian package tgt)"
		done
		need_ipxe=""
	elif ! start_tgtd || ! add_target 1 "$IQN_BASE:bios" "$WORK/bios.img" ||
		! add_target 2 "$IQN_BASE:uefi" "$WORK/uefi.img"; then
		for c in bios-install uefi-install; do
			want $c && { echo "FAIL $c: iSCSI target setup"; failed=$((failed + 1)); }
		done
		need_ipxe=""
	fi
fi

if [ -n "$need_ipxe" ] && want bios-install; then
	mkdir -p "$WORK/tftp-bios"
	cp "$PAYLOAD/install.pxe" "$WORK/tftp-bios/"
	printf '#!ipxe\ndhcp\nsanhook iscsi:10.0.2.2::%s:1:%s:bios\nchain tftp://10.0.2.2/install.pxe\n' \
		$PORT $IQN_BASE >"$WORK/bios-install.ipxe"
	# Debian's BIOS iPXE prints only to VGA: SeaBIOS copies it to serial.
	printf '\370\003' >"$WORK/sercon.bin"
	run_case bios-install "WUPAN-BIOS-INSTALL-OK tag=SMOKE-BIOS" 35 90 \
		-kernel "$IPXE_BIN/ipxe.lkrn" -initrd "$WORK/bios-install.ipxe" \
		-fw_cfg name=etc/sercon-port,file="$WORK/sercon.bin" \
		-netdev user,id=n0,tftp="$WORK/tftp-bios" \
		-device e1000,netdev=n0,romfile=
fi

if [ -n "$need_ipxe" ] && want uefi-install; then
	if [ ! -f "$O/efi/stub.efi" ]; then
		skip uefi-install "no $O/efi/stub.efi (make efi-stub)"
	else
		mkdir -p "$WORK/tftp-uefi"
		cp "$PAYLOAD/install.efi" "$WORK/tftp-uefi/"
		printf '#!ipxe\nifopen\nsanhook iscsi:10.0.2.2::%s:1:%s:uefi\nchain tftp://10.0.2.2/install.efi\n' \
			$PORT $IQN_BASE >"$WORK/uefi-install.ipxe"
		sh scripts/efi-embed.sh "$O/efi/stub.efi" "$IPXE_BIN/ipxe-amd64.efi" \
			"$WORK/uefi-install.ipxe" "$WORK/tftp-uefi/ipxe.efi" || exit 1
		# shellcheck disable=SC2046
		run_case uefi-install "WUPAN-UEFI-INSTALL-OK tag=SMOKE-UEFI" 35 150 \
			$(ovmf_args uefi-install) \
			-netdev user,id=n0,tftp="$WORK/tftp-uefi",bootfile=ipxe.efi \
			-device virtio-net-pci,netdev=n0,romfile=
	fi
fi

stop_tgtd
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
