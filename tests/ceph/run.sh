#!/bin/bash
# RBD backend of wupan-target (rbd: LUNs) against a throwaway single-node
# Ceph cluster of its own (tests/ceph/cluster.sh): start-up errors, size,
# data over iSCSI and through `rbd export`, FUA and SYNCHRONIZE CACHE,
# UNMAP as discard, a read-only snapshot LUN, a stopped OSD, a reload that
# adds the first rbd: LUN, and libiscsi's iscsi-test-cu on an rbd: LUN
# beside a file LUN, and on a room on RBD beside a room in a directory, in
# the same run.  The
# target runs under ASan+UBSan ($O/asan/bin/wupan-target).
# Ports: monitor 42300, OSD 42310-42349, wupan-target 42260-42263.
. "$(dirname "$0")/../suite.sh" ceph-tests

WUPAN_TARGET=${WUPAN_TARGET:-$O/asan/bin/wupan-target}
WT=$WUPAN_TARGET
. tests/target/lib.sh
C=$W/cluster
CONF=$C/ceph.conf
IQN=iqn.2025-01.org.wupan:rbd
cleanup() {
	t_cleanup
	[ -n "${OSD_PID:-}" ] && kill -CONT "$OSD_PID" 2>/dev/null
	sh tests/ceph/cluster.sh stop "$C"
}
trap cleanup EXIT
# One Ceph at a time in this tree (bench/target/rbd.sh uses the same ports).
exec 8>"$O/ceph.lock"
flock -w 900 8 || { bad setup "another Ceph run holds $O/ceph.lock"; suite_end; exit 1; }

for t in iscsi-test-cu rbd ceph-mon ceph-osd; do
	if ! command -v $t >/dev/null; then
		bad setup "$t missing (Debian libiscsi-bin ceph-mon ceph-osd ceph-common)"
		suite_end
		exit 1
	fi
done
if ! ${CC:-cc} -O2 -Wall -o "$W/rbd_io" tests/ceph/rbd_io.c -liscsi; then
	bad setup "tests/ceph/rbd_io.c does not build (Debian libiscsi-dev)"
	suite_end
	exit 1
fi
IO=$W/rbd_io
if ! sh tests/ceph/cluster.sh start "$C" 42300 2>"$W/cluster.err"; then
	bad cluster "did not start: $(tail -n 8 "$W/cluster.err")"
	suite_end
	exit 1
fi
ok "cluster: one monitor and one memstore OSD up, pool rbd"
rbdc() { timeout 60 rbd -c "$CONF" "$@"; }

# The image starts as pattern A (64 MiB), its snapshot s1 keeps it.
head -c $((64 << 20)) /dev/urandom >"$W/a.img"
rbdc import "$W/a.img" rbd/disk >/dev/null 2>&1 &&
	rbdc snap create rbd/disk@s1 >/dev/null 2>&1 &&
	rbdc create --size 64 rbd/cu >/dev/null 2>&1 &&
	rbdc create --size 64 rbd/cug >/dev/null 2>&1 &&
	rbdc create --size 16 rbd/thin >/dev/null 2>&1 ||
	bad setup "rbd import/snap create failed"

