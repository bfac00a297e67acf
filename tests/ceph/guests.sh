#!/bin/bash
# Diskless Linux guests boot a room whose golden image is on Ceph RBD
# (issue 14): the room image of `make diskless-image` ($O/linux/room.img)
# is imported with `rbd import` into a throwaway cluster of its own
# (tests/ceph/cluster.sh), and wupan-target serves it as overlay LUNs whose
# overlays are RBD clones.  Two BIOS guests (SeaBIOS, TCG) boot twice each,
# side by side, the way tests/fleet/guests.sh boots its room: the guest's
# root init counts its boots in a file on the disk.  A UEFI guest (OVMF,
# ipxe.efi, systemd-boot on the room image's ESP) boots beside them from a
# clone of its own; its iPXE logs out when Linux takes over, and the OS's
# login finds that clone still open (linger=, long here for TCG's slow
# boot).
#   - reset mode: the second boot counts 1 again (the file written at the
#     first boot is gone: its clone was replaced at the new boot);
#   - persistent mode: the second boot counts 2 and shows the first boot's
#     file (the clone was kept).
# Each guest has its own clone of the golden snapshot.  Then the first
# gateway is stopped and a second one starts on the same RBD room: a third
# guest whose per-host file names the stopped gateway first and the second
# one after it (iscsi-server-2, README "Several gateways") boots Linux
# through the second gateway, iPXE's and the OS's (iBFT) logins both.  The
# golden image is unchanged at the end.  Ports: monitor 44300, OSD
# 44310-44349, targets 44262 (first gateway) and 44263 (second).  Logs stay
# in $O/ceph-guests/.
. "$(dirname "$0")/../suite.sh" ceph-guests
export O
WORK=$W
LX=$O/linux
BASE_IQN=iqn.2026-01.org.wupan.client
ROOM_IQN=iqn.2026-01.org.wupan.room
PORT=44262
GUEST_MAC=52:54:00:44:26
GUEST_HOST_LINES=()
BIOS_TIMEOUT=300
UEFI_TIMEOUT=400
C=$W/cluster
CONF=$C/ceph.conf

. tests/linux/lib.sh
# One cluster on ports 44300-44349 at a time: this suite's or the other's.
exec 8>"$O/ceph-44300.lock"
flock -w 900 8 || { bad setup "another run holds $O/ceph-44300.lock"; suite_end; exit 1; }
. tests/fleet/guestlib.sh

need "run make and make diskless-image first" "$O/boot.ipxe" "$O/ipxe.lkrn" "$O/tftp/boot.ipxe" \
	"$LX/room.img" "$O/bin/wupan-target"
need "" rbd ceph-mon ceph-osd qemu-system-x86_64
tpid=
cleanup() {
	[ -n "$tpid" ] && kill -KILL "$tpid" 2>/dev/null
	sh tests/ceph/cluster.sh stop "$C"
}
trap cleanup EXIT
printf '\370\003' >"$WORK/sercon.bin"
if ! sh tests/ceph/cluster.sh start "$C" 44300 2>"$W/cluster.err"; then
	bad cluster "did not start: $(tail -n 8 "$W/cluster.err")"
	suite_end
	exit 1
fi
rbdc() { timeout 120 rbd -c "$CONF" "$@"; }
if ! rbdc import "$LX/room.img" rbd/room >"$W/import.log" 2>&1; then
	bad "rbd import" "$(tail -n 2 "$W/import.log")"
	suite_end
	exit 1
fi
ok "rbd import: the room image is the RBD image rbd/room"

cat >"$WORK/target.conf" <<EOF
listen 127.0.0.1:$PORT
ceph-conf $CONF
target $ROOM_IQN:room
  lun golden=rbd:rbd/room overlays=rbd:rbd/r mode=reset linger=120
target $ROOM_IQN:room-persist
  lun golden=rbd:rbd/room overlays=rbd:rbd/p mode=persistent
EOF
tlog=$WORK/target.log
cp "${WUPAN_TARGET:-$O/bin/wupan-target}" "$WORK/wupan-target"
# target_start CONF LOG: the target of CONF (PID in tpid), once LOG says
# it is serving.
target_start() {
	"$WORK/wupan-target" --config "$1" 2>"$2" &
	tpid=$!
	for _ in $(seq 200); do
		grep -q serving "$2" && break
		sleep 0.1
	done
}
target_start "$WORK/target.conf" "$tlog"

