# shellcheck shell=bash
# Gateways and payload guests for the several-gateway suites (sourced by
# tests/qemu/multipath.sh and tests/ceph/spread.sh, after tests/suite.sh):
# wupan-target gateways started from a configuration and stopped by their
# recorded PIDs, and QEMU guests that boot a test disk (tests/qemu/mkdisk.sh)
# through wupan's firmware with $W/tftp as their TFTP root.  The caller sets
# O, W (with $W/sercon.bin and $W/tftp), BIOS_TIMEOUT and UEFI_TIMEOUT.

gw_pids=()
cleanup() {
	local p
	for p in "${gw_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	gw_pids=()
}

# gw_start NAME CONF: a gateway from a configuration (its log $W/NAME.log,
# its PID in $W/NAME.pid); waits for its port.
gw_start() {
	local name=$1 conf=$2 port i
	port=$(sed -n 's/^listen .*:\([0-9]*\)$/\1/p' "$conf")
	"$O/bin/wupan-target" --config "$conf" >"$W/$name.log" 2>&1 &
	gw_pids+=($!)
	echo $! >"$W/$name.pid"
	for i in $(seq 1 50); do
		bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "gateway $name did not start: $(tail -n 2 "$W/$name.log")"
	return 1
}

# wait_guests: waits for the background jobs that are not gateways.
wait_guests() {
	local p
	for p in $(jobs -rp); do
		case " ${gw_pids[*]} " in *" $p "*) continue ;; esac
		wait "$p"
	done
}

# gw_forget PID: a gateway that has ended leaves the cleanup's list.
gw_forget() {
	local p
	local -a left=()
	for p in "${gw_pids[@]}"; do
		[ "$p" = "$1" ] || left+=("$p")
	done
	gw_pids=("${left[@]}")
}

# guest NAME FW MAC [HOSTNAME]: boots one guest to its end (its own exit, or
# the timeout); its console in $W/NAME/console.txt, QEMU's status in
# $W/NAME/status.  A hint (wupan: hint:) under the key prompt ends it too.
guest() {
	local name=$1 fw=$2 mac=$3 hostname=${4:-} dir=$W/$1 limit=$BIOS_TIMEOUT start qpid
	local -a args
	mkdir -p "$dir"
	args=(qemu-system-x86_64 -accel tcg -m 512 -display none -no-reboot -monitor none
		-serial "file:$dir/serial.log" -device isa-debug-exit,iobase=0xf4,iosize=0x04)
	local netdev="user,id=n0,tftp=$W/tftp" nic=e1000
	[ -n "$hostname" ] && netdev="$netdev,hostname=$hostname"
	if [ "$fw" = bios ]; then
		args+=(-fw_cfg "name=etc/sercon-port,file=$W/sercon.bin" -kernel "$O/ipxe.lkrn" -initrd "$O/boot.ipxe")
	else
		limit=$UEFI_TIMEOUT nic=virtio-net-pci
		mkdir -p "$dir/esp/EFI/BOOT"
		cp "$O/ipxe.efi" "$dir/esp/EFI/BOOT/BOOTX64.EFI"
		cp /usr/share/OVMF/OVMF_VARS_4M.fd "$dir/vars.fd"
		args+=(-machine q35
			-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd
			-drive "if=pflash,format=raw,unit=1,file=$dir/vars.fd"
			-drive "file=fat:ro:$dir/esp,format=raw,if=none,id=esp0,readonly=on"
			-device virtio-blk-pci,drive=esp0,bootindex=0)
	fi
	args+=(-netdev "$netdev" -device "$nic,netdev=n0,mac=$mac,romfile=")
	printf '%q ' "${args[@]}" >"$dir/qemu.cmd"
	: >"$dir/serial.log"
	start=$(date +%s)
	"${args[@]}" </dev/null >"$dir/qemu.out" 2>&1 &
	qpid=$!
	while kill -0 "$qpid" 2>/dev/null; do
		if [ $(($(date +%s) - start)) -ge "$limit" ] ||
			grep -qaF "wupan: press any key for the menu" "$dir/serial.log"; then
			sleep 1
			kill -TERM "$qpid" 2>/dev/null
			break
		fi
		sleep 0.5
	done
	wait "$qpid"
	echo $? >"$dir/status"
	echo "$(($(date +%s) - start))" >"$dir/secs"
	tr -d '\r' <"$dir/serial.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' >"$dir/console.txt"
}

# booted NAME FW GATEWAY: the guest printed its marker with GATEWAY's tag and
# ended with the payload's status (33).
booted() { payload_ran "$1" "$2" "$3" BOOT 33; }
# installed NAME FW GATEWAY: the same for the install payload (sanhook, then
# the installer read the hooked disk): its marker, status 35.
installed() { payload_ran "$1" "$2" "$3" INSTALL 35; }
payload_ran() {
	local c=$W/$1/console.txt mark=WUPAN-${2^^}-$4-OK
	if ! grep -qaF "$mark tag=$3" "$c"; then
		echo "$1: no '$mark tag=$3': $(grep -aE "$4-OK|^wupan: (hint|boot failed)" "$c" | head -n 2 | tr '\n' ' ')(see $c)"
		return 1
	fi
	[ "$(cat "$W/$1/status")" = "$5" ] || { echo "$1: QEMU status $(cat "$W/$1/status"), want $5"; return 1; }
}

# logged_in GATEWAY INITIATOR: the gateway logged that initiator's login.
logged_in() {
	grep -qF "login initiator=$2 addr=" "$W/$1.log" &&
		grep -F "login initiator=$2 addr=" "$W/$1.log" | grep -q "result=ok"
}