# Start-up errors: named, and quick even when no monitor answers.
start_fails() { # NAME EXPECTED-TEXT ARGS...
	local name=$1 want=$2 s rc
	shift 2
	s=$(date +%s)
	timeout 60 "$WT" --listen 127.0.0.1:42263 --ceph-conf "$CONF" \
		--target "$IQN" "$@" 2>"$W/err-$name.log"
	rc=$?
	if [ $rc = 2 ] && grep -q "$want" "$W/err-$name.log"; then
		ok "start-up error: $name ($(( $(date +%s) - s )) s): $(head -n 1 "$W/err-$name.log" | cut -c1-120)"
	else
		bad "start-up error: $name" "exit $rc: $(tail -n 2 "$W/err-$name.log")"
	fi
}
start_fails "missing pool" "no such pool" --lun rbd:nopool/disk
start_fails "missing image" "no such image" --lun rbd:rbd/nodisk
start_fails "missing snapshot" "no such image or snapshot" --lun rbd:rbd/disk@nosnap
start_fails "bad name" "expected rbd:POOL/IMAGE" --lun rbd:rbd
start_fails "missing ceph.conf" "cannot read $W/none.conf" --ceph-conf "$W/none.conf" --lun rbd:rbd/disk
printf '[global]\nmon host = v2:127.0.0.1:42299\nauth client required = none\n' >"$W/dead.conf"
s=$(date +%s)
start_fails "no cluster" "timed out" --ceph-timeout 3 --ceph-conf "$W/dead.conf" --lun rbd:rbd/disk
if [ $(( $(date +%s) - s )) -gt 20 ]; then
	bad "no cluster: bounded wait" "took $(( $(date +%s) - s )) s with --ceph-timeout 3"
fi

# LUN 0 the image, LUN 1 its snapshot, LUN 2 an image without snapshots.
U=iscsi://127.0.0.1:42260/$IQN
if ! wt_start "$W/wt.log" --listen 127.0.0.1:42260 --ceph-conf "$CONF" \
	--target "$IQN" --lun rbd:rbd/disk --lun rbd:rbd/disk@s1 \
	--lun rbd:rbd/thin; then
	bad serve "wupan-target did not start: $(tail -n 3 "$W/wt.log")"
	suite_end
	exit 1
fi
wpid=$WT_PID
expect "READ CAPACITY: image 131072 x 512, thin provisioned (LBPME)" \
	test "$($IO cap "$U/0" 2>&1)" = "131072 512 1"
expect "READ CAPACITY: snapshot 131072 x 512, not thin (read-only)" \
	test "$($IO cap "$U/1" 2>&1)" = "131072 512 0"

head -c $((3 << 20)) /dev/urandom >"$W/b.img"
# Blocks 8192.. (4 MiB: a RADOS object of its own) get B, with FUA.
if $IO put "$U/0" 8192 "$W/b.img" fua 2>"$W/put.err" &&
	$IO get "$U/0" 8192 6144 "$W/b.back" 2>>"$W/put.err" &&
	cmp -s "$W/b.img" "$W/b.back"; then
	ok "WRITE(16) FUA then READ(16): the same 3 MiB over iSCSI"
else
	bad "WRITE/READ over iSCSI" "$(cat "$W/put.err")"
fi
expect "SYNCHRONIZE CACHE(16): GOOD" $IO sync "$U/0"
rbdc export rbd/disk "$W/export.img" >/dev/null 2>&1
if cmp -s <(dd if="$W/export.img" bs=512 skip=8192 count=6144 2>/dev/null) "$W/b.img" &&
	cmp -s <(dd if="$W/export.img" bs=512 count=8192 2>/dev/null) \
		<(dd if="$W/a.img" bs=512 count=8192 2>/dev/null); then
	ok "rbd export: the iSCSI writes are in the image, the rest untouched"
else
	bad "rbd export" "the image differs from what was written"
fi
# The snapshot still holds A there, and refuses writes.
$IO get "$U/1" 8192 6144 "$W/s.back" 2>"$W/snap.err"
expect "snapshot LUN: shows the snapshot's data, not later writes" \
	cmp -s "$W/s.back" <(dd if="$W/a.img" bs=512 skip=8192 count=6144 2>/dev/null)
if $IO put "$U/1" 0 "$W/b.img" 2>"$W/snap.err"; then
	bad "snapshot LUN: read-only" "a WRITE succeeded"
else
	expect "snapshot LUN: WRITE gives DATA PROTECT" grep -q "key 0x7 .*0x2700" "$W/snap.err"
fi

