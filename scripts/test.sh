#!/bin/sh
# Install what is needed, build with warnings as errors, and run the whole
# suite (automake's harness prints the summary).  As root, the system tests
# (real sshd, sudo, the Debian package) run too.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
./scripts/install-deps.sh
./autogen.sh
rm -rf build-test
mkdir build-test
cd build-test
../configure -q --enable-werror
make -s -j"$(nproc)"
if [ "$(id -u)" -eq 0 ]; then
	OTP_SYSTEM_TESTS=1
	export OTP_SYSTEM_TESTS
fi
status=0
make -s -j"$(nproc)" check || status=$?
# Print the failing logs so CI output says why.
if [ $status -ne 0 ]; then
	for log in $(find . -name '*.log' ! -name 'test-suite.log' ! -name 'config.log'); do
		if grep -q '^not ok\|^# FAIL\|^Bail out' "$log" 2>/dev/null || grep -q '^ERROR' "${log%.log}.trs" 2>/dev/null; then
			echo "==== $log"
			grep -v '^ok ' "$log" | head -80
		fi
	done
fi
exit $status
