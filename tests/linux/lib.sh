# Sourced by tests/linux/run.sh: targets, network namespaces, QEMU runs and
# the checks of one case.  Every process is started here with its PID
# recorded, and stopped by that PID only.

lx_tftpd_pid=""
lx_dnsmasq_pids=()
lx_netns=()
lx_qemu_pid=""
# Prefix for commands that must run inside the case's network namespace.
NS=()

# The targets themselves are tests/qemu/target.sh's, run inside the case's
# namespace when it has one.
. tests/qemu/target.sh

# lx_target_start KIND ADDR PORT CTL DIR IQN DISK ACL CU CS MU MS
# ('-' for no CHAP user): one target with one disk.
lx_target_start() {
	local kind=$1 port=$3 ctl=$4 dir=$5
	target_addr=$2
	target_exec=("${NS[@]}")
	echo "$6 $7 $8 $9 ${10} ${11} ${12}" >"$dir/targets.spec"
	target_start "$kind" "$port" "$ctl" "$dir" "$dir/targets.spec"
}

lx_target_stop() {
	target_stop
}

# lx_net_up NAME: namespace wupan-linux-NAME with bridge br0 (192.168.1.10/24:
# the wupan server: DHCP or proxy DHCP, TFTP, iSCSI) and tap0 for QEMU.  The
# namespace is private, so the common home-network subnet of the generated
# proxy configuration can be used as it is.
lx_net_up() {
	local ns=wupan-linux-$1
	ip netns del "$ns" 2>/dev/null
	ip netns add "$ns" || return 1
	lx_netns+=("$ns")
	NS=(ip netns exec "$ns")
	"${NS[@]}" ip link set lo up &&
		"${NS[@]}" ip link add br0 type bridge &&
		"${NS[@]}" ip link set br0 type bridge forward_delay 0 stp_state 0 &&
		"${NS[@]}" ip addr add 192.168.1.10/24 dev br0 &&
		"${NS[@]}" ip link set br0 up &&
		"${NS[@]}" ip tuntap add dev tap0 mode tap &&
		"${NS[@]}" ip link set tap0 master br0 &&
		"${NS[@]}" ip link set tap0 up
}

# lx_site_up NAME: a second namespace wupan-linux-NAME-site joined to br0 by a
# veth pair: the site's existing DHCP server lives there, at 192.168.1.1.
lx_site_up() {
	local ns=wupan-linux-$1-site main=wupan-linux-$1
	ip netns del "$ns" 2>/dev/null
	ip netns add "$ns" || return 1
	lx_netns+=("$ns")
	ip netns exec "$main" ip link add vsite type veth peer name eth0 netns "$ns" &&
		ip netns exec "$main" ip link set vsite master br0 &&
		ip netns exec "$main" ip link set vsite up &&
		ip netns exec "$ns" ip link set lo up &&
		ip netns exec "$ns" ip addr add 192.168.1.1/24 dev eth0 &&
		ip netns exec "$ns" ip link set eth0 up
}

lx_net_down() {
	local p ns
	for p in "${lx_dnsmasq_pids[@]}" $lx_tftpd_pid; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	lx_dnsmasq_pids=() lx_tftpd_pid=""
	for ns in "${lx_netns[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	lx_netns=()
}

# The console carries ANSI escapes and CRs; iPXE wraps long lines at 80
# columns on the BIOS console: $1.console is clean text, $1.flat one line.
lx_clean_console() {
	tr -d '\r' <"$1.serial" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' >"$1.console"
	tr -d '\n' <"$1.console" >"$1.flat"
}