# UNMAP of a part of an object reads back zeros; of a whole object frees it
# (rbd du of an image without snapshots: with one, du counts the changes).
$IO unmap "$U/0" 8200 16 2>"$W/unmap.err"
$IO get "$U/0" 8192 32 "$W/u.back" 2>>"$W/unmap.err"
if cmp -s <(dd if="$W/u.back" bs=512 skip=8 count=16 2>/dev/null) <(head -c 8192 /dev/zero) &&
	cmp -s <(dd if="$W/u.back" bs=512 count=8 2>/dev/null) <(head -c 4096 "$W/b.img"); then
	ok "UNMAP inside an object: those blocks read zero, their neighbours stay"
else
	bad "UNMAP inside an object" "$(cat "$W/unmap.err")"
fi
used() {
	rbdc du --format json rbd/thin 2>/dev/null |
		grep -o '"used_size":[0-9]*' | head -n 1 | cut -d: -f2
}
head -c $((8 << 20)) /dev/urandom >"$W/t.img"
$IO put "$U/2" 0 "$W/t.img" 2>>"$W/unmap.err"
$IO sync "$U/2" 2>>"$W/unmap.err"
used_before=$(used)
$IO unmap "$U/2" 8192 8192 2>>"$W/unmap.err"
used_after=$(used)
if [ -n "$used_before" ] && [ -n "$used_after" ] &&
	[ "$used_before" -ge $((8 << 20)) ] &&
	[ "$used_after" -le $((used_before - (4 << 20))) ]; then
	ok "UNMAP of a whole 4 MiB object: rbd du $used_before -> $used_after bytes"
else
	bad "UNMAP of a whole object" "rbd du ${used_before:-?} -> ${used_after:-?}: $(cat "$W/unmap.err")"
fi
if $IO get "$U/2" 0 16384 "$W/z.back" &&
	cmp -s "$W/z.back" <(head -c $((4 << 20)) "$W/t.img"; head -c $((4 << 20)) /dev/zero); then
	ok "UNMAP of a whole object: it reads zero, the object before it stays"
else
	bad "UNMAP of a whole object" "does not read zero, or took its neighbour"
fi
wt_stop "$wpid"
expect "wupan-target exits 0 on SIGTERM" test $? = 0
if timeout 30 rbd -c "$CONF" status rbd/disk 2>/dev/null | grep -q "Watchers: none"; then
	ok "closed on exit: no watcher left on the image (its lock released)"
else
	bad "closed on exit" "$(rbd -c "$CONF" status rbd/disk 2>&1 | tail -n 2)"
fi

# A stopped OSD: the command fails within --ceph-timeout, the target lives.
if wt_start "$W/wt-osd.log" --listen 127.0.0.1:42261 --ceph-conf "$CONF" \
	--ceph-timeout 4 --target "$IQN" --lun rbd:rbd/disk; then
	U2=iscsi://127.0.0.1:42261/$IQN/0
	OSD_PID=$(cat "$C/run/osd.0.pid")
	kill -STOP "$OSD_PID"
	s=$(date +%s)
	if timeout 60 $IO get "$U2" 20000 8 "$W/o.back" 2>"$W/osd.err"; then
		bad "stopped OSD: READ" "succeeded"
	elif grep -q "key 0x3 .*0x1100" "$W/osd.err"; then
		ok "stopped OSD: READ ends in MEDIUM ERROR, READ ERROR after $(( $(date +%s) - s )) s: $(head -c 80 "$W/osd.err")"
	else
		bad "stopped OSD: READ" "$(cat "$W/osd.err")"
	fi
	expect "stopped OSD: the target still answers (READ CAPACITY)" \
		test "$(timeout 30 $IO cap "$U2" 2>&1)" = "131072 512 1"
	kill -CONT "$OSD_PID"
	OSD_PID=
	expect "OSD back: READ works again" timeout 60 $IO get "$U2" 20000 8 "$W/o.back"
	wt_stop "$WT_PID"
else
	bad "stopped OSD" "wupan-target did not start: $(tail -n 3 "$W/wt-osd.log")"
fi

