#!/bin/sh
# mkseats.sh SEATS OUTDIR: a room from one file.  Writes, from the seats file,
# OUTDIR/hosts/MAC.ipxe (the per-host file wupan's firmware chains, naming
# the seat's initiator and its group's target) for every seat and
# OUTDIR/wupan-target.conf (one target per group with an overlay LUN on the
# group's golden image, open to the group's seats only).
#
# The seats file, '#' starts a comment:
#   base-iqn IQN            initiator names are IQN:NAME (default
#                           iqn.2026-01.org.wupan.client, as config/site.ipxe)
#   target-iqn IQN          targets are IQN:GROUP (default
#                           iqn.2026-01.org.wupan.room)
#   listen ADDR[:PORT]      wupan-target listens there (default 0.0.0.0:3260)
#   control PATH            its control socket (default
#                           /run/wupan-target.sock)
#   group NAME IMAGE DIR [MODE [LIMIT]]
#                           a golden image with overlays in DIR; MODE reset
#                           (default) or persistent; LIMIT per overlay
#   group NAME rbd:POOL/IMAGE[@SNAP] rbd:POOL[/PREFIX] [MODE]
#                           a golden image on Ceph RBD with each seat's
#                           overlay an RBD clone in POOL (named
#                           PREFIX.client.INITIATOR; PREFIX defaults to
#                           IMAGE); no LIMIT (use a pool quota); in reset
#                           mode each gateway keeps a spare clone made
#                           ahead for each seat it is first for (spares=N,
#                           wupan-target(8)), so a room boots without
#                           waiting for clones to be made
#   ceph-conf FILE, ceph-id NAME, ceph-keyring FILE, ceph-timeout SEC
#                           the cluster settings of every configuration
#                           written (wupan-target(8), "CEPH RBD")
#   seat NAME MAC GROUP [update] [via=GW[,GW...]]
#                           a PC; "update" makes it the group's update seat;
#                           via= its own gateway order (with gateways)
#   gateway NAME ADDR[:PORT] [listen=ADDR[:PORT]] [control=PATH]
#                           one of several wupan-target servers that serve
#                           the same images (README "Several gateways"): the
#                           PCs reach it at ADDR:PORT (default port 3260), it
#                           listens at listen= (default 0.0.0.0:PORT) with
#                           its control socket at control= (default: the
#                           control line's)
# Names are letters, digits and '-'; MACs are six hex pairs with ':' or '-'.
#
# With gateways, each seat's per-host file names up to four of them in its
# order (iscsi-server, iscsi-server-2, ...; the firmware hands them all to
# iPXE as paths to one disk) and each gateway gets OUTDIR/wupan-target-NAME.conf
# instead of wupan-target.conf, with the overlays of file groups in DIR/NAME
# (a seat that fails over gets the other gateway's overlay) and those of RBD
# groups shared (every gateway serves a seat its one clone).  A seat without
# via= is assigned round robin, in file order: the k-th such seat has gateway
# k mod N first, so each gateway is first for about 1/N of the room, and its
# second gateway also rotates over the others, so that the seats of a dead
# gateway spread evenly over the rest.  A gateway admits the seats that list
# it.
set -eu
set -f # words of the seats file are never globbed

usage() {
	echo "usage: mkseats.sh SEATS OUTDIR (mkseats.sh --help: the format)" >&2
	exit 2
}
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
	# The comment block at the top of this file is the manual.
	sed -n '2,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p}' "$0"
	exit 0
