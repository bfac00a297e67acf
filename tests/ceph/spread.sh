#!/bin/bash
# A room spread over two gateways on Ceph RBD (issue 14, README "Several
# gateways"): four BIOS PCs from ONE seats file (scripts/mkseats.sh, a
# group whose golden image and overlays are on RBD, two gateways, round
# robin), two real wupan-target gateways running the configurations
# mkseats.sh wrote, unchanged, on a throwaway cluster of this suite's own
# (tests/ceph/cluster.sh).  The golden image is a test disk whose boot code
# counts its boots on the disk (count.bin, tests/qemu/mkdisk.sh), so the
# console shows which clone a PC booted: boots=01 on a fresh clone.
#   - two and two: each PC boots from the first gateway of its per-host
#     file, and each gateway's log shows the logins of exactly its two seats
#     (and of no other);
#   - one clone per seat, shared by the gateways: each seat's RBD clone of
#     the golden snapshot exists once, whichever gateway made it;
#   - failover to the same clone: the first gateway is killed (SIGKILL to
#     its recorded PID) and one of its seats boots again: through the
#     second gateway, and in persistent mode it counts boots=02 (with file
#     overlays, each gateway has its own, and it would count 01);
#   - a crash mid-session: the first gateway dies while its other seat's
#     session is open, so Ceph still sees it holding that clone's lock: the
#     second gateway answers "busy" (login status 03/02) until Ceph drops
#     the dead gateway's watch (30 s), the PC's firmware says so and asks
#     again (busy-retries), then boots its own clone (boots=02).  The count
#     of refusals is reported, not required: a PC that reaches the second
#     gateway after the watch went is served at once (the firmware's
#     retries are checked on their own by tests/qemu/multipath.sh).
# The golden image is unchanged at the end.  Ports: monitor 46300, OSD
# 46310-46349, gateways 46261 and 46262.  Logs stay in $O/ceph-spread/.
# Ends with "N passed, N failed".
. "$(dirname "$0")/../suite.sh" ceph-spread
. tests/qemu/mplib.sh
export O
PORT_GW1=46261 PORT_GW2=46262
HOST=10.0.2.2
BASE_IQN=iqn.2026-01.org.wupan.client
BIOS_TIMEOUT=120
UEFI_TIMEOUT=240
C=$W/cluster
CONF=$C/ceph.conf

need "run make and make test-payloads first" "$O/ipxe.lkrn" "$O/boot.ipxe" "$O/tftp/boot.ipxe" \
	"$O/bin/wupan-target" "$O/bin/wupan-lint" "$O/test/payload/count.bin"
need "" rbd ceph-mon ceph-osd qemu-system-x86_64
# One cluster on ports 46300-46349 at a time.
exec 8>"$O/ceph-46300.lock"
flock -w 900 8 || { bad setup "another run holds $O/ceph-46300.lock"; suite_end; exit 1; }
trap 'cleanup; sh tests/ceph/cluster.sh stop "$C"' EXIT
trap 'exit 1' INT TERM

if ! sh tests/ceph/cluster.sh start "$C" 46300 2>"$W/cluster.err"; then
	bad cluster "did not start: $(tail -n 8 "$W/cluster.err")"
	suite_end
	exit 1
fi
rbdc() { timeout 120 rbd -c "$CONF" "$@"; }
MKDISK_MBR=$O/test/payload/count.bin sh tests/qemu/mkdisk.sh bios spread "$W/golden.img" &&
	rbdc import "$W/golden.img" rbd/spread >"$W/import.log" 2>&1 ||
	{ bad "golden image" "$(tail -n 2 "$W/import.log")"; suite_end; exit 1; }

mkdir -p "$W/tftp"
cp -r "$O/tftp/." "$W/tftp/"
mkdir -p "$W/tftp/hosts"
printf '\370\003' >"$W/sercon.bin"
cat >"$W/room.seats" <<EOF
# Four PCs on two gateways, round robin; the room on RBD.
control $W/unused.sock
ceph-conf $CONF
ceph-timeout 30
group room rbd:rbd/spread rbd:rbd/sp persistent
gateway gw1 $HOST:$PORT_GW1 listen=127.0.0.1:$PORT_GW1 control=$W/gw1.sock
gateway gw2 $HOST:$PORT_GW2 listen=127.0.0.1:$PORT_GW2 control=$W/gw2.sock
seat pc01 52:54:00:46:26:01 room
seat pc02 52:54:00:46:26:02 room
seat pc03 52:54:00:46:26:03 room
seat pc04 52:54:00:46:26:04 room
EOF
if ! out=$(sh scripts/mkseats.sh "$W/room.seats" "$W/out" 2>&1); then
	bad "mkseats.sh" "$out"
	suite_end
	exit 1
fi
cp "$W"/out/hosts/*.ipxe "$W/tftp/hosts/"
# Sequentially: the first gateway makes and protects the golden snapshot.
if ! gw_start gw1 "$W/out/wupan-target-gw1.conf" || ! gw_start gw2 "$W/out/wupan-target-gw2.conf"; then
	bad gateways "$(tail -n 3 "$W"/gw*.log)"
	suite_end
	exit 1
fi
ok "two gateways run mkseats.sh's configurations unchanged"
for n in 1 2 3 4; do
	guest "pc0$n" bios "52:54:00:46:26:0$n" "pc0$n" &
done
wait_guests

# logins GATEWAY: the seats that logged in to it, sorted, on one line.
logins() {
	sed -n "s/.*login initiator=$BASE_IQN:\([^ ]*\) .*result=ok.*/\1/p" "$W/$1.log" | sort -u | tr '\n' ' '
}
why=""
for n in 1 2 3 4; do
	w=$(booted "pc0$n" bios spread) || why="$why $w;"
	grep -qaF "tag=spread drive=80 boots=01" "$W/pc0$n/console.txt" ||
		why="$why pc0$n did not count boots=01 (see $W/pc0$n/console.txt);"
