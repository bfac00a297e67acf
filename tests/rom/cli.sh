#!/bin/bash
# wupan-rom on the real pinned ipxe-qemu ROMs and on the ROMs `make` wrote to
# $O/rom: info (text and JSON), verify, set-id, extract, combine and fit,
# each result verified again, plus refusals of broken input.  Needs `make`
# to have run (make test does that first).
set -u -o pipefail
O=${O:-build}
tool=$O/bin/wupan-rom
out=$O/rom
pass=0 fail=0
work=$(mktemp -d "${TMPDIR:-/tmp}/wupan-rom-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
# check NAME CMD...: passes if CMD exits 0.
check() {
	local name=$1
	shift
	if "$@" >"$work/last.out" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/     /' "$work/last.out" | head -n 5; fi
}
# refuse NAME STATUS PATTERN CMD...: passes if CMD exits STATUS and its
# output matches PATTERN.
refuse() {
	local name=$1 want=$2 pat=$3 rc
	shift 3
	"$@" >"$work/last.out" 2>&1
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -q -- "$pat" "$work/last.out"; then
		ok "$name"
	else
		bad "$name (exit $rc, want $want and /$pat/)"
		sed 's/^/     /' "$work/last.out" | head -n 5
	fi
}

if [ ! -x "$tool" ] || [ ! -f "$out/8086100e.rom" ]; then
	echo "FAIL $tool or $out missing: run make first"
	echo "0 passed, 1 failed"
	exit 1
fi
# The pinned ROMs the outputs were built from.
pinned=${IPXE_ROMS:-}
if [ -z "$pinned" ]; then
	for d in "$O"/ipxe/*/root/usr/share/qemu; do
		cmp -s "$d/pxe-e1000.rom" "$out/8086100e.rom" && pinned=$d && break
	done
fi
if [ -z "$pinned" ]; then
	echo "FAIL no pinned ipxe-qemu ROMs under $O/ipxe match $out"
	echo "0 passed, 1 failed"
	exit 1
fi
nics="e1000 e1000e eepro100 ne2k_pci pcnet rtl8139 virtio vmxnet3"

# info and verify on every pinned ROM and every produced ROM.
check "verify: all pinned ROMs" "$tool" verify "$pinned"/pxe-*.rom "$pinned"/efi-*.rom
check "verify: all produced ROMs" "$tool" verify "$out"/*.rom "$out"/*.efirom
check "info: text on all pinned ROMs" "$tool" info "$pinned"/pxe-*.rom "$pinned"/efi-*.rom
check "info: every pinned legacy image is iPXE, version compressed" \
	test "$("$tool" info "$pinned"/pxe-*.rom | grep -c 'iPXE: yes, version unknown (compressed)')" -eq 8
check "info: --json parses" jq -e 'length == 16' \
	<("$tool" info --json "$pinned"/pxe-*.rom "$pinned"/efi-*.rom)
check "info: --json e1000 legacy fields" jq -e '.[0] | .valid and (.images | length) == 1 and
	.images[0].type == "legacy" and .images[0].vendor == "8086" and .images[0].device == "100e" and
	.images[0].device_list == ["100e"] and .images[0].class == "020000" and .images[0].last and
	.images[0].checksum == "ok" and .images[0].pnp.checksum == "ok" and .images[0].pnp.product == "iPXE" and
	.images[0].ipxe == true and .images[0].ipxe_version == "unknown (compressed)"' \
	<("$tool" info --json "$pinned/pxe-e1000.rom")
check "info: --json virtio combined fields" jq -e '.[0] | .valid and .size == 262144 and
	.padding == 262144 - .used and (.images | map(.type)) == ["legacy", "efi"] and
	(.images | map(.last)) == [false, true] and .images[1].efi.machine_name == "x64" and
	.images[1].efi.compressed and .images[1].efi.subsystem == 11 and
	.images[1].ipxe_version == "unknown (compressed)" and .images[1].vendor == "1af4"' \
	<("$tool" info --json "$pinned/efi-virtio.rom")
check "info: --json of the produced re-id'd ROMs" jq -e '
	(.[0].images | map(.vendor + ":" + .device)) == ["8086:100f", "8086:100f"] and
	(.[1].images | map(.vendor + ":" + .device)) == ["1af4:1000"] and
	(.[2].images | map(.vendor + ":" + .device)) == ["10ec:8029"] and all(.[]; .valid)' \
	<("$tool" info --json "$out/8086100f.combined.rom" "$out/1af41000.rom" "$out/10ec8029.efirom")

# The produced ROMs against the pinned ones they come from.
check "roms: legacy e1000 is the pinned pxe ROM" cmp "$pinned/pxe-e1000.rom" "$out/8086100e.rom"
for n in e1000:8086100e rtl8139:10ec8139 virtio:1af41041; do
	s=${n%%:*} id=${n#*:}
	len=$(stat -c %s "$out/$id.combined.rom")
	check "roms: $id.combined.rom is the pinned efi-$s.rom without padding" \
		cmp "$out/$id.combined.rom" <(head -c "$len" "$pinned/efi-$s.rom")
done

# set-id, extract, combine: every output verifies, and is the same twice.
for s in $nics; do
	"$tool" set-id 8086:10d3 "$pinned/pxe-$s.rom" -o "$work/$s.id.rom" &&
		"$tool" set-id 8086:10d3 "$pinned/pxe-$s.rom" -o "$work/$s.id2.rom"
	check "set-id: $s re-id'd verifies" "$tool" verify "$work/$s.id.rom"
	check "set-id: $s reproducible" cmp "$work/$s.id.rom" "$work/$s.id2.rom"
	check "set-id: $s ids rewritten" jq -e '.[0].images[0] | .vendor == "8086" and .device == "10d3"' \
		<("$tool" info --json "$work/$s.id.rom")
	"$tool" extract efi "$pinned/efi-$s.rom" -o "$work/$s.efirom"
	check "extract: $s EFI image alone verifies" jq -e '.[0] | .valid and (.images | length) == 1 and .images[0].last' \
		<("$tool" info --json "$work/$s.efirom")
	"$tool" extract legacy "$pinned/efi-$s.rom" -o "$work/$s.legacy.rom"
	check "extract: $s legacy image of efi ROM is the pxe ROM" cmp "$work/$s.legacy.rom" "$pinned/pxe-$s.rom"
	"$tool" combine "$pinned/pxe-$s.rom" "$work/$s.efirom" -o "$work/$s.both.rom"
	check "combine: $s verifies" "$tool" verify "$work/$s.both.rom"
	check "combine: $s equals the pinned efi ROM's images" \
		cmp "$work/$s.both.rom" <(head -c "$(stat -c %s "$work/$s.both.rom")" "$pinned/efi-$s.rom")
done
"$tool" combine "$pinned/pxe-virtio.rom" "$work/virtio.efirom" -o "$work/c1" &&
	"$tool" set-id 1af4:1000 "$work/c1" -o "$work/c2"
check "combine + set-id reproduces make's 1af41000.combined.rom" cmp "$work/c2" "$out/1af41000.combined.rom"

# fit: under pads with 0xFF to the chip size, over refuses with the excess.
check "fit: e1000 legacy fits 128K" "$tool" fit --size 128K "$pinned/pxe-e1000.rom" -o "$work/fit.bin"
check "fit: output is 131072 bytes" test "$(stat -c %s "$work/fit.bin")" -eq 131072
check "fit: padded ROM verifies" "$tool" verify "$work/fit.bin"
check "fit: padding is 0xFF" cmp <(tail -c 22016 "$work/fit.bin") <(head -c 22016 /dev/zero | tr '\0' '\377')
refuse "fit: e1000 legacy over 64K by 43520 bytes" 1 "43520 bytes over" \
	"$tool" fit --size 64K "$pinned/pxe-e1000.rom" -o "$work/no.bin"
check "fit: nothing written when over" test ! -e "$work/no.bin"
refuse "fit: combined e1000 over 128K" 1 "does not fit 128K" "$tool" fit --size 128K "$out/8086100e.combined.rom"
check "fit: combined e1000 fits 256K" "$tool" fit --size 256K "$out/8086100e.combined.rom"
check "fit: efi-e1000.rom (256K with padding) fits 256K" "$tool" fit --size 262144 "$pinned/efi-e1000.rom"
refuse "fit: bad size" 2 "not a multiple of 512" "$tool" fit --size 100K1 "$pinned/pxe-e1000.rom"

# Broken input: one line per problem, exit 1, nothing written.
head -c 50000 "$pinned/pxe-e1000.rom" >"$work/trunc.rom"
refuse "verify: truncated ROM" 1 "runs past the end of the file" "$tool" verify "$work/trunc.rom"
cp "$pinned/pxe-e1000.rom" "$work/flip.rom"
printf '\x01' | dd of="$work/flip.rom" bs=1 seek=4096 conv=notrunc status=none
refuse "verify: flipped byte breaks the checksum" 1 "checksum is wrong" "$tool" verify "$work/flip.rom"
check "verify: one line per problem" test "$("$tool" verify "$work/flip.rom" | wc -l)" -eq 1
cp "$pinned/efi-e1000.rom" "$work/nolast.rom"
printf '\x00' | dd of="$work/nolast.rom" bs=1 seek=$((0x1aa00 + 0x1c + 0x15)) conv=notrunc status=none
refuse "verify: last-image flag cleared" 1 "not 0xFF or 0x00 padding\|no image is marked last\|bad ROM signature" \
	"$tool" verify "$work/nolast.rom"
refuse "set-id: refuses a broken ROM" 1 "not a valid ROM" "$tool" set-id 8086:10d3 "$work/flip.rom" -o "$work/x"
check "set-id: nothing written" test ! -e "$work/x"
refuse "set-id: bad id" 2 "VENDOR:DEVICE" "$tool" set-id 8086-10d3 "$pinned/pxe-e1000.rom" -o "$work/x"
refuse "combine: swapped arguments" 1 "not legacy x86" "$tool" combine "$work/e1000.efirom" "$pinned/pxe-e1000.rom" -o "$work/x"
refuse "combine: different ids" 1 "different PCI ids" "$tool" combine "$pinned/pxe-e1000.rom" "$work/virtio.efirom" -o "$work/x"
refuse "combine: broken input" 1 "not a valid ROM" "$tool" combine "$work/trunc.rom" "$work/e1000.efirom" -o "$work/x"
refuse "extract: no EFI image in a pxe ROM" 1 "holds no efi image" "$tool" extract efi "$pinned/pxe-e1000.rom" -o "$work/x"
refuse "info: missing file" 1 "No such file" "$tool" info "$work/missing.rom"
refuse "unknown command" 2 "unknown command" "$tool" frobnicate
refuse "verify: not a ROM at all" 1 "bad ROM signature" "$tool" verify "$0"
check "table: one row per ROM" test "$("$tool" table "$out"/*.rom | wc -l)" -eq "$(( $(ls "$out"/*.rom | wc -l) + 1 ))"
check "make: second run of roms does nothing" make -s -q O="$O" roms

echo "rom: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
