#!/bin/bash
# wupan-tftpd interop suite: real clients (tftp-hpa, curl, atftp, busybox and
# our own firmware stand-in) download files of awkward sizes, checksummed;
# the same through a lossy relay; the boot clients' option dances; path
# confinement; writes; limits; bad arguments.  Loopback only, UDP ports
# 16900-16999.  Ends with "N passed, N failed, N skipped".
set -u -o pipefail
O=${O:-build}
BIN=$(cd "$O/bin" && pwd)
TFTPD=$BIN/wupan-tftpd
CLIENT=$BIN/wupan-tftp-client
RELAY=$BIN/wupan-udp-relay
HERE=$(cd "$(dirname "$0")" && pwd)
TOOLS=$(cd "$O" && pwd)/tftpd-tools
T=$(mktemp -d /tmp/wupan-tftpd-interop.XXXXXX)
PIDS=()
passed=0 failed=0 skipped=0
P_MAIN=16900 P_WRITE=16901 P_LIMIT=16902 P_MAP=16903 P_RELAY=16910 P_RELAY2=16911

cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() {
	failed=$((failed + 1))
	echo "FAIL $1${2:+: $2}"
}
section() { echo "== $1 (at ${SECONDS} s)"; }
skip() { skipped=$((skipped + 1)); echo "skip $1: $2"; }
# check NAME CMD...: one case per command.
check() {
	local name=$1
	shift
	if "$@" >>"$T/cases.log" 2>&1; then pass "$name"; else fail "$name"; fi
}

for b in "$TFTPD" "$CLIENT" "$RELAY"; do
	[ -x "$b" ] || { echo "missing $b: run make test (it builds the test tools)"; echo "0 passed, 1 failed"; exit 1; }
done

# --- clients --------------------------------------------------------------
have_hpa=0 have_curl=0 have_bb=0 have_atftp=0 have_v6=0
command -v tftp >/dev/null && tftp -V 2>&1 | grep -q tftp-hpa && have_hpa=1
command -v curl >/dev/null && have_curl=1
command -v busybox >/dev/null && busybox tftp --help 2>&1 | grep -q -- -g && have_bb=1
if sh "$HERE/fetch-tools.sh" "$TOOLS" atftp >"$T/fetch.log" 2>&1 &&
	[ -x "$TOOLS/root/usr/bin/atftp" ]; then
	have_atftp=1
	ATFTP=$TOOLS/root/usr/bin/atftp
fi
grep -q '^00000000000000000000000000000001' /proc/net/if_inet6 2>/dev/null && have_v6=1

# --- files ----------------------------------------------------------------
R=$T/root
mkdir -p "$R/sub" "$R/Boot" "$T/wroot" "$T/out"
: >"$R/f0"
for n in 1 511 512 513; do head -c $n /dev/urandom >"$R/f$n"; done
head -c 1048576 /dev/urandom >"$R/f1m"
head -c 104857600 /dev/urandom >"$R/f100m"
head -c 70000 /dev/urandom >"$R/undionly.kpxe"
printf 'line one\nline two\r\nbare cr\r end\n' >"$R/text.txt"
cp "$R/f513" "$R/Boot/File.IPXE"
echo secret >"$T/outside.txt"
ln -s ../outside.txt "$R/link_up"
ln -s /etc/passwd "$R/link_abs"
ln -s f1 "$R/link_in"
mkfifo "$R/fifo"
mknod "$R/null" c 1 3 2>/dev/null || true
echo existing >"$T/wroot/exists.bin"
printf '# odd client forms\nstrip /\nreplace \\ /\nnocase\n' >"$T/map"

# --- servers --------------------------------------------------------------
start() { # LOG ARGS...: starts a server, records its PID
	local log=$1
	shift
	"$TFTPD" "$@" 2>"$log" &
	PIDS+=($!)
}
listen_main=(--listen 127.0.0.1:$P_MAIN)
[ $have_v6 = 1 ] && listen_main+=(--listen "[::1]:$P_MAIN")
start "$T/main.log" --root "$R" "${listen_main[@]}" --max-per-client 128 -v
start "$T/write.log" --root "$T/wroot" --listen 127.0.0.1:$P_WRITE --allow-write
start "$T/limit.log" --root "$R" --listen 127.0.0.1:$P_LIMIT --max-clients 4 \
	--max-per-client 2 --timeout 1 --retries 2
