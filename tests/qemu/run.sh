#!/bin/bash
# The QEMU boot matrix: boots every wupan image in its real medium under
# SeaBIOS and OVMF (TCG) against a real iSCSI target, and reads the serial
# console to prove what happened.  Cases are listed in tests/qemu/cases.
#
# Environment:
#   O                   build directory (default build)
#   WUPAN_QEMU_TARGETS  what to run against: tgtd, wupan (wupan-target) and
#                       tftpd (a network namespace of our own: dnsmasq for
#                       DHCP only, wupan-tftpd serving the files, tgtd, the
#                       guests on taps of a bridge); default: tgtd, plus the
#                       others when they are built
#   WUPAN_QEMU_CASES    extended regex: run only the cases whose name matches
#   WUPAN_QEMU_JOBS     guests at once (default 3: on two cores the matrix
#                       is idle a third of the time with 2, waiting on hints)
#   WUPAN_QEMU_WUPAN_CASES  extended regex: the cases also run against
#                       wupan-target (default: the cases where the target
#                       answers: plain, auth, install and its refusals, BIOS
#                       and UEFI; the media rows and the cases that never
#                       reach a target (no DNS, no per-host file, local,
#                       custom) prove the firmware, which tgtd's run covers)
#   WUPAN_QEMU_TFTPD_CASES  extended regex: the network-boot cases also run
#                       with wupan-tftpd
#
# Each guest gets its own MAC, disk (tagged with the case name), target IQN
# and TFTP directory; its per-host file ($boot-url/hosts/MAC.ipxe) points it at
# its target.  Logs of every case stay in $O/qemu/TARGET/CASE/.
set -u -o pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
O=${O:-build}
mkdir -p "$O"
O=$(cd "$O" && pwd)
export O
JOBS=${WUPAN_QEMU_JOBS:-3}
FILTER=${WUPAN_QEMU_CASES:-}
WUPAN_FILTER=${WUPAN_QEMU_WUPAN_CASES:-'^(bios-(kernel|chap|mutual|hostname|install|wrong-chap|denied|no-lun)|uefi-(esp|usb|iso-usb|install|wrong-chap|denied))$'}
TFTPD_FILTER=${WUPAN_QEMU_TFTPD_CASES:-'^(bios-pxelinux|bios-undionly|uefi-pxe-ipxe|uefi-pxe-snponly|rom-e1000-bios|rom-e1000-uefi)$'}
if [ -n "${WUPAN_QEMU_TARGETS:-}" ]; then
	TARGETS=$WUPAN_QEMU_TARGETS
else
	TARGETS=tgtd
	[ -x "$O/bin/wupan-target" ] && TARGETS="$TARGETS wupan"
	[ -x "$O/bin/wupan-tftpd" ] && TARGETS="$TARGETS tftpd"
