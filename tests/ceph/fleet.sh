#!/bin/bash
# A room from one golden image on Ceph RBD (issue 14): overlay LUNs whose
# golden image is an RBD snapshot and whose overlays are RBD clones, served
# by TWO wupan-target gateways on the same throwaway cluster
# (tests/ceph/cluster.sh), driven by tests/fleet/fleet_client.c with iPXE's
# ISID or an OS's: own writes only, reset and persistent across boots, one
# clone held by one gateway, commit through one gateway seen by the other,
# rollback, prune, the ctl outputs, and a login that waits on a stopped OSD
# while the gateway serves others.  The gateways run under ASan+UBSan.
# Ports: monitor 44300, OSD 44310-44349, gateways 44260-44262.
. "$(dirname "$0")/../suite.sh" ceph-fleet

. tests/ceph/lib.sh
WT=${WUPAN_TARGET:-$O/asan/bin/wupan-target}
# One cluster on ports 44300-44349 at a time: this suite's or the other's.
ceph_suite_start 44300

# The golden image: block b holds (b * 7 + i + 1) % 256 at offset i.
"$CL" golden "$W/room.img" 16384
rbdc import "$W/room.img" rbd/room >/dev/null 2>&1 || bad setup "rbd import"

# A golden image that is not there: a start-up error that names it.
timeout 60 "$WT" --listen 127.0.0.1:44262 --ceph-conf "$CONF" --ceph-timeout 10 \
	--target iqn.2025-01.org.wupan:none \
	--lun golden=rbd:rbd/nothere,overlays=rbd:rbd/n 2>"$W/none.log"
rc=$?
[ $rc = 2 ] && grep -q "golden image nothere: no such image" "$W/none.log" &&
	ok "start-up error (exit 2): $(tail -n 1 "$W/none.log" | sed "s/.*LUN 0: //")" ||
	bad "missing golden image" "exit $rc: $(tail -n 2 "$W/none.log")"

R=iqn.2025-01.org.wupan:room
P=iqn.2025-01.org.wupan:persist
V=iqn.2025-01.org.wupan:versions
PC=iqn.2025-01.org.wupan:pc
A=${PC}-admin1
F=iqn.2025-01.org.wupan:plain
truncate -s 8M "$W/plain.img"
# gw NAME PORT [MORE]: gateway NAME; both serve the same room.
gw() {
	gateway_start "$1" "$2" 1 "${3:-}
target $R
  lun golden=rbd:rbd/room overlays=rbd:rbd/r mode=reset linger=4
target $P
  lun golden=rbd:rbd/room overlays=rbd:rbd/p mode=persistent linger=60
target $V
  lun golden=rbd:rbd/room overlays=rbd:rbd/v mode=reset update=${PC}-admin*"
}
gw a 44260 "target $F
  lun $W/plain.img"
gw b 44261

# run NAME GATEWAY TARGET INITIATOR ipxe|os STEP...: one session; the case
# fails with the client's output if a step does.
run() {
	local name=$1 port=4426$(tr abc 012 <<<"$2") out
	out=$(timeout 120 "$CL" "iscsi://127.0.0.1:$port/$3/0" "$4" "$5" "${@:6}" 2>&1) && return 0
	bad "$name" "$(head -n 3 <<<"$out")"
	return 1
}
parent() { rbdc info "rbd/$1" 2>/dev/null | sed -n 's/^\tparent: //p'; }

# Two PCs, one through each gateway, write the same block: each reads its
# own, a third reads the golden image; each has a clone of the golden
# snapshot of its own.
run "own writes" a "$R" "${PC}1" ipxe w:100:1 r:100:1 &&
	run "own writes" b "$R" "${PC}2" ipxe g:100 w:100:2 r:100:2 &&
	run "own writes" a "$R" "${PC}2" os r:100:2 &&
	run "own writes" b "$R" "${PC}1" os r:100:1 &&
	run "own writes" a "$R" "${PC}3" ipxe g:100 &&
	ok "two PCs on one golden LUN, each through either gateway, read their own writes; a third the golden data"
p1=$(parent "r.client.${PC}1") p2=$(parent "r.client.${PC}2")
if [ "$p1" = rbd/room@wupan-0 ] && [ "$p2" = rbd/room@wupan-0 ] &&
	rbdc snap ls rbd/room 2>/dev/null | grep -q "wupan-0" &&
	[ "$(rbdc ls rbd | grep -c '^r\.client\.')" = 3 ]; then
	ok "rbd ls/info: one clone per PC (3), each a child of rbd/room@wupan-0"
