#!/bin/sh
# Downloads the Debian packages named in PACKAGES for the host's release into
# OUTDIR/debs and unpacks them into OUTDIR/root (dpkg-deb -x: no maintainer
# scripts run, the host's own kernel and packages are not touched).  apt runs
# with a private state under OUTDIR/apt; only the mirror URI is taken from
# the machine's apt sources.  OUTDIR/versions lists what was unpacked.
# Usage: fetch.sh PACKAGES OUTDIR
set -eu
list=$1 out=$2
mkdir -p "$out"
out=$(cd "$out" && pwd)

die() {
	echo "linux-fetch: $*" >&2
	exit 1
}

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
mirror=$(sh "$(dirname "$0")/../../scripts/apt-mirror.sh") || die "cannot tell the Debian mirror"

st=$out/apt
mkdir -p "$st/lists/partial" "$st/cache/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $codename main" \
	>"$st/sources.list"
set -- -o "Dir::Etc::SourceList=$st/sources.list" \
	-o Dir::Etc::SourceParts=/nonexistent -o "Dir::State::Lists=$st/lists" \
	-o "Dir::Cache=$st/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root

echo "linux-fetch: package lists for $codename"
apt-get "$@" -q update >"$st/update.log" 2>&1 ||
	die "apt-get update failed (see $st/update.log)"

# The kernel meta package only depends on the versioned one; take that.
pkgs=""
for p in $(sed 's/#.*//' "$list"); do
	if [ "$p" = linux-image-amd64 ]; then
		p=$(apt-cache "$@" show linux-image-amd64 | sed -n 's/^Depends: *\(linux-image-[^ ,]*\).*/\1/p' | head -n 1)
		[ -n "$p" ] || die "cannot resolve linux-image-amd64 to a kernel package"
	fi
	pkgs="$pkgs $p"
done

rm -rf "$out/debs.new"
mkdir -p "$out/debs.new"
echo "linux-fetch: downloading$pkgs"
# shellcheck disable=SC2086
(cd "$out/debs.new" && apt-get "$@" -q download $pkgs) >"$st/download.log" 2>&1 ||
	die "apt-get download failed (see $st/download.log)"
rm -rf "$out/debs" "$out/root"
mv "$out/debs.new" "$out/debs"
mkdir -p "$out/root"
: >"$out/versions.new"
for f in "$out"/debs/*.deb; do
	dpkg-deb -x "$f" "$out/root"
	dpkg-deb -W --showformat='${Package} ${Version}\n' "$f" >>"$out/versions.new"
done
mv "$out/versions.new" "$out/versions"
