#!/bin/bash
# make bench-rbd: one throwaway Ceph cluster (tests/ceph/cluster.sh), one
# 256 MiB RBD image, served one after the other by wupan-target's rbd: LUN
# and by tgtd's RBD backing store (Debian's tgt-rbd, --bstype rbd), and
# measured with the raw librbd rate (`rbd bench`, the same sizes and
# queue depths, no iSCSI) as the ceiling, all in the same run:
#   64 KiB sequential read and write (queue depth 8),
#   4 KiB random read and write at queue depth 32,
#   4 KiB random read latency at queue depth 1.
# Ratios: wupan over tgtd (goal >= 1.5; for latency tgtd's over wupan's),
# and wupan's share of the librbd ceiling.
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
# CPU ticks (user + system) a process used so far.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }

# fio_rows: the fio-like rows.
fio_rows() {
	rbdc create --size 256 rbd/bench || exit 1
	# Written through once, so reads find real objects, not holes.
	rbdc bench --io-type write --io-pattern full-seq --io-size 4M \
		--io-threads 4 --io-total 256M rbd/bench >/dev/null 2>&1 || exit 1

	# run URL PID MODE PATTERN BLOCKS DEPTH -> "iops mbps lat_us cpu_ms/1000 I/O"
	run() {
		local url=$1 pid=$2 t0 t1 out
		shift 2
		t0=$(ticks "$pid")
		out=$("$work/iscsi_bench" "$url" "$@" 1 "$secs") || { echo "0 0 0 0"; return; }
		t1=$(ticks "$pid")
		# ticks of 10 ms: milliseconds of CPU per 1000 I/O
		awk -v t=$((t1 - t0)) -v s="$secs" '{n = $2 * s; printf "%s %s %s %.3g\n", $2, $4, $6, (n > 0 ? t * 10000 / n : 0)}' <<<"$out"
	}

	# raw MODE PATTERN BYTES DEPTH TOTAL -> "iops mbps" from rbd bench.
	raw() {
		rbdc bench --io-type "$1" --io-pattern "$2" --io-size "$3" \
			--io-threads "$4" --io-total "$5" rbd/bench 2>/dev/null |
			awk -v sz="$3" '/^elapsed:/ {printf "%d %.1f\n", $6, $6 * sz / 1e6}'
	}

	cases=("seq-read-64k read seq 128 8 mbps 65536 1G"
		"seq-write-64k write seq 128 8 mbps 65536 512M"
		"rand-read-4k-qd32 read rand 8 32 iops 4096 64M"
		"rand-write-4k-qd32 write rand 8 32 iops 4096 32M"
		"rand-read-4k-qd1 read rand 8 1 lat 4096 8M")
	declare -A W T R

	# wupan-target first, then tgtd, each alone on the cluster.
	wt_start "$work/wupan.log" --listen 127.0.0.1:42270 --ceph-conf "$CONF" \
		--target "$IQN" --lun rbd:rbd/bench || { cat "$work/wupan.log"; exit 1; }
	wpid=$WT_PID
	for c in "${cases[@]}"; do
		set -- $c
		W[$1]=$(run "iscsi://127.0.0.1:42270/$IQN/0" "$wpid" "$2" "$3" "$4" "$5")
	done
	wt_stop "$wpid"

	tgtd_up 81 42271 "$work/tgtd.log"
	tpid=$TGTD_PID
	tgtadm -C 81 --lld iscsi --mode target --op new --tid 1 -T "$IQN" &&
		tgtadm -C 81 --lld iscsi --mode logicalunit --op new --tid 1 --lun 1 \
			--bstype rbd --bsopts "conf=$CONF" -b rbd/bench &&
		tgtadm -C 81 --lld iscsi --mode target --op bind --tid 1 -I ALL ||
		{ echo "tgtd: no RBD LUN (Debian tgt-rbd?)"; exit 1; }
	for c in "${cases[@]}"; do
		set -- $c
		T[$1]=$(run "iscsi://127.0.0.1:42271/$IQN/1" "$tpid" "$2" "$3" "$4" "$5")
	done
	tgtd_stop 81 "$tpid"

	# The ceiling: librbd itself, same sizes and depths.
	for c in "${cases[@]}"; do
		set -- $c
		R[$1]=$(raw "$2" "$3" "$7" "$5" "$8")
	done

	fmt='%-24s %10s %10s %10s %8s %8s\n'
	printf "$fmt" metric wupan tgt-rbd librbd w/tgt w/librbd | tee -a "$work/result.txt"
	for c in "${cases[@]}"; do
		set -- $c
		read -r wi wm wl wc <<<"${W[$1]}"
		read -r ti tm tl tc <<<"${T[$1]}"
		read -r ri rm <<<"${R[$1]}"
		case $6 in
		mbps) printf "$fmt" "$1 (MB/s)" "$wm" "$tm" "$rm" "$(ratio "$wm" "$tm")" "$(ratio "$wm" "$rm")" ;;
		iops) printf "$fmt" "$1 (IOPS)" "$wi" "$ti" "$ri" "$(ratio "$wi" "$ti")" "$(ratio "$wi" "$ri")" ;;
		lat) printf "$fmt" "$1 (us)" "$wl" "$tl" "$(awk -v i="$ri" 'BEGIN {printf "%d", (i > 0 ? 1e6 / i : 0)}')" \
			"$(ratio "$tl" "$wl")" "$(ratio "$wi" "$ri")" ;;
		esac
		printf "$fmt" "  target CPU ms/1000 I/O" "$wc" "$tc" "" "$(ratio "$tc" "$wc")" ""
	done | tee -a "$work/result.txt"
	echo "(w/tgt: wupan over tgt-rbd, for latency tgt-rbd's over wupan's; goal >= 1.5." \
		"w/librbd: wupan's share of rbd bench; for latency librbd's latency over wupan's)" |
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
