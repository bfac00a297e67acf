#!/bin/bash
# wupan-target's data path against the built daemon (issue 10, items 1-5):
# pipelined mixed READ/WRITE at full window, a big-window drain, a
# half-close with output backlogged, 1000 idle connections and the login
# timeout, the per-source cap, a 1024-descriptor limit, and sessions that
# stop reading; zero-copy Data-In (content, a slow reader, DataDigest, a
# READ racing a WRITE, a file truncated under queued READs).  Asserts every
# command answered, no session dropped, idle CPU under 20 %, memory growth
# bounded; the lean READ client of make bench-target against known content.
# The same cases that find memory errors run again under the ASan build of
# the daemon when it exists.  Ports 24260-24299, 41264-41265, 45260.
set -u
cd "$(dirname "$0")/../.."
. tests/target/lib.sh
trap t_cleanup EXIT
t_lock datapath || exit 1

work=$O/target-tests/datapath
IQN=iqn.2025-01.org.wupan:datapath
rm -rf "$work"
mkdir -p "$work"
client=$work/dp_client
if ! ${CC:-cc} -O2 -Wall -o "$client" tests/target/dp_client.c \
	2>"$work/cc.log"; then
	t_fail build "cannot build the client: $(head -n 3 "$work/cc.log")"
	t_done
	exit 1
fi
img=$work/disk.img
truncate -s 64M "$img"
pat=$work/pattern.img
"$client" pattern "$pat" 64
TICK=$(getconf CLK_TCK)

# cpu_ticks PID: user + system time of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# rss_kib PID: resident set size in KiB.
rss_kib() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }
# cpu_pct PID SECONDS: CPU use of PID over the next SECONDS, in percent.
cpu_pct() {
	local a b
	a=$(cpu_ticks "$1")
	sleep "$2"
	b=$(cpu_ticks "$1")
	echo $(((b - a) * 100 / (TICK * $2)))
}

# bg_client OUT WORD MODE ARGS...: runs the client in the background
# (CL its pid) with its output in OUT, and waits until it prints WORD.
bg_client() {
	local out=$1 word=$2
	shift 2
	"$client" "$@" >"$out" 2>&1 &
	CL=$!
	T_PIDS+=($CL)
	for _ in $(seq 100); do
		grep -q "$word" "$out" && break
		sleep 0.1
	done
}

# start NAME PORT ARGS...: starts the daemon under test on PORT.
start() {
	local name=$1 port=$2
	shift 2
	# Target options in ARGS apply to $IQN: it comes last.
	wt_start "$work/$name.log" --listen 127.0.0.1:"$port" \
		--target "$IQN-pattern" --lun "$pat,ro" --target "$IQN" \
		--lun "$img" "$@" && return 0
	start_why=$(tail -n 1 "$work/$name.log" 2>/dev/null)
	return 1
}

# run_core LABEL PORT: items 1-3 against the daemon listening on PORT.
run_core() {
	local label=$1 port=$2 pid=$WT_PID out bad pct
	# repeat3 MODE: three runs of a client mode; fails at the first bad.
	repeat3() {
		for _ in 1 2 3; do
			out=$("$client" "$1" "$port" "$IQN" 2>&1) || return 1
		done
	}
	if repeat3 mixed; then
		t_ok "$label: 16 x 1 MiB READ + 100 x 64 KiB WRITE pipelined, 3 runs: all answered"
	else
		t_fail "$label: mixed pipeline" "$out"
	fi
	if repeat3 drain; then
		t_ok "$label: 120 x 256 KiB READ drained at once, 3 runs: all answered"
	else
		t_fail "$label: big-window drain" "$out"
	fi
	if out=$("$client" verify "$port" "$IQN-pattern" 64 2>&1) &&
		out=$("$client" verify "$port" "$IQN-pattern" 64 2>&1); then
		t_ok "$label: 64 MiB read back intact twice (1 MiB READs)"
	else
		t_fail "$label: Data-In content" "$out"
	fi
	# Zero-copy Data-In (sendfile from the page cache): partial sends
	# into a 4 KiB receive window, the copy path under DataDigest, and a
	# READ racing a WRITE of the same blocks.
	if out=$("$client" verify "$port" "$IQN-pattern" 16 slow 2>&1); then
		t_ok "$label: 16 MiB intact through a 4 KiB receive window read 1500 bytes at a time"
	else
		t_fail "$label: slow reader" "$out"
	fi
	if out=$("$client" verify "$port" "$IQN-pattern" 32 digest 2>&1); then
		t_ok "$label: DataDigest=CRC32C: 32 MiB intact, every digest right (copy path)"
	else
		t_fail "$label: DataDigest" "$out"
	fi
	if out=$("$client" race "$port" "$IQN" 40 2>&1); then
		t_ok "$label: 40 READs racing a WRITE of the same 64 KiB: old or new bytes only, new after the WRITE"
	else
		t_fail "$label: READ racing WRITE" "$(tail -n 2 <<<"$out")"
	fi
	"$client" halfclose "$port" "$IQN" 4 >"$work/$label-halfclose.out" 2>&1 &
	local cl=$!
	T_PIDS+=($cl)
	for _ in $(seq 50); do
		grep -q halfclosed "$work/$label-halfclose.out" && break
		sleep 0.1
	done
	sleep 0.5
	pct=$(cpu_pct "$pid" 2)
	wait "$cl"
	bad=$?
	if [ $bad -eq 0 ] && [ "$pct" -lt 20 ]; then
		t_ok "$label: half-close with output backlogged: ${pct}% CPU, all answered"
	else
		t_fail "$label: half-close" "${pct}% CPU; $(tail -n 1 "$work/$label-halfclose.out")"
	fi
	kill -0 "$pid" 2>/dev/null || t_fail "$label: daemon" "exited"
}

