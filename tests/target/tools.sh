#!/bin/bash
# wupan-target with libiscsi's command line tools (iscsi-ls, iscsi-inq,
# iscsi-readcapacity16), CHAP and ACL outcomes, IPv6, start-up errors, SIGHUP
# and SIGTERM.  Ports 23280-23284.
set -u
cd "$(dirname "$0")/../.."
. tests/target/lib.sh
trap t_cleanup EXIT
t_lock tools || exit 1

work=$O/target-tests/tools
IQN=iqn.2025-01.org.wupan:tools
rm -rf "$work"
mkdir -p "$work"
truncate -s 32M "$work/a.img"
truncate -s 8M "$work/b.img"
truncate -s 1000 "$work/odd.img"
url=iscsi://127.0.0.1:23280

# Start-up errors: exit status 2, nothing started, file and line named.
"$WUPAN_TARGET" --bogus >"$work/e1" 2>&1
[ $? = 2 ] && grep -q "unknown option" "$work/e1" && t_ok "bad option exits 2" ||
	t_fail "bad option exits 2" "$(cat "$work/e1")"
printf 'target iqn.2025-01.org.wupan:x\n  lun %s\n  frob 1\n' "$work/a.img" >"$work/bad.conf"
"$WUPAN_TARGET" --config "$work/bad.conf" >"$work/e2" 2>&1
[ $? = 2 ] && grep -q "bad.conf:3" "$work/e2" && t_ok "bad config names file:line" ||
	t_fail "bad config names file:line" "$(cat "$work/e2")"
"$WUPAN_TARGET" --listen 127.0.0.1:23284 --target "$IQN" --lun "$work/odd.img" >"$work/e3" 2>&1
[ $? = 2 ] && grep -q "multiple of 512" "$work/e3" && t_ok "odd-sized LUN refused" ||
	t_fail "odd-sized LUN refused" "$(cat "$work/e3")"
"$WUPAN_TARGET" --listen 127.0.0.1:23284 --target "$IQN" --lun "$work/missing.img" >"$work/e4" 2>&1
[ $? = 2 ] && grep -q "missing.img" "$work/e4" && t_ok "missing LUN refused" ||
	t_fail "missing LUN refused" "$(cat "$work/e4")"

# One config with an open target, a CHAP target, a mutual CHAP target and
# an ACL target, on IPv4 and IPv6 loopback.
printf 'Mutual-Secret-99\n' >"$work/msecret"
# Every session below comes from loopback: lift the per-source cap above
# the 300 sessions of the scale case.
cat >"$work/wupan.conf" <<CONF
max-per-source 400
listen 127.0.0.1:23280
listen [::1]:23280
target $IQN
  lun $work/a.img
  lun $work/b.img,ro
target $IQN-chap
  lun $work/b.img,ro
  chap user1:Secret-123456
target $IQN-mutual
  lun $work/b.img,ro
  chap user1:Secret-123456
  mutual-chap target1:@$work/msecret
target $IQN-acl
  lun $work/b.img,ro
  allow iqn.2025-01.org.wupan:allowed*
CONF
if ! wt_start "$work/wupan.log" --config "$work/wupan.conf"; then
	t_fail start "$(cat "$work/wupan.log")"
	t_done
	exit 1
fi
pid=$WT_PID

iscsi-ls "$url/" >"$work/ls" 2>&1
grep -q "Target:$IQN Portal:127.0.0.1:23280,1" "$work/ls" && t_ok "iscsi-ls lists the target" ||
	t_fail "iscsi-ls lists the target" "$(cat "$work/ls")"
grep -q "$IQN-acl" "$work/ls" && t_fail "ACL hides the target from discovery" "listed" ||
	t_ok "ACL hides the target from discovery"
iscsi-ls -i iqn.2025-01.org.wupan:allowed-7 "$url/" >"$work/ls2" 2>&1
grep -q "Target:$IQN-acl " "$work/ls2" && t_ok "ACL shows the target to an allowed initiator" ||
	t_fail "ACL shows the target to an allowed initiator" "$(cat "$work/ls2")"

