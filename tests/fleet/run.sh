#!/bin/bash
# A room from one golden image, driven by a scripted initiator
# (fleet_client.c) that logs in with iPXE's ISID or an OS's: per-client
# overlays, reset and persistent modes across boots, UNMAP, the space
# limits with SPACE ALLOCATION FAILED, SIGKILL of the target during a
# synced write load, the control socket, versions and the seats file; the
# daemon runs under ASan+UBSan when that build exists.  Ports 39260-39269.
# Needs libiscsi-dev.
set -u
cd "$(dirname "$0")/../.."
# The daemon under ASan+UBSan when it is built (make test builds it).
[ -z "${WUPAN_TARGET:-}" ] && [ -x "${O:-build}/asan/bin/wupan-target" ] &&
	WUPAN_TARGET=${O:-build}/asan/bin/wupan-target
. tests/target/lib.sh
trap t_cleanup EXIT
t_lock fleet || exit 1

work=$O/fleet-tests/run
rm -rf "$work"
mkdir -p "$work"
client=$work/fleet_client
if ! ${CC:-cc} -O2 -Wall -o "$client" tests/fleet/fleet_client.c -liscsi \
	2>"$work/cc.log"; then
	t_fail build "cannot build the client: $(head -n 3 "$work/cc.log")"
	t_done
	exit 1
fi

# The golden image: block b holds (b * 7 + i + 1) % 256 at offset i.
golden=$work/room.img
"$client" golden "$golden" 16384
sum0=$(sha256sum <"$golden")
PORT=39260
R=iqn.2025-01.org.wupan:room
P=iqn.2025-01.org.wupan:persist
S=iqn.2025-01.org.wupan:small
V=iqn.2025-01.org.wupan:versions
PC=iqn.2025-01.org.wupan:pc
CTL=("$WUPAN_TARGET" ctl --socket "$work/ctl.sock")
cat >"$work/target.conf" <<EOF
listen 127.0.0.1:$PORT
control $work/ctl.sock
target $R
  lun golden=$golden overlays=$work/ov-reset mode=reset
  lun $golden,ro
target $P
  lun golden=$golden overlays=$work/ov-persist mode=persistent
target $S
  lun golden=$golden overlays=$work/ov-small limit=1M dir-limit=1536K
target $V
  lun golden=$golden overlays=$work/ov-ver mode=reset update=${PC}-admin*
EOF
log=$work/target.log
if ! wt_start "$log" --config "$work/target.conf"; then
	t_fail start "wupan-target did not start: $(tail -n 3 "$log")"
	t_done
	exit 1
fi