# zc_sent LABEL: the daemon's last words say Data-In went out through
# sendfile (the verify runs read cached 1 MiB READs).
zc_sent() {
	local n
	n=$(sed -n 's/.* \([0-9]*\) of them straight from backing files.*/\1/p' \
		"$work/$1.log")
	if [ "${n:-0}" -gt 33554432 ]; then
		t_ok "$1: $n bytes sent straight from the backing files (sendfile)"
	else
		t_fail "$1: zero-copy" "bytes sent from files: ${n:-none}"
	fi
}

# trunc_case LABEL PORT: zero-copy Data-In from a file cut shorter under
# the daemon.  READs are queued (their file ranges framed) while the client
# does not read, the file is truncated, then read: every READ answered or
# the connection closed, never a hang; then a READ past the new end gets an
# error status.
trunc_case() {
	local label=$1 port=$2 trunc=$work/trunc-$1.img pid out
	cp "$pat" "$trunc" && cat "$trunc" >/dev/null
	if ! wt_start "$work/$label.log" --listen 127.0.0.1:"$port" \
		--target "$IQN-trunc" --lun "$trunc"; then
		t_fail "$label" "target did not start: $(tail -n 1 "$work/$label.log")"
		return
	fi
	pid=$WT_PID
	bg_client "$work/$label.out" queued stall "$port" "$IQN-trunc" 16 2
	truncate -s 4M "$trunc"
	if wait "$CL"; then
		t_ok "$label: file truncated under queued READs: $(grep '^result' "$work/$label.out" | cut -d' ' -f3-)"
	else
		t_fail "$label: file truncated under queued READs" "$(tail -n 1 "$work/$label.out")"
	fi
	if out=$("$client" readfail "$port" "$IQN-trunc" 16384 2>&1) &&
		kill -0 "$pid" 2>/dev/null; then
		t_ok "$label: READ past the end of the shrunk file: error status, daemon alive"
	else
		t_fail "$label: READ past the end of the shrunk file" "$out"
	fi
	wt_stop "$pid"
	rm -f "$trunc"
}

# 1-3: pipelines, drain, half-close.
if start core 24260; then
	if grep -q "on $(nproc) threads" "$work/core.log"; then
		t_ok "one event loop per CPU ($(nproc))"
	else
		t_fail "event loops" "$(grep serving "$work/core.log")"
	fi
	run_core core 24260
	wt_stop "$WT_PID" || t_fail "core: shutdown" "exit status $?"
	zc_sent core
else
	t_fail core "target did not start: $start_why"
fi

trunc_case trunc 41264