fi
IPXE_ROMS=$(ls -d "$O"/ipxe/*/root/usr/share/qemu 2>/dev/null | head -n 1)
PAYLOAD=$O/test/payload
BASE_IQN=iqn.2026-01.org.wupan.client
TEST_IQN=iqn.2026-01.org.wupan.test
BIOS_TIMEOUT=120
UEFI_TIMEOUT=240
# After a hint, how long the screen must stay put before a key is pressed,
# and the menu after it (no second boot attempt).
HINT_SETTLE=5
# A DNS name that never resolves (RFC 2606).
NO_DNS_NAME=nosuch.invalid
# What wupan prints under a hint while it waits for a key.
HINT_PROMPT="wupan: press any key for the menu"
# A line only the drawn menu shows.
MENU_TEXT="Boot from the iSCSI disk"

. tests/qemu/target.sh
. tests/qemu/screen.sh

fail_setup() {
	echo "qemu: $*"
	echo "0 passed, 1 failed"
	exit 1
}

for f in "$O/bin/wupan-lint" "$O/boot.ipxe" "$O/ipxe.lkrn" "$O/ipxe.efi" "$O/ipxe.iso" "$O/ipxe.usb" \
	"$O/tftp/boot.ipxe" "$PAYLOAD/mbr.bin" "$PAYLOAD/marker.efi" \
	"$PAYLOAD/install.pxe" "$PAYLOAD/install.efi"; do
	[ -e "$f" ] || fail_setup "$f missing: run make (and make test-payloads) first"
done
[ -n "$IPXE_ROMS" ] || fail_setup "pinned ipxe-qemu ROMs missing: run make ipxe"
command -v qemu-system-x86_64 >/dev/null || fail_setup "qemu-system-x86_64 missing"
command -v tesseract >/dev/null || fail_setup "tesseract missing (tesseract-ocr): the hint rows read the VGA screen"
command -v python3 >/dev/null || fail_setup "python3 missing: it talks to the QEMU monitor"

# --- one case -------------------------------------------------------------

# Prints the DHCP boot file of a network-boot medium (nothing for others).
case_bootfile() {
	case $1 in
	pxelinux) echo lpxelinux.0 ;;
	undionly) echo chain-undionly.ipxe ;;
	pxe-ipxe) echo ipxe.efi ;;
	pxe-snponly | rom-efi:*) echo snponly.efi ;;
	rom:*) echo boot.ipxe ;;
	esac
}

# Prints the QEMU command line of a case, one argument per line.
qemu_args() {
	local fw=$1 medium=$2 nic=$3 mac=$4 dir=$5 hostname=$6 profile=$7
	local romfile="" bootfile="" netboot=""
	echo qemu-system-x86_64
	printf '%s\n' -accel tcg -m 512 -display none -no-reboot \
		-monitor "unix:$dir/mon.sock,server,nowait" \
		-serial "file:$dir/serial.log" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04
	if [ "$fw" = bios ]; then
		printf '%s\n' -fw_cfg "name=etc/sercon-port,file=$dir/../sercon.bin"
	else
		cp /usr/share/OVMF/OVMF_VARS_4M.fd "$dir/vars.fd"
		printf '%s\n' -machine q35 \
			-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
			-drive "if=pflash,format=raw,unit=1,file=$dir/vars.fd"
	fi
	bootfile=$(case_bootfile "$medium")
	[ -n "$bootfile" ] && netboot=1
	case $medium in
	kernel) printf '%s\n' -kernel "$O/ipxe.lkrn" -initrd "$O/boot.ipxe" ;;
	pxelinux | undionly | pxe-ipxe | pxe-snponly) ;;
	rom:*) romfile=$O/rom/${medium#rom:} ;;
	rom-efi:*) romfile=$O/rom/${medium#rom-efi:} ;;
	iso-cd)
		printf '%s\n' -drive "file=$O/ipxe.iso,media=cdrom,if=none,id=cd0,readonly=on" \
			-device ide-cd,drive=cd0,bootindex=0 ;;
	iso-usb | usb)
		local img=$O/ipxe.usb
		[ "$medium" = iso-usb ] && img=$O/ipxe.iso
		printf '%s\n' -drive "if=none,id=u0,format=raw,file=$img,readonly=on" \
			-device qemu-xhci -device usb-storage,drive=u0,bootindex=0 ;;
	esp)
		printf '%s\n' -drive "file=fat:ro:$dir/esp,format=raw,if=none,id=esp0,readonly=on" \
			-device virtio-blk-pci,drive=esp0,bootindex=0 ;;
	*) echo "unknown medium $medium" >&2; return 1 ;;
	esac
	# PXE from SeaBIOS needs a NIC ROM: the pinned ipxe-qemu one.  Everything
	# else gets an empty ROM, so QEMU never picks up another iPXE; OVMF
	# brings its own virtio-net driver and PXE.
	if [ "$fw" = bios ] && [ -n "$netboot" ] && [ -z "$romfile" ]; then
		romfile=$IPXE_ROMS/pxe-$nic.rom
	fi
	# QEMU's user networking (its own DHCP and TFTP), or a tap in our
	# network namespace, where dnsmasq and wupan-tftpd do that.
	# The local profile boots a local disk once wupan exits to it.
	if [ "$profile" = local ]; then
		printf '%s\n' -drive "file=$dir/disk.img,format=raw,if=none,id=local0" \
			-device virtio-blk-pci,drive=local0,bootindex=5
	fi
	local netdev="user,id=n0,tftp=$dir/tftp"
	[ -n "$bootfile" ] && netdev="$netdev,bootfile=$bootfile"
	[ -n "$hostname" ] && netdev="$netdev,hostname=$hostname"
	[ -n "$ns" ] && netdev="tap,id=n0,ifname=$(case_tap "$dir"),script=no,downscript=no"
	printf '%s\n' -netdev "$netdev"
	local dev="$nic,netdev=n0,mac=$mac,romfile=$romfile"
	[ -n "$netboot" ] && dev="$dev,bootindex=0"
	printf '%s\n' -device "$dev"
}

# Prepares a case's directory: disk, TFTP root, per-host file, target line.
# Sets: c_mac c_iqn_init c_hostname c_target_line c_port
prepare_case() {
	local idx=$1 name=$2 fw=$3 medium=$4 profile=$5 kind=$6 port=$7 dir=$8
	local lun hostfile
	lun=$(target_lun "$kind")
	c_mac=$(printf '52:54:00:77:%02x:%02x' $((idx / 256)) $((idx % 256)))
	local machyp=${c_mac//:/-}
	c_hostname=""
	[ "$profile" = hostname ] && c_hostname=pc-$name
	if [ -n "$c_hostname" ]; then
		c_iqn_init=$BASE_IQN:$c_hostname
	else
		c_iqn_init=$BASE_IQN:$machyp
	fi
	mkdir -p "$dir/tftp"
	cp -r "$O/tftp/." "$dir/tftp/"
	cp "$PAYLOAD/install.pxe" "$PAYLOAD/install.efi" "$dir/tftp/"
	case $medium in
	undionly) cp tests/qemu/chain-undionly.ipxe "$dir/tftp/" ;;
	pxe-snponly | rom-efi:*) cp "$O/boot.ipxe" "$dir/tftp/autoexec.ipxe" ;;
	esp) mkdir -p "$dir/esp/EFI/BOOT" && cp "$O/ipxe.efi" "$dir/esp/EFI/BOOT/BOOTX64.EFI" ;;
	esac
	sh tests/qemu/mkdisk.sh "$fw" "$name" "$dir/disk.img" || return 1

	local iqn=$TEST_IQN:$name acl=$c_iqn_init
	local cu=- cs=- mu=- ms=-
	case $profile in
	chap | wrongchap | mutual | install) cu=u-$name cs=chap-$idx-secret ;;
	esac
	[ "$profile" = install ] && cu=- cs=-
	[ "$profile" = mutual ] && mu=t-$name ms=mutual-$idx-secret
	[ "$profile" = denied ] && acl=$BASE_IQN:somebody-else
	c_target_line="$iqn $dir/disk.img $acl $cu $cs $mu $ms"

	[ "$profile" = defaults ] && return 0
	hostfile=$dir/tftp/hosts/$machyp.ipxe
	{
		echo "#!ipxe"
		echo "set iscsi-port $port"
		echo "set iscsi-lun $lun"
		echo "set iscsi-target $iqn"
		echo "set menu-timeout 0"
		case $profile in
		chap) echo "set username $cu" && echo "set password $cs" ;;
		wrongchap) echo "set username $cu" && echo "set password not-the-secret" ;;
		mutual)
			echo "set username $cu" && echo "set password $cs"
			echo "set reverse-username $mu" && echo "set reverse-password $ms" ;;
		nolun) echo "set iscsi-lun 5" ;;
		nodns) echo "set iscsi-server $NO_DNS_NAME" ;;
		local) echo "set menu-default local" ;;
		custom)
			echo "set item-1-label mytool"
			echo "set item-1-text My own tool"
			echo "set item-1-url tftp://\${next-server}/custom.ipxe"
			echo "set menu-default mytool"
			# The serial console may lose the last characters before
			# poweroff: a spare line and a second to drain.
			printf '#!ipxe\necho WUPAN-CUSTOM-OK tag=%s\necho\nsleep 1\npoweroff\n' "$name" >"$dir/tftp/custom.ipxe" ;;
		install)
			echo "set menu-default install"
			if [ "$fw" = bios ]; then
				echo "set install-url tftp://\${next-server}/install.pxe"
			else
				echo "set install-url tftp://\${next-server}/install.efi"
			fi ;;
		esac
	} >"$hostfile"
	# Every per-host file the matrix boots passes the checker first.
	"$O/bin/wupan-lint" --host "$hostfile"
}

# Runs one prepared case; writes "RESULT SECONDS DETAIL" to $dir/result.
run_case() {
	local name=$1 fw=$2 medium=$3 nic=$4 profile=$5 expect=$6 dir=$7
	local start now limit qpid status="" result="" detail="" hint_at=0
	local marker fwup=${fw^^}
	case $expect in
	boot) marker="WUPAN-$fwup-BOOT-OK tag=$name" ;;
	install) marker="WUPAN-$fwup-INSTALL-OK tag=$name" ;;
	custom) marker="WUPAN-CUSTOM-OK tag=$name" ;;
	hint:*) marker="wupan: hint: .*${expect#hint:}" ;;
	esac
	limit=$BIOS_TIMEOUT
	[ "$fw" = uefi ] && limit=$UEFI_TIMEOUT
	local -a args
	mapfile -t args < <(qemu_args "$fw" "$medium" "$nic" "$c_mac" "$dir" "$c_hostname" "$profile")
	printf '%q ' "${args[@]}" >"$dir/qemu.cmd"
	: >"$dir/serial.log"
	start=$(date +%s)
	trap 'kill -TERM $qpid 2>/dev/null; exit 1' TERM
	"${ns_exec[@]}" "${args[@]}" </dev/null >"$dir/qemu.out" 2>&1 &
	qpid=$!
	while :; do
		if ! kill -0 "$qpid" 2>/dev/null; then
			wait "$qpid"
			status=$?
			break
		fi
		now=$(date +%s)
		if [ $((now - start)) -ge "$limit" ]; then
			result=TIMEOUT
			break
		fi
		if [ "${expect%%:*}" = hint ] && grep -qaE "$marker" "$dir/serial.log" &&
			grep -qaF "$HINT_PROMPT" "$dir/serial.log"; then
			hint_at=$now
			break
		fi
		sleep 0.5
	done
	# A hint: it must stay on the screen (read back from VGA) until a key
	# is pressed; then the menu comes and waits.
	local menus_hint=0 menus_key=0 menus_after=0 screen=""
	if [ "$hint_at" -gt 0 ]; then
		menus_hint=$(grep -acF "$MENU_TEXT" "$dir/serial.log")
		sleep "$HINT_SETTLE"
		menus_key=$(grep -acF "$MENU_TEXT" "$dir/serial.log")
		screen_ocr "$dir/mon.sock" "$dir/screen-hint" || screen="no screendump"
		screen_monitor "$dir/mon.sock" "sendkey ret"
		for _ in $(seq 1 40); do
			menus_after=$(grep -acF "$MENU_TEXT" "$dir/serial.log")
			[ "$menus_after" -gt "$menus_key" ] && break
			sleep 0.5
		done
		sleep "$HINT_SETTLE"
	fi
	if kill -0 "$qpid" 2>/dev/null; then
		kill -TERM "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
	fi
	local secs=$(($(date +%s) - start))
	# The console carries ANSI escapes and CRs; compare on clean text.
	tr -d '\r' <"$dir/serial.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' >"$dir/console.txt"
	# iPXE wraps long lines at 80 columns on the BIOS console.
	tr -d '\n' <"$dir/console.txt" >"$dir/console.flat"
	local srv=$server
	[ "$profile" = nodns ] && srv=$NO_DNS_NAME
	local header="wupan: site wupan initiator $c_iqn_init root iscsi:$srv::"
	if [ -z "$result" ]; then
		if ! grep -qaF "$header" "$dir/console.flat"; then
			result=FAIL detail="no banner line '$header...'"
		elif ! grep -qaE "$marker" "$dir/console.txt"; then
			result=FAIL detail="marker '$marker' not seen (qemu status ${status:-killed})"
		else
			case $expect in
			boot)
				[ "$status" = 33 ] || { result=FAIL; detail="marker seen but qemu status ${status:-killed}, want 33"; } ;;
			install)
				[ "$status" = 35 ] || { result=FAIL; detail="marker seen but qemu status ${status:-killed}, want 35"; } ;;
			custom)
				[ "$status" = 0 ] || { result=FAIL; detail="marker seen but qemu status ${status:-killed}, want 0 (poweroff)"; } ;;
			hint:*)
				local tries want=${expect#hint:}
				tries=$(grep -ac '^wupan: sanboot ' "$dir/console.txt")
				if [ "$tries" -ne 1 ]; then
					result=FAIL detail="$tries boot attempts: the menu did not wait"
				elif [ "$menus_key" -ne "$menus_hint" ]; then
					result=FAIL detail="the menu replaced the hint before a key was pressed"
				elif [ -n "$screen" ]; then
					result=FAIL detail=$screen
				elif ! screen_shows "$dir/screen-hint.txt" "$want" ||
					! screen_shows "$dir/screen-hint.txt" "$HINT_PROMPT"; then
					result=FAIL detail="VGA screen (screen-hint.txt) lacks '$want' or the key prompt"
				elif screen_shows "$dir/screen-hint.txt" "$MENU_TEXT"; then
					result=FAIL detail="VGA screen (screen-hint.txt) shows the menu, not the hint"
				elif [ "$menus_after" -le "$menus_key" ]; then
					result=FAIL detail="no menu after a key was pressed"
				fi ;;
			esac
			if [ -z "$result" ] && [ "$profile" = local ]; then
				grep -qaF "wupan: exiting to the next boot device" "$dir/console.txt" &&
					! grep -qa '^wupan: sanboot' "$dir/console.txt" ||
					{ result=FAIL; detail="the local item did not exit to the local disk"; }
			fi
			if [ -z "$result" ] && [ "$profile" = defaults ]; then
				grep -qaF "wupan: no per-host settings" "$dir/console.txt" ||
					{ result=FAIL; detail="no note about the missing per-host file"; }
			elif [ -z "$result" ]; then
				grep -qaF "wupan: per-host settings applied" "$dir/console.txt" ||
					{ result=FAIL; detail="per-host file not applied"; }
			fi
		fi
	else
		detail="no decision after ${limit}s; last line: $(grep -a . "$dir/console.txt" | tail -n 1 | cut -c1-100)"
	fi
	[ -n "$result" ] || result=PASS
	echo "$result $secs $detail" >"$dir/result"
}

# --- a network of our own: dnsmasq, wupan-tftpd, the target --------------

NS_ADDR=192.168.77.1
ns="" ns_exec=() ns_pids=()

# The tap of a case in the namespace, from its directory's index file.
case_tap() {
	echo "wq$(cat "$1/idx")"
}

# Creates the namespace with a bridge, a tap per case, dnsmasq as the DHCP
# server only (a boot file per MAC, next-server = us) and wupan-tftpd serving
# one TFTP root for all: the built root, the fixtures and every case's
# per-host file.  snponly.efi needs autoexec.ipxe; ipxe.efi then runs that
# same script.  Sets ns_why on failure.
netns_start() {
	local work=$1 root=$1/tftp-root c name fw medium nic profile expect idx i
	local -a dhcp=()
	ns_why=""
	ns=wupan-qemu-$$
	ip netns add "$ns" || { ns_why="cannot create network namespace $ns"; ns=""; return 1; }
	ns_exec=(ip netns exec "$ns")
	ip -n "$ns" link set lo up &&
		ip -n "$ns" link add br0 type bridge &&
		ip -n "$ns" addr add "$NS_ADDR/24" dev br0 &&
		ip -n "$ns" link set br0 up || { ns_why="cannot set up the bridge"; return 1; }
	mkdir -p "$root"
	cp -r "$O/tftp/." "$root/"
	cp tests/qemu/chain-undionly.ipxe "$PAYLOAD/install.pxe" "$PAYLOAD/install.efi" "$root/"
	cp "$O/boot.ipxe" "$root/autoexec.ipxe"
	for c in "${cases[@]}"; do
		IFS='|' read -r name fw medium nic profile expect <<<"$c"
		[ -e "$work/$name/idx" ] || continue
		idx=$(cat "$work/$name/idx")
		cp "$work/$name"/tftp/hosts/*.ipxe "$root/hosts/" 2>/dev/null
		ip -n "$ns" tuntap add dev "wq$idx" mode tap &&
			ip -n "$ns" link set "wq$idx" master br0 up || { ns_why="cannot add tap wq$idx"; return 1; }
		dhcp+=("--dhcp-host=$(sed -n 1p "$work/$name/case.env"),set:c$idx")
		dhcp+=("--dhcp-boot=tag:c$idx,$(case_bootfile "$medium")")
	done
	"${ns_exec[@]}" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
		--interface=br0 --bind-interfaces --user=root --group=root \
		--dhcp-range=192.168.77.100,192.168.77.199,255.255.255.0,1h \
		--dhcp-leasefile="$work/dnsmasq.leases" --pid-file="$work/dnsmasq.pid" \
		--log-dhcp --log-facility="$work/dnsmasq.log" "${dhcp[@]}" &
	ns_pids+=($!)
	"${ns_exec[@]}" "$O/bin/wupan-tftpd" --root "$root" --listen "$NS_ADDR:69" -v \
		>"$work/wupan-tftpd.log" 2>&1 &
	ns_pids+=($!)
	sleep 1
	for i in "${ns_pids[@]}"; do
		kill -0 "$i" 2>/dev/null || { ns_why="dnsmasq or wupan-tftpd did not start (see $work/)"; return 1; }
	done
	target_exec=("${ns_exec[@]}")
	target_addr=$NS_ADDR
	server=$NS_ADDR
}

netns_stop() {
	local p
	for p in "${ns_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	ns_pids=()
	[ -n "$ns" ] && ip netns delete "$ns"
	ns="" ns_exec=() target_exec=() target_addr=127.0.0.1 server=10.0.2.2
}

# --- the matrix -----------------------------------------------------------

cases=()
while read -r name fw medium nic profile expect; do
	case $name in '' | '#'*) continue ;; esac
	[ -n "$FILTER" ] && ! [[ $name =~ $FILTER ]] && continue
	cases+=("$name|$fw|$medium|$nic|$profile|$expect")
done <tests/qemu/cases
# Rows for the NIC ROMs, when the ROM build is there.
if [ -f tests/qemu/rom-cases ] && [ -d "$O/rom" ]; then
	while read -r name fw medium nic profile expect; do
		case $name in '' | '#'*) continue ;; esac
		[ -n "$FILTER" ] && ! [[ $name =~ $FILTER ]] && continue
		cases+=("$name|$fw|$medium|$nic|$profile|$expect")
	done <tests/qemu/rom-cases
fi

passed=0 failed=0 skipped=0
summary=()
port=33260 ctl=1
server=10.0.2.2
# How many of the case runners in pids are still going.
running_cases() {
	local p n=0
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null && n=$((n + 1))
	done
	echo "$n"
}

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	target_stop
	netns_stop
}
pids=()
trap 'cleanup; exit 1' INT TERM
for kind in $TARGETS; do
	for b in wupan:wupan-target tftpd:wupan-tftpd; do
		if [ "$kind" = "${b%%:*}" ] && [ ! -x "$O/bin/${b#*:}" ]; then
			echo "qemu: skipping the $kind rows: $O/bin/${b#*:} not built"
			skipped=$((skipped + 1))
			continue 2
		fi
	done
	all_cases=("${cases[@]}")
	tkind=tgtd filter=""
	case $kind in
	wupan) tkind=wupan filter=$WUPAN_FILTER ;;
	tftpd) filter=$TFTPD_FILTER ;;
	esac
	if [ -n "$filter" ]; then
		cases=()
		for c in "${all_cases[@]}"; do
			[[ ${c%%|*} =~ $filter ]] && cases+=("$c")
		done
	fi
	work=$O/qemu/$kind
	rm -rf "$work"
	mkdir -p "$work"
	printf '\370\003' >"$work/sercon.bin"
	: >"$work/targets.spec"
	echo "== QEMU matrix against $kind (${#cases[@]} cases, $JOBS at a time)"
	idx=0
	for c in "${cases[@]}"; do
		IFS='|' read -r name fw medium nic profile expect <<<"$c"
		idx=$((idx + 1))
		if ! prepare_case "$idx" "$name" "$fw" "$medium" "$profile" "$tkind" "$port" "$work/$name" \
			>"$work/$name.prep.log" 2>&1; then
			echo "FAIL 0 preparation failed: $(tail -n 1 "$work/$name.prep.log")" >"$work/$name/result"
			continue
		fi
		echo "$c_target_line" >>"$work/targets.spec"
		# Remember per-case values the run needs.
		printf '%s\n' "$c_mac" "$c_iqn_init" "$c_hostname" >"$work/$name/case.env"
		echo "$idx" >"$work/$name/idx"
	done
	if [ "$kind" = tftpd ] && ! netns_start "$work"; then
		netns_stop
		fail_setup "network namespace for the tftpd rows: $ns_why"
	fi
	if ! target_start "$tkind" "$port" "$ctl" "$work" "$work/targets.spec"; then
		target_stop
		netns_stop
		fail_setup "could not start the $tkind target"
	fi
	# Guests run $JOBS at a time; wait only for them, never for the target.
	pids=()
	for c in "${cases[@]}"; do
		IFS='|' read -r name fw medium nic profile expect <<<"$c"
		[ -e "$work/$name/result" ] && continue
		{ read -r c_mac; read -r c_iqn_init; read -r c_hostname; } <"$work/$name/case.env"
		while [ "$(running_cases)" -ge "$JOBS" ]; do
			sleep 0.2
		done
		run_case "$name" "$fw" "$medium" "$nic" "$profile" "$expect" "$work/$name" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	target_stop
	netns_stop
	for c in "${cases[@]}"; do
		IFS='|' read -r name fw medium nic profile expect <<<"$c"
		read -r result secs detail <"$work/$name/result"
		printf '%-6s %-5s %-20s %4ss  %s\n' "$result" "$kind" "$name" "$secs" "$detail"
		summary+=("$(printf '%-6s %-5s %-20s %-5s %-12s %-10s %4ss' "$result" "$kind" "$name" "$fw" "$medium" "$profile" "$secs")")
		if [ "$result" = PASS ]; then
			passed=$((passed + 1))
			rm -f "$work/$name/disk.img"
		else
			failed=$((failed + 1))
			echo "       logs: $work/$name/ (console.txt, qemu.cmd)"
		fi
	done
	cases=("${all_cases[@]}")
	port=$((port + 1)) ctl=$((ctl + 1))
done

echo
echo "QEMU boot matrix"
printf '%-6s %-5s %-20s %-5s %-12s %-10s %5s\n' result target case fw medium profile time
printf '%s\n' "${summary[@]}"
echo "qemu: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
