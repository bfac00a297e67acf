#!/bin/bash
# scripts/mkseats.sh with gateways (README "Several gateways"): the seat
# assignment (round robin of the first gateway and of the second, via=), the
# per-host files and per-gateway configurations it writes (groups on files
# and on Ceph RBD), and its refusals.
# No daemons, no QEMU: a second or so.  Ends with "N passed, N failed".
. "$(dirname "$0")/../suite.sh" fleet-seats

# order SEATS SEAT: the gateways a seat's per-host file names, in order, as
# "ADDR:PORT ADDR:PORT ..." (from iscsi-server[-N] and iscsi-port[-N]).
order() {
	local mac f
	mac=$(awk -v s="$2" '$1 == "seat" && $2 == s { print $3 }' "$W/$1" | tr 'A-F:' 'a-f-')
	f=$W/out-$1/hosts/$mac.ipxe
	awk '
	$1 == "set" && $2 ~ /^iscsi-server(-[0-9])?$/ { n = $2; sub(/iscsi-server-?/, "", n); s[n + 0] = $3 }
	$1 == "set" && $2 ~ /^iscsi-port(-[0-9])?$/ { n = $2; sub(/iscsi-port-?/, "", n); p[n + 0] = $3 }
	END {
		o = s[0] ":" p[0]
		for (i = 2; (i in s); i++)
			o = o " " s[i] ":" p[i]
		print o
	}' "$f"
}

# gen NAME: runs mkseats.sh on $W/NAME into $W/out-NAME.
gen() {
	sh scripts/mkseats.sh "$W/$1" "$W/out-$1" >"$W/$1.out" 2>&1
}

# expect_order SEATS SEAT WANT
expect_order() {
	local got
	got=$(order "$1" "$2")
	if [ "$got" = "$3" ]; then
		ok "$1: $2 has gateways $3"
	else
		bad "$1: $2 has gateways '$got', want '$3'"
	fi
}

# Two gateways, four seats: 2 and 2, each the other's second.
cat >"$W/two" <<EOF
group room /srv/room.img /srv/ov reset
gateway a 10.0.0.1
gateway b 10.0.0.2:3261 listen=10.0.0.2:3261 control=/run/b.sock
seat pc1 52:54:00:00:00:01 room
seat pc2 52:54:00:00:00:02 room
seat pc3 52:54:00:00:00:03 room update
seat pc4 52:54:00:00:00:04 room
EOF
expect "two: mkseats.sh accepts it" gen two
expect_order two pc1 "10.0.0.1:3260 10.0.0.2:3261"
expect_order two pc2 "10.0.0.2:3261 10.0.0.1:3260"
expect_order two pc3 "10.0.0.1:3260 10.0.0.2:3261"
expect_order two pc4 "10.0.0.2:3261 10.0.0.1:3260"
expect "two: gateway a's configuration listens on 0.0.0.0:3260, overlays in DIR/a, every seat allowed" \
	bash -c "grep -qx 'listen 0.0.0.0:3260' '$W/out-two/wupan-target-a.conf' &&
		grep -qx 'control /run/wupan-target.sock' '$W/out-two/wupan-target-a.conf' &&
		grep -q 'overlays=/srv/ov/a mode=reset update=iqn.2026-01.org.wupan.client:pc3\$' '$W/out-two/wupan-target-a.conf' &&
		[ \$(grep -c '^  allow ' '$W/out-two/wupan-target-a.conf') = 4 ] &&
		grep -qx '# gateway a, first gateway of: pc1 pc3' '$W/out-two/wupan-target-a.conf'"
expect "two: gateway b's configuration has its listen= and control=" \
	bash -c "grep -qx 'listen 10.0.0.2:3261' '$W/out-two/wupan-target-b.conf' &&
		grep -qx 'control /run/b.sock' '$W/out-two/wupan-target-b.conf' &&
		[ ! -e '$W/out-two/wupan-target.conf' ]"