# 4: 1000 connections that never send a byte: closed by the login timeout,
# with the daemon idle and small meanwhile.
if start idle 24261 --login-timeout 3 --max-per-source 2000; then
	pid=$WT_PID
	rss0=$(rss_kib "$pid")
	"$client" idle 24261 1000 6 >"$work/idle.out" 2>&1 &
	cl=$!
	T_PIDS+=($cl)
	sleep 1.5
	rss1=$(rss_kib "$pid")
	pct=$(cpu_pct "$pid" 1)
	wait "$cl"
	closed=$(awk '$1 == "result" {sub("closed_by_target=", "", $4); print $4}' "$work/idle.out")
	opened=$(awk '$1 == "result" {sub("opened=", "", $3); print $3}' "$work/idle.out")
	if [ "${opened:-0}" -eq 1000 ] && [ "${closed:-0}" -eq 1000 ]; then
		t_ok "1000 idle connections all closed by a 3 s login timeout"
	else
		t_fail "login timeout" "opened ${opened:-?}, closed by the target ${closed:-?}"
	fi
	if [ "$pct" -lt 20 ] && [ $((rss1 - rss0)) -lt 65536 ]; then
		t_ok "1000 idle connections: ${pct}% CPU, RSS +$((rss1 - rss0)) KiB"
	else
		t_fail "1000 idle connections" "${pct}% CPU, RSS +$((rss1 - rss0)) KiB"
	fi
	if grep -q "limit: login timeout" "$work/idle.log"; then
		t_ok "login timeout logged"
	else
		t_fail "login timeout" "no log line"
	fi
	wt_stop "$pid"
else
	t_fail idle "target did not start: $start_why"
fi

# 4: the per-source cap refuses the 5th connection from one address.
if start source 24262 --max-per-source 4 --login-timeout 30; then
	pid=$WT_PID
	"$client" idle 24262 10 1 >"$work/source.out" 2>&1
	closed=$(awk '$1 == "result" {sub("closed_by_target=", "", $4); print $4}' "$work/source.out")
	if [ "${closed:-0}" -eq 6 ] && grep -q "limit: .*max-per-source" "$work/source.log"; then
		t_ok "max-per-source 4: 6 of 10 refused, logged"
	else
		t_fail "max-per-source" "closed by the target: ${closed:-?}"
	fi
	wt_stop "$pid"
else
	t_fail source "target did not start: $start_why"
fi

# 4: a 1024-descriptor limit and 1100 connections: no spinning, and a real
# initiator still logs in.  Once with the limit known at start, once
# lowered under the running daemon (accept then fails with EMFILE).
printf '#!/bin/sh\nexec prlimit --nofile=1024:1024 -- "%s" "$@"\n' \
	"$(realpath "$WUPAN_TARGET")" >"$work/limited"
chmod +x "$work/limited"
for variant in start emfile; do
	if [ $variant = start ]; then
		WUPAN_TARGET=$work/limited start fd-$variant 24263 \
			--max-per-source 5000 --login-timeout 30
	else
		start fd-$variant 24267 --max-per-source 5000 --login-timeout 30 &&
			prlimit --pid "$WT_PID" --nofile=1024:1024
	fi || { t_fail "fd limit ($variant)" "target did not start: $start_why"; continue; }
	pid=$WT_PID
	port=$([ $variant = start ] && echo 24263 || echo 24267)
	"$client" idle "$port" 1100 5 >"$work/fd-$variant.out" 2>&1 &
	cl=$!
	T_PIDS+=($cl)
	sleep 1.5
	pct=$(cpu_pct "$pid" 2)
	out=$("$client" login "$port" "$IQN" 2>&1)
	bad=$?
	wait "$cl"
	if [ "$pct" -lt 20 ] && [ $bad -eq 0 ]; then
		t_ok "1100 connections, 1024 descriptors ($variant): ${pct}% CPU, a new login works"
	else
		t_fail "descriptor limit ($variant)" "${pct}% CPU; $out"
	fi
	grep -q "limit: " "$work/fd-$variant.log" && t_ok "descriptor limit logged ($variant)" ||
		t_fail "descriptor limit ($variant)" "no log line"
	wt_stop "$pid"
done

# 5: ten sessions queue 4 x 16 MiB READ each and stop reading.
if start stopread 24264; then
	pid=$WT_PID
	rss0=$(rss_kib "$pid")
	bg_client "$work/stopread.out" queued stopread 24264 "$IQN" 10 3
	cl=$CL
	sleep 1.5
	rss1=$(rss_kib "$pid")
	wait "$cl"
	bad=$?
	if [ $bad -eq 0 ] && [ $((rss1 - rss0)) -lt 65536 ]; then
		t_ok "10 sessions x 4 x 16 MiB READ not read: RSS +$((rss1 - rss0)) KiB, all answered later"
	else
		t_fail "sessions that stop reading" "RSS +$((rss1 - rss0)) KiB; $(grep -v '^result.*of=4 rejects=0 closed=0' "$work/stopread.out" | head -n 2)"
	fi
	wt_stop "$pid"
else
	t_fail stopread "target did not start: $start_why"
fi