iscsi-inq "$url/$IQN/0" >"$work/inq" 2>&1
grep -q "Vendor:WUPAN" "$work/inq" && grep -q "Peripheral Device Type:DIRECT_ACCESS" "$work/inq" &&
	t_ok "iscsi-inq standard page" || t_fail "iscsi-inq standard page" "$(cat "$work/inq")"
iscsi-inq -e 1 -c 131 "$url/$IQN/0" >"$work/inq83" 2>&1
grep -aq "Designator Type:(3) NAA" "$work/inq83" && t_ok "iscsi-inq VPD 0x83 has an NAA designator" ||
	t_fail "iscsi-inq VPD 0x83 has an NAA designator" "$(cat "$work/inq83")"
iscsi-inq -e 1 -c 131 "$url/$IQN/1" >"$work/inq83b" 2>&1
naa0=$(grep -a -A1 "Type:(3) NAA" "$work/inq83" | md5sum)
naa1=$(grep -a -A1 "Type:(3) NAA" "$work/inq83b" | md5sum)
[ "$naa0" != "$naa1" ] && t_ok "NAA designators differ between LUNs" ||
	t_fail "NAA designators differ between LUNs" "same"
iscsi-readcapacity16 "$url/$IQN/0" >"$work/rc16" 2>&1
grep -q "Total size:33554432" "$work/rc16" && grep -q "LBPME:1" "$work/rc16" &&
	t_ok "iscsi-readcapacity16" || t_fail "iscsi-readcapacity16" "$(cat "$work/rc16")"
iscsi-readcapacity16 "iscsi://[::1]:23280/$IQN/1" >"$work/rc16v6" 2>&1
grep -q "Total size:8388608" "$work/rc16v6" && t_ok "IPv6 loopback" ||
	t_fail "IPv6 loopback" "$(cat "$work/rc16v6")"
iscsi-inq "$url/$IQN/5" >"$work/nolun" 2>&1
grep -q "DIRECT_ACCESS" "$work/nolun" && t_fail "absent LUN not a disk" "$(cat "$work/nolun")" ||
	t_ok "absent LUN not a disk"

# CHAP outcomes.
iscsi-inq "$url/$IQN-chap/0" >"$work/c1" 2>&1 &&
	t_fail "CHAP target refuses no credentials" "logged in" ||
	t_ok "CHAP target refuses no credentials"
iscsi-inq "iscsi://user1%Wrong-Secret-1@127.0.0.1:23280/$IQN-chap/0" >"$work/c2" 2>&1 &&
	t_fail "CHAP target refuses a wrong secret" "logged in" ||
	t_ok "CHAP target refuses a wrong secret"
iscsi-inq "iscsi://user1%Secret-123456@127.0.0.1:23280/$IQN-chap/0" >"$work/c3" 2>&1 &&
	t_ok "CHAP target admits the right secret" ||
	t_fail "CHAP target admits the right secret" "$(cat "$work/c3")"
iscsi-inq "iscsi://user1%Secret-123456@127.0.0.1:23280/$IQN-mutual/0" >"$work/c4" 2>&1 &&
	t_ok "one-way CHAP to a mutual target" ||
	t_fail "one-way CHAP to a mutual target" "$(cat "$work/c4")"
iscsi-inq "$url/$IQN-acl/0" >"$work/a1" 2>&1 &&
	t_fail "ACL refuses other initiators" "logged in" ||
	t_ok "ACL refuses other initiators"
grep -q "status=0x0202 reason=initiator not allowed" "$work/wupan.log" &&
	t_ok "ACL refusal logged as authorization failure" ||
	t_fail "ACL refusal logged as authorization failure" "no log line"
iscsi-inq -i iqn.2025-01.org.wupan:allowed-1 "$url/$IQN-acl/0" >"$work/a2" 2>&1 &&
	t_ok "ACL admits a matching initiator" ||
	t_fail "ACL admits a matching initiator" "$(cat "$work/a2")"
grep -q "login initiator=iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-inq addr=127.0.0.1:[0-9]* target=$IQN result=ok" \
	"$work/wupan.log" && t_ok "login logged" || t_fail "login logged" "no log line"
grep -q "status=0x0201" "$work/wupan.log" && t_ok "CHAP failure logged" ||
	t_fail "CHAP failure logged" "no log line"
grep -q "Secret-123456" "$work/wupan.log" && t_fail "secrets never logged" "found" ||
	t_ok "secrets never logged"

