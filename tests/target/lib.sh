# Helpers for the wupan-target suites: start and stop wupan-target and tgtd
# on loopback, killing only the PIDs recorded here.  Sourced by bash.
# Ports 23260-23299, tgtd control ports 11-19 (DEVELOPERS.md).

. tests/ports.sh

O=${O:-build}
WUPAN_TARGET=${WUPAN_TARGET:-$O/bin/wupan-target}
T_PIDS=()
T_TGTD_CTL=()

# t_lock NAME: waits until no other run of suite NAME uses this build tree,
# so two `make test` in one tree neither share ports nor delete each other's
# work directory.  The lock goes with the process.
t_lock() {
	mkdir -p "$O/target-tests"
	exec 9>"$O/target-tests/$1.lock"
	flock -w 900 9 || { echo "another run of $1 holds $O/target-tests/$1.lock"; return 1; }
}

# wt_start LOG ARGS...: starts wupan-target, waits until it listens.
wt_start() {
	local log=$1 port
	shift
	"$WUPAN_TARGET" "$@" 2>"$log" 9>&- &
	T_PIDS+=($!)
	WT_PID=$!
	for _ in $(seq 50); do
		grep -q "serving" "$log" 2>/dev/null && return 0
		kill -0 "$WT_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# wt_stop PID: SIGTERM, then SIGKILL after 5 s; returns the exit status.
wt_stop() {
	local pid=$1 rc
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	return $rc
}

# tgtd_up CTL PORT LOG: tgtd on 127.0.0.1:PORT, with no target yet, once
# its control socket answers; its PID in TGTD_PID.
tgtd_up() {
	local ctl=$1 port=$2 log=$3
	tgtd -f -C "$ctl" --iscsi portal=127.0.0.1:"$port" >"$log" 2>&1 9>&- &
	T_PIDS+=($!)
	TGTD_PID=$!
	T_TGTD_CTL+=("$ctl")
	for _ in $(seq 50); do
		tgtadm -C "$ctl" --mode system --op show >/dev/null 2>&1 && break
		sleep 0.1
	done
}

# tgtd_start CTL PORT IQN IMAGE LOG: tgtd with the image as LUN 1.
tgtd_start() {
	local ctl=$1 iqn=$3 img=$4
	tgtd_up "$ctl" "$2" "$5"
	tgtadm -C "$ctl" --lld iscsi --mode target --op new --tid 1 -T "$iqn" &&
		tgtadm -C "$ctl" --lld iscsi --mode logicalunit --op new \
			--tid 1 --lun 1 -b "$img" &&
		tgtadm -C "$ctl" --lld iscsi --mode target --op bind --tid 1 \
			-I ALL
}

# tgtd_stop CTL PID: tgtd ignores SIGTERM (RECIPES.md).
tgtd_stop() {
	local ctl=$1 pid=$2
	tgtadm -C "$ctl" --lld iscsi --mode target --op delete --force \
		--tid 1 >/dev/null 2>&1
	tgtadm -C "$ctl" --mode system --op delete >/dev/null 2>&1
	for _ in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# Kills whatever of ours is still running (trap on EXIT).
t_cleanup() {
	for ctl in "${T_TGTD_CTL[@]}"; do
		tgtadm -C "$ctl" --lld iscsi --mode target --op delete --force \
			--tid 1 >/dev/null 2>&1
		tgtadm -C "$ctl" --mode system --op delete >/dev/null 2>&1
	done
	for pid in "${T_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	return 0
}

T_PASS=0 T_FAIL=0 T_SKIP=0
# t_ok NAME / t_fail NAME WHY / t_skip NAME WHY: one line per case.
t_ok() { echo "ok   $1"; T_PASS=$((T_PASS + 1)); }
t_fail() { echo "FAIL $1: $2"; T_FAIL=$((T_FAIL + 1)); }
t_skip() { echo "skip $1: $2"; T_SKIP=$((T_SKIP + 1)); }
t_done() {
	echo "$T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	[ "$T_FAIL" -eq 0 ]
}
