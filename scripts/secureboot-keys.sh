#!/bin/sh
# Creates a site's Secure Boot keys and the files to enrol them, in a new
# directory that it never overwrites.
# Usage: secureboot-keys.sh DIR NAME DAYS
#
#   db.key, db.crt       the signing pair: make SIGN_KEY=DIR/db.key SIGN_CERT=DIR/db.crt
#   db.der               the same certificate in DER: for a firmware setup
#                        screen ("append to db" from a file) and for MOK
#                        enrolment behind shim (mokutil --import db.der)
#   db.esl, db.auth      db as an EFI signature list, and signed by KEK for
#                        writing db in user mode (replaces db)
#   db-append.auth       the same, signed to append to db
#   KEK.*, PK.*          a key exchange key and a platform key of the site,
#                        with .esl/.auth lists (PK.auth is self-signed) for a
#                        machine whose firmware is in setup mode
#   noPK.auth            clears PK again (back to setup mode)
#   owner.guid           the owner GUID stamped into every list
#
# Keys are RSA 2048 (what firmware verifies) without a passphrase, since
# sbsign cannot ask for one during a build; the directory is mode 0700 and
# the keys 0600.  Keep PK.key and KEK.key offline once enrolled.
set -eu

die() {
	echo "secureboot-keys: $*" >&2
	exit 1
}

tool() {
	command -v "$1" >/dev/null 2>&1 || die "'$1' not found; it comes with Debian's $2 package"
}

[ $# -eq 3 ] || die "usage: secureboot-keys.sh DIR NAME DAYS"
dir=$1 name=$2 days=$3
case $days in
'' | *[!0-9]*) die "DAYS '$days': a whole number of days" ;;
esac
[ "$days" -ge 1 ] || die "DAYS '$days': at least 1"
case $name in
'' | */* | *[!A-Za-z0-9\ ._-]*) die "NAME '$name': letters, digits, spaces and . _ - only" ;;
esac
tool openssl openssl
tool cert-to-efi-sig-list efitools
tool sign-efi-sig-list efitools

if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null || echo x)" ]; then
	die "$dir already exists and is not empty; keys are never overwritten:" \
		"move it away, or give SECUREBOOT_DIR=ANOTHER_DIR"
fi
umask 077
mkdir -p "$dir"
chmod 700 "$dir"
tmp=$dir/.new
mkdir "$tmp"
trap 'rm -rf "$tmp"' EXIT

guid=$(cat /proc/sys/kernel/random/uuid)
echo "$guid" >"$tmp/owner.guid"
for k in PK KEK db; do
	openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
		-subj "/CN=$name Secure Boot $k/" -keyout "$tmp/$k.key" \
		-out "$tmp/$k.crt" 2>"$tmp/openssl.log" ||
		{ cat "$tmp/openssl.log" >&2; die "openssl could not make the $k key"; }
	openssl x509 -in "$tmp/$k.crt" -outform DER -out "$tmp/$k.der"
	cert-to-efi-sig-list -g "$guid" "$tmp/$k.crt" "$tmp/$k.esl" >/dev/null
done
rm -f "$tmp/openssl.log"
# sign SIGNER FLAG VAR ESL AUTH: AUTH updates VAR to ESL, signed by SIGNER
# (FLAG -a: append instead of replace).
sign() {
	# shellcheck disable=SC2086 # FLAG is empty or one word
	sign-efi-sig-list $2 -g "$guid" -k "$tmp/$1.key" -c "$tmp/$1.crt" "$3" "$tmp/$4" "$tmp/$5" \
		>/dev/null || die "sign-efi-sig-list could not make $5"
}
sign PK "" PK PK.esl PK.auth
sign PK "" KEK KEK.esl KEK.auth
sign KEK "" db db.esl db.auth
sign KEK -a db db.esl db-append.auth
: >"$tmp/empty.esl"
sign PK "" PK empty.esl noPK.auth
rm -f "$tmp/empty.esl"
chmod 600 "$tmp"/*
chmod 644 "$tmp"/*.crt "$tmp"/*.der "$tmp"/*.esl "$tmp"/*.auth "$tmp/owner.guid"
mv "$tmp"/* "$dir"/
rmdir "$tmp"
trap - EXIT
echo "secureboot-keys: new site keys in $dir (owner $guid)"
echo "  sign:  make SIGN_KEY=$dir/db.key SIGN_CERT=$dir/db.crt"
echo "  enrol: $dir/db.der (firmware setup screen, or mokutil --import behind shim);"
echo "         $dir/PK.auth KEK.auth db.auth (firmware in setup mode); see README.md"
