#!/bin/bash
# Several gateways for one disk (README "Several gateways"): the firmware
# hands iPXE every portal of the per-host file as paths to one SAN disk.
# Two wupan-target gateways serve copies of one test image that differ only
# in their 16-byte tag ("gw1", "gw2"), so the marker the guest prints names
# the gateway that served its boot; the gateways' logs show the logins.
#   first-dead        BIOS: portal 1 is dead (nothing listens), portal 2 is
#                     gw2: boots from gw2, and gw2 logged the login
#   first-alive       BIOS: portals gw1 then gw2: boots from gw1
#   all-dead          BIOS: both portals dead: the error, then the hint
#                     naming both portals; the menu waits (one attempt)
#   uefi-first-dead   UEFI (OVMF, ipxe.efi from an ESP): as first-dead
#   install-first-dead  BIOS, the install item (sanhook, then an installer
#                     that reads the hooked disk): portal 1 dead, gw2's disk
#   linux-first-dead  the diskless Linux of make diskless-image, BIOS, first
#                     portal dead: iPXE boots it from gw2, and the OS logs in
#                     with the iBFT (which lists both portals) to gw2
#   seats             four BIOS guests from a seats file with two gateways
#                     (scripts/mkseats.sh, round robin): each seat's file
#                     lists the other gateway second, each gateway's
#                     generated configuration runs it, and two guests boot
#                     from each gateway, which logged their logins
#   busy              BIOS, one portal whose wupan-target refuses the login
#                     with status 03/02 (the PC's overlay cannot be made: a
#                     directory stands in its place) until the firmware has
#                     said it tries again; then the directory goes: the
#                     firmware's retry boots (embed/80-failure.ipxe)
#   uefi-busy         UEFI (OVMF): as busy (EFI's error numbers differ)
#   busy-first-dead   BIOS, two portals: the first dead, the second busy as
#                     above: the firmware retries the paths and boots
#   busy-give-up      BIOS, busy-retries 1 and a target that stays busy: one
#                     retry, then the error and the busy hint; the menu waits
#   install-busy-first-dead  BIOS, the install item (sanhook) with the two
#                     portals of busy-first-dead: the firmware asks each
#                     portal alone, waits for the busy one and the installer
#                     reads its disk
# Ports 43260-43299.  Needs: make, make test-payloads, qemu-system-x86, ovmf,
# make diskless-image (linux-first-dead).
# Ends with "N passed, N failed, N skipped".
# Usage: tests/qemu/multipath.sh [CASE...]   (default: all)
. "$(dirname "$0")/../suite.sh" multipath
. tests/qemu/mplib.sh
export O
PAYLOAD=$O/test/payload
PORT_GW1=43261 PORT_GW2=43262 PORT_BUSY=43263
# Nothing ever listens here: a dead gateway.
PORT_DEAD=43269
HOST=10.0.2.2
IQN=iqn.2026-11.org.wupan.multipath:disk
BASE_IQN=iqn.2026-01.org.wupan.client
BIOS_TIMEOUT=90
UEFI_TIMEOUT=240
JOBS=${WUPAN_QEMU_JOBS:-3}
ALL="first-dead first-alive all-dead uefi-first-dead install-first-dead linux-first-dead seats busy uefi-busy busy-first-dead busy-give-up install-busy-first-dead"
CASES=${*:-$ALL}

trap cleanup EXIT
trap 'exit 1' INT TERM

skip_all() {
	local c
	for c in $CASES; do skip "$c: $1"; done
	suite_end
	exit
}
for f in "$O/ipxe.lkrn" "$O/boot.ipxe" "$O/ipxe.efi" "$O/tftp/boot.ipxe" "$O/bin/wupan-target" \
	"$O/bin/wupan-lint" "$PAYLOAD/mbr.bin" "$PAYLOAD/marker.efi"; do
	[ -e "$f" ] || skip_all "no $f (make, make test-payloads)"