# A reload that adds the first rbd: LUN connects with the new settings.
truncate -s 1M "$W/f.img"
printf 'target %s:file\n  lun %s\n' "$IQN" "$W/f.img" >"$W/reload.conf"
if wt_start "$W/wt-reload.log" --listen 127.0.0.1:42263 --config "$W/reload.conf"; then
	printf 'ceph-conf %s\ntarget %s:file\n  lun %s\ntarget %s:new\n  lun rbd:rbd/thin\n' \
		"$CONF" "$IQN" "$W/f.img" "$IQN" >"$W/reload.conf"
	kill -HUP "$WT_PID"
	got=
	for _ in $(seq 50); do
		got=$($IO cap "iscsi://127.0.0.1:42263/$IQN:new/0" 2>&1) && break
		sleep 0.2
	done
	expect "reload: a target with the first rbd: LUN and its ceph-conf is served" \
		test "$got" = "32768 512 1"
	wt_stop "$WT_PID" || bad "reload" "exit status $?"
else
	bad "reload" "wupan-target did not start: $(tail -n 3 "$W/wt-reload.log")"
fi

# iscsi-test-cu: an rbd: LUN and a file LUN of the same size; and a room
# on RBD (an overlay LUN: the initiator's own clone of a golden snapshot)
# and a room in a directory: all four at once.  Each rbd: unit must pass
# every test its file twin passes (a room's second initiator, as in the
# reservation tests, sees a disk of its own in both).
truncate -s 64M "$W/cu.img" "$W/cug.img"
CU=iscsi://127.0.0.1:42262/$IQN
if wt_start "$W/wt-cu.log" --listen 127.0.0.1:42262 --ceph-conf "$CONF" \
	--target "$IQN" --lun rbd:rbd/cu --lun "$W/cu.img" \
	--target "$IQN:rbd-room" --lun golden=rbd:rbd/cug,overlays=rbd:rbd/cur \
	--target "$IQN:file-room" --lun "golden=$W/cug.img,overlays=$W/cu-ov"; then
	jobs_cu=()
	for k in rbd:$CU/0 file:$CU/1 rbd-room:$CU:rbd-room/0 file-room:$CU:file-room/0; do
		timeout 300 iscsi-test-cu --dataloss -t ALL "${k#*:}" >"$W/cu-${k%%:*}.out" 2>&1 &
		jobs_cu+=($!)
	done
	wait "${jobs_cu[@]}"
	kill -0 "$WT_PID" 2>/dev/null || bad "iscsi-test-cu" "wupan-target died"
	wt_stop "$WT_PID" || bad "iscsi-test-cu" "wupan-target exit status $? (ASan?): $(grep -m3 ERROR "$W/wt-cu.log")"
	for k in rbd file rbd-room file-room; do
		bash tests/target/cu-results.sh <"$W/cu-$k.out" | sort -k2 >"$W/cu-$k.res"
		awk '$1 == "pass" {print $2}' "$W/cu-$k.res" >"$W/cu-$k.pass"
	done
	# cu_same RBD FILE LABEL: RBD passes every test FILE passes.
	cu_same() {
		local missing nr nf
		missing=$(comm -13 "$W/cu-$1.pass" "$W/cu-$2.pass")
		nr=$(wc -l <"$W/cu-$1.pass") nf=$(wc -l <"$W/cu-$2.pass")
		if [ "$nf" -gt 50 ] && [ -z "$missing" ]; then
			ok "iscsi-test-cu: $3 passes all $nf tests its file twin passes ($nr passed)"
		else
			bad "iscsi-test-cu: $3" "file passes $nf, rbd $nr; rbd misses: $(echo $missing)"
		fi
	}
	cu_same rbd file "the rbd: LUN"
	cu_same rbd-room file-room "the room on RBD (an initiator's own clone)"
else
	bad "iscsi-test-cu" "wupan-target did not start: $(tail -n 3 "$W/wt-cu.log")"
fi
suite_end