done
[ -z "$why" ] && ok "four BIOS PCs booted from their RBD clones (boots=01 each)" || bad "boots" "$why"
for g in gw1 gw2; do
	want="pc0$([ $g = gw1 ] && echo "1 pc03" || echo "2 pc04") "
	got=$(logins $g)
	[ "$got" = "$want" ] && ok "$g's log shows the logins of exactly its two seats: $got" ||
		bad "$g's logins" "'$got', want '$want'"
done
why=""
for n in 1 2 3 4; do
	p=$(rbdc info "rbd/sp.client.$BASE_IQN:pc0$n" 2>/dev/null | sed -n 's/^\tparent: //p')
	[ "$p" = rbd/spread@wupan-0 ] || why="$why pc0$n's clone has parent '$p';"
done
n=$(rbdc ls rbd | grep -c '^sp\.client\.')
[ "$n" = 4 ] || why="$why $n clones in the pool, want 4: $(rbdc ls rbd | tr '\n' ' ');"
[ -z "$why" ] && ok "one RBD clone per seat of rbd/spread@wupan-0, four in all" || bad clones "$why"

# The first gateway dies while pc03's session is open (a scripted
# initiator logs in as pc03 and kills it); both its seats boot again.
# First its sessions of the first boots are over (their clones closed).
for _ in $(seq 1 50); do
	[ "$(grep -c "logout initiator=$BASE_IQN:pc0[13] " "$W/gw1.log")" = 2 ] && break
	sleep 0.1
done
CL=$W/fleet_client
${CC:-cc} -O2 -Wall -o "$CL" tests/fleet/fleet_client.c -liscsi || bad setup "tests/fleet/fleet_client.c does not build"
gw1_pid=$(cat "$W/gw1.pid")
"$CL" "iscsi://127.0.0.1:$PORT_GW1/iqn.2026-01.org.wupan.room:room/0" "$BASE_IQN:pc03" os "kill:$gw1_pid" >"$W/crash.out" 2>&1
wait "$gw1_pid" 2>/dev/null
st=$?
gw_forget "$gw1_pid"
[ "$st" = 137 ] && grep -q "$BASE_IQN:pc03: .*login=os overlay=kept" "$W/gw1.log" &&
	ok "gw1 killed (SIGKILL to its PID) with pc03's session open on its clone" ||
	bad "gw1 crash" "exit status $st, $(tail -n 2 "$W/crash.out" "$W/gw1.log" | tr '\n' ' ')"
guest pc03-again bios 52:54:00:46:26:03 pc03 &
pc03_job=$!
guest pc01-again bios 52:54:00:46:26:01 pc01
wait "$pc03_job"
c=$W/pc01-again/console.txt
if ! w=$(booted pc01-again bios spread); then
	bad failover "$w"
elif ! grep -qF "wupan: no boot from $HOST:$PORT_GW1, trying all 2 paths at once" <(tr -d '\n' <"$c"); then
	bad failover "no line saying gw1 failed and both paths follow (see $c)"
elif ! grep -q "login initiator=$BASE_IQN:pc01 .*result=ok" "$W/gw2.log"; then
	bad failover "gw2 logged no login of pc01"
else
	ok "gw1 dead: pc01 boots again through gw2 in $(cat "$W/pc01-again/secs")s"
fi
if ! grep -qaF "tag=spread drive=80 boots=02" "$c"; then
	bad "same clone" "$(grep -a 'BOOT-OK' "$c" | head -n 1 | tr -d '\r'), want boots=02"
elif ! grep -q "rbd/sp/$BASE_IQN:pc01: .* login=ipxe overlay=kept " "$W/gw2.log"; then
	bad "same clone" "gw2 did not log pc01's clone as kept"
else
	ok "persistent mode: pc01 finds its own clone through gw2 (boots=02: what it wrote through gw1; gw2 logged overlay=kept)"
fi
c=$W/pc03-again/console.txt
flat=$(tr -d '\n' <"$c")
if ! w=$(booted pc03-again bios spread); then
	bad "crash takeover" "$w"
elif ! grep -q "login initiator=$BASE_IQN:pc03 .*result=ok" "$W/gw2.log"; then
	bad "crash takeover" "gw2 logged no login of pc03"
elif ! grep -qaF "tag=spread drive=80 boots=02" "$c"; then
	bad "crash takeover" "$(grep -a 'BOOT-OK' "$c" | head -n 1 | tr -d '\r'), want boots=02"
else
	ok "gw1 crashed with pc03's clone locked: pc03 booted its own clone through gw2 (boots=02) in $(cat "$W/pc03-again/secs")s; gw2 answered busy $(grep -c "login initiator=$BASE_IQN:pc03 .*status=0x0302" "$W/gw2.log") times, the firmware asked again $(grep -aoF 'trying again in 5 s' "$c" | wc -l) times"
fi
cleanup
if rbdc export rbd/spread "$W/golden.back" >/dev/null 2>&1 && cmp -s "$W/golden.img" "$W/golden.back"; then
	ok "the golden image rbd/spread is unchanged"
else
	bad "golden image" "rbd/spread differs from the disk imported"
fi
suite_end
