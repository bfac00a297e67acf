#!/bin/sh
# Fetches the pinned iPXE packages named in ipxe.lock for one version, checks
# their SHA-256 and unpacks them under OUTDIR/root.  apt runs with a private
# state under OUTDIR/apt, so the system's apt setup is neither read for
# package lists nor changed; only the mirror URI is taken from it.
# Usage: fetch-ipxe.sh LOCKFILE VERSION OUTDIR
#
# Other pinned packages come the same way (gnu-efi.lock): a lock line may
# carry a fifth column, the Debian architecture to fetch for (default: the
# machine's), which only the private apt state sees.  WHAT names the software
# in messages and HINT is the way around a failed fetch.
set -eu
lock=$1 version=$2 out=$3
what=${WHAT:-iPXE}
hint=${HINT:-use IPXE_BIN_DIR=DIR to build from iPXE binaries you provide.}
# apt reads relative Dir:: paths below /etc/apt: make ours absolute.
mkdir -p "$out"
out=$(cd "$out" && pwd)

die() {
	echo "fetch-ipxe: $*" >&2
	exit 1
}

entries=$(awk -v v="$version" '$1 == v { print $2, $3, $4 }' "$lock")
[ -n "$entries" ] || die "$what version '$version' is not in $lock.
  Known versions: $(awk '!/^#/ && NF { print $1 }' "$lock" | sort -u | tr '\n' ' ')
  Add a line per package (version, suite, package, sha256) to $lock,
  or $hint"
suite=$(echo "$entries" | awk '{ print $1; exit }')
arch=$(awk -v v="$version" '$1 == v && NF >= 5 { print $5; exit }' "$lock")

# The mirror of the machine's own apt sources.
mirror=$(sh "$(dirname "$0")/apt-mirror.sh") || die "$hint"

st=$out/apt
mkdir -p "$st/lists/partial" "$st/cache/archives/partial" "$out/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" \
	>"$st/sources.list"
set -- -o "Dir::Etc::SourceList=$st/sources.list" \
	-o Dir::Etc::SourceParts=/nonexistent -o "Dir::State::Lists=$st/lists" \
	-o "Dir::Cache=$st/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root
# A foreign architecture for this private state only: the machine's dpkg and
# apt architectures stay as they are.
[ -z "$arch" ] || set -- "$@" -o "APT::Architecture=$arch" -o "APT::Architectures=$arch"

need_download() {
	echo "$entries" | while read -r _ pkg sum; do
		f=$(ls "$out/debs/${pkg}_"*.deb 2>/dev/null | head -n 1)
		[ -n "$f" ] && echo "$sum  $f" | sha256sum -c --status && continue
		echo "$pkg"
	done
}

todo=$(need_download)
if [ -n "$todo" ]; then
	echo "fetch-ipxe: downloading $what $version${arch:+ ($arch)} from $suite"
	apt-get "$@" -q update >"$st/update.log" 2>&1 ||
		die "apt-get update for suite $suite failed (see $st/update.log)"
	specs=""
	for pkg in $todo; do
		rm -f "$out/debs/${pkg}_"*.deb
		specs="$specs $pkg${arch:+:$arch}=$version"
	done
	# shellcheck disable=SC2086
	(cd "$out/debs" && apt-get "$@" -q download $specs) >"$st/download.log" 2>&1 ||
		die "cannot download $what $version from suite $suite (see $st/download.log).
  Is the version still served?  Update $lock, or $hint"
fi

rm -rf "$out/root"
mkdir -p "$out/root"
echo "$entries" | while read -r _ pkg sum; do
	f=$(ls "$out/debs/${pkg}_"*.deb | head -n 1)
	got=$(sha256sum "$f" | cut -d' ' -f1)
	[ "$got" = "$sum" ] || die "SHA-256 mismatch for $f:
  expected $sum (from $lock)
  got      $got
  Refusing to use it.  If the new package is trusted, update $lock;
  or $hint"
	dpkg-deb -x "$f" "$out/root"
done
echo "$version" >"$out/root/VERSION"
