#!/bin/bash
# make install / make uninstall into a staging tree, the systemd units
# checked by systemd-analyze, and the daemons as the units run them: started
# as root, dropping to an unprivileged user, wupan-tftpd confined to its root;
# --help and --version of every installed program; one log line format.
# Ports 38260-38269 on 127.0.0.1 (DEVELOPERS.md).
. "$(dirname "$0")/../suite.sh" install-test
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT
M="make --no-print-directory O=$O"

# --- make install DESTDIR= PREFIX=/usr --------------------------------------
S=$W/stage
$M install DESTDIR="$S" PREFIX=/usr >"$W/install.log" 2>&1
expect "make install DESTDIR=stage PREFIX=/usr" test $? -eq 0
for f in usr/bin/wupan-target usr/bin/wupan-tftpd usr/bin/wupan-rom \
	usr/share/man/man8/wupan-target.8 usr/share/man/man8/wupan-tftpd.8 \
	usr/share/man/man1/wupan-rom.1 usr/lib/systemd/system/wupan-target.service \
	usr/lib/systemd/system/wupan-tftpd.service usr/lib/sysusers.d/wupan.conf \
	etc/wupan/target.conf etc/default/wupan-tftpd srv/wupan/tftp/boot.ipxe \
	srv/wupan/tftp/undionly.kpxe srv/wupan/tftp/ipxe.efi srv/wupan/tftp/pxelinux.cfg/default \
	usr/share/wupan/tftp-files; do
	expect "installed: /$f" test -f "$S/$f"
done
expect "installed: /srv/wupan/images" test -d "$S/srv/wupan/images"
expect "the TFTP root is the one make built" cmp -s "$O/tftp/boot.ipxe" "$S/srv/wupan/tftp/boot.ipxe"
expect "no test tool installed" bash -c "! ls '$S/usr/bin' | grep -q -e client -e relay"
expect "the programs are executable" test -x "$S/usr/bin/wupan-target" -a -x "$S/usr/bin/wupan-tftpd"
for u in wupan-target wupan-tftpd; do
	expect "$u.service starts /usr/bin/$u" grep -q "^ExecStart=/usr/bin/$u " "$S/usr/lib/systemd/system/$u.service"
	expect "$u.service drops to the user wupan" grep -q -- "--user wupan" "$S/usr/lib/systemd/system/$u.service"
	expect "$u.service is sandboxed (ProtectSystem=strict, NoNewPrivileges)" \
		bash -c "grep -qx 'ProtectSystem=strict' '$S/usr/lib/systemd/system/$u.service' && grep -qx 'NoNewPrivileges=yes' '$S/usr/lib/systemd/system/$u.service'"
done
expect "wupan-tftpd.service confines it to /srv/wupan/tftp" \
	grep -q -- "--root /srv/wupan/tftp --chroot" "$S/usr/lib/systemd/system/wupan-tftpd.service"
expect "wupan-target.service reads /etc/wupan/target.conf" \
	grep -q -- "--config /etc/wupan/target.conf" "$S/usr/lib/systemd/system/wupan-target.service"
expect "no @PLACEHOLDER@ left in the units" bash -c "! grep -q '@[A-Z]*@' '$S'/usr/lib/systemd/system/*.service"