start "$T/map.log" --root "$R" --listen 127.0.0.1:$P_MAP --map "$T/map"
"$RELAY" --listen $P_RELAY --server $P_MAIN --drop 20 --dup 20 --reorder 20 \
	--seed 7 --spare-requests 2>"$T/relay.log" &
PIDS+=($!)
"$RELAY" --listen $P_RELAY2 --server $P_MAIN --drop 2 --dup 2 --reorder 2 \
	--seed 11 --spare-requests 2>"$T/relay2.log" &
PIDS+=($!)
for port in $P_MAIN $P_WRITE $P_LIMIT $P_MAP $P_RELAY $P_RELAY2; do
	for _ in $(seq 50); do
		"$CLIENT" --tries 1 --rto 100 --out /dev/null 127.0.0.1 $port f1 \
			2>/dev/null && break
		sleep 0.1
	done
done

# same NAME FILE: the downloaded file matches the original.
same() { cmp -s "$R/$2" "$T/out/$1"; }

# get CLIENT HOST PORT FILE OUT: one download with one client.
get() {
	local c=$1 host=$2 port=$3 f=$4 out=$T/out/$5 u=$2
	rm -f "$out"
	[[ $host == *:* ]] && u="[$host]"
	case $c in
	hpa) tftp -m binary "$host" "$port" -c get "$f" "$out" ;;
	curl) curl -sS --max-time 120 -o "$out" "tftp://$u:$port/$f" ;;
	curl1468) curl -sS --max-time 120 --tftp-blksize 1468 -o "$out" "tftp://$u:$port/$f" ;;
	curl65464) curl -sS --max-time 120 --tftp-blksize 65464 -o "$out" "tftp://$u:$port/$f" ;;
	atftp) "$ATFTP" --option "blksize 1468" --option "windowsize 4" \
		-g -r "$f" -l "$out" "$host" "$port" ;;
	atftp16) "$ATFTP" --option "blksize 1468" --option "windowsize 16" \
		-g -r "$f" -l "$out" "$host" "$port" ;;
	bb) busybox tftp -b 1432 -g -r "$f" -l "$out" "$host" "$port" ;;
	bb512) busybox tftp -g -r "$f" -l "$out" "$host" "$port" ;;
	own) "$CLIENT" --opt blksize=1468 --opt windowsize=16 --out "$out" \
		"$host" "$port" "$f" ;;
	esac >>"$T/clients.log" 2>&1 && [ -e "$out" ]
}
# have CLIENT: whether its program is there.
have() {
	case $1 in
	hpa*) [ $have_hpa = 1 ] ;;
	curl*) [ $have_curl = 1 ] ;;
	atftp*) [ $have_atftp = 1 ] ;;
	bb*) [ $have_bb = 1 ] ;;
	own) true ;;
	esac
}

section "downloads, checksummed"
small="f0 f1 f511 f512 f513 f1m"
for c in hpa curl curl1468 atftp bb bb512 own; do
	if ! have $c; then
		skip "$c" "client not installed"
		continue
	fi
	for f in $small; do
		if get $c 127.0.0.1 $P_MAIN $f $c-$f && same $c-$f $f; then
			pass "$c $f"
		else
			fail "$c $f"
		fi
	done
done
# 100 MiB: past 65535 blocks at 512 bytes, so block numbers roll over.
for c in hpa curl curl65464 atftp16 bb512 own; do
	have $c || { skip "$c f100m" "client not installed"; continue; }
	t0=$(date +%s%N)
	if get $c 127.0.0.1 $P_MAIN f100m $c-f100m && same $c-f100m f100m; then
		pass "$c f100m ($((($(date +%s%N) - t0) / 1000000)) ms)"
	else
		fail "$c f100m"
	fi
	rm -f "$T/out/$c-f100m"
done
if [ $have_v6 = 1 ]; then
	for c in hpa curl atftp bb own; do
		have $c || continue
		if get $c ::1 $P_MAIN f1m v6-$c && same v6-$c f1m; then
			pass "$c over IPv6 f1m"
		else
			fail "$c over IPv6 f1m"
		fi
	done
else
	skip "IPv6" "no ::1 on this host"
fi
if [ $have_hpa = 1 ]; then
	# tftp-hpa converts netascii back to the local form: the round trip
	# must give the file back (RFC 764: LF <-> CR LF, CR <-> CR NUL).
	rm -f "$T/out/text"
	tftp -m netascii 127.0.0.1 $P_MAIN -c get text.txt "$T/out/text" >>"$T/clients.log" 2>&1
	check "netascii round trip (tftp-hpa)" same text text.txt
