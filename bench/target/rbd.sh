#!/bin/bash
# make bench-rbd: one throwaway Ceph cluster (tests/ceph/cluster.sh), one
# 256 MiB RBD image, served one after the other by wupan-target's rbd: LUN
# and by tgtd's RBD backing store (Debian's tgt-rbd, --bstype rbd), and
# measured with the raw librbd rate (`rbd bench`, the same sizes and
# queue depths, no iSCSI) as the ceiling, all in the same run:
#   64 KiB sequential read and write (queue depth 8),
#   4 KiB random read and write at queue depth 32,
#   4 KiB random read latency at queue depth 1.
# FIO_RUNS rounds of that (default 3), reported as medians with each
# round's ratio beside them; every round's figures in
# build/bench-rbd/rounds.txt.
# Ratios: wupan over tgtd (goal >= 1.5; for latency tgtd's over wupan's),
# and wupan's share of the librbd ceiling.
# Each row also shows the CPU per I/O of the gateway, the OSD and the
# initiator (rbd bench's own for librbd): on a small machine their sum,
# not the gateway alone, bounds what a run can reach.
# Then the boot storm (bench/target/traces/{bios,uefi}.trace) from
# STORM_CLIENTS clients at once (default 16), each on its own clone of one
# golden snapshot: wupan-target's room on RBD (lun golden=rbd:...@SNAP
# overlays=rbd:... mode=reset, which makes each client's clone at its
# iPXE login, inside the timed run; and the same room with spares=N, one
# clone per client made ahead, before the run) against tgtd serving one
# LUN per clone
# (the clones made before the run, their time shown apart), and the same
# replay straight through librbd on fresh clones (storm_rbd, the ceiling);
# STORM_RUNS rounds (default 3), each with fresh clones for all three.
# Ports: monitor 42300, OSD 42310-42349, wupan 42270 and 48270-48274, tgtd 42271
# (-C 81) and 48271 (-C 96).  SECONDS_PER_RUN=N; BENCH_RBD_PARTS="fio storm"
# (the default) or one of them.
set -u
cd "$(dirname "$0")/../.."
. tests/target/lib.sh
work=$O/bench-rbd
C=$work/cluster
CONF=$C/ceph.conf
IQN=iqn.2025-01.org.wupan:bench-rbd
secs=${SECONDS_PER_RUN:-5}
fio_runs=${FIO_RUNS:-3}
cleanup() {
	t_cleanup
	sh tests/ceph/cluster.sh stop "$C"
}
trap cleanup EXIT
mkdir -p "$work"
# One Ceph at a time in this tree (tests/ceph/run.sh uses the same ports).
exec 8>"$O/ceph.lock"
flock -w 900 8 || { echo "another Ceph run holds $O/ceph.lock"; exit 1; }

parts=${BENCH_RBD_PARTS:-fio storm}
${CC:-cc} -O2 -Wall -o "$work/iscsi_bench" bench/target/iscsi_bench.c -liscsi || exit 1
${CC:-cc} -O2 -Wall -o "$work/storm" bench/target/storm.c bench/target/storm_trace.c -liscsi || exit 1
${CC:-cc} -O2 -Wall -o "$work/storm_rbd" bench/target/storm_rbd.c bench/target/storm_trace.c \
	-lrbd -lrados -lpthread || exit 1
sh tests/ceph/cluster.sh start "$C" 42300 || exit 1
rbdc() { timeout 300 rbd -c "$CONF" "$@"; }
# CPU ticks (user + system) a process used so far, hz of them a second.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
osd_pid=$(cat "$C/run/osd.0.pid")
# median V...: the middle value (the lower middle of an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
# sum V...: their sum, 3 significant digits.
sum() { awk 'BEGIN {for (i = 1; i < ARGC; i++) s += ARGV[i]; printf "%.3g", s}' "$@"; }

