#!/bin/bash
# A room from one golden image with real diskless guests: the Linux images of
# `make diskless-image` ($O/linux) become golden images of overlay LUNs of
# one wupan-target, and guests boot them through wupan's firmware (SeaBIOS
# and OVMF, TCG) the way tests/linux/run.sh boots its cases.  The guest's
# root init counts its boots in a file on the disk and reports the count and
# the previous boot's file on the serial console.
#   1. Three guests (two BIOS, one UEFI) boot the room's one golden image
#      (room.img: an MBR disk both firmwares boot) at once: each counts boot
#      1, as none sees another's writes.
#   2. Reset mode: a guest boots again and counts boot 1: its overlay was
#      discarded at the new boot.
#   3. Persistent mode: a guest boots twice and counts boot 2 with the first
#      boot's file.
#   4. The update seat boots (counting boot 1 into its overlay), its work is
#      committed, and a fresh guest counts boot 2; after a rollback the next
#      fresh guest counts boot 1.
#   The golden image is unchanged at the end.
# Ports 39270-39279 on loopback (WUPAN_FLEET_GUESTS_PORT moves the first).  Logs stay in $O/fleet-tests/guests/.
set -u -o pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
O=${O:-build}
mkdir -p "$O"
O=$(cd "$O" && pwd)
export O
LX=$O/linux
WORK=$O/fleet-tests/guests
IPXE_ROMS=$(ls -d "$O"/ipxe/*/root/usr/share/qemu 2>/dev/null | head -n 1)
BASE_IQN=iqn.2026-01.org.wupan.client
ROOM_IQN=iqn.2026-01.org.wupan.room
PORT=${WUPAN_FLEET_GUESTS_PORT:-39270}
BIOS_TIMEOUT=300
UEFI_TIMEOUT=400
HINT_SETTLE=4

. tests/linux/lib.sh
. tests/fleet/guestlib.sh

passed=0 failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
done_() {
	echo "$passed passed, $failed failed, 0 skipped"
	[ "$failed" -eq 0 ]
}

for f in "$O/boot.ipxe" "$O/ipxe.lkrn" "$O/ipxe.efi" "$O/tftp/boot.ipxe" \
	"$LX/room.img" "$O/bin/wupan-target"; do
	if [ ! -e "$f" ]; then
		echo "fleet guests: $f missing: run make and make diskless-image first"
		echo "0 passed, 1 failed, 0 skipped"
		exit 1
	fi
done
command -v qemu-system-x86_64 >/dev/null || {
	echo "fleet guests: qemu-system-x86_64 missing"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}

rm -rf "$WORK"
mkdir -p "$WORK"
printf '\370\003' >"$WORK/sercon.bin"
cp "$LX/room.img" "$WORK/room-golden.img"
sum0=$(sha256sum <"$WORK/room-golden.img")
SEAT=$BASE_IQN:52-54-00-39-27-05
CTL=("$O/bin/wupan-target" ctl --socket "$WORK/ctl.sock")
cat >"$WORK/target.conf" <<EOF
listen 127.0.0.1:$PORT
control $WORK/ctl.sock
target $ROOM_IQN:room
  lun golden=$WORK/room-golden.img overlays=$WORK/ov-room mode=reset update=$SEAT
target $ROOM_IQN:room-persist
  lun golden=$WORK/room-golden.img overlays=$WORK/ov-persist mode=persistent
EOF
tlog=$WORK/target.log
# A copy: a rebuild while the guests run must not touch the running binary.
cp "$O/bin/wupan-target" "$WORK/wupan-target"
"$WORK/wupan-target" --config "$WORK/target.conf" 2>"$tlog" &
tpid=$!
trap 'kill -TERM $tpid 2>/dev/null; wait $tpid 2>/dev/null' EXIT
for _ in $(seq 50); do
	grep -q serving "$tlog" && break
	sleep 0.1
done

# 1. Three at once.
for n in 1 2 3; do
	fw=bios
	[ $n = 3 ] && fw=uefi
	(guest $n $fw room boot1) &
	pids[$n]=$!
done
for n in 1 2 3; do wait "${pids[$n]}"; done
check 1 boot1 1 '^none$' "BIOS guest 1 of 3 at once: boot 1 on the room's golden image"
check 2 boot1 1 '^none$' "BIOS guest 2 of 3 at once: boot 1, guest 1's boot not seen"
check 3 boot1 1 '^none$' "UEFI guest 3 of 3 at once: boot 1 on the same golden image, no BIOS guest's boot seen"
n=$(grep -c "login=os overlay=kept phase=os" "$tlog")
[ "$n" -ge 3 ] && ok "each guest's OS login (iBFT) kept the overlay iPXE started ($n)" ||
	bad "OS logins" "$(grep overlay "$tlog" | head -n 6)"

# 2. Reset mode: guest 1 again.  3. Persistent: guest 4, twice.  4. The
# update seat (guest 5) boots once, alongside.
(guest 1 bios room boot2) &
p1=$!
(guest 4 uefi room-persist boot1) &
p4=$!
(guest 5 bios room boot1) &
p5=$!
wait $p1
wait $p4
wait $p5
check 1 boot2 1 '^none$' "reset mode: guest 1's second boot starts from the golden image"
grep -q "client:52-54-00-39-27-01: isid=40002723[0-9a-f]* login=ipxe overlay=reset" "$tlog" &&
	ok "the new boot was told by iPXE's ISID after an OS login" ||
	bad "reset logged" "$(grep 27-01 "$tlog" | tail -n 3)"
check 4 boot1 1 '^none$' "persistent mode: guest 4's first boot"
check 5 boot1 1 '^none$' "update seat: guest 5 boots and counts its boot"
# Its session ends when QEMU does: commit once the target saw it go.
for _ in $(seq 20); do
	out=$("${CTL[@]}" commit "$SEAT" boot counted by the update seat 2>&1) && break
	sleep 0.5
done
grep -q "version 1 committed" <<<"$out" && ok "commit of the update seat's boot: $out" ||
	bad "commit" "$out"
(guest 4 uefi room-persist boot2) &
p4=$!
guest 6 uefi room boot1
wait $p4
check 4 boot2 2 '^boot 1 of the room image' "persistent mode: UEFI guest 4's second boot sees its first"
check 6 boot1 2 '^boot 1 of the room image' "a fresh UEFI guest boots version 1: it counts on from the BIOS update seat's boot"
out=$("${CTL[@]}" rollback 2>&1) && ok "rollback: $out" || bad "rollback" "$out"
guest 7 bios room boot1
check 7 boot1 1 '^none$' "after the rollback a fresh guest boots the golden image again"

kill -TERM $tpid
wait $tpid
trap - EXIT
[ "$(sha256sum <"$WORK/room-golden.img")" = "$sum0" ] &&
	ok "the golden image is unchanged" || bad "golden" "the golden image was written"
done_