# run NAME TARGET[/LUN] INITIATOR ipxe|os STEP...: one session; the case fails
# with the client's output if any step does.
run() {
	local name=$1 tgt=$2 ini=$3 kind=$4 out
	shift 4
	case $tgt in */*) ;; *) tgt=$tgt/0 ;; esac
	if out=$("$client" "iscsi://127.0.0.1:$PORT/$tgt" "$ini" "$kind" "$@" 2>&1); then
		return 0
	fi
	t_fail "$name" "$(head -n 3 <<<"$out")"
	return 1
}

# Three PCs boot at once, each writes its own block, sees only its own.
ok=1
for n in 1 2 3; do
	"$client" "iscsi://127.0.0.1:$PORT/$R/0" "$PC$n" ipxe w:100:$n r:100:$n s:1 r:100:$n \
		>"$work/three$n.out" 2>&1 &
	pids[$n]=$!
done
for n in 1 2 3; do
	wait "${pids[$n]}" || { ok=0; t_fail "three clients" "pc$n: $(head -n 2 "$work/three$n.out")"; }
done
[ $ok = 1 ] && run "three clients" "$R" "${PC}1" os r:100:1 &&
	run "three clients" "$R" "${PC}2" os r:100:2 &&
	run "three clients" "$R" "${PC}4" ipxe g:100 &&
	t_ok "three clients at once: each reads its own block, a fourth the golden one"
n=$(ls "$work/ov-reset" | grep -c '\.ovl$')
[ "$n" = 4 ] && t_ok "one overlay per initiator ($n)" ||
	t_fail "one overlay per initiator" "$n overlay files: $(ls "$work/ov-reset")"

# A second disk shared read-only by the room, next to the overlay LUN.
run "shared second disk" "$R/1" "${PC}1" os g:100 g:7000 &&
	! "$client" "iscsi://127.0.0.1:$PORT/$R/1" "${PC}1" os w:100:1 >/dev/null 2>&1 &&
	t_ok "a read-only second disk is shared as it is: golden data, writes refused"

# Reset mode: iPXE, the OS through the iBFT, an OS reconnect keep the
# overlay; iPXE after the OS is a new boot and finds the golden image.
run "reset: one boot keeps" "$R" "${PC}5" ipxe w:200:51 &&
	run "reset: one boot keeps" "$R" "${PC}5" ipxe r:200:51 &&
	run "reset: one boot keeps" "$R" "${PC}5" os r:200:51 w:201:52 &&
	run "reset: one boot keeps" "$R" "${PC}5" os r:200:51 r:201:52 &&
	t_ok "reset mode: iPXE, iPXE again, OS login and OS reconnect share one overlay"
run "reset: new boot" "$R" "${PC}5" ipxe g:200 g:201 &&
	t_ok "reset mode: iPXE after an OS login starts from the golden image"
grep -q "${PC}5: isid=40002723.* login=ipxe overlay=reset" "$log" &&
	t_ok "reset logged with iPXE's ISID" ||
	t_fail "reset logged" "$(grep "${PC}5" "$log" | tail -n 2)"

# Persistent mode: the same sequence keeps the writes.
run "persistent" "$P" "${PC}5" ipxe w:200:61 &&
	run "persistent" "$P" "${PC}5" os r:200:61 w:201:62 &&
	run "persistent" "$P" "${PC}5" ipxe r:200:61 r:201:62 &&
	run "persistent" "$P" "${PC}5" os r:200:61 &&
	t_ok "persistent mode: writes survive a new boot"

# UNMAP on an overlay reads back zeros, not the golden data.
run "unmap" "$R" "${PC}6" os w:300:9 u:300:4 r:300:0 r:303:0 g:304 &&
	t_ok "UNMAP reads back zeros; the next block stays golden"

# Space: 1 MiB per overlay, 1.5 MiB for the directory.
out=$("$client" "iscsi://127.0.0.1:$PORT/$S/0" "${PC}7" os fill:0 g:5000 w:10:7 r:10:7 2>&1)
if grep -q "sense=7/27/07" <<<"$out" && ! grep -qv '^filled' <<<"$out"; then
	t_ok "full overlay: SPACE ALLOCATION FAILED ($(head -n 1 <<<"$out")), the session goes on reading and rewriting"
else
	t_fail "full overlay" "$(head -n 3 <<<"$out")"
fi
grep -q "ov-small/iqn.2025-01.org.wupan:pc7: 80% of its limit" "$log" &&
	grep -q "ov-small/iqn.2025-01.org.wupan:pc7: 90% of its limit" "$log" &&
	t_ok "80 % and 90 % of the overlay limit logged" ||
	t_fail "limit warnings" "$(grep -c 'of its limit' "$log") lines"
out=$("$client" "iscsi://127.0.0.1:$PORT/$S/0" "${PC}8" os w:10:8 fill:100 r:10:8 2>&1)
n=$(sed -n 's/^filled \([0-9]*\) .*/\1/p' <<<"$out")
if grep -q "sense=7/27/07" <<<"$out" && [ -n "$n" ] && [ "$n" -lt 1024 ]; then
	t_ok "directory limit: a second client gets SPACE ALLOCATION FAILED after $n blocks"
else
	t_fail "directory limit" "$(head -n 3 <<<"$out")"
fi
grep -q "ov-small: 90% of the directory limit" "$log" &&
	t_ok "90 % of the directory limit logged" ||
	t_fail "directory warnings" "$(grep 'directory limit' "$log" | head -n 2)"
run "others go on" "$R" "${PC}1" os r:100:1 w:101:1 &&
	t_ok "other clients go on while one is full"

# The control socket: the list in text and JSON, and a reset refused while
# the client has a session open, done once it has logged out.
out=$("${CTL[@]}" list 2>&1)
if grep -qE "^overlays $work/ov-reset golden $golden mode reset" <<<"$out" &&
	grep -qE "^  iqn.2025-01.org.wupan:pc5 +0 firmware +0 +[0-9]+ - 0 0$" <<<"$out" &&
	grep -qE "^overlays $work/ov-small .* limit 1048576 dir-limit 1572864$" <<<"$out"; then
	t_ok "ctl list: overlay LUNs and their clients"
else
	t_fail "ctl list" "$(head -n 8 <<<"$out")"
fi
"$client" "iscsi://127.0.0.1:$PORT/$R/0" "${PC}6" os w:310:6 s:3 >"$work/held.out" 2>&1 &
held=$!
sleep 1
out=$("${CTL[@]}" --json list 2>&1)
grep -qE '\{"name":"iqn.2025-01.org.wupan:pc6","sessions":1,"phase":"os","version":0,"allocated":[0-9]+,"written":[0-9]+,"read_bytes":0,"write_bytes":512\}' <<<"$out" &&
	grep -qF '"mode":"reset"' <<<"$out" &&
	t_ok "ctl --json list: a running client with its session" ||
	t_fail "ctl --json list" "$(head -c 400 <<<"$out")"
out=$("${CTL[@]}" reset "${PC}6" 2>&1)
rc=$?
[ $rc = 1 ] && grep -q "^refused: iqn.2025-01.org.wupan:pc6 has 1 session open" <<<"$out" &&
	t_ok "ctl reset of a running client is refused: $out" ||
	t_fail "ctl reset refused" "exit $rc: $out"
wait $held
out=$("${CTL[@]}" reset "${PC}6" 2>&1) &&
	run "ctl reset" "$R" "${PC}6" os g:310 &&
	t_ok "ctl reset once it logged out: $out; its next login starts from the golden image" ||
	t_fail "ctl reset" "$out"

# Versions: the update seat's work becomes version 1 by commit; a client
# that was running keeps the golden image until its next boot; fresh boots
# get version 1; rollback, and the next boot does not see version 2.
A=${PC}-admin1
run "seat boots" "$V" "${PC}20" ipxe g:400 && run "seat boots" "$V" "${PC}20" os g:400
run "seat writes" "$V" "$A" ipxe w:400:77 && run "seat writes" "$V" "$A" os r:400:77 w:401:77
"$client" "iscsi://127.0.0.1:$PORT/$V/0" "$A" os s:3 >/dev/null 2>&1 &
held=$!
sleep 1
out=$("${CTL[@]}" commit "$A" first update 2>&1)
[ $? = 1 ] && grep -q "^refused: the update seat iqn.2025-01.org.wupan:pc-admin1 has 1 session open" <<<"$out" &&
	t_ok "commit while the update seat runs is refused" || t_fail "commit refused" "$out"
wait $held
out=$("${CTL[@]}" commit "$A" first update 2>&1) &&
	grep -q "version 1 committed from iqn.2025-01.org.wupan:pc-admin1 (on version 0)" <<<"$out" &&
	t_ok "commit: $out" || t_fail "commit" "$out"
run "running client keeps its version" "$V" "${PC}20" os g:400 &&
	t_ok "a client running since before the commit keeps the golden image"
run "fresh boot sees the commit" "$V" "${PC}21" ipxe r:400:77 r:401:77 g:402 &&
	run "new boot sees the commit" "$V" "${PC}20" ipxe r:400:77 &&
	t_ok "fresh and new boots read version 1"
run "seat starts over" "$V" "$A" ipxe r:400:77 w:402:78 &&
	out=$("${CTL[@]}" commit "$A" second 2>&1) &&
	grep -q "version 2 committed" <<<"$out" &&
	run "version 2" "$V" "${PC}22" ipxe r:400:77 r:402:78 &&
	t_ok "the seat builds version 2 on version 1"
run "seat on 2" "$V" "$A" ipxe w:403:79
out=$("${CTL[@]}" rollback 2>&1) &&
	grep -q "ov-ver: version 1 is current (was 2)" <<<"$out" &&
	run "rollback" "$V" "${PC}23" ipxe r:400:77 g:402 &&
	run "rollback" "$V" "${PC}22" os r:402:78 &&
	t_ok "rollback: the next boot reads version 1; a running client keeps 2" ||
	t_fail rollback "$out"
out=$("${CTL[@]}" commit "$A" stale 2>&1)
[ $? = 1 ] && grep -q "made on version 2, but version 1 is current" <<<"$out" &&
	t_ok "commit of work made on a rolled-back version is refused" ||
	t_fail "stale commit" "$out"
"${CTL[@]}" reset "$A" >/dev/null
out=$("${CTL[@]}" prune 2>&1)
grep -q "ov-ver: version 2 removed" <<<"$out" && t_fail "prune" "removed version 2 under pc22: $out" ||
	t_ok "prune keeps a version a client's overlay stands on"
run "pc22 reboots" "$V" "${PC}22" ipxe g:402
out=$("${CTL[@]}" prune 2>&1)
grep -q "ov-ver: version 2 removed" <<<"$out" && [ ! -e "$work/ov-ver/versions/2.map" ] &&
	t_ok "prune removes version 2 once nothing stands on it" || t_fail "prune" "$out"
out=$("${CTL[@]}" --json versions 2>&1)
grep -qF '"current":1,"update":"iqn.2025-01.org.wupan:pc-admin*","versions":[{"version":1,"parent":0,' <<<"$out" &&
	grep -qF '"comment":"first update","current":true}]' <<<"$out" &&
	t_ok "ctl --json versions" || t_fail "ctl versions" "$(head -c 600 <<<"$out")"

# SIGKILL while a client writes: every acknowledged synced write is back.
"$client" "iscsi://127.0.0.1:$PORT/$P/0" "${PC}9" os load:1000:3000 \
	>"$work/load.out" 2>&1 &
load=$!
T_PIDS+=($load)
sleep 1.5
kill -KILL "$WT_PID"
wait "$WT_PID" 2>/dev/null
echo "(the target was killed on purpose)"
wait "$load" 2>/dev/null
n=$(awk '$1 == "durable" {n = $2} END {print n + 0}' "$work/load.out")
if ! wt_start "$work/target2.log" --config "$work/target.conf"; then
	t_fail restart "wupan-target did not start again"
elif [ "$n" -lt 10 ]; then
	t_fail "SIGKILL" "only $n writes acknowledged before the kill"
else
	steps=()
	for ((i = 0; i < n; i++)); do
		steps+=("r:$((1000 + i)):$((i % 250 + 1))")
	done
	run "SIGKILL" "$P" "${PC}9" os "${steps[@]}" &&
		t_ok "SIGKILL during a synced load: all $n acknowledged writes read back"
fi
run "after restart" "$R" "${PC}1" os r:100:1 r:101:1 &&
	t_ok "after the restart a reset-mode OS reconnect keeps its overlay"

# A seats file makes the per-host files and a configuration that serves
# the seats, and only them.
cat >"$work/room.seats" <<EOF
# room 12
listen 127.0.0.1:$((PORT + 1))
control $work/ctl2.sock
group room $golden $work/ov-seats reset 4G
group spare $golden $work/ov-spare persistent
seat pc01 52:54:00:12:34:01 room
seat pc02 52:54:00:12:34:02 room
seat admin 52-54-00-12-34-99 room update
EOF
if out=$(sh scripts/mkseats.sh "$work/room.seats" "$work/seats" 2>&1); then
	conf=$work/seats/wupan-target.conf
	h=$work/seats/hosts/52-54-00-12-34-02.ipxe
	if grep -qx "set initiator-iqn iqn.2026-01.org.wupan.client:pc02" "$h" &&
		grep -qx "set iscsi-target iqn.2026-01.org.wupan.room:room" "$h" &&
		grep -qx "set iscsi-port $((PORT + 1))" "$h" &&
		grep -qx "  lun golden=$golden overlays=$work/ov-seats mode=reset limit=4G update=iqn.2026-01.org.wupan.client:admin" "$conf" &&
		grep -qx "  allow iqn.2026-01.org.wupan.client:pc01" "$conf" &&
		! grep -q "room:spare" "$conf" && grep -q "group spare has no seat" <<<"$out"; then
		t_ok "mkseats.sh: per-host files and the target configuration"
	else
		t_fail "mkseats.sh" "$(cat "$h" "$conf" | head -n 20)"
	fi
	main_pid=$WT_PID
	if wt_start "$work/seats.log" --config "$conf"; then
		SP=$PORT
		PORT=$((PORT + 1))
		run "seats config" "iqn.2026-01.org.wupan.room:room" "iqn.2026-01.org.wupan.client:pc01" ipxe w:5:1 r:5:1 &&
			! "$client" "iscsi://127.0.0.1:$PORT/iqn.2026-01.org.wupan.room:room/0" \
				"iqn.2026-01.org.wupan.client:pc77" ipxe g:5 >/dev/null 2>&1 &&
			t_ok "the generated configuration serves a seat and refuses an unknown PC"
		PORT=$SP
		wt_stop "$WT_PID"
		WT_PID=$main_pid
	else
		t_fail "seats config" "wupan-target refused it: $(tail -n 2 "$work/seats.log")"
	fi
else
	t_fail "mkseats.sh" "$out"
fi
printf 'seat pc01 52:54:00:12:34:01 nosuch\n' >"$work/bad.seats"
out=$(sh scripts/mkseats.sh "$work/bad.seats" "$work/bad" 2>&1) && t_fail "mkseats.sh error" "accepted" ||
	{ grep -q "bad.seats:1: unknown group 'nosuch'" <<<"$out" &&
		t_ok "mkseats.sh names the file, line and problem" || t_fail "mkseats.sh error" "$out"; }

if grep -lE "ERROR: (Address|Leak)Sanitizer|runtime error" "$work"/*.log >/dev/null 2>&1; then
	t_fail sanitizers "$(grep -lE "ERROR: (Address|Leak)Sanitizer|runtime error" "$work"/*.log)"
else
	t_ok "no sanitizer report ($WUPAN_TARGET)"
fi
[ "$(sha256sum <"$golden")" = "$sum0" ] &&
	t_ok "the golden image is unchanged" ||
	t_fail "golden" "the golden image was written"
wt_stop "$WT_PID"
if grep -lE "ERROR: (Address|Leak)Sanitizer|runtime error" "$work"/*.log >/dev/null 2>&1; then
	t_fail "sanitizers at exit" "$(grep -hE "ERROR: |runtime error" "$work"/*.log | head -n 3)"
fi
t_done
