#!/bin/bash
# Durability: a write load with SYNCHRONIZE CACHE and FUA writes, the target
# killed with SIGKILL in the middle, and a check that every write
# acknowledged as stable before the kill is in the image.  Three rounds.
# Ports 23290-23292.  Needs libiscsi-dev to build the load client.
set -u
cd "$(dirname "$0")/../.."
. tests/target/lib.sh
trap t_cleanup EXIT
t_lock durability || exit 1

work=$O/target-tests/durability
IQN=iqn.2025-01.org.wupan:durability
BLOCKS=4096
rm -rf "$work"
mkdir -p "$work"
client=$work/dura_client
if ! ${CC:-cc} -O2 -Wall -o "$client" tests/target/dura_client.c -liscsi \
	2>"$work/cc.log"; then
	t_fail build "cannot build the load client: $(head -n 3 "$work/cc.log")"
	t_done
	exit 1
fi
for round in 1 2 3; do
	port=$((23289 + round))
	img=$work/disk$round.img
	truncate -s $((BLOCKS * 512 * 2)) "$img"
	if ! wt_start "$work/wupan$round.log" --listen 127.0.0.1:$port \
		--target "$IQN" --lun "$img"; then
		t_fail "round $round" "target did not start"
		continue
	fi
	pid=$WT_PID
	"$client" write "iscsi://127.0.0.1:$port/$IQN/0" $BLOCKS \
		>"$work/load$round.out" 2>"$work/load$round.err" &
	load=$!
	T_PIDS+=($load)
	sleep "0.$((round * 3))"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	wait "$load" 2>/dev/null
	n=$(awk '$1 == "durable" {n = $2} END {print n + 0}' "$work/load$round.out")
	fua=$(awk '$1 == "durable-fua" {n = $2} END {print (n == "" ? "none" : n)}' \
		"$work/load$round.out")
	if [ "$n" -lt 16 ]; then
		t_fail "round $round" "only $n writes acknowledged before the kill"
		continue
	fi
	if "$client" check "$img" $BLOCKS "$n" "$fua" >"$work/check$round.out"; then
		t_ok "round $round: $n synced writes and FUA write $fua on disk after SIGKILL"
	else
		t_fail "round $round" "$(head -n 5 "$work/check$round.out")"
	fi
done
t_done
