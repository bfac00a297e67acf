#!/bin/sh
# Signs EFI programs for UEFI Secure Boot with the site's key (sbsigntool),
# after checking that the key and certificate can work at all, so that a
# build stops with a message instead of shipping images no firmware starts.
#
#   efi-sign.sh check KEY CERT           check the pair; print its identity
#                                        (certificate subject and SHA-256,
#                                        never anything from the key)
#   efi-sign.sh sign KEY CERT IN OUT     check, sign IN into OUT, verify OUT
#
# KEY: PEM private key without a passphrase (sbsign cannot ask for one in a
# build).  CERT: its X.509 certificate, PEM or DER.  The key is only ever
# read by openssl and sbsign from where it lies: nothing is copied.  Checks:
# readable files, a key that is not encrypted, an RSA key (firmware verifies
# RSA signatures only), a certificate that is valid today and holds the
# key's public half.  The signed image is checked with sbverify.
#
# sbsign stamps the clock into the signature (its signing time), so two
# builds would differ.  With faketime (Debian package faketime) the clock
# stands still at SOURCE_DATE_EPOCH, or at the certificate's start if that is
# later, and the same inputs give the same bytes.  Firmware ignores the
# signing time.
set -eu

die() {
	echo "efi-sign: $*" >&2
	exit 1
}

tool() {
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' not found; it comes with Debian's $2 package (make deps SIGN_KEY=...)"
}

# check_pair KEY CERT: sets cert_pem to a PEM copy of CERT (CERT itself, or
# a converted temporary file beside OUT) or dies saying what is wrong.
check_pair() {
	key=$1 cert=$2
	tool openssl openssl
	[ -n "$key" ] || die "SIGN_KEY is empty: give the site's private key (make secureboot-keys makes one)"
	[ -n "$cert" ] || die "SIGN_CERT is empty: give the certificate of SIGN_KEY=$key"
	[ -f "$key" ] && head -c 1 "$key" >/dev/null 2>&1 ||
		die "SIGN_KEY=$key: not a readable file"
	[ -f "$cert" ] && head -c 1 "$cert" >/dev/null 2>&1 ||
		die "SIGN_CERT=$cert: not a readable file"
	if grep -q -e '^-----BEGIN ENCRYPTED PRIVATE KEY-----' \
		-e '^Proc-Type: 4,ENCRYPTED' "$key"; then
		die "SIGN_KEY=$key is protected by a passphrase, which sbsign cannot ask for during a build;" \
			"sign with a copy without one, readable by the build user only" \
			"(umask 077; openssl pkey -in $key -out KEY.nopass)"
	fi
	grep -q '^-----BEGIN .*PRIVATE KEY-----' "$key" ||
		die "SIGN_KEY=$key: not a PEM private key (sbsign reads PEM only)"
	keytext=$(openssl pkey -in "$key" -passin pass: -noout -text_pub 2>/dev/null) ||
		die "SIGN_KEY=$key: openssl cannot read this private key"
	case $keytext in
	*RSA* | *Modulus*) ;;
	*) die "SIGN_KEY=$key: not an RSA key; UEFI firmware verifies RSA signatures only (use RSA 2048)" ;;
	esac
	if openssl x509 -in "$cert" -noout 2>/dev/null; then
		cert_pem=$cert
	elif openssl x509 -inform DER -in "$cert" -noout 2>/dev/null; then
		cert_pem=${tmpdir:?}/cert.pem
		openssl x509 -inform DER -in "$cert" -out "$cert_pem"
	else
		die "SIGN_CERT=$cert: not an X.509 certificate (PEM or DER)"
	fi
	openssl x509 -in "$cert_pem" -noout -checkend 0 >/dev/null 2>&1 ||
		die "SIGN_CERT=$cert expired on $(openssl x509 -in "$cert_pem" -noout -enddate | sed 's/^notAfter=//');" \
			"make a new certificate for the key (make secureboot-keys, or openssl req -x509 -key ...)" \
			"and enrol it where the old one is"
	start=$(openssl x509 -in "$cert_pem" -noout -startdate | sed 's/^notBefore=//')
	start_s=$(date -d "$start" +%s 2>/dev/null || echo 0)
	[ "$start_s" -le "$(date +%s)" ] ||
		die "SIGN_CERT=$cert is not valid before $start (is this machine's clock right?)"
	kpub=$(openssl pkey -in "$key" -passin pass: -pubout -outform DER 2>/dev/null | sha256sum)
	cpub=$(openssl x509 -in "$cert_pem" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)
	[ "$kpub" = "$cpub" ] ||
		die "SIGN_KEY=$key does not match SIGN_CERT=$cert (the certificate holds another public key);" \
			"give the certificate made with this key"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
tmpdir=""
trap '[ -z "$tmpdir" ] || rm -rf "$tmpdir"' EXIT
case $cmd in
check)
	[ $# -eq 2 ] || die "usage: efi-sign.sh check KEY CERT"
	tmpdir=$(mktemp -d)
	check_pair "$1" "$2"
	printf 'signed by %s, certificate %s\n' \
		"$(openssl x509 -in "$cert_pem" -noout -subject -nameopt oneline | sed 's/^subject= *//')" \
		"$(openssl x509 -in "$cert_pem" -noout -fingerprint -sha256 | sed 's/^.*=//')"
	;;
sign)
	[ $# -eq 4 ] || die "usage: efi-sign.sh sign KEY CERT IN OUT"
	in=$3 out=$4
	tool sbsign sbsigntool
	tool sbverify sbsigntool
	[ -f "$in" ] && [ "$(head -c 2 "$in")" = MZ ] || die "$in: not a PE image (no MZ header)"
	tmpdir=$(mktemp -d "$out.sign.XXXXXX")
	check_pair "$1" "$2"
	# The signing time: a fixed one where faketime can pin it.
	pin=""
	if command -v faketime >/dev/null 2>&1; then
		when=${SOURCE_DATE_EPOCH:-0}
		[ "$start_s" -le "$when" ] || when=$start_s
		pin=$(date -u -d "@$when" '+%Y-%m-%d %H:%M:%S')
	fi
	# shellcheck disable=SC2086 # no faketime: an empty prefix
	TZ=UTC ${pin:+faketime -f} ${pin:+"$pin"} sbsign --key "$key" --cert "$cert_pem" \
		--output "$tmpdir/out.efi" "$in" >"$tmpdir/sbsign.log" 2>&1 ||
		{ cat "$tmpdir/sbsign.log" >&2; die "sbsign failed on $in"; }
	sbverify --cert "$cert_pem" "$tmpdir/out.efi" >"$tmpdir/sbverify.log" 2>&1 ||
		{ cat "$tmpdir/sbverify.log" >&2; die "the signature on $out does not verify"; }
	mv "$tmpdir/out.efi" "$out"
	;;
*)
	die "usage: efi-sign.sh check KEY CERT | sign KEY CERT IN OUT"
	;;
esac
