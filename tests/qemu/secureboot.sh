#!/bin/bash
# Proves signed images under UEFI Secure Boot, enforced: OVMF's Secure Boot
# build (SMM, secure flash) with Debian's test variable store, whose db holds
# the "snakeoil" test key.  A scratch build signs with that key through the
# same make rules a site uses (make SIGN_KEY= SIGN_CERT=); the test disks'
# loader (marker.efi) is signed with it too and prints the firmware's
# SecureBoot variable, so no case can pass with Secure Boot off.
#   esp               signed ipxe.efi from an ESP sanboots a signed disk over
#                     iSCSI: "SecureBoot=1", the disk's marker
#   pxe               the same with ipxe.efi by UEFI PXE
#   snponly           signed snponly.efi by UEFI PXE (script: autoexec.ipxe)
#   unsigned-ipxe     the default, unsigned ipxe.efi is refused by the
#                     firmware (no wupan line), which boots the next option:
#                     a signed disk that says SecureBoot=1
#   unsigned-payload  signed ipxe.efi sanboots a disk whose loader is not
#                     signed: refused, and the Secure Boot hint is printed
# Ports 36260-36279, tgtd control port 51.  Needs: make, make test-payloads,
# tgtd, OVMF (ovmf), sbsigntool.  Ends with "N passed, N failed, N skipped".
# Usage: tests/qemu/secureboot.sh [CASE...]   (default: all)
set -u -o pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
O=${O:-build}
mkdir -p "$O"
O=$(cd "$O" && pwd)
export O
W=$O/test/secureboot
PAYLOAD=$O/test/payload
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd
TEST_KEY=/usr/share/ovmf/PkKek-1-snakeoil.key
TEST_CERT=/usr/share/ovmf/PkKek-1-snakeoil.pem
PORT=36260
CTL=51
TIMEOUT=240
HINT_SETTLE=3
IQN=iqn.2026-11.org.wupan.secureboot
BASE_IQN=iqn.2026-01.org.wupan.client
JOBS=${WUPAN_QEMU_JOBS:-2}
# What OVMF prints when it will not start a boot option's program.
REFUSED='failed to load Boot[0-9A-F]* .*: (Access Denied|Security Violation)'
# The scratch build is a make of its own, not a sub-make of `make test`.
unset MAKEFLAGS MFLAGS MAKELEVEL
passed=0 failed=0 skipped=0
ALL="esp pxe snponly unsigned-ipxe unsigned-payload"
CASES=${*:-$ALL}

. tests/qemu/target.sh

