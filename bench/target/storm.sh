#!/bin/bash
# make bench-storm: a boot storm.  bench/target/storm replays a recorded boot
# (bench/target/traces/FW.trace, wupan-target --trace of tests/linux's guest:
# iPXE's reads, then the operating system's own session) from CLIENTS
# sessions at once, each at queue depth 1 back to back, each with an
# initiator name of its own.  Reported, in one run, as ratios:
#  (a) issue 10: every client on one image, wupan-target against tgtd: the
#      time until all finish and the p99 command latency (goal >= 2x tgtd);
#      and wupan-target with one reactor pinned to one core against two
#      reactors on both cores (goal 1.7x), with the target's CPU time per
#      command and the replay tool's own CPU time, since with 2 cores the
#      tool takes one of them;
#  (b) issue 11: every client on its own copy-on-write overlay of ONE golden
#      image (wupan-target, lun golden=... overlays=... mode=reset) against
#      tgtd serving CLIENTS full copies (one LUN each): the time until all
#      finish and the disk space used, du of golden + overlays against du of
#      the copies (goals >= 2x faster, <= 1/20 of the space).
# Speeds are reported, never judged: no pass/fail on them.  A replay that
# loses a command or (in b) reads back wrong data fails the run.
# Environment: O, STORM_TRACES (default "bios uefi"), STORM_TRACE_DIR (default
# bench/target/traces), CLIENTS (default 64).
# Ports 40270-40279, tgtd control ports 71-72.
set -u
cd "$(dirname "$0")/../.."
. tests/target/lib.sh
trap t_cleanup EXIT
t_lock bench-storm || exit 1

work=$O/bench-storm
IQN=iqn.2026-01.org.wupan:storm
clients=${CLIENTS:-64}
traces=${STORM_TRACES:-bios uefi}
rm -rf "$work"
mkdir -p "$work"
${CC:-cc} -O2 -Wall -o "$work/storm" bench/target/storm.c bench/target/storm_trace.c -liscsi || exit 1

# CPU ticks (user + system) a process used so far.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
line() { printf '%-46s %12s %12s %7s\n' "$@" | tee -a "$work/result.txt"; }
# field KEY LINE: a value of the replay tool's key=value line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

# replay NAME PID STORM-ARGS...: runs the replay (under $PIN, if set)
# against the target PID;
# leaves its line in $work/NAME.out and "wall p99 cmds us-per-cmd client-cpu"
# in $R.
replay() {
	local name=$1 pid=$2 t0 t1 out
	shift 2
	t0=$(ticks "$pid")
	${PIN:-} "$work/storm" -n "$clients" -t 900 "$@" >"$work/$name.out" 2>"$work/$name.err"
	local rc=$?
	t1=$(ticks "$pid")
	out=$(cat "$work/$name.out")
	if [ $rc -ne 0 ]; then
		echo "storm: $name FAILED: $(tail -n 3 "$work/$name.err")"
		failed=1
	fi
	R="$(field wall_s "$out") $(field p99_us "$out") $(field commands "$out")"
	R="$R $(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$(field answered "$out")" \
		'BEGIN {printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0)}') $(field cpu_s "$out")"
}

# An image of the guest's size filled with data (not sparse), so both
# targets read real pages; the fixture's own image when it is built.
image() {
	local fw=$1 img=$2
	if [ -f "$O/linux/$fw.img" ]; then
		cp --sparse=never "$O/linux/$fw.img" "$img"
	else
		head -c $((48 << 20)) /dev/urandom >"$img"
	fi
	# On the disk now, or the first SYNCHRONIZE CACHE pays for the copy.
	sync "$img"
}

# drop_cache FILE...: their clean pages out of the page cache.
drop_cache() {
	local f
	for f in "$@"; do dd if="$f" iflag=nocache count=0 status=none; done
}