else
	bad "clones" "parents '$p1' '$p2'; $(rbdc ls rbd | tr '\n' ' ')"
fi

# Reset mode: the firmware, the OS and its reconnect share one clone; the
# firmware after the OS is a new boot: a new clone, golden data.
run "reset: one boot keeps" a "$R" "${PC}5" ipxe w:200:51 &&
	run "reset: one boot keeps" a "$R" "${PC}5" ipxe r:200:51 &&
	run "reset: one boot keeps" a "$R" "${PC}5" os r:200:51 w:201:52 &&
	run "reset: one boot keeps" b "$R" "${PC}5" os r:200:51 r:201:52 &&
	ok "reset mode: iPXE, iPXE again, OS login and OS reconnect (other gateway) share one clone"
run "reset: new boot" b "$R" "${PC}5" ipxe g:200 g:201 &&
	ok "reset mode: iPXE after an OS login starts a new clone (golden data)"
grep -q "r/${PC}5: isid=40002723.* login=ipxe overlay=reset" "$W/b.log" &&
	ok "the reset is logged with iPXE's ISID" ||
	bad "reset logged" "$(grep "${PC}5" "$W/b.log" | tail -n 2)"

# Persistent mode keeps the clone across boots.
run "persistent" a "$P" "${PC}5" ipxe w:200:61 &&
	run "persistent" a "$P" "${PC}5" os r:200:61 w:201:62 &&
	run "persistent" b "$P" "${PC}5" ipxe r:200:61 r:201:62 &&
	run "persistent" b "$P" "${PC}5" os r:200:61 &&
	ok "persistent mode: writes survive a new boot"

# Lingering: after its last logout a PC's clone stays open on its gateway
# (linger=), without its lock.  So the OS moving to its other path finds it
# free on b at once, and a takes it back at the PC's next login there.  a
# must then read what b wrote, here where a had read the golden image
# before (another object than a's own write): its golden cache learns the
# clone's objects anew.
run "linger" a "$P" "${PC}9" ipxe w:300:91 g:9000 &&
	run "linger" b "$P" "${PC}9" os r:300:91 w:9000:92 &&
	run "linger" a "$P" "${PC}9" os r:300:91 r:9000:92 && {
	grep -q "p/${PC}9: isid=[0-9a-f]* login=os overlay=kept phase=os version=0 open=lingered" "$W/a.log" &&
		ok "linger: b takes over the clone a left open; a takes it back and reads b's write" ||
		bad "linger" "a did not take its open clone back: $(grep "p/${PC}9" "$W/a.log" | tail -n 1)"
}
# linger=4 on the room: open right after the logout, closed 4 s later.
watched() { rbdc status "rbd/$1" 2>/dev/null | grep -q "watcher="; }
run "linger ends" a "$R" "${PC}8" ipxe w:320:8 && {
	t0=$(date +%s)
	open_after=$(watched "r.client.${PC}8" && echo yes)
	for _ in $(seq 100); do
		watched "r.client.${PC}8" || break
		sleep 0.2
	done
	t=$(($(date +%s) - t0))
	[ "$open_after" = yes ] && ! watched "r.client.${PC}8" && [ "$t" -ge 3 ] &&
		ok "linger=4: the clone stays open after its logout and is closed ${t} s later" ||
		bad "linger ends" "open after the logout: ${open_after:-no}; still open after ${t} s: $(watched "r.client.${PC}8" && echo yes)"
}

# One clone, one gateway: while a session runs on a, b refuses the PC and
# a reset through b; a's own reset is refused too.
"$CL" "iscsi://127.0.0.1:44260/$R/0" "${PC}6" os w:300:6 s:6 >"$W/held.out" 2>&1 &
held=$!
sleep 2
if "$CL" "iscsi://127.0.0.1:44261/$R/0" "${PC}6" os r:300:6 >"$W/b6.out" 2>&1; then
	bad "one gateway per clone" "b served ${PC}6 while a holds its clone"
else
	grep -q "r/${PC}6: its clone rbd/r.client.${PC}6 is held by another gateway" "$W/b.log" &&
		ok "one gateway per clone: b refuses a PC whose clone a holds (exclusive lock)" ||
		bad "one gateway per clone" "$(grep "${PC}6" "$W/b.log" | tail -n 1)"
fi
out=$(ctl b reset "${PC}6" 2>&1)
[ $? = 1 ] && grep -q "open through another gateway" <<<"$out" &&
	ok "ctl reset through b of a PC running on a is refused: $out" ||
	bad "reset elsewhere" "$out"
