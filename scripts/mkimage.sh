#!/bin/sh
# Assembles wupan's boot media from iPXE binaries, the EFI stub and the boot
# script, without root, loop devices or mounting.  Reproducible: timestamps
# come from SOURCE_DATE_EPOCH, volume serials and disk ids are fixed.
#
#   mkimage.sh esp  STUB_EFI OUT [AA64_EFI]      FAT image: \EFI\BOOT\BOOTX64.EFI
#   mkimage.sh iso  LKRN SCRIPT ESP_IMG OUT      hybrid BIOS+UEFI, CD and USB
#   mkimage.sh usb  LKRN SCRIPT STUB_EFI OUT [AA64_EFI]
#                                                MBR + FAT stick, BIOS+UEFI
#   mkimage.sh tftp DIR LKRN SCRIPT IPXE_EFI UNDIONLY SNPONLY [AA64_EFI AA64_SNPONLY]
# AA64_EFI, the arm64 stub, goes beside the x86_64 one as BOOTAA64.EFI (and
# in the TFTP root as arm64/ipxe.efi, with arm64/snponly.efi).
set -eu

: "${SOURCE_DATE_EPOCH:=1764115200}"
export SOURCE_DATE_EPOCH
SYSLINUX_BIOS=/usr/lib/syslinux/modules/bios
# FAT volume serial and MBR disk id: fixed, so builds are byte-identical.
SERIAL=57504e31
DISK_ID=0x57504e31

die() {
	echo "mkimage: $*" >&2
	exit 1
}

need() {
	for f in "$@"; do
		[ -e "$f" ] || die "missing $f (install the Debian package that has it: make deps)"
	done
}

tool() {
	command -v "$1" >/dev/null 2>&1 || die "'$1' not found; it comes with Debian's $2 package"
}

# Size in KiB of a FAT image that holds the given files with room to spare.
fat_kib() {
	total=0
	for f in "$@"; do
		total=$((total + $(wc -c <"$f")))
	done
	echo $(((total / 1024 + 512) / 64 * 64 + 64))
}

syslinux_cfg() {
	# $1: directory prefix of ipxe.lkrn and boot.ipxe on the medium.
	cat <<CFG
DEFAULT wupan
PROMPT 0
TIMEOUT 0
LABEL wupan
  KERNEL $1ipxe.lkrn
  INITRD $1boot.ipxe
CFG
}

make_esp() {
	stub=$1 out=$2 aa64=${3:-}
	tool mformat mtools
	rm -f "$out"
	truncate -s "$(fat_kib "$stub" $aa64)K" "$out"
	mformat -i "$out" -N "$SERIAL" -v WUPAN-ESP ::
	mmd -i "$out" ::/EFI ::/EFI/BOOT
	mcopy -i "$out" "$stub" ::/EFI/BOOT/BOOTX64.EFI
	[ -z "$aa64" ] || mcopy -i "$out" "$aa64" ::/EFI/BOOT/BOOTAA64.EFI
}

make_iso() {
	lkrn=$1 script=$2 esp=$3 out=$4
	tool xorriso xorriso
	need "$SYSLINUX_BIOS/ldlinux.c32" /usr/lib/ISOLINUX/isolinux.bin \
		/usr/lib/ISOLINUX/isohdpfx.bin
	tree=$out.tree
	rm -rf "$tree"
	mkdir -p "$tree/isolinux"
	cp /usr/lib/ISOLINUX/isolinux.bin "$SYSLINUX_BIOS/ldlinux.c32" "$tree/isolinux/"
	syslinux_cfg / >"$tree/isolinux/isolinux.cfg"
	cp "$lkrn" "$tree/ipxe.lkrn"
	cp "$script" "$tree/boot.ipxe"
	find "$tree" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	rm -f "$out"
	xorriso -report_about SORRY -as mkisofs -o "$out" -V WUPAN -J -R \
		-isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin \
		-c isolinux/boot.cat -b isolinux/isolinux.bin -no-emul-boot \
		-boot-load-size 4 -boot-info-table \
		-eltorito-alt-boot -e --interval:appended_partition_2:all:: \
		-no-emul-boot -append_partition 2 0xef "$esp" \
		-appended_part_as_gpt "$tree" 2>"$out.log" ||
		{ cat "$out.log" >&2; die "xorriso failed"; }
	rm -rf "$tree" "$out.log"
}