# Prints the QEMU command line, one argument a line.
# lx_qemu_args FW DIR RUN MAC HOSTNAME NET(user|tap) SERIAL(file|pipe)
lx_qemu_args() {
	local fw=$1 dir=$2 run=$3 mac=$4 hostname=$5 net=$6 serial=$7
	local nic=e1000 romfile="" boot=""
	echo qemu-system-x86_64
	printf '%s\n' -accel tcg -m 512 -display none -monitor none -no-reboot
	if [ "$serial" = pipe ]; then
		printf '%s\n' -chardev "pipe,id=s0,path=$dir/$run.pipe" -serial chardev:s0
	else
		printf '%s\n' -serial "file:$dir/$run.serial"
	fi
	if [ "$fw" = bios ]; then
		printf '%s\n' -fw_cfg "name=etc/sercon-port,file=$WORK/sercon.bin"
		if [ "$net" = tap ]; then
			# PXE from SeaBIOS: the pinned ipxe-qemu NIC ROM.
			romfile=$IPXE_ROMS/pxe-e1000.rom boot=1
		else
			printf '%s\n' -kernel "$O/ipxe.lkrn" -initrd "$O/boot.ipxe"
		fi
	else
		nic=virtio-net-pci
		[ -f "$dir/vars.fd" ] || cp /usr/share/OVMF/OVMF_VARS_4M.fd "$dir/vars.fd"
		printf '%s\n' -machine q35 \
			-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
			-drive "if=pflash,format=raw,unit=1,file=$dir/vars.fd"
		if [ "$net" = tap ]; then
			# OVMF's own PXE (client-arch 7) fetches what DHCP names.
			boot=1
		else
			mkdir -p "$dir/esp/EFI/BOOT"
			cp "$O/ipxe.efi" "$dir/esp/EFI/BOOT/BOOTX64.EFI"
			printf '%s\n' -drive "file=fat:ro:$dir/esp,format=raw,if=none,id=esp0,readonly=on" \
				-device virtio-blk-pci,drive=esp0,bootindex=0
		fi
	fi
	if [ "$net" = tap ]; then
		printf '%s\n' -netdev tap,id=n0,ifname=tap0,script=no,downscript=no
	else
		local netdev="user,id=n0,tftp=$dir/tftp"
		[ -n "$hostname" ] && netdev="$netdev,hostname=$hostname"
		printf '%s\n' -netdev "$netdev"
	fi
	local dev="$nic,netdev=n0,mac=$mac,romfile=$romfile"
	[ -n "$boot" ] && dev="$dev,bootindex=0"
	printf '%s\n' -device "$dev"
}

# lx_boot RUN TIMEOUT STOP-REGEX ARGS...: runs one guest to its end (or until
# STOP-REGEX has been on the console for HINT_SETTLE s, or the timeout).
# Sets boot_status (QEMU's exit status, "killed" or "timeout") and boot_secs.
lx_boot() {
	local run=$1 limit=$2 stop=$3
	shift 3
	local start now qpid stop_at=0
	printf '%q ' "${@}" >"$dir/$run.cmd"
	: >"$dir/$run.serial"
	start=$(date +%s)
	"${NS[@]}" "$@" </dev/null >"$dir/$run.qemu.out" 2>&1 &
	qpid=$!
	lx_qemu_pid=$qpid
	boot_status=""
	while :; do
		if ! kill -0 "$qpid" 2>/dev/null; then
			wait "$qpid"
			boot_status=$?
			break
		fi
		now=$(date +%s)
		if [ $((now - start)) -ge "$limit" ]; then
			boot_status=timeout
			break
		fi
		if [ -n "$stop" ] && grep -qaE "$stop" "$dir/$run.serial"; then
			[ "$stop_at" -eq 0 ] && stop_at=$now
			if [ $((now - stop_at)) -ge "$HINT_SETTLE" ]; then
				boot_status=killed
				break
			fi
		fi
		sleep 0.5
	done
	if kill -0 "$qpid" 2>/dev/null; then
		kill -TERM "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
	fi
	boot_secs=$(($(date +%s) - start))
	lx_clean_console "$dir/$run"
}

# Stops whatever the case still runs: its guest, target, servers, namespaces.
lx_cleanup() {
	if [ -n "$lx_qemu_pid" ] && kill -0 "$lx_qemu_pid" 2>/dev/null; then
		kill -TERM "$lx_qemu_pid" 2>/dev/null
		wait "$lx_qemu_pid" 2>/dev/null
	fi
	lx_qemu_pid=""
	lx_target_stop
	lx_net_down
}

# --- checks -----------------------------------------------------------------

# Each check prints why it failed and returns 1.
lx_fail() {
	echo "$*"
	return 1
}

