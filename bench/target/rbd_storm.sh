# The boot-storm part of make bench-rbd (sourced by bench/target/rbd.sh,
# whose cluster, $work, rbdc, ticks, hz, osd_pid and ratio it uses; see
# its header).
# Per trace and round: wupan-target's room on RBD (with its golden cache,
# then with golden-cache 0), wupan-target with one
# plain rbd: LUN per pre-made clone (its data path without the room's
# clone making at login), tgtd on pre-made clones, storm_rbd on pre-made
# clones; the time until all clients finish, the
# target's and the OSD's CPU time per command of the trace (librbd's own:
# storm_rbd's CPU time, librbd's threads included), then the medians.
storm_clients=${STORM_CLIENTS:-16}
storm_runs=${STORM_RUNS:-3}
storm_iqn=iqn.2026-01.org.wupan:bench-rbd-storm
# field KEY LINE: a value of a replay tool's key=value line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
# us_per CPU-TICKS COMMANDS: microseconds of CPU per command.
us_per() { awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN {printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0)}'; }
sline() { printf '%-40s %9s %9s %9s %7s %8s\n' "$@" | tee -a "$work/result.txt"; }
# versus LABEL WUPAN TGT LIBRBD: a row with tgt-rbd's and librbd's over wupan's.
versus() { sline "$1" "$2" "$3" "$4" "$(ratio "$3" "$2")" "$(ratio "$4" "$2")"; }
# medians LABEL TIMES CPUS OSDS INDENT: the medians of one wupan setup's
# arrays (named) against tgt-rbd's (tw tc to) and librbd's (rw rc ro).
medians() {
	local -n t=$2 c=$3 o=$4
	local i=${5:-median: }
	versus "$1" "$(median "${t[@]}")" "$(median "${tw[@]}")" "$(median "${rw[@]}")"
	versus "${i}target CPU per command (us)" "$(median "${c[@]}")" "$(median "${tc[@]}")" "$(median "${rc[@]}")"
	versus "${i}OSD CPU per command (us)" "$(median "${o[@]}")" "$(median "${to[@]}")" "$(median "${ro[@]}")"
}

# storm_replay NAME PID CMD...: runs a replay; sets S_WALL, S_CMDS, S_TGT
# (ticks of PID, 0 without one) and S_OSD (the OSD's ticks); the tool's
# line is in $work/NAME.out.
storm_replay() {
	local name=$1 pid=$2 t0=0 t1=0 o0 o1 out
	shift 2
	[ "$pid" != 0 ] && t0=$(ticks "$pid")
	o0=$(ticks "$osd_pid")
	"$@" >"$work/$name.out" 2>"$work/$name.err"
	local rc=$?
	o1=$(ticks "$osd_pid")
	[ "$pid" != 0 ] && t1=$(ticks "$pid")
	out=$(grep '^clients=' "$work/$name.out")
	if [ $rc -ne 0 ] || [ -z "$out" ]; then
		echo "storm: $name FAILED: $(tail -n 3 "$work/$name.err")" | tee -a "$work/result.txt"
		storm_failed=1
	fi
	S_WALL=$(field wall_s "$out")
	S_CMDS=$(field commands "$out")
	S_TGT=$((t1 - t0))
	S_OSD=$((o1 - o0))
}

# drop PREFIX: removes the clones of one replay (their copied-up objects
# would fill the test cluster's 1 GiB memstore OSD, which then blocks
# every write: clones are made fresh for every replay anyway).
drop() {
	"$work/storm_rbd" remove "$CONF" "rbd/$1" || { echo "storm: cannot remove rbd/$1*"; exit 1; }
}

