#!/bin/sh
# Unpacks Debian packages into DIR/root without installing them: atftp
# conflicts with tftpd-hpa as a package, and the benchmark's tftpd-hpa must
# not start a system service.  Usage: fetch-tools.sh DIR PACKAGE...
# Binaries end up in DIR/root/usr/{bin,sbin}, libraries in
# DIR/root/usr/lib/x86_64-linux-gnu (use LD_LIBRARY_PATH).
set -eu
dir=$1
shift
mkdir -p "$dir/debs" "$dir/root"
for p in "$@"; do
	[ -e "$dir/stamp-$p" ] && continue
	if ! (cd "$dir/debs" && apt-get download -q "$p" >/dev/null 2>&1); then
		# apt-get download needs package lists: fetch them once.
		apt-get update -q >/dev/null 2>&1 || true
		(cd "$dir/debs" && apt-get download -q "$p" >/dev/null 2>&1) || {
			echo "fetch-tools: cannot download $p" >&2
			exit 1
		}
	fi
	for deb in "$dir/debs/${p}_"*.deb; do
		dpkg-deb -x "$deb" "$dir/root"
	done
	touch "$dir/stamp-$p"
done
