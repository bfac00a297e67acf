#!/bin/bash
# When an RBD gateway dies, and two gateways commit at once (issue 14): two
# wupan-target gateways (ASan+UBSan) on a throwaway cluster of their own
# (tests/ceph/cluster.sh) whose OSD drops a dead client's watch after 5 s
# (osd_client_watch_timeout; 30 s by default), driven by
# tests/fleet/fleet_client.c:
#   - a live gateway keeps a PC's clone when the PC logs in to the other
#     one: refused at once, nobody fenced, the first keeps writing;
#   - writes acknowledged by a gateway (no FUA, no SYNCHRONIZE CACHE, after
#     a flush turned librbd's default cache to writeback) survive its
#     kill -9; its PC logs in to the other gateway, refused (retry) while
#     the dead one's watch lives, then served once Ceph drops it: the lock
#     broken, the dead gateway blocklisted, every acknowledged block there,
#     new writes taken;
#   - two update seats committing through the two gateways at the same
#     instant, a few times over: one commit wins, the other is refused, and
#     the state (versions, images PREFIX.v.N with their snapshot, current,
#     the loser's clone and its metadata) stays consistent.
# Ports: monitor 47300, OSD 47310-47349, gateways 47260-47261.
. "$(dirname "$0")/../suite.sh" ceph-takeover

. tests/ceph/lib.sh
WT=${WUPAN_TARGET:-$O/asan/bin/wupan-target}
ceph_suite_start 47300
cephc() { timeout 60 ceph -c "$CONF" "$@"; }
# Read when a watch is set up: the gateways start after this.
WATCH=5
cephc --admin-daemon "$C/run/osd.0.asok" config set osd_client_watch_timeout $WATCH >/dev/null 2>&1 ||
	ceph_suite_fail setup "cannot set osd_client_watch_timeout"
"$CL" golden "$W/room.img" 131072
rbdc import "$W/room.img" rbd/room >/dev/null 2>&1 || bad setup "rbd import"

R=iqn.2025-01.org.wupan:room
V=iqn.2025-01.org.wupan:versions
PC=iqn.2025-01.org.wupan:pc
# gw NAME PORT N: gateway NAME, started for the N-th time; both serve the
# same rooms.
gw() {
	gateway_start "$1" "$2" "$3" "target $R
  lun golden=rbd:rbd/room overlays=rbd:rbd/r mode=persistent
target $V
  lun golden=rbd:rbd/room overlays=rbd:rbd/v mode=reset update=${PC}-admin*"
}
gw a 47260 1
gw b 47261 1
port() { [ "$1" = a ] && echo 47260 || echo 47261; }
# cl GATEWAY TARGET INITIATOR STEP...: one OS session.
cl() { timeout 120 "$CL" "iscsi://127.0.0.1:$(port "$1")/$2/0" "$3" os "${@:4}"; }
ms() { date +%s%3N; }
blocklisted() { cephc osd blocklist ls 2>/dev/null | grep -c '^[0-9]'; }

# A live gateway keeps its clone: while a writes for pc9, a login of pc9
# at b is refused at once, without breaking a's lock or fencing it.
cl a "$R" "${PC}9" w:300:6 s:3 w:301:7 r:300:6 >"$W/live.out" 2>&1 &
live=$!
sleep 1.5
t0=$(ms)
out=$(cl b "$R" "${PC}9" r:300:6 2>&1)
rc=$? t=$(($(ms) - t0))
if wait $live && [ $rc != 0 ] && [ $t -lt 3000 ] && [ "$(blocklisted)" = 0 ] &&
	grep -q "r/${PC}9: its clone rbd/r.client.${PC}9 is held by another gateway (.*retry): login refused" "$W/b.log"; then
	ok "a live gateway keeps its clone: b refuses the PC in $t ms, nobody fenced, a's writes go on"
else
	bad "live gateway keeps its clone" "b's answer rc=$rc in $t ms, a: $(head -n 2 "$W/live.out"), blocklist $(blocklisted): $(grep "${PC}9" "$W/b.log" | tail -n 1)"
fi
cl b "$R" "${PC}9" r:300:6 r:301:7 >/dev/null 2>&1 &&
	ok "once a closed it, b serves that PC (its writes there)" || bad "b after a" "pc9"

# kill -9 with acknowledged writes in flight.  The first write's
# SYNCHRONIZE CACHE is librbd's cue to leave writethrough for its default
# cache mode; plain one-block writes follow, 500 in a row and one into
# each further 4 MiB object of the clone (a slow copy-up from the golden
# image each), and the client kills gateway a the moment the last one is
# acknowledged.
out=$(cl a "$R" "${PC}1" w:0:9 plain:16:500 plain:8192:15:8192 kill:"$a_PID" 2>&1)
tk=$(ms)
# Killed already, unless the writes failed.
kill -KILL "$a_PID" 2>/dev/null
{ wait "$a_PID"; } 2>/dev/null
[ -z "$out" ] || bad "writes through a" "$out"
out=$(cl b "$R" "${PC}1" r:0:9 2>&1)
rc=$? t=$(($(ms) - tk))
if [ $rc != 0 ] && [ $t -lt $((WATCH * 1000 - 1000)) ] &&
	grep -q "r/${PC}1: its clone .* is held by another gateway (.*retry): login refused" "$W/b.log"; then
	ok "right after a's kill -9, b refuses its PC at once ($t ms), to be retried"
