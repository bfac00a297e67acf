#!/bin/bash
# wupan-target --trace and the boot-storm replay tool (bench/target/storm.c):
#   trace-exact      the trace holds exactly the commands known clients sent
#                    (dp_client's TEST UNIT READY and READs at given LBAs,
#                    iscsi-readcapacity16), line by line, in order
#   trace-roundtrip  replaying tests/target/storm/small.trace (READ/WRITE 6,
#                    10, 12, 16, SYNCHRONIZE CACHE, a READ past the end)
#                    records the same commands with the same status again
#   storm-overlays   4 clients replay it at once against an overlay LUN,
#                    each with its own initiator name: every command
#                    answered, every block a client wrote read back as its
#                    own, no other client's
#   storm-down       the replay against a port nobody listens on fails,
#                    saying why
# The daemon is the ASan build when it exists.  Ports 40280-40289.
set -u
cd "$(dirname "$0")/../.."
. tests/target/lib.sh
trap t_cleanup EXIT
t_lock storm || exit 1

work=$O/target-tests/storm
IQN=iqn.2026-01.org.wupan:storm-test
small=tests/target/storm/small.trace
[ -x "$O/asan/bin/wupan-target" ] && WUPAN_TARGET=$O/asan/bin/wupan-target
rm -rf "$work"
mkdir -p "$work"
for prog in "storm:bench/target/storm.c bench/target/storm_trace.c:-liscsi" dp_client:tests/target/dp_client.c:; do
	IFS=: read -r name src lib <<<"$prog"
	if ! ${CC:-cc} -O2 -Wall -o "$work/$name" $src $lib 2>"$work/cc.log"; then
		t_fail build "cannot build $name: $(head -n 3 "$work/cc.log")"
		t_done
		exit 1
	fi
done
img=$work/disk.img
truncate -s 16M "$img"

# commands TRACE: its lines in arrival order without the two timing columns
# (t_us, latency), each session named by its initiator and its order among
# that initiator's sessions (name#1, name#2), after checking that it ends in
# an ISID of 12 hex digits.
commands() {
	grep -v '^#' "$1" | sort -n -s -k1,1 | awk '{
		i = index($2, ",i,0x")
		isid = substr($2, i + 5)
		if (i == 0 || length(isid) != 12 || isid !~ /^[0-9a-f]+$/) {
			print "bad session " $2
			next
		}
		name = substr($2, 1, i - 1)
		if (!($2 in ord))
			ord[$2] = ++count[name]
		$2 = name "#" ord[$2]
		$1 = ""; $9 = ""
		print }' | sed 's/^ //; s/  / /g; s/:dp[0-9]*#/:dpN#/'
}

# up NAME ARGS...: wupan-target on the next free port of 40280-40289 (the
# range is inside the ephemeral one: a client's socket may hold a port);
# sets PORT.
next_port=40280
up() {
	local name=$1
	shift
	while [ $next_port -lt 40290 ]; do
		PORT=$next_port
		next_port=$((next_port + 1))
		wt_start "$work/$name.log" --listen "127.0.0.1:$PORT" "$@" && return 0
		grep -q 'Address already in use' "$work/$name.log" || return 1
	done
	return 1
}

# bad_exit NAME: the daemon did not exit 0 on SIGTERM (a sanitizer report,
# a crash in the trace writer): a case of its own.
bad_exit() {
	t_fail "$1-exit" "wupan-target did not exit cleanly: $(grep -m 3 -E 'ERROR|SUMMARY|runtime error' "$work/$1.log")"
}

# trace-exact.
if up exact --target "$IQN" --lun "$img" --trace "$work/exact.trace"; then
	"$work/dp_client" login $PORT "$IQN" >"$work/exact.client" 2>&1
	"$work/dp_client" verify $PORT "$IQN" 3 >>"$work/exact.client" 2>&1
	iscsi-readcapacity16 "iscsi://127.0.0.1:$PORT/$IQN/0" >>"$work/exact.client" 2>&1
	wt_stop "$WT_PID" || bad_exit exact
	lib=iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-readcapacity16
	cat >"$work/exact.want" <<EOF
