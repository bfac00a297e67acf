#!/bin/sh
# Combines the client boot logic (embed/*.ipxe, in name order) and the site
# settings into the one iPXE script every image carries.  The site file goes
# where embed/ has the line `#wupan:site`.  Comment lines and blank lines are
# dropped, since the script also travels as EFI LoadOptions and in initrds.
# Usage: mkscript.sh SITE EMBED_DIR OUT
set -eu
site=$1 dir=$2 out=$3

die() {
	echo "mkscript: $*" >&2
	exit 1
}

[ -r "$site" ] || die "site settings file '$site' not found"
if grep -n '^#wupan:' "$site" >/dev/null; then
	die "$site: the #wupan: lines belong to embed/, not to site settings"
fi
[ "$(grep -c '^#wupan:site$' "$dir"/*.ipxe | awk -F: '{ n += $2 } END { print n }')" = 1 ] ||
	die "$dir must hold exactly one '#wupan:site' line"

strip() {
	# Drop the #! line, comments and blank lines; keep the insertion marker.
	sed -e '/^#wupan:site$/b' -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' "$1"
}

tmp=$out.tmp
{
	echo '#!ipxe'
	echo "# wupan boot script, generated from $(basename "$site") and embed/; do not edit"
	for f in "$dir"/*.ipxe; do
		strip "$f" | while IFS= read -r line; do
			if [ "$line" = "#wupan:site" ]; then
				strip "$site"
			else
				printf '%s\n' "$line"
			fi
		done
	done
} >"$tmp"
mv "$tmp" "$out"