# lx_check_firmware RUN: the firmware's banner names the derived initiator
# and the case's root path.
lx_check_firmware() {
	local f=$dir/$1.flat
	local banner="wupan: site wupan initiator $c_iqn root iscsi:$c_srv::$c_port:$c_lun:$c_tiqn"
	grep -qaF "$banner" "$f" || lx_fail "$1: no firmware banner '$banner'"
}

# lx_check_linux RUN COUNT: Linux came up with its root on the iSCSI disk,
# through the iBFT, with this boot's count.
lx_check_linux() {
	local run=$1 count=$2 c=$dir/$1.console
	lx_check_firmware "$run" || return 1
	if grep -qa WUPAN-LINUX-FAIL "$c"; then
		lx_fail "$run: $(grep -a WUPAN-LINUX-FAIL "$c" | head -n 1)"
		return 1
	fi
	grep -qaF "WUPAN-IBFT initiator=$c_iqn target=$c_tiqn" "$c" ||
		lx_fail "$run: iBFT in Linux does not carry initiator $c_iqn and target $c_tiqn:" \
			"$(grep -a 'WUPAN-IBFT ' "$c" | head -n 1)" || return 1
	# The kernel's own word that it found the table: in base memory on
	# BIOS ("iBFT found at"), as an ACPI table under UEFI.
	if [ "$c_fw" = bios ]; then
		grep -qaE 'iBFT found at' "$c" || lx_fail "$run: kernel log has no 'iBFT found at'" || return 1
	else
		grep -qaE 'ACPI: iBFT .* iPXE' "$c" || lx_fail "$run: kernel log has no iPXE 'ACPI: iBFT' table" || return 1
		grep -qaE 'WUPAN-IBFT .* table=acpi' "$c" || lx_fail "$run: no iBFT ACPI table in Linux" || return 1
	fi
	local chap="chap-name=- chap-secret-md5=-"
	local rchap="rev-chap-name=- rev-chap-secret-md5=-"
	if [ "$c_cu" != - ]; then
		chap="chap-name=$c_cu chap-secret-md5=$(printf '%s' "$c_cs" | md5sum | cut -d' ' -f1)"
	fi
	if [ "$c_mu" != - ]; then
		rchap="rev-chap-name=$c_mu rev-chap-secret-md5=$(printf '%s' "$c_ms" | md5sum | cut -d' ' -f1)"
	fi
	grep -qaF "WUPAN-IBFT-CHAP $chap $rchap" "$c" ||
		lx_fail "$run: CHAP in the iBFT is not the case's ($chap $rchap):" \
			"$(grep -a 'WUPAN-IBFT-CHAP' "$c" | head -n 1)" || return 1
	# The image is the firmware's own (bios, uefi), or c_image (room).
	grep -qaE "WUPAN-LINUX-ROOT root=/dev/sd[a-z]+2 via=session[0-9]+ image=${c_image:-$c_fw} count=$count\$" "$c" ||
		lx_fail "$run: no root marker for boot $count from the iSCSI disk:" \
			"$(grep -a 'WUPAN-LINUX-ROOT' "$c" | head -n 1)" || return 1
	grep -qaF "WUPAN-LINUX-DONE count=$count" "$c" || lx_fail "$run: root init did not finish" || return 1
	[ "$boot_status" = 0 ] || lx_fail "$run: QEMU ended with ${boot_status}, want 0 (poweroff)" || return 1
	c_root=$(grep -a 'WUPAN-LINUX-ROOT' "$c" | sed 's/.*root=\([^ ]*\).*/\1/' | head -n 1)
	c_times+=("$run ${boot_secs}s")
}

# lx_check_hint RUN TEXT: the firmware printed the hint once and the menu
# waited (one boot attempt, no Linux).
lx_check_hint() {
	local run=$1 text=$2 c=$dir/$1.console tries
	lx_check_firmware "$run" || return 1
	# The hint's words may follow others: tgtd answers an initiator it does
	# not allow like a missing target ("target missing or initiator not
	# allowed"), wupan-target says which it is ("initiator not allowed").
	grep -qaE "wupan: hint: ([A-Za-z ]* )?$text" "$dir/$run.flat" ||
		lx_fail "$run: hint '$text' not seen" || return 1
	tries=$(grep -ac '^wupan: sanboot ' "$c")
	[ "$tries" -eq 1 ] || lx_fail "$run: $tries boot attempts: the menu did not wait" || return 1
	! grep -qa 'WUPAN-LINUX-' "$c" || lx_fail "$run: Linux started although the login must fail" || return 1
	c_times+=("$run ${boot_secs}s")
}

