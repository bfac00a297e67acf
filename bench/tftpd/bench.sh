#!/bin/bash
# make bench-tftpd: wupan-tftpd against tftpd-hpa and dnsmasq, serving the same
# 64 MiB file, in one run.  Reports throughput and server CPU per byte, and
# their ratios to tftpd-hpa:
#   - loopback, lock-step, blksize 512, 1468 and 8192 (curl);
#   - through wupan-udp-relay adding 0.25 ms each way (a LAN's round trip),
#     windowsize 1, 4 and 16 (wupan-tftp-client; tftpd-hpa and dnsmasq do not
#     implement RFC 7440, so they stay lock-step whatever is asked);
#   - 100 concurrent clients fetching undionly.kpxe.
# Everything runs in a private network namespace (dnsmasq's TFTP port is
# fixed at 69), so it needs root.  Not a test: the numbers depend on the
# machine and on what else runs on it; loopback and concurrency cases report
# the median of three runs.
set -u -o pipefail
O=${O:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$(cd "$O/bin" && pwd)
TOOLS=$(cd "$O" && pwd)/tftpd-tools
if [ -z "${WUPAN_BENCH_NETNS:-}" ]; then
	# Fetched before leaving the host's network.
	sh "$HERE/../../tests/tftpd/fetch-tools.sh" "$TOOLS" tftpd-hpa libwrap0 ||
		{ echo "bench-tftpd: cannot fetch tftpd-hpa" >&2; exit 1; }
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench-tftpd: needs root (a private network namespace)" >&2
		exit 1
	fi
	export WUPAN_BENCH_NETNS=1
	exec unshare -n bash "$0" "$@"
fi
ip link set lo up
# glibc's AI_ADDRCONFIG ignores loopback addresses, so with lo alone
# tftpd-hpa cannot resolve its own -a address: give lo one more.
ip addr add 10.251.0.1/32 dev lo
T=$(mktemp -d /tmp/wupan-bench-tftpd.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

export LD_LIBRARY_PATH=$TOOLS/root/usr/lib/x86_64-linux-gnu
HPA=$TOOLS/root/usr/sbin/in.tftpd
command -v dnsmasq >/dev/null || { echo "bench-tftpd: dnsmasq missing" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench-tftpd: curl missing" >&2; exit 1; }

mkdir -p "$T/root"
head -c $((64 << 20)) /dev/urandom >"$T/root/big"
kpxe=$(ls "$O"/ipxe/*/root/usr/lib/ipxe/undionly.kpxe 2>/dev/null | head -1)
if [ -n "$kpxe" ]; then cp "$kpxe" "$T/root/undionly.kpxe"; else
	head -c 70000 /dev/urandom >"$T/root/undionly.kpxe"; fi
SIZE=$((64 << 20))

declare -A PORT PID
PORT[wupan]=6969 PORT[hpa]=6970 PORT[dnsmasq]=69
"$BIN/wupan-tftpd" --root "$T/root" --listen 127.0.0.1:6969 \
	--max-clients 256 --max-per-client 256 2>"$T/wupan.log" &
PID[wupan]=$!
"$HPA" -L -4 -a 127.0.0.1:6970 -s -u root "$T/root" 2>"$T/hpa.log" &
PID[hpa]=$!
dnsmasq --no-daemon --conf-file=/dev/null --port=0 --enable-tftp \
	--tftp-root="$T/root" --listen-address=127.0.0.1 --bind-interfaces \
	--user=root --tftp-max=300 --log-facility=- >"$T/dnsmasq.log" 2>&1 &
PID[dnsmasq]=$!
PIDS+=("${PID[@]}")
for s in wupan hpa dnsmasq; do
	"$BIN/wupan-udp-relay" --listen $((PORT[$s] + 1000)) --server ${PORT[$s]} \
		--delay-us 250 2>/dev/null &
	PIDS+=($!)
done
sleep 0.5
for s in wupan hpa dnsmasq; do
	curl -s --max-time 5 -o /dev/null "tftp://127.0.0.1:${PORT[$s]}/undionly.kpxe" ||
		{ echo "bench-tftpd: $s does not answer" >&2; exit 1; }
done

# Server CPU is read from a cpuacct cgroup per server: tftpd-hpa forks a
# process per transfer, whose time /proc/PID/stat never shows.
CG=/sys/fs/cgroup/cpuacct
[ -w "$CG" ] || CG=
declare -A CGDIR
for s in wupan hpa dnsmasq; do
	if [ -n "$CG" ] && mkdir -p "$CG/wupan-bench-$s-$$" 2>/dev/null &&
		echo "${PID[$s]}" >"$CG/wupan-bench-$s-$$/cgroup.procs" 2>/dev/null; then
		CGDIR[$s]=$CG/wupan-bench-$s-$$
	fi
done
cleanup_cg() {
	cleanup
	for d in "${CGDIR[@]}"; do
		# Processes left in it are gone after cleanup(); move stragglers out.
		while read -r p; do echo "$p" >"$CG/cgroup.procs"; done <"$d/cgroup.procs" 2>/dev/null
		rmdir "$d" 2>/dev/null
	done
}
trap cleanup_cg EXIT
# cpu SERVER: the server's CPU time so far in nanoseconds.
cpu() {
	if [ -n "${CGDIR[$1]:-}" ]; then
		cat "${CGDIR[$1]}/cpuacct.usage"
	else
		awk -v k="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15 + $16 + $17) * 1e9 / k}' "/proc/${PID[$1]}/stat"
	fi
}
declare -A MBS NSB RUNS
# run NAME SERVER CMD...: times CMD and the server's CPU, and adds the result
# to RUNS; settle picks the median run into MBS and NSB.
run() {
	local name=$1 s=$2 c0 c1 t0 t1
	shift 2
	c0=$(cpu $s)
	t0=$(date +%s%N)
	if ! "$@" >/dev/null 2>>"$T/clients.log"; then
		echo "  $name $s: client failed" >&2
		RUNS[$name,$s]+="0 0;"
		return
	fi
	t1=$(date +%s%N)
	sleep 0.2 # let a forking server reap its child
	c1=$(cpu $s)
	RUNS[$name,$s]+=$(awk -v b=$BYTES -v ns=$((t1 - t0)) -v t=$((c1 - c0)) \
		'BEGIN { printf "%.1f %.2f;", b / (ns / 1e9) / 1e6, t / b }')
}
# settle NAME: the median run by throughput, for each server.  This machine's
# cores are shared, so single runs are noisy.
settle() {
	local s m
	for s in wupan hpa dnsmasq; do
		m=$(tr ';' '\n' <<<"${RUNS[$1,$s]}" | grep . | sort -n |
			awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }')
		MBS[$1,$s]=${m% *} NSB[$1,$s]=${m#* }
	done
}
# report NAME: one line per case with ratios against tftpd-hpa.
report() {
	local name=$1
	printf '%-22s' "$name"
	for s in wupan hpa dnsmasq; do
		printf ' %8s MB/s %6s ns/B |' "${MBS[$name,$s]}" "${NSB[$name,$s]}"
	done
	awk -v w="${MBS[$name,wupan]}" -v h="${MBS[$name,hpa]}" \
		-v cw="${NSB[$name,wupan]}" -v ch="${NSB[$name,hpa]}" \
		'BEGIN { printf " x%.2f speed, x%.2f CPU/B vs tftpd-hpa\n", (h > 0 ? w / h : 0), (ch > 0 ? cw / ch : 0) }'
}

printf '%-22s %-30s %-30s %-30s\n' case wupan-tftpd tftpd-hpa dnsmasq
BYTES=$SIZE
ROUNDS=3
for bs in 512 1468 8192; do
	for _ in $(seq $ROUNDS); do
		for s in wupan hpa dnsmasq; do
			run "loopback bs$bs" $s curl -s --tftp-blksize $bs -o /dev/null \
				"tftp://127.0.0.1:${PORT[$s]}/big"
		done
	done
	settle "loopback bs$bs"
	report "loopback bs$bs"
done
# tftpd-hpa 5.2 and dnsmasq 2.90 leave windowsize out of their OACK, so
# their transfers are lock-step whatever is asked: their ws1 run stands for
# all three rows.
for ws in 1 4 16; do
	for s in wupan hpa dnsmasq; do
		if [ $ws -gt 1 ] && [ $s != wupan ]; then
			RUNS[relay0.5ms ws$ws,$s]=${RUNS[relay0.5ms ws1,$s]}
			continue
		fi
		run "relay0.5ms ws$ws" $s "$BIN/wupan-tftp-client" --opt blksize=1468 \
			--opt windowsize=$ws 127.0.0.1 $((PORT[$s] + 1000)) big
	done
	settle "relay0.5ms ws$ws"
	report "relay0.5ms ws$ws"
done
# 100 clients at once, as in a classroom powering on.
many() {
	local pids=() rc=0
	for _ in $(seq 100); do
		timeout 60 "$BIN/wupan-tftp-client" --opt blksize=1432 --opt tsize=0 127.0.0.1 "$1" undionly.kpxe &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}
BYTES=$((100 * $(stat -c %s "$T/root/undionly.kpxe")))
for _ in $(seq $ROUNDS); do
	for s in wupan hpa dnsmasq; do
		run "100 x undionly.kpxe" $s many ${PORT[$s]}
	done
done
settle "100 x undionly.kpxe"
report "100 x undionly.kpxe"

awk -v l="${MBS[loopback bs512,wupan]}" -v lh="${MBS[loopback bs512,hpa]}" \
	-v c="${NSB[loopback bs512,wupan]}" -v ch="${NSB[loopback bs512,hpa]}" \
	-v w4="${MBS[relay0.5ms ws4,wupan]}" -v w16="${MBS[relay0.5ms ws16,wupan]}" \
	-v h1="${MBS[relay0.5ms ws1,hpa]}" 'BEGIN {
	printf "goals: loopback lock-step >= 1x tftpd-hpa with less CPU/B: x%.2f, x%.2f CPU/B %s\n",
		(lh > 0 ? l / lh : 0), (ch > 0 ? c / ch : 0), ((l >= lh && c < ch) ? "MET" : "NOT MET")
	printf "goals: relay windowsize 4 >= 3.5x tftpd-hpa: x%.2f %s\n", (h1 > 0 ? w4 / h1 : 0), ((h1 > 0 && w4 / h1 >= 3.5) ? "MET" : "NOT MET")
	printf "goals: relay windowsize 16 >= 10x tftpd-hpa: x%.2f %s\n", (h1 > 0 ? w16 / h1 : 0), ((h1 > 0 && w16 / h1 >= 10) ? "MET" : "NOT MET")
}'