# fio_rows: the fio-like rows.
fio_rows() {
	# fresh_image: the image as each series of cases starts: new, and
	# written through once, so reads find real objects, not holes.  Each
	# target's series starts from the same objects, not from what the
	# other's writes left.
	fresh_image() {
		rbdc rm rbd/bench >/dev/null 2>&1
		rbdc create --size 256 rbd/bench || exit 1
		rbdc bench --io-type write --io-pattern full-seq --io-size 4M \
			--io-threads 4 --io-total 256M rbd/bench >/dev/null 2>&1 || exit 1
	}

	# run URL PID MODE PATTERN BLOCKS DEPTH -> "iops mbps lat_us target osd
	# initiator": the last three in ms of CPU per 1000 I/O (the initiator's
	# from iscsi_bench's own cpu_pct).
	run() {
		local url=$1 pid=$2 t0 t1 o0 o1 out
		shift 2
		t0=$(ticks "$pid") o0=$(ticks "$osd_pid")
		out=$("$work/iscsi_bench" "$url" "$@" 1 "$secs") || { echo "0 0 0 0 0 0"; return; }
		t1=$(ticks "$pid") o1=$(ticks "$osd_pid")
		awk -v t=$((t1 - t0)) -v o=$((o1 - o0)) -v s="$secs" -v hz="$hz" '{n = $2 * s
			if (n > 0) printf "%s %s %s %.3g %.3g %.3g\n", $2, $4, $6, t * 1e6 / hz / n, o * 1e6 / hz / n, $10 * s * 10000 / n
			else print "0 0 0 0 0 0"}' <<<"$out"
	}

	# raw MODE PATTERN BYTES DEPTH IOPS -> "iops mbps client osd" from rbd
	# bench, sized to run about as long as the iSCSI runs at IOPS (a 1-s run
	# varies by a third); client and osd: ms of CPU per 1000 I/O (rbd
	# bench's own, librbd's threads included: what a gateway cannot avoid).
	raw() {
		local total o0 o1 out
		total=$(awk -v i="$5" -v s="$secs" -v b="$3" 'BEGIN {n = int(i * s); if (n < 2048) n = 2048; printf "%d", n * b}')
		o0=$(ticks "$osd_pid")
		out=$({ TIMEFORMAT='cpu %U %S'; time rbdc bench --io-type "$1" --io-pattern "$2" \
			--io-size "$3" --io-threads "$4" --io-total "$total" rbd/bench 2>/dev/null; } 2>&1)
		o1=$(ticks "$osd_pid")
		awk -v sz="$3" -v o=$((o1 - o0)) -v hz="$hz" '/^elapsed:/ {i = $6; n = $4} /^cpu / {c = $2 + $3}
			END {if (n > 0) printf "%d %.1f %.3g %.3g\n", i, i * sz / 1e6, c * 1e6 / n, o * 1e6 / hz / n; else print "0 0 0 0"}' <<<"$out"
	}

	# NAME MODE PATTERN BLOCKS DEPTH SHOWN BYTES
	cases=("seq-read-64k read seq 128 8 mbps 65536"
		"seq-write-64k write seq 128 8 mbps 65536"
		"rand-read-4k-qd32 read rand 8 32 iops 4096"
		"rand-write-4k-qd32 write rand 8 32 iops 4096"
		"rand-read-4k-qd1 read rand 8 1 lat 4096")
	declare -A W T R

	# FIO_RUNS rounds (one 5-s run of a case varies by a quarter from the
	# next); in each, wupan-target's and tgtd's series, then rbd bench's,
	# each alone on the cluster.  W[CASE,ROUND] and so on.
	# wupan_series, tgt_series: one target's cases in round $round, on a
	# fresh image.
	wupan_series() {
		fresh_image
		wt_start "$work/wupan.log" --listen 127.0.0.1:42270 --ceph-conf "$CONF" \
			--target "$IQN" --lun rbd:rbd/bench || { cat "$work/wupan.log"; exit 1; }
		wpid=$WT_PID
		for c in "${cases[@]}"; do
			set -- $c
			W[$1,$round]=$(run "iscsi://127.0.0.1:42270/$IQN/0" "$wpid" "$2" "$3" "$4" "$5")
		done
		wt_stop "$wpid"
	}
	tgt_series() {
		fresh_image
		tgtd_up 81 42271 "$work/tgtd.log"
		tpid=$TGTD_PID
		tgtadm -C 81 --lld iscsi --mode target --op new --tid 1 -T "$IQN" &&
			tgtadm -C 81 --lld iscsi --mode logicalunit --op new --tid 1 --lun 1 \
				--bstype rbd --bsopts "conf=$CONF" -b rbd/bench &&
			tgtadm -C 81 --lld iscsi --mode target --op bind --tid 1 -I ALL ||
			{ echo "tgtd: no RBD LUN (Debian tgt-rbd?)"; exit 1; }
		for c in "${cases[@]}"; do
			set -- $c
			T[$1,$round]=$(run "iscsi://127.0.0.1:42271/$IQN/1" "$tpid" "$2" "$3" "$4" "$5")
		done
		tgtd_stop 81 "$tpid"
	}
	: >"$work/rounds.txt"
	for ((round = 1; round <= fio_runs; round++)); do
		# Who goes first alternates, so whatever the cluster carries from
		# one series to the next falls on both targets.
		if ((round % 2)); then
			wupan_series
			tgt_series
		else
			tgt_series
			wupan_series
		fi
		# The ceiling: librbd itself, same sizes and depths.
		fresh_image
		for c in "${cases[@]}"; do
			set -- $c
			read -r wi _ <<<"${W[$1,$round]}"
			read -r ti _ <<<"${T[$1,$round]}"
			R[$1,$round]=$(raw "$2" "$3" "$7" "$5" "$((wi > ti ? wi : ti))")
			echo "round $round $1: wupan ${W[$1,$round]} tgt ${T[$1,$round]} librbd ${R[$1,$round]}" >>"$work/rounds.txt"
		done
	done
	# meds ARRAY CASE: the medians over the rounds, field by field.
	meds() {
		local -n a=$1
		local i f out=()
		for ((f = 1; f <= 6; f++)); do
			local v=()
			for ((i = 1; i <= fio_runs; i++)); do
				v+=("$(awk -v f=$f '{print $f}' <<<"${a[$2,$i]}")")
			done
			[ -n "${v[0]}" ] && out+=("$(median "${v[@]}")")
		done
		echo "${out[*]}"
	}
	# by_round CASE SHOWN: each round's wupan over tgt-rbd.
	by_round() {
		local i f=1 w t out=""
		case $2 in mbps) f=2 ;; lat) f=3 ;; esac
		for ((i = 1; i <= fio_runs; i++)); do
			w=$(awk -v f=$f '{print $f}' <<<"${W[$1,$i]}")
			t=$(awk -v f=$f '{print $f}' <<<"${T[$1,$i]}")
			[ "$2" = lat ] && out+=" $(ratio "$t" "$w")" || out+=" $(ratio "$w" "$t")"
		done
		echo "${out# }"
	}

	fmt='%-24s %10s %10s %10s %8s %8s\n'
	printf "$fmt" metric wupan tgt-rbd librbd w/tgt w/librbd | tee -a "$work/result.txt"
	for c in "${cases[@]}"; do
		set -- $c
		read -r wi wm wl wc wo wn <<<"$(meds W "$1")"
		read -r ti tm tl tc to tn <<<"$(meds T "$1")"
		read -r ri rm rc ro <<<"$(meds R "$1")"
		case $6 in
		mbps) printf "$fmt" "$1 (MB/s)" "$wm" "$tm" "$rm" "$(ratio "$wm" "$tm")" "$(ratio "$wm" "$rm")" ;;
		iops) printf "$fmt" "$1 (IOPS)" "$wi" "$ti" "$ri" "$(ratio "$wi" "$ti")" "$(ratio "$wi" "$ri")" ;;
		lat) printf "$fmt" "$1 (us)" "$wl" "$tl" "$(awk -v i="$ri" 'BEGIN {printf "%d", (i > 0 ? 1e6 / i : 0)}')" \
			"$(ratio "$tl" "$wl")" "$(ratio "$wi" "$ri")" ;;
		esac
		printf "$fmt" "  w/tgt by round" "" "" "" "$(by_round "$1" "$6")" ""
		printf "$fmt" "  target CPU ms/1000 I/O" "$wc" "$tc" "$rc" "$(ratio "$tc" "$wc")" "$(ratio "$rc" "$wc")"
		printf "$fmt" "  OSD CPU ms/1000 I/O" "$wo" "$to" "$ro" "$(ratio "$to" "$wo")" "$(ratio "$ro" "$wo")"
		printf "$fmt" "  initiator ms/1000 I/O" "$wn" "$tn" "" "" ""
		# Two cores run all of it: the sum bounds what the runs can reach.
		wa=$(sum "$wc" "$wo" "$wn") ta=$(sum "$tc" "$to" "$tn") ra=$(sum "$rc" "$ro")
		printf "$fmt" "  all CPU ms/1000 I/O" "$wa" "$ta" "$ra" "$(ratio "$ta" "$wa")" "$(ratio "$ra" "$wa")"
		# What wupan over tgt-rbd could be if the gateway cost no more
		# than librbd's own client work (rbd bench's CPU): tgt-rbd's sum
		# over that sum; at QD1, tgt-rbd's latency over librbd's alone.
		if [ "$6" = lat ]; then
			bound=$(awk -v t="$tl" -v i="$ri" 'BEGIN {printf "%.2f", (i > 0 ? t * i / 1e6 : 0)}')
		else
			bound=$(ratio "$ta" "$(sum "$rc" "$wo" "$wn")")
		fi
		printf "$fmt" "  w/tgt at librbd's cost" "" "" "" "$bound" ""
	done | tee -a "$work/result.txt"
	echo "(medians of $fio_runs rounds, field by field, and the ratios of the medians." \
		"w/tgt: wupan over tgt-rbd, for latency tgt-rbd's over wupan's; goal >= 1.5." \
		"w/librbd: wupan's share of rbd bench; for latency librbd's latency over wupan's." \
		"CPU rows: ms per 1000 I/O, the ratios tgt's or librbd's over wupan's; the librbd" \
		"column's target CPU is rbd bench's own (librbd's client work, no iSCSI); all: the" \
		"sum, which bounds the rate where the two cores are the limit; w/tgt at librbd's" \
		"cost: tgt-rbd's sum over the sum a gateway costing only rbd bench's CPU would" \
		"make, for latency tgt-rbd's over librbd's alone: what no gateway on librbd can pass)" |
		tee -a "$work/result.txt"
}

: >"$work/result.txt"
for part in $parts; do
	case $part in
	fio) fio_rows ;;
	storm) . bench/target/rbd_storm.sh ;;
	*) echo "BENCH_RBD_PARTS: no part $part"; exit 1 ;;
	esac
done
echo "results in $work/result.txt"