expect "two: every per-host file passes wupan-lint --host" \
	bash -c "[ ! -x '$O/bin/wupan-lint' ] || '$O/bin/wupan-lint' --host '$W'/out-two/hosts/*.ipxe"

# Three gateways, six seats: each first twice, and a gateway's two seats
# fail over to the two other gateways, one each.
{
	echo "group room /srv/room.img /srv/ov"
	echo "gateway a 10.0.0.1"
	echo "gateway b 10.0.0.2"
	echo "gateway c 10.0.0.3"
	for i in 1 2 3 4 5 6; do echo "seat pc$i 52:54:00:00:01:0$i room"; done
	echo "seat pin 52:54:00:00:01:99 room via=c,a"
} >"$W/three"
expect "three: mkseats.sh accepts it" gen three
expect_order three pc1 "10.0.0.1:3260 10.0.0.2:3260 10.0.0.3:3260"
expect_order three pc2 "10.0.0.2:3260 10.0.0.3:3260 10.0.0.1:3260"
expect_order three pc3 "10.0.0.3:3260 10.0.0.1:3260 10.0.0.2:3260"
expect_order three pc4 "10.0.0.1:3260 10.0.0.3:3260 10.0.0.2:3260"
expect_order three pc5 "10.0.0.2:3260 10.0.0.1:3260 10.0.0.3:3260"
expect_order three pc6 "10.0.0.3:3260 10.0.0.2:3260 10.0.0.1:3260"
expect_order three pin "10.0.0.3:3260 10.0.0.1:3260"
expect "three: a seat with via=c,a is not allowed on gateway b" \
	bash -c "! grep -q ':pin\$' '$W/out-three/wupan-target-b.conf' &&
		grep -q ':pin\$' '$W/out-three/wupan-target-c.conf'"
expect "three: the summary counts first seats (a 2, b 2, c 3)" \
	bash -c "grep -q 'gateway a is first for 2 of 7' '$W/three.out' &&
		grep -q 'gateway b is first for 2 of 7' '$W/three.out' &&
		grep -q 'gateway c is first for 3 of 7' '$W/three.out'"

# Five gateways: a per-host file names at most four (the firmware's paths).
{
	echo "group room /srv/room.img /srv/ov"
	for g in 1 2 3 4 5; do echo "gateway g$g 10.0.0.$g"; done
	echo "seat pc1 52:54:00:00:02:01 room"
} >"$W/five"
expect "five: mkseats.sh accepts it" gen five
expect_order five pc1 "10.0.0.1:3260 10.0.0.2:3260 10.0.0.3:3260 10.0.0.4:3260"

