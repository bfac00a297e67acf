# The guests of a room (sourced by tests/fleet/guests.sh and
# tests/ceph/guests.sh, after tests/linux/lib.sh): boot one diskless Linux
# guest from an overlay LUN and check what it counted.  The caller sets
# O, WORK (with sercon.bin), PORT, BASE_IQN, ROOM_IQN, BIOS_TIMEOUT,
# UEFI_TIMEOUT and ok/bad; GUEST_MAC (default 52:54:00:39:27) is the first
# five bytes of guest N's MAC address; GUEST_HOST_LINES (an array, may be
# empty) are further lines of the guest's per-host file.

# guest N FW TARGET RUN: boots guest N (its own MAC, so its own initiator
# name) once and checks that Linux came up from the room's disk; leaves
# the boot count in $WORK/gN/RUN.count.
guest() {
	local n=$1 fw=$2 tgt=$3 run=$4 limit=$BIOS_TIMEOUT
	local -a args
	[ "$fw" = uefi ] && limit=$UEFI_TIMEOUT
	dir=$WORK/g$n
	c_fw=$fw c_image=room c_port=$PORT c_lun=0 c_times=()
	c_mac=$(printf '%s:%02x' "${GUEST_MAC:-52:54:00:39:27}" "$n")
	c_machyp=${c_mac//:/-}
	c_srv=10.0.2.2
	c_iqn=$BASE_IQN:$c_machyp
	c_tiqn=$ROOM_IQN:$tgt
	c_cu=- c_cs=- c_mu=- c_ms=- c_pw=-
	mkdir -p "$dir/tftp/hosts"
	[ -f "$dir/tftp/boot.ipxe" ] || cp -r "$O/tftp/." "$dir/tftp/"
	lx_hostfile "${GUEST_HOST_LINES[@]}"
	mapfile -t args < <(lx_qemu_args "$fw" "$dir" "$run" "$c_mac" "" user file)
	lx_boot "$run" "$limit" "" "${args[@]}"
	sed -n 's/.*WUPAN-LINUX-ROOT .* count=\([0-9]*\).*/\1/p' "$dir/$run.console" |
		head -n 1 >"$dir/$run.count"
	sed -n 's/.*WUPAN-LINUX-PREV \(.*\)/\1/p' "$dir/$run.console" |
		head -n 1 >"$dir/$run.prev"
	# The count is checked by the caller: pass it here as it was seen.
	lx_check_linux "$run" "$(cat "$dir/$run.count")" >"$dir/$run.check" 2>&1
}

# check N RUN COUNT PREV-REGEX WHAT
check() {
	local d=$WORK/g$1 got
	got=$(cat "$d/$2.count" 2>/dev/null)
	if [ -s "$d/$2.check" ]; then
		bad "$5" "$(head -n 2 "$d/$2.check") (logs: $d)"
	elif [ "$got" != "$3" ]; then
		bad "$5" "guest $1 counted boot '$got', want $3 (logs: $d)"
	elif ! grep -qE "$4" "$d/$2.prev"; then
		bad "$5" "guest $1 saw previous boot '$(cat "$d/$2.prev")'"
	else
		ok "$5"
	fi
}
