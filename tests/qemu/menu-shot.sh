#!/bin/bash
# Boots the BIOS image in QEMU with doc/examples/menu-site.ipxe as the site
# file and saves what the screen shows once the menu is up, as a PNG (the
# screenshot in README.md).  Usage: menu-shot.sh OUT.png
# Run it under the suite lock like any QEMU boot.
set -u -o pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
O=${O:-build}
out=$1
work=$O/menu-shot
. tests/qemu/screen.sh

rm -rf "$work"
mkdir -p "$work"
"$O/bin/wupan-lint" --site doc/examples/menu-site.ipxe || exit 1
sh scripts/mkscript.sh doc/examples/menu-site.ipxe embed "$work/boot.ipxe" || exit 1
printf '\370\003' >"$work/sercon.bin"
: >"$work/serial.log"
qemu-system-x86_64 -accel tcg -m 256 -display none -no-reboot \
	-monitor "unix:$work/mon.sock,server,nowait" -serial "file:$work/serial.log" \
	-fw_cfg "name=etc/sercon-port,file=$work/sercon.bin" \
	-kernel "$O/ipxe.lkrn" -initrd "$work/boot.ipxe" \
	-netdev user,id=n0 -device e1000,netdev=n0,romfile= >"$work/qemu.out" 2>&1 &
qpid=$!
ok=""
for _ in $(seq 1 120); do
	if grep -qaF "Boot from the iSCSI disk" "$work/serial.log"; then
		sleep 1
		screen_dump "$work/mon.sock" "$work/menu.png" && ok=1
		break
	fi
	kill -0 "$qpid" 2>/dev/null || break
	sleep 0.5
done
kill -TERM "$qpid" 2>/dev/null
wait "$qpid" 2>/dev/null
if [ -z "$ok" ]; then
	echo "menu-shot: no menu on the screen (see $work/serial.log)" >&2
	exit 1
fi
cp "$work/menu.png" "$out"
echo "menu-shot: $out"