failed=0
: >"$work/result.txt"
for fw in $traces; do
	trace=${STORM_TRACE_DIR:-bench/target/traces}/$fw.trace
	[ -f "$trace" ] || { echo "storm: $trace missing (make record-boot-trace)"; exit 1; }
	n=$(grep -vc '^#' "$trace")
	echo "== $fw boot: $n commands per client, $clients clients ($trace)" | tee -a "$work/result.txt"
	printf '%-46s %12s %12s %7s\n' metric wupan tgtd ratio | tee -a "$work/result.txt"

	# (a) One image for every client.
	img=$work/$fw.img
	image "$fw" "$img"
	wt_start "$work/wupan-$fw.log" --listen 127.0.0.1:40270 --target "$IQN" --lun "$img" \
		--max-per-source 4096 || { echo "wupan-target did not start"; exit 1; }
	wpid=$WT_PID
	replay "$fw-wupan" "$wpid" -s 127.0.0.1:40270 "$IQN" "$trace"
	read -r ww wp wn wc wcl <<<"$R"
	wt_stop "$wpid"
	tgtd_start 71 40271 "$IQN" "$img" "$work/tgtd-$fw.log" || { echo "tgtd did not start"; exit 1; }
	tpid=$TGTD_PID
	replay "$fw-tgtd" "$tpid" -s -l 1 127.0.0.1:40271 "$IQN" "$trace"
	read -r tw tp tn tc tcl <<<"$R"
	tgtd_stop 71 "$tpid"
	line "one image: time until all finish (s)" "$ww" "$tw" "$(ratio "$tw" "$ww")"
	line "one image: p99 command latency (us)" "$wp" "$tp" "$(ratio "$tp" "$wp")"
	line "  target CPU per command (us)" "$wc" "$tc" "$(ratio "$tc" "$wc")"
	line "  replay tool CPU (s)" "$wcl" "$tcl" ""

	# 1 core against 2: one reactor on CPU 0, the replay tool on CPU 1;
	# then two reactors on both CPUs, the tool anywhere.
	if [ "$(nproc)" -ge 2 ]; then
		wt_start "$work/wupan1-$fw.log" --listen 127.0.0.1:40272 --target "$IQN" --lun "$img" \
			--max-per-source 4096 --threads 1 || { echo "wupan-target did not start"; exit 1; }
		wpid=$WT_PID
		taskset -a -p -c 0 "$wpid" >/dev/null
		PIN="taskset -c 1" replay "$fw-wupan-1core" "$wpid" -s 127.0.0.1:40272 "$IQN" "$trace"
		read -r w1 p1 n1 c1 cl1 <<<"$R"
		wt_stop "$wpid"
		wt_start "$work/wupan2-$fw.log" --listen 127.0.0.1:40273 --target "$IQN" --lun "$img" \
			--max-per-source 4096 --threads 2 || { echo "wupan-target did not start"; exit 1; }
		wpid=$WT_PID
		replay "$fw-wupan-2core" "$wpid" -s 127.0.0.1:40273 "$IQN" "$trace"
		read -r w2 p2 n2 c2 cl2 <<<"$R"
		wt_stop "$wpid"
		printf '%-46s %12s %12s %7s\n' "" "2 cores" "1 core" ratio | tee -a "$work/result.txt"
		line "wupan 1 -> 2 cores: time until all finish (s)" "$w2" "$w1" "$(ratio "$w1" "$w2")"
		line "  p99 command latency (us)" "$p2" "$p1" "$(ratio "$p1" "$p2")"
		line "  target CPU per command (us)" "$c2" "$c1" ""
		line "  replay tool CPU share of the run" "$(ratio "$cl2" "$w2")" "$(ratio "$cl1" "$w1")" ""
		awk -v c="$cl2" -v w="$w2" 'BEGIN {exit !(w > 0 && c / w > 0.6)}' &&
			echo "  note: with 2 cores the replay tool used $(ratio "$cl2" "$w2") of a CPU for the" \
				"whole run: the 2-core figure is bounded by the client, not the target" |
			tee -a "$work/result.txt"
	else
		echo "  (one CPU: the 1 -> 2 core comparison is skipped)" | tee -a "$work/result.txt"
	fi

	# (b) A room: overlays of one golden image against full copies, both
	# targets up at once.  Cold: the page cache holds none of the images
	# (a room's first boot of the day; dropped per file, so nothing else
	# on the machine is touched), then warm: a second boot right after.
	golden=$work/$fw-golden.img
	mv "$img" "$golden"
	ovl=$work/$fw-overlays
	copies=$work/$fw-copies
	mkdir -p "$copies"
	start=$(date +%s.%N)
	for i in $(seq 1 "$clients"); do cp "$golden" "$copies/pc$i.img"; done
	# Written out before the run: a room's copies exist before its boot.
	sync "$copies"/*.img
	copy_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
	wt_start "$work/wupan-room-$fw.log" --listen 127.0.0.1:40274 --target "$IQN" \
		--lun "golden=$golden,overlays=$ovl,mode=reset" --max-per-source 4096 ||
		{ echo "wupan-target did not start"; exit 1; }
	wpid=$WT_PID
	tgtd_start 72 40275 "$IQN" "$copies/pc1.img" "$work/tgtd-room-$fw.log" ||
		{ echo "tgtd did not start"; exit 1; }
	tpid=$TGTD_PID
	for i in $(seq 2 "$clients"); do
		tgtadm -C 72 --lld iscsi --mode logicalunit --op new --tid 1 --lun "$i" \
			-b "$copies/pc$i.img" || { echo "tgtd: LUN $i failed"; exit 1; }
	done
	printf '%-46s %12s %12s %7s\n' "" "overlays" "copies" ratio | tee -a "$work/result.txt"
	for cache in cold warm; do
		[ $cache = cold ] && drop_cache "$golden"
		replay "$fw-room-$cache-wupan" "$wpid" -v 127.0.0.1:40274 "$IQN" "$trace"
		read -r rw rp rn rc rcl <<<"$R"
		[ $cache = cold ] && drop_cache "$copies"/*.img
		replay "$fw-room-$cache-tgtd" "$tpid" -v -L 1 127.0.0.1:40275 "$IQN" "$trace"
		read -r qw qp qn qc qcl <<<"$R"
		line "room, $cache: time until all finish (s)" "$rw" "$qw" "$(ratio "$qw" "$rw")"
		line "room, $cache: p99 command latency (us)" "$rp" "$qp" "$(ratio "$qp" "$rp")"
		line "  target CPU per command (us)" "$rc" "$qc" "$(ratio "$qc" "$rc")"
	done
	wt_stop "$wpid"
	tgtd_stop 72 "$tpid"
	wspace=$(du -sk "$golden" "$ovl" | awk '{s += $1} END {print s}')
	tspace=$(du -sk "$copies" | awk '{print $1}')
	line "room: disk space used (KiB, du)" "$wspace" "$tspace" "$(ratio "$wspace" "$tspace")"
	line "  (goal for space: <= 0.05; making the copies took ${copy_s} s)" "" "" ""
	rm -rf "$copies" "$golden" "$ovl"
done
echo "results in $work/result.txt"
[ $failed -eq 0 ]
