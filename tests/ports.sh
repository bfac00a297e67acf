# shellcheck shell=bash
# Keeps the suites' fixed ports from the kernel's picks while a suite runs.
# Sourced by tests/run-suites.sh and by every suite with ports in the range
# (through tests/suite.sh and the suites' shared libraries), so a suite run on
# its own is covered as well as `make check` and `make test`.
#
# The ranges above 32767 (DEVELOPERS.md) lie in the kernel's range for the
# local ports of outgoing connections (32768-60999), and a daemon cannot
# listen on a port some connection still holds, even one in TIME-WAIT (seen:
# a gateway refused 47260 after the Ceph tools' own connections).  While the
# sourcing shell runs, SUITE_PORTS is in net.ipv4.ip_local_reserved_ports;
# a guard process of its own puts the old list back once that shell has
# ended (a trap would be replaced by the suites' own EXIT traps).  When the
# range is reserved already (an enclosing run, another suite) nothing is
# done, so the first to reserve is the one to put the list back.  Needs root;
# without it the suites run as before.
SUITE_PORTS=33260-48349

# ports_cover LIST: LIST, as the kernel prints net.ipv4.ip_local_reserved_ports
# (merged: the range may lie within a wider one), covers SUITE_PORTS.
ports_cover() {
	awk -F, -v want="$SUITE_PORTS" '
		{ split(want, w, "-")
		  for (i = 1; i <= NF; i++) { n = split($i, r, "-"); if (n == 1) r[2] = r[1]
		    if (r[1] + 0 <= w[1] + 0 && r[2] + 0 >= w[2] + 0) f = 1 } }
		END { exit !f }' <<<"$1"
}
# ports_reserved: the kernel's list covers SUITE_PORTS now.
ports_reserved() {
	ports_cover "$(sysctl -n net.ipv4.ip_local_reserved_ports 2>/dev/null)"
}

if [ "$(id -u)" = 0 ] && ! ports_reserved; then
	ports_old=$(sysctl -n net.ipv4.ip_local_reserved_ports 2>/dev/null)
	if sysctl -q -w net.ipv4.ip_local_reserved_ports="${ports_old:+$ports_old,}$SUITE_PORTS" 2>/dev/null; then
		# Out of the job table (the subshell ends at once), so a suite's
		# plain `wait` never waits for it.
		(setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 0.5; done
			sysctl -q -w net.ipv4.ip_local_reserved_ports="$2"' ports-guard "$$" "$ports_old" \
			</dev/null >/dev/null 2>&1 &)
	fi
	unset ports_old
fi
