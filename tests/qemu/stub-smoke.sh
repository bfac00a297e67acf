#!/bin/bash
# Proves the EFI stub (efi/, scripts/efi-embed.sh) with Debian's pinned iPXE
# under OVMF:
#   esp          stub as \EFI\BOOT\BOOTX64.EFI on a FAT disk runs its script
#   pxe          stub as the UEFI PXE boot file: iPXE uses the NIC it was
#                booted from and its cached DHCP (the script runs no dhcp)
#   fallthrough  iPXE `exit 1` returns through the stub to the firmware,
#                which boots the next option (a marker disk)
#   bare-stub    the stub without payload says why and returns an error; the
#                firmware boots the next option
#   reproducible efi-embed.sh twice on the same inputs (a second apart, as
#                objcopy stamps the clock) gives the same bytes (no QEMU)
# Needs: make ipxe efi-stub test-payloads.  Ends with "N passed, N failed, N skipped".
# Usage: tests/qemu/stub-smoke.sh [CASE...]   (default: all)
set -u -o pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/ports.sh
O=${O:-build}
export O
STUB=$O/efi/stub.efi
WORK=$O/test/smoke/stub
# The pinned iPXE that `make ipxe` unpacks (IPXE_VERSION as in the Makefile),
# or IPXE_BIN=DIR.
IPXE_VERSION=${IPXE_VERSION:-$(sed -n 's/^IPXE_VERSION ?= *//p' Makefile)}
IPXE_BIN=${IPXE_BIN:-$O/ipxe/$IPXE_VERSION/root/usr/lib/ipxe}
IPXE_EFI=$IPXE_BIN/ipxe-amd64.efi
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
passed=0 failed=0 skipped=0
CASES="$*"
[ -n "$CASES" ] || CASES=${STUB_SMOKE_CASES:-"reproducible esp pxe fallthrough bare-stub"}

rm -rf "$WORK"
mkdir -p "$WORK"