done
command -v qemu-system-x86_64 >/dev/null || skip_all "no qemu-system-x86_64 (qemu-system-x86)"
for p in $PORT_GW1 $PORT_GW2 $PORT_BUSY $PORT_DEAD; do
	if bash -c "exec 3<>/dev/tcp/127.0.0.1/$p" 2>/dev/null; then
		skip_all "port $p is in use"
	fi
done

want() {
	local c
	for c in $CASES; do [ "$c" = "$1" ] && return 0; done
	return 1
}

# The shared TFTP root: the built one plus every case's per-host file.
mkdir -p "$W/tftp"
cp -r "$O/tftp/." "$W/tftp/"
mkdir -p "$W/tftp/hosts"
printf '\370\003' >"$W/sercon.bin"

# host_file MAC PORTAL...: a per-host file naming the portals in order
# (HOST:PORT each), checked by wupan-lint --host.
host_file() {
	local mac=$1 i=1 sfx f
	shift
	f=$W/tftp/hosts/${mac//:/-}.ipxe
	{
		echo "#!ipxe"
		echo "set iscsi-target $IQN"
		echo "set iscsi-lun 0"
		echo "set menu-timeout 0"
		for p in "$@"; do
			sfx=-$i
			[ "$i" -gt 1 ] || sfx=
			echo "set iscsi-server$sfx ${p%:*}"
			echo "set iscsi-port$sfx ${p#*:}"
			i=$((i + 1))
		done
	} >"$f"
	"$O/bin/wupan-lint" --host "$f"
}

# --- the plain gateways (cases first-dead, first-alive, all-dead, uefi) -----

bios_disk() {
	sh tests/qemu/mkdisk.sh bios "$1" "$2"
}
plain=""
for c in first-dead first-alive all-dead uefi-first-dead install-first-dead linux-first-dead; do
	want "$c" && plain=1
done
LINUX_IMG=$O/linux/bios.img
if want linux-first-dead && [ ! -f "$LINUX_IMG" ]; then
	skip "linux-first-dead: no $LINUX_IMG (make diskless-image)"
	CASES=${CASES//linux-first-dead/}
fi
if [ -n "$plain" ]; then
	bios_disk gw1 "$W/bios-gw1.img" && bios_disk gw2 "$W/bios-gw2.img" &&
		sh tests/qemu/mkdisk.sh uefi gw1 "$W/uefi-gw1.img" &&
		sh tests/qemu/mkdisk.sh uefi gw2 "$W/uefi-gw2.img" || { bad "test disks"; suite_end; exit; }
	for g in gw1 gw2; do
		port=$PORT_GW1
		[ "$g" = gw2 ] && port=$PORT_GW2
		{
			echo "listen 127.0.0.1:$port"
			echo "target $IQN"
			echo "  lun $W/bios-$g.img,ro"
			echo "  allow $BASE_IQN:mp-*"
			echo "target $IQN-uefi"
			echo "  lun $W/uefi-$g.img,ro"
			echo "  allow $BASE_IQN:mp-*"
			if want linux-first-dead; then
				cp "$LINUX_IMG" "$W/linux-$g.img"
				echo "target $IQN-linux"
				echo "  lun $W/linux-$g.img"
				echo "  allow $BASE_IQN:mp-*"
			fi
		} >"$W/$g.conf"
		gw_start "$g" "$W/$g.conf" || { bad "gateway $g"; suite_end; exit; }
	done
	want first-dead && host_file 52:54:00:4d:50:01 "$HOST:$PORT_DEAD" "$HOST:$PORT_GW2"
	want first-alive && host_file 52:54:00:4d:50:02 "$HOST:$PORT_GW1" "$HOST:$PORT_GW2"
	want all-dead && host_file 52:54:00:4d:50:03 "$HOST:$PORT_DEAD" "$HOST:$((PORT_DEAD - 1))"
	if want uefi-first-dead; then
		host_file 52:54:00:4d:50:04 "$HOST:$PORT_DEAD" "$HOST:$PORT_GW2" &&
			sed -i "s/^set iscsi-target .*/set iscsi-target $IQN-uefi/" \
				"$W/tftp/hosts/52-54-00-4d-50-04.ipxe"
	fi
	if want install-first-dead; then
		cp "$PAYLOAD/install.pxe" "$W/tftp/"
		host_file 52:54:00:4d:50:06 "$HOST:$PORT_DEAD" "$HOST:$PORT_GW2" &&
			printf 'set menu-default install\nset install-url tftp://${next-server}/install.pxe\n' \
				>>"$W/tftp/hosts/52-54-00-4d-50-06.ipxe"
	fi
	if want linux-first-dead; then
		host_file 52:54:00:4d:50:05 "$HOST:$PORT_DEAD" "$HOST:$PORT_GW2" &&
			sed -i "s/^set iscsi-target .*/set iscsi-target $IQN-linux/" \
				"$W/tftp/hosts/52-54-00-4d-50-05.ipxe"
	fi
	run_bg() {
		while [ "$(jobs -rp | wc -l)" -gt $((JOBS + ${#gw_pids[@]} - 1)) ]; do sleep 0.2; done
		guest "$@" &
	}
	want first-dead && run_bg first-dead bios 52:54:00:4d:50:01 mp-first-dead
	want first-alive && run_bg first-alive bios 52:54:00:4d:50:02 mp-first-alive
	want all-dead && run_bg all-dead bios 52:54:00:4d:50:03 mp-all-dead
	want uefi-first-dead && run_bg uefi-first-dead uefi 52:54:00:4d:50:04 mp-uefi-first-dead
	want install-first-dead && run_bg install-first-dead bios 52:54:00:4d:50:06 mp-install-first-dead
	want linux-first-dead && run_bg linux-first-dead bios 52:54:00:4d:50:05 mp-linux-first-dead
	wait_guests

	if want first-dead; then
		flat=$(tr -d '\n' <"$W/first-dead/console.txt")
		why=$(booted first-dead bios gw2)
		[ -z "$why" ] && ! grep -qF "wupan: 2 paths to the disk: iscsi:$HOST::$PORT_DEAD:0:$IQN iscsi:$HOST::$PORT_GW2:0:$IQN" <<<"$flat" &&
			why="no line naming both paths"
		[ -z "$why" ] && ! grep -qF "wupan: no boot from $HOST:$PORT_DEAD, trying all 2 paths at once" <<<"$flat" &&
			why="no line saying portal 1 failed and all paths follow"
		[ -z "$why" ] && ! logged_in gw2 "$BASE_IQN:mp-first-dead" && why="gw2 logged no login of mp-first-dead"
		if [ -z "$why" ]; then ok "first-dead: portal 1 dead, booted from portal 2 (gw2, which logged the login) in $(cat "$W/first-dead/secs")s"; else bad first-dead "$why"; fi
	fi
	if want first-alive; then
		why=$(booted first-alive bios gw1)
		[ -z "$why" ] && ! logged_in gw1 "$BASE_IQN:mp-first-alive" && why="gw1 logged no login of mp-first-alive"
		[ -z "$why" ] && grep -qF "initiator=$BASE_IQN:mp-first-alive " "$W/gw2.log" && why="gw2 saw a login of mp-first-alive too"
		if [ -z "$why" ]; then ok "first-alive: both portals alive, booted from portal 1 (gw1) alone in $(cat "$W/first-alive/secs")s"; else bad first-alive "$why"; fi
	fi
	if want all-dead; then
		c=$W/all-dead/console.txt
		flat=$(tr -d '\n' <"$c")
		if ! grep -qF "wupan: hint: no target reachable at any of $HOST:$PORT_DEAD $HOST:$((PORT_DEAD - 1))" <<<"$flat"; then
			bad all-dead "no hint naming both portals (see $c)"
		elif [ "$(grep -ac '^wupan: sanboot ' "$c")" -ne 1 ]; then
			bad all-dead "not exactly one boot attempt"
		else
			ok "all-dead: both portals dead: the hint names both, one attempt, in $(cat "$W/all-dead/secs")s"
		fi
	fi
	if want uefi-first-dead; then
		why=$(booted uefi-first-dead uefi gw2)
		[ -z "$why" ] && ! logged_in gw2 "$BASE_IQN:mp-uefi-first-dead" && why="gw2 logged no login of mp-uefi-first-dead"
		if [ -z "$why" ]; then ok "uefi-first-dead: UEFI, portal 1 dead, booted from gw2 in $(cat "$W/uefi-first-dead/secs")s"; else bad uefi-first-dead "$why"; fi
	fi
	if want install-first-dead; then
		why=$(installed install-first-dead bios gw2)
		if [ -z "$why" ]; then ok "install-first-dead: sanhook with portal 1 dead hooked gw2's disk for the installer in $(cat "$W/install-first-dead/secs")s"; else bad install-first-dead "$why"; fi
	fi
	if want linux-first-dead; then
		c=$W/linux-first-dead/console.txt
		logins=$(grep -c "login initiator=$BASE_IQN:mp-linux-first-dead .*target=$IQN-linux result=ok" "$W/gw2.log")
		if ! grep -qaE "WUPAN-LINUX-ROOT root=/dev/sd[a-z]+2 via=session[0-9]+ image=bios count=1" "$c"; then
			bad linux-first-dead "no WUPAN-LINUX-ROOT line: $(grep -aE 'WUPAN-LINUX-FAIL|WUPAN-IBFT |iscsistart' "$c" | head -n 4 | tr '\n' ' ')(see $c)"
		elif [ "$logins" -lt 2 ]; then
			bad linux-first-dead "gw2 logged $logins logins of the guest, want iPXE's and the OS's"
		else
			ok "linux-first-dead: Linux booted over the iBFT from gw2 with portal 1 dead ($(grep -a 'WUPAN-IBFT-TARGETS' "$c" | head -n 1 | tr -d '\r')) in $(cat "$W/linux-first-dead/secs")s"
		fi
	fi
	cleanup
fi

# --- a room on two gateways from a seats file ------------------------------

if want seats; then
	S=$W/seats
	mkdir -p "$S"
	# Each gateway keeps its overlays in DIR/GATEWAY, which must exist.
	mkdir -p "$S/overlays/gw1" "$S/overlays/gw2"
	bios_disk gw1 "$S/golden-gw1.img" && bios_disk gw2 "$S/golden-gw2.img" || { bad "seats: disks"; suite_end; exit; }
	cat >"$S/room.seats" <<EOF
# Four PCs on two gateways, round robin.
control $S/unused.sock
group room $S/golden.img $S/overlays reset 64M
gateway gw1 $HOST:$PORT_GW1 listen=127.0.0.1:$PORT_GW1 control=$S/gw1.sock
gateway gw2 $HOST:$PORT_GW2 listen=127.0.0.1:$PORT_GW2 control=$S/gw2.sock
seat pc01 52:54:00:4d:53:01 room
seat pc02 52:54:00:4d:53:02 room
seat pc03 52:54:00:4d:53:03 room
seat pc04 52:54:00:4d:53:04 room
EOF
	if ! out=$(sh scripts/mkseats.sh "$S/room.seats" "$S/out" 2>&1); then
		bad "seats: mkseats.sh" "$out"
	else
		why=""
		for n in 1 2 3 4; do
			h=$S/out/hosts/52-54-00-4d-53-0$n.ipxe
			first=$PORT_GW1 second=$PORT_GW2
			[ $((n % 2)) -eq 0 ] && first=$PORT_GW2 second=$PORT_GW1
			grep -qx "set iscsi-port $first" "$h" && grep -qx "set iscsi-port-2 $second" "$h" &&
				grep -qx "set iscsi-server-2 $HOST" "$h" ||
				why="$why pc0$n's file does not list its gateways as $first then $second;"
			"$O/bin/wupan-lint" --host "$h" >/dev/null || why="$why wupan-lint refuses $h;"
			cp "$h" "$W/tftp/hosts/"
		done
		grep -q "gateway gw1 is first for 2 of 4 seats" <<<"$out" &&
			grep -q "gateway gw2 is first for 2 of 4 seats" <<<"$out" || why="$why mkseats.sh did not spread 2 and 2: $out;"
		if [ -z "$why" ]; then
			ok "seats: mkseats.sh gives each gateway two first seats and lists the other second"
		else
			bad "seats: mkseats.sh" "$why"
		fi
		# Each gateway's golden image is its own tagged copy, so the marker
		# names the gateway; the rest of its configuration is as generated.
		started=1
		for g in gw1 gw2; do
			sed "s|golden=$S/golden.img|golden=$S/golden-$g.img|" "$S/out/wupan-target-$g.conf" >"$S/$g.conf"
			gw_start "seats-$g" "$S/$g.conf" || started=""
		done
		if [ -z "$started" ]; then
			bad "seats: gateways" "$(tail -n 3 "$W"/seats-gw*.log)"
		else
			for n in 1 2 3 4; do
				while [ "$(jobs -rp | wc -l)" -gt $((JOBS + 1)) ]; do sleep 0.2; done
				guest "seat-pc0$n" bios "52:54:00:4d:53:0$n" "pc0$n" &
			done
			wait_guests
			why="" spread=""
			for n in 1 2 3 4; do
				g=gw1
				[ $((n % 2)) -eq 0 ] && g=gw2
				w=$(booted "seat-pc0$n" bios "$g") || why="$why $w;"
				logged_in "seats-$g" "$BASE_IQN:pc0$n" || why="$why $g logged no login of pc0$n;"
				other=gw2
				[ "$g" = gw2 ] && other=gw1
				! grep -qF "initiator=$BASE_IQN:pc0$n " "$W/seats-$other.log" || why="$why $other saw pc0$n too;"
				spread="$spread pc0$n:$g"
			done
			if [ -z "$why" ]; then
				ok "seats: four guests spread two and two:$spread (each in its gateway's log only)"
			else
				bad "seats: boots" "$why"
			fi
		fi
		cleanup
	fi
fi

# --- a busy target: the firmware asks again --------------------------------

busy_cases=""
for c in busy uefi-busy busy-first-dead busy-give-up install-busy-first-dead; do want "$c" && busy_cases="$busy_cases $c"; done
if [ -n "$busy_cases" ]; then
	B=$W/gwb
	mkdir -p "$B/ov"
	bios_disk gwb "$B/bios.img" && sh tests/qemu/mkdisk.sh uefi gwb "$B/uefi.img" || { bad "busy: disks"; suite_end; exit; }
	# A reset room: each login makes the PC's overlay NAME.ovl, which a
	# directory of that name blocks (wupan-target refuses, 03/02).
	cat >"$B/gwb.conf" <<EOF
listen 127.0.0.1:$PORT_BUSY
target $IQN-busy
  lun golden=$B/bios.img overlays=$B/ov mode=reset
  allow $BASE_IQN:mp-*
target $IQN-busy-uefi
  lun golden=$B/uefi.img overlays=$B/ov mode=reset
  allow $BASE_IQN:mp-*
EOF
	gw_start gwb "$B/gwb.conf" || { bad "busy: gateway" "$(tail -n 3 "$W/gwb.log")"; suite_end; exit; }
	# busy_guest CASE FW MAC TARGET [RETRIES]: blocks CASE's overlay and
	# boots it in the background; without RETRIES the block goes once the
	# firmware said it tries again.
	busy_guest() {
		local c=$1 fw=$2 mac=$3 tgt=$4 retries=${5:-} i gpid
		local f=$W/tftp/hosts/${mac//:/-}.ipxe
		mkdir -p "$B/ov/$BASE_IQN:mp-$c.ovl"
		local -a portals=("$HOST:$PORT_BUSY")
		[ "${c%first-dead}" != "$c" ] && portals=("$HOST:$PORT_DEAD" "$HOST:$PORT_BUSY")
		host_file "$mac" "${portals[@]}" && sed -i "s/^set iscsi-target .*/set iscsi-target $tgt/" "$f"
		if [ "${c#install-}" != "$c" ]; then
			cp "$PAYLOAD/install.pxe" "$W/tftp/"
			printf 'set menu-default install\nset install-url tftp://${next-server}/install.pxe\n' >>"$f"
		fi
		[ -n "$retries" ] && echo "set busy-retries $retries" >>"$f"
		guest "$c" "$fw" "$mac" "mp-$c" &
		gpid=$!
		[ -n "$retries" ] && return
		for i in $(seq 1 $((UEFI_TIMEOUT * 2))); do
			grep -qaF "trying again in 5 s (1 of 24)" "$W/$c/serial.log" 2>/dev/null && break
			kill -0 "$gpid" 2>/dev/null || break
			sleep 0.5
		done
		rmdir "$B/ov/$BASE_IQN:mp-$c.ovl"
	}
	# busy_seen CASE FW: it booted from gwb (install-*: the installer read
	# gwb's disk) after the console said the target is busy, and gwb logged
	# a refusal (03/02) and a good login.
	busy_seen() {
		local c=$1 fw=$2 flat
		flat=$(tr -d '\n' <"$W/$c/console.txt")
		if [ "${c#install-}" != "$c" ]; then installed "$c" "$fw" gwb || return; else booted "$c" "$fw" gwb || return; fi
		grep -qF "wupan: the target is busy: it answered but cannot serve this PC yet" <<<"$flat" &&
			grep -qF "trying again in 5 s (1 of 24)" <<<"$flat" || { echo "$c: no busy line on the console"; return; }
		grep -F "initiator=$BASE_IQN:mp-$c " "$W/gwb.log" | grep -q "status=0x0302" || { echo "$c: gwb logged no refusal"; return; }
		logged_in gwb "$BASE_IQN:mp-$c" || echo "$c: gwb logged no login of mp-$c"
	}
	# Two or three guests at a time (they mostly wait): BIOS, then UEFI.
	want busy && busy_guest busy bios 52:54:00:4d:50:11 "$IQN-busy"
	want busy-give-up && busy_guest busy-give-up bios 52:54:00:4d:50:13 "$IQN-busy" 1
	want install-busy-first-dead && busy_guest install-busy-first-dead bios 52:54:00:4d:50:15 "$IQN-busy"
	wait_guests
	want busy-first-dead && busy_guest busy-first-dead bios 52:54:00:4d:50:14 "$IQN-busy"
	want uefi-busy && busy_guest uefi-busy uefi 52:54:00:4d:50:12 "$IQN-busy-uefi"
	wait_guests
	for c in busy uefi-busy busy-first-dead install-busy-first-dead; do
		want "$c" || continue
		fw=bios what="booted from gwb"
		[ "$c" = uefi-busy ] && fw=uefi
		[ "$c" = install-busy-first-dead ] && what="the install item asked portal 2 alone, and the installer read gwb's disk"
		why=$(busy_seen "$c" "$fw")
		if [ -z "$why" ]; then ok "$c: ${fw^^}: the target refused (busy), the firmware said so and tried again, $what in $(cat "$W/$c/secs")s"; else bad "$c" "$why"; fi
	done
	if want busy-give-up; then
		c=$W/busy-give-up/console.txt
		flat=$(tr -d '\n' <"$c")
		if ! grep -qF "trying again in 5 s (1 of 1)" <<<"$flat"; then
			bad busy-give-up "no retry line (see $c)"
		elif ! grep -qF "wupan: hint: the target answered but could not serve this PC, also after 1 more tries" <<<"$flat"; then
			bad busy-give-up "no busy hint (see $c)"
		elif [ "$(grep -ac '^wupan: sanboot ' "$c")" -ne 2 ]; then
			bad busy-give-up "$(grep -ac '^wupan: sanboot ' "$c") boot attempts, want 2"
		elif grep -qaF "WUPAN-BIOS-BOOT-OK" "$c"; then
			bad busy-give-up "it booted"
		else
			ok "busy-give-up: busy-retries 1: one more try, then the error and the busy hint; the menu waits ($(cat "$W/busy-give-up/secs")s)"
		fi
	fi
	cleanup
fi

if grep -lE "ERROR: (Address|Leak)Sanitizer|runtime error" "$W"/*.log >/dev/null 2>&1; then
	bad sanitizers "$(grep -lE "ERROR: (Address|Leak)Sanitizer|runtime error" "$W"/*.log)"
fi
suite_end