fi

section "boot clients' requests"
# oack NAME EXPECTED ARGS...: the OACK holds exactly the expected options.
oack() {
	local name=$1 want=$2 got
	shift 2
	got=$("$CLIENT" --print-oack --out "$T/out/$name" "$@" 127.0.0.1 $P_MAIN f1m 2>>"$T/clients.log" | tr '\n' ' ')
	if [ "$got" = "$want" ] && same "$name" f1m; then
		pass "$name: OACK '$got'"
	else
		fail "$name" "OACK '$got', wanted '$want'"
	fi
}
oack ipxe "blksize=1432 tsize=1048576 " --opt blksize=1432 --opt tsize=0
oack pxelinux "tsize=1048576 blksize=1408 " --opt tsize=0 --opt blksize=1408
oack ovmf-real "blksize=1468 windowsize=4 " --opt blksize=1468 --opt windowsize=4
oack no-unasked-options "timeout=3 " --opt timeout=3 --opt multicast= --opt rollover=0
oack blksize-not-above-asked "blksize=8 " --opt blksize=8
oack windowsize-capped "windowsize=64 " --opt windowsize=1000
# OVMF's size probe: OACK, then ERROR 8 from the client; the server must end
# the transfer quietly and serve the real request that follows.
got=$("$CLIENT" --print-oack --abort-after-oack --opt tsize=0 --opt blksize=1468 \
	--opt windowsize=4 127.0.0.1 $P_MAIN f1m 2>>"$T/clients.log" | tr '\n' ' ')
check "OVMF probe OACK '$got'" test "$got" = "tsize=1048576 blksize=1468 windowsize=4 "
sleep 0.2
check "OVMF probe logged as client-aborted-options, no retransmission" \
	grep -q 'result=client-aborted-options' "$T/main.log"
check "OVMF real request after the probe" \
	"$CLIENT" --opt blksize=1468 --opt windowsize=4 --out "$T/out/ovmf2" 127.0.0.1 $P_MAIN f1m
check "OVMF real request data" same ovmf2 f1m
# The same two requests from one port, back to back, as OVMF sends them.
check "OVMF probe and real request from one port" \
	"$CLIENT" --probe-first --opt blksize=1468 --opt windowsize=4 \
	--out "$T/out/ovmf3" 127.0.0.1 $P_MAIN f1m
check "OVMF probe and real request from one port: data" same ovmf3 f1m

section "confinement"
# refused NAME CODE FILE: the server answers with ERROR CODE.
refused() {
	local name=$1 code=$2 f=$3 err
	err=$("$CLIENT" --tries 3 --out /dev/null 127.0.0.1 "${4:-$P_MAIN}" "$f" 2>&1)
	if [ $? = 3 ] && [[ $err == "error $code:"* ]]; then
		pass "$name -> $err"
	else
		fail "$name" "got '$err'"
	fi
}
refused "dotdot" 2 "../outside.txt"
refused "dotdot inside" 2 "sub/../../outside.txt"
refused "absolute path" 2 "/etc/passwd"
refused "symlink to ../" 2 "link_up"
refused "symlink to /etc/passwd" 2 "link_abs"
refused "FIFO" 2 "fifo"
[ -c "$R/null" ] && refused "device file" 2 "null"
refused "directory" 2 "sub"
refused "missing file" 1 "nope"
check "symlink inside the root served" \
	"$CLIENT" --out "$T/out/link_in" 127.0.0.1 $P_MAIN link_in
# A NUL inside the name ends it; the rest is taken as the mode.
refused_raw() {
	local err
	err=$("$CLIENT" --tries 3 --raw "$2" 127.0.0.1 $P_MAIN x 2>&1)
	if [ $? = 3 ] && [[ $err == "error 4:"* ]]; then pass "$1 -> $err"; else fail "$1" "got '$err'"; fi
}
refused_raw "NUL in file name" "0001$(printf 'f1' | od -An -tx1 | tr -d ' \n')00$(printf '../../etc/passwd' | od -An -tx1 | tr -d ' \n')00$(printf octet | od -An -tx1 | tr -d ' \n')00"
refused_raw "malformed request" "000166"
check "WRQ refused on a read-only server" bash -c \
	"[ \$(cd '$T/out' && tftp -m binary 127.0.0.1 $P_MAIN -c put '$R/f1' up.bin 2>&1 | grep -c 'Access violation') -ge 1 ] && [ ! -e '$R/up.bin' ]"
