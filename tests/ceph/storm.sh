#!/bin/bash
# The boot storm on Ceph RBD (issue 14; make bench-rbd's storm row): the
# small trace of tests/target/storm.sh replayed by 3 clients at once
#   rbd-room     through wupan-target's room on RBD (golden=rbd:...@SNAP,
#                overlays=rbd:..., the target under ASan+UBSan): every
#                command answered with its recorded status, every block a
#                READ returns either the client's own write or golden
#   own-clones   each client's writes are in its own clone and nowhere
#                else (storm_rbd check; client 0's clone checked as client
#                1's must fail)
#   librbd       the same replay straight through librbd on 3 fresh clones
#                of the snapshot (storm_rbd, the benchmark's ceiling)
# Its own throwaway cluster (tests/ceph/cluster.sh).  Ports: monitor 48300,
# OSD 48310-48349, wupan-target 48260.
. "$(dirname "$0")/../suite.sh" ceph-storm

WUPAN_TARGET=${WUPAN_TARGET:-$O/asan/bin/wupan-target}
. tests/target/lib.sh
C=$W/cluster
CONF=$C/ceph.conf
IQN=iqn.2026-01.org.wupan:rbd-storm
TRACE=tests/target/storm/small.trace
N=3
cleanup() {
	t_cleanup
	sh tests/ceph/cluster.sh stop "$C"
}
trap cleanup EXIT
exec 8>"$O/ceph-48300.lock"
flock -w 900 8 || { bad setup "another run holds $O/ceph-48300.lock"; suite_end; exit 1; }

for prog in "storm:bench/target/storm.c bench/target/storm_trace.c:-liscsi" \
	"storm_rbd:bench/target/storm_rbd.c bench/target/storm_trace.c:-lrbd -lrados -lpthread" \
	"fleet_client:tests/fleet/fleet_client.c:-liscsi"; do
	IFS=: read -r name src lib <<<"$prog"
	if ! ${CC:-cc} -O2 -Wall -o "$W/$name" $src $lib 2>"$W/cc.log"; then
		bad setup "cannot build $name: $(head -n 3 "$W/cc.log")"
		suite_end
		exit 1
	fi
done
if ! sh tests/ceph/cluster.sh start "$C" 48300 2>"$W/cluster.err"; then
	bad cluster "did not start: $(tail -n 8 "$W/cluster.err")"
	suite_end
	exit 1
fi
rbdc() { timeout 60 rbd -c "$CONF" "$@"; }
# The golden image (fleet_client's pattern, 8 MiB) and its snapshot.
"$W/fleet_client" golden "$W/golden.img" 16384
if ! { rbdc import "$W/golden.img" rbd/sg && rbdc snap create rbd/sg@g &&
	rbdc snap protect rbd/sg@g; } >"$W/setup.log" 2>&1; then
	bad setup "golden image: $(tail -n 2 "$W/setup.log")"
	suite_end
	exit 1
fi

# rbd-room.
n=$(grep -vc '^#' "$TRACE")
if wt_start "$W/wt.log" --listen 127.0.0.1:48260 --ceph-conf "$CONF" \
	--target "$IQN" --lun golden=rbd:rbd/sg@g,overlays=rbd:rbd/so,mode=reset; then
	"$W/storm" -n $N -g -S -t 60 127.0.0.1:48260 "$IQN" "$TRACE" >"$W/room.out" 2>&1
	rc=$?
	wt_stop "$WT_PID" || bad "rbd-room: exit" "wupan-target: $(grep -m 3 -E 'ERROR|SUMMARY|runtime error' "$W/wt.log")"
	out=$(grep '^clients=' "$W/room.out")
	if [ $rc -ne 0 ]; then
		bad rbd-room "the replay failed: $(tail -n 3 "$W/room.out")"
	elif ! grep -q "commands=$((N * n)) answered=$((N * n)) failed=0 status_differs=0 verified_blocks=[1-9][0-9]* bad_blocks=0 " <<<"$out"; then
		bad rbd-room "unexpected result: $out"
	else
		ok "rbd-room: $N clients, $(sed 's/.*\(verified_blocks=[0-9]*\).*/\1/' <<<"$out") (own or golden), every status as recorded"
	fi
else
	bad rbd-room "wupan-target did not start: $(tail -n 3 "$W/wt.log")"
fi

# own-clones: the room's clones are named after the initiators.
rbdc ls rbd >"$W/ls.out" 2>&1
good=0
for k in $(seq 0 $((N - 1))); do
	img=$(grep -m 1 "^so\.client\..*client$(printf %03d "$k")\$" "$W/ls.out")
	if [ -z "$img" ]; then
		bad "own-clones" "no clone for client $k in: $(tr '\n' ' ' <"$W/ls.out")"
	elif ! "$W/storm_rbd" check "$CONF" "rbd/$img" "$k" "$TRACE" >"$W/check$k.out" 2>&1; then
		bad "own-clones" "rbd/$img: $(tail -n 3 "$W/check$k.out")"
	else
		good=$((good + 1))
	fi
done
if [ $good = $N ]; then
	ok "own-clones: each of the $N clones holds its client's writes, golden elsewhere ($(cat "$W/check0.out"))"
fi
img=$(grep -m 1 '^so\.client\..*client000$' "$W/ls.out")
if [ -n "$img" ] && "$W/storm_rbd" check "$CONF" "rbd/$img" 1 "$TRACE" >"$W/cross.out" 2>&1; then
	bad "own-clones: the check tells clients apart" "client 0's clone passed as client 1's"
elif grep -q "is not client's" "$W/cross.out"; then
	ok "own-clones: client 0's clone checked as client 1's fails"
else
	bad "own-clones: the check tells clients apart" "$(tail -n 2 "$W/cross.out")"
fi

# librbd: fresh clones, the same replay without iSCSI.
if "$W/storm_rbd" clone "$CONF" rbd/sg@g rbd/sr $N >"$W/clone.out" 2>&1 &&
	"$W/storm_rbd" replay -n $N -g -t 60 "$CONF" rbd/sr "$TRACE" >"$W/librbd.out" 2>&1; then
	if grep -q "failed=0 verified_blocks=[1-9][0-9]* bad_blocks=0 " "$W/librbd.out" &&
		"$W/storm_rbd" check "$CONF" rbd/sr002 2 "$TRACE" >"$W/check-r.out" 2>&1; then
		ok "librbd: $N clients on fresh clones: $(grep -o 'issued=[0-9]* skipped=[0-9]*' "$W/librbd.out"), all blocks right"
	else
		bad librbd "$(tail -n 2 "$W/librbd.out") $(tail -n 2 "$W/check-r.out")"
	fi
else
	bad librbd "$(tail -n 3 "$W/clone.out" "$W/librbd.out")"
fi
suite_end
