#!/bin/sh
# Prints the Debian archive URI that the machine's own apt sources use for its
# release (deb822 .sources or one-line .list files), so that private apt
# states fetch from the same mirror without naming any host in the repo.
set -eu
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || { echo "apt-mirror: no VERSION_CODENAME in /etc/os-release" >&2; exit 1; }
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	/etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v c="$codename" '
	/^deb / { for (i = 3; i <= NF; i++) if ($(i - 1) ~ /^[a-z]+:\/\// && $i == c) { print $(i - 1); exit } }
	/^URIs:/ { uri = $2 }
	/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == c && uri != "") { print uri; exit } }
	/^$/ { uri = "" }')
[ -n "$mirror" ] || { echo "apt-mirror: no Debian mirror for '$codename' found in /etc/apt/sources.list*" >&2; exit 1; }
echo "$mirror"