# Untrusted names are escaped in the log.
"$CLIENT" --tries 2 --out /dev/null 127.0.0.1 $P_MAIN $'evil\x1b[31m\nname"' >/dev/null 2>&1
sleep 0.1
check "file names escaped in the log" bash -c \
	"grep -qF 'evil\\x1b[31m\\x0aname\\\"' '$T/main.log' && ! grep -q \$'\\x1b' '$T/main.log'"

section "writes"
if [ $have_hpa = 1 ]; then
	(cd "$T/out" && tftp -m binary 127.0.0.1 $P_WRITE -c put "$R/f1m" new.bin) >>"$T/clients.log" 2>&1
	check "WRQ creates a new file (tftp-hpa put)" cmp -s "$R/f1m" "$T/wroot/new.bin"
	(cd "$T/out" && tftp -m binary 127.0.0.1 $P_WRITE -c put "$R/f1" exists.bin) >>"$T/clients.log" 2>&1
	check "WRQ never overwrites" grep -qx existing "$T/wroot/exists.bin"
	check "WRQ overwrite answered with error 6" grep -q 'error=6' "$T/write.log"
	(cd "$T/out" && tftp -m binary 127.0.0.1 $P_WRITE -c put "$R/f1" ../escape.bin) >>"$T/clients.log" 2>&1
	check "WRQ outside the root refused" test ! -e "$T/escape.bin"
	(cd "$T/out" && tftp -m netascii 127.0.0.1 $P_WRITE -c put "$R/text.txt" text.txt) >>"$T/clients.log" 2>&1
	check "WRQ netascii round trip" cmp -s "$R/text.txt" "$T/wroot/text.txt"
fi
if [ $have_bb = 1 ]; then
	busybox tftp -b 1432 -p -l "$R/f513" -r bb.bin 127.0.0.1 $P_WRITE >>"$T/clients.log" 2>&1
	check "WRQ with blksize (busybox put)" cmp -s "$R/f513" "$T/wroot/bb.bin"
fi

section "--map"
check "map: leading slash, backslashes, case" \
	"$CLIENT" --out "$T/out/mapped" 127.0.0.1 $P_MAP '/BOOT\file.ipxe'
check "map: data" cmp -s "$R/Boot/File.IPXE" "$T/out/mapped"
check "map: still confined" bash -c \
	"'$CLIENT' --tries 2 --out /dev/null 127.0.0.1 $P_MAP '\\..\\outside.txt' 2>&1 | grep -q '^error 2'"

section "lossy relay (2% drop, 2% duplicate, 2% reorder)"
# The downloads run at once: each mostly waits out its retransmit timeouts.
# The relay draws each flow's faults from a generator seeded by --seed and
# the flow's request, so every client meets the same faults as it would
# alone.  That matters for atftp: it aborts on a repeated OACK (a lost ACK 0
# or a duplicated OACK; 2 of 60 seeds), a client limit, not the server's.
# Each leaves its result in lossy-NAME.rc; the checks follow in order.
# Rollover under loss: 80 MiB at 512-byte blocks is 163840 blocks.  A lighter
# loss rate keeps it quick: every lost window tail costs a retransmit timeout.
head -c 83886080 "$R/f100m" >"$R/f80m"
lossy_pids=() lossy=()
for c in hpa curl1468 atftp16 bb own; do
	have $c || { skip "lossy $c" "client not installed"; continue; }
	{ get $c 127.0.0.1 $P_RELAY f1m lossy-$c && same lossy-$c f1m; echo $? >"$T/out/lossy-$c.rc"; } &
	lossy_pids+=($!) lossy+=("$c")
done
{
	"$CLIENT" --opt blksize=512 --opt windowsize=16 --out "$T/out/lossy-ovmf" \
		127.0.0.1 $P_RELAY2 f80m 2>>"$T/clients.log" && same lossy-ovmf f80m
	echo $? >"$T/out/lossy-ovmf.rc"
} &
lossy_pids+=($!)
for p in "${lossy_pids[@]}"; do wait "$p"; done
for c in "${lossy[@]}"; do
	if [ "$(cat "$T/out/lossy-$c.rc" 2>/dev/null)" = 0 ]; then
		pass "lossy $c f1m"
	else
		fail "lossy $c f1m"
	fi
done
if [ "$(cat "$T/out/lossy-ovmf.rc" 2>/dev/null)" = 0 ]; then
	pass "lossy (0.2%) windowsize 16, blksize 512, f80m (rollover under loss)"
