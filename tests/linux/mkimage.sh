#!/bin/sh
# Builds the diskless Linux image from the Debian packages unpacked by
# tests/linux/fetch.sh, without root, loop devices or mounting:
#   OUT/vmlinuz             the Debian kernel
#   OUT/initrd.img          busybox, iscsistart and its libraries, the modules
#                           (tests/linux/modules plus their dependencies) and
#                           tests/linux/initramfs-init as /init
#   OUT/bios.img            48 MiB, MBR: p1 FAT with syslinux (kernel, initrd),
#                           p2 ext4 root (mke2fs -d)
#   OUT/uefi.img            48 MiB, GPT: p1 ESP with systemd-boot (kernel,
#                           initrd), p2 ext4 root
#   OUT/room.img            48 MiB, MBR: p1 FAT of type 0xEF with syslinux and
#                           systemd-boot, p2 ext4 root: BIOS and UEFI boot it
#   OUT/install-bios.cpio   a second initrd carrying bios.img (gzip) for the
#   OUT/install-uefi.cpio   installer (wupan.mode=install); likewise uefi.img
# Usage: mkimage.sh FETCHDIR OUT   (FETCHDIR holds root/ from fetch.sh)
set -eu
src=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
pkgroot=$src/root
: "${SOURCE_DATE_EPOCH:=1764115200}"
export SOURCE_DATE_EPOCH
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
MTOOLSRC=/dev/null
export E2FSPROGS_FAKE_TIME MTOOLSRC

die() {
	echo "linux-image: $*" >&2
	exit 1
}

for tool in objdump sfdisk mkfs.vfat mcopy mmd mke2fs debugfs syslinux gzip cpio dd truncate md5sum; do
	command -v $tool >/dev/null 2>&1 ||
		die "$tool not found (Debian: binutils, fdisk, dosfstools, mtools, e2fsprogs, syslinux, cpio)"
done
mbr=/usr/lib/syslinux/mbr/mbr.bin
[ -f $mbr ] || die "$mbr missing (Debian: syslinux-common)"
bb=$pkgroot/bin/busybox
[ -x "$bb" ] || die "$bb missing: run tests/linux/fetch.sh first"
kver=$(ls "$pkgroot/lib/modules" | head -n 1)
[ -n "$kver" ] && [ -f "$pkgroot/boot/vmlinuz-$kver" ] || die "no kernel in $pkgroot"
sdboot=$pkgroot/usr/lib/systemd/boot/efi/systemd-bootx64.efi
[ -f "$sdboot" ] || die "$sdboot missing (systemd-boot-efi)"
moddir=$pkgroot/lib/modules/$kver

mkdir -p "$out"
tmp=$out/tmp
rm -rf "$tmp"
mkdir -p "$tmp"

# --- modules: the listed ones and everything they depend on, in load order ---

# module name (dashes and underscores are the same) -> path under $moddir
find "$moddir/kernel" -name '*.ko' | sed "s|^$moddir/||" |
	awk '{ n = $0; sub(/.*\//, "", n); sub(/\.ko$/, "", n); gsub(/-/, "_", n); print n, $0 }' \
	>"$tmp/modindex"
