#!/bin/sh
# A throwaway single-node Ceph cluster for the RBD tests and benchmark: one
# monitor and one OSD on memstore, on loopback, everything under DIR, no
# systemd, no cephx.
#   cluster.sh start DIR PORT   the monitor on v2 127.0.0.1:PORT, the other
#                               daemons on PORT+10..PORT+49; prints nothing
#                               on success; DIR/ceph.conf is the client's
#                               config; pool "rbd" exists
#   cluster.sh stop DIR         kills the daemons by their pid files
# A failed start stops what it started and shows the daemons' last log lines.
set -eu

usage() {
	echo "usage: $0 start DIR PORT | stop DIR" >&2
	exit 2
}

# alive PID: the process runs.  A dead daemon stays a zombie until init
# reaps it, which can take seconds (kill -0 still succeeds then).
alive() {
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}

# Kills the daemons whose pid files are in DIR/run, and waits for them.
# SIGKILL: the cluster is thrown away (memstore), nothing needs flushing, and
# an OSD told to stop takes seconds (it tells the monitor first).
stop() {
	d=$1
	for f in "$d"/run/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill -KILL "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			alive "$pid" || break
			sleep 0.1
		done
		rm -f "$f"
	done
}

# Fails the start: stops what started, shows why.
fail() {
	echo "ceph cluster: $1" >&2
	for l in "$D"/log/*.log; do
		[ -f "$l" ] || continue
		echo "--- $l" >&2
		tail -n 5 "$l" >&2
	done
	stop "$D"
	exit 1
}

# Runs a client command with a bound on its wait for the monitor.
ceph_c() {
	timeout 30 "$@" -c "$D/ceph.conf"
}

# Waits up to 30 s for the pid file $1 (the daemons fork before writing it).
wait_pid() {
	for _ in $(seq 300); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

[ $# -ge 2 ] || usage
case $1 in
stop)
	stop "$2"
	exit 0
	;;
start)
	[ $# -eq 3 ] || usage
	;;
*)
	usage
	;;
esac

mkdir -p "$2"
D=$(cd "$2" && pwd)
PORT=$3
for t in monmaptool ceph-mon ceph-osd ceph rbd; do
	command -v $t >/dev/null ||
		fail "$t missing (Debian ceph-mon ceph-osd ceph-common)"
done
stop "$D"
rm -rf "${D:?}"/mon "$D"/osd "$D"/run "$D"/log "$D"/monmap
mkdir -p "$D/mon" "$D/osd/ceph-0" "$D/run" "$D/log"
fsid=$(cat /proc/sys/kernel/random/uuid)
cat >"$D/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$PORT
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
osd objectstore = memstore
memstore device bytes = 1073741824
ms bind ipv6 = false
ms bind port min = $((PORT + 10))
ms bind port max = $((PORT + 49))
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
pid file = $D/run/\$name.pid
mon data = $D/mon/\$cluster-\$id
osd data = $D/osd/\$cluster-\$id
keyring = /dev/null
mon warn on pool no redundancy = false
# Small: a test machine with a few other jobs.
osd memory target = 268435456
osd memory cache min = 33554432
bluestore cache size = 33554432
osd op num shards = 1
# Short PG logs: with the defaults (up to 10000 entries a PG) a run fills
# them in its first minutes, and each OSD op costs more as they grow (make
# bench-rbd: a quarter to a third more OSD CPU per I/O in its second round,
# reads and writes alike); with these it is the same from the first op on.
osd min pg log entries = 100
osd max pg log entries = 500
osd pg log dups tracked = 500
osd op num threads per shard = 2
mon osd down out interval = 0
[client]
# Clients (rbd, ceph, wupan-target) side by side: no admin socket each.
admin socket =
[osd]
osd max object name len = 256
osd max object namespace len = 64
EOF

# The daemons outlive this script: they must not keep its caller's
# descriptors open (a lock the caller holds, e.g. flock's, would stay held
# until the cluster stops).
daemon() {
	(exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- && exec "$@")
}

# The monitor's port sits in the kernel's ephemeral range: a connection
# another test made may still hold it in TIME-WAIT (60 s), and ceph-mon,
# which binds without SO_REUSEADDR, then gives up after 10 s.  Wait for it.
for _ in $(seq 90); do
	[ -z "$(ss -Htan "sport = :$PORT" 2>/dev/null)" ] && break
	sleep 1
done

monmaptool --create --addv a "[v2:127.0.0.1:$PORT]" --fsid "$fsid" \
	"$D/monmap" >/dev/null 2>&1 || fail "monmaptool failed"
ceph-mon -c "$D/ceph.conf" --mkfs -i a --monmap "$D/monmap" \
	>"$D/log/mkfs-mon.out" 2>&1 || fail "ceph-mon --mkfs failed"
daemon ceph-mon -c "$D/ceph.conf" -i a >"$D/log/mon.out" 2>&1 ||
	fail "ceph-mon did not start"
wait_pid "$D/run/mon.a.pid" || fail "no monitor pid file"
osd=$(ceph_c ceph osd create 2>"$D/log/osd-create.err") ||
	fail "the monitor does not answer on 127.0.0.1:$PORT"
[ "$osd" = 0 ] || fail "osd create gave '$osd', not 0"
ceph-osd -c "$D/ceph.conf" -i 0 --mkfs >"$D/log/mkfs-osd.out" 2>&1 ||
	fail "ceph-osd --mkfs failed"
daemon ceph-osd -c "$D/ceph.conf" -i 0 >"$D/log/osd.out" 2>&1 ||
	fail "ceph-osd did not start"
wait_pid "$D/run/osd.0.pid" || fail "no OSD pid file"
# Healthy enough for a pool: the OSD is up (the pool's PGs then go active).
up=0
for _ in $(seq 120); do
	if ceph_c ceph osd dump 2>/dev/null | grep -q '^osd\.0 up'; then
		up=1
		break
	fi
	sleep 0.5
done
[ $up = 1 ] || fail "osd.0 not up after 60 s"
ceph_c ceph osd pool create rbd 8 >/dev/null 2>&1 || fail "pool create failed"
ceph_c rbd pool init rbd >/dev/null 2>&1 || fail "rbd pool init failed"
