#!/bin/bash
# Tests of the firmware build itself: the combined boot script, site-file
# selection, reproducible images, a no-op second make, IPXE_BIN_DIR, the
# lock-file checks and the dnsmasq snippets.  Builds into scratch
# directories under $O/buildtest, reusing the already fetched pinned iPXE.
set -u -o pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
O=${O:-build}
mkdir -p "$O"
O=$(cd "$O" && pwd)
W=$O/buildtest
# The scratch builds are makes of their own, not sub-makes of a make test.
unset MAKEFLAGS MFLAGS MAKELEVEL
rm -rf "$W"
mkdir -p "$W"
passed=0 failed=0 skipped=0

ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
check() { # NAME COMMAND...
	local name=$1
	shift
	if "$@" >"$W/last.log" 2>&1; then ok "$name"; else bad "$name" "$(tail -n 3 "$W/last.log" | tr '\n' ' ')"; fi
}

IPXE_ROOT=$(ls -d "$O"/ipxe/*/root 2>/dev/null | head -n 1)
if [ -z "$IPXE_ROOT" ]; then
	echo "the pinned iPXE is not fetched: run make first"
	echo "0 passed, 1 failed"
	exit 1
fi
BIN=$IPXE_ROOT/usr/lib/ipxe
# Scratch builds take iPXE from the fetched package through IPXE_BIN_DIR,
# the same path a user's own iPXE build takes.
M="make --no-print-directory IPXE_BIN_DIR=$BIN SOURCE_DATE_EPOCH=1700000000"

# --- the combined script --------------------------------------------------
script=$W/boot.ipxe
sh scripts/mkscript.sh config/site.ipxe embed "$script"
check "script starts with #!ipxe" test "$(head -n 1 "$script")" = "#!ipxe"
check "script carries the site settings" grep -qx 'set iscsi-target iqn.2026-01.org.wupan:disk' "$script"
check "site settings come after the network is up" \
	test "$(grep -n ':wupan-net-up' "$script" | cut -d: -f1)" -lt "$(grep -n '^set site-name' "$script" | cut -d: -f1)"
check "no comment lines in the script" test "$(grep -c '^[[:space:]]*#' "$script")" -eq 2
for item in sanboot install local shell config reboot poweroff; do
	check "menu item $item has its label" grep -q "^:wupan-item-$item\$" "$script"
	check "menu item $item is listed" grep -q "^item $item " "$script"
done
# Every goto target exists.  A label built from a setting (goto
# wupan-item-${...}, wupan-sanboot-${wupan-paths}) shows here as its prefix
# ending in "-": some label must start with it.
missing=""
for l in $(grep -o 'goto [a-z0-9-]*' "$script" | awk '{ print $2 }' | sort -u); do
	case $l in
	*-) grep -q "^:$l" "$script" || missing="$missing $l" ;;
	*) grep -qx ":$l" "$script" || missing="$missing $l" ;;
	esac
done
check "every goto has a label${missing:+ (missing:$missing)}" test -z "$missing"
check "iPXE script has no quote characters (iPXE would parse them)" \
	test "$(grep -c "['\"]" "$script")" -eq 0

printf '#!ipxe\nset site-name other-site\n' >"$W/other.ipxe"
sh scripts/mkscript.sh "$W/other.ipxe" embed "$W/other-boot.ipxe"
check "SITE file replaces the default" grep -qx 'set site-name other-site' "$W/other-boot.ipxe"
check "default site absent with SITE" test "$(grep -c 'iqn.2026-01.org.wupan:disk' "$W/other-boot.ipxe")" -eq 0
printf '#!ipxe\n#wupan:site\n' >"$W/evil.ipxe"
check "a site file may not carry the insertion marker" bash -c "! sh scripts/mkscript.sh $W/evil.ipxe embed $W/x.ipxe"
check "a missing site file is a clear error" bash -c "sh scripts/mkscript.sh $W/nonexistent embed $W/x.ipxe 2>&1 | grep -q 'not found'"

# --- make: SITE, reproducibility, no-op second run ------------------------
$M O="$W/a" images >"$W/a.log" 2>&1
check "make images into a scratch tree" test -s "$W/a/ipxe.iso"
$M O="$W/b" images >"$W/b.log" 2>&1
for f in boot.ipxe ipxe.efi ipxe.iso ipxe.usb img/esp.img tftp/boot.ipxe tftp/ipxe.efi \
	tftp/pxelinux.cfg/default dnsmasq.conf dnsmasq-proxy.conf arm64/ipxe.efi tftp/arm64/ipxe.efi; do
	check "reproducible: $f" cmp "$W/a/$f" "$W/b/$f"
done
second=$($M O="$W/a" images 2>&1 | grep -v 'Nothing to be done')
check "second make does nothing${second:+ (it printed: $second)}" test -z "$second"
touch config/site.ipxe
check "touching the site file rebuilds the script" bash -c "$M O=$W/a images 2>&1 | grep -q SCRIPT"
$M O="$W/a" SITE="$W/other.ipxe" images >"$W/site.log" 2>&1
check "make SITE=FILE rebuilds with that site" grep -qx 'set site-name other-site' "$W/a/boot.ipxe"
check "make SITE=FILE reaches the ISO" bash -c "xorriso -indev $W/a/ipxe.iso -osirrox on -extract /boot.ipxe $W/iso-boot.ipxe >/dev/null 2>&1 && grep -qx 'set site-name other-site' $W/iso-boot.ipxe"
check "make SITE=FILE reaches the EFI stub" grep -qa 'set site-name other-site' "$W/a/ipxe.efi"
check "make SITE=FILE reaches the USB stick" bash -c "mtype -i $W/a/ipxe.usb@@1M ::/boot.ipxe | grep -q 'other-site'"
check "make SITE=missing says so and fails" bash -c "! $M O=$W/a SITE=$W/nonexistent.ipxe images >$W/nosite.log 2>&1 &&
	grep -q 'SITE=$W/nonexistent.ipxe: no such file' $W/nosite.log"
printf '#!ipxe\nset iscsi-port 4126O\n' >"$W/bad-site.ipxe"
check "a site error stops make, naming the user's file:line" bash -c "! $M O=$W/a SITE=$W/bad-site.ipxe images >$W/badsite.log 2>&1 &&
	grep -q '^$W/bad-site.ipxe:2: error: iscsi-port' $W/badsite.log"
check "ISO holds the EFI System Partition" bash -c "xorriso -indev $W/a/ipxe.iso -report_el_torito plain 2>/dev/null | grep -q 'UEFI'"
check "USB stick holds BOOTX64.EFI" bash -c "mdir -i $W/a/ipxe.usb@@1M ::/EFI/BOOT | grep -q BOOTX64"
check "USB stick holds BOOTAA64.EFI = arm64/ipxe.efi" bash -c "mtype -i $W/a/ipxe.usb@@1M ::/EFI/BOOT/BOOTAA64.EFI | cmp - $W/a/arm64/ipxe.efi"
check "ISO's ESP holds BOOTAA64.EFI = arm64/ipxe.efi" bash -c "mtype -i $W/a/img/esp.img ::/EFI/BOOT/BOOTAA64.EFI | cmp - $W/a/arm64/ipxe.efi"
check "arm64/ipxe.efi is an aarch64 PE image" bash -c "head -c 1024 $W/a/arm64/ipxe.efi | od -An -tx1 -v | tr -d ' \n' | grep -q '5045000064aa'"
check "arm64/ipxe.efi carries the script" grep -qa 'set site-name other-site' "$W/a/arm64/ipxe.efi"
check "USB stick has syslinux" bash -c "mdir -a -i $W/a/ipxe.usb@@1M :: | grep -qi ldlinux"
for f in undionly.kpxe ipxe.efi snponly.efi boot.ipxe lpxelinux.0 ldlinux.c32 pxelinux.cfg/default ipxe.lkrn undionly.0 \
	arm64/ipxe.efi arm64/snponly.efi; do
	check "TFTP root has $f" test -s "$W/a/tftp/$f"
done

# --- Secure Boot signing (mk/sign.mk, scripts/efi-sign.sh) -----------------
if command -v sbsign >/dev/null && command -v sbverify >/dev/null; then
	# Test keys live outside the build tree, like a site's real key.
	K=$(mktemp -d)
	trap 'rm -rf "$K"' EXIT
	newpair() { # NAME [openssl req options]: K/NAME.key, K/NAME.crt
		local n=$1
		shift
		openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -subj "/CN=wupan test $n/" \
			-keyout "$K/$n.key" -out "$K/$n.crt" "$@" 2>/dev/null
	}
	newpair site -days 30
	newpair other -days 30
	openssl req -new -key "$K/site.key" -subj "/CN=wupan expired/" -out "$K/site.csr"
	openssl x509 -req -in "$K/site.csr" -signkey "$K/site.key" -days -1 -out "$K/expired.crt" 2>/dev/null
	openssl pkey -in "$K/site.key" -aes256 -passout pass:secret -out "$K/encrypted.key"
	S="SIGN_KEY=$K/site.key SIGN_CERT=$K/site.crt"
	$M O="$W/s" $S images >"$W/s.log" 2>&1
	check "make SIGN_KEY= SIGN_CERT= builds" test -s "$W/s/ipxe.iso"
	sv() { sbverify --cert "$K/site.crt" "$1" >/dev/null 2>&1; }
	check "signed: ipxe.efi" sv "$W/s/ipxe.efi"
	objcopy -O binary --only-section=.ipxe "$W/s/ipxe.efi" "$W/s-embedded.efi"
	check "signed: the iPXE inside ipxe.efi" sv "$W/s-embedded.efi"
	check "signed: snponly.efi" sv "$W/s/snponly.efi"
	check "signed: tftp/ipxe.efi and tftp/snponly.efi" bash -c \
		"sbverify --cert $K/site.crt $W/s/tftp/ipxe.efi && sbverify --cert $K/site.crt $W/s/tftp/snponly.efi"
	mcopy -n -i "$W/s/ipxe.usb@@1M" ::/EFI/BOOT/BOOTX64.EFI "$W/s-usb.efi"
	check "signed: BOOTX64.EFI on the USB stick" sv "$W/s-usb.efi"
	# The ISO's ESP is its appended partition of the EFI System type.
	esp_start=$(sfdisk -d "$W/s/ipxe.iso" 2>/dev/null |
		sed -n 's/.* start= *\([0-9]*\),.*type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B.*/\1/p')
	mcopy -n -i "$W/s/ipxe.iso@@$((${esp_start:-0} * 512))" ::/EFI/BOOT/BOOTX64.EFI "$W/s-iso.efi" 2>/dev/null
	check "signed: BOOTX64.EFI on the ISO's ESP" sv "$W/s-iso.efi"
	if [ -f "$W/s/arm64/ipxe.efi" ]; then
		check "signed: arm64/ipxe.efi and arm64/snponly.efi" bash -c \
			"sbverify --cert $K/site.crt $W/s/arm64/ipxe.efi && sbverify --cert $K/site.crt $W/s/arm64/snponly.efi"
		aarch64-linux-gnu-objcopy -O binary --only-section=.ipxe "$W/s/arm64/ipxe.efi" "$W/s-aa64-embedded.efi"
		check "signed: the iPXE inside arm64/ipxe.efi" sv "$W/s-aa64-embedded.efi"
		mcopy -n -i "$W/s/ipxe.usb@@1M" ::/EFI/BOOT/BOOTAA64.EFI "$W/s-usb-aa64.efi"
		check "signed: BOOTAA64.EFI on the USB stick" sv "$W/s-usb-aa64.efi"
	fi
	check "signed: another certificate does not verify it" bash -c \
		"! sbverify --cert $K/other.crt $W/s/ipxe.efi >/dev/null 2>&1"
	check "unsigned is the default" bash -c "sbverify --list $W/a/ipxe.efi 2>&1 | grep -q 'No signature table'"
	keyline=$(sed -n 2p "$K/site.key")
	leak=$(grep -rlF -e "$keyline" -e 'PRIVATE KEY' "$W/s" 2>/dev/null | head -n 3)
	check "the key is never copied into the build tree${leak:+ (found in: $leak)}" test -z "$leak"
	if command -v faketime >/dev/null; then
		sleep 1.1
		$M O="$W/s-again" $S images >"$W/s-again.log" 2>&1
		for f in ipxe.efi snponly.efi ipxe.iso ipxe.usb; do
			check "reproducible when signed: $f" cmp "$W/s/$f" "$W/s-again/$f"
		done
	fi
	$M O="$W/s" images >"$W/s2.log" 2>&1
	check "dropping SIGN_KEY rebuilds unsigned" bash -c "sbverify --list $W/s/ipxe.efi 2>&1 | grep -q 'No signature table'"

	# refuse NAME TEXT MAKE-ARGS...: the signing build stops, says TEXT and
	# leaves no ipxe.efi.
	refuse() {
		local name=$1 text=$2 out=$W/refuse
		shift 2
		rm -rf "$out"
		if $M O="$out" "$@" images >"$W/refuse.log" 2>&1; then
			bad "refused: $name" "the build succeeded"
		elif ! grep -qF -- "$text" "$W/refuse.log"; then
			bad "refused: $name" "no '$text' in: $(grep -a 'efi-sign\|error' "$W/refuse.log" | head -n 2 | tr '\n' ' ')"
		elif [ -e "$out/ipxe.efi" ]; then
			bad "refused: $name" "an ipxe.efi was left behind"
		else
			ok "refused: $name ($text)"
		fi
	}
	refuse "key and certificate do not match" "does not match" SIGN_KEY="$K/site.key" SIGN_CERT="$K/other.crt"
	refuse "expired certificate" "expired on" SIGN_KEY="$K/site.key" SIGN_CERT="$K/expired.crt"
	refuse "key with a passphrase" "protected by a passphrase" SIGN_KEY="$K/encrypted.key" SIGN_CERT="$K/site.crt"
	refuse "unreadable key" "not a readable file" SIGN_KEY="$K/nonexistent.key" SIGN_CERT="$K/site.crt"
	refuse "certificate without key" "SIGN_CERT is set but SIGN_KEY is not" SIGN_CERT="$K/site.crt"

	# make secureboot-keys: a key set that signs, enrolment files, no overwrite.
	if command -v cert-to-efi-sig-list >/dev/null; then
		KD=$K/site-keys
		make --no-print-directory SECUREBOOT_DIR="$KD" secureboot-keys >"$W/keys.log" 2>&1
		missing=""
		for f in db.key db.crt db.der db.esl db.auth db-append.auth KEK.key KEK.crt KEK.esl KEK.auth \
			PK.key PK.crt PK.esl PK.auth noPK.auth owner.guid; do
			[ -s "$KD/$f" ] || missing="$missing $f"
		done
		check "secureboot-keys makes every file${missing:+ (missing:$missing)}" test -z "$missing"
		check "secureboot-keys: keys are private (0600, directory 0700)" bash -c \
			"[ \$(stat -c %a $KD) = 700 ] && [ \$(stat -c %a $KD/db.key) = 600 ] && [ \$(stat -c %a $KD/PK.key) = 600 ]"
		check "secureboot-keys: the pair passes the signing checks" sh scripts/efi-sign.sh check "$KD/db.key" "$KD/db.crt"
		check "secureboot-keys: db.der is the certificate in DER" bash -c \
			"cmp <(openssl x509 -inform DER -in $KD/db.der -outform PEM) <(openssl x509 -in $KD/db.crt -outform PEM)"
		check "secureboot-keys: db.esl holds the certificate" bash -c \
			"cd $K && sig-list-to-certs $KD/db.esl esl >/dev/null && cmp esl-0.der $KD/db.der"
		sum=$(sha256sum "$KD/db.key")
		if make --no-print-directory SECUREBOOT_DIR="$KD" secureboot-keys >"$W/keys2.log" 2>&1; then
			bad "secureboot-keys refuses to overwrite" "it succeeded a second time"
		else
			check "secureboot-keys refuses to overwrite, saying so" grep -q 'never overwritten' "$W/keys2.log"
			check "secureboot-keys leaves the old key alone" test "$(sha256sum "$KD/db.key")" = "$sum"
		fi
	fi
	rm -rf "$K"
	trap - EXIT
else
	echo "skip Secure Boot signing: no sbsign (Debian package sbsigntool)"
	skipped=$((skipped + 1))
fi

# --- the suites' ports, kept from the kernel's picks (tests/ports.sh) -----
# A suite run on its own (and run-suites.sh) reserves the range if it is not
# reserved yet, and its guard puts the old list back once it has ended.
# Under `make test` the range is reserved already: it is taken out for the
# case and put back after.
if [ "$(id -u)" = 0 ]; then
	# Its checks (ports_cover, SUITE_PORTS); this suite, run on its own, keeps
	# the range reserved too, as any suite does.
	. tests/ports.sh
	before=$(sysctl -n net.ipv4.ip_local_reserved_ports)
	# The list without the range, as the kernel prints it.
	sysctl -q -w net.ipv4.ip_local_reserved_ports="$(tr , '\n' <<<"$before" | grep -vx "$SUITE_PORTS" | paste -sd,)"
	without=$(sysctl -n net.ipv4.ip_local_reserved_ports)
	printf '#!/bin/bash\ncd %q && . tests/ports.sh\nsysctl -n net.ipv4.ip_local_reserved_ports >%q\n' \
		"$TOP" "$W/ports.seen" >"$W/alone.sh"
	printf '#!/bin/sh\nsysctl -n net.ipv4.ip_local_reserved_ports >%s\necho "1 passed, 0 failed"\n' \
		"$W/suites.seen" >"$W/ports.sh"
	chmod +x "$W/ports.sh"
	# put_back: the list once the guard has put it back (it looks every 0.5 s).
	put_back() {
		for _ in $(seq 20); do
			[ "$(sysctl -n net.ipv4.ip_local_reserved_ports)" = "$without" ] && break
			sleep 0.2
		done
		sysctl -n net.ipv4.ip_local_reserved_ports
	}
	bash "$W/alone.sh"
	after_alone=$(put_back)
	O="$W/ports-run" bash tests/run-suites.sh check "$W/ports.sh" >"$W/ports.log" 2>&1
	after_suites=$(put_back)
	sysctl -q -w net.ipv4.ip_local_reserved_ports="$before"
	if ports_cover "$without"; then
		bad "the suites' ports" "could not take the range out for the case: '$without'"
	elif ! ports_cover "$(cat "$W/ports.seen" 2>/dev/null)" || ! ports_cover "$(cat "$W/suites.seen" 2>/dev/null)"; then
		bad "a suite alone and run-suites.sh keep the suites' ports from the kernel's picks" \
			"reserved while a suite ran alone: '$(cat "$W/ports.seen" 2>/dev/null)', under run-suites.sh: '$(cat "$W/suites.seen" 2>/dev/null)'"
	elif [ "$after_alone" != "$without" ] || [ "$after_suites" != "$without" ]; then
		bad "the reserved ports are put back" "after a suite alone '$after_alone', after run-suites.sh '$after_suites', was '$without'"
	else
		ok "a suite run alone and run-suites.sh keep the suites' ports 33260-48349 from the kernel's picks while they run, and put the old list back"
	fi
else
	echo "skip the suites' reserved ports: not root"
	skipped=$((skipped + 1))
fi

# --- the checked C style (.clang-format, scripts/check-format.sh) ----------
printf 'int f(int a)\n{\n\treturn a;\n}\n' >"$W/good.c"
printf 'int f(int a) {\n  return a;\n}\n' >"$W/bad.c"
check "check-format passes a file in the tree's style" sh scripts/check-format.sh "$W/good.c"
if sh scripts/check-format.sh "$W/good.c" "$W/bad.c" >"$W/fmt.log" 2>&1; then
	bad "check-format refuses a misformatted file" "it passed"
elif grep -q "^FAIL $W/bad.c:1:" "$W/fmt.log" && grep -q '^1 passed, 1 failed$' "$W/fmt.log"; then
	ok "check-format refuses a misformatted file and names it"
else
	bad "check-format refuses a misformatted file and names it" "$(tr '\n' ' ' <"$W/fmt.log")"
fi
cp "$W/bad.c" "$W/fixed.c"
check "check-format --fix rewrites it into the style" sh -c \
	"sh scripts/check-format.sh --fix '$W/fixed.c' && cmp '$W/fixed.c' '$W/good.c'"

# --- the pinned-iPXE lock -------------------------------------------------
check "an unknown IPXE_VERSION is a clear error" bash -c \
	"sh scripts/fetch-ipxe.sh ipxe.lock 0.0-nonexistent $W/f 2>&1 | grep -q 'not in ipxe.lock' && grep -q IPXE_BIN_DIR <(sh scripts/fetch-ipxe.sh ipxe.lock 0.0-nonexistent $W/f 2>&1)"
# A lock whose hash does not match what the mirror serves must be refused.
ver=$(awk '!/^#/ && NF { print $1; exit }' ipxe.lock)
awk -v v="$ver" '$1 == v && $3 == "ipxe" { $4 = "0000000000000000000000000000000000000000000000000000000000000000" } { print }' \
	ipxe.lock >"$W/bad.lock"
mkdir -p "$W/f/debs"
cp "$(dirname "$IPXE_ROOT")"/debs/*.deb "$W/f/debs/"
if sh scripts/fetch-ipxe.sh "$W/bad.lock" "$ver" "$W/f" >"$W/bad.log" 2>&1; then
	bad "a SHA-256 mismatch is refused" "fetch succeeded"
else
	check "a SHA-256 mismatch is refused with a clear message" grep -q 'SHA-256 mismatch' "$W/bad.log"
	check "nothing is unpacked after a mismatch" test ! -e "$W/f/root/usr/lib/ipxe/ipxe.lkrn"
fi

# --- dnsmasq snippets -----------------------------------------------------
if command -v dnsmasq >/dev/null; then
	for f in dnsmasq.conf dnsmasq-proxy.conf; do
		check "dnsmasq accepts $f" dnsmasq --test --conf-file="$W/a/$f"
	done
fi
check "BIOS PXE gets undionly.kpxe" grep -qx 'dhcp-boot=tag:!wupan-ipxe,tag:!wupan-efi64,tag:!wupan-arm64,undionly.kpxe' "$W/a/dnsmasq.conf"
check "UEFI PXE gets ipxe.efi" grep -qx 'dhcp-boot=tag:!wupan-ipxe,tag:wupan-efi64,ipxe.efi' "$W/a/dnsmasq.conf"
check "arm64 UEFI PXE is client-arch 11" grep -qx 'dhcp-match=set:wupan-arm64,option:client-arch,11' "$W/a/dnsmasq.conf"
check "arm64 UEFI PXE gets arm64/ipxe.efi" grep -qx 'dhcp-boot=tag:!wupan-ipxe,tag:wupan-arm64,arm64/ipxe.efi' "$W/a/dnsmasq.conf"
check "proxy: arm64 UEFI PXE gets arm64/ipxe.efi" grep -qx 'pxe-service=tag:!wupan-ipxe,ARM64_EFI,"wupan: network boot",arm64/ipxe.efi' "$W/a/dnsmasq-proxy.conf"
check "iPXE gets boot.ipxe" grep -qx 'dhcp-boot=tag:wupan-ipxe,boot.ipxe' "$W/a/dnsmasq.conf"

# --- the other supported iPXE: 2.0.0 from Debian sid ----------------------
# Fetched through its own lock entry, built, and booted by a few matrix rows
# (BIOS and UEFI, a boot and a failure hint, whose error numbers must match).
v2=$(awk '!/^#/ && NF && $1 != "'"$ver"'" { print $1; exit }' ipxe.lock)
if [ -n "$v2" ]; then
	if make --no-print-directory O="$W/v2" IPXE_VERSION="$v2" SOURCE_DATE_EPOCH=1700000000 \
		images test-payloads >"$W/v2.log" 2>&1; then
		ok "IPXE_VERSION=$v2 builds"
		check "ipxe-info reports $v2" bash -c "make --no-print-directory O=$W/v2 IPXE_VERSION=$v2 ipxe-info | grep -q 'banner: *iPXE $v2'"
		O="$W/v2" WUPAN_QEMU_TARGETS=tgtd \
			WUPAN_QEMU_CASES='^(bios-kernel|bios-wrong-chap|uefi-esp|uefi-wrong-chap)$' \
			bash tests/qemu/run.sh >"$W/v2-qemu.log" 2>&1
		line=$(grep -E '^qemu: [0-9]+ passed' "$W/v2-qemu.log" | tail -n 1)
		p=$(echo "$line" | sed -n 's/^qemu: \([0-9]*\) passed.*/\1/p')
		f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
		if [ "${p:-0}" -eq 4 ] && [ "${f:-1}" -eq 0 ]; then
			ok "iPXE $v2 boots in QEMU (4 matrix rows)"
		else
			bad "iPXE $v2 boots in QEMU" "${line:-no result}; see $O/buildtest-v2-qemu.log"
			cp "$W/v2-qemu.log" "$O/buildtest-v2-qemu.log"
		fi
	else
		bad "IPXE_VERSION=$v2 builds" "$(tail -n 3 "$W/v2.log" | tr '\n' ' ')"
	fi
fi

rm -rf "$W"
echo "build: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
