#!/bin/bash
# make record-boot-trace: boots the diskless Linux guest of `make
# diskless-image` once under SeaBIOS and once under OVMF (QEMU, TCG) from
# wupan-target running with --trace, checks that Linux came up with its root
# on the iSCSI disk, and stores each trace as bench/target/traces/FW.trace:
# iPXE's session (boot loader, kernel, initrd) and then the operating
# system's own session after its login through the iBFT, to its poweroff.
# The guest and the per-host file are tests/linux/'s (lib.sh), so the
# recorded boot is the one `make test` checks.
# Ports 40261-40262 on loopback.  Logs stay in $O/storm-record/FW/.
set -u -o pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
O=${O:-build}
mkdir -p "$O"
O=$(cd "$O" && pwd)
export O
LX=$O/linux
WORK=$O/storm-record
OUT=${TRACE_DIR:-bench/target/traces}
IPXE_ROMS=$(ls -d "$O"/ipxe/*/root/usr/share/qemu 2>/dev/null | head -n 1)
BASE_IQN=iqn.2026-01.org.wupan.client
TEST_IQN=iqn.2026-01.org.wupan.linux
HINT_SETTLE=4

. tests/linux/lib.sh

for f in "$O/bin/wupan-target" "$O/ipxe.lkrn" "$O/ipxe.efi" "$O/tftp/boot.ipxe" \
	"$LX/bios.img" "$LX/uefi.img"; do
	[ -e "$f" ] || { echo "record: $f missing: run make and make diskless-image"; exit 1; }
done
rm -rf "$WORK"
mkdir -p "$WORK" "$OUT"
printf '\370\003' >"$WORK/sercon.bin"
trap 'lx_cleanup >/dev/null 2>&1' EXIT

# record FW PORT: one boot; the trace goes to $OUT/FW.trace.
record() {
	local fw=$1 port=$2 limit=150
	local -a args
	[ "$fw" = uefi ] && limit=240
	dir=$WORK/$fw
	mkdir -p "$dir/tftp/hosts"
	cp -r "$O/tftp/." "$dir/tftp/"
	c_fw=$fw c_port=$port c_lun=0 c_times=() c_cu=- c_cs=- c_mu=- c_ms=- c_pw=-
	c_mac=$(printf '52:54:00:40:%02x:%02x' $((port / 256 % 256)) $((port % 256)))
	c_machyp=${c_mac//:/-}
	c_iqn=$BASE_IQN:$c_machyp c_tiqn=$TEST_IQN:storm-$fw c_srv=10.0.2.2
	c_disk=$dir/disk.img
	cp "$LX/$fw.img" "$c_disk"
	lx_hostfile
	"$O/bin/wupan-target" --listen "127.0.0.1:$port" --target "$c_tiqn" \
		--lun "$c_disk" --trace "$dir/trace" 2>"$dir/wupan-target.log" &
	target_pid=$! target_kind=wupan target_addr=127.0.0.1 target_exec=()
	target_wait_port "$port" || { echo "record: wupan-target did not start"; return 1; }
	mapfile -t args < <(lx_qemu_args "$fw" "$dir" boot1 "$c_mac" "" user file)
	lx_boot boot1 "$limit" "" "${args[@]}"
	lx_check_linux boot1 1 || return 1
	target_stop # SIGTERM: the trace is written out in full
	grep -v '^#' "$dir/trace" | grep -q . || { echo "record: empty trace"; return 1; }
	{
		echo "# $fw boot of tests/linux's diskless Debian (QEMU $(qemu-system-x86_64 --version |
			head -n 1 | awk '{print $4}'), recorded by bench/target/record-boot.sh"
		cat "$dir/trace"
	} >"$OUT/$fw.trace"
	echo "record: $fw: $(grep -vc '^#' "$OUT/$fw.trace") commands," \
		"$(grep -v '^#' "$OUT/$fw.trace" | awk '{print $2}' | sort -u | wc -l) sessions," \
		"boot ${boot_secs}s -> $OUT/$fw.trace"
}

rc=0
record bios 40261 || rc=1
record uefi 40262 || rc=1
exit $rc