fi
[ $# -eq 2 ] || usage
seats=$1
out=$2

base=iqn.2026-01.org.wupan.client
tprefix=iqn.2026-01.org.wupan.room
listen=0.0.0.0:3260
control=/run/wupan-target.sock
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/groups"
: >"$tmp/seats"
: >"$tmp/gateways"
listen_line=0
ceph_conf= ceph_id= ceph_keyring= ceph_timeout=

die() {
	echo "mkseats.sh: $seats:$line: $*" >&2
	exit 1
}
name_ok() {
	case $1 in
	'' | *[!A-Za-z0-9-]*) return 1 ;;
	esac
}
# rbd_image_ok rbd:POOL/IMAGE[@SNAP]: the form wupan-target accepts.
rbd_image_ok() {
	r=${1#rbd:}
	case $r in
	?*/?*) ;;
	*) return 1 ;;
	esac
	case ${r#*/} in
	*/* | @* | *@ | *@*@*) return 1 ;;
	esac
	case ${r%%/*} in
	*@*) return 1 ;;
	esac
}
# rbd_pool_ok rbd:POOL[/PREFIX]
rbd_pool_ok() {
	case ${1#rbd:} in
	'' | /* | */ | */*/* | *@*) return 1 ;;
	esac
}

line=0
while IFS= read -r l || [ -n "$l" ]; do
	line=$((line + 1))
	l=${l%%#*}
	# shellcheck disable=SC2086
	set -- $l
	[ $# -gt 0 ] || continue
	kw=$1
	shift
	case $kw in
	base-iqn) [ $# -eq 1 ] || die "base-iqn IQN"; base=$1 ;;
	target-iqn) [ $# -eq 1 ] || die "target-iqn IQN"; tprefix=$1 ;;
	listen) [ $# -eq 1 ] || die "listen ADDR[:PORT]"; listen=$1 listen_line=$line ;;
	control) [ $# -eq 1 ] || die "control PATH"; control=$1 ;;
	ceph-conf) [ $# -eq 1 ] || die "ceph-conf FILE"; ceph_conf=$1 ;;
	ceph-id) [ $# -eq 1 ] || die "ceph-id NAME"; ceph_id=$1 ;;
	ceph-keyring) [ $# -eq 1 ] || die "ceph-keyring FILE"; ceph_keyring=$1 ;;
	ceph-timeout)
		[ $# -eq 1 ] || die "ceph-timeout SEC"
		case $1 in '' | *[!0-9]* | 0*) die "ceph-timeout must be 1 to 3600 seconds, not '$1'" ;; esac
		[ "${#1}" -le 4 ] && [ "$1" -le 3600 ] || die "ceph-timeout must be 1 to 3600 seconds, not '$1'"
		ceph_timeout=$1
		;;
	group)
		[ $# -ge 3 ] && [ $# -le 5 ] || die "group NAME IMAGE DIR [MODE [LIMIT]]"
		name_ok "$1" || die "bad group name '$1'"
		grep -q "^$1 " "$tmp/groups" && die "group $1 defined twice"
		case "$2 $3" in
		rbd:*\ rbd:*)
			rbd_image_ok "$2" || die "expected rbd:POOL/IMAGE[@SNAP], got '$2'"
			rbd_pool_ok "$3" || die "expected rbd:POOL[/PREFIX], got '$3'"
			[ $# -le 4 ] || die "a group on RBD has no LIMIT (use a pool quota)"
			;;
		rbd:* | *\ rbd:*)
			die "an RBD golden image rbd:POOL/IMAGE goes with RBD overlays rbd:POOL[/PREFIX], a file with a directory"
			;;
		esac
		case ${4:-reset} in reset | persistent) ;; *) die "mode must be reset or persistent" ;; esac
		echo "$1 $2 $3 ${4:-reset} ${5:--}" >>"$tmp/groups"
		;;
	gateway)
		[ $# -ge 2 ] && [ $# -le 4 ] ||
			die "gateway NAME ADDR[:PORT] [listen=ADDR[:PORT]] [control=PATH]"
		name_ok "$1" || die "bad gateway name '$1'"
		cut -d' ' -f1 "$tmp/gateways" | grep -qx "$1" && die "gateway $1 defined twice"
		gname=$1 gaddr=${2%:*} gport=${2##*:}
		[ "$gport" = "$2" ] && gport=3260
		case $gaddr in '' | *[!A-Za-z0-9.-]*) die "bad gateway address '$2'" ;; esac
		case $gport in '' | *[!0-9]*) die "bad gateway port in '$2'" ;; esac
		[ "$gport" -ge 1 ] && [ "$gport" -le 65535 ] || die "bad gateway port in '$2'"
		grep -q " $gaddr $gport " "$tmp/gateways" && die "gateway $gaddr:$gport named twice"
		glisten=0.0.0.0:$gport gcontrol=-
		shift 2
		for w in "$@"; do
			case $w in
			listen=?*) glisten=${w#listen=} ;;
			control=?*) gcontrol=${w#control=} ;;
			*) die "a gateway takes listen=ADDR[:PORT] and control=PATH, not '$w'" ;;
			esac
		done
		echo "$gname $gaddr $gport $glisten $gcontrol" >>"$tmp/gateways"
		;;
	seat)
		[ $# -ge 3 ] && [ $# -le 5 ] || die "seat NAME MAC GROUP [update] [via=GW[,GW...]]"
		name_ok "$1" || die "bad seat name '$1'"
		mac=$(echo "$2" | tr 'A-F:' 'a-f-')
		echo "$mac" | grep -Eq '^[0-9a-f]{2}(-[0-9a-f]{2}){5}$' || die "bad MAC '$2'"
		grep -q "^$3 " "$tmp/groups" || die "unknown group '$3' (define it first)"
		cut -d' ' -f1 "$tmp/seats" | grep -qx "$1" && die "seat $1 defined twice"
		cut -d' ' -f2 "$tmp/seats" | grep -qx "$mac" && die "MAC $2 used twice"
		sname=$1 sgroup=$3 flag= via=-
		shift 3
		for w in "$@"; do
			case $w in
			update) [ -z "$flag" ] || die "update given twice"; flag=update ;;
			via=?*)
				[ "$via" = - ] || die "via= given twice"
				via=${w#via=}
				for g in $(echo "$via" | tr ',' ' '); do
					cut -d' ' -f1 "$tmp/gateways" | grep -qx "$g" ||
						die "unknown gateway '$g' in $w (define it first)"
				done
				[ "$(echo "$via" | tr ',' '\n' | sort | uniq -d)" = "" ] ||
					die "a gateway named twice in $w"
				;;
			*) die "after the group a seat takes only 'update' and via=GW[,GW...], not '$w'" ;;
			esac
		done
		if [ "$flag" = update ] && grep -q " $sgroup update " "$tmp/seats"; then
			die "group $sgroup has an update seat already"
		fi
		echo "$sname $mac $sgroup ${flag:--} $via" >>"$tmp/seats"
		;;
	*) die "unknown keyword '$kw'" ;;
	esac
done <"$seats"
[ -s "$tmp/seats" ] || { line=0; die "no seat"; }
if [ -s "$tmp/gateways" ] && [ "$listen_line" -gt 0 ]; then
	line=$listen_line
	die "with gateways, each gateway line says where it listens (listen=)"
fi

# seat_order: each seat's gateway order, "NAME GW1,GW2,...", at most four
# (the firmware's paths).  Seats without via= are assigned round robin.
seat_order() {
	awk -v gwfile="$tmp/gateways" '
	BEGIN {
		while ((getline l < gwfile) > 0) {
			split(l, f, " ")
			gw[n++] = f[1]
		}
	}
	{
		if ($5 != "-") {
			print $1, $5
			next
		}
		p = k % n
		o = n > 2 ? 1 + int(k / n) % (n - 1) : 1
		order = gw[p]
		if (n > 1)
			order = order "," gw[(p + o) % n]
		m = n > 1 ? 2 : 1
		for (j = 1; j < n && m < 4; j++) {
			if (j == o)
				continue
			order = order "," gw[(p + j) % n]
			m++
		}
		k++
		print $1, order
	}' "$tmp/seats"
}

mkdir -p "$out/hosts"
port=${listen##*:}
[ "$port" = "$listen" ] && port=3260
[ ! -s "$tmp/gateways" ] || seat_order >"$tmp/order"
while read -r name mac group flag via; do
	{
		echo "#!ipxe"
		if [ -s "$tmp/gateways" ]; then
			order=$(awk -v s="$name" '$1 == s { print $2 }' "$tmp/order")
			echo "# seat $name of group $group, gateways $(echo "$order" | sed 's/,/, /g') (generated by mkseats.sh from $seats)"
		else
			echo "# seat $name of group $group (generated by mkseats.sh from $seats)"
		fi
		echo "set initiator-iqn $base:$name"
		echo "set iscsi-target $tprefix:$group"
		if [ -s "$tmp/gateways" ]; then
			i=1
			for g in $(echo "$order" | tr ',' ' '); do
				sfx=-$i
				[ $i -gt 1 ] || sfx=
				awk -v g="$g" -v x="$sfx" '$1 == g {
					print "set iscsi-server" x " " $2
					print "set iscsi-port" x " " $3
				}' "$tmp/gateways"
				i=$((i + 1))
			done
		else
			echo "set iscsi-port $port"
		fi
		echo "set iscsi-lun 0"
	} >"$out/hosts/$mac.ipxe"
done <"$tmp/seats"

# first_of GATEWAY: the seats whose order starts with GATEWAY, one a line.
first_of() {
	awk -v g="$1" '$2 == g || index($2, g ",") == 1 { print $1 }' "$tmp/order"
}

# target_conf LISTEN CONTROL GATEWAY: a target for every group with seats,
# for one gateway (its overlays in DIR/GATEWAY, only the seats that list it)
# or for the one server (GATEWAY '-').
target_conf() {
	echo "# wupan-target configuration generated by mkseats.sh from $seats:"
	echo "# edit the seats file and run it again instead of this file."
	[ "$3" = - ] || echo "# gateway $3, first gateway of:" $(first_of "$3")
	echo "listen $1"
	echo "control $2"
	[ -z "$ceph_conf" ] || echo "ceph-conf $ceph_conf"
	[ -z "$ceph_id" ] || echo "ceph-id $ceph_id"
	[ -z "$ceph_keyring" ] || echo "ceph-keyring $ceph_keyring"
	[ -z "$ceph_timeout" ] || echo "ceph-timeout $ceph_timeout"
	while read -r group image dir mode limit; do
		if ! awk -v g="$group" '$3 == g { f = 1 } END { exit !f }' "$tmp/seats"; then
			[ "$3" != - ] || echo "mkseats.sh: group $group has no seat: no target for it" >&2
			continue
		fi
		echo
		echo "target $tprefix:$group"
		# Gateways share RBD clones, not overlay directories.
		[ "$3" = - ] || [ "${dir#rbd:}" != "$dir" ] || dir=$dir/$3
		lun="lun golden=$image overlays=$dir mode=$mode"
		[ "$limit" = - ] || lun="$lun limit=$limit"
		seat=$(awk -v g="$group" '$3 == g && $4 == "update" { print $1 }' "$tmp/seats")
		[ -z "$seat" ] || lun="$lun update=$base:$seat"
		# Every boot in reset mode needs a new clone: one made ahead
		# for each seat this gateway is first for (at most 256).
		if [ "${dir#rbd:}" != "$dir" ] && [ "$mode" = reset ]; then
			if [ "$3" = - ]; then
				n=$(awk -v g="$group" '$3 == g' "$tmp/seats" | wc -l)
			else
				n=$(first_of "$3" | awk -v g="$group" -v sf="$tmp/seats" '
				BEGIN { while ((getline l < sf) > 0) { split(l, f, " "); grp[f[1]] = f[3] } }
				grp[$1] == g' | wc -l)
			fi
			[ "$n" -le 256 ] || n=256
			[ "$n" = 0 ] || lun="$lun spares=$n"
		fi
		echo "  $lun"
		awk -v g="$group" -v b="$base" -v gw="$3" -v of="${tmp}/order" '
		BEGIN {
			if (gw != "-")
				while ((getline l < of) > 0) {
					split(l, f, " ")
					o[f[1]] = "," f[2] ","
				}
		}
		$3 == g && (gw == "-" || index(o[$1], "," gw ",")) { print "  allow " b ":" $1 }' "$tmp/seats"
	done <"$tmp/groups"
}

n=$(wc -l <"$tmp/seats")
if [ ! -s "$tmp/gateways" ]; then
	target_conf "$listen" "$control" - >"$out/wupan-target.conf"
	echo "mkseats.sh: $n seats: $out/wupan-target.conf and $out/hosts/*.ipxe"
	exit 0
fi
while read -r g _ _ glisten gcontrol; do
	[ "$gcontrol" != - ] || gcontrol=$control
	target_conf "$glisten" "$gcontrol" "$g" >"$out/wupan-target-$g.conf"
	echo "mkseats.sh: gateway $g is first for $(first_of "$g" | wc -l) of $n seats: $out/wupan-target-$g.conf"
done <"$tmp/gateways"
echo "mkseats.sh: $n seats: $out/hosts/*.ipxe"