out=$(ctl a reset "${PC}6" 2>&1)
[ $? = 1 ] && grep -q "^refused: ${PC}6 has 1 session open" <<<"$out" &&
	ok "ctl reset through a of its running PC is refused" || bad "reset refused" "$out"
out=$(ctl a --json list 2>&1)
grep -qE "\{\"name\":\"${PC}6\",\"sessions\":1,\"phase\":\"os\",\"version\":0,\"allocated\":[0-9]+,\"written\":null,\"read_bytes\":null,\"write_bytes\":null\}" <<<"$out" &&
	grep -qF '"overlays":"rbd:rbd/r","golden":"rbd:rbd/room"' <<<"$out" &&
	ok "ctl --json list: the running PC with its session, phase and version" ||
	bad "ctl --json list" "$(head -c 400 <<<"$out")"
wait $held || bad "held session" "$(head -n 2 "$W/held.out")"
out=$(ctl b reset "${PC}6" 2>&1) &&
	run "ctl reset" a "$R" "${PC}6" os g:300 &&
	ok "ctl reset through b once it logged out: $out; its next login finds the golden data" ||
	bad "ctl reset" "$out"
# a still had that clone open (linger): b renamed it out of the way, and a
# removed it when the new login could not take it back.
grep -q "r: the clone r\.old\.${PC}6\.[0-9.]*, left open here and replaced through another gateway: removed" "$W/a.log" &&
	! rbdc ls rbd | grep -q "^r\.old\.${PC}6" &&
	ok "the clone a left open and b reset: renamed by b, removed by a" ||
	bad "reset of a clone left open" "$(grep "${PC}6" "$W/a.log" "$W/b.log" | tail -n 3)"

# A new boot while a session of the previous one lingers: the old clone
# makes way under another name and goes when that session ends.
"$CL" "iscsi://127.0.0.1:44260/$R/0" "${PC}7" os w:310:7 s:5 r:310:7 >"$W/old.out" 2>&1 &
old=$!
sleep 2
gone() { # the old clone goes when the target has seen the logout
	for _ in $(seq 50); do
		rbdc ls rbd | grep -q '^r\.old\.' || return 0
		sleep 0.2
	done
	return 1
}
run "new boot beside the old one" a "$R" "${PC}7" ipxe g:310 &&
	wait $old && gone &&
	ok "a new boot while the old session runs: each its own clone; the old one removed at its logout" ||
	bad "old clone" "$(cat "$W/old.out"; rbdc ls rbd | grep old)"

out=$(ctl b list 2>&1)
grep -qE "^overlays rbd:rbd/p golden rbd:rbd/room mode persistent used -$" <<<"$out" &&
	grep -qE "^  ${PC}5 +0 os +0 +[0-9]+ - - -$" <<<"$out" &&
	ok "ctl list (text): LUNs and their clients" || bad "ctl list" "$(head -n 12 <<<"$out")"

# Versions: the update seat's clone becomes version 1 at commit through a;
# b agrees, and a fresh PC booting through b reads it.
run "seat writes" a "$V" "$A" ipxe w:400:77 && run "seat writes" a "$V" "$A" os r:400:77 w:401:77
run "running PC" b "$V" "${PC}20" ipxe g:400
"$CL" "iscsi://127.0.0.1:44260/$V/0" "$A" os s:4 >/dev/null 2>&1 &
held=$!
sleep 2
out=$(ctl a commit "$A" first update 2>&1)
[ $? = 1 ] && grep -q "^refused: the update seat ${A} has 1 session open" <<<"$out" &&
	ok "commit while the update seat runs is refused" || bad "commit refused" "$out"
out=$(ctl b commit "$A" first update 2>&1)
[ $? = 1 ] && grep -q "open through another gateway" <<<"$out" &&
	ok "commit through b while the seat runs on a is refused" || bad "commit refused on b" "$out"
wait $held
out=$(ctl a commit "$A" first update 2>&1) &&
	grep -q "version 1 committed from ${A} (on version 0)" <<<"$out" &&
	ok "commit through a: $out" || bad "commit" "$out"
out=$(ctl b versions 2>&1)
grep -qE "^\* 1 parent 0 [0-9T:Z-]+ first update$" <<<"${out//  /}" &&
	ok "b agrees: version 1 is current, with its comment" || bad "versions on b" "$out"
