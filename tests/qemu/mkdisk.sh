#!/bin/sh
# Builds a raw test disk that proves, on the serial console, that it booted.
# Usage: mkdisk.sh bios|uefi|aa64 TAG OUT
#   bios: 8 MiB, MBR = $O/test/payload/mbr.bin with TAG in its tag field
#         (offset 0x1A0, 16 bytes, NUL-padded) and one bootable partition
#         entry; prints "WUPAN-BIOS-BOOT-OK tag=TAG drive=80".
#         MKDISK_MBR=FILE takes FILE's boot code instead (e.g. count.bin).
#   uefi: 64 MiB GPT disk with a FAT ESP holding \EFI\BOOT\BOOTX64.EFI =
#         $O/test/payload/marker.efi and \wupan-tag.txt = TAG; prints
#         "WUPAN-UEFI-BOOT-OK tag=TAG".  MKDISK_EFI=FILE puts FILE there
#         instead (e.g. marker.efi signed for Secure Boot).
#   aa64: the same for arm64 UEFI: \EFI\BOOT\BOOTAA64.EFI =
#         $O/test/payload/aa64/marker.efi; prints "WUPAN-AA64-BOOT-OK tag=TAG".
# TAG: 1 to 16 characters from [A-Za-z0-9._-].  $O is the build directory
# (default build; `make test-payloads` fills $O/test/payload).  No root, no
# loop devices, no mounting.  Reproducible: fixed disk GUIDs and serials; file
# time stamps from SOURCE_DATE_EPOCH (mtools honours it); mkfs.vfat 4.2 stamps
# the volume label entry with the clock whatever SOURCE_DATE_EPOCH says, so
# it runs with --invariant (constant label time; the volume ID stays ours).
set -eu

die() {
	echo "mkdisk: $*" >&2
	exit 1
}

[ $# -eq 3 ] || die "usage: mkdisk.sh bios|uefi|aa64 TAG OUT"
kind=$1 tag=$2 out=$3
payload=${O:-build}/test/payload
TAG_OFF=416	# 0x1A0, see tests/qemu/payload/bios.S
TAG_LEN=16
: "${SOURCE_DATE_EPOCH:=1764115200}"	# the Makefile's fallback
export SOURCE_DATE_EPOCH
# mtools reads no user or system configuration that could change the output.
MTOOLSRC=/dev/null
export MTOOLSRC

case $tag in
'' | *[!A-Za-z0-9._-]*) die "TAG '$tag': use 1-$TAG_LEN characters of [A-Za-z0-9._-]" ;;
esac
[ ${#tag} -le $TAG_LEN ] || die "TAG '$tag': longer than $TAG_LEN characters"
for tool in sfdisk dd truncate; do
	command -v $tool >/dev/null 2>&1 || die "$tool not found (Debian: fdisk, coreutils)"
done

tmp=$out.tmp.$$
esp=$out.esp.$$
trap 'rm -f "$tmp" "$esp"' EXIT
rm -f "$tmp"

case $kind in
bios)
	mbr=${MKDISK_MBR:-$payload/mbr.bin}
	[ -f "$mbr" ] || die "$mbr missing (make test-payloads)"
	truncate -s 8M "$tmp"
	printf 'label: dos\nlabel-id: 0x57555041\nstart=2048, type=83, bootable\n' |
		sfdisk -q "$tmp" >/dev/null
	# Boot code only: sfdisk owns the signature and the partition table.
	dd if="$mbr" of="$tmp" bs=440 count=1 conv=notrunc 2>/dev/null
	dd if=/dev/zero of="$tmp" bs=1 seek=$TAG_OFF count=$TAG_LEN conv=notrunc 2>/dev/null
	printf '%s' "$tag" | dd of="$tmp" bs=1 seek=$TAG_OFF conv=notrunc 2>/dev/null
	;;
uefi | aa64)
	marker=$payload/marker.efi boot=BOOTX64.EFI
	[ "$kind" = aa64 ] && marker=$payload/aa64/marker.efi boot=BOOTAA64.EFI
	marker=${MKDISK_EFI:-$marker}
	[ -f "$marker" ] || die "$marker missing (make test-payloads)"
	for tool in mkfs.vfat mmd mcopy; do
		command -v $tool >/dev/null 2>&1 || die "$tool not found (Debian: dosfstools, mtools)"
	done
	truncate -s 64M "$tmp"
	# 2048 + 126976 sectors leaves room for the backup GPT at the end.
	printf '%s\n' 'label: gpt' \
		'label-id: 57555041-4e00-4000-8000-000000000001' \
		'start=2048, size=126976, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=57555041-4e00-4000-8000-000000000002, name="wupan-esp"' |
		sfdisk -q "$tmp" >/dev/null
	rm -f "$esp"
	mkfs.vfat --invariant -C -i 57555041 -n WUPAN-ESP "$esp" 63488 >/dev/null
	mmd -i "$esp" ::/EFI ::/EFI/BOOT
	mcopy -i "$esp" "$marker" "::/EFI/BOOT/$boot"
	printf '%s\n' "$tag" | mcopy -i "$esp" - ::/wupan-tag.txt
	dd if="$esp" of="$tmp" bs=512 seek=2048 conv=notrunc 2>/dev/null
	;;
*)
	die "kind '$kind': use bios, uefi or aa64"
	;;
esac
mv "$tmp" "$out"