KEYDIR=""
cleanup() {
	target_stop
	[ -z "$KEYDIR" ] || rm -rf "$KEYDIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

skip_all() {
	local c
	for c in $CASES; do
		echo "skip $c: $1"
		skipped=$((skipped + 1))
	done
	echo "$passed passed, $failed failed, $skipped skipped"
	exit 0
}
fail_setup() {
	echo "secureboot: $*"
	echo "0 passed, 1 failed"
	exit 1
}

IPXE_BIN=$(ls -d "$O"/ipxe/*/root/usr/lib/ipxe 2>/dev/null | head -n 1)
[ -n "$IPXE_BIN" ] || skip_all "the pinned iPXE is not fetched (make)"
[ -f "$PAYLOAD/marker.efi" ] || skip_all "no $PAYLOAD/marker.efi (make test-payloads)"
for f in "$OVMF_CODE" "$OVMF_VARS" "$TEST_KEY" "$TEST_CERT"; do
	[ -f "$f" ] || skip_all "no $f (Debian package ovmf)"
done
for t in qemu-system-x86_64:qemu-system-x86 tgtd:tgt sbsign:sbsigntool openssl:openssl; do
	command -v "${t%%:*}" >/dev/null || skip_all "no ${t%%:*} (Debian package ${t#*:})"
done

rm -rf "$W"
mkdir -p "$W"
# The test key is encrypted ("snakeoil"); sbsign needs it plain.  It goes to
# a private directory outside the build tree and is removed at exit.
KEYDIR=$(mktemp -d)
openssl pkey -in "$TEST_KEY" -passin pass:snakeoil -out "$KEYDIR/db.key" ||
	fail_setup "cannot decrypt $TEST_KEY"

# A signed build through make, with the pinned iPXE; the default site.
SIGNED=$W/signed
if ! make --no-print-directory O="$SIGNED" IPXE_BIN_DIR="$IPXE_BIN" \
	SIGN_KEY="$KEYDIR/db.key" SIGN_CERT="$TEST_CERT" \
	"$SIGNED/ipxe.efi" "$SIGNED/snponly.efi" "$SIGNED/boot.ipxe" >"$W/make.log" 2>&1; then
	fail_setup "signed build failed: $(tail -n 3 "$W/make.log" | tr '\n' ' ')"
fi
# The same ipxe.efi unsigned, as a plain `make` makes it.
sh scripts/efi-embed.sh "$SIGNED/efi/stub.efi" "$IPXE_BIN/ipxe-amd64.efi" \
	"$SIGNED/boot.ipxe" "$W/unsigned-ipxe.efi" || fail_setup "efi-embed.sh failed"
sh scripts/efi-sign.sh sign "$KEYDIR/db.key" "$TEST_CERT" "$PAYLOAD/marker.efi" \
	"$W/marker-signed.efi" || fail_setup "cannot sign marker.efi"

# --- cases -----------------------------------------------------------------

want() {
	local c
	for c in $CASES; do [ "$c" = "$1" ] && return 0; done
	return 1
}

# prepare NAME IDX DISK-LOADER: the case's directory, disk, TFTP root and
# per-host file, and its line in the target spec.
prepare() {
	local name=$1 idx=$2 loader=$3 dir=$W/$1 mac machyp
	mac=$(printf '52:54:00:5b:00:%02x' "$idx")
	machyp=${mac//:/-}
	mkdir -p "$dir/tftp/hosts" "$dir/esp/EFI/BOOT"
	echo "$mac" >"$dir/mac"
	MKDISK_EFI=$loader sh tests/qemu/mkdisk.sh uefi "$name" "$dir/disk.img" || return 1
	{
		echo "#!ipxe"
		echo "set iscsi-port $PORT"
		echo "set iscsi-lun 1"
		echo "set iscsi-target $IQN:$name"
		echo "set menu-timeout 0"
	} >"$dir/tftp/hosts/$machyp.ipxe"
	echo "$IQN:$name $dir/disk.img $BASE_IQN:$machyp - - - -" >>"$W/targets.spec"
}

# qemu_args NAME MEDIUM: the QEMU command line, one argument a line.
qemu_args() {
	local name=$1 medium=$2 dir=$W/$1 netdev
	cp "$OVMF_VARS" "$dir/vars.fd"
	printf '%s\n' qemu-system-x86_64 -machine q35,smm=on -accel tcg -m 512 \
		-global driver=cfi.pflash01,property=secure,value=on \
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" \
		-drive "if=pflash,format=raw,unit=1,file=$dir/vars.fd" \
		-display none -monitor none -no-reboot -serial "file:$dir/serial.log" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04
	netdev="user,id=n0,tftp=$dir/tftp"
	case $medium in
	esp)
		printf '%s\n' -drive "file=fat:ro:$dir/esp,format=raw,if=none,id=esp0,readonly=on" \
			-device virtio-blk-pci,drive=esp0,bootindex=0 ;;
	esp+next)
		printf '%s\n' -drive "file=fat:ro:$dir/esp,format=raw,if=none,id=esp0,readonly=on" \
			-device virtio-blk-pci,drive=esp0,bootindex=0 \
			-drive "file=$dir/disk.img,format=raw,if=none,id=next0,readonly=on" \
			-device virtio-blk-pci,drive=next0,bootindex=1 ;;
	pxe:*) netdev="$netdev,bootfile=${medium#pxe:}" ;;
	esac
	printf '%s\n' -netdev "$netdev" \
		-device "virtio-net-pci,netdev=n0,romfile=,mac=$(cat "$dir/mac")$([ "${medium%%:*}" = pxe ] && echo ,bootindex=0)"
}

# run NAME MEDIUM EXPECT: boots and writes "RESULT SECONDS DETAIL" to the
# case's result file.  EXPECT: boot (SecureBoot=1, the disk's marker, exit
# 33), refused (the firmware refuses the first option, no wupan line, then
# the signed disk boots) or hint (the Secure Boot hint, no marker).
run() {
	local name=$1 medium=$2 expect=$3 dir=$W/$1 qpid start rc="" result="" detail=""
	local hint_at=0 now secs
	local -a args
	mapfile -t args < <(qemu_args "$name" "$medium")
	printf '%q ' "${args[@]}" >"$dir/qemu.cmd"
	: >"$dir/serial.log"
	start=$(date +%s)
	"${args[@]}" </dev/null >"$dir/qemu.out" 2>&1 &
	qpid=$!
	while kill -0 "$qpid" 2>/dev/null; do
		now=$(date +%s)
		if [ $((now - start)) -ge "$TIMEOUT" ]; then
			result=TIMEOUT
			break
		fi
		# A refused signed image: no need to wait for the timeout.
		[ "$expect" != refused ] && grep -qaE "$REFUSED" "$dir/serial.log" && break
		# Refused twice: the signed next option was refused as well.
		[ "$(grep -caE "$REFUSED" "$dir/serial.log")" -ge 2 ] && break
		if [ "$expect" = hint ] && grep -qa 'wupan: hint: ' "$dir/serial.log"; then
			[ "$hint_at" -eq 0 ] && hint_at=$now
			[ $((now - hint_at)) -ge "$HINT_SETTLE" ] && break
		fi
		sleep 0.5
	done
	if kill -0 "$qpid" 2>/dev/null; then
		kill -TERM "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
	else
		wait "$qpid"
		rc=$?
	fi
	secs=$(($(date +%s) - start))
	tr -d '\r' <"$dir/serial.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' >"$dir/console.txt"
	local c=$dir/console.txt marker="WUPAN-UEFI-BOOT-OK tag=$name"
	if [ "$expect" != refused ] && grep -qaE "$REFUSED" "$c"; then
		result=FAIL detail="the firmware refused the signed image: $(grep -aE "$REFUSED" "$c" | head -n 1)"
	elif [ "$result" = TIMEOUT ]; then
		detail="no decision after ${TIMEOUT}s; last line: $(grep -a . "$c" | tail -n 1 | cut -c1-100)"
	else
		case $expect in
		boot)
			if ! grep -qa '^wupan: sanboot ' "$c"; then
				detail="wupan never reached sanboot"
			elif ! grep -qaF 'wupan-payload: SecureBoot=1 SetupMode=0' "$c"; then
				detail="the disk's loader did not report SecureBoot=1 SetupMode=0: $(grep -a 'wupan-payload:' "$c")"
			elif ! grep -qaF "$marker" "$c"; then
				detail="marker '$marker' not seen"
			elif [ "$rc" != 33 ]; then
				detail="qemu status ${rc:-killed}, want 33"
			fi ;;
		refused)
			if grep -qaE '^wupan: |iPXE initialising' "$c"; then
				detail="the unsigned ipxe.efi ran: $(grep -aE '^wupan: |iPXE' "$c" | head -n 1)"
			elif ! grep -qaE 'failed to load Boot0001 .*: (Access Denied|Security Violation)' "$c"; then
				detail="the firmware did not report refusing the ESP (Boot0001)"
			elif ! grep -qaF 'wupan-payload: SecureBoot=1 SetupMode=0' "$c" ||
				! grep -qaF "$marker" "$c"; then
				detail="the next boot option did not boot with SecureBoot=1"
			elif [ "$rc" != 33 ]; then
				detail="qemu status ${rc:-killed}, want 33"
			fi ;;
		hint)
			if grep -qaF "$marker" "$c" || grep -qa 'wupan-payload:' "$c"; then
				detail="the unsigned loader on the disk ran"
			elif ! grep -qa '^wupan: sanboot ' "$c"; then
				detail="wupan never reached sanboot"
			elif ! grep -qa '^wupan: hint: Secure Boot refused' "$c"; then
				detail="no Secure Boot hint: $(grep -a 'wupan: hint:' "$c" | head -n 1)"
			fi ;;
		esac
		[ -z "$detail" ] || result=FAIL
	fi
	echo "${result:-PASS} $secs $detail" >"$dir/result"
}

: >"$W/targets.spec"
idx=0
specs=()
for c in $ALL; do
	want "$c" || continue
	idx=$((idx + 1))
	loader=$W/marker-signed.efi
	[ "$c" = unsigned-payload ] && loader=$PAYLOAD/marker.efi
	prepare "$c" "$idx" "$loader" >"$W/$c.prep.log" 2>&1 ||
		fail_setup "preparing $c: $(tail -n 1 "$W/$c.prep.log")"
	case $c in
	esp) cp "$SIGNED/ipxe.efi" "$W/$c/esp/EFI/BOOT/BOOTX64.EFI"; specs+=("$c esp boot") ;;
	pxe) cp "$SIGNED/ipxe.efi" "$W/$c/tftp/"; specs+=("$c pxe:ipxe.efi boot") ;;
	snponly)
		cp "$SIGNED/snponly.efi" "$W/$c/tftp/"
		cp "$SIGNED/boot.ipxe" "$W/$c/tftp/autoexec.ipxe"
		specs+=("$c pxe:snponly.efi boot") ;;
	unsigned-ipxe)
		cp "$W/unsigned-ipxe.efi" "$W/$c/esp/EFI/BOOT/BOOTX64.EFI"
		specs+=("$c esp+next refused") ;;
	unsigned-payload)
		cp "$SIGNED/ipxe.efi" "$W/$c/esp/EFI/BOOT/BOOTX64.EFI"
		specs+=("$c esp hint") ;;
	esac
done
[ "${#specs[@]}" -gt 0 ] || fail_setup "no such case: $CASES (cases: $ALL)"

target_start tgtd "$PORT" "$CTL" "$W" "$W/targets.spec" >"$W/target.log" 2>&1 ||
	fail_setup "could not start tgtd: $(tail -n 1 "$W/target.log")"

pids=()
for s in "${specs[@]}"; do
	while :; do
		n=0
		for p in "${pids[@]}"; do
			kill -0 "$p" 2>/dev/null && n=$((n + 1))
		done
		[ "$n" -lt "$JOBS" ] && break
		sleep 0.5
	done
	# shellcheck disable=SC2086 # three words
	run $s &
	pids+=($!)
done
wait "${pids[@]}"
target_stop

for s in "${specs[@]}"; do
	name=${s%% *}
	read -r result secs detail <"$W/$name/result"
	if [ "$result" = PASS ]; then
		echo "ok   $name (${secs}s)"
		passed=$((passed + 1))
		rm -f "$W/$name/disk.img"
	else
		echo "FAIL $name: $result after ${secs}s${detail:+: $detail} (logs: $W/$name/)"
		failed=$((failed + 1))
	fi
done
echo "secureboot: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
