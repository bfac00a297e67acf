#!/bin/bash
# A fresh machine's first `make`: packages come before anything else.
#
# Runs make on a clean copy of the tree with stand-ins first in PATH:
# dpkg-query says every package is missing, apt-get records its arguments
# (and passes the private-state calls of the iPXE fetch through), and the
# compilers log that they ran.  Then checks that apt-get ran before the first
# compile (`make -j4`, a single file target, O=DIR), that a build asks for no
# test-only package, that the test goals do ask for them, that a held dpkg
# lock is waited for, and that a test server's service is left disabled and
# was never started (policy-rc.d in place while apt-get runs).
. "$(dirname "$0")/../suite.sh" deps-order
# Under `make test` the parent make exports its SOURCE_DATE_EPOCH; a user's
# first make has none.
unset SOURCE_DATE_EPOCH
mkdir -p "$W/bin" "$W/tree"

IPXE_DIR=$(ls -d "$O"/ipxe/* 2>/dev/null | head -n 1)
if [ -z "$IPXE_DIR" ]; then
	echo "the pinned iPXE is not fetched: run make first"
	echo "0 passed, 1 failed"
	exit 1
fi

# A clean tree: what git tracks (and would track), as in the working tree.
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$W/tree"

# --- stand-ins ------------------------------------------------------------
LOG=$W/order.log
cat >"$W/bin/dpkg-query" <<EOF
#!/bin/sh
# Every package missing; -L of tgt lists its unit as the real package does.
if [ "\$1" = -L ] && [ "\$2" = tgt ]; then
	echo /lib/systemd/system/tgt.service
	exit 0
fi
# Ceph's: a daemon of ceph-base, and ceph-mon's target beside its template.
if [ "\$1" = -L ] && [ "\$2" = ceph-base ]; then
	echo /lib/systemd/system/ceph-crash.service
	exit 0
fi
if [ "\$1" = -L ] && [ "\$2" = ceph-mon ]; then
	printf '%s\\n' /lib/systemd/system/ceph-mon.target /lib/systemd/system/ceph-mon@.service
	exit 0
fi
exit 1
EOF
cat >"$W/bin/apt-get" <<EOF
#!/bin/sh
# The iPXE fetch uses a private apt state: let it through.
case "\$*" in *Dir::Etc::SourceList*) exec /usr/bin/apt-get "\$@" ;; esac
if [ -n "\${FAKE_LOCKED:-}" ] && [ ! -e "$W/lock-released" ]; then
	n=\$(cat "$W/lock-tries" 2>/dev/null || echo 0)
	echo \$((n + 1)) >"$W/lock-tries"
	if [ "\$n" -lt 2 ]; then
		echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)" >&2
		exit 100
	fi
	touch "$W/lock-released"
fi
policy=no
[ -x "\${WUPAN_POLICY_RC_D:-/nonexistent}" ] && policy=yes
echo "apt-get policy=\$policy \$*" >>"$LOG"
EOF
cat >"$W/bin/systemctl" <<EOF
#!/bin/sh
echo "systemctl \$*" >>"$LOG"
EOF
cat >"$W/bin/id" <<'EOF'
#!/bin/sh
[ "$1" = -u ] && { echo 0; exit 0; }
exec /usr/bin/id "$@"
EOF
printf '#!/bin/sh\necho "git $*" >>"%s"\nexec %s "$@"\n' "$W/git.log" "$(command -v git)" >"$W/bin/git"
for c in cc gcc clang-14; do
	real=$(command -v $c)
	printf '#!/bin/sh\necho "compile %s" >>"%s"\nexec %s "$@"\n' "$c" "$LOG" "$real" >"$W/bin/$c"
done
chmod +x "$W/bin/"*
SP="$W/bin:$PATH"

# Runs make in the clean tree with the stand-ins; a fresh O with the
# already fetched iPXE copied in (its stamp made newer than its inputs).
fresh_make() { # NAME MAKE-ARGS...
	local name=$1
	shift
	rm -rf "$W/o-$name"
	mkdir -p "$W/o-$name/ipxe"
	cp -a "$IPXE_DIR" "$W/o-$name/ipxe/"
	find "$W/o-$name/ipxe" -name VERSION -exec touch {} +
	: >"$LOG"
	(cd "$W/tree" && PATH=$SP make --no-print-directory O="$W/o-$name" "$@") \
		>"$W/$name.log" 2>&1
}

first_is_apt() {
	local first
	first=$(grep -m1 -E '^(apt-get|compile)' "$LOG")
	[[ $first == apt-get* ]] && grep -q compile "$LOG"
}

# The test-only list, from what `make -n check` says it would install.
TEST_PKGS=$(cd "$W/tree" && make -n --no-print-directory O="$W/o-n" check 2>/dev/null |
	sed -n 's/^sh scripts\/deps.sh .* -- //p' | head -n 1)
expect "make check asks for the test packages (qemu, ovmf, tgt, libiscsi, clang)" \
	bash -c "for p in qemu-system-x86 ovmf tgt libiscsi-bin clang-14; do [[ ' $TEST_PKGS ' == *\" \$p \"* ]] || exit 1; done"
BUILD_N=$(cd "$W/tree" && make -n --no-print-directory O="$W/o-n" 2>/dev/null | head -n 1)
expect "make -n shows the install step first" bash -c "[[ '$BUILD_N' == 'sh scripts/deps.sh '* ]]"
expect "make -n shows no test package for a build" bash -c "[[ '$BUILD_N' != *' -- '* ]]"

# --- make -j4 on a fresh machine -------------------------------------------
fresh_make j4 -j4
rc=$?
expect "make -j4 succeeds with every package reported missing" test "$rc" -eq 0
expect "make -j4: apt-get runs before the first compile" first_is_apt
install_line=$(grep -m1 '^apt-get .* install ' "$LOG")
expect "make -j4: apt-get update, then install" \
	bash -c "grep -m1 '^apt-get' '$LOG' | grep -q ' update'"
expect "make installs the build packages (gnu-efi, xorriso, syslinux)" \
	bash -c "for p in gnu-efi xorriso syslinux; do [[ '$install_line ' == *\" \$p \"* ]] || exit 1; done"
leaked=""
for p in $TEST_PKGS; do
	[[ "$install_line " == *" $p "* ]] && leaked="$leaked $p"
done
expect "make asks for no test-only package${leaked:+ (asked for:$leaked)}" test -z "$leaked"
expect "make disables no service (no test server installed)" bash -c "! grep -q '^systemctl' '$LOG'"

# A one-file rebuild asks git for SOURCE_DATE_EPOCH once, not per recipe.
: >"$W/git.log"
touch "$W/tree/efi/stub.c"
(cd "$W/tree" && PATH=$SP make --no-print-directory O="$W/o-j4") >"$W/rebuild.log" 2>&1
n_git=$(grep -c 'log -1' "$W/git.log")
expect "a one-file rebuild runs git log once ($n_git times)" test "$n_git" -eq 1

# --- a single file target, another O ---------------------------------------
fresh_make one -j2 "$W/o-one/efi/stub.efi"
rc=$?
expect "a single file target (efi/stub.efi) builds" test "$rc" -eq 0
expect "a single file target: apt-get before the compile" first_is_apt

# --- the test goals, with a held lock ---------------------------------------
# `make test-deps` is the step `make test` and `make check` take first.
rm -f "$W/lock-released" "$W/lock-tries"
policy=$W/policy-rc.d
FAKE_LOCKED=1 WUPAN_APT_POLL=1 WUPAN_POLICY_RC_D=$policy fresh_make testdeps test-deps
rc=$?
expect "a held dpkg lock is waited for, then the install goes on" \
	bash -c "[ $rc -eq 0 ] && [ \"\$(cat '$W/lock-tries')\" -ge 3 ] && grep -q 'waiting for another apt' '$W/testdeps.log'"
tinstall=$(grep -m1 '^apt-get .* install ' "$LOG")
expect "the test goals install the test packages" bash -c "[[ '$tinstall ' == *' qemu-system-x86 '* && '$tinstall ' == *' tgt '* ]]"
expect "services cannot start while the test packages install (policy-rc.d)" \
	bash -c "[[ '$tinstall' == 'apt-get policy=yes '* ]]"
expect "our policy-rc.d is removed afterwards" test ! -e "$policy"
expect "tgt.service is left disabled" grep -qx 'systemctl disable --quiet tgt.service' "$LOG"
expect "Ceph's services and targets are left disabled (ceph-crash, ceph-mon.target)" \
	bash -c "grep -qx 'systemctl disable --quiet ceph-crash.service' '$LOG' &&
		grep -qx 'systemctl disable --quiet ceph-mon.target' '$LOG'"

suite_end