[ "$(parent v.v.1)" = rbd/room@wupan-0 ] &&
	rbdc snap ls rbd/v.v.1 2>/dev/null | grep -q " v " &&
	ok "rbd: version 1 is the image v.v.1 (a clone of the golden snapshot) with its snapshot v" ||
	bad "version image" "$(rbdc info rbd/v.v.1 2>&1 | tail -n 3)"
run "fresh PC on b" b "$V" "${PC}21" ipxe r:400:77 r:401:77 g:402 && {
	[ "$(parent "v.client.${PC}21")" = rbd/v.v.1@v ] &&
		ok "a fresh PC booting through b reads version 1 (its clone's parent is rbd/v.v.1@v)" ||
		bad "fresh PC on b" "its clone's parent is '$(parent "v.client.${PC}21")', want rbd/v.v.1@v"
}
run "running PC keeps" b "$V" "${PC}20" os g:400 &&
	ok "a PC running since before the commit keeps the golden data"
run "seat on 1" b "$V" "$A" ipxe r:400:77 w:402:78 && {
	out=$(ctl b commit "$A" second 2>&1)
	grep -q "version 2 committed" <<<"$out" || { bad "commit of version 2" "$out" && false; }
} && run "version 2" a "$V" "${PC}22" ipxe r:400:77 r:402:78 &&
	ok "the seat builds version 2 on version 1 through b; a serves it"
run "seat on 2" a "$V" "$A" ipxe w:403:79
out=$(ctl b rollback 2>&1) &&
	grep -q "rbd:rbd/v: version 1 is current (was 2)" <<<"$out" &&
	ctl a --json versions | grep -qF '"current":1,' &&
	run "rollback" a "$V" "${PC}23" ipxe r:400:77 g:402 &&
	run "rollback" b "$V" "${PC}22" os r:402:78 &&
	ok "rollback through b: a's next boot reads version 1; a running PC keeps 2" ||
	bad rollback "$out"
out=$(ctl a commit "$A" stale 2>&1)
[ $? = 1 ] && grep -q "made on version 2, but version 1 is current" <<<"$out" &&
	ok "commit of work made on a rolled-back version is refused" || bad "stale commit" "$out"
ctl a reset "$A" >/dev/null
out=$(ctl a prune 2>&1)
grep -q "version 2 removed" <<<"$out" && bad "prune" "removed version 2 under pc22: $out" ||
	ok "prune keeps a version a PC's clone stands on"
run "pc22 reboots" b "$V" "${PC}22" ipxe g:402
out=$(ctl a prune 2>&1)
grep -q "rbd:rbd/v: version 2 removed" <<<"$out" && ! rbdc ls rbd | grep -q '^v\.v\.2$' &&
	! ctl b versions | grep -q " 2 parent" &&
	ok "prune removes version 2 once nothing stands on it (image gone, b agrees)" ||
	bad "prune" "$out"
out=$(ctl b --json versions 2>&1)
grep -qF '{"overlays":"rbd:rbd/v","current":1,"update":"iqn.2025-01.org.wupan:pc-admin*","versions":[{"version":1,"parent":0,' <<<"$out" &&
	grep -qF '"comment":"first update","current":true}]}' <<<"$out" &&
	ok "ctl --json versions" || bad "ctl --json versions" "$(head -c 600 <<<"$out")"

# Clones made ahead (spares=2).  Gateway c keeps two spares of the current
# version open and locked; a new boot's clone is one of them renamed, and c
# makes another; a commit through c replaces them by spares of the new
# version; a clean stop removes them; a spare a killed gateway left (made
# here by hand, with no watcher) goes when a gateway starts.
S=iqn.2025-01.org.wupan:spares
rbdc clone rbd/room@wupan-0 rbd/s.spare.999.1 >/dev/null 2>&1 || bad setup "rbd clone"
gateway_start c 44262 1 "target $S
  lun golden=rbd:rbd/room overlays=rbd:rbd/s mode=reset update=${PC}-admin* spares=2"
# ready N: waits up to 60 s until c has N spares of 2 ready.
ready() {
	for _ in $(seq 300); do
		ctl c list 2>/dev/null | grep -q " spares $1/2$" && return 0
		sleep 0.2
	done
	return 1
}
spares() { rbdc ls rbd | grep '^s\.spare\.'; }
# parents: the parents of c's spares, one per line.
parents() { for i in $(spares); do parent "$i"; done; }
if ready 2 && [ "$(spares | wc -l)" = 2 ] && ! spares | grep -q "^s.spare.999.1$" &&
	[ "$(parents | sort -u)" = rbd/room@wupan-0 ]; then
	ok "spares=2: two clones of rbd/room@wupan-0 made ahead (ctl list: spares 2/2); a killed gateway's spare removed at the start"
