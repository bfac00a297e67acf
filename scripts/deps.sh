#!/bin/sh
# Installs the Debian packages the build and the tests need, if any is missing.
# As root it runs apt-get itself; otherwise it prints the one line to run.
set -eu
missing=""
for p in "$@"; do
	s=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case $s in
	ii*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "wupan: missing Debian packages; as root, run:" >&2
	echo "  apt-get install --no-install-recommends$missing" >&2
	exit 1
fi
echo "wupan: installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