# run_case NAME STATUS TIMEOUT MARKER... -- QEMU-ARGS...: boots OVMF under
# TCG, checks every MARKER on the serial log and QEMU's exit status; a
# timeout is reported apart.
run_case() {
	local name=$1 want=$2 secs=$3 log rc m bad=""
	local -a markers=()
	shift 3
	while [ "$1" != -- ]; do
		markers+=("$1")
		shift
	done
	shift
	log=$WORK/$name.log
	cp "$OVMF_VARS" "$WORK/$name.vars"
	timeout "$secs" qemu-system-x86_64 -machine q35 -accel tcg -m 512 \
		-drive if=pflash,format=raw,unit=0,readonly=on,file="$OVMF_CODE" \
		-drive if=pflash,format=raw,unit=1,file="$WORK/$name.vars" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-display none -serial stdio -monitor none -no-reboot "$@" \
		</dev/null >"$log" 2>&1
	rc=$?
	for m in "${markers[@]}"; do
		tr -d '\r' <"$log" | grep -aqF -- "$m" || bad="$bad '$m'"
	done
	if [ "$rc" -eq 124 ]; then
		echo "FAIL $name: timeout after ${secs}s (log: $log)"
		failed=$((failed + 1))
	elif [ -n "$bad" ]; then
		echo "FAIL $name: not on serial:$bad; exit $rc (log: $log)"
		failed=$((failed + 1))
	elif [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: exit $rc, want $want (log: $log)"
		failed=$((failed + 1))
	else
		echo "ok   $name: $(printf "'%s' " "${markers[@]}")exit $rc"
		passed=$((passed + 1))
	fi
}

want() {
	local c
	for c in $CASES; do [ "$c" = "$1" ] && return 0; done
	return 1
}

# embed NAME SCRIPT-TEXT: writes $WORK/NAME.efi, the stub carrying iPXE and
# the script.
embed() {
	printf '%b' "$2" >"$WORK/$1.ipxe"
	sh scripts/efi-embed.sh "$STUB" "$IPXE_EFI" "$WORK/$1.ipxe" "$WORK/$1.efi"
}

# esp_dir NAME FILE: a directory QEMU shows as a FAT disk booting FILE.
esp_dir() {
	mkdir -p "$WORK/$1.esp/EFI/BOOT"
	cp "$2" "$WORK/$1.esp/EFI/BOOT/BOOTX64.EFI"
}

why=""
[ -f "$STUB" ] || why="no $STUB (make efi-stub)"
[ -n "$why" ] || [ -f "$IPXE_EFI" ] || why="no $IPXE_EFI (make ipxe, or IPXE_BIN=DIR)"
[ -n "$why" ] || [ -f "$OVMF_CODE" ] || why="no OVMF (Debian package ovmf)"
[ -n "$why" ] || command -v qemu-system-x86_64 >/dev/null || why="no qemu-system-x86_64"
if [ -n "$why" ]; then
	for c in $CASES; do
		echo "skip $c: $why"
		skipped=$((skipped + 1))
	done
	echo "$passed passed, $failed failed, $skipped skipped"
	exit 0
fi

if want reproducible; then
	embed repro1 '#!ipxe\necho same\n' && sleep 1.1 &&
		embed repro2 '#!ipxe\necho same\n'
	if cmp -s "$WORK/repro1.efi" "$WORK/repro2.efi"; then
		echo "ok   reproducible: efi-embed.sh output identical"
		passed=$((passed + 1))
	else
		echo "FAIL reproducible: $WORK/repro1.efi and repro2.efi differ"
		failed=$((failed + 1))
	fi
fi

if want esp; then
	embed esp '#!ipxe\necho STUB-SCRIPT-OK\npoweroff\n' &&
		esp_dir esp "$WORK/esp.efi" &&
		run_case esp 0 120 STUB-SCRIPT-OK -- \
			-drive file=fat:rw:"$WORK/esp.esp",format=raw -net none
fi

if want pxe; then
	mkdir -p "$WORK/pxe.tftp"
	# No autoexec.ipxe in the TFTP root: iPXE would run it instead.
	# shellcheck disable=SC2016 # iPXE expands these, not the shell
	embed pxe '#!ipxe\necho STUB-PXE-OK mac=${net0/mac} ip=${net0/ip}\npoweroff\n' &&
		cp "$WORK/pxe.efi" "$WORK/pxe.tftp/ipxe.efi" &&
		run_case pxe 0 150 "STUB-PXE-OK mac=52:54:00:12:34:56 ip=10.0.2.15" -- \
			-netdev user,id=n0,tftp="$WORK/pxe.tftp",bootfile=ipxe.efi \
			-device virtio-net-pci,netdev=n0,romfile=,mac=52:54:00:12:34:56
fi

# The next boot option for the two fall-through cases: a marker disk.
next_disk() {
	[ -f "$WORK/next.img" ] ||
		sh tests/qemu/mkdisk.sh uefi NEXT-OPTION "$WORK/next.img"
}

if want fallthrough; then
	embed fallthrough '#!ipxe\necho STUB-EXIT-NOW\nexit 1\n' &&
		esp_dir fallthrough "$WORK/fallthrough.efi" && next_disk &&
		run_case fallthrough 33 150 STUB-EXIT-NOW \
			"WUPAN-UEFI-BOOT-OK tag=NEXT-OPTION" -- -net none \
			-drive if=none,id=d0,format=raw,file=fat:rw:"$WORK/fallthrough.esp" \
			-device virtio-blk-pci,drive=d0,bootindex=1 \
			-drive if=none,id=d1,format=raw,file="$WORK/next.img" \
			-device virtio-blk-pci,drive=d1,bootindex=2
fi

if want bare-stub; then
	esp_dir bare-stub "$STUB" && next_disk &&
		run_case bare-stub 33 150 "wupan-stub: no .ipxe section" \
			"WUPAN-UEFI-BOOT-OK tag=NEXT-OPTION" -- -net none \
			-drive if=none,id=d0,format=raw,file=fat:rw:"$WORK/bare-stub.esp" \
			-device virtio-blk-pci,drive=d0,bootindex=1 \
			-drive if=none,id=d1,format=raw,file="$WORK/next.img" \
			-device virtio-blk-pci,drive=d1,bootindex=2
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