# 7: online CHAP guessing is slowed to about one try a second per
# connection.
if start chap 24266 --chap user:secretsecret12; then
	out=$("$client" chapfail 24266 "$IQN" 3 2>&1)
	rate=$(echo "$out" | sed -n 's/.*rate=\([0-9]*\).*/\1/p')
	if echo "$out" | grep -q "refused=3 of=3" && [ "${rate:-999}" -lt 5 ]; then
		t_ok "wrong CHAP responses answered after a delay: ${rate}/s"
	else
		t_fail "CHAP delay" "$out"
	fi
	wt_stop "$WT_PID"
else
	t_fail chap "target did not start: $start_why"
fi

# The lean READ client of make bench-target (bench/target/lean_read.c):
# the bytes it receives while skipping data in place are the LUN's, and it
# fails on a wrong LUN, an error status and on data that differ.
lean=$work/lean_read
if ! ${CC:-cc} -O2 -Wall -Isrc -o "$lean" bench/target/lean_read.c \
	src/iscsi/pdu.c 2>"$work/lean-cc.log"; then
	t_fail "lean client" "cannot build it: $(head -n 3 "$work/lean-cc.log")"
elif start lean 45260; then
	url=iscsi://127.0.0.1:45260/$IQN-pattern
	if out=$("$lean" "$url/0" read seq 128 8 1 30 --ios 256 --verify "$pat" 2>&1) &&
		grep -q "checked 16777216 bad 0" <<<"$out"; then
		t_ok "lean client: 256 x 64 KiB READ at QD8, every byte the file's"
	else
		t_fail "lean client: sequential content" "$out"
	fi
	if out=$("$lean" "$url/0" read rand 8 32 1 30 --ios 4000 --verify "$pat" 2>&1) &&
		grep -q "checked 16384000 bad 0" <<<"$out"; then
		t_ok "lean client: 4000 x 4 KiB random READ at QD32, every byte the file's"
	else
		t_fail "lean client: random content" "$out"
	fi
	if out=$("$lean" "$url/0" read seq 128 8 1 30 --ios 64 --verify "$img" 2>&1); then
		t_fail "lean client: other content" "not seen: $out"
	else
		t_ok "lean client: data that differ from the file fail it"
	fi
	if out=$("$lean" "$url/1" read seq 128 8 1 30 --ios 8 2>&1); then
		t_fail "lean client: wrong LUN" "not seen: $out"
	elif grep -q "status 0x02, sense key 5 ASC/ASCQ 25/00" <<<"$out"; then
		t_ok "lean client: LUN 1 (none) fails it: LOGICAL UNIT NOT SUPPORTED"
	else
		t_fail "lean client: wrong LUN" "$out"
	fi
	if out=$("$lean" "$url/0" read rand 128 8 1 30 --ios 64 --span 1048576 2>&1); then
		t_fail "lean client: READ past the end" "not seen: $out"
	elif grep -q "status 0x02, sense key 5 ASC/ASCQ 21/00" <<<"$out"; then
		t_ok "lean client: a READ past the end fails it: LBA OUT OF RANGE"
	else
		t_fail "lean client: READ past the end" "$out"
	fi
	wt_stop "$WT_PID"
else
	t_fail lean "target did not start: $start_why"
fi

# The same data-path cases under AddressSanitizer.
asan=$O/asan/bin/wupan-target
if [ -x "$asan" ]; then
	WUPAN_TARGET=$asan
	if start asan 24265 --login-timeout 2; then
		run_core asan 24265
		# Sessions that stop reading, and idle connections the login
		# timeout ends: memory errors only (ASan's own memory makes
		# RSS figures meaningless here).
		out=$("$client" stopread 24265 "$IQN" 4 2 2>&1) &&
			t_ok "asan: sessions that stop reading all answered" ||
			t_fail "asan: sessions that stop reading" "$(tail -n 2 <<<"$out")"
		out=$("$client" idle 24265 50 4 2>&1)
		grep -q "closed_by_target=50" <<<"$out" &&
			t_ok "asan: 50 idle connections closed by the login timeout" ||
			t_fail "asan: login timeout" "$out"
		if wt_stop "$WT_PID" && ! grep -q "ERROR: AddressSanitizer\|runtime error" "$work/asan.log"; then
			t_ok "asan: no report"
		else
			t_fail "asan" "$(grep -m 3 "ERROR\|runtime error" "$work/asan.log")"
		fi
		zc_sent asan
		trunc_case asan-trunc 41265
		grep -q "ERROR: AddressSanitizer\|runtime error" "$work/asan-trunc.log" &&
			t_fail "asan: truncated file" "$(grep -m 3 "ERROR\|runtime error" "$work/asan-trunc.log")"
	else
		t_fail asan "target did not start: $start_why"
	fi
else
	t_skip asan "no $asan (make $asan)"
fi
t_done