# systemd-analyze verify wants the ExecStart binaries at their real paths:
# a private mount namespace shows the staged /usr/bin over the host's.
if command -v systemd-analyze >/dev/null && command -v unshare >/dev/null; then
	out=$(unshare -m sh -c "mount -t overlay overlay -o lowerdir=$S/usr/bin:/usr/bin /usr/bin &&
		MANPATH=$S/usr/share/man systemd-analyze verify \
		$S/usr/lib/systemd/system/wupan-target.service $S/usr/lib/systemd/system/wupan-tftpd.service" 2>&1)
	rc=$?
	expect "systemd-analyze verify accepts both units${out:+ (it said: $out)}" test "$rc" -eq 0 -a -z "$out"
else
	skip "systemd-analyze verify: systemd-analyze or unshare missing"
fi

# The admin's files survive a second install and an uninstall.
echo "# the admin's own" >>"$S/etc/wupan/target.conf"
echo "#!ipxe" >"$S/srv/wupan/tftp/hosts/52-54-00-12-34-56.ipxe"
$M install DESTDIR="$S" PREFIX=/usr >"$W/install2.log" 2>&1
expect "a second install keeps the admin's target.conf" grep -q "the admin's own" "$S/etc/wupan/target.conf"
$M uninstall DESTDIR="$S" PREFIX=/usr >"$W/uninstall.log" 2>&1
expect "make uninstall" test $? -eq 0
left=$(cd "$S" && find . -type f | sort | tr '\n' ' ')
expect "uninstall removes programs, man pages, units and the built TFTP files" \
	test "$left" = "./etc/default/wupan-tftpd ./etc/wupan/target.conf ./srv/wupan/tftp/hosts/52-54-00-12-34-56.ipxe "
[ "$left" = "./etc/default/wupan-tftpd ./etc/wupan/target.conf ./srv/wupan/tftp/hosts/52-54-00-12-34-56.ipxe " ] ||
	echo "     left: $left"

# The default PREFIX: /usr/local, which systemd also reads units from.
$M install DESTDIR="$W/local" >"$W/install-local.log" 2>&1
expect "default PREFIX: units in /usr/local/lib/systemd/system start /usr/local/bin" \
	grep -q '^ExecStart=/usr/local/bin/wupan-target ' "$W/local/usr/local/lib/systemd/system/wupan-target.service"

# --- every installed program: --help on stdout (exit 0), --version (its first
# line; wupan-lint adds the iPXE version its command list is from) ----------
for p in "$S"/../local/usr/local/bin/*; do
	n=$(basename "$p")
	out=$("$p" --help 2>/dev/null)
	rc=$?
	expect "$n --help: usage on stdout, exit 0" bash -c "[ $rc -eq 0 ] && [[ '${out//\'/}' == *usage:* ]]"
	v=$("$p" --version 2>&1 | head -n 1)
	expect "$n --version: '$v'" bash -c "[[ '$v' =~ ^$n\ \(wupan\)\ [0-9]+\.[0-9]+\.[0-9]+$ ]]"
done

# --- the daemons as the units run them ---------------------------------------
NOBODY=$(id -u nobody)
# runs_as_nobody PID: real, effective and saved user id are all nobody's.
runs_as_nobody() {
	awk -v u="$NOBODY" '/^Uid:/ { exit !($2 == u && $3 == u && $4 == u) }' "/proc/$1/status"
}
TROOT=$W/tftproot
mkdir -p "$TROOT"
echo "a file to fetch" >"$TROOT/f.txt"
echo "secret outside" >"$W/outside.txt"
"$O/bin/wupan-tftpd" --root "$TROOT" --listen 127.0.0.1:38260 --user nobody --chroot \
	2>"$W/tftpd.log" &
TPID=$!
PIDS+=("$TPID")
for _ in $(seq 50); do grep -q serving "$W/tftpd.log" && break; sleep 0.1; done
expect "wupan-tftpd --user nobody runs as nobody" runs_as_nobody "$TPID"
expect "wupan-tftpd --chroot: its root is the TFTP root" \
	test "$(readlink /proc/$TPID/root)" = "$TROOT"
(cd "$W" && rm -f f.txt && timeout 10 tftp 127.0.0.1 38260 -c get f.txt) >/dev/null 2>&1
expect "wupan-tftpd serves a file after dropping root" cmp -s "$W/f.txt" "$TROOT/f.txt"
(cd "$W" && timeout 10 tftp 127.0.0.1 38260 -c get ../outside.txt got.txt) >/dev/null 2>&1
expect "wupan-tftpd: nothing outside the root" test ! -s "$W/got.txt"
kill -TERM "$TPID"
wait "$TPID"
expect "wupan-tftpd stops on SIGTERM with status 0" test $? -eq 0

truncate -s 16M "$W/disk.img"
"$O/bin/wupan-target" --listen 127.0.0.1:38261 --target iqn.2026-01.org.wupan:install \
	--lun "$W/disk.img" --user nobody 2>"$W/target.log" &
XPID=$!
PIDS+=("$XPID")
for _ in $(seq 50); do grep -q serving "$W/target.log" && break; sleep 0.1; done
expect "wupan-target --user nobody runs as nobody" runs_as_nobody "$XPID"
expect "wupan-target serves after dropping root (iscsi-ls)" \
	bash -c "timeout 20 iscsi-ls iscsi://127.0.0.1:38261 2>&1 | grep -q 'iqn.2026-01.org.wupan:install'"
kill -TERM "$XPID"
wait "$XPID"
expect "wupan-target stops on SIGTERM with status 0" test $? -eq 0

# One format for both: "YYYY-MM-DDTHH:MM:SSZ PROG: message".
re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z wupan-(tftpd|target): [^ ]'
for l in tftpd target; do
	n_all=$(wc -l <"$W/$l.log")
	n_ok=$(grep -cE "$re" "$W/$l.log")
	expect "wupan-$l: every log line is 'TIMESTAMP wupan-$l: ...' ($n_ok of $n_all)" \
		test "$n_all" -gt 2 -a "$n_ok" -eq "$n_all"
done

# Clear refusals, with exit codes that mean something.
out=$("$O/bin/wupan-tftpd" --root "$TROOT" --listen 127.0.0.1:38262 --user no-such-user-x 2>&1)
rc=$?
expect "wupan-tftpd --user no-such-user: exit 1, says so" bash -c "[ $rc -eq 1 ] && [[ '$out' == *'no-such-user-x: no such user'* ]]"
out=$("$O/bin/wupan-target" --listen 127.0.0.1:38263 --target iqn.2026-01.org.wupan:x \
	--lun "$W/disk.img" --user root 2>&1)
rc=$?
expect "wupan-target --user root is refused" bash -c "[ $rc -eq 1 ] && [[ '$out' == *'that is root'* ]]"
out=$(setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups \
	"$O/bin/wupan-tftpd" --root "$TROOT" --listen 127.0.0.1:38264 --user nobody 2>&1)
rc=$?
expect "--user without root: exit 1, says it needs root" bash -c "[ $rc -eq 1 ] && [[ '$out' == *'needs the daemon started as root'* ]]"
out=$("$O/bin/wupan-tftpd" --bogus 2>&1 >/dev/null)
rc=$?
expect "an unknown option: exit 2 with the usage on stderr" bash -c "[ $rc -eq 2 ] && [[ '$out' == *usage:* ]]"

suite_end