# lx_disk_file PATH: a file of the root file system in the case's disk.
lx_disk_file() {
	debugfs -R "cat $1" "$c_disk?offset=$((51200 * 512))" 2>/dev/null
}

# --- one case ---------------------------------------------------------------

# Writes the per-host file: the case's target, at once, plus EXTRA lines.
lx_hostfile() {
	{
		echo "#!ipxe"
		echo "set iscsi-port $c_port"
		echo "set iscsi-lun $c_lun"
		echo "set iscsi-target $c_tiqn"
		echo "set menu-timeout 0"
		[ "$c_cu" = - ] || { echo "set username $c_cu"; echo "set password $c_pw"; }
		[ "$c_mu" = - ] || { echo "set reverse-username $c_mu"; echo "set reverse-password $c_ms"; }
		printf '%s\n' "$@"
	} >"$dir/tftp/hosts/$c_machyp.ipxe"
}

# case_main NAME KIND FW PROFILE EXPECT PORT CTL DIR: prints progress, the
# last line is the verdict; returns 0 (pass), 77 (skip) or 1 (fail).
case_main() {
	local name=$1 kind=$2 fw=$3 profile=$4 expect=$5 port=$6 ctl=$7
	dir=$8
	c_fw=$fw c_port=$port c_times=()
	c_lun=$(target_lun "$kind")
	c_mac=$(printf '52:54:00:35:%02x:%02x' $((port / 256 % 256)) $((port % 256)))
	c_machyp=${c_mac//:/-}
	local hostname="" net=user addr=127.0.0.1 limit=$BIOS_TIMEOUT
	[ "$fw" = uefi ] && limit=$UEFI_TIMEOUT
	c_srv=10.0.2.2
	case $profile in
	hostname | net | proxy) hostname=pc-$name ;;
	esac
	case $profile in
	net | proxy) net=tap addr=192.168.1.10 c_srv=192.168.1.10 ;;
	esac
	if [ -n "$hostname" ]; then c_iqn=$BASE_IQN:$hostname; else c_iqn=$BASE_IQN:$c_machyp; fi
	c_tiqn=$TEST_IQN:$name
	c_cu=- c_cs=- c_mu=- c_ms=-
	case $profile in
	chap | wrongchap) c_cu=u-$name c_cs=chap-$port-secret ;;
	mutual) c_cu=u-$name c_cs=chap-$port-secret c_mu=t-$name c_ms=mutual-$port-secret ;;
	esac
	c_pw=$c_cs
	[ "$profile" = wrongchap ] && c_pw=not-the-secret
	local acl=$c_iqn
	[ "$profile" = denied ] && acl=$BASE_IQN:somebody-else

	mkdir -p "$dir/tftp/hosts" "$dir/tftp/linux"
	cp -r "$O/tftp/." "$dir/tftp/"
	c_disk=$dir/disk.img
	if [ "$expect" = install ]; then
		truncate -s 48M "$c_disk"
	else
		cp "$LX/$fw.img" "$c_disk"
	fi
	lx_hostfile
	local serial=file stop=""
	case $expect in
	hint:*) stop="wupan: hint: " ;;
	esac

	if [ "$net" = tap ]; then
		lx_net_up "$name" || { echo "network namespace setup failed"; return 1; }
		lx_dhcp_up "$profile" "$hostname" || return 1
	fi
	if [ "$expect" != recover ]; then
		lx_target_start "$kind" "$addr" "$port" "$ctl" "$dir" "$c_tiqn" "$c_disk" \
			"$acl" "$c_cu" "$c_cs" "$c_mu" "$c_ms" || { echo "target did not start"; return 1; }
	fi
	local -a args
	case $expect in
	persist | boot)
		mapfile -t args < <(lx_qemu_args "$fw" "$dir" boot1 "$c_mac" "$hostname" "$net" file)
		lx_boot boot1 "$limit" "" "${args[@]}"
		lx_check_linux boot1 1 || return 1
		[ "$net" = tap ] && { lx_check_dhcp "$profile" || return 1; }
		if [ "$expect" = persist ]; then
			mapfile -t args < <(lx_qemu_args "$fw" "$dir" boot2 "$c_mac" "$hostname" "$net" file)
			lx_boot boot2 "$limit" "" "${args[@]}"
			lx_check_linux boot2 2 || return 1
			local want="boot 1 of the $fw image, root $c_root via"
			grep -qaF "WUPAN-LINUX-PREV $want" "$dir/boot2.console" ||
				lx_fail "boot2: did not see the first boot's file ('$want ...')" || return 1
			lx_target_stop
			local got
			got=$(lx_disk_file /var/lib/wupan/count)
			[ "$got" = 2 ] || lx_fail "host reads count '$got' from the disk, want 2" || return 1
			got=$(lx_disk_file /var/lib/wupan/boot-2.txt)
			case $got in
			"boot 2 of the $fw image, root /dev/sd"*) ;;
			*) lx_fail "host reads boot-2.txt '$got' from the disk" || return 1 ;;
			esac
		fi
		;;
	hint:*)
		mapfile -t args < <(lx_qemu_args "$fw" "$dir" boot1 "$c_mac" "$hostname" "$net" file)
		lx_boot boot1 "$limit" "$stop" "${args[@]}"
		lx_check_hint boot1 "${expect#hint:}" || return 1
		;;
	recover)
		lx_recover "$kind" "$addr" "$port" "$ctl" "$acl" "$limit" "$hostname" || return 1
		;;
	install)
		lx_install "$hostname" "$limit" || return 1
		;;
	*)
		echo "unknown expectation $expect"
		return 1
		;;
	esac
	echo "${c_times[*]}"
}