# Session reinstatement (RFC 7143 §6.3.5), as iPXE reconnects: a second
# login with the same initiator name and ISID ends the first session.
# Raw login PDUs through bash's /dev/tcp.
login_pdu() { # FLAGS TEXT: a Login request with ISID 80:00:00:00:00:01
	local flags=$1 text=$2 len pad
	len=$(printf '%b' "$text" | wc -c)
	pad=$(( (4 - len % 4) % 4 ))
	printf "\\x43\\x$flags\\x00\\x00\\x00\\x00\\x$(printf %02x $((len / 256)))\\x$(printf %02x $((len % 256)))"
	printf '\x80\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x01'
	head -c 28 /dev/zero
	printf '%b' "$text"
	head -c $pad /dev/zero
}
raw_login() { # FD: both login stages, iPXE style; responses stay unread
	login_pdu 81 "InitiatorName=iqn.2010-04.org.ipxe:reinstate\0TargetName=$IQN\0AuthMethod=None\0" >&"$1"
	sleep 0.2
	login_pdu 87 'MaxRecvDataSegmentLength=8192\0' >&"$1"
	sleep 0.2
}
exec 5<>/dev/tcp/127.0.0.1/23280
raw_login 5
exec 6<>/dev/tcp/127.0.0.1/23280
raw_login 6
sleep 0.3
if grep -q "initiator=iqn.2010-04.org.ipxe:reinstate .*result=reinstated" "$work/wupan.log" &&
	[ "$(grep -c "login initiator=iqn.2010-04.org.ipxe:reinstate .*result=ok" "$work/wupan.log")" = 2 ]; then
	t_ok "same ISID reinstates the session"
else
	t_fail "same ISID reinstates the session" "$(grep reinstate "$work/wupan.log")"
fi
exec 5<&-

# Hundreds of sessions at once, each with commands in flight.
if ${CC:-cc} -O2 -o "$work/iscsi_bench" bench/target/iscsi_bench.c -liscsi 2>"$work/cc.log"; then
	ulimit -n 4096 2>/dev/null
	if "$work/iscsi_bench" "$url/$IQN/0" read rand 8 2 300 1 >"$work/many" 2>&1 &&
		awk '$1 == "iops" && $2 > 0 {ok = 1} END {exit !ok}' "$work/many"; then
		t_ok "300 sessions at once ($(cut -d' ' -f1-2 "$work/many"))"
	else
		t_fail "300 sessions at once" "$(tail -n 2 "$work/many")"
	fi
else
	t_skip "300 sessions at once" "cannot build the client (libiscsi-dev)"
fi

# SIGHUP: a new target appears, a broken config is refused and kept.
printf 'target %s-new\n  lun %s,ro\n' "$IQN" "$work/b.img" >>"$work/wupan.conf"
kill -HUP "$pid"
sleep 0.5
iscsi-ls "$url/" >"$work/ls3" 2>&1
grep -q "$IQN-new" "$work/ls3" && t_ok "SIGHUP adds a target" ||
	t_fail "SIGHUP adds a target" "$(cat "$work/ls3") $(tail -n 2 "$work/wupan.log")"
# The raw session on fd 6 (an unchanged target) lives through the reload.
[ "$(grep -c "logout initiator=iqn.2010-04.org.ipxe:reinstate" "$work/wupan.log")" = 1 ] &&
	t_ok "SIGHUP keeps sessions of unchanged targets" ||
	t_fail "SIGHUP keeps sessions of unchanged targets" "$(grep reinstate "$work/wupan.log")"
exec 6<&-
echo "frob" >>"$work/wupan.conf"
kill -HUP "$pid"
sleep 0.5
grep -q "reload failed" "$work/wupan.log" && kill -0 "$pid" &&
	t_ok "SIGHUP with a broken config keeps serving" ||
	t_fail "SIGHUP with a broken config keeps serving" "$(tail -n 2 "$work/wupan.log")"

wt_stop "$pid"
rc=$?
[ $rc = 0 ] && grep -q "shutting down" "$work/wupan.log" && t_ok "SIGTERM exits 0" ||
	t_fail "SIGTERM exits 0" "status $rc"
t_done
