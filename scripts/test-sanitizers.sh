#!/bin/sh
# The whole `make check` suite under AddressSanitizer + UndefinedBehaviorSanitizer.
#
#   scripts/test-sanitizers.sh            (build dir: build-asan/, or $OTP_ASAN_BUILDDIR)
#
# Builds with gcc, --enable-sanitizers (-fsanitize=address,undefined
# -fno-sanitize-recover=undefined) and --enable-werror in a separate
# directory, then runs `make check` with:
#   * OTP_ASAN_RUNTIME: tests/lib/otptest.py puts the ASan runtime first in
#     every LD_PRELOAD (nss_wrapper and the instrumented syslog/failalloc
#     shims come after it; ASan refuses to start otherwise);
#   * every ASan/LSan/UBSan report written to build-asan/sanitizer-logs/
#     instead of stderr, and the run failing if any report exists, so a
#     finding fails the run even where a test only looks at stdout;
#   * tests/fuzz/lsan.supp for third-party leaks (each entry justified there).
# Skipped: tests/integration/test_oom.py.  Its failalloc shim makes malloc
# fail by interposing malloc through LD_PRELOAD, but under ASan the
# runtime's malloc comes first in the preload list and wins, so no
# allocation ever fails and the sweep would test nothing (and it is the
# heaviest test: thousands of logins).  The system tests (real sshd, sudo,
# the .deb, OTP_SYSTEM_TESTS) are not run either: they install the module
# into the system and load it into uninstrumented daemons.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${OTP_ASAN_BUILDDIR:-$top/build-asan}
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
	./autogen.sh
fi
start=$(date +%s)
rm -rf "$builddir"
mkdir -p "$builddir"
cd "$builddir"
"$top/configure" -q --enable-sanitizers --enable-werror CC="${CC:-gcc}"
make -s -j"$(nproc)"
built=$(date +%s)

logs=$builddir/sanitizer-logs
mkdir -p "$logs"
runtime=$(readlink -f "$(${CC:-gcc} -print-file-name=libasan.so)")
if [ ! -f "$runtime" ]; then
	echo "test-sanitizers: no ASan runtime found ($runtime)" >&2
	exit 1
fi
# libldap keeps process-global state (options, TLS/SASL setup) that
# nothing frees; when libpam unloads the module after pam_end, libldap goes
# with it and LSan reports that state as leaked, from an unsymbolisable
# "<unknown module>".  Keeping libldap mapped (preloaded after the runtime)
# makes those blocks reachable again; leaks in our code still show.
ldap=$(ldd .libs/pam_otp_sms.so 2>/dev/null | awk '/libldap/ { print $3 }')
OTP_ASAN_RUNTIME="$runtime${ldap:+ $ldap}"
ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_string_checks=1"
LSAN_OPTIONS="suppressions=$top/tests/fuzz/lsan.supp:print_suppressions=0"
UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1"
export OTP_ASAN_RUNTIME ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
unset OTP_SYSTEM_TESTS || true

# Every test of the suite but the OOM sweep.
printf 'otp-print-tests:\n\t@echo $(TESTS)\n' >"$builddir/print-tests.mk"
tests=$(make -s -f Makefile -f "$builddir/print-tests.mk" otp-print-tests | tr ' ' '\n' |
	grep -v '^tests/integration/test_oom.py$' | tr '\n' ' ')

status=0
make -s -j"$(nproc)" check TESTS="$tests" || status=$?
end=$(date +%s)

# Any report fails the run, except LSan saying it could not run at all
# ("LeakSanitizer has encountered a fatal error": the leak check of a
# process that was killed or traced while it stopped the world) -- a
# tooling failure, not a finding; those are listed but do not fail.
reports=$(find "$logs" -type f | sort)
for r in $reports; do
	if grep -q 'LeakSanitizer has encountered a fatal error' "$r" &&
	   ! grep -q 'ERROR: AddressSanitizer\|runtime error\|detected memory leaks' "$r"; then
		echo "test-sanitizers: note: LSan could not run in one process ($r)"
		continue
	fi
	echo "==== sanitizer report $r"
	head -60 "$r"
	status=1
done
if [ $status -ne 0 ]; then
	for log in $(find . -name '*.log' ! -name 'test-suite.log' ! -name 'config.log'); do
		if grep -q '^not ok\|^# FAIL\|^Bail out' "$log" 2>/dev/null || grep -q '^ERROR' "${log%.log}.trs" 2>/dev/null; then
			echo "==== $log"
			grep -v '^ok ' "$log" | head -80
		fi
	done
fi
echo "test-sanitizers: build $((built - start))s, check $((end - built))s, total $((end - start))s; exit $status"
exit $status
