#!/bin/sh
# Embeds an iPXE EFI binary and an iPXE script into a copy of the wupan EFI
# stub, as the PE sections ".ipxe" and ".script" the stub looks for at run
# time.  Only objcopy is needed, so a new script never needs a compiler.
# Usage: [OBJCOPY=... OBJDUMP=...] efi-embed.sh STUB IPXE_EFI SCRIPT OUT
#
# The new sections go at 4 KiB-aligned addresses past the stub's last
# section: objcopy would otherwise place them at address 0, over the headers.
# objcopy recomputes SizeOfImage when it writes the PE file.  The output is a
# function of the inputs alone (the PE time stamp is set from
# SOURCE_DATE_EPOCH, or 0).
set -eu

die() {
	echo "efi-embed: $*" >&2
	exit 1
}

[ $# -eq 4 ] || die "usage: efi-embed.sh STUB IPXE_EFI SCRIPT OUT"
stub=$1 ipxe=$2 script=$3 out=$4
OBJCOPY=${OBJCOPY:-objcopy}
OBJDUMP=${OBJDUMP:-objdump}
for f in "$stub" "$ipxe" "$script"; do
	if [ ! -f "$f" ] || [ ! -r "$f" ]; then
		die "$f: not a readable file"
	fi
done
[ -s "$ipxe" ] || die "$ipxe: empty"
[ "$(head -c 2 "$ipxe")" = MZ ] || die "$ipxe: not a PE image (no MZ header)"

# The stub hands the script to iPXE as UCS-2 LoadOptions, and iPXE narrows
# each character to one byte: only ASCII text survives (efi/loadopts.h).
bad=$(LC_ALL=C tr -d '\11\12\15\40-\176' <"$script" | head -c 16 | od -An -tx1)
[ -z "$bad" ] || die "$script: not plain ASCII text (bytes:$bad)"
[ "$(wc -c <"$script")" -le 262144 ] || die "$script: over 256 KiB"

sections=$(LC_ALL=C "$OBJDUMP" -h "$stub" 2>/dev/null) ||
	die "$stub: objdump cannot read it"
# x86_64 with the host's binutils; aarch64 with the cross binutils, named by
# OBJCOPY and OBJDUMP (mk/arm64.mk).
case $sections in
*"file format pei-x86-64"* | *"file format pei-aarch64-little"*) ;;
*) die "$stub: not an x86-64 or aarch64 PE image (for aarch64, set OBJDUMP and OBJCOPY to the cross tools)" ;;
esac
# Section lines: index, name, size, VMA, LMA, file offset, alignment.
ends=$(echo "$sections" | awk '$1 ~ /^[0-9]+$/ && NF >= 7 { print $2, $3, $4 }')
[ -n "$ends" ] || die "$stub: no sections"
last=0
while read -r name size vma; do
	case $name in
	.ipxe | .script) die "$stub: already has a $name section (give the bare stub)" ;;
	esac
	end=$((0x$vma + 0x$size))
	[ "$end" -gt "$last" ] && last=$end
done <<EOF_SECTIONS
$ends
EOF_SECTIONS

align() {
	echo $((($1 + 4095) / 4096 * 4096))
}
ipxe_size=$(wc -c <"$ipxe")
ipxe_addr=$(align "$last")
script_addr=$(align $((ipxe_addr + ipxe_size)))

tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT
"$OBJCOPY" \
	--add-section .ipxe="$ipxe" \
	--set-section-flags .ipxe=alloc,load,readonly,data \
	--change-section-address .ipxe="$(printf '0x%x' "$ipxe_addr")" \
	--add-section .script="$script" \
	--set-section-flags .script=alloc,load,readonly,data \
	--change-section-address .script="$(printf '0x%x' "$script_addr")" \
	"$stub" "$tmp"

# objcopy (binutils 2.40) stamps the wall clock into the COFF header's
# TimeDateStamp (PE header + 8) and folds it into the optional header's
# CheckSum (PE header + 88).  Pin the stamp, then recompute the checksum (the
# 16-bit one's-complement sum of the file without that field, plus the file
# length) so the same inputs give the same bytes.
pe_off=$(od -An -tu4 -j 60 -N 4 "$tmp" | tr -d ' ')
epoch=$((${SOURCE_DATE_EPOCH:-0} & 0xffffffff))
le32=""
for shift in 0 8 16 24; do
	le32="$le32\\$(printf '%03o' $(((epoch >> shift) & 255)))"
done
# shellcheck disable=SC2059
printf "$le32" | dd of="$tmp" bs=1 seek=$((pe_off + 8)) conv=notrunc 2>/dev/null
sum=$(od -An -v -tu2 "$tmp" | awk -v skip=$(((pe_off + 88) / 2)) '
	{
		for (i = 1; i <= NF; i++) {
			if (n != skip && n != skip + 1) {
				s += $i
				s = (s % 65536) + int(s / 65536)
			}
			n++
		}
	}
	END { print s + 0 }')
csum=$((sum + $(wc -c <"$tmp")))
le32=""
for shift in 0 8 16 24; do
	le32="$le32\\$(printf '%03o' $(((csum >> shift) & 255)))"
done
# shellcheck disable=SC2059
printf "$le32" | dd of="$tmp" bs=1 seek=$((pe_off + 88)) conv=notrunc 2>/dev/null
mv "$tmp" "$out"
trap - EXIT