else
	bad spares "$(ctl c list 2>&1 | head -n 1); $(spares | tr '\n' ' ')"
fi
# (run reports its own failure; a failed check after it says so here.)
run "spare taken" c "$S" "${PC}40" ipxe g:100 w:100:40 r:100:40 && {
	grep -q "${PC}40's clone is the spare s.spare.[0-9]*.[0-9]*, made ahead" "$W/c.log" &&
		[ "$(parent "s.client.${PC}40")" = rbd/room@wupan-0 ] && ready 2 &&
		ok "a new PC's clone is a spare renamed (golden data, then its own), and c makes another" ||
		bad "spare taken" "$(grep "${PC}40" "$W/c.log" | tail -n 2); parent $(parent "s.client.${PC}40")"
}
run "spare reset" c "$S" "${PC}40" os r:100:40 &&
	run "spare reset" c "$S" "${PC}40" ipxe g:100 && {
	[ "$(grep -c "${PC}40's clone is the spare" "$W/c.log")" = 2 ] &&
		ok "reset mode with spares: the next boot's clone is a new spare, golden data again" ||
		bad "spare reset" "$(grep -c "${PC}40's clone is the spare" "$W/c.log") spares taken by ${PC}40, want 2"
}
run "spares commit" c "$S" "${PC}-admin2" ipxe w:500:90 &&
	out=$(ctl c commit "${PC}-admin2" spares 2>&1) &&
	for _ in $(seq 300); do
		[ "$(parents | sort -u)" = rbd/s.v.1@v ] && ready 2 && break
		sleep 0.2
	done &&
	[ "$(parents | sort -u)" = rbd/s.v.1@v ] &&
	run "spares commit" c "$S" "${PC}41" ipxe r:500:90 &&
	[ "$(parent "s.client.${PC}41")" = rbd/s.v.1@v ] &&
	grep -q "${PC}41's clone is the spare" "$W/c.log" &&
	ok "after a commit the spares are clones of version 1, and a new PC's spare reads it" ||
	bad "spares commit" "$out; spares on: $(parents | tr '\n' ' ')"
ready 2
out=$(ctl c --json list 2>&1)
grep -qF '"spares":2,"spares_ready":2,"clients":[' <<<"$out" &&
	ok "ctl --json list: spares and spares_ready" || bad "json spares" "$(head -c 300 <<<"$out")"
gateways_stop c
[ -z "$(spares)" ] && ok "a clean stop removes the spares" || bad "spares left" "$(spares | tr '\n' ' ')"

# A login that waits on the cluster holds up nothing else.  With the OSD
# stopped (SIGSTOP), a new PC's login to the room waits for its clone;
# meanwhile a session to a plain file LUN on the same gateway logs in,
# writes and reads.  (The login's overlay work used to run on the event
# loop under the gateway's one lock: every other session waited too.)
osd=$(cat "$C/run/osd.0.pid")
kill -STOP "$osd"
"$CL" "iscsi://127.0.0.1:44260/$R/0" "${PC}30" ipxe w:10:30 r:10:30 >"$W/waits.out" 2>&1 &
waits=$!
sleep 1
out=$(timeout 10 "$CL" "iscsi://127.0.0.1:44260/$F/0" "${PC}31" os w:5:31 r:5:31 2>&1)
rc=$?
waited=$(kill -0 "$waits" 2>/dev/null && ! grep -q "r/${PC}30: isid" "$W/a.log" && echo yes)
kill -CONT "$osd"
[ $rc = 0 ] && [ "$waited" = yes ] &&
	ok "while a room login waits on a stopped OSD, the gateway's plain LUN serves another session" ||
	bad "login off the loop" "plain session exit $rc ($out); room login waiting: ${waited:-no}"
wait "$waits" && grep -q "r/${PC}30: isid=[0-9a-f]* login=ipxe overlay=created" "$W/a.log" &&
	ok "that room login completes once the OSD runs again: its own clone, written and read" ||
	bad "waiting login" "$(cat "$W/waits.out"; grep "${PC}30" "$W/a.log" | tail -n 2)"

gateways_stop a b
if rbdc export rbd/room "$W/room.back" >/dev/null 2>&1 && cmp -s "$W/room.img" "$W/room.back" &&
	! timeout 30 rbd -c "$CONF" status rbd/v.client.${PC}21 | grep -q "watcher="; then
	ok "the golden image is unchanged; no watcher left on a clone"
else
	bad "golden image" "changed, or a clone is still watched"
fi
suite_end
