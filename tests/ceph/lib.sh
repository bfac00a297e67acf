# Shared by the Ceph suites that run gateways against a cluster of their own
# (tests/ceph/fleet.sh, tests/ceph/takeover.sh); sourced after tests/suite.sh.
# ceph_suite_start PORT: one run at a time on the cluster's ports ($O/ceph-
# PORT.lock), the tools checked, tests/fleet/fleet_client.c built as $CL,
# the cluster started in $C ($CONF; monitor PORT, OSD PORT+10..PORT+49) and
# stopped on exit with every gateway in PIDS.  A failure ends the suite.
ceph_suite_start() {
	exec 8>"$O/ceph-$1.lock"
	flock -w 900 8 || ceph_suite_fail setup "another run holds $O/ceph-$1.lock"
	C=$W/cluster
	CONF=$C/ceph.conf
	PIDS=()
	trap ceph_suite_cleanup EXIT
	for t in rbd ceph ceph-mon ceph-osd; do
		command -v $t >/dev/null ||
			ceph_suite_fail setup "$t missing (Debian ceph-mon ceph-osd ceph-common)"
	done
	CL=$W/fleet_client
	${CC:-cc} -O2 -Wall -o "$CL" tests/fleet/fleet_client.c -liscsi ||
		ceph_suite_fail setup "tests/fleet/fleet_client.c does not build (Debian libiscsi-dev)"
	sh tests/ceph/cluster.sh start "$C" "$1" 2>"$W/cluster.err" ||
		ceph_suite_fail cluster "did not start: $(tail -n 8 "$W/cluster.err")"
}

# ceph_suite_fail NAME WHY: the suite cannot go on.
ceph_suite_fail() {
	bad "$1" "$2"
	suite_end
	exit 1
}

# Kills the gateways left, stops the cluster.
ceph_suite_cleanup() {
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	sh tests/ceph/cluster.sh stop "$C"
}

rbdc() { timeout 60 rbd -c "$CONF" "$@"; }

# gateway_start NAME PORT N TARGETS: gateway NAME ($WT) on 127.0.0.1:PORT
# with its control socket $W/NAME.sock, the cluster and TARGETS (its target
# and lun lines) in $W/NAME.conf; started once its log ($W/NAME.log,
# appended to) says "serving" for the N-th time.  Its PID goes to NAME_PID
# and PIDS.  A gateway that does not start ends the suite.
gateway_start() {
	local name=$1 port=$2 n=$3 pid
	printf '%s\n' "listen 127.0.0.1:$port" "control $W/$name.sock" \
		"ceph-conf $CONF" "ceph-timeout 20" "$4" >"$W/$name.conf"
	"$WT" --config "$W/$name.conf" 2>>"$W/$name.log" &
	pid=$!
	PIDS+=("$pid")
	eval "${name}_PID=$pid"
	for _ in $(seq 200); do
		[ "$(grep -c "serving" "$W/$name.log" 2>/dev/null)" = "$n" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	ceph_suite_fail "gateway $name" "did not start: $(tail -n 3 "$W/$name.log")"
}

# ctl GATEWAY ARGS...: wupan-target ctl on that gateway's socket.
ctl() {
	local g=$1
	shift
	timeout 60 "$WT" ctl --socket "$W/$g.sock" "$@"
}

# gateways_stop NAME...: SIGTERM to each gateway NAME (pid in $NAME_PID,
# log in $W/NAME.log); a case each: exit 0 and no sanitizer report.
gateways_stop() {
	local g pid rc
	for g in "$@"; do
		eval "pid=\$${g}_PID"
		kill -TERM "$pid"
		wait "$pid"
		rc=$?
		if [ $rc = 0 ] && ! grep -q "ERROR: \(Address\|Leak\)Sanitizer\|runtime error" "$W/$g.log"; then
			ok "gateway $g: exit 0, no sanitizer report"
		else
			bad "gateway $g" "exit $rc: $(grep -m3 -E 'ERROR|runtime error' "$W/$g.log")"
		fi
	done
}
