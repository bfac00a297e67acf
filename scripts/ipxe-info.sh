#!/bin/sh
# Prints which iPXE the build uses and the feature line it reports at start-up.
# The feature list is compiled into iPXE, so ask the binary itself: boot its
# ipxe.lkrn for a moment in QEMU (SeaBIOS, console mirrored to serial).
# Usage: ipxe-info.sh IPXE_BIN_DIR DESCRIPTION
set -eu
bin=$1 desc=$2
echo "iPXE in use: $desc"
echo "  binaries:  $bin"
for f in ipxe.lkrn ipxe-amd64.efi ipxe.efi undionly.kpxe snponly.efi; do
	[ -e "$bin/$f" ] || continue
	v=$(strings -a "$bin/$f" | grep -m 1 -E '^[0-9]+\.[0-9]+\.[0-9]+[-+~.a-z0-9]*$' || true)
	printf '  %-15s %9s bytes  %s\n' "$f" "$(wc -c <"$bin/$f")" "${v:-version string not found}"
done
if ! command -v qemu-system-x86_64 >/dev/null 2>&1 || [ ! -e "$bin/ipxe.lkrn" ]; then
	echo "  features:  (needs qemu-system-x86 and ipxe.lkrn to ask iPXE)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '\370\003' >"$tmp/sercon"
printf '#!ipxe\necho WUPAN-INFO-END\necho\npoweroff\n' >"$tmp/info.ipxe"
timeout 60 qemu-system-x86_64 -accel tcg -m 128 -display none -serial stdio \
	-monitor none -no-reboot -nodefaults -kernel "$bin/ipxe.lkrn" \
	-initrd "$tmp/info.ipxe" -fw_cfg name=etc/sercon-port,file="$tmp/sercon" \
	</dev/null 2>/dev/null | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' >"$tmp/out" || true
grep -m 1 '^iPXE [0-9]' "$tmp/out" | sed 's/^/  banner:    /'
# The feature line wraps at 80 columns: join it up to the script's marker.
features=$(sed -n '/^Features:/,/WUPAN-INFO-END/p' "$tmp/out" | grep -v WUPAN-INFO | tr '\n' ' ' |
	sed 's/^Features: *//; s/  */ /g; s/ $//')
if [ -n "$features" ]; then
	echo "  features:  $features"
else
	echo "  features:  (iPXE printed no feature line; see: qemu-system-x86_64 -kernel $bin/ipxe.lkrn)"
	exit 1
fi
