#!/bin/sh
# Prints the build report: which iPXE, each image's size, the build time.
# Usage: report.sh START_EPOCH IPXE_DESC FILE_OR_DIR...
set -eu
start=$1 ipxe=$2
shift 2
echo "wupan build report ($ipxe)"
for f in "$@"; do
	if [ -d "$f" ]; then
		printf '  %-28s %9s bytes (%s files)\n' "$f/" \
			"$(find "$f" -type f ! -name .stamp -exec cat {} + | wc -c)" \
			"$(find "$f" -type f ! -name .stamp | wc -l)"
	else
		printf '  %-28s %9s bytes\n' "$f" "$(wc -c <"$f")"
	fi
done
echo "  built in $(($(date +%s) - start)) s"