# Guest 1 on the reset room, guest 2 on the persistent one, twice; the
# UEFI guest 4 once, beside them.
(guest 1 bios room boot1) &
p1=$!
(guest 4 uefi room boot1) &
p4=$!
guest 2 bios room-persist boot1
wait $p1 $p4
check 1 boot1 1 '^none$' "reset mode: BIOS guest 1 boots Linux from its RBD clone (boot 1)"
check 2 boot1 1 '^none$' "persistent mode: BIOS guest 2 boots Linux from its RBD clone (boot 1)"
check 4 boot1 1 '^none$' "UEFI (OVMF): guest 4 boots Linux from its RBD clone"
iqn1=$BASE_IQN:52-54-00-44-26-01 iqn2=$BASE_IQN:52-54-00-44-26-02 iqn4=$BASE_IQN:52-54-00-44-26-04
p1=$(rbdc info "rbd/r.client.$iqn1" 2>/dev/null | sed -n 's/^\tparent: //p')
p2=$(rbdc info "rbd/p.client.$iqn2" 2>/dev/null | sed -n 's/^\tparent: //p')
p4=$(rbdc info "rbd/r.client.$iqn4" 2>/dev/null | sed -n 's/^\tparent: //p')
[ "$p1" = rbd/room@wupan-0 ] && [ "$p2" = rbd/room@wupan-0 ] && [ "$p4" = rbd/room@wupan-0 ] &&
	ok "each guest, BIOS or UEFI, has its own clone of rbd/room@wupan-0 (rbd info)" ||
	bad "clones" "parents '$p1' '$p2' '$p4': $(rbdc ls rbd | tr '\n' ' ')"
# UEFI iPXE's session ends at ExitBootServices, before the OS's login.
grep -q "r/$iqn4: isid=00023d[0-9a-f]* login=os overlay=kept phase=os version=0 open=lingered" "$tlog" &&
	ok "UEFI: the OS's login took the clone iPXE's session had left open (linger)" ||
	bad "linger" "$(grep "$iqn4" "$tlog" | cut -c 1-160 | tail -n 4)"
# QEMU is gone; its sessions end on the target shortly after.
sleep 2
(guest 1 bios room boot2) &
p1=$!
guest 2 bios room-persist boot2
wait $p1
check 1 boot2 1 '^none$' "reset mode: guest 1's second boot counts 1 again: the file of its first boot is gone"
grep -q "r/$iqn1: isid=40002723[0-9a-f]* login=ipxe overlay=reset" "$tlog" &&
	ok "the new boot was told by iPXE's ISID after the OS's login" ||
	bad "reset logged" "$(grep "$iqn1" "$tlog" | tail -n 3)"
check 2 boot2 2 '^boot 1 of the room image' "persistent mode: guest 2's second boot counts 2 and reads its first boot's file"

kill -TERM "$tpid"
wait "$tpid"
expect "wupan-target exits 0" test $? = 0
tpid=

# Two gateways on the same RBD room, the first one dead.
PORT_B=44263
sed "s/^listen 127.0.0.1:$PORT\$/listen 127.0.0.1:$PORT_B/" "$WORK/target.conf" >"$WORK/target-b.conf"
tlog_b=$WORK/target-b.log
target_start "$WORK/target-b.conf" "$tlog_b"
GUEST_HOST_LINES=("set iscsi-server-2 10.0.2.2" "set iscsi-port-2 $PORT_B")
guest 3 bios room boot1
GUEST_HOST_LINES=()
check 3 boot1 1 '^none$' "two gateways: the first one dead, BIOS guest 3 boots Linux from the second (boot 1)"
iqn3=$BASE_IQN:52-54-00-44-26-03
n=$(grep -F "login initiator=$iqn3 addr=" "$tlog_b" | grep -c "result=ok")
[ "$n" -ge 2 ] && ok "the second gateway logged guest 3's logins, iPXE's and the OS's ($n)" ||
	bad "second gateway" "$n logins of $iqn3 in $tlog_b"
p3=$(rbdc info "rbd/r.client.$iqn3" 2>/dev/null | sed -n 's/^\tparent: //p')
[ "$p3" = rbd/room@wupan-0 ] && ok "guest 3's clone, made by the second gateway, stands on rbd/room@wupan-0" ||
	bad "guest 3's clone" "parent '$p3'"
kill -TERM "$tpid"
wait "$tpid"
expect "the second gateway exits 0" test $? = 0
tpid=
if rbdc export rbd/room "$W/room.back" >/dev/null 2>&1 && cmp -s "$LX/room.img" "$W/room.back"; then
	ok "the golden image rbd/room is unchanged"
else
	bad "golden image" "rbd/room differs from room.img"
fi
suite_end