else
	bad "refused while the watch lives" "rc=$rc after $t ms: $out $(grep "${PC}1" "$W/b.log" | tail -n 1)"
fi
served=0
for _ in $(seq 60); do
	if out=$(cl b "$R" "${PC}1" r:0:9 check:16:500 check:8192:15:8192 w:5000:42 r:5000:42 2>&1); then
		served=1
		break
	fi
	grep -q "acknowledged blocks lost" <<<"$out" && break
	sleep 0.5
done
t=$(($(ms) - tk))
if [ $served = 1 ]; then
	ok "b takes a's PC over $t ms after the kill (watch timeout ${WATCH} s): all 515 acknowledged writes there, new writes taken"
else
	bad "takeover" "after $t ms: $out"
fi
grep -q "rbd: the lock of .*, a gateway gone from the cluster (no watch): blocklisted and broken" "$W/b.log" &&
	[ "$(blocklisted)" = 1 ] &&
	ok "the dead gateway's lock was broken and it was blocklisted (fenced)" ||
	bad "fencing" "blocklist $(blocklisted); $(grep "broke" "$W/b.log")"
gw a 47260 2

# Two update seats commit through the two gateways at the same instant.
A1=${PC}-admin1 A2=${PC}-admin2
state() { # the versions, current and images of rbd:rbd/v as one line
	local v
	v=$(ctl b versions | sed -n '/^overlays rbd:rbd\/v /,/^overlays/p')
	echo "current=$(sed -n 's/^overlays rbd:rbd\/v current \([0-9]*\) .*/\1/p' <<<"$v")" \
		"versions=$(sed -n 's/^[* ]*\([0-9][0-9]*\) parent.*/\1/p' <<<"$v" | sort -n | tr '\n' ,)" \
		"images=$(rbdc ls rbd | sed -n 's/^v\.v\.//p' | sort -n | tr '\n' ,)"
}
# The second starts 0-80 ms after the first: both then take the same
# number (the image rename decides) or the second the next one (the
# compare-and-set of "current" decides).
cur=0 rounds=6 good=0 delays=(0 0 0.01 0.02 0.04 0.08)
for round in $(seq $rounds); do
	b1=$((round * 10)) b2=$((round * 10 + 1))
	cl a "$V" "$A1" w:$b1:$b1 >/dev/null && cl b "$V" "$A2" w:$b2:$b2 >/dev/null ||
		{ bad "round $round" "seats did not write"; continue; }
	ctl a commit "$A1" "round $round one" >"$W/c1.out" 2>&1 &
	c1=$!
	sleep ${delays[round - 1]}
	ctl b commit "$A2" "round $round two" >"$W/c2.out" 2>&1 &
	c2=$!
	wait $c1
	r1=$?
	wait $c2
	r2=$?
	if [ $r1 = 0 ] && [ $r2 != 0 ]; then
		win=$A1 lose=$A2 wb=$b1 lb=$b2 lg=b
	elif [ $r2 = 0 ] && [ $r1 != 0 ]; then
		win=$A2 lose=$A1 wb=$b2 lb=$b1 lg=a
	else
		bad "round $round" "not one winner: $(cat "$W/c1.out" "$W/c2.out")"
		break
	fi
	lout=$(cat "$W/c$([ $lg = a ] && echo 1 || echo 2).out")
	new=$(sed -n 's/.*version \([0-9]*\) committed.*/\1/p' "$W/c1.out" "$W/c2.out")
	st=$(state)
	want="current=$new versions=$(seq -s, 1 "$new"), images=$(seq -s, 1 "$new"),"
	meta=$(rbdc image-meta get "rbd/v.client.$lose" wupan.base 2>&1)
	if [ "$st" = "$want" ] && grep -q "^refused: the current version of rbd:rbd/v changed meanwhile" <<<"$lout" &&
		[ "$meta" = "$cur" ] && [ -z "$(rbdc snap ls "rbd/v.client.$lose" 2>&1)" ] &&
		rbdc snap ls "rbd/v.v.$new" | grep -q " v " &&
		cl a "$V" "${PC}3$round" r:$wb:$wb g:$lb >/dev/null &&
		cl $lg "$V" "$lose" r:$lb:$lb >/dev/null; then
		good=$((good + 1))
	else
		bad "round $round" "state '$st' (want '$want'); loser: $lout; its base '$meta' (want $cur); $(rbdc snap ls "rbd/v.client.$lose" 2>&1)"
		break
	fi
	cur=$new
	# The loser's work stands on the old version: discarded for the next
	# round (its commit is refused now, made on an old version).
	out=$(ctl $lg commit "$lose" again 2>&1)
	grep -q "made on version $((cur - 1)), but version $cur is current" <<<"$out" ||
		bad "round $round: retry" "$out"
	ctl $lg reset "$lose" >/dev/null || bad "round $round: reset" "$lose"
done
[ $good = $rounds ] &&
	ok "$rounds rounds of two commits at once through two gateways: one wins, the other is refused; versions, images, current and the loser's clone (work, base, no snapshot) consistent"

gateways_stop a b
suite_end