modpath() {
	n=$(echo "$1" | tr - _)
	awk -v n="$n" '$1 == n { print $2; exit }' "$tmp/modindex"
}
# Crypto algorithm aliases (crc32c, crypto-crct10dif, ...) -> module, for
# soft dependencies that name an algorithm rather than a module.
for f in $(awk '$2 ~ /^kernel\/(arch\/x86\/)?crypto\// { print $2 }' "$tmp/modindex"); do
	n=${f##*/}
	tr '\0' '\n' <"$moddir/$f" | sed -n "s/^alias=//p" | sed "s/\$/ ${n%.ko}/"
done >"$tmp/aliases"
# The portable *_generic provider wins: the CPU-specific ones refuse to load
# on CPUs without their instructions (QEMU's TCG CPU among them).
alias_module() {
	awk -v a="$1" '$1 == a || $1 == "crypto-" a { print $2 }' "$tmp/aliases" |
		awk '{ print ($1 ~ /_generic$/ ? 0 : 1), $1 }' | sort | awk '{ print $2; exit }'
}
modinfo_field() {
	tr '\0' '\n' <"$moddir/$1" | sed -n "s/^$2=//p"
}
: >"$tmp/load.order"
# Depth first: a module goes in after what it depends on.
add_module() {
	case " $seen " in *" $1 "*) return 0 ;; esac
	seen="$seen $1"
	_p=$(modpath "$1")
	if [ -z "$_p" ]; then
		# Built into this kernel: nothing to load.
		sed 's|.*/||; s|\.ko$||' "$moddir/modules.builtin" | tr - _ |
			grep -qx "$(echo "$1" | tr - _)" && return 0
		die "module $1 not found in $kver"
	fi
	for _d in $(modinfo_field "$_p" depends | tr , ' '); do
		add_module "$_d"
	done
	# Soft dependencies ("pre:" ones) load first too: a module or an
	# algorithm, which the kernel would ask modprobe for (there is none).
	# (sh has no local variables: the recursion changed _p.)
	_p=$(modpath "$1")
	for _d in $(modinfo_field "$_p" softdep | sed 's/post:.*//; s/pre://g'); do
		if [ -n "$(modpath "$_d")" ]; then
			add_module "$_d"
		else
			_a=$(alias_module "$_d")
			[ -n "$_a" ] || die "soft dependency $_d of $1: no module provides it"
			add_module "$_a"
		fi
	done
	_p=$(modpath "$1")
	echo "$_p" >>"$tmp/load.order"
}
seen=""
for m in $(sed 's/#.*//' "$here/modules"); do
	add_module "$m"
done

# --- the initramfs ---

ird=$tmp/initrd
mkdir -p "$ird/bin" "$ird/sbin" "$ird/proc" "$ird/sys" "$ird/dev" "$ird/tmp" \
	"$ird/lib/modules" "$ird/lib64" "$ird/lib/x86_64-linux-gnu"
install_busybox() {
	cp "$bb" "$1/bin/busybox"
	for a in $("$bb" --list-full); do
		[ "$a" = bin/busybox ] && continue
		mkdir -p "$1/${a%/*}"
		[ -e "$1/$a" ] || ln -s /bin/busybox "$1/$a"
	done
}
install_busybox "$ird"
cp "$pkgroot/sbin/iscsistart" "$ird/sbin/"
# iscsistart's libraries, found inside the unpacked packages only.
libs_of() {
	objdump -p "$1" | awk '$1 == "NEEDED" { print $2 }'
}
todo=$(libs_of "$ird/sbin/iscsistart")
done_libs=""
while [ -n "$todo" ]; do
	set -- $todo
	lib=$1
	shift
	todo=$*
	case " $done_libs " in *" $lib "*) continue ;; esac
	done_libs="$done_libs $lib"
	f=""
	for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu; do
		[ -e "$pkgroot/$d/$lib" ] && f=$pkgroot/$d/$lib && break
	done
	[ -n "$f" ] || die "iscsistart needs $lib, which no package in tests/linux/packages provides"
	cp -L "$f" "$ird/lib/x86_64-linux-gnu/$lib"
	todo="$todo $(libs_of "$f")"
done
ld=$pkgroot/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
[ -e "$ld" ] || die "$ld missing (libc6)"
cp -L "$ld" "$ird/lib64/ld-linux-x86-64.so.2"
while read -r p; do
	mkdir -p "$ird/lib/modules/$(dirname "$p")"
	cp "$moddir/$p" "$ird/lib/modules/$p"
done <"$tmp/load.order"
cp "$tmp/load.order" "$ird/lib/modules/load.order"
cp "$here/initramfs-init" "$ird/init"
chmod 755 "$ird/init"