else
	fail "lossy windowsize 16 f80m"
fi
rm -f "$T/out/lossy-ovmf"

rm -f "$R/f80m"

section "concurrency and limits"
# A client that never answers must not hold up another transfer.
"$CLIENT" --stall 3 127.0.0.1 $P_MAIN f100m >/dev/null 2>&1 &
stall_pid=$!
sleep 0.2
t0=$(date +%s%N)
get curl1468 127.0.0.1 $P_MAIN f1m beside-stall
ms=$((($(date +%s%N) - t0) / 1000000))
check "slow client does not stall others ($ms ms)" \
	bash -c "cmp -s '$R/f1m' '$T/out/beside-stall' && [ $ms -lt 3000 ]"
wait $stall_pid
# 100 concurrent fetches of undionly.kpxe.
pids=()
for i in $(seq 100); do
	"$CLIENT" --opt blksize=1432 --opt tsize=0 --out "$T/out/kpxe.$i" \
		127.0.0.1 $P_MAIN undionly.kpxe 2>/dev/null &
	pids+=($!)
done
okc=0
for i in $(seq 100); do
	wait "${pids[$((i - 1))]}" && cmp -s "$R/undionly.kpxe" "$T/out/kpxe.$i" && okc=$((okc + 1))
done
check "100 concurrent clients: $okc/100 complete" test $okc = 100
# Amplification: a request nobody acknowledges gets DATA 1 once plus the
# retransmissions (--retries 2 at --timeout 1), and then nothing.
n=$("$CLIENT" --stall 5 127.0.0.1 $P_LIMIT f1m 2>/dev/null)
check "unanswered transfer: $n packets, then silence" test "${n:-99}" -ge 2 -a "${n:-99}" -le 4
# Flood: 20 requests at once from one address, against --max-per-client 2
# and --max-clients 4.
fpids=()
for i in $(seq 20); do
	"$CLIENT" --stall 2 127.0.0.1 $P_LIMIT f1m >"$T/out/flood.$i" 2>/dev/null &
	fpids+=($!)
done
wait "${fpids[@]}"
answered=$(cat "$T/out"/flood.* | awk '$1 > 0' | wc -l)
check "flood: $answered of 20 answered (per-client limit 2)" test "$answered" = 2
check "flood: drops logged" grep -q 'max-per-client reached' "$T/limit.log"
sleep 3
check "after the flood, service resumes" \
	"$CLIENT" --out "$T/out/after-flood" 127.0.0.1 $P_LIMIT f513

section "command line"
# badargs NAME ARGS...: exits with status 2 and a message.
badargs() {
	local name=$1 msg
	shift
	msg=$("$TFTPD" "$@" 2>&1 </dev/null)
	if [ $? = 2 ] && [ -n "$msg" ]; then pass "$name: $(head -1 <<<"$msg")"; else fail "$name"; fi
}
badargs "no --root"
badargs "missing root" --root "$T/nonexistent" --listen 127.0.0.1:16950
badargs "root is a file" --root "$R/f1" --listen 127.0.0.1:16950
badargs "bad number" --root "$R" --blksize-max 7 --listen 127.0.0.1:16950
badargs "bad number junk" --root "$R" --max-clients 10x --listen 127.0.0.1:16950
badargs "bad address" --root "$R" --listen 300.1.1.1:16950
badargs "bad port" --root "$R" --listen 127.0.0.1:70000
badargs "unknown option" --root "$R" --frob
printf 'strip /\nfrobnicate x\n' >"$T/badmap"
badargs "bad map line" --root "$R" --map "$T/badmap" --listen 127.0.0.1:16950
badargs "port in use" --root "$R" --listen 127.0.0.1:$P_MAIN

section "signals"
# A hang-up must not stop the server (it has nothing to reload).
kill -HUP "${PIDS[0]}"
sleep 0.2
check "SIGHUP leaves the server running" kill -0 "${PIDS[0]}"
check "a download after SIGHUP" "$CLIENT" --out /dev/null 127.0.0.1 $P_MAIN f1

section "transfer log"
check "one line per transfer with every field" grep -qE \
	'client=127\.0\.0\.1:[0-9]+ op=RRQ file="f1m" bytes=1048576 blksize=1468 windowsize=4 result=ok duration=[0-9.]+s' \
	"$T/main.log"

if [ $failed -gt 0 ]; then
	echo "--- server log (tail)"
	tail -n 30 "$T/main.log"
	echo "--- relay"
	cat "$T/relay.log"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