iqn.2025-01.org.wupan:dpN#1 0 TEST_UNIT_READY - - - 0 GOOD 000000000000
iqn.2025-01.org.wupan:dpN#1 0 READ_10 0 2048 r 1048576 GOOD 28000000000000080000
iqn.2025-01.org.wupan:dpN#1 0 READ_10 2048 2048 r 1048576 GOOD 28000000080000080000
iqn.2025-01.org.wupan:dpN#1 0 READ_10 4096 2048 r 1048576 GOOD 28000000100000080000
$lib#1 0 TEST_UNIT_READY - - - 0 GOOD 000000000000
$lib#1 0 READ_CAPACITY_16 - - r 32 GOOD 9e100000000000000000000000200000
EOF
	commands "$work/exact.trace" >"$work/exact.got"
	if ! head -n 1 "$work/exact.trace" | grep -q '^# wupan-target trace 1: t_us session'; then
		t_fail trace-exact "no header line in $work/exact.trace"
	elif diff -u "$work/exact.want" "$work/exact.got" >"$work/exact.diff"; then
		t_ok trace-exact
	else
		t_fail trace-exact "the trace differs from what the clients sent: $(head -n 12 "$work/exact.diff")"
	fi
else
	t_fail trace-exact "wupan-target did not start: $(tail -n 2 "$work/exact.log")"
fi

# trace-roundtrip: libiscsi's login adds a TEST UNIT READY to each session;
# drop each session's first one from the recording.
if up round --target "$IQN" --lun "$img" --trace "$work/round.trace"; then
	"$work/storm" -n 1 -S -i iqn.2026-01.org.wupan.client:t -t 60 \
		127.0.0.1:$PORT "$IQN" "$small" >"$work/round.out" 2>&1
	rc=$?
	wt_stop "$WT_PID" || bad_exit round
	commands "$small" | sed 's/:t#/:t000#/' >"$work/round.want"
	commands "$work/round.trace" |
		awk '$3 == "TEST_UNIT_READY" && !seen[$1]++ && n++ < 2 { next } { print }' \
			>"$work/round.got"
	if [ $rc -ne 0 ]; then
		t_fail trace-roundtrip "the replay failed: $(tail -n 3 "$work/round.out")"
	elif diff -u "$work/round.want" "$work/round.got" >"$work/round.diff"; then
		t_ok trace-roundtrip
	else
		t_fail trace-roundtrip "the replay's trace differs: $(head -n 12 "$work/round.diff")"
	fi
else
	t_fail trace-roundtrip "wupan-target did not start: $(tail -n 2 "$work/round.log")"
fi

# storm-overlays.
if up ovl --target "$IQN" --lun "golden=$img,overlays=$work/overlays,mode=reset"; then
	"$work/storm" -n 4 -v -S -t 60 127.0.0.1:$PORT "$IQN" "$small" >"$work/ovl.out" 2>&1
	rc=$?
	wt_stop "$WT_PID" || bad_exit ovl
	out=$(grep '^clients=' "$work/ovl.out")
	n=$(grep -vc '^#' "$small")
	if [ $rc -ne 0 ]; then
		t_fail storm-overlays "the replay failed: $(tail -n 3 "$work/ovl.out")"
	elif ! grep -q "commands=$((4 * n)) answered=$((4 * n)) failed=0 status_differs=0 verified_blocks=[1-9][0-9]* bad_blocks=0 " <<<"$out"; then
		t_fail storm-overlays "unexpected result: $out"
	elif [ "$(ls "$work/overlays"/*.ovl 2>/dev/null | wc -l)" -ne 4 ]; then
		t_fail storm-overlays "want 4 overlays, one per initiator: $(ls "$work/overlays")"
	else
		t_ok storm-overlays
	fi
else
	t_fail storm-overlays "wupan-target did not start: $(tail -n 2 "$work/ovl.log")"
fi

# storm-down: port 40289 has no listener.
if "$work/storm" -n 2 -t 20 127.0.0.1:40289 "$IQN" "$small" >"$work/down.out" 2>&1; then
	t_fail storm-down "exit 0 with no target: $(tail -n 2 "$work/down.out")"
elif ! grep -q 'login: .*[Rr]efused' "$work/down.out" || ! grep -q FAILED "$work/down.out"; then
	t_fail storm-down "no reason given: $(tail -n 3 "$work/down.out")"
else
	t_ok storm-down
fi
t_done
