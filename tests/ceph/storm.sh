#!/bin/bash
# The boot storm on Ceph RBD (issue 14; make bench-rbd's storm row) and
# the golden cache (src/iscsi/rbd_gcache.c): tests/ceph/storm.trace (reads
# of golden objects, part-object writes, reads mixing both) replayed by 3
# clients at once
#   rbd-room     through wupan-target's room on RBD (golden=rbd:...@SNAP,
#                overlays=rbd:..., the target under ASan+UBSan): every
#                command answered with its recorded status, every block a
#                READ returns either the client's own write or golden
#   golden-cache each golden chunk the clients read came from the OSD once
#                (5 of them), the other 19 reads from the cache
#   own-clones   each client's writes are in its own clone and nowhere
#                else (storm_rbd check; client 0's clone checked as client
#                1's must fail)
#   cache-off    the same with golden-cache 0: right data, no cache
#   learned      a clone written in part, reopened by a new gateway (mode
#                persistent): its written object reads its own blocks
#                there and golden ones beside them, other objects golden
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
TRACE=tests/ceph/storm.trace
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
	"fleet_client:tests/fleet/fleet_client.c:-liscsi" "rbd_io:tests/ceph/rbd_io.c:-liscsi"; do
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
# The golden image (fleet_client's pattern, 16 MiB) and its snapshot.
"$W/fleet_client" golden "$W/golden.img" 32768
if ! { rbdc import "$W/golden.img" rbd/sg && rbdc snap create rbd/sg@g &&
	rbdc snap protect rbd/sg@g; } >"$W/setup.log" 2>&1; then
	bad setup "golden image: $(tail -n 2 "$W/setup.log")"
	suite_end
	exit 1
fi

# room NAME PREFIX ARGS...: the replay through a room on rbd/PREFIX
# clones; the target's log in $W/NAME.log.
n=$(grep -vc '^#' "$TRACE")
room() {
	local name=$1 prefix=$2 rc out
	shift 2
	if ! wt_start "$W/$name.log" --listen 127.0.0.1:48260 --ceph-conf "$CONF" "$@" \
		--target "$IQN" --lun "golden=rbd:rbd/sg@g,overlays=rbd:rbd/$prefix,mode=reset"; then
		bad "$name" "wupan-target did not start: $(tail -n 3 "$W/$name.log")"
		return
	fi
	"$W/storm" -n $N -g -S -t 60 127.0.0.1:48260 "$IQN" "$TRACE" >"$W/$name.out" 2>&1
	rc=$?
	wt_stop "$WT_PID" || bad "$name: exit" "wupan-target: $(grep -m 3 -E 'ERROR|SUMMARY|runtime error' "$W/$name.log")"
	out=$(grep '^clients=' "$W/$name.out")
	if [ $rc -ne 0 ]; then
		bad "$name" "the replay failed: $(tail -n 3 "$W/$name.out")"
	elif ! grep -q "commands=$((N * n)) answered=$((N * n)) failed=0 status_differs=0 verified_blocks=[1-9][0-9]* bad_blocks=0 " <<<"$out"; then
		bad "$name" "unexpected result: $out"
	else
		ok "$name: $N clients, $(sed 's/.*\(verified_blocks=[0-9]*\).*/\1/' <<<"$out") (own or golden), every status as recorded"
	fi
}
room rbd-room so
line=$(grep -o 'golden cache: .*' "$W/rbd-room.log")
expect "golden-cache: each golden chunk from the OSD once, then from the cache ($line)" \
	test "$line" = "golden cache: 19 chunk reads from the cache, 5 from the parents, 0 evicted"

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
elif grep -q "is not what it wrote" "$W/cross.out"; then
	ok "own-clones: client 0's clone checked as client 1's fails"
else
	bad "own-clones: the check tells clients apart" "$(tail -n 2 "$W/cross.out")"
fi

# cache-off.
room cache-off sx --golden-cache 0
if grep -q 'golden cache' "$W/cache-off.log"; then
	bad cache-off "golden-cache 0 used the cache: $(grep 'golden cache' "$W/cache-off.log")"
else
	ok "cache-off: golden-cache 0 uses no cache"
fi

# learned: blocks 8200-8207 (in object 1) written through one gateway; the
# next, in persistent mode, reopens the clone and must learn object 1.
U=iscsi://127.0.0.1:48260/$IQN/0
lun="golden=rbd:rbd/sg@g,overlays=rbd:rbd/sp,mode=persistent"
head -c 4096 /dev/urandom >"$W/mine.bin"
if wt_start "$W/learn1.log" --listen 127.0.0.1:48260 --ceph-conf "$CONF" --target "$IQN" --lun "$lun" &&
	"$W/rbd_io" put "$U" 8200 "$W/mine.bin" 2>"$W/learn.err" && wt_stop "$WT_PID" &&
	wt_start "$W/learn2.log" --listen 127.0.0.1:48260 --ceph-conf "$CONF" --target "$IQN" --lun "$lun" &&
	"$W/rbd_io" get "$U" 0 8 "$W/l0.bin" 2>>"$W/learn.err" &&
	"$W/rbd_io" get "$U" 8192 32 "$W/l1.bin" 2>>"$W/learn.err" &&
	"$W/rbd_io" get "$U" 0 8 "$W/l0b.bin" 2>>"$W/learn.err"; then
	wt_stop "$WT_PID"
	want=$W/l1.want
	{ dd if="$W/golden.img" bs=512 skip=8192 count=8 status=none; cat "$W/mine.bin"
		dd if="$W/golden.img" bs=512 skip=8208 count=16 status=none; } >"$want"
	if ! cmp -s "$W/l1.bin" "$want"; then
		bad learned "object 1 after the reopen is not its own blocks among golden ones"
	elif ! cmp -s "$W/l0.bin" <(head -c 4096 "$W/golden.img") || ! cmp -s "$W/l0b.bin" "$W/l0.bin"; then
		bad learned "object 0 does not read golden"
	elif ! grep -q 'golden cache: 1 chunk reads from the cache, 1 from the parents' "$W/learn2.log"; then
		bad learned "object 0 not through the cache: $(grep 'golden cache' "$W/learn2.log")"
	else
		ok "learned: a reopened clone reads its written object from itself, object 0 from the cache"
	fi
else
	bad learned "$(tail -n 2 "$W/learn.err" "$W/learn1.log" "$W/learn2.log" 2>/dev/null)"
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