make_usb() {
	lkrn=$1 script=$2 stub=$3 out=$4 aa64=${5:-}
	tool sfdisk fdisk
	tool syslinux syslinux
	tool mformat mtools
	need /usr/lib/syslinux/mbr/mbr.bin
	cfg=$out.cfg
	syslinux_cfg / >"$cfg"
	# One FAT partition at 1 MiB, big enough for everything plus slack.
	part_kib=$(fat_kib "$lkrn" "$script" "$stub" $aa64 "$SYSLINUX_BIOS/ldlinux.c32")
	part_kib=$((part_kib + 256))
	[ "$part_kib" -ge 4096 ] || part_kib=4096
	rm -f "$out"
	truncate -s "$((1024 + part_kib))K" "$out"
	printf 'label: dos\nlabel-id: %s\nstart=2048, type=c, bootable\n' "$DISK_ID" |
		sfdisk -q "$out"
	dd if=/usr/lib/syslinux/mbr/mbr.bin of="$out" bs=440 count=1 conv=notrunc 2>/dev/null
	mformat -i "$out@@1M" -N "$SERIAL" -v WUPAN-USB -H 2048 ::
	syslinux --install --offset 1048576 "$out"
	mcopy -i "$out@@1M" "$cfg" ::/syslinux.cfg
	mcopy -i "$out@@1M" "$lkrn" ::/ipxe.lkrn
	mcopy -i "$out@@1M" "$script" ::/boot.ipxe
	mmd -i "$out@@1M" ::/EFI ::/EFI/BOOT
	mcopy -i "$out@@1M" "$stub" ::/EFI/BOOT/BOOTX64.EFI
	[ -z "$aa64" ] || mcopy -i "$out@@1M" "$aa64" ::/EFI/BOOT/BOOTAA64.EFI
	rm -f "$cfg"
}

make_tftp() {
	dir=$1 lkrn=$2 script=$3 ipxe_efi=$4 undionly=$5 snponly=$6
	aa64=${7:-} aa64_snponly=${8:-}
	need /usr/lib/PXELINUX/lpxelinux.0 "$SYSLINUX_BIOS/ldlinux.c32"
	mkdir -p "$dir/pxelinux.cfg" "$dir/hosts"
	cp "$lkrn" "$dir/ipxe.lkrn"
	cp "$script" "$dir/boot.ipxe"
	cp "$ipxe_efi" "$dir/ipxe.efi"
	cp "$undionly" "$dir/undionly.kpxe"
	# Proxy DHCP names BIOS boot files without the .0 it appends.
	cp "$undionly" "$dir/undionly.0"
	cp "$snponly" "$dir/snponly.efi"
	rm -rf "$dir/arm64"
	if [ -n "$aa64" ]; then
		mkdir -p "$dir/arm64"
		cp "$aa64" "$dir/arm64/ipxe.efi"
		cp "$aa64_snponly" "$dir/arm64/snponly.efi"
	fi
	cp /usr/lib/PXELINUX/lpxelinux.0 "$SYSLINUX_BIOS/ldlinux.c32" "$dir/"
	syslinux_cfg "" >"$dir/pxelinux.cfg/default"
	cat >"$dir/hosts/README" <<TXT
Per-host settings: a file named after the client's MAC address, lower-case
hex with dashes (e.g. 52-54-00-12-34-56.ipxe), holding iPXE 'set' lines that
override the site settings for that one client. A missing file is normal.
TXT
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
esp) [ $# -eq 2 ] || [ $# -eq 3 ] || die "usage: mkimage.sh esp STUB_EFI OUT [AA64_EFI]"; make_esp "$@" ;;
iso) [ $# -eq 4 ] || die "usage: mkimage.sh iso LKRN SCRIPT ESP_IMG OUT"; make_iso "$@" ;;
usb) [ $# -eq 4 ] || [ $# -eq 5 ] || die "usage: mkimage.sh usb LKRN SCRIPT STUB_EFI OUT [AA64_EFI]"; make_usb "$@" ;;
tftp) [ $# -eq 6 ] || [ $# -eq 8 ] ||
	die "usage: mkimage.sh tftp DIR LKRN SCRIPT IPXE_EFI UNDIONLY SNPONLY [AA64_EFI AA64_SNPONLY]"
	make_tftp "$@" ;;
*) die "usage: mkimage.sh esp|iso|usb|tftp ..." ;;
esac