# wupan_row KIND PORT PREFIX REPLAY-OPTION -- WUPAN-TARGET-OPTION...: one
# replay through a wupan-target on PORT (log and output named by KIND),
# stopped after it, then its clones rbd/PREFIX* dropped; S_* as
# storm_replay leaves them.  REPLAY-OPTION: one more word for storm, or "".
# A room with spares=N is replayed once its N spares are ready (ctl list);
# S_SPARES: the seconds that took.
wupan_row() {
	local kind=$1 port=$2 prefix=$3 ropt=$4 log want s0
	shift 5
	log=$work/storm-$kind-$fw.log
	s0=$(date +%s.%N)
	wt_start "$log" --listen 127.0.0.1:"$port" --ceph-conf "$CONF" \
		--control "$work/storm-$kind.sock" \
		--target "$storm_iqn" --max-per-source 4096 "$@" ||
		{ echo "storm: wupan-target did not start: $(tail -n 2 "$log")"; exit 1; }
	want=$(grep -o 'spares=[0-9]*' <<<"$*" | head -n 1 | cut -d= -f2)
	if [ -n "$want" ]; then
		for _ in $(seq 1500); do
			"$WUPAN_TARGET" ctl --socket "$work/storm-$kind.sock" list 2>/dev/null |
				grep -q " spares $want/$want$" && break
			sleep 0.2
		done
		S_SPARES=$(awk -v a="$s0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
	fi
	storm_replay "storm-$fw-$kind-$r" "$WT_PID" \
		"$work/storm" -n "$storm_clients" -v ${ropt:+"$ropt"} -t 900 127.0.0.1:"$port" "$storm_iqn" "$trace"
	wt_stop "$WT_PID"
	drop "$prefix"
}

storm_failed=0
for fw in ${STORM_TRACES:-bios uefi}; do
	trace=bench/target/traces/$fw.trace
	[ -f "$trace" ] || { echo "storm: $trace missing (make record-boot-trace)"; exit 1; }
	img=$work/storm-$fw.img
	if [ -f "$O/linux/$fw.img" ]; then
		src="tests/linux's $fw disk"
		cp "$O/linux/$fw.img" "$img"
	else
		src="48 MiB of random data (no $O/linux/$fw.img)"
		head -c $((48 << 20)) /dev/urandom >"$img"
	fi
	{ rbdc import "$img" "rbd/g$fw" && rbdc snap create "rbd/g$fw@g" &&
		rbdc snap protect "rbd/g$fw@g"; } >"$work/storm-setup.log" 2>&1 ||
		{ echo "storm: golden image: $(tail -n 2 "$work/storm-setup.log")"; exit 1; }
	rm -f "$img"
	echo "== storm on RBD, $fw boot: $(grep -vc '^#' "$trace") commands per client," \
		"$storm_clients clients, golden image $src" | tee -a "$work/result.txt"
	sline run/metric wupan tgt-rbd librbd w/tgt w/librbd
	sw=() sc=() so=() sm=() ww=() tw=() rw=() wc=() tc=() rc=() wo=() to=() ro=() mk=() pw=() pc=() po=() xw=() xc=() xo=()
	for r in $(seq "$storm_runs"); do
		# wupan-target: a room whose clones it makes at each iPXE login.
		wupan_row wupan 48270 "w$fw" "" -- \
			--lun "golden=rbd:rbd/g$fw@g,overlays=rbd:rbd/w$fw,mode=reset"
		ww+=("$S_WALL") wc+=("$(us_per "$S_TGT" "$S_CMDS")") wo+=("$(us_per "$S_OSD" "$S_CMDS")")
		# The same room without the golden cache.
		wupan_row nocache 48273 "x$fw" "" -- --golden-cache 0 \
			--lun "golden=rbd:rbd/g$fw@g,overlays=rbd:rbd/x$fw,mode=reset"
		xw+=("$S_WALL") xc+=("$(us_per "$S_TGT" "$S_CMDS")") xo+=("$(us_per "$S_OSD" "$S_CMDS")")
		# The room with a spare clone per client, made before the run.
		wupan_row spares 48274 "s$fw" "" -- \
			--lun "golden=rbd:rbd/g$fw@g,overlays=rbd:rbd/s$fw,mode=reset,spares=$storm_clients"
		sw+=("$S_WALL") sc+=("$(us_per "$S_TGT" "$S_CMDS")") so+=("$(us_per "$S_OSD" "$S_CMDS")") sm+=("$S_SPARES")

		# wupan-target without the room: one plain rbd: LUN per pre-made
		# clone, as tgtd serves them (its data path alone).
		"$work/storm_rbd" clone "$CONF" "rbd/g$fw@g" "rbd/p$fw" "$storm_clients" ||
			{ echo "storm: cannot make the plain LUNs' clones"; exit 1; }
		luns=()
		for k in $(seq 0 $((storm_clients - 1))); do
			luns+=(--lun "rbd:rbd/p$fw$(printf %03d "$k")")
		done
		wupan_row plain 48272 "p$fw" -L0 -- "${luns[@]}"
		pw+=("$S_WALL") pc+=("$(us_per "$S_TGT" "$S_CMDS")") po+=("$(us_per "$S_OSD" "$S_CMDS")")

		# tgtd: one LUN per clone, the clones made first.
		s=$(date +%s.%N)
		"$work/storm_rbd" clone "$CONF" "rbd/g$fw@g" "rbd/t$fw" "$storm_clients" ||
			{ echo "storm: cannot make tgtd's clones"; exit 1; }
		mk+=("$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')")
		tgtd_up 96 48271 "$work/storm-tgtd-$fw.log"
		tpid=$TGTD_PID
		tgtadm -C 96 --lld iscsi --mode target --op new --tid 1 -T "$storm_iqn" ||
			{ echo "storm: tgtd: no target"; exit 1; }
		for k in $(seq 0 $((storm_clients - 1))); do
			tgtadm -C 96 --lld iscsi --mode logicalunit --op new --tid 1 --lun $((k + 1)) \
				--bstype rbd --bsopts "conf=$CONF" -b "rbd/t$fw$(printf %03d "$k")" ||
				{ echo "storm: tgtd: LUN $((k + 1)) failed"; exit 1; }
		done
		tgtadm -C 96 --lld iscsi --mode target --op bind --tid 1 -I ALL
		storm_replay "storm-$fw-tgtd-$r" "$tpid" \
			"$work/storm" -n "$storm_clients" -v -L 1 -t 900 127.0.0.1:48271 "$storm_iqn" "$trace"
		tgtd_stop 96 "$tpid"
		drop "t$fw"
		tw+=("$S_WALL") tc+=("$(us_per "$S_TGT" "$S_CMDS")") to+=("$(us_per "$S_OSD" "$S_CMDS")")

		# librbd: the same replay in one process, on fresh clones.
		"$work/storm_rbd" clone "$CONF" "rbd/g$fw@g" "rbd/r$fw" "$storm_clients" ||
			{ echo "storm: cannot make storm_rbd's clones"; exit 1; }
		storm_replay "storm-$fw-librbd-$r" 0 \
			"$work/storm_rbd" replay -n "$storm_clients" -v -t 900 "$CONF" "rbd/r$fw" "$trace"
		drop "r$fw"
		cpu=$(field cpu_s "$(cat "$work/storm-$fw-librbd-$r.out")")
		rw+=("$S_WALL") rc+=("$(awk -v c="${cpu:-0}" -v n="$S_CMDS" 'BEGIN {printf "%.1f", (n > 0 ? c * 1e6 / n : 0)}')")
		ro+=("$(us_per "$S_OSD" "$S_CMDS")")
		versus "$r: time until all finish (s)" "${ww[-1]}" "${tw[-1]}" "${rw[-1]}"
		versus "$r:   room without golden cache (s)" "${xw[-1]}" "${tw[-1]}" "${rw[-1]}"
		versus "$r:   room with spares (s)" "${sw[-1]}" "${tw[-1]}" "${rw[-1]}"
		versus "$r:   wupan, plain LUNs on clones (s)" "${pw[-1]}" "${tw[-1]}" "${rw[-1]}"
	done
	medians "median: time until all finish (s)" ww wc wo ""
	medians "median, room without cache: time (s)" xw xc xo "  "
	medians "median, room with spares: time (s)" sw sc so "  "
	medians "median, wupan plain LUNs: time (s)" pw pc po "  "
	echo "  (tgt-rbd's and librbd's clones were made before their runs: $(median "${mk[@]}") s for" \
		"$storm_clients by storm_rbd; wupan makes its own inside its run, but with spares=$storm_clients" \
		"(made before its run: $(median "${sm[@]}") s from its start). w/tgt: tgt-rbd's over" \
		"wupan's, goal >= 1.5; w/librbd: librbd's over wupan's, wupan's share of the ceiling." \
		"librbd's CPU is storm_rbd's own, librbd's threads included; per command of the trace)" |
		tee -a "$work/result.txt"
done
[ $storm_failed = 0 ] || exit 1