# The install item: sanhook the empty disk, boot the installer (kernel and
# initrds over TFTP) that finds the disk through the iBFT and writes the
# image; then sanboot the installed system.
lx_install() {
	local hostname=$1 limit=$2
	local -a args
	cp "$LX/vmlinuz" "$LX/initrd.img" "$LX/install-$c_fw.cpio" "$dir/tftp/linux/"
	cat >"$dir/tftp/linux/install.ipxe" <<EOF2
#!ipxe
# The wupan diskless installer: writes the $c_fw image onto the disk that
# the firmware attached (sanhook) and described in the iBFT.
kernel \${boot-url}/linux/vmlinuz console=ttyS0,115200 panic=-1 wupan.mode=install
initrd \${boot-url}/linux/initrd.img
initrd \${boot-url}/linux/install-$c_fw.cpio
boot
EOF2
	lx_hostfile "set menu-default install" 'set install-url ${boot-url}/linux/install.ipxe'
	mapfile -t args < <(lx_qemu_args "$c_fw" "$dir" install "$c_mac" "$hostname" user file)
	lx_boot install "$limit" "" "${args[@]}"
	local c=$dir/install.console
	lx_check_firmware install || return 1
	grep -qaF "wupan: sanhook iscsi:" "$c" || lx_fail "install: the firmware did not sanhook" || return 1
	grep -qaF "WUPAN-IBFT initiator=$c_iqn target=$c_tiqn" "$c" ||
		lx_fail "install: the installer did not find the disk through the iBFT" || return 1
	grep -qaE "WUPAN-LINUX-INSTALLED disk=/dev/sd[a-z]+ image=$c_fw md5=" "$c" ||
		lx_fail "install: no install marker: $(grep -a 'WUPAN-LINUX-' "$c" | head -n 1)" || return 1
	[ "$boot_status" = 0 ] || lx_fail "install: QEMU ended with $boot_status, want 0" || return 1
	c_times+=("install ${boot_secs}s")
	cmp -s "$c_disk" "$LX/$c_fw.img" || lx_fail "install: the disk on the target differs from $c_fw.img" || return 1
	lx_hostfile "set menu-default sanboot"
	mapfile -t args < <(lx_qemu_args "$c_fw" "$dir" boot1 "$c_mac" "$hostname" user file)
	lx_boot boot1 "$limit" "" "${args[@]}"
	lx_check_linux boot1 1
}

