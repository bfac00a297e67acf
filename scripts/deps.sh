#!/bin/sh
# Installs the Debian packages the build (and, after "--", the tests) need, if
# any is missing.  Usage: deps.sh PKG... [-- TEST-PKG...]
#
# As root it runs apt-get itself; otherwise it prints the one line to run.
# Another apt or dpkg holding its lock is waited for (up to WUPAN_APT_WAIT
# seconds, default 600, polling every WUPAN_APT_POLL, default 5), not taken
# for an error.  Some test-only packages are
# servers the tests start on their own (tgt's tgtd would hold port 3260 and
# keep wupan-target from starting): no service of theirs is started by the
# install or left enabled.
set -eu
servers="tgt tgt-rbd tftpd-hpa dnsmasq ceph-base ceph-mon ceph-osd ceph-common"
build="" test="" side=build
for p in "$@"; do
	if [ "$p" = -- ]; then
		side=test
	elif [ $side = build ]; then
		build="$build $p"
	else
		test="$test $p"
	fi
done

# One dpkg-query for all of them: "ii" in the status means installed.
# shellcheck disable=SC2086
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $build $test \
	2>/dev/null | awk '$2 == "ii" { print $1 }' || true)
missing_in() {
	for p in "$@"; do
		case " $(echo $installed) " in
		*" $p "*) ;;
		*) printf ' %s' "$p" ;;
		esac
	done
}
# shellcheck disable=SC2086
missing_build=$(missing_in $build)
# shellcheck disable=SC2086
missing_test=$(missing_in $test)
missing="$missing_build$missing_test"
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "wupan: missing Debian packages; as root, run:" >&2
	echo "  apt-get install --no-install-recommends$missing" >&2
	exit 1
fi
echo "wupan: installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive

# Runs apt-get, retrying while another package manager holds a lock.
wait_s=${WUPAN_APT_WAIT:-600}
poll=${WUPAN_APT_POLL:-5}
apt_wait() {
	t=0
	while :; do
		if out=$(apt-get -o DPkg::Lock::Timeout=60 "$@" 2>&1); then
			return 0
		fi
		case $out in
		*"Could not get lock"* | *"Unable to acquire the dpkg frontend lock"* | \
		*"Unable to lock directory"*)
			if [ "$t" -ge "$wait_s" ]; then
				printf '%s\n' "$out" >&2
				echo "wupan: apt is still locked by another process after ${wait_s} s" >&2
				return 1
			fi
			[ "$t" -gt 0 ] || echo "wupan: waiting for another apt/dpkg to finish..."
			sleep "$poll"
			t=$((t + poll))
			;;
		*)
			printf '%s\n' "$out" >&2
			return 1
			;;
		esac
	done
}

# policy-rc.d is Debian's switch that keeps maintainer scripts from starting
# services; set it for the install only, and only if the admin has none.
policy=${WUPAN_POLICY_RC_D:-/usr/sbin/policy-rc.d}
own_policy=""
if [ -n "$missing_test" ] && [ ! -e "$policy" ]; then
	own_policy=$policy
	trap 'rm -f "$own_policy"' EXIT INT TERM
	printf '#!/bin/sh\n# wupan: test packages being installed, no service starts\nexit 101\n' >"$policy"
	chmod 755 "$policy"
fi

apt_wait update -q
# shellcheck disable=SC2086
apt_wait install -y -q --no-install-recommends $missing

# The services of those servers, if just installed: not enabled, not running
# (systemctl disable works without a running systemd too).
for p in $missing_test; do
	case " $servers " in
	*" $p "*) ;;
	*) continue ;;
	esac
	for unit in $(dpkg-query -L "$p" 2>/dev/null |
		sed -n 's#^/\(usr/\)\{0,1\}lib/systemd/system/\([^/@]*\.\(service\|target\)\)$#\2#p'); do
		if command -v systemctl >/dev/null 2>&1; then
			systemctl disable --quiet "$unit" 2>/dev/null || true
			if [ -d /run/systemd/system ]; then
				systemctl stop "$unit" 2>/dev/null || true
			fi
		fi
		echo "wupan: $unit (from $p) left disabled: the tests start their own"
	done
done
if [ -n "$own_policy" ]; then
	rm -f "$own_policy"
	trap - EXIT INT TERM
fi