# A newc archive with fixed owners, times and inode numbers, files in a
# fixed order (GNU cpio: busybox's copies the build tree's inode numbers).
mkcpio() {
	find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0 --reproducible)
}
mkcpio "$ird" | gzip -n -9 >"$tmp/initrd.img"
cp "$pkgroot/boot/vmlinuz-$kver" "$tmp/vmlinuz"

# --- the root file system ---

rootfs() {
	r=$tmp/root-$1
	mkdir -p "$r/bin" "$r/sbin" "$r/etc" "$r/proc" "$r/sys" "$r/dev" "$r/tmp" "$r/var/lib/wupan"
	install_busybox "$r"
	rm -f "$r/sbin/init"
	cp "$here/root-init" "$r/sbin/init"
	chmod 755 "$r/sbin/init"
	echo "$1" >"$r/etc/wupan-image"
	echo "wupan diskless Linux ($1), kernel $kver" >"$r/etc/issue"
	find "$r" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	rm -f "$tmp/root-$1.ext4"
	mke2fs -q -t ext4 -L wupan-root -U 57555041-4e00-4000-8000-00000000000$2 \
		-E hash_seed=57555041-4e00-4000-8000-0000000000f$2 -d "$r" "$tmp/root-$1.ext4" 22M >/dev/null
	# mke2fs -d copies each file's ctime, which touch cannot set: set it.
	(cd "$r" && find . | sed 's|^\.||; s|^$|/|' | LC_ALL=C sort |
		sed "s|.*|sif & ctime @$SOURCE_DATE_EPOCH|") >"$tmp/ctime.cmd"
	debugfs -w -f "$tmp/ctime.cmd" "$tmp/root-$1.ext4" >"$tmp/ctime.log" 2>&1 ||
		die "debugfs could not set time stamps (see $tmp/ctime.log)"
}

# 48 MiB: p1 at 1 MiB (24 MiB), p2 at 25 MiB (22 MiB), room for the backup GPT.
P1_START=2048 P1_SIZE=49152 P2_START=51200 P2_SIZE=45056
append_cmdline="console=tty0 console=ttyS0,115200 panic=-1"

# mbr_disk IMG ID TYPE LABEL: a 48 MiB MBR disk with syslinux's boot code,
# p1 (partition type TYPE, active) a FAT file system with syslinux, p2 for
# the root; ID is the disk id and the FAT serial.
mbr_disk() {
	truncate -s 48M "$1"
	printf 'label: dos\nlabel-id: 0x%s\nstart=%s, size=%s, type=%s, bootable\nstart=%s, size=%s, type=83\n' \
		"$2" $P1_START $P1_SIZE "$3" $P2_START $P2_SIZE | sfdisk -q "$1" >/dev/null
	dd if=$mbr of="$1" bs=440 count=1 conv=notrunc 2>/dev/null
	mkfs.vfat --invariant -C -i "$2" -n "$4" -h $P1_START "$tmp/fat.img" $((P1_SIZE / 2)) >/dev/null
	dd if="$tmp/fat.img" of="$1" bs=512 seek=$P1_START conv=notrunc 2>/dev/null
	rm -f "$tmp/fat.img"
	syslinux --install --offset $((P1_START * 512)) "$1"
}

# BIOS: MBR boot code from syslinux, FAT boot partition with syslinux.
rootfs bios 1
img=$tmp/bios.img
mbr_disk "$img" 57555042 c WUPAN-BOOT
cat >"$tmp/syslinux.cfg" <<EOF2
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND $append_cmdline wupan.image=bios
EOF2
mcopy -i "$img@@$((P1_START * 512))" "$tmp/syslinux.cfg" "$tmp/vmlinuz" "$tmp/initrd.img" ::/
dd if="$tmp/root-bios.ext4" of="$img" bs=512 seek=$P2_START conv=notrunc 2>/dev/null