# Target down at power-on: the hint stays until a key, then the menu waits;
# the target comes up, a key and Enter on the menu (its default, sanboot)
# boot Linux.
lx_recover() {
	local kind=$1 addr=$2 port=$3 ctl=$4 acl=$5 limit=$6 hostname=$7
	local -a args
	local run=boot1 start qpid
	mkfifo "$dir/$run.pipe.in" "$dir/$run.pipe.out" || return 1
	mapfile -t args < <(lx_qemu_args "$c_fw" "$dir" "$run" "$c_mac" "$hostname" user pipe)
	printf '%q ' "${args[@]}" >"$dir/$run.cmd"
	start=$(date +%s)
	"${args[@]}" </dev/null >"$dir/$run.qemu.out" 2>&1 &
	qpid=$!
	lx_qemu_pid=$qpid
	cat "$dir/$run.pipe.out" >"$dir/$run.serial" &
	local catpid=$!
	local hint="wupan: hint: no target reachable" phase=down
	boot_status=timeout
	for _ in $(seq 1 $((limit * 2))); do
		if ! kill -0 "$qpid" 2>/dev/null; then
			wait "$qpid"
			boot_status=$?
			break
		fi
		if [ $phase = down ] && grep -qaF "$hint" "$dir/$run.serial"; then
			# The menu must wait: no second attempt while the target is down.
			sleep "$HINT_SETTLE"
			lx_clean_console "$dir/$run"
			cp "$dir/$run.console" "$dir/$run-down.console"
			[ "$(grep -ac '^wupan: sanboot ' "$dir/$run.console")" -eq 1 ] || {
				kill -KILL "$qpid" "$catpid" 2>/dev/null
				lx_fail "down: more than one boot attempt while the target was down"
				return 1
			}
			c_times+=("hint $(($(date +%s) - start))s")
			lx_target_start "$kind" "$addr" "$port" "$ctl" "$dir" "$c_tiqn" "$c_disk" \
				"$acl" "$c_cu" "$c_cs" "$c_mu" "$c_ms" || { kill -KILL "$qpid" "$catpid"; return 1; }
			# A key ends the hint's wait and the menu comes back,
			# waiting; Enter then picks its highlighted item, the
			# default (sanboot).
			local menus
			menus=$(grep -ac 'Boot from the iSCSI disk' "$dir/$run.serial")
			printf ' ' >"$dir/$run.pipe.in"
			for _ in $(seq 1 60); do
				[ "$(grep -ac 'Boot from the iSCSI disk' "$dir/$run.serial")" -gt "$menus" ] && break
				sleep 0.5
			done
			printf '\r' >"$dir/$run.pipe.in"
			phase=up
		fi
		sleep 0.5
	done
	kill -KILL "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	sleep 0.2
	kill "$catpid" 2>/dev/null
	wait "$catpid" 2>/dev/null
	boot_secs=$(($(date +%s) - start))
	lx_clean_console "$dir/$run"
	[ $phase = up ] || lx_fail "down: hint '$hint' not seen (QEMU: $boot_status)" || return 1
	grep -qaF "$hint" "$dir/$run.console" || return 1
	[ "$(grep -ac '^wupan: sanboot ' "$dir/$run.console")" -eq 2 ] ||
		lx_fail "down: Enter on the menu did not start a second sanboot" || return 1
	lx_check_linux "$run" 1
}

# --- the real network (profiles net and proxy) --------------------------------

