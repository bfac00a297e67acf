# Sourced by tests/qemu/run.sh: one iSCSI target per matrix run, on loopback.
#   target_start KIND PORT CTL WORK SPEC   start tgtd (KIND=tgtd, control port
#                                          CTL) or wupan-target with every
#                                          target of SPEC, one line each:
#                                          IQN DISK ACL CHAP_USER CHAP_SECRET
#                                          MUTUAL_USER MUTUAL_SECRET ('-': none)
#   target_lun KIND                        the LUN the disk is on
#   target_stop                            stop it, by the PID recorded
# tgtd's LUN 0 is its controller, so there the disk is LUN 1.
# target_addr (default 127.0.0.1) is the address it listens on, and
# target_exec a command prefix to run it with (e.g. ip netns exec NS).

. tests/ports.sh

target_pid=""
target_kind=""
target_ctl=""
target_addr=127.0.0.1
target_exec=()

target_lun() {
	if [ "$1" = tgtd ]; then echo 1; else echo 0; fi
}

# True if something accepts connections on $target_addr:$1.
target_port_open() {
	"${target_exec[@]}" bash -c "exec 3<>/dev/tcp/$target_addr/$1" 2>/dev/null
}

# Waits until something accepts connections on $target_addr:$1.
target_wait_port() {
	local i
	for i in $(seq 1 100); do
		if target_port_open "$1"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

target_start_tgtd() {
	local port=$1 ctl=$2 work=$3 spec=$4 tid=0 t
	local iqn disk acl cu cs mu ms
	# Another tgtd on this machine may hold our control port: take the
	# next free one (tgtd says so and exits at once).
	local try
	for try in 1 2 3 4 5 6 7 8; do
		"${target_exec[@]}" tgtd -f -C "$ctl" --iscsi portal="$target_addr:$port" >"$work/tgtd.log" 2>&1 &
		target_pid=$!
		target_ctl=$ctl
		target_wait_port "$port" && break
		kill -KILL "$target_pid" 2>/dev/null
		wait "$target_pid" 2>/dev/null
		target_pid=""
		grep -q 'another tgtd is using' "$work/tgtd.log" ||
			{ echo "tgtd did not start (see $work/tgtd.log)"; return 1; }
		ctl=$((ctl + 100))
	done
	[ -n "$target_pid" ] || { echo "no free tgtd control port"; return 1; }
	t="tgtadm -C $ctl --lld iscsi"
	while read -r iqn disk acl cu cs mu ms; do
		tid=$((tid + 1))
		$t --mode target --op new --tid "$tid" -T "$iqn" || return 1
		$t --mode logicalunit --op new --tid "$tid" --lun 1 -b "$disk" || return 1
		# An initiator-name ACL only holds when no address ACL is bound.
		$t --mode target --op bind --tid "$tid" --initiator-name "$acl" || return 1
		if [ "$cu" != - ]; then
			$t --mode account --op new --user "$cu" --password "$cs" || return 1
			$t --mode account --op bind --tid "$tid" --user "$cu" || return 1
		fi
		if [ "$mu" != - ]; then
			$t --mode account --op new --user "$mu" --password "$ms" || return 1
			$t --mode account --op bind --tid "$tid" --user "$mu" --outgoing || return 1
		fi
	done <"$spec"
}

target_start_wupan() {
	local port=$1 work=$2 spec=$3 conf=$2/wupan-target.conf
	local iqn disk acl cu cs mu ms
	: >"$conf"
	while read -r iqn disk acl cu cs mu ms; do
		{
			echo "target $iqn"
			echo "lun $disk"
			echo "allow $acl"
			[ "$cu" = - ] || echo "chap $cu:$cs"
			[ "$mu" = - ] || echo "mutual-chap $mu:$ms"
			echo
		} >>"$conf"
	done <"$spec"
	"${target_exec[@]}" "$O/bin/wupan-target" --config "$conf" --listen "$target_addr:$port" \
		>"$work/wupan-target.log" 2>&1 &
	target_pid=$!
	target_wait_port "$port" || { echo "wupan-target did not start (see $work/wupan-target.log)"; return 1; }
}

target_start() {
	target_kind=$1 target_ctl=$3
	if target_port_open "$2"; then
		echo "port $target_addr:$2 is already in use"
		return 1
	fi
	case $1 in
	tgtd) target_start_tgtd "$2" "$3" "$4" "$5" ;;
	wupan) target_start_wupan "$2" "$4" "$5" ;;
	*) echo "unknown target kind $1"; return 1 ;;
	esac
}

target_stop() {
	[ -n "$target_pid" ] || return 0
	if [ "$target_kind" = tgtd ]; then
		# tgtd ignores SIGTERM: take its targets down, then the daemon.
		local tid
		for tid in $(tgtadm -C "$target_ctl" --lld iscsi --mode target --op show 2>/dev/null |
			sed -n 's/^Target \([0-9]*\):.*/\1/p'); do
			tgtadm -C "$target_ctl" --lld iscsi --mode target --op delete --force --tid "$tid" 2>/dev/null
		done
		tgtadm -C "$target_ctl" --mode system --op delete >/dev/null 2>&1
	else
		kill -TERM "$target_pid" 2>/dev/null
	fi
	local i
	for i in $(seq 1 30); do
		kill -0 "$target_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$target_pid" 2>/dev/null
	wait "$target_pid" 2>/dev/null
	target_pid=""
}