# Without gateways the output is what it always was: no iscsi-server lines.
printf 'group room /srv/room.img /srv/ov\nseat pc1 52:54:00:00:03:01 room\n' >"$W/one"
expect "one: mkseats.sh accepts it" gen one
expect "one: no gateway lines, one wupan-target.conf, no iscsi-server" \
	bash -c "[ -e '$W/out-one/wupan-target.conf' ] &&
		! grep -q iscsi-server '$W'/out-one/hosts/*.ipxe &&
		grep -qx 'set iscsi-port 3260' '$W'/out-one/hosts/*.ipxe"

# Groups on Ceph RBD: every gateway serves the same clones (no DIR/NAME),
# and the ceph- lines reach every configuration; a file group beside them
# keeps its per-gateway directories.
cat >"$W/rbd" <<EOF
ceph-conf /etc/ceph/ceph.conf
ceph-id wupan
ceph-keyring /etc/ceph/ceph.client.wupan.keyring
ceph-timeout 20
group room rbd:boot/room@v1 rbd:boot/r persistent
group tools /srv/tools.img /srv/ov
gateway a 10.0.0.1
gateway b 10.0.0.2
seat pc1 52:54:00:00:05:01 room
seat pc2 52:54:00:00:05:02 room
seat pc3 52:54:00:00:05:03 room update
seat pc4 52:54:00:00:05:04 room
seat t1 52:54:00:00:05:05 tools via=b
EOF
expect "rbd: mkseats.sh accepts it" gen rbd
expect_order rbd pc1 "10.0.0.1:3260 10.0.0.2:3260"
expect_order rbd pc2 "10.0.0.2:3260 10.0.0.1:3260"
rbd_lun='  lun golden=rbd:boot/room@v1 overlays=rbd:boot/r mode=persistent update=iqn.2026-01.org.wupan.client:pc3'
expect "rbd: both gateways serve the same clones (one LUN line, no DIR/NAME), all four seats allowed on each" \
	bash -c "for g in a b; do
			grep -qxF '$rbd_lun' '$W/out-rbd/wupan-target-'\$g.conf || exit 1
			[ \$(grep -c '^  allow .*:pc[1-4]\$' '$W/out-rbd/wupan-target-'\$g.conf) = 4 ] || exit 1
		done"
expect "rbd: the ceph- lines are global directives of every gateway's configuration" \
	bash -c "for g in a b; do
			sed -n '/^target /q;p' '$W/out-rbd/wupan-target-'\$g.conf >'$W/rbd-head-'\$g
			grep -qx 'ceph-conf /etc/ceph/ceph.conf' '$W/rbd-head-'\$g &&
				grep -qx 'ceph-id wupan' '$W/rbd-head-'\$g &&
				grep -qx 'ceph-keyring /etc/ceph/ceph.client.wupan.keyring' '$W/rbd-head-'\$g &&
				grep -qx 'ceph-timeout 20' '$W/rbd-head-'\$g || exit 1
		done"
expect "rbd: the file group beside it keeps DIR/NAME, on the gateway its seat names only" \
	bash -c "grep -qx '  lun golden=/srv/tools.img overlays=/srv/ov/b mode=reset' '$W/out-rbd/wupan-target-b.conf' &&
		! grep -q ':t1\$' '$W/out-rbd/wupan-target-a.conf'"
printf 'ceph-conf /c\ngroup room rbd:p/img rbd:p\nseat pc1 52:54:00:00:05:11 room\n' >"$W/rbd-one"
expect "rbd-one: without gateways, one wupan-target.conf with ceph-conf and the RBD LUN" \
	bash -c "sh scripts/mkseats.sh '$W/rbd-one' '$W/out-rbd-one' >/dev/null &&
		grep -qx 'ceph-conf /c' '$W/out-rbd-one/wupan-target.conf' &&
		grep -qx '  lun golden=rbd:p/img overlays=rbd:p mode=reset spares=1' '$W/out-rbd-one/wupan-target.conf'"
# Reset mode on RBD: each gateway keeps a spare clone for each seat it is
# first for (round robin: a for pc1 pc3 pc5, b for pc2 pc4); persistent
# mode (above) none.
{
	printf 'group room rbd:p/img rbd:p/r\ngateway a 10.0.0.1\ngateway b 10.0.0.2\n'
	for i in 1 2 3 4 5; do printf 'seat pc%s 52:54:00:00:06:0%s room\n' $i $i; done
} >"$W/rbd-spares"
expect "rbd-spares: reset mode, spares=3 on gateway a and spares=2 on b (the seats each is first for)" \
	bash -c "sh scripts/mkseats.sh '$W/rbd-spares' '$W/out-rbd-spares' >/dev/null &&
		grep -qx '  lun golden=rbd:p/img overlays=rbd:p/r mode=reset spares=3' '$W/out-rbd-spares/wupan-target-a.conf' &&
		grep -qx '  lun golden=rbd:p/img overlays=rbd:p/r mode=reset spares=2' '$W/out-rbd-spares/wupan-target-b.conf'"

# Refusals name the file, the line and the problem.
refuse() {
	local name=$1 want=$2
	shift 2
	printf '%s\n' "$@" >"$W/$name"
	if gen "$name"; then
		bad "$name: accepted"
	elif grep -qF "$want" "$W/$name.out"; then
		ok "$name: refused ($want)"
	else
		bad "$name: $(cat "$W/$name.out")"
	fi
}
G="group room /srv/room.img /srv/ov"
refuse bad-via "bad-via:4: unknown gateway 'z' in via=a,z" "$G" "gateway a 10.0.0.1" "gateway b 10.0.0.2" \
	"seat pc1 52:54:00:00:04:01 room via=a,z"
refuse twice-via "a gateway named twice in via=a,a" "$G" "gateway a 10.0.0.1" "seat pc1 52:54:00:00:04:01 room via=a,a"
refuse no-gw "no-gw:2: unknown gateway 'a' in via=a" "$G" "seat pc1 52:54:00:00:04:01 room via=a"
refuse dup-gw "gateway a defined twice" "$G" "gateway a 10.0.0.1" "gateway a 10.0.0.2"
refuse same-portal "gateway 10.0.0.1:3260 named twice" "$G" "gateway a 10.0.0.1" "gateway b 10.0.0.1:3260"
refuse bad-port "bad gateway port in '10.0.0.1:99999'" "$G" "gateway a 10.0.0.1:99999"
refuse listen "listen:1: with gateways, each gateway line says where it listens" \
	"listen 0.0.0.0:3260" "$G" "gateway a 10.0.0.1" "seat pc1 52:54:00:00:04:01 room"
refuse bad-word "after the group a seat takes only 'update' and via=" "$G" "gateway a 10.0.0.1" \
	"seat pc1 52:54:00:00:04:01 room upd"
S="seat pc1 52:54:00:00:04:01 room"
refuse rbd-no-image "rbd-no-image:1: expected rbd:POOL/IMAGE[@SNAP], got 'rbd:boot'" "group room rbd:boot rbd:boot" "$S"
refuse rbd-two-slashes "expected rbd:POOL/IMAGE[@SNAP], got 'rbd:boot/a/b'" "group room rbd:boot/a/b rbd:boot" "$S"
refuse rbd-empty-snap "expected rbd:POOL/IMAGE[@SNAP], got 'rbd:boot/a@'" "group room rbd:boot/a@ rbd:boot" "$S"
refuse rbd-snap-prefix "expected rbd:POOL[/PREFIX], got 'rbd:boot/r@s'" "group room rbd:boot/a rbd:boot/r@s" "$S"
refuse rbd-no-pool "expected rbd:POOL[/PREFIX], got 'rbd:'" "group room rbd:boot/a rbd:" "$S"
refuse rbd-dir "an RBD golden image rbd:POOL/IMAGE goes with RBD overlays" "group room rbd:boot/a /srv/ov" "$S"
refuse rbd-file "an RBD golden image rbd:POOL/IMAGE goes with RBD overlays" "group room /srv/a.img rbd:boot" "$S"
refuse rbd-limit "rbd-limit:1: a group on RBD has no LIMIT (use a pool quota)" "group room rbd:boot/a rbd:boot reset 8G" "$S"
refuse ceph-timeout "ceph-timeout must be 1 to 3600 seconds, not '0'" "ceph-timeout 0" "$G" "$S"
refuse ceph-timeout-big "ceph-timeout must be 1 to 3600 seconds, not '3601'" "ceph-timeout 3601" "$G" "$S"
refuse ceph-id-words "ceph-id-words:1: ceph-id NAME" "ceph-id a b" "$G" "$S"
expect "--help prints the format" bash -c "sh scripts/mkseats.sh --help | grep -q '^  gateway NAME ADDR' &&
	sh scripts/mkseats.sh --help | grep -q '^  group NAME rbd:POOL/IMAGE'"
suite_end