# lx_dhcp_up PROFILE HOSTNAME: in the case's namespace, the project's TFTP
# root served by wupan-tftpd (dnsmasq's TFTP when it is not built) and
#   net:   dnsmasq as the site's DHCP server, with build/dnsmasq.conf;
#   proxy: the site's own DHCP server (a plain dnsmasq that knows nothing of
#          network boot) in a second namespace, and dnsmasq with
#          build/dnsmasq-proxy.conf next to it, handing out no addresses.
# The hostname comes from whichever server hands out the address.
lx_dhcp_up() {
	local profile=$1 hostname=$2 name=${dir##*/}
	local range="192.168.1.100,192.168.1.150,255.255.255.0,1h"
	local -a tftp=()
	if [ -x "$O/bin/wupan-tftpd" ]; then
		"${NS[@]}" "$O/bin/wupan-tftpd" --root "$dir/tftp" --listen 192.168.1.10:69 -v \
			>"$dir/tftpd.log" 2>&1 &
		lx_tftpd_pid=$!
	else
		echo "wupan-tftpd not built: dnsmasq serves the TFTP root"
		tftp=(--enable-tftp --tftp-root="$dir/tftp")
	fi
	# Common to every dnsmasq here: no DNS, no daemon, our interface only,
	# leases and log in the case directory.
	local -a base=(--no-daemon --port=0 --bind-interfaces --log-dhcp --log-facility=-
		--user=root --group=root --pid-file=)
	if [ "$profile" = net ]; then
		"${NS[@]}" dnsmasq "${base[@]}" --conf-file="$O/dnsmasq.conf" --interface=br0 \
			--dhcp-range="$range" --dhcp-host="$c_mac,$hostname" \
			--dhcp-leasefile="$dir/dnsmasq.leases" "${tftp[@]}" >"$dir/dnsmasq.log" 2>&1 &
		lx_dnsmasq_pids+=($!)
	else
		lx_site_up "${name#*-}" || { echo "site namespace setup failed"; return 1; }
		ip netns exec "wupan-linux-${name#*-}-site" dnsmasq "${base[@]}" --conf-file=/dev/null \
			--interface=eth0 --dhcp-range="$range" --dhcp-host="$c_mac,$hostname" \
			--dhcp-leasefile="$dir/site.leases" >"$dir/site-dnsmasq.log" 2>&1 &
		lx_dnsmasq_pids+=($!)
		"${NS[@]}" dnsmasq "${base[@]}" --conf-file="$O/dnsmasq-proxy.conf" --interface=br0 \
			--dhcp-leasefile="$dir/dnsmasq.leases" "${tftp[@]}" >"$dir/dnsmasq.log" 2>&1 &
		lx_dnsmasq_pids+=($!)
	fi
	sleep 0.5
	local p
	for p in "${lx_dnsmasq_pids[@]}" $lx_tftpd_pid; do
		kill -0 "$p" 2>/dev/null || { echo "a DHCP or TFTP server did not start (see $dir/*.log)"; return 1; }
	done
}

# lx_check_dhcp PROFILE: what the DHCP servers did for the client.
lx_check_dhcp() {
	local profile=$1 log=$dir/dnsmasq.log
	local n
	# One firmware run: nothing was chainloaded twice.
	n=$(grep -ac '^wupan: site ' "$dir/boot1.console")
	[ "$n" -eq 1 ] || lx_fail "net: the boot script ran $n times (a chainload loop?)" || return 1
	if [ "$c_fw" = uefi ]; then
		# OVMF's PXE (client-arch 7, no option 175) must be handed ipxe.efi.
		grep -qaE 'bootfile[- ]name:? +ipxe\.efi$' "$log" ||
			lx_fail "net: ipxe.efi was not offered to UEFI PXE (see $log)" || return 1
	fi
	# Any iPXE (option 175) must be handed the script, never iPXE again.
	grep -qaE 'bootfile[- ]name:? +boot\.ipxe$' "$log" ||
		lx_fail "net: boot.ipxe was not offered to iPXE (see $log)" || return 1
	if [ "$profile" = net ]; then
		grep -qaF "$c_mac" "$dir/dnsmasq.leases" ||
			lx_fail "net: dnsmasq leased no address to $c_mac" || return 1
	else
		grep -qaF "$c_mac" "$dir/site.leases" ||
			lx_fail "proxy: the site's DHCP server leased no address to $c_mac" || return 1
		grep -qaE 'DHCPACK.*'"$c_mac" "$dir/site-dnsmasq.log" ||
			lx_fail "proxy: no DHCPACK from the site's server" || return 1
		! grep -qaE 'DHCP(OFFER|ACK)\(br0\) [0-9]' "$log" ||
			lx_fail "proxy: the proxy handed out an address (see $log)" || return 1
	fi
}