# UEFI: GPT, ESP with systemd-boot as the removable-media loader.
rootfs uefi 2
img=$tmp/uefi.img
truncate -s 48M "$img"
printf '%s\n' 'label: gpt' 'label-id: 57555041-4e00-4000-8000-000000000010' \
	"start=$P1_START, size=$P1_SIZE, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=57555041-4e00-4000-8000-000000000011, name=\"wupan-esp\"" \
	"start=$P2_START, size=$P2_SIZE, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=57555041-4e00-4000-8000-000000000012, name=\"wupan-root\"" |
	sfdisk -q "$img" >/dev/null
mkfs.vfat --invariant -C -i 57555043 -n WUPAN-ESP "$tmp/esp.img" $((P1_SIZE / 2)) >/dev/null
mmd -i "$tmp/esp.img" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
printf 'default wupan.conf\ntimeout 0\n' >"$tmp/loader.conf"
printf 'title wupan diskless Linux\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s wupan.image=uefi\n' \
	"$append_cmdline" >"$tmp/wupan.conf"
mcopy -i "$tmp/esp.img" "$sdboot" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$tmp/esp.img" "$tmp/loader.conf" ::/loader/loader.conf
mcopy -i "$tmp/esp.img" "$tmp/wupan.conf" ::/loader/entries/wupan.conf
mcopy -i "$tmp/esp.img" "$tmp/vmlinuz" "$tmp/initrd.img" ::/
dd if="$tmp/esp.img" of="$img" bs=512 seek=$P1_START conv=notrunc 2>/dev/null
rm -f "$tmp/esp.img"
dd if="$tmp/root-uefi.ext4" of="$img" bs=512 seek=$P2_START conv=notrunc 2>/dev/null

# A room's golden image: one disk that both firmwares boot, so a mixed room
# of BIOS and UEFI PCs shares it (tests/fleet).  MBR with p1 a FAT partition
# of the EFI System type (0xEF, which UEFI takes as an ESP on an MBR disk),
# active, holding syslinux for BIOS and systemd-boot for UEFI; p2 the root.
rootfs room 3
img=$tmp/room.img
mbr_disk "$img" 57555052 ef WUPAN-ROOM
sed 's/wupan.image=bios$/wupan.image=room/' "$tmp/syslinux.cfg" >"$tmp/syslinux-room.cfg"
sed 's/wupan.image=uefi$/wupan.image=room/' "$tmp/wupan.conf" >"$tmp/wupan-room.conf"
p1="$img@@$((P1_START * 512))"
mcopy -i "$p1" "$tmp/syslinux-room.cfg" ::/syslinux.cfg
mcopy -i "$p1" "$tmp/vmlinuz" "$tmp/initrd.img" ::/
mmd -i "$p1" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
mcopy -i "$p1" "$sdboot" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$p1" "$tmp/loader.conf" ::/loader/loader.conf
mcopy -i "$p1" "$tmp/wupan-room.conf" ::/loader/entries/wupan.conf
dd if="$tmp/root-room.ext4" of="$img" bs=512 seek=$P2_START conv=notrunc 2>/dev/null

# The installer's payloads: a second initrd with the disk image.
for kind in bios uefi; do
	d=$tmp/install-$kind
	mkdir -p "$d/install"
	gzip -n -1 <"$tmp/$kind.img" >"$d/install/disk.img.gz"
	md5sum <"$tmp/$kind.img" | cut -d' ' -f1 >"$d/install/disk.md5"
	echo "$kind" >"$d/install/name"
	mkcpio "$d" >"$tmp/install-$kind.cpio"
done

for f in vmlinuz initrd.img bios.img uefi.img room.img install-bios.cpio install-uefi.cpio; do
	mv "$tmp/$f" "$out/$f"
done
echo "$kver" >"$out/kernel-version"
cp "$tmp/load.order" "$out/modules.load"
rm -rf "$tmp"
